//! The proof-cache against followers that lie or disagree, on real hsd regtest chains: a
//! follower that tampers with proofs, one that answers against another root, and one on a
//! minority fork are each detected and counted, and only answers verified against the
//! quorum's root (hsd's own) are ever served.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::liar::{Liar, Lie};
use common::*;

use std::time::Duration;

use hnsfleet_proof_cache::metrics as m;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use serde_json::json;

/// A root of hsd's chain within the followers' window that differs from `safe`.
fn other_root(hsd: &hnsfleet_testkit::Hsd, safe: &pb::SafeRoot) -> pb::SafeRoot {
    let current = hex::encode(&safe.tree_root);
    (1..=15)
        .map(|k| safe.height - 5 * k)
        .map(|height| (height, hsd_root_at(hsd, height)))
        .find(|(_, root)| *root != current)
        .map(|(height, root)| pb::SafeRoot {
            height,
            tree_root: hex::decode(root).unwrap(),
        })
        .expect("an older, different root within 75 blocks")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn lying_followers_are_caught_counted_and_never_served() {
    let (hsd, manifest) = prepared_hsd("cache-liars", 850).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let f1 = follower(&hsd, dirs[0].path(), "cache-liars-f1").await;
    let f2 = follower(&hsd, dirs[1].path(), "cache-liars-f2").await;
    let (u1, u2) = (f1.grpc_url().unwrap(), f2.grpc_url().unwrap());
    let safe = ChainFollowerServiceClient::connect(u1.clone())
        .await
        .unwrap()
        .get_tip(pb::GetTipRequest {})
        .await
        .unwrap()
        .into_inner()
        .safe_root
        .unwrap();
    let flipper = Liar::start(&u1, Lie::FlipProofByte).await;
    let other = Liar::start(&u2, Lie::OtherRoot(other_root(&hsd, &safe))).await;
    let cache = proof_cache(
        &[
            u1.clone(),
            u2.clone(),
            flipper.url.clone(),
            other.url.clone(),
        ],
        &[("--quorum", "2"), ("--hedge-after", "2s")],
        "cache-liars-cache",
    )
    .await;
    cache.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut api = connect(&cache).await;

    // Fresh names until both liars were asked: every answer is still hsd's.
    let mut names = registered_names(&manifest);
    names.extend(absent_names(&manifest));
    names.extend((0..200).map(|i| format!("probe{i}")));
    let mut names = names.into_iter();
    let mut served = 0;
    while flipper.asked() == 0 || other.asked() == 0 {
        let name = names
            .next()
            .expect("both liars asked within 200 fresh names");
        let answer = try_lookup(&mut api, &name).await.unwrap();
        assert_is_hsds(&name, &answer, &hsd);
        served += 1;
    }
    assert!(
        metric(
            &cache,
            m::FOLLOWER_LIES,
            &[("follower", &flipper.url), ("reason", "bad_proof")]
        )
        .await
            >= 1.0
    );
    assert!(
        metric(
            &cache,
            m::FOLLOWER_LIES,
            &[("follower", &other.url), ("reason", "wrong_root")]
        )
        .await
            >= 1.0
    );
    assert_eq!(
        metric(&cache, m::FOLLOWERS, &[("state", "quarantined")]).await,
        2.0
    );
    assert_eq!(
        metric(&cache, m::FOLLOWER_LIES, &[("follower", &u1)]).await
            + metric(&cache, m::FOLLOWER_LIES, &[("follower", &u2)]).await,
        0.0,
        "honest followers are never blamed"
    );

    // Quarantined: not asked again, and answers stay verified and fresh.
    let asked = (flipper.asked(), other.asked());
    for name in names.by_ref().take(30) {
        let answer = try_lookup(&mut api, &name).await.unwrap();
        assert!(!answer.stale);
        assert_is_hsds(&name, &answer, &hsd);
        served += 1;
    }
    assert_eq!(
        (flipper.asked(), other.asked()),
        asked,
        "a quarantined liar was asked"
    );
    assert!(served >= 30);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_on_a_minority_fork_does_not_move_the_trusted_root() {
    let (a, _) = prepared_hsd("cache-fork-a", 860).await;
    let (b, _) = prepared_hsd("cache-fork-b", 870).await;
    assert_eq!(
        a.rpc("getbestblockhash", &[]).unwrap(),
        b.rpc("getbestblockhash", &[]).unwrap()
    );
    let dirs = [
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
        tempfile::tempdir().unwrap(),
    ];
    let f1 = follower(&a, dirs[0].path(), "cache-fork-f1").await;
    let f2 = follower(&a, dirs[1].path(), "cache-fork-f2").await;
    let f3 = follower(&b, dirs[2].path(), "cache-fork-f3").await;
    let urls = [
        f1.grpc_url().unwrap(),
        f2.grpc_url().unwrap(),
        f3.grpc_url().unwrap(),
    ];
    let cache = proof_cache(&urls, &[], "cache-fork-cache").await;
    cache.wait_ready(Duration::from_secs(30)).await.unwrap();

    // The chains split: each updates the same name its own way; B's branch is longer, so its
    // follower announces a root past the majority's.
    let name = "fleettxt";
    let on_a = json!({"records": [{"type": "TXT", "txt": ["majority"]}]});
    let on_b = json!({"records": [{"type": "TXT", "txt": ["minority fork"]}]});
    b.wallet("sendupdate", &[name.into(), on_b.clone()])
        .unwrap();
    b.mine(14).unwrap();
    a.wallet("sendupdate", &[name.into(), on_a.clone()])
        .unwrap();
    a.mine(11).unwrap();

    // The majority's records are served, verified against A's roots.
    let answer = cache
        .poll(
            Duration::from_secs(30),
            "majority's update served",
            async |c| {
                let mut api = connect(c).await;
                let answer = try_lookup(&mut api, name).await.ok()?;
                (resource_json(&verified(name, &answer)) == on_a).then_some(answer)
            },
        )
        .await
        .unwrap();
    assert_is_hsds(name, &answer, &a);
    let height = verified(name, &answer).height();
    assert_ne!(hsd_root_at(&a, height), hsd_root_at(&b, height));

    // Asked for the majority's root, the minority follower refuses it; it is counted, marked,
    // and its branch's records never appear.
    let mut api = connect(&cache).await;
    let mut probes = (0..100).map(|i| format!("forkprobe{i}"));
    while metric(
        &cache,
        m::FOLLOWER_LIES,
        &[("follower", &urls[2]), ("reason", "minority_fork")],
    )
    .await
        < 1.0
    {
        let probe = probes
            .next()
            .expect("the fork follower asked within 100 names");
        let answer = try_lookup(&mut api, &probe).await.unwrap();
        assert_is_hsds(&probe, &answer, &a);
    }
    assert_eq!(
        metric(&cache, m::FOLLOWERS, &[("state", "disagreeing")]).await,
        1.0
    );
    for _ in 0..3 {
        let answer = try_lookup(&mut api, name).await.unwrap();
        assert_eq!(resource_json(&verified(name, &answer)), on_a);
        assert!(!answer.stale);
    }
}
