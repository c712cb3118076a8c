//! The proof-cache under load and follower failures, on a real hsd regtest chain with three
//! real followers: 1,000 concurrent look-ups of one cold name make one follower request;
//! kill -9 of a follower under load costs no client an error; with every follower gone the
//! last trusted root's entries are served marked stale for `serve_stale`, then look-ups fail
//! with a clear reason and the cache reports not ready.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::*;

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicUsize, Ordering};
use std::time::Duration;

use hnsfleet_chain_follower::metrics::PROOFS_SERVED;
use hnsfleet_proof_cache::metrics as m;
use hnsfleet_proto::cache::v1::ErrorReason;
use hnsfleet_testkit::service::ServiceProcess;
use tokio::task::JoinSet;
use tokio::time::Instant;

async fn proofs_served(followers: &[&ServiceProcess]) -> f64 {
    let mut total = 0.0;
    for f in followers {
        total += metric(f, PROOFS_SERVED, &[]).await;
    }
    total
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn single_flight_failover_and_bounded_stale_serving() {
    let (hsd, manifest) = prepared_hsd("cache-failover", 880).await;
    let dirs: Vec<_> = (0..3).map(|_| tempfile::tempdir().unwrap()).collect();
    let mut f1 = follower(&hsd, dirs[0].path(), "cache-failover-f1").await;
    let mut f2 = follower(&hsd, dirs[1].path(), "cache-failover-f2").await;
    let mut f3 = follower(&hsd, dirs[2].path(), "cache-failover-f3").await;
    let urls = [
        f1.grpc_url().unwrap(),
        f2.grpc_url().unwrap(),
        f3.grpc_url().unwrap(),
    ];
    let serve_stale = Duration::from_secs(4);
    // No hedging within the test's time frame: "one follower request" must not depend on how
    // fast a loaded CI host answers (failover on errors is immediate anyway).
    let cache = proof_cache(
        &urls,
        &[("--serve-stale", "4s"), ("--hedge-after", "3s")],
        "cache-failover-cache",
    )
    .await;
    cache.wait_ready(Duration::from_secs(30)).await.unwrap();
    let api = connect(&cache).await;

    // 1,000 concurrent look-ups of one cold name: one follower request.
    let cold = "fleetns";
    let before = proofs_served(&[&f1, &f2, &f3]).await;
    let mut all = JoinSet::new();
    for _ in 0..1000 {
        let mut api = api.clone();
        all.spawn(async move { try_lookup(&mut api, cold).await.unwrap() });
    }
    let first = all.join_next().await.unwrap().unwrap();
    assert_is_hsds(cold, &first, &hsd);
    while let Some(answer) = all.join_next().await {
        assert_eq!(answer.unwrap().lookup, first.lookup);
    }
    assert_eq!(proofs_served(&[&f1, &f2, &f3]).await - before, 1.0);
    assert_eq!(metric(&cache, m::MISSES, &[]).await, 1.0);
    assert_eq!(
        metric(&cache, m::COALESCED, &[]).await + metric(&cache, m::HITS, &[]).await,
        999.0
    );

    // Load (hits on registered names, a steady trickle of misses); kill -9 one follower in
    // the middle. No client sees an error.
    let hot: Arc<Vec<String>> = Arc::new(registered_names(&manifest));
    for name in hot.iter() {
        try_lookup(&mut api.clone(), name).await.unwrap();
    }
    let stop = Arc::new(AtomicBool::new(false));
    let (done, failed) = (Arc::new(AtomicUsize::new(0)), Arc::new(AtomicUsize::new(0)));
    let mut load = JoinSet::new();
    for worker in 0..8 {
        let (mut api, hot, stop) = (api.clone(), Arc::clone(&hot), Arc::clone(&stop));
        let (done, failed) = (Arc::clone(&done), Arc::clone(&failed));
        load.spawn(async move {
            let mut pace = tokio::time::interval(Duration::from_millis(5));
            let mut i = 0usize;
            while !stop.load(Ordering::SeqCst) {
                pace.tick().await;
                let name = if i.is_multiple_of(20) {
                    format!("load{worker}x{i}")
                } else {
                    hot[i % hot.len()].clone()
                };
                match try_lookup(&mut api, &name).await {
                    Ok(_) => done.fetch_add(1, Ordering::SeqCst),
                    Err(e) => {
                        eprintln!("{name}: {e}");
                        failed.fetch_add(1, Ordering::SeqCst)
                    }
                };
                i += 1;
            }
        });
    }
    let at = done.load(Ordering::SeqCst);
    cache
        .poll(Duration::from_secs(10), "load running", async |_| {
            (done.load(Ordering::SeqCst) > at + 200).then_some(())
        })
        .await
        .unwrap();
    f1.kill9().await;
    let at = done.load(Ordering::SeqCst);
    cache
        .poll(Duration::from_secs(10), "load after the kill", async |_| {
            (done.load(Ordering::SeqCst) > at + 400).then_some(())
        })
        .await
        .unwrap();
    stop.store(true, Ordering::SeqCst);
    while load.join_next().await.is_some() {}
    assert_eq!(failed.load(Ordering::SeqCst), 0, "a client saw an error");
    assert!(metric(&cache, m::MISSES, &[]).await > 20.0);
    let mut api = api.clone();
    let answer = try_lookup(&mut api, &hot[0]).await.unwrap();
    assert!(!answer.stale, "two of three followers are still a quorum");

    // Every follower gone: cached entries of the last trusted root are served, marked stale;
    // a miss has nowhere to go.
    f2.kill9().await;
    f3.kill9().await;
    let lost = Instant::now();
    let stale = cache
        .poll(Duration::from_secs(10), "stale answers", async |_| {
            let answer = try_lookup(&mut api.clone(), &hot[0]).await.ok()?;
            answer.stale.then_some(answer)
        })
        .await
        .unwrap();
    assert!(stale.from_cache);
    assert_is_hsds(&hot[0], &stale, &hsd);
    assert!(metric(&cache, m::STALE, &[]).await >= 1.0);
    let miss = try_lookup(&mut api, "nevercached").await.unwrap_err();
    assert_eq!(miss.code(), tonic::Code::Unavailable);
    assert_eq!(
        ErrorReason::of(&miss),
        Some(ErrorReason::FollowersUnavailable)
    );

    // Then, after serve_stale: a clear error, and not ready.
    let expired = cache
        .poll(
            Duration::from_secs(20),
            "stale serving to end",
            async |_| try_lookup(&mut api.clone(), &hot[0]).await.err(),
        )
        .await
        .unwrap();
    assert!(
        lost.elapsed() >= serve_stale,
        "stale answers for the configured time"
    );
    assert_eq!(expired.code(), tonic::Code::Unavailable);
    assert_eq!(ErrorReason::of(&expired), Some(ErrorReason::StaleExpired));
    // Readiness is re-evaluated every second.
    let body = cache
        .poll(Duration::from_secs(5), "not ready", async |c| {
            let (status, body) = c.admin_get("/readyz").await.ok()?;
            (status == 503).then_some(body)
        })
        .await
        .unwrap();
    assert!(
        body.contains("trusted_root") && body.contains("unconfirmed"),
        "{body}"
    );
}
