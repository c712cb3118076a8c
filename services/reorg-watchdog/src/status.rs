//! The verdict on the wire: as `hnsfleet.watchdog.v1.Verdict` ([`to_pb`]) and as the status
//! JSON that `hnsfleet watchdog status` prints and `/v1/verdict` serves ([`json()`], from the
//! protobuf form so both read the same thing):
//! `{"state":"OK"|"FROZEN", "height":N, "root":"HEX", "sources":[...], ...}`.

use hnsfleet_proto::follower::v1 as fpb;
use hnsfleet_proto::watchdog::v1 as pb;
use hnsfleet_reorg_verdict::{FreezeReason, Health, SourceKind, State, Verdict};
use serde_json::{Value, json};

use crate::metrics::health_label;

/// `verdict` as its protobuf message.
pub fn to_pb(verdict: &Verdict, network: hnsfleet_hns::params::Network) -> pb::Verdict {
    pb::Verdict {
        state: match verdict.state {
            State::Ok => pb::State::Ok,
            State::Frozen => pb::State::Frozen,
        } as i32,
        root: verdict.root.as_ref().map(fpb::SafeRoot::from),
        agreed_tip: verdict.agreed_tip.as_ref().map(tip),
        reason: match verdict.reason {
            None => pb::FreezeReason::Unspecified,
            Some(FreezeReason::DeepReorg) => pb::FreezeReason::DeepReorg,
            Some(FreezeReason::Divergence) => pb::FreezeReason::Divergence,
        } as i32,
        frozen_since_unix_secs: verdict.frozen_since.unwrap_or(0),
        depth: verdict.depth,
        agreeing_blocks: verdict.agreeing_blocks,
        sources: verdict
            .sources
            .iter()
            .map(|source| pb::SourceStatus {
                name: source.name.clone(),
                kind: match source.kind {
                    SourceKind::Follower => pb::SourceKind::Follower,
                    SourceKind::Attester => pb::SourceKind::Attester,
                } as i32,
                health: match source.health {
                    Health::Healthy => pb::Health::Healthy,
                    Health::Lagging => pb::Health::Lagging,
                    Health::MinorityFork => pb::Health::MinorityFork,
                    Health::Stale => pb::Health::Stale,
                    Health::Unreachable => pb::Health::Unreachable,
                } as i32,
                tip: source.tip.as_ref().map(tip),
                signed_at_unix_secs: source.tip.map_or(0, |t| t.signed_at),
                public_key: source.public_key.map(|k| k.to_vec()).unwrap_or_default(),
                detail: source.detail.clone(),
            })
            .collect(),
        quorum: u32::try_from(verdict.quorum).unwrap_or(u32::MAX),
        network: fpb::Network::from(network) as i32,
        sequence: verdict.sequence,
    }
}

fn tip(statement: &hnsfleet_attestation::TipStatement) -> fpb::Tip {
    fpb::Tip {
        height: statement.height,
        hash: statement.hash.as_bytes().to_vec(),
        tree_root: statement.tree_root.as_bytes().to_vec(),
        chainwork_be: statement.chainwork.to_vec(),
        time_unix_secs: statement.time,
    }
}

/// The status JSON of a verdict message.
pub fn json(verdict: &pb::Verdict) -> Value {
    let state = match pb::State::try_from(verdict.state) {
        Ok(pb::State::Frozen) => "FROZEN",
        Ok(pb::State::Ok) => "OK",
        _ => "UNKNOWN",
    };
    let reason = match pb::FreezeReason::try_from(verdict.reason) {
        Ok(pb::FreezeReason::DeepReorg) => json!("deep_reorg"),
        Ok(pb::FreezeReason::Divergence) => json!("divergence"),
        _ => Value::Null,
    };
    let sources: Vec<Value> = verdict
        .sources
        .iter()
        .map(|source| {
            let kind = match pb::SourceKind::try_from(source.kind) {
                Ok(pb::SourceKind::Attester) => "attester",
                _ => "follower",
            };
            let health = pb::Health::try_from(source.health)
                .ok()
                .and_then(health_of)
                .map_or("unknown", health_label);
            json!({
                "name": source.name,
                "kind": kind,
                "health": health,
                "height": source.tip.as_ref().map(|t| t.height),
                "hash": source.tip.as_ref().map(|t| hex::encode(&t.hash)),
                "tree_root": source.tip.as_ref().map(|t| hex::encode(&t.tree_root)),
                "signed_at": (source.signed_at_unix_secs > 0).then_some(source.signed_at_unix_secs),
                "public_key": (!source.public_key.is_empty()).then(|| hex::encode(&source.public_key)),
                "detail": source.detail,
            })
        })
        .collect();
    json!({
        "state": state,
        "height": verdict.agreed_tip.as_ref().map(|t| t.height),
        "hash": verdict.agreed_tip.as_ref().map(|t| hex::encode(&t.hash)),
        "root": verdict.root.as_ref().map(|r| hex::encode(&r.tree_root)),
        "root_height": verdict.root.as_ref().map(|r| r.height),
        "reason": reason,
        "frozen_since": (verdict.frozen_since_unix_secs > 0).then_some(verdict.frozen_since_unix_secs),
        "depth": verdict.depth,
        "agreeing_blocks": verdict.agreeing_blocks,
        "quorum": verdict.quorum,
        "sequence": verdict.sequence,
        "sources": sources,
    })
}

fn health_of(health: pb::Health) -> Option<Health> {
    Some(match health {
        pb::Health::Healthy => Health::Healthy,
        pb::Health::Lagging => Health::Lagging,
        pb::Health::MinorityFork => Health::MinorityFork,
        pb::Health::Stale => Health::Stale,
        pb::Health::Unreachable => Health::Unreachable,
        pb::Health::Unspecified => return None,
    })
}
