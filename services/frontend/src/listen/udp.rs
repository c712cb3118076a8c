//! Do53 over UDP.
//!
//! Datagrams are read in batches with `recvmmsg(2)`, and the answers the packet cache gives
//! for a batch leave in one `sendmmsg(2)` (through `nix`, no unsafe code here): one system call
//! for up to `BATCH` (32) queries or answers when they queue up, which is when it matters.
//! Each Do53 address gets several sockets bound with `SO_REUSEPORT` ([`bind`]): the kernel
//! hashes each client to one of them, so several worker threads receive at once.

use std::io::{ErrorKind, IoSlice, IoSliceMut};
use std::net::{SocketAddr, SocketAddrV4, SocketAddrV6};
use std::os::fd::AsRawFd;
use std::sync::Arc;
use std::time::{Duration, Instant};

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

/// Binds `count` UDP sockets to `addr` with `SO_REUSEPORT` (port 0: the first one's port for
/// all), non-blocking, with `dont_fragment` applied (DF, never fragmented: `IP_PMTUDISC_PROBE`).
pub fn bind(
    addr: SocketAddr,
    count: usize,
    dont_fragment: bool,
) -> std::io::Result<Vec<std::net::UdpSocket>> {
    use rustix::net::{AddressFamily, SocketFlags, SocketType, ipproto, sockopt};
    let family = match addr {
        SocketAddr::V4(_) => AddressFamily::INET,
        SocketAddr::V6(_) => AddressFamily::INET6,
    };
    let mut sockets = Vec::with_capacity(count.max(1));
    let mut addr = addr;
    for _ in 0..count.max(1) {
        let socket = rustix::net::socket_with(
            family,
            SocketType::DGRAM,
            SocketFlags::NONBLOCK | SocketFlags::CLOEXEC,
            Some(ipproto::UDP),
        )?;
        sockopt::set_socket_reuseport(&socket, true)?;
        if dont_fragment {
            self::dont_fragment(&socket, addr)?;
        }
        rustix::net::bind(&socket, &addr)?;
        let socket = std::net::UdpSocket::from(socket);
        addr = socket.local_addr()?;
        sockets.push(socket);
    }
    Ok(sockets)
}

/// Sets DF on IPv4 answers and keeps IPv6 ones unfragmented, ignoring the path MTU the
/// kernel learnt (`IP_PMTUDISC_PROBE`): RFC 9715 asks DNS responders not to fragment, and
/// ICMP "too big" messages anyone can forge then change nothing. With DF the kernel also
/// skips choosing an IP ID for every answer (RFC 6864 lets atomic datagrams carry any).
fn dont_fragment(socket: &std::os::fd::OwnedFd, addr: SocketAddr) -> std::io::Result<()> {
    use rustix::net::sockopt::{self, Ipv4PathMtuDiscovery, Ipv6PathMtuDiscovery};
    match addr {
        SocketAddr::V4(_) => sockopt::set_ip_mtu_discover(socket, Ipv4PathMtuDiscovery::PROBE)?,
        SocketAddr::V6(_) => {
            sockopt::set_ipv6_mtu_discover(socket, Ipv6PathMtuDiscovery::PROBE)?;
            // A dual-stack socket's IPv4 clients (mapped addresses) go through the IPv4 path.
            sockopt::set_ip_mtu_discover(socket, Ipv4PathMtuDiscovery::PROBE).ok();
        }
    }
    Ok(())
}

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
    // Latencies are gathered here and added to the shared histogram once per wake-up.
    let latency = frontend.latency_histogram(Transport::Udp, service).local();
    loop {
        tokio::select! {
            ready = socket.readable() => ready?,
            () = stop.cancelled() => return Ok(()),
        }
        let mut drained = false;
        for _ in 0..BURST {
            received.clear();
            let read = socket.try_io(Interest::READABLE, || {
                let read = receive_batch(socket, &mut buffers, &mut received)?;
                // A short batch emptied the queue: saying so clears the socket's readiness, so
                // the next wait parks at once instead of first reading nothing (a system call
                // per wake-up). A datagram arriving meanwhile sets it again.
                if read < BATCH {
                    Err(ErrorKind::WouldBlock.into())
                } else {
                    Ok(())
                }
            });
            match read {
                Ok(()) => {}
                Err(error) if error.kind() == ErrorKind::WouldBlock => drained = true,
                // ICMP errors from earlier sends surface here on some systems: not fatal.
                Err(error) => {
                    tracing::debug!(%error, "udp receive");
                    continue;
                }
            }
            // One clock reading per batch: each answer's latency is the batch's time, from
            // the read to the answers' send (an upper bound for every query in it).
            let started = Instant::now();
            let mut answered = 0;
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
                match frontend.answer_cached_at(query, Transport::Udp, peer.ip(), service, started)
                {
                    Some(response) => {
                        outbox.push((response, peer));
                        answered += 1;
                    }
                    None => resolve(&out, service, query, peer),
                }
            }
            out.flush(&mut outbox);
            if answered > 0 {
                let seconds = started.elapsed().as_secs_f64();
                for _ in 0..answered {
                    latency.observe(seconds);
                }
            }
            if drained {
                break;
            }
        }
        latency.flush();
        if !drained {
            // A whole burst and still more waiting: let other tasks run before the next.
            tokio::task::yield_now().await;
        }
    }
}

/// Reads up to [`BATCH`] waiting datagrams into `buffers` with one `recvmmsg` call, recording
/// (buffer index, length, sender) of each complete one in `received`; how many were read, or
/// WouldBlock when none waits. Truncated datagrams (longer than [`MAX_DATAGRAM`]) and ones
/// without an IP sender are read but skipped.
fn receive_batch(
    socket: &UdpSocket,
    buffers: &mut [[u8; MAX_DATAGRAM]],
    received: &mut Vec<(usize, usize, SocketAddr)>,
) -> std::io::Result<usize> {
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
    let mut read = 0;
    for (index, message) in messages.enumerate() {
        read += 1;
        if message.flags.contains(MsgFlags::MSG_TRUNC) {
            continue;
        }
        if let Some(peer) = message.address.as_ref().and_then(socket_addr) {
            received.push((index, message.bytes, peer));
        }
    }
    Ok(read)
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

#[cfg(test)]
mod tests {
    use rustix::net::sockopt::{self, Ipv4PathMtuDiscovery};

    use super::*;

    #[test]
    fn the_sockets_of_an_address_share_its_port_and_never_fragment() {
        let sockets = bind(SocketAddr::from(([127, 0, 0, 1], 0)), 3, true).unwrap();
        assert_eq!(sockets.len(), 3);
        let port = sockets[0].local_addr().unwrap().port();
        for socket in &sockets {
            assert_eq!(socket.local_addr().unwrap().port(), port);
            assert_eq!(
                sockopt::ip_mtu_discover(socket).unwrap(),
                Ipv4PathMtuDiscovery::PROBE
            );
        }
        // Without the option the kernel's default stays.
        let plain = bind(SocketAddr::from(([127, 0, 0, 1], 0)), 1, false).unwrap();
        assert_ne!(
            sockopt::ip_mtu_discover(&plain[0]).unwrap(),
            Ipv4PathMtuDiscovery::PROBE
        );
        // Every socket of the group receives: clients on many ports reach all of them.
        let clients: Vec<_> = (0..64)
            .map(|_| std::net::UdpSocket::bind("127.0.0.1:0").unwrap())
            .collect();
        for client in &clients {
            client.send_to(b"x", ("127.0.0.1", port)).unwrap();
        }
        let mut buffer = [0u8; 16];
        let mut got = vec![0; sockets.len()];
        let deadline = Instant::now() + Duration::from_secs(5);
        while got.iter().sum::<usize>() < clients.len() && Instant::now() < deadline {
            for (socket, got) in sockets.iter().zip(got.iter_mut()) {
                while socket.recv_from(&mut buffer).is_ok() {
                    *got += 1;
                }
            }
            std::thread::yield_now();
        }
        assert!(
            got.iter().all(|&n| n > 0),
            "a socket of the group received nothing: {got:?}"
        );
        let total: usize = got.iter().sum();
        assert_eq!(total, clients.len());
    }
}
