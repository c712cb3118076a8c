//! The accept loop every connection-oriented listener shares (Do53 over TCP, DoT, DoH): accept
//! (backing off a little on an error such as EMFILE rather than spinning), then three limits,
//! each refusing the connection at once (closed unserved, counted in
//! `connections_refused_total{reason}`):
//! - a permit of the one `max_connections` semaphore (`max_connections`);
//! - a slot of the client's prefix (IPv4 /24, IPv6 /56): at most `max_connections_per_prefix`
//!   open from one prefix, so one network cannot take every permit (`prefix_connections`);
//! - for TLS, a token of the prefix's handshake budget (`tls_handshake_rate` per second): a
//!   handshake costs the server a key exchange and a signature, so a flood of new connections
//!   from one prefix is closed before any cryptography, and other prefixes keep theirs
//!   (`handshake_rate`).
//!
//! Then Nagle goes off and, in the connection's own task, the TLS handshake runs within
//! [`HANDSHAKE_TIMEOUT`] (a failure counted as `dropped{reason="tls_handshake"}`) before the
//! stream is handed over. The permit, the slot and the open-connections gauge follow the task,
//! so every way a connection ends gives them back.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use hnsfleet_ratelimit::{PrefixLimiter, PrefixSlots, Verdict};
use prometheus::{IntCounter, IntGauge};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

use crate::metrics::{Metrics, REFUSAL_REASONS};

/// Longest time a TLS handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (out of file descriptors and the like).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// An accepted connection: plain TCP, or TLS after its handshake.
pub type Connection = Either<TcpStream, TlsStream<TcpStream>>;

/// Limits shared by every connection-oriented listener.
#[derive(Debug, Clone)]
pub struct StreamLimits {
    /// Connections open at once over TCP, DoT, DoH and QUIC together (a permit per
    /// connection).
    pub connections: Arc<Semaphore>,
    /// Connections open at once from one client prefix.
    pub per_prefix: PrefixSlots,
    /// New TLS handshakes per client prefix (`None`: not limited).
    pub handshakes: Option<Arc<PrefixLimiter>>,
    /// Close a connection that sent no query (or request) for this long; also the longest a
    /// response may take to be written.
    pub idle_timeout: Duration,
    /// Queries one TCP or DoT connection may have in progress (answered but unwritten
    /// included); while that many are, no more are read. Also the streams (queries) one DoQ
    /// connection may have open.
    pub max_pipelined: usize,
    /// HTTP/2 (or HTTP/3) streams one DoH connection may have open.
    pub doh_max_streams: u32,
}

/// Accepts connections on `listener` until `stop` and runs `serve_one(connection, peer)` for
/// each in its own task, after the TLS handshake when `tls` is given.
pub async fn accept_loop<F, Fut>(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
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
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept");
                    tokio::time::sleep(ACCEPT_BACKOFF).await;
                    continue;
                }
            },
            () = stop.cancelled() => return Ok(()),
        };
        let Ok(permit) = Arc::clone(&limits.connections).try_acquire_owned() else {
            refused_total.inc();
            continue;
        };
        let Some(slot) = limits.per_prefix.try_acquire(peer.ip()) else {
            refused_prefix.inc();
            continue;
        };
        if tls.is_some()
            && let Some(handshakes) = &limits.handshakes
            && handshakes.check(peer.ip()) != Verdict::Allowed
        {
            refused_handshake.inc();
            continue;
        }
        let _ = socket.set_nodelay(true);
        let (metrics, tls, serve_one) = (metrics.clone(), tls.clone(), serve_one.clone());
        tokio::spawn(async move {
            let _held = (permit, slot);
            let _open = Open::new(metrics.connections.clone());
            let connection = match tls {
                None => Either::Left(socket),
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                        Ok(Ok(stream)) => Either::Right(stream),
                        _ => {
                            metrics.dropped.with_label_values(&["tls_handshake"]).inc();
                            return;
                        }
                    }
                }
            };
            serve_one(connection, peer).await;
        });
    }
}

/// One open connection on the gauge, for as long as it lives.
pub(crate) struct Open(IntGauge);

// === impl Open ===

impl Open {
    pub(crate) fn new(gauge: IntGauge) -> Open {
        gauge.inc();
        Open(gauge)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}
