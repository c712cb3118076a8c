//! The watchdog's metrics registry as a running watchdog has it, for the tests that check the
//! dashboard and the alert rules against what it really exports.
#![allow(dead_code, unreachable_pub, clippy::expect_used, clippy::unwrap_used)]

pub mod scripted;

use hnsfleet_attestation::TipStatement;
use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_hns::types::{BlockHash, TreeRoot};
use hnsfleet_reorg_verdict::{Health, SourceKind, SourceReport, State, Verdict};
use hnsfleet_reorg_watchdog::metrics::Metrics;
use prometheus::Registry;

/// A registry set up the way `service::run` sets it up in Kubernetes (the kube metrics are
/// registered when it runs in a cluster), after the watchdog has evaluated a verdict with a
/// source that attested a tip, ignored an attestation, failed a read and changed state: the
/// labelled families only show once they have a child.
pub fn registry() -> Registry {
    let registry = Registry::new();
    hnsfleet_service_kit::metrics::register_service(&registry, "reorg-watchdog").unwrap();
    let metrics = Metrics::register(&registry).unwrap();
    hnsfleet_service_kit::grpc::GrpcMetrics::register(&registry)
        .unwrap()
        .with_methods(hnsfleet_proto::METHODS);
    hnsfleet_watchdog_kube::KubeMetrics::register(&registry).unwrap();

    let source = "http://follower-0:9530";
    metrics.publish(&frozen_verdict(source), 1_700_000_100);
    metrics
        .ignored
        .with_label_values(&[source, "bad_signature"])
        .inc();
    metrics.source_errors.with_label_values(&[source]).inc();
    metrics
        .transitions
        .with_label_values(&["frozen", "deep_reorg"])
        .inc();
    registry
}

/// A FROZEN verdict over one healthy source.
fn frozen_verdict(source: &str) -> Verdict {
    let tip = TipStatement {
        network_magic: 0,
        height: 1_000,
        hash: BlockHash([1; 32]),
        tree_root: TreeRoot([2; 32]),
        chainwork: [0; 32],
        time: 1_700_000_000,
        signed_at: 1_700_000_000,
    };
    Verdict {
        state: State::Frozen,
        root: Some(SafeRoot {
            height: 972,
            tree_root: TreeRoot([3; 32]),
        }),
        agreed_tip: Some(tip),
        reason: None,
        frozen_since: Some(1_700_000_000),
        depth: 13,
        agreeing_blocks: 0,
        sources: vec![SourceReport {
            name: source.to_string(),
            kind: SourceKind::Follower,
            health: Health::Healthy,
            tip: Some(tip),
            public_key: None,
            reorg_depth: 13,
            detail: String::new(),
        }],
        quorum: 1,
        sequence: 1,
    }
}
