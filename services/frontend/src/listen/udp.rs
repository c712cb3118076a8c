//! Do53 over UDP.

use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::frontend::{Frontend, Service};
use crate::wire::Transport;

/// Largest datagram read (anything longer is not a DNS query worth answering).
const MAX_DATAGRAM: usize = 4096;

/// Serves `socket` until `stop` is cancelled. A query the packet cache answers is answered
/// right here (no task: that is most of the traffic of a busy resolver); any other datagram
/// gets its own task, so a slow recursion never holds up the socket. The task's future is
/// boxed: moving a pointer into the task is cheaper than moving the pipeline's state.
pub async fn serve(
    socket: UdpSocket,
    frontend: Arc<Frontend>,
    service: Service,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let socket = Arc::new(socket);
    let mut buffer = vec![0u8; MAX_DATAGRAM];
    loop {
        let (len, peer) = tokio::select! {
            received = socket.recv_from(&mut buffer) => match received {
                Ok(received) => received,
                // ICMP errors from earlier sends surface here on some systems: not fatal.
                Err(error) => {
                    tracing::debug!(%error, "udp receive");
                    continue;
                }
            },
            () = stop.cancelled() => return Ok(()),
        };
        let query = &buffer[..len];
        if let Some(response) = frontend.answer_cached(query, Transport::Udp, peer.ip(), service) {
            if let Err(error) = socket.send_to(&response, peer).await {
                tracing::debug!(%error, %peer, "udp send");
            }
            continue;
        }
        let query = query.to_vec();
        let (socket, frontend) = (Arc::clone(&socket), Arc::clone(&frontend));
        tokio::spawn(Box::pin(async move {
            if let Some(response) = frontend
                .handle_uncached(&query, Transport::Udp, peer.ip(), service)
                .await
                && let Err(error) = socket.send_to(&response, peer).await
            {
                tracing::debug!(%error, %peer, "udp send");
            }
        }));
    }
}
