//! Optional Prometheus counters; the caller registers them into its registry and hands them to
//! [`crate::IcannRoot::with_metrics`]. Labels are bounded sets, never names or addresses.

use prometheus::{IntCounterVec, Opts, Registry};

use crate::AttemptError;

/// TLD look-ups answered (cache hits included), by outcome ([`LOOKUP_OUTCOMES`]).
pub const LOOKUPS: &str = "hnsfleet_icann_lookups_total";
/// The `outcome` label values of [`LOOKUPS`].
pub const LOOKUP_OUTCOMES: [&str; 3] = ["delegation", "nxdomain", "error"];
/// Queries sent to root servers, by result (`ok`, `bogus`, `timeout`, `io`, `malformed`,
/// `mismatch`, `oversized`, `rcode`: `UPSTREAM_RESULTS`).
pub const UPSTREAM_QUERIES: &str = "hnsfleet_icann_upstream_queries_total";
/// The `result` label values of [`UPSTREAM_QUERIES`].
pub(crate) const UPSTREAM_RESULTS: [&str; 8] = [
    "ok",
    "bogus",
    "timeout",
    "io",
    "malformed",
    "mismatch",
    "oversized",
    "rcode",
];

/// Handles to the counters.
#[derive(Debug, Clone)]
pub struct IcannMetrics {
    /// See [`LOOKUPS`]; label `outcome`.
    pub lookups: IntCounterVec,
    /// See [`UPSTREAM_QUERIES`]; label `result`.
    pub upstream_queries: IntCounterVec,
}

// === impl IcannMetrics ===

impl IcannMetrics {
    /// Creates the counters and registers them into `registry`.
    pub fn register(registry: &Registry) -> Result<IcannMetrics, prometheus::Error> {
        let lookups = IntCounterVec::new(
            Opts::new(LOOKUPS, "ICANN fallback look-ups answered, by outcome"),
            &["outcome"],
        )?;
        let upstream_queries = IntCounterVec::new(
            Opts::new(
                UPSTREAM_QUERIES,
                "Queries sent to ICANN root servers, by result",
            ),
            &["result"],
        )?;
        registry.register(Box::new(lookups.clone()))?;
        registry.register(Box::new(upstream_queries.clone()))?;
        // Every series exists from the start (a rate over a missing series is no rate).
        for outcome in LOOKUP_OUTCOMES {
            lookups.with_label_values(&[outcome]);
        }
        for result in UPSTREAM_RESULTS {
            upstream_queries.with_label_values(&[result]);
        }
        Ok(IcannMetrics {
            lookups,
            upstream_queries,
        })
    }

    pub(crate) fn upstream(&self, result: Result<(), &AttemptError>, bogus: bool) {
        let label = match result {
            _ if bogus => "bogus",
            Ok(()) => "ok",
            Err(AttemptError::Timeout) => "timeout",
            Err(AttemptError::Io(_)) => "io",
            Err(AttemptError::Malformed(_)) => "malformed",
            Err(AttemptError::Mismatch(_)) => "mismatch",
            Err(AttemptError::Oversized(_)) => "oversized",
            Err(AttemptError::Rcode(_)) => "rcode",
        };
        self.upstream_queries.with_label_values(&[label]).inc();
    }
}
