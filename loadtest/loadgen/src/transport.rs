//! Transports: how a worker's queries reach the server and how answers come back.
//!
//! [`Transport`] is built once per run (TLS configuration included); `connect` opens one
//! connection and returns its `Sender`, having spawned whatever reads answers: a reader task
//! for UDP and for the pipelined streams (TCP, DoT), one small task per request for DoH. Every
//! answer, from whichever transport, goes to the worker's in-flight table
//! (`stats::Shared`), which matches it by DNS ID. DoQ (RFC 9250) and DoH over HTTP/3 are the
//! `quic` module: a QUIC connection in `connect`, and in `send` one stream per query whose task
//! hands the answer to the same table, as the `doh` module does with HTTP/2 streams.

mod doh;
mod quic;
mod tls;

pub use doh::Doh;
pub use quic::Quic;
pub use tls::Tls;

use std::net::SocketAddr;
use std::sync::Arc;

use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, BufReader};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use crate::LoadgenError;
use crate::config::{Config, DohMethod, TransportKind};
use crate::stats::{ErrorKind, Shared};

/// Largest message read from a stream or DoH body.
const MAX_MESSAGE: usize = 65_535;
/// Queries written to a stream in one write at most.
pub(crate) const STREAM_BATCH: usize = 64;

/// A transport, ready to open connections.
#[derive(Debug, Clone)]
pub enum Transport {
    /// Do53 over UDP.
    Udp,
    /// Do53 over TCP, or DoT when `tls` is set.
    Stream {
        /// TLS client and server name (DoT).
        tls: Option<Tls>,
    },
    /// DoH over HTTP/2.
    Doh(Doh),
    /// DoQ, or DoH over HTTP/3.
    Quic(Quic),
}

/// The sending half of one connection.
pub(crate) enum Sender {
    Udp(Arc<UdpSocket>),
    Stream {
        writer: Box<dyn AsyncWrite + Send + Unpin>,
        buffer: Vec<u8>,
        queued: usize,
    },
    Doh(doh::DohSender),
    Quic(quic::QuicSender),
}

// === impl Transport ===

impl Transport {
    /// The transport `config` asks for; reads the CA file if any.
    pub fn new(config: &Config) -> Result<Transport, LoadgenError> {
        Ok(match config.transport {
            TransportKind::Udp => Transport::Udp,
            TransportKind::Tcp => Transport::Stream { tls: None },
            TransportKind::Dot => Transport::Stream {
                tls: Some(tls::Tls::new(config, b"dot")?),
            },
            TransportKind::Doh => Transport::Doh(doh::Doh::new(
                tls::Tls::new(config, b"h2")?,
                config.doh_method == DohMethod::Post,
                config.doh_path.clone(),
                config.timeout,
            )),
            TransportKind::Doq => Transport::Quic(Quic::doq(config)?),
            TransportKind::Doh3 => Transport::Quic(Quic::doh3(config)?),
        })
    }

    /// Opens a connection to `target`; its answers go to `shared` until `cancel`.
    pub(crate) async fn connect(
        &self,
        target: SocketAddr,
        shared: Arc<Shared>,
        cancel: CancellationToken,
    ) -> Result<Sender, String> {
        match self {
            Transport::Udp => {
                let local: SocketAddr = if target.is_ipv4() {
                    ([127, 0, 0, 1], 0).into()
                } else {
                    (std::net::Ipv6Addr::LOCALHOST, 0).into()
                };
                // Test-namespace targets are reached from any local address.
                let local = if target.ip().is_loopback() {
                    local
                } else {
                    SocketAddr::new(unspecified(target), 0)
                };
                let socket = UdpSocket::bind(local).await.map_err(|e| e.to_string())?;
                socket.connect(target).await.map_err(|e| e.to_string())?;
                let socket = Arc::new(socket);
                tokio::spawn(udp_reader(socket.clone(), shared, cancel));
                Ok(Sender::Udp(socket))
            }
            Transport::Stream { tls } => {
                let tcp = TcpStream::connect(target)
                    .await
                    .map_err(|e| e.to_string())?;
                let _ = tcp.set_nodelay(true);
                let (reader, writer): (
                    Box<dyn AsyncRead + Send + Unpin>,
                    Box<dyn AsyncWrite + Send + Unpin>,
                ) = match tls {
                    None => {
                        let (r, w) = tcp.into_split();
                        (Box::new(r), Box::new(w))
                    }
                    Some(tls) => {
                        let stream = tls.connect(tcp).await?;
                        let (r, w) = tokio::io::split(stream);
                        (Box::new(r), Box::new(w))
                    }
                };
                tokio::spawn(stream_reader(reader, shared, cancel));
                Ok(Sender::Stream {
                    writer,
                    buffer: Vec::with_capacity(STREAM_BATCH * 64),
                    queued: 0,
                })
            }
            Transport::Doh(doh) => Ok(Sender::Doh(doh.connect(target, shared, cancel).await?)),
            Transport::Quic(quic) => Ok(Sender::Quic(quic.connect(target, shared, cancel).await?)),
        }
    }
}

fn unspecified(target: SocketAddr) -> std::net::IpAddr {
    if target.is_ipv4() {
        std::net::Ipv4Addr::UNSPECIFIED.into()
    } else {
        std::net::Ipv6Addr::UNSPECIFIED.into()
    }
}

// === impl Sender ===

impl Sender {
    /// Sends (or, on a stream, queues) query `id`, measured from `start`.
    pub(crate) async fn send(
        &mut self,
        id: u16,
        start: Instant,
        query: &[u8],
    ) -> Result<(), ErrorKind> {
        match self {
            Sender::Udp(socket) => socket
                .send(query)
                .await
                .map(|_| ())
                .map_err(|_| ErrorKind::Send),
            Sender::Stream { buffer, queued, .. } => {
                buffer.extend_from_slice(&(query.len() as u16).to_be_bytes());
                buffer.extend_from_slice(query);
                *queued += 1;
                if *queued >= STREAM_BATCH {
                    self.flush().await?;
                }
                Ok(())
            }
            Sender::Doh(doh) => doh.send(id, start, query).await,
            Sender::Quic(quic) => quic.send(id, start, query).await,
        }
    }

    /// Writes queued stream queries.
    pub(crate) async fn flush(&mut self) -> Result<(), ErrorKind> {
        if let Sender::Stream {
            writer,
            buffer,
            queued,
        } = self
            && !buffer.is_empty()
        {
            let result = writer.write_all(buffer).await;
            buffer.clear();
            *queued = 0;
            result.map_err(|_| ErrorKind::Send)?;
            writer.flush().await.map_err(|_| ErrorKind::Send)?;
        }
        Ok(())
    }

    /// Closes the sending side (a stream gets its FIN; the server may still answer).
    pub(crate) async fn close(&mut self) {
        if let Sender::Stream { writer, .. } = self {
            let _ = writer.shutdown().await;
        }
    }
}

/// Reads datagrams until `cancel`; every one goes to `shared`.
async fn udp_reader(socket: Arc<UdpSocket>, shared: Arc<Shared>, cancel: CancellationToken) {
    let mut buffer = vec![0u8; MAX_MESSAGE];
    loop {
        tokio::select! {
            () = cancel.cancelled() => return,
            received = socket.recv(&mut buffer) => match received {
                Ok(len) => shared.on_answer(&buffer[..len]),
                // An ICMP error (nothing listens): counted; the next datagram may still come.
                Err(_) => shared.on_error(None, ErrorKind::Receive),
            },
        }
    }
}

/// Reads length-prefixed answers until the stream ends or `cancel`.
async fn stream_reader(
    reader: Box<dyn AsyncRead + Send + Unpin>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
) {
    let mut reader = BufReader::with_capacity(64 * 1024, reader);
    tokio::select! {
        () = cancel.cancelled() => {}
        result = read_answers(&mut reader, &shared) => {
            if result.is_err() && !cancel.is_cancelled() {
                shared.on_error(None, ErrorKind::Receive);
            }
        }
    }
}

async fn read_answers(
    reader: &mut BufReader<Box<dyn AsyncRead + Send + Unpin>>,
    shared: &Shared,
) -> std::io::Result<()> {
    let mut buffer = vec![0u8; MAX_MESSAGE];
    loop {
        let len = usize::from(reader.read_u16().await?);
        reader.read_exact(&mut buffer[..len]).await?;
        shared.on_answer(&buffer[..len]);
    }
}
