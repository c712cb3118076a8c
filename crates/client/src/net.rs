//! The blocking exchanges: Do53 over UDP and TCP, DoT, DoH. Each one is bounded by the
//! query's deadline (every connect, read and write gets the time left) and by the DNS size
//! limit (no read is unbounded). They return the response bytes; [`crate::Client`] checks
//! them.

use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream, UdpSocket};
use std::sync::Arc;
use std::time::{Duration, Instant};

use rustls::{ClientConfig, ClientConnection, StreamOwned};

use crate::error::Error;
use crate::http::{self, Parsed};
use crate::message::{MAX_MESSAGE, header_matches};
use crate::server::{Server, Transport};
use crate::tls::server_name;

/// When an exchange must be over.
#[derive(Debug, Clone, Copy)]
pub(crate) struct Deadline {
    end: Instant,
    total: Duration,
}

/// What a UDP exchange ended with.
pub(crate) enum UdpOutcome<T> {
    /// A datagram `check` accepted, as it made it.
    Answer(T),
    /// A datagram with the query's ID and TC=1: ask again over TCP.
    Truncated,
}

// === impl Deadline ===

impl Deadline {
    /// `total` from now.
    pub(crate) fn after(total: Duration) -> Deadline {
        Deadline {
            end: Instant::now() + total,
            total,
        }
    }

    /// The time left, or the timeout error when none is.
    pub(crate) fn left(&self, transport: Transport) -> Result<Duration, Error> {
        let left = self.end.saturating_duration_since(Instant::now());
        if left.is_zero() {
            return Err(self.timeout(transport));
        }
        Ok(left)
    }

    /// The timeout error.
    pub(crate) fn timeout(&self, transport: Transport) -> Error {
        Error::Timeout {
            transport,
            after: self.total,
        }
    }

    /// An I/O error from `transport` (a timed-out read becomes the timeout error).
    pub(crate) fn io(&self, transport: Transport, source: std::io::Error) -> Error {
        Error::io(transport, self.total, source)
    }
}

// === UDP ===

/// Sends `query` from a fresh socket (an ephemeral port the system picks at random) and waits
/// for the answer until the deadline. Datagrams from another address, shorter than a header,
/// with another ID or not a response are ignored, and so are those `check` finds to be for
/// another question or undecodable (what an off-path spoofer sends); any other rejection by
/// `check` (a bad or missing signature with a pinned key) ends the exchange with that error.
pub(crate) fn udp<T>(
    addr: SocketAddr,
    query: &[u8],
    id: u16,
    deadline: Deadline,
    check: impl Fn(&[u8]) -> Result<T, Error>,
) -> Result<UdpOutcome<T>, Error> {
    let t = Transport::Udp;
    let local: SocketAddr = match addr {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let socket = UdpSocket::bind(local).map_err(|e| deadline.io(t, e))?;
    // Connected: the kernel drops datagrams from other addresses and reports ICMP errors.
    socket.connect(addr).map_err(|e| deadline.io(t, e))?;
    socket.send(query).map_err(|e| deadline.io(t, e))?;
    let mut buffer = vec![0u8; MAX_MESSAGE];
    loop {
        socket
            .set_read_timeout(Some(deadline.left(t)?))
            .map_err(|e| deadline.io(t, e))?;
        let (len, from) = socket
            .recv_from(&mut buffer)
            .map_err(|e| deadline.io(t, e))?;
        let raw = &buffer[..len];
        if from != addr || header_matches(raw, id).is_err() {
            continue;
        }
        if crate::message::truncated(raw) {
            return Ok(UdpOutcome::Truncated);
        }
        match check(raw) {
            Ok(answer) => return Ok(UdpOutcome::Answer(answer)),
            Err(Error::Mismatch(_) | Error::Malformed(_)) => continue,
            Err(error) => return Err(error),
        }
    }
}

// === TCP and DoT ===

/// One query over a new TCP connection.
pub(crate) fn tcp(addr: SocketAddr, query: &[u8], deadline: Deadline) -> Result<Vec<u8>, Error> {
    let t = Transport::Tcp;
    let mut stream = connect(addr, t, deadline)?;
    framed_exchange(&mut stream, query, t, deadline, |s, left| {
        s.set_read_timeout(Some(left))?;
        s.set_write_timeout(Some(left))
    })
}

/// One query over a new TLS connection (ALPN `dot` in `config`).
pub(crate) fn dot(
    server: &Server,
    config: &Arc<ClientConfig>,
    query: &[u8],
    deadline: Deadline,
) -> Result<Vec<u8>, Error> {
    let t = Transport::Tls;
    let mut stream = tls_connect(server, config, t, deadline)?;
    framed_exchange(&mut stream, query, t, deadline, |s, left| {
        s.sock.set_read_timeout(Some(left))?;
        s.sock.set_write_timeout(Some(left))
    })
}

/// Writes the 2-byte length and the query, reads the 2-byte length and that many bytes;
/// `timeouts` gives the socket the time left before each step.
fn framed_exchange<S: Read + Write>(
    stream: &mut S,
    query: &[u8],
    t: Transport,
    deadline: Deadline,
    timeouts: impl Fn(&mut S, Duration) -> std::io::Result<()>,
) -> Result<Vec<u8>, Error> {
    let len = u16::try_from(query.len()).map_err(|_| Error::TooLarge { len: query.len() })?;
    let mut framed = Vec::with_capacity(query.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(query);
    timeouts(stream, deadline.left(t)?).map_err(|e| deadline.io(t, e))?;
    stream.write_all(&framed).map_err(|e| deadline.io(t, e))?;
    stream.flush().map_err(|e| deadline.io(t, e))?;
    let mut prefix = [0u8; 2];
    read_exact(stream, &mut prefix, t, deadline, &timeouts)?;
    let mut response = vec![0u8; usize::from(u16::from_be_bytes(prefix))];
    read_exact(stream, &mut response, t, deadline, &timeouts)?;
    Ok(response)
}

/// Fills `buf`, giving the socket the time left before each read.
fn read_exact<S: Read>(
    stream: &mut S,
    buf: &mut [u8],
    t: Transport,
    deadline: Deadline,
    timeouts: &impl Fn(&mut S, Duration) -> std::io::Result<()>,
) -> Result<(), Error> {
    let mut filled = 0;
    while filled < buf.len() {
        timeouts(stream, deadline.left(t)?).map_err(|e| deadline.io(t, e))?;
        match stream.read(&mut buf[filled..]) {
            Ok(0) => return Err(Error::Closed { transport: t }),
            Ok(n) => filled += n,
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => {}
            Err(e) => return Err(deadline.io(t, e)),
        }
    }
    Ok(())
}

/// A TCP connection to `addr` within the deadline.
fn connect(addr: SocketAddr, t: Transport, deadline: Deadline) -> Result<TcpStream, Error> {
    let stream =
        TcpStream::connect_timeout(&addr, deadline.left(t)?).map_err(|e| deadline.io(t, e))?;
    let _ = stream.set_nodelay(true);
    Ok(stream)
}

/// A TLS session to `server` (checked against its `tls_name`), handshake done.
fn tls_connect(
    server: &Server,
    config: &Arc<ClientConfig>,
    t: Transport,
    deadline: Deadline,
) -> Result<StreamOwned<ClientConnection, TcpStream>, Error> {
    let sock = connect(server.addr, t, deadline)?;
    let connection = ClientConnection::new(Arc::clone(config), server_name(&server.tls_name)?)
        .map_err(|source| Error::Tls {
            transport: t,
            source,
        })?;
    let mut stream = StreamOwned::new(connection, sock);
    while stream.conn.is_handshaking() {
        let left = deadline.left(t)?;
        stream
            .sock
            .set_read_timeout(Some(left))
            .and_then(|()| stream.sock.set_write_timeout(Some(left)))
            .map_err(|e| deadline.io(t, e))?;
        stream
            .conn
            .complete_io(&mut stream.sock)
            .map_err(|e| deadline.io(t, e))?;
    }
    Ok(stream)
}

// === DoH ===

/// Most bytes read for one DoH response: the head, and a body in the smallest chunks.
const MAX_HTTP_READ: usize = http::MAX_HEAD + 8 * MAX_MESSAGE;

/// One RFC 8484 POST over a new TLS connection (ALPN `http/1.1` in `config`): the body of a
/// 200 `application/dns-message` answer.
pub(crate) fn doh(
    server: &Server,
    config: &Arc<ClientConfig>,
    query: &[u8],
    params: &[(String, String)],
    deadline: Deadline,
) -> Result<Vec<u8>, Error> {
    let t = Transport::Https;
    let mut stream = tls_connect(server, config, t, deadline)?;
    let timeouts = |s: &mut StreamOwned<ClientConnection, TcpStream>, left| {
        s.sock.set_read_timeout(Some(left))?;
        s.sock.set_write_timeout(Some(left))
    };
    let request = http::encode_request(&server.http_host, &server.http_path, params, query);
    timeouts(&mut stream, deadline.left(t)?).map_err(|e| deadline.io(t, e))?;
    stream.write_all(&request).map_err(|e| deadline.io(t, e))?;
    stream.flush().map_err(|e| deadline.io(t, e))?;
    let mut received = Vec::new();
    let mut chunk = vec![0u8; 16 * 1024];
    loop {
        timeouts(&mut stream, deadline.left(t)?).map_err(|e| deadline.io(t, e))?;
        let eof = match stream.read(&mut chunk) {
            Ok(0) => true,
            Ok(n) => {
                received.extend_from_slice(&chunk[..n]);
                false
            }
            Err(e) if e.kind() == std::io::ErrorKind::Interrupted => continue,
            // A server that closes without close_notify after a whole response is common.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => true,
            Err(e) => return Err(deadline.io(t, e)),
        };
        if received.len() > MAX_HTTP_READ {
            return Err(Error::Http(http::HttpError::TooLarge("response")));
        }
        if let Parsed::Complete(response) = http::parse_response(&received, eof)? {
            return Ok(http::dns_body(response)?);
        }
    }
}
