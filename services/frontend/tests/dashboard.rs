//! The Grafana dashboard against what the frontend really exports (checked by
//! `hnsfleet_testkit::dashboard`): every name its queries use is exported, every exported
//! family is shown or left out here with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hnsfleet_frontend::metrics::Metrics;
use prometheus::Registry;

const DASHBOARD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../dashboards/frontend.json"
));

/// Exported families the dashboard leaves out on purpose: the process metrics every service
/// exports and no dashboard shows.
use hnsfleet_testkit::dashboard::PROCESS_NOT_ON_DASHBOARD as NOT_ON_DASHBOARD;

#[test]
fn dashboard_queries_only_exported_metrics_and_shows_every_family_not_excused() {
    // A registry set up the way `service::run` sets it up.
    let registry = Registry::new();
    hnsfleet_service_kit::metrics::register_service(&registry, "frontend").unwrap();
    let metrics = Metrics::register(&registry).unwrap();
    // Vector families appear once a label set is used; touch one of each.
    metrics
        .queries
        .with_label_values(&["udp", "resolver", "A", "NOERROR"])
        .inc();
    metrics
        .latency
        .with_label_values(&["udp", "resolver"])
        .observe(0.001);
    metrics.answer_cache.with_label_values(&["hit"]).inc();
    metrics.packet_cache.with_label_values(&["hit"]).inc();
    metrics.root_answers.with_label_values(&["hit"]).inc();
    metrics
        .icann_fallbacks
        .with_label_values(&["delegation"])
        .inc();
    metrics.rrsigs.with_label_values(&["signed"]).inc();
    metrics.upstream_errors.with_label_values(&["bogus"]).inc();
    metrics
        .sig0_over_budget
        .with_label_values(&["client"])
        .inc();
    metrics.dropped.with_label_values(&["malformed"]).inc();
    metrics.rrl.with_label_values(&["slip"]).inc();
    metrics
        .connections_refused
        .with_label_values(&["handshake_rate"])
        .inc();
    metrics.tls_reloads.with_label_values(&["ok"]).inc();
    hnsfleet_cache_client::CacheClientMetrics::register(&registry).unwrap();
    let icann = hnsfleet_icann::IcannMetrics::register(&registry).unwrap();
    icann.lookups.with_label_values(&["delegation"]).inc();
    icann.upstream_queries.with_label_values(&["ok"]).inc();
    let exported = hnsfleet_testkit::dashboard::exported(&registry);
    assert!(exported.len() > 20, "{exported:?}");
    hnsfleet_testkit::dashboard::assert_dashboard(DASHBOARD, &exported, &NOT_ON_DASHBOARD);
}
