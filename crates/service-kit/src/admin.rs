//! The admin HTTP endpoint of every service: `GET /metrics` (Prometheus text format),
//! `GET /healthz` (the process is alive: always 200) and `GET /readyz` (200 when the
//! [`Readiness`] latch says ready, else 503 with the reason).

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::IntoResponse;
use axum::routing::get;
use prometheus::{Encoder, IntGaugeVec, Opts, Registry, TextEncoder};
use tokio::net::TcpListener;

use crate::Shutdown;
use crate::readiness::Readiness;

/// Name of the build-info metric every service exports (value 1, labels carry the build).
pub const BUILD_INFO: &str = "hnsfleet_build_info";

#[derive(Clone)]
struct AdminState {
    registry: Registry,
    readiness: Readiness,
}

/// Registers `hnsfleet_build_info{service, version}` = 1 into `registry`.
pub fn register_build_info(registry: &Registry, service: &str) -> prometheus::Result<()> {
    let gauge = IntGaugeVec::new(
        Opts::new(
            BUILD_INFO,
            "Build of the running hnsfleet service (always 1).",
        ),
        &["service", "version"],
    )?;
    gauge
        .with_label_values(&[service, env!("CARGO_PKG_VERSION")])
        .set(1);
    registry.register(Box::new(gauge))
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

/// Serves the admin routes on `listener` until `shutdown` is cancelled.
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
    match state.readiness.check() {
        Ok(()) => (StatusCode::OK, "ready\n".to_string()),
        Err(why) => (StatusCode::SERVICE_UNAVAILABLE, format!("{why}\n")),
    }
}
