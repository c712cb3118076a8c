//! The `hnsfleet-chain-follower` binary against a real hsd regtest node, over its gRPC and admin
//! contracts: it becomes ready only after syncing, its tip equals hsd's, look-ups carry a proof
//! that verifies against the returned root, `WatchTip` streams new blocks as hsd mines them,
//! attestations verify under a key kept across restarts, bad names are refused, metrics move,
//! and SIGTERM stops it cleanly.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{
    assert_tip_is_hsds, connect_api, follower_command, log_event_fields, lookup, registered_names,
    start_prepared_hsd,
};
use hnsfleet_attestation::SignedAttestation;
use hnsfleet_chain_follower::metrics;
use hnsfleet_hns::name::Name;
use hnsfleet_hns::types::{NameHash, TreeRoot};
use hnsfleet_hns::urkel::verify_name_proof;
use hnsfleet_proto::follower::v1::{self as pb, ErrorReason};
use hnsfleet_testkit::Hsd;
use hnsfleet_testkit::service::ServiceProcess;
use serde_json::Value;

async fn spawn_follower(hsd: &Hsd, data_dir: &Path, log: &str) -> ServiceProcess {
    follower_command(data_dir)
        .peer(hsd.p2p_addr().unwrap())
        .spawn(log)
        .await
        .expect("follower starts")
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn binary_serves_the_follower_api_from_a_real_hsd() {
    let (hsd, manifest) = start_prepared_hsd("svc-grpc", 710).await;
    let tmp = tempfile::tempdir().unwrap();
    let data_dir = tmp.path().join("data");
    let follower = spawn_follower(&hsd, &data_dir, "svc-grpc").await;
    assert_eq!(follower.admin_get("/healthz").await.unwrap().0, 200);
    follower.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut api = connect_api(&follower).await;

    // Tip: hsd's best block, with its tree root and chainwork.
    let info = hsd.rpc("getblockchaininfo", &[]).unwrap();
    let tip = assert_tip_is_hsds(&mut api, &hsd).await;
    assert_eq!(Value::from(tip.height), info["blocks"]);
    assert_eq!(Value::from(hex::encode(&tip.hash)), info["bestblockhash"]);
    assert_eq!(
        Value::from(hex::encode(&tip.chainwork_be)),
        info["chainwork"]
    );
    let header = hsd
        .rpc("getblockheader", &[info["bestblockhash"].clone()])
        .unwrap();
    assert_eq!(Value::from(hex::encode(&tip.tree_root)), header["treeroot"]);
    assert_eq!(
        follower.metric(metrics::TIP_HEIGHT, &[]).await.unwrap(),
        Some(f64::from(tip.height))
    );

    // Look-ups: the proof verifies against the returned root; existence matches the manifest.
    let registered = manifest["names"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap()
        .clone();
    for (name, exists) in [(registered.as_str(), true), ("neverregistered", false)] {
        let answer = lookup(&mut api, name).await;
        assert_eq!(answer.name, name);
        assert_eq!(answer.exists, exists, "{name}");
        assert_eq!(
            (answer.network(), answer.tip_height),
            (pb::Network::Regtest, tip.height)
        );
        let root = TreeRoot(answer.tree_root[..].try_into().unwrap());
        let key = NameHash(answer.name_hash[..].try_into().unwrap());
        assert_eq!(key, Name::parse(name).unwrap().hash());
        let verified = verify_name_proof(&root, &key, &answer.proof).expect("proof verifies");
        assert_eq!(verified.state().is_some(), exists);
        let at_height = hsd
            .rpc(
                "getblockheader",
                &[hsd.rpc("getblockhash", &[answer.height.into()]).unwrap()],
            )
            .unwrap();
        assert_eq!(
            Value::from(hex::encode(&answer.tree_root)),
            at_height["treeroot"],
            "{name}"
        );
    }
    // A bad name is refused before any peer is asked.
    let err = api
        .lookup_name(pb::LookupNameRequest {
            name: "bad..name".into(),
            root: None,
        })
        .await
        .unwrap_err();
    assert_eq!(err.code(), tonic::Code::InvalidArgument, "{err}");
    assert_eq!(
        ErrorReason::of(&err),
        Some(ErrorReason::InvalidName),
        "{err}"
    );
    // GetTip says which root look-ups use, and (ready, caught up with hsd) that it is
    // synced; a look-up may name an older root on the chain.
    let status = api
        .get_tip(pb::GetTipRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(status.synced, "a ready follower on hsd's tip is synced");
    let safe = status.safe_root.expect("a safe root");
    let plain = lookup(&mut api, &registered).await;
    assert_eq!(
        (plain.height, &plain.tree_root[..]),
        (safe.height, &safe.tree_root[..])
    );
    let older_height = safe.height - 5;
    let older_root = hex::decode(
        hsd.rpc(
            "getblockheader",
            &[hsd.rpc("getblockhash", &[older_height.into()]).unwrap()],
        )
        .unwrap()["treeroot"]
            .as_str()
            .unwrap(),
    )
    .unwrap();
    let ask = |root: pb::SafeRoot| pb::LookupNameRequest {
        name: registered.clone(),
        root: Some(root),
    };
    let older = api
        .lookup_name(ask(pb::SafeRoot {
            height: older_height,
            tree_root: older_root.clone(),
        }))
        .await
        .unwrap()
        .into_inner()
        .lookup
        .unwrap();
    assert_eq!(
        (older.height, &older.tree_root[..]),
        (older_height, &older_root[..])
    );
    let root = TreeRoot(older.tree_root[..].try_into().unwrap());
    verify_name_proof(
        &root,
        &Name::parse(&registered).unwrap().hash(),
        &older.proof,
    )
    .expect("proof against the named root");
    // A root the chain does not carry at that height, and a malformed one, are refused.
    for (root, code, reason) in [
        (
            pb::SafeRoot {
                height: safe.height,
                tree_root: vec![0x42; 32],
            },
            tonic::Code::FailedPrecondition,
            ErrorReason::UnknownRoot,
        ),
        (
            pb::SafeRoot {
                height: safe.height,
                tree_root: vec![7; 31],
            },
            tonic::Code::InvalidArgument,
            ErrorReason::InvalidRoot,
        ),
    ] {
        let err = api.lookup_name(ask(root)).await.unwrap_err();
        assert_eq!(
            (err.code(), ErrorReason::of(&err)),
            (code, Some(reason)),
            "{err}"
        );
    }
    assert_eq!(
        follower
            .metric(metrics::PROOFS_SERVED, &[("result", "exists")])
            .await
            .unwrap(),
        Some(3.0)
    );
    assert_eq!(
        follower
            .metric(metrics::PROOFS_SERVED, &[("result", "absent")])
            .await
            .unwrap(),
        Some(1.0)
    );

    // A burst of 240 concurrent look-ups, 128 distinct (above the 80-proof per-peer burst
    // budget), is queued and served, all verified, without dropping the only peer.
    let names = registered_names(&manifest);
    let mut burst = tokio::task::JoinSet::new();
    for i in 0..240 {
        let mut api = api.clone();
        let (name, exists) = if i % 2 == 0 {
            (names[i % names.len()].clone(), true)
        } else {
            (format!("absent{i}"), false)
        };
        burst.spawn(async move {
            let answer = lookup(&mut api, &name).await;
            assert_eq!(answer.exists, exists, "{name}");
        });
    }
    while let Some(done) = burst.join_next().await {
        done.unwrap();
    }
    assert_eq!(
        follower.metric(metrics::DISCONNECTS, &[]).await.unwrap(),
        Some(0.0)
    );
    assert_eq!(
        follower
            .metric(metrics::PEERS_CONNECTED, &[])
            .await
            .unwrap(),
        Some(1.0)
    );

    // WatchTip: the current tip first, then every block hsd mines, in order, no reorg.
    let mut stream = api
        .watch_tip(pb::WatchTipRequest {})
        .await
        .unwrap()
        .into_inner();
    let first = stream.message().await.unwrap().unwrap();
    assert_eq!(first.tip.unwrap().height, tip.height);
    hsd.mine(2).unwrap();
    for expected in [tip.height + 1, tip.height + 2] {
        let event = tokio::time::timeout(Duration::from_secs(20), stream.message())
            .await
            .expect("tip event in time")
            .unwrap()
            .unwrap();
        assert_eq!(event.tip.unwrap().height, expected);
        assert_eq!(event.reorg_depth, 0);
    }

    // Attestation: verifies, states the tip, same key on every call.
    let a = api
        .get_attestation(pb::GetAttestationRequest {})
        .await
        .unwrap()
        .into_inner()
        .attestation
        .unwrap();
    let signed = SignedAttestation::try_from(&a).expect("fields agree with the signed bytes");
    assert_eq!(
        signed,
        SignedAttestation::decode(&a.signed_attestation).unwrap()
    );
    assert_eq!(a.network(), pb::Network::Regtest);
    let verified = signed.verify().expect("attestation verifies");
    assert_eq!(verified.statement().height, tip.height + 2);
    assert_eq!(a.public_key, verified.signer().to_vec());
    assert_eq!(a.tip.unwrap().height, tip.height + 2);
    let key_file = data_dir.join("follower.key");
    {
        use std::os::unix::fs::PermissionsExt;
        let mode = std::fs::metadata(&key_file).unwrap().permissions().mode();
        assert_eq!(mode & 0o077, 0, "key file readable by others: {mode:o}");
    }

    // SIGTERM: drains and exits 0.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &follower.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let mut follower = follower;
    let exit = follower
        .poll_exit(Duration::from_secs(15))
        .await
        .expect("exits after SIGTERM");
    assert!(exit.success(), "{exit:?}\n{}", follower.log_tail(20));

    // Restart on the same data dir: same key, tip from the file before any sync.
    let again = spawn_follower(&hsd, &data_dir, "svc-grpc-2").await;
    let opened = log_event_fields(&again, "opened header store", Duration::from_secs(10)).await;
    assert_eq!(opened["height"], Value::from(tip.height + 2), "{opened}");
    assert_eq!(opened["truncated_bytes"], Value::from(0), "{opened}");
    again.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut api = connect_api(&again).await;
    let b = api
        .get_attestation(pb::GetAttestationRequest {})
        .await
        .unwrap()
        .into_inner()
        .attestation
        .unwrap();
    assert_eq!(b.public_key, a.public_key);
    drop(again);

    // No peer at all, only a DNS seed: `localhost` resolves (from /etc/hosts) to loopback
    // addresses; each becomes a peer of its own, and the one where hsd listens serves.
    let seeded_dir = tmp.path().join("seeded");
    let seeded = follower_command(&seeded_dir)
        .flag(
            "--dns-seed",
            format!("localhost:{}", hsd.p2p_addr().unwrap().port()),
        )
        .spawn("svc-grpc-seeded")
        .await
        .unwrap();
    seeded.wait_ready(Duration::from_secs(30)).await.unwrap();
    let resolved = log_event_fields(&seeded, "resolved DNS seed", Duration::from_secs(10)).await;
    let added = resolved["added"].as_u64().unwrap();
    assert!(added >= 1, "{resolved}");
    assert_eq!(
        seeded.metric(metrics::PEERS_KNOWN, &[]).await.unwrap(),
        Some(added as f64)
    );
    let mut api = connect_api(&seeded).await;
    assert_tip_is_hsds(&mut api, &hsd).await;
    assert!(lookup(&mut api, &registered).await.exists);
    drop(seeded);
}
