//! One query to one root server: UDP with EDNS0 DO from a fresh socket (OS-chosen port) and a
//! random ID, falling back to TCP when the answer is truncated. Anything that does not come
//! from the server asked, carry the ID, be a response and echo the question is ignored, so an
//! off-path spoofer has to guess both ID and port and cannot end the wait early.

use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};
use tokio::time::{Instant, timeout};

use crate::AttemptError;

/// The EDNS UDP payload size advertised (the DNS flag day 2020 value).
pub(crate) const UDP_PAYLOAD: u16 = 1232;

/// Sends `name rtype` (class IN, RD clear, DO set) to `server` and returns the matching
/// response, within `wait` overall (UDP and, on truncation, TCP).
pub(crate) async fn exchange(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    wait: Duration,
) -> Result<Message, AttemptError> {
    let deadline = Instant::now() + wait;
    let id: u16 = rand::random();
    let query = build_query(id, name, rtype)?;
    let reply = udp(server, &query, id, name, rtype, deadline).await?;
    let reply = if reply.metadata.truncation {
        tcp(server, &query, id, name, rtype, deadline).await?
    } else {
        reply
    };
    match reply.metadata.response_code {
        ResponseCode::NoError | ResponseCode::NXDomain => Ok(reply),
        other => Err(AttemptError::Rcode(other)),
    }
}

fn build_query(id: u16, name: &Name, rtype: RecordType) -> Result<Vec<u8>, AttemptError> {
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.metadata.recursion_desired = false;
    msg.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(true).set_max_payload(UDP_PAYLOAD);
    msg.set_edns(edns);
    msg.to_vec()
        .map_err(|e| AttemptError::Malformed(format!("encoding the query: {e}")))
}

/// Checks a datagram or TCP message against the query; `Err` says why it is ignored.
fn check(bytes: &[u8], id: u16, name: &Name, rtype: RecordType) -> Result<Message, AttemptError> {
    // The ID is read before decoding so a packet with another ID counts as a mismatch even
    // when it is garbage after the header.
    if bytes.len() >= 2 && u16::from_be_bytes([bytes[0], bytes[1]]) != id {
        return Err(AttemptError::Mismatch("id"));
    }
    let msg = Message::from_vec(bytes).map_err(|e| AttemptError::Malformed(e.to_string()))?;
    if msg.metadata.message_type != MessageType::Response || msg.metadata.op_code != OpCode::Query {
        return Err(AttemptError::Mismatch("not a query response"));
    }
    let echoed = msg.queries.len() == 1
        && msg.queries[0].name() == name
        && msg.queries[0].query_type() == rtype
        && msg.queries[0].query_class() == DNSClass::IN;
    if !echoed {
        return Err(AttemptError::Mismatch("question"));
    }
    Ok(msg)
}

async fn udp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &Name,
    rtype: RecordType,
    deadline: Instant,
) -> Result<Message, AttemptError> {
    let bind: SocketAddr = if server.is_ipv4() {
        SocketAddr::from(([0, 0, 0, 0], 0))
    } else {
        SocketAddr::from(([0u16; 8], 0))
    };
    let io = |e: std::io::Error| AttemptError::Io(e.to_string());
    let sock = UdpSocket::bind(bind).await.map_err(io)?;
    sock.send_to(query, server).await.map_err(io)?;
    // One byte more than advertised, to notice a server that ignores the limit.
    let mut buf = vec![0u8; usize::from(UDP_PAYLOAD) + 1];
    let mut ignored: Option<AttemptError> = None;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let received = timeout(left, sock.recv_from(&mut buf)).await;
        let (n, from) = match received {
            Err(_) => return Err(ignored.unwrap_or(AttemptError::Timeout)),
            Ok(Err(e)) => return Err(io(e)),
            Ok(Ok(got)) => got,
        };
        if from != server {
            continue;
        }
        if n > usize::from(UDP_PAYLOAD) {
            ignored = Some(AttemptError::Oversized(n));
            continue;
        }
        match check(&buf[..n], id, name, rtype) {
            Ok(msg) => return Ok(msg),
            Err(why) => {
                tracing::debug!(%server, %why, "ignoring a datagram from the icann root");
                ignored = Some(why);
            }
        }
    }
}

async fn tcp(
    server: SocketAddr,
    query: &[u8],
    id: u16,
    name: &Name,
    rtype: RecordType,
    deadline: Instant,
) -> Result<Message, AttemptError> {
    let io = |e: std::io::Error| AttemptError::Io(e.to_string());
    let work = async {
        let mut stream = TcpStream::connect(server).await.map_err(io)?;
        let len = u16::try_from(query.len()).map_err(|_| AttemptError::Oversized(query.len()))?;
        let mut framed = Vec::with_capacity(query.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(query);
        stream.write_all(&framed).await.map_err(io)?;
        // The length prefix bounds the read at 64 KiB.
        let len = usize::from(stream.read_u16().await.map_err(io)?);
        let mut buf = vec![0u8; len];
        stream.read_exact(&mut buf).await.map_err(io)?;
        check(&buf, id, name, rtype)
    };
    let left = deadline.saturating_duration_since(Instant::now());
    timeout(left, work)
        .await
        .map_err(|_| AttemptError::Timeout)?
}
