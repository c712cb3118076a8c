//! `hnsfleet follower`, `hnsfleet tip` and `hnsfleet lookup` — the real binary — against a real
//! hsd regtest node holding names registered through real auctions: the tip equals hsd's; for
//! every name the printed resource equals hsd's `getnameresource` and the printed `info` hsd's
//! `getnameinfo` (without `stats`), checked against the tree root of hsd's own header at the
//! reported height; unregistered names are verified absences;
//! an updated and a renewed name show their new state only once the change is committed under
//! the safe root; bad input and an unreachable follower are clear one-line errors.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::process::Output;
use std::time::Duration;

use hnsfleet_hns::namestate::NameState;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use hnsfleet_testkit::Hsd;
use hnsfleet_testkit::service::{FollowerCommand, ServiceProcess};
use serde_json::{Value, json};
use tokio::process::Command;

const BIN: &str = env!("CARGO_BIN_EXE_hnsfleet");

async fn hnsfleet(args: &[&str]) -> Output {
    Command::new(BIN).args(args).output().await.unwrap()
}

/// Runs `hnsfleet ARGS`, expects success and one JSON line.
async fn json_of(args: &[&str]) -> Value {
    let out = hnsfleet(args).await;
    assert!(
        out.status.success(),
        "hnsfleet {args:?}: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

async fn start_follower(
    peers: &[&Hsd],
    data_dir: &Path,
    min_peers: usize,
    log: &str,
) -> ServiceProcess {
    let mut command = FollowerCommand::regtest(Path::new(BIN), &["follower"], data_dir);
    for hsd in peers {
        command = command.peer(hsd.p2p_addr().unwrap());
    }
    command
        .flag("--min-peers", min_peers)
        .spawn(log)
        .await
        .unwrap()
}

/// The tree root in hsd's header at `height`.
fn hsd_root_at(hsd: &Hsd, height: u64) -> Value {
    let hash = hsd.rpc("getblockhash", &[height.into()]).unwrap();
    hsd.rpc("getblockheader", &[hash]).unwrap()["treeroot"].clone()
}

/// hsd's `getnameinfo` `info` for `name`, without `stats` (which the CLI does not print).
fn hsd_info(hsd: &Hsd, name: &str) -> Value {
    let mut info = hsd.rpc("getnameinfo", &[name.into()]).unwrap()["info"].clone();
    if let Some(fields) = info.as_object_mut() {
        fields.remove("stats");
    }
    info
}

/// `hnsfleet lookup NAME` checked against hsd: root of hsd's header at the reported height.
async fn lookup(url: &str, hsd: &Hsd, name: &str) -> Value {
    let answer = json_of(&["lookup", name, "--follower", url]).await;
    assert_eq!(answer["name"], name);
    assert_eq!(
        answer["root"],
        hsd_root_at(hsd, answer["height"].as_u64().unwrap()),
        "{name}: root is not hsd's at that height"
    );
    answer
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn cli_answers_equal_hsd_for_every_name_and_follow_updates_after_the_commit() {
    let (hsd, manifest) =
        tokio::task::spawn_blocking(|| Hsd::start_prepared("cli-names", 720).expect("hsd"))
            .await
            .unwrap();
    let data_dir = tempfile::tempdir().unwrap();
    let follower = start_follower(&[&hsd], data_dir.path(), 1, "cli-e2e").await;
    follower.wait_ready(Duration::from_secs(30)).await.unwrap();
    let url = follower.grpc_url().unwrap();

    // Tip.
    let info = hsd.rpc("getblockchaininfo", &[]).unwrap();
    let tip = json_of(&["tip", "--follower", &url]).await;
    assert_eq!(tip["height"], info["blocks"]);
    assert_eq!(tip["hash"], info["bestblockhash"]);
    assert_eq!(tip["chainwork"], info["chainwork"]);
    assert_eq!(
        tip["synced"], true,
        "a ready follower at hsd's tip is synced"
    );
    assert_eq!(
        tip["tree_root"],
        hsd_root_at(&hsd, info["blocks"].as_u64().unwrap())
    );

    // Every registered name: exactly hsd's getnameresource. Absent ones: verified absence.
    let names: Vec<String> = manifest["names"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect();
    assert!(names.len() >= 8);
    let safe_height = info["blocks"].as_u64().unwrap() / 5 * 5;
    for name in &names {
        let answer = lookup(&url, &hsd, name).await;
        assert_eq!(answer["exists"], true, "{name}");
        assert_eq!(answer["height"], safe_height, "{name}");
        let theirs = hsd.rpc("getnameresource", &[name.as_str().into()]).unwrap();
        assert_eq!(answer["resource"], theirs, "{name}");
        assert!(answer["info"].is_object(), "{name}");
        assert_eq!(answer["info"], hsd_info(&hsd, name), "{name}: getnameinfo");
    }
    for name in manifest["absent"].as_array().unwrap() {
        let name = name.as_str().unwrap();
        let answer = lookup(&url, &hsd, name).await;
        assert_eq!(answer["exists"], false, "{name}");
        assert_eq!(answer["resource"], Value::Null, "{name}");
        assert_eq!(answer["info"], Value::Null, "{name}");
        assert_eq!(hsd_info(&hsd, name), Value::Null, "{name}");
    }

    // Bad input: one line on stderr, nothing on stdout, exit 1.
    for bad in ["bad..name", "-x", "UPPER_"] {
        let out = hnsfleet(&["lookup", "--follower", &url, "--", bad]).await;
        assert_eq!(out.status.code(), Some(1), "{bad}");
        assert!(out.stdout.is_empty(), "{bad}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.starts_with("error: invalid name"), "{bad}: {err}");
        assert_eq!(err.trim_end().lines().count(), 1, "{err}");
    }
    let out = hnsfleet(&["tip", "--follower", "http://127.0.0.1:1", "--timeout", "2s"]).await;
    assert_eq!(out.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&out.stderr).contains("cannot reach follower"));

    // Update one name, renew another; mine the transactions.
    let txt_name = "fleettxt";
    let renewed = "fleetns";
    let old_txt = hsd.rpc("getnameresource", &[txt_name.into()]).unwrap();
    let new_records = json!({"records": [{"type": "TXT", "txt": ["updated-by-test"]}]});
    hsd.wallet("sendupdate", &[txt_name.into(), new_records.clone()])
        .unwrap();
    hsd.wallet("sendrenewal", &[renewed.into()]).unwrap();
    hsd.mine(1).unwrap();
    let info = hsd.rpc("getnameinfo", &[renewed.into()]).unwrap();
    let renewal_height = info["info"]["renewal"].as_u64().unwrap();
    assert_eq!(
        hsd.rpc("getnameresource", &[txt_name.into()]).unwrap(),
        new_records
    );

    // Mined but not yet committed under the safe root: the follower still proves the old state.
    let tip_now = hsd.rpc("getblockcount", &[]).unwrap().as_u64().unwrap();
    follower
        .poll(Duration::from_secs(20), "tip follows hsd", async |_| {
            let tip = json_of(&["tip", "--follower", &url]).await;
            (tip["height"] == tip_now).then_some(())
        })
        .await
        .unwrap();
    // (No header at or below the update's block can commit a tree that contains it.)
    let before = lookup(&url, &hsd, txt_name).await;
    assert!(before["height"].as_u64().unwrap() <= tip_now);
    assert_eq!(
        before["resource"], old_txt,
        "changed before its commit was safe"
    );

    // Two tree intervals later the commit is under the safe root: new records, new renewal.
    hsd.mine(10).unwrap();
    let tip_now = hsd.rpc("getblockcount", &[]).unwrap().as_u64().unwrap();
    let after = follower
        .poll(Duration::from_secs(20), "update visible", async |_| {
            let answer = lookup(&url, &hsd, txt_name).await;
            (answer["height"].as_u64().unwrap() >= tip_now / 5 * 5).then_some(answer)
        })
        .await
        .unwrap();
    assert_eq!(after["resource"], new_records);
    assert_eq!(
        after["resource"],
        hsd.rpc("getnameresource", &[txt_name.into()]).unwrap()
    );
    assert_eq!(
        after["info"],
        hsd_info(&hsd, txt_name),
        "getnameinfo after the update"
    );

    let mut client = ChainFollowerServiceClient::connect(url.clone())
        .await
        .unwrap();
    let state = client
        .lookup_name(pb::LookupNameRequest {
            name: renewed.into(),
            root: None,
        })
        .await
        .unwrap()
        .into_inner()
        .lookup
        .unwrap()
        .name_state;
    let state = NameState::decode(&state).unwrap();
    assert_eq!(u64::from(state.renewal), renewal_height);
    assert!(state.renewals >= 1);
    // The renewed name's records did not change.
    let renewed_answer = lookup(&url, &hsd, renewed).await;
    assert_eq!(
        renewed_answer["resource"],
        hsd.rpc("getnameresource", &[renewed.into()]).unwrap()
    );
    assert_eq!(
        renewed_answer["info"],
        hsd_info(&hsd, renewed),
        "getnameinfo after the renewal"
    );
    drop(follower);
}
