//! The accept loop every connection-oriented listener shares (Do53 over TCP, DoT, DoH): accept
//! (backing off a little on an error such as EMFILE rather than spinning), take a permit of the
//! one `max_connections` semaphore or refuse the connection at once (counted), turn Nagle off,
//! and in the connection's own task do the TLS handshake within [`HANDSHAKE_TIMEOUT`] (a
//! failure counted as `dropped{reason="tls_handshake"}`) before handing the stream over. The
//! permit and the open-connections gauge follow the task, so every way a connection ends gives
//! them back.

use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use prometheus::IntGauge;
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;
use tokio_rustls::TlsAcceptor;
use tokio_rustls::server::TlsStream;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

use crate::metrics::Metrics;

/// Longest time a TLS handshake may take.
pub const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// Pause after a failed `accept` (out of file descriptors and the like).
const ACCEPT_BACKOFF: Duration = Duration::from_millis(10);

/// An accepted connection: plain TCP, or TLS after its handshake.
pub type Connection = Either<TcpStream, TlsStream<TcpStream>>;

/// Limits shared by every connection-oriented listener.
#[derive(Debug, Clone)]
pub struct StreamLimits {
    /// Connections open at once over TCP, DoT and DoH together (a permit per connection).
    pub connections: Arc<Semaphore>,
    /// Close a connection that sent no query (or request) for this long; also the longest a
    /// response may take to be written.
    pub idle_timeout: Duration,
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
            metrics.connections_refused.inc();
            continue;
        };
        let _ = socket.set_nodelay(true);
        let (metrics, tls, serve_one) = (metrics.clone(), tls.clone(), serve_one.clone());
        tokio::spawn(async move {
            let _permit = permit;
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
struct Open(IntGauge);

// === impl Open ===

impl Open {
    fn new(gauge: IntGauge) -> Open {
        gauge.inc();
        Open(gauge)
    }
}

impl Drop for Open {
    fn drop(&mut self) {
        self.0.dec();
    }
}
