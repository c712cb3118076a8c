//! The Grafana dashboard against what the follower really exports: the metric list comes from
//! a registry the follower's metrics (and the service kit's build-info, process and gRPC
//! server metrics) are registered into, not from a hand-kept list. Every name a dashboard query uses must be
//! exported (histograms as `_bucket`/`_sum`/`_count`), and every exported family must be on
//! the dashboard or listed in [`NOT_ON_DASHBOARD`] with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use hnsfleet_chain_follower::metrics::Metrics;
use prometheus::Registry;
use prometheus::proto::MetricType;

const DASHBOARD: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../dashboards/chain-follower.json"
));

/// Exported families the dashboard leaves out on purpose.
const NOT_ON_DASHBOARD: [(&str, &str); 5] = [
    (
        "process_open_fds",
        "alerting material, not a trend worth a panel",
    ),
    ("process_max_fds", "a limit, constant per pod"),
    ("process_threads", "the tokio pool size, constant per pod"),
    (
        "process_virtual_memory_bytes",
        "resident memory is the one that matters",
    ),
    (
        "process_start_time_seconds",
        "restarts show in the build panel's pod count",
    ),
];

/// Family name → type, from a registry set up the way `service::run` sets it up.
fn exported() -> BTreeMap<String, MetricType> {
    let registry = Registry::new();
    hnsfleet_service_kit::metrics::register_service(&registry, "chain-follower").unwrap();
    Metrics::register(&registry).unwrap();
    hnsfleet_service_kit::grpc::GrpcMetrics::register(&registry)
        .unwrap()
        .with_methods(hnsfleet_proto::METHODS);
    registry
        .gather()
        .iter()
        .map(|f| (f.name().to_string(), f.get_field_type()))
        .collect()
}

/// Every query string in the dashboard (panel targets and template variables).
fn queries(value: &serde_json::Value, out: &mut Vec<String>) {
    match value {
        serde_json::Value::Object(map) => {
            for (key, v) in map {
                match (key.as_str(), v) {
                    ("expr" | "query", serde_json::Value::String(q)) => out.push(q.clone()),
                    _ => queries(v, out),
                }
            }
        }
        serde_json::Value::Array(items) => items.iter().for_each(|v| queries(v, out)),
        _ => {}
    }
}

/// Every `hnsfleet_*` or `process_*` identifier in the dashboard's queries.
fn referenced() -> BTreeSet<String> {
    let dashboard: serde_json::Value = serde_json::from_str(DASHBOARD).unwrap();
    let mut texts = Vec::new();
    queries(&dashboard, &mut texts);
    let mut names = BTreeSet::new();
    for text in texts {
        let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
        for word in text.split(|c: char| !is_ident(c)) {
            if word.starts_with("hnsfleet_") || word.starts_with("process_") {
                names.insert(word.to_string());
            }
        }
    }
    names
}

#[test]
fn dashboard_queries_only_exported_metrics_and_shows_every_family_not_excused() {
    let exported = exported();
    assert!(exported.len() > 13, "{exported:?}");
    let referenced = referenced();
    assert!(!referenced.is_empty());
    let family_of = |series: &str| -> Option<String> {
        if exported.contains_key(series) {
            return Some(series.to_string());
        }
        ["_bucket", "_sum", "_count"].iter().find_map(|suffix| {
            let base = series.strip_suffix(suffix)?;
            (exported.get(base) == Some(&MetricType::HISTOGRAM)).then(|| base.to_string())
        })
    };
    let mut used = BTreeSet::new();
    for series in &referenced {
        let family = family_of(series)
            .unwrap_or_else(|| panic!("dashboard uses {series}, which is not exported"));
        used.insert(family);
    }
    for (name, why) in NOT_ON_DASHBOARD {
        assert!(exported.contains_key(name), "{name} is not exported");
        assert!(
            !used.contains(name),
            "{name} is listed as left out ({why}) but used"
        );
    }
    for name in exported.keys() {
        assert!(
            used.contains(name) || NOT_ON_DASHBOARD.iter().any(|(n, _)| n == name),
            "dashboard does not show {name} (add a panel or list it in NOT_ON_DASHBOARD)"
        );
    }
}
