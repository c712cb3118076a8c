//! Reorg with names on both branches, through the real `hnsfleet-chain-follower` binary and two
//! real hsd nodes started from the same prepared chain but never connected to each other: A
//! updates a name and mines; the follower serves A's records. B updates the same name
//! differently and mines a longer branch; the follower switches to B, `WatchTip` reports the
//! depth (A's blocks disconnected), the reorg histogram counts it, and the name is served from
//! B's state, proven against B's tree root. When A finally joins B, the follower does not
//! move: the next block A mines on B's chain is a plain extension, and no second reorg counts.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Api, connect_api, follower_command, get_tip, lookup, resource_json};
use hnsfleet_chain_follower::metrics;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_testkit::Hsd;
use serde_json::{Value, json};

const NAME: &str = "fleettxt";
const A_BLOCKS: u32 = 11;
const B_BLOCKS: u32 = 15;

async fn resource_of(api: &mut Api) -> (u32, Vec<u8>, Value) {
    let answer = lookup(api, NAME).await;
    assert!(answer.exists);
    let json = resource_json(&answer);
    (answer.height, answer.tree_root.to_vec(), json)
}

fn root_at(hsd: &Hsd, height: u32) -> String {
    let hash = hsd.rpc("getblockhash", &[height.into()]).unwrap();
    hsd.rpc("getblockheader", &[hash]).unwrap()["treeroot"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Polls a look-up until `want` is served (or panics after 30 s).
async fn wait_for_records(api: &mut Api, want: &Value) -> (u32, Vec<u8>) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let (height, root, got) = resource_of(api).await;
        if &got == want {
            return (height, root);
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "still serving {got}, want {want}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_switches_to_the_heavier_branch_and_serves_its_name_state() {
    let (a, b) = tokio::task::spawn_blocking(|| {
        let (a, _) = Hsd::start_prepared("svc-reorg-a", 730).expect("hsd a");
        let (b, _) = Hsd::start_prepared("svc-reorg-b", 740).expect("hsd b");
        (a, b)
    })
    .await
    .unwrap();
    let start = a.rpc("getblockcount", &[]).unwrap().as_u64().unwrap() as u32;
    assert_eq!(
        b.rpc("getbestblockhash", &[]).unwrap(),
        a.rpc("getbestblockhash", &[]).unwrap()
    );

    let data_dir = tempfile::tempdir().unwrap();
    let follower = follower_command(data_dir.path())
        .peer(a.p2p_addr().unwrap())
        .peer(b.p2p_addr().unwrap())
        .flag("--min-peers", 2)
        .spawn("svc-reorg")
        .await
        .unwrap();
    follower.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut api = connect_api(&follower).await;
    let mut events = api
        .watch_tip(pb::WatchTipRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(
        events.message().await.unwrap().unwrap().tip.unwrap().height,
        start
    );

    // Branch A: new records, mined and committed under the safe root.
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
    let (height, root) = wait_for_records(&mut api, &records_a).await;
    assert_eq!(hex::encode(&root), root_at(&a, height));
    assert_eq!(a.rpc("getnameresource", &[NAME.into()]).unwrap(), records_a);

    // Branch B, from the same start: other records, more blocks (more work).
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
    let b_tip = b.rpc("getbestblockhash", &[]).unwrap();

    // The tip stream reports the switch with its depth: A's blocks were disconnected.
    let reorg = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let event = events.message().await.unwrap().unwrap();
            if event.reorg_depth > 0 {
                return event;
            }
        }
    })
    .await
    .expect("a reorg event");
    assert_eq!(reorg.reorg_depth, A_BLOCKS);
    assert_eq!(reorg.tip.unwrap().height, start + A_BLOCKS + 1);
    follower
        .poll(Duration::from_secs(30), "B's tip", async |p| {
            let height = p.metric(metrics::TIP_HEIGHT, &[]).await.unwrap();
            (height == Some(f64::from(start + B_BLOCKS))).then_some(())
        })
        .await
        .unwrap();
    let tip = get_tip(&mut api).await;
    assert_eq!(Value::from(hex::encode(&tip.hash)), b_tip);
    assert_eq!(
        follower
            .metric(&format!("{}_count", metrics::REORG_DEPTH), &[])
            .await
            .unwrap(),
        Some(1.0)
    );

    // Served from B's state, proven against B's root.
    let (height, root) = wait_for_records(&mut api, &records_b).await;
    assert_eq!(hex::encode(&root), root_at(&b, height));
    assert_eq!(b.rpc("getnameresource", &[NAME.into()]).unwrap(), records_b);

    // A joins B and reorganizes too; the follower, already there, does not move.
    let b_p2p = b.p2p_addr().unwrap().to_string();
    let a = tokio::task::spawn_blocking(move || {
        a.rpc("addnode", &[b_p2p.into(), "onetry".into()]).unwrap();
        a
    })
    .await
    .unwrap();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    while a.rpc("getbestblockhash", &[]).unwrap() != b_tip {
        assert!(
            tokio::time::Instant::now() < deadline,
            "hsd A did not reorganize"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
    // A, now on B's chain, mines one block: whatever A announced while it switched came before
    // it on A's connection, and the follower takes the block as a plain extension of B's tip.
    let a = tokio::task::spawn_blocking(move || {
        a.mine(1).unwrap();
        a
    })
    .await
    .unwrap();
    let a_tip = a.rpc("getbestblockhash", &[]).unwrap();
    // (The events of B's remaining blocks come first; none may be a reorg either.)
    let next = tokio::time::timeout(Duration::from_secs(30), async {
        loop {
            let event = events.message().await.unwrap().unwrap();
            assert_eq!(event.reorg_depth, 0, "a second reorg: {event:?}");
            if event.tip.as_ref().unwrap().height > start + B_BLOCKS {
                return event;
            }
        }
    })
    .await
    .expect("a tip event for A's block");
    let tip = next.tip.unwrap();
    assert_eq!(tip.height, start + B_BLOCKS + 1);
    assert_eq!(Value::from(hex::encode(&tip.hash)), a_tip);
    assert_eq!(
        Value::from(hex::encode(&get_tip(&mut api).await.hash)),
        a_tip
    );
    assert_eq!(
        follower
            .metric(&format!("{}_count", metrics::REORG_DEPTH), &[])
            .await
            .unwrap(),
        Some(1.0)
    );
    let (_, _, served) = resource_of(&mut api).await;
    assert_eq!(served, records_b);
    drop(follower);
}
