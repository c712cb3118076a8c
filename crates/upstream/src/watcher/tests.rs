use std::io;
use std::net::{IpAddr, Ipv4Addr};

use tokio::net::TcpListener;
use tokio::time::timeout;

use super::*;

/// Upper bound on any wait in these tests; they poll channels, never sleep.
const DEADLINE: Duration = Duration::from_secs(20);

fn addr(last: u8, port: u16) -> SocketAddr {
    SocketAddr::from((Ipv4Addr::new(10, 0, 0, last), port))
}

fn set(addrs: &[SocketAddr]) -> ReplicaSet {
    addrs.iter().copied().collect()
}

fn target() -> DnsTarget {
    DnsTarget::parse("cache.hnsfleet.svc:7000").unwrap()
}

fn fast() -> WatchOptions {
    WatchOptions {
        interval: Duration::from_millis(50),
        timeout: Duration::from_millis(50),
    }
}

#[test]
fn parses_host_port_targets() {
    let t = DnsTarget::parse("cache-headless.hnsfleet.svc.cluster.local:7000").unwrap();
    assert_eq!(
        (t.host(), t.port()),
        ("cache-headless.hnsfleet.svc.cluster.local", 7000)
    );
    let t: DnsTarget = "[::1]:53".parse().unwrap();
    assert_eq!((t.host(), t.port()), ("::1", 53));
    assert_eq!(t.to_string(), "[::1]:53");
    assert_eq!(
        DnsTarget::parse("localhost:53").unwrap().to_string(),
        "localhost:53"
    );
    for bad in [
        "localhost",
        ":53",
        "localhost:",
        "localhost:0",
        "localhost:65536",
        "::1:53",
        "[::1:53",
        "[]:53",
    ] {
        assert!(
            matches!(
                DnsTarget::parse(bad),
                Err(UpstreamError::InvalidTarget { .. })
            ),
            "{bad:?} parsed"
        );
    }
}

#[test]
fn rejects_unusable_options() {
    let zero = Duration::ZERO;
    let second = Duration::from_secs(1);
    for (interval, timeout) in [(zero, second), (second, zero), (second, second * 2)] {
        let options = WatchOptions { interval, timeout };
        assert!(matches!(
            ReplicaWatcher::new(ReplicaSource::Static(ReplicaSet::default()), options),
            Err(UpstreamError::InvalidOptions(_))
        ));
    }
    assert!(WatchOptions::default().validate().is_ok());
}

#[test]
fn a_new_resolution_replaces_the_set() {
    let current = set(&[addr(1, 7000)]);
    let update = next_set(&current, &target(), Ok(vec![addr(2, 7000), addr(1, 7000)]));
    match update {
        Update::Replace {
            set: new,
            truncated,
        } => {
            assert_eq!(new, set(&[addr(1, 7000), addr(2, 7000)]));
            assert_eq!(truncated, 0);
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn the_same_set_in_another_order_is_unchanged() {
    let current = set(&[addr(1, 7000), addr(2, 7000)]);
    let outcome = Ok(vec![addr(2, 7000), addr(1, 7000), addr(2, 7000)]);
    assert!(matches!(
        next_set(&current, &target(), outcome),
        Update::Unchanged
    ));
}

#[test]
fn a_failed_resolution_keeps_the_last_good_set() {
    let current = set(&[addr(1, 7000)]);
    let failed = Err(UpstreamError::Resolve {
        target: target().to_string(),
        source: io::Error::other("SERVFAIL"),
    });
    assert!(matches!(
        next_set(&current, &target(), failed),
        Update::Keep(UpstreamError::Resolve { .. })
    ));
    let timed_out = Err(UpstreamError::Timeout {
        target: target().to_string(),
        timeout: Duration::from_secs(2),
    });
    assert!(matches!(
        next_set(&current, &target(), timed_out),
        Update::Keep(UpstreamError::Timeout { .. })
    ));
}

#[test]
fn an_empty_resolution_keeps_the_last_good_set() {
    let current = set(&[addr(1, 7000)]);
    assert!(matches!(
        next_set(&current, &target(), Ok(Vec::new())),
        Update::Keep(UpstreamError::Empty { .. })
    ));
}

#[test]
fn an_oversized_answer_keeps_the_lowest_addresses() {
    let many: Vec<SocketAddr> = (0..=u8::MAX)
        .flat_map(|last| [addr(last, 7001), addr(last, 7000)])
        .rev()
        .collect();
    match next_set(&ReplicaSet::default(), &target(), Ok(many.clone())) {
        Update::Replace {
            set: kept,
            truncated,
        } => {
            assert_eq!(kept.len(), MAX_REPLICAS);
            assert_eq!(truncated, many.len() - MAX_REPLICAS);
            let mut sorted = many;
            sorted.sort_unstable();
            assert_eq!(kept, set(&sorted[..MAX_REPLICAS]));
        }
        other => panic!("{other:?}"),
    }
}

#[tokio::test]
async fn a_static_source_is_published_at_once_and_runs_until_shutdown() {
    let replicas = set(&[addr(2, 7000), addr(1, 7000)]);
    let watcher = ReplicaWatcher::new(ReplicaSource::Static(replicas.clone()), fast()).unwrap();
    let rx = watcher.subscribe();
    assert_eq!(rx.borrow().replicas(), &replicas);

    let shutdown = CancellationToken::new();
    let task = tokio::spawn(watcher.run(shutdown.clone()));
    shutdown.cancel();
    timeout(DEADLINE, task).await.unwrap().unwrap();
    // The last set stays readable after the watcher is gone.
    assert_eq!(rx.borrow().replicas(), &replicas);
}

/// Resolves `localhost:PORT` (loopback only; no other name is ever resolved by the tests).
#[tokio::test]
async fn a_dns_source_resolves_localhost_and_stops_on_shutdown() {
    // A real listener, so the port is one a replica could actually be on.
    let listener = TcpListener::bind((Ipv4Addr::LOCALHOST, 0)).await.unwrap();
    let port = listener.local_addr().unwrap().port();
    let target = DnsTarget::parse(&format!("localhost:{port}")).unwrap();
    let options = WatchOptions {
        // Long: the first resolution is immediate, and only it is waited for.
        interval: Duration::from_secs(5),
        timeout: Duration::from_secs(5),
    };
    let watcher = ReplicaWatcher::new(ReplicaSource::Dns(target), options).unwrap();
    let mut rx = watcher.subscribe();
    assert!(rx.borrow().replicas().is_empty());

    let shutdown = CancellationToken::new();
    let task = tokio::spawn(watcher.run(shutdown.clone()));
    timeout(DEADLINE, rx.changed()).await.unwrap().unwrap();
    let current = rx.borrow_and_update().clone();
    assert!(!current.replicas().is_empty());
    for replica in current.replicas() {
        assert!(replica.addr().ip().is_loopback(), "{replica}");
        assert_eq!(replica.addr().port(), port);
    }
    assert!(
        current
            .replicas()
            .iter()
            .any(|r| r.addr().ip() == IpAddr::from(Ipv4Addr::LOCALHOST))
    );
    assert!(current.pick(b"example").is_some());

    shutdown.cancel();
    timeout(DEADLINE, task).await.unwrap().unwrap();
    // The last good set outlives the watcher.
    assert_eq!(rx.borrow().replicas(), current.replicas());
}
