//! Grafana dashboards checked against what a service really exports: the metric list comes
//! from a registry the service's metrics are registered into (as its `service::run` does), not
//! from a hand-kept list. Every name a dashboard query uses must be exported (histograms as
//! `_bucket`/`_sum`/`_count`), and every exported family must be on the dashboard or listed as
//! left out with the reason.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::collections::{BTreeMap, BTreeSet};

use prometheus::Registry;
use prometheus::proto::MetricType;

/// The process families every service exports (the service kit registers them) that no
/// dashboard shows, with the reason.
pub const PROCESS_NOT_ON_DASHBOARD: [(&str, &str); 5] = [
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

/// Family name → type of everything `registry` exports.
pub fn exported(registry: &Registry) -> BTreeMap<String, MetricType> {
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
fn referenced(dashboard: &str) -> BTreeSet<String> {
    let dashboard: serde_json::Value = serde_json::from_str(dashboard).unwrap();
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

/// Asserts that `dashboard` (Grafana JSON) queries only families in `exported` and shows every
/// one of them except `not_on_dashboard` (name, why).
pub fn assert_dashboard(
    dashboard: &str,
    exported: &BTreeMap<String, MetricType>,
    not_on_dashboard: &[(&str, &str)],
) {
    let referenced = referenced(dashboard);
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
    for &(name, why) in not_on_dashboard {
        assert!(exported.contains_key(name), "{name} is not exported");
        assert!(
            !used.contains(name),
            "{name} is listed as left out ({why}) but used"
        );
    }
    for name in exported.keys() {
        assert!(
            used.contains(name) || not_on_dashboard.iter().any(|(n, _)| *n == name.as_str()),
            "dashboard does not show {name} (add a panel or list it as left out, with the reason)"
        );
    }
}

/// Every `hnsfleet_*` or `process_*` name anywhere in `text` (a dashboard's JSON or an alert
/// rules file: queries, and any name a description quotes).
pub fn names_in(text: &str) -> BTreeSet<String> {
    let is_ident = |c: char| c.is_ascii_alphanumeric() || c == '_' || c == ':';
    text.split(|c: char| !is_ident(c))
        .filter(|word| word.starts_with("hnsfleet_") || word.starts_with("process_"))
        .map(str::to_string)
        .collect()
}

/// Family name → type of every family in Prometheus text expositions (`# TYPE` lines), e.g.
/// the `/metrics` pages of a running fleet.
pub fn exposed(pages: &[String]) -> BTreeMap<String, MetricType> {
    let mut families = BTreeMap::new();
    for page in pages {
        for line in page.lines() {
            let mut words = line.split_whitespace();
            if let (Some("#"), Some("TYPE"), Some(name), Some(kind)) =
                (words.next(), words.next(), words.next(), words.next())
            {
                let kind = match kind {
                    "counter" => MetricType::COUNTER,
                    "gauge" => MetricType::GAUGE,
                    "histogram" => MetricType::HISTOGRAM,
                    "summary" => MetricType::SUMMARY,
                    _ => MetricType::UNTYPED,
                };
                families.insert(name.to_string(), kind);
            }
        }
    }
    families
}

/// The names in `referenced` that are not series of an `exported` family (histograms count
/// with their `_bucket`, `_sum` and `_count` series).
pub fn not_exported(
    referenced: &BTreeSet<String>,
    exported: &BTreeMap<String, MetricType>,
) -> Vec<String> {
    referenced
        .iter()
        .filter(|series| {
            !exported.contains_key(series.as_str())
                && !["_bucket", "_sum", "_count"].iter().any(|suffix| {
                    series
                        .strip_suffix(suffix)
                        .is_some_and(|base| exported.get(base) == Some(&MetricType::HISTOGRAM))
                })
        })
        .cloned()
        .collect()
}
