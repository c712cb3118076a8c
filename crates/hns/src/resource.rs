//! The on-chain name resource (serialization version 0): decoding, encoding and hsd's JSON.
//!
//! A resource is the `data` of a name state: a version byte `00`, then records until the end,
//! each `type u8 ‖ body` (DS, NS, GLUE4, GLUE6, SYNTH4, SYNTH6, TXT; hns-dns.md §1,
//! hns-chain.md §6.2). Names may use RFC 1035 compression pointers relative to the blob start.
//!
//! Decoding follows hsd (`lib/dns/resource.js` with bns `lib/encoding.js`), the behaviour the
//! fleet matches (hns-dns.md §1.5, §8):
//! - version ≠ 0, or input ending inside a record → error (the root answers SERVFAIL);
//! - an unknown type byte stops parsing and keeps the records before it; the offset of that
//!   byte is kept in [`Resource::truncated_at`] so callers can tell a partial parse from a full
//!   one (hnsd would fail the whole decode instead);
//! - names: at most 10 pointers, pointers in any direction, label types `01`/`10` rejected,
//!   sum of (label length + 1) ≤ 255, any label bytes, case preserved.
//!
//! Encoding is byte-identical to hsd's `Resource.encode` (names compressed against every suffix
//! already written, exact case-sensitive match, root never compressed, ≤ 512 bytes). One
//! deliberate difference: hsd keys its suffix map by a presentation string that can make two
//! different names collide (a label holding an escaped `.`), producing a pointer to the wrong
//! name; this encoder matches raw label sequences, so it agrees with hsd whenever hsd is right.
//!
//! This module must not do I/O or interpret names as host names: names stay raw wire labels.
//! Conversion to DNS records lives in the `hnsfleet-hns-dns` crate, which builds on this
//! module (this one knows nothing of DNS messages).

use std::net::{Ipv4Addr, Ipv6Addr};

use thiserror::Error;

use crate::encoding::DecodeError;

mod codec;
mod json;
mod name;

pub use json::{ipv6_to_hsd_string, txt_from_presentation, txt_to_presentation};
pub use name::{Labels, MAX_LABEL_LEN, MAX_NAME_LEN, MAX_POINTERS, WireName, write_presentation};

/// The only serialization version hsd and hnsd understand.
pub const RESOURCE_VERSION: u8 = 0;

/// Largest encoded resource (consensus limit on covenant data, hsd `MAX_RESOURCE_SIZE`).
pub const MAX_RESOURCE_SIZE: usize = 512;

/// Largest DS digest, TXT string and TXT string count (each is stored behind a `u8` length).
pub const MAX_U8_LEN: usize = 255;

/// Why a resource could not be decoded, encoded or imported from JSON.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ResourceError {
    /// The first byte is not serialization version 0.
    #[error("unsupported resource version {0}")]
    UnsupportedVersion(u8),
    /// The bytes end inside a record or break a name rule.
    #[error("malformed resource: {0}")]
    Decode(#[from] DecodeError),
    /// The encoding would exceed the 512-byte consensus limit.
    #[error("resource encodes to {size} bytes, more than the 512-byte limit")]
    TooLarge {
        /// Size the encoding would have.
        size: usize,
    },
    /// A record value cannot be stored (a length above 255).
    #[error("invalid record: {reason}")]
    InvalidRecord {
        /// Which bound was broken.
        reason: &'static str,
    },
    /// A name (wire labels or presentation text) breaks a name rule.
    #[error("invalid name: {reason}")]
    InvalidName {
        /// Which rule was broken.
        reason: &'static str,
    },
    /// The JSON is not hsd's resource form.
    #[error("invalid resource json: {0}")]
    Json(String),
}

/// One resource record, as stored on chain.
#[allow(clippy::upper_case_acronyms)] // The names are hsd's record type names (and JSON tags).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub enum Record {
    /// Type 0: a DS record for the TLD's key (any algorithm and digest type, digest ≤ 255 bytes).
    DS {
        /// Key tag of the child's DNSKEY.
        key_tag: u16,
        /// DNSSEC algorithm number.
        algorithm: u8,
        /// Digest type number.
        digest_type: u8,
        /// The digest (stored verbatim).
        digest: Vec<u8>,
    },
    /// Type 1: a name server host name.
    NS {
        /// Name server host.
        name: WireName,
    },
    /// Type 2: a name server with an IPv4 address (A glue when in bailiwick).
    GLUE4 {
        /// Name server host.
        name: WireName,
        /// Its IPv4 address.
        addr: Ipv4Addr,
    },
    /// Type 3: a name server with an IPv6 address (AAAA glue when in bailiwick).
    GLUE6 {
        /// Name server host.
        name: WireName,
        /// Its IPv6 address.
        addr: Ipv6Addr,
    },
    /// Type 4: a name server at an IPv4 address, named `_<base32hex>._synth.`.
    SYNTH4 {
        /// Name server address.
        addr: Ipv4Addr,
    },
    /// Type 5: a name server at an IPv6 address, named `_<base32hex>._synth.`.
    SYNTH6 {
        /// Name server address.
        addr: Ipv6Addr,
    },
    /// Type 6: one TXT RR made of up to 255 character-strings of up to 255 bytes each.
    TXT {
        /// The raw strings.
        strings: Vec<Vec<u8>>,
    },
}

/// A decoded resource: its records in stored order.
///
/// `truncated_at` records where decoding stopped at an unknown record type (hsd keeps the
/// records before it and ignores the rest). [`Resource::encode`] writes only `records`, so a
/// truncated resource does not re-encode to its original bytes; check
/// [`Resource::is_complete`] when byte identity matters. Equality compares both fields.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Resource {
    /// The records, in stored order.
    pub records: Vec<Record>,
    truncated_at: Option<usize>,
}

// === impl Record ===

impl Record {
    /// The on-chain type byte (0 = DS … 6 = TXT).
    pub fn type_code(&self) -> u8 {
        match self {
            Record::DS { .. } => 0,
            Record::NS { .. } => 1,
            Record::GLUE4 { .. } => 2,
            Record::GLUE6 { .. } => 3,
            Record::SYNTH4 { .. } => 4,
            Record::SYNTH6 { .. } => 5,
            Record::TXT { .. } => 6,
        }
    }

    /// hsd's type name (`"DS"`, `"NS"`, `"GLUE4"`, …), as used in JSON.
    pub fn type_name(&self) -> &'static str {
        match self {
            Record::DS { .. } => "DS",
            Record::NS { .. } => "NS",
            Record::GLUE4 { .. } => "GLUE4",
            Record::GLUE6 { .. } => "GLUE6",
            Record::SYNTH4 { .. } => "SYNTH4",
            Record::SYNTH6 { .. } => "SYNTH6",
            Record::TXT { .. } => "TXT",
        }
    }

    /// Whether the record names a name server (types 1..=5, hsd `hasNS`).
    pub fn is_ns(&self) -> bool {
        (1..=5).contains(&self.type_code())
    }
}

// === impl Resource ===

impl Resource {
    /// A complete resource holding `records`.
    pub fn new(records: Vec<Record>) -> Self {
        Resource {
            records,
            truncated_at: None,
        }
    }

    /// Decodes a resource blob as hsd does (see the module docs). Empty input is an error
    /// (`Eof`); callers treat empty name data as "no resource" before decoding.
    pub fn decode(data: &[u8]) -> Result<Self, ResourceError> {
        codec::decode(data)
    }

    /// Encodes the records as hsd does (compressed names); fails above 512 bytes.
    pub fn encode(&self) -> Result<Vec<u8>, ResourceError> {
        codec::encode(&self.records)
    }

    /// Offset of the unknown type byte where decoding stopped, if it stopped early.
    pub fn truncated_at(&self) -> Option<usize> {
        self.truncated_at
    }

    /// Whether decoding consumed the whole blob (always true for resources built in memory).
    pub fn is_complete(&self) -> bool {
        self.truncated_at.is_none()
    }

    /// Whether any record names a name server (NS, GLUE4, GLUE6, SYNTH4, SYNTH6).
    pub fn has_ns(&self) -> bool {
        self.records.iter().any(Record::is_ns)
    }

    /// Whether any DS record is present.
    pub fn has_ds(&self) -> bool {
        self.records.iter().any(|r| matches!(r, Record::DS { .. }))
    }

    /// Whether any TXT record is present.
    pub fn has_txt(&self) -> bool {
        self.records.iter().any(|r| matches!(r, Record::TXT { .. }))
    }

    /// hsd's `getnameresource` JSON, compact (`{"records":[{"type":"NS","ns":"x."}]}`), with
    /// hsd's field order and value formats.
    pub fn to_json(&self) -> String {
        // Serializing strings and integers into a String cannot fail.
        serde_json::to_string(self).unwrap_or_default()
    }

    /// Like [`Resource::to_json`], indented by two spaces like `hsd-cli` output.
    pub fn to_json_pretty(&self) -> String {
        serde_json::to_string_pretty(self).unwrap_or_default()
    }

    /// Parses hsd's resource JSON (as returned by `getnameresource` or given to `sendupdate`).
    /// Unknown object fields are ignored, as hsd's `fromJSON` does.
    pub fn from_json(json: &str) -> Result<Self, ResourceError> {
        serde_json::from_str(json).map_err(|e| ResourceError::Json(e.to_string()))
    }

    /// Parses hsd's resource JSON from an already parsed value.
    pub fn from_json_value(json: &serde_json::Value) -> Result<Self, ResourceError> {
        use serde::Deserialize as _;
        Resource::deserialize(json).map_err(|e| ResourceError::Json(e.to_string()))
    }
}

#[cfg(test)]
pub(crate) mod tests;
