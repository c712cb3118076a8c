//! End to end: the project's load generator (`hnsfleet-loadgen`, in process) against the real
//! `hnsfleet-frontend` binary over every transport it serves (Do53 UDP and TCP, DoT, DoH over
//! HTTP/2 and HTTP/3, DoQ), for a short open-loop run each,
//! in front of a synthetic follower and an in-process proof-cache. Every query must be
//! answered — no errors, no timeouts, no SERVFAIL.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use clap::Parser;
use common::{Tier, frontend};
use hnsfleet_frontend::metrics as m;
use hnsfleet_loadgen::{Args, Config, Report};

async fn load(target: SocketAddr, transport: &str) -> Report {
    let target = target.to_string();
    let args = Args::try_parse_from([
        "hnsfleet-loadgen",
        "--quiet",
        "--target",
        &target,
        "-t",
        transport,
        "--insecure",
        "--rate",
        "300",
        "--duration",
        "2",
        "--connections",
        "2",
        "--timeout",
        "3s",
        // HNS TLDs of the synthetic tree and random absent ones, most of them repeated; DS only,
        // which the root answers itself (nothing serves below the synthetic TLDs).
        "--mix",
        "hns=70,nx=30",
        "--hns-names",
        "bench0,bench1,bench2,bench3,bench4",
        "--qtypes",
        "DS=1",
        "--hot-fraction",
        "0.8",
        "--dnssec-ok",
    ])
    .unwrap();
    hnsfleet_loadgen::run(Config::from_args(&args).unwrap())
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_short_load_over_every_transport_is_answered_without_errors() {
    let tier = Tier::start(5).await;
    let service = frontend(
        &tier.cache_url,
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--doh-listen",
            "127.0.0.1:0",
            "--doq-listen",
            "127.0.0.1:0",
            "--self-signed",
        ],
        "frontend-loadgen",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let dns = service.addr("dns").unwrap();
    for (transport, label, target) in [
        ("udp", "udp", dns),
        ("tcp", "tcp", dns),
        ("dot", "tls", service.addr("dot").unwrap()),
        ("doh", "https", service.addr("doh").unwrap()),
        // HTTP/3 on the UDP side of the DoH address.
        ("doh3", "h3", service.addr("doh").unwrap()),
        ("doq", "quic", service.addr("doq").unwrap()),
    ] {
        let report = load(target, transport).await;
        let t = &report.totals;
        assert_eq!(t.sent, 600, "{transport}: {t:?}");
        assert_eq!(
            (t.answered, t.timeouts, t.errors),
            (600, 0, 0),
            "{transport}: {report:?}"
        );
        assert_eq!(
            report.rcodes.get("SERVFAIL"),
            None,
            "{transport}: {:?}",
            report.rcodes
        );
        assert!(
            report.rcodes.get("NOERROR").is_some_and(|n| *n > 0),
            "{transport}"
        );
        assert!(
            report.rcodes.get("NXDOMAIN").is_some_and(|n| *n > 0),
            "{transport}"
        );
        // The frontend saw them on that transport.
        let served = service
            .metric(m::QUERIES, &[("transport", label)])
            .await
            .unwrap();
        assert_eq!(served, Some(600.0), "{transport}");
    }
}
