//! The cache of verified look-ups: moka, keyed by (name hash, tree root), so an entry is valid
//! exactly as long as its root is trusted. When the trusted root moves, look-ups go to the new
//! key and the old root's entries age out (TTL, or eviction by weight). Absences are entries
//! like any other: the proof of absence is what is cached.
//!
//! Misses for one key share one follower request: moka's `try_get_with` runs one initializer
//! per key and hands its result to every waiter; errors are not cached.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use hnsfleet_hns::name::Name;
use hnsfleet_hns::types::{NameHash, TreeRoot};
use hnsfleet_proto::follower::v1 as pb;
use moka::future::Cache;
use thiserror::Error;
use tokio::time::Instant;

use crate::followers::{FetchError, Followers};
use crate::metrics::Metrics;

/// Bytes charged for an entry beyond its proof and name: the key, the entry and its `Arc`, the
/// look-up message with its small buffers (name hash, root), the proof buffer's shared
/// header, allocator rounding, and moka's per-entry bookkeeping. Measured by
/// `examples/cache_bench.rs` at mainnet proof depth (1,736 resident bytes for a 914-byte proof
/// and a 9-byte name; docs/benchmarks.md), so `cache_capacity` is close to resident memory.
pub const ENTRY_OVERHEAD: u32 = 800;

/// The cache key: an entry is valid exactly as long as its root.
pub type Key = (NameHash, TreeRoot);

/// A verified look-up as cached.
#[derive(Debug)]
pub struct Entry {
    /// The look-up, rebuilt from verified values only.
    pub lookup: pb::NameLookup,
    /// When the cache verified it.
    pub verified_at: Instant,
}

/// A look-up's answer.
#[derive(Debug, Clone)]
pub struct Answer {
    /// The entry.
    pub entry: Arc<Entry>,
    /// Served from the cache (not fetched for this look-up or its single-flight group).
    pub from_cache: bool,
    /// Served while the trusted root is unconfirmed.
    pub stale: bool,
}

/// Why a look-up got no answer.
#[derive(Debug, Clone, Error)]
#[non_exhaustive]
pub enum LookupError {
    /// No root is trusted yet.
    #[error("no trusted root yet: fewer than {quorum} synced followers agree on a safe root")]
    NoTrustedRoot {
        /// Followers that must agree.
        quorum: usize,
    },
    /// The trusted root has been unconfirmed for longer than the cache may serve it.
    #[error("the followers' quorum has been lost for {0:?}, longer than serve_stale")]
    StaleExpired(Duration),
    /// A miss that no follower answered with a verified proof.
    #[error("{0}")]
    Followers(#[from] FetchError),
}

/// The bounded store of verified look-ups (moka, weighed by bytes, TTL).
#[derive(Debug, Clone)]
pub struct Store {
    cache: Cache<Key, Arc<Entry>>,
}

/// The cache and the followers behind it.
#[derive(Debug, Clone)]
pub struct ProofCache {
    store: Store,
    followers: Arc<Followers>,
    metrics: Metrics,
}

/// The weight moka charges for an entry: [`ENTRY_OVERHEAD`], the proof, the name, and the
/// name state and resource only when they are copies rather than views into the proof.
pub fn weight(entry: &Entry) -> u32 {
    let l = &entry.lookup;
    let own = |part: &bytes::Bytes| {
        if within(&l.proof, part) {
            0
        } else {
            part.len()
        }
    };
    let variable = l.proof.len() + l.name.len() + own(&l.name_state) + own(&l.resource);
    ENTRY_OVERHEAD.saturating_add(u32::try_from(variable).unwrap_or(u32::MAX))
}

/// Whether `part` lies inside `whole`'s buffer (a view, not a copy).
fn within(whole: &bytes::Bytes, part: &bytes::Bytes) -> bool {
    let (w, p) = (whole.as_ptr_range(), part.as_ptr_range());
    w.start <= p.start && p.end <= w.end
}

// === impl Store ===

impl Store {
    /// A store of at most `capacity_bytes` (weighed) whose entries live at most `ttl`.
    pub fn new(capacity_bytes: u64, ttl: Duration) -> Store {
        let cache = Cache::builder()
            .max_capacity(capacity_bytes)
            .weigher(|_: &Key, entry: &Arc<Entry>| weight(entry))
            .time_to_live(ttl)
            .build();
        Store { cache }
    }

    /// The entry for `key`, if held.
    pub async fn get(&self, key: &Key) -> Option<Arc<Entry>> {
        self.cache.get(key).await
    }

    /// Holds `entry` under `key` (benches; look-ups insert through single-flight).
    pub async fn insert(&self, key: Key, entry: Arc<Entry>) {
        self.cache.insert(key, entry).await;
    }

    /// Runs moka's pending maintenance (eviction, counts).
    pub async fn sync(&self) {
        self.cache.run_pending_tasks().await;
    }

    /// Entries held (after [`Store::sync`]).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }

    /// Weighed bytes held (after [`Store::sync`]).
    pub fn weighted_size(&self) -> u64 {
        self.cache.weighted_size()
    }
}

// === impl ProofCache ===

impl ProofCache {
    /// A cache over `store`, filled from `followers`.
    pub fn new(followers: Arc<Followers>, store: Store, metrics: Metrics) -> ProofCache {
        ProofCache {
            store,
            followers,
            metrics,
        }
    }

    /// The followers.
    pub fn followers(&self) -> &Arc<Followers> {
        &self.followers
    }

    /// Looks `name` up against the trusted root: a cached entry, or one follower request
    /// shared by every concurrent miss for it.
    pub async fn lookup(&self, name: &Name) -> Result<Answer, LookupError> {
        self.lookup_hashed(name, name.hash()).await
    }

    /// [`ProofCache::lookup`] for a caller that already holds the name's hash (`key` must be
    /// `name.hash()`: a frontend hashes each query name once and reuses it), saving the
    /// SHA3-256 per look-up.
    pub async fn lookup_hashed(&self, name: &Name, key: NameHash) -> Result<Answer, LookupError> {
        let trust = self.followers.snapshot();
        let result = self.lookup_with(name, key, &trust).await;
        match &result {
            Ok(answer) if answer.stale => self.metrics.stale.inc(),
            Ok(_) => {}
            Err(e) => self
                .metrics
                .lookup_errors
                .with_label_values(&[error_label(e)])
                .inc(),
        }
        result
    }

    async fn lookup_with(
        &self,
        name: &Name,
        name_hash: NameHash,
        trust: &crate::trust::TrustSnapshot,
    ) -> Result<Answer, LookupError> {
        let root = trust.root.ok_or(LookupError::NoTrustedRoot {
            quorum: trust.quorum,
        })?;
        if trust.expired {
            return Err(LookupError::StaleExpired(trust.unconfirmed_for));
        }
        let key = (name_hash, root.tree_root);
        if let Some(entry) = self.store.get(&key).await {
            self.metrics.hits.inc();
            return Ok(Answer {
                entry,
                from_cache: true,
                stale: trust.stale,
            });
        }
        let fetched_here = AtomicBool::new(false);
        let result = self
            .store
            .cache
            .try_get_with(key, async {
                fetched_here.store(true, Ordering::Relaxed);
                let fetched = self.followers.fetch(name, root).await?;
                Ok::<_, FetchError>(Arc::new(Entry {
                    lookup: fetched.lookup,
                    verified_at: Instant::now(),
                }))
            })
            .await;
        if fetched_here.load(Ordering::Relaxed) {
            self.metrics.misses.inc();
        } else {
            self.metrics.coalesced.inc();
        }
        let entry = result.map_err(|e| LookupError::Followers((*e).clone()))?;
        Ok(Answer {
            entry,
            from_cache: false,
            stale: trust.stale,
        })
    }

    /// Publishes the entry count and weighed size (after moka's pending maintenance).
    pub async fn publish_size(&self) {
        self.store.sync().await;
        self.metrics
            .entries
            .set(i64::try_from(self.store.entry_count()).unwrap_or(i64::MAX));
        self.metrics
            .size_bytes
            .set(i64::try_from(self.store.weighted_size()).unwrap_or(i64::MAX));
    }
}

/// The `reason` label of a failed look-up.
pub fn error_label(e: &LookupError) -> &'static str {
    match e {
        LookupError::NoTrustedRoot { .. } => "no_trusted_root",
        LookupError::StaleExpired(_) => "stale_expired",
        LookupError::Followers(_) => "followers_unavailable",
    }
}

#[cfg(test)]
mod tests {
    use bytes::Bytes;

    use super::*;

    #[test]
    fn views_into_the_proof_are_not_charged_twice() {
        let state = crate::synthetic::name_state(1);
        let raw = state.encode();
        let mut proof = vec![0u8; 700];
        proof.extend_from_slice(&raw);
        let name = Name::parse("bench1").unwrap();
        let lookup = hnsfleet_proto::convert::name_lookup(
            &name,
            1,
            &TreeRoot([0; 32]),
            Some(&state),
            Bytes::from(proof.clone()),
            None,
            1,
        );
        let viewed = Entry {
            lookup: lookup.clone(),
            verified_at: Instant::now(),
        };
        let expected = ENTRY_OVERHEAD as usize + proof.len() + "bench1".len();
        assert_eq!(weight(&viewed) as usize, expected);
        let copied = Entry {
            lookup: pb::NameLookup {
                name_state: Bytes::copy_from_slice(&lookup.name_state),
                resource: Bytes::copy_from_slice(&lookup.resource),
                ..lookup
            },
            verified_at: Instant::now(),
        };
        assert_eq!(
            weight(&copied) as usize,
            expected + raw.len() + state.data.len()
        );
    }
}
