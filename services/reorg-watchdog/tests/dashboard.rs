//! The Grafana dashboard against what the watchdog really exports (checked by
//! `hnsfleet_testkit::dashboard`): every name its queries use is exported, every exported
//! family is shown or left out here with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

const DASHBOARD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../dashboards/reorg-watchdog.json"
));

/// Exported families the dashboard leaves out on purpose: the process metrics every service
/// exports and no dashboard shows.
use hnsfleet_testkit::dashboard::PROCESS_NOT_ON_DASHBOARD as NOT_ON_DASHBOARD;

#[test]
fn dashboard_queries_only_exported_metrics_and_shows_every_family_not_excused() {
    let registry = common::registry();
    let exported = hnsfleet_testkit::dashboard::exported(&registry);
    assert!(exported.len() > 20, "{exported:?}");
    hnsfleet_testkit::dashboard::assert_dashboard(DASHBOARD, &exported, &NOT_ON_DASHBOARD);
}
