//! The follower's Prometheus metrics, registered into the registry `main` creates (next to the
//! build-info and process metrics every service exports). Names follow the Prometheus
//! conventions (`hnsfleet_follower_<what>[_<unit>]`, counters `_total`; checked by
//! `hnsfleet_service_kit::metrics::naming_problems` in the tests) and are `pub const`s so
//! dashboards and tests refer to the same strings.

use prometheus::{
    Histogram, HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// Height of the best validated tip.
pub const TIP_HEIGHT: &str = "hnsfleet_follower_tip_height";
/// Best height a connected peer showed: proved with headers on our best chain, or left by its
/// finished first sync round (VERSION claims alone never count).
pub const BEST_PEER_HEIGHT: &str = "hnsfleet_follower_best_peer_height";
/// Peers with an established session.
pub const PEERS_CONNECTED: &str = "hnsfleet_follower_peers_connected";
/// Peer addresses the pool dials: configured peers, seeds, and the addresses DNS seeds and
/// gossip gave.
pub const PEERS_KNOWN: &str = "hnsfleet_follower_peers_known";
/// Peers currently banned.
pub const PEERS_BANNED: &str = "hnsfleet_follower_peers_banned";
/// Headers that passed full validation.
pub const HEADERS_VALIDATED: &str = "hnsfleet_follower_headers_validated_total";
/// Name look-ups answered, by result (`exists`, `absent`, `error`).
pub const PROOFS_SERVED: &str = "hnsfleet_follower_proofs_served_total";
/// Peers banned, by reason (`invalid_header`, `bad_proof`, `protocol`).
pub const BANS: &str = "hnsfleet_follower_bans_total";
/// Peer sessions ended, by reason (`closed`, `timeout`, `banned`, `error`).
pub const DISCONNECTS: &str = "hnsfleet_follower_disconnects_total";
/// Time from a look-up request to its verified proof, or to its failure, by result
/// ([`LOOKUP_RESULTS`]).
pub const PROOF_LATENCY: &str = "hnsfleet_follower_proof_latency_seconds";
/// The `result` label values of [`PROOF_LATENCY`]: a verified proof, or why there was none.
pub const LOOKUP_RESULTS: [&str; 5] = ["ok", "not_synced", "no_peers", "timeout", "failed"];
/// Proof requests also sent to another peer because the first was slow or failed.
pub const PROOF_HEDGES: &str = "hnsfleet_follower_proof_hedges_total";
/// Reorganizations, by depth (histogram of disconnected blocks).
pub const REORG_DEPTH: &str = "hnsfleet_follower_reorg_depth_blocks";
/// Height of the last header durably written to the header file (trails the tip by the
/// batches still queued for the store writer).
pub const STORE_HEIGHT: &str = "hnsfleet_follower_store_height";
/// Header-file write failures (the follower keeps serving from memory).
pub const STORE_ERRORS: &str = "hnsfleet_follower_store_errors_total";
/// Look-ups that named the root of a header a reorganization disconnected (a fleet frozen on
/// the abandoned branch, docs/watchdog.md), by result (`exists`, `absent`, `error`); they also
/// count in [`PROOFS_SERVED`].
pub const DISCONNECTED_ROOT_LOOKUPS: &str = "hnsfleet_follower_disconnected_root_lookups_total";
/// Headers recent reorganizations disconnected that are kept (within the root window, capped)
/// so look-ups can still name their roots.
pub const DISCONNECTED_HEADERS: &str = "hnsfleet_follower_disconnected_headers";

/// Handles to every follower metric.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// See [`TIP_HEIGHT`].
    pub tip_height: IntGauge,
    /// See [`BEST_PEER_HEIGHT`].
    pub best_peer_height: IntGauge,
    /// See [`PEERS_CONNECTED`].
    pub peers_connected: IntGauge,
    /// See [`PEERS_KNOWN`].
    pub known_peers: IntGauge,
    /// See [`PEERS_BANNED`].
    pub peers_banned: IntGauge,
    /// See [`HEADERS_VALIDATED`].
    pub headers_validated: IntCounter,
    /// See [`PROOFS_SERVED`].
    pub proofs_served: IntCounterVec,
    /// See [`BANS`].
    pub bans: IntCounterVec,
    /// See [`DISCONNECTS`].
    pub disconnects: IntCounterVec,
    /// See [`PROOF_LATENCY`]; label `result`.
    pub proof_latency: HistogramVec,
    /// See [`PROOF_HEDGES`].
    pub proof_hedges: IntCounter,
    /// See [`REORG_DEPTH`].
    pub reorg_depth: Histogram,
    /// See [`STORE_ERRORS`].
    pub store_errors: IntCounter,
    /// See [`STORE_HEIGHT`].
    pub store_height: IntGauge,
    /// See [`DISCONNECTED_ROOT_LOOKUPS`].
    pub disconnected_root_lookups: IntCounterVec,
    /// See [`DISCONNECTED_HEADERS`].
    pub disconnected_headers: IntGauge,
}

// === impl Metrics ===

impl Metrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<Metrics> {
        let m = Metrics::unregistered()?;
        registry.register(Box::new(m.tip_height.clone()))?;
        registry.register(Box::new(m.best_peer_height.clone()))?;
        registry.register(Box::new(m.peers_connected.clone()))?;
        registry.register(Box::new(m.known_peers.clone()))?;
        registry.register(Box::new(m.peers_banned.clone()))?;
        registry.register(Box::new(m.headers_validated.clone()))?;
        registry.register(Box::new(m.proofs_served.clone()))?;
        registry.register(Box::new(m.bans.clone()))?;
        registry.register(Box::new(m.disconnects.clone()))?;
        registry.register(Box::new(m.proof_latency.clone()))?;
        registry.register(Box::new(m.proof_hedges.clone()))?;
        registry.register(Box::new(m.reorg_depth.clone()))?;
        registry.register(Box::new(m.store_errors.clone()))?;
        registry.register(Box::new(m.store_height.clone()))?;
        registry.register(Box::new(m.disconnected_root_lookups.clone()))?;
        registry.register(Box::new(m.disconnected_headers.clone()))?;
        Ok(m)
    }

    /// Metrics not attached to any registry (tests, benches). Every label value is created at
    /// zero so dashboards see the series before the first event.
    pub fn unregistered() -> prometheus::Result<Metrics> {
        let m = Metrics::bare()?;
        for result in ["exists", "absent", "error"] {
            m.proofs_served.with_label_values(&[result]);
            m.disconnected_root_lookups.with_label_values(&[result]);
        }
        for reason in ["invalid_header", "bad_proof", "protocol"] {
            m.bans.with_label_values(&[reason]);
        }
        for reason in ["closed", "timeout", "dropped", "banned", "error"] {
            m.disconnects.with_label_values(&[reason]);
        }
        for result in LOOKUP_RESULTS {
            m.proof_latency.with_label_values(&[result]);
        }
        Ok(m)
    }

    fn bare() -> prometheus::Result<Metrics> {
        let reorg_buckets = vec![1.0, 2.0, 3.0, 6.0, 12.0, 36.0, 100.0, 1000.0];
        let latency_buckets = vec![
            0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
        ];
        Ok(Metrics {
            tip_height: IntGauge::new(TIP_HEIGHT, "Height of the best validated tip.")?,
            store_height: IntGauge::new(
                STORE_HEIGHT,
                "Height of the last header written and synced to the header store.",
            )?,
            best_peer_height: IntGauge::new(
                BEST_PEER_HEIGHT,
                "Best height a connected peer proved (headers on our best chain, or a finished sync round).",
            )?,
            peers_connected: IntGauge::new(PEERS_CONNECTED, "Peers with an open session.")?,
            known_peers: IntGauge::new(
                PEERS_KNOWN,
                "Peer addresses dialled: configured, seeds, DNS-seed and gossiped addresses.",
            )?,
            peers_banned: IntGauge::new(PEERS_BANNED, "Peers currently banned.")?,
            headers_validated: IntCounter::new(
                HEADERS_VALIDATED,
                "Headers that passed full validation.",
            )?,
            proofs_served: IntCounterVec::new(
                Opts::new(PROOFS_SERVED, "Name look-ups answered, by result."),
                &["result"],
            )?,
            bans: IntCounterVec::new(Opts::new(BANS, "Peers banned, by reason."), &["reason"])?,
            disconnects: IntCounterVec::new(
                Opts::new(DISCONNECTS, "Peer sessions ended, by reason."),
                &["reason"],
            )?,
            proof_latency: HistogramVec::new(
                HistogramOpts::new(
                    PROOF_LATENCY,
                    "Look-up request to verified proof or failure, by result.",
                )
                .buckets(latency_buckets),
                &["result"],
            )?,
            proof_hedges: IntCounter::new(
                PROOF_HEDGES,
                "Proof requests also sent to another peer.",
            )?,
            reorg_depth: Histogram::with_opts(
                HistogramOpts::new(REORG_DEPTH, "Reorganizations by depth in blocks.")
                    .buckets(reorg_buckets),
            )?,
            store_errors: IntCounter::new(STORE_ERRORS, "Header-file write failures.")?,
            disconnected_root_lookups: IntCounterVec::new(
                Opts::new(
                    DISCONNECTED_ROOT_LOOKUPS,
                    "Look-ups against the root of a header a reorganization disconnected, by result.",
                ),
                &["result"],
            )?,
            disconnected_headers: IntGauge::new(
                DISCONNECTED_HEADERS,
                "Disconnected headers kept for look-ups against their roots.",
            )?,
        })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn names_follow_the_conventions_and_every_family_is_exported_before_any_event() {
        let registry = Registry::new();
        Metrics::register(&registry).unwrap();
        assert_eq!(
            hnsfleet_service_kit::metrics::naming_problems(&registry),
            Vec::<String>::new()
        );
        let names: Vec<String> = registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        for name in [
            TIP_HEIGHT,
            BEST_PEER_HEIGHT,
            PEERS_CONNECTED,
            PEERS_KNOWN,
            PEERS_BANNED,
            HEADERS_VALIDATED,
            PROOFS_SERVED,
            BANS,
            DISCONNECTS,
            PROOF_LATENCY,
            PROOF_HEDGES,
            REORG_DEPTH,
            STORE_ERRORS,
            STORE_HEIGHT,
            DISCONNECTED_ROOT_LOOKUPS,
            DISCONNECTED_HEADERS,
        ] {
            assert!(names.iter().any(|n| n == name), "{name} not in {names:?}");
        }
        assert_eq!(names.len(), 16, "{names:?}");
    }
}
