//! The frontend following the reorg-watchdog (`--watchdog`), against a scripted watchdog and
//! a real proof-cache over a synthetic follower: not ready before the watchdog is heard; ready
//! while it says OK; while it says FROZEN only a cache root equal to the frozen one counts
//! (here no cache has it: not ready); silent past `watchdog_grace`: not ready.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::{Tier, frontend};
use hnsfleet_proto::follower::v1 as fpb;
use hnsfleet_proto::watchdog::v1 as wpb;
use hnsfleet_testkit::service::ServiceProcess;

async fn readyz_until(service: &ServiceProcess, status: u16, contains: &str) -> String {
    let last = parking_lot::Mutex::new(String::new());
    service
        .poll(Duration::from_secs(10), "readiness", async |s| {
            let (code, body) = s.admin_get("/readyz").await.ok()?;
            *last.lock() = format!("{code} {body}");
            (code == status && body.contains(contains)).then_some(body)
        })
        .await
        .unwrap_or_else(|e| {
            panic!(
                "/readyz never {status} with {contains:?} (last: {}): {e}",
                last.lock()
            )
        })
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_frontend_is_ready_only_while_the_watchdog_speaks_and_its_root_is_served() {
    let tier = Tier::start(5).await;
    let (watchdog, script) = hnsfleet_verdict_follower::scripted::start(Duration::from_millis(200))
        .await
        .unwrap();
    let service = frontend(
        &tier.cache_url,
        &["--watchdog", &watchdog, "--watchdog-grace", "1s"],
        "frontend-watchdog",
    )
    .await;
    // The cache has a root, but the watchdog has not been heard yet.
    readyz_until(&service, 503, "silent").await;
    script.send_replace(Some(wpb::Verdict {
        state: wpb::State::Ok as i32,
        sequence: 1,
        ..wpb::Verdict::default()
    }));
    service.wait_ready(Duration::from_secs(10)).await.unwrap();

    // FROZEN on a root no cache serves: that root only counts, so not ready.
    script.send_replace(Some(wpb::Verdict {
        state: wpb::State::Frozen as i32,
        root: Some(fpb::SafeRoot {
            height: 3,
            tree_root: vec![0xcd; 32],
        }),
        sequence: 2,
        ..wpb::Verdict::default()
    }));
    let body = readyz_until(&service, 503, "FROZEN").await;
    assert!(body.contains("trusted_root"), "{body}");

    // OK again, then silence: not ready once the grace has passed.
    script.send_replace(Some(wpb::Verdict {
        state: wpb::State::Ok as i32,
        sequence: 3,
        ..wpb::Verdict::default()
    }));
    service.wait_ready(Duration::from_secs(10)).await.unwrap();
    script.send_replace(None);
    readyz_until(&service, 503, "silent").await;
}
