//! Leader election against the scripted apiserver, on paused tokio time.

use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

use super::mock::{
    ApiServer, LEASE, LEASES, LeaseStore, TestClock, client, clock, conflict, internal_error,
    lease, metrics, not_found, parse_time, settings,
};
use crate::{KubeMetrics, LeaderElector, Operation};

/// A running elector.
struct Replica {
    leader: watch::Receiver<bool>,
    shutdown: CancellationToken,
    task: JoinHandle<()>,
    metrics: KubeMetrics,
}

fn start(identity: &str, clock: &Arc<TestClock>) -> (Replica, ApiServer) {
    let (client, api) = client();
    let metrics = metrics();
    let elector =
        LeaderElector::new(client, settings(identity), metrics.clone()).with_clock(clock.clone());
    let leader = elector.subscribe();
    let shutdown = CancellationToken::new();
    let task = tokio::spawn(elector.run(shutdown.clone()));
    let replica = Replica {
        leader,
        shutdown,
        task,
        metrics,
    };
    (replica, api)
}

/// Waits until the replica's leadership is `leading`.
async fn wait_leading(replica: &mut Replica, leading: bool) {
    tokio::time::timeout(
        Duration::from_secs(60),
        replica.leader.wait_for(|l| *l == leading),
    )
    .await
    .expect("leadership changes within a minute")
    .unwrap();
}

/// Answers the first attempt's read with 404 and its create with the Lease created.
async fn acquire_absent(api: &mut ApiServer, clock: &TestClock) {
    api.expect("GET", LEASE)
        .await
        .reply(404, &not_found("leases.coordination.k8s.io"));
    api.expect("POST", LEASES)
        .await
        .reply(201, &lease(Some("pod-a"), clock.at(0), 1, 0));
}

#[tokio::test(start_paused = true)]
async fn acquires_an_absent_lease_by_creating_it_then_renews_it() {
    let clock = clock();
    let (mut a, mut api) = start("pod-a", &clock);
    api.expect("GET", LEASE)
        .await
        .reply(404, &not_found("leases.coordination.k8s.io"));
    let create = api.expect("POST", LEASES).await;
    assert_eq!(create.body["apiVersion"], "coordination.k8s.io/v1");
    assert_eq!(create.body["kind"], "Lease");
    assert_eq!(create.body["metadata"]["name"], "hnsfleet-watchdog");
    assert_eq!(create.resource_version(), None);
    assert_eq!(create.body["spec"]["holderIdentity"], "pod-a");
    assert_eq!(create.body["spec"]["leaseDurationSeconds"], 15);
    assert_eq!(parse_time(&create.body["spec"]["renewTime"]), clock.at(0));
    assert_eq!(parse_time(&create.body["spec"]["acquireTime"]), clock.at(0));
    assert!(!*a.leader.borrow(), "leads only once the create succeeded");
    create.reply(201, &lease(Some("pod-a"), clock.at(0), 1, 0));
    wait_leading(&mut a, true).await;
    assert_eq!(a.metrics.leader(), 1);

    // Renewals every 5 s replace the Lease it wrote, with its resourceVersion, unread.
    for (second, version) in [(5, "1"), (10, "2"), (15, "3")] {
        let renew = api.expect("PUT", LEASE).await;
        assert_eq!(clock.elapsed(), Duration::from_secs(second));
        assert_eq!(renew.resource_version(), Some(version));
        assert_eq!(renew.body["spec"]["holderIdentity"], "pod-a");
        assert_eq!(
            parse_time(&renew.body["spec"]["renewTime"]),
            clock.at(second as i64)
        );
        assert_eq!(renew.body["spec"]["leaseTransitions"], 0);
        let next: u64 = version.parse::<u64>().unwrap() + 1;
        renew.reply(200, &lease(Some("pod-a"), clock.at(second as i64), next, 0));
    }
    assert!(
        *a.leader.borrow(),
        "renewing keeps it leading past the lease duration"
    );
    assert_eq!(a.metrics.errors(Operation::LeaseUpdate), 0);
}

#[tokio::test(start_paused = true)]
async fn renews_a_lease_it_already_holds() {
    let clock = clock();
    let (mut a, mut api) = start("pod-a", &clock);
    api.expect("GET", LEASE)
        .await
        .reply(200, &lease(Some("pod-a"), clock.at(-4), 3, 1));
    let renew = api.expect("PUT", LEASE).await;
    assert_eq!(renew.resource_version(), Some("3"));
    assert_eq!(renew.body["spec"]["holderIdentity"], "pod-a");
    // Its own Lease: no new transition, the acquisition time kept.
    assert_eq!(renew.body["spec"]["leaseTransitions"], 1);
    assert_eq!(parse_time(&renew.body["spec"]["acquireTime"]), clock.at(-4));
    assert_eq!(parse_time(&renew.body["spec"]["renewTime"]), clock.at(0));
    renew.reply(200, &lease(Some("pod-a"), clock.at(0), 4, 1));
    wait_leading(&mut a, true).await;
}

#[tokio::test(start_paused = true)]
async fn leaves_a_live_holder_alone_and_takes_over_only_once_expired() {
    let clock = clock();
    let (mut a, mut api) = start("pod-a", &clock);
    // pod-b renewed 10 s ago: its Lease runs until t = 5 s.
    let held = lease(Some("pod-b"), clock.at(-10), 7, 2);
    api.expect("GET", LEASE).await.reply(200, &held);
    // t = 5 s: renewTime + 15 s == now, not yet expired: read only, no write.
    let read = api.expect("GET", LEASE).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(5));
    read.reply(200, &held);
    assert!(!*a.leader.borrow());
    // t = 10 s: expired: taken over with the resourceVersion read.
    api.expect("GET", LEASE).await.reply(200, &held);
    let take = api.expect("PUT", LEASE).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(10));
    assert!(
        !*a.leader.borrow(),
        "leads only once the takeover is written"
    );
    assert_eq!(take.resource_version(), Some("7"));
    assert_eq!(take.body["spec"]["holderIdentity"], "pod-a");
    assert_eq!(take.body["spec"]["leaseTransitions"], 3);
    assert_eq!(parse_time(&take.body["spec"]["acquireTime"]), clock.at(10));
    assert_eq!(parse_time(&take.body["spec"]["renewTime"]), clock.at(10));
    assert_eq!(take.body["spec"]["leaseDurationSeconds"], 15);
    take.reply(200, &lease(Some("pod-a"), clock.at(10), 8, 3));
    wait_leading(&mut a, true).await;
}

#[tokio::test(start_paused = true)]
async fn a_conflicting_renewal_stops_leading_at_once() {
    let clock = clock();
    let (mut a, mut api) = start("pod-a", &clock);
    acquire_absent(&mut api, &clock).await;
    wait_leading(&mut a, true).await;
    // t = 5 s: someone wrote the Lease meanwhile.
    api.expect("PUT", LEASE).await.reply(409, &conflict());
    wait_leading(&mut a, false).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(5));
    assert_eq!(a.metrics.errors(Operation::LeaseUpdate), 1);
    assert_eq!(a.metrics.leader(), 0);
    // t = 10 s: it reads again (no blind write) and finds pod-b live.
    let read = api.expect("GET", LEASE).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(10));
    read.reply(200, &lease(Some("pod-b"), clock.at(6), 9, 1));
    let read = api.expect("GET", LEASE).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(15));
    assert!(!*a.leader.borrow());
    drop(read);
}

#[tokio::test(start_paused = true)]
async fn failing_renewals_step_down_before_the_lease_could_be_taken() {
    let clock = clock();
    let (mut a, mut api) = start("pod-a", &clock);
    acquire_absent(&mut api, &clock).await;
    wait_leading(&mut a, true).await;
    // t = 5 s: 500; t = 10 s: the read hangs (the apiserver is gone).
    api.expect("PUT", LEASE).await.reply(500, &internal_error());
    let hung = api.expect("GET", LEASE).await.hang();
    assert_eq!(clock.elapsed(), Duration::from_secs(10));
    assert!(*a.leader.borrow(), "still within the lease");
    wait_leading(&mut a, false).await;
    // It stops at lease duration - margin after its last renewal (t = 0), while the request
    // still hangs: 4 s before anyone else may take the Lease (renewTime + 15 s).
    assert_eq!(clock.elapsed(), Duration::from_secs(11));
    assert_eq!(a.metrics.leader(), 0);
    // The hung read is abandoned with the step-down; at t = 15 s pod-b holds it: no write.
    let read = api.expect("GET", LEASE).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(15));
    read.reply(200, &lease(Some("pod-b"), clock.at(15), 2, 1));
    drop(hung);
    assert_eq!(a.metrics.errors(Operation::LeaseUpdate), 1);
    let read = api.expect("GET", LEASE).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(20));
    assert!(!*a.leader.borrow());
    drop(read);
}

#[tokio::test(start_paused = true)]
async fn timeouts_alone_also_step_down_in_time() {
    let clock = clock();
    let (mut a, mut api) = start("pod-a", &clock);
    acquire_absent(&mut api, &clock).await;
    wait_leading(&mut a, true).await;
    let _renew = api.expect("PUT", LEASE).await.hang();
    let _read = api.expect("GET", LEASE).await.hang();
    wait_leading(&mut a, false).await;
    assert_eq!(clock.elapsed(), Duration::from_secs(11));
    assert_eq!(a.metrics.errors(Operation::LeaseUpdate), 1);
}

/// Two replicas read the same expired Lease and both try to take it; the store refuses the
/// second write (stale resourceVersion). `first` is the replica whose write lands first.
async fn race(first_is_a: bool) {
    let clock = clock();
    let mut store = LeaseStore::holding(lease(Some("pod-c"), clock.at(-60), 4, 0));
    let (mut a, mut api_a) = start("pod-a", &clock);
    let (mut b, mut api_b) = start("pod-b", &clock);
    // Never both leading, at any change.
    let (mut watch_a, mut watch_b) = (a.leader.clone(), b.leader.clone());
    let monitor = tokio::spawn(async move {
        loop {
            tokio::select! {
                changed = watch_a.changed() => if changed.is_err() { break },
                changed = watch_b.changed() => if changed.is_err() { break },
            }
            assert!(
                !(*watch_a.borrow() && *watch_b.borrow()),
                "two replicas lead at once"
            );
        }
    });
    let read_a = api_a.expect("GET", LEASE).await;
    let read_b = api_b.expect("GET", LEASE).await;
    store.serve(read_a);
    store.serve(read_b);
    let take_a = api_a.expect("PUT", LEASE).await;
    let take_b = api_b.expect("PUT", LEASE).await;
    assert_eq!(take_a.resource_version(), Some("4"));
    assert_eq!(take_b.resource_version(), Some("4"));
    let (winner, loser) = if first_is_a {
        (&mut a, &mut b)
    } else {
        (&mut b, &mut a)
    };
    if first_is_a {
        store.serve(take_a);
        store.serve(take_b);
    } else {
        store.serve(take_b);
        store.serve(take_a);
    }
    wait_leading(winner, true).await;
    assert!(!*loser.leader.borrow());
    assert_eq!(loser.metrics.errors(Operation::LeaseUpdate), 1);
    let winner_name = if first_is_a { "pod-a" } else { "pod-b" };
    // A minute more of renewals and attempts against the same store.
    let end = tokio::time::Instant::now() + Duration::from_secs(60);
    loop {
        tokio::select! {
            call = api_a.next() => store.serve(call),
            call = api_b.next() => store.serve(call),
            () = tokio::time::sleep_until(end) => break,
        }
    }
    assert!(*winner.leader.borrow());
    assert!(!*loser.leader.borrow());
    assert!(
        store.holders.len() >= 12,
        "the winner renewed: {:?}",
        store.holders
    );
    assert!(
        store
            .holders
            .iter()
            .all(|h| h.as_deref() == Some(winner_name)),
        "only the winner ever wrote: {:?}",
        store.holders
    );
    a.shutdown.cancel();
    b.shutdown.cancel();
    // The winner releases; the loser writes nothing.
    let release = if first_is_a {
        api_a.expect("PUT", LEASE).await
    } else {
        api_b.expect("PUT", LEASE).await
    };
    assert!(release.body["spec"]["holderIdentity"].is_null());
    store.serve(release);
    a.task.await.unwrap();
    b.task.await.unwrap();
    monitor.await.unwrap();
}

#[tokio::test(start_paused = true)]
async fn two_replicas_racing_for_an_expired_lease_one_wins_a() {
    race(true).await;
}

#[tokio::test(start_paused = true)]
async fn two_replicas_racing_for_an_expired_lease_one_wins_b() {
    race(false).await;
}

#[tokio::test(start_paused = true)]
async fn shutdown_stops_leading_and_releases_the_lease() {
    let clock = clock();
    let (mut a, mut api) = start("pod-a", &clock);
    acquire_absent(&mut api, &clock).await;
    wait_leading(&mut a, true).await;
    a.shutdown.cancel();
    let release = api.expect("PUT", LEASE).await;
    assert!(!*a.leader.borrow(), "stops leading before releasing");
    assert_eq!(release.resource_version(), Some("1"));
    assert!(release.body["spec"]["holderIdentity"].is_null());
    release.reply(200, &lease(None, clock.at(0), 2, 0));
    tokio::time::timeout(Duration::from_secs(10), a.task)
        .await
        .expect("run ends on shutdown")
        .unwrap();
}

#[tokio::test(start_paused = true)]
async fn a_follower_releases_nothing_on_shutdown() {
    let clock = clock();
    let (a, mut api) = start("pod-a", &clock);
    api.expect("GET", LEASE)
        .await
        .reply(200, &lease(Some("pod-b"), clock.at(0), 3, 0));
    a.shutdown.cancel();
    tokio::time::timeout(Duration::from_secs(10), a.task)
        .await
        .expect("run ends on shutdown")
        .unwrap();
    api.assert_quiet(Duration::from_secs(30)).await;
}
