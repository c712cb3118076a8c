//! The running judgement: the verdict engine behind a lock, fed by the source readers
//! ([`crate::sources`]), re-evaluated after every accepted attestation and once a second
//! (sources go stale with time), and published on a `watch` channel that the gRPC stream, the
//! publish endpoint and (in Kubernetes) the status writer follow.

use std::time::{SystemTime, UNIX_EPOCH};

use hnsfleet_attestation::{SignedAttestation, TipStatement};
use hnsfleet_hns::params::Network;
use hnsfleet_reorg_verdict::{
    Engine, FollowerTip, FreezeReason, Ignored, NoQuorum, Offered, Rules, SourceConfig, SourceKind,
    Transition, Verdict,
};
use parking_lot::Mutex;
use secp256k1::SecretKey;
use tokio::sync::{broadcast, watch};

use crate::config::WatchdogConfig;
use crate::metrics::Metrics;

/// The judgement and its outputs. Shared (`Arc`) by every task of the service.
pub struct Watchdog {
    engine: Mutex<Engine>,
    names: Vec<String>,
    verdicts: watch::Sender<Verdict>,
    transitions: broadcast::Sender<Transition>,
    metrics: Metrics,
    key: SecretKey,
    network: Network,
}

impl Watchdog {
    /// A watchdog over `config`'s sources (followers first, then attesters: that order is the
    /// source index everywhere), signing its own view with `key`.
    pub fn new(config: &WatchdogConfig, key: SecretKey, metrics: Metrics) -> Watchdog {
        let rules = Rules {
            network_magic: config.network.params().magic,
            quorum: config.effective_quorum(),
            freeze_depth: config.freeze_depth,
            unfreeze_after: config.unfreeze_after,
            max_lag: config.max_lag,
            max_attestation_age: config.max_attestation_age.as_secs(),
            max_clock_skew: config.max_clock_skew.as_secs(),
        };
        let sources: Vec<SourceConfig> = config
            .followers
            .iter()
            .map(|spec| (spec, SourceKind::Follower))
            .chain(
                config
                    .attesters
                    .iter()
                    .map(|spec| (spec, SourceKind::Attester)),
            )
            .map(|(spec, kind)| SourceConfig {
                name: spec.url().to_owned(),
                kind,
                pinned_key: spec.key(),
            })
            .collect();
        let names: Vec<String> = sources.iter().map(|s| s.name.clone()).collect();
        // Every source's counters exist from the start (a rate over a missing series is no
        // rate at all).
        for name in &names {
            for reason in Ignored::ALL
                .iter()
                .map(|r| r.label())
                .chain(["conflicting"])
            {
                metrics.ignored.with_label_values(&[name, reason]);
            }
            metrics.source_errors.with_label_values(&[name]);
        }
        let engine = Engine::new(rules, sources);
        let (verdicts, _) = watch::channel(engine.verdict());
        let (transitions, _) = broadcast::channel(16);
        Watchdog {
            engine: Mutex::new(engine),
            names,
            verdicts,
            transitions,
            metrics,
            key,
            network: config.network,
        }
    }

    /// The network watched.
    pub fn network(&self) -> Network {
        self.network
    }

    /// The current verdict.
    pub fn verdict(&self) -> Verdict {
        self.verdicts.borrow().clone()
    }

    /// Every new verdict from now on (the current one first).
    pub fn subscribe(&self) -> watch::Receiver<Verdict> {
        self.verdicts.subscribe()
    }

    /// Every change of state from now on (for Kubernetes Events).
    pub fn transitions(&self) -> broadcast::Receiver<Transition> {
        self.transitions.subscribe()
    }

    /// An attestation (canonical bytes) read from source `index`: offered to the judgement,
    /// counted when ignored or conflicting, and the verdict re-evaluated when it was news.
    pub fn offer(&self, index: usize, bytes: &[u8]) {
        let now = unix_now();
        let offered = self.engine.lock().offer(index, bytes, now);
        let name = self.name(index);
        match offered {
            Ok(Offered::Repeat { conflicting } | Offered::Recorded { conflicting }) => {
                if conflicting {
                    self.metrics
                        .ignored
                        .with_label_values(&[name, "conflicting"])
                        .inc();
                    tracing::debug!(source = name, "attestation contradicts the agreed chain");
                }
                if matches!(offered, Ok(Offered::Recorded { .. })) {
                    self.evaluate();
                }
            }
            Err(ignored) => self.ignored(index, ignored),
        }
    }

    /// A follower's tip event.
    pub fn follower_tip(&self, index: usize, event: FollowerTip) {
        if event.reorg_depth > 0 {
            tracing::info!(
                source = self.name(index),
                depth = event.reorg_depth,
                height = event.height,
                "follower reorganised"
            );
        }
        self.engine.lock().follower_tip(index, event, unix_now());
    }

    /// Reading source `index` failed.
    pub fn unreachable(&self, index: usize, why: &str) {
        self.metrics
            .source_errors
            .with_label_values(&[self.name(index)])
            .inc();
        self.engine.lock().unreachable(index, why);
    }

    /// Re-evaluates the verdict now, and publishes it when it changed.
    pub fn evaluate(&self) {
        let now = unix_now();
        let (transition, verdict) = {
            let mut engine = self.engine.lock();
            let transition = engine.evaluate(now);
            (transition, engine.verdict())
        };
        self.publish(transition, verdict, now);
    }

    /// Its metrics.
    pub fn metrics(&self) -> &Metrics {
        &self.metrics
    }

    /// Lifts a freeze (operator command, `why` for the log): the verdict after it, and whether
    /// there was a freeze to lift.
    pub fn unfreeze(&self, why: &str) -> Result<(Verdict, bool), NoQuorum> {
        let now = unix_now();
        let (transition, verdict) = {
            let mut engine = self.engine.lock();
            let transition = engine.unfreeze()?;
            (transition, engine.verdict())
        };
        let lifted = transition.is_some();
        if lifted {
            tracing::warn!(reason = why, "unfrozen by an operator");
        }
        self.publish(transition, verdict.clone(), now);
        Ok((verdict, lifted))
    }

    /// The watchdog's own view, signed now: the agreed tip, or `None` without a quorum.
    pub fn attestation(&self) -> Option<SignedAttestation> {
        let tip = self.verdicts.borrow().agreed_tip?;
        let statement = TipStatement {
            signed_at: unix_now(),
            ..tip
        };
        Some(statement.sign(&self.key))
    }

    fn publish(&self, transition: Option<Transition>, verdict: Verdict, now: u64) {
        if let Some(transition) = transition {
            let (state, reason) = match transition {
                Transition::Froze {
                    reason,
                    depth,
                    root,
                } => {
                    tracing::error!(
                        ?reason,
                        depth,
                        root = ?root.map(|r| (r.height, r.tree_root.to_hex())),
                        "FROZEN: resolving against the last agreed root"
                    );
                    let reason = match reason {
                        FreezeReason::DeepReorg => "deep_reorg",
                        FreezeReason::Divergence => "divergence",
                    };
                    ("frozen", reason)
                }
                Transition::Thawed { .. } => {
                    tracing::warn!("OK again: the quorum agreed for unfreeze_after blocks");
                    ("ok", "agreement")
                }
                Transition::Unfrozen { .. } => ("ok", "operator"),
            };
            self.metrics
                .transitions
                .with_label_values(&[state, reason])
                .inc();
            let _ = self.transitions.send(transition);
        }
        self.metrics.publish(&verdict, now);
        self.verdicts.send_if_modified(|current| {
            let changed = current.sequence != verdict.sequence;
            *current = verdict;
            changed
        });
    }

    fn ignored(&self, index: usize, ignored: Ignored) {
        tracing::debug!(source = self.name(index), %ignored, "attestation ignored");
        self.metrics
            .ignored
            .with_label_values(&[self.name(index), ignored.label()])
            .inc();
    }

    fn name(&self, index: usize) -> &str {
        self.names.get(index).map_or("?", String::as_str)
    }
}

/// Unix seconds now.
pub fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}
