//! The QUIC side shared by DNS over QUIC ([`super::doq`]) and DoH over HTTP/3
//! ([`super::doh3`]): the endpoint's configuration and its accept loop, with the same limits
//! as [`super::accept`] applied before any cryptography.
//!
//! A new connection's first packet becomes a quinn `Incoming`, and is judged in this order:
//! - its source address must be validated: a client that has not yet proved it receives at
//!   its address gets a stateless Retry (an encrypted token it must echo; quinn also hands out
//!   NEW_TOKENs, so a returning client skips that round trip). Nothing is counted or reserved
//!   for an unproven address, so spoofed Initial packets cannot spend another network's
//!   connection slots or handshake budget (`quic_retries_total` counts the Retries);
//! - then the limits of TCP, DoT and DoH, shared with them: a permit of `max_connections`, a
//!   slot of the prefix's `max_connections_per_prefix`, and a token of the prefix's
//!   `tls_handshake_rate`. Over any of them the connection is refused (a CONNECTION_REFUSED
//!   close, counted in `connections_refused_total{reason}` as for TCP).
//!
//! The handshake then runs in the connection's own task within [`HANDSHAKE_TIMEOUT`]
//! (`dropped_total{reason="quic_handshake"}` when it fails). The permit, the slot and the
//! open-connections gauge follow the task.
//!
//! Transport parameters bound what one connection may cost: `streams` bidirectional streams
//! at once (DoQ: `max_pipelined`; HTTP/3: `doh_max_streams`), a 64 KiB + 2 receive window per
//! stream (one DNS message and its length) and [`CONNECTION_WINDOW`] per connection, and
//! QUIC's idle timeout at twice `idle_timeout` (the listeners close a connection that carries
//! no query for `idle_timeout` themselves, whatever pings keep it alive).

use std::future::Future;
use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hnsfleet_ratelimit::Verdict;
use prometheus::IntCounter;
use quinn::crypto::rustls::QuicServerConfig;
use quinn::{Connection, Endpoint, EndpointConfig, IdleTimeout, TransportConfig, VarInt};
use tokio_util::sync::CancellationToken;

use crate::frontend::Frontend;
use crate::listen::accept::{HANDSHAKE_TIMEOUT, Open, StreamLimits};
use crate::metrics::{Metrics, REFUSAL_REASONS};
use crate::wire::STREAM_LIMIT;

/// Bytes all streams of one connection may have received and not yet read: 16 full-size
/// queries at once, however many streams are open.
pub const CONNECTION_WINDOW: u32 = 1 << 20;
/// Bytes one connection may have sent and not yet had acknowledged.
const SEND_WINDOW: u64 = 1 << 20;

/// What the endpoint of one QUIC listener offers.
#[derive(Debug, Clone, Copy)]
pub struct QuicLimits {
    /// Bidirectional streams a client may have open at once.
    pub streams: u32,
    /// Unidirectional streams a client may have open at once (HTTP/3's control and QPACK
    /// streams; none for DoQ).
    pub uni_streams: u32,
    /// QUIC's idle timeout.
    pub idle_timeout: Duration,
}

/// A server endpoint on `socket` with the rustls configuration `tls` (TLS 1.3; its ALPN says
/// which protocol this endpoint speaks) and `limits`.
pub fn endpoint(
    socket: std::net::UdpSocket,
    tls: Arc<rustls::ServerConfig>,
    limits: QuicLimits,
) -> anyhow::Result<Endpoint> {
    let crypto = QuicServerConfig::try_from(tls).context("QUIC needs TLS 1.3 with AES-128-GCM")?;
    let mut server = quinn::ServerConfig::with_crypto(Arc::new(crypto));
    server.transport_config(Arc::new(transport(limits)?));
    // A client's address may not move to another prefix mid-connection: its slot and budget
    // were taken for the first one.
    server.migration(false);
    let runtime = quinn::default_runtime().context("no async runtime for QUIC")?;
    Endpoint::new(EndpointConfig::default(), Some(server), socket, runtime).context("QUIC endpoint")
}

/// The transport parameters of [`endpoint`].
fn transport(limits: QuicLimits) -> anyhow::Result<TransportConfig> {
    let message_window = VarInt::from_u32((STREAM_LIMIT + 2) as u32);
    let mut transport = TransportConfig::default();
    transport
        .max_concurrent_bidi_streams(VarInt::from_u32(limits.streams))
        .max_concurrent_uni_streams(VarInt::from_u32(limits.uni_streams))
        .stream_receive_window(message_window)
        .receive_window(VarInt::from_u32(CONNECTION_WINDOW))
        .send_window(SEND_WINDOW)
        // Twice the listeners' own idle timeout: they close an idle connection first, with
        // their protocol's code; QUIC's catches a peer that went away without a word.
        .max_idle_timeout(Some(
            IdleTimeout::try_from(limits.idle_timeout.saturating_mul(2)).context("idle_timeout")?,
        ))
        .keep_alive_interval(None);
    Ok(transport)
}

/// Serves `endpoint` until `stop`: every connection [`accept_loop`] lets in is served by
/// `serve_connection(connection, client, frontend, idle_timeout, stop)` (DoQ's or HTTP/3's).
pub async fn serve<F, Fut>(
    endpoint: Endpoint,
    frontend: Arc<Frontend>,
    limits: StreamLimits,
    stop: CancellationToken,
    serve_connection: F,
) -> std::io::Result<()>
where
    F: Fn(Connection, IpAddr, Arc<Frontend>, Duration, CancellationToken) -> Fut
        + Copy
        + Send
        + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let metrics = frontend.metrics().clone();
    let idle = limits.idle_timeout;
    let serve_stop = stop.clone();
    accept_loop(
        endpoint,
        metrics,
        &limits,
        serve_stop,
        move |connection, peer| {
            serve_connection(
                connection,
                peer.ip(),
                Arc::clone(&frontend),
                idle,
                stop.clone(),
            )
        },
    )
    .await
}

/// Accepts connections on `endpoint` until `stop` and runs `serve_one(connection, peer)` for
/// each in its own task once its handshake is done; `stop` also closes the endpoint.
pub async fn accept_loop<F, Fut>(
    endpoint: Endpoint,
    metrics: Metrics,
    limits: &StreamLimits,
    stop: CancellationToken,
    serve_one: F,
) -> std::io::Result<()>
where
    F: Fn(Connection, SocketAddr) -> Fut + Clone + Send + 'static,
    Fut: Future<Output = ()> + Send + 'static,
{
    let refused =
        REFUSAL_REASONS.map(|reason| metrics.connections_refused.with_label_values(&[reason]));
    let [refused_total, refused_prefix, refused_handshake]: [IntCounter; 3] = refused;
    loop {
        let incoming = tokio::select! {
            incoming = endpoint.accept() => match incoming {
                Some(incoming) => incoming,
                None => return Ok(()),
            },
            () = stop.cancelled() => break,
        };
        if !incoming.remote_address_validated() && incoming.may_retry() {
            metrics.quic_retries.inc();
            // Fails only for an already retried connection, which is validated.
            let _ = incoming.retry();
            continue;
        }
        let peer = incoming.remote_address();
        let Ok(permit) = Arc::clone(&limits.connections).try_acquire_owned() else {
            refused_total.inc();
            incoming.refuse();
            continue;
        };
        let Some(slot) = limits.per_prefix.try_acquire(peer.ip()) else {
            refused_prefix.inc();
            incoming.refuse();
            continue;
        };
        if let Some(handshakes) = &limits.handshakes
            && handshakes.check(peer.ip()) != Verdict::Allowed
        {
            refused_handshake.inc();
            incoming.refuse();
            continue;
        }
        let connecting = match incoming.accept() {
            Ok(connecting) => connecting,
            Err(error) => {
                tracing::debug!(%error, %peer, "quic accept");
                metrics.dropped.with_label_values(&["quic_handshake"]).inc();
                continue;
            }
        };
        let (metrics, serve_one) = (metrics.clone(), serve_one.clone());
        tokio::spawn(async move {
            let _held = (permit, slot);
            let _open = Open::new(metrics.connections.clone());
            let connection = match tokio::time::timeout(HANDSHAKE_TIMEOUT, connecting).await {
                Ok(Ok(connection)) => connection,
                _ => {
                    metrics.dropped.with_label_values(&["quic_handshake"]).inc();
                    return;
                }
            };
            serve_one(connection, peer).await;
        });
    }
    // Stop: the connections see `stop` too and close themselves in their protocol's way;
    // whatever is still open after a moment is closed here.
    let _ = tokio::time::timeout(HANDSHAKE_TIMEOUT, endpoint.wait_idle()).await;
    endpoint.close(VarInt::from_u32(0), b"shutting down");
    Ok(())
}
