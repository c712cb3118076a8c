//! The answer cache in front of recursion (moka): answers by (lower-case name, type), kept for
//! their TTL (negative answers for the SOA's negative TTL, RFC 2308), then kept `serve_stale`
//! longer so that an answer whose refresh fails can still be served (RFC 8767: TTL 30 s and
//! EDE "Stale Answer"). Popular answers are refreshed in the background shortly before they
//! expire (prefetch), so hot names never miss. Concurrent misses for one key share one
//! resolution.

use std::sync::Arc;
use std::sync::atomic::{AtomicU32, Ordering};
use std::time::{Duration, Instant};

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use moka::Expiry;
use moka::future::Cache;

use crate::metrics::Metrics;
use crate::recursion::{ResolveFailure, Resolved};

/// TTL of a stale answer (RFC 8767 §4 recommends 30 s).
pub const STALE_TTL: u32 = 30;
/// Longest time an answer is fresh, whatever its TTL (a day, as most resolvers cap).
pub const MAX_TTL: u32 = 86_400;
/// Longest time a negative answer is fresh (RFC 2308 suggests 1–3 hours; Unbound uses 1 h).
pub const MAX_NEGATIVE_TTL: u32 = 3_600;
/// A fresh answer is prefetched when less than this share of its TTL is left...
const PREFETCH_SHARE: u32 = 10;
/// ...and it was asked at least this often.
const PREFETCH_MIN_HITS: u32 = 3;

/// One cached answer.
#[derive(Debug)]
pub struct Entry {
    /// The answer as resolved (TTLs as received).
    pub resolved: Resolved,
    /// When it was resolved.
    pub stored: Instant,
    /// Seconds it is fresh.
    pub ttl: u32,
    hits: AtomicU32,
    prefetching: AtomicU32,
}

/// What the cache gives a query.
#[derive(Debug)]
pub enum Served {
    /// A fresh answer, TTLs counted down.
    Fresh(Resolved),
    /// An expired answer whose refresh failed (TTL [`STALE_TTL`]).
    Stale(Resolved),
}

/// The answer cache.
#[derive(Clone)]
pub struct AnswerCache {
    cache: Cache<(Name, RecordType), Arc<Entry>>,
    serve_stale: Duration,
    prefetch: bool,
    metrics: Metrics,
}

/// Entries live for their TTL plus the serve-stale window.
struct EntryExpiry {
    serve_stale: Duration,
}

// === impl Entry ===

impl Entry {
    fn new(resolved: Resolved) -> Entry {
        let ttl = ttl_of(&resolved);
        Entry {
            resolved,
            stored: Instant::now(),
            ttl,
            hits: AtomicU32::new(0),
            prefetching: AtomicU32::new(0),
        }
    }

    fn age(&self) -> u32 {
        u32::try_from(self.stored.elapsed().as_secs()).unwrap_or(u32::MAX)
    }

    fn is_fresh(&self) -> bool {
        self.age() < self.ttl
    }

    /// The answer with every TTL lowered by the entry's age (or set to `ttl` when given).
    fn aged(&self, fixed: Option<u32>) -> Resolved {
        let age = self.age();
        let adjust = |records: &[Record]| {
            records
                .iter()
                .map(|r| {
                    let mut r = r.clone();
                    r.ttl = fixed.unwrap_or_else(|| r.ttl.min(self.ttl).saturating_sub(age));
                    r
                })
                .collect()
        };
        Resolved {
            rcode: self.resolved.rcode,
            answers: adjust(&self.resolved.answers),
            authorities: adjust(&self.resolved.authorities),
            secure: self.resolved.secure,
        }
    }

    /// Approximate memory of the entry (for the weigher).
    fn weight(&self) -> u32 {
        let records = self.resolved.answers.len() + self.resolved.authorities.len();
        let bytes = 200 + records * 160;
        u32::try_from(bytes).unwrap_or(u32::MAX)
    }
}

/// Seconds an answer is fresh: the smallest TTL of its records (negative answers: the SOA's
/// negative TTL, RFC 2308 §5), capped.
fn ttl_of(resolved: &Resolved) -> u32 {
    if resolved.answers.is_empty() {
        let negative = resolved
            .authorities
            .iter()
            .find_map(|r| match &r.data {
                RData::SOA(soa) => Some(r.ttl.min(soa.minimum)),
                _ => None,
            })
            .unwrap_or(0);
        return negative.min(MAX_NEGATIVE_TTL);
    }
    resolved
        .answers
        .iter()
        .map(|r| r.ttl)
        .min()
        .unwrap_or(0)
        .min(MAX_TTL)
}

// === impl EntryExpiry ===

impl Expiry<(Name, RecordType), Arc<Entry>> for EntryExpiry {
    fn expire_after_create(
        &self,
        _key: &(Name, RecordType),
        entry: &Arc<Entry>,
        _created_at: Instant,
    ) -> Option<Duration> {
        Some(Duration::from_secs(u64::from(entry.ttl)) + self.serve_stale)
    }

    fn expire_after_update(
        &self,
        key: &(Name, RecordType),
        entry: &Arc<Entry>,
        updated_at: Instant,
        _duration_until_expiry: Option<Duration>,
    ) -> Option<Duration> {
        self.expire_after_create(key, entry, updated_at)
    }
}

// === impl AnswerCache ===

impl AnswerCache {
    /// A cache of at most `capacity` bytes (approximately).
    pub fn new(capacity: u64, serve_stale: Duration, prefetch: bool, metrics: Metrics) -> Self {
        let cache = Cache::builder()
            .max_capacity(capacity)
            .weigher(|_key, entry: &Arc<Entry>| entry.weight())
            .expire_after(EntryExpiry { serve_stale })
            .build();
        AnswerCache {
            cache,
            serve_stale,
            prefetch,
            metrics,
        }
    }

    /// The answer for `name`/`qtype`: from the cache when fresh, else from `resolve` (shared
    /// with concurrent callers for the same key); an expired answer is served stale only if
    /// resolving fails. Popular answers close to expiry are refreshed in the background.
    pub async fn get<F, Fut>(
        &self,
        name: &Name,
        qtype: RecordType,
        resolve: F,
    ) -> Result<Served, ResolveFailure>
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Resolved, ResolveFailure>> + Send + 'static,
    {
        let key = (name.to_lowercase(), qtype);
        let cached = self.cache.get(&key).await;
        if let Some(entry) = &cached
            && entry.is_fresh()
        {
            self.metrics.answer_cache.with_label_values(&["hit"]).inc();
            let hits = entry.hits.fetch_add(1, Ordering::Relaxed) + 1;
            if self.prefetch && self.wants_prefetch(entry, hits) {
                self.spawn_prefetch(key, resolve);
            }
            return Ok(Served::Fresh(entry.aged(None)));
        }
        match cached {
            None => {
                self.metrics.answer_cache.with_label_values(&["miss"]).inc();
                let resolving = async {
                    let resolved = resolve().await?;
                    Ok::<_, ResolveFailure>(Arc::new(Entry::new(resolved)))
                };
                match self.cache.try_get_with(key, resolving).await {
                    Ok(entry) => Ok(Served::Fresh(entry.aged(None))),
                    Err(failure) => Err(failure.as_ref().clone()),
                }
            }
            Some(stale) => match resolve().await {
                Ok(resolved) => {
                    self.metrics.answer_cache.with_label_values(&["miss"]).inc();
                    let entry = Arc::new(Entry::new(resolved));
                    let served = entry.aged(None);
                    self.cache.insert(key, entry).await;
                    Ok(Served::Fresh(served))
                }
                Err(failure) if self.serve_stale.is_zero() => Err(failure),
                Err(_) => {
                    self.metrics
                        .answer_cache
                        .with_label_values(&["stale"])
                        .inc();
                    Ok(Served::Stale(stale.aged(Some(STALE_TTL))))
                }
            },
        }
    }

    fn wants_prefetch(&self, entry: &Entry, hits: u32) -> bool {
        if hits < PREFETCH_MIN_HITS || entry.ttl < 10 {
            return false;
        }
        let left = entry.ttl.saturating_sub(entry.age());
        left * PREFETCH_SHARE < entry.ttl
            && entry
                .prefetching
                .compare_exchange(0, 1, Ordering::AcqRel, Ordering::Relaxed)
                .is_ok()
    }

    fn spawn_prefetch<F, Fut>(&self, key: (Name, RecordType), resolve: F)
    where
        F: Fn() -> Fut + Send + Sync + 'static,
        Fut: std::future::Future<Output = Result<Resolved, ResolveFailure>> + Send + 'static,
    {
        self.metrics
            .answer_cache
            .with_label_values(&["prefetch"])
            .inc();
        let cache = self.cache.clone();
        tokio::spawn(async move {
            if let Ok(resolved) = resolve().await
                && matches!(
                    resolved.rcode,
                    ResponseCode::NoError | ResponseCode::NXDomain
                )
            {
                cache.insert(key, Arc::new(Entry::new(resolved))).await;
            }
        });
    }

    /// Entries held (metrics, tests).
    pub fn entry_count(&self) -> u64 {
        self.cache.entry_count()
    }
}

#[cfg(test)]
mod tests;
