//! Do53 over UDP.

use std::io::ErrorKind;
use std::net::SocketAddr;
use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::frontend::{Frontend, Service};
use crate::wire::Transport;

/// Largest datagram read (anything longer is not a DNS query worth answering).
const MAX_DATAGRAM: usize = 4096;
/// Datagrams handled per wake-up before yielding to other tasks (the socket is drained without
/// waiting in between, but a flood must not starve TCP, timers and spawned resolutions).
const BURST: usize = 64;

/// Serves `socket` until `stop` is cancelled.
///
/// Each wake-up drains the socket without awaiting between datagrams. A query the packet
/// cache answers is answered right here, with no task and no await (that is most of the
/// traffic of a busy resolver); any other datagram gets its own task, so a slow recursion
/// never holds up the socket. That task's future is boxed: moving a pointer into the task is
/// cheaper than moving the pipeline's state.
pub async fn serve(
    socket: UdpSocket,
    frontend: Arc<Frontend>,
    service: Service,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let socket = Arc::new(socket);
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        tokio::select! {
            ready = socket.readable() => ready?,
            () = stop.cancelled() => return Ok(()),
        }
        for _ in 0..BURST {
            let (len, peer) = match socket.try_recv_from(&mut buffer) {
                Ok(received) => received,
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                // ICMP errors from earlier sends surface here on some systems: not fatal.
                Err(error) => {
                    tracing::debug!(%error, "udp receive");
                    continue;
                }
            };
            answer(&socket, &frontend, service, &buffer[..len], peer);
        }
        tokio::task::yield_now().await;
    }
}

/// Answers one datagram: inline from the packet cache, else in a task of its own.
fn answer(
    socket: &Arc<UdpSocket>,
    frontend: &Arc<Frontend>,
    service: Service,
    query: &[u8],
    peer: SocketAddr,
) {
    if let Some(response) = frontend.answer_cached(query, Transport::Udp, peer.ip(), service) {
        match socket.try_send_to(&response, peer) {
            Ok(_) => return,
            // The send buffer is full: finish this one in a task rather than drop it.
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                let socket = Arc::clone(socket);
                tokio::spawn(async move { send(&socket, &response, peer).await });
                return;
            }
            Err(error) => {
                tracing::debug!(%error, %peer, "udp send");
                return;
            }
        }
    }
    let query = query.to_vec();
    let (socket, frontend) = (Arc::clone(socket), Arc::clone(frontend));
    tokio::spawn(Box::pin(async move {
        if let Some(response) = frontend
            .handle_uncached(&query, Transport::Udp, peer.ip(), service)
            .await
        {
            send(&socket, &response, peer).await;
        }
    }));
}

/// Sends `response` to `peer`, waiting for room in the socket's buffer.
async fn send(socket: &UdpSocket, response: &[u8], peer: SocketAddr) {
    if let Err(error) = socket.send_to(response, peer).await {
        tracing::debug!(%error, %peer, "udp send");
    }
}
