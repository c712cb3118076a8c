//! The pure parts: option checks, which failures fail over, how statuses read back, metric
//! names and labels, and the channel pool's rebuild rule. Look-ups against real in-process
//! replicas are in `tests/failover.rs`.

use std::collections::HashMap;
use std::net::{Ipv4Addr, SocketAddr};

use hnsfleet_hns::urkel::ProofError;
use hnsfleet_upstream::ReplicaSet;
use prometheus::Registry;
use tonic::{Code, Status};

use super::*;

fn replica(last: u8) -> Replica {
    Replica::new(SocketAddr::from((Ipv4Addr::new(127, 0, 0, last), 7000)))
}

fn rendezvous(replicas: &[Replica]) -> Arc<Rendezvous> {
    Arc::new(Rendezvous::new(ReplicaSet::new(replicas.iter().copied())))
}

fn status_error(code: Code) -> ReplicaError {
    ReplicaError::from_status(&Status::new(code, "test"))
}

#[test]
fn default_options_are_valid_and_each_bad_option_is_refused() {
    ClientOptions::default().validate().unwrap();
    let ok = ClientOptions::default();
    let cases = [
        (
            ClientOptions {
                attempt_timeout: Duration::ZERO,
                ..ok
            },
            "timeouts must be positive",
        ),
        (
            ClientOptions {
                connect_timeout: Duration::ZERO,
                ..ok
            },
            "connect_timeout must be positive",
        ),
        (
            ClientOptions {
                max_attempts: 0,
                ..ok
            },
            "max_attempts must be at least 1",
        ),
        (
            ClientOptions {
                attempt_timeout: ok.deadline + Duration::from_millis(1),
                ..ok
            },
            "attempt_timeout must not exceed the deadline",
        ),
        (
            ClientOptions {
                connect_timeout: ok.attempt_timeout + Duration::from_millis(1),
                ..ok
            },
            "connect_timeout must not exceed attempt_timeout",
        ),
    ];
    for (options, reason) in cases {
        match options.validate() {
            Err(CacheClientError::InvalidOptions(got)) => assert_eq!(got, reason),
            other => panic!("{options:?}: expected {reason:?}, got {other:?}"),
        }
        let (_tx, rx) = watch::channel(rendezvous(&[replica(1)]));
        assert!(CacheClient::new(rx, options).is_err());
    }
}

#[test]
fn only_invalid_argument_stops_the_failover() {
    assert!(!status_error(Code::InvalidArgument).fails_over());
    for code in [
        Code::Unavailable,
        Code::ResourceExhausted,
        Code::DeadlineExceeded,
        Code::Internal,
        Code::Unknown,
        Code::Unimplemented,
    ] {
        assert!(status_error(code).fails_over(), "{code:?}");
    }
    assert!(ReplicaError::Timeout(Duration::from_secs(1)).fails_over());
    assert!(ReplicaError::MissingLookup.fails_over());
    assert!(ReplicaError::Unverifiable(proof_error()).fails_over());
    assert!(ReplicaError::Address("x".into()).fails_over());
}

fn proof_error() -> hnsfleet_verify::VerifyError {
    hnsfleet_verify::VerifyError::Proof(ProofError::HashMismatch)
}

#[test]
fn a_cache_status_reads_back_with_its_reason_and_names_the_replica() {
    let status = ErrorReason::StaleExpired.status_with(
        Code::Unavailable,
        "quorum lost",
        HashMap::from([("stale_for_ms".to_owned(), "90000".to_owned())]),
    );
    let error = ReplicaError::from_status(&status);
    assert_eq!(error.code(), Some(Code::Unavailable));
    assert_eq!(error.reason(), Some(ErrorReason::StaleExpired));
    assert_eq!(
        error.to_string(),
        "status Unavailable STALE_EXPIRED: quorum lost"
    );
    let failed = CacheClientError::Unavailable {
        attempts: 3,
        last: ReplicaFailure {
            replica: replica(9),
            error,
        },
    };
    assert_eq!(failed.replica(), Some(replica(9)));
    assert_eq!(failed.reason(), Some(ErrorReason::StaleExpired));
    assert_eq!(
        failed.to_string(),
        "no proof-cache replica answered (3 tried); last: replica 127.0.0.9:7000: \
         status Unavailable STALE_EXPIRED: quorum lost"
    );

    // A reason in another API's domain is not the cache's.
    let follower = hnsfleet_proto::follower::v1::ErrorReason::NotSynced
        .status(Code::Unavailable, "not synced");
    assert_eq!(ReplicaError::from_status(&follower).reason(), None);
    assert_eq!(CacheClientError::NoReplicas.reason(), None);
    assert_eq!(CacheClientError::NoReplicas.replica(), None);
}

#[test]
fn metric_names_follow_the_conventions_and_every_series_exists_before_any_event() {
    let registry = Registry::new();
    CacheClientMetrics::register(&registry).unwrap();
    assert_eq!(
        hnsfleet_service_kit::metrics::naming_problems(&registry),
        Vec::<String>::new()
    );
    let families = registry.gather();
    let series = |name: &str| {
        families
            .iter()
            .find(|f| f.name() == name)
            .map_or(0, |f| f.get_metric().len())
    };
    assert_eq!(series(REQUESTS), REQUEST_RESULTS.len());
    assert_eq!(series(ATTEMPT_ERRORS), ATTEMPT_ERROR_REASONS.len());
    assert_eq!(series(FAILOVERS), 1);
    assert_eq!(series(REPLICAS), 1);
}

#[test]
fn every_error_label_is_a_declared_label_value() {
    let failure = |error| ReplicaFailure {
        replica: replica(1),
        error,
    };
    let lookups = [
        CacheClientError::NoReplicas,
        CacheClientError::Rejected(failure(status_error(Code::InvalidArgument))),
        CacheClientError::Unavailable {
            attempts: 1,
            last: failure(ReplicaError::MissingLookup),
        },
    ];
    for error in &lookups {
        assert!(REQUEST_RESULTS.contains(&error.metric_label()), "{error}");
    }
    let attempts = [
        status_error(Code::Unavailable),
        status_error(Code::ResourceExhausted),
        status_error(Code::DeadlineExceeded),
        status_error(Code::InvalidArgument),
        status_error(Code::Internal),
        ReplicaError::Timeout(Duration::from_secs(1)),
        ReplicaError::MissingLookup,
        ReplicaError::Unverifiable(proof_error()),
        ReplicaError::Address("x".into()),
    ];
    let mut seen = Vec::new();
    for error in &attempts {
        let label = error.metric_label();
        assert!(ATTEMPT_ERROR_REASONS.contains(&label), "{error}");
        seen.push(label);
    }
    for label in ATTEMPT_ERROR_REASONS {
        assert!(seen.contains(&label), "{label} is never produced");
    }

    // Recording goes to the child of the label.
    let registry = Registry::new();
    let metrics = CacheClientMetrics::register(&registry).unwrap();
    metrics.record_attempt_error(&status_error(Code::ResourceExhausted));
    metrics.record_request(Some(&CacheClientError::NoReplicas));
    metrics.record_request(None);
    let count = |name: &str, label: &str| -> f64 {
        let families = registry.gather();
        let family = families.iter().find(|f| f.name() == name).unwrap();
        let metric = family
            .get_metric()
            .iter()
            .find(|m| m.get_label()[0].value() == label)
            .unwrap();
        metric.get_counter().get_value()
    };
    assert_eq!(count(ATTEMPT_ERRORS, "overloaded"), 1.0);
    assert_eq!(count(ATTEMPT_ERRORS, "unavailable"), 0.0);
    assert_eq!(count(REQUESTS, "no_replicas"), 1.0);
    assert_eq!(count(REQUESTS, "ok"), 1.0);
    assert_eq!(count(REQUESTS, "unavailable"), 0.0);
}

#[tokio::test]
async fn the_pool_rebuilds_only_when_the_set_changes_and_keeps_staying_replicas() {
    let (a, b, c) = (replica(1), replica(2), replica(3));
    let (tx, rx) = watch::channel(rendezvous(&[a, b, c]));
    let pool = ChannelPool::new(Duration::from_millis(100));

    let (first, changed) = pool.channels_for(&rx);
    assert!(changed);
    assert_eq!(first.len(), 3);
    let (again, changed) = pool.channels_for(&rx);
    assert!(!changed, "the same published set is not a change");
    assert!(Arc::ptr_eq(&first, &again));

    tx.send_replace(rendezvous(&[a, b]));
    let (smaller, changed) = pool.channels_for(&rx);
    assert!(changed);
    assert_eq!(smaller.len(), 2);
    assert!(smaller.contains(&a) && smaller.contains(&b) && !smaller.contains(&c));
    assert!(matches!(smaller.get(&c), Err(ReplicaError::Address(_))));
    assert!(smaller.get(&a).is_ok());
}

/// Frontends share one client across tasks and spawn look-ups.
#[test]
fn the_client_and_its_lookups_can_cross_tasks() {
    fn send_sync<T: Send + Sync>(_: &T) {}
    fn send<T: Send>(_: &T) {}
    let (_tx, rx) = watch::channel(rendezvous(&[replica(1)]));
    let client = CacheClient::new(rx, ClientOptions::default()).unwrap();
    let name = Name::parse("hnsvector").unwrap();
    send_sync(&client);
    send(&client.lookup(&name));
}

#[tokio::test]
async fn an_empty_set_fails_at_once_with_no_replicas() {
    let (_tx, rx) = watch::channel(Arc::new(Rendezvous::default()));
    let metrics = CacheClientMetrics::unregistered().unwrap();
    let client = CacheClient::new(rx, ClientOptions::default())
        .unwrap()
        .with_metrics(metrics);
    let name = Name::parse("hnsvector").unwrap();
    let error = client.lookup(&name).await.unwrap_err();
    assert!(matches!(error, CacheClientError::NoReplicas), "{error}");
    assert_eq!(error.to_string(), "no proof-cache replica is known");
}
