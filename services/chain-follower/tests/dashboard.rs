//! The Grafana dashboard only uses metric names the follower really exports (the `pub const`s
//! in `metrics.rs` and the shared gRPC server metrics of `hnsfleet_service_kit::grpc`, plus
//! histogram suffixes and the shared build-info metric), and it shows every one of them.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::BTreeSet;

use hnsfleet_chain_follower::metrics::*;
use hnsfleet_service_kit::grpc::{IN_FLIGHT, REQUEST_DURATION, REQUESTS_TOTAL};

const DASHBOARD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../dashboards/chain-follower.json"
));

const EXPORTED: [&str; 16] = [
    TIP_HEIGHT,
    BEST_PEER_HEIGHT,
    PEERS_CONNECTED,
    KNOWN_PEERS,
    PEERS_BANNED,
    HEADERS_VALIDATED,
    PROOFS_SERVED,
    BANS,
    DISCONNECTS,
    PROOF_LATENCY,
    PROOF_HEDGES,
    REORG_DEPTH,
    STORE_ERRORS,
    REQUESTS_TOTAL,
    REQUEST_DURATION,
    IN_FLIGHT,
];

/// Every `hnsfleet_*` identifier in the dashboard's queries.
fn referenced() -> BTreeSet<String> {
    let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).unwrap();
    let mut names = BTreeSet::new();
    for panel in dashboard["panels"].as_array().unwrap() {
        for target in panel["targets"].as_array().unwrap() {
            let expr = target["expr"].as_str().unwrap();
            let mut rest = expr;
            while let Some(at) = rest.find("hnsfleet_") {
                let tail = &rest[at..];
                let end = tail
                    .find(|c: char| !(c.is_ascii_alphanumeric() || c == '_'))
                    .unwrap_or(tail.len());
                names.insert(tail[..end].to_string());
                rest = &tail[end..];
            }
        }
    }
    names
}

#[test]
fn dashboard_queries_only_exported_metrics_and_shows_them_all() {
    let referenced = referenced();
    assert!(!referenced.is_empty());
    let base = |name: &str| -> String {
        for suffix in ["_bucket", "_sum", "_count"] {
            if let Some(stripped) = name.strip_suffix(suffix)
                && EXPORTED.contains(&stripped)
            {
                return stripped.to_string();
            }
        }
        name.to_string()
    };
    let used: BTreeSet<String> = referenced.iter().map(|n| base(n)).collect();
    for name in &used {
        assert!(
            EXPORTED.contains(&name.as_str()) || name == hnsfleet_service_kit::admin::BUILD_INFO,
            "dashboard uses {name}, which the follower does not export"
        );
    }
    for name in EXPORTED {
        assert!(used.contains(name), "dashboard does not show {name}");
    }
}
