//! DNS helpers for the frontend end-to-end tests: queries over UDP and TCP with hickory-proto,
//! and the normalised form in which two servers' answers are compared.

use std::collections::BTreeMap;
use std::net::SocketAddr;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpStream, UdpSocket};

/// A query for `name`/`qtype` with EDNS0 (DO as given, 4096-byte payload).
pub(crate) fn query(name: &str, qtype: RecordType, dnssec_ok: bool, recursion: bool) -> Message {
    let mut message = Message::query();
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(4096);
    edns.set_dnssec_ok(dnssec_ok);
    message.set_edns(edns);
    message.metadata.recursion_desired = recursion;
    message
}

/// Sends `message` over UDP; the parsed answer (panics after 10 s without one).
pub(crate) async fn udp(server: SocketAddr, message: &Message) -> Message {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(&message.to_vec().unwrap(), server)
        .await
        .unwrap();
    let mut buffer = vec![0u8; 65_535];
    let (len, _) = tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buffer))
        .await
        .unwrap_or_else(|_| panic!("no UDP answer from {server}"))
        .unwrap();
    Message::from_vec(&buffer[..len]).unwrap()
}

/// Sends `message` over a new TCP connection; the parsed answer.
pub(crate) async fn tcp(server: SocketAddr, message: &Message) -> Message {
    let mut stream = TcpStream::connect(server).await.unwrap();
    let bytes = message.to_vec().unwrap();
    stream
        .write_all(&(bytes.len() as u16).to_be_bytes())
        .await
        .unwrap();
    stream.write_all(&bytes).await.unwrap();
    let mut len = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut len))
        .await
        .unwrap_or_else(|_| panic!("no TCP answer from {server}"))
        .unwrap();
    let mut answer = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut answer).await.unwrap();
    Message::from_vec(&answer).unwrap()
}

/// A record as compared between servers: owner (lower case), type and rdata text, with the
/// TTL dropped, RRSIG signature bytes and validity times blanked and the SOA serial zeroed
/// (they differ per run by design).
fn normalise(record: &Record) -> String {
    let owner = record.name.to_lowercase().to_ascii();
    let data = match &record.data {
        RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(sig)) => {
            let input = sig.input();
            format!(
                "RRSIG {} {} {} {} {} {}",
                input.type_covered,
                u8::from(input.algorithm),
                input.num_labels,
                input.original_ttl,
                input.key_tag,
                input.signer_name
            )
        }
        RData::SOA(soa) => format!(
            "SOA {} {} {} {} {} {}",
            soa.mname, soa.rname, soa.refresh, soa.retry, soa.expire, soa.minimum
        ),
        other => format!("{} {other}", record.record_type()),
    };
    format!("{owner} {data}")
}

/// Multiset of normalised records of one section (order ignored), SIG(0) left out.
fn section(records: &[Record]) -> BTreeMap<String, usize> {
    let mut out = BTreeMap::new();
    for record in records {
        if record.record_type() == RecordType::SIG {
            continue;
        }
        *out.entry(normalise(record)).or_insert(0) += 1;
    }
    out
}

/// What two root servers must agree on: rcode, AA and every section (order, TTLs and
/// signature bytes ignored).
pub(crate) fn comparable(message: &Message) -> String {
    format!(
        "rcode={} aa={}\nanswer={:?}\nauthority={:?}\nadditional={:?}",
        message.response_code,
        message.authoritative,
        section(&message.answers),
        section(&message.authorities),
        section(&message.additionals),
    )
}
