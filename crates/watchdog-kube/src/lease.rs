//! Leader election on a `coordination.k8s.io/v1` Lease, by the rules and with the timing
//! argument of the crate docs.

use std::sync::Arc;

use k8s_openapi::api::coordination::v1::{Lease, LeaseSpec};
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::api::{Api, PostParams};
use tokio::sync::watch;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;
use tracing::{debug, info, warn};

use crate::metrics::{KubeMetrics, Operation};
use crate::{Clock, Error, KubeSettings, SystemClock, bounded};

/// Elects this replica leader, or not, and says so through [`LeaderElector::subscribe`].
/// Drive it with [`LeaderElector::run`].
#[derive(Debug)]
pub struct LeaderElector {
    api: Api<Lease>,
    settings: KubeSettings,
    clock: Arc<dyn Clock>,
    metrics: KubeMetrics,
    leading: watch::Sender<bool>,
    /// The Lease as this replica last wrote it (with its new resourceVersion), while leading:
    /// the next renewal replaces it without reading it first.
    written: Option<Lease>,
    /// While leading: when to stop, unless renewed before.
    deadline: Option<Instant>,
    /// The Lease may name this replica holder (it wrote so and has not read otherwise since):
    /// on shutdown it is released.
    may_hold: bool,
}

/// What woke the run loop.
enum Wake {
    Shutdown,
    Deadline,
    Attempted,
}

// === impl LeaderElector ===

impl LeaderElector {
    /// An elector for `settings.lease_name` in `settings.namespace` (else the client's
    /// namespace), as `settings.identity`; not leading until [`LeaderElector::run`] acquires.
    pub fn new(client: Client, settings: KubeSettings, metrics: KubeMetrics) -> LeaderElector {
        let api = match &settings.namespace {
            Some(namespace) => Api::namespaced(client, namespace),
            None => Api::default_namespaced(client),
        };
        metrics.set_leader(false);
        LeaderElector {
            api,
            settings,
            clock: Arc::new(SystemClock),
            metrics,
            leading: watch::Sender::new(false),
            written: None,
            deadline: None,
            may_hold: false,
        }
    }

    /// Uses `clock` for the times written into the Lease and compared with its `renewTime`.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> LeaderElector {
        self.clock = clock;
        self
    }

    /// Whether this replica leads: `true` only between a successful acquisition or renewal
    /// and the step-down deadline, a conflict, or shutdown.
    pub fn subscribe(&self) -> watch::Receiver<bool> {
        self.leading.subscribe()
    }

    /// Whether this replica leads now.
    pub fn is_leading(&self) -> bool {
        *self.leading.borrow()
    }

    /// Tries to acquire or renew every `renew_interval` (the first time at once) and steps
    /// down on the deadline, until `shutdown`; then stops leading and releases the Lease if
    /// it may hold it. Never fails: errors are logged, counted and retried.
    pub async fn run(mut self, shutdown: CancellationToken) {
        let mut next = Instant::now();
        loop {
            let deadline = self.deadline;
            let wake = tokio::select! {
                biased;
                () = shutdown.cancelled() => Wake::Shutdown,
                () = until(deadline) => Wake::Deadline,
                () = tokio::time::sleep_until(next) => Wake::Attempted,
            };
            match wake {
                Wake::Shutdown => break,
                Wake::Deadline => {
                    self.step_down(
                        "no successful renewal within the lease duration minus the margin",
                    );
                    continue;
                }
                Wake::Attempted => {}
            }
            next = Instant::now() + self.settings.renew_interval;
            // The deadline also runs while a request hangs: leadership ends on time.
            let wake = tokio::select! {
                biased;
                () = shutdown.cancelled() => Wake::Shutdown,
                () = until(deadline) => Wake::Deadline,
                _ = self.attempt() => Wake::Attempted,
            };
            match wake {
                Wake::Shutdown => break,
                Wake::Deadline => {
                    self.step_down(
                        "no successful renewal within the lease duration minus the margin",
                    );
                }
                Wake::Attempted => {}
            }
        }
        self.release().await;
    }

    /// One acquisition or renewal: reads the Lease (unless renewing the one it wrote last),
    /// then creates it, renews it, takes it over, or leaves it to its live holder.
    pub(crate) async fn attempt(&mut self) -> Result<(), Error> {
        let started = Instant::now();
        let now = self.clock.now();
        let limit = self.settings.request_timeout;
        let name = self.settings.lease_name.clone();
        let current = match self.written.take() {
            Some(lease) => Some(lease),
            None => match bounded(limit, self.api.get_opt(&name)).await {
                Ok(lease) => lease,
                Err(error) => return Err(self.failed(Operation::LeaseGet, error)),
            },
        };
        let Some(mut lease) = current else {
            let lease = self.fresh_lease(now);
            return match bounded(limit, self.api.create(&PostParams::default(), &lease)).await {
                Ok(created) => {
                    self.lead(created, started);
                    Ok(())
                }
                Err(error) if error.is_conflict() => {
                    // Another replica created it first (409 AlreadyExists): it leads.
                    self.metrics.error(Operation::LeaseCreate);
                    self.follow(None, "another replica created the lease first");
                    Ok(())
                }
                Err(error) => Err(self.failed(Operation::LeaseCreate, error)),
            };
        };
        let identity = self.settings.identity.clone();
        let duration = self.lease_seconds();
        let spec = lease.spec.get_or_insert_with(LeaseSpec::default);
        let holder = spec.holder_identity.clone().filter(|h| !h.is_empty());
        let mine = holder.as_deref() == Some(identity.as_str());
        if !mine && holder.is_some() && !expired(spec, now, duration) {
            self.follow(holder, "the lease is held by a live replica");
            return Ok(());
        }
        if !mine {
            spec.holder_identity = Some(identity);
            spec.acquire_time = Some(MicroTime(now));
            spec.lease_transitions = Some(spec.lease_transitions.unwrap_or(0).saturating_add(1));
        }
        spec.renew_time = Some(MicroTime(now));
        spec.lease_duration_seconds = Some(duration);
        // The replace carries the resourceVersion read: a concurrent write makes it 409.
        match bounded(
            limit,
            self.api.replace(&name, &PostParams::default(), &lease),
        )
        .await
        {
            Ok(written) => {
                if !mine {
                    info!(lease = %name, previous = ?holder, "took over the lease");
                }
                self.lead(written, started);
                Ok(())
            }
            Err(error) if error.is_conflict() => {
                // Someone wrote the Lease since it was read: whoever it was, this replica
                // no longer knows it holds it.
                self.metrics.error(Operation::LeaseUpdate);
                self.follow(None, "the lease changed under this replica (409 conflict)");
                self.may_hold = mine;
                Ok(())
            }
            Err(error) => Err(self.failed(Operation::LeaseUpdate, error)),
        }
    }

    /// A new Lease naming this replica holder.
    fn fresh_lease(&self, now: Timestamp) -> Lease {
        Lease {
            metadata: ObjectMeta {
                name: Some(self.settings.lease_name.clone()),
                ..ObjectMeta::default()
            },
            spec: Some(LeaseSpec {
                holder_identity: Some(self.settings.identity.clone()),
                lease_duration_seconds: Some(self.lease_seconds()),
                acquire_time: Some(MicroTime(now)),
                renew_time: Some(MicroTime(now)),
                lease_transitions: Some(0),
                ..LeaseSpec::default()
            }),
        }
    }

    fn lease_seconds(&self) -> i32 {
        i32::try_from(self.settings.lease_duration.as_secs()).unwrap_or(i32::MAX)
    }

    /// A write naming this replica holder succeeded at `started`: it leads until
    /// `started + lease_duration - step_down_margin` unless renewed.
    fn lead(&mut self, written: Lease, started: Instant) {
        self.written = Some(written);
        self.deadline = Some(started + self.settings.step_down_after());
        self.may_hold = true;
        let changed = self
            .leading
            .send_if_modified(|leading| !std::mem::replace(leading, true));
        if changed {
            self.metrics.set_leader(true);
            info!(lease = %self.settings.lease_name, identity = %self.settings.identity, "leading");
        }
    }

    /// Another replica holds the Lease (or may): not leading.
    fn follow(&mut self, holder: Option<String>, why: &str) {
        self.may_hold = false;
        if self.is_leading() {
            self.step_down(why);
        } else {
            debug!(lease = %self.settings.lease_name, holder = ?holder, why, "not leading");
        }
        self.written = None;
        self.deadline = None;
    }

    fn step_down(&mut self, why: &str) {
        self.written = None;
        self.deadline = None;
        let changed = self
            .leading
            .send_if_modified(|leading| std::mem::replace(leading, false));
        if changed {
            self.metrics.set_leader(false);
            warn!(lease = %self.settings.lease_name, identity = %self.settings.identity, why, "stopped leading");
        }
    }

    /// A request failed: counted and logged; the next attempt reads the Lease afresh.
    /// Leadership is left to the deadline.
    fn failed(&mut self, operation: Operation, error: Error) -> Error {
        self.metrics.error(operation);
        self.written = None;
        warn!(lease = %self.settings.lease_name, operation = operation.label(), %error, "kubernetes request failed");
        error
    }

    /// Stops leading, then clears the holder if it may still be this replica.
    async fn release(&mut self) {
        let written = self.written.take();
        self.step_down("shutting down");
        if !self.may_hold {
            return;
        }
        let limit = self.settings.request_timeout;
        let name = self.settings.lease_name.clone();
        let lease = match written {
            Some(lease) => Some(lease),
            None => match bounded(limit, self.api.get_opt(&name)).await {
                Ok(lease) => lease,
                Err(error) => {
                    self.failed(Operation::LeaseGet, error);
                    None
                }
            },
        };
        let Some(mut lease) = lease else {
            return;
        };
        let Some(spec) = lease.spec.as_mut() else {
            return;
        };
        if spec.holder_identity.as_deref() != Some(self.settings.identity.as_str()) {
            return;
        }
        spec.holder_identity = None;
        match bounded(
            limit,
            self.api.replace(&name, &PostParams::default(), &lease),
        )
        .await
        {
            Ok(_) => info!(lease = %name, "released the lease"),
            Err(error) => {
                self.failed(Operation::LeaseRelease, error);
            }
        }
        self.may_hold = false;
    }
}

/// Whether the holder's Lease has run out: `renewTime` (else `acquireTime`) plus its
/// `leaseDurationSeconds` (else `default_seconds`) is before `now`. A Lease without either
/// time has never been held.
fn expired(spec: &LeaseSpec, now: Timestamp, default_seconds: i32) -> bool {
    let Some(MicroTime(renewed)) = spec.renew_time.as_ref().or(spec.acquire_time.as_ref()) else {
        return true;
    };
    let seconds = spec.lease_duration_seconds.unwrap_or(default_seconds);
    match renewed.checked_add(SignedDuration::from_secs(i64::from(seconds))) {
        Ok(until) => until < now,
        Err(_) => false,
    }
}

/// Waits for `deadline`, or forever without one.
async fn until(deadline: Option<Instant>) {
    match deadline {
        Some(deadline) => tokio::time::sleep_until(deadline).await,
        None => std::future::pending().await,
    }
}
