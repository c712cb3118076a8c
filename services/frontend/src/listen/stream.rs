//! Do53 over TCP and DNS over TLS: two-byte length-prefixed messages on a stream (RFC 1035
//! §4.2.2, RFC 7766, RFC 7858).
//!
//! Queries on one connection are pipelined: each is answered by its own task and written as
//! soon as it is ready (RFC 7766 §6.2.1.1 allows out-of-order answers). A connection is closed
//! after `idle_timeout` without a complete query, and at most `max_connections` connections
//! are open at once over all stream listeners (more are closed at once).

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::TcpListener;
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc};
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::frontend::{Frontend, Service};
use crate::wire::Transport;

/// Answers waiting to be written on one connection; a client that does not read stops
/// getting its queries read.
const PENDING_PER_CONNECTION: usize = 64;
/// Longest time a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);

/// Limits shared by every stream listener.
#[derive(Debug, Clone)]
pub struct StreamLimits {
    /// Connections open at once (a permit per connection).
    pub connections: Arc<Semaphore>,
    /// Close a connection idle this long.
    pub idle_timeout: Duration,
}

/// Serves plain TCP (`tls` = `None`) or TLS connections accepted on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    frontend: Arc<Frontend>,
    service: Service,
    limits: StreamLimits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    // EMFILE and friends: back off a little rather than spin.
                    tracing::warn!(%error, "accept");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = stop.cancelled() => return Ok(()),
        };
        let Ok(permit) = Arc::clone(&limits.connections).try_acquire_owned() else {
            frontend.metrics().connections_refused.inc();
            continue;
        };
        let _ = socket.set_nodelay(true);
        let (frontend, tls, stop, idle) = (
            Arc::clone(&frontend),
            tls.clone(),
            stop.clone(),
            limits.idle_timeout,
        );
        tokio::spawn(async move {
            let _permit: OwnedSemaphorePermit = permit;
            frontend.metrics().connections.inc();
            match tls {
                None => {
                    connection(socket, peer, Transport::Tcp, &frontend, service, idle, stop).await
                }
                Some(acceptor) => {
                    match tokio::time::timeout(HANDSHAKE_TIMEOUT, acceptor.accept(socket)).await {
                        Ok(Ok(stream)) => {
                            connection(stream, peer, Transport::Tls, &frontend, service, idle, stop)
                                .await
                        }
                        _ => {
                            frontend
                                .metrics()
                                .dropped
                                .with_label_values(&["tls_handshake"])
                                .inc();
                        }
                    }
                }
            }
            frontend.metrics().connections.dec();
        });
    }
}

/// One connection: reads queries until EOF, idle timeout, a framing error or `stop`; answers
/// each concurrently and writes the answers as they come.
async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    transport: Transport,
    frontend: &Arc<Frontend>,
    service: Service,
    idle: Duration,
    stop: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let (mut reader, mut writer) = tokio::io::split(stream);
    let (answers, mut outbox) = mpsc::channel::<Vec<u8>>(PENDING_PER_CONNECTION);
    let write = async move {
        while let Some(answer) = outbox.recv().await {
            let Ok(len) = u16::try_from(answer.len()) else {
                continue;
            };
            let mut framed = Vec::with_capacity(answer.len() + 2);
            framed.extend_from_slice(&len.to_be_bytes());
            framed.extend_from_slice(&answer);
            if writer.write_all(&framed).await.is_err() {
                return;
            }
        }
        let _ = writer.shutdown().await;
    };
    let read = async move {
        loop {
            let query = tokio::select! {
                read = tokio::time::timeout(idle, read_message(&mut reader)) => match read {
                    Ok(Ok(Some(query))) => query,
                    _ => return,
                },
                () = stop.cancelled() => return,
            };
            let (frontend, answers) = (Arc::clone(frontend), answers.clone());
            let Ok(permit) = answers.reserve_owned().await else {
                return;
            };
            let client: IpAddr = peer.ip();
            tokio::spawn(async move {
                if let Some(answer) = frontend.handle(&query, transport, client, service).await {
                    permit.send(answer);
                }
            });
        }
    };
    tokio::join!(read, write);
}

/// One length-prefixed message; `None` at a clean end of stream.
async fn read_message<R: AsyncRead + Unpin>(reader: &mut R) -> std::io::Result<Option<Vec<u8>>> {
    let mut len = [0u8; 2];
    match reader.read_exact(&mut len).await {
        Ok(_) => {}
        Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => return Ok(None),
        Err(e) => return Err(e),
    }
    let len = usize::from(u16::from_be_bytes(len));
    let mut message = vec![0u8; len];
    reader.read_exact(&mut message).await?;
    Ok(Some(message))
}
