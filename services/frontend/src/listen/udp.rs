//! Do53 over UDP.
//!
//! Datagrams are read in batches with `recvmmsg(2)`, and the answers the packet cache gives
//! for a batch leave in one `sendmmsg(2)` (through `nix`, no unsafe code here): one system call
//! for up to `BATCH` (32) queries or answers when they queue up, which is when it matters.

use std::io::{ErrorKind, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::Duration;

use nix::sys::socket::{MsgFlags, MultiHeaders, SockaddrStorage, recvmmsg, sendmmsg};
use tokio::io::Interest;
use tokio::net::UdpSocket;
use tokio::sync::{OwnedSemaphorePermit, Semaphore};
use tokio_util::sync::CancellationToken;

use crate::frontend::{Frontend, Service};
use crate::rrl::Admit;
use crate::wire::Transport;

/// Largest datagram read (anything longer is not a DNS query worth answering).
const MAX_DATAGRAM: usize = 4096;
/// Datagrams read by one `recvmmsg` call.
const BATCH: usize = 32;
/// Tasks at most waiting for room in the socket's send buffer; answers beyond them are
/// dropped and counted (`dropped_total{reason="send_buffer"}`), as a full send buffer means
/// the host cannot send faster anyway: memory must not grow with a backlog of answers.
const MAX_WAITING_SENDS: usize = 64;
/// How long an answer waits for room in the send buffer before it is dropped (a client has
/// retried by then).
const SEND_WAIT: Duration = Duration::from_secs(1);
/// Batches handled per wake-up before yielding to other tasks (the socket is drained without
/// waiting in between, but a flood must not starve TCP, timers and spawned resolutions).
const BURST: usize = 4;

/// Serves `socket` until `stop` is cancelled.
///
/// Every datagram first passes response rate limiting ([`Frontend::admit`]): over its prefix's
/// limit it gets an empty TC=1 reply (sent with the batch) or nothing, and costs no more. Each
/// wake-up drains the socket in batches without awaiting between datagrams. A query the
/// packet cache answers is answered right here, with no task and no await (that is most of
/// the traffic of a busy resolver), and a batch's answers leave together; any other datagram
/// gets its own task, so a slow recursion never holds up the socket. That task's future is
/// boxed: moving a pointer into the task is cheaper than moving the pipeline's state.
pub async fn serve(
    socket: UdpSocket,
    frontend: Arc<Frontend>,
    service: Service,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let out = Outlet {
        socket: Arc::new(socket),
        waiting: Arc::new(Semaphore::new(MAX_WAITING_SENDS)),
        frontend: Arc::clone(&frontend),
    };
    let socket = &out.socket;
    let mut buffers = vec![[0u8; MAX_DATAGRAM]; BATCH];
    let mut received = Vec::with_capacity(BATCH);
    let mut outbox = Vec::with_capacity(BATCH);
    loop {
        tokio::select! {
            ready = socket.readable() => ready?,
            () = stop.cancelled() => return Ok(()),
        }
        for _ in 0..BURST {
            received.clear();
            match socket.try_io(Interest::READABLE, || {
                receive_batch(socket, &mut buffers, &mut received)
            }) {
                Ok(()) => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => break,
                // ICMP errors from earlier sends surface here on some systems: not fatal.
                Err(error) => {
                    tracing::debug!(%error, "udp receive");
                    continue;
                }
            }
            for &(index, len, peer) in &received {
                let query = &buffers[index][..len];
                match frontend.admit(query, peer.ip()) {
                    Admit::Answer => {}
                    Admit::Slip(reply) => {
                        outbox.push((reply, peer));
                        continue;
                    }
                    Admit::Drop => continue,
                }
                match frontend.answer_cached(query, Transport::Udp, peer.ip(), service) {
                    Some(response) => outbox.push((response, peer)),
                    None => resolve(&out, service, query, peer),
                }
            }
            out.flush(&mut outbox);
            if received.len() < BATCH {
                break;
            }
        }
        tokio::task::yield_now().await;
    }
}

/// Reads up to [`BATCH`] waiting datagrams into `buffers` with one `recvmmsg` call, recording
/// (buffer index, length, sender) of each complete one in `received`; WouldBlock when none
/// waits. Truncated datagrams (longer than [`MAX_DATAGRAM`]) and ones without an IP sender are
/// skipped.
fn receive_batch(
    socket: &UdpSocket,
    buffers: &mut [[u8; MAX_DATAGRAM]],
    received: &mut Vec<(usize, usize, SocketAddr)>,
) -> std::io::Result<()> {
    // The headers hold raw pointers (not Send): made per call, never held across an await.
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(buffers.len(), None);
    let mut slices: Vec<[IoSliceMut<'_>; 1]> = buffers
        .iter_mut()
        .map(|buffer| [IoSliceMut::new(buffer)])
        .collect();
    let messages = recvmmsg(
        socket.as_raw_fd(),
        &mut headers,
        slices.iter_mut(),
        MsgFlags::MSG_DONTWAIT,
        None,
    )
    .map_err(std::io::Error::from)?;
    for (index, message) in messages.enumerate() {
        if message.flags.contains(MsgFlags::MSG_TRUNC) {
            continue;
        }
        if let Some(peer) = message.address.as_ref().and_then(socket_addr) {
            received.push((index, message.bytes, peer));
        }
    }
    Ok(())
}

/// The IP address and port in `address`, if it is one.
fn socket_addr(address: &SockaddrStorage) -> Option<SocketAddr> {
    if let Some(v4) = address.as_sockaddr_in() {
        return Some(SocketAddr::V4(SocketAddrV4::from(*v4)));
    }
    address
        .as_sockaddr_in6()
        .map(|v6| SocketAddr::V6(SocketAddrV6::from(*v6)))
}

/// Where answers leave: the socket, and the bounded set of tasks waiting for room in its
/// send buffer.
#[derive(Clone)]
struct Outlet {
    socket: Arc<UdpSocket>,
    waiting: Arc<Semaphore>,
    frontend: Arc<Frontend>,
}

impl Outlet {
    /// Sends the batch's cached answers with one `sendmmsg` call: one burst wakes a waiting
    /// client once, where answers spread over the batch's signing time would wake it once
    /// each. What the call did not take (a full send buffer) goes to a task that waits for
    /// room, if fewer than [`MAX_WAITING_SENDS`] already do; otherwise it is dropped.
    fn flush(&self, outbox: &mut Vec<(Vec<u8>, SocketAddr)>) {
        if outbox.is_empty() {
            return;
        }
        let sent = match self
            .socket
            .try_io(Interest::WRITABLE, || send_batch(&self.socket, outbox))
        {
            Ok(sent) => sent,
            Err(error) if error.kind() == ErrorKind::WouldBlock => 0,
            Err(error) => {
                // One bad destination fails the call: send one by one, which skips just that.
                tracing::debug!(%error, "udp sendmmsg");
                0
            }
        };
        let rest: Vec<_> = outbox.drain(..).skip(sent).collect();
        if rest.is_empty() {
            return;
        }
        let Some(permit) = self.wait_permit(rest.len()) else {
            return;
        };
        let outlet = self.clone();
        tokio::spawn(async move {
            for (response, peer) in rest {
                outlet.send_waiting(&response, peer).await;
            }
            drop(permit);
        });
    }

    /// Sends one answer: at once if the send buffer has room, else after waiting for it (at
    /// most [`SEND_WAIT`], and only if fewer than [`MAX_WAITING_SENDS`] tasks wait already).
    async fn send(&self, response: &[u8], peer: SocketAddr) {
        match self.socket.try_send_to(response, peer) {
            Ok(_) => {}
            Err(error) if error.kind() == ErrorKind::WouldBlock => {
                if let Some(_permit) = self.wait_permit(1) {
                    self.send_waiting(response, peer).await;
                }
            }
            Err(error) => tracing::debug!(%error, %peer, "udp send"),
        }
    }

    /// A place among the tasks waiting for room, or `None` after counting `answers` dropped.
    fn wait_permit(&self, answers: usize) -> Option<OwnedSemaphorePermit> {
        let permit = Arc::clone(&self.waiting).try_acquire_owned().ok();
        if permit.is_none() {
            self.dropped(answers);
        }
        permit
    }

    /// Sends `response`, waiting at most [`SEND_WAIT`] for room in the send buffer.
    async fn send_waiting(&self, response: &[u8], peer: SocketAddr) {
        match tokio::time::timeout(SEND_WAIT, self.socket.send_to(response, peer)).await {
            Ok(Ok(_)) => {}
            Ok(Err(error)) => tracing::debug!(%error, %peer, "udp send"),
            Err(_) => self.dropped(1),
        }
    }

    fn dropped(&self, answers: usize) {
        self.frontend
            .metrics()
            .dropped
            .with_label_values(&["send_buffer"])
            .inc_by(answers as u64);
    }
}

/// Sends `answers` with one `sendmmsg` call; how many the kernel took.
fn send_batch(socket: &UdpSocket, answers: &[(Vec<u8>, SocketAddr)]) -> std::io::Result<usize> {
    // The headers hold raw pointers (not Send): made per call, never held across an await.
    let mut headers = MultiHeaders::<SockaddrStorage>::preallocate(answers.len(), None);
    let slices: Vec<[IoSlice<'_>; 1]> = answers
        .iter()
        .map(|(response, _)| [IoSlice::new(response)])
        .collect();
    let peers: Vec<Option<SockaddrStorage>> = answers
        .iter()
        .map(|(_, peer)| Some(SockaddrStorage::from(*peer)))
        .collect();
    let sent = sendmmsg(
        socket.as_raw_fd(),
        &mut headers,
        &slices,
        &peers,
        [],
        MsgFlags::MSG_DONTWAIT,
    )
    .map_err(std::io::Error::from)?;
    Ok(sent.count())
}

/// Answers a datagram the packet cache could not, in a task of its own.
fn resolve(out: &Outlet, service: Service, query: &[u8], peer: SocketAddr) {
    let query = query.to_vec();
    let out = out.clone();
    tokio::spawn(Box::pin(async move {
        if let Some(response) = out
            .frontend
            .handle_uncached(&query, Transport::Udp, peer.ip(), service)
            .await
        {
            out.send(&response, peer).await;
        }
    }));
}
