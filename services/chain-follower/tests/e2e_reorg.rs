//! Reorg against real hsd nodes: two regtest nodes mine competing chains from the same
//! genesis; the follower first follows the shorter one, then sees the heavier one and switches
//! to it, reporting the depth, with every header of both branches fully validated.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::{now, regtest_peer_config};

use std::time::Duration;

use hnsfleet_chain_follower::HeaderChain;
use hnsfleet_chain_follower::peer::PeerConnection;
use hnsfleet_chain_follower::sync::sync_headers;
use hnsfleet_hns::params::Network;
use hnsfleet_testkit::Hsd;
use serde_json::Value;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_switches_to_the_heavier_real_chain_and_reports_the_depth() {
    let (short, long) = tokio::task::spawn_blocking(|| {
        let short = Hsd::start("reorg-short", 600).expect("hsd short");
        let long = Hsd::start("reorg-long", 610).expect("hsd long");
        short.mine(4).expect("mine short");
        long.mine(7).expect("mine long");
        (short, long)
    })
    .await
    .unwrap();
    let short_tip = short.rpc("getblockchaininfo", &[]).unwrap();
    let long_tip = long.rpc("getblockchaininfo", &[]).unwrap();
    assert_ne!(short_tip["bestblockhash"], long_tip["bestblockhash"]);

    let mut chain = HeaderChain::from_genesis(Network::Regtest.params());
    let mut a = PeerConnection::connect(
        short.p2p_addr().unwrap(),
        &regtest_peer_config("/hnsfleet-e2e/"),
        now(),
    )
    .await
    .unwrap();
    let report = sync_headers(&mut a, &mut chain, now, |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.received, 4);
    assert!(report.reorgs.is_empty());
    assert_eq!(
        Value::from(chain.tip().hash.to_hex()),
        short_tip["bestblockhash"]
    );

    let mut b = PeerConnection::connect(
        long.p2p_addr().unwrap(),
        &regtest_peer_config("/hnsfleet-e2e/"),
        now(),
    )
    .await
    .unwrap();
    let report = sync_headers(&mut b, &mut chain, now, |_, _| {})
        .await
        .unwrap();
    assert_eq!(report.reorgs.len(), 1, "{report:?}");
    let reorg = &report.reorgs[0];
    assert_eq!((reorg.depth, reorg.fork_height), (4, 0));
    assert_eq!(reorg.old_tip.height, 4);
    assert_eq!(Value::from(chain.tip().height), long_tip["blocks"]);
    assert_eq!(
        Value::from(chain.tip().hash.to_hex()),
        long_tip["bestblockhash"]
    );

    // The lighter chain growing again (but still lighter) does not move the tip back.
    let (short, long) = tokio::task::spawn_blocking(move || {
        short.mine(2).expect("mine short");
        (short, long)
    })
    .await
    .unwrap();
    let report = sync_headers(&mut a, &mut chain, now, |_, _| {})
        .await
        .unwrap();
    assert!(report.reorgs.is_empty(), "{report:?}");
    assert_eq!(
        Value::from(chain.tip().hash.to_hex()),
        long_tip["bestblockhash"]
    );
    drop((short, long));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_follows_new_blocks_announced_by_real_hsd() {
    use hnsfleet_chain_follower::sync::follow_announcements;
    let hsd = tokio::task::spawn_blocking(|| {
        let hsd = Hsd::start("follow-tip", 630).expect("hsd");
        hsd.mine(3).expect("mine");
        hsd
    })
    .await
    .unwrap();
    let mut chain = HeaderChain::from_genesis(Network::Regtest.params());
    let mut peer = PeerConnection::connect(
        hsd.p2p_addr().unwrap(),
        &regtest_peer_config("/hnsfleet-e2e/"),
        now(),
    )
    .await
    .unwrap();
    sync_headers(&mut peer, &mut chain, now, |_, _| {})
        .await
        .unwrap();
    assert_eq!(chain.tip().height, 3);

    // hsd announces each new block (HEADERS after our SENDHEADERS); the follower takes them.
    let hsd = tokio::task::spawn_blocking(move || {
        hsd.mine(5).expect("mine");
        hsd
    })
    .await
    .unwrap();
    let report = follow_announcements(
        &mut peer,
        &mut chain,
        now,
        |_, _| {},
        Duration::from_secs(10),
        |c| c.tip().height >= 8,
    )
    .await
    .unwrap();
    assert!(report.received >= 5, "{report:?}");
    let info = hsd.rpc("getblockchaininfo", &[]).unwrap();
    assert_eq!(
        Value::from(chain.tip().hash.to_hex()),
        info["bestblockhash"]
    );
    drop(hsd);
}
