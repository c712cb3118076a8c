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

use hickory_proto::dnssec::rdata::DNSKEY;
use hickory_proto::op::Message;
use hickory_proto::rr::{Name, Record};
use hnsfleet_hns::chain::SAFE_ROOT_DEPTH;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::pow::Target;
use hnsfleet_hns::resource::Resource;
use hnsfleet_hns::types::BlockHash;
use thiserror::Error;

use crate::format::DecodeError;

mod answer;
mod chain;
mod zones;

use answer::check_answer;
use chain::{check_bundle, check_headers, check_proof, check_root};
use hnsfleet_dnssec::{ICANN_ROOT_ANCHORS, parse_anchors};
use zones::{check_delegation, check_zones};

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
pub(crate) enum Tld {
    /// The TLD exists with this resource (possibly empty).
    Exists(Resource),
    /// The TLD does not exist (or has no data).
    Absent,
}

/// Validated zone keys by zone.
pub(crate) type ZoneKeys = BTreeMap<Name, Vec<DNSKEY>>;

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
