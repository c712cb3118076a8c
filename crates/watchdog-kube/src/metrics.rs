//! The Kubernetes integration's metrics: API errors by operation, and whether this replica
//! leads. The service registers them into its registry ([`KubeMetrics::register`]).

use prometheus::{IntCounter, IntCounterVec, IntGauge, Opts, Registry};

/// Kubernetes API requests that failed (error answer, transport error or timeout), by
/// operation.
pub const KUBE_ERRORS_TOTAL: &str = "hnsfleet_watchdog_kube_errors_total";
/// 1 while this replica holds the Lease and acts, 0 otherwise.
pub const KUBE_LEADER: &str = "hnsfleet_watchdog_kube_leader";

/// What a failed request was doing: the `operation` label.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Operation {
    /// Reading the Lease.
    LeaseGet,
    /// Creating the absent Lease.
    LeaseCreate,
    /// Renewing or taking over the Lease (replace with its resourceVersion).
    LeaseUpdate,
    /// Clearing the holder on shutdown.
    LeaseRelease,
    /// Writing the ReorgWatch's status.
    StatusPatch,
    /// Creating the absent ReorgWatch.
    ResourceCreate,
    /// Creating an Event.
    EventCreate,
}

/// The metrics, cheap to clone (the counters are shared).
#[derive(Debug, Clone)]
pub struct KubeMetrics {
    errors: IntCounterVec,
    /// One child per [`Operation`], resolved once.
    by_operation: [IntCounter; Operation::ALL.len()],
    leader: IntGauge,
}

// === impl Operation ===

impl Operation {
    /// Every operation, in label order.
    pub const ALL: [Operation; 7] = [
        Operation::LeaseGet,
        Operation::LeaseCreate,
        Operation::LeaseUpdate,
        Operation::LeaseRelease,
        Operation::StatusPatch,
        Operation::ResourceCreate,
        Operation::EventCreate,
    ];

    /// The metric label.
    pub fn label(self) -> &'static str {
        match self {
            Operation::LeaseGet => "lease_get",
            Operation::LeaseCreate => "lease_create",
            Operation::LeaseUpdate => "lease_update",
            Operation::LeaseRelease => "lease_release",
            Operation::StatusPatch => "status_patch",
            Operation::ResourceCreate => "resource_create",
            Operation::EventCreate => "event_create",
        }
    }

    fn index(self) -> usize {
        match self {
            Operation::LeaseGet => 0,
            Operation::LeaseCreate => 1,
            Operation::LeaseUpdate => 2,
            Operation::LeaseRelease => 3,
            Operation::StatusPatch => 4,
            Operation::ResourceCreate => 5,
            Operation::EventCreate => 6,
        }
    }
}

// === impl KubeMetrics ===

impl KubeMetrics {
    /// Creates the metrics and registers them in `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<KubeMetrics> {
        let m = KubeMetrics::unregistered()?;
        registry.register(Box::new(m.errors.clone()))?;
        registry.register(Box::new(m.leader.clone()))?;
        Ok(m)
    }

    /// The metrics, registered nowhere (tests, or a service without a registry).
    pub fn unregistered() -> prometheus::Result<KubeMetrics> {
        let errors = IntCounterVec::new(
            Opts::new(
                KUBE_ERRORS_TOTAL,
                "Kubernetes API requests that failed, by operation",
            ),
            &["operation"],
        )?;
        let leader = IntGauge::new(KUBE_LEADER, "1 while this replica holds the watchdog Lease")?;
        let by_operation = Operation::ALL.map(|op| errors.with_label_values(&[op.label()]));
        Ok(KubeMetrics {
            errors,
            by_operation,
            leader,
        })
    }

    /// Counts a failed request.
    pub fn error(&self, operation: Operation) {
        self.by_operation[operation.index()].inc();
    }

    /// Failed requests so far for `operation`.
    pub fn errors(&self, operation: Operation) -> u64 {
        self.by_operation[operation.index()].get()
    }

    /// Sets the leader gauge.
    pub(crate) fn set_leader(&self, leading: bool) {
        self.leader.set(i64::from(leading));
    }

    /// The leader gauge.
    pub fn leader(&self) -> i64 {
        self.leader.get()
    }
}
