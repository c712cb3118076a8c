//! The client a frontend uses to reach the proof-cache tier (`hnsfleet.cache.v1`).
//!
//! - **Sharding.** Names are spread over the cache replicas by rendezvous hashing
//!   (`hnsfleet-upstream`) on the name's tree key (SHA3-256 of the canonical name), so every
//!   frontend, whatever its version, sends a given name to the same replica and each replica
//!   caches only its share. The replica set comes from a `ReplicaWatcher` the caller runs (a
//!   static list, or a DNS name such as a Kubernetes headless Service); when it changes, only
//!   the names of the replicas that left or joined move.
//! - **Connections.** One lazily connected tonic `Channel` per replica, kept while the replica
//!   stays in the set: a set change adds channels for replicas that joined and drops those of
//!   replicas that left, and touches no other (no reconnect storm).
//! - **Failover.** [`CacheClient::lookup`] asks the name's replicas in rendezvous order, at most
//!   [`ClientOptions::max_attempts`] of them, each within
//!   [`ClientOptions::attempt_timeout`], all within [`ClientOptions::deadline`]. Any failure of
//!   a replica (unreachable, `UNAVAILABLE`, `RESOURCE_EXHAUSTED`, `DEADLINE_EXCEEDED`, an
//!   answer that does not verify) moves on to the next; `INVALID_ARGUMENT` is about the request
//!   itself, so it is returned at once.
//! - **Trust.** Every answer is re-verified with `hnsfleet-verify` as the answer for the name
//!   asked; only a [`VerifiedLookup`] comes out. A replica that sends an unverifiable answer is
//!   counted and skipped like an unreachable one.
//!
//! This crate must not: trust a replica (`from_cache`, `age` and `stale` are the replica's
//! word, context for metrics and logs, never for what is served); retry without bound (at most
//! `max_attempts` replicas per look-up, one deadline); spawn tasks of its own or read the
//! replica set from anywhere but the `watch` channel it is given.
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::Duration;

use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_hns::header::Header;
use hnsfleet_hns::name::Name;
use hnsfleet_hns::params::Network;
use hnsfleet_proto::cache::v1 as pb;
use hnsfleet_proto::cache::v1::proof_cache_service_client::ProofCacheServiceClient;
use hnsfleet_upstream::{Rendezvous, Replica};
use hnsfleet_verify::{LookupClaim, VerifiedLookup, verify_lookup};
use tokio::sync::watch;
use tokio::time::Instant;

mod error;
mod metrics;
mod pool;

pub use error::{CacheClientError, ReplicaError, ReplicaFailure};
pub use hnsfleet_proto::cache::v1::ErrorReason;
pub use metrics::{
    ATTEMPT_ERROR_REASONS, ATTEMPT_ERRORS, CacheClientMetrics, FAILOVERS, REPLICAS,
    REQUEST_RESULTS, REQUESTS,
};

use pool::{ChannelPool, Channels};

/// The largest response accepted from a replica. A look-up is a name state (under 1 KiB) and
/// an Urkel proof (at most 256 nodes of 33 bytes plus a terminal), so this is several times
/// the largest honest answer; a replica cannot make the client buffer more.
pub const MAX_RESPONSE_BYTES: usize = 64 * 1024;

/// How hard [`CacheClient::lookup`] tries.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ClientOptions {
    /// Longest wait for one replica's answer (connecting included); past it, the next replica
    /// is asked. Also sent as the call's `grpc-timeout`, so the replica stops working on it.
    pub attempt_timeout: Duration,
    /// Longest time one look-up takes over all its attempts.
    pub deadline: Duration,
    /// Most replicas asked for one look-up (the first is the name's owner).
    pub max_attempts: usize,
    /// Longest wait for a TCP connection to a replica.
    pub connect_timeout: Duration,
}

/// A look-up a cache replica answered, re-verified here.
#[derive(Debug, Clone)]
#[non_exhaustive]
pub struct CachedLookup {
    /// The look-up, verified as the answer for the name asked.
    pub lookup: VerifiedLookup,
    /// The replica said it answered from its cache (not from a follower). Not proven.
    pub from_cache: bool,
    /// How long ago the replica said it verified the proof. Not proven.
    pub age: Duration,
    /// The replica said it served this while it had lost its quorum of followers. Not proven.
    pub stale: bool,
    /// The replica that answered.
    pub replica: Replica,
}

/// Looks names up in the proof-cache tier. Cheap to clone: clones share the channels.
#[derive(Debug, Clone)]
pub struct CacheClient {
    replicas: watch::Receiver<Arc<Rendezvous>>,
    pool: Arc<ChannelPool>,
    options: ClientOptions,
    metrics: Option<CacheClientMetrics>,
}

// === impl ClientOptions ===

impl ClientOptions {
    /// Checks that every duration is positive, at least one attempt is allowed, and the
    /// timeouts nest: `connect_timeout <= attempt_timeout <= deadline`.
    pub fn validate(&self) -> Result<(), CacheClientError> {
        let invalid = |reason| Err(CacheClientError::InvalidOptions(reason));
        if self.attempt_timeout.is_zero() || self.deadline.is_zero() {
            return invalid("timeouts must be positive");
        }
        if self.connect_timeout.is_zero() {
            return invalid("connect_timeout must be positive");
        }
        if self.max_attempts == 0 {
            return invalid("max_attempts must be at least 1");
        }
        if self.attempt_timeout > self.deadline {
            return invalid("attempt_timeout must not exceed the deadline");
        }
        if self.connect_timeout > self.attempt_timeout {
            return invalid("connect_timeout must not exceed attempt_timeout");
        }
        Ok(())
    }
}

impl Default for ClientOptions {
    /// Up to 3 replicas, 2 s each, 5 s in all, 500 ms to connect: a cache hit takes a
    /// loopback-to-LAN round trip and a miss one follower proof (the cache hedges slow
    /// followers itself), so a replica silent for 2 s is better skipped.
    fn default() -> Self {
        Self {
            attempt_timeout: Duration::from_secs(2),
            deadline: Duration::from_secs(5),
            max_attempts: 3,
            connect_timeout: Duration::from_millis(500),
        }
    }
}

// === impl CacheClient ===

impl CacheClient {
    /// A client over the replica sets published on `replicas` (from a `ReplicaWatcher`).
    /// Connects to nothing yet: channels are made on the first look-up after each set change,
    /// and connect on their first call.
    pub fn new(
        replicas: watch::Receiver<Arc<Rendezvous>>,
        options: ClientOptions,
    ) -> Result<Self, CacheClientError> {
        options.validate()?;
        Ok(Self {
            replicas,
            pool: Arc::new(ChannelPool::new(options.connect_timeout)),
            options,
            metrics: None,
        })
    }

    /// The same client, recording into `metrics`.
    pub fn with_metrics(mut self, metrics: CacheClientMetrics) -> Self {
        metrics.set_replicas(self.replicas.borrow().replicas().len());
        self.metrics = Some(metrics);
        self
    }

    /// The replica set look-ups are sharded over now.
    pub fn replicas(&self) -> Arc<Rendezvous> {
        Arc::clone(&self.replicas.borrow())
    }

    /// Looks `name` up: asks its replicas in rendezvous order until one sends an answer that
    /// verifies for `name`, within the options' limits (see the crate docs for what fails
    /// over). The error names the replica whose failure ended the look-up.
    pub async fn lookup(&self, name: &Name) -> Result<CachedLookup, CacheClientError> {
        let result = self.try_replicas(name).await;
        if let Some(metrics) = &self.metrics {
            metrics.record_request(result.as_ref().err());
        }
        result
    }

    async fn try_replicas(&self, name: &Name) -> Result<CachedLookup, CacheClientError> {
        let key = name.hash();
        self.ranked_attempts(
            key.as_bytes(),
            name.as_str(),
            self.metrics.as_ref(),
            |channels, replica, budget| async move {
                self.attempt(&channels, &replica, name, budget).await
            },
        )
        .await
    }

    /// Asks the replicas ranked for `key`, at most [`ClientOptions::max_attempts`] of them
    /// within [`ClientOptions::deadline`] (each within [`ClientOptions::attempt_timeout`]),
    /// until `attempt` succeeds; an error that does not fail over ends it at once. Failovers
    /// and failed attempts go to `metrics` when given; `what` names the request in logs.
    async fn ranked_attempts<T, F, Fut>(
        &self,
        key: &[u8],
        what: &str,
        metrics: Option<&CacheClientMetrics>,
        mut attempt: F,
    ) -> Result<T, CacheClientError>
    where
        // Owned arguments (not an async closure over borrowed ones): the look-up's future stays
        // `Send` for every caller, however deep it is awaited.
        F: FnMut(Arc<Channels>, Replica, Duration) -> Fut,
        Fut: std::future::Future<Output = Result<T, ReplicaError>>,
    {
        let started = Instant::now();
        let channels = self.channels();
        let mut attempts = 0;
        let mut last = None;
        for replica in channels
            .rendezvous()
            .ranked(key)
            .take(self.options.max_attempts)
        {
            let remaining = self.options.deadline.saturating_sub(started.elapsed());
            if attempts > 0 {
                if remaining.is_zero() {
                    break;
                }
                if let Some(metrics) = metrics {
                    metrics.failovers.inc();
                }
            }
            attempts += 1;
            let budget = remaining.min(self.options.attempt_timeout);
            let error = match attempt(Arc::clone(&channels), *replica, budget).await {
                Ok(found) => return Ok(found),
                Err(error) => error,
            };
            if let Some(metrics) = metrics {
                metrics.record_attempt_error(&error);
            }
            let failure = ReplicaFailure {
                replica: *replica,
                error,
            };
            if !failure.error.fails_over() {
                return Err(CacheClientError::Rejected(failure));
            }
            tracing::debug!(
                replica = %failure.replica,
                what,
                error = %failure.error,
                attempt = attempts,
                "proof-cache replica failed"
            );
            last = Some(failure);
        }
        match last {
            Some(last) => Err(CacheClientError::Unavailable { attempts, last }),
            None => Err(CacheClientError::NoReplicas),
        }
    }

    /// One call to `replica`, within `budget`, and the re-verification of its answer.
    async fn attempt(
        &self,
        channels: &Channels,
        replica: &Replica,
        name: &Name,
        budget: Duration,
    ) -> Result<CachedLookup, ReplicaError> {
        let channel = channels.get(replica)?;
        let mut client =
            ProofCacheServiceClient::new(channel).max_decoding_message_size(MAX_RESPONSE_BYTES);
        let mut request = tonic::Request::new(pb::LookupNameRequest {
            name: name.as_str().to_owned(),
        });
        request.set_timeout(budget);
        let response = match tokio::time::timeout(budget, client.lookup_name(request)).await {
            Ok(Ok(response)) => response.into_inner(),
            // tonic also enforces the `grpc-timeout` it sends; whichever timer fires first, an
            // attempt out of time is a timeout.
            Ok(Err(status)) if error::timed_out(&status) => {
                return Err(ReplicaError::Timeout(budget));
            }
            Ok(Err(status)) => return Err(ReplicaError::from_status(&status)),
            Err(_) => return Err(ReplicaError::Timeout(budget)),
        };
        let wire = response
            .lookup
            .as_ref()
            .ok_or(ReplicaError::MissingLookup)?;
        let lookup = verify_lookup(name, LookupClaim::try_from(wire)?)?;
        Ok(CachedLookup {
            lookup,
            from_cache: response.from_cache,
            age: Duration::from_millis(response.age_millis),
            stale: response.stale,
            replica: *replica,
        })
    }

    /// The headers that tie `root` to proof of work, for a proof bundle: asks the replicas in
    /// rendezvous order of the root (so one replica's followers are asked per root) until
    /// one sends headers that verify ([`hnsfleet_verify::verify_header_chain`]), within the
    /// options' limits. Returns the first header's height and the headers. Only on request:
    /// no look-up needs it.
    pub async fn headers(
        &self,
        root: SafeRoot,
        network: Network,
    ) -> Result<(u32, Vec<Header>), CacheClientError> {
        let what = format!("headers of root {}", root.tree_root.to_hex());
        self.ranked_attempts(
            root.tree_root.as_bytes(),
            &what,
            None,
            |channels, replica, budget| async move {
                self.headers_from(&channels, &replica, root, network, budget)
                    .await
            },
        )
        .await
    }

    async fn headers_from(
        &self,
        channels: &Channels,
        replica: &Replica,
        root: SafeRoot,
        network: Network,
        budget: Duration,
    ) -> Result<(u32, Vec<Header>), ReplicaError> {
        let channel = channels.get(replica)?;
        let mut client =
            ProofCacheServiceClient::new(channel).max_decoding_message_size(MAX_RESPONSE_BYTES);
        let mut request = tonic::Request::new(pb::GetHeadersRequest {
            root: Some(hnsfleet_proto::follower::v1::SafeRoot::from(&root)),
        });
        request.set_timeout(budget);
        let response = match tokio::time::timeout(budget, client.get_headers(request)).await {
            Ok(Ok(response)) => response.into_inner(),
            Ok(Err(status)) if error::timed_out(&status) => {
                return Err(ReplicaError::Timeout(budget));
            }
            Ok(Err(status)) => return Err(ReplicaError::from_status(&status)),
            Err(_) => return Err(ReplicaError::Timeout(budget)),
        };
        let chain = response.chain.unwrap_or_default();
        let headers = hnsfleet_verify::verify_header_chain(
            network.params(),
            &root.tree_root,
            root.height,
            chain.first_height,
            &chain.headers,
        )?;
        Ok((chain.first_height, headers))
    }

    /// The tree root the replicas trust now: asks every replica (within
    /// [`ClientOptions::attempt_timeout`] each, concurrently) and returns the answers of those
    /// that have one. Frontends use it for readiness: none means no verified data can be
    /// served. The replicas' word, not proven; look-ups are verified on their own.
    pub async fn trusted_roots(&self) -> Vec<(Replica, pb::TrustedRoot)> {
        let channels = self.channels();
        let budget = self.options.attempt_timeout;
        let asks = channels.rendezvous().replicas().iter().map(|replica| {
            let channel = channels.get(replica);
            async move {
                let mut client = ProofCacheServiceClient::new(channel.ok()?)
                    .max_decoding_message_size(MAX_RESPONSE_BYTES);
                let mut request = tonic::Request::new(pb::GetTrustedRootRequest {});
                request.set_timeout(budget);
                let response = tokio::time::timeout(budget, client.get_trusted_root(request))
                    .await
                    .ok()?
                    .ok()?;
                Some((*replica, response.into_inner().trusted_root?))
            }
        });
        futures_util::future::join_all(asks)
            .await
            .into_iter()
            .flatten()
            .collect()
    }

    /// The channels of the current replica set, brought up to date if the set changed.
    fn channels(&self) -> Arc<Channels> {
        let (channels, changed) = self.pool.channels_for(&self.replicas);
        if changed && let Some(metrics) = &self.metrics {
            metrics.set_replicas(channels.rendezvous().replicas().len());
        }
        channels
    }
}

#[cfg(test)]
mod tests;
