//! The admin HTTP endpoint of every service: `GET /metrics` (Prometheus text format),
//! `GET /healthz` (the process is alive: always 200, also while draining) and `GET /readyz`
//! (200 when the [`Readiness`] latch says ready, else 503; both with the JSON
//! [`Status`](crate::readiness::Status) naming each check, e.g.
//! `{"ready":false,"draining":false,"checks":[{"name":"peers","ok":false,"detail":"0 of 1 required connected"}]}`).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{Encoder, Registry, TextEncoder};
use tokio::net::TcpListener;

use crate::Shutdown;
use crate::readiness::Readiness;

#[derive(Clone)]
struct AdminState {
    registry: Registry,
    readiness: Readiness,
}

/// The admin routes over `registry` and `readiness`.
pub fn router(registry: Registry, readiness: Readiness) -> Router {
    Router::new()
        .route("/metrics", get(metrics))
        .route("/healthz", get(|| async { "ok\n" }))
        .route("/readyz", get(readyz))
        .with_state(AdminState {
            registry,
            readiness,
        })
}

/// Serves the admin routes on `listener` until `shutdown` is cancelled. The admin port keeps
/// answering through the drain window (that is when `/readyz` says "draining"), so services
/// pass the token that fires when listeners stop accepting, not the start of the drain.
pub async fn serve(
    listener: TcpListener,
    registry: Registry,
    readiness: Readiness,
    shutdown: Shutdown,
) -> std::io::Result<()> {
    axum::serve(listener, router(registry, readiness))
        .with_graceful_shutdown(async move { shutdown.cancelled().await })
        .await
}

async fn metrics(State(state): State<AdminState>) -> impl IntoResponse {
    let mut body = Vec::new();
    match TextEncoder::new().encode(&state.registry.gather(), &mut body) {
        Ok(()) => (
            StatusCode::OK,
            [(header::CONTENT_TYPE, "text/plain; version=0.0.4")],
            body,
        ),
        Err(e) => (
            StatusCode::INTERNAL_SERVER_ERROR,
            [(header::CONTENT_TYPE, "text/plain")],
            format!("metrics encoding failed: {e}\n").into_bytes(),
        ),
    }
}

async fn readyz(State(state): State<AdminState>) -> impl IntoResponse {
    let status = state.readiness.status();
    let code = if status.ready {
        StatusCode::OK
    } else {
        StatusCode::SERVICE_UNAVAILABLE
    };
    // Serializing a struct of strings and bools cannot fail; an empty body would still carry
    // the status code.
    let mut body = serde_json::to_vec(&status).unwrap_or_default();
    body.push(b'\n');
    (code, [(header::CONTENT_TYPE, "application/json")], body)
}
