//! The `hnsfleet-proof-cache` binary without hsd: configuration errors, readiness before a
//! quorum, no trust in followers that are still syncing, the answers and single-flight
//! against a synthetic follower (a real gRPC follower API over an in-memory Urkel tree), the
//! memory bound under a flood of distinct names, a clean stop on SIGTERM, and the
//! reorg-watchdog's verdict (a frozen root imposed; not ready while the watchdog is silent).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::Path;
use std::time::Duration;

use hnsfleet_hns::name::Name;
use hnsfleet_proof_cache::metrics as m;
use hnsfleet_proof_cache::synthetic::SyntheticFollower;
use hnsfleet_proto::cache::v1 as pb;
use hnsfleet_proto::cache::v1::ErrorReason;
use hnsfleet_proto::cache::v1::proof_cache_service_client::ProofCacheServiceClient;
use hnsfleet_testkit::service::ServiceProcess;
use hnsfleet_verify::LookupClaim;
use hnsfleet_verify::verify_lookup;
use tokio::task::JoinSet;

const BIN: &str = env!("CARGO_BIN_EXE_hnsfleet-proof-cache");

async fn start(followers: &[&str], flags: &[&str], log: &str) -> ServiceProcess {
    let mut args: Vec<String> = [
        "--network",
        "regtest",
        "--grpc-listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
    ]
    .iter()
    .chain(flags)
    .map(|s| s.to_string())
    .collect();
    for f in followers {
        args.extend(["--follower".to_string(), f.to_string()]);
    }
    ServiceProcess::spawn(Path::new(BIN), &args, log)
        .await
        .unwrap()
}

async fn lookup(
    api: &mut ProofCacheServiceClient<tonic::transport::Channel>,
    name: &str,
) -> Result<pb::LookupNameResponse, tonic::Status> {
    Ok(api
        .lookup_name(pb::LookupNameRequest { name: name.into() })
        .await?
        .into_inner())
}

#[tokio::test]
async fn bad_configuration_exits_64_naming_the_key() {
    for (args, key) in [
        (vec!["--network", "regtest"], "followers"),
        (
            vec!["--follower", "http://127.0.0.1:1", "--quorum", "2"],
            "quorum",
        ),
        (vec!["--follower", "127.0.0.1:1"], "follower"),
        (
            vec![
                "--follower",
                "http://127.0.0.1:1",
                "--cache-capacity",
                "1 KiB",
            ],
            "cache_capacity",
        ),
    ] {
        let out = tokio::process::Command::new(BIN)
            .args(&args)
            .output()
            .await
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(err.contains(key), "{args:?}: {err}");
    }
    let out = tokio::process::Command::new(BIN)
        .args([
            "--follower",
            "http://127.0.0.1:1",
            "--follower",
            "http://127.0.0.1:2",
        ])
        .args(["--follower", "http://127.0.0.1:3", "--check-config"])
        .output()
        .await
        .unwrap();
    assert!(out.status.success());
    let printed = String::from_utf8_lossy(&out.stdout);
    assert!(printed.contains("quorum = 2"), "{printed}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn not_ready_and_no_answers_before_a_quorum_root() {
    let mut cache = start(
        &["http://127.0.0.1:1"],
        &["--shutdown-drain", "0s"],
        "pc-noquorum",
    )
    .await;
    assert_eq!(cache.admin_get("/healthz").await.unwrap().0, 200);
    let body = cache
        .poll(Duration::from_secs(5), "readiness evaluated", async |c| {
            let (status, body) = c.admin_get("/readyz").await.ok()?;
            (status == 503 && body.contains("trusted_root")).then_some(body)
        })
        .await
        .unwrap();
    assert!(body.contains("no safe root"), "{body}");
    let mut api = ProofCacheServiceClient::connect(cache.grpc_url().unwrap())
        .await
        .unwrap();
    let err = lookup(&mut api, "bench1").await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    assert_eq!(ErrorReason::of(&err), Some(ErrorReason::NoTrustedRoot));
    let root = api
        .get_trusted_root(pb::GetTrustedRootRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(root.trusted_root.is_none());

    // SIGTERM: a clean exit.
    let kill = std::process::Command::new("kill")
        .args(["-TERM", &cache.pid().to_string()])
        .status()
        .unwrap();
    assert!(kill.success());
    let status = cache.poll_exit(Duration::from_secs(15)).await.unwrap();
    assert_eq!(status.code(), Some(0), "{}", cache.log_tail(20));
}

/// Polls until the cache counts `count` followers in `state` (`hnsfleet_cache_followers`).
async fn wait_followers(cache: &ServiceProcess, state: &str, count: f64) {
    cache
        .poll(Duration::from_secs(10), state, async |c| {
            let n = c.metric(m::FOLLOWERS, &[("state", state)]).await.ok()??;
            (n == count).then_some(())
        })
        .await
        .unwrap();
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn followers_still_syncing_are_not_trusted_until_they_report_synced() {
    // Two followers announcing the same root, both still in their header sync.
    let a = SyntheticFollower::start_syncing(100).await.unwrap();
    let b = SyntheticFollower::start_syncing(100).await.unwrap();
    assert_eq!(a.root, b.root);
    let cache = start(
        &[&a.url, &b.url],
        &["--quorum", "2", "--serve-stale", "1s"],
        "pc-syncing",
    )
    .await;
    wait_followers(&cache, "syncing", 2.0).await;
    let (status, body) = cache.admin_get("/readyz").await.unwrap();
    assert_eq!(status, 503, "{body}");
    assert!(body.contains("0 of 2 connected and synced"), "{body}");
    let mut api = ProofCacheServiceClient::connect(cache.grpc_url().unwrap())
        .await
        .unwrap();
    let err = lookup(&mut api, "bench1").await.unwrap_err();
    assert_eq!(err.code(), tonic::Code::Unavailable);
    assert_eq!(ErrorReason::of(&err), Some(ErrorReason::NoTrustedRoot));
    let trusted = api
        .get_trusted_root(pb::GetTrustedRootRequest {})
        .await
        .unwrap()
        .into_inner();
    assert!(trusted.trusted_root.is_none());
    assert_eq!(
        cache.metric(m::TRUSTED_ROOT_HEIGHT, &[]).await.unwrap(),
        Some(0.0)
    );

    // One synced follower is below the quorum: still nothing trusted.
    a.set_synced(true);
    wait_followers(&cache, "agreeing", 1.0).await;
    assert_eq!(cache.admin_get("/readyz").await.unwrap().0, 503);
    let err = lookup(&mut api, "bench1").await.unwrap_err();
    assert_eq!(ErrorReason::of(&err), Some(ErrorReason::NoTrustedRoot));
    assert_eq!(a.lookups() + b.lookups(), 0, "no follower was asked");

    // Both synced: the root is trusted, answers are verified against it.
    b.set_synced(true);
    cache.wait_ready(Duration::from_secs(10)).await.unwrap();
    let answer = lookup(&mut api, "bench1").await.unwrap();
    let claim = LookupClaim::try_from(answer.lookup.as_ref().unwrap()).unwrap();
    let verified = verify_lookup(&Name::parse("bench1").unwrap(), claim).unwrap();
    assert!(verified.exists());
    assert_eq!(*verified.tree_root(), a.root);

    // One falls out of sync: it stops confirming the root, which is served stale, then
    // expires (serve_stale 1 s) and the cache is not ready again.
    b.set_synced(false);
    wait_followers(&cache, "syncing", 1.0).await;
    let err = cache
        .poll(Duration::from_secs(10), "the root expires", async |c| {
            let mut api = ProofCacheServiceClient::connect(c.grpc_url().ok()?)
                .await
                .ok()?;
            lookup(&mut api, "bench1").await.err()
        })
        .await
        .unwrap();
    assert_eq!(ErrorReason::of(&err), Some(ErrorReason::StaleExpired));
    // Readiness follows on the cache's next once-a-second re-evaluation.
    let body = cache
        .poll(Duration::from_secs(5), "unready after expiry", async |c| {
            let (status, body) = c.admin_get("/readyz").await.ok()?;
            (status == 503).then_some(body)
        })
        .await
        .unwrap();
    assert!(body.contains("unconfirmed"), "{body}");

    // Back in sync: confirmed and ready again.
    b.set_synced(true);
    cache.wait_ready(Duration::from_secs(10)).await.unwrap();
    assert!(
        lookup(&mut api, "bench1")
            .await
            .unwrap()
            .lookup
            .unwrap()
            .exists
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn verified_answers_single_flight_and_a_memory_bound_against_a_synthetic_follower() {
    let follower = SyntheticFollower::start(2_000).await.unwrap();
    let cache = start(
        &[&follower.url],
        &["--cache-capacity", "1 MiB"],
        "pc-synthetic",
    )
    .await;
    cache.wait_ready(Duration::from_secs(10)).await.unwrap();
    let mut api = ProofCacheServiceClient::connect(cache.grpc_url().unwrap())
        .await
        .unwrap();

    // A registered and an absent name: verified, miss then hit.
    for (name, exists) in [("bench1", true), ("nosuchname", false)] {
        let first = lookup(&mut api, name).await.unwrap();
        let second = lookup(&mut api, name).await.unwrap();
        assert!(!first.from_cache && second.from_cache, "{name}");
        let claim = LookupClaim::try_from(second.lookup.as_ref().unwrap()).unwrap();
        let v = verify_lookup(&Name::parse(name).unwrap(), claim).unwrap();
        assert_eq!(v.exists(), exists, "{name}");
        assert_eq!(*v.tree_root(), follower.root);
    }

    // 500 concurrent look-ups of one cold name: one follower request.
    let before = follower.lookups();
    let mut all = JoinSet::new();
    for _ in 0..500 {
        let mut api = api.clone();
        all.spawn(async move { lookup(&mut api, "bench7").await.unwrap() });
    }
    while let Some(answer) = all.join_next().await {
        assert!(answer.unwrap().lookup.unwrap().exists);
    }
    assert_eq!(follower.lookups() - before, 1);

    // A flood of distinct names (a stranger filling the cache): memory stays within the
    // configured 1 MiB, every answer is still verified.
    let mut flood = JoinSet::new();
    for t in 0..8 {
        let mut api = api.clone();
        flood.spawn(async move {
            for i in 0..250 {
                let name = format!("flood{t}x{i}");
                let answer = lookup(&mut api, &name).await.unwrap();
                let claim = LookupClaim::try_from(answer.lookup.as_ref().unwrap()).unwrap();
                verify_lookup(&Name::parse(&name).unwrap(), claim).unwrap();
            }
        });
    }
    while let Some(done) = flood.join_next().await {
        done.unwrap();
    }
    let (entries, bytes) = cache
        .poll(Duration::from_secs(10), "size gauges", async |c| {
            let entries = c.metric(m::ENTRIES, &[]).await.ok()??;
            let bytes = c.metric(m::SIZE, &[]).await.ok()??;
            (entries > 100.0).then_some((entries, bytes))
        })
        .await
        .unwrap();
    assert!(bytes <= 1024.0 * 1024.0, "{bytes} bytes held");
    assert!(
        entries < 2_000.0,
        "{entries} entries: eviction did not bound the cache"
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_slow_follower_is_hedged_to_a_fast_one() {
    let slow = SyntheticFollower::start_slow(100, Duration::from_secs(30))
        .await
        .unwrap();
    let fast = SyntheticFollower::start(100).await.unwrap();
    assert_eq!(slow.root, fast.root);
    let cache = start(
        &[&slow.url, &fast.url],
        &["--hedge-after", "50ms", "--follower-timeout", "40s"],
        "pc-hedge",
    )
    .await;
    cache.wait_ready(Duration::from_secs(10)).await.unwrap();
    let mut api = ProofCacheServiceClient::connect(cache.grpc_url().unwrap())
        .await
        .unwrap();
    // Every miss is answered by the fast follower, whoever was asked first; the slow one's
    // answers (30 s away) are never waited for.
    for i in 0..20 {
        let mut request = tonic::Request::new(pb::LookupNameRequest {
            name: format!("bench{i}"),
        });
        request.set_timeout(Duration::from_secs(10));
        let answer = api.lookup_name(request).await.unwrap().into_inner();
        assert!(!answer.from_cache);
        if slow.lookups() > 0 {
            break;
        }
    }
    assert!(
        slow.lookups() > 0,
        "the slow follower was never asked first"
    );
    assert!(
        cache
            .metric(m::FOLLOWER_HEDGES, &[])
            .await
            .unwrap()
            .unwrap()
            >= 1.0
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_frozen_verdict_imposes_its_root_and_a_silent_watchdog_makes_the_cache_unready() {
    use hnsfleet_proto::follower::v1 as fpb;
    use hnsfleet_proto::watchdog::v1 as wpb;

    let follower = SyntheticFollower::start(100).await.unwrap();
    let (watchdog, script) = hnsfleet_verdict_follower::scripted::start(Duration::from_millis(200))
        .await
        .unwrap();
    let cache = start(
        &[follower.url.as_str()],
        &["--watchdog", &watchdog, "--watchdog-grace", "1s"],
        "pc-watchdog",
    )
    .await;
    // Before the watchdog is heard: not ready, whatever the followers say.
    let body = cache
        .poll(
            Duration::from_secs(5),
            "waiting for the watchdog",
            async |c| {
                let (status, body) = c.admin_get("/readyz").await.ok()?;
                (status == 503 && body.contains("watchdog")).then_some(body)
            },
        )
        .await
        .unwrap();
    assert!(body.contains("silent"), "{body}");
    script.send_replace(Some(wpb::Verdict {
        state: wpb::State::Ok as i32,
        sequence: 1,
        ..wpb::Verdict::default()
    }));
    cache.wait_ready(Duration::from_secs(10)).await.unwrap();
    let mut api = ProofCacheServiceClient::connect(cache.grpc_url().unwrap())
        .await
        .unwrap();
    let quorum = api
        .get_trusted_root(pb::GetTrustedRootRequest {})
        .await
        .unwrap()
        .into_inner()
        .trusted_root
        .unwrap();
    assert_eq!(quorum.source, pb::TrustSource::Quorum as i32);

    // FROZEN on another root: that root is trusted, marked imposed, never stale.
    let frozen = fpb::SafeRoot {
        height: 7,
        tree_root: vec![0xab; 32],
    };
    script.send_replace(Some(wpb::Verdict {
        state: wpb::State::Frozen as i32,
        root: Some(frozen.clone()),
        sequence: 2,
        ..wpb::Verdict::default()
    }));
    let imposed = cache
        .poll(
            Duration::from_secs(5),
            "the frozen root trusted",
            async |c| {
                let mut api = ProofCacheServiceClient::connect(c.grpc_url().ok()?)
                    .await
                    .ok()?;
                let root = api
                    .get_trusted_root(pb::GetTrustedRootRequest {})
                    .await
                    .ok()?
                    .into_inner()
                    .trusted_root?;
                (root.source == pb::TrustSource::Imposed as i32).then_some(root)
            },
        )
        .await
        .unwrap();
    assert_eq!(imposed.root, Some(frozen.clone()));
    assert!(!imposed.stale);
    assert_eq!(
        cache.metric(m::TRUSTED_ROOT_IMPOSED, &[]).await.unwrap(),
        Some(1.0)
    );

    // The watchdog falls silent: the freeze is kept, and after the grace the cache is not
    // ready.
    script.send_replace(None);
    let body = cache
        .poll(
            Duration::from_secs(10),
            "unready without the watchdog",
            async |c| {
                let (status, body) = c.admin_get("/readyz").await.ok()?;
                (status == 503).then_some(body)
            },
        )
        .await
        .unwrap();
    assert!(body.contains("silent"), "{body}");
    let still = api
        .get_trusted_root(pb::GetTrustedRootRequest {})
        .await
        .unwrap()
        .into_inner()
        .trusted_root
        .unwrap();
    assert_eq!(still.root, Some(frozen));
    assert_eq!(still.source, pb::TrustSource::Imposed as i32);
}
