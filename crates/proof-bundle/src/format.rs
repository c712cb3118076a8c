//! The bundle's wire format (version 1), carried as the data of EDNS0 option
//! [`crate::OPTION_CODE`]. Integers are big-endian.
//!
//! ```text
//! version        u8      (1)
//! network magic  u32
//! tld            u8 length ‖ lower-case label
//! tree root      32 bytes
//! first height   u32     height of the first header
//! headers        u16 count ‖ count × 236-byte headers, heights ascending from first height
//! proof          u16 length ‖ Urkel proof (hsd's encoding)
//! records        u16 count ‖ count × (u16 length ‖ one RR in uncompressed wire form)
//! ```
//!
//! Decoding is bounded: at most [`MAX_BUNDLE_HEADERS`] headers, [`MAX_BUNDLE_RECORDS`]
//! records, a proof of at most [`hnsfleet_hns::urkel::MAX_PROOF_SIZE`] bytes, and nothing may
//! follow the last record.

use hickory_proto::op::{Edns, Message};
use hickory_proto::rr::Record;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hickory_proto::serialize::binary::{BinDecodable, BinEncodable, BinEncoder};
use hnsfleet_hns::header::{HEADER_SIZE, Header};
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::TreeRoot;
use hnsfleet_hns::urkel::MAX_PROOF_SIZE;
use thiserror::Error;

use crate::OPTION_CODE;

/// The format version this crate writes and reads.
pub const VERSION: u8 = 1;

/// Most headers in a bundle: a mainnet tree interval (36) plus the safe-root depth (12) is
/// the usual count; a fleet lagging its tip sends at most this many.
pub const MAX_BUNDLE_HEADERS: usize = 200;

/// Most DNSSEC records in a bundle (DNSKEY, DS and RRSIG sets of a handful of zone cuts).
pub const MAX_BUNDLE_RECORDS: usize = 128;

/// A proof bundle. See the crate docs for what each part proves.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Bundle {
    /// The network the headers belong to.
    pub network: Network,
    /// The TLD the proof is for (one lower-case label, no dot).
    pub tld: String,
    /// The tree root the proof is against.
    pub tree_root: TreeRoot,
    /// Height of `headers[0]`.
    pub first_height: u32,
    /// The header that first carries `tree_root` (within its tree interval), then every
    /// header on top of it, in height order.
    pub headers: Vec<Header>,
    /// The Urkel proof of the TLD's name hash against `tree_root`.
    pub proof: Vec<u8>,
    /// DNSKEY, DS and RRSIG records from the trust anchor down to the answer's signer.
    pub records: Vec<Record>,
}

/// Why bytes are not a bundle.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The response has no bundle option.
    #[error("the response carries no proof bundle (EDNS option {OPTION_CODE})")]
    Missing,
    /// The bytes end before a field does.
    #[error("bundle truncated in {0}")]
    Truncated(&'static str),
    /// A version this crate does not read.
    #[error("bundle version {0} is not supported (this client reads {VERSION})")]
    Version(u8),
    /// A network magic of no known network.
    #[error("bundle for an unknown network (magic {0:#010x})")]
    Network(u32),
    /// The TLD is not a lower-case HNS label.
    #[error("bundle TLD {0:?} is not a valid name")]
    Tld(String),
    /// A count or length beyond the bounds.
    #[error("bundle {what} too large: {got} > {max}")]
    TooLarge {
        /// The field.
        what: &'static str,
        /// Its value.
        got: usize,
        /// The bound.
        max: usize,
    },
    /// A header or record does not decode.
    #[error("bundle {what} #{index} does not decode: {reason}")]
    Part {
        /// "header" or "record".
        what: &'static str,
        /// Its position.
        index: usize,
        /// The decoder's message.
        reason: String,
    },
    /// Bytes after the last record.
    #[error("{0} bytes after the bundle's end")]
    Trailing(usize),
    /// The bundle cannot be encoded (a record hickory cannot write, or too large).
    #[error("cannot encode the bundle: {0}")]
    Encode(String),
}

// === impl Bundle ===

impl Bundle {
    /// Encodes the bundle (the option's data).
    pub fn encode(&self) -> Result<Vec<u8>, DecodeError> {
        let too_large = |what, got, max| DecodeError::TooLarge { what, got, max };
        if self.headers.len() > MAX_BUNDLE_HEADERS {
            return Err(too_large("headers", self.headers.len(), MAX_BUNDLE_HEADERS));
        }
        if self.records.len() > MAX_BUNDLE_RECORDS {
            return Err(too_large("records", self.records.len(), MAX_BUNDLE_RECORDS));
        }
        if self.proof.len() > MAX_PROOF_SIZE {
            return Err(too_large("proof", self.proof.len(), MAX_PROOF_SIZE));
        }
        hnsfleet_hns::name::verify_name(&self.tld)
            .map_err(|_| DecodeError::Tld(self.tld.clone()))?;
        let mut out = Vec::with_capacity(64 + self.headers.len() * HEADER_SIZE + self.proof.len());
        out.push(VERSION);
        out.extend_from_slice(&self.network.params().magic.to_be_bytes());
        out.push(self.tld.len() as u8);
        out.extend_from_slice(self.tld.as_bytes());
        out.extend_from_slice(self.tree_root.as_bytes());
        out.extend_from_slice(&self.first_height.to_be_bytes());
        out.extend_from_slice(&(self.headers.len() as u16).to_be_bytes());
        for header in &self.headers {
            out.extend_from_slice(&header.encode());
        }
        out.extend_from_slice(&(self.proof.len() as u16).to_be_bytes());
        out.extend_from_slice(&self.proof);
        out.extend_from_slice(&(self.records.len() as u16).to_be_bytes());
        for record in &self.records {
            let bytes = record_bytes(record)?;
            let len = u16::try_from(bytes.len())
                .map_err(|_| DecodeError::Encode("a record over 65,535 bytes".into()))?;
            out.extend_from_slice(&len.to_be_bytes());
            out.extend_from_slice(&bytes);
        }
        if out.len() > usize::from(u16::MAX) {
            return Err(too_large("bundle", out.len(), usize::from(u16::MAX)));
        }
        Ok(out)
    }

    /// Decodes the option's data.
    pub fn decode(bytes: &[u8]) -> Result<Bundle, DecodeError> {
        let mut r = Cursor { bytes, at: 0 };
        let version = r.u8("version")?;
        if version != VERSION {
            return Err(DecodeError::Version(version));
        }
        let magic = r.u32("network")?;
        let network = Network::from_magic(magic).ok_or(DecodeError::Network(magic))?;
        let tld_len = usize::from(r.u8("tld")?);
        let tld = String::from_utf8_lossy(r.take(tld_len, "tld")?).into_owned();
        if hnsfleet_hns::name::verify_name(&tld).is_err() {
            return Err(DecodeError::Tld(tld));
        }
        let mut root = [0u8; 32];
        root.copy_from_slice(r.take(32, "tree root")?);
        let first_height = r.u32("first height")?;
        let count = usize::from(r.u16("headers")?);
        if count > MAX_BUNDLE_HEADERS {
            return Err(DecodeError::TooLarge {
                what: "headers",
                got: count,
                max: MAX_BUNDLE_HEADERS,
            });
        }
        let mut headers = Vec::with_capacity(count);
        for index in 0..count {
            let header =
                Header::decode(r.take(HEADER_SIZE, "headers")?).map_err(|e| DecodeError::Part {
                    what: "header",
                    index,
                    reason: e.to_string(),
                })?;
            headers.push(header);
        }
        let proof_len = usize::from(r.u16("proof")?);
        if proof_len > MAX_PROOF_SIZE {
            return Err(DecodeError::TooLarge {
                what: "proof",
                got: proof_len,
                max: MAX_PROOF_SIZE,
            });
        }
        let proof = r.take(proof_len, "proof")?.to_vec();
        let count = usize::from(r.u16("records")?);
        if count > MAX_BUNDLE_RECORDS {
            return Err(DecodeError::TooLarge {
                what: "records",
                got: count,
                max: MAX_BUNDLE_RECORDS,
            });
        }
        let mut records = Vec::with_capacity(count);
        for index in 0..count {
            let len = usize::from(r.u16("records")?);
            let bytes = r.take(len, "records")?;
            let record = Record::from_bytes(bytes).map_err(|e| DecodeError::Part {
                what: "record",
                index,
                reason: e.to_string(),
            })?;
            records.push(record);
        }
        let trailing = bytes.len() - r.at;
        if trailing > 0 {
            return Err(DecodeError::Trailing(trailing));
        }
        Ok(Bundle {
            network,
            tld,
            tree_root: TreeRoot(root),
            first_height,
            headers,
            proof,
            records,
        })
    }
}

/// The bundle a response carries in its OPT record.
pub fn bundle_of(response: &Message) -> Result<Bundle, DecodeError> {
    let option = response
        .edns
        .as_ref()
        .and_then(|edns| edns.option(EdnsCode::Unknown(OPTION_CODE)));
    match option {
        Some(EdnsOption::Unknown(_, data)) => Bundle::decode(data),
        _ => Err(DecodeError::Missing),
    }
}

/// Puts `bundle` into `response`'s OPT record (adding one if the response has none; replacing
/// a bundle it carries).
pub fn encode_into(response: &mut Message, bundle: &Bundle) -> Result<(), DecodeError> {
    let data = bundle.encode()?;
    let edns = response.edns.get_or_insert_with(Edns::new);
    let options = edns.options_mut();
    // `insert` appends: a bundle already there is replaced, not shadowed.
    options.remove(EdnsCode::Unknown(OPTION_CODE));
    options.insert(EdnsOption::Unknown(OPTION_CODE, data));
    Ok(())
}

/// One record in uncompressed wire form (names written out, as RFC 9102 chains are).
fn record_bytes(record: &Record) -> Result<Vec<u8>, DecodeError> {
    let mut out = Vec::with_capacity(128);
    let mut encoder = BinEncoder::new(&mut out);
    encoder.set_canonical_form(true);
    record
        .emit(&mut encoder)
        .map_err(|e| DecodeError::Encode(e.to_string()))?;
    Ok(out)
}

/// A bounded reader over the option's bytes.
struct Cursor<'a> {
    bytes: &'a [u8],
    at: usize,
}

impl<'a> Cursor<'a> {
    fn take(&mut self, n: usize, what: &'static str) -> Result<&'a [u8], DecodeError> {
        let end = self
            .at
            .checked_add(n)
            .filter(|end| *end <= self.bytes.len())
            .ok_or(DecodeError::Truncated(what))?;
        let out = &self.bytes[self.at..end];
        self.at = end;
        Ok(out)
    }

    fn u8(&mut self, what: &'static str) -> Result<u8, DecodeError> {
        Ok(self.take(1, what)?[0])
    }

    fn u16(&mut self, what: &'static str) -> Result<u16, DecodeError> {
        let b = self.take(2, what)?;
        Ok(u16::from_be_bytes([b[0], b[1]]))
    }

    fn u32(&mut self, what: &'static str) -> Result<u32, DecodeError> {
        let b = self.take(4, what)?;
        Ok(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
    }
}
