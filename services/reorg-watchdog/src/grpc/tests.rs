#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use prometheus::Registry;
use secp256k1::SecretKey;
use tokio_stream::StreamExt;

use super::*;
use crate::config::WatchdogConfig;
use crate::metrics::Metrics;

fn api(heartbeat: Duration, max_watchers: usize) -> WatchdogApi {
    let config =
        WatchdogConfig::from_toml("network = \"regtest\"\nfollowers = [\"http://127.0.0.1:1\"]\n")
            .unwrap();
    let metrics = Metrics::register(&Registry::new()).unwrap();
    let key = SecretKey::from_byte_array([7; 32]).unwrap();
    let watchdog = Arc::new(Watchdog::new(&config, key, metrics));
    WatchdogApi::new(
        watchdog,
        UnfreezeAuth::LoopbackOnly,
        heartbeat,
        CancellationToken::new(),
    )
    .with_max_watchers(max_watchers)
}

async fn open(api: &WatchdogApi) -> Result<VerdictStream, Status> {
    api.watch_verdicts(Request::new(pb::WatchVerdictsRequest {}))
        .await
        .map(Response::into_inner)
}

/// Polls `done` until it holds (at most 5 s).
async fn eventually(what: &str, done: impl Fn() -> bool) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    while !done() {
        assert!(
            tokio::time::Instant::now() < deadline,
            "not within 5 s: {what}"
        );
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
}

#[tokio::test]
async fn verdict_streams_beyond_the_cap_are_refused_and_a_closed_one_frees_its_slot() {
    let api = api(Duration::from_secs(1), 2);
    let mut first = open(&api).await.unwrap();
    let _second = open(&api).await.unwrap();
    let refused = open(&api).await.err().expect("a third stream is refused");
    assert_eq!(refused.code(), tonic::Code::ResourceExhausted);
    assert_eq!(api.watchers(), 2);
    // The open ones still get their verdict.
    assert!(first.next().await.unwrap().unwrap().verdict.is_some());
    drop(first);
    eventually("the closed stream's slot is freed", || api.watchers() == 1).await;
    let _third = open(&api).await.unwrap();
    assert_eq!(api.watchers(), 2);
}

#[tokio::test]
async fn a_watcher_that_stops_reading_is_dropped_after_a_heartbeat() {
    let heartbeat = Duration::from_millis(50);
    let api = api(heartbeat, 4);
    let mut idle = open(&api).await.unwrap();
    // Never read: the buffer fills with heartbeats, the next one cannot be sent within a
    // heartbeat, and the stream is given up, its slot freed.
    eventually("the idle watcher is dropped", || api.watchers() == 0).await;
    let mut buffered = 0;
    while let Some(message) = idle.next().await {
        assert!(message.unwrap().verdict.is_some());
        buffered += 1;
    }
    assert!(
        (1..=4).contains(&buffered),
        "at most the channel's 4 messages were held for it, got {buffered}"
    );
}
