//! One Handshake p2p connection over plain TCP or brontide (encrypted, [`PeerConnection::connect_brontide`]): the version handshake, keep-alive, and typed
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

use hnsfleet_brontide::{BrontideError, BrontideReader, BrontideWriter};
use hnsfleet_hns::p2p::{FrameStatus, NetAddress, P2pError, Packet, Version, parse_frame};
use hnsfleet_hns::params::NetworkParams;
use secp256k1::{PublicKey, SecretKey};
use thiserror::Error;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::mpsc;
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
    /// The encrypted transport failed (handshake, or a message that does not authenticate).
    #[error(transparent)]
    Brontide(#[from] BrontideError),
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
    /// How long the peer may take to answer a request such as GETHEADERS (hsd
    /// `RESPONSE_TIMEOUT`: 30 s).
    pub response_timeout: Duration,
}

/// Bound on decoded packets waiting for the connection's owner; the reader stops reading the
/// socket when it is full (back-pressure instead of unbounded memory).
const PACKET_QUEUE: usize = 64;

/// An established, handshaken connection.
///
/// A reader task owns the socket's read half: it decodes frames and queues packets (or the one
/// error that ended the stream), so [`PeerConnection::next_packet`] is cancel-safe and can sit in
/// a `select!` next to other work. The write half stays here. Dropping the connection stops the
/// reader.
#[derive(Debug)]
pub struct PeerConnection {
    addr: SocketAddr,
    writer: Writer,
    magic: u32,
    packets: mpsc::Receiver<Result<Packet, PeerError>>,
    reader: tokio::task::JoinHandle<()>,
    version: Version,
    closed: bool,
    response_timeout: Duration,
}

/// The sending side of the transport.
enum Writer {
    Plain(OwnedWriteHalf),
    Brontide(BrontideWriter<WriteHalf<TcpStream>>),
}

impl std::fmt::Debug for Writer {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(match self {
            Writer::Plain(_) => "plain",
            Writer::Brontide(_) => "brontide",
        })
    }
}

impl Writer {
    async fn send_frame(&mut self, frame: &[u8]) -> Result<(), PeerError> {
        match self {
            Writer::Plain(w) => w.write_all(frame).await?,
            // One brontide message per frame, as hsd sends them.
            Writer::Brontide(w) => w.write_message(frame).await?,
        }
        Ok(())
    }
}

impl Drop for PeerConnection {
    fn drop(&mut self) {
        self.reader.abort();
    }
}

impl PeerConnection {
    /// Connects to `addr` and completes the handshake within `config.handshake_timeout`.
    pub async fn connect(
        addr: SocketAddr,
        config: &PeerConfig,
        now: u64,
    ) -> Result<Self, PeerError> {
        let deadline = Instant::now() + config.handshake_timeout;
        let stream = tcp_connect(addr, deadline).await?;
        let (read, writer) = stream.into_split();
        let (tx, packets) = mpsc::channel(PACKET_QUEUE);
        let magic = config.params.magic;
        let reader = tokio::spawn(read_frames(read, magic, tx));
        Self::establish(
            addr,
            Writer::Plain(writer),
            packets,
            reader,
            config,
            now,
            deadline,
        )
        .await
    }

    /// Connects over brontide to the peer whose identity key is `identity` (the `KEY` of
    /// `KEY@HOST:PORT`), then completes the version handshake inside the encrypted session,
    /// all within `config.handshake_timeout`. Our own static key is fresh for every
    /// connection: hsd does not check initiators.
    pub async fn connect_brontide(
        addr: SocketAddr,
        identity: &PublicKey,
        config: &PeerConfig,
        now: u64,
    ) -> Result<Self, PeerError> {
        let deadline = Instant::now() + config.handshake_timeout;
        let stream = tcp_connect(addr, deadline).await?;
        let ours = loop {
            if let Ok(key) = SecretKey::from_byte_array(rand::random::<[u8; 32]>()) {
                break key;
            }
        };
        let remaining = deadline.saturating_duration_since(Instant::now());
        let session = hnsfleet_brontide::connect(stream, &ours, identity, remaining).await?;
        let (read, writer) = session.into_split();
        let (tx, packets) = mpsc::channel(PACKET_QUEUE);
        let magic = config.params.magic;
        let reader = tokio::spawn(read_brontide_frames(read, magic, tx));
        Self::establish(
            addr,
            Writer::Brontide(writer),
            packets,
            reader,
            config,
            now,
            deadline,
        )
        .await
    }

    async fn establish(
        addr: SocketAddr,
        writer: Writer,
        packets: mpsc::Receiver<Result<Packet, PeerError>>,
        reader: tokio::task::JoinHandle<()>,
        config: &PeerConfig,
        now: u64,
        deadline: Instant,
    ) -> Result<Self, PeerError> {
        let mut conn = PeerConnection {
            addr,
            writer,
            magic: config.params.magic,
            packets,
            reader,
            version: placeholder_version(),
            closed: false,
            response_timeout: config.response_timeout,
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
            let packet = timeout_at(deadline, self.next_packet())
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

    /// How long the peer may take to answer a request.
    pub fn response_timeout(&self) -> Duration {
        self.response_timeout
    }

    /// The VERSION the peer sent (its height, agent, services).
    pub fn version(&self) -> &Version {
        &self.version
    }

    /// Sends one packet.
    pub async fn send(&mut self, packet: &Packet) -> Result<(), PeerError> {
        let frame = packet.encode_frame(self.magic)?;
        self.writer.send_frame(&frame).await
    }

    /// The next decoded packet, exactly as the peer sent it (PINGs included). Cancel-safe: use
    /// it in `select!`. After the stream ends with an error, later calls return
    /// [`PeerError::Closed`].
    pub async fn next_packet(&mut self) -> Result<Packet, PeerError> {
        if self.closed {
            return Err(PeerError::Closed);
        }
        match self.packets.recv().await {
            Some(Ok(packet)) => Ok(packet),
            Some(Err(e)) => {
                self.closed = true;
                Err(e)
            }
            None => {
                self.closed = true;
                Err(PeerError::Closed)
            }
        }
    }

    /// Handles a packet the connection answers itself (PING); returns the others.
    pub async fn handle_keepalive(&mut self, packet: Packet) -> Result<Option<Packet>, PeerError> {
        match packet {
            Packet::Ping(nonce) => {
                self.send(&Packet::Pong(nonce)).await?;
                Ok(None)
            }
            other => Ok(Some(other)),
        }
    }

    /// Receives the next packet the caller should see, answering PINGs on the way. Fails after
    /// `wait` without a packet.
    pub async fn recv(&mut self, wait: Duration) -> Result<Packet, PeerError> {
        let deadline = Instant::now() + wait;
        loop {
            let packet = self.recv_raw_until(deadline).await?;
            if let Some(other) = self.handle_keepalive(packet).await? {
                return Ok(other);
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

    async fn recv_raw_until(&mut self, deadline: Instant) -> Result<Packet, PeerError> {
        timeout_at(deadline, self.next_packet())
            .await
            .map_err(|_| PeerError::Timeout("a packet"))?
    }
}

/// Queues every whole frame at the front of `buf`. `Err(())` when the task must stop (a
/// protocol error was queued, or the connection was dropped). The buffer never holds more
/// than one maximum-size frame: `parse_frame` rejects an oversize length from the 9-byte
/// header.
async fn drain_frames(
    buf: &mut Vec<u8>,
    magic: u32,
    packets: &mpsc::Sender<Result<Packet, PeerError>>,
) -> Result<(), ()> {
    loop {
        let decoded = match parse_frame(buf, magic) {
            Ok(FrameStatus::Complete(frame)) => {
                let len = frame.wire_len();
                frame.packet().map(|p| (len, p))
            }
            Ok(FrameStatus::Incomplete { .. }) => return Ok(()),
            Err(e) => Err(e),
        };
        match decoded {
            Ok((len, packet)) => {
                buf.drain(..len);
                packets.send(Ok(packet)).await.map_err(|_| ())?;
            }
            Err(e) => {
                let _ = packets.send(Err(PeerError::Protocol(e))).await;
                return Err(());
            }
        }
    }
}

/// The plain-TCP reader task: reads the socket, decodes whole frames and queues them. Ends
/// after queueing the first error (or when the connection is dropped).
async fn read_frames(
    mut read: OwnedReadHalf,
    magic: u32,
    packets: mpsc::Sender<Result<Packet, PeerError>>,
) {
    let mut buf: Vec<u8> = Vec::with_capacity(READ_CHUNK);
    loop {
        if drain_frames(&mut buf, magic, &packets).await.is_err() {
            return;
        }
        buf.reserve(READ_CHUNK);
        let error = match read.read_buf(&mut buf).await {
            Ok(0) => PeerError::Closed,
            Ok(_) => continue,
            Err(e) => PeerError::Io(e),
        };
        let _ = packets.send(Err(error)).await;
        return;
    }
}

/// The brontide reader task: decrypts whole messages (each authenticated before use), then
/// decodes the frames inside like [`read_frames`].
async fn read_brontide_frames(
    mut read: BrontideReader<ReadHalf<TcpStream>>,
    magic: u32,
    packets: mpsc::Sender<Result<Packet, PeerError>>,
) {
    let mut buf: Vec<u8> = Vec::new();
    loop {
        if drain_frames(&mut buf, magic, &packets).await.is_err() {
            return;
        }
        let error = match read.read_message().await {
            Ok(Some(message)) => {
                buf.extend_from_slice(&message);
                continue;
            }
            Ok(None) => PeerError::Closed,
            Err(e) => PeerError::Brontide(e),
        };
        let _ = packets.send(Err(error)).await;
        return;
    }
}

async fn tcp_connect(addr: SocketAddr, deadline: Instant) -> Result<TcpStream, PeerError> {
    let stream = timeout_at(deadline, TcpStream::connect(addr))
        .await
        .map_err(|_| PeerError::Timeout("tcp connect"))?
        .map_err(|source| PeerError::Connect { addr, source })?;
    stream.set_nodelay(true)?;
    Ok(stream)
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
