//! The metrics every service exports, and the naming rules every service's metrics follow.
//!
//! `main` creates one [`Registry`], calls [`register_service`] (build info and, on Linux, the
//! standard `process_*` metrics), and each component registers its own metrics into it.
//! [`naming_problems`] checks a registry against Prometheus conventions; each service's tests
//! run it over its registry, and its dashboard test derives the metric list from one.

use prometheus::proto::MetricType;
use prometheus::{IntGaugeVec, Opts, Registry};

/// Name of the build-info metric every service exports (value 1, labels carry the build).
pub const BUILD_INFO: &str = "hnsfleet_build_info";

/// Unit suffixes a histogram name may end with (base units only: seconds, not milliseconds).
pub const HISTOGRAM_UNITS: [&str; 3] = ["_seconds", "_bytes", "_blocks"];

/// Registers what every service exports: [`BUILD_INFO`] for `service`, and the process
/// metrics (`process_cpu_seconds_total`, `process_resident_memory_bytes`,
/// `process_open_fds`, ...; Linux only).
pub fn register_service(registry: &Registry, service: &str) -> prometheus::Result<()> {
    register_build_info(registry, service)?;
    register_process(registry)
}

/// Registers `hnsfleet_build_info{service, version}` = 1 into `registry`.
pub fn register_build_info(registry: &Registry, service: &str) -> prometheus::Result<()> {
    let gauge = IntGaugeVec::new(
        Opts::new(
            BUILD_INFO,
            "Build of the running hnsfleet service (always 1).",
        ),
        &["service", "version"],
    )?;
    gauge
        .with_label_values(&[service, env!("CARGO_PKG_VERSION")])
        .set(1);
    registry.register(Box::new(gauge))
}

/// Registers the standard `process_*` metrics of this process (read from `/proc` at scrape
/// time). A no-op off Linux.
pub fn register_process(registry: &Registry) -> prometheus::Result<()> {
    #[cfg(target_os = "linux")]
    registry.register(Box::new(
        prometheus::process_collector::ProcessCollector::for_self(),
    ))?;
    #[cfg(not(target_os = "linux"))]
    let _ = registry;
    Ok(())
}

/// Every way the metric families in `registry` break the naming conventions: lower-case
/// `snake_case`, service metrics prefixed `hnsfleet_`, counters and only counters ending
/// `_total`, histograms ending in a base unit ([`HISTOGRAM_UNITS`]), no non-base time units
/// (`_ms`, `_milliseconds`, `_minutes`...), no reserved suffixes on other types. Empty when
/// all is well.
pub fn naming_problems(registry: &Registry) -> Vec<String> {
    let mut problems = Vec::new();
    for family in registry.gather() {
        let name = family.name();
        let kind = family.get_field_type();
        let mut problem = |why: &str| problems.push(format!("{name}: {why}"));
        let valid = |c: char| c.is_ascii_lowercase() || c.is_ascii_digit() || c == '_';
        if name.is_empty() || !name.chars().all(valid) {
            problem("not lower-case snake_case");
        }
        if !name.starts_with("hnsfleet_") && !name.starts_with("process_") {
            problem("not prefixed hnsfleet_");
        }
        let is_counter = kind == MetricType::COUNTER;
        if is_counter != name.ends_with("_total") {
            problem("counters, and only counters, end in _total");
        }
        if kind == MetricType::HISTOGRAM && !HISTOGRAM_UNITS.iter().any(|u| name.ends_with(u)) {
            problem("a histogram name ends in its base unit");
        }
        let segments: Vec<&str> = name.split('_').collect();
        for unit in [
            "ms",
            "msec",
            "milliseconds",
            "minutes",
            "hours",
            "days",
            "secs",
        ] {
            if segments.contains(&unit) {
                problem("use base units (_seconds), not _ms/_minutes/...");
            }
        }
        if kind != MetricType::HISTOGRAM
            && kind != MetricType::SUMMARY
            && ["_bucket", "_count", "_sum"]
                .iter()
                .any(|s| name.ends_with(s))
        {
            problem("_bucket/_count/_sum are reserved for histograms and summaries");
        }
    }
    problems
}

#[cfg(test)]
mod tests {
    use prometheus::{Histogram, HistogramOpts, IntCounter, IntGauge};

    use super::*;

    #[test]
    fn service_metrics_follow_the_conventions_and_bad_names_are_caught() {
        let registry = Registry::new();
        register_service(&registry, "test").unwrap();
        assert_eq!(naming_problems(&registry), Vec::<String>::new());
        let names: Vec<String> = registry
            .gather()
            .iter()
            .map(|f| f.name().to_string())
            .collect();
        assert!(names.iter().any(|n| n == BUILD_INFO), "{names:?}");
        #[cfg(target_os = "linux")]
        assert!(
            names.iter().any(|n| n == "process_resident_memory_bytes"),
            "{names:?}"
        );

        let bad = Registry::new();
        let counter = IntCounter::new("hnsfleet_x_requests", "h").unwrap();
        let gauge = IntGauge::new("hnsfleet_x_things_total", "h").unwrap();
        let histogram =
            Histogram::with_opts(HistogramOpts::new("hnsfleet_x_latency_ms", "h")).unwrap();
        let unprefixed = IntGauge::new("other_gauge", "h").unwrap();
        bad.register(Box::new(counter)).unwrap();
        bad.register(Box::new(gauge)).unwrap();
        bad.register(Box::new(histogram.clone())).unwrap();
        bad.register(Box::new(unprefixed)).unwrap();
        histogram.observe(1.0);
        let problems = naming_problems(&bad).join("\n");
        for expected in [
            "hnsfleet_x_requests: counters, and only counters, end in _total",
            "hnsfleet_x_things_total: counters, and only counters, end in _total",
            "hnsfleet_x_latency_ms: a histogram name ends in its base unit",
            "hnsfleet_x_latency_ms: use base units",
            "other_gauge: not prefixed hnsfleet_",
        ] {
            assert!(problems.contains(expected), "{expected} in\n{problems}");
        }
    }
}
