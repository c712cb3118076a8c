#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use super::*;

fn name(text: &str) -> Name {
    Name::from_ascii(text).unwrap()
}

fn positive(ttl: u32) -> Resolved {
    Resolved {
        rcode: ResponseCode::NoError,
        answers: vec![Record::from_rdata(
            name("www.example."),
            ttl,
            RData::A(A::new(192, 0, 2, 1)),
        )],
        authorities: Vec::new(),
        secure: true,
    }
}

fn nxdomain(soa_ttl: u32, minimum: u32) -> Resolved {
    Resolved {
        rcode: ResponseCode::NXDomain,
        answers: Vec::new(),
        authorities: vec![Record::from_rdata(
            name("example."),
            soa_ttl,
            RData::SOA(SOA::new(
                name("ns.example."),
                name("host.example."),
                1,
                3600,
                600,
                86400,
                minimum,
            )),
        )],
        secure: false,
    }
}

fn cache(serve_stale: Duration) -> AnswerCache {
    AnswerCache::new(1 << 20, serve_stale, false, Metrics::unregistered())
}

/// A resolver that counts its calls and answers `answer` (or fails when `None`).
fn resolver(
    calls: &Arc<AtomicUsize>,
    answer: Option<Resolved>,
) -> impl Fn() -> futures_util::future::BoxFuture<'static, Result<Resolved, ResolveFailure>>
+ Send
+ Sync
+ 'static {
    let calls = Arc::clone(calls);
    move || {
        calls.fetch_add(1, Ordering::SeqCst);
        let answer = answer.clone();
        Box::pin(async move {
            tokio::time::sleep(Duration::from_millis(20)).await;
            answer.ok_or_else(|| ResolveFailure::Unreachable("test".into()))
        })
    }
}

#[test]
fn negative_answers_live_for_the_soa_negative_ttl_and_positive_for_the_smallest_ttl() {
    assert_eq!(ttl_of(&nxdomain(86400, 300)), 300);
    assert_eq!(ttl_of(&nxdomain(60, 300)), 60);
    assert_eq!(ttl_of(&nxdomain(86400, 86400)), MAX_NEGATIVE_TTL);
    assert_eq!(ttl_of(&positive(500)), 500);
    assert_eq!(ttl_of(&positive(10 * MAX_TTL)), MAX_TTL);
}

#[tokio::test]
async fn concurrent_misses_share_one_resolution_and_hits_count_ttl_down() {
    let cache = cache(Duration::ZERO);
    let calls = Arc::new(AtomicUsize::new(0));
    let key = name("www.example.");
    let mut tasks = Vec::new();
    for _ in 0..20 {
        let (cache, key, resolve) = (
            cache.clone(),
            key.clone(),
            resolver(&calls, Some(positive(300))),
        );
        tasks.push(tokio::spawn(async move {
            cache.get(&key, RecordType::A, resolve).await
        }));
    }
    for task in tasks {
        assert!(matches!(task.await.unwrap(), Ok(Served::Fresh(_))));
    }
    assert_eq!(calls.load(Ordering::SeqCst), 1);
    // Case does not matter for the key.
    let hit = cache
        .get(&name("WWW.example."), RecordType::A, resolver(&calls, None))
        .await
        .unwrap();
    let Served::Fresh(resolved) = hit else {
        panic!()
    };
    assert!(resolved.answers[0].ttl <= 300);
    assert_eq!(calls.load(Ordering::SeqCst), 1);
}

#[tokio::test]
async fn an_expired_answer_is_served_stale_only_when_the_refresh_fails() {
    let cache = cache(Duration::from_secs(60));
    let calls = Arc::new(AtomicUsize::new(0));
    let key = name("www.example.");
    cache
        .get(&key, RecordType::A, resolver(&calls, Some(positive(1))))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    // Refresh fails: the stale answer with TTL 30.
    let served = cache
        .get(&key, RecordType::A, resolver(&calls, None))
        .await
        .unwrap();
    let Served::Stale(stale) = served else {
        panic!("{served:?}")
    };
    assert_eq!(stale.answers[0].ttl, STALE_TTL);
    // Refresh works: a fresh answer replaces it.
    let served = cache
        .get(&key, RecordType::A, resolver(&calls, Some(positive(300))))
        .await
        .unwrap();
    assert!(matches!(served, Served::Fresh(_)));
    assert_eq!(calls.load(Ordering::SeqCst), 3);
}

#[tokio::test]
async fn without_serve_stale_an_expired_answer_is_not_served() {
    let cache = cache(Duration::ZERO);
    let calls = Arc::new(AtomicUsize::new(0));
    let key = name("www.example.");
    cache
        .get(&key, RecordType::A, resolver(&calls, Some(positive(1))))
        .await
        .unwrap();
    tokio::time::sleep(Duration::from_millis(1100)).await;
    let served = cache.get(&key, RecordType::A, resolver(&calls, None)).await;
    assert!(served.is_err(), "{served:?}");
}

#[tokio::test]
async fn failures_are_not_cached() {
    let cache = cache(Duration::from_secs(60));
    let calls = Arc::new(AtomicUsize::new(0));
    let key = name("down.example.");
    assert!(
        cache
            .get(&key, RecordType::A, resolver(&calls, None))
            .await
            .is_err()
    );
    assert!(
        cache
            .get(&key, RecordType::A, resolver(&calls, None))
            .await
            .is_err()
    );
    assert_eq!(calls.load(Ordering::SeqCst), 2);
    assert_eq!(cache.entry_count(), 0);
}

#[test]
fn popular_answers_are_prefetched_in_the_last_tenth_of_their_ttl_once() {
    let cache = AnswerCache::new(1 << 20, Duration::ZERO, true, Metrics::unregistered());
    let mut entry = Entry::new(positive(100));
    // Asked often, but early in its life: no prefetch.
    assert!(!cache.wants_prefetch(&entry, 50));
    entry.stored = Instant::now() - Duration::from_secs(95);
    // Late in its life but rarely asked: no prefetch.
    assert!(!cache.wants_prefetch(&entry, 1));
    // Late and popular: one prefetch, not two.
    assert!(cache.wants_prefetch(&entry, PREFETCH_MIN_HITS));
    assert!(!cache.wants_prefetch(&entry, PREFETCH_MIN_HITS + 1));
}
