//! The HNS root authority as a pure function: one query plus what a verified proof says about
//! its TLD in, the response's rcode, AA flag and sections out.
//!
//! The frontend first asks [`RootZone::route`] where a query goes: the apex, `_synth` names,
//! refused names and the blacklist are answered without the chain; every other query names the
//! TLD whose [`VerifiedLookup`] it must fetch ([`Route::lookup`]). It then calls
//! [`RootZone::answer`] with that look-up as a [`TldState`] and the current time.
//!
//! Answers follow hsd's root server (hns-dns.md §2.1 step 4, §2.2–2.6, §2.9): apex NS/SOA/
//! DNSKEY, referrals with glue, DS and TXT answers, `_synth` A/AAAA, and the NSEC denials with
//! hsd's owners, next names and type bitmaps. Each section is a list of [`RecordSet`]s in wire
//! order; a set marked with a [`KeyRole`] must be followed by its RRSIG.
//! [`Answer::into_records`] flattens the sections into records and adds those RRSIGs (§2.8):
//! ECDSA P-256 with RFC 6979 nonces and low S, byte-identical to hsd's signer at the same
//! second (tested against bns). The keys are the publicly known root keys (§2.7); the proofs,
//! not these signatures, carry the security. Answers to DO=0 queries have no set marked, so
//! they cost no signing.
//!
//! Cost (criterion bench `sign`, reference machine of `docs/benchmarks.md`): one RRSIG over a
//! DS set ≈ 206 µs (4,860/s per core; hsd's bns signer: 9,100/s), a signed NXDOMAIN (three
//! RRSIGs) ≈ 640 µs. Signatures last a year, so callers should cache signed answers per
//! (tree root, TLD, answer shape) rather than sign per query.
//!
//! Deliberate deviations from hsd (hns-dns.md §8): NXDOMAIN (with the same NSEC) for names
//! below a TLD that has no name servers, where hsd answers NOERROR; NOTIMP for opcodes other
//! than QUERY and REFUSED for classes other than IN, where hsd answers as if the query were an
//! IN query; AAAA glue for IPv4-mapped addresses (inherited from `hnsfleet-hns-dns`).
//!
//! ICANN fallback (§3.1): when the caller has decided to fall back and has a validated ICANN
//! delegation for the TLD, [`TldState::Icann`] renders it as hsd does (DS answered and
//! re-signed by the ZSK, or a referral with ICANN's NS and glue unsigned and the DS set or the
//! insecure-delegation NSEC signed).
//!
//! This crate must not do I/O, read a clock, cache, decide on ICANN fallback or fetch ICANN
//! data (the frontend and its ICANN client do that before asking for the NXDOMAIN proof), or
//! build whole DNS messages (header, question, EDNS, truncation and SIG(0) are the
//! frontend's).
#![forbid(unsafe_code)]

mod apex;
mod icann;
mod keys;
mod nsec;
mod sign;
mod synth;
mod tld;

use std::net::IpAddr;

use hickory_proto::op::{OpCode, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, Record, RecordType};
use thiserror::Error;

use hnsfleet_hns::name::Name as HnsName;
use hnsfleet_hns::resource::ResourceError;
use hnsfleet_hns_dns::DnsError;
use hnsfleet_verify::VerifiedLookup;

pub use apex::{APEX_NS_TTL, SOA_TTL, soa_serial};
pub use icann::IcannDelegation;
pub use keys::{
    DNSKEY_TTL, KSK_FLAGS, KSK_KEY_TAG, KSK_PRIVATE_KEY, KSK_PUBLIC_KEY, RRSIG_TTL, ZSK_FLAGS,
    ZSK_KEY_TAG, ZSK_PRIVATE_KEY, ZSK_PUBLIC_KEY, dnskey,
};
pub use nsec::{NSEC_TTL, TypeMap, next_label, prev_label};
pub use sign::{
    RRSIG_INCEPTION_BEFORE, RRSIG_VALIDITY, SignError, SignedAnswer, rrsig, signed_data,
};

/// A signer for [`Answer::into_records_with`]: the RRSIG over a set by a key at a time (Unix
/// seconds), e.g. [`rrsig`] behind a memo.
pub type SignWith<'a> = dyn FnMut(&[Record], KeyRole, u64) -> Result<Record, SignError> + 'a;

/// The pseudo-TLD of synthesized name server names.
pub const SYNTH_TLD: &[u8] = b"_synth";

/// One question as the root authority sees it (the parts of the request that shape the answer).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Query {
    /// The question name, in the case the client sent.
    pub name: Name,
    /// The question type.
    pub qtype: RecordType,
    /// The question class.
    pub qclass: DNSClass,
    /// The request's opcode.
    pub opcode: OpCode,
    /// The EDNS DO bit (false without EDNS).
    pub dnssec_ok: bool,
}

/// What the chain says about the query's TLD.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum TldState<'a> {
    /// The name exists; its resource bytes (empty when it has no resource, answered as absent).
    Exists(&'a [u8]),
    /// A proof showed the name does not exist.
    Absent,
    /// The name is absent or empty on chain, reserved with the root flag, and its validated
    /// ICANN delegation is this (hns-dns.md §3.1). Only the caller decides on this fallback.
    Icann(&'a IcannDelegation),
    /// The TLD was not looked up (enough for queries whose [`Route::lookup`] is `None`).
    NotLookedUp,
}

/// Where a query goes, decided from the query alone (hns-dns.md §2.1 step 4 a–d).
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Route {
    /// Opcode other than QUERY: NOTIMP (fleet deviation).
    NotImplemented,
    /// Class other than IN, or a TLD label that is not a valid Handshake name: REFUSED.
    Refused,
    /// The root name itself.
    Apex,
    /// `_synth.` or `_<base32hex>._synth.`.
    Synth,
    /// A TLD of another naming system: NXDOMAIN without a look-up.
    Blacklisted(HnsName),
    /// A name at or below a TLD whose state must be looked up.
    Tld {
        /// The TLD (lower-case).
        tld: HnsName,
        /// Whether the query name is below the TLD (`www.tld.`) rather than the TLD itself.
        below: bool,
    },
}

/// Which root key signs a record set.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum KeyRole {
    /// The zone-signing key (tag 60944): everything but the DNSKEY set.
    Zsk,
    /// The key-signing key (tag 35215): only the DNSKEY set.
    Ksk,
}

/// Records emitted together, in order. When `sign` is set they are one RRset (one owner, class
/// and type) whose RRSIG by that key goes right after them.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RecordSet {
    /// The records.
    pub records: Vec<Record>,
    /// The key that must sign them, if any.
    pub sign: Option<KeyRole>,
}

/// The root's answer to one query, before signing.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Answer {
    /// Response code.
    pub rcode: ResponseCode,
    /// The AA flag.
    pub authoritative: bool,
    /// Answer section.
    pub answer: Vec<RecordSet>,
    /// Authority section.
    pub authority: Vec<RecordSet>,
    /// Additional section (without OPT or SIG(0)).
    pub additional: Vec<RecordSet>,
}

/// Why no answer could be built; the response is SERVFAIL ([`RootError::rcode`]).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum RootError {
    /// The query needs its TLD looked up first ([`Route::lookup`]).
    #[error("the state of {0} was not looked up")]
    NotLookedUp(HnsName),
    /// The TLD's resource cannot be decoded (hsd answers SERVFAIL too).
    #[error("resource of {tld} cannot be decoded: {source}")]
    Resource {
        /// The TLD.
        tld: HnsName,
        /// The decoding error.
        source: ResourceError,
    },
    /// A record cannot be put on the DNS wire, or a `_synth` label is malformed.
    #[error(transparent)]
    Dns(#[from] DnsError),
    /// An ICANN delegation fails hsd's checks (NS missing, records not owned by the TLD).
    #[error("icann delegation of {tld} is unusable: {reason}")]
    Icann {
        /// The TLD.
        tld: HnsName,
        /// What is wrong.
        reason: &'static str,
    },
    /// A set could not be signed.
    #[error(transparent)]
    Sign(#[from] SignError),
}

/// The root authority: its configuration (the apex name server address).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootZone {
    public_host: IpAddr,
}

// === impl TldState ===

impl<'a> From<&'a VerifiedLookup> for TldState<'a> {
    fn from(lookup: &'a VerifiedLookup) -> Self {
        if lookup.exists() {
            TldState::Exists(lookup.resource_data())
        } else {
            TldState::Absent
        }
    }
}

// === impl Route ===

impl Route {
    /// The TLD whose state [`RootZone::answer`] needs, if any.
    pub fn lookup(&self) -> Option<&HnsName> {
        match self {
            Route::Tld { tld, .. } => Some(tld),
            _ => None,
        }
    }
}

// === impl RecordSet ===

impl RecordSet {
    /// A set that must be signed by `key`.
    pub fn signed(records: Vec<Record>, key: KeyRole) -> Self {
        RecordSet {
            records,
            sign: Some(key),
        }
    }

    /// Records that are never signed (referral NS, glue).
    pub fn unsigned(records: Vec<Record>) -> Self {
        RecordSet {
            records,
            sign: None,
        }
    }

    /// The type of the first record (every record of a signed set has it).
    pub fn record_type(&self) -> Option<RecordType> {
        self.records.first().map(Record::record_type)
    }
}

// === impl Answer ===

impl Answer {
    /// An empty answer with `rcode` and no AA flag (REFUSED, NOTIMP).
    pub fn empty(rcode: ResponseCode) -> Self {
        Answer {
            rcode,
            authoritative: false,
            answer: Vec::new(),
            authority: Vec::new(),
            additional: Vec::new(),
        }
    }

    /// Answer-section records in order (without RRSIGs).
    pub fn answer_records(&self) -> impl Iterator<Item = &Record> {
        self.answer.iter().flat_map(|set| set.records.iter())
    }

    /// Authority-section records in order (without RRSIGs).
    pub fn authority_records(&self) -> impl Iterator<Item = &Record> {
        self.authority.iter().flat_map(|set| set.records.iter())
    }

    /// Additional-section records in order (without RRSIGs).
    pub fn additional_records(&self) -> impl Iterator<Item = &Record> {
        self.additional.iter().flat_map(|set| set.records.iter())
    }

    /// Every set that needs an RRSIG, with its key, in wire order.
    pub fn to_sign(&self) -> impl Iterator<Item = (&RecordSet, KeyRole)> {
        self.answer
            .iter()
            .chain(&self.authority)
            .chain(&self.additional)
            .filter_map(|set| set.sign.map(|key| (set, key)))
    }

    /// The sections as wire-ordered records, each set marked with a [`KeyRole`] followed by
    /// its RRSIG made at `now` (Unix seconds; hns-dns.md §2.8). Answers to DO=0 queries come
    /// out of [`RootZone::answer`] with no set marked (unless the qtype is RRSIG), so this does
    /// no signing work for them.
    pub fn into_records(self, now: u64) -> Result<SignedAnswer, SignError> {
        let mut out = SignedAnswer::default();
        for (sets, records) in [
            (self.answer, &mut out.answer),
            (self.authority, &mut out.authority),
            (self.additional, &mut out.additional),
        ] {
            for set in sets {
                sign::push_set(records, set, now)?;
            }
        }
        Ok(out)
    }

    /// [`Answer::into_records`] with the signatures made by `sign` (called with each marked
    /// set, its key and `now`): a caller can memoise [`rrsig`], since identical sets signed in
    /// the same second give identical signatures.
    pub fn into_records_with(
        self,
        now: u64,
        sign: &mut SignWith<'_>,
    ) -> Result<SignedAnswer, SignError> {
        let mut out = SignedAnswer::default();
        for (sets, records) in [
            (self.answer, &mut out.answer),
            (self.authority, &mut out.authority),
            (self.additional, &mut out.additional),
        ] {
            for set in sets {
                let signature = match set.sign {
                    Some(key) => Some(sign(&set.records, key, now)?),
                    None => None,
                };
                records.extend(set.records);
                records.extend(signature);
            }
        }
        Ok(out)
    }

    /// Whether any set is marked for signing (false for DO=0 answers).
    pub fn needs_signing(&self) -> bool {
        self.to_sign().next().is_some()
    }

    /// DO=0 filtering (hns-dns.md §6.1): drops DNSSEC-only records (DS, DNSKEY, NSEC, …) unless
    /// their type is `qtype`, and every signature unless RRSIG was asked for.
    fn strip_dnssec(&mut self, qtype: RecordType) {
        for section in [&mut self.answer, &mut self.authority, &mut self.additional] {
            for set in section.iter_mut() {
                set.records
                    .retain(|r| r.record_type() == qtype || !is_dnssec_type(r.record_type()));
                if qtype != RecordType::RRSIG {
                    set.sign = None;
                }
            }
            section.retain(|set| !set.records.is_empty());
        }
    }
}

/// The types bns removes from answers to queries without the DO bit.
fn is_dnssec_type(rtype: RecordType) -> bool {
    matches!(
        rtype,
        RecordType::DS
            | RecordType::DNSKEY
            | RecordType::RRSIG
            | RecordType::NSEC
            | RecordType::NSEC3
            | RecordType::NSEC3PARAM
    ) || matches!(u16::from(rtype), 30 /* NXT */ | 32769 /* DLV */)
}

// === impl RootError ===

impl RootError {
    /// The response code to send: SERVFAIL for every cause.
    pub fn rcode(&self) -> ResponseCode {
        ResponseCode::ServFail
    }
}

// === impl RootZone ===

impl RootZone {
    /// A root authority advertising `public_host` as its name server (`_<base32hex>._synth.`
    /// with A or AAAA glue); the fleet sets it to its anycast address.
    pub fn new(public_host: IpAddr) -> Self {
        RootZone { public_host }
    }

    /// The apex name server address.
    pub fn public_host(&self) -> IpAddr {
        self.public_host
    }

    /// Where `query` goes, and so which TLD (if any) must be looked up before answering.
    pub fn route(&self, query: &Query) -> Route {
        if query.opcode != OpCode::Query {
            return Route::NotImplemented;
        }
        if query.qclass != DNSClass::IN {
            return Route::Refused;
        }
        let name = query.name.to_lowercase();
        let labels: Vec<&[u8]> = name.iter().collect();
        let (Some(first), Some(last)) = (labels.first(), labels.last()) else {
            return Route::Apex;
        };
        if *last == SYNTH_TLD && labels.len() <= 2 && first.first() == Some(&b'_') {
            return Route::Synth;
        }
        let tld = match std::str::from_utf8(last).map(HnsName::parse) {
            Ok(Ok(tld)) => tld,
            _ => return Route::Refused,
        };
        if tld.is_root_blacklisted() {
            return Route::Blacklisted(tld);
        }
        Route::Tld {
            tld,
            below: labels.len() > 1,
        }
    }

    /// The answer to `query`, given the state of its TLD (ignored when [`Route::lookup`] is
    /// `None`) and the current time in Unix seconds (for the SOA serial).
    pub fn answer(
        &self,
        query: &Query,
        state: TldState<'_>,
        now: u64,
    ) -> Result<Answer, RootError> {
        // ICANN answers come complete (their DS denial puts the SOA first).
        let mut complete = false;
        let mut answer = match self.route(query) {
            Route::NotImplemented => return Ok(Answer::empty(ResponseCode::NotImp)),
            Route::Refused => return Ok(Answer::empty(ResponseCode::Refused)),
            Route::Apex => apex::answer(self.public_host, query.qtype, now),
            Route::Synth => synth::answer(&query.name.to_lowercase(), query.qtype)?,
            Route::Blacklisted(tld) => nsec::nxdomain(&tld)?,
            Route::Tld { tld, below } => match state {
                TldState::NotLookedUp => return Err(RootError::NotLookedUp(tld)),
                TldState::Absent | TldState::Exists([]) => nsec::nxdomain(&tld)?,
                TldState::Exists(data) => tld::answer(&tld, below, data, query.qtype)?,
                TldState::Icann(delegation) => {
                    complete = true;
                    icann::answer(&tld, below, delegation, query.qtype, now)?
                }
            },
        };
        // hsd step 4f: an authoritative answer without answer records carries the root SOA.
        if answer.authoritative && answer.answer.is_empty() && !complete {
            answer.authority.push(apex::soa_set(now));
        }
        if !query.dnssec_ok {
            answer.strip_dnssec(query.qtype);
        }
        Ok(answer)
    }
}

#[cfg(test)]
mod tests;
