//! Do53 over UDP.

use std::sync::Arc;

use tokio::net::UdpSocket;
use tokio_util::sync::CancellationToken;

use crate::frontend::{Frontend, Service};
use crate::wire::Transport;

/// Largest datagram read (anything longer is not a DNS query worth answering).
const MAX_DATAGRAM: usize = 4096;

/// Serves `socket` until `stop` is cancelled: each datagram is answered by its own task, so a
/// slow recursion never holds up the socket.
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
        let query = buffer[..len].to_vec();
        let (socket, frontend) = (Arc::clone(&socket), Arc::clone(&frontend));
        tokio::spawn(async move {
            if let Some(response) = frontend
                .handle(&query, Transport::Udp, peer.ip(), service)
                .await
                && let Err(error) = socket.send_to(&response, peer).await
            {
                tracing::debug!(%error, %peer, "udp send");
            }
        });
    }
}
