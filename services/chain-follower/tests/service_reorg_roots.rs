//! `LookupName` against a root of the branch a reorg abandoned (what a fleet frozen by the
//! reorg-watchdog asks for, docs/watchdog.md), through the real `hnsfleet-chain-follower`
//! binary and two real hsd nodes started from the same prepared chain (names registered by
//! real auctions) but never connected to each other until the end.
//!
//! A updates `fleettxt` and mines past two tree intervals: the follower serves A's records
//! under A's safe root. B updates it differently on a longer branch: the follower reorganizes
//! and serves B's records. Then, naming A's old root, the follower still answers with A's
//! records, proven against that root: first while hsd A is still on its branch, then after A
//! itself reorganized onto B's chain and mined on it (hsd proves from its root history). Only
//! A is asked: B never had that root and would hang up on the request. A root never seen, or
//! A's root at another height, is still `UNKNOWN_ROOT`.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Api, connect_api, follower_command, lookup, resource_json};
use hnsfleet_chain_follower::metrics;
use hnsfleet_hns::name::Name;
use hnsfleet_hns::types::TreeRoot;
use hnsfleet_hns::urkel::verify_name_proof;
use hnsfleet_proto::follower::v1::{self as pb, ErrorReason};
use hnsfleet_testkit::Hsd;
use hnsfleet_testkit::service::ServiceProcess;
use serde_json::{Value, json};

const NAME: &str = "fleettxt";
const A_BLOCKS: u32 = 11;
const B_BLOCKS: u32 = 15;

fn root_at(hsd: &Hsd, height: u32) -> String {
    let hash = hsd.rpc("getblockhash", &[height.into()]).unwrap();
    hsd.rpc("getblockheader", &[hash]).unwrap()["treeroot"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Polls the safe-root look-up until `want` is served; returns the root it was served at.
async fn wait_for_records(api: &mut Api, want: &Value) -> pb::SafeRoot {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let answer = lookup(api, NAME).await;
        if &resource_json(&answer) == want {
            return pb::SafeRoot {
                height: answer.height,
                tree_root: answer.tree_root.to_vec(),
            };
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still serving {}, want {want}",
            resource_json(&answer)
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

async fn lookup_at(api: &mut Api, root: &pb::SafeRoot) -> Result<pb::NameLookup, tonic::Status> {
    let response = api
        .lookup_name(pb::LookupNameRequest {
            name: NAME.into(),
            root: Some(root.clone()),
        })
        .await?;
    Ok(response.into_inner().lookup.unwrap())
}

/// Looks the name up against `root` and checks the answer is proven against exactly it.
async fn records_at(api: &mut Api, root: &pb::SafeRoot) -> Value {
    let answer = lookup_at(api, root)
        .await
        .unwrap_or_else(|e| panic!("lookup at {root:?}: {e}"));
    assert_eq!(
        (answer.height, &answer.tree_root[..]),
        (root.height, &root.tree_root[..])
    );
    let tree_root = TreeRoot(root.tree_root[..].try_into().unwrap());
    let verified = verify_name_proof(
        &tree_root,
        &Name::parse(NAME).unwrap().hash(),
        &answer.proof,
    )
    .expect("proof against the named root");
    assert!(verified.state().is_some());
    resource_json(&answer)
}

async fn counter(follower: &ServiceProcess, name: &str, result: &str) -> f64 {
    follower
        .metric(name, &[("result", result)])
        .await
        .unwrap()
        .unwrap_or(0.0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_answers_against_a_root_of_the_branch_a_reorg_abandoned() {
    let (a, b) = tokio::task::spawn_blocking(|| {
        let (a, _) = Hsd::start_prepared("svc-gone-root-a", 960).expect("hsd a");
        let (b, _) = Hsd::start_prepared("svc-gone-root-b", 970).expect("hsd b");
        (a, b)
    })
    .await
    .unwrap();
    let start = a.rpc("getblockcount", &[]).unwrap().as_u64().unwrap() as u32;
    let data_dir = tempfile::tempdir().unwrap();
    let follower = follower_command(data_dir.path())
        .peer(a.p2p_addr().unwrap())
        .peer(b.p2p_addr().unwrap())
        .flag("--min-peers", 2)
        .spawn("svc-gone-root")
        .await
        .unwrap();
    follower.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut api = connect_api(&follower).await;

    // Branch A: new records, committed under the safe root.
    let records_a = json!({"records": [{"type": "TXT", "txt": ["branch a"]}]});
    let records_b = json!({"records": [{"type": "TXT", "txt": ["branch b"]}]});
    let (a, b) = tokio::task::spawn_blocking({
        let records_a = records_a.clone();
        move || {
            a.wallet("sendupdate", &[NAME.into(), records_a]).unwrap();
            a.mine(A_BLOCKS).unwrap();
            (a, b)
        }
    })
    .await
    .unwrap();
    let root_a = wait_for_records(&mut api, &records_a).await;
    assert_eq!(hex::encode(&root_a.tree_root), root_at(&a, root_a.height));

    // Branch B, from the same start: other records, more blocks. The follower moves to B.
    let (a, b) = tokio::task::spawn_blocking({
        let records_b = records_b.clone();
        move || {
            b.wallet("sendupdate", &[NAME.into(), records_b]).unwrap();
            b.mine(B_BLOCKS).unwrap();
            (a, b)
        }
    })
    .await
    .unwrap();
    let root_b = wait_for_records(&mut api, &records_b).await;
    assert_eq!(hex::encode(&root_b.tree_root), root_at(&b, root_b.height));
    // A's root is not on the best chain any more: B's header at that height carries another.
    assert_ne!(hex::encode(&root_a.tree_root), root_at(&b, root_a.height));
    assert_eq!(
        follower
            .metric(metrics::DISCONNECTED_HEADERS, &[])
            .await
            .unwrap(),
        Some(f64::from(A_BLOCKS))
    );

    // Named explicitly, A's root is still served, from hsd A (still on its branch).
    assert_eq!(records_at(&mut api, &root_a).await, records_a);
    assert_eq!(records_at(&mut api, &root_b).await, records_b);

    // A joins B and reorganizes, then mines on B's chain: the follower takes that block as
    // A's new tip. A still proves against its abandoned root, from its tree's history.
    let b_p2p = b.p2p_addr().unwrap().to_string();
    let a = tokio::task::spawn_blocking(move || {
        a.rpc("addnode", &[b_p2p.into(), "onetry".into()]).unwrap();
        a
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
    let a = tokio::task::spawn_blocking(move || {
        a.mine(1).unwrap();
        a
    })
    .await
    .unwrap();
    follower
        .poll(
            Duration::from_secs(30),
            "A's block on B's chain",
            async |p| {
                let height = p.metric(metrics::TIP_HEIGHT, &[]).await.unwrap();
                (height == Some(f64::from(start + B_BLOCKS + 1))).then_some(())
            },
        )
        .await
        .unwrap();
    assert_eq!(records_at(&mut api, &root_a).await, records_a);

    // Never seen, or A's root claimed at the fork height (common to both branches, before
    // either update): refused as before.
    let unknown = [
        pb::SafeRoot {
            height: root_a.height,
            tree_root: vec![0x42; 32],
        },
        pb::SafeRoot {
            height: start,
            tree_root: root_a.tree_root.clone(),
        },
    ];
    for root in unknown {
        let err = lookup_at(&mut api, &root).await.unwrap_err();
        assert_eq!(
            (err.code(), ErrorReason::of(&err)),
            (
                tonic::Code::FailedPrecondition,
                Some(ErrorReason::UnknownRoot)
            ),
            "{err}"
        );
    }

    // Counted apart from look-ups on the best chain; no peer was asked a root it lacks (B
    // would have hung up), so no session ended.
    assert_eq!(
        counter(&follower, metrics::DISCONNECTED_ROOT_LOOKUPS, "exists").await,
        2.0
    );
    assert_eq!(
        counter(&follower, metrics::DISCONNECTED_ROOT_LOOKUPS, "error").await,
        0.0
    );
    assert_eq!(
        follower.metric(metrics::DISCONNECTS, &[]).await.unwrap(),
        Some(0.0)
    );
    assert_eq!(
        follower
            .metric(metrics::PEERS_CONNECTED, &[])
            .await
            .unwrap(),
        Some(2.0)
    );
    drop((a, b, follower));
}
