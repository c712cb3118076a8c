//! The shutdown sequence every service follows, which the Helm chart's `preStop` and the
//! anycast withdrawal rely on:
//!
//! 1. SIGTERM or SIGINT (or [`Lifecycle::begin_shutdown`]): readiness turns false at once
//!    (`/readyz` 503, `"draining":true`); [`Lifecycle::draining`] fires. Listeners keep
//!    serving, so nothing is refused while load balancers and BGP withdraw the node.
//! 2. After the drain window (`shutdown_drain`): [`Lifecycle::stop_accepting`] fires; servers
//!    stop accepting and finish what is in flight (streams end).
//! 3. After at most the grace period (`shutdown_grace`), or as soon as the servers are done:
//!    [`Lifecycle::stopped`] fires and background work (peer pools, refreshers) stops; the
//!    process exits 0.
//!
//! A second signal skips whatever waiting is left. [`Lifecycle::serve`] drives the steps
//! around the service's server futures.

use std::future::Future;
use std::sync::Arc;
use std::time::Duration;

use tokio_util::sync::CancellationToken;

use crate::config::ServiceSettings;
use crate::readiness::Readiness;

/// The shutdown state of one service (cheap to clone; all clones share it).
#[derive(Debug, Clone)]
pub struct Lifecycle {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    readiness: Readiness,
    drain: Duration,
    grace: Duration,
    draining: CancellationToken,
    stop_accepting: CancellationToken,
    stopped: CancellationToken,
    forced: CancellationToken,
}

/// How [`Lifecycle::serve`] ended.
#[derive(Debug, PartialEq, Eq)]
pub enum Ending<T> {
    /// The servers returned (after stopping to accept, or on their own, e.g. on an error).
    Served(T),
    /// The grace period ran out with work still in flight; it was abandoned.
    GraceExpired,
    /// A second signal cut the sequence short.
    Forced,
}

// === impl Lifecycle ===

impl Lifecycle {
    /// A lifecycle with its own readiness latch, a drain window and a grace period.
    pub fn new(drain: Duration, grace: Duration) -> Lifecycle {
        Lifecycle {
            inner: Arc::new(Inner {
                readiness: Readiness::new(),
                drain,
                grace,
                draining: CancellationToken::new(),
                stop_accepting: CancellationToken::new(),
                stopped: CancellationToken::new(),
                forced: CancellationToken::new(),
            }),
        }
    }

    /// The drain window and grace period of `settings`.
    pub fn from_settings(settings: &ServiceSettings) -> Lifecycle {
        Lifecycle::new(settings.shutdown_drain, settings.shutdown_grace)
    }

    /// The readiness latch `/readyz` reports; draining starts with the shutdown.
    pub fn readiness(&self) -> &Readiness {
        &self.inner.readiness
    }

    /// Starts the sequence (idempotent): readiness false now, [`Lifecycle::draining`] fires.
    pub fn begin_shutdown(&self) {
        self.inner.readiness.start_draining();
        self.inner.draining.cancel();
    }

    /// Starts the sequence if needed and skips the waiting that is left.
    pub fn force(&self) {
        self.begin_shutdown();
        self.inner.forced.cancel();
    }

    /// Fires when the shutdown begins.
    pub fn draining(&self) -> CancellationToken {
        self.inner.draining.clone()
    }

    /// Fires when the drain window is over: listeners stop accepting, streams end.
    pub fn stop_accepting(&self) -> CancellationToken {
        self.inner.stop_accepting.clone()
    }

    /// Fires when the servers are done or the grace period is over: background work stops.
    pub fn stopped(&self) -> CancellationToken {
        self.inner.stopped.clone()
    }

    /// Begins the shutdown on SIGTERM or SIGINT, and forces it on a second one. The handlers
    /// are installed before this returns (call it before announcing the listeners), so a
    /// signal right after start is not lost. Needs a tokio runtime.
    pub fn watch_signals(&self) -> std::io::Result<()> {
        use tokio::signal::unix::{SignalKind, signal};
        let mut term = signal(SignalKind::terminate())?;
        let mut int = signal(SignalKind::interrupt())?;
        let lifecycle = self.clone();
        tokio::spawn(async move {
            for step in 0..2 {
                let name = tokio::select! {
                    _ = term.recv() => "SIGTERM",
                    _ = int.recv() => "SIGINT",
                    () = lifecycle.inner.stopped.cancelled() => return,
                };
                if step == 0 {
                    tracing::info!(signal = name, "shutdown requested");
                    lifecycle.begin_shutdown();
                } else {
                    tracing::warn!(signal = name, "second signal: stopping now");
                    lifecycle.force();
                }
            }
        });
        Ok(())
    }

    /// Runs `servers` (futures that return once [`Lifecycle::stop_accepting`] fired and their
    /// in-flight work is done) through the sequence in the module docs. Whatever ends it,
    /// every token has fired when this returns.
    pub async fn serve<F: Future>(&self, servers: F) -> Ending<F::Output> {
        let inner = &self.inner;
        let mut servers = std::pin::pin!(servers);
        let ending = 'sequence: {
            tokio::select! {
                out = &mut servers => break 'sequence Ending::Served(out),
                () = inner.draining.cancelled() => {}
            }
            tracing::info!(
                drain = ?inner.drain,
                "draining: not ready, listeners still serving"
            );
            tokio::select! {
                out = &mut servers => break 'sequence Ending::Served(out),
                () = tokio::time::sleep(inner.drain) => {}
                () = inner.forced.cancelled() => {}
            }
            inner.stop_accepting.cancel();
            tracing::info!(
                grace = ?inner.grace,
                "listeners closed; finishing in-flight requests"
            );
            tokio::select! {
                out = &mut servers => Ending::Served(out),
                () = tokio::time::sleep(inner.grace) => {
                    tracing::warn!(grace = ?inner.grace, "grace period over; abandoning in-flight requests");
                    Ending::GraceExpired
                }
                () = inner.forced.cancelled() => Ending::Forced,
            }
        };
        self.begin_shutdown();
        inner.stop_accepting.cancel();
        inner.stopped.cancel();
        ending
    }
}

#[cfg(test)]
mod tests;
