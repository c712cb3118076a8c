//! The follower's shared state: the one best chain every peer session feeds, the header store
//! behind it, tip-change events, readiness, and the signing key of its attestations.
//!
//! Sessions insert whole batches under a short lock (validation of 2,000 headers takes a few
//! milliseconds); events and metrics are published after the lock is released. The tip is the
//! most-work valid chain over all peers' headers, so no single peer decides it.

use std::sync::Arc;

use hnsfleet_attestation::{SignedAttestation, TipStatement};
use hnsfleet_hns::chain::{ChainEntry, ChainError, SafeRoot, is_synced};
use hnsfleet_hns::header::Header;
use hnsfleet_hns::params::NetworkParams;
use hnsfleet_hns::types::BlockHash;
use hnsfleet_service_kit::{Check, Readiness};
use parking_lot::Mutex;
use secp256k1::SecretKey;
use tokio::sync::broadcast;

use crate::header_chain::{HeaderChain, InsertOutcome};
use crate::metrics::Metrics;
use crate::store::Store;
use crate::sync::{Accepted, HeaderSink, insert_batch};

/// Tip events buffered per `WatchTip` subscriber before it is told it lagged.
const EVENT_BUFFER: usize = 1024;

/// One change of the best chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TipChange {
    /// The new tip.
    pub tip: ChainEntry,
    /// Blocks disconnected from the previous best chain (0 for an extension).
    pub reorg_depth: u32,
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
    metrics: Metrics,
    readiness: Readiness,
    rules: ReadyRules,
    peers: Mutex<PeerStats>,
    key: SecretKey,
    clock: fn() -> u64,
}

struct ChainState {
    chain: HeaderChain,
    store: Option<Store>,
}

/// A [`HeaderSink`] over the shared chain.
pub struct SharedSink<'a> {
    follower: &'a Follower,
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
        let (events, _) = broadcast::channel(EVENT_BUFFER);
        Arc::new(Follower {
            params,
            chain: Mutex::new(ChainState { chain, store }),
            events,
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

    /// Whether `hash` is on the best chain at `height`.
    pub fn is_on_best_chain(&self, hash: &BlockHash, height: u32) -> bool {
        self.chain.lock().chain.height_of(hash) == Some(height)
    }

    /// Subscribes to tip changes (each subscriber buffers 1,024 events, then is told it lagged).
    pub fn subscribe(&self) -> broadcast::Receiver<TipChange> {
        self.events.subscribe()
    }

    /// A sink for header sync over the shared chain.
    pub fn sink(&self) -> SharedSink<'_> {
        SharedSink { follower: self }
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
    /// work, tip not too old); each rule is a named check on `/readyz`.
    pub fn refresh_readiness(&self) {
        let stats = *self.peers.lock();
        self.readiness.report(ready_checks(
            self.params,
            &self.rules,
            &stats,
            &self.tip(),
            self.now(),
        ));
    }

    /// Inserts a batch (see [`HeaderSink::accept`]), persisting and publishing what changed.
    pub fn accept(&self, headers: Vec<Header>) -> Result<Accepted, ChainError> {
        let now = self.now();
        let mut validated = 0u64;
        let mut store_failed = false;
        let (before, after, result) = {
            let mut state = self.chain.lock();
            let ChainState { chain, store } = &mut *state;
            let before = chain.tip();
            let mut done: Vec<(Header, InsertOutcome)> = Vec::new();
            let result = insert_batch(chain, headers, now, &mut |header, outcome| {
                if !matches!(outcome, InsertOutcome::Duplicate | InsertOutcome::Orphan) {
                    validated += 1;
                }
                done.push((header.clone(), outcome.clone()));
            });
            // One sync per batch; also after an invalid header, for the valid prefix.
            if let Some(s) = store.as_mut()
                && let Err(e) = s.apply_batch(done.iter().map(|(h, o)| (h, o)))
            {
                tracing::error!(error = %e, "header store write failed; serving from memory");
                store_failed = true;
            }
            if store_failed {
                // A half-written store would be cut on the next open; stop writing to it.
                *store = None;
            }
            (before, chain.tip(), result)
        };
        self.metrics.headers_validated.inc_by(validated);
        if store_failed {
            self.metrics.store_errors.inc();
        }
        let reorg_depth = match &result {
            Ok(accepted) => accepted.reorgs.iter().map(|r| r.depth).max().unwrap_or(0),
            Err(_) => 0,
        };
        if let Ok(accepted) = &result {
            for reorg in &accepted.reorgs {
                self.metrics.reorg_depth.observe(f64::from(reorg.depth));
            }
        }
        if after.hash != before.hash {
            self.metrics.tip_height.set(i64::from(after.height));
            // No subscriber is not an error.
            let _ = self.events.send(TipChange {
                tip: after,
                reorg_depth,
            });
            self.refresh_readiness();
        }
        result
    }
}

/// The readiness rules, one [`Check`] each: `peers`, `synced_once`, `near_best_peer`,
/// `chain_synced`.
fn ready_checks(
    params: &NetworkParams,
    rules: &ReadyRules,
    stats: &PeerStats,
    tip: &ChainEntry,
    now: u64,
) -> Vec<Check> {
    let behind = stats.best_height.saturating_sub(tip.height);
    let age = now.saturating_sub(tip.time);
    vec![
        Check::new(
            "peers",
            stats.connected >= rules.min_peers,
            format!(
                "{} of {} required connected",
                stats.connected, rules.min_peers
            ),
        ),
        Check::new(
            "synced_once",
            stats.synced_once,
            if stats.synced_once {
                "a header sync round finished"
            } else {
                "no header sync round finished yet"
            },
        ),
        Check::new(
            "near_best_peer",
            tip.height.saturating_add(rules.within) >= stats.best_height,
            format!(
                "tip {} is {behind} behind the best peer height {} (at most {})",
                tip.height, stats.best_height, rules.within
            ),
        ),
        Check::new(
            "chain_synced",
            is_synced(params, tip, now),
            format!(
                "tip {} is {age} s old (at most {}), minimum chainwork {}",
                tip.height,
                params.max_tip_age,
                if tip.chainwork >= params.pow.min_chainwork {
                    "reached"
                } else {
                    "not reached"
                }
            ),
        ),
    ]
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
    fn locator(&mut self) -> Vec<BlockHash> {
        self.follower.chain.lock().chain.locator()
    }

    fn tip_height(&mut self) -> u32 {
        self.follower.tip().height
    }

    fn accept(&mut self, headers: Vec<Header>) -> Result<Accepted, ChainError> {
        self.follower.accept(headers)
    }
}

#[cfg(test)]
mod tests;
