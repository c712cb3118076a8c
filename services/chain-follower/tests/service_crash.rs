//! Crash safety of the real `hnsfleet-chain-follower` binary: killed with SIGKILL in the middle
//! of a long header sync (a scripted peer serves 12,000 synthetic regtest headers slowly, as no
//! real hsd chain here is long enough to interrupt), it restarts from its header file — with
//! the synced prefix already there before any peer answers — and finishes the sync; a torn
//! record at the tail is cut and re-fetched; a deleted file means a full re-sync. A first sync
//! with two such peers downloads the chain from one of them, not the same headers from both.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use common::fake_peer::{Behavior, FakePeer};
use common::{connect_api, follower_command, get_tip, log_event_fields};
use hnsfleet_chain_follower::metrics;
use hnsfleet_chain_follower::service::HEADER_FILE;
use hnsfleet_chain_follower::synthetic::mine_chain;
use hnsfleet_hns::chain::ChainEntry;
use hnsfleet_hns::header::Header;
use hnsfleet_hns::params::Network;
use hnsfleet_testkit::service::ServiceProcess;
use serde_json::Value;

const HEADERS: usize = 12_000;

async fn start(peer: &str, data_dir: &Path, log: &str) -> ServiceProcess {
    follower_command(data_dir)
        .peer(peer)
        .spawn(log)
        .await
        .unwrap()
}

/// The fields of the "opened header store" log line.
async fn store_opened(follower: &ServiceProcess) -> Value {
    log_event_fields(follower, "opened header store", Duration::from_secs(20)).await
}

/// A synthetic regtest chain of `length` headers from genesis, mined off the async threads.
async fn synthetic_chain(length: usize) -> Arc<Vec<Header>> {
    let params = Network::Regtest.params();
    let chain = tokio::task::spawn_blocking(move || {
        mine_chain(params, &ChainEntry::genesis(params), length, 600, 5)
    })
    .await
    .unwrap();
    Arc::new(chain)
}

/// A scripted peer serving `chain` like hsd, waiting `delay` before each batch.
async fn slow_peer(chain: &Arc<Vec<Header>>, delay: Duration) -> FakePeer {
    let behavior = Behavior::SlowChain {
        chain: Arc::clone(chain),
        delay,
    };
    FakePeer::start(behavior, chain.len() as u32).await
}

async fn tip_height(follower: &ServiceProcess) -> u64 {
    follower
        .metric(metrics::TIP_HEIGHT, &[])
        .await
        .unwrap()
        .unwrap_or(0.0) as u64
}

async fn wait_tip(follower: &ServiceProcess, height: u64) {
    follower
        .poll(Duration::from_secs(120), "full sync", async |f| {
            (tip_height(f).await == height).then_some(())
        })
        .await
        .unwrap();
}

/// Waits until the header file holds the chain up to `height` (the store writer runs behind
/// the tip; the `store_height` gauge moves after each synced batch).
async fn wait_stored(follower: &ServiceProcess, height: u64) {
    follower
        .poll(Duration::from_secs(60), "headers on disk", async |f| {
            let stored = f.metric(metrics::STORE_HEIGHT, &[]).await.unwrap();
            (stored == Some(height as f64)).then_some(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn killed_mid_sync_it_resumes_from_the_file_and_recovers_a_torn_tail() {
    let chain = synthetic_chain(HEADERS).await;
    let last_hash = chain.last().unwrap().hash();
    let peer = slow_peer(&chain, Duration::from_millis(150)).await;
    let peer = peer.addr.to_string();
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path();
    let file = data_dir.join(HEADER_FILE);

    // 1. Kill -9 part-way through the sync.
    let mut first = start(&peer, data_dir, "svc-crash-1").await;
    // The store trails the tip by what its writer still has queued: wait for headers that
    // are on disk (the store-height gauge moves after each synced batch).
    let at_kill = first
        .poll(Duration::from_secs(60), "part-way", async |f| {
            let h = f
                .metric(metrics::STORE_HEIGHT, &[])
                .await
                .unwrap()
                .unwrap_or(0.0) as u64;
            (h > 4_000).then_some(h)
        })
        .await
        .unwrap();
    first.kill9().await;
    assert!(at_kill < HEADERS as u64, "sync finished before the kill");
    let size = std::fs::metadata(&file).unwrap().len();

    // 2. Restart with no reachable peer: the synced prefix is there at once, from the file.
    let offline = start("127.0.0.1:1", data_dir, "svc-crash-2").await;
    let opened = store_opened(&offline).await;
    let stored = opened["height"].as_u64().unwrap();
    assert!(
        stored >= at_kill,
        "lost synced headers: {stored} < {at_kill}"
    );
    assert!(stored < HEADERS as u64);
    assert_eq!(opened["truncated_bytes"], 0);
    assert_eq!(tip_height(&offline).await, stored);
    assert_eq!(std::fs::metadata(&file).unwrap().len(), size);
    drop(offline);

    // 3. Restart with the peer: resumes where the file ends and finishes.
    let resumed = start(&peer, data_dir, "svc-crash-3").await;
    assert_eq!(
        store_opened(&resumed).await["height"].as_u64().unwrap(),
        stored
    );
    wait_tip(&resumed, HEADERS as u64).await;
    // The store writer trails the tip: the torn-tail step below needs the whole chain on disk.
    wait_stored(&resumed, HEADERS as u64).await;
    let validated = resumed
        .metric(metrics::HEADERS_VALIDATED, &[])
        .await
        .unwrap()
        .unwrap();
    assert_eq!(
        validated as u64,
        HEADERS as u64 - stored,
        "re-validated the stored prefix"
    );
    drop(resumed);

    // 4. A torn record at the tail: cut on open, the lost header fetched again.
    let len = std::fs::metadata(&file).unwrap().len();
    std::fs::OpenOptions::new()
        .write(true)
        .open(&file)
        .unwrap()
        .set_len(len - 7)
        .unwrap();
    let torn = start(&peer, data_dir, "svc-crash-4").await;
    let opened = store_opened(&torn).await;
    assert!(opened["truncated_bytes"].as_u64().unwrap() > 0, "{opened}");
    assert_eq!(opened["height"].as_u64().unwrap(), HEADERS as u64 - 1);
    wait_tip(&torn, HEADERS as u64).await;
    wait_stored(&torn, HEADERS as u64).await;
    drop(torn);

    // 5. The file deleted: a full re-sync to the same tip.
    std::fs::remove_file(&file).unwrap();
    let fresh = start(&peer, data_dir, "svc-crash-5").await;
    assert_eq!(store_opened(&fresh).await["created"], true);
    wait_tip(&fresh, HEADERS as u64).await;
    let tip = get_tip(&mut connect_api(&fresh).await).await;
    assert_eq!(tip.hash, last_hash.as_bytes().to_vec());
    drop(fresh);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_first_sync_downloads_the_chain_from_one_peer_at_a_time() {
    const LENGTH: usize = 8_000;
    let chain = synthetic_chain(LENGTH).await;
    let last_hash = chain.last().unwrap().hash();
    let peers = [
        slow_peer(&chain, Duration::from_millis(100)).await,
        slow_peer(&chain, Duration::from_millis(100)).await,
    ];
    let data_dir = tempfile::tempdir().unwrap();
    let follower = follower_command(data_dir.path())
        .peer(peers[0].addr)
        .peer(peers[1].addr)
        .flag("--min-peers", 2)
        .spawn("svc-loader")
        .await
        .unwrap();
    wait_tip(&follower, LENGTH as u64).await;
    follower.wait_ready(Duration::from_secs(30)).await.unwrap();
    let tip = get_tip(&mut connect_api(&follower).await).await;
    assert_eq!(tip.hash, last_hash.as_bytes().to_vec());
    // Both peers had sessions; together they sent the chain about once, not twice.
    assert!(peers.iter().all(|p| p.accepted() >= 1));
    let sent: Vec<usize> = peers.iter().map(FakePeer::headers_sent).collect();
    assert!(
        sent.iter().sum::<usize>() < LENGTH + LENGTH / 2,
        "headers sent per peer: {sent:?}"
    );
    drop(follower);
}
