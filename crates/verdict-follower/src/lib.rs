//! Following the reorg-watchdog's verdict (`WatchVerdicts`, docs/watchdog.md) from a
//! proof-cache or a frontend: [`VerdictFollower::run`] keeps one stream open (reconnecting
//! with back-off) and publishes what it last heard as a [`Followed`] on a `watch` channel.
//!
//! The watchdog repeats its verdict every heartbeat interval, so silence means it is gone.
//! A follower keeps the last verdict it heard (a FROZEN fleet stays frozen) and, once nothing
//! has come for `grace`, says so ([`Followed::live`] false): the service then reports not
//! ready, since it can no longer tell whether the fleet should be frozen.

#![forbid(unsafe_code)]

use std::time::Duration;

use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_proto::watchdog::v1 as pb;
use hnsfleet_proto::watchdog::v1::reorg_watchdog_service_client::ReorgWatchdogServiceClient;
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;

/// Reconnection back-off bounds.
const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(5);

/// The verdict as a follower of the stream acts on it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Nothing heard yet.
    Unknown,
    /// Resolve against the quorum's root (the service's own judgement).
    Ok,
    /// Resolve against this root only.
    Frozen(SafeRoot),
}

/// What the follower last heard, and when.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Followed {
    /// The last verdict heard (kept when the watchdog goes silent).
    pub verdict: Verdict,
    /// When a verdict or heartbeat last arrived.
    pub heard_at: Option<Instant>,
    /// The verdict's sequence (0 before the first).
    pub sequence: u64,
}

impl Followed {
    /// Whether the watchdog was heard within `grace` of `now`.
    pub fn live(&self, now: Instant, grace: Duration) -> bool {
        self.heard_at
            .is_some_and(|at| now.saturating_duration_since(at) <= grace)
    }

    /// The root imposed by a FROZEN verdict, if any.
    pub fn frozen_root(&self) -> Option<SafeRoot> {
        match self.verdict {
            Verdict::Frozen(root) => Some(root),
            Verdict::Ok | Verdict::Unknown => None,
        }
    }

    /// The follower's readiness check: whether the watchdog is live (heard within `grace` of
    /// `now`), and a line for `/readyz` saying so, or that it froze the fleet.
    pub fn readiness(&self, now: Instant, grace: Duration) -> (bool, String) {
        let live = self.live(now, grace);
        let detail = match (live, self.frozen_root()) {
            (false, _) => format!("reorg-watchdog silent for over {grace:?}"),
            (true, Some(root)) => format!("FROZEN by the reorg-watchdog at height {}", root.height),
            (true, None) => "reorg-watchdog: OK".to_owned(),
        };
        (live, detail)
    }
}

/// One watchdog's verdict stream, followed.
pub struct VerdictFollower {
    url: String,
    timeout: Duration,
    sender: watch::Sender<Followed>,
}

impl VerdictFollower {
    /// A follower of the watchdog at `url` (gRPC), connecting within `timeout`.
    pub fn new(url: &str, timeout: Duration) -> VerdictFollower {
        let (sender, _) = watch::channel(Followed {
            verdict: Verdict::Unknown,
            heard_at: None,
            sequence: 0,
        });
        VerdictFollower {
            url: url.to_owned(),
            timeout,
            sender,
        }
    }

    /// What it heard, from now on.
    pub fn subscribe(&self) -> watch::Receiver<Followed> {
        self.sender.subscribe()
    }

    /// What it heard last.
    pub fn current(&self) -> Followed {
        *self.sender.borrow()
    }

    /// Follows the stream until `stop`, reconnecting with back-off.
    pub async fn run(&self, stop: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        loop {
            tokio::select! {
                heard = self.follow_once() => {
                    if heard {
                        backoff = MIN_BACKOFF;
                    }
                }
                () = stop.cancelled() => return,
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = stop.cancelled() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One stream, until it ends; whether anything was heard on it.
    async fn follow_once(&self) -> bool {
        let endpoint = match Endpoint::from_shared(self.url.clone()) {
            Ok(endpoint) => endpoint.connect_timeout(self.timeout),
            Err(error) => {
                tracing::warn!(%error, url = %self.url, "bad watchdog URL");
                return false;
            }
        };
        let Ok(channel) = endpoint.connect().await else {
            tracing::debug!(url = %self.url, "watchdog unreachable");
            return false;
        };
        let mut client = ReorgWatchdogServiceClient::new(channel);
        let mut stream = match client.watch_verdicts(pb::WatchVerdictsRequest {}).await {
            Ok(stream) => stream.into_inner(),
            Err(status) => {
                tracing::debug!(%status, "watchdog refused the verdict stream");
                return false;
            }
        };
        let mut heard = false;
        while let Ok(Some(message)) = stream.message().await {
            let Some(verdict) = message.verdict else {
                continue;
            };
            let Some(decided) = decide(&verdict) else {
                tracing::warn!("watchdog sent a verdict that does not parse: ignored");
                continue;
            };
            heard = true;
            self.sender.send_if_modified(|followed| {
                let changed = followed.verdict != decided;
                if changed {
                    tracing::warn!(verdict = ?decided, "watchdog verdict");
                }
                *followed = Followed {
                    verdict: decided,
                    heard_at: Some(Instant::now()),
                    sequence: verdict.sequence,
                };
                changed
            });
        }
        heard
    }
}

/// What a verdict message asks for; `None` when it is not a usable verdict (a FROZEN one
/// without a well-formed root).
pub fn decide(verdict: &pb::Verdict) -> Option<Verdict> {
    match pb::State::try_from(verdict.state).ok()? {
        pb::State::Ok => Some(Verdict::Ok),
        pb::State::Frozen => {
            let root = SafeRoot::try_from(verdict.root.as_ref()?).ok()?;
            Some(Verdict::Frozen(root))
        }
        pb::State::Unspecified => None,
    }
}

#[cfg(any(test, feature = "test-util"))]
pub mod scripted;
#[cfg(test)]
mod tests;
