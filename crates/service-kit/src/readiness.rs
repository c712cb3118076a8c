//! The readiness latch: a service is ready only while every named check it reports passes and
//! it is not draining. `/readyz` answers 200 when ready and 503 otherwise, with a JSON body
//! ([`Status`]) that names each check, so an operator sees which condition fails.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

use parking_lot::Mutex;
use serde::Serialize;

/// Detail of the pseudo-check reported while a service has not evaluated its own yet.
const NOT_EVALUATED: &str = "readiness not evaluated yet";

/// One named condition of readiness, e.g. `peers`: `0 of 1 required connected`.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Check {
    /// Stable name (snake_case) operators and alerts refer to.
    pub name: &'static str,
    /// Whether the condition holds.
    pub ok: bool,
    /// The measured facts, for a human.
    pub detail: String,
}

/// What `/readyz` reports.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct Status {
    /// Every check passes and the service is not draining.
    pub ready: bool,
    /// Shutdown began: never ready again until restarted.
    pub draining: bool,
    /// The checks last reported, in the service's order.
    pub checks: Vec<Check>,
}

/// A cheap, cloneable readiness latch shared by the component that knows (e.g. "synced") and
/// the admin endpoint that reports it. Starts not ready: until the service reports its checks,
/// a single failing `started` check says so.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    draining: AtomicBool,
    /// `None` until the first report.
    checks: Mutex<Option<Vec<Check>>>,
}

// === impl Check ===

impl Check {
    /// A check named `name`.
    pub fn new(name: &'static str, ok: bool, detail: impl Into<String>) -> Check {
        Check {
            name,
            ok,
            detail: detail.into(),
        }
    }
}

// === impl Status ===

impl Status {
    /// The failing conditions as `name: detail` (with `draining` first when draining); empty
    /// when ready.
    pub fn failing(&self) -> Vec<String> {
        let draining = self.draining.then(|| "draining".to_string());
        let checks = self
            .checks
            .iter()
            .filter(|c| !c.ok)
            .map(|c| format!("{}: {}", c.name, c.detail));
        draining.into_iter().chain(checks).collect()
    }
}

// === impl Readiness ===

impl Readiness {
    /// A new latch, not ready.
    pub fn new() -> Readiness {
        Readiness::default()
    }

    /// Replaces the checks with `checks` (the service evaluates all its rules at once). Ready
    /// when all pass; an empty list counts as ready.
    pub fn report(&self, checks: Vec<Check>) {
        *self.inner.checks.lock() = Some(checks);
    }

    /// Marks the service as draining: never ready again until restarted.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::Release);
    }

    /// Whether draining began.
    pub fn is_draining(&self) -> bool {
        self.inner.draining.load(Ordering::Acquire)
    }

    /// The current status.
    pub fn status(&self) -> Status {
        let checks = self
            .inner
            .checks
            .lock()
            .clone()
            .unwrap_or_else(|| vec![Check::new("started", false, NOT_EVALUATED)]);
        let draining = self.is_draining();
        Status {
            ready: !draining && checks.iter().all(|c| c.ok),
            draining,
            checks,
        }
    }

    /// `Ok` when ready; otherwise the failing conditions, `; `-separated.
    pub fn check(&self) -> Result<(), String> {
        let status = self.status();
        if status.ready {
            Ok(())
        } else {
            Err(status.failing().join("; "))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latch_reports_each_failing_check_and_draining_wins() {
        let r = Readiness::new();
        assert_eq!(r.check(), Err(format!("started: {NOT_EVALUATED}")));
        let shared = r.clone();
        shared.report(vec![
            Check::new("peers", false, "0 of 1 required connected"),
            Check::new("synced_once", true, "a header sync finished"),
            Check::new("chain_synced", false, "tip is 3 days old"),
        ]);
        let status = r.status();
        assert!(!status.ready && !status.draining);
        assert_eq!(
            status.failing(),
            [
                "peers: 0 of 1 required connected",
                "chain_synced: tip is 3 days old"
            ]
        );
        shared.report(vec![Check::new("peers", true, "1 of 1 required connected")]);
        assert_eq!(r.check(), Ok(()));
        r.start_draining();
        assert_eq!(shared.check(), Err("draining".to_string()));
        shared.report(vec![Check::new("peers", true, "2 of 1 required connected")]);
        let status = r.status();
        assert!(!status.ready && status.draining, "{status:?}");
        assert_eq!(status.checks.len(), 1, "checks still shown while draining");
    }
}
