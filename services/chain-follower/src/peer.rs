//! One Handshake p2p connection over plain TCP or brontide (encrypted, [`PeerConnection::connect_brontide`]): the version handshake, keep-alive, and typed
//! packets in and out, with a bound on every wait and on every buffer.
//!
//! Follows hns-chain.md §4.5–4.9 (hsd `lib/net/peer.js`): we send VERSION first; the peer's
//! VERACK may arrive before its VERSION (hsd does that); we answer its VERSION with VERACK and
//! then ask for header announcements with SENDHEADERS. PINGs are answered inside
//! [`PeerConnection::recv`] (within a budget: a PING flood ends the connection), so callers
//! only see packets they care about. A frame with the wrong magic, or a length above its
//! packet type's cap, is a protocol violation: the connection is unusable after it and the
//! caller should drop (and score) the peer. Packet types the follower never uses are skipped
//! unread. Every buffer has a byte budget and every write a deadline.

use std::collections::VecDeque;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::BytesMut;
use hnsfleet_brontide::{BrontideError, BrontideReader, BrontideWriter};
use hnsfleet_hns::p2p::{NetAddress, P2pError, Packet, Version};
use hnsfleet_hns::params::NetworkParams;
use secp256k1::{PublicKey, SecretKey};
use thiserror::Error;
use tokio::io::AsyncWriteExt;
use tokio::io::{ReadHalf, WriteHalf};
use tokio::net::TcpStream;
use tokio::net::tcp::{OwnedReadHalf, OwnedWriteHalf};
use tokio::sync::{OwnedSemaphorePermit, Semaphore, mpsc, oneshot};
use tokio::time::{Instant, timeout, timeout_at};
use tokio_stream::StreamExt;
use tokio_util::codec::{Decoder, FramedRead};

pub mod codec;

use codec::FrameDecoder;

/// The NETWORK service bit: the peer serves headers and proofs.
pub const SERVICE_NETWORK: u64 = 1;
/// Protocol version we announce (hsd speaks 3).
pub const PROTOCOL_VERSION: u32 = 3;
/// Decoded packets waiting for the connection's owner, in bytes of their frames. The reader
/// stops reading the socket while this is used up (back-pressure instead of memory). Larger
/// than the largest frame the decoder accepts (a full HEADERS, 472 kB).
pub const INBOUND_BYTES: usize = 2 * 1024 * 1024;
/// Frames queued for the writer, in bytes. Our own packets are small (GETHEADERS about 1 kB,
/// GETPROOF 73 bytes): a peer that lets this fill up is not reading, and is dropped.
pub const OUTBOUND_BYTES: usize = 256 * 1024;
/// Longest one frame may take to be written before the peer counts as not reading.
pub const WRITE_TIMEOUT: Duration = Duration::from_secs(10);
/// PINGs answered in any [`PING_WINDOW`]; more is a flood and the peer is dropped (hsd pings
/// every two minutes).
pub const PING_BUDGET: usize = 10;
/// The window of [`PING_BUDGET`].
pub const PING_WINDOW: Duration = Duration::from_secs(10);

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
    /// The peer sent more of something than any honest peer does (PINGs beyond the budget).
    #[error("peer flooded us with {0}")]
    Flood(&'static str),
    /// Our frames are not being read: the send queue is full or a write timed out.
    #[error("peer is not reading: {0}")]
    NotReading(&'static str),
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

/// Bound on decoded packets waiting for the connection's owner (besides [`INBOUND_BYTES`]).
const PACKET_QUEUE: usize = 256;
/// Bound on frames waiting for the writer, above what [`OUTBOUND_BYTES`] allows of our
/// smallest frames, so the byte budget is the one that binds.
const OUTBOX_FRAMES: usize = 4096;

/// A decoded packet holding its share of [`INBOUND_BYTES`] until the owner takes it.
type Inbound = Result<(Packet, OwnedSemaphorePermit), PeerError>;

/// An established, handshaken connection.
///
/// A reader task owns the socket's read half: it decodes frames ([`codec::FrameDecoder`]) and
/// queues packets within a byte budget (or the one error that ended the stream), so
/// [`PeerConnection::next_packet`] is cancel-safe and can sit in a `select!` next to other
/// work. A writer task owns the write half: [`PeerConnection::send`] only queues a frame
/// (within [`OUTBOUND_BYTES`]) and never waits for the peer, so a peer that stops reading can
/// not stall its session; a write that takes longer than [`WRITE_TIMEOUT`] ends the
/// connection. Dropping the connection stops the reader; the writer flushes what is queued, then ends.
#[derive(Debug)]
pub struct PeerConnection {
    addr: SocketAddr,
    magic: u32,
    outbox: mpsc::Sender<(Vec<u8>, OwnedSemaphorePermit)>,
    outbox_bytes: Arc<Semaphore>,
    /// Resolves with the writer's error; `None` once it resolved.
    writer_failed: Option<oneshot::Receiver<PeerError>>,
    packets: mpsc::Receiver<Inbound>,
    reader: tokio::task::JoinHandle<()>,
    version: Version,
    closed: bool,
    response_timeout: Duration,
    pings: VecDeque<Instant>,
}

/// The sending side of the transport.
enum Writer {
    Plain(OwnedWriteHalf),
    Brontide(BrontideWriter<WriteHalf<TcpStream>>),
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
    /// Stops reading at once; the writer finishes the frames already queued (bounded by
    /// [`OUTBOUND_BYTES`] and [`WRITE_TIMEOUT`] each) and then closes the socket.
    fn drop(&mut self) {
        self.reader.abort();
    }
}

/// The writer task: writes queued frames in order, each within [`WRITE_TIMEOUT`]; reports the
/// first failure on `failed` and stops.
async fn write_frames(
    mut writer: Writer,
    mut outbox: mpsc::Receiver<(Vec<u8>, OwnedSemaphorePermit)>,
    failed: oneshot::Sender<PeerError>,
) {
    while let Some((frame, permit)) = outbox.recv().await {
        let error = match timeout(WRITE_TIMEOUT, writer.send_frame(&frame)).await {
            Ok(Ok(())) => {
                drop(permit);
                continue;
            }
            Ok(Err(e)) => e,
            Err(_) => PeerError::NotReading("a write timed out"),
        };
        let _ = failed.send(error);
        return;
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
        packets: mpsc::Receiver<Inbound>,
        reader: tokio::task::JoinHandle<()>,
        config: &PeerConfig,
        now: u64,
        deadline: Instant,
    ) -> Result<Self, PeerError> {
        let (outbox, queued) = mpsc::channel(OUTBOX_FRAMES);
        let (failed_tx, failed) = oneshot::channel();
        // Ends on its own once the connection (its queue's sender) is dropped.
        tokio::spawn(write_frames(writer, queued, failed_tx));
        let mut conn = PeerConnection {
            addr,
            magic: config.params.magic,
            outbox,
            outbox_bytes: Arc::new(Semaphore::new(OUTBOUND_BYTES)),
            writer_failed: Some(failed),
            packets,
            reader,
            version: placeholder_version(),
            closed: false,
            response_timeout: config.response_timeout,
            pings: VecDeque::with_capacity(PING_BUDGET),
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

    /// Queues one packet for the writer task; never waits for the peer. Fails when the peer
    /// has not been reading (the queue is full, or an earlier write failed or timed out).
    pub async fn send(&mut self, packet: &Packet) -> Result<(), PeerError> {
        let frame = packet.encode_frame(self.magic)?;
        let bytes = u32::try_from(frame.len()).unwrap_or(u32::MAX);
        let permit = Arc::clone(&self.outbox_bytes)
            .try_acquire_many_owned(bytes)
            .map_err(|_| PeerError::NotReading("send queue full"))?;
        self.outbox.try_send((frame, permit)).map_err(|e| match e {
            mpsc::error::TrySendError::Full(_) => PeerError::NotReading("send queue full"),
            mpsc::error::TrySendError::Closed(_) => PeerError::Closed,
        })
    }

    /// The next decoded packet, exactly as the peer sent it (PINGs included). Cancel-safe: use
    /// it in `select!`. A failed write ends the stream too. After the stream ends with an error,
    /// later calls return [`PeerError::Closed`].
    pub async fn next_packet(&mut self) -> Result<Packet, PeerError> {
        if self.closed {
            return Err(PeerError::Closed);
        }
        let received = match self.writer_failed.as_mut() {
            Some(failed) => tokio::select! {
                biased;
                write = failed => {
                    self.writer_failed = None;
                    match write {
                        Ok(e) => Some(Err(e)),
                        // The writer stopped without an error (its queue closed): keep reading.
                        Err(_) => self.packets.recv().await,
                    }
                }
                inbound = self.packets.recv() => inbound,
            },
            None => self.packets.recv().await,
        };
        match received {
            Some(Ok((packet, permit))) => {
                drop(permit);
                Ok(packet)
            }
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

    /// Handles a packet the connection answers itself (PING, within [`PING_BUDGET`] per
    /// [`PING_WINDOW`]); returns the others.
    pub async fn handle_keepalive(&mut self, packet: Packet) -> Result<Option<Packet>, PeerError> {
        match packet {
            Packet::Ping(nonce) => {
                let now = Instant::now();
                while self
                    .pings
                    .front()
                    .is_some_and(|t| now.duration_since(*t) >= PING_WINDOW)
                {
                    self.pings.pop_front();
                }
                if self.pings.len() >= PING_BUDGET {
                    return Err(PeerError::Flood("pings"));
                }
                self.pings.push_back(now);
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

/// Queues one decoded packet once its bytes fit the inbound budget. `Err(())` when the
/// connection was dropped.
async fn queue_packet(
    decoded: codec::Decoded,
    budget: &Arc<Semaphore>,
    packets: &mpsc::Sender<Inbound>,
) -> Result<(), ()> {
    let bytes = u32::try_from(decoded.wire_len).unwrap_or(u32::MAX);
    let permit = Arc::clone(budget)
        .acquire_many_owned(bytes)
        .await
        .map_err(|_| ())?;
    packets
        .send(Ok((decoded.packet, permit)))
        .await
        .map_err(|_| ())
}

/// The plain-TCP reader task: decodes frames from the socket and queues them. Ends after
/// queueing the first error (or when the connection is dropped).
async fn read_frames(read: OwnedReadHalf, magic: u32, packets: mpsc::Sender<Inbound>) {
    let budget = Arc::new(Semaphore::new(INBOUND_BYTES));
    let mut frames = FramedRead::new(read, FrameDecoder::new(magic));
    loop {
        let error = match frames.next().await {
            Some(Ok(decoded)) => {
                if queue_packet(decoded, &budget, &packets).await.is_err() {
                    return;
                }
                continue;
            }
            Some(Err(e)) => e,
            None => PeerError::Closed,
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
    packets: mpsc::Sender<Inbound>,
) {
    let budget = Arc::new(Semaphore::new(INBOUND_BYTES));
    let mut decoder = FrameDecoder::new(magic);
    let mut buf = BytesMut::new();
    let error = loop {
        match decoder.decode(&mut buf) {
            Ok(Some(decoded)) => {
                if queue_packet(decoded, &budget, &packets).await.is_err() {
                    return;
                }
            }
            Ok(None) => match read.read_message().await {
                Ok(Some(message)) => buf.extend_from_slice(&message),
                Ok(None) => break PeerError::Closed,
                Err(e) => break PeerError::Brontide(e),
            },
            Err(e) => break e,
        }
    };
    let _ = packets.send(Err(error)).await;
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
