//! The gRPC server's limits and error contract, through the real `hnsfleet-chain-follower`
//! binary with one scripted peer that serves a synthetic chain but never answers a proof (so
//! look-ups hang until a deadline stops them; no hsd needed): every error carries its
//! `ErrorInfo` reason, a client's deadline stops a look-up early with `DEADLINE_EXCEEDED`, a
//! flood above `grpc_max_in_flight` is refused at once with `OVERLOADED` while the admitted
//! calls run on, `WatchTip` streams are capped, the call metrics count all of it by method and
//! code, and SIGTERM ends open streams with `DRAINING`.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::time::Duration;

use common::fake_peer::{Behavior, FakePeer};
use common::{Api, connect_api, follower_command, get_tip, try_lookup};
use hnsfleet_chain_follower::synthetic::mine_chain;
use hnsfleet_hns::chain::ChainEntry;
use hnsfleet_hns::params::Network;
use hnsfleet_proto::follower::v1::{self as pb, ErrorReason};
use hnsfleet_service_kit::grpc::{IN_FLIGHT, REQUEST_DURATION, REQUESTS_TOTAL};
use hnsfleet_testkit::service::ServiceProcess;
use tokio::time::Instant;
use tonic::Code;

const CHAIN: usize = 20;
const MAX_IN_FLIGHT: usize = 4;
const MAX_WATCHERS: usize = 2;
const SERVICE: &str = "hnsfleet.follower.v1.ChainFollowerService";
/// Interval of the polls to a deadline.
const POLL: Duration = Duration::from_millis(20);

/// A call's count (`requests_total`) or its latency samples (`_count`) by method and code.
async fn calls(follower: &ServiceProcess, family: &str, method: &str, code: &str) -> f64 {
    let labels = [("code", code), ("method", method), ("service", SERVICE)];
    follower
        .metric(family, &labels)
        .await
        .unwrap()
        .unwrap_or(0.0)
}

/// A look-up of a name the peer will never prove, bounded by a client deadline.
async fn hanging_lookup(mut api: Api, deadline: Duration) -> tonic::Status {
    let mut request = tonic::Request::new(pb::LookupNameRequest {
        name: "neverproven".into(),
        root: None,
    });
    request.set_timeout(deadline);
    api.lookup_name(request).await.unwrap_err()
}

fn assert_reason(status: &tonic::Status, code: Code, reason: ErrorReason) {
    assert_eq!(status.code(), code, "{status:?}");
    assert_eq!(ErrorReason::of(status), Some(reason), "{status:?}");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn limits_deadlines_and_reasons_over_the_real_binary() {
    let params = Network::Regtest.params();
    let chain = tokio::task::spawn_blocking(move || {
        mine_chain(params, &ChainEntry::genesis(params), CHAIN, 600, 9)
    })
    .await
    .unwrap();
    let peer = FakePeer::start(Behavior::ProofStaller(Arc::new(chain)), CHAIN as u32).await;
    let data_dir = tempfile::tempdir().unwrap();
    let follower = follower_command(data_dir.path())
        .peer(peer.addr)
        .flag("--proof-timeout", "60s")
        .flag("--hedge-after", "30s")
        .flag("--grpc-max-in-flight", MAX_IN_FLIGHT)
        .flag("--grpc-max-watchers", MAX_WATCHERS)
        // The SIGTERM check below is about open streams, not the drain window.
        .flag("--shutdown-drain", "0s")
        .spawn("svc-limits")
        .await
        .unwrap();
    let mut api = connect_api(&follower).await;
    let synced = Instant::now() + Duration::from_secs(30);
    while get_tip(&mut api).await.height < CHAIN as u32 {
        assert!(Instant::now() < synced, "{}", follower.log_tail(20));
        tokio::time::sleep(POLL).await;
    }
    let tip = api
        .get_tip(pb::GetTipRequest {})
        .await
        .unwrap()
        .into_inner();
    assert_eq!(tip.network(), pb::Network::Regtest);

    // A bad name: INVALID_ARGUMENT, INVALID_NAME.
    let err = try_lookup(&mut api, "bad..name").await.unwrap_err();
    assert_reason(&err, Code::InvalidArgument, ErrorReason::InvalidName);

    // The client allows 300 ms of a look-up the peer never answers (the follower itself would
    // wait 60 s): stopped then, and the status says it was the client's deadline.
    let started = Instant::now();
    let err = hanging_lookup(api.clone(), Duration::from_millis(300)).await;
    let took = started.elapsed();
    assert_reason(&err, Code::DeadlineExceeded, ErrorReason::DeadlineExceeded);
    assert!(
        (Duration::from_millis(250)..Duration::from_secs(3)).contains(&took),
        "{took:?}"
    );
    let info = hnsfleet_proto::status::error_info(&err).unwrap();
    assert_eq!(info.metadata["source"], "client", "{info:?}");

    // A flood: MAX_IN_FLIGHT hanging look-ups take every slot; then everything else, look-ups
    // and the cheapest call alike, is refused at once with OVERLOADED.
    let admitted: Vec<_> = (0..MAX_IN_FLIGHT)
        .map(|_| tokio::spawn(hanging_lookup(api.clone(), Duration::from_secs(4))))
        .collect();
    follower
        .poll(Duration::from_secs(10), "slots taken", async |f| {
            (f.metric(IN_FLIGHT, &[]).await.unwrap() == Some(MAX_IN_FLIGHT as f64)).then_some(())
        })
        .await
        .unwrap();
    for _ in 0..6 {
        let started = Instant::now();
        let err = hanging_lookup(api.clone(), Duration::from_secs(4)).await;
        assert_reason(&err, Code::ResourceExhausted, ErrorReason::Overloaded);
        assert!(
            started.elapsed() < Duration::from_secs(1),
            "refused at once"
        );
    }
    let err = api.get_tip(pb::GetTipRequest {}).await.unwrap_err();
    assert_reason(&err, Code::ResourceExhausted, ErrorReason::Overloaded);
    // The admitted ones were not disturbed: they run to their own deadline.
    for call in admitted {
        let err = call.await.unwrap();
        assert_reason(&err, Code::DeadlineExceeded, ErrorReason::DeadlineExceeded);
    }
    assert_eq!(follower.metric(IN_FLIGHT, &[]).await.unwrap(), Some(0.0));
    get_tip(&mut api).await;

    // WatchTip streams are capped; a closed one frees its slot.
    let mut streams = Vec::new();
    for _ in 0..MAX_WATCHERS {
        let mut stream = api
            .watch_tip(pb::WatchTipRequest {})
            .await
            .unwrap()
            .into_inner();
        let first = stream.message().await.unwrap().unwrap();
        assert_eq!(first.tip.unwrap().height, CHAIN as u32);
        assert!(!first.missed_changes);
        streams.push(stream);
    }
    let err = api.watch_tip(pb::WatchTipRequest {}).await.unwrap_err();
    assert_reason(&err, Code::ResourceExhausted, ErrorReason::TooManyWatchers);
    drop(streams.pop());
    let reopened = Instant::now() + Duration::from_secs(10);
    let mut stream = loop {
        match api.watch_tip(pb::WatchTipRequest {}).await {
            Ok(stream) => break stream.into_inner(),
            Err(e) => {
                assert_reason(&e, Code::ResourceExhausted, ErrorReason::TooManyWatchers);
                assert!(Instant::now() < reopened, "slot never freed");
                tokio::time::sleep(POLL).await;
            }
        }
    };
    stream.message().await.unwrap().unwrap();

    // Every call above, counted and timed by method and final code (failures too).
    let lookups_stopped = 1.0 + MAX_IN_FLIGHT as f64;
    for (method, code, count) in [
        ("GetTip", "OK", None),
        ("GetTip", "RESOURCE_EXHAUSTED", Some(1.0)),
        ("LookupName", "INVALID_ARGUMENT", Some(1.0)),
        ("LookupName", "DEADLINE_EXCEEDED", Some(lookups_stopped)),
        ("LookupName", "RESOURCE_EXHAUSTED", Some(6.0)),
        ("WatchTip", "RESOURCE_EXHAUSTED", None),
    ] {
        let counted = calls(&follower, REQUESTS_TOTAL, method, code).await;
        let timed = calls(
            &follower,
            &format!("{REQUEST_DURATION}_count"),
            method,
            code,
        )
        .await;
        match count {
            Some(n) => assert_eq!(counted, n, "{method} {code}"),
            None => assert!(counted >= 1.0, "{method} {code}"),
        }
        assert_eq!(timed, counted, "{method} {code}: every call is timed");
    }
    assert_eq!(
        calls(&follower, REQUESTS_TOTAL, "LookupName", "OK").await,
        0.0,
        "nothing was proven"
    );

    // SIGTERM: open streams end with DRAINING, so clients go elsewhere.
    let status = std::process::Command::new("kill")
        .args(["-TERM", &follower.pid().to_string()])
        .status()
        .unwrap();
    assert!(status.success());
    let ended = tokio::time::timeout(Duration::from_secs(10), async {
        loop {
            match stream.message().await {
                Ok(Some(_)) => continue,
                Ok(None) => panic!("stream ended without a status"),
                Err(status) => return status,
            }
        }
    })
    .await
    .expect("the stream ends on SIGTERM");
    assert_reason(&ended, Code::Unavailable, ErrorReason::Draining);
    drop(follower);
}
