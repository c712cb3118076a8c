//! The proof bundle: what a client needs to check an answer of the fleet without trusting
//! whoever runs it (the whitepaper's "proof of DNS iteration").
//!
//! On request (the EDNS0 option [`OPTION_CODE`], or over DoH the query parameter
//! `hns-proof=1`, [`DOH_PARAMETER`]) a frontend puts a [`Bundle`] into its response's OPT
//! record. It holds:
//!
//! - the Urkel proof of the question's TLD against a tree root,
//! - the header that first carries that root and every header on top of it up to the
//!   fleet's tip (at least the confirmations that make it a safe root),
//! - the DNSSEC records (DNSKEY, DS, RRSIG) from the trust anchor down to the zone that signs
//!   the answer, in the spirit of RFC 9102: for an HNS name the HNS root's keys and the TLD's
//!   DS (which must also be what the proof's resource says), for an ICANN name (a
//!   root-reserved TLD proven absent) ICANN's root keys and the TLD's DS signed by them.
//!
//! [`verify`] checks a response with its bundle step by step ([`Step`]) and returns a
//! [`Report`] with a typed verdict per step. The proof is what makes the answer trustworthy:
//! the HNS root's private keys are public (every hsd signs with them), so its signatures alone
//! prove nothing; the DS of a TLD is trusted because it equals the one in the verified proof,
//! and the proof because its root is in a header whose proof of work (and that of the headers
//! on top) the client checked against the network's rules.
//!
//! This crate must not: do I/O or read the clock (time is a parameter); accept a bundle part
//! that did not verify; decode more than the bounds below allow.
#![forbid(unsafe_code)]

mod format;
mod verify;

pub use format::{
    Bundle, DecodeError, MAX_BUNDLE_HEADERS, MAX_BUNDLE_RECORDS, VERSION, bundle_of, encode_into,
};
pub use hnsfleet_dnssec::{HNS_ROOT_ANCHOR, ICANN_ROOT_ANCHORS, parse_anchors};
pub use verify::{KnownChain, Policy, Report, Step, StepError, Verdict, verify};

/// The EDNS0 option code of a proof bundle, from the local/experimental range 65001–65534
/// (RFC 6891 §9). In a query (empty data) it asks for a bundle; in a response it carries one.
pub const OPTION_CODE: u16 = 65400;

/// The DoH query parameter that asks for a bundle (`hns-proof=1`), for clients that cannot add
/// EDNS options themselves.
pub const DOH_PARAMETER: &str = "hns-proof";

#[cfg(test)]
mod tests;
