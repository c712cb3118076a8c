//! The ICANN side of the HNS root's fallback (hns-dns.md §3): asks an ICANN root server for
//! `<tld>. NS`, validates the answer with DNSSEC from configured trust anchors, and returns the
//! delegation (NS, DS, glue) as plain records or a proven NXDOMAIN. The frontend re-signs what
//! it serves with the HNS root key; this crate never signs, never decides *whether* to fall back
//! (the frontend does, on a verified absence proof, §3.3) and never serves anything.
//!
//! # What is validated
//!
//! 1. The root key set: `. DNSKEY` must contain a key matching a trust-anchor DS (owner `.`,
//!    ZONE flag, not revoked) and carry an RRSIG by such a key that verifies over the whole set
//!    and is inside its validity window. The root's zone keys (ZONE flag, not revoked) are then
//!    kept for the shortest of the DNSKEY TTL, the RRSIG's original TTL, its remaining validity
//!    and [`IcannConfig::max_ttl`]. The defaults anchor ICANN's KSK-2017 (tag 20326) **and**
//!    KSK-2024 (tag 38696), unlike hsd 8.0.0 (which lacks 38696, §3.1).
//! 2. A referral (NOERROR, empty answer, NS set owned by the TLD in authority): with DS, the DS
//!    set needs a valid RRSIG by a root zone key (secure delegation); without DS, an NSEC owned
//!    by the TLD whose bitmap has NS but neither DS nor SOA, signed by a root zone key, must prove
//!    the delegation insecure. hsd checks the same; it does not check what the fleet adds below.
//! 3. NXDOMAIN: unlike hsd, which accepts an unsigned NXDOMAIN (so anything that intercepts
//!    outbound DNS could make it answer NXDOMAIN for every ICANN TLD, §3.1), the answer must
//!    carry root-signed NSEC records covering the TLD and the root wildcard `*.`. An unproven
//!    NXDOMAIN is [`Bogus::UnprovenNxDomain`]. (The root is always signed here: a
//!    configuration without anchors is rejected, so "unsigned root, plain NXDOMAIN" never
//!    arises.)
//! 4. Every signature's signer is `.`, its labels field equals its owner's label count (no
//!    wildcard expansion at the root), and `now` lies between inception and expiration
//!    (serial-number arithmetic, RFC 4034 §3.1.5). Any one valid signature suffices.
//!
//! # What is not validated, and why
//!
//! - The NS set and the glue: the root does not sign them (they are the child's data), so they
//!   are returned as received, filtered to the TLD (NS owner) and to the NS targets (glue
//!   A/AAAA). The HNS root serves them unsigned too, exactly as ICANN does.
//! - NSEC3 (the root uses NSEC) and authoritative answers (the root servers are also
//!   authoritative for `arpa.` and `root-servers.net.`, whose `NS` comes back as an answer
//!   rather than a referral): both are refused ([`Bogus::Shape`], [`Bogus::UnprovenInsecure`]). hsd
//!   special-cases `arpa.` from bundled data; the frontend may too.
//! - RFC 5011 trust-anchor tracking: anchors are static configuration.
//!
//! # Transport and caching
//!
//! UDP with EDNS0 (DO, 1232-byte payload), a random ID and a fresh socket (OS-chosen port) per
//! attempt; the answer must come from the server asked, carry the ID and echo the question,
//! or it is ignored; a datagram larger than advertised is refused; TC=1 retries over TCP.
//! Attempts rotate over the servers up to [`IcannConfig::attempts`]. Validated results are
//! cached (moka, per-entry TTL, bounded) with single flight for concurrent misses; failures are
//! cached for [`IcannConfig::negative_ttl`] so a dead or hostile root is not hammered.
#![forbid(unsafe_code)]

mod client;
mod config;
mod metrics;
mod transport;
mod validate;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Record, RecordType};
use thiserror::Error;

pub use client::IcannRoot;
pub use config::{
    DEFAULT_ANCHORS, IANA_ROOT_HINTS, IcannConfig, default_anchors, parse_anchors, parse_root_hints,
};
pub use metrics::{IcannMetrics, LOOKUP_OUTCOMES, LOOKUPS, UPSTREAM_QUERIES};
pub use validate::{RootKeys, validate_referral, validate_root_keys};

/// What ICANN says about a TLD, validated.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Fallback {
    /// The TLD is delegated.
    Delegation(IcannDelegation),
    /// The TLD does not exist in the ICANN root (NSEC-proven).
    NxDomain,
}

/// A validated ICANN delegation, RRSIGs stripped, TTLs as received.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct IcannDelegation {
    /// The NS set owned by the TLD (not signed by the root: child data).
    pub ns: Vec<Record>,
    /// The DS set, validated against the root's zone keys; empty for an insecure delegation
    /// (proven by a signed NSEC).
    pub ds: Vec<Record>,
    /// A/AAAA records of the NS targets from the additional section (unsigned, as received).
    pub glue: Vec<Record>,
    /// What proves the DS set (or its absence) as received, RRSIGs included: the DS records and
    /// their RRSIGs, or the NSEC and its RRSIG (for proof bundles, which carry ICANN's chain).
    pub signed: Vec<Record>,
}

/// Why a look-up failed. Cloneable because failures are cached.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum IcannError {
    /// The configuration is unusable (no servers, no anchors, unparsable hints or anchors).
    #[error("icann config: {0}")]
    Config(String),
    /// No attempt produced an acceptable response; `last` says why the last one failed.
    #[error("no usable answer from the icann root after {attempts} attempts: {last}")]
    Unreachable {
        /// Attempts made.
        attempts: u32,
        /// The last attempt's failure.
        last: AttemptError,
    },
    /// A response arrived but failed DNSSEC validation or had the wrong shape.
    #[error("icann answer for {qtype} rejected: {reason}")]
    Bogus {
        /// The question type (`DNSKEY` for the root keys, `NS` for the TLD).
        qtype: RecordType,
        /// Why.
        reason: Bogus,
    },
    /// The name asked for is not a TLD (it must have exactly one label).
    #[error("not a top-level domain: {0}")]
    NotATld(String),
}

/// Why one exchange with one server failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AttemptError {
    /// Nothing acceptable arrived before the timeout.
    #[error("timed out")]
    Timeout,
    /// A socket error.
    #[error("i/o: {0}")]
    Io(String),
    /// Datagrams from the server were ignored: they did not decode.
    #[error("undecodable response: {0}")]
    Malformed(String),
    /// Datagrams from the server were ignored: wrong ID, not a response, or another question.
    #[error("response does not match the query: {0}")]
    Mismatch(&'static str),
    /// A response larger than the advertised UDP payload size (the size seen is capped at one
    /// byte over it).
    #[error("oversized response: {0} bytes or more")]
    Oversized(usize),
    /// The server answered with an rcode other than NOERROR or NXDOMAIN.
    #[error("rcode {0}")]
    Rcode(ResponseCode),
}

/// Why a response failed validation.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Bogus {
    /// No DNSKEY in `. DNSKEY` matches a trust anchor.
    #[error("no root DNSKEY matches a trust anchor")]
    NoAnchoredKey,
    /// No valid RRSIG over an RRset by an acceptable key (missing, expired, wrong signer or
    /// key, or the signature does not verify).
    #[error("no valid signature over the {0} set")]
    NoValidSignature(RecordType),
    /// The response has the wrong shape: not NOERROR for `. DNSKEY`, or not a referral for the
    /// TLD (answer section used, no NS set, foreign owners).
    #[error("unexpected response shape: {0}")]
    Shape(&'static str),
    /// A referral without DS and without an NSEC proving the delegation insecure.
    #[error("no DS and no NSEC proving an insecure delegation")]
    UnprovenInsecure,
    /// NXDOMAIN without signed NSEC records covering the TLD and the wildcard.
    #[error("NXDOMAIN without a signed NSEC proof")]
    UnprovenNxDomain,
    /// Too many records in a section (see the bounds in this crate).
    #[error("too many records")]
    TooManyRecords,
}

// === impl IcannError ===

impl IcannError {
    /// A short, bounded label for metrics and logs.
    pub fn label(&self) -> &'static str {
        match self {
            IcannError::Config(_) => "config",
            IcannError::Unreachable {
                last: AttemptError::Timeout,
                ..
            } => "timeout",
            IcannError::Unreachable { .. } => "unreachable",
            IcannError::Bogus { .. } => "bogus",
            IcannError::NotATld(_) => "not_a_tld",
        }
    }
}

#[cfg(test)]
mod tests;
