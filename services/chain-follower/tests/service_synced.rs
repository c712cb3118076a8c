//! `synced` on the real binary's `GetTip` and `WatchTip`, without hsd: a scripted peer serves
//! a synthetic regtest chain slowly (no real chain here is long enough to watch a sync in
//! progress), so the follower holds a safe root long before it has caught up. While it syncs
//! it says `synced = false` (a proof-cache must not trust that root); once the sync round is
//! over and its tip is the peer's, it says `synced = true`, on both calls.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake_peer::{Behavior, FakePeer};
use common::{connect_api, follower_command};
use hnsfleet_chain_follower::synthetic::mine_chain;
use hnsfleet_hns::chain::ChainEntry;
use hnsfleet_hns::params::Network;
use hnsfleet_proto::follower::v1 as pb;

/// Three full batches of 2,000 headers, then the empty answer that ends the round.
const LENGTH: u32 = 6_000;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn get_tip_and_watch_tip_say_not_synced_while_syncing_and_synced_once_caught_up() {
    let params = Network::Regtest.params();
    let chain = tokio::task::spawn_blocking(move || {
        mine_chain(
            params,
            &ChainEntry::genesis(params),
            LENGTH as usize,
            600,
            7,
        )
    })
    .await
    .unwrap();
    let last_hash = chain.last().unwrap().hash();
    let peer = FakePeer::start(
        Behavior::SlowChain {
            chain: Arc::new(chain),
            delay: Duration::from_millis(700),
        },
        LENGTH,
    )
    .await;
    let data_dir = tempfile::tempdir().unwrap();
    let follower = follower_command(data_dir.path())
        .peer(peer.addr)
        .spawn("svc-synced")
        .await
        .unwrap();
    let mut api = connect_api(&follower).await;
    let mut stream = api
        .watch_tip(pb::WatchTipRequest {})
        .await
        .unwrap()
        .into_inner();

    // Every event until the synced one: not synced, with a safe root part-way through.
    let mut syncing_with_root = Vec::new();
    let synced = tokio::time::timeout(Duration::from_secs(120), async {
        loop {
            let event = stream.message().await.unwrap().expect("stream open");
            let height = event.tip.as_ref().unwrap().height;
            if event.synced {
                return event;
            }
            if event.safe_root.is_some() && height > 0 && height < LENGTH {
                syncing_with_root.push(height);
                // GetTip agrees while the sync is still running (the next batch is 700 ms
                // away at least).
                let tip = api
                    .get_tip(pb::GetTipRequest {})
                    .await
                    .unwrap()
                    .into_inner();
                if tip.tip.as_ref().unwrap().height < LENGTH {
                    assert!(!tip.synced, "GetTip says synced at {tip:?}");
                    assert!(tip.safe_root.is_some());
                }
            }
        }
    })
    .await
    .expect("a synced event within 120 s");
    assert!(
        !syncing_with_root.is_empty(),
        "no unsynced event with a safe root was seen mid-sync"
    );
    let tip = synced.tip.unwrap();
    assert_eq!(tip.height, LENGTH);
    assert_eq!(tip.hash, last_hash.as_bytes().to_vec());
    assert!(synced.safe_root.is_some());

    // GetTip says the same from now on.
    let now = api
        .get_tip(pb::GetTipRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(now.synced, "{now:?}");
    assert_eq!(now.tip.unwrap().height, LENGTH);
    assert_eq!(now.safe_root, synced.safe_root);
    follower.wait_ready(Duration::from_secs(30)).await.unwrap();
}
