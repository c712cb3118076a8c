//! The JSON result of a run (`--json FILE`); its shape is documented in `loadtest/README.md`
//! and pinned by the crate's tests.

use std::collections::BTreeMap;

use hdrhistogram::Histogram;
use serde::{Deserialize, Serialize};

use crate::config::{Config, DohMethod, Mode, TransportKind};
use crate::mix::MixSpec;
use crate::stats::{ERROR_NAMES, Interval};
use crate::wire::rcode_name;

/// Everything a run measured.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Report {
    /// `hnsfleet-loadgen`.
    pub tool: String,
    /// The tool's version.
    pub version: String,
    /// What was asked.
    pub config: ConfigSummary,
    /// Counts over the whole run.
    pub totals: Totals,
    /// Answers per second over the active part of the run (first send to last answer).
    pub qps: f64,
    /// Latency of all answers, milliseconds.
    pub latency_ms: Percentiles,
    /// One point per second of the run (the last one may be shorter).
    pub series: Vec<SecondPoint>,
    /// Answers by rcode mnemonic.
    pub rcodes: BTreeMap<String, u64>,
    /// Errors by kind (`connect`, `send`, `receive`, `malformed`, `http_status`,
    /// `id_exhausted`); every kind present, zero or not.
    pub errors: BTreeMap<String, u64>,
    /// The latency distribution: latency (ms) at percentiles from 0 to 100.
    pub distribution: Vec<QuantilePoint>,
}

/// The run's settings as the result records them.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct ConfigSummary {
    /// Transport.
    pub transport: TransportKind,
    /// `IP:PORT`.
    pub target: String,
    /// `{"mode":"open","rate":N}` or `{"mode":"closed","concurrency":N}`.
    pub load: Mode,
    /// Sockets or connections.
    pub connections: usize,
    /// Sending stopped at this many seconds.
    pub duration_s: f64,
    /// Query limit, if any.
    pub queries: Option<u64>,
    /// Per-query timeout, milliseconds.
    pub timeout_ms: u64,
    /// Category weights.
    pub mix: MixSpec,
    /// Hot share.
    pub hot_fraction: f64,
    /// Hot set size.
    pub hot_set: usize,
    /// Query type weights.
    pub qtypes: BTreeMap<String, u32>,
    /// EDNS DO bit.
    pub dnssec_ok: bool,
    /// Seed.
    pub seed: u64,
    /// DoH method (DoH only).
    pub doh_method: Option<DohMethod>,
}

/// Counts over the whole run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Totals {
    /// Queries sent.
    pub sent: u64,
    /// Queries answered within their timeout.
    pub answered: u64,
    /// Queries not answered within their timeout.
    pub timeouts: u64,
    /// Answers that came after their query's timeout (or twice).
    pub late: u64,
    /// Answers with TC set.
    pub truncated: u64,
    /// All errors.
    pub errors: u64,
    /// Seconds from the first scheduled send to the end of the run (outstanding queries
    /// answered or timed out).
    pub elapsed_s: f64,
    /// Seconds from the first scheduled send to the last send or answer, whichever is later.
    pub active_s: f64,
}

/// Latency percentiles, milliseconds.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct Percentiles {
    /// Fastest.
    pub min: f64,
    /// Mean.
    pub mean: f64,
    /// Median.
    pub p50: f64,
    /// 90th percentile.
    pub p90: f64,
    /// 99th percentile.
    pub p99: f64,
    /// 99.9th percentile.
    #[serde(rename = "p99.9")]
    pub p99_9: f64,
    /// Slowest.
    pub max: f64,
}

/// One second of the run.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct SecondPoint {
    /// 1 for the first second.
    pub second: u32,
    /// Length of the interval (1 but for the last).
    pub duration_s: f64,
    /// Queries sent in it.
    pub sent: u64,
    /// Answers received in it.
    pub answered: u64,
    /// `answered / duration_s`.
    pub qps: f64,
    /// Timeouts counted in it.
    pub timeouts: u64,
    /// Errors counted in it.
    pub errors: u64,
    /// Median latency of its answers (0 without answers).
    pub p50_ms: f64,
    /// 90th percentile.
    pub p90_ms: f64,
    /// 99th percentile.
    pub p99_ms: f64,
    /// Slowest.
    pub max_ms: f64,
}

/// A point of the latency distribution.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct QuantilePoint {
    /// Percentile, 0..=100.
    pub percentile: f64,
    /// Latency at it, milliseconds.
    pub latency_ms: f64,
}

// === impl ConfigSummary ===

impl ConfigSummary {
    pub(crate) fn new(config: &Config) -> ConfigSummary {
        ConfigSummary {
            transport: config.transport,
            target: config.target.to_string(),
            load: config.mode,
            connections: config.connections,
            duration_s: config.duration.as_secs_f64(),
            queries: config.queries,
            timeout_ms: u64::try_from(config.timeout.as_millis()).unwrap_or(u64::MAX),
            mix: config.mix,
            hot_fraction: config.hot_fraction,
            hot_set: config.hot_set,
            qtypes: config
                .qtypes
                .entries
                .iter()
                .map(|(name, _, w)| (name.clone(), *w))
                .collect(),
            dnssec_ok: config.dnssec_ok,
            seed: config.seed,
            doh_method: matches!(config.transport, TransportKind::Doh | TransportKind::Doh3)
                .then_some(config.doh_method),
        }
    }
}

// === impl Percentiles ===

impl Percentiles {
    /// From a histogram of nanoseconds; all zero when it is empty.
    pub(crate) fn of(hist: &Histogram<u64>) -> Percentiles {
        if hist.is_empty() {
            return Percentiles {
                min: 0.0,
                mean: 0.0,
                p50: 0.0,
                p90: 0.0,
                p99: 0.0,
                p99_9: 0.0,
                max: 0.0,
            };
        }
        let at = |q: f64| ms(hist.value_at_quantile(q));
        Percentiles {
            min: ms(hist.min()),
            mean: hist.mean() / 1e6,
            p50: at(0.5),
            p90: at(0.9),
            p99: at(0.99),
            p99_9: at(0.999),
            max: ms(hist.max()),
        }
    }
}

// === impl SecondPoint ===

impl SecondPoint {
    pub(crate) fn of(second: u32, duration_s: f64, interval: &Interval) -> SecondPoint {
        let p = Percentiles::of(&interval.hist);
        SecondPoint {
            second,
            duration_s,
            sent: interval.sent,
            answered: interval.answered,
            qps: if duration_s > 0.0 {
                interval.answered as f64 / duration_s
            } else {
                0.0
            },
            timeouts: interval.timeouts,
            errors: interval.errors_total(),
            p50_ms: p.p50,
            p90_ms: p.p90,
            p99_ms: p.p99,
            max_ms: p.max,
        }
    }
}

/// Rcode counts by name (only those seen) and error counts by kind (all kinds).
pub(crate) fn counts(total: &Interval) -> (BTreeMap<String, u64>, BTreeMap<String, u64>) {
    let rcodes = (0u8..16)
        .zip(total.rcodes.iter())
        .filter(|(_, n)| **n > 0)
        .map(|(code, n)| (rcode_name(code), *n))
        .collect();
    let errors = ERROR_NAMES
        .iter()
        .zip(total.errors.iter())
        .map(|(name, n)| (name.to_string(), *n))
        .collect();
    (rcodes, errors)
}

/// The distribution at percentiles 0, 10, ..., 90, then 9s up to the number of answers.
pub(crate) fn distribution(hist: &Histogram<u64>) -> Vec<QuantilePoint> {
    if hist.is_empty() {
        return Vec::new();
    }
    let mut quantiles: Vec<f64> = (0..10).map(|i| f64::from(i) / 10.0).collect();
    // 0.9 .. 0.99999..: ten steps per nine, as far as the sample count resolves.
    let nines = (hist.len() as f64).log10().clamp(1.0, 6.0);
    let steps = (nines * 10.0) as u32;
    quantiles.extend((10..=steps).map(|s| 1.0 - 10f64.powf(-f64::from(s) / 10.0)));
    quantiles.push(1.0);
    quantiles
        .into_iter()
        .map(|q| QuantilePoint {
            percentile: q * 100.0,
            latency_ms: ms(hist.value_at_quantile(q)),
        })
        .collect()
}

fn ms(nanos: u64) -> f64 {
    nanos as f64 / 1e6
}
