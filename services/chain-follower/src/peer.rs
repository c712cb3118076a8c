//! One Handshake p2p connection over plain TCP: the version handshake, keep-alive, and typed
//! packets in and out, with a bound on every wait and on every buffer.
//!
//! Follows hns-chain.md §4.5–4.9 (hsd `lib/net/peer.js`): we send VERSION first; the peer's
//! VERACK may arrive before its VERSION (hsd does that); we answer its VERSION with VERACK and
//! then ask for header announcements with SENDHEADERS. PINGs are answered inside
//! [`PeerConnection::recv`], so callers only see packets they care about. A frame with the
//! wrong magic or an oversize length is a protocol violation: the connection is unusable
//! after it and the caller should drop (and score) the peer.

use std::net::SocketAddr;
use std::time::Duration;

use hnsfleet_hns::p2p::{FrameStatus, NetAddress, P2pError, Packet, Version, parse_frame};
use hnsfleet_hns::params::NetworkParams;
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;
use tokio::time::{Instant, timeout, timeout_at};

/// The NETWORK service bit: the peer serves headers and proofs.
pub const SERVICE_NETWORK: u64 = 1;
/// Protocol version we announce (hsd speaks 3).
pub const PROTOCOL_VERSION: u32 = 3;
/// Receive buffer growth step.
const READ_CHUNK: usize = 64 * 1024;

/// Why a connection failed or was dropped.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum PeerError {
    /// TCP connect failed.
    #[error("connect to {addr}: {source}")]
    Connect {
        /// The peer.
        addr: SocketAddr,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A socket read or write failed, or the peer closed the connection.
    #[error("peer i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The peer closed the connection.
    #[error("peer closed the connection")]
    Closed,
    /// A wait ran past its deadline.
    #[error("peer timed out waiting for {0}")]
    Timeout(&'static str),
    /// The peer broke the wire protocol (bad magic, oversize frame, undecodable packet).
    #[error("peer protocol violation: {0}")]
    Protocol(#[from] P2pError),
    /// The peer broke the handshake rules.
    #[error("peer handshake: {0}")]
    Handshake(&'static str),
}

/// Settings of one connection.
#[derive(Debug, Clone)]
pub struct PeerConfig {
    /// Network the peer must be on (its magic frames every packet).
    pub params: &'static NetworkParams,
    /// Connect + VERSION/VERACK exchange deadline (hsd: 5 s each).
    pub handshake_timeout: Duration,
    /// User agent we announce.
    pub user_agent: String,
    /// Our best height, announced in VERSION.
    pub height: u32,
    /// Whether to send SENDHEADERS after the handshake.
    pub send_headers: bool,
}

/// An established, handshaken connection.
#[derive(Debug)]
pub struct PeerConnection {
    addr: SocketAddr,
    stream: TcpStream,
    magic: u32,
    buf: Vec<u8>,
    version: Version,
}

impl PeerConnection {
    /// Connects to `addr` and completes the handshake within `config.handshake_timeout`.
    pub async fn connect(
        addr: SocketAddr,
        config: &PeerConfig,
        now: u64,
    ) -> Result<Self, PeerError> {
        let deadline = Instant::now() + config.handshake_timeout;
        let stream = timeout_at(deadline, TcpStream::connect(addr))
            .await
            .map_err(|_| PeerError::Timeout("tcp connect"))?
            .map_err(|source| PeerError::Connect { addr, source })?;
        stream.set_nodelay(true)?;
        let mut conn = PeerConnection {
            addr,
            stream,
            magic: config.params.magic,
            buf: Vec::new(),
            version: placeholder_version(),
        };
        conn.handshake(config, now, deadline).await?;
        Ok(conn)
    }

    async fn handshake(
        &mut self,
        config: &PeerConfig,
        now: u64,
        deadline: Instant,
    ) -> Result<(), PeerError> {
        let ours = Version {
            version: PROTOCOL_VERSION,
            services: 0,
            time: now,
            remote: NetAddress::from_socket_addr(self.addr, SERVICE_NETWORK, now),
            nonce: rand::random::<u64>() | 1,
            agent: config.user_agent.clone(),
            height: config.height,
            no_relay: true,
        };
        self.send(&Packet::Version(ours)).await?;
        let (mut got_version, mut got_verack) = (None, false);
        while got_version.is_none() || !got_verack {
            let packet = timeout_at(deadline, self.recv_raw())
                .await
                .map_err(|_| PeerError::Timeout("version handshake"))??;
            match packet {
                Packet::Version(v) => {
                    if got_version.is_some() {
                        return Err(PeerError::Handshake("second VERSION"));
                    }
                    if v.services & SERVICE_NETWORK == 0 {
                        return Err(PeerError::Handshake("peer does not serve the network"));
                    }
                    self.send(&Packet::Verack).await?;
                    got_version = Some(v);
                }
                Packet::Verack => got_verack = true,
                Packet::Ping(nonce) => self.send(&Packet::Pong(nonce)).await?,
                _ => {} // SENDCMPCT, FEEFILTER and friends may come early; ignore them.
            }
        }
        if let Some(v) = got_version {
            self.version = v;
        }
        if config.send_headers {
            self.send(&Packet::SendHeaders).await?;
        }
        Ok(())
    }

    /// The peer's address.
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The VERSION the peer sent (its height, agent, services).
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Sends one packet.
    pub async fn send(&mut self, packet: &Packet) -> Result<(), PeerError> {
        let frame = packet.encode_frame(self.magic)?;
        self.stream.write_all(&frame).await?;
        Ok(())
    }

    /// Receives the next packet the caller should see, answering PINGs on the way. Fails after
    /// `wait` without a packet.
    pub async fn recv(&mut self, wait: Duration) -> Result<Packet, PeerError> {
        let deadline = Instant::now() + wait;
        loop {
            let packet = timeout_at(deadline, self.recv_raw())
                .await
                .map_err(|_| PeerError::Timeout("a packet"))??;
            match packet {
                Packet::Ping(nonce) => self.send(&Packet::Pong(nonce)).await?,
                other => return Ok(other),
            }
        }
    }

    /// Sends `request` and returns the first packet for which `pick` returns `Some`, within
    /// `wait`. Packets that do not match are handed to `other` (announcements, for example).
    pub async fn request<T>(
        &mut self,
        request: &Packet,
        wait: Duration,
        mut pick: impl FnMut(&Packet) -> Option<T>,
        mut other: impl FnMut(Packet),
    ) -> Result<T, PeerError> {
        self.send(request).await?;
        let deadline = Instant::now() + wait;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let packet = self.recv(remaining).await?;
            match pick(&packet) {
                Some(found) => return Ok(found),
                None => other(packet),
            }
        }
    }

    /// Reads until one whole frame is buffered and decodes it. The buffer never holds more
    /// than one maximum-size frame: `parse_frame` rejects an oversize length from its header.
    async fn recv_raw(&mut self) -> Result<Packet, PeerError> {
        loop {
            let consumed = match parse_frame(&self.buf, self.magic)? {
                FrameStatus::Complete(frame) => Some((frame.wire_len(), frame.packet()?)),
                FrameStatus::Incomplete { .. } => None,
            };
            if let Some((len, packet)) = consumed {
                self.buf.drain(..len);
                return Ok(packet);
            }
            let start = self.buf.len();
            self.buf.resize(start + READ_CHUNK, 0);
            let n = self.stream.read(&mut self.buf[start..]).await;
            let n = match n {
                Ok(n) => n,
                Err(e) => {
                    self.buf.truncate(start);
                    return Err(e.into());
                }
            };
            self.buf.truncate(start + n);
            if n == 0 {
                return Err(PeerError::Closed);
            }
        }
    }
}

/// Waits at most `wait` for `fut`, naming what was awaited in the error.
pub async fn with_timeout<T>(
    wait: Duration,
    what: &'static str,
    fut: impl std::future::Future<Output = Result<T, PeerError>>,
) -> Result<T, PeerError> {
    timeout(wait, fut)
        .await
        .map_err(|_| PeerError::Timeout(what))?
}

fn placeholder_version() -> Version {
    Version {
        version: 0,
        services: 0,
        time: 0,
        remote: NetAddress::from_socket_addr(SocketAddr::from(([0, 0, 0, 0], 0)), 0, 0),
        nonce: 0,
        agent: String::new(),
        height: 0,
        no_relay: true,
    }
}
