//! The client against real in-process proof-cache replicas (tonic servers on 127.0.0.1:0)
//! serving real hsd regtest proofs (see `support`): sharding, failover on a stopped, silent,
//! overloaded or lying replica, no failover on a bad request, set changes, and the errors
//! when nothing answers. Every wait is bounded by the client's own deadlines or a
//! `tokio::time` timeout; nothing sleeps.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod support;

use std::collections::{BTreeMap, HashMap};
use std::sync::Arc;
use std::time::Duration;

use hnsfleet_cache_client::{
    CacheClient, CacheClientError, CacheClientMetrics, ClientOptions, ErrorReason, ReplicaError,
};
use hnsfleet_hns::name::Name;
use hnsfleet_upstream::{Rendezvous, Replica, ReplicaSet};
use prometheus::Registry;
use support::{AGE, Behaviour, FakeReplica, Vectors};
use tokio::sync::watch;
use tokio::time::Instant;
use tonic::Code;

/// Short enough that a silent replica costs a test little, long enough for a loaded machine.
fn options() -> ClientOptions {
    ClientOptions {
        attempt_timeout: Duration::from_secs(2),
        deadline: Duration::from_secs(6),
        max_attempts: 3,
        connect_timeout: Duration::from_secs(1),
    }
}

fn rendezvous(replicas: &[&FakeReplica]) -> Arc<Rendezvous> {
    Arc::new(Rendezvous::new(ReplicaSet::new(
        replicas.iter().map(|r| r.replica),
    )))
}

/// A client over `replicas`, its metrics in `registry`, and the sender of its replica set.
fn client(
    replicas: &[&FakeReplica],
    options: ClientOptions,
    registry: &Registry,
) -> (watch::Sender<Arc<Rendezvous>>, CacheClient) {
    let (tx, rx) = watch::channel(rendezvous(replicas));
    let metrics = CacheClientMetrics::register(registry).unwrap();
    let client = CacheClient::new(rx, options).unwrap().with_metrics(metrics);
    (tx, client)
}

/// `name`'s replicas in preference order.
fn ranked(set: &Rendezvous, name: &Name) -> Vec<Replica> {
    set.ranked(name.hash().as_bytes()).copied().collect()
}

/// The value of `family` (with `label`, if given) in `registry`.
fn metric(registry: &Registry, family: &str, label: Option<&str>) -> f64 {
    let families = registry.gather();
    let family = families.iter().find(|f| f.name() == family).unwrap();
    let sample = family
        .get_metric()
        .iter()
        .find(|m| label.is_none_or(|l| m.get_label()[0].value() == l))
        .unwrap();
    match family.get_field_type() {
        prometheus::proto::MetricType::GAUGE => sample.get_gauge().get_value(),
        _ => sample.get_counter().get_value(),
    }
}

/// The test names: the registered ones and `absent` names proven absent.
fn names(vectors: &Vectors, absent: usize) -> Vec<Name> {
    let mut names = vectors.registered_names();
    names.extend(vectors.absent_names(absent));
    names
}

#[tokio::test]
async fn each_name_goes_to_its_owner_on_every_frontend_and_names_spread_over_replicas() {
    let vectors = Vectors::load();
    let servers = [
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
    ];
    let [a, b, c] = &servers;
    let registry = Registry::new();
    // Two frontends, their replica lists given in different orders.
    let (_tx1, frontend1) = client(&[a, b, c], options(), &registry);
    let (_tx2, frontend2) = client(&[c, a, b], options(), &Registry::new());
    let set = frontend1.replicas();
    let names = names(&vectors, 60);

    let mut owned: HashMap<Replica, usize> = HashMap::new();
    for round in 0..2 {
        for name in &names {
            let owner = ranked(&set, name)[0];
            for frontend in [&frontend1, &frontend2] {
                let found = frontend.lookup(name).await.unwrap();
                assert_eq!(found.replica, owner, "{name} in round {round}");
                assert_eq!(found.lookup.name(), name);
                assert!(found.from_cache && !found.stale);
                assert_eq!(found.age, AGE);
                if vectors.registered_names().contains(name) {
                    assert!(found.lookup.exists());
                    assert_eq!(found.lookup.resource_data(), vectors.resource(name));
                } else {
                    assert!(!found.lookup.exists());
                    assert!(found.lookup.absence().is_some());
                }
            }
            if round == 0 {
                *owned.entry(owner).or_default() += 1;
            }
        }
    }
    for server in &servers {
        let share = owned.get(&server.replica).copied().unwrap_or(0);
        assert!(
            share > 0,
            "{} owns none of {} names",
            server.replica,
            names.len()
        );
        // Every look-up of its names reached it, and nothing else did: 2 rounds × 2 frontends.
        assert_eq!(server.requests(), 4 * share, "{}", server.replica);
    }
    let total = names.len() as f64 * 2.0;
    assert_eq!(
        metric(
            &registry,
            "hnsfleet_cache_client_requests_total",
            Some("ok")
        ),
        total
    );
    assert_eq!(
        metric(&registry, "hnsfleet_cache_client_failovers_total", None),
        0.0
    );
    assert_eq!(
        metric(&registry, "hnsfleet_cache_client_replicas", None),
        3.0
    );
}

#[tokio::test]
async fn a_stopped_replicas_names_are_answered_by_the_next_ranked_replica() {
    let vectors = Vectors::load();
    let mut servers = [
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
    ];
    let registry = Registry::new();
    let (_tx, frontend) = client(
        &[&servers[0], &servers[1], &servers[2]],
        options(),
        &registry,
    );
    let set = frontend.replicas();
    let names = names(&vectors, 45);
    // Every replica connected and serving before one goes away.
    for name in &names {
        frontend.lookup(name).await.unwrap();
    }

    let stopped = ranked(&set, &names[0])[0];
    let index = servers.iter().position(|s| s.replica == stopped).unwrap();
    servers[index].stop().await;
    let served_before = servers[index].requests();

    let mut moved = 0;
    for name in &names {
        let order = ranked(&set, name);
        let found = frontend
            .lookup(name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}"));
        if order[0] == stopped {
            assert_eq!(
                found.replica, order[1],
                "{name} goes to its next-ranked replica"
            );
            moved += 1;
        } else {
            assert_eq!(found.replica, order[0], "{name} keeps its owner");
        }
    }
    assert!(moved > 0);
    assert_eq!(servers[index].requests(), served_before);
    assert_eq!(
        metric(&registry, "hnsfleet_cache_client_failovers_total", None),
        moved as f64
    );
    assert_eq!(
        metric(
            &registry,
            "hnsfleet_cache_client_attempt_errors_total",
            Some("unavailable")
        ),
        moved as f64
    );
    assert_eq!(
        metric(
            &registry,
            "hnsfleet_cache_client_requests_total",
            Some("unavailable")
        ),
        0.0
    );
}

#[tokio::test]
async fn a_tampered_proof_is_refused_and_the_next_replicas_answer_is_used() {
    let vectors = Vectors::load();
    let liar = FakeReplica::spawn(&vectors, Behaviour::TamperProof).await;
    let honest1 = FakeReplica::spawn(&vectors, Behaviour::Honest).await;
    let honest2 = FakeReplica::spawn(&vectors, Behaviour::Honest).await;
    let registry = Registry::new();
    let (_tx, frontend) = client(&[&liar, &honest1, &honest2], options(), &registry);
    let set = frontend.replicas();

    let mut lied_to = 0;
    for name in &names(&vectors, 45) {
        let order = ranked(&set, name);
        let found = frontend.lookup(name).await.unwrap();
        if order[0] == liar.replica {
            assert_eq!(
                found.replica, order[1],
                "{name}: the liar's answer is not used"
            );
            lied_to += 1;
        } else {
            assert_eq!(found.replica, order[0]);
        }
        // What is returned is the honest look-up, whoever answered.
        let honest = vectors.lookup(name);
        assert_eq!(found.lookup.proof(), &honest.proof[..]);
        assert_eq!(
            found.lookup.tree_root().as_bytes().as_slice(),
            honest.tree_root
        );
    }
    assert!(lied_to > 0);
    assert_eq!(liar.requests(), lied_to);
    assert_eq!(
        metric(
            &registry,
            "hnsfleet_cache_client_attempt_errors_total",
            Some("unverifiable")
        ),
        lied_to as f64
    );

    // With only the liar, its answer is never returned: the error says why.
    let (_tx, alone) = client(&[&liar], options(), &Registry::new());
    let name = &vectors.registered_names()[0];
    let error = alone.lookup(name).await.unwrap_err();
    match &error {
        CacheClientError::Unavailable { attempts: 1, last } => {
            assert_eq!(last.replica, liar.replica);
            assert!(
                matches!(last.error, ReplicaError::Unverifiable(_)),
                "{error}"
            );
        }
        other => panic!("expected an unverifiable answer, got {other}"),
    }
    assert!(
        error.to_string().contains(&liar.replica.to_string()),
        "{error}"
    );
}

#[tokio::test]
async fn invalid_argument_is_returned_at_once_without_failover() {
    let vectors = Vectors::load();
    let bad = Behaviour::Fail(Code::InvalidArgument, ErrorReason::InvalidName);
    let servers = [
        FakeReplica::spawn(&vectors, bad).await,
        FakeReplica::spawn(&vectors, bad).await,
        FakeReplica::spawn(&vectors, bad).await,
    ];
    let registry = Registry::new();
    let (_tx, frontend) = client(
        &[&servers[0], &servers[1], &servers[2]],
        options(),
        &registry,
    );
    let name = &vectors.registered_names()[0];
    let owner = ranked(&frontend.replicas(), name)[0];

    let error = frontend.lookup(name).await.unwrap_err();
    match &error {
        CacheClientError::Rejected(failure) => {
            assert_eq!(failure.replica, owner);
            assert_eq!(failure.error.code(), Some(Code::InvalidArgument));
        }
        other => panic!("expected a rejection, got {other}"),
    }
    assert_eq!(error.reason(), Some(ErrorReason::InvalidName));
    for server in &servers {
        let expected = usize::from(server.replica == owner);
        assert_eq!(server.requests(), expected, "{}", server.replica);
    }
    assert_eq!(
        metric(&registry, "hnsfleet_cache_client_failovers_total", None),
        0.0
    );
    assert_eq!(
        metric(
            &registry,
            "hnsfleet_cache_client_requests_total",
            Some("rejected")
        ),
        1.0
    );
}

#[tokio::test]
async fn removing_a_replica_moves_only_its_names_and_keeps_the_other_connections() {
    let vectors = Vectors::load();
    let servers = [
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
    ];
    let [a, b, c] = &servers;
    let registry = Registry::new();
    let (tx, frontend) = client(&[a, b, c], options(), &registry);
    let all = frontend.replicas();
    let names = names(&vectors, 60);
    let owners = |frontend: &CacheClient| {
        let frontend = frontend.clone();
        let names = names.clone();
        async move {
            let mut owners = BTreeMap::new();
            for name in &names {
                let found = frontend.lookup(name).await.unwrap();
                owners.insert(name.as_str().to_owned(), found.replica);
            }
            owners
        }
    };

    let before = owners(&frontend).await;
    let c_requests = c.requests();
    assert!(before.values().any(|r| *r == c.replica));
    assert_eq!(
        metric(&registry, "hnsfleet_cache_client_replicas", None),
        3.0
    );

    // C leaves: only its names move, each to its next-ranked replica; C is not asked again.
    tx.send_replace(rendezvous(&[a, b]));
    let after = owners(&frontend).await;
    for name in &names {
        let (old, new) = (before[name.as_str()], after[name.as_str()]);
        if old == c.replica {
            assert_eq!(
                new,
                ranked(&all, name)[1],
                "{name} moves to its next replica"
            );
        } else {
            assert_eq!(new, old, "{name} keeps its replica");
        }
    }
    assert_eq!(c.requests(), c_requests);
    assert_eq!(
        metric(&registry, "hnsfleet_cache_client_replicas", None),
        2.0
    );
    assert_eq!(
        metric(&registry, "hnsfleet_cache_client_failovers_total", None),
        0.0
    );

    // C returns: exactly its old names come back to it.
    tx.send_replace(rendezvous(&[a, b, c]));
    assert_eq!(owners(&frontend).await, before);

    // A and B kept their one connection through both changes (no reconnect storm); C's channel
    // was dropped when it left and made anew when it came back.
    assert_eq!(a.connections(), 1);
    assert_eq!(b.connections(), 1);
    assert_eq!(c.connections(), 2);
}

#[tokio::test]
async fn all_replicas_down_is_a_clear_error_naming_the_last_failure() {
    let vectors = Vectors::load();
    let mut servers = [
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
        FakeReplica::spawn(&vectors, Behaviour::Honest).await,
    ];
    let registry = Registry::new();
    let (_tx, frontend) = client(
        &[&servers[0], &servers[1], &servers[2]],
        options(),
        &registry,
    );
    let name = &vectors.registered_names()[0];
    let order = ranked(&frontend.replicas(), name);
    frontend.lookup(name).await.unwrap();
    for server in &mut servers {
        server.stop().await;
    }

    let error = frontend.lookup(name).await.unwrap_err();
    match &error {
        CacheClientError::Unavailable { attempts: 3, last } => {
            assert_eq!(last.replica, order[2], "the last replica tried is named");
            assert_eq!(last.error.code(), Some(Code::Unavailable));
        }
        other => panic!("expected every replica to fail, got {other}"),
    }
    let message = error.to_string();
    assert!(message.starts_with("no proof-cache replica answered (3 tried); last: replica "));
    assert!(message.contains(&order[2].to_string()), "{message}");
    assert!(
        message.to_lowercase().contains("connection refused"),
        "{message}"
    );
    assert_eq!(
        metric(&registry, "hnsfleet_cache_client_failovers_total", None),
        2.0
    );
    assert_eq!(
        metric(
            &registry,
            "hnsfleet_cache_client_requests_total",
            Some("unavailable")
        ),
        1.0
    );

    // At most max_attempts replicas are asked.
    let (_tx, two) = client(
        &[&servers[0], &servers[1], &servers[2]],
        ClientOptions {
            max_attempts: 2,
            ..options()
        },
        &Registry::new(),
    );
    let error = two.lookup(name).await.unwrap_err();
    assert!(
        matches!(&error, CacheClientError::Unavailable { attempts: 2, last } if last.replica == order[1]),
        "{error}"
    );
}

#[tokio::test]
async fn the_caches_reason_reaches_the_caller_when_every_replica_refuses() {
    let vectors = Vectors::load();
    let no_root = Behaviour::Fail(Code::Unavailable, ErrorReason::NoTrustedRoot);
    let expired = Behaviour::Fail(Code::Unavailable, ErrorReason::StaleExpired);
    let overloaded = Behaviour::Fail(Code::ResourceExhausted, ErrorReason::Overloaded);
    let servers = [
        FakeReplica::spawn(&vectors, no_root).await,
        FakeReplica::spawn(&vectors, expired).await,
        FakeReplica::spawn(&vectors, overloaded).await,
    ];
    let registry = Registry::new();
    let (_tx, frontend) = client(
        &[&servers[0], &servers[1], &servers[2]],
        options(),
        &registry,
    );
    let names = names(&vectors, 10);
    for name in &names {
        let last = ranked(&frontend.replicas(), name)[2];
        let server = servers.iter().position(|s| s.replica == last).unwrap();
        let expected = [
            ErrorReason::NoTrustedRoot,
            ErrorReason::StaleExpired,
            ErrorReason::Overloaded,
        ][server];
        let error = frontend.lookup(name).await.unwrap_err();
        assert_eq!(error.replica(), Some(last), "{error}");
        assert_eq!(error.reason(), Some(expected), "{error}");
        assert!(error.to_string().contains(expected.as_reason()), "{error}");
    }
    // Every replica was asked once per name.
    for server in &servers {
        assert_eq!(server.requests(), names.len());
    }
    assert_eq!(
        metric(
            &registry,
            "hnsfleet_cache_client_attempt_errors_total",
            Some("overloaded")
        ),
        names.len() as f64
    );
}

#[tokio::test]
async fn a_silent_replica_is_skipped_after_the_attempt_timeout_and_the_deadline_bounds_all() {
    let vectors = Vectors::load();
    let silent = FakeReplica::spawn(&vectors, Behaviour::Hang).await;
    let honest = FakeReplica::spawn(&vectors, Behaviour::Honest).await;
    let quick = ClientOptions {
        attempt_timeout: Duration::from_millis(300),
        deadline: Duration::from_millis(800),
        max_attempts: 3,
        connect_timeout: Duration::from_millis(300),
    };
    let registry = Registry::new();
    let (_tx, frontend) = client(&[&silent, &honest], quick, &registry);
    let set = frontend.replicas();
    let name = names(&vectors, 45)
        .into_iter()
        .find(|n| ranked(&set, n)[0] == silent.replica)
        .unwrap();
    let started = Instant::now();
    let found = frontend.lookup(&name).await.unwrap();
    assert_eq!(found.replica, honest.replica);
    assert!(started.elapsed() >= quick.attempt_timeout);
    assert_eq!(
        metric(
            &registry,
            "hnsfleet_cache_client_attempt_errors_total",
            Some("timeout")
        ),
        1.0
    );

    // Three silent replicas: the deadline, not 3 × the attempt timeout, ends the look-up, and
    // the last attempt got only what was left of it.
    let silent2 = FakeReplica::spawn(&vectors, Behaviour::Hang).await;
    let silent3 = FakeReplica::spawn(&vectors, Behaviour::Hang).await;
    let (_tx, stuck) = client(&[&silent, &silent2, &silent3], quick, &Registry::new());
    let started = Instant::now();
    let error = stuck.lookup(&name).await.unwrap_err();
    let elapsed = started.elapsed();
    assert!(elapsed >= quick.deadline, "{elapsed:?}");
    assert!(
        elapsed < quick.deadline + Duration::from_secs(2),
        "{elapsed:?}"
    );
    match &error {
        CacheClientError::Unavailable { attempts: 3, last } => match last.error {
            ReplicaError::Timeout(budget) => assert!(budget < quick.attempt_timeout),
            ref other => panic!("expected a timeout, got {other}"),
        },
        other => panic!("expected every replica to time out, got {other}"),
    }
}
