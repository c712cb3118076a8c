//! The HNS root authority: answers for `.` built from verified proofs.
//!
//! A query is routed by [`RootZone::route`]; when it needs its TLD's state, the name is looked
//! up through the proof-cache tier ([`CacheClient`], which re-verifies every proof), and the
//! answer is built and signed by `hnsfleet-root-zone`. Signed answers are cached per
//! (name, type, DO) for as long as the trusted root stays the same, so a busy root does not
//! ask the caches or sign again for every query.
//!
//! ICANN fallback (whitepaper "Root Zone Fallback", hns-dns.md §3.3): only when the proof says
//! the TLD is absent or has no data, and the TLD is reserved with the root flag in hsd's
//! `names.db`, the ICANN root is asked (`hnsfleet-icann`, DNSSEC-validated from the ICANN trust
//! anchors) and its delegation is served re-signed with the HNS root key, as hsd does. An ICANN
//! answer that does not validate gives SERVFAIL (hsd would serve its NXDOMAIN proof).
//!
//! The same authority serves the `root_listen` port (for Unbound/BIND configured with the
//! fleet as their root) and, in process, the recursion's root server ([`crate::recursion`]).

use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::serialize::binary::BinEncodable;
use hnsfleet_cache_client::{CacheClient, CacheClientError, ErrorReason};
use hnsfleet_hns::header::Header;
use hnsfleet_hns::params::Network;
use hnsfleet_icann::{Fallback, IcannError, IcannRoot};
use hnsfleet_root_zone::{Answer, IcannDelegation, KeyRole, Query, RootZone, SignError, TldState};
use moka::future::Cache;
use thiserror::Error;

use crate::metrics::Metrics;
use crate::wire::Ede;

/// Longest time a root answer is reused (the trusted root changing clears them all sooner).
const ANSWER_REUSE: Duration = Duration::from_secs(300);
/// Root answers kept (each a few hundred bytes).
const ANSWERS_KEPT: u64 = 100_000;
/// How long a root's headers are reused for proof bundles: a flood of bundle requests costs
/// the proof-cache one `GetHeaders` per root and frontend every few seconds, and a bundle's
/// headers lag the tip by at most this (they stay valid: more confirmations only come later).
const HEADERS_REUSE: Duration = Duration::from_secs(5);

/// A root answer, signed, ready to go into a response.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootAnswer {
    /// The response code.
    pub rcode: ResponseCode,
    /// The AA flag.
    pub authoritative: bool,
    /// The answer section.
    pub answers: Vec<Record>,
    /// The authority section.
    pub authorities: Vec<Record>,
    /// The additional section.
    pub additionals: Vec<Record>,
}

/// Why the root could not answer (the client gets SERVFAIL with this EDE).
#[derive(Debug, Clone, Error)]
pub enum RootFailure {
    /// No proof-cache has a trusted root: the fleet is not synchronized.
    #[error("no trusted chain state yet")]
    NotReady,
    /// The proof-cache tier could not be reached or gave nothing usable.
    #[error("proof-cache unavailable: {0}")]
    Upstream(String),
    /// A cache answered for another network.
    #[error("proof-cache answered for network {0}")]
    WrongNetwork(String),
    /// ICANN's answer for a fallback TLD did not validate (served as SERVFAIL, never unsigned
    /// data or an unproven NXDOMAIN).
    #[error("ICANN answer did not validate: {0}")]
    IcannBogus(String),
    /// The verified data could not be turned into an answer (a resource that does not decode).
    #[error("cannot build the root answer: {0}")]
    Build(String),
}

/// The HNS root authority. Cheap to share (`Arc`).
#[derive(Debug)]
pub struct RootAuthority {
    zone: RootZone,
    cache: CacheClient,
    icann: IcannRoot,
    network: Network,
    answers: RootAnswers,
    signatures: SignatureMemo,
    headers: Cache<(u32, [u8; 32]), Arc<RootHeaders>>,
    metrics: Metrics,
}

/// The headers that tie a root to proof of work: the first one's height, then the headers.
pub type RootHeaders = (u32, Vec<Header>);

/// Signed root answers by (lower-case name, type, DO).
#[derive(Debug)]
struct RootAnswers {
    cache: Cache<(Name, RecordType, bool), Arc<RootAnswer>>,
}

// === impl RootFailure ===

impl RootFailure {
    /// The Extended DNS Error the client gets.
    pub fn ede(&self) -> Ede {
        match self {
            RootFailure::NotReady => Ede::NotReady,
            RootFailure::Upstream(_) => Ede::NoReachableAuthority,
            RootFailure::IcannBogus(_) => Ede::DnssecBogus,
            RootFailure::WrongNetwork(_) | RootFailure::Build(_) => Ede::InvalidData,
        }
    }

    /// The metrics label.
    pub fn label(&self) -> &'static str {
        match self {
            RootFailure::NotReady => "not_ready",
            RootFailure::Upstream(_) => "cache_unavailable",
            RootFailure::IcannBogus(_) => "icann_bogus",
            RootFailure::WrongNetwork(_) => "wrong_network",
            RootFailure::Build(_) => "build",
        }
    }
}

// === impl RootAuthority ===

impl RootAuthority {
    /// A root authority advertising `public_host`, looking TLDs up through `cache` and
    /// falling back to ICANN through `icann`.
    pub fn new(
        public_host: std::net::IpAddr,
        cache: CacheClient,
        icann: IcannRoot,
        network: Network,
        metrics: Metrics,
    ) -> Self {
        RootAuthority {
            zone: RootZone::new(public_host),
            cache,
            icann,
            network,
            answers: RootAnswers {
                cache: Cache::builder()
                    .max_capacity(ANSWERS_KEPT)
                    .time_to_live(ANSWER_REUSE)
                    .build(),
            },
            signatures: SignatureMemo::new(metrics.clone()),
            headers: Cache::builder()
                .max_capacity(16)
                .time_to_live(HEADERS_REUSE)
                .build(),
            metrics,
        }
    }

    /// Forgets every reused answer (the trusted root changed).
    pub fn root_changed(&self) {
        self.answers.cache.invalidate_all();
    }

    /// The answer to `query`.
    pub async fn answer(&self, query: &Query) -> Result<Arc<RootAnswer>, RootFailure> {
        let key = (query.name.to_lowercase(), query.qtype, query.dnssec_ok);
        if let Some(found) = self.answers.cache.get(&key).await {
            self.metrics.root_answers.with_label_values(&["hit"]).inc();
            return Ok(found);
        }
        self.metrics.root_answers.with_label_values(&["miss"]).inc();
        let built = Arc::new(self.build(query).await?);
        if built.rcode != ResponseCode::ServFail {
            self.answers.cache.insert(key, Arc::clone(&built)).await;
        }
        Ok(built)
    }

    async fn build(&self, query: &Query) -> Result<RootAnswer, RootFailure> {
        let now = unix_now();
        let route = self.zone.route(query);
        let answer = match route.lookup() {
            None => self.zone.answer(query, TldState::NotLookedUp, now),
            Some(tld) => {
                let found = self.cache.lookup(tld).await.map_err(cache_failure)?;
                if let Some(network) = found.lookup.network()
                    && network != self.network
                {
                    return Err(RootFailure::WrongNetwork(network.to_string()));
                }
                // The whitepaper's rule: ICANN only for a proven absence (or empty data) of a
                // TLD reserved with the root flag.
                let absent = found.lookup.resource_data().is_empty();
                if absent && hnsfleet_hns::reserved::is_root_reserved(tld.as_str()) {
                    match self.icann_delegation(tld.as_str()).await? {
                        Some(delegation) => {
                            self.metrics
                                .icann_fallbacks
                                .with_label_values(&["delegation"])
                                .inc();
                            self.zone.answer(query, TldState::Icann(&delegation), now)
                        }
                        None => {
                            self.metrics
                                .icann_fallbacks
                                .with_label_values(&["nxdomain"])
                                .inc();
                            self.zone.answer(query, TldState::Absent, now)
                        }
                    }
                } else {
                    self.zone.answer(query, TldState::from(&found.lookup), now)
                }
            }
        }
        .map_err(|e| RootFailure::Build(e.to_string()))?;
        sign(answer, now, &self.signatures)
    }

    /// A whole response to `request` from the root (the `root_listen` port and the
    /// recursion's in-process root): AA as the zone says, RA=0.
    pub async fn respond(&self, request: &crate::wire::Request, udp_payload: u16) -> Message {
        let query = Query {
            name: request.query.name().clone(),
            qtype: request.query.query_type(),
            qclass: request.query.query_class(),
            opcode: request.message.op_code,
            dnssec_ok: request.dnssec_ok(),
        };
        match self.answer(&query).await {
            Ok(answer) => {
                let mut response = request.response(answer.rcode, udp_payload);
                response.metadata.authoritative = answer.authoritative;
                response.answers = answer.answers.clone();
                response.authorities = answer.authorities.clone();
                response.additionals = answer.additionals.clone();
                response
            }
            Err(failure) => {
                self.metrics
                    .upstream_errors
                    .with_label_values(&[failure.label()])
                    .inc();
                let mut response = request.response(ResponseCode::ServFail, udp_payload);
                crate::wire::add_ede(&mut response, failure.ede(), &failure.to_string());
                response
            }
        }
    }
}

impl RootAuthority {
    /// The network served.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The verified look-up of `tld` (for proof bundles).
    pub async fn tld_lookup(
        &self,
        tld: &hnsfleet_hns::name::Name,
    ) -> Result<hnsfleet_cache_client::CachedLookup, RootFailure> {
        let found = self.cache.lookup(tld).await.map_err(cache_failure)?;
        match found.lookup.network() {
            Some(network) if network != self.network => {
                Err(RootFailure::WrongNetwork(network.to_string()))
            }
            _ => Ok(found),
        }
    }

    /// The headers tying `root` to proof of work (first height, headers), from the proof-cache
    /// tier (checked there and again here), reused for a few seconds; concurrent requests for
    /// the same root share one call.
    pub async fn root_headers(
        &self,
        root: hnsfleet_hns::chain::SafeRoot,
    ) -> Result<Arc<RootHeaders>, String> {
        let key = (root.height, *root.tree_root.as_bytes());
        self.headers
            .try_get_with(key, async {
                self.cache
                    .headers(root, self.network)
                    .await
                    .map(Arc::new)
                    .map_err(|e| e.to_string())
            })
            .await
            .map_err(|e| format!("headers: {e}"))
    }

    /// The root's own signed answer records for `name`/`rtype` (DO on): the set and its
    /// RRSIGs, as the root serves them (for proof bundles).
    pub async fn signed_set(&self, name: &Name, rtype: RecordType) -> Result<Vec<Record>, String> {
        let query = Query {
            name: name.clone(),
            qtype: rtype,
            qclass: hickory_proto::rr::DNSClass::IN,
            opcode: hickory_proto::op::OpCode::Query,
            dnssec_ok: true,
        };
        let answer = self.answer(&query).await.map_err(|e| e.to_string())?;
        if answer.answers.is_empty() {
            return Err(format!("the root has no {rtype} for {name}"));
        }
        Ok(answer.answers.clone())
    }

    /// ICANN's chain for a fallback TLD: the ICANN root's DNSKEY set and the TLD's DS set
    /// (or its absence), as received, with their RRSIGs (for proof bundles).
    pub async fn icann_chain(&self, tld: &Name) -> Result<Vec<Record>, RootFailure> {
        let upstream = |e: IcannError| RootFailure::Upstream(format!("ICANN root: {e}"));
        let keys = self.icann.root_keys().await.map_err(upstream)?;
        let mut records = keys.signed().to_vec();
        match self.icann.delegation(tld).await.map_err(upstream)? {
            Fallback::Delegation(d) => records.extend(d.signed),
            Fallback::NxDomain => {
                return Err(RootFailure::Build(format!(
                    "ICANN says {tld} does not exist"
                )));
            }
        }
        Ok(records)
    }

    /// ICANN's validated delegation of `tld`, or `None` when ICANN proves it does not exist.
    async fn icann_delegation(&self, tld: &str) -> Result<Option<IcannDelegation>, RootFailure> {
        let name = Name::from_ascii(format!("{tld}."))
            .map_err(|e| RootFailure::Build(format!("TLD {tld}: {e}")))?;
        match self.icann.delegation(&name).await {
            Ok(Fallback::Delegation(d)) => Ok(Some(IcannDelegation {
                ns: d.ns,
                ds: d.ds,
                glue: d.glue,
            })),
            Ok(Fallback::NxDomain) => Ok(None),
            Err(error @ IcannError::Bogus { .. }) => {
                Err(RootFailure::IcannBogus(error.to_string()))
            }
            Err(error) => Err(RootFailure::Upstream(format!("ICANN root: {error}"))),
        }
    }
}

/// Maps a cache-client failure: "no trusted root" and "stale expired" are the tier not being
/// ready; anything else is the tier being unreachable.
fn cache_failure(error: CacheClientError) -> RootFailure {
    match error.reason() {
        Some(ErrorReason::NoTrustedRoot | ErrorReason::StaleExpired) => RootFailure::NotReady,
        _ => RootFailure::Upstream(error.to_string()),
    }
}

/// Signatures made in the current second, by (key, second, the set's wire bytes): the root's
/// SOA, the `!.` NSEC and every popular set are signed once per second, not once per answer
/// (one P-256 signature costs about 200 µs; a flood of random absent names would otherwise
/// cost three per query).
#[derive(Debug)]
pub struct SignatureMemo {
    memo: moka::sync::Cache<(KeyRole, u64, Vec<u8>), Record>,
    metrics: Metrics,
}

impl SignatureMemo {
    /// A memo of a few thousand signatures, each kept two seconds.
    pub fn new(metrics: Metrics) -> SignatureMemo {
        SignatureMemo {
            memo: moka::sync::Cache::builder()
                .max_capacity(4096)
                .time_to_live(Duration::from_secs(2))
                .build(),
            metrics,
        }
    }

    /// The RRSIG over `records` by `key` at `now`, from the memo when made this second.
    pub fn sign(&self, records: &[Record], key: KeyRole, now: u64) -> Result<Record, SignError> {
        let mut bytes = Vec::with_capacity(records.len() * 64);
        for record in records {
            let encoded = record
                .to_bytes()
                .map_err(|e| SignError::Encode(e.to_string()))?;
            bytes.extend_from_slice(&encoded);
        }
        let key_of = (key, now, bytes);
        if let Some(found) = self.memo.get(&key_of) {
            self.metrics.rrsigs.with_label_values(&["memo"]).inc();
            return Ok(found);
        }
        let signature = hnsfleet_root_zone::rrsig(records, key, now)?;
        self.metrics.rrsigs.with_label_values(&["signed"]).inc();
        self.memo.insert(key_of, signature.clone());
        Ok(signature)
    }
}

/// The answer's records in wire order with their RRSIGs (made with the HNS root keys).
fn sign(answer: Answer, now: u64, memo: &SignatureMemo) -> Result<RootAnswer, RootFailure> {
    let (rcode, authoritative) = (answer.rcode, answer.authoritative);
    let signed = answer
        .into_records_with(now, &mut |records, key, now| memo.sign(records, key, now))
        .map_err(|e| RootFailure::Build(e.to_string()))?;
    Ok(RootAnswer {
        rcode,
        authoritative,
        answers: signed.answer,
        authorities: signed.authority,
        additionals: signed.additional,
    })
}

/// Seconds since the Unix epoch.
pub(crate) fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use hickory_proto::rr::rdata::TXT;
    use hickory_proto::rr::{Name, RData, Record};

    use super::*;

    fn txt(text: &str) -> Vec<Record> {
        vec![Record::from_rdata(
            Name::from_ascii("fleettxt.").unwrap(),
            21600,
            RData::TXT(TXT::new(vec![text.to_string()])),
        )]
    }

    #[test]
    fn the_memo_signs_a_set_once_per_second_and_gives_the_signers_bytes() {
        let metrics = Metrics::unregistered();
        let memo = SignatureMemo::new(metrics.clone());
        let count = |result| metrics.rrsigs.with_label_values(&[result]).get();
        let now = 1_700_000_000;
        let first = memo.sign(&txt("a"), KeyRole::Zsk, now).unwrap();
        let again = memo.sign(&txt("a"), KeyRole::Zsk, now).unwrap();
        assert_eq!(first, again);
        assert_eq!(
            first,
            hnsfleet_root_zone::rrsig(&txt("a"), KeyRole::Zsk, now).unwrap()
        );
        assert_eq!((count("signed"), count("memo")), (1, 1));
        // Another set, another second or another key: a new signature.
        memo.sign(&txt("b"), KeyRole::Zsk, now).unwrap();
        memo.sign(&txt("a"), KeyRole::Zsk, now + 1).unwrap();
        memo.sign(&txt("a"), KeyRole::Ksk, now).unwrap();
        assert_eq!((count("signed"), count("memo")), (4, 1));
    }
}
