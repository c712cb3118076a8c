//! The run: one worker per connection sending on schedule (open loop) or within a window
//! (closed loop), a monitor that expires timeouts and closes each second, and the drain.
//!
//! Bounds: every worker stops at `duration` (and at its share of `--queries`), and is cut off
//! at `duration + timeout` if a send blocks; the drain waits at most `timeout` for the last
//! answers; every reader and HTTP/2 driver ends on the run's cancellation token.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;

use tokio::time::{Instant, sleep_until, timeout, timeout_at};
use tokio_util::sync::CancellationToken;

use crate::LoadgenError;
use crate::config::{Config, Mode};
use crate::mix::{Generator, MixTables};
use crate::report::{self, ConfigSummary, Percentiles, Report, SecondPoint};
use crate::stats::{ErrorKind, Interval, Shared, new_histogram};
use crate::transport::{Sender, Transport};

/// How long opening one connection may take.
const CONNECT_TIMEOUT: Duration = Duration::from_secs(5);
/// How often timeouts are looked for.
const SWEEP: Duration = Duration::from_millis(20);
/// Reconnections one worker may make after its connection fails.
const MAX_RECONNECTS: u32 = 10;

/// What a worker needs.
struct Worker {
    index: usize,
    workers: usize,
    config: Arc<Config>,
    transport: Arc<Transport>,
    shared: Arc<Shared>,
    cancel: CancellationToken,
    generator: Generator,
    start: Instant,
    end: Instant,
    /// Closed loop with `--queries`: queries claimed so far by all workers.
    claimed: Arc<AtomicU64>,
}

/// The monitor's running totals.
struct Collector {
    start: Instant,
    current: Interval,
    total: Interval,
    series: Vec<SecondPoint>,
    progress: bool,
}

/// Runs the load `config` describes and returns what it measured.
pub async fn run(config: Config) -> Result<Report, LoadgenError> {
    let template = new_histogram()?;
    let transport = Arc::new(Transport::new(&config)?);
    let config = Arc::new(config);
    let tables = MixTables::new(
        config.mix,
        config.names.clone(),
        config.qtypes.clone(),
        config.hot_set,
        config.hot_fraction,
        config.dnssec_ok,
        config.seed,
    );
    let cancel = CancellationToken::new();
    let workers = config.connections;
    let shared: Vec<Arc<Shared>> = (0..workers)
        .map(|k| {
            let permits = match config.mode {
                Mode::Closed { concurrency } => {
                    Some(concurrency / workers + usize::from(k < concurrency % workers))
                }
                Mode::Open { .. } => None,
            };
            Arc::new(Shared::new(permits, config.timeout, &template))
        })
        .collect();
    // Every connection is opened before the clock starts.
    let mut senders = Vec::with_capacity(workers);
    for s in &shared {
        senders.push(
            connect(&transport, &config, s, &cancel)
                .await
                .map_err(|detail| {
                    cancel.cancel();
                    LoadgenError::Connect {
                        target: config.target,
                        detail,
                    }
                })?,
        );
    }
    let start = Instant::now();
    let end = start + config.duration;
    let claimed = Arc::new(AtomicU64::new(0));
    let stop_monitor = CancellationToken::new();
    let monitor = tokio::spawn(monitor(
        Collector {
            start,
            current: Interval::new(&template),
            total: Interval::new(&template),
            series: Vec::new(),
            progress: config.progress,
        },
        shared.clone(),
        stop_monitor.clone(),
    ));
    let handles: Vec<_> = senders
        .into_iter()
        .enumerate()
        .map(|(index, sender)| {
            let worker = Worker {
                index,
                workers,
                config: config.clone(),
                transport: transport.clone(),
                shared: shared[index].clone(),
                cancel: cancel.clone(),
                generator: Generator::new(tables.clone(), config.seed, index as u64),
                start,
                end,
                claimed: claimed.clone(),
            };
            // A send blocked by a server that stopped reading cannot hold the run.
            tokio::spawn(timeout_at(end + config.timeout, worker.run(sender)))
        })
        .collect();
    // The senders stay open until the drain ends: closing one could make a server drop the
    // answers still due.
    let mut open = Vec::with_capacity(workers);
    for handle in handles {
        if let Ok(Ok(sender)) = handle.await {
            open.push(sender);
        }
    }
    let last_send = Instant::now().min(end + config.timeout);
    // Drain: outstanding queries are answered or expire (the monitor expires them).
    let drain_end = Instant::now() + config.timeout + SWEEP * 2;
    while Instant::now() < drain_end && shared.iter().any(|s| s.inflight.lock().live() > 0) {
        tokio::time::sleep(SWEEP / 2).await;
    }
    cancel.cancel();
    stop_monitor.cancel();
    for mut sender in open {
        let _ = timeout(Duration::from_secs(1), sender.close()).await;
    }
    let finished = Instant::now();
    let mut collector = monitor
        .await
        .map_err(|e| LoadgenError::Config(format!("monitor task: {e}")))?;
    let last_answer = shared
        .iter()
        .filter_map(|s| s.inflight.lock().last_answer)
        .max();
    let active_end = last_answer.map_or(last_send, |a| a.max(last_send));
    let active_s = active_end.saturating_duration_since(start).as_secs_f64();
    let total = &mut collector.total;
    let (rcodes, errors) = report::counts(total);
    Ok(Report {
        tool: "hnsfleet-loadgen".into(),
        version: env!("CARGO_PKG_VERSION").into(),
        config: ConfigSummary::new(&config),
        totals: report::Totals {
            sent: total.sent,
            answered: total.answered,
            timeouts: total.timeouts,
            late: total.late,
            truncated: total.truncated,
            errors: total.errors_total(),
            elapsed_s: finished.saturating_duration_since(start).as_secs_f64(),
            active_s,
        },
        qps: if active_s > 0.0 {
            total.answered as f64 / active_s
        } else {
            0.0
        },
        latency_ms: Percentiles::of(&total.hist),
        series: std::mem::take(&mut collector.series),
        rcodes,
        errors,
        distribution: report::distribution(&total.hist),
    })
}

async fn connect(
    transport: &Transport,
    config: &Config,
    shared: &Arc<Shared>,
    cancel: &CancellationToken,
) -> Result<Sender, String> {
    match timeout(
        CONNECT_TIMEOUT,
        transport.connect(config.target, shared.clone(), cancel.clone()),
    )
    .await
    {
        Ok(result) => result,
        Err(_) => Err("connect timed out".into()),
    }
}

// === impl Worker ===

impl Worker {
    /// Sends this worker's share; the connection, still open, at the end.
    async fn run(mut self, mut sender: Sender) -> Sender {
        let mut buffer = Vec::with_capacity(512);
        let mut reconnects = 0;
        match self.config.mode {
            Mode::Open { rate } => {
                // This worker's queries are i = index + j * workers, due at i / rate.
                let share = self.config.queries.map(|q| {
                    let (q, k, n) = (q, self.index as u64, self.workers as u64);
                    if q > k { (q - k).div_ceil(n) } else { 0 }
                });
                let mut j: u64 = 0;
                while share.is_none_or(|s| j < s) {
                    let i = u128::from(self.index as u64 + j * self.workers as u64);
                    let offset = Duration::from_nanos(
                        u64::try_from(i * 1_000_000_000 / u128::from(rate)).unwrap_or(u64::MAX),
                    );
                    let due = self.start + offset;
                    if due >= self.end {
                        break;
                    }
                    if due > Instant::now() {
                        if sender.flush().await.is_err() {
                            self.shared.on_error(None, ErrorKind::Send);
                        }
                        sleep_until(due).await;
                    }
                    if !self
                        .send_one(&mut sender, due, &mut buffer, &mut reconnects)
                        .await
                    {
                        break;
                    }
                    j += 1;
                }
            }
            Mode::Closed { .. } => {
                let shared = self.shared.clone();
                let Some(permits) = shared.permits.as_ref() else {
                    return sender;
                };
                loop {
                    let permit = match permits.try_acquire() {
                        Ok(permit) => permit,
                        Err(_) => {
                            if sender.flush().await.is_err() {
                                self.shared.on_error(None, ErrorKind::Send);
                            }
                            match timeout_at(self.end, permits.acquire()).await {
                                Ok(Ok(permit)) => permit,
                                _ => break,
                            }
                        }
                    };
                    if Instant::now() >= self.end {
                        break;
                    }
                    if let Some(q) = self.config.queries
                        && self.claimed.fetch_add(1, Ordering::Relaxed) >= q
                    {
                        break;
                    }
                    permit.forget();
                    if !self
                        .send_one(&mut sender, Instant::now(), &mut buffer, &mut reconnects)
                        .await
                    {
                        break;
                    }
                }
            }
        }
        if sender.flush().await.is_err() {
            self.shared.on_error(None, ErrorKind::Send);
        }
        sender
    }

    /// Sends one query measured from `start`; false when the worker must stop (its
    /// connection failed and could not be reopened).
    async fn send_one(
        &mut self,
        sender: &mut Sender,
        start: Instant,
        buffer: &mut Vec<u8>,
        reconnects: &mut u32,
    ) -> bool {
        let Some(id) = self.shared.inflight.lock().begin(start) else {
            // 65,536 outstanding on this connection: this query is skipped (counted).
            if let Some(permits) = &self.shared.permits {
                permits.add_permits(1);
            }
            return true;
        };
        buffer.clear();
        self.generator.next_query(id, buffer);
        match sender.send(id, start, buffer).await {
            Ok(()) => true,
            Err(kind) => {
                self.shared.on_error(Some((id, start)), kind);
                self.reconnect(sender, reconnects).await
            }
        }
    }

    /// Replaces a failed connection, a bounded number of times per worker.
    async fn reconnect(&mut self, sender: &mut Sender, reconnects: &mut u32) -> bool {
        while *reconnects < MAX_RECONNECTS && Instant::now() < self.end {
            *reconnects += 1;
            let _ = timeout(Duration::from_secs(1), sender.close()).await;
            match connect(&self.transport, &self.config, &self.shared, &self.cancel).await {
                Ok(fresh) => {
                    *sender = fresh;
                    return true;
                }
                Err(_) => {
                    self.shared.on_error(None, ErrorKind::Connect);
                    tokio::time::sleep(Duration::from_millis(100)).await;
                }
            }
        }
        false
    }
}

/// Expires timeouts every [`SWEEP`], closes each second; on `stop`, one last sweep and the
/// partial last second.
async fn monitor(
    mut collector: Collector,
    shared: Vec<Arc<Shared>>,
    stop: CancellationToken,
) -> Collector {
    let mut tick = tokio::time::interval(SWEEP);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    let mut second: u32 = 1;
    loop {
        tokio::select! {
            () = stop.cancelled() => break,
            _ = tick.tick() => {}
        }
        let now = Instant::now();
        for s in &shared {
            s.expire(now);
        }
        while now >= collector.start + Duration::from_secs(u64::from(second)) {
            collector.close_interval(&shared, second, 1.0);
            second += 1;
        }
    }
    let now = Instant::now();
    for s in &shared {
        s.expire(now);
    }
    let begun = collector.start + Duration::from_secs(u64::from(second - 1));
    let partial = now.saturating_duration_since(begun).as_secs_f64();
    collector.close_interval(&shared, second, partial);
    collector
}

// === impl Collector ===

impl Collector {
    /// Moves every worker's counters into a [`SecondPoint`] and the totals.
    fn close_interval(&mut self, shared: &[Arc<Shared>], second: u32, duration_s: f64) {
        for s in shared {
            self.current.drain_from(&mut s.inflight.lock().interval);
        }
        let point = SecondPoint::of(second, duration_s, &self.current);
        self.total.drain_from(&mut self.current);
        if self.progress {
            let all = Percentiles::of(&self.total.hist);
            eprintln!(
                "[{second:>4}s] {:>9.0} q/s  sent {:>10}  answered {:>10}  p50 {:>8.3} ms  \
                 p99 {:>8.3} ms  errors {}  timeouts {}",
                point.qps,
                self.total.sent,
                self.total.answered,
                all.p50,
                all.p99,
                self.total.errors_total(),
                self.total.timeouts,
            );
        }
        self.series.push(point);
    }
}
