//! The publish endpoint other operators' watchdogs poll (`publish_listen`): the watchdog's own
//! signed view — `GET /v1/attestation` (JSON, the canonical encoding included in hex) and
//! `GET /v1/attestation.bin` (the canonical 217 bytes) — and `GET /v1/verdict` (the status
//! JSON). 503 while no quorum agrees on a tip.
//!
//! HTTPS when `publish_tls_cert` and `publish_tls_key` are set (the `hnsfleet-tls-server`
//! configuration: TLS 1.3, the files reloaded on change and on SIGHUP), plain HTTP otherwise
//! (for an ingress that terminates TLS). It faces the internet, so a stranger is bounded:
//! at most [`MAX_CONNECTIONS`] connections at once (more wait in the kernel's backlog), a TLS
//! handshake and a request's headers each within [`HANDSHAKE_TIMEOUT`], HTTP/1.1 only, and a
//! connection lives at most [`MAX_CONNECTION_AGE`].

use std::sync::Arc;
use std::time::Duration;

use axum::Router;
use axum::extract::State;
use axum::http::{StatusCode, header};
use axum::response::{IntoResponse, Response};
use axum::routing::get;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::service::TowerToHyperService;
use prometheus::IntCounter;
use serde_json::json;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::status::{json as status_json, to_pb};
use crate::watchdog::Watchdog;

/// Connections served at once.
pub const MAX_CONNECTIONS: usize = 256;
/// Deadline of a TLS handshake, and of a request's headers.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// A connection is closed (after its request in progress) this long after it was accepted.
pub const MAX_CONNECTION_AGE: Duration = Duration::from_secs(120);
/// How long open connections may finish their request at shutdown.
const SHUTDOWN_GRACE: Duration = Duration::from_secs(2);

/// How the endpoint speaks.
#[derive(Clone)]
pub struct PublishTransport {
    /// TLS, when configured.
    pub tls: Option<TlsAcceptor>,
    /// TLS handshakes that failed or timed out.
    pub handshake_failures: IntCounter,
}

/// Serves the publish endpoint on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    watchdog: Arc<Watchdog>,
    transport: PublishTransport,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let app = Router::new()
        .route("/v1/attestation", get(attestation_json))
        .route("/v1/attestation.bin", get(attestation_bin))
        .route("/v1/verdict", get(verdict))
        .with_state(watchdog);
    let slots = Arc::new(Semaphore::new(MAX_CONNECTIONS));
    let mut connections = JoinSet::new();
    loop {
        let permit = tokio::select! {
            permit = Arc::clone(&slots).acquire_owned() => permit,
            () = stop.cancelled() => break,
        };
        // The semaphore is never closed.
        let Ok(permit) = permit else { break };
        let (stream, _peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and friends: back off instead of spinning.
                    tracing::warn!(%error, "publish endpoint: accept failed");
                    tokio::time::sleep(Duration::from_millis(100)).await;
                    continue;
                }
            },
            () = stop.cancelled() => break,
        };
        // Finished connections are reaped as new ones come.
        while connections.try_join_next().is_some() {}
        let (app, transport, stop) = (app.clone(), transport.clone(), stop.clone());
        connections.spawn(async move {
            connection(stream, app, transport, stop).await;
            drop(permit);
        });
    }
    // Requests in progress get a moment; then what is left is dropped.
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, async {
        while connections.join_next().await.is_some() {}
    })
    .await;
    Ok(())
}

/// One connection: the TLS handshake (if any), then HTTP/1.1 until the client closes, the
/// connection's age runs out or the endpoint stops.
async fn connection(
    stream: TcpStream,
    app: Router,
    transport: PublishTransport,
    stop: CancellationToken,
) {
    let _ = stream.set_nodelay(true);
    match transport.tls {
        Some(acceptor) => {
            match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(stream)).await {
                Ok(Ok(tls)) => http(TokioIo::new(tls), app, stop).await,
                Ok(Err(error)) => {
                    transport.handshake_failures.inc();
                    tracing::debug!(%error, "publish endpoint: TLS handshake failed");
                }
                Err(_) => {
                    transport.handshake_failures.inc();
                    tracing::debug!("publish endpoint: TLS handshake timed out");
                }
            }
        }
        None => http(TokioIo::new(stream), app, stop).await,
    }
}

/// HTTP/1.1 over `io`, closed gracefully at `stop` or at [`MAX_CONNECTION_AGE`].
async fn http<I>(io: TokioIo<I>, app: Router, stop: CancellationToken)
where
    I: tokio::io::AsyncRead + tokio::io::AsyncWrite + Unpin + Send + 'static,
{
    let mut builder = hyper::server::conn::http1::Builder::new();
    builder
        .timer(TokioTimer::new())
        .header_read_timeout(HANDSHAKE_TIMEOUT)
        .max_buf_size(16 * 1024);
    let connection = builder.serve_connection(io, TowerToHyperService::new(app));
    tokio::pin!(connection);
    let age = tokio::time::sleep(MAX_CONNECTION_AGE);
    tokio::pin!(age);
    tokio::select! {
        _ = connection.as_mut() => return,
        () = stop.cancelled() => {}
        () = &mut age => {}
    }
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(SHUTDOWN_GRACE, connection).await;
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
