//! [`IcannRoot`]: the cached, single-flight client over the transport and the validator.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use moka::Expiry;
use moka::future::Cache;

use crate::transport::exchange;
use crate::validate::{RootKeys, validate_referral, validate_root_keys};
use crate::{AttemptError, Bogus, Fallback, IcannConfig, IcannError, IcannMetrics};

/// Client for the ICANN root: validated TLD delegations, cached. Cheap to clone (shared
/// caches).
#[derive(Clone)]
pub struct IcannRoot {
    inner: Arc<Inner>,
}

struct Inner {
    config: IcannConfig,
    /// The validated root keys (or the last failure to get them), one entry.
    keys: Cache<(), Timed<Result<RootKeys, IcannError>>>,
    /// Per lower-cased TLD: the validated result or the last failure.
    tlds: Cache<Name, Timed<Result<Fallback, IcannError>>>,
    /// Rotates the first server tried across look-ups.
    next_server: AtomicUsize,
    metrics: Option<IcannMetrics>,
}

/// A cached value and how long it lives.
#[derive(Clone)]
struct Timed<T> {
    value: T,
    ttl: Duration,
}

/// Expires each entry after its own TTL.
struct ByTtl;

// === impl IcannRoot ===

impl IcannRoot {
    /// Checks the configuration and builds the (empty) caches.
    pub fn new(config: IcannConfig) -> Result<IcannRoot, IcannError> {
        config.validate()?;
        let keys = Cache::builder().max_capacity(1).expire_after(ByTtl).build();
        let tlds = Cache::builder()
            .max_capacity(config.cache_capacity)
            .expire_after(ByTtl)
            .build();
        let start = usize::from(rand::random::<u8>()) % config.servers.len();
        Ok(IcannRoot {
            inner: Arc::new(Inner {
                config,
                keys,
                tlds,
                next_server: AtomicUsize::new(start),
                metrics: None,
            }),
        })
    }

    /// Counts look-ups and upstream queries into `metrics` (call before cloning).
    pub fn with_metrics(mut self, metrics: IcannMetrics) -> IcannRoot {
        if let Some(inner) = Arc::get_mut(&mut self.inner) {
            inner.metrics = Some(metrics);
        }
        self
    }

    /// The configuration in use.
    pub fn config(&self) -> &IcannConfig {
        &self.inner.config
    }

    /// What the ICANN root says about `tld` (one label, any case), validated. Concurrent calls
    /// for the same TLD share one upstream look-up; results live for their TTL, failures for
    /// [`IcannConfig::negative_ttl`].
    pub async fn delegation(&self, tld: &Name) -> Result<Fallback, IcannError> {
        if tld.num_labels() != 1 || tld.is_wildcard() {
            return Err(IcannError::NotATld(tld.to_string()));
        }
        let mut key = tld.to_lowercase();
        key.set_fqdn(true);
        let entry = self
            .inner
            .tlds
            .get_with_by_ref(&key, async {
                let value = self.resolve(&key).await;
                let ttl = match &value {
                    Ok((_, ttl)) => *ttl,
                    Err(_) => self.inner.config.negative_ttl,
                };
                Timed {
                    value: value.map(|(f, _)| f),
                    ttl,
                }
            })
            .await;
        if let Some(m) = &self.inner.metrics {
            let outcome = match &entry.value {
                Ok(Fallback::Delegation(_)) => "delegation",
                Ok(Fallback::NxDomain) => "nxdomain",
                Err(_) => "error",
            };
            m.lookups.with_label_values(&[outcome]).inc();
        }
        entry.value
    }

    /// The validated root zone keys (cached for their TTL; a failure for the negative TTL).
    pub async fn root_keys(&self) -> Result<RootKeys, IcannError> {
        self.inner
            .keys
            .get_with((), async {
                let value = self.fetch_keys().await;
                let ttl = match &value {
                    Ok(keys) => keys.ttl(),
                    Err(_) => self.inner.config.negative_ttl,
                };
                Timed { value, ttl }
            })
            .await
            .value
    }

    /// Forgets every cached key set, result and failure.
    pub fn clear(&self) {
        self.inner.keys.invalidate_all();
        self.inner.tlds.invalidate_all();
    }

    async fn fetch_keys(&self) -> Result<RootKeys, IcannError> {
        let config = &self.inner.config;
        self.ask(&Name::root(), RecordType::DNSKEY, |msg| {
            validate_root_keys(msg, &config.anchors, unix_now(), config.max_ttl)
        })
        .await
    }

    async fn resolve(&self, tld: &Name) -> Result<(Fallback, Duration), IcannError> {
        let keys = self.root_keys().await?;
        let max_ttl = self.inner.config.max_ttl;
        let result = self
            .ask(tld, RecordType::NS, |msg| {
                validate_referral(tld, msg, &keys, unix_now(), max_ttl)
            })
            .await;
        if let Err(IcannError::Bogus {
            reason: Bogus::NoValidSignature(_),
            ..
        }) = &result
        {
            // The root may have rolled its zone key since the set was cached: fetch it again
            // on the next look-up (after this failure's negative TTL).
            self.inner.keys.invalidate(&()).await;
        }
        result
    }

    /// Asks up to `attempts` servers in turn until one answer validates. A validation failure
    /// is reported in preference to transport failures.
    async fn ask<T>(
        &self,
        name: &Name,
        rtype: RecordType,
        validate: impl Fn(&Message) -> Result<T, Bogus>,
    ) -> Result<T, IcannError> {
        let config = &self.inner.config;
        let first = self.inner.next_server.fetch_add(1, Ordering::Relaxed);
        let mut last = AttemptError::Timeout;
        let mut bogus = None;
        for attempt in 0..config.attempts {
            let index = (first + attempt as usize) % config.servers.len();
            let server = config.servers[index];
            match exchange(server, name, rtype, config.timeout).await {
                Ok(msg) => match validate(&msg) {
                    Ok(value) => {
                        self.count(Ok(()), false);
                        return Ok(value);
                    }
                    Err(reason) => {
                        tracing::warn!(%server, %name, %rtype, %reason, "bogus answer from the icann root");
                        self.count(Ok(()), true);
                        bogus = Some(reason);
                    }
                },
                Err(e) => {
                    tracing::debug!(%server, %name, %rtype, error = %e, "icann root attempt failed");
                    self.count(Err(&e), false);
                    last = e;
                }
            }
        }
        match bogus {
            Some(reason) => Err(IcannError::Bogus {
                qtype: rtype,
                reason,
            }),
            None => Err(IcannError::Unreachable {
                attempts: config.attempts,
                last,
            }),
        }
    }

    fn count(&self, result: Result<(), &AttemptError>, bogus: bool) {
        if let Some(m) = &self.inner.metrics {
            m.upstream(result, bogus);
        }
    }
}

impl std::fmt::Debug for IcannRoot {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("IcannRoot")
            .field("servers", &self.inner.config.servers)
            .field("cached_tlds", &self.inner.tlds.entry_count())
            .finish()
    }
}

// === impl ByTtl ===

impl<K, T> Expiry<K, Timed<T>> for ByTtl {
    fn expire_after_create(
        &self,
        _key: &K,
        value: &Timed<T>,
        _created_at: std::time::Instant,
    ) -> Option<Duration> {
        Some(value.ttl)
    }
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0)
}
