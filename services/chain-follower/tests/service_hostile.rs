//! Hostile peers next to one honest real hsd, through the real `hnsfleet-chain-follower`
//! binary: a peer sending headers with bad proof of work, one "proving" every name absent with
//! a proof that cannot verify, one sending an oversize frame, one a malformed frame, one that
//! stalls, and one that serves headers but never answers proofs. The follower bans the first
//! four (by reason), drops and redials the stallers, hedges look-ups away from the slow one,
//! never dials a banned peer again, keeps its tip on hsd's chain, and answers every look-up
//! exactly as hsd does — the bad data never comes out.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake_peer::{Behavior, FakePeer};
use common::{
    POOL_DEBUG_LOG, assert_tip_is_hsds, connect_api, follower_command, lookup, registered_names,
    resource_json, start_prepared_hsd, try_lookup, wait_banned_peers_skipped,
};
use hnsfleet_chain_follower::HeaderChain;
use hnsfleet_chain_follower::metrics;
use hnsfleet_chain_follower::peer::PeerConnection;
use hnsfleet_chain_follower::sync::sync_headers;
use hnsfleet_chain_follower::synthetic::mine_chain;
use hnsfleet_hns::chain::ChainEntry;
use hnsfleet_hns::params::Network;
use hnsfleet_testkit::Hsd;
use hnsfleet_testkit::service::ServiceProcess;

fn bad_pow_headers() -> Vec<hnsfleet_hns::header::Header> {
    let params = Network::Regtest.params();
    let mut headers = mine_chain(params, &ChainEntry::genesis(params), 3, 600, 77);
    while headers[0].verify_pow().is_ok() {
        headers[0].nonce = headers[0].nonce.wrapping_add(1);
    }
    headers
}

/// hsd's whole chain, fetched over p2p (so the liar can serve the real headers).
async fn real_headers(hsd: &Hsd) -> Arc<Vec<hnsfleet_hns::header::Header>> {
    let config = common::regtest_peer_config("/hnsfleet-test/");
    let mut peer = PeerConnection::connect(hsd.p2p_addr().unwrap(), &config, common::now())
        .await
        .unwrap();
    let mut chain = HeaderChain::from_genesis(Network::Regtest.params());
    let mut headers = Vec::new();
    sync_headers(&mut peer, &mut chain, common::now, |h, _| {
        headers.push(h.clone())
    })
    .await
    .unwrap();
    Arc::new(headers)
}

async fn count(follower: &ServiceProcess, name: &str, labels: &[(&str, &str)]) -> f64 {
    follower.metric(name, labels).await.unwrap().unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hostile_peers_are_banned_or_dropped_and_only_verified_answers_come_out() {
    let (hsd, manifest) = start_prepared_hsd("svc-hostile", 760).await;
    let tip = hsd.rpc("getblockcount", &[]).unwrap().as_u64().unwrap() as u32;

    let bad_pow = FakePeer::start(Behavior::BadPow(bad_pow_headers()), tip + 5).await;
    let chain = real_headers(&hsd).await;
    let liar = FakePeer::start(Behavior::LyingAbsence(Arc::clone(&chain)), tip).await;
    let slow = FakePeer::start(Behavior::ProofStaller(chain), tip).await;
    let oversize = FakePeer::start(Behavior::Oversize, tip).await;
    let malformed = FakePeer::start(Behavior::Malformed, tip).await;
    let staller = FakePeer::start(Behavior::Staller, tip).await;

    let data_dir = tempfile::tempdir().unwrap();
    let mut command = follower_command(data_dir.path());
    for peer in [
        hsd.p2p_addr().unwrap(),
        bad_pow.addr,
        liar.addr,
        oversize.addr,
        malformed.addr,
        staller.addr,
        slow.addr,
    ] {
        command = command.peer(peer);
    }
    let follower = command
        .flag("--min-peers", 1)
        .flag("--hedge-after", "200ms")
        .flag("--proof-timeout", "1s")
        .flag("--response-timeout", "2s")
        .flag("--ban-time", "1h")
        .flag("--log", POOL_DEBUG_LOG)
        .spawn("svc-hostile")
        .await
        .unwrap();
    follower.wait_ready(Duration::from_secs(30)).await.unwrap();

    // Bad PoW, oversize and malformed frames are banned as soon as they speak.
    let banned = async |f: &ServiceProcess, reason: &str| {
        count(f, metrics::BANS, &[("reason", reason)]).await
    };
    follower
        .poll(
            Duration::from_secs(20),
            "bans for bad headers and garbage",
            async |f| {
                (banned(f, "invalid_header").await >= 1.0 && banned(f, "protocol").await >= 2.0)
                    .then_some(())
            },
        )
        .await
        .unwrap();

    // The tip is hsd's.
    let mut api = connect_api(&follower).await;
    assert_eq!(assert_tip_is_hsds(&mut api, &hsd).await.height, tip);

    // Every answer is hsd's, however often the liar is picked first.
    let names = registered_names(&manifest);
    let absent: Vec<String> = manifest["absent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| n.as_str().unwrap().to_string())
        .collect();
    let mut expected = Vec::new();
    for name in &names {
        expected.push((
            name.clone(),
            hsd.rpc("getnameresource", &[name.as_str().into()]).unwrap(),
        ));
    }
    for round in 0..20 {
        for (name, theirs) in &expected {
            let answer = try_lookup(&mut api, name)
                .await
                .unwrap_or_else(|e| panic!("round {round}, {name}: {e}"));
            assert!(answer.exists, "round {round}: {name} reported absent");
            assert_eq!(&resource_json(&answer), theirs, "round {round}: {name}");
        }
        for name in &absent {
            let answer = lookup(&mut api, name).await;
            assert!(!answer.exists, "{name}");
        }
    }
    assert_eq!(
        banned(&follower, "bad_proof").await,
        1.0,
        "the liar is banned once"
    );
    assert_eq!(
        count(&follower, metrics::PROOFS_SERVED, &[("result", "exists")]).await,
        20.0 * names.len() as f64
    );

    // The peer that never answers proofs made look-ups hedge to another peer, and was dropped
    // (timeout) and redialled, not banned.
    assert!(count(&follower, metrics::PROOF_HEDGES, &[]).await >= 1.0);
    follower
        .poll(
            Duration::from_secs(20),
            "slow prover redialled",
            async |_| (slow.accepted() >= 2).then_some(()),
        )
        .await
        .unwrap();

    // The staller is dropped on its header timeout and redialled; it is not banned.
    follower
        .poll(
            Duration::from_secs(30),
            "staller dropped and redialled",
            async |f| {
                let timeouts = count(f, metrics::DISCONNECTS, &[("reason", "timeout")]).await;
                (timeouts >= 2.0 && staller.accepted() >= 2).then_some(())
            },
        )
        .await
        .unwrap();
    assert_eq!(count(&follower, metrics::PEERS_BANNED, &[]).await, 4.0);

    // Banned peers are never dialled again: once each one's dial loop has come round to it
    // after the ban, each has still accepted exactly its first connection.
    let banned_peers = [&bad_pow, &liar, &oversize, &malformed];
    wait_banned_peers_skipped(&follower, &banned_peers, Duration::from_secs(20)).await;
    let accepted: Vec<usize> = banned_peers.iter().map(|p| p.accepted()).collect();
    assert_eq!(accepted, vec![1, 1, 1, 1]);
    assert_eq!(follower.admin_get("/readyz").await.unwrap().0, 200);
    drop(follower);
}

/// With room for a single session, the slot held by a peer that gets banned goes to the next
/// configured peer: lost peers are replaced. The honest hsd starts only after both hostile
/// peers have had (and lost) the slot, so the order is certain.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_banned_peer_s_slot_goes_to_the_next_peer() {
    const OFFSET: u16 = 790;
    // hsd.sh's plain p2p port for this offset; the node is not running yet.
    let hsd_addr = std::net::SocketAddr::from(([127, 0, 0, 1], 14038 + OFFSET));
    let garbage = FakePeer::start(Behavior::Malformed, 1_000).await;
    let bad_pow = FakePeer::start(Behavior::BadPow(bad_pow_headers()), 1_000).await;
    let data_dir = tempfile::tempdir().unwrap();
    let follower = follower_command(data_dir.path())
        .peer(garbage.addr)
        .peer(bad_pow.addr)
        .peer(hsd_addr)
        .flag("--max-peers", 1)
        .flag("--min-peers", 1)
        .flag("--log", POOL_DEBUG_LOG)
        .spawn("svc-replace")
        .await
        .unwrap();
    follower
        .poll(
            Duration::from_secs(30),
            "both hostile peers banned",
            async |f| (count(f, metrics::PEERS_BANNED, &[]).await == 2.0).then_some(()),
        )
        .await
        .unwrap();
    assert_eq!((garbage.accepted(), bad_pow.accepted()), (1, 1));
    assert_eq!(follower.admin_get("/readyz").await.unwrap().0, 503);

    let (hsd, _) = start_prepared_hsd("svc-replace", OFFSET).await;
    assert_eq!(hsd.p2p_addr().unwrap(), hsd_addr);
    let tip = hsd.rpc("getblockcount", &[]).unwrap().as_u64().unwrap();
    follower.wait_ready(Duration::from_secs(90)).await.unwrap();
    assert_eq!(count(&follower, metrics::PEERS_CONNECTED, &[]).await, 1.0);
    assert_eq!(count(&follower, metrics::TIP_HEIGHT, &[]).await, tip as f64);
    // Neither banned peer was dialled again, though both dial loops came round to them.
    wait_banned_peers_skipped(&follower, &[&garbage, &bad_pow], Duration::from_secs(20)).await;
    assert_eq!((garbage.accepted(), bad_pow.accepted()), (1, 1));
    drop(follower);
}
