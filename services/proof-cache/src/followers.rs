//! The chain-followers the cache asks, and the trust it derives from them.
//!
//! Each follower has one lazily connected gRPC channel and a task ([`Followers::run`]) that
//! follows its `WatchTip` stream: every event updates the safe root the follower announces and
//! whether it is synced, and [`Followers::recompute`] re-derives the trusted root
//! ([`crate::trust`]: only synced followers vote), the follower state gauges and readiness.
//!
//! A miss ([`Followers::fetch`]) asks the followers that can serve the trusted root (they
//! announce it, or a later root on the same chain), in random order with the lower-latency one
//! of the first two first; it asks the next one at once on a failure and after `hedge_after`
//! while an answer is outstanding. Every answer is checked before it counts:
//! it must be for the trusted root, on the configured network, and its proof must verify
//! (`hnsfleet-verify`). A follower whose answer fails those checks lied: it is quarantined
//! (left out of look-ups and of the quorum) for `quarantine`, and counted by reason. Failures
//! that are not lies (unreachable, timeouts, its own errors) back it off briefly instead.

use std::sync::Arc;
use std::time::Duration;

use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_hns::header::Header;
use hnsfleet_hns::name::Name;
use hnsfleet_hns::params::Network;
use hnsfleet_proto::convert::network_from_wire;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use hnsfleet_service_kit::{Check, Readiness};
use parking_lot::{Mutex, RwLock};
use rand::seq::SliceRandom;
use thiserror::Error;
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tonic::transport::Endpoint;
use tracing::Instrument;

use crate::config::FollowerUrl;
use crate::metrics::Metrics;
use crate::trust::{Change, FollowerView, Trust, TrustSnapshot};
use member::{Attempt, Member, MemberState};

/// First delay before re-opening a broken `WatchTip` stream; doubles up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(100);
/// Longest delay between attempts to reach a follower.
const MAX_BACKOFF: Duration = Duration::from_secs(5);
/// Consecutive failed requests after which a follower is skipped for a backoff delay.
const FAILURES_BEFORE_BACKOFF: u32 = 2;
/// HTTP/2 keep-alive pings on follower channels, so a dead follower is noticed.
const KEEPALIVE: Duration = Duration::from_secs(10);
/// Largest follower message decoded: a look-up with the largest Urkel proof
/// (`hnsfleet_hns::urkel::MAX_PROOF_SIZE`, about 17.6 KiB) and its name state fits many times
/// over; anything bigger is refused before it is buffered whole.
const MAX_FOLLOWER_MESSAGE: usize = 64 * 1024;

/// How the followers are asked.
#[derive(Debug, Clone)]
pub struct FollowersConfig {
    /// The network every follower must be on.
    pub network: Network,
    /// Followers that must agree on a root.
    pub quorum: usize,
    /// How long an unconfirmed root is served stale.
    pub serve_stale: Duration,
    /// Deadline of one request.
    pub timeout: Duration,
    /// Delay before a hedged second request.
    pub hedge_after: Duration,
    /// How long a lying follower is left out.
    pub quarantine: Duration,
}

/// The followers, their health, and the trusted root.
#[derive(Debug)]
pub struct Followers {
    members: Vec<Arc<Member>>,
    trust: RwLock<Trust>,
    config: FollowersConfig,
    metrics: Metrics,
    readiness: Readiness,
    /// The reorg-watchdog's part of readiness, when one is followed.
    watchdog: parking_lot::Mutex<Option<Check>>,
}

/// A verified answer from a follower.
#[derive(Debug, Clone)]
pub struct Fetched {
    /// The look-up, rebuilt from the verified values only.
    pub lookup: pb::NameLookup,
    /// The follower that answered.
    pub follower: FollowerUrl,
}

/// Why a miss got no verified answer.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum FetchError {
    /// No follower is connected, honest and able to serve the trusted root.
    #[error("no follower can serve the trusted root")]
    NoFollowers,
    /// Every follower asked failed or lied.
    #[error("every follower asked failed; last: {0}")]
    AllFailed(String),
    /// No verified answer within the deadline.
    #[error("no verified answer within {0:?}")]
    Timeout(Duration),
}

// === impl Followers ===

impl Followers {
    /// One lazily connected client per URL; nothing is dialled until [`Followers::run`].
    pub fn new(
        urls: &[FollowerUrl],
        config: FollowersConfig,
        metrics: Metrics,
        readiness: Readiness,
    ) -> anyhow::Result<Arc<Followers>> {
        let mut members = Vec::with_capacity(urls.len());
        for url in urls {
            let endpoint = Endpoint::from_shared(url.as_str().to_string())?
                .connect_timeout(config.timeout)
                .tcp_nodelay(true)
                .http2_keep_alive_interval(KEEPALIVE)
                .keep_alive_timeout(config.timeout)
                .keep_alive_while_idle(true);
            metrics.add_follower(url.as_str());
            members.push(Arc::new(Member {
                url: url.clone(),
                client: ChainFollowerServiceClient::new(endpoint.connect_lazy())
                    .max_decoding_message_size(MAX_FOLLOWER_MESSAGE),
                state: Mutex::new(MemberState::default()),
            }));
        }
        let followers = Arc::new(Followers {
            members,
            trust: RwLock::new(Trust::new(config.quorum, config.serve_stale)),
            watchdog: parking_lot::Mutex::new(None),
            config,
            metrics,
            readiness,
        });
        followers.recompute();
        Ok(followers)
    }

    /// Follows every follower's `WatchTip` stream until `shutdown`.
    pub async fn run(self: Arc<Self>, shutdown: CancellationToken) {
        let mut tasks = JoinSet::new();
        for member in &self.members {
            let span = tracing::info_span!("follower", url = member.url.as_str());
            tasks.spawn(
                Arc::clone(&self)
                    .follow(Arc::clone(member), shutdown.clone())
                    .instrument(span),
            );
        }
        while tasks.join_next().await.is_some() {}
    }

    /// The serving decision now.
    pub fn snapshot(&self) -> TrustSnapshot {
        self.trust.read().snapshot(Instant::now().into_std())
    }

    /// Follows the reorg-watchdog's verdict: `Some(root)` while it has frozen the fleet on
    /// that root (trusted instead of the quorum's), `None` otherwise; `check` is its part of
    /// readiness (not ready once the watchdog has been silent past its grace).
    pub fn follow_verdict(&self, frozen_root: Option<SafeRoot>, check: Check) {
        let change = self.trust.write().impose(frozen_root);
        if let Change::Moved { from, to } = change {
            self.metrics.root_changes.inc();
            tracing::warn!(
                height = to.height,
                root = %to.tree_root.to_hex(),
                from_height = from.map(|f| f.height),
                frozen = frozen_root.is_some(),
                "trusted root set by the reorg-watchdog's verdict"
            );
        }
        *self.watchdog.lock() = Some(check);
        self.recompute();
    }

    /// The configured network.
    pub fn network(&self) -> Network {
        self.config.network
    }

    /// Number of followers configured.
    pub fn len(&self) -> usize {
        self.members.len()
    }

    /// Whether no follower is configured (never, once validated).
    pub fn is_empty(&self) -> bool {
        self.members.is_empty()
    }

    /// Re-derives the trusted root from what every follower announced last, and publishes the
    /// gauges and readiness. Also called every second: stale and expiry are timed.
    pub fn recompute(&self) {
        let now = Instant::now();
        let views: Vec<FollowerView> = self.members.iter().map(|m| m.view(now)).collect();
        let (change, snapshot) = {
            let mut trust = self.trust.write();
            let change = trust.update(&views, now.into_std());
            (change, trust.snapshot(now.into_std()))
        };
        let forked: Vec<bool> = self
            .members
            .iter()
            .map(|member| match snapshot.root {
                Some(trusted) => member.note_branch(trusted, &self.metrics),
                None => member.state.lock().forked,
            })
            .collect();
        if let Change::Moved { from, to } = change {
            self.metrics.root_changes.inc();
            tracing::info!(
                height = to.height,
                root = %to.tree_root.to_hex(),
                from_height = from.map(|f| f.height),
                "trusted root moved"
            );
        }
        self.publish(&snapshot, &views, &forked);
    }

    fn publish(&self, snapshot: &TrustSnapshot, views: &[FollowerView], forked: &[bool]) {
        let m = &self.metrics;
        m.trusted_root_height
            .set(snapshot.root.map_or(0, |r| i64::from(r.height)));
        m.trusted_root_stale.set(i64::from(snapshot.stale));
        let mut counts = [0i64; crate::metrics::FOLLOWER_STATES.len()];
        for (view, forked) in views.iter().zip(forked) {
            counts[state_index(view, *forked, snapshot.root)] += 1;
        }
        for (state, count) in crate::metrics::FOLLOWER_STATES.iter().zip(counts) {
            m.followers.with_label_values(&[state]).set(count);
        }
        let trusted = match (snapshot.root, snapshot.expired) {
            (None, _) => Check::new(
                "trusted_root",
                false,
                format!(
                    "no safe root announced by {} synced followers yet ({} of {} connected and synced)",
                    snapshot.quorum,
                    views.iter().filter(|v| v.votes()).count(),
                    views.len()
                ),
            ),
            (Some(root), true) => Check::new(
                "trusted_root",
                false,
                format!(
                    "root at height {} unconfirmed for {:?} (only {} of {} required followers agree)",
                    root.height, snapshot.unconfirmed_for, snapshot.agreeing, snapshot.quorum
                ),
            ),
            (Some(root), false) => Check::new(
                "trusted_root",
                true,
                format!(
                    "root at height {}; {} of {} required followers agree{}",
                    root.height,
                    snapshot.agreeing,
                    snapshot.quorum,
                    if snapshot.stale { " (stale)" } else { "" }
                ),
            ),
        };
        m.trusted_root_imposed.set(i64::from(snapshot.imposed));
        let mut checks = vec![trusted];
        checks.extend(self.watchdog.lock().clone());
        self.readiness.report(checks);
    }

    /// Looks `name` up against `root` on the followers (see the module docs).
    pub async fn fetch(&self, name: &Name, root: SafeRoot) -> Result<Fetched, FetchError> {
        let candidates = self.candidates(root);
        if candidates.is_empty() {
            return Err(FetchError::NoFollowers);
        }
        let deadline = Instant::now() + self.config.timeout + self.config.hedge_after;
        let mut candidates = candidates.into_iter();
        let mut running: JoinSet<(Arc<Member>, Attempt)> = JoinSet::new();
        let mut asked = 0usize;
        let mut last_error = String::from("no answer");
        let mut next_at = Instant::now();
        loop {
            if Instant::now() >= next_at {
                match candidates.next() {
                    Some(member) => {
                        if asked > 0 {
                            self.metrics.follower_hedges.inc();
                        }
                        asked += 1;
                        let (name, timeout, network) =
                            (name.clone(), self.config.timeout, self.config.network);
                        let metrics = self.metrics.clone();
                        running.spawn(async move {
                            let attempt = member.ask(&name, root, timeout, network, &metrics).await;
                            (member, attempt)
                        });
                        next_at = Instant::now() + self.config.hedge_after;
                    }
                    None if running.is_empty() => return Err(FetchError::AllFailed(last_error)),
                    None => next_at = deadline,
                }
            }
            tokio::select! {
                Some(done) = running.join_next() => {
                    let Ok((member, attempt)) = done else { continue };
                    match attempt {
                        Attempt::Verified(lookup) => {
                            return Ok(Fetched { lookup, follower: member.url.clone() });
                        }
                        Attempt::Failed(reason, detail) => {
                            last_error = format!("{}: {reason}: {detail}", member.url);
                            next_at = Instant::now();
                        }
                        Attempt::Lie(reason, detail) => {
                            last_error = format!("{}: lied ({reason}): {detail}", member.url);
                            self.quarantine(&member, reason, &detail);
                            next_at = Instant::now();
                        }
                    }
                }
                () = tokio::time::sleep_until(next_at) => {}
                () = tokio::time::sleep_until(deadline) => {
                    return Err(FetchError::Timeout(self.config.timeout));
                }
            }
        }
    }

    /// The headers tying `root` to proof of work (for proof bundles), from the first of at
    /// most three candidate followers whose answer checks out
    /// ([`hnsfleet_verify::verify_header_chain`]); a follower whose headers do not is
    /// quarantined as a liar (`bad_headers`).
    pub async fn headers(&self, root: SafeRoot) -> Result<(u32, Vec<Header>), FetchError> {
        let candidates = self.candidates(root);
        if candidates.is_empty() {
            return Err(FetchError::NoFollowers);
        }
        let timeout = self.config.timeout;
        let mut last_error = String::from("no answer");
        for member in candidates.into_iter().take(3) {
            let mut request = tonic::Request::new(pb::GetHeadersRequest {
                root: Some(pb::SafeRoot::from(&root)),
            });
            request.set_timeout(timeout);
            let mut client = member.client.clone();
            match tokio::time::timeout(timeout, client.get_headers(request)).await {
                Err(_) => last_error = format!("{}: no answer within {timeout:?}", member.url),
                Ok(Err(status)) => last_error = format!("{}: {}", member.url, status.message()),
                Ok(Ok(response)) => {
                    let chain = response.into_inner().chain.unwrap_or_default();
                    match hnsfleet_verify::verify_header_chain(
                        self.config.network.params(),
                        &root.tree_root,
                        root.height,
                        chain.first_height,
                        &chain.headers,
                    ) {
                        Ok(headers) => return Ok((chain.first_height, headers)),
                        Err(e) => {
                            last_error = format!("{}: lied (bad_headers): {e}", member.url);
                            self.quarantine(&member, "bad_headers", &e.to_string());
                        }
                    }
                }
            }
        }
        Err(FetchError::AllFailed(last_error))
    }

    /// Followers to ask for `root`, best first: connected, honest, announcing `root` or a
    /// later one (and not having refused `root`); those backing off after failures last.
    fn candidates(&self, root: SafeRoot) -> Vec<Arc<Member>> {
        let now = Instant::now();
        let mut ready = Vec::new();
        let mut fallback = Vec::new();
        for member in &self.members {
            let s = member.state.lock();
            if !s.connected || s.quarantined_until.is_some_and(|t| t > now) {
                continue;
            }
            let serves = s
                .safe_root
                .is_some_and(|r| r == root || r.height > root.height)
                && s.refused_root != Some(root);
            if !serves {
                continue;
            }
            if s.retry_at.is_some_and(|t| t > now) {
                fallback.push((Arc::clone(member), s.latency));
            } else {
                ready.push((Arc::clone(member), s.latency));
            }
        }
        let mut rng = rand::rng();
        ready.shuffle(&mut rng);
        fallback.shuffle(&mut rng);
        // Power of two choices: of the first two, the faster goes first.
        if ready.len() >= 2 && ready[1].1 < ready[0].1 && ready[1].1.is_some() {
            ready.swap(0, 1);
        }
        ready
            .into_iter()
            .chain(fallback)
            .map(|(member, _)| member)
            .collect()
    }

    fn quarantine(&self, member: &Member, reason: &'static str, detail: &str) {
        self.metrics
            .follower_lies
            .with_label_values(&[member.url.as_str(), reason])
            .inc();
        tracing::warn!(
            follower = member.url.as_str(),
            reason,
            detail,
            quarantine = ?self.config.quarantine,
            "follower lied; quarantined"
        );
        member.state.lock().quarantined_until = Some(Instant::now() + self.config.quarantine);
        self.recompute();
    }

    /// Follows one follower's tip stream, reconnecting with backoff, until `shutdown`.
    async fn follow(self: Arc<Self>, member: Arc<Member>, shutdown: CancellationToken) {
        let mut backoff = MIN_BACKOFF;
        loop {
            let until = member.state.lock().quarantined_until;
            if let Some(until) = until.filter(|t| *t > Instant::now()) {
                tokio::select! {
                    () = tokio::time::sleep_until(until) => {}
                    () = shutdown.cancelled() => return,
                }
                self.recompute();
            }
            match self.watch(&member, &shutdown).await {
                Ok(true) => backoff = MIN_BACKOFF,
                Ok(false) => {}
                Err(e) => tracing::debug!(error = %e, "tip stream ended"),
            }
            {
                let mut s = member.state.lock();
                s.connected = false;
                // Whatever it said before the stream broke, it says again when it is back.
                s.synced = false;
            }
            self.recompute();
            if shutdown.is_cancelled() {
                return;
            }
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = shutdown.cancelled() => return,
            }
            backoff = (backoff * 2).min(MAX_BACKOFF);
        }
    }

    /// One `WatchTip` stream: checks the follower's network, then records every tip event.
    /// `Ok(true)` when at least one event arrived.
    async fn watch(&self, member: &Member, shutdown: &CancellationToken) -> Result<bool, String> {
        let mut client = member.client.clone();
        let tip = tokio::time::timeout(self.config.timeout, client.get_tip(pb::GetTipRequest {}))
            .await
            .map_err(|_| "GetTip timed out".to_string())?
            .map_err(|s| format!("GetTip: {}", s.message()))?
            .into_inner();
        let network = network_from_wire("network", tip.network).map_err(|e| e.to_string())?;
        if network != Some(self.config.network) {
            let detail = format!("on {network:?}, not {}", self.config.network);
            self.quarantine(member, "wrong_network", &detail);
            return Err(detail);
        }
        let mut stream = client
            .watch_tip(pb::WatchTipRequest {})
            .await
            .map_err(|s| format!("WatchTip: {}", s.message()))?
            .into_inner();
        let mut received = false;
        loop {
            let event = tokio::select! {
                event = stream.message() => event,
                () = shutdown.cancelled() => return Ok(received),
            };
            let event = match event {
                Ok(Some(event)) => event,
                Ok(None) => return Ok(received),
                Err(status) => return Err(format!("WatchTip: {}", status.message())),
            };
            let safe_root = match event.safe_root.as_ref().map(SafeRoot::try_from).transpose() {
                Ok(root) => root,
                Err(e) => {
                    self.quarantine(member, "malformed", &e.to_string());
                    return Err(e.to_string());
                }
            };
            received = true;
            {
                let mut s = member.state.lock();
                s.connected = true;
                if s.safe_root != safe_root {
                    s.refused_root = None;
                }
                s.safe_root = safe_root;
                s.synced = event.synced;
                s.tip_height = event.tip.as_ref().map_or(0, |t| t.height);
            }
            self.recompute();
        }
    }
}

/// The index of `view`'s state in [`crate::metrics::FOLLOWER_STATES`].
fn state_index(view: &FollowerView, forked: bool, trusted: Option<SafeRoot>) -> usize {
    if view.quarantined {
        return 5;
    }
    if !view.connected {
        return 4;
    }
    if !view.synced {
        return 3;
    }
    if forked {
        return 2;
    }
    match (view.safe_root, trusted) {
        (Some(r), Some(t)) if r == t => 0,
        (Some(r), Some(t)) if r.height > t.height => 1,
        (_, None) => 0,
        _ => 2,
    }
}

mod member;
#[cfg(test)]
mod tests;
