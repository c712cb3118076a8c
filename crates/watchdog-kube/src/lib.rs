//! The reorg-watchdog in Kubernetes (docs/watchdog.md, "Publication"): the replicas elect one
//! leader on a `coordination.k8s.io/v1` Lease ([`LeaderElector`]); only the leader writes the
//! verdict to the status of a `ReorgWatch` custom resource ([`ReorgWatch`], rendered for the
//! chart by [`crd_yaml`]) and records each transition as an `events.k8s.io/v1` Event
//! ([`KubePublisher`]). The service calls [`connect`] (or [`start`] with its own client) and
//! passes every verdict to [`KubePublisher::publish`]. Outside a cluster (and in `hnsfleet up`) [`KubeConfig::resolve`]
//! returns `None` and none of this runs.
//!
//! This crate judges nothing: the verdict comes from `hnsfleet-reorg-verdict`. It never
//! panics on an API answer: a failed request (error status, transport error, timeout) is
//! logged, counted in [`KUBE_ERRORS_TOTAL`] by operation, and retried at the next renewal or
//! publication.
//!
//! # Leadership rules
//!
//! Every `renew_interval` (default 5 s) each replica tries to acquire or renew the Lease
//! (default name `hnsfleet-watchdog`, holder identity = pod name):
//! - it **acquires** only when the Lease is absent (create; a concurrent create gets 409
//!   AlreadyExists), unheld, held by itself, or **expired**: `renewTime +
//!   leaseDurationSeconds < now`;
//! - every update is a replace carrying the `resourceVersion` it read, so of two replicas
//!   racing for the same expired Lease the apiserver accepts one write and answers the other
//!   409 Conflict: the loser does not lead;
//! - a replica leads only from a successful write naming it holder, and stops leading at once
//!   on a 409, on reading another holder, or when its **own last successful renewal is older
//!   than `lease_duration - step_down_margin`** (default 15 s − 4 s = 11 s), whether or not
//!   the apiserver could be reached meanwhile (that deadline runs on the local monotonic
//!   clock, even while a request hangs);
//! - on shutdown the leader stops leading first, then releases the Lease (clears
//!   `holderIdentity`) so a successor need not wait for it to expire.
//!
//! # Why two replicas never act at once
//!
//! Let the leader's last successful renewal be sent at local time `t`; the `renewTime` it
//! wrote is its wall clock at `t`. It stops leading at `t + D − m` (D: lease duration, m:
//! margin), and a write it started before then is abandoned after the request timeout `r`,
//! so it acts no later than `t + D − m + r`. Another replica can take over only once the
//! Lease is expired by its own wall clock: not before `t + D − s`, where `s` is how far that
//! replica's clock runs ahead of the leader's. Because `m > r + s` (defaults: m = 4 s,
//! r = 2 s, so clocks may differ by up to 2 s; NTP keeps cluster nodes far closer), the old
//! leader has stopped before a successor exists. A takeover that races a late renewal is
//! settled by the `resourceVersion` check: exactly one write succeeds. [`KubeConfig::validate`]
//! enforces `m > r` and that at least one retry fits before the step-down
//! (`m + renew_interval + r < D`).
//!
//! A hand-written elector rather than `kube-leader-election` or `kube-lease-manager`: both
//! read the wall clock directly (so tests cannot run on tokio's paused time) and neither
//! steps a leader down on its own deadline while the apiserver is unreachable.
#![forbid(unsafe_code)]

mod config;
mod crd;
mod lease;
mod metrics;
mod publish;

#[cfg(test)]
mod tests;

use std::fmt;
use std::sync::Arc;
use std::time::Duration;

use k8s_openapi::jiff::Timestamp;
use thiserror::Error;
use tokio::task::JoinHandle;
use tokio_util::sync::CancellationToken;

pub use config::{
    Enabled, IN_CLUSTER_ENV, KubeConfig, KubeSettings, POD_NAME_ENV, POD_NAMESPACE_ENV,
};
pub use crd::{
    CRD_PATH, ReorgWatch, ReorgWatchSpec, ReorgWatchStatus, SourceStatus, VerdictStatus, crd_yaml,
    reason_label,
};
pub use lease::LeaderElector;
pub use metrics::{KUBE_ERRORS_TOTAL, KUBE_LEADER, KubeMetrics, Operation};
pub use publish::{KubePublisher, Published, REPORTING_CONTROLLER, StatusWriter, TransitionEvent};

/// Why a Kubernetes operation failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// The apiserver answered with an error, or the request failed in transport.
    #[error("kubernetes api: {0}")]
    Api(#[from] kube::Error),
    /// No client configuration: neither in-cluster (service account) nor a kubeconfig.
    #[error("no kubernetes client configuration: {0}")]
    Connect(#[source] kube::Error),
    /// No answer within the request timeout.
    #[error("kubernetes api request timed out after {0:?}")]
    Timeout(Duration),
    /// The CRD could not be rendered as YAML.
    #[error("rendering the crd: {0}")]
    Render(String),
}

/// The wall clock, as written into `renewTime`, `eventTime` and the status' times.
/// Injectable so tests run on tokio's paused time.
pub trait Clock: fmt::Debug + Send + Sync + 'static {
    /// Now.
    fn now(&self) -> Timestamp;
}

/// The system's wall clock.
#[derive(Debug, Clone, Copy, Default)]
pub struct SystemClock;

/// Connects with the ambient configuration (`kube::Client::try_default`: the pod's service
/// account in a cluster, else the kubeconfig) and [`start`]s.
pub async fn connect(
    settings: KubeSettings,
    metrics: KubeMetrics,
    shutdown: CancellationToken,
) -> Result<(KubePublisher, JoinHandle<()>), Error> {
    let client = kube::Client::try_default().await.map_err(Error::Connect)?;
    Ok(start(client, settings, metrics, shutdown))
}

/// Spawns the [`LeaderElector`] (it runs until `shutdown`, then releases the Lease: await the
/// handle before exiting) and returns the [`KubePublisher`] that follows its leadership.
pub fn start(
    client: kube::Client,
    settings: KubeSettings,
    metrics: KubeMetrics,
    shutdown: CancellationToken,
) -> (KubePublisher, JoinHandle<()>) {
    start_with_clock(client, settings, metrics, shutdown, Arc::new(SystemClock))
}

/// [`start`] with another wall clock (tests).
pub fn start_with_clock(
    client: kube::Client,
    settings: KubeSettings,
    metrics: KubeMetrics,
    shutdown: CancellationToken,
    clock: Arc<dyn Clock>,
) -> (KubePublisher, JoinHandle<()>) {
    let elector = LeaderElector::new(client.clone(), settings.clone(), metrics.clone())
        .with_clock(clock.clone());
    let publisher =
        KubePublisher::new(client, settings, elector.subscribe(), metrics).with_clock(clock);
    (publisher, tokio::spawn(elector.run(shutdown)))
}

// === impl Error ===

impl Error {
    /// The apiserver answered 409 (Conflict on a stale resourceVersion, or AlreadyExists).
    pub fn is_conflict(&self) -> bool {
        matches!(self, Error::Api(kube::Error::Api(status)) if status.code == 409)
    }

    /// The apiserver answered 404 Not Found.
    pub fn is_not_found(&self) -> bool {
        matches!(self, Error::Api(kube::Error::Api(status)) if status.is_not_found())
    }
}

/// `request` bounded by `limit`.
pub(crate) async fn bounded<T>(
    limit: Duration,
    request: impl Future<Output = Result<T, kube::Error>>,
) -> Result<T, Error> {
    match tokio::time::timeout(limit, request).await {
        Ok(answer) => answer.map_err(Error::Api),
        Err(_) => Err(Error::Timeout(limit)),
    }
}

// === impl SystemClock ===

impl Clock for SystemClock {
    fn now(&self) -> Timestamp {
        Timestamp::now()
    }
}
