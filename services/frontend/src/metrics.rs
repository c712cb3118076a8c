//! The frontend's Prometheus metrics (`hnsfleet_frontend_<what>[_<unit>]`, counters `_total`),
//! registered into the registry the service creates. Names are `pub const`s so dashboards and
//! tests refer to the same strings. Every label has a bounded set of values.

use prometheus::{
    HistogramOpts, HistogramVec, IntCounter, IntCounterVec, IntGauge, Opts, Registry,
};

/// Queries answered, by `transport` (udp, tcp, tls, https, h3, quic), `service` (resolver, root),
/// `qtype` (common types by name, others `other`) and `rcode`.
pub const QUERIES: &str = "hnsfleet_frontend_queries_total";
/// Time from a query's arrival to its response being ready, by transport and service.
pub const LATENCY: &str = "hnsfleet_frontend_query_duration_seconds";
/// Answer-cache results: `hit`, `miss`, `stale` (served expired, RFC 8767), `prefetch`.
pub const ANSWER_CACHE: &str = "hnsfleet_frontend_answer_cache_total";
/// Packet-cache look-ups of cacheable queries: `hit` (answered from stored bytes) or `miss`.
pub const PACKET_CACHE: &str = "hnsfleet_frontend_packet_cache_total";
/// Root-answer reuse: `hit` or `miss` (a miss asks the proof-cache tier and signs).
pub const ROOT_ANSWERS: &str = "hnsfleet_frontend_root_answers_total";
/// Root RRSIGs by `result`: `signed` (a P-256 signature made) or `memo` (the same set was
/// signed this second already).
pub const RRSIGS: &str = "hnsfleet_frontend_root_rrsigs_total";
/// Root answers that fell back to ICANN, by `result` (`delegation`, `nxdomain`).
pub const ICANN_FALLBACKS: &str = "hnsfleet_frontend_icann_fallbacks_total";
/// Failures of what the frontend depends on, by `reason`: the root's (`not_ready`,
/// `cache_unavailable`, `icann_bogus`, `wrong_network`, `build`) and recursion's (`bogus`, `unreachable`,
/// `root`, `upstream`).
pub const UPSTREAM_ERRORS: &str = "hnsfleet_frontend_upstream_errors_total";
/// Proof bundles asked for, by `result`: `built` (attached to the answer) or `failed` (the
/// answer went out with an EDE saying why there is none).
pub const PROOF_BUNDLES: &str = "hnsfleet_frontend_proof_bundles_total";
/// Responses signed with SIG(0).
pub const SIG0_SIGNED: &str = "hnsfleet_frontend_sig0_signed_total";
/// Responses left unsigned because the client's prefix or everyone together was over the
/// signing budget, by `scope` (`client`, `global`).
pub const SIG0_OVER_BUDGET: &str = "hnsfleet_frontend_sig0_over_budget_total";
/// Queries being resolved now.
pub const IN_FLIGHT: &str = "hnsfleet_frontend_in_flight";
/// Queries refused at once because `max_in_flight` were being resolved.
pub const OVERLOADED: &str = "hnsfleet_frontend_overloaded_total";
/// Connections (TCP, TLS, HTTPS, QUIC) open now.
pub const CONNECTIONS: &str = "hnsfleet_frontend_connections";
/// Connections (TCP, TLS, HTTPS, QUIC) closed or refused at once, unserved, by `reason`: `max_connections` (that many
/// open in all), `prefix_connections` (`max_connections_per_prefix` open from the client's
/// prefix), `handshake_rate` (the prefix's `tls_handshake_rate` spent).
pub const CONNECTIONS_REFUSED: &str = "hnsfleet_frontend_connections_refused_total";
/// QUIC connection attempts answered with a Retry (a stateless token the client must echo
/// from its address before anything is counted or reserved for it).
pub const QUIC_RETRIES: &str = "hnsfleet_frontend_quic_retries_total";
/// UDP datagrams over the response rate limit of their client prefix, by `action`: `slip`
/// (answered with an empty TC=1 reply) or `drop`.
pub const RRL: &str = "hnsfleet_frontend_rrl_total";
/// The label values of the counters whose series exist from the start (a rate over a series
/// that does not exist yet is no rate at all): family, values.
pub const PRESET_LABELS: [(&str, &[&str]); 12] = [
    (PROOF_BUNDLES, &["built", "failed"]),
    (ANSWER_CACHE, &["hit", "miss", "stale", "prefetch"]),
    (PACKET_CACHE, &["hit", "miss"]),
    (ROOT_ANSWERS, &["hit", "miss"]),
    (RRL, &["slip", "drop"]),
    (CONNECTIONS_REFUSED, &REFUSAL_REASONS),
    (
        UPSTREAM_ERRORS,
        &[
            "not_ready",
            "cache_unavailable",
            "icann_bogus",
            "wrong_network",
            "build",
            "bogus",
            "unreachable",
            "root",
            "upstream",
        ],
    ),
    (ICANN_FALLBACKS, &["delegation", "nxdomain"]),
    (RRSIGS, &["signed", "memo"]),
    (SIG0_OVER_BUDGET, &["client", "global"]),
    (
        DROPPED,
        &[
            "malformed",
            "response",
            "tls_handshake",
            "http",
            "write_timeout",
            "quic_handshake",
            "doq_protocol",
            "send_buffer",
        ],
    ),
    (TLS_RELOADS, &["ok", "error"]),
];
/// The `reason` values of [`CONNECTIONS_REFUSED`].
pub const REFUSAL_REASONS: [&str; 3] = ["max_connections", "prefix_connections", "handshake_rate"];
/// Packets or streams dropped without an answer, by `reason` (`malformed`, `response`,
/// `tls_handshake`, `http`, `write_timeout`: a TCP/DoT/DoQ client not reading its answers,
/// `quic_handshake`: a QUIC handshake that failed or took too long, `doq_protocol`: a DoQ
/// connection closed with DOQ_PROTOCOL_ERROR, `send_buffer`: a UDP answer that found no room
/// in the socket's send buffer in time).
pub const DROPPED: &str = "hnsfleet_frontend_dropped_total";
/// 1 while a proof-cache reports a trusted root (the frontend can serve verified data).
pub const TRUSTED_ROOT: &str = "hnsfleet_frontend_trusted_root";
/// Height of the trusted root the proof-caches report (0 before there is one).
pub const TRUSTED_ROOT_HEIGHT: &str = "hnsfleet_frontend_trusted_root_height";

/// Certificate reload attempts (SIGHUP, or changed files), by `result`: `ok` (the new pair
/// is presented) or `error` (it did not parse or its key is not the certificate's: the old
/// pair is still presented).
pub const TLS_RELOADS: &str = "hnsfleet_frontend_tls_reloads_total";
/// The notAfter of the certificate being presented, in Unix seconds (0 when unknown): alert
/// on `hnsfleet_frontend_tls_cert_expiry_seconds - time() < 14 * 86400`.
pub const TLS_CERT_EXPIRY: &str = "hnsfleet_frontend_tls_cert_expiry_seconds";

/// Query types with their own `qtype` label value; others are `other`.
pub const QTYPES: [&str; 14] = [
    "A", "AAAA", "NS", "DS", "DNSKEY", "SOA", "TXT", "MX", "CNAME", "PTR", "SRV", "HTTPS", "ANY",
    "other",
];

/// Every metric of the frontend.
#[derive(Debug, Clone)]
pub struct Metrics {
    /// [`QUERIES`].
    pub queries: IntCounterVec,
    /// [`LATENCY`].
    pub latency: HistogramVec,
    /// [`ANSWER_CACHE`].
    pub answer_cache: IntCounterVec,
    /// [`PACKET_CACHE`].
    pub packet_cache: IntCounterVec,
    /// [`ROOT_ANSWERS`].
    pub root_answers: IntCounterVec,
    /// [`UPSTREAM_ERRORS`].
    pub upstream_errors: IntCounterVec,
    /// [`ICANN_FALLBACKS`].
    pub icann_fallbacks: IntCounterVec,
    /// [`PROOF_BUNDLES`].
    pub proof_bundles: IntCounterVec,
    /// [`RRSIGS`].
    pub rrsigs: IntCounterVec,
    /// [`SIG0_SIGNED`].
    pub sig0_signed: IntCounter,
    /// [`SIG0_OVER_BUDGET`].
    pub sig0_over_budget: IntCounterVec,
    /// [`IN_FLIGHT`].
    pub in_flight: IntGauge,
    /// [`OVERLOADED`].
    pub overloaded: IntCounter,
    /// [`CONNECTIONS`].
    pub connections: IntGauge,
    /// [`CONNECTIONS_REFUSED`].
    pub connections_refused: IntCounterVec,
    /// [`QUIC_RETRIES`].
    pub quic_retries: IntCounter,
    /// [`RRL`].
    pub rrl: IntCounterVec,
    /// [`DROPPED`].
    pub dropped: IntCounterVec,
    /// [`TRUSTED_ROOT`].
    pub trusted_root: IntGauge,
    /// [`TRUSTED_ROOT_HEIGHT`].
    pub trusted_root_height: IntGauge,
    /// [`TLS_RELOADS`].
    pub tls_reloads: IntCounterVec,
    /// [`TLS_CERT_EXPIRY`].
    pub tls_cert_expiry: IntGauge,
}

impl Metrics {
    /// Creates and registers every metric.
    pub fn register(registry: &Registry) -> prometheus::Result<Metrics> {
        fn reg<C: prometheus::core::Collector + Clone + 'static>(
            registry: &Registry,
            c: C,
        ) -> prometheus::Result<C> {
            registry.register(Box::new(c.clone()))?;
            Ok(c)
        }
        let counter = |name: &str, help: &str, labels: &[&str]| {
            reg(registry, IntCounterVec::new(Opts::new(name, help), labels)?)
        };
        let latency = HistogramVec::new(
            HistogramOpts::new(LATENCY, "Time to answer a query.").buckets(vec![
                0.000_05, 0.000_1, 0.000_25, 0.000_5, 0.001, 0.002_5, 0.005, 0.01, 0.025, 0.05,
                0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
            ]),
            &["transport", "service"],
        )?;
        let metrics = Metrics {
            queries: counter(
                QUERIES,
                "Queries answered, by transport, service, query type and response code.",
                &["transport", "service", "qtype", "rcode"],
            )?,
            latency: reg(registry, latency)?,
            answer_cache: counter(ANSWER_CACHE, "Answer-cache results.", &["result"])?,
            packet_cache: counter(PACKET_CACHE, "Packet-cache results.", &["result"])?,
            root_answers: counter(ROOT_ANSWERS, "Root-answer reuse.", &["result"])?,
            upstream_errors: counter(
                UPSTREAM_ERRORS,
                "Failures of the proof-cache tier, the root and recursion, by reason.",
                &["reason"],
            )?,
            icann_fallbacks: counter(
                ICANN_FALLBACKS,
                "Root answers that fell back to ICANN.",
                &["result"],
            )?,
            rrsigs: counter(RRSIGS, "Root RRSIGs made or reused.", &["result"])?,
            proof_bundles: counter(
                PROOF_BUNDLES,
                "Proof bundles asked for, by result.",
                &["result"],
            )?,
            sig0_signed: reg(
                registry,
                IntCounter::new(SIG0_SIGNED, "Responses signed with SIG(0).")?,
            )?,
            sig0_over_budget: counter(
                SIG0_OVER_BUDGET,
                "Responses not signed because a signing budget was spent.",
                &["scope"],
            )?,
            in_flight: reg(
                registry,
                IntGauge::new(IN_FLIGHT, "Queries being resolved.")?,
            )?,
            overloaded: reg(
                registry,
                IntCounter::new(OVERLOADED, "Queries refused at the in-flight limit.")?,
            )?,
            connections: reg(
                registry,
                IntGauge::new(CONNECTIONS, "Stream connections open.")?,
            )?,
            connections_refused: counter(
                CONNECTIONS_REFUSED,
                "Connections refused at a limit, by reason.",
                &["reason"],
            )?,
            quic_retries: reg(
                registry,
                IntCounter::new(QUIC_RETRIES, "QUIC connection attempts sent a Retry.")?,
            )?,
            rrl: counter(
                RRL,
                "UDP datagrams over the response rate limit, by action.",
                &["action"],
            )?,
            dropped: counter(
                DROPPED,
                "Packets or streams dropped unanswered.",
                &["reason"],
            )?,
            trusted_root: reg(
                registry,
                IntGauge::new(
                    TRUSTED_ROOT,
                    "1 while a proof-cache reports a trusted root.",
                )?,
            )?,
            trusted_root_height: reg(
                registry,
                IntGauge::new(TRUSTED_ROOT_HEIGHT, "Height of the trusted root.")?,
            )?,
            tls_reloads: counter(
                TLS_RELOADS,
                "TLS certificate reload attempts, by result.",
                &["result"],
            )?,
            tls_cert_expiry: reg(
                registry,
                IntGauge::new(
                    TLS_CERT_EXPIRY,
                    "notAfter of the TLS certificate presented, Unix seconds.",
                )?,
            )?,
        };
        for (family, values) in PRESET_LABELS {
            let counter = match family {
                ANSWER_CACHE => &metrics.answer_cache,
                PACKET_CACHE => &metrics.packet_cache,
                ROOT_ANSWERS => &metrics.root_answers,
                RRL => &metrics.rrl,
                CONNECTIONS_REFUSED => &metrics.connections_refused,
                UPSTREAM_ERRORS => &metrics.upstream_errors,
                ICANN_FALLBACKS => &metrics.icann_fallbacks,
                PROOF_BUNDLES => &metrics.proof_bundles,
                RRSIGS => &metrics.rrsigs,
                SIG0_OVER_BUDGET => &metrics.sig0_over_budget,
                DROPPED => &metrics.dropped,
                TLS_RELOADS => &metrics.tls_reloads,
                _ => continue,
            };
            for value in values {
                counter.with_label_values(&[value]);
            }
        }
        Ok(metrics)
    }

    /// Metrics registered nowhere (tests and benches).
    pub fn unregistered() -> Metrics {
        // A private registry: the same metrics, just not exported.
        #[allow(clippy::expect_used)]
        Metrics::register(&Registry::new()).expect("fresh registry accepts every metric")
    }
}

/// The `qtype` label of a query type.
pub fn qtype_label(qtype: hickory_proto::rr::RecordType) -> &'static str {
    let text = qtype.to_string();
    QTYPES
        .iter()
        .find(|t| **t == text)
        .copied()
        .unwrap_or("other")
}

/// The `rcode` label of a response code: its mnemonic (`NOERROR`, `NXDOMAIN`, ...).
pub fn rcode_label(rcode: hickory_proto::op::ResponseCode) -> &'static str {
    use hickory_proto::op::ResponseCode as R;
    match rcode {
        R::NoError => "NOERROR",
        R::FormErr => "FORMERR",
        R::ServFail => "SERVFAIL",
        R::NXDomain => "NXDOMAIN",
        R::NotImp => "NOTIMP",
        R::Refused => "REFUSED",
        R::BADVERS => "BADVERS",
        _ => "other",
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use super::*;

    #[test]
    fn preset_series_exist_from_registration_on() {
        let registry = Registry::new();
        Metrics::register(&registry).unwrap();
        let gathered = registry.gather();
        for (family, values) in PRESET_LABELS {
            let found = gathered
                .iter()
                .find(|f| f.name() == family)
                .unwrap_or_else(|| panic!("{family} is not exported at start"));
            let labels: Vec<&str> = found
                .get_metric()
                .iter()
                .map(|m| m.get_label()[0].value())
                .collect();
            for value in values {
                assert!(
                    labels.contains(value),
                    "{family}{{{value}}} missing: {labels:?}"
                );
            }
        }
    }
}
