//! The proof-cache's Prometheus metrics (`hnsfleet_cache_<what>[_<unit>]`, counters `_total`),
//! registered into the registry `main` creates. Names are `pub const`s so dashboards and tests
//! refer to the same strings. Follower-labelled series carry the follower's URL as configured
//! (a bounded set).

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry,
};

/// Look-ups answered from the cache.
pub const HITS: &str = "hnsfleet_cache_hits_total";
/// Look-ups that asked a follower (one per single-flight group).
pub const MISSES: &str = "hnsfleet_cache_misses_total";
/// Look-ups that waited for another look-up's follower request for the same name and root.
pub const COALESCED: &str = "hnsfleet_cache_coalesced_total";
/// Answers served while the trusted root was unconfirmed (marked stale).
pub const STALE: &str = "hnsfleet_cache_stale_total";
/// Look-ups that failed, by reason (the API's error reasons, lower case).
pub const LOOKUP_ERRORS: &str = "hnsfleet_cache_lookup_errors_total";
/// Requests sent to followers (including hedges).
pub const FOLLOWER_REQUESTS: &str = "hnsfleet_cache_follower_requests_total";
/// Follower requests that failed without a lie, by follower and reason.
pub const FOLLOWER_ERRORS: &str = "hnsfleet_cache_follower_errors_total";
/// Follower answers refused as lies, by follower and reason (`bad_proof`, `bad_headers`,
/// `wrong_root`, `malformed`, `wrong_network`), and followers found on another branch than the quorum's
/// root (`minority_fork`, once per episode).
pub const FOLLOWER_LIES: &str = "hnsfleet_cache_follower_lies_total";
/// Time of one follower request, by follower and result (`ok`, `error`, `lie`).
pub const FOLLOWER_LATENCY: &str = "hnsfleet_cache_follower_latency_seconds";
/// Misses also sent to another follower because the first was slow or failed.
pub const FOLLOWER_HEDGES: &str = "hnsfleet_cache_follower_hedges_total";
/// Followers by state ([`FOLLOWER_STATES`]).
pub const FOLLOWERS: &str = "hnsfleet_cache_followers";
/// The `state` label values of [`FOLLOWERS`]: synced and announcing the trusted root (or any
/// root while none is trusted), a later root, another root; connected but not synced
/// (`syncing`: its root does not vote); `disconnected`; `quarantined`.
pub const FOLLOWER_STATES: [&str; 6] = [
    "agreeing",
    "ahead",
    "disagreeing",
    "syncing",
    "disconnected",
    "quarantined",
];
/// Entries held.
pub const ENTRIES: &str = "hnsfleet_cache_entries";
/// Weighed size of the entries held.
pub const SIZE: &str = "hnsfleet_cache_size_bytes";
/// Height of the header carrying the trusted root (0 before there is one).
pub const TRUSTED_ROOT_HEIGHT: &str = "hnsfleet_cache_trusted_root_height";
/// 1 while the trusted root is unconfirmed beyond the grace (answers marked stale).
pub const TRUSTED_ROOT_STALE: &str = "hnsfleet_cache_trusted_root_stale";
/// 1 while the trusted root is the reorg-watchdog's frozen root instead of the quorum's.
pub const TRUSTED_ROOT_IMPOSED: &str = "hnsfleet_cache_trusted_root_imposed";
/// Times the trusted root moved.
pub const ROOT_CHANGES: &str = "hnsfleet_cache_trusted_root_changes_total";

/// Reasons a look-up fails (label of [`LOOKUP_ERRORS`]).
pub const LOOKUP_ERROR_REASONS: [&str; 3] =
    ["no_trusted_root", "followers_unavailable", "stale_expired"];
/// Reasons a follower request fails without a lie (label of [`FOLLOWER_ERRORS`]): the
/// follower's error reason in lower case, or the transport's.
pub const FOLLOWER_ERROR_REASONS: [&str; 13] = [
    "timeout",
    "not_synced",
    "no_peers",
    "proof_timeout",
    "all_peers_failed",
    "deadline_exceeded",
    "overloaded",
    "draining",
    "unknown_root",
    "refused",
    "unavailable",
    "cancelled",
    "other",
];
/// Results of a follower request (label of [`FOLLOWER_LATENCY`]).
pub const FOLLOWER_RESULTS: [&str; 3] = ["ok", "error", "lie"];
/// Reasons a follower lies (label of [`FOLLOWER_LIES`]).
pub const LIE_REASONS: [&str; 6] = [
    "bad_proof",
    "bad_headers",
    "wrong_root",
    "malformed",
    "wrong_network",
    "minority_fork",
];

/// Handles to every proof-cache metric.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// See [`HITS`].
    pub hits: IntCounter,
    /// See [`MISSES`].
    pub misses: IntCounter,
    /// See [`COALESCED`].
    pub coalesced: IntCounter,
    /// See [`STALE`].
    pub stale: IntCounter,
    /// See [`LOOKUP_ERRORS`]; label `reason`.
    pub lookup_errors: IntCounterVec,
    /// See [`FOLLOWER_REQUESTS`]; label `follower`.
    pub follower_requests: IntCounterVec,
    /// See [`FOLLOWER_ERRORS`]; labels `follower`, `reason`.
    pub follower_errors: IntCounterVec,
    /// See [`FOLLOWER_LIES`]; labels `follower`, `reason`.
    pub follower_lies: IntCounterVec,
    /// See [`FOLLOWER_LATENCY`]; labels `follower`, `result`.
    pub follower_latency: HistogramVec,
    /// See [`FOLLOWER_HEDGES`].
    pub follower_hedges: IntCounter,
    /// See [`FOLLOWERS`]; label `state`.
    pub followers: IntGaugeVec,
    /// See [`ENTRIES`].
    pub entries: IntGauge,
    /// See [`SIZE`].
    pub size_bytes: IntGauge,
    /// See [`TRUSTED_ROOT_HEIGHT`].
    pub trusted_root_height: IntGauge,
    /// See [`TRUSTED_ROOT_STALE`].
    pub trusted_root_stale: IntGauge,
    /// See [`TRUSTED_ROOT_IMPOSED`].
    pub trusted_root_imposed: IntGauge,
    /// See [`ROOT_CHANGES`].
    pub root_changes: IntCounter,
}

// === impl Metrics ===

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Metrics> {
        let m = Metrics::unregistered()?;
        registry.register(Box::new(m.hits.clone()))?;
        registry.register(Box::new(m.misses.clone()))?;
        registry.register(Box::new(m.coalesced.clone()))?;
        registry.register(Box::new(m.stale.clone()))?;
        registry.register(Box::new(m.lookup_errors.clone()))?;
        registry.register(Box::new(m.follower_requests.clone()))?;
        registry.register(Box::new(m.follower_errors.clone()))?;
        registry.register(Box::new(m.follower_lies.clone()))?;
        registry.register(Box::new(m.follower_latency.clone()))?;
        registry.register(Box::new(m.follower_hedges.clone()))?;
        registry.register(Box::new(m.followers.clone()))?;
        registry.register(Box::new(m.entries.clone()))?;
        registry.register(Box::new(m.size_bytes.clone()))?;
        registry.register(Box::new(m.trusted_root_height.clone()))?;
        registry.register(Box::new(m.trusted_root_stale.clone()))?;
        registry.register(Box::new(m.trusted_root_imposed.clone()))?;
        registry.register(Box::new(m.root_changes.clone()))?;
        Ok(m)
    }

    /// Metrics attached to no registry (tests, benches), every fixed label value at zero.
    pub fn unregistered() -> prometheus::Result<Metrics> {
        let latency_buckets = vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        let m = Metrics {
            hits: IntCounter::new(HITS, "Look-ups answered from the cache.")?,
            misses: IntCounter::new(MISSES, "Look-ups that asked a follower.")?,
            coalesced: IntCounter::new(
                COALESCED,
                "Look-ups that waited for another look-up's follower request.",
            )?,
            stale: IntCounter::new(STALE, "Answers served marked stale.")?,
            lookup_errors: IntCounterVec::new(
                Opts::new(LOOKUP_ERRORS, "Look-ups that failed, by reason."),
                &["reason"],
            )?,
            follower_requests: IntCounterVec::new(
                Opts::new(FOLLOWER_REQUESTS, "Requests sent to followers."),
                &["follower"],
            )?,
            follower_errors: IntCounterVec::new(
                Opts::new(FOLLOWER_ERRORS, "Failed follower requests, by reason."),
                &["follower", "reason"],
            )?,
            follower_lies: IntCounterVec::new(
                Opts::new(
                    FOLLOWER_LIES,
                    "Follower answers refused as lies, by reason.",
                ),
                &["follower", "reason"],
            )?,
            follower_latency: HistogramVec::new(
                HistogramOpts::new(FOLLOWER_LATENCY, "Time of one follower request, by result.")
                    .buckets(latency_buckets),
                &["follower", "result"],
            )?,
            follower_hedges: IntCounter::new(
                FOLLOWER_HEDGES,
                "Misses also sent to another follower.",
            )?,
            followers: IntGaugeVec::new(Opts::new(FOLLOWERS, "Followers by state."), &["state"])?,
            entries: IntGauge::new(ENTRIES, "Cached look-ups held.")?,
            size_bytes: IntGauge::new(SIZE, "Weighed size of the cached look-ups.")?,
            trusted_root_height: IntGauge::new(
                TRUSTED_ROOT_HEIGHT,
                "Height of the header carrying the trusted root.",
            )?,
            trusted_root_stale: IntGauge::new(
                TRUSTED_ROOT_STALE,
                "1 while the trusted root is unconfirmed and answers are marked stale.",
            )?,
            trusted_root_imposed: IntGauge::new(
                TRUSTED_ROOT_IMPOSED,
                "1 while the trusted root is the reorg-watchdog's frozen root.",
            )?,
            root_changes: IntCounter::new(ROOT_CHANGES, "Times the trusted root moved.")?,
        };
        for reason in LOOKUP_ERROR_REASONS {
            m.lookup_errors.with_label_values(&[reason]);
        }
        for state in FOLLOWER_STATES {
            m.followers.with_label_values(&[state]);
        }
        Ok(m)
    }

    /// Creates the per-follower series at zero for `follower`, so dashboards and alerts see
    /// them before the first event.
    pub fn add_follower(&self, follower: &str) {
        self.follower_requests.with_label_values(&[follower]);
        for reason in LIE_REASONS {
            self.follower_lies.with_label_values(&[follower, reason]);
        }
        for reason in FOLLOWER_ERROR_REASONS {
            self.follower_errors.with_label_values(&[follower, reason]);
        }
        for result in FOLLOWER_RESULTS {
            self.follower_latency.with_label_values(&[follower, result]);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions() {
        let registry = Registry::new();
        let m = Metrics::register(&registry).unwrap();
        m.add_follower("http://127.0.0.1:1");
        m.follower_latency
            .with_label_values(&["http://127.0.0.1:1", "ok"])
            .observe(0.001);
        m.follower_errors
            .with_label_values(&["http://127.0.0.1:1", "unavailable"])
            .inc();
        assert_eq!(
            hnsfleet_service_kit::metrics::naming_problems(&registry),
            Vec::<String>::new()
        );
        assert_eq!(registry.gather().len(), 17);
    }
}
