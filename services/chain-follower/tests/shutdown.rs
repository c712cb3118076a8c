//! The shutdown sequence on the real binary (no hsd: the only peer is an unreachable loopback
//! port, so the follower runs but never becomes ready). SIGTERM turns `/readyz` to 503 with
//! `"draining":true` at once, while `/healthz` and the gRPC API keep answering for the drain
//! window; then the listeners close and the process exits 0 within drain + grace. Also: the
//! `/readyz` body names the failing readiness rule.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use tokio::time::Instant;

use common::{Api, connect_api, follower_command, get_tip};
use hnsfleet_testkit::service::ServiceProcess;
use serde_json::{Value, json};

const DRAIN: Duration = Duration::from_secs(4);
const GRACE: Duration = Duration::from_secs(3);

async fn readyz(follower: &ServiceProcess) -> (u16, Value) {
    let (status, body) = follower.admin_get("/readyz").await.unwrap();
    let body = serde_json::from_str(&body).unwrap_or_else(|e| panic!("{e}: {body}"));
    (status, body)
}

fn check<'a>(status: &'a Value, name: &str) -> &'a Value {
    status["checks"]
        .as_array()
        .unwrap()
        .iter()
        .find(|c| c["name"] == name)
        .unwrap_or_else(|| panic!("no {name} check in {status}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn sigterm_drains_then_stops_accepting_then_exits_0() {
    let data_dir = tempfile::tempdir().unwrap();
    let mut follower = follower_command(data_dir.path())
        .peer("127.0.0.1:1")
        .flag("--shutdown-drain", "4s")
        .flag("--shutdown-grace", "3s")
        .spawn("shutdown")
        .await
        .expect("follower starts");

    // Not ready, and /readyz says which rule fails.
    let (status, body) = follower
        .poll(Duration::from_secs(10), "readiness evaluated", async |f| {
            let (status, body) = readyz(f).await;
            (body["checks"][0]["name"] != "started").then_some((status, body))
        })
        .await
        .unwrap();
    assert_eq!(status, 503);
    assert_eq!(
        (&body["ready"], &body["draining"]),
        (&json!(false), &json!(false))
    );
    assert_eq!(
        check(&body, "peers"),
        &json!({"name": "peers", "ok": false, "detail": "0 of 1 required connected"})
    );
    for name in ["synced_once", "near_best_peer", "chain_synced"] {
        check(&body, name);
    }
    let grpc = follower.grpc_url().unwrap();
    get_tip(&mut connect_api(&follower).await).await;

    let signalled = Instant::now();
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &follower.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());

    // At once: not ready, draining; still alive and serving.
    let (status, body) = follower
        .poll(Duration::from_secs(2), "/readyz draining", async |f| {
            let (status, body) = readyz(f).await;
            (body["draining"] == true).then_some((status, body))
        })
        .await
        .unwrap();
    assert_eq!((status, &body["ready"]), (503, &json!(false)));
    assert_eq!(
        follower.admin_get("/healthz").await.unwrap(),
        (200, "ok\n".into())
    );
    let mut api = Api::connect(grpc.clone())
        .await
        .expect("a new gRPC connection is accepted while draining");
    let tip = get_tip(&mut api).await;
    assert_eq!(tip.height, 0);
    assert!(
        signalled.elapsed() < DRAIN,
        "the checks above ran inside the drain window ({:?})",
        signalled.elapsed()
    );

    // Then the listeners close and the process exits 0, not before the drain window is over.
    let exit = follower
        .poll_exit(DRAIN + GRACE + Duration::from_secs(5))
        .await
        .unwrap();
    let took = signalled.elapsed();
    assert!(exit.success(), "{exit:?}\n{}", follower.log_tail(20));
    assert!(
        took >= DRAIN,
        "exited after {took:?}, before the drain window ended"
    );
    assert!(took < DRAIN + GRACE, "exited after {took:?}");
    assert!(
        follower.admin_get("/healthz").await.is_err(),
        "admin listener closed"
    );
    let log = follower.log();
    for step in [
        "shutdown requested",
        "draining",
        "listeners closed",
        "stopped",
    ] {
        assert!(log.contains(step), "{step:?} not logged:\n{log}");
    }
}
