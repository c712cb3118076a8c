//! A bounded soak (`HNSFLEET_SOAK_SECS`, 150 s by default; loopback only): the real follower
//! binary next to one honest real hsd and a crowd of hostile scripted peers that keep coming
//! back (bans last one second, so each is redialled as soon as its backoff allows). All along
//! the follower must stay ready and answer every name exactly as hsd does, and its resident
//! memory must stay flat. The RSS series is printed (see docs/benchmarks.md).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use tokio::time::Instant;

use common::fake_peer::{Behavior, FakePeer};
use common::{
    assert_resource_is_hsds, connect_api, follower_command, lookup, registered_names,
    start_prepared_hsd, wait_for_hsds_tip,
};
use hnsfleet_chain_follower::metrics;
use hnsfleet_testkit::service::ServiceProcess;

/// Resident set size of `pid`, kB (Linux `/proc`).
fn rss_kb(pid: u32) -> u64 {
    let status = std::fs::read_to_string(format!("/proc/{pid}/status")).unwrap();
    status
        .lines()
        .find_map(|l| l.strip_prefix("VmRSS:"))
        .and_then(|v| v.split_whitespace().next())
        .and_then(|v| v.parse().ok())
        .unwrap()
}

async fn count(follower: &ServiceProcess, name: &str) -> f64 {
    follower.metric(name, &[]).await.unwrap().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn soak_hostile_peers_reconnecting_in_a_loop() {
    let soak = Duration::from_secs(
        std::env::var("HNSFLEET_SOAK_SECS")
            .ok()
            .and_then(|s| s.parse().ok())
            .unwrap_or(150),
    );
    let (hsd, manifest) = start_prepared_hsd("soak-hostile", 830).await;
    let tip = hsd.rpc("getblockcount", &[]).unwrap().as_u64().unwrap() as u32;
    let every = Duration::from_millis(50);
    let behaviors = [
        (Behavior::RandomHeaders, 10_000_000),
        (Behavior::ClaimOnly, 10_000_000),
        (Behavior::AnnounceOrphans { every }, tip),
        (Behavior::InvFlood { every }, tip),
        (Behavior::PingFlood, tip),
        (Behavior::UnsolicitedProof, tip),
        (Behavior::OversizeProof, tip),
        (Behavior::GiantUnusedFrame, tip),
        (Behavior::Malformed, tip),
    ];
    let mut hostile = Vec::new();
    for _ in 0..2 {
        for (behavior, height) in behaviors.iter().cloned() {
            hostile.push(FakePeer::start(behavior, height).await);
        }
    }
    let data_dir = tempfile::tempdir().unwrap();
    let mut command = follower_command(data_dir.path()).peer(hsd.p2p_addr().unwrap());
    for peer in &hostile {
        command = command.peer(peer.addr);
    }
    let follower = command
        .flag("--min-peers", 1)
        .flag("--max-peers", 32)
        .flag("--ban-time", "1s")
        .spawn("soak-hostile")
        .await
        .unwrap();
    // The soak starts once hsd's tip is in (a hostile peer may make the follower ready first).
    follower.wait_ready(Duration::from_secs(60)).await.unwrap();
    let mut api = connect_api(&follower).await;
    wait_for_hsds_tip(&follower, &hsd).await;
    let names = registered_names(&manifest);

    let started = Instant::now();
    let mut series: Vec<(u64, u64)> = Vec::new();
    let mut rounds = 0u64;
    while started.elapsed() < soak {
        assert_eq!(
            follower.admin_get("/readyz").await.unwrap().0,
            200,
            "unready after {:?}; log tail:\n{}",
            started.elapsed(),
            follower.log_tail(20)
        );
        for name in &names {
            let answer = lookup(&mut api, name).await;
            assert!(answer.exists, "{name}");
            assert_resource_is_hsds(&answer, &hsd);
        }
        rounds += 1;
        let secs = started.elapsed().as_secs();
        if series.last().is_none_or(|(t, _)| secs >= t + 10) {
            series.push((secs, rss_kb(follower.pid())));
        }
        tokio::time::sleep(Duration::from_millis(500)).await;
    }
    let accepted: usize = hostile.iter().map(FakePeer::accepted).sum();
    let bans = count(&follower, metrics::BANS).await;
    eprintln!(
        "soak: {:?}, {rounds} look-up rounds of {} names, {} hostile peers, {accepted} hostile \
         connections, {bans} bans; RSS (s, kB): {series:?}",
        soak,
        names.len(),
        hostile.len()
    );
    // The hostile peers really came back (bans expired, backoff allowed it).
    assert!(
        accepted >= 2 * hostile.len(),
        "only {accepted} hostile connections"
    );
    // Flat memory: from the first sample after a 20 s warm-up, growth stays under 16 MiB.
    let first = series
        .iter()
        .find(|(t, _)| *t >= 20)
        .or(series.last())
        .unwrap()
        .1;
    let max = series.iter().map(|(_, kb)| *kb).max().unwrap();
    assert!(
        max <= first + 16 * 1024,
        "RSS grew from {first} kB to {max} kB: {series:?}"
    );
}
