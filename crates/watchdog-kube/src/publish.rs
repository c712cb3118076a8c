//! The verdict into Kubernetes: the ReorgWatch's status (a merge patch of the status
//! subresource, creating the object when absent) and an `events.k8s.io/v1` Event per
//! transition ([`StatusWriter`]), done only while this replica leads ([`KubePublisher`]).

use std::collections::VecDeque;
use std::sync::Arc;

use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_reorg_verdict::{Transition, Verdict};
use k8s_openapi::api::core::v1::ObjectReference;
use k8s_openapi::api::events::v1::Event;
use k8s_openapi::apimachinery::pkg::apis::meta::v1::{MicroTime, ObjectMeta};
use k8s_openapi::jiff::Timestamp;
use kube::api::{Api, Patch, PatchParams, PostParams};
use kube::{Client, Resource};
use tokio::sync::watch;
use tracing::{debug, warn};

use crate::crd::reason_label;
use crate::metrics::{KubeMetrics, Operation};
use crate::{
    Clock, Error, KubeSettings, ReorgWatch, ReorgWatchSpec, ReorgWatchStatus, SystemClock,
    VerdictStatus, bounded,
};

/// The Events' `reportingController`.
pub const REPORTING_CONTROLLER: &str = "hnsfleet.io/reorg-watchdog";
/// Transitions kept for a later publication when their Event could not be created.
const MAX_PENDING_EVENTS: usize = 16;

/// A transition as its Event tells it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct TransitionEvent {
    /// `Froze`, `Thawed` or `Unfrozen`.
    pub reason: &'static str,
    /// `Warning` for `Froze`, else `Normal`.
    pub kind: &'static str,
    /// What was done: `Freeze`, `Thaw` or `Unfreeze`.
    pub action: &'static str,
    /// The human message (depth, root).
    pub note: String,
}

/// Writes the status and Events, unconditionally: [`KubePublisher`] decides when.
#[derive(Debug)]
pub struct StatusWriter {
    watches: Api<ReorgWatch>,
    events: Api<Event>,
    namespace: String,
    settings: KubeSettings,
    clock: Arc<dyn Clock>,
    metrics: KubeMetrics,
    /// The ReorgWatch's uid, once an answer named it (the Events' `regarding`).
    uid: Option<String>,
    /// When this replica last saw the state change (RFC 3339).
    last_transition_time: Option<String>,
}

/// What [`KubePublisher::publish`] did.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Published {
    /// Nothing: this replica does not lead.
    NotLeader,
    /// Nothing: the status is the one already written and no Event is due.
    Unchanged,
    /// Wrote.
    Written {
        /// The status was patched.
        status: bool,
        /// Events created.
        events: usize,
    },
}

/// The service's one entry point: publishes each verdict while this replica leads.
#[derive(Debug)]
pub struct KubePublisher {
    writer: StatusWriter,
    leader: watch::Receiver<bool>,
    /// The status last written while leading (none after leadership was lost: a new term
    /// writes again).
    last_written: Option<ReorgWatchStatus>,
    /// Transitions whose Event is still to be created, with their time.
    pending: VecDeque<(TransitionEvent, Timestamp)>,
}

// === impl TransitionEvent ===

impl From<&Transition> for TransitionEvent {
    fn from(transition: &Transition) -> Self {
        let root = |root: &Option<SafeRoot>| match root {
            Some(root) => format!("root {} (height {})", root.tree_root, root.height),
            None => "no agreed root".to_owned(),
        };
        match transition {
            Transition::Froze {
                reason,
                depth,
                root: frozen,
            } => TransitionEvent {
                reason: "Froze",
                kind: "Warning",
                action: "Freeze",
                note: format!(
                    "froze: {} {depth} blocks deep; resolving against {} only",
                    reason_label(*reason).replace('_', " "),
                    root(frozen)
                ),
            },
            Transition::Thawed { root: trusted } => TransitionEvent {
                reason: "Thawed",
                kind: "Normal",
                action: "Thaw",
                note: format!(
                    "thawed: a quorum agreed on one chain again; resolving against {}",
                    root(trusted)
                ),
            },
            Transition::Unfrozen { root: trusted } => TransitionEvent {
                reason: "Unfrozen",
                kind: "Normal",
                action: "Unfreeze",
                note: format!(
                    "unfrozen by an operator; resolving against {}",
                    root(trusted)
                ),
            },
        }
    }
}

// === impl StatusWriter ===

impl StatusWriter {
    /// A writer for the ReorgWatch `settings.resource_name` in `settings.namespace` (else
    /// the client's namespace).
    pub fn new(client: Client, settings: KubeSettings, metrics: KubeMetrics) -> StatusWriter {
        let namespace = settings
            .namespace
            .clone()
            .unwrap_or_else(|| client.default_namespace().to_owned());
        StatusWriter {
            watches: Api::namespaced(client.clone(), &namespace),
            events: Api::namespaced(client, &namespace),
            namespace,
            settings,
            clock: Arc::new(SystemClock),
            metrics,
            uid: None,
            last_transition_time: None,
        }
    }

    /// Uses `clock` for the Events' and the status' times.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> StatusWriter {
        self.clock = clock;
        self
    }

    /// The status object for `verdict`, written by this replica.
    pub fn status(&self, verdict: &VerdictStatus) -> ReorgWatchStatus {
        verdict.to_status(&self.settings.identity, self.last_transition_time.clone())
    }

    /// Notes that the state changed at `at` (the status' `lastTransitionTime`).
    pub fn note_transition(&mut self, at: Timestamp) {
        self.last_transition_time = Some(at.to_string());
    }

    /// Writes `verdict` as the ReorgWatch's status (see [`StatusWriter::write`]).
    pub async fn write_status(&mut self, verdict: &VerdictStatus) -> Result<(), Error> {
        let status = self.status(verdict);
        self.write(&status).await
    }

    /// Merge-patches `/apis/hnsfleet.io/v1alpha1/namespaces/{ns}/reorgwatches/{name}/status`
    /// with `status`; on 404 creates the ReorgWatch (409 AlreadyExists: a racing replica did)
    /// and patches again. Failures are counted and logged.
    pub async fn write(&mut self, status: &ReorgWatchStatus) -> Result<(), Error> {
        match self.patch(status).await {
            Err(error) if error.is_not_found() => {}
            Err(error) => return Err(self.failed(Operation::StatusPatch, error)),
            Ok(()) => return Ok(()),
        }
        let object = ReorgWatch::new(
            &self.settings.resource_name,
            ReorgWatchSpec {
                network: self.settings.network.clone(),
            },
        );
        let limit = self.settings.request_timeout;
        match bounded(limit, self.watches.create(&PostParams::default(), &object)).await {
            Ok(created) => {
                debug!(resource = %self.settings.resource_name, "created the reorgwatch");
                self.uid = created.metadata.uid;
            }
            Err(error) if error.is_conflict() => {}
            Err(error) => return Err(self.failed(Operation::ResourceCreate, error)),
        }
        self.patch(status)
            .await
            .map_err(|error| self.failed(Operation::StatusPatch, error))
    }

    async fn patch(&mut self, status: &ReorgWatchStatus) -> Result<(), Error> {
        let body = serde_json::json!({ "status": status });
        let (params, patch) = (PatchParams::default(), Patch::Merge(&body));
        let request = self
            .watches
            .patch_status(&self.settings.resource_name, &params, &patch);
        let written = bounded(self.settings.request_timeout, request).await?;
        if written.metadata.uid.is_some() {
            self.uid = written.metadata.uid;
        }
        Ok(())
    }

    /// Creates the Event for a transition at `at`, regarding the ReorgWatch. Failures are
    /// counted and logged.
    pub async fn create_event(
        &mut self,
        event: &TransitionEvent,
        at: Timestamp,
    ) -> Result<(), Error> {
        let name = &self.settings.resource_name;
        let object = Event {
            metadata: ObjectMeta {
                // Unique per transition, and sorted by time like the Events kubectl lists.
                name: Some(format!("{name}.{:x}", at.as_nanosecond())),
                namespace: Some(self.namespace.clone()),
                ..ObjectMeta::default()
            },
            event_time: Some(MicroTime(at)),
            reason: Some(event.reason.to_owned()),
            type_: Some(event.kind.to_owned()),
            action: Some(event.action.to_owned()),
            note: Some(event.note.clone()),
            regarding: Some(ObjectReference {
                api_version: Some(ReorgWatch::api_version(&()).into_owned()),
                kind: Some(ReorgWatch::kind(&()).into_owned()),
                name: Some(name.clone()),
                namespace: Some(self.namespace.clone()),
                uid: self.uid.clone(),
                ..ObjectReference::default()
            }),
            reporting_controller: Some(REPORTING_CONTROLLER.to_owned()),
            reporting_instance: Some(self.settings.identity.clone()),
            ..Event::default()
        };
        let limit = self.settings.request_timeout;
        match bounded(limit, self.events.create(&PostParams::default(), &object)).await {
            Ok(_) => Ok(()),
            Err(error) => Err(self.failed(Operation::EventCreate, error)),
        }
    }

    fn failed(&self, operation: Operation, error: Error) -> Error {
        self.metrics.error(operation);
        warn!(resource = %self.settings.resource_name, operation = operation.label(), %error, "kubernetes request failed");
        error
    }
}

// === impl KubePublisher ===

impl KubePublisher {
    /// A publisher acting while `leader` (from [`LeaderElector::subscribe`](crate::LeaderElector::subscribe)) is `true`.
    pub fn new(
        client: Client,
        settings: KubeSettings,
        leader: watch::Receiver<bool>,
        metrics: KubeMetrics,
    ) -> KubePublisher {
        KubePublisher {
            writer: StatusWriter::new(client, settings, metrics),
            leader,
            last_written: None,
            pending: VecDeque::new(),
        }
    }

    /// Uses `clock` for the Events' and the status' times.
    pub fn with_clock(mut self, clock: Arc<dyn Clock>) -> KubePublisher {
        self.writer = self.writer.with_clock(clock);
        self
    }

    /// Publishes `verdict`, and `transition` (the one [`Engine::evaluate`] returned with it)
    /// as an Event, if this replica leads; otherwise does nothing (and forgets what it wrote
    /// in an earlier term). A failure is logged and counted; the next call retries: the
    /// status it writes then is the newest, and Events not yet created are created then.
    ///
    /// [`Engine::evaluate`]: hnsfleet_reorg_verdict::Engine::evaluate
    pub async fn publish(
        &mut self,
        verdict: &Verdict,
        transition: Option<Transition>,
    ) -> Result<Published, Error> {
        let event = transition.as_ref().map(TransitionEvent::from);
        self.publish_status(&VerdictStatus::from(verdict), event)
            .await
    }

    /// [`KubePublisher::publish`] in the crate's own terms.
    pub async fn publish_status(
        &mut self,
        verdict: &VerdictStatus,
        transition: Option<TransitionEvent>,
    ) -> Result<Published, Error> {
        if !self.leading() {
            debug!(
                sequence = verdict.sequence,
                transition = transition.as_ref().map(|t| t.reason),
                "not leading: neither the reorgwatch status nor events are written"
            );
            self.last_written = None;
            self.pending.clear();
            return Ok(Published::NotLeader);
        }
        if let Some(event) = transition {
            let at = self.writer.clock.now();
            self.writer.note_transition(at);
            if self.pending.len() == MAX_PENDING_EVENTS {
                warn!("too many events not created: dropping the oldest");
                self.pending.pop_front();
            }
            self.pending.push_back((event, at));
        }
        let status = self.writer.status(verdict);
        let status_due = self.last_written.as_ref() != Some(&status);
        if !status_due && self.pending.is_empty() {
            return Ok(Published::Unchanged);
        }
        if status_due {
            self.writer.write(&status).await?;
            self.last_written = Some(status);
        }
        let mut events = 0;
        while !self.pending.is_empty() && self.leading() {
            let Some((event, at)) = self.pending.front() else {
                break;
            };
            self.writer.create_event(event, *at).await?;
            self.pending.pop_front();
            events += 1;
        }
        Ok(Published::Written {
            status: status_due,
            events,
        })
    }

    /// Whether this replica leads; a change of leadership since the last look (even a lost
    /// and regained term) makes the next status be written again, whatever the other
    /// leader wrote meanwhile.
    fn leading(&mut self) -> bool {
        if self.leader.has_changed().unwrap_or(false) {
            self.last_written = None;
        }
        *self.leader.borrow_and_update()
    }
}
