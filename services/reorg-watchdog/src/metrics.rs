//! The watchdog's Prometheus metrics (`hnsfleet_watchdog_<what>[_<unit>]`, counters `_total`),
//! registered into the registry `main` creates. Names are `pub const`s so dashboards, alert
//! rules and tests refer to the same strings. Source-labelled series carry the source's URL as
//! configured (a bounded set).

use hnsfleet_reorg_verdict::{Health, State, Verdict};
use prometheus::{IntCounter, IntCounterVec, IntGauge, IntGaugeVec, Opts, Registry};

/// Tip height each source last attested.
pub const SOURCE_HEIGHT: &str = "hnsfleet_watchdog_source_height";
/// Sources by health: 1 on the source's current `health` ([`HEALTHS`]), 0 on the others.
pub const SOURCE_HEALTH: &str = "hnsfleet_watchdog_source_health";
/// Deepest reorganisation each source showed since the verdict last changed.
pub const SOURCE_REORG_DEPTH: &str = "hnsfleet_watchdog_source_reorg_depth_blocks";
/// Highest minus lowest tip height among the fresh sources.
pub const HEIGHT_SPREAD: &str = "hnsfleet_watchdog_height_spread_blocks";
/// Height of the agreed tip (0 without a quorum).
pub const AGREED_HEIGHT: &str = "hnsfleet_watchdog_agreed_height";
/// 1 while the verdict is FROZEN.
pub const FROZEN: &str = "hnsfleet_watchdog_frozen";
/// Seconds the fleet has been frozen (0 when OK).
pub const FROZEN_SECONDS: &str = "hnsfleet_watchdog_frozen_seconds";
/// The depth that froze the fleet (0 when OK).
pub const FREEZE_DEPTH: &str = "hnsfleet_watchdog_freeze_depth_blocks";
/// Attestations ignored, by source and reason (`malformed`, `bad_signature`, `wrong_key`,
/// `wrong_network`, `stale`, `replayed`, `conflicting`).
pub const IGNORED: &str = "hnsfleet_watchdog_ignored_attestations_total";
/// Reads of a source that failed (unreachable, timed out, bad answer), by source.
pub const SOURCE_ERRORS: &str = "hnsfleet_watchdog_source_errors_total";
/// Verdict changes of state, by the state entered and why (`deep_reorg`, `divergence`,
/// `agreement`, `operator`).
pub const TRANSITIONS: &str = "hnsfleet_watchdog_transitions_total";

/// Certificate reloads of the HTTPS publish endpoint, by `result` (`ok`, `error`).
pub const PUBLISH_TLS_RELOADS: &str = "hnsfleet_watchdog_publish_tls_reloads_total";
/// notAfter of the publish endpoint's certificate, Unix seconds (0: plain HTTP or unknown).
pub const PUBLISH_TLS_CERT_EXPIRY: &str = "hnsfleet_watchdog_publish_tls_cert_expiry_seconds";
/// TLS handshakes on the publish endpoint that failed or timed out.
pub const PUBLISH_TLS_HANDSHAKE_FAILURES: &str =
    "hnsfleet_watchdog_publish_tls_handshake_failures_total";
/// `Unfreeze` calls by `result`: `ok` (lifted), `not_frozen` (nothing to lift), `no_quorum`
/// (refused: no agreed chain to thaw onto), `denied` (caller not allowed).
pub const UNFREEZE_REQUESTS: &str = "hnsfleet_watchdog_unfreeze_requests_total";

/// The `health` label values of [`SOURCE_HEALTH`].
pub const HEALTHS: [&str; 5] = [
    "healthy",
    "lagging",
    "minority_fork",
    "stale",
    "unreachable",
];

/// The label of a health.
pub fn health_label(health: Health) -> &'static str {
    match health {
        Health::Healthy => "healthy",
        Health::Lagging => "lagging",
        Health::MinorityFork => "minority_fork",
        Health::Stale => "stale",
        Health::Unreachable => "unreachable",
    }
}

/// Handles to every watchdog metric.
#[derive(Clone)]
pub struct Metrics {
    source_height: IntGaugeVec,
    source_health: IntGaugeVec,
    source_reorg_depth: IntGaugeVec,
    height_spread: IntGauge,
    agreed_height: IntGauge,
    frozen: IntGauge,
    frozen_seconds: IntGauge,
    freeze_depth: IntGauge,
    /// Ignored attestations.
    pub ignored: IntCounterVec,
    /// Failed reads.
    pub source_errors: IntCounterVec,
    /// State changes.
    pub transitions: IntCounterVec,
    /// Publish endpoint certificate reloads (`ok`, `error`).
    pub publish_tls_reloads: IntCounterVec,
    /// Publish endpoint certificate notAfter.
    pub publish_tls_cert_expiry: IntGauge,
    /// Failed publish endpoint handshakes.
    pub publish_tls_handshake_failures: IntCounter,
    /// `Unfreeze` calls by result.
    pub unfreeze_requests: IntCounterVec,
}

impl Metrics {
    /// Registers every metric into `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Metrics> {
        let gauge_vec = |name: &str, help: &str, labels: &[&str]| {
            let g = IntGaugeVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, prometheus::Error>(g)
        };
        let gauge = |name: &str, help: &str| {
            let g = IntGauge::new(name, help)?;
            registry.register(Box::new(g.clone()))?;
            Ok::<_, prometheus::Error>(g)
        };
        let counter = |name: &str, help: &str, labels: &[&str]| {
            let c = IntCounterVec::new(Opts::new(name, help), labels)?;
            registry.register(Box::new(c.clone()))?;
            Ok::<_, prometheus::Error>(c)
        };
        let publish_tls_reloads = counter(
            PUBLISH_TLS_RELOADS,
            "Certificate reloads of the HTTPS publish endpoint, by result.",
            &["result"],
        )?;
        let unfreeze_requests =
            counter(UNFREEZE_REQUESTS, "Unfreeze calls, by result.", &["result"])?;
        // Every series exists from the start (a rate over a missing series is no rate).
        for result in ["ok", "error"] {
            publish_tls_reloads.with_label_values(&[result]);
        }
        for result in ["ok", "not_frozen", "no_quorum", "denied"] {
            unfreeze_requests.with_label_values(&[result]);
        }
        let handshake_failures = IntCounter::new(
            PUBLISH_TLS_HANDSHAKE_FAILURES,
            "TLS handshakes on the publish endpoint that failed or timed out.",
        )?;
        registry.register(Box::new(handshake_failures.clone()))?;
        Ok(Metrics {
            publish_tls_reloads,
            unfreeze_requests,
            publish_tls_handshake_failures: handshake_failures,
            publish_tls_cert_expiry: gauge(
                PUBLISH_TLS_CERT_EXPIRY,
                "notAfter of the publish endpoint's certificate, Unix seconds (0: none).",
            )?,
            source_height: gauge_vec(
                SOURCE_HEIGHT,
                "Tip height a source last attested.",
                &["source"],
            )?,
            source_health: gauge_vec(
                SOURCE_HEALTH,
                "1 on each source's current health.",
                &["source", "health"],
            )?,
            source_reorg_depth: gauge_vec(
                SOURCE_REORG_DEPTH,
                "Deepest reorganisation a source showed since the verdict last changed.",
                &["source"],
            )?,
            height_spread: gauge(
                HEIGHT_SPREAD,
                "Highest minus lowest tip height of fresh sources.",
            )?,
            agreed_height: gauge(
                AGREED_HEIGHT,
                "Height of the agreed tip (0 without a quorum).",
            )?,
            frozen: gauge(FROZEN, "1 while the verdict is FROZEN.")?,
            frozen_seconds: gauge(FROZEN_SECONDS, "Seconds the fleet has been frozen.")?,
            freeze_depth: gauge(FREEZE_DEPTH, "The depth that froze the fleet (0 when OK).")?,
            ignored: counter(
                IGNORED,
                "Attestations ignored, by source and reason.",
                &["source", "reason"],
            )?,
            source_errors: counter(SOURCE_ERRORS, "Failed reads of a source.", &["source"])?,
            transitions: counter(
                TRANSITIONS,
                "Verdict state changes, by state entered and reason.",
                &["state", "reason"],
            )?,
        })
    }

    /// Sets the gauges from `verdict` at `now` (unix seconds).
    pub fn publish(&self, verdict: &Verdict, now: u64) {
        let mut heights = Vec::new();
        for source in &verdict.sources {
            let name = source.name.as_str();
            if let Some(tip) = source.tip {
                self.source_height
                    .with_label_values(&[name])
                    .set(i64::from(tip.height));
                if matches!(
                    source.health,
                    Health::Healthy | Health::Lagging | Health::MinorityFork
                ) {
                    heights.push(tip.height);
                }
            }
            for health in HEALTHS {
                let on = i64::from(health == health_label(source.health));
                self.source_health
                    .with_label_values(&[name, health])
                    .set(on);
            }
            self.source_reorg_depth
                .with_label_values(&[name])
                .set(i64::from(source.reorg_depth));
        }
        let spread = match (heights.iter().max(), heights.iter().min()) {
            (Some(max), Some(min)) => max - min,
            _ => 0,
        };
        self.height_spread.set(i64::from(spread));
        self.agreed_height
            .set(verdict.agreed_tip.map_or(0, |tip| i64::from(tip.height)));
        let frozen = verdict.state == State::Frozen;
        self.frozen.set(i64::from(frozen));
        let since = verdict.frozen_since.unwrap_or(now);
        self.frozen_seconds
            .set(i64::try_from(now.saturating_sub(since)).unwrap_or(i64::MAX));
        self.freeze_depth.set(i64::from(verdict.depth));
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn names_follow_the_conventions() {
        let registry = Registry::new();
        let m = Metrics::register(&registry).unwrap();
        m.ignored
            .with_label_values(&["http://127.0.0.1:1", "stale"])
            .inc();
        m.source_errors
            .with_label_values(&["http://127.0.0.1:1"])
            .inc();
        m.transitions
            .with_label_values(&["frozen", "deep_reorg"])
            .inc();
        assert_eq!(
            hnsfleet_service_kit::metrics::naming_problems(&registry),
            Vec::<String>::new()
        );
    }
}
