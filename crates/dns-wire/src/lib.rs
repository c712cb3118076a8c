//! DNS messages at the frontend's edge: what a request must look like to be answered, the
//! response skeleton every answer starts from (ID, opcode, RD, CD and the question as sent,
//! EDNS0 with the frontend's payload size), Extended DNS Errors (RFC 8914), and encoding
//! within a size limit (RFC-style truncation: TC=1, question and OPT kept), and EDNS(0)
//! padding of responses on encrypted transports ([`pad`]: RFC 7830's option, RFC 8467's
//! 468-octet block policy).
//!
//! Nothing here looks at names or data: [`parse`] only decides between "answer this query",
//! "send this error" and "drop it". Pure (no I/O); the frontend's listeners and pipeline use
//! it, and a fuzz target (`fuzz/fuzz_targets/dns_query.rs`) drives it with arbitrary bytes.
#![forbid(unsafe_code)]

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};

/// The smallest DNS message: its header.
pub const HEADER_LEN: usize = 12;
/// The largest UDP response without EDNS0 (RFC 1035).
pub const CLASSIC_UDP_LIMIT: usize = 512;
/// The largest message over a stream transport (two-byte length prefix).
pub const STREAM_LIMIT: usize = 65_535;
/// EDNS0 option code of Extended DNS Errors (RFC 8914).
pub const EDE_OPTION: u16 = 15;
/// EDNS0 option code of Padding (RFC 7830).
pub const PADDING_OPTION: u16 = 12;
/// The block length padded responses are a multiple of (RFC 8467 §4.1, "Block-Length Padding":
/// the recommended 468 octets for responses).
pub const RESPONSE_BLOCK: usize = 468;
/// Record type code of OPT (RFC 6891).
const OPT_TYPE: u16 = 41;
/// Size of an EDNS option's code and length.
const OPTION_HEADER: usize = 4;

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

    /// Whether the transport is encrypted (DoT, DoH, DoH over HTTP/3, DoQ): only there are
    /// responses padded (RFC 8467 §4: padding a message an observer can read whole hides
    /// nothing; RFC 9250 §5.4 asks DoQ to pad like DoT).
    pub fn is_encrypted(self) -> bool {
        match self {
            Transport::Udp | Transport::Tcp => false,
            Transport::Tls | Transport::Https | Transport::Https3 | Transport::Quic => true,
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

    /// Whether the query carried an EDNS0 Padding option (RFC 7830): the client asks for a
    /// padded response (RFC 8467 §4: a server pads only responses to padded queries).
    pub fn wants_padding(&self) -> bool {
        self.message
            .edns
            .as_ref()
            .is_some_and(|e| e.options().get(EdnsCode::Padding).is_some())
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

/// Pads an encoded response with an EDNS0 Padding option (RFC 7830, zero octets) so that its
/// length plus `trailer` (the bytes that will still be appended: a SIG(0) record) is a
/// multiple of [`RESPONSE_BLOCK`] (RFC 8467 §4.1), or, when that would exceed `limit`, to
/// `limit` exactly. Works on the bytes, not on a decoded message, so it pads what was really
/// encoded (a truncated response too) without encoding twice.
///
/// Pads only a message whose last record is its one OPT record (as [`encode`] writes it:
/// OPT last, before any SIG(0) is appended) and that carries no Padding option yet; returns
/// whether it padded. Anything else, malformed bytes included, is left as it was.
pub fn pad(message: &mut Vec<u8>, trailer: usize, limit: usize) -> bool {
    let Some(rdlen_at) = last_opt_rdlen(message) else {
        return false;
    };
    let len = message.len();
    let base = len + OPTION_HEADER;
    let target = (base + trailer).div_ceil(RESPONSE_BLOCK) * RESPONSE_BLOCK - trailer;
    let target = target.min(limit);
    if target < base {
        return false;
    }
    let padding = target - base;
    let old_rdlen = usize::from(u16::from_be_bytes([
        message[rdlen_at],
        message[rdlen_at + 1],
    ]));
    let (Ok(rdlen), Ok(padding_len)) = (
        u16::try_from(old_rdlen + OPTION_HEADER + padding),
        u16::try_from(padding),
    ) else {
        return false;
    };
    message[rdlen_at..rdlen_at + 2].copy_from_slice(&rdlen.to_be_bytes());
    message.reserve(OPTION_HEADER + padding);
    message.extend_from_slice(&PADDING_OPTION.to_be_bytes());
    message.extend_from_slice(&padding_len.to_be_bytes());
    message.resize(target, 0);
    true
}

/// The offset of the RDLENGTH of `message`'s OPT record when it is the message's last record,
/// owned by the root, the only OPT, its options well formed and without Padding; `None`
/// otherwise (malformed bytes included).
fn last_opt_rdlen(message: &[u8]) -> Option<usize> {
    let header = message.get(..HEADER_LEN)?;
    let count = |at: usize| usize::from(u16::from_be_bytes([header[at], header[at + 1]]));
    let questions = count(4);
    let records = count(6) + count(8) + count(10);
    let mut at = HEADER_LEN;
    for _ in 0..questions {
        at = skip_name(message, at)? + 4;
    }
    let mut opt = None;
    for index in 0..records {
        let owner = at;
        at = skip_name(message, at)?;
        let fixed = message.get(at..at + 10)?;
        let rtype = u16::from_be_bytes([fixed[0], fixed[1]]);
        let rdlen = usize::from(u16::from_be_bytes([fixed[8], fixed[9]]));
        let rdlen_at = at + 8;
        at += 10 + rdlen;
        if at > message.len() {
            return None;
        }
        if rtype == OPT_TYPE {
            // One OPT, owned by the root, and the last record: the padding goes at its end,
            // which is the message's end.
            if opt.is_some() || message[owner] != 0 || index + 1 != records {
                return None;
            }
            opt = Some(rdlen_at);
        }
    }
    let rdlen_at = opt.filter(|_| at == message.len())?;
    // The options: well formed, and none of them Padding already (RFC 7830 §3: at most once).
    let mut option = rdlen_at + 2;
    while option < message.len() {
        let head = message.get(option..option + OPTION_HEADER)?;
        if u16::from_be_bytes([head[0], head[1]]) == PADDING_OPTION {
            return None;
        }
        option += OPTION_HEADER + usize::from(u16::from_be_bytes([head[2], head[3]]));
    }
    (option == message.len()).then_some(rdlen_at)
}

/// The offset just past the (possibly compressed) name at `at`; `None` if it runs off the end
/// or uses a reserved label type.
fn skip_name(message: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *message.get(at)?;
        match len & 0xc0 {
            0x00 if len == 0 => return Some(at + 1),
            0x00 => at += 1 + usize::from(len),
            // A compression pointer ends the name.
            0xc0 => return message.get(at + 1).map(|_| at + 2),
            _ => return None,
        }
    }
}

#[cfg(test)]
mod tests;
