//! The publish endpoint other operators' watchdogs poll (`publish_listen`): the watchdog's own
//! signed view — `GET /v1/attestation` (JSON, the canonical encoding included in hex) and
//! `GET /v1/attestation.bin` (the canonical 217 bytes) — and `GET /v1/verdict` (the status
//! JSON). 503 while no quorum agrees on a tip.

use std::sync::Arc;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use serde_json::json;
use tokio::net::TcpListener;
use tokio_util::sync::CancellationToken;

use crate::status::{json as status_json, to_pb};
use crate::watchdog::Watchdog;

/// Serves the publish endpoint on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    watchdog: Arc<Watchdog>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/v1/attestation", get(attestation_json))
        .route("/v1/attestation.bin", get(attestation_bin))
        .route("/v1/verdict", get(verdict))
        .with_state(watchdog);
    axum::serve(listener, app)
        .with_graceful_shutdown(async move { stop.cancelled().await })
        .await
}

fn unavailable() -> Response {
    (
        StatusCode::SERVICE_UNAVAILABLE,
        "no quorum agrees on a tip yet\n",
    )
        .into_response()
}

async fn attestation_bin(State(watchdog): State<Arc<Watchdog>>) -> Response {
    match watchdog.attestation() {
        Some(signed) => (
            [(header::CONTENT_TYPE, "application/octet-stream")],
            signed.encode().to_vec(),
        )
            .into_response(),
        None => unavailable(),
    }
}

async fn attestation_json(State(watchdog): State<Arc<Watchdog>>) -> Response {
    let Some(signed) = watchdog.attestation() else {
        return unavailable();
    };
    let s = &signed.statement;
    json_response(&json!({
        "network": watchdog.network().to_string(),
        "height": s.height,
        "hash": s.hash.to_hex(),
        "tree_root": s.tree_root.to_hex(),
        "chainwork": hex::encode(s.chainwork),
        "time": s.time,
        "signed_at": s.signed_at,
        "public_key": hex::encode(signed.public_key),
        "signature": hex::encode(signed.signature),
        "signed_attestation": hex::encode(signed.encode()),
    }))
}

async fn verdict(State(watchdog): State<Arc<Watchdog>>) -> Response {
    let verdict = to_pb(&watchdog.verdict(), watchdog.network());
    json_response(&status_json(&verdict))
}

fn json_response(value: &serde_json::Value) -> Response {
    (
        [(header::CONTENT_TYPE, "application/json")],
        format!("{value}\n"),
    )
        .into_response()
}
