//! The Grafana dashboard against what the follower really exports (checked by
//! `hnsfleet_testkit::dashboard`): every name its queries use is exported, every exported
//! family is shown or left out here with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hnsfleet_chain_follower::metrics::Metrics;
use prometheus::Registry;

const DASHBOARD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../dashboards/chain-follower.json"
));

/// Exported families the dashboard leaves out on purpose: the process metrics every service
/// exports and no dashboard shows.
use hnsfleet_testkit::dashboard::PROCESS_NOT_ON_DASHBOARD as NOT_ON_DASHBOARD;

#[test]
fn dashboard_queries_only_exported_metrics_and_shows_every_family_not_excused() {
    // A registry set up the way `service::run` sets it up.
    let registry = Registry::new();
    hnsfleet_service_kit::metrics::register_service(&registry, "chain-follower").unwrap();
    Metrics::register(&registry).unwrap();
    hnsfleet_service_kit::grpc::GrpcMetrics::register(&registry)
        .unwrap()
        .with_methods(hnsfleet_proto::METHODS);
    let exported = hnsfleet_testkit::dashboard::exported(&registry);
    assert!(exported.len() > 13, "{exported:?}");
    hnsfleet_testkit::dashboard::assert_dashboard(DASHBOARD, &exported, &NOT_ON_DASHBOARD);
}
