//! Do53 over TCP and DNS over TLS: two-byte length-prefixed messages on a stream (RFC 1035
//! §4.2.2, RFC 7766, RFC 7858), accepted through [`accept_loop`].
//!
//! Queries on one connection are pipelined: a packet-cache hit is answered inline, any other
//! query by its own task, and each answer is written as soon as it is ready (RFC 7766
//! §6.2.1.1 allows out-of-order answers; answers ready together leave in one write). A
//! connection is closed when a whole query (its length and its body) does not arrive within `idle_timeout` — so a
//! client stalled half-way through a message is closed like an idle one — and when an answer
//! cannot be written within `idle_timeout` (a client that does not read its answers, counted
//! as `dropped{reason="write_timeout"}`). At most `max_pipelined` queries are in progress
//! (being answered, or answered and waiting to be written); while they are, no more are read.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_rustls::TlsAcceptor;
use tokio_util::either::Either;
use tokio_util::sync::CancellationToken;

use crate::frontend::{Frontend, Service};
use crate::listen::accept::{StreamLimits, accept_loop};
use crate::wire::Transport;

/// Bytes read from a connection at once.
const READ_BUFFER: usize = 4096;
/// Answers ready together are written together up to about this many bytes.
const WRITE_BATCH: usize = 16 * 1024;

/// Serves plain TCP (`tls` = `None`) or TLS connections accepted on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    tls: Option<TlsAcceptor>,
    frontend: Arc<Frontend>,
    service: Service,
    limits: StreamLimits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let metrics = frontend.metrics().clone();
    let (idle, pipelined) = (limits.idle_timeout, limits.max_pipelined);
    let serve_stop = stop.clone();
    accept_loop(
        listener,
        tls,
        metrics,
        &limits,
        serve_stop,
        move |stream, peer| {
            let (frontend, stop) = (Arc::clone(&frontend), stop.clone());
            async move {
                match stream {
                    Either::Left(tcp) => {
                        let bounds = Bounds { idle, pipelined };
                        connection(tcp, peer, Transport::Tcp, &frontend, service, bounds, stop)
                            .await;
                    }
                    Either::Right(tls) => {
                        let bounds = Bounds { idle, pipelined };
                        connection(tls, peer, Transport::Tls, &frontend, service, bounds, stop)
                            .await;
                    }
                }
            }
        },
    )
    .await
}

/// The time and queue bounds of one connection.
#[derive(Debug, Clone, Copy)]
struct Bounds {
    /// Read deadline per query, write deadline per answer.
    idle: Duration,
    /// Queries in progress at once.
    pipelined: usize,
}

/// One connection: reads queries until EOF, a read timeout, a framing error, a failed write or
/// `stop`; answers each concurrently and writes the answers as they come, each within `idle`.
async fn connection<S>(
    stream: S,
    peer: SocketAddr,
    transport: Transport,
    frontend: &Arc<Frontend>,
    service: Service,
    bounds: Bounds,
    stop: CancellationToken,
) where
    S: AsyncRead + AsyncWrite + Send + Unpin + 'static,
{
    let Bounds { idle, pipelined } = bounds;
    let (reader, mut writer) = tokio::io::split(stream);
    // Pipelined queries arrive back to back: one read takes in several.
    let mut reader = BufReader::with_capacity(READ_BUFFER, reader);
    let (answers, mut outbox) = mpsc::channel::<Vec<u8>>(pipelined.max(1));
    // Cancelled when the writer gives up: the reader stops too and the connection closes.
    let broken = CancellationToken::new();
    let write = {
        let (broken, metrics) = (broken.clone(), frontend.metrics().clone());
        async move {
            let mut framed = Vec::with_capacity(WRITE_BATCH);
            while let Some(answer) = outbox.recv().await {
                // Every answer ready by now leaves in the same write (one system call, and
                // over TLS one record instead of one each).
                framed.clear();
                frame(&mut framed, &answer);
                while framed.len() < WRITE_BATCH {
                    match outbox.try_recv() {
                        Ok(answer) => frame(&mut framed, &answer),
                        Err(_) => break,
                    }
                }
                let written = async {
                    writer.write_all(&framed).await?;
                    writer.flush().await
                };
                match tokio::time::timeout(idle, written).await {
                    Ok(Ok(())) => {}
                    Ok(Err(_)) => {
                        broken.cancel();
                        return;
                    }
                    Err(_) => {
                        metrics.dropped.with_label_values(&["write_timeout"]).inc();
                        broken.cancel();
                        return;
                    }
                }
            }
            let _ = tokio::time::timeout(idle, writer.shutdown()).await;
        }
    };
    let read = async move {
        loop {
            let query = tokio::select! {
                // The deadline covers the whole message: a client that sends half a length
                // prefix or half a body and stalls is closed like an idle one.
                read = tokio::time::timeout(idle, read_message(&mut reader)) => match read {
                    Ok(Ok(Some(query))) => query,
                    _ => return,
                },
                () = stop.cancelled() => return,
                () = broken.cancelled() => return,
            };
            // Waits while `pipelined` queries are in progress; fails once the writer
            // has given up.
            let permit = tokio::select! {
                permit = answers.clone().reserve_owned() => match permit {
                    Ok(permit) => permit,
                    Err(_) => return,
                },
                () = broken.cancelled() => return,
            };
            let client: IpAddr = peer.ip();
            // A packet-cache hit is answered right here: no task, no await.
            if let Some(answer) = frontend.answer_cached(&query, transport, client, service) {
                permit.send(answer);
                continue;
            }
            let frontend = Arc::clone(frontend);
            // Boxed: moving a pointer into the task is cheaper than moving the pipeline's
            // state.
            tokio::spawn(Box::pin(async move {
                if let Some(answer) = frontend
                    .handle_uncached(&query, transport, client, service)
                    .await
                {
                    permit.send(answer);
                }
            }));
        }
    };
    tokio::join!(read, write);
}

/// Appends `answer` with its two-byte length to `framed` (an answer over 65,535 bytes, which
/// the encoder never makes, is skipped).
fn frame(framed: &mut Vec<u8>, answer: &[u8]) {
    if let Ok(len) = u16::try_from(answer.len()) {
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(answer);
    }
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
