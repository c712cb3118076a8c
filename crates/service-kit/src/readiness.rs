//! The readiness latch: a service is ready only while it serves verified data and is not
//! draining. `/readyz` answers 200 when ready and 503 with the reason otherwise.

use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};

/// A cheap, cloneable readiness flag shared by the component that knows (e.g. "synced") and
/// the admin endpoint that reports it. Starts not ready.
#[derive(Debug, Clone, Default)]
pub struct Readiness {
    inner: Arc<Inner>,
}

#[derive(Debug, Default)]
struct Inner {
    ready: AtomicBool,
    draining: AtomicBool,
}

impl Readiness {
    /// A new latch, not ready.
    pub fn new() -> Readiness {
        Readiness::default()
    }

    /// Marks the service ready (or not) to serve.
    pub fn set_ready(&self, ready: bool) {
        self.inner.ready.store(ready, Ordering::Release);
    }

    /// Marks the service as draining: never ready again until restarted.
    pub fn start_draining(&self) {
        self.inner.draining.store(true, Ordering::Release);
    }

    /// `Ok` when ready; otherwise why not.
    pub fn check(&self) -> Result<(), &'static str> {
        if self.inner.draining.load(Ordering::Acquire) {
            Err("draining")
        } else if !self.inner.ready.load(Ordering::Acquire) {
            Err("not ready")
        } else {
            Ok(())
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn latch_states() {
        let r = Readiness::new();
        assert_eq!(r.check(), Err("not ready"));
        let shared = r.clone();
        shared.set_ready(true);
        assert_eq!(r.check(), Ok(()));
        r.start_draining();
        assert_eq!(shared.check(), Err("draining"));
        shared.set_ready(true);
        assert_eq!(r.check(), Err("draining"));
    }
}
