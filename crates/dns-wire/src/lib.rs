//! DNS messages at the frontend's edge: what a request must look like to be answered, the
//! response skeleton every answer starts from (ID, opcode, RD, CD and the question as sent,
//! EDNS0 with the frontend's payload size), Extended DNS Errors (RFC 8914), and encoding
//! within a size limit (RFC-style truncation: TC=1, question and OPT kept).
//!
//! Nothing here looks at names or data: [`parse`] only decides between "answer this query",
//! "send this error" and "drop it". Pure (no I/O); the frontend's listeners and pipeline use
//! it, and a fuzz target (`fuzz/fuzz_targets/dns_query.rs`) drives it with arbitrary bytes.
#![forbid(unsafe_code)]

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;

/// The smallest DNS message: its header.
pub const HEADER_LEN: usize = 12;
/// The largest UDP response without EDNS0 (RFC 1035).
pub const CLASSIC_UDP_LIMIT: usize = 512;
/// The largest message over a stream transport (two-byte length prefix).
pub const STREAM_LIMIT: usize = 65_535;
/// EDNS0 option code of Extended DNS Errors (RFC 8914).
pub const EDE_OPTION: u16 = 15;

/// How a query reached the frontend. Also the `transport` label of the metrics.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Transport {
    /// Do53 over UDP.
    Udp,
    /// Do53 over TCP.
    Tcp,
    /// DNS over TLS (RFC 7858).
    Tls,
    /// DNS over HTTPS (RFC 8484) over HTTP/2 or HTTP/1.1.
    Https,
    /// DNS over HTTPS over HTTP/3 (RFC 8484 on RFC 9114).
    Https3,
    /// DNS over dedicated QUIC connections (RFC 9250).
    Quic,
}

/// Extended DNS Error info codes (RFC 8914 §4) the frontend sends.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[repr(u16)]
pub enum Ede {
    /// 0: none of the others.
    Other = 0,
    /// 3: an expired answer served because its refresh failed (RFC 8767).
    StaleAnswer = 3,
    /// 6: DNSSEC validation failed.
    DnssecBogus = 6,
    /// 14: no verified chain state yet (not synchronized, no trusted root).
    NotReady = 14,
    /// 18: refused by policy (e.g. over a budget).
    Prohibited = 18,
    /// 19: an expired NXDOMAIN served because its refresh failed.
    StaleNxdomainAnswer = 19,
    /// 21: the query asks for something the server does not do.
    NotSupported = 21,
    /// 22: no authoritative server answered.
    NoReachableAuthority = 22,
    /// 23: a network error talking to an upstream.
    NetworkError = 23,
    /// 24: an upstream sent data that could not be used.
    InvalidData = 24,
}

/// A query worth answering: one question, opcode and class checked by the caller.
#[derive(Debug, Clone)]
pub struct Request {
    /// The request as parsed.
    pub message: Message,
    /// Its only question.
    pub query: Query,
}

/// What to do with received bytes.
#[derive(Debug)]
pub enum Parsed {
    /// A query with one question: answer it.
    Query(Box<Request>),
    /// Answer at once with this (FORMERR, BADVERS, NOTIMP).
    Reply(Box<Message>),
    /// Not a query, or too broken to answer safely: say nothing.
    Drop,
}

// === impl Transport ===

impl Transport {
    /// The metrics label.
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Https => "https",
            Transport::Https3 => "h3",
            Transport::Quic => "quic",
        }
    }
}

// === impl Request ===

impl Request {
    /// The EDNS DO bit.
    pub fn dnssec_ok(&self) -> bool {
        self.message
            .edns
            .as_ref()
            .is_some_and(|e| e.flags().dnssec_ok)
    }

    /// Whether the request had EDNS0.
    pub fn has_edns(&self) -> bool {
        self.message.edns.is_some()
    }

    /// The largest response the client accepts over UDP: its EDNS0 size, within
    /// [`CLASSIC_UDP_LIMIT`]..=`ours`; 512 without EDNS0.
    pub fn udp_limit(&self, ours: u16) -> usize {
        match &self.message.edns {
            Some(edns) => usize::from(edns.max_payload().clamp(512, ours.max(512))),
            None => CLASSIC_UDP_LIMIT,
        }
    }

    /// A response to this request: same ID and opcode, RD and CD copied, the question as sent,
    /// EDNS0 (with our payload size and the DO bit echoed) when the request had it.
    pub fn response(&self, rcode: ResponseCode, udp_payload: u16) -> Message {
        let mut response = Message::response(self.message.id, self.message.op_code);
        response.metadata.recursion_desired = self.message.recursion_desired;
        response.metadata.checking_disabled = self.message.checking_disabled;
        response.metadata.response_code = rcode;
        response.add_query(self.query.clone());
        if self.has_edns() {
            let mut edns = Edns::new();
            edns.set_max_payload(udp_payload);
            edns.set_dnssec_ok(self.dnssec_ok());
            response.set_edns(edns);
        }
        response
    }
}

/// Decides what to do with `bytes` received from a client.
pub fn parse(bytes: &[u8]) -> Parsed {
    if bytes.len() < HEADER_LEN {
        return Parsed::Drop;
    }
    // QR is the top bit of byte 2: never answer a response (reflection loops).
    if bytes[2] & 0x80 != 0 {
        return Parsed::Drop;
    }
    let message = match Message::from_vec(bytes) {
        Ok(message) => message,
        Err(_) => return header_error(bytes, ResponseCode::FormErr),
    };
    if message.message_type != MessageType::Query {
        return Parsed::Drop;
    }
    if message.op_code != OpCode::Query {
        let mut reply = Message::error_msg(message.id, message.op_code, ResponseCode::NotImp);
        reply.metadata.recursion_desired = message.recursion_desired;
        return Parsed::Reply(Box::new(reply));
    }
    if message.queries.len() != 1 || !message.answers.is_empty() || !message.authorities.is_empty()
    {
        let mut reply = Message::error_msg(message.id, message.op_code, ResponseCode::FormErr);
        reply.metadata.recursion_desired = message.recursion_desired;
        return Parsed::Reply(Box::new(reply));
    }
    let query = message.queries[0].clone();
    let request = Request { message, query };
    if let Some(edns) = &request.message.edns
        && edns.version() > 0
    {
        // RFC 6891 §6.1.3: BADVERS with our (version 0) OPT.
        let mut reply = request.response(ResponseCode::BADVERS, 1232);
        reply.queries.clear();
        return Parsed::Reply(Box::new(reply));
    }
    Parsed::Query(Box::new(request))
}

/// An error reply built from the header alone (the rest did not parse).
fn header_error(bytes: &[u8], rcode: ResponseCode) -> Parsed {
    let id = u16::from_be_bytes([bytes[0], bytes[1]]);
    let opcode = OpCode::from_u8((bytes[2] >> 3) & 0x0f);
    let mut reply = Message::error_msg(id, opcode, rcode);
    reply.metadata.recursion_desired = bytes[2] & 0x01 != 0;
    Parsed::Reply(Box::new(reply))
}

/// Adds an Extended DNS Error to `message` (which gets EDNS0 if it had none: RFC 8914 needs
/// the OPT record; a client without EDNS0 ignores it).
pub fn add_ede(message: &mut Message, code: Ede, text: &str) {
    let mut data = Vec::with_capacity(2 + text.len());
    data.extend_from_slice(&(code as u16).to_be_bytes());
    data.extend_from_slice(text.as_bytes());
    let edns = message.edns.get_or_insert_with(|| {
        let mut edns = Edns::new();
        edns.set_max_payload(1232);
        edns
    });
    edns.options_mut()
        .insert(EdnsOption::Unknown(EDE_OPTION, data));
}

/// The first Extended DNS Error in `message`, if any (tests, logs).
pub fn ede_of(message: &Message) -> Option<(u16, String)> {
    let edns = message.edns.as_ref()?;
    edns.options()
        .options
        .iter()
        .find_map(|(_, option)| match option {
            EdnsOption::Unknown(EDE_OPTION, data) if data.len() >= 2 => Some((
                u16::from_be_bytes([data[0], data[1]]),
                String::from_utf8_lossy(&data[2..]).into_owned(),
            )),
            _ => None,
        })
}

/// The longest name on the wire (RFC 1035 §3.1).
const MAX_NAME_LEN: usize = 255;

/// An empty TC=1 response to the query in `bytes`, built from its bytes without decoding the
/// message: the header (ID, opcode, RD and CD kept; QR and TC set; RCODE NOERROR; one
/// question, no records, no EDNS) and the question copied as sent. What a rate limiter sends
/// instead of an answer ("slip"): it is no larger than the query, so it amplifies nothing, and
/// a real client retries over TCP. `None` (send nothing) for anything but a standard query
/// with exactly one uncompressed question.
pub fn slip_reply(bytes: &[u8]) -> Option<Vec<u8>> {
    let header = bytes.get(..HEADER_LEN)?;
    let flags = header[2];
    let opcode = (flags >> 3) & 0x0f;
    // Only queries (QR=0) with opcode QUERY, one question, no answer or authority records
    // (an OPT record may follow the question: it is not copied).
    if flags & 0x80 != 0 || opcode != 0 || header[4..10] != [0, 1, 0, 0, 0, 0] {
        return None;
    }
    let mut at = HEADER_LEN;
    loop {
        let len = usize::from(*bytes.get(at)?);
        if len & 0xc0 != 0 {
            return None;
        }
        at += 1 + len;
        if at - HEADER_LEN > MAX_NAME_LEN {
            return None;
        }
        if len == 0 {
            break;
        }
    }
    let question_end = at + 4;
    let question = bytes.get(HEADER_LEN..question_end)?;
    let mut reply = Vec::with_capacity(question_end);
    reply.extend_from_slice(&header[..2]);
    // QR=1, opcode 0, AA=0, TC=1, RD as asked.
    reply.push(0x80 | 0x02 | (flags & 0x01));
    // RA=0, Z=0, AD=0, CD as asked, RCODE 0.
    reply.push(header[3] & 0x10);
    reply.extend_from_slice(&[0, 1, 0, 0, 0, 0, 0, 0]);
    reply.extend_from_slice(question);
    Some(reply)
}

/// Encodes `message` within `limit` bytes: if it does not fit, answer, authority and additional
/// records are dropped and TC set (the client retries over TCP). `None` if even that fails.
pub fn encode(message: &Message, limit: usize) -> Option<Vec<u8>> {
    match message.to_vec() {
        Ok(bytes) if bytes.len() <= limit => Some(bytes),
        Ok(_) => {
            let truncated = message.truncate();
            truncated.to_vec().ok().filter(|b| b.len() <= limit)
        }
        Err(error) => {
            tracing::warn!(%error, "cannot encode a response");
            None
        }
    }
}

#[cfg(test)]
mod tests;
