//! Restart against a real hsd: headers synced from hsd are persisted to the header file; a
//! restart resumes from the file without the network; a torn tail (the crash case) loses only
//! the torn record, and the next sync from hsd fills the gap again.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::{now, regtest_peer_config};

use hnsfleet_chain_follower::peer::PeerConnection;
use hnsfleet_chain_follower::sync::sync_headers;
use hnsfleet_chain_follower::{Start, Store};
use hnsfleet_hns::params::Network;
use hnsfleet_testkit::Hsd;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn resumes_from_the_header_file_and_recovers_a_torn_tail() {
    let hsd = tokio::task::spawn_blocking(|| {
        let hsd = Hsd::start("restart-e2e", 620).expect("hsd");
        hsd.mine(30).expect("mine");
        hsd
    })
    .await
    .unwrap();
    let params = Network::Regtest.params();
    let config = regtest_peer_config("/hnsfleet-e2e/");
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");

    // First run: sync from hsd into an empty file.
    let (mut store, mut chain, recovery) = Store::open(&path, params, &Start::Genesis).unwrap();
    assert!(recovery.created);
    let mut peer = PeerConnection::connect(hsd.p2p_addr().unwrap(), &config, now())
        .await
        .unwrap();
    let mut write_error = None;
    sync_headers(&mut peer, &mut chain, now, |header, outcome| {
        if let Err(e) = store.apply(header, outcome) {
            write_error.get_or_insert(e);
        }
    })
    .await
    .unwrap();
    assert!(write_error.is_none(), "{write_error:?}");
    let tip = chain.tip();
    assert_eq!(tip.height, 30);
    drop((store, chain));

    // Restart: everything comes back from the file, no peer needed.
    let (store, chain, recovery) = Store::open(&path, params, &Start::Genesis).unwrap();
    assert_eq!((recovery.records, recovery.truncated_bytes), (30, 0));
    assert_eq!(chain.tip(), tip);
    drop((store, chain));

    // Crash mid-write: the last record is torn. Only that record is lost ...
    let len = std::fs::metadata(&path).unwrap().len();
    let file = std::fs::OpenOptions::new().write(true).open(&path).unwrap();
    file.set_len(len - 100).unwrap();
    drop(file);
    let (mut store, mut chain, recovery) = Store::open(&path, params, &Start::Genesis).unwrap();
    assert_eq!(recovery.records, 29);
    assert!(recovery.truncated_bytes > 0);
    assert_eq!(chain.tip().height, 29);

    // ... and the next sync from hsd gets it back.
    sync_headers(&mut peer, &mut chain, now, |header, outcome| {
        store.apply(header, outcome).unwrap();
    })
    .await
    .unwrap();
    assert_eq!(chain.tip(), tip);
    drop((store, chain));
    let (_, chain, recovery) = Store::open(&path, params, &Start::Genesis).unwrap();
    assert_eq!((recovery.records, recovery.truncated_bytes), (30, 0));
    assert_eq!(chain.tip(), tip);
    drop(hsd);
}
