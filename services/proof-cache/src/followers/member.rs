//! One follower as the cache sees it: its channel, what it last announced, its health, and one
//! checked request to it ([`Member::ask`]: the answer must be for the asked root, on the
//! configured network, with a proof that verifies, or it is a lie).

use std::time::Duration;

use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_hns::name::Name;
use hnsfleet_hns::params::Network;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use hnsfleet_verify::{LookupClaim, verify_lookup};
use parking_lot::Mutex;
use tokio::time::Instant;
use tonic::transport::Channel;

use super::{FAILURES_BEFORE_BACKOFF, MAX_BACKOFF, MIN_BACKOFF};
use crate::config::FollowerUrl;
use crate::metrics::Metrics;
use crate::trust::FollowerView;

/// One follower.
#[derive(Debug)]
pub(super) struct Member {
    pub(super) url: FollowerUrl,
    pub(super) client: ChainFollowerServiceClient<Channel>,
    pub(super) state: Mutex<MemberState>,
}

#[derive(Debug, Default)]
pub(super) struct MemberState {
    /// Its `WatchTip` stream is open and has sent a tip.
    pub(super) connected: bool,
    pub(super) safe_root: Option<SafeRoot>,
    /// It reported its chain synced on its last tip event (only then its root votes).
    pub(super) synced: bool,
    pub(super) tip_height: u32,
    pub(super) quarantined_until: Option<Instant>,
    /// Consecutive failed requests.
    pub(super) failures: u32,
    pub(super) retry_at: Option<Instant>,
    /// Smoothed latency of successful requests.
    pub(super) latency: Option<Duration>,
    /// The trusted root this follower refused as not on its best chain (while announcing a
    /// root at or past its height): it is on another branch and is not asked for that root
    /// again until it announces another root.
    pub(super) refused_root: Option<SafeRoot>,
    /// It was last seen on another branch than the trusted root (counted once per episode).
    pub(super) forked: bool,
}

/// How one request to one follower ended.
pub(super) enum Attempt {
    Verified(pb::NameLookup),
    Failed(&'static str, String),
    Lie(&'static str, String),
}

// === impl Member ===

impl Member {
    /// Notes whether this follower is on another branch than `trusted`: it announces another
    /// root at the same height, or refused `trusted` as not on its chain. Counted (as the lie
    /// reason `minority_fork`) and logged once per episode. Returns whether it is.
    pub(super) fn note_branch(&self, trusted: SafeRoot, metrics: &Metrics) -> bool {
        let mut s = self.state.lock();
        let forked = s.connected
            && (s.refused_root == Some(trusted)
                || s.safe_root
                    .is_some_and(|r| r.height == trusted.height && r != trusted));
        if forked && !s.forked {
            metrics
                .follower_lies
                .with_label_values(&[self.url.as_str(), "minority_fork"])
                .inc();
            tracing::warn!(
                follower = self.url.as_str(),
                announced = ?s.safe_root.map(|r| (r.height, r.tree_root.to_hex())),
                trusted_height = trusted.height,
                "follower is on another branch than the quorum's root; not asked for it"
            );
        }
        s.forked = forked;
        forked
    }

    pub(super) fn view(&self, now: Instant) -> FollowerView {
        let s = self.state.lock();
        FollowerView {
            connected: s.connected,
            quarantined: s.quarantined_until.is_some_and(|t| t > now),
            synced: s.synced,
            safe_root: s.safe_root,
        }
    }

    /// Asks for `name` against `root` and checks the answer.
    pub(super) async fn ask(
        &self,
        name: &Name,
        root: SafeRoot,
        timeout: Duration,
        network: Network,
        metrics: &Metrics,
    ) -> Attempt {
        let url = self.url.as_str();
        metrics.follower_requests.with_label_values(&[url]).inc();
        let started = Instant::now();
        let mut request = tonic::Request::new(pb::LookupNameRequest {
            name: name.as_str().to_string(),
            root: Some(pb::SafeRoot::from(&root)),
        });
        request.set_timeout(timeout);
        let mut client = self.client.clone();
        let answer = tokio::time::timeout(timeout, client.lookup_name(request)).await;
        let attempt = match answer {
            Err(_) => Attempt::Failed("timeout", format!("no answer within {timeout:?}")),
            Ok(Err(status)) => Attempt::Failed(status_reason(&status), status.message().into()),
            Ok(Ok(response)) => check_answer(name, root, network, response.into_inner()),
        };
        let elapsed = started.elapsed();
        let result = match &attempt {
            Attempt::Verified(_) => "ok",
            Attempt::Failed(..) => "error",
            Attempt::Lie(..) => "lie",
        };
        metrics
            .follower_latency
            .with_label_values(&[url, result])
            .observe(elapsed.as_secs_f64());
        let mut s = self.state.lock();
        match &attempt {
            Attempt::Verified(_) => {
                s.failures = 0;
                s.retry_at = None;
                s.latency = Some(match s.latency {
                    Some(old) => (old * 7 + elapsed) / 8,
                    None => elapsed,
                });
            }
            Attempt::Failed(reason, _) => {
                metrics
                    .follower_errors
                    .with_label_values(&[url, reason])
                    .inc();
                if *reason == "unknown_root" {
                    s.refused_root = Some(root);
                }
                s.failures = s.failures.saturating_add(1);
                if s.failures >= FAILURES_BEFORE_BACKOFF {
                    let exp = (s.failures - FAILURES_BEFORE_BACKOFF).min(6);
                    s.retry_at = Some(Instant::now() + (MIN_BACKOFF * (1 << exp)).min(MAX_BACKOFF));
                }
            }
            Attempt::Lie(..) => {}
        }
        attempt
    }
}

/// Checks a follower's answer: for `root`, on `network`, proof verified for `name`. The
/// returned look-up is rebuilt from the verified values.
pub(super) fn check_answer(
    name: &Name,
    root: SafeRoot,
    network: Network,
    response: pb::LookupNameResponse,
) -> Attempt {
    let Some(wire) = response.lookup else {
        return Attempt::Lie("malformed", "no look-up in the answer".into());
    };
    let claim = match LookupClaim::try_from(&wire) {
        Ok(claim) => claim,
        Err(e) => return Attempt::Lie("malformed", e.to_string()),
    };
    if claim.tree_root != root.tree_root || claim.height != root.height {
        return Attempt::Lie(
            "wrong_root",
            format!(
                "answered against {} at height {}, asked {} at {}",
                claim.tree_root.to_hex(),
                claim.height,
                root.tree_root.to_hex(),
                root.height
            ),
        );
    }
    if claim.network != Some(network) {
        return Attempt::Lie(
            "wrong_network",
            format!("answer says {:?}, not {network}", claim.network),
        );
    }
    match verify_lookup(name, claim) {
        Ok(verified) => Attempt::Verified(pb::NameLookup::from(&verified)),
        Err(e) => Attempt::Lie("bad_proof", e.to_string()),
    }
}

/// The `reason` label of a failed follower request: the follower's error reason in lower
/// case, else the gRPC code's.
pub(super) fn status_reason(status: &tonic::Status) -> &'static str {
    use pb::ErrorReason as R;
    match R::of(status) {
        Some(R::NotSynced) => "not_synced",
        Some(R::NoPeers) => "no_peers",
        Some(R::ProofTimeout) => "proof_timeout",
        Some(R::AllPeersFailed) => "all_peers_failed",
        Some(R::DeadlineExceeded) => "deadline_exceeded",
        Some(R::Overloaded) => "overloaded",
        Some(R::Draining) => "draining",
        Some(R::UnknownRoot) => "unknown_root",
        Some(R::InvalidName | R::InvalidRoot) => "refused",
        Some(R::TooManyWatchers | R::Unspecified) | None => match status.code() {
            tonic::Code::Unavailable => "unavailable",
            tonic::Code::DeadlineExceeded => "deadline_exceeded",
            tonic::Code::Cancelled => "cancelled",
            _ => "other",
        },
    }
}
