//! Benchmark (not a test): name look-up latency of the follower against a local hsd, compared
//! with hsd's own `getnameresource` JSON-RPC latency in the same run, same names, both over
//! loopback, one request at a time.
//!
//! The follower's look-up = GETPROOF over an open p2p connection + Urkel verification +
//! NameState and resource decoding. Requests are paced below hsd's 100 proofs/s per-peer limit.
//!
//! A third series goes through the whole follower service, run in-process on port 0: gRPC
//! `LookupName` → pool → session → GETPROOF → verification → protobuf answer.
//!
//! Run: `cargo run --release -p hnsfleet-chain-follower --example proof_latency [ROUNDS]`
//! (needs `bash scripts/setup.sh` first; starts and stops its own hsd).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{Read, Write};
use std::net::TcpStream as StdTcpStream;
use std::time::{Duration, Instant as StdInstant};

use data_encoding::BASE64;
use hnsfleet_chain_follower::HeaderChain;
use hnsfleet_chain_follower::lookup::lookup;
use hnsfleet_chain_follower::peer::PeerConnection;
use hnsfleet_chain_follower::sync::sync_headers;
use hnsfleet_hns::name::Name;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::resource::Resource;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use hnsfleet_testkit::Hsd;

#[path = "../tests/common/mod.rs"]
mod common;
use common::{now, regtest_peer_config};

/// Prints p50, p99 and max of `samples` (recorded in ns, 3 significant digits).
fn report(label: &str, samples: &[Duration]) {
    let mut histogram = hdrhistogram::Histogram::<u64>::new(3).unwrap();
    for sample in samples {
        histogram
            .record(u64::try_from(sample.as_nanos()).unwrap())
            .unwrap();
    }
    let micros = |ns: u64| ns as f64 / 1e3;
    println!(
        "{label:<40} n={:<5} p50={:>8.1} µs  p99={:>8.1} µs  max={:>8.1} µs",
        histogram.len(),
        micros(histogram.value_at_quantile(0.5)),
        micros(histogram.value_at_quantile(0.99)),
        micros(histogram.max()),
    );
}

/// One JSON-RPC call over a kept-alive HTTP/1.1 connection; returns the raw body.
fn rpc(conn: &mut StdTcpStream, auth: &str, body: &str) -> String {
    let req = format!(
        "POST / HTTP/1.1\r\nHost: 127.0.0.1\r\nAuthorization: Basic {auth}\r\nContent-Type: application/json\r\nContent-Length: {}\r\n\r\n{body}",
        body.len()
    );
    conn.write_all(req.as_bytes()).unwrap();
    let mut buf = Vec::new();
    let mut chunk = [0u8; 8192];
    loop {
        let n = conn.read(&mut chunk).unwrap();
        assert!(n > 0, "hsd closed the rpc connection");
        buf.extend_from_slice(&chunk[..n]);
        let text = String::from_utf8_lossy(&buf);
        if let Some(head_end) = text.find("\r\n\r\n") {
            let head = text[..head_end].to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .map(|v| v.trim().parse().unwrap())
                .expect("content-length");
            if buf.len() >= head_end + 4 + len {
                return text[head_end + 4..head_end + 4 + len].to_string();
            }
        }
    }
}

/// Starts the follower service in-process against `peer`; returns its gRPC URL.
async fn start_service(
    peer: std::net::SocketAddr,
    data_dir: std::path::PathBuf,
    lifecycle: hnsfleet_service_kit::Lifecycle,
) -> String {
    use hnsfleet_chain_follower::config::FollowerConfig;
    use hnsfleet_chain_follower::service::{Listeners, run};
    let config = FollowerConfig {
        network: Network::Regtest,
        peers: vec![peer.to_string().parse().unwrap()],
        data_dir,
        ..FollowerConfig::default()
    };
    let grpc = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", grpc.local_addr().unwrap());
    tokio::spawn(async move {
        run(config, Listeners { grpc, admin }, lifecycle)
            .await
            .unwrap()
    });
    url
}

#[tokio::main(flavor = "multi_thread", worker_threads = 2)]
async fn main() {
    let rounds: usize = std::env::args().nth(1).map_or(40, |a| a.parse().unwrap());
    let (hsd, manifest) =
        tokio::task::spawn_blocking(|| Hsd::start_prepared("proof-latency", 700).unwrap())
            .await
            .unwrap();
    let mut names: Vec<String> = manifest["names"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    names.extend(
        manifest["absent"]
            .as_array()
            .unwrap()
            .iter()
            .map(|n| n.as_str().unwrap().to_string()),
    );

    let config = regtest_peer_config("/hnsfleet-bench/");
    let mut peer = PeerConnection::connect(hsd.p2p_addr().unwrap(), &config, now())
        .await
        .unwrap();
    let mut chain = HeaderChain::from_genesis(Network::Regtest.params());
    sync_headers(&mut peer, &mut chain, now, |_, _| {})
        .await
        .unwrap();
    let root = chain.safe_root().unwrap().tree_root;

    let auth = BASE64.encode(format!("x:{}", hsd.api_key().unwrap()).as_bytes());
    let mut http = StdTcpStream::connect(hsd.http_addr().unwrap()).unwrap();
    http.set_nodelay(true).unwrap();

    // No drain window: nothing balances load onto this in-process follower.
    let lifecycle = hnsfleet_service_kit::Lifecycle::new(Duration::ZERO, Duration::from_secs(5));
    let data_dir = tempfile::tempdir().unwrap();
    let url = start_service(
        hsd.p2p_addr().unwrap(),
        data_dir.path().join("follower"),
        lifecycle.clone(),
    )
    .await;
    let mut api = loop {
        match ChainFollowerServiceClient::connect(url.clone()).await {
            Ok(c) => break c,
            Err(_) => tokio::time::sleep(Duration::from_millis(50)).await,
        }
    };
    // Wait for the service to sync (a look-up succeeds).
    loop {
        let request = pb::LookupNameRequest {
            name: names[0].clone(),
            root: None,
        };
        if api.lookup_name(request).await.is_ok() {
            break;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    let (mut ours, mut theirs, mut service) = (Vec::new(), Vec::new(), Vec::new());
    for _ in 0..rounds {
        for name in &names {
            let key = Name::parse(name).unwrap().hash();
            let t = StdInstant::now();
            let (verified, _) = lookup(&mut peer, root, key, Duration::from_secs(5), |_| {})
                .await
                .unwrap();
            let _json = verified
                .state()
                .and_then(|s| s.resource_data())
                .map(|d| Resource::decode(d).unwrap().to_json());
            ours.push(t.elapsed());

            let body = format!("{{\"method\":\"getnameresource\",\"params\":[\"{name}\"]}}");
            let t = StdInstant::now();
            let answer = rpc(&mut http, &auth, &body);
            theirs.push(t.elapsed());
            assert!(answer.contains("\"error\":null"), "{answer}");

            let t = StdInstant::now();
            let answer = api
                .lookup_name(pb::LookupNameRequest {
                    name: name.clone(),
                    root: None,
                })
                .await
                .unwrap()
                .into_inner()
                .lookup
                .unwrap();
            if !answer.resource.is_empty() {
                let _json = Resource::decode(&answer.resource).unwrap().to_json();
            }
            service.push(t.elapsed());
            // Stay below hsd's proof rate limit (two proofs per iteration).
            tokio::time::sleep(Duration::from_millis(50)).await;
        }
    }
    println!(
        "hsd 8.0.0 regtest on loopback, {} names x {rounds} rounds",
        names.len()
    );
    report("hnsfleet look-up (GETPROOF + verify)", &ours);
    report("hnsfleet service (gRPC LookupName)", &service);
    report("hsd getnameresource JSON-RPC", &theirs);
    lifecycle.begin_shutdown();
    drop(hsd);
}
