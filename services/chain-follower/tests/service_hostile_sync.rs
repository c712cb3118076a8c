//! The hostile-peer families of the follower-hardening issue, each as a scripted peer next to
//! one honest real hsd, through the real `hnsfleet-chain-follower` binary: liars about their
//! height, random and repeated header batches, headers that connect to nothing, orphan and INV
//! floods, PING floods, unsolicited and oversize proofs, and a giant frame of a type the
//! follower never reads. The follower must become ready with hsd whatever the liars say, ban
//! or drop each one for the right reason, and answer every look-up exactly as hsd does.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake_peer::{Behavior, FakePeer};
use common::{
    POOL_DEBUG_LOG, assert_resource_is_hsds, assert_tip_is_hsds, connect_api, follower_command,
    lookup, registered_names, start_prepared_hsd, wait_banned_peers_skipped, wait_for_hsds_tip,
};
use hnsfleet_chain_follower::metrics;
use hnsfleet_chain_follower::synthetic::mine_chain;
use hnsfleet_hns::chain::ChainEntry;
use hnsfleet_hns::params::Network;
use hnsfleet_testkit::service::ServiceProcess;
use serde_json::Value;

async fn count(follower: &ServiceProcess, name: &str, labels: &[(&str, &str)]) -> f64 {
    follower.metric(name, labels).await.unwrap().unwrap_or(0.0)
}

/// The `why` of the follower's "banning peer" log lines about `peer`, in order.
fn ban_reasons(follower: &ServiceProcess, peer: &FakePeer) -> Vec<String> {
    let needle = format!("127.0.0.1:{}", peer.addr.port());
    follower
        .log()
        .lines()
        .filter(|l| l.contains("banning peer") && l.contains(&needle))
        .filter_map(|l| serde_json::from_str::<Value>(l).ok())
        .map(|v| v["fields"]["why"].as_str().unwrap_or_default().to_string())
        .collect()
}

/// Polls until `peer` was banned once; returns why.
async fn wait_banned(follower: &ServiceProcess, peer: &FakePeer, what: &str) -> String {
    follower
        .poll(Duration::from_secs(60), what, async |f| {
            ban_reasons(f, peer).into_iter().next()
        })
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn liars_cannot_hold_readiness_and_every_hostile_family_is_banned_or_dropped() {
    let (hsd, manifest) = start_prepared_hsd("svc-hostile-sync", 820).await;
    let tip = hsd.rpc("getblockcount", &[]).unwrap().as_u64().unwrap() as u32;
    let huge = 10_000_000;

    // The case: a huge VERSION height and full batches of random headers.
    let random = FakePeer::start(Behavior::RandomHeaders, huge).await;
    // A liar that claims a huge height and never shows a header: stays connected.
    let claimer = FakePeer::start(Behavior::ClaimOnly, huge).await;
    let orphans = FakePeer::start(
        Behavior::AnnounceOrphans {
            every: Duration::from_millis(100),
        },
        tip,
    )
    .await;
    let invs = FakePeer::start(
        Behavior::InvFlood {
            every: Duration::from_millis(100),
        },
        tip,
    )
    .await;
    let pings = FakePeer::start(Behavior::PingFlood, tip).await;
    let unsolicited = FakePeer::start(Behavior::UnsolicitedProof, tip).await;
    let oversize = FakePeer::start(Behavior::OversizeProof, tip).await;
    let giant = FakePeer::start(Behavior::GiantUnusedFrame, tip).await;

    let data_dir = tempfile::tempdir().unwrap();
    let mut command = follower_command(data_dir.path()).peer(hsd.p2p_addr().unwrap());
    for peer in [
        &random,
        &claimer,
        &orphans,
        &invs,
        &pings,
        &unsolicited,
        &oversize,
        &giant,
    ] {
        command = command.peer(peer.addr);
    }
    let follower = command
        .flag("--min-peers", 1)
        .flag("--max-peers", 16)
        .flag("--ban-time", "1h")
        .flag("--log", POOL_DEBUG_LOG)
        .spawn("svc-hostile-sync")
        .await
        .unwrap();

    // Ready with hsd although two peers claim height 10,000,000. (On regtest, where no tip is
    // ever too old, a peer that finishes its first round with nothing to send may make the
    // follower ready before hsd's headers are in: wait for them rather than race them.)
    follower.wait_ready(Duration::from_secs(60)).await.unwrap();
    let mut api = connect_api(&follower).await;
    wait_for_hsds_tip(&follower, &hsd).await;
    assert_eq!(assert_tip_is_hsds(&mut api, &hsd).await.height, tip);
    assert!(count(&follower, metrics::BEST_PEER_HEIGHT, &[]).await < f64::from(huge));

    // Each family banned once, for its own reason.
    let why = wait_banned(&follower, &random, "random headers banned").await;
    // Refused before any hashing: the batch starts at no hash of the locator sent.
    assert!(why.contains("connects to nothing"), "{why}");
    let why = wait_banned(&follower, &orphans, "orphan announcer banned").await;
    assert!(why.contains("never connect"), "{why}");
    let why = wait_banned(&follower, &invs, "INV flooder banned").await;
    assert!(why.contains("never connect"), "{why}");
    let why = wait_banned(&follower, &unsolicited, "unsolicited proof banned").await;
    assert!(why.contains("unsolicited proof"), "{why}");
    let why = wait_banned(&follower, &oversize, "oversize proof banned").await;
    assert!(why.contains("exceeds the limit"), "{why}");

    // The PING flooder is dropped (not banned) and redialled.
    follower
        .poll(
            Duration::from_secs(30),
            "ping flooder dropped twice",
            async |f| {
                let dropped = count(f, metrics::DISCONNECTS, &[("reason", "dropped")]).await;
                (dropped >= 2.0 && pings.accepted() >= 2).then_some(())
            },
        )
        .await
        .unwrap();
    assert!(ban_reasons(&follower, &pings).is_empty());

    // The 7 MB frame of an unused type was skipped, not buffered or refused: the peer got the
    // PONG to the PING it sent after it, and is still connected, never banned.
    follower
        .poll(Duration::from_secs(30), "giant frame skipped", async |_| {
            (giant.events() >= 1).then_some(())
        })
        .await
        .unwrap();
    assert_eq!(giant.accepted(), 1);
    assert!(ban_reasons(&follower, &giant).is_empty());

    // The claimer is connected all along and does not hold readiness back.
    assert_eq!(claimer.accepted(), 1);
    assert!(ban_reasons(&follower, &claimer).is_empty());
    assert_eq!(follower.admin_get("/readyz").await.unwrap().0, 200);

    // The honest answers are hsd's.
    let banned = [&random, &orphans, &invs, &unsolicited, &oversize];
    assert_eq!(
        count(&follower, metrics::PEERS_BANNED, &[]).await,
        banned.len() as f64
    );
    for name in registered_names(&manifest) {
        let answer = lookup(&mut api, &name).await;
        assert!(answer.exists, "{name}");
        assert_resource_is_hsds(&answer, &hsd);
    }
    // Banned peers are never dialled again: each one's dial loop came round to it (and logged
    // that it skipped it), and it accepted only its first connection.
    wait_banned_peers_skipped(&follower, &banned, Duration::from_secs(30)).await;
    for peer in banned {
        assert_eq!(peer.accepted(), 1, "a banned peer was dialled again");
    }
    assert_eq!(follower.admin_get("/readyz").await.unwrap().0, 200);
}

/// No hsd here: a synthetic chain longer than one batch, served by an honest scripted peer,
/// next to a peer that answers every GETHEADERS with the same first batch and one whose full
/// batch connects to nothing. Both are banned; the follower syncs the whole chain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn repeated_and_unconnected_batches_are_banned() {
    let params = Network::Regtest.params();
    let chain = Arc::new(mine_chain(
        params,
        &ChainEntry::genesis(params),
        4_100,
        600,
        11,
    ));
    let mut parent = ChainEntry::genesis(params);
    parent.hash = hnsfleet_hns::types::BlockHash([0x42; 32]);
    parent.height = 50;
    let nowhere = Arc::new(mine_chain(params, &parent, 2_000, 600, 12));

    let honest = FakePeer::start(
        Behavior::SlowChain {
            chain: Arc::clone(&chain),
            delay: Duration::from_millis(300),
        },
        4_100,
    )
    .await;
    let repeat = FakePeer::start(Behavior::RepeatBatch(Arc::clone(&chain)), 4_100).await;
    let unconnected = FakePeer::start(Behavior::Unconnected(nowhere), 4_100).await;

    let data_dir = tempfile::tempdir().unwrap();
    let follower = follower_command(data_dir.path())
        .peer(honest.addr)
        .peer(repeat.addr)
        .peer(unconnected.addr)
        .flag("--min-peers", 1)
        .spawn("svc-repeat")
        .await
        .unwrap();
    let why = wait_banned(&follower, &repeat, "repeating peer banned").await;
    assert!(why.contains("adds nothing"), "{why}");
    let why = wait_banned(&follower, &unconnected, "unconnected peer banned").await;
    assert!(why.contains("connects to nothing"), "{why}");
    follower
        .poll(Duration::from_secs(120), "whole chain synced", async |f| {
            (count(f, metrics::TIP_HEIGHT, &[]).await == 4_100.0).then_some(())
        })
        .await
        .unwrap();
    assert_eq!((repeat.accepted(), unconnected.accepted()), (1, 1));
}
