//! The sequence under tokio's paused clock: time only moves when every task waits, so the
//! assertions on when each step happened are exact and nothing sleeps for real.

use std::sync::Arc;

use parking_lot::Mutex;
use tokio::time::Instant;

use super::*;
use crate::readiness::Check;

const DRAIN: Duration = Duration::from_secs(5);
const GRACE: Duration = Duration::from_secs(10);

type Log = Arc<Mutex<Vec<(&'static str, Duration, bool)>>>;

/// A server that records (event, time since `t0`, ready at that moment) when it is told to
/// stop accepting, then takes `in_flight` to finish.
fn server(
    lifecycle: &Lifecycle,
    t0: Instant,
    in_flight: Duration,
    log: &Log,
) -> impl Future<Output = &'static str> + use<> {
    let stop = lifecycle.stop_accepting();
    let readiness = lifecycle.readiness().clone();
    let log = Arc::clone(log);
    async move {
        stop.cancelled().await;
        log.lock()
            .push(("stop_accepting", t0.elapsed(), readiness.status().ready));
        tokio::time::sleep(in_flight).await;
        log.lock().push(("in_flight_done", t0.elapsed(), false));
        "served"
    }
}

#[tokio::test(start_paused = true)]
async fn readiness_falls_at_once_then_drain_then_stop_accepting_then_exit() {
    let lifecycle = Lifecycle::new(DRAIN, GRACE);
    lifecycle
        .readiness()
        .report(vec![Check::new("peers", true, "1 of 1")]);
    assert!(lifecycle.readiness().status().ready);
    let t0 = Instant::now();
    let log = Log::default();
    let run = tokio::spawn({
        let lifecycle = lifecycle.clone();
        let server = server(&lifecycle, t0, Duration::from_secs(2), &log);
        async move { lifecycle.serve(server).await }
    });
    // Serving, not shutting down: an hour passes and nothing changes.
    tokio::time::sleep(Duration::from_secs(3600)).await;
    assert!(log.lock().is_empty());
    assert!(!lifecycle.draining().is_cancelled());

    let began = t0.elapsed();
    lifecycle.begin_shutdown();
    let status = lifecycle.readiness().status();
    assert!(!status.ready && status.draining, "not ready at once");
    assert!(lifecycle.draining().is_cancelled());
    assert!(
        !lifecycle.stop_accepting().is_cancelled(),
        "listeners still serve during the drain window"
    );

    assert_eq!(run.await.unwrap(), Ending::Served("served"));
    let log = log.lock().clone();
    assert_eq!(
        log,
        [
            ("stop_accepting", began + DRAIN, false),
            (
                "in_flight_done",
                began + DRAIN + Duration::from_secs(2),
                false
            ),
        ],
        "readiness was already false when the listeners closed, exactly one drain later"
    );
    assert!(lifecycle.stopped().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn in_flight_work_past_the_grace_period_is_abandoned() {
    let lifecycle = Lifecycle::new(DRAIN, GRACE);
    let t0 = Instant::now();
    let log = Log::default();
    let server = server(&lifecycle, t0, Duration::from_secs(3600), &log);
    lifecycle.begin_shutdown();
    assert_eq!(lifecycle.serve(server).await, Ending::GraceExpired);
    assert_eq!(t0.elapsed(), DRAIN + GRACE);
    assert_eq!(log.lock().len(), 1, "stopped accepting, never finished");
    assert!(lifecycle.stopped().is_cancelled());
}

#[tokio::test(start_paused = true)]
async fn a_server_that_ends_on_its_own_stops_everything_and_force_skips_the_waits() {
    let lifecycle = Lifecycle::new(DRAIN, GRACE);
    assert_eq!(lifecycle.serve(async { 7 }).await, Ending::Served(7));
    assert!(lifecycle.readiness().is_draining());
    assert!(lifecycle.stop_accepting().is_cancelled() && lifecycle.stopped().is_cancelled());

    let lifecycle = Lifecycle::new(DRAIN, GRACE);
    let t0 = Instant::now();
    let forced = lifecycle.clone();
    let never = std::future::pending::<()>();
    let (ending, ()) = tokio::join!(lifecycle.serve(never), async move {
        forced.begin_shutdown();
        tokio::time::sleep(Duration::from_secs(1)).await;
        forced.force();
    });
    assert_eq!(ending, Ending::Forced);
    assert_eq!(t0.elapsed(), Duration::from_secs(1));
}
