//! The proof-cache end to end, on a real hsd regtest chain with names registered through real
//! auctions: two real followers sync it, a real proof-cache trusts the root they agree on.
//! Every name's answer (miss, then hit) is hsd's `getnameresource`, absences verify, the CLI
//! prints through the cache exactly what it prints through a follower, and an UPDATE shows
//! only once its tree commit is under the trusted root.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::*;

use std::time::Duration;

use hnsfleet_proof_cache::metrics as m;
use hnsfleet_proto::cache::v1 as cache_pb;
use serde_json::{Value, json};
use tokio::process::Command;

async fn cli_json(args: &[&str]) -> Value {
    let out = Command::new(BIN).args(args).output().await.unwrap();
    assert!(
        out.status.success(),
        "hnsfleet {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn trusted_root(api: &mut CacheApi) -> cache_pb::TrustedRoot {
    api.get_trusted_root(cache_pb::GetTrustedRootRequest {})
        .await
        .unwrap()
        .into_inner()
        .trusted_root
        .expect("a trusted root")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cache_serves_hsds_names_verified_and_updates_only_after_their_commit() {
    let (hsd, manifest) = prepared_hsd("cache-e2e", 840).await;
    let dirs = [tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap()];
    let f1 = follower(&hsd, dirs[0].path(), "cache-e2e-f1").await;
    let f2 = follower(&hsd, dirs[1].path(), "cache-e2e-f2").await;
    let urls = [f1.grpc_url().unwrap(), f2.grpc_url().unwrap()];
    let cache = proof_cache(&urls, &[], "cache-e2e-cache").await;
    cache.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut api = connect(&cache).await;

    // The trusted root is the followers' safe root: hsd's header root at its height.
    let root = trusted_root(&mut api).await;
    let safe = root.root.clone().unwrap();
    assert_eq!(hex::encode(&safe.tree_root), hsd_root_at(&hsd, safe.height));
    assert_eq!((root.agreeing, root.followers, root.quorum), (2, 2, 2));
    assert!(!root.stale);

    // Every registered name and every absent one: a miss, then a hit, both hsd's.
    let mut names = registered_names(&manifest);
    names.extend(absent_names(&manifest));
    for name in &names {
        let first = try_lookup(&mut api, name).await.unwrap();
        assert!(!first.from_cache, "{name}: first look-up is a miss");
        assert_is_hsds(name, &first, &hsd);
        let second = try_lookup(&mut api, name).await.unwrap();
        assert!(second.from_cache, "{name}: second look-up is a hit");
        assert!(!second.stale);
        assert_eq!(
            second.lookup, first.lookup,
            "{name}: the hit is the cached answer"
        );
        assert_is_hsds(name, &second, &hsd);
    }
    for name in absent_names(&manifest) {
        let answer = try_lookup(&mut api, &name).await.unwrap();
        let v = verified(&name, &answer);
        assert!(
            !v.exists() && v.absence().is_some(),
            "{name}: proven absent"
        );
    }
    let n = names.len() as f64;
    assert_eq!(metric(&cache, m::MISSES, &[]).await, n);
    assert!(metric(&cache, m::HITS, &[]).await >= n);
    assert_eq!(
        metric(&cache, m::TRUSTED_ROOT_HEIGHT, &[]).await,
        f64::from(safe.height)
    );
    // One entry per name (absences too), weighed by its bytes.
    cache
        .poll(Duration::from_secs(10), "entries gauge", async |c| {
            (metric(c, m::ENTRIES, &[]).await == n).then_some(())
        })
        .await
        .unwrap();
    let bytes = metric(&cache, m::SIZE, &[]).await;
    assert!(
        bytes > n * 400.0 && bytes < n * 4096.0,
        "{bytes} bytes for {n} entries"
    );

    // A bad name is refused with its reason; nothing is asked.
    let err = try_lookup(&mut api, "bad..name").await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument);
    assert_eq!(
        cache_pb::ErrorReason::of(&err),
        Some(cache_pb::ErrorReason::InvalidName)
    );

    // The CLI prints through the cache exactly what it prints through a follower.
    let cache_url = cache.grpc_url().unwrap();
    for name in [names[0].as_str(), "fleetabsent"] {
        let via_cache = cli_json(&["lookup", name, "--cache", &cache_url]).await;
        let via_follower = cli_json(&["lookup", name, "--follower", &urls[0]]).await;
        assert_eq!(via_cache, via_follower, "{name}");
    }

    // UPDATE: mined at once (hsd shows it), but the cache keeps the committed state until a
    // root that contains it is trusted.
    let name = "fleettxt";
    let old = hsd.rpc("getnameresource", &[name.into()]).unwrap();
    let new = json!({"records": [{"type": "TXT", "txt": ["via the cache"]}]});
    hsd.wallet("sendupdate", &[name.into(), new.clone()])
        .unwrap();
    hsd.mine(1).unwrap();
    assert_eq!(hsd.rpc("getnameresource", &[name.into()]).unwrap(), new);
    let tip = hsd.rpc("getblockcount", &[]).unwrap().as_u64().unwrap() as u32;
    let before = try_lookup(&mut api, name).await.unwrap();
    let v = verified(name, &before);
    assert!(v.height() <= tip);
    assert_eq!(resource_json(&v), old, "served before its commit was safe");

    // Two tree intervals later the commit is under the trusted root: new records, new root.
    hsd.mine(10).unwrap();
    let after = cache
        .poll(Duration::from_secs(30), "update served", async |_| {
            let mut api = connect(&cache).await;
            let answer = try_lookup(&mut api, name).await.ok()?;
            (resource_json(&verified(name, &answer)) == new).then_some(answer)
        })
        .await
        .unwrap();
    assert!(!after.from_cache, "a new root is a new key");
    assert_is_hsds(name, &after, &hsd);
    let moved = trusted_root(&mut api).await.root.unwrap();
    assert!(moved.height > safe.height && moved.tree_root != safe.tree_root);
    assert!(metric(&cache, m::ROOT_CHANGES, &[]).await >= 2.0);
}
