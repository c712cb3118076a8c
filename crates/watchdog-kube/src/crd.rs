//! The `ReorgWatch` custom resource (`hnsfleet.io/v1alpha1`, namespaced, status
//! subresource): the fleet's verdict where `kubectl get reorgwatch` shows it. The chart ships
//! its definition as `helm/hnsfleet/crds/reorgwatch.yaml`, rendered by [`crd_yaml`] (a test
//! keeps the two equal; `cargo run -p hnsfleet-watchdog-kube --example crd` regenerates it).

use hnsfleet_reorg_verdict::{FreezeReason, Health, SourceKind, State, Verdict};
use k8s_openapi::jiff::Timestamp;
use kube::{CustomResource, CustomResourceExt};
use schemars::JsonSchema;
use serde::{Deserialize, Serialize};

use crate::Error;

/// Where the chart keeps the rendered CRD, from the workspace root.
pub const CRD_PATH: &str = "helm/hnsfleet/crds/reorgwatch.yaml";

/// What a ReorgWatch asks for: nothing but a label of the network watched (the watchdog's
/// configuration decides everything else).
#[derive(
    CustomResource, Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema,
)]
#[kube(
    group = "hnsfleet.io",
    version = "v1alpha1",
    kind = "ReorgWatch",
    plural = "reorgwatches",
    shortname = "rw",
    namespaced,
    status = "ReorgWatchStatus",
    printcolumn = r#"{"name":"State","type":"string","jsonPath":".status.state"}"#,
    printcolumn = r#"{"name":"Height","type":"integer","jsonPath":".status.height"}"#,
    printcolumn = r#"{"name":"Root height","type":"integer","jsonPath":".status.rootHeight"}"#,
    printcolumn = r#"{"name":"Leader","type":"string","jsonPath":".status.leader"}"#,
    printcolumn = r#"{"name":"Age","type":"date","jsonPath":".metadata.creationTimestamp"}"#
)]
#[serde(rename_all = "camelCase")]
pub struct ReorgWatchSpec {
    /// The Handshake network watched (`main`, `testnet`, `regtest`, `simnet`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub network: Option<String>,
}

/// The verdict as the ReorgWatch's status shows it. Absent values are written as `null` so
/// that a merge patch clears what an earlier verdict set (a thaw clears `reason`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct ReorgWatchStatus {
    /// `OK` or `FROZEN`.
    pub state: String,
    /// Height of the agreed tip (none without a quorum).
    pub height: Option<u32>,
    /// The tree root resolved against, hex.
    pub root: Option<String>,
    /// Height of the header that commits `root`.
    pub root_height: Option<u32>,
    /// Why frozen: `deep_reorg` or `divergence`.
    pub reason: Option<String>,
    /// Since when frozen (RFC 3339).
    pub frozen_since: Option<String>,
    /// The depth that froze the fleet (0 when OK).
    pub depth: u32,
    /// Blocks a quorum has agreed on one chain since the freeze (0 when OK).
    pub agreeing_blocks: u32,
    /// Sources that must agree.
    pub quorum: u32,
    /// Every source, in configuration order.
    pub sources: Vec<SourceStatus>,
    /// The verdict's sequence number (it increases with every change).
    pub observed_sequence: u64,
    /// When the state last changed, as seen by a leader (RFC 3339); kept when unknown.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub last_transition_time: Option<String>,
    /// The replica (Lease holder) that wrote this status.
    pub leader: String,
}

/// One source in the status.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize, JsonSchema)]
#[serde(rename_all = "camelCase")]
pub struct SourceStatus {
    /// Its configured name (URL).
    pub name: String,
    /// `follower` or `attester`.
    pub kind: String,
    /// `healthy`, `lagging`, `minority_fork`, `stale` or `unreachable`.
    pub health: String,
    /// Height of its last accepted tip.
    pub height: Option<u32>,
    /// Hash of its last accepted tip, hex.
    pub hash: Option<String>,
    /// Why it is not healthy (empty when healthy).
    #[serde(default, skip_serializing_if = "String::is_empty")]
    pub detail: String,
}

/// The verdict in the crate's own terms, as [`StatusWriter::write_status`](crate::StatusWriter::write_status)
/// takes it: everything of the status but who wrote it and when the state last changed.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerdictStatus {
    /// `OK` or `FROZEN`.
    pub state: &'static str,
    /// Height of the agreed tip.
    pub height: Option<u32>,
    /// Root resolved against, hex.
    pub root: Option<String>,
    /// Height of the header committing `root`.
    pub root_height: Option<u32>,
    /// Why frozen.
    pub reason: Option<&'static str>,
    /// Since when frozen, unix seconds.
    pub frozen_since: Option<u64>,
    /// Depth that froze the fleet.
    pub depth: u32,
    /// Blocks of agreement since the freeze.
    pub agreeing_blocks: u32,
    /// Sources that must agree.
    pub quorum: u32,
    /// Every source.
    pub sources: Vec<SourceStatus>,
    /// The verdict's sequence number.
    pub sequence: u64,
}

/// The CustomResourceDefinition as the chart ships it (YAML).
pub fn crd_yaml() -> Result<String, Error> {
    let yaml =
        serde_saphyr::to_string(&ReorgWatch::crd()).map_err(|e| Error::Render(e.to_string()))?;
    Ok(format!(
        "# Generated by `cargo run -p hnsfleet-watchdog-kube --example crd`: do not edit.\n{yaml}"
    ))
}

/// The metric/JSON label of a freeze reason.
pub fn reason_label(reason: FreezeReason) -> &'static str {
    match reason {
        FreezeReason::DeepReorg => "deep_reorg",
        FreezeReason::Divergence => "divergence",
    }
}

/// RFC 3339 of unix seconds (`None` beyond the representable range).
pub(crate) fn rfc3339(unix: u64) -> Option<String> {
    let secs = i64::try_from(unix).ok()?;
    Timestamp::from_second(secs).ok().map(|t| t.to_string())
}

// === impl VerdictStatus ===

impl From<&Verdict> for VerdictStatus {
    fn from(verdict: &Verdict) -> Self {
        VerdictStatus {
            state: match verdict.state {
                State::Ok => "OK",
                State::Frozen => "FROZEN",
            },
            height: verdict.agreed_tip.map(|tip| tip.height),
            root: verdict.root.map(|root| root.tree_root.to_hex()),
            root_height: verdict.root.map(|root| root.height),
            reason: verdict.reason.map(reason_label),
            frozen_since: verdict.frozen_since,
            depth: verdict.depth,
            agreeing_blocks: verdict.agreeing_blocks,
            quorum: u32::try_from(verdict.quorum).unwrap_or(u32::MAX),
            sources: verdict
                .sources
                .iter()
                .map(|source| SourceStatus {
                    name: source.name.clone(),
                    kind: match source.kind {
                        SourceKind::Follower => "follower",
                        SourceKind::Attester => "attester",
                    }
                    .to_owned(),
                    health: health_label(source.health).to_owned(),
                    height: source.tip.map(|tip| tip.height),
                    hash: source.tip.map(|tip| tip.hash.to_hex()),
                    detail: source.detail.clone(),
                })
                .collect(),
            sequence: verdict.sequence,
        }
    }
}

impl VerdictStatus {
    /// The status object: this verdict, written by `leader`, the state last changed at
    /// `last_transition_time` (RFC 3339) when known.
    pub fn to_status(
        &self,
        leader: &str,
        last_transition_time: Option<String>,
    ) -> ReorgWatchStatus {
        ReorgWatchStatus {
            state: self.state.to_owned(),
            height: self.height,
            root: self.root.clone(),
            root_height: self.root_height,
            reason: self.reason.map(str::to_owned),
            frozen_since: self.frozen_since.and_then(rfc3339),
            depth: self.depth,
            agreeing_blocks: self.agreeing_blocks,
            quorum: self.quorum,
            sources: self.sources.clone(),
            observed_sequence: self.sequence,
            last_transition_time,
            leader: leader.to_owned(),
        }
    }
}

/// The status label of a source's health (as in docs/watchdog.md).
fn health_label(health: Health) -> &'static str {
    match health {
        Health::Healthy => "healthy",
        Health::Lagging => "lagging",
        Health::MinorityFork => "minority_fork",
        Health::Stale => "stale",
        Health::Unreachable => "unreachable",
    }
}
