//! The in-flight table of one worker and the counters of the current second.
//!
//! A worker's queries are matched to answers by DNS ID: slot `id` holds the time the query's
//! latency is measured from (its scheduled time in open loop, its send time in closed loop).
//! Timeouts are found from the send-order queue, whose front is always the oldest query; an
//! entry whose slot was answered (or reused) meanwhile is just dropped. Answers arriving after
//! their timeout count as `late`, not as answers.

use std::collections::VecDeque;
use std::time::Duration;

use hdrhistogram::Histogram;
use tokio::sync::Semaphore;
use tokio::time::Instant;

use crate::wire::parse_response;

/// Highest latency recorded exactly (nanoseconds); above it, values saturate.
pub(crate) const HIST_MAX_NS: u64 = 120_000_000_000;

/// Kinds of errors (not timeouts), in the order of [`ERROR_NAMES`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum ErrorKind {
    /// Opening a connection failed.
    Connect = 0,
    /// Sending failed.
    Send = 1,
    /// Receiving failed or the server closed the connection.
    Receive = 2,
    /// An answer that is not a DNS response (or a DoH body over its limit).
    Malformed = 3,
    /// DoH answered with a status other than 200.
    HttpStatus = 4,
    /// No free DNS ID on the connection (65,536 outstanding).
    IdExhausted = 5,
}

/// Names of the error kinds in the JSON result.
pub(crate) const ERROR_NAMES: [&str; 6] = [
    "connect",
    "send",
    "receive",
    "malformed",
    "http_status",
    "id_exhausted",
];

/// What happened within one interval (normally one second).
#[derive(Debug, Clone)]
pub(crate) struct Interval {
    pub(crate) sent: u64,
    pub(crate) answered: u64,
    pub(crate) timeouts: u64,
    pub(crate) late: u64,
    pub(crate) truncated: u64,
    pub(crate) errors: [u64; 6],
    pub(crate) rcodes: [u64; 16],
    pub(crate) hist: Histogram<u64>,
}

/// One worker's queries in flight, with the counters of the current interval.
#[derive(Debug)]
pub(crate) struct Inflight {
    slots: Vec<Option<Instant>>,
    order: VecDeque<(u16, Instant)>,
    next_id: u16,
    live: usize,
    pub(crate) last_answer: Option<Instant>,
    pub(crate) interval: Interval,
}

/// An [`Inflight`] behind a lock, shared by a worker's sender, its reader (or DoH request
/// tasks) and the monitor; with the closed-loop permits.
#[derive(Debug)]
pub(crate) struct Shared {
    pub(crate) inflight: parking_lot::Mutex<Inflight>,
    /// Closed loop: one permit per query that may be sent now.
    pub(crate) permits: Option<Semaphore>,
    timeout: Duration,
}

// === impl Interval ===

impl Interval {
    /// Empty counters; `hist` is a cleared histogram with the run's bounds.
    pub(crate) fn new(hist: &Histogram<u64>) -> Interval {
        Interval {
            sent: 0,
            answered: 0,
            timeouts: 0,
            late: 0,
            truncated: 0,
            errors: [0; 6],
            rcodes: [0; 16],
            hist: hist.clone(),
        }
    }

    /// Adds `other`'s counts (the histogram too) and clears `other`.
    pub(crate) fn drain_from(&mut self, other: &mut Interval) {
        self.sent += other.sent;
        self.answered += other.answered;
        self.timeouts += other.timeouts;
        self.late += other.late;
        self.truncated += other.truncated;
        for (a, b) in self.errors.iter_mut().zip(other.errors.iter()) {
            *a += b;
        }
        for (a, b) in self.rcodes.iter_mut().zip(other.rcodes.iter()) {
            *a += b;
        }
        // Both histograms have the same bounds, so adding cannot fail.
        let _ = self.hist.add(&other.hist);
        other.sent = 0;
        other.answered = 0;
        other.timeouts = 0;
        other.late = 0;
        other.truncated = 0;
        other.errors = [0; 6];
        other.rcodes = [0; 16];
        other.hist.reset();
    }

    pub(crate) fn errors_total(&self) -> u64 {
        self.errors.iter().sum()
    }
}

/// An empty histogram of nanoseconds from 1 µs to [`HIST_MAX_NS`], 3 significant digits; the
/// template every other one is cloned from.
pub(crate) fn new_histogram() -> Result<Histogram<u64>, crate::LoadgenError> {
    Histogram::new_with_bounds(1_000, HIST_MAX_NS, 3)
        .map_err(|e| crate::LoadgenError::Config(format!("histogram: {e}")))
}

// === impl Inflight ===

impl Inflight {
    fn new(hist: &Histogram<u64>) -> Inflight {
        Inflight {
            slots: vec![None; 65_536],
            order: VecDeque::new(),
            next_id: rand::random(),
            live: 0,
            last_answer: None,
            interval: Interval::new(hist),
        }
    }

    /// Takes a free ID for a query measured from `start`; `None` when 65,536 are outstanding.
    pub(crate) fn begin(&mut self, start: Instant) -> Option<u16> {
        if self.live >= self.slots.len() {
            self.interval.errors[ErrorKind::IdExhausted as usize] += 1;
            return None;
        }
        loop {
            let id = self.next_id;
            self.next_id = self.next_id.wrapping_add(1);
            let slot = &mut self.slots[usize::from(id)];
            if slot.is_none() {
                *slot = Some(start);
                self.order.push_back((id, start));
                self.live += 1;
                self.interval.sent += 1;
                return Some(id);
            }
        }
    }

    /// Forgets query `id` started at `start` (its send or its request failed); true if it
    /// was still outstanding (not answered, expired, or its ID reused meanwhile).
    pub(crate) fn abort(&mut self, id: u16, start: Instant, kind: ErrorKind) -> bool {
        self.interval.errors[kind as usize] += 1;
        let slot = &mut self.slots[usize::from(id)];
        if *slot != Some(start) {
            return false;
        }
        *slot = None;
        self.live -= 1;
        true
    }

    /// Counts an error not tied to one query.
    pub(crate) fn error(&mut self, kind: ErrorKind) {
        self.interval.errors[kind as usize] += 1;
    }

    /// Matches an answer; true if it completed an outstanding query.
    fn answer(&mut self, bytes: &[u8], now: Instant) -> bool {
        let Some(head) = parse_response(bytes) else {
            self.interval.errors[ErrorKind::Malformed as usize] += 1;
            return false;
        };
        let Some(start) = self.slots[usize::from(head.id)].take() else {
            self.interval.late += 1;
            return false;
        };
        self.live -= 1;
        let nanos = u64::try_from(now.saturating_duration_since(start).as_nanos())
            .unwrap_or(u64::MAX)
            .max(1_000);
        self.interval.hist.saturating_record(nanos);
        self.interval.answered += 1;
        self.interval.rcodes[usize::from(head.rcode)] += 1;
        if head.truncated {
            self.interval.truncated += 1;
        }
        self.last_answer = Some(now);
        true
    }

    /// Expires queries started at or before `now - timeout`; how many.
    fn expire(&mut self, now: Instant, timeout: Duration) -> usize {
        let mut expired = 0;
        while let Some(&(id, start)) = self.order.front() {
            let slot = &mut self.slots[usize::from(id)];
            if *slot != Some(start) {
                self.order.pop_front();
                continue;
            }
            if start + timeout > now {
                break;
            }
            *slot = None;
            self.order.pop_front();
            self.live -= 1;
            self.interval.timeouts += 1;
            expired += 1;
        }
        expired
    }

    pub(crate) fn live(&self) -> usize {
        self.live
    }
}

// === impl Shared ===

impl Shared {
    /// A table; `permits` is the closed-loop window of this worker.
    pub(crate) fn new(permits: Option<usize>, timeout: Duration, hist: &Histogram<u64>) -> Shared {
        Shared {
            inflight: parking_lot::Mutex::new(Inflight::new(hist)),
            permits: permits.map(Semaphore::new),
            timeout,
        }
    }

    /// An answer arrived.
    pub(crate) fn on_answer(&self, bytes: &[u8]) {
        let done = self.inflight.lock().answer(bytes, Instant::now());
        if done {
            self.release(1);
        }
    }

    /// Counts an error; if it ended query `(id, start)`, frees its slot and permit.
    pub(crate) fn on_error(&self, query: Option<(u16, Instant)>, kind: ErrorKind) {
        let freed = match query {
            Some((id, start)) => self.inflight.lock().abort(id, start, kind),
            None => {
                self.inflight.lock().error(kind);
                false
            }
        };
        if freed {
            self.release(1);
        }
    }

    /// Counts the timeouts due at `now`.
    pub(crate) fn expire(&self, now: Instant) {
        let expired = self.inflight.lock().expire(now, self.timeout);
        self.release(expired);
    }

    fn release(&self, n: usize) {
        if let Some(permits) = &self.permits
            && n > 0
        {
            permits.add_permits(n);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn answer_to(id: u16, rcode: u8) -> Vec<u8> {
        let mut b = vec![0u8; 12];
        b[..2].copy_from_slice(&id.to_be_bytes());
        b[2] = 0x81;
        b[3] = 0x80 | rcode;
        b
    }

    #[tokio::test(start_paused = true)]
    async fn answers_match_ids_timeouts_expire_late_answers_are_not_answers() {
        let shared = Shared::new(
            Some(0),
            Duration::from_millis(100),
            &new_histogram().unwrap(),
        );
        let t0 = Instant::now();
        let (a, b) = {
            let mut inflight = shared.inflight.lock();
            (inflight.begin(t0).unwrap(), inflight.begin(t0).unwrap())
        };
        assert_ne!(a, b);
        tokio::time::advance(Duration::from_millis(30)).await;
        shared.on_answer(&answer_to(a, 3));
        shared.on_answer(&answer_to(a, 3)); // duplicate: late
        shared.on_answer(&[1, 2, 3]); // malformed
        tokio::time::advance(Duration::from_millis(80)).await;
        shared.expire(Instant::now());
        shared.on_answer(&answer_to(b, 0)); // after its timeout: late
        let inflight = shared.inflight.lock();
        let i = &inflight.interval;
        assert_eq!((i.sent, i.answered, i.timeouts, i.late), (2, 1, 1, 2));
        assert_eq!(i.rcodes[3], 1);
        assert_eq!(i.errors[ErrorKind::Malformed as usize], 1);
        assert_eq!(inflight.live(), 0);
        let p50 = i.hist.value_at_quantile(0.5);
        assert!((29_000_000..=31_000_000).contains(&p50), "{p50}");
        // Closed loop: the answer and the timeout each gave a permit back.
        assert_eq!(shared.permits.as_ref().unwrap().available_permits(), 2);
    }
}
