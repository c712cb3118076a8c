//! The steps that tie the bundle to the chain: the bundle itself, the headers, the root and
//! the Urkel proof.

use hickory_proto::op::Message;
use hickory_proto::rr::Name;
use hnsfleet_hns::header::{HashedHeader, Header};
use hnsfleet_hns::pow::Target;
use hnsfleet_hns::resource::Resource;
use hnsfleet_hns::types::BlockHash;

use super::{KnownChain, MAX_FUTURE_SECS, Policy, StepError, Tld};
use crate::format::{Bundle, bundle_of};

/// [`super::Step::Bundle`]: the bundle decodes and is for the policy's network.
pub(super) fn check_bundle(
    response: &Message,
    policy: &Policy,
) -> Result<(Bundle, String), StepError> {
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

/// [`super::Step::Headers`]: proof of work, difficulty rule, linkage, count, age, and the
/// client's own chain when given.
pub(super) fn check_headers(
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
pub(super) fn check_work(header: &Header, policy: &Policy) -> Result<BlockHash, String> {
    let params = policy.network.params();
    let hashed = HashedHeader::new(header.clone());
    // The rule every header of the network obeys (the follower's own check).
    hnsfleet_hns::chain::check_pow_within_limit(params, &hashed).map_err(|e| e.to_string())?;
    if params.pow.no_retargeting && header.bits != params.pow.limit_bits {
        return Err(format!(
            "bits {:#010x}, the network requires {:#010x}",
            header.bits, params.pow.limit_bits
        ));
    }
    if let Some(floor) = policy.max_target.filter(|_| !params.pow.no_retargeting) {
        let target = Target::from_bits(header.bits).map_err(|e| e.to_string())?;
        if target > floor {
            return Err(format!(
                "bits {:#010x} are easier than the floor {:#010x}",
                header.bits,
                floor.to_bits()
            ));
        }
    }
    Ok(hashed.hash())
}

/// [`super::Step::Root`]: the first header carries the bundle's tree root.
pub(super) fn check_root(bundle: &Bundle) -> Result<((), String), StepError> {
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

/// [`super::Step::Proof`]: the Urkel proof of the question's TLD against the root.
pub(super) fn check_proof(bundle: &Bundle, qname: &Name) -> Result<(Tld, String), StepError> {
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
pub(super) fn tld_of(name: &Name) -> Option<String> {
    let label = name.iter().next_back()?;
    Some(String::from_utf8_lossy(label).to_ascii_lowercase())
}
