//! What real hsd does with a GETPROOF for the tree root of a block a reorg disconnected: the
//! fact `LookupName` against a disconnected root (docs/chain-follower.md) relies on.
//!
//! Two regtest nodes start from the same prepared chain (names registered by real auctions)
//! and never talk until the end: A updates `fleettxt` and commits it in the tree on its own
//! branch; B updates it differently on a longer branch; then A dials B and reorganizes onto
//! B's chain. Asked over the follower's own p2p code (`lookup::lookup`, which verifies):
//! - A still proves the name against the root of its disconnected branch (hsd's Urkel store
//!   is append-only and finds old roots by walking its on-disk root history), with A's old
//!   records, and against B's root with B's records;
//! - B, which never connected A's branch, cannot: it closes the connection (the missing-node
//!   error ends hsd's packet handler) without a PROOF, and does not ban us: a new connection
//!   is accepted and answered at once.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::{now, regtest_peer_config};

use std::time::Duration;

use hnsfleet_chain_follower::lookup::{LookupError, PROOF_TIMEOUT, lookup};
use hnsfleet_chain_follower::peer::{PeerConnection, PeerError};
use hnsfleet_hns::name::Name;
use hnsfleet_hns::resource::Resource;
use hnsfleet_hns::types::TreeRoot;
use hnsfleet_hns::urkel::VerifiedName;
use hnsfleet_testkit::Hsd;
use serde_json::{Value, json};

const NAME: &str = "fleettxt";

/// The tree root in the header at the node's tip.
fn tip_root(hsd: &Hsd) -> TreeRoot {
    let hash = hsd.rpc("getbestblockhash", &[]).unwrap();
    let header = hsd.rpc("getblockheader", &[hash]).unwrap();
    TreeRoot::from_hex(header["treeroot"].as_str().unwrap()).unwrap()
}

/// The verified name's resource in hsd's JSON form.
fn records(verified: &VerifiedName) -> Value {
    let data = verified
        .state()
        .and_then(|s| s.resource_data())
        .expect("a resource");
    serde_json::from_str(&Resource::decode(data).unwrap().to_json()).unwrap()
}

async fn connect(hsd: &Hsd) -> PeerConnection {
    PeerConnection::connect(
        hsd.p2p_addr().unwrap(),
        &regtest_peer_config("/hnsfleet-e2e/"),
        now(),
    )
    .await
    .unwrap()
}

async fn prove(peer: &mut PeerConnection, root: TreeRoot) -> Result<VerifiedName, LookupError> {
    let key = Name::parse(NAME).unwrap().hash();
    lookup(peer, root, key, PROOF_TIMEOUT, |_| {})
        .await
        .map(|(verified, _)| verified)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn hsd_still_proves_against_the_root_of_a_branch_it_disconnected() {
    let records_a = json!({"records": [{"type": "TXT", "txt": ["branch a"]}]});
    let records_b = json!({"records": [{"type": "TXT", "txt": ["branch b"]}]});
    // A: the update, mined and committed (11 blocks > 2 tree intervals) on A's branch only.
    let (a, b) = tokio::task::spawn_blocking({
        let records_a = records_a.clone();
        move || {
            let (a, _) = Hsd::start_prepared("gone-root-a", 940).expect("hsd a");
            let (b, _) = Hsd::start_prepared("gone-root-b", 950).expect("hsd b");
            a.wallet("sendupdate", &[NAME.into(), records_a]).unwrap();
            a.mine(11).unwrap();
            (a, b)
        }
    })
    .await
    .unwrap();
    let root_a = tip_root(&a);
    let mut to_a = connect(&a).await;
    assert_eq!(records(&prove(&mut to_a, root_a).await.unwrap()), records_a);

    // B: other records on a longer branch; A dials B and reorganizes onto it.
    let (a, b) = tokio::task::spawn_blocking({
        let records_b = records_b.clone();
        move || {
            b.wallet("sendupdate", &[NAME.into(), records_b]).unwrap();
            b.mine(15).unwrap();
            let b_p2p = b.p2p_addr().unwrap().to_string();
            a.rpc("addnode", &[b_p2p.into(), "onetry".into()]).unwrap();
            (a, b)
        }
    })
    .await
    .unwrap();
    let b_tip = b.rpc("getbestblockhash", &[]).unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while a.rpc("getbestblockhash", &[]).unwrap() != b_tip {
        assert!(
            tokio::time::Instant::now() < deadline,
            "hsd A did not reorganize"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    let root_b = tip_root(&b);
    assert_eq!(tip_root(&a), root_b);
    assert_ne!(root_a, root_b);

    // A proves against its disconnected root, on the old connection and on a new one.
    assert_eq!(records(&prove(&mut to_a, root_a).await.unwrap()), records_a);
    let mut to_a = connect(&a).await;
    assert_eq!(records(&prove(&mut to_a, root_a).await.unwrap()), records_a);
    assert_eq!(records(&prove(&mut to_a, root_b).await.unwrap()), records_b);

    // B never had A's root: it hangs up instead of answering (no PROOF, no ban).
    let mut to_b = connect(&b).await;
    match prove(&mut to_b, root_a).await {
        Err(LookupError::Peer(PeerError::Closed)) => {}
        other => panic!("B answered a root it never had: {other:?}"),
    }
    let mut to_b = connect(&b).await;
    assert_eq!(records(&prove(&mut to_b, root_b).await.unwrap()), records_b);
    drop((a, b));
}
