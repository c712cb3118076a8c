//! The follower's shared state: the one best chain every peer session feeds, the header store
//! behind it, tip-change events, readiness, and the signing key of its attestations.
//!
//! Sessions hash and check a batch's proof of work and linkage before they take the lock
//! ([`hnsfleet_hns::chain::precheck_batch`]); under the lock only the contextual rules run
//! (retarget, median time, checkpoints: microseconds per header). Tip changes are published
//! under the lock, so subscribers see them in chain order and the `watch` value is never
//! stale; the header store is written (and fsynced) by its own thread, in the same order, so
//! no lock is ever held across disk I/O. The tip is the most-work valid chain over all
//! peers' headers, so no single peer decides it.
//!
//! Whether the chain is *synced* (caught up with the network: `ready::caught_up`) travels
//! with every tip change, and a change of it alone is published as a tip change too (same
//! tip, depth 0), so `GetTip`/`WatchTip` tell a proof-cache not to trust the safe root of a
//! follower that is still syncing or fell behind.

use std::sync::Arc;
use std::sync::mpsc as std_mpsc;

use hnsfleet_attestation::{SignedAttestation, TipStatement};
use hnsfleet_hns::chain::{ChainEntry, ChainError, SafeRoot};
use hnsfleet_hns::header::{HashedHeader, Header};
use hnsfleet_hns::params::NetworkParams;
use hnsfleet_hns::types::BlockHash;
use hnsfleet_service_kit::Readiness;
use parking_lot::Mutex;
use secp256k1::SecretKey;
use tokio::sync::{broadcast, watch};

use crate::header_chain::disconnected::Disconnected;
use crate::header_chain::{HeaderChain, InsertOutcome, Origin};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::sync::{Accepted, HeaderSink, insert_batch};

mod ready;

/// Tip events buffered per `WatchTip` subscriber before it is told it lagged.
const EVENT_BUFFER: usize = 1024;

/// One change of the best chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TipChange {
    /// The new tip.
    pub tip: ChainEntry,
    /// Blocks disconnected from the previous best chain (0 for an extension).
    pub reorg_depth: u32,
    /// The root look-ups are answered against at this tip (`None` while the chain lacks the
    /// header that carries it).
    pub safe_root: Option<SafeRoot>,
    /// Whether the chain is caught up with the network: a sync round finished, the tip is
    /// within `ReadyRules::within` of the best peer height, and the chain counts as synced
    /// (work, tip age). While false the safe root may be far behind and must not be trusted.
    pub synced: bool,
}

pub use crate::header_chain::ROOT_WINDOW_INTERVALS;

/// A requested root the follower serves ([`Follower::known_root`]).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KnownRoot {
    /// The header at its height on the best chain carries it: every synced peer whose tip
    /// covers that height holds it.
    BestChain(SafeRoot),
    /// A header a recent reorganization disconnected carries it: only peers that connected
    /// that header's branch hold it (hsd hangs up on a request for a root it never had).
    Disconnected(Disconnected),
}

/// What readiness requires (see [`Follower::refresh_readiness`]).
#[derive(Debug, Clone, Copy)]
pub struct ReadyRules {
    /// Peers with a session.
    pub min_peers: usize,
    /// Most blocks the tip may trail the best peer height.
    pub within: u32,
}

/// Peer-side facts readiness depends on, kept current by the pool.
#[derive(Debug, Default, Clone, Copy)]
pub struct PeerStats {
    /// Peers with an established session.
    pub connected: usize,
    /// Whether any session finished a header sync round.
    pub synced_once: bool,
    /// Best height any connected peer announced.
    pub best_height: u32,
}

/// The shared state (see the module docs).
pub struct Follower {
    params: &'static NetworkParams,
    chain: Mutex<ChainState>,
    events: broadcast::Sender<TipChange>,
    /// The latest tip change, updated under the chain lock (never older than the chain).
    latest: watch::Sender<TipChange>,
    /// The store writer thread, joined by [`Follower::close_store`].
    store_thread: Mutex<Option<std::thread::JoinHandle<()>>>,
    metrics: Metrics,
    readiness: Readiness,
    rules: ReadyRules,
    peers: Mutex<PeerStats>,
    key: SecretKey,
    clock: fn() -> u64,
}

struct ChainState {
    chain: HeaderChain,
    /// The `synced` of the last published tip change.
    synced: bool,
    /// Batches for the store writer, sent in chain order under the lock.
    store: Option<std_mpsc::Sender<StoreBatch>>,
}

/// Most headers [`Follower::root_headers`] returns (a bundle's bound).
pub const MAX_ROOT_HEADERS: usize = 200;

/// The headers of one accepted batch the store must record, with what the chain did.
type StoreBatch = Vec<(Header, InsertOutcome)>;

/// A [`HeaderSink`] over the shared chain, for the headers of one peer session.
pub struct SharedSink<'a> {
    follower: &'a Follower,
    origin: Origin,
}

// === impl KnownRoot ===

impl KnownRoot {
    /// The root and the height of the header that carries it.
    pub fn root(&self) -> SafeRoot {
        match self {
            KnownRoot::BestChain(root) => *root,
            KnownRoot::Disconnected(d) => SafeRoot {
                height: d.height,
                tree_root: d.tree_root,
            },
        }
    }
}

// === impl Follower ===

impl Follower {
    /// Wraps an opened chain and store.
    #[allow(clippy::too_many_arguments)]
    pub fn new(
        params: &'static NetworkParams,
        chain: HeaderChain,
        store: Option<Store>,
        metrics: Metrics,
        readiness: Readiness,
        rules: ReadyRules,
        key: SecretKey,
        clock: fn() -> u64,
    ) -> Arc<Follower> {
        metrics.tip_height.set(i64::from(chain.tip().height));
        if store.is_some() {
            metrics.store_height.set(i64::from(chain.tip().height));
        }
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        let (latest, _) = watch::channel(TipChange {
            tip: chain.tip(),
            reorg_depth: 0,
            safe_root: chain.safe_root().ok(),
            synced: false,
        });
        let (store, store_thread) = match store {
            Some(store) => match spawn_store_writer(store, metrics.clone()) {
                Ok((tx, thread)) => (Some(tx), Some(thread)),
                Err(e) => {
                    tracing::error!(error = %e, "cannot start the header store writer; serving from memory");
                    metrics.store_errors.inc();
                    (None, None)
                }
            },
            None => (None, None),
        };
        Arc::new(Follower {
            params,
            chain: Mutex::new(ChainState {
                chain,
                synced: false,
                store,
            }),
            events,
            latest,
            store_thread: Mutex::new(store_thread),
            metrics,
            readiness,
            rules,
            peers: Mutex::new(PeerStats::default()),
            key,
            clock,
        })
    }

    /// The network's parameters.
    pub fn params(&self) -> &'static NetworkParams {
        self.params
    }

    /// The metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Current unix time.
    pub fn now(&self) -> u64 {
        (self.clock)()
    }

    /// The best validated tip.
    pub fn tip(&self) -> ChainEntry {
        self.chain.lock().chain.tip()
    }

    /// The tree root look-ups are checked against, and its height.
    pub fn safe_root(&self) -> Result<SafeRoot, ChainError> {
        self.chain.lock().chain.safe_root()
    }

    /// The tip, its safe root and whether the chain is synced, read together (`reorg_depth`
    /// 0): what `GetTip` answers and a `WatchTip` stream starts with.
    pub fn current(&self) -> TipChange {
        let guard = self.chain.lock();
        TipChange {
            tip: guard.chain.tip(),
            reorg_depth: 0,
            safe_root: guard.chain.safe_root().ok(),
            synced: guard.synced,
        }
    }

    /// Where `root` is served from: the header at its height on the best chain carries it and
    /// lies at most [`ROOT_WINDOW_INTERVALS`] tree intervals below the tip; or else a header a
    /// recent reorganization disconnected carries it, at a height not below that window.
    /// `Err` holds the tip height, for the refusal.
    pub fn known_root(&self, root: &SafeRoot) -> Result<KnownRoot, u32> {
        let guard = self.chain.lock();
        let chain = &guard.chain;
        let tip = chain.tip().height;
        let lowest = tip.saturating_sub(chain.root_window());
        if root.height < lowest {
            return Err(tip);
        }
        let carries = chain
            .entry_at(root.height)
            .is_some_and(|e| e.tree_root == root.tree_root);
        if carries {
            return Ok(KnownRoot::BestChain(*root));
        }
        chain
            .disconnected()
            .find_root(root.height, &root.tree_root)
            .map(KnownRoot::Disconnected)
            .ok_or(tip)
    }

    /// The headers a proof bundle needs for `root`: from the first header of the best chain
    /// that carries it within its tree interval, up to the tip (at most
    /// [`MAX_ROOT_HEADERS`]). `None` unless the header at `root.height` on the best chain
    /// carries that root and the headers are among the recent ones kept.
    pub fn root_headers(&self, root: &SafeRoot) -> Option<(u32, Vec<Header>)> {
        let guard = self.chain.lock();
        let chain = &guard.chain;
        let carries = |height: u32| {
            chain
                .entry_at(height)
                .is_some_and(|e| e.tree_root == root.tree_root)
        };
        if !carries(root.height) {
            return None;
        }
        let interval = self.params.names.tree_interval.max(1);
        let mut first = root.height;
        while first > 1 && root.height - first + 1 < interval && carries(first - 1) {
            first -= 1;
        }
        let tip = chain.tip().height;
        let last = tip.min(first.saturating_add(MAX_ROOT_HEADERS as u32 - 1));
        chain
            .recent_headers(first, last)
            .map(|headers| (first, headers))
    }

    /// Whether a peer whose tip was `tip` (hash, height) had connected the disconnected
    /// `header` (its tip is on the same abandoned branch, at or above it), so it holds its
    /// tree root.
    pub fn had_disconnected(&self, tip: (BlockHash, u32), header: &Disconnected) -> bool {
        self.chain.lock().chain.disconnected().had(tip, header)
    }

    /// Whether `hash` is on the best chain at `height`.
    pub fn is_on_best_chain(&self, hash: &BlockHash, height: u32) -> bool {
        self.chain.lock().chain.height_of(hash) == Some(height)
    }

    /// Subscribes to tip changes (each subscriber buffers 1,024 events, then is told it lagged).
    /// Events are sent under the chain lock, so they arrive in chain order.
    pub fn subscribe(&self) -> broadcast::Receiver<TipChange> {
        self.events.subscribe()
    }

    /// The latest tip change as a `watch`: a subscriber that lagged or missed events still
    /// ends on the current tip.
    pub fn watch_tip(&self) -> watch::Receiver<TipChange> {
        self.latest.subscribe()
    }

    /// A sink for header sync over the shared chain, for headers from `origin` (a session id).
    pub fn sink(&self, origin: Origin) -> SharedSink<'_> {
        SharedSink {
            follower: self,
            origin,
        }
    }

    /// Whether a validated header with this hash is held (active chain or side branch).
    pub fn knows(&self, hash: &BlockHash) -> bool {
        self.chain.lock().chain.contains(hash)
    }

    /// Orphans held that came from `origin`.
    pub fn orphans_from(&self, origin: Origin) -> usize {
        self.chain.lock().chain.orphans_from(origin)
    }

    /// Forgets the orphans a peer session sent, once it ended.
    pub fn forget_origin(&self, origin: Origin) {
        let dropped = self.chain.lock().chain.drop_orphans_from(origin);
        if dropped > 0 {
            tracing::debug!(dropped, "dropped the orphans of an ended session");
        }
    }

    /// Stops the store writer after it wrote everything accepted so far (blocking: call it
    /// from `spawn_blocking` or at the end of a test). Later batches stay in memory only.
    pub fn close_store(&self) {
        self.chain.lock().store = None;
        if let Some(thread) = self.store_thread.lock().take()
            && thread.join().is_err()
        {
            tracing::error!("header store writer panicked");
        }
    }

    /// The tip signed with the follower's key.
    pub fn attest(&self) -> SignedAttestation {
        let tip = self.tip();
        TipStatement {
            network_magic: self.params.magic,
            height: tip.height,
            hash: tip.hash,
            tree_root: tip.tree_root,
            chainwork: tip.chainwork.to_be_bytes(),
            time: tip.time,
            signed_at: self.now(),
        }
        .sign(&self.key)
    }

    /// Updates the peer facts and re-evaluates readiness.
    pub fn update_peers(&self, update: impl FnOnce(&mut PeerStats)) {
        let stats = {
            let mut peers = self.peers.lock();
            update(&mut peers);
            *peers
        };
        self.metrics.peers_connected.set(stats.connected as i64);
        self.metrics
            .best_peer_height
            .set(i64::from(stats.best_height));
        self.refresh_readiness();
    }

    /// Ready when enough peers are connected, a sync round finished, the tip is within
    /// `rules.within` blocks of the best peer height, and the chain counts as synced (enough
    /// work, tip not too old); each rule is a named check on `/readyz`. The last three make
    /// [`TipChange::synced`]: when it changes, the current tip is published again with it
    /// (under the chain lock, so in order with the tip changes).
    pub fn refresh_readiness(&self) {
        let now = self.now();
        let checks = {
            let mut state = self.chain.lock();
            let tip = state.chain.tip();
            let stats = *self.peers.lock();
            let synced = ready::caught_up(self.params, &self.rules, &stats, &tip, now);
            if synced != state.synced {
                state.synced = synced;
                let change = TipChange {
                    tip,
                    reorg_depth: 0,
                    safe_root: state.chain.safe_root().ok(),
                    synced,
                };
                let _ = self.events.send(change);
                self.latest.send_replace(change);
                ready::log_change(synced, &tip, &stats);
            }
            ready::ready_checks(self.params, &self.rules, &stats, &tip, now)
        };
        self.readiness.report(checks);
    }

    /// Hashes and inserts a batch from this node itself (no context-free pre-check, origin 0;
    /// see [`Follower::accept_checked`]).
    pub fn accept(&self, headers: Vec<Header>) -> Result<Accepted, ChainError> {
        let hashed = headers.into_iter().map(HashedHeader::new).collect();
        self.accept_checked(hashed, 0)
    }

    /// Inserts a batch from `origin` (see [`HeaderSink::accept`]) under the chain lock, hands
    /// what changed to the store writer and publishes the new tip, in chain order.
    pub fn accept_checked(
        &self,
        headers: Vec<HashedHeader>,
        origin: Origin,
    ) -> Result<Accepted, ChainError> {
        let now = self.now();
        let mut validated = 0u64;
        let (before, after, result) = {
            let mut state = self.chain.lock();
            let ChainState {
                chain,
                synced,
                store,
            } = &mut *state;
            let before = chain.tip();
            let mut done: Vec<(Header, InsertOutcome)> = Vec::new();
            let result = insert_batch(chain, headers, now, origin, &mut |header, outcome| {
                if !matches!(
                    outcome,
                    InsertOutcome::Duplicate | InsertOutcome::Orphan | InsertOutcome::Unplaced
                ) {
                    validated += 1;
                    done.push((header.clone(), outcome.clone()));
                }
            });
            // Also after an invalid header, for the valid prefix. A closed writer (it failed
            // and logged why) leaves the chain in memory only.
            if !done.is_empty()
                && let Some(tx) = store.as_ref()
                && tx.send(done).is_err()
            {
                *store = None;
            }
            let after = chain.tip();
            if matches!(&result, Ok(accepted) if !accepted.reorgs.is_empty()) {
                self.metrics
                    .disconnected_headers
                    .set(chain.disconnected().len() as i64);
            }
            if after.hash != before.hash {
                let reorg_depth = match &result {
                    Ok(accepted) => accepted.reorgs.iter().map(|r| r.depth).max().unwrap_or(0),
                    Err(_) => 0,
                };
                // Whether the new tip is caught up (the peer facts are locked after the chain,
                // never the other way round).
                let stats = *self.peers.lock();
                let now_synced = ready::caught_up(self.params, &self.rules, &stats, &after, now);
                if now_synced != *synced {
                    *synced = now_synced;
                    ready::log_change(now_synced, &after, &stats);
                }
                let change = TipChange {
                    tip: after,
                    reorg_depth,
                    safe_root: chain.safe_root().ok(),
                    synced: *synced,
                };
                // Under the lock: two batches can never publish out of order. No subscriber
                // is not an error.
                let _ = self.events.send(change);
                self.latest.send_replace(change);
            }
            (before, after, result)
        };
        self.metrics.headers_validated.inc_by(validated);
        if let Ok(accepted) = &result {
            for reorg in &accepted.reorgs {
                self.metrics.reorg_depth.observe(f64::from(reorg.depth));
            }
        }
        if after.hash != before.hash {
            self.metrics.tip_height.set(i64::from(after.height));
            self.refresh_readiness();
        }
        result
    }
}

/// Starts the thread that writes accepted batches to the store, one sync per batch, in the
/// order they were accepted. On a write error it logs, counts it and stops (a half-written
/// tail is cut on the next open); the follower keeps serving from memory.
fn spawn_store_writer(
    mut store: Store,
    metrics: Metrics,
) -> std::io::Result<(std_mpsc::Sender<StoreBatch>, std::thread::JoinHandle<()>)> {
    let (tx, rx) = std_mpsc::channel::<StoreBatch>();
    let thread = std::thread::Builder::new()
        .name("header-store".into())
        .spawn(move || {
            for batch in rx {
                if let Err(e) = store.apply_batch(batch.iter().map(|(h, o)| (h, o))) {
                    tracing::error!(error = %e, "header store write failed; serving from memory");
                    metrics.store_errors.inc();
                    return;
                }
                let stored = batch.iter().rev().find_map(|(_, outcome)| match outcome {
                    InsertOutcome::Extended { entry } => Some(entry.height),
                    InsertOutcome::Reorg(reorg) => Some(reorg.new_tip.height),
                    _ => None,
                });
                if let Some(height) = stored {
                    metrics.store_height.set(i64::from(height));
                }
            }
        })?;
    Ok((tx, thread))
}

impl std::fmt::Debug for Follower {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Follower")
            .field("network", &self.params.magic)
            .field("tip", &self.tip().height)
            .finish_non_exhaustive()
    }
}

// === impl SharedSink ===

impl HeaderSink for SharedSink<'_> {
    fn params(&self) -> &NetworkParams {
        self.follower.params
    }

    fn locator(&mut self) -> Vec<BlockHash> {
        self.follower.chain.lock().chain.locator()
    }

    fn tip_height(&mut self) -> u32 {
        self.follower.tip().height
    }

    fn knows(&mut self, hash: &BlockHash) -> bool {
        self.follower.knows(hash)
    }

    fn accept(&mut self, headers: Vec<HashedHeader>) -> Result<Accepted, ChainError> {
        self.follower.accept_checked(headers, self.origin)
    }
}

#[cfg(test)]
mod tests;
