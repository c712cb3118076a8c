//! The client's verification of a response and its bundle, one [`Step`] at a time.
//!
//! 1. [`Step::Bundle`]: the response carries a bundle that decodes, for the expected network.
//! 2. [`Step::Headers`]: every header meets its own target, the target follows the network's
//!    difficulty rule (regtest: exactly the limit; elsewhere no easier than the limit nor than
//!    [`Policy::max_target`], the floor that prices a forgery), each links to the one before,
//!    there are at least [`Policy::min_headers`] of them and the last is recent enough. With a
//!    [`KnownChain`] (a follower the client runs), the first header must be the one that chain
//!    holds at its height.
//! 3. [`Step::Root`]: the first header carries the bundle's tree root.
//! 4. [`Step::Proof`]: the Urkel proof verifies against that root for the question's TLD.
//! 5. [`Step::Delegation`]: what the proof says about the TLD, turned into trusted keys: the
//!    DS set the TLD's resource holds (the bundle's signed DS set must equal it), or for a
//!    proven absence of a root-reserved TLD, ICANN's DS for it under ICANN's root keys, or a
//!    proven NXDOMAIN.
//! 6. [`Step::Dnssec`]: each zone below, down to the answer's signer: DS signed by the parent,
//!    DNSKEY set signed by a key the DS names.
//! 7. [`Step::Answer`]: every RRset of the answer (or the denial in the authority section) is
//!    signed by a validated key of its zone, and it answers the question.
//!
//! A failed step stops the ones after it ([`Verdict::NotRun`]).

use std::collections::BTreeMap;

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, NSEC};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hnsfleet_hns::chain::SAFE_ROOT_DEPTH;
use hnsfleet_hns::header::Header;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::pow::Target;
use hnsfleet_hns::resource::Resource;
use hnsfleet_hns::types::BlockHash;
use hnsfleet_hns_dns::ResourceDns;
use thiserror::Error;

use crate::dnssec::{
    HNS_ROOT_ANCHOR, ICANN_ROOT_ANCHORS, ds_of, nsec_covers, parse_anchors, rrset, rrsigs,
    validate_keys, verify_set,
};
use crate::format::{Bundle, DecodeError, bundle_of};

/// Most zone cuts followed below the TLD.
const MAX_ZONES: usize = 16;
/// Seconds a header's time may be ahead of the client's clock (hsd's rule).
const MAX_FUTURE_SECS: u64 = 2 * 60 * 60;

/// What the client requires of a bundle.
#[derive(Debug, Clone)]
pub struct Policy {
    /// The network the answer must come from.
    pub network: Network,
    /// Fewest headers (the committing one included): the safe-root depth, or the tree interval
    /// when that is shorter (regtest).
    pub min_headers: usize,
    /// The easiest target a header may have (`None`: the network's limit). On mainnet this is
    /// what a forger must at least mine, per header.
    pub max_target: Option<Target>,
    /// Oldest the last header may be, in seconds (`None`: no limit, e.g. checking an old
    /// bundle offline).
    pub max_tip_age: Option<u64>,
    /// ICANN's root trust anchors (DS records owned by `.`).
    pub icann_anchors: Vec<Record>,
}

/// A header chain the client keeps itself (an `hnsfleet follower` it runs): the committing
/// header is checked against it instead of trusting proof of work alone.
pub trait KnownChain {
    /// The hash of the block at `height` on the chain, if known.
    fn hash_at(&self, height: u32) -> Option<BlockHash>;
}

/// The steps of a verification, in order.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub enum Step {
    /// The bundle is present, decodes and is for the expected network.
    Bundle,
    /// Proof of work, difficulty, linkage and number of the headers.
    Headers,
    /// The first header carries the bundle's tree root.
    Root,
    /// The Urkel proof of the TLD against the root.
    Proof,
    /// The TLD's delegation as the proof says it (DS), or ICANN's for a fallback TLD.
    Delegation,
    /// DS and DNSKEY of each zone down to the answer's signer.
    Dnssec,
    /// The answer's records (or the denial) and their signatures.
    Answer,
}

/// One step's outcome.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Verdict {
    /// The step holds; what it established.
    Passed(String),
    /// The step does not hold.
    Failed(StepError),
    /// An earlier step failed.
    NotRun,
}

/// Why a step failed.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum StepError {
    /// No bundle, or one that does not decode.
    #[error(transparent)]
    Decode(#[from] DecodeError),
    /// The bundle is for another network.
    #[error("bundle is for {got}, expected {expected}")]
    Network {
        /// The bundle's network.
        got: Network,
        /// The policy's.
        expected: Network,
    },
    /// A header breaks a rule.
    #[error("header at height {height}: {reason}")]
    Header {
        /// Its height.
        height: u32,
        /// The rule.
        reason: String,
    },
    /// Too few headers on top of the root.
    #[error("only {got} headers from the root's header to the tip, {need} required")]
    TooFewHeaders {
        /// Headers in the bundle.
        got: usize,
        /// The policy's minimum.
        need: usize,
    },
    /// The last header is older than the policy allows.
    #[error("the last header is {age} s old (at most {max} s allowed)")]
    StaleTip {
        /// Its age.
        age: u64,
        /// The limit.
        max: u64,
    },
    /// The first header's tree root differs from the bundle's.
    #[error(
        "the header at height {height} carries tree root {carried}, the bundle claims {claimed}"
    )]
    RootMismatch {
        /// The header's height.
        height: u32,
        /// Its tree root (hex).
        carried: String,
        /// The bundle's (hex).
        claimed: String,
    },
    /// The proof does not verify or is for another TLD.
    #[error("{0}")]
    Proof(String),
    /// The delegation's records do not match the proof, or do not verify.
    #[error("{0}")]
    Delegation(String),
    /// A zone's DS or DNSKEY set does not verify.
    #[error("{0}")]
    Dnssec(String),
    /// The chain stops at an unsigned (insecure) delegation: nothing below can be verified.
    #[error("insecure delegation: {0}")]
    Insecure(String),
    /// The answer's records do not verify or do not answer the question.
    #[error("{0}")]
    Answer(String),
}

/// The verdict of every step.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Report {
    /// Each step, in order, with its verdict.
    pub steps: Vec<(Step, Verdict)>,
}

// === impl Policy ===

impl Policy {
    /// The default policy of `network`: the safe-root depth (or the tree interval when
    /// shorter) in headers, on mainnet a difficulty floor of 1/16 of the difficulty at
    /// height 136,000 (hnsd's checkpoint, bits `0x1904783a`) and tips at most 12 hours old,
    /// ICANN's published root anchors.
    pub fn for_network(network: Network) -> Policy {
        let params = network.params();
        let min_headers = SAFE_ROOT_DEPTH.min(params.names.tree_interval).max(1) as usize;
        let max_target = match network {
            // 16 × the checkpoint's target: mantissa 0x04783a shifted by one hex digit.
            Network::Main => Target::from_bits(0x1947_83a0).ok(),
            _ => None,
        };
        let max_tip_age = (params.max_tip_age < u64::from(u32::MAX)).then_some(params.max_tip_age);
        Policy {
            network,
            min_headers,
            max_target,
            max_tip_age,
            icann_anchors: parse_anchors(ICANN_ROOT_ANCHORS).unwrap_or_default(),
        }
    }
}

// === impl Step ===

impl Step {
    /// All steps in order.
    pub const ALL: [Step; 7] = [
        Step::Bundle,
        Step::Headers,
        Step::Root,
        Step::Proof,
        Step::Delegation,
        Step::Dnssec,
        Step::Answer,
    ];

    /// The step's name as the CLI prints it.
    pub fn name(self) -> &'static str {
        match self {
            Step::Bundle => "bundle",
            Step::Headers => "headers",
            Step::Root => "root",
            Step::Proof => "proof",
            Step::Delegation => "delegation",
            Step::Dnssec => "dnssec",
            Step::Answer => "answer",
        }
    }
}

impl std::fmt::Display for Step {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.name())
    }
}

// === impl Report ===

impl Report {
    /// Whether every step passed.
    pub fn is_verified(&self) -> bool {
        self.steps
            .iter()
            .all(|(_, v)| matches!(v, Verdict::Passed(_)))
    }

    /// The first step that failed, and why.
    pub fn failure(&self) -> Option<(Step, &StepError)> {
        self.steps.iter().find_map(|(step, v)| match v {
            Verdict::Failed(e) => Some((*step, e)),
            _ => None,
        })
    }

    /// The verdict of `step`.
    pub fn verdict(&self, step: Step) -> Option<&Verdict> {
        self.steps.iter().find(|(s, _)| *s == step).map(|(_, v)| v)
    }
}

/// Verifies `response` (a decoded DNS response to one question) with the bundle it carries, at
/// `now` (Unix seconds), under `policy`, optionally against the client's own chain.
pub fn verify(
    response: &Message,
    policy: &Policy,
    now: u64,
    chain: Option<&dyn KnownChain>,
) -> Report {
    let mut run = Run {
        steps: Vec::with_capacity(Step::ALL.len()),
    };
    let _ = check_all(&mut run, response, policy, now, chain);
    for step in Step::ALL {
        if !run.steps.iter().any(|(s, _)| *s == step) {
            run.steps.push((step, Verdict::NotRun));
        }
    }
    Report { steps: run.steps }
}

/// The steps recorded so far.
struct Run {
    steps: Vec<(Step, Verdict)>,
}

impl Run {
    /// Records `step`'s outcome; `Err(())` stops the run after a failure.
    fn record<T>(&mut self, step: Step, outcome: Result<(T, String), StepError>) -> Result<T, ()> {
        match outcome {
            Ok((value, detail)) => {
                self.steps.push((step, Verdict::Passed(detail)));
                Ok(value)
            }
            Err(error) => {
                self.steps.push((step, Verdict::Failed(error)));
                Err(())
            }
        }
    }
}

/// What the proof says about the TLD.
enum Tld {
    /// The TLD exists with this resource (possibly empty).
    Exists(Resource),
    /// The TLD does not exist (or has no data).
    Absent,
}

/// Validated zone keys by zone.
type ZoneKeys = BTreeMap<Name, Vec<DNSKEY>>;

fn check_all(
    run: &mut Run,
    response: &Message,
    policy: &Policy,
    now: u64,
    chain: Option<&dyn KnownChain>,
) -> Result<(), ()> {
    let bundle = run.record(Step::Bundle, check_bundle(response, policy))?;
    run.record(Step::Headers, check_headers(&bundle, policy, now, chain))?;
    run.record(Step::Root, check_root(&bundle))?;
    let qname = question(response).map_err(|e| {
        run.steps.push((Step::Proof, Verdict::Failed(e)));
    })?;
    let tld = run.record(Step::Proof, check_proof(&bundle, &qname))?;
    let anchor = run.record(
        Step::Delegation,
        check_delegation(&bundle, &tld, policy, now),
    )?;
    let keys = run.record(Step::Dnssec, check_zones(&bundle, anchor, now))?;
    run.record(Step::Answer, check_answer(response, &qname, &keys, now))?;
    Ok(())
}

fn question(response: &Message) -> Result<Name, StepError> {
    match response.queries.as_slice() {
        [query] => Ok(query.name().to_lowercase()),
        _ => Err(StepError::Proof(
            "the response does not have exactly one question".into(),
        )),
    }
}

fn check_bundle(response: &Message, policy: &Policy) -> Result<(Bundle, String), StepError> {
    let bundle = bundle_of(response)?;
    if bundle.network != policy.network {
        return Err(StepError::Network {
            got: bundle.network,
            expected: policy.network,
        });
    }
    let detail = format!(
        "{} headers, a {}-byte proof and {} DNSSEC records for {}",
        bundle.headers.len(),
        bundle.proof.len(),
        bundle.records.len(),
        bundle.network
    );
    Ok((bundle, detail))
}

fn check_headers(
    bundle: &Bundle,
    policy: &Policy,
    now: u64,
    chain: Option<&dyn KnownChain>,
) -> Result<((), String), StepError> {
    let params = policy.network.params();
    if bundle.headers.len() < policy.min_headers {
        return Err(StepError::TooFewHeaders {
            got: bundle.headers.len(),
            need: policy.min_headers,
        });
    }
    let mut prev: Option<BlockHash> = None;
    for (i, header) in bundle.headers.iter().enumerate() {
        let height = bundle.first_height.saturating_add(i as u32);
        let fail = |reason: String| StepError::Header { height, reason };
        let hash = check_work(header, policy).map_err(fail)?;
        if let Some(prev) = prev
            && header.prev_block != prev
        {
            return Err(fail(format!(
                "does not link to the header before it (prev {}, expected {})",
                header.prev_block.to_hex(),
                prev.to_hex()
            )));
        }
        if header.time > now.saturating_add(MAX_FUTURE_SECS) {
            return Err(fail(format!("time {} is in the future", header.time)));
        }
        prev = Some(hash);
    }
    let last = bundle.headers.last().map_or(0, |h| h.time);
    if let Some(max) = policy.max_tip_age {
        let age = now.saturating_sub(last);
        if age > max {
            return Err(StepError::StaleTip { age, max });
        }
    }
    let tip = bundle
        .first_height
        .saturating_add(bundle.headers.len() as u32)
        .saturating_sub(1);
    let mut detail = format!(
        "{} headers {}..={} meet their targets ({}) and link",
        bundle.headers.len(),
        bundle.first_height,
        tip,
        if params.pow.no_retargeting {
            "regtest: the limit".to_string()
        } else {
            "no easier than the floor".to_string()
        }
    );
    if let Some(chain) = chain {
        let first = bundle.headers.first().map(Header::hash);
        match chain.hash_at(bundle.first_height) {
            Some(known) if Some(known) == first => {
                detail.push_str("; the first is the one our own chain holds");
            }
            Some(known) => {
                return Err(StepError::Header {
                    height: bundle.first_height,
                    reason: format!("our own chain holds {} there", known.to_hex()),
                });
            }
            None => {
                return Err(StepError::Header {
                    height: bundle.first_height,
                    reason: "our own chain does not reach this height".into(),
                });
            }
        }
    }
    Ok(((), detail))
}

/// The header's proof of work against its own target, and the target against the network's
/// rule and the policy's floor. Returns the header's hash.
fn check_work(header: &Header, policy: &Policy) -> Result<BlockHash, String> {
    let pow = &policy.network.params().pow;
    let hash = header.verify_pow().map_err(|e| e.to_string())?;
    if pow.no_retargeting {
        if header.bits != pow.limit_bits {
            return Err(format!(
                "bits {:#010x}, the network requires {:#010x}",
                header.bits, pow.limit_bits
            ));
        }
        return Ok(hash);
    }
    let target = Target::from_bits(header.bits).map_err(|e| e.to_string())?;
    if target > pow.limit_target {
        return Err(format!(
            "bits {:#010x} are easier than the network's limit",
            header.bits
        ));
    }
    if let Some(floor) = policy.max_target
        && target > floor
    {
        return Err(format!(
            "bits {:#010x} are easier than the floor {:#010x}",
            header.bits,
            floor.to_bits()
        ));
    }
    Ok(hash)
}

fn check_root(bundle: &Bundle) -> Result<((), String), StepError> {
    let Some(first) = bundle.headers.first() else {
        return Err(StepError::TooFewHeaders { got: 0, need: 1 });
    };
    if first.tree_root != bundle.tree_root {
        return Err(StepError::RootMismatch {
            height: bundle.first_height,
            carried: first.tree_root.to_hex(),
            claimed: bundle.tree_root.to_hex(),
        });
    }
    Ok((
        (),
        format!(
            "tree root {} is in the header at height {}",
            bundle.tree_root.to_hex(),
            bundle.first_height
        ),
    ))
}

fn check_proof(bundle: &Bundle, qname: &Name) -> Result<(Tld, String), StepError> {
    let asked = tld_of(qname)
        .ok_or_else(|| StepError::Proof("the question is the root: no TLD to prove".into()))?;
    if asked != bundle.tld {
        return Err(StepError::Proof(format!(
            "the bundle proves {:?}, the question is under {asked:?}",
            bundle.tld
        )));
    }
    let key = hnsfleet_hns::name::name_hash(&bundle.tld);
    let verified = hnsfleet_hns::urkel::verify_name_proof(&bundle.tree_root, &key, &bundle.proof)
        .map_err(|e| {
        StepError::Proof(format!("the Urkel proof of {asked:?} does not verify: {e}"))
    })?;
    let data = verified
        .state()
        .and_then(|s| s.resource_data())
        .unwrap_or_default();
    if data.is_empty() {
        let what = if verified.state().is_some() {
            "exists with no records"
        } else {
            "does not exist"
        };
        return Ok((Tld::Absent, format!("{asked:?} {what} under the root")));
    }
    let resource = Resource::decode(data)
        .map_err(|e| StepError::Proof(format!("the proven resource does not decode: {e}")))?;
    Ok((
        Tld::Exists(resource),
        format!("{asked:?} exists with {} bytes of records", data.len()),
    ))
}

/// The lower-case TLD of `name`, if it has one.
fn tld_of(name: &Name) -> Option<String> {
    let label = name.iter().next_back()?;
    Some(String::from_utf8_lossy(label).to_ascii_lowercase())
}

/// Where the DNSSEC chain below the root starts.
enum Anchor {
    /// Validated DS records of `zone` (the TLD).
    Ds { zone: Name, ds: Vec<DS> },
    /// The TLD is proven absent: the answer must be NXDOMAIN.
    NxDomain,
}

fn check_delegation(
    bundle: &Bundle,
    tld: &Tld,
    policy: &Policy,
    now: u64,
) -> Result<(Anchor, String), StepError> {
    let zone = Name::from_ascii(format!("{}.", bundle.tld))
        .map_err(|e| StepError::Delegation(format!("TLD name: {e}")))?;
    let root = Name::root();
    let signed_ds = rrset(&bundle.records, &zone, RecordType::DS);
    match tld {
        Tld::Exists(resource) => {
            let proven: Vec<DS> = ds_of(&resource.ds_records(&zone).iter().collect::<Vec<_>>());
            if proven.is_empty() {
                return Err(StepError::Insecure(format!(
                    "{zone} has no DS on chain: its zone's answers cannot be verified"
                )));
            }
            // RFC 9102's chain from the HNS root key: its DNSKEY set under the anchor, then
            // the DS set under the root's zone keys. (Those keys' private halves are public:
            // what makes the DS trustworthy is that it is the proof's.)
            let anchors = parse_anchors(HNS_ROOT_ANCHOR).map_err(StepError::Delegation)?;
            let root_keys = validate_keys(
                &bundle.records,
                &root,
                &ds_of(&anchors.iter().collect::<Vec<_>>()),
                now,
            )
            .map_err(|e| StepError::Delegation(format!("HNS root: {e}")))?;
            verify_set(
                &bundle.records,
                &zone,
                RecordType::DS,
                &root,
                &root_keys,
                now,
            )
            .map_err(|e| StepError::Delegation(format!("DS of {zone} under the HNS root: {e}")))?;
            let served = ds_of(&signed_ds);
            if !same_set(&served, &proven) {
                return Err(StepError::Delegation(format!(
                    "the DS set of {zone} in the bundle ({} records) is not the one the proof holds ({} records)",
                    served.len(),
                    proven.len()
                )));
            }
            Ok((
                Anchor::Ds {
                    zone: zone.clone(),
                    ds: proven,
                },
                format!("the DS set of {zone} is the proof's, signed by the HNS root key"),
            ))
        }
        Tld::Absent if hnsfleet_hns::reserved::is_root_reserved(&bundle.tld) => {
            let anchors = ds_of(&policy.icann_anchors.iter().collect::<Vec<_>>());
            let root_keys = validate_keys(&bundle.records, &root, &anchors, now)
                .map_err(|e| StepError::Delegation(format!("ICANN root: {e}")))?;
            if signed_ds.is_empty() {
                return Err(StepError::Insecure(format!(
                    "no DS for {zone} under the ICANN root in the bundle"
                )));
            }
            verify_set(
                &bundle.records,
                &zone,
                RecordType::DS,
                &root,
                &root_keys,
                now,
            )
            .map_err(|e| {
                StepError::Delegation(format!("DS of {zone} under the ICANN root: {e}"))
            })?;
            Ok((
                Anchor::Ds {
                    zone: zone.clone(),
                    ds: ds_of(&signed_ds),
                },
                format!(
                    "{zone} is proven absent from HNS and reserved: its DS is signed by ICANN's root key"
                ),
            ))
        }
        Tld::Absent => Ok((
            Anchor::NxDomain,
            format!("{zone} is proven absent and not reserved: the name does not exist"),
        )),
    }
}

fn same_set(a: &[DS], b: &[DS]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}

fn check_zones(bundle: &Bundle, anchor: Anchor, now: u64) -> Result<(ZoneKeys, String), StepError> {
    let mut keys = ZoneKeys::new();
    let (tld, ds) = match anchor {
        Anchor::NxDomain => return Ok((keys, "no zone below the root to check".into())),
        Anchor::Ds { zone, ds } => (zone, ds),
    };
    let tld_keys = validate_keys(&bundle.records, &tld, &ds, now).map_err(StepError::Dnssec)?;
    keys.insert(tld.clone(), tld_keys);
    // Zones below the TLD: each DNSKEY owner in the bundle other than the root and the TLD,
    // shallowest first, needs its DS signed by its parent's validated keys.
    let mut zones: Vec<Name> = bundle
        .records
        .iter()
        .filter(|r| r.record_type() == RecordType::DNSKEY)
        .map(|r| r.name.to_lowercase())
        .filter(|n| !n.is_root() && *n != tld && tld.zone_of(n))
        .collect();
    zones.sort_by_key(Name::num_labels);
    zones.dedup();
    if zones.len() > MAX_ZONES {
        return Err(StepError::Dnssec(format!("more than {MAX_ZONES} zones")));
    }
    for zone in &zones {
        let sig = rrsigs(&bundle.records, zone, RecordType::DS)
            .into_iter()
            .find(|s| keys.contains_key(&s.input().signer_name.to_lowercase()));
        let Some(sig) = sig else {
            return Err(StepError::Dnssec(format!(
                "no DS for {zone} signed by a validated parent zone"
            )));
        };
        let parent = sig.input().signer_name.to_lowercase();
        let parent_keys = keys.get(&parent).cloned().unwrap_or_default();
        verify_set(
            &bundle.records,
            zone,
            RecordType::DS,
            &parent,
            &parent_keys,
            now,
        )
        .map_err(|e| StepError::Dnssec(format!("DS of {zone} under {parent}: {e}")))?;
        let ds = ds_of(&rrset(&bundle.records, zone, RecordType::DS));
        let zone_keys =
            validate_keys(&bundle.records, zone, &ds, now).map_err(StepError::Dnssec)?;
        keys.insert(zone.clone(), zone_keys);
    }
    let names: Vec<String> = keys.keys().map(ToString::to_string).collect();
    Ok((keys, format!("validated zone keys of {}", names.join(", "))))
}

fn check_answer(
    response: &Message,
    qname: &Name,
    keys: &ZoneKeys,
    now: u64,
) -> Result<((), String), StepError> {
    let qtype = response
        .queries
        .first()
        .map(|q| q.query_type())
        .unwrap_or(RecordType::A);
    if keys.is_empty() {
        // The TLD is proven absent.
        if response.metadata.response_code != ResponseCode::NXDomain || !response.answers.is_empty()
        {
            return Err(StepError::Answer(format!(
                "the TLD is proven absent but the response is {} with {} answers",
                response.metadata.response_code,
                response.answers.len()
            )));
        }
        return Ok((
            (),
            format!("NXDOMAIN for {qname}, proven by the absence proof"),
        ));
    }
    let section = if response.answers.is_empty() {
        &response.authorities
    } else {
        &response.answers
    };
    let sets = sets_of(section);
    if sets.is_empty() {
        return Err(StepError::Answer(
            "the response has no records to verify".into(),
        ));
    }
    for (owner, rtype) in &sets {
        verify_in_zone(section, owner, *rtype, keys, now)?;
    }
    if !response.answers.is_empty() {
        let answers_question = sets
            .iter()
            .any(|(o, t)| o == qname && (*t == qtype || *t == RecordType::CNAME));
        if !answers_question {
            return Err(StepError::Answer(format!(
                "no record answers {qname} {qtype}"
            )));
        }
        if let Some(labels) = wildcard_labels(section, qname) {
            deny_closer_match(&response.authorities, qname, labels, keys, now)?;
        }
        return Ok((
            (),
            format!("{} answer set(s) signed by validated zone keys", sets.len()),
        ));
    }
    // A negative answer: an NSEC must prove it.
    let nsecs: Vec<(Name, NSEC)> = nsec_records(&response.authorities);
    match response.metadata.response_code {
        ResponseCode::NoError => {
            let proven = nsecs.iter().any(|(owner, nsec)| {
                *owner == *qname
                    && !nsec
                        .type_bit_maps()
                        .any(|t| t == qtype || t == RecordType::CNAME)
            });
            if !proven {
                return Err(StepError::Answer(format!(
                    "no NSEC proves that {qname} has no {qtype}"
                )));
            }
            Ok((
                (),
                format!("NODATA for {qname} {qtype}, proven by a signed NSEC"),
            ))
        }
        ResponseCode::NXDomain => {
            let cover = nsecs
                .iter()
                .find(|(owner, nsec)| nsec_covers(owner, nsec.next_domain_name(), qname));
            let Some((owner, nsec)) = cover else {
                return Err(StepError::Answer(format!("no NSEC covers {qname}")));
            };
            let encloser = closest_encloser(qname, owner, nsec.next_domain_name());
            let wildcard = encloser
                .prepend_label("*")
                .map_err(|e| StepError::Answer(format!("wildcard name: {e}")))?;
            let denied = nsecs
                .iter()
                .any(|(o, n)| nsec_covers(o, n.next_domain_name(), &wildcard));
            if !denied {
                return Err(StepError::Answer(format!(
                    "no NSEC denies the wildcard {wildcard}"
                )));
            }
            Ok(((), format!("NXDOMAIN for {qname}, proven by signed NSECs")))
        }
        other => Err(StepError::Answer(format!(
            "response code {other} cannot be verified"
        ))),
    }
}

/// The distinct (owner, type) sets of a section, RRSIGs and OPT aside.
fn sets_of(section: &[Record]) -> Vec<(Name, RecordType)> {
    let mut sets: Vec<(Name, RecordType)> = section
        .iter()
        .filter(|r| {
            !matches!(
                r.record_type(),
                RecordType::RRSIG | RecordType::OPT | RecordType::SIG
            )
        })
        .map(|r| (r.name.to_lowercase(), r.record_type()))
        .collect();
    sets.sort();
    sets.dedup();
    sets
}

/// Verifies the set with a key of the zone its RRSIG names, which must be validated and
/// enclose the owner.
fn verify_in_zone(
    section: &[Record],
    owner: &Name,
    rtype: RecordType,
    keys: &ZoneKeys,
    now: u64,
) -> Result<(), StepError> {
    let signers: Vec<Name> = rrsigs(section, owner, rtype)
        .iter()
        .map(|s| s.input().signer_name.to_lowercase())
        .filter(|signer| signer.zone_of(owner))
        .collect();
    let Some(signer) = signers.iter().find(|s| keys.contains_key(*s)) else {
        return Err(StepError::Answer(format!(
            "{owner} {rtype}: no RRSIG by a validated zone"
        )));
    };
    let zone_keys = keys.get(signer).map(Vec::as_slice).unwrap_or_default();
    verify_set(section, owner, rtype, signer, zone_keys, now)
        .map_err(|e| StepError::Answer(format!("{owner} {rtype}: {e}")))
}

/// For an answer expanded from a wildcard (its RRSIG's label count below the owner's), that
/// label count.
fn wildcard_labels(section: &[Record], qname: &Name) -> Option<u8> {
    section.iter().find_map(|r| match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig))
            if r.name == *qname && sig.input().num_labels < qname.num_labels() =>
        {
            Some(sig.input().num_labels)
        }
        _ => None,
    })
}

/// A wildcard answer needs a signed NSEC covering the name asked (no closer match).
fn deny_closer_match(
    authorities: &[Record],
    qname: &Name,
    _labels: u8,
    keys: &ZoneKeys,
    now: u64,
) -> Result<(), StepError> {
    for (owner, rtype) in sets_of(authorities) {
        verify_in_zone(authorities, &owner, rtype, keys, now)?;
    }
    let covered = nsec_records(authorities)
        .iter()
        .any(|(owner, nsec)| nsec_covers(owner, nsec.next_domain_name(), qname));
    if covered {
        Ok(())
    } else {
        Err(StepError::Answer(format!(
            "a wildcard answer without an NSEC proving {qname} itself does not exist"
        )))
    }
}

fn nsec_records(section: &[Record]) -> Vec<(Name, NSEC)> {
    section
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some((r.name.to_lowercase(), nsec.clone())),
            _ => None,
        })
        .collect()
}

/// The closest encloser of `qname` that an NSEC (`owner` → `next`) covering it implies: the
/// longer of its common ancestors with `owner` and with `next`.
fn closest_encloser(qname: &Name, owner: &Name, next: &Name) -> Name {
    let common = |other: &Name| {
        let mut name = qname.clone();
        while !name.zone_of(other) && !name.is_root() {
            name = name.base_name();
        }
        name
    };
    let (a, b) = (common(owner), common(next));
    if a.num_labels() >= b.num_labels() {
        a
    } else {
        b
    }
}
