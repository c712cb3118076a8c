//! Pure message work: the query's bytes, whether response bytes answer it, and the SIG(0)
//! verdict. No I/O, no clock (`now` is a parameter).

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{Name, RecordType};
use hnsfleet_hns::sig0::{self, Sig0Error, Sig0PublicKey};

use crate::error::Error;

/// The EDNS0 UDP payload size a query advertises (the DNS Flag Day 2020 value).
pub const EDNS_PAYLOAD: u16 = 1232;
/// Largest DNS message (the TCP length prefix's limit).
pub const MAX_MESSAGE: usize = 65_535;
/// DNS header size.
const HEADER: usize = 12;

/// What to ask: the question, the DO bit, and what a caller adds (EDNS options; DoH URL
/// parameters). The client gives these extras no meaning of its own.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Request {
    /// The name asked for.
    pub name: Name,
    /// The type asked for.
    pub record_type: RecordType,
    /// Set DO (RFC 3225): ask for DNSSEC records.
    pub dnssec_ok: bool,
    /// Set RD (on by default: the fleet's resolver recurses).
    pub recursion_desired: bool,
    /// Extra EDNS0 options `(code, data)`, sent in this order after nothing else.
    pub edns_options: Vec<(u16, Vec<u8>)>,
    /// Extra DoH URL query parameters `(key, value)` (form-encoded, after the URL's own); other
    /// transports ignore them.
    pub doh_params: Vec<(String, String)>,
}

/// What a response's SIG(0) record says.
#[derive(Debug, Clone, PartialEq, Eq)]
#[non_exhaustive]
pub enum Sig0Verdict {
    /// It verifies with `key` (the whole message as received, at the current time).
    Verified {
        /// The key it verified with.
        key: Sig0PublicKey,
    },
    /// It does not verify with the pinned key.
    Failed {
        /// Why.
        reason: Sig0Error,
    },
    /// The response carries no SIG(0) record.
    NotSigned,
    /// No key was pinned, so nothing was checked.
    NotChecked,
}

// === impl Request ===

impl Request {
    /// A recursive query for `name`/`record_type` without DO and without extras.
    pub fn new(name: Name, record_type: RecordType) -> Request {
        Request {
            name,
            record_type,
            dnssec_ok: false,
            recursion_desired: true,
            edns_options: Vec::new(),
            doh_params: Vec::new(),
        }
    }

    /// The same request with DO set as given.
    pub fn with_dnssec_ok(mut self, dnssec_ok: bool) -> Request {
        self.dnssec_ok = dnssec_ok;
        self
    }

    /// The same request with one more EDNS0 option.
    pub fn with_edns_option(mut self, code: u16, data: Vec<u8>) -> Request {
        self.edns_options.push((code, data));
        self
    }

    /// The same request with one more DoH URL parameter.
    pub fn with_doh_param(mut self, key: impl Into<String>, value: impl Into<String>) -> Request {
        self.doh_params.push((key.into(), value.into()));
        self
    }

    /// The query message with message ID `id`: QR=0, opcode QUERY, RD as asked, one question
    /// (class IN), an OPT record (payload [`EDNS_PAYLOAD`], DO as asked, the extra options).
    pub fn to_message(&self, id: u16) -> Message {
        let mut message = Message::new(id, MessageType::Query, OpCode::Query);
        message.metadata.recursion_desired = self.recursion_desired;
        message.add_query(Query::query(self.name.clone(), self.record_type));
        let mut edns = Edns::new();
        edns.set_max_payload(EDNS_PAYLOAD);
        edns.set_dnssec_ok(self.dnssec_ok);
        for (code, data) in &self.edns_options {
            edns.options_mut()
                .insert(EdnsOption::Unknown(*code, data.clone()));
        }
        message.set_edns(edns);
        message
    }

    /// The query's wire bytes with message ID `id`.
    pub fn encode(&self, id: u16) -> Result<Vec<u8>, Error> {
        let bytes = self
            .to_message(id)
            .to_vec()
            .map_err(|e| Error::Encode(e.to_string()))?;
        if bytes.len() > MAX_MESSAGE {
            return Err(Error::Encode(format!("{} bytes", bytes.len())));
        }
        Ok(bytes)
    }
}

// === response checks ===

/// Whether `raw` claims to answer query `id`: at least a header, the same ID, QR=1. What a UDP
/// client checks before it looks further (anything else is another datagram, ignored).
pub fn header_matches(raw: &[u8], id: u16) -> Result<(), Error> {
    if raw.len() < HEADER {
        return Err(Error::Malformed(format!(
            "{} bytes, no dns header",
            raw.len()
        )));
    }
    if u16::from_be_bytes([raw[0], raw[1]]) != id {
        return Err(Error::Mismatch("another message id"));
    }
    if raw[2] & 0x80 == 0 {
        return Err(Error::Mismatch("not a response (qr=0)"));
    }
    Ok(())
}

/// Whether the TC bit is set (the header is assumed present).
pub(crate) fn truncated(raw: &[u8]) -> bool {
    raw.get(2).is_some_and(|flags| flags & 0x02 != 0)
}

/// The SIG(0) verdict on `raw` for `key` at `now` (unix seconds): [`Sig0Verdict::Verified`],
/// [`Sig0Verdict::Failed`], or [`Sig0Verdict::NotSigned`] when the message does not end with a
/// SIG(0) record.
pub fn check_sig0(raw: &[u8], key: &Sig0PublicKey, now: u32) -> Sig0Verdict {
    match sig0::verify(raw, key, now) {
        Ok(()) => Sig0Verdict::Verified { key: *key },
        Err(Sig0Error::NoSig | Sig0Error::TooShort { .. }) => Sig0Verdict::NotSigned,
        Err(reason) => Sig0Verdict::Failed { reason },
    }
}

/// Checks complete response bytes against the query (`id`, `request`) and, with `key`, its
/// SIG(0) at `now`: the decoded message and the verdict, or why it is rejected. The signature
/// is checked before anything is decoded, over the bytes exactly as received.
pub fn check_response(
    raw: &[u8],
    id: u16,
    request: &Request,
    key: Option<&Sig0PublicKey>,
    now: u32,
) -> Result<(Message, Sig0Verdict), Error> {
    if raw.len() > MAX_MESSAGE {
        return Err(Error::TooLarge { len: raw.len() });
    }
    header_matches(raw, id)?;
    let verdict = match key {
        None => Sig0Verdict::NotChecked,
        Some(key) => match check_sig0(raw, key, now) {
            verified @ Sig0Verdict::Verified { .. } => verified,
            Sig0Verdict::Failed { reason } => {
                return Err(Error::BadSignature {
                    key: Box::new(*key),
                    reason,
                });
            }
            _ => {
                return Err(Error::Unsigned {
                    key: Box::new(*key),
                });
            }
        },
    };
    let message = Message::from_vec(raw).map_err(|e| Error::Malformed(e.to_string()))?;
    question_matches(&message, request)?;
    Ok((message, verdict))
}

/// The decoded response answers `request`: opcode QUERY and the one question asked (name
/// compared case-insensitively, type and class IN).
fn question_matches(message: &Message, request: &Request) -> Result<(), Error> {
    if message.metadata.op_code != OpCode::Query {
        return Err(Error::Mismatch("another opcode"));
    }
    match message.queries.as_slice() {
        [q] if q.name().eq_ignore_root(&request.name)
            && q.query_type() == request.record_type
            && q.query_class() == hickory_proto::rr::DNSClass::IN =>
        {
            Ok(())
        }
        [_] => Err(Error::Mismatch("another question")),
        _ => Err(Error::Mismatch("not exactly one question")),
    }
}
