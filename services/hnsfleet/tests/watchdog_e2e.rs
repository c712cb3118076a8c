//! The reorg-watchdog end to end with real parts only: two real hsd regtest nodes started from
//! the same prepared chain (names registered by real auctions) but never connected to each
//! other, `hnsfleet up` following both (its in-process watchdog watching its follower, K = 3,
//! M = 4), `dig` asking the fleet's root listener, and `hnsfleet watchdog status` reading the
//! verdict.
//!
//! A reorganisation of 1 and then 2 blocks (≤ K) leaves the fleet OK. A deeper one (12 blocks,
//! onto a branch whose own UPDATE changed `fleettxt`) freezes it: dig keeps getting the frozen
//! root's TXT record, not the new branch's. Four more blocks of agreement on the new branch
//! thaw it, and dig gets the new record. hsd at port offsets 990 and 1010.
//!
//! An outside attester (`--attester URL=PUBKEY`, quorum 1: the fleet's own follower decides)
//! lies about the real chain: another hash at the real height, then a forged signature, another
//! network, and a replay of an older attestation. Each is ignored and counted, and the fleet's
//! verdict follows the real chain.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::*;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::{Arc, Mutex};
use std::time::Duration;
use std::time::{SystemTime, UNIX_EPOCH};

use hnsfleet_attestation::TipStatement;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::{BlockHash, TreeRoot};
use hnsfleet_testkit::service::ServiceProcess;
use hnsfleet_testkit::{Hsd, dashboard};
use secp256k1::SecretKey;
use serde_json::{Value, json};

const NAME: &str = "fleettxt";

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// An outside attester's publish endpoint serving whatever the test sets.
async fn liar() -> (Arc<Mutex<Vec<u8>>>, String) {
    let body = Arc::new(Mutex::new(Vec::new()));
    let served = Arc::clone(&body);
    let app = axum::Router::new().route(
        "/v1/attestation.bin",
        axum::routing::get(move || {
            let served = Arc::clone(&served);
            async move { served.lock().unwrap().clone() }
        }),
    );
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (body, url)
}

/// Waits (30 s at most) until the metric line `series` reads at least 1.
async fn metric_reaches(admin: SocketAddr, series: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(30);
    loop {
        let page = reqwest::get(format!("http://{admin}/metrics"))
            .await
            .unwrap();
        let text = page.text().await.unwrap();
        let value = text
            .lines()
            .find_map(|line| line.strip_prefix(series))
            .and_then(|rest| rest.trim().parse::<f64>().ok())
            .unwrap_or(0.0);
        if value >= 1.0 {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} still {value} after 30 s"
        );
        tokio::time::sleep(Duration::from_millis(200)).await;
    }
}

async fn dig_txt(root: SocketAddr) -> String {
    let out = tokio::time::timeout(
        Duration::from_secs(20),
        tokio::process::Command::new("dig")
            .args([
                &format!("@{}", root.ip()),
                "-p",
                &root.port().to_string(),
                "+norecurse",
                "+short",
                "+time=2",
                "+tries=1",
                &format!("{NAME}."),
                "TXT",
            ])
            .output(),
    )
    .await
    .expect("dig hung")
    .expect("dig (installed by scripts/setup.sh)");
    String::from_utf8_lossy(&out.stdout).trim().to_owned()
}

async fn status(watchdog: &str) -> Value {
    let out = tokio::process::Command::new(BIN)
        .args(["watchdog", "status", "--watchdog", watchdog])
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

/// Polls `hnsfleet watchdog status` until `done` holds (60 s at most); that status.
async fn status_until(watchdog: &str, what: &str, done: impl Fn(&Value) -> bool) -> Value {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let now = status(watchdog).await;
        if done(&now) {
            return now;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "watchdog never showed {what}; last status {now}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Polls dig until the TXT answer contains `text` (60 s at most).
async fn dig_until(root: SocketAddr, text: &str) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        let answer = dig_txt(root).await;
        if answer.contains(text) {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "dig never answered {text:?}; last {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
    }
}

/// Runs `work` on `hsd` off the async runtime (hsd's RPC client blocks).
async fn on(hsd: Hsd, work: impl FnOnce(&Hsd) + Send + 'static) -> Hsd {
    tokio::task::spawn_blocking(move || {
        work(&hsd);
        hsd
    })
    .await
    .unwrap()
}

fn height(status: &Value) -> u64 {
    status["height"].as_u64().unwrap_or(0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_deep_reorg_freezes_the_fleet_on_its_root_until_the_new_chain_is_agreed() {
    let (a, _) = prepared_hsd("watchdog-e2e-a", 990).await;
    let (b, _) = prepared_hsd("watchdog-e2e-b", 1010).await;
    let start = a.rpc("getblockcount", &[]).unwrap().as_u64().unwrap();
    let data = tempfile::tempdir().unwrap();
    let liar_key = SecretKey::from_byte_array([0x5a; 32]).unwrap();
    let (liar, liar_url) = liar().await;
    let lie = |magic: u32, hash: u8, signed_at: u64| {
        TipStatement {
            network_magic: magic,
            height: u32::try_from(start).unwrap(),
            hash: BlockHash([hash; 32]),
            tree_root: TreeRoot([hash; 32]),
            chainwork: [0; 32],
            time: signed_at,
            signed_at,
        }
        .sign(&liar_key)
        .encode()
        .to_vec()
    };
    let regtest = Network::Regtest.params().magic;
    *liar.lock().unwrap() = lie(regtest, 0xee, unix_now());
    let attester = format!(
        "{liar_url}={}",
        hex::encode(liar_key.public_key(secp256k1::SECP256K1).serialize())
    );
    let fleet: ServiceProcess = fleet_up(
        a.p2p_addr().unwrap(),
        &data.path().join("fleet"),
        &[
            "--peer",
            &b.p2p_addr().unwrap().to_string(),
            "--freeze-depth",
            "3",
            "--unfreeze-after",
            "4",
            "--attester",
            &attester,
            "--watchdog-quorum",
            "1",
        ],
        "watchdog-e2e-up",
    )
    .await;
    let root = fleet.addr("root").unwrap();
    let watchdog = format!("http://{}", fleet.addr("watchdog_grpc").unwrap());
    let ok = status_until(&watchdog, "OK at the start", |s| {
        s["state"] == "OK" && height(s) == start
    })
    .await;
    assert_eq!(ok["sources"][0]["health"], "healthy", "{ok}");

    // The lying attester: another block at the real height (a minority fork), then a forged
    // signature, another network, a replay of an older statement. Each ignored and counted.
    let admin = fleet.addr("watchdog_admin").unwrap();
    let ignored = |reason: &str| {
        format!(
            "hnsfleet_watchdog_ignored_attestations_total{{reason=\"{reason}\",source=\"{liar_url}\"}}"
        )
    };
    metric_reaches(admin, &ignored("conflicting")).await;
    let split = status(&watchdog).await;
    assert_eq!(split["state"], "OK", "{split}");
    assert_eq!(split["sources"][1]["health"], "minority_fork", "{split}");
    let mut forged = lie(regtest, 0xee, unix_now());
    forged[200] ^= 1;
    *liar.lock().unwrap() = forged;
    metric_reaches(admin, &ignored("bad_signature")).await;
    *liar.lock().unwrap() = lie(Network::Main.params().magic, 0xee, unix_now());
    metric_reaches(admin, &ignored("wrong_network")).await;
    *liar.lock().unwrap() = lie(regtest, 0xee, unix_now() - 20);
    metric_reaches(admin, &ignored("replayed")).await;
    assert_eq!(status(&watchdog).await["state"], "OK");

    // Shallow reorganisations (1 block, then 2): still OK.
    let a = on(a, |a| a.mine(1).unwrap()).await;
    status_until(&watchdog, "A's block", |s| height(s) == start + 1).await;
    let b = on(b, |b| b.mine(2).unwrap()).await;
    status_until(&watchdog, "B's 2 blocks", |s| height(s) == start + 2).await;
    let a = on(a, |a| {
        let records = json!({"records": [{"type": "TXT", "txt": ["branch a"]}]});
        a.wallet("sendupdate", &[NAME.into(), records]).unwrap();
        a.mine(11).unwrap();
    })
    .await;
    let back = status_until(&watchdog, "A's branch again", |s| height(s) == start + 12).await;
    assert_eq!(
        back["state"], "OK",
        "a 2-block reorg froze the fleet: {back}"
    );
    dig_until(root, "branch a").await;

    // B's branch: 11 blocks on its 2, just enough to outweigh A's 12 (all 12 of A's blocks
    // disconnected, K = 3), with its own UPDATE. Only that many: agreement on B's chain counts
    // toward the thaw from its first block on.
    let b = on(b, |b| {
        let records = json!({"records": [{"type": "TXT", "txt": ["branch b"]}]});
        b.wallet("sendupdate", &[NAME.into(), records]).unwrap();
        b.mine(11).unwrap();
    })
    .await;
    let frozen = status_until(&watchdog, "FROZEN", |s| s["state"] == "FROZEN").await;
    assert_eq!(frozen["reason"], "deep_reorg", "{frozen}");
    assert!(frozen["depth"].as_u64().unwrap() > 3, "{frozen}");
    let frozen_root = frozen["root"].clone();
    // The fleet keeps answering from the frozen root: B's UPDATE is not served.
    let mut rounds = 0;
    while rounds < 12 {
        let answer = dig_txt(root).await;
        assert!(
            answer.contains("branch a") && !answer.contains("branch b"),
            "frozen fleet served {answer:?}"
        );
        tokio::time::sleep(Duration::from_millis(250)).await;
        rounds += 1;
    }
    assert_eq!(status(&watchdog).await["root"], frozen_root);

    // Four blocks of agreement on B's chain (M = 4): OK again, on B's root.
    let _b = on(b, |b| b.mine(4).unwrap()).await;
    let thawed = status_until(&watchdog, "OK after M blocks", |s| s["state"] == "OK").await;
    assert_ne!(thawed["root"], frozen_root, "{thawed}");
    dig_until(root, "branch b").await;

    // Every metric name the dashboards and the alert rules use is one this running fleet
    // exports (after a freeze and a thaw, every path has run), except those listed with why.
    let mut pages = Vec::new();
    for admin in ["admin", "follower_admin", "cache_admin", "watchdog_admin"] {
        let addr = fleet.addr(admin).unwrap();
        let page = reqwest::get(format!("http://{addr}/metrics"))
            .await
            .unwrap();
        pages.push(page.text().await.unwrap());
    }
    let exported = dashboard::exposed(&pages);
    let repo = Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
    let mut files: Vec<_> = std::fs::read_dir(repo.join("dashboards"))
        .unwrap()
        .chain(std::fs::read_dir(repo.join("helm/hnsfleet/files/alerts")).unwrap())
        .map(|entry| entry.unwrap().path())
        .filter(|path| path.extension().is_some_and(|e| e == "json" || e == "yaml"))
        .collect();
    files.sort();
    assert!(files.len() >= 5, "{files:?}");
    let mut missing = Vec::new();
    for file in &files {
        let names = dashboard::names_in(&std::fs::read_to_string(file).unwrap());
        for name in dashboard::not_exported(&names, &exported) {
            if !NOT_IN_THIS_RUN.iter().any(|(n, _)| *n == name) {
                missing.push(format!("{}: {name}", file.display()));
            }
        }
    }
    assert!(
        missing.is_empty(),
        "used but not exported by a running fleet:\n{}",
        missing.join("\n")
    );
    drop(a);
}

/// Families the dashboards and alerts use that this run cannot export, and why.
const NOT_IN_THIS_RUN: [(&str, &str); 2] = [
    (
        "hnsfleet_watchdog_kube_leader",
        "registered only in a Kubernetes cluster (`hnsfleet up` keeps kube off)",
    ),
    (
        "hnsfleet_watchdog_kube_errors_total",
        "registered only in a Kubernetes cluster (`hnsfleet up` keeps kube off)",
    ),
];
