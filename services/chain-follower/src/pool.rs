//! The peer pool: one dialer per configured peer and per address a DNS seed resolves to, at
//! most `max_peers` sessions at once, bans for misbehaviour, reconnection with backoff, and
//! hedged proof requests across sessions.
//!
//! Each session is one task owning its [`PeerConnection`]: it syncs headers into the shared
//! chain, follows announcements, and answers proof jobs (several in flight per peer, one
//! GETPROOF per distinct (root, key)). A peer that sends an invalid header, a proof that does
//! not verify, or undecodable bytes is banned for the configured time; a peer that stalls is
//! dropped and redialled later. When a session ends, its slot goes to the next peer waiting
//! for one, so lost peers are replaced.

use std::collections::{HashMap, HashSet, VecDeque};
use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::AtomicU64;
use std::time::Duration;

use hnsfleet_hns::types::{BlockHash, NameHash, TreeRoot};
use hnsfleet_hns::urkel::VerifiedName;
use parking_lot::Mutex;
use rand::seq::{IndexedRandom, SliceRandom};
use thiserror::Error;
use tokio::sync::{Semaphore, mpsc, oneshot};
use tokio::task::JoinSet;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::Instrument;

use crate::config::PeerAddr;
use crate::follower::{Follower, KnownRoot};
use crate::peer::{PeerConfig, PeerConnection, PeerError};

mod discovery;
mod session;

use discovery::Learnt;
use session::SessionEnd;

/// Proof jobs queued per session.
const JOB_QUEUE: usize = 256;
/// Distinct proofs in flight per session (the peer's proof budget is 50 a second anyway); also
/// bounds what a session sets aside during a sync round to this many proofs.
const MAX_IN_FLIGHT: usize = 64;
/// Send a PING after this long without a packet.
const IDLE_PING: Duration = Duration::from_secs(60);
/// Drop the peer if the PING is not answered within this.
const PING_TIMEOUT: Duration = Duration::from_secs(30);
/// Resolve + TCP connect + VERSION/VERACK deadline (hsd: 5 s each).
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(10);
/// First reconnect delay; doubles per consecutive failure up to [`MAX_BACKOFF`].
const MIN_BACKOFF: Duration = Duration::from_millis(500);
/// Longest reconnect delay.
const MAX_BACKOFF: Duration = Duration::from_secs(60);
/// Longest a session waits for its turn to bulk-sync before syncing alongside the loader (a
/// slow loader can only delay a first sync by this much).
const LOADER_WAIT: Duration = Duration::from_secs(60);
/// Weight of a new sample in a peer's score (moving average).
const SCORE_WEIGHT: f64 = 0.2;
/// A failed proof request counts as an answer this slow, seconds.
const FAILURE_PENALTY: f64 = 2.0;
/// A session this long resets the failure count.
const STABLE_SESSION: Duration = Duration::from_secs(60);
/// Tips a session proved on branches that then lost the lead, kept per session for look-ups
/// against disconnected roots (newest last).
const ABANDONED_TIPS: usize = 8;

/// Pool settings.
#[derive(Debug, Clone)]
pub struct PoolConfig {
    /// Peers to dial.
    pub peers: Vec<PeerAddr>,
    /// DNS seeds (host, port): every address they resolve to becomes a peer to dial.
    pub dns_seeds: Vec<(String, u16)>,
    /// Ask peers for addresses (GETADDR) and dial the ones they gossip (ADDR).
    pub discover: bool,
    /// Most sessions at once.
    pub max_peers: usize,
    /// Ban time.
    pub ban: Duration,
    /// Deadline of one peer's proof answer.
    pub proof_timeout: Duration,
    /// Delay before hedging a proof request to another peer.
    pub hedge_after: Duration,
    /// User agent announced in VERSION.
    pub user_agent: String,
    /// Deadline of a peer's answer to GETHEADERS.
    pub response_timeout: Duration,
}

/// Why a look-up could not be answered. Nothing unverified is ever returned instead.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LookupFailure {
    /// The chain has no usable safe root yet.
    #[error("chain not synced: {0}")]
    NotSynced(String),
    /// No connected peer has the block whose tree root is needed.
    #[error("no synced peer can serve proofs for the tree root at height {0}")]
    NoPeers(u32),
    /// No peer answered with a verified proof in time.
    #[error("no verified proof within {0:?}")]
    Timeout(Duration),
    /// Every peer asked failed (gone, busy, or sent a bad proof, which got it banned).
    #[error("every peer asked failed; last: {0}")]
    AllFailed(String),
}

/// A verified look-up.
#[derive(Debug, Clone)]
pub struct NameAnswer {
    /// Height of the header whose tree root was used.
    pub height: u32,
    /// That tree root.
    pub root: TreeRoot,
    /// The verified result.
    pub verified: VerifiedName,
    /// The proof bytes as the peer sent them.
    pub proof: Vec<u8>,
}

/// Why a misbehaving peer was banned (the `reason` label of the bans metric).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum BanReason {
    /// A header broke a consensus rule.
    InvalidHeader,
    /// A proof did not verify.
    BadProof,
    /// Undecodable, oversize or out-of-protocol traffic.
    Protocol,
}

/// The pool (see the module docs).
pub struct Pool {
    follower: Arc<Follower>,
    config: PoolConfig,
    sessions: Mutex<HashMap<u64, SessionInfo>>,
    bans: Mutex<HashMap<String, Instant>>,
    slots: Arc<Semaphore>,
    next_id: AtomicU64,
    /// Every address with a dialer (configured peers, DNS-seed and gossiped addresses).
    dialing: Mutex<HashSet<PeerAddr>>,
    /// Counts of the addresses learnt at run time, for their caps.
    learnt: Mutex<Learnt>,
    /// Hands run-time addresses to the task that owns their dialers.
    new_dialers: mpsc::UnboundedSender<PeerAddr>,
    /// That task's end, taken by [`Pool::start`].
    new_dialers_rx: Mutex<Option<mpsc::UnboundedReceiver<PeerAddr>>>,
    /// Held by the session that downloads a long stretch of headers, so that a first sync
    /// fetches the chain from one peer at a time rather than the same headers from all.
    loader: tokio::sync::Mutex<()>,
}

#[derive(Debug, Clone)]
struct SessionInfo {
    addr: String,
    jobs: mpsc::Sender<ProofJob>,
    /// The height the peer claims (VERSION, raised by announcements, lowered to our tip when
    /// a sync round shows it had nothing more): a hint for sync order, never proof.
    height: u32,
    /// Newest header the peer sent that was on our best chain: the height it has proven.
    tip: Option<(BlockHash, u32)>,
    /// Earlier such tips that were no longer on our best chain when the peer proved a new
    /// one: the peer connected those branches, and holds their tree roots.
    abandoned: VecDeque<(BlockHash, u32)>,
    /// Whether the first header sync with this peer finished.
    synced: bool,
    /// Moving average of this peer's proof answer time, seconds, with failures counted as
    /// slow answers; `None` until it answered once (new peers get tried first).
    score: Option<f64>,
}

/// An eligible session for one look-up.
struct Candidate {
    id: u64,
    jobs: mpsc::Sender<ProofJob>,
    score: f64,
}

type JobResult = Result<(VerifiedName, Vec<u8>), String>;

struct ProofJob {
    root: TreeRoot,
    key: NameHash,
    reply: oneshot::Sender<JobResult>,
}

// === impl SessionInfo ===

impl SessionInfo {
    /// Takes `tip` as the peer's proven tip; the previous one is kept (at most
    /// [`ABANDONED_TIPS`]) when `left_best` says it is no longer on our best chain.
    fn prove_tip(
        &mut self,
        tip: (BlockHash, u32),
        left_best: impl FnOnce(&(BlockHash, u32)) -> bool,
    ) {
        if let Some(old) = self.tip.replace(tip)
            && old != tip
            && left_best(&old)
        {
            if self.abandoned.len() >= ABANDONED_TIPS {
                self.abandoned.pop_front();
            }
            self.abandoned.push_back(old);
        }
    }
}

// === impl BanReason ===

impl BanReason {
    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            BanReason::InvalidHeader => "invalid_header",
            BanReason::BadProof => "bad_proof",
            BanReason::Protocol => "protocol",
        }
    }
}

// === impl Pool ===

impl Pool {
    /// A pool feeding `follower`; call [`Pool::start`] to dial.
    pub fn new(follower: Arc<Follower>, config: PoolConfig) -> Arc<Pool> {
        let (new_dialers, new_dialers_rx) = mpsc::unbounded_channel();
        Arc::new(Pool {
            follower,
            slots: Arc::new(Semaphore::new(config.max_peers)),
            config,
            sessions: Mutex::new(HashMap::new()),
            bans: Mutex::new(HashMap::new()),
            next_id: AtomicU64::new(1),
            dialing: Mutex::new(HashSet::new()),
            learnt: Mutex::new(Learnt::default()),
            new_dialers,
            new_dialers_rx: Mutex::new(Some(new_dialers_rx)),
            loader: tokio::sync::Mutex::new(()),
        })
    }

    /// Starts one dialer per configured peer, one resolver per DNS seed, and the task that
    /// owns the dialers of addresses learnt later (DNS seeds, gossip); they all stop on
    /// `shutdown`.
    pub fn start(self: &Arc<Self>, shutdown: &CancellationToken, tasks: &mut JoinSet<()>) {
        for addr in self.config.peers.clone() {
            if self.dialing.lock().insert(addr.clone()) {
                self.spawn_dialer(addr, shutdown, tasks);
            }
        }
        if let Some(rx) = self.new_dialers_rx.lock().take() {
            let pool = Arc::clone(self);
            let shutdown = shutdown.clone();
            tasks.spawn(async move { pool.run_new_dialers(rx, shutdown).await });
        }
        for (host, port) in self.config.dns_seeds.clone() {
            let pool = Arc::clone(self);
            let shutdown = shutdown.clone();
            let span = tracing::info_span!("dns_seed", seed = %host);
            tasks.spawn(async move { pool.seed_loop(host, port, shutdown).await }.instrument(span));
        }
        self.publish_known_peers();
    }

    fn spawn_dialer(
        self: &Arc<Self>,
        addr: PeerAddr,
        shutdown: &CancellationToken,
        tasks: &mut JoinSet<()>,
    ) {
        let pool = Arc::clone(self);
        let shutdown = shutdown.clone();
        let span = tracing::info_span!("peer", peer = %addr);
        tasks.spawn(async move { pool.dial_loop(addr, shutdown).await }.instrument(span));
    }

    /// Owns the dialers of addresses learnt at run time; returns once `shutdown` fired and
    /// they stopped.
    async fn run_new_dialers(
        self: Arc<Self>,
        mut addrs: mpsc::UnboundedReceiver<PeerAddr>,
        shutdown: CancellationToken,
    ) {
        let mut dialers = JoinSet::new();
        loop {
            tokio::select! {
                addr = addrs.recv() => match addr {
                    Some(addr) => self.spawn_dialer(addr, &shutdown, &mut dialers),
                    None => break,
                },
                () = shutdown.cancelled() => break,
            }
        }
        while dialers.join_next().await.is_some() {}
    }

    fn publish_known_peers(&self) {
        let known = self.dialing.lock().len();
        self.follower.metrics().known_peers.set(known as i64);
    }

    /// Looks `key` up against `root` (found by [`Follower::known_root`]), or the safe root
    /// when `None`: asks one eligible peer, hedges to the next after `hedge_after` or on
    /// failure, and returns the first verified answer. Only peers that hold the root are
    /// eligible: for a disconnected root, those that proved a tip on its branch.
    pub async fn lookup(
        &self,
        key: NameHash,
        root: Option<KnownRoot>,
    ) -> Result<NameAnswer, LookupFailure> {
        let started = Instant::now();
        let root = match root {
            Some(root) => root,
            None => KnownRoot::BestChain(
                self.follower
                    .safe_root()
                    .map_err(|e| LookupFailure::NotSynced(e.to_string()))?,
            ),
        };
        let safe = root.root();
        let mut candidates = self.eligible(&root);
        if candidates.is_empty() {
            return Err(LookupFailure::NoPeers(safe.height));
        }
        // Random order, then "power of two choices": of the first two, the better-scored peer
        // goes first. Good peers get most first requests, every peer keeps being tried.
        candidates.shuffle(&mut rand::rng());
        if candidates.len() >= 2 && candidates[1].score < candidates[0].score {
            candidates.swap(0, 1);
        }
        let mut candidates = candidates.into_iter();
        let mut asked: JoinSet<(u64, Duration, JobResult)> = JoinSet::new();
        let mut asked_total = 0usize;
        // Peers asked and not yet answered, with when they were asked.
        let mut waiting_on: Vec<(u64, Instant)> = Vec::new();
        let deadline = started + self.config.proof_timeout;
        let mut last_error = String::from("no answer");
        // When to ask the next peer: now, after each hedge delay, or as soon as one fails.
        let mut next_at = Instant::now();
        loop {
            while Instant::now() >= next_at {
                let Some(candidate) = candidates.next() else {
                    if asked.is_empty() {
                        return Err(LookupFailure::AllFailed(last_error));
                    }
                    next_at = deadline;
                    break;
                };
                let (reply, answer) = oneshot::channel();
                let job = ProofJob {
                    root: safe.tree_root,
                    key,
                    reply,
                };
                if candidate.jobs.try_send(job).is_err() {
                    last_error = "peer queue full or closed".into();
                    continue;
                }
                if asked_total > 0 {
                    self.follower.metrics().proof_hedges.inc();
                }
                asked_total += 1;
                let (id, sent) = (candidate.id, Instant::now());
                waiting_on.push((id, sent));
                asked.spawn(async move {
                    let result = answer
                        .await
                        .unwrap_or_else(|_| Err("peer session ended".into()));
                    (id, sent.elapsed(), result)
                });
                next_at = Instant::now() + self.config.hedge_after;
            }
            tokio::select! {
                joined = asked.join_next(), if !asked.is_empty() => {
                    match joined {
                        Some(Ok((id, took, Ok((verified, proof))))) => {
                            self.record(id, Some(took));
                            // The peers that lost the race were at least this slow.
                            for (other, sent) in waiting_on.iter().filter(|(o, _)| *o != id) {
                                self.record(*other, Some(sent.elapsed()));
                            }
                            return Ok(NameAnswer {
                                height: safe.height,
                                root: safe.tree_root,
                                verified,
                                proof,
                            });
                        }
                        Some(Ok((id, _, Err(e)))) => {
                            self.record(id, None);
                            waiting_on.retain(|(o, _)| *o != id);
                            last_error = e;
                        }
                        Some(Err(e)) => last_error = e.to_string(),
                        None => {}
                    }
                    next_at = Instant::now();
                }
                () = tokio::time::sleep_until(next_at.min(deadline)) => {
                    if Instant::now() >= deadline {
                        return Err(LookupFailure::Timeout(self.config.proof_timeout));
                    }
                }
            }
        }
    }

    /// Job queues of synced sessions that hold `root`: on the best chain, those whose known
    /// tip covers its height; disconnected, those that proved a tip on its branch at or above
    /// it (any other peer would hang up on the request).
    fn eligible(&self, root: &KnownRoot) -> Vec<Candidate> {
        let sessions: Vec<(u64, SessionInfo)> = self
            .sessions
            .lock()
            .iter()
            .map(|(id, s)| (*id, s.clone()))
            .collect();
        sessions
            .into_iter()
            .filter(|(_, s)| s.synced)
            .filter(|(_, s)| match root {
                KnownRoot::BestChain(root) => match s.tip {
                    Some((hash, height)) => {
                        height >= root.height && self.follower.is_on_best_chain(&hash, height)
                    }
                    None => s.height >= root.height,
                },
                KnownRoot::Disconnected(header) => s
                    .tip
                    .iter()
                    .chain(&s.abandoned)
                    .any(|tip| self.follower.had_disconnected(*tip, header)),
            })
            .map(|(id, s)| Candidate {
                id,
                jobs: s.jobs,
                score: s.score.unwrap_or(0.0),
            })
            .collect()
    }

    /// Folds one answer time (or a failure, counted as [`FAILURE_PENALTY`]) into a session's
    /// score.
    fn record(&self, id: u64, outcome: Option<Duration>) {
        let sample = outcome.map_or(FAILURE_PENALTY, |d| d.as_secs_f64());
        self.update_session(id, |s| {
            s.score = Some(match s.score {
                Some(old) => old + SCORE_WEIGHT * (sample - old),
                None => sample,
            });
        });
    }

    fn banned_until(&self, key: &str) -> Option<Instant> {
        let mut bans = self.bans.lock();
        let now = Instant::now();
        bans.retain(|_, until| *until > now);
        self.follower.metrics().peers_banned.set(bans.len() as i64);
        bans.get(key).copied()
    }

    fn ban(&self, key: &str, reason: BanReason) {
        let until = Instant::now() + self.config.ban;
        let count = {
            let mut bans = self.bans.lock();
            bans.insert(key.to_string(), until);
            bans.len()
        };
        let metrics = self.follower.metrics();
        metrics.bans.with_label_values(&[reason.label()]).inc();
        metrics.peers_banned.set(count as i64);
    }

    async fn dial_loop(self: Arc<Self>, addr: PeerAddr, shutdown: CancellationToken) {
        let key = addr.to_string();
        let mut failures: u32 = 0;
        while !shutdown.is_cancelled() {
            if let Some(until) = self.banned_until(&key) {
                tracing::debug!("peer is banned; not dialling it before the ban ends");
                tokio::select! {
                    () = tokio::time::sleep_until(until) => continue,
                    () = shutdown.cancelled() => return,
                }
            }
            let permit = tokio::select! {
                permit = Arc::clone(&self.slots).acquire_owned() => match permit {
                    Ok(p) => p,
                    Err(_) => return,
                },
                () = shutdown.cancelled() => return,
            };
            let connected = tokio::select! {
                c = self.connect(&addr) => c,
                () = shutdown.cancelled() => return,
            };
            match connected {
                Err(e) => {
                    failures = failures.saturating_add(1);
                    tracing::debug!(error = %e, failures, "connect failed");
                }
                Ok(conn) => {
                    let started = Instant::now();
                    let end = self.run_session(conn, &key, &shutdown).await;
                    let metrics = self.follower.metrics();
                    metrics.disconnects.with_label_values(&[end.label()]).inc();
                    match &end {
                        SessionEnd::Shutdown => return,
                        SessionEnd::Ban(reason, why) => {
                            tracing::warn!(reason = reason.label(), why, "banning peer");
                            self.ban(&key, *reason);
                        }
                        SessionEnd::Closed => tracing::info!("peer closed the session"),
                        SessionEnd::Timeout(what) => {
                            tracing::info!(waiting_for = what, "peer timed out; dropped")
                        }
                        SessionEnd::Dropped(why) => tracing::info!(why, "peer dropped"),
                        SessionEnd::Error(error) => tracing::info!(%error, "peer session failed"),
                    }
                    if matches!(end, SessionEnd::Ban(..)) {
                        // A banned learnt address is forgotten at once (its ban stays, so
                        // gossip cannot bring it back before the ban ends).
                        failures = failures.max(discovery::LEARNT_MAX_FAILURES);
                    } else if started.elapsed() >= STABLE_SESSION {
                        failures = 0;
                    } else {
                        failures = failures.saturating_add(1);
                    }
                }
            }
            drop(permit);
            if self.give_up_learnt(&addr, failures) {
                return;
            }
            if self.banned_until(&key).is_some() {
                // The ban is the wait: the loop's top logs it and sleeps until it ends.
                continue;
            }
            let backoff = backoff(failures);
            tokio::select! {
                () = tokio::time::sleep(backoff) => {}
                () = shutdown.cancelled() => return,
            }
        }
    }

    async fn connect(&self, addr: &PeerAddr) -> Result<PeerConnection, PeerError> {
        let socket = resolve(addr).await?;
        let config = PeerConfig {
            params: self.follower.params(),
            handshake_timeout: HANDSHAKE_TIMEOUT,
            user_agent: self.config.user_agent.clone(),
            height: self.follower.tip().height,
            send_headers: true,
            response_timeout: self.config.response_timeout,
        };
        match &addr.identity {
            Some(key) => {
                let identity = secp256k1::PublicKey::from_slice(key)
                    .map_err(|_| PeerError::Handshake("identity is not a secp256k1 key"))?;
                PeerConnection::connect_brontide(socket, &identity, &config, self.follower.now())
                    .await
            }
            None => PeerConnection::connect(socket, &config, self.follower.now()).await,
        }
    }

    fn update_session(&self, id: u64, update: impl FnOnce(&mut SessionInfo)) {
        if let Some(s) = self.sessions.lock().get_mut(&id) {
            update(s);
        }
    }

    fn publish_peer_stats(&self, synced_now: bool) {
        let (connected, best) = {
            let sessions = self.sessions.lock();
            let best = best_peer_height(sessions.values(), |hash, height| {
                self.follower.is_on_best_chain(hash, height)
            });
            (sessions.len(), best)
        };
        self.follower.update_peers(|stats| {
            stats.connected = connected;
            stats.best_height = best;
            stats.synced_once |= synced_now;
        });
    }

    /// Addresses of the peers with a session (for logs and tests).
    pub fn connected_peers(&self) -> Vec<String> {
        self.sessions
            .lock()
            .values()
            .map(|s| s.addr.clone())
            .collect()
    }
}

impl std::fmt::Debug for Pool {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Pool")
            .field("peers", &self.config.peers.len())
            .finish_non_exhaustive()
    }
}

/// The best height the peers have shown, for readiness: the highest height a peer proved with
/// headers on our best chain, and the height of a peer whose first sync round finished (its
/// claim is then capped by what the round showed). A claim in VERSION from a peer still in its
/// first round is a hint for sync order only: liars, however many agree, cannot hold the
/// follower unready with it. (Being behind the network shows in the chain itself: the tip-age
/// rule of readiness.)
fn best_peer_height<'a>(
    sessions: impl Iterator<Item = &'a SessionInfo>,
    on_best_chain: impl Fn(&BlockHash, u32) -> bool,
) -> u32 {
    sessions
        .map(|s| {
            let proven = s
                .tip
                .filter(|(hash, height)| on_best_chain(hash, *height))
                .map_or(0, |(_, height)| height);
            let shown = if s.synced { s.height } else { 0 };
            proven.max(shown)
        })
        .max()
        .unwrap_or(0)
}

/// Resolves a peer's host (an IP parses without DNS) to one of its addresses, at random.
async fn resolve(addr: &PeerAddr) -> Result<SocketAddr, PeerError> {
    if let Ok(ip) = addr.host.parse::<std::net::IpAddr>() {
        return Ok(SocketAddr::new(ip, addr.port));
    }
    let found = discovery::resolve_all(&addr.host, addr.port).await?;
    found
        .choose(&mut rand::rng())
        .copied()
        .ok_or(PeerError::Handshake("name resolved to no address"))
}

/// Reconnect delay after `failures` consecutive failures, with ±25 % jitter.
fn backoff(failures: u32) -> Duration {
    let base = MIN_BACKOFF.saturating_mul(1 << failures.min(8));
    let base = base.min(MAX_BACKOFF);
    let jitter = rand::random_range(0.75..1.25);
    base.mul_f64(jitter)
}

#[cfg(test)]
mod tests {
    use super::*;

    fn session(claimed: u32, proven: Option<u32>, synced: bool) -> SessionInfo {
        let (jobs, _) = mpsc::channel(1);
        SessionInfo {
            addr: String::new(),
            jobs,
            height: claimed,
            tip: proven.map(|h| (BlockHash([h as u8; 32]), h)),
            abandoned: VecDeque::new(),
            synced,
            score: None,
        }
    }

    #[test]
    fn claims_never_set_the_best_peer_height_only_what_peers_showed() {
        let on_chain = |_: &BlockHash, _: u32| true;
        // hsd proved 150; two liars still in their first round claim ten million.
        let peers = [
            session(150, Some(150), true),
            session(10_000_000, None, false),
            session(10_000_000, None, false),
        ];
        assert_eq!(best_peer_height(peers.iter(), on_chain), 150);
        // A peer whose first round finished counts with the height that round left it.
        let peers = [session(150, Some(150), true), session(170, None, true)];
        assert_eq!(best_peer_height(peers.iter(), on_chain), 170);
        // A proven height only counts while it is on our best chain.
        let off_chain = |_: &BlockHash, h: u32| h != 300;
        let peers = [session(150, Some(150), true), session(0, Some(300), false)];
        assert_eq!(best_peer_height(peers.iter(), off_chain), 150);
        assert_eq!(best_peer_height([].iter(), on_chain), 0);
    }

    #[test]
    fn a_tip_that_left_the_best_chain_is_kept_within_the_bound() {
        let tip = |h: u32| (BlockHash([h as u8; 32]), h);
        let mut s = session(0, None, true);
        s.prove_tip(tip(10), |_| panic!("no previous tip"));
        // An extension on the best chain keeps nothing; the same tip again neither.
        s.prove_tip(tip(11), |_| false);
        s.prove_tip(tip(11), |_| true);
        assert!(s.abandoned.is_empty());
        // A tip that was disconnected before the peer proved a new one is kept, newest last;
        // beyond the bound the oldest goes.
        let last = 12 + ABANDONED_TIPS as u32 + 3;
        for h in 12..=last {
            s.prove_tip(tip(h), |old| old.1 != 20);
        }
        assert_eq!(s.tip, Some(tip(last)));
        assert_eq!(s.abandoned.len(), ABANDONED_TIPS);
        assert_eq!(s.abandoned.back(), Some(&tip(last - 1)));
        assert!(!s.abandoned.contains(&tip(20)));
        assert!(!s.abandoned.contains(&tip(13)));
    }
}
