//! The client's Prometheus metrics, registered into the registry the frontend's `main`
//! creates. Names follow the conventions (`hnsfleet_cache_client_<what>`, counters `_total`;
//! checked by `hnsfleet_service_kit::metrics::naming_problems` in the tests) and are
//! `pub const`s so dashboards and tests use the same strings. No replica address is a label:
//! which replica failed goes to the logs.

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

use crate::{CacheClientError, ReplicaError};

/// Look-ups, by result ([`REQUEST_RESULTS`]).
pub const REQUESTS: &str = "hnsfleet_cache_client_requests_total";
/// The `result` label values of [`REQUESTS`]: a verified answer, or why there was none (see
/// [`CacheClientError::metric_label`]).
pub const REQUEST_RESULTS: [&str; 4] = ["ok", "rejected", "unavailable", "no_replicas"];
/// Times a look-up moved on to the next replica after one failed.
pub const FAILOVERS: &str = "hnsfleet_cache_client_failovers_total";
/// Failed attempts on one replica, by reason ([`ATTEMPT_ERROR_REASONS`]).
pub const ATTEMPT_ERRORS: &str = "hnsfleet_cache_client_attempt_errors_total";
/// The `reason` label values of [`ATTEMPT_ERRORS`] (see [`ReplicaError::metric_label`]);
/// `unverifiable` counts answers refused by re-verification.
pub const ATTEMPT_ERROR_REASONS: [&str; 6] = [
    "unavailable",
    "overloaded",
    "timeout",
    "unverifiable",
    "rejected",
    "other",
];
/// Replicas in the set look-ups are sharded over.
pub const REPLICAS: &str = "hnsfleet_cache_client_replicas";

/// Handles to every cache-client metric, label children resolved once. Cheap to clone.
#[derive(Debug, Clone)]
pub struct CacheClientMetrics {
    /// [`REQUESTS`], one child per [`REQUEST_RESULTS`] value, in that order.
    requests: [IntCounter; REQUEST_RESULTS.len()],
    /// [`ATTEMPT_ERRORS`], one child per [`ATTEMPT_ERROR_REASONS`] value, in that order.
    attempt_errors: [IntCounter; ATTEMPT_ERROR_REASONS.len()],
    /// See [`FAILOVERS`].
    pub(crate) failovers: IntCounter,
    /// See [`REPLICAS`].
    replicas: IntGauge,
    /// The families of `requests` and `attempt_errors`, to register.
    request_family: IntCounterVec,
    attempt_error_family: IntCounterVec,
}

// === impl CacheClientMetrics ===

impl CacheClientMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Self> {
        let m = Self::unregistered()?;
        registry.register(Box::new(m.request_family.clone()))?;
        registry.register(Box::new(m.attempt_error_family.clone()))?;
        registry.register(Box::new(m.failovers.clone()))?;
        registry.register(Box::new(m.replicas.clone()))?;
        Ok(m)
    }

    /// Metrics not attached to any registry (tests). Every label value exists from the start
    /// at zero, so dashboards see the series before the first event.
    pub fn unregistered() -> prometheus::Result<Self> {
        let requests = IntCounterVec::new(
            Opts::new(REQUESTS, "Proof-cache look-ups, by result."),
            &["result"],
        )?;
        let attempt_errors = IntCounterVec::new(
            Opts::new(
                ATTEMPT_ERRORS,
                "Failed attempts on one proof-cache replica, by reason.",
            ),
            &["reason"],
        )?;
        Ok(Self {
            requests: REQUEST_RESULTS.map(|r| requests.with_label_values(&[r])),
            attempt_errors: ATTEMPT_ERROR_REASONS.map(|r| attempt_errors.with_label_values(&[r])),
            failovers: IntCounter::new(
                FAILOVERS,
                "Look-ups moved on to the next proof-cache replica after one failed.",
            )?,
            replicas: IntGauge::new(REPLICAS, "Proof-cache replicas look-ups are sharded over.")?,
            request_family: requests,
            attempt_error_family: attempt_errors,
        })
    }

    /// Counts one look-up: `None` for a verified answer, else its error.
    pub(crate) fn record_request(&self, error: Option<&CacheClientError>) {
        let label = error.map_or("ok", CacheClientError::metric_label);
        child(&self.requests, &REQUEST_RESULTS, label).inc();
    }

    /// Counts one failed attempt.
    pub(crate) fn record_attempt_error(&self, error: &ReplicaError) {
        child(
            &self.attempt_errors,
            &ATTEMPT_ERROR_REASONS,
            error.metric_label(),
        )
        .inc();
    }

    /// Sets the replica count.
    pub(crate) fn set_replicas(&self, count: usize) {
        self.replicas.set(i64::try_from(count).unwrap_or(i64::MAX));
    }
}

/// The child of `label` in `children`, resolved in the same order as `labels`. Every label the
/// error types produce is in the list (a unit test checks); an unknown one would count as the
/// last value rather than panic.
fn child<'a, const N: usize>(
    children: &'a [IntCounter; N],
    labels: &[&str; N],
    label: &str,
) -> &'a IntCounter {
    let index = labels.iter().position(|l| *l == label);
    debug_assert!(index.is_some(), "unknown metric label {label}");
    &children[index.unwrap_or(N - 1)]
}
