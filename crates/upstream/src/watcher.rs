//! The current replica set: a static list, or a DNS name re-resolved every interval.
//!
//! The decision what to publish after a resolution ([`next_set`]) is pure; the loop around it
//! only resolves (with a timeout), logs and publishes.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::sync::Arc;
use std::time::Duration;

use tokio::sync::watch;
use tokio::time::MissedTickBehavior;
use tokio_util::sync::CancellationToken;

use crate::{Rendezvous, Replica, ReplicaSet, UpstreamError};

/// The most replicas taken from one resolution. A DNS answer is outside input: a larger answer
/// is cut to the lowest addresses (the same cut on every frontend, so they still agree).
pub const MAX_REPLICAS: usize = 256;

/// Where the replica set comes from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum ReplicaSource {
    /// A fixed set, published once.
    Static(ReplicaSet),
    /// A name (typically a Kubernetes headless Service) whose addresses are the replicas.
    Dns(DnsTarget),
}

/// A `host:port` to resolve; every address of `host` is a replica listening on `port`.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct DnsTarget {
    host: String,
    port: u16,
}

/// How often and how long to resolve a [`DnsTarget`].
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct WatchOptions {
    /// Time between resolutions.
    pub interval: Duration,
    /// Longest wait for one resolution; past it, the last good set stays.
    pub timeout: Duration,
}

/// Keeps the current replica set and publishes it, as a ready [`Rendezvous`], on a `watch`
/// channel. Readers clone the `Arc` out of the channel rather than hold the borrow.
#[derive(Debug)]
pub struct ReplicaWatcher {
    source: ReplicaSource,
    options: WatchOptions,
    tx: watch::Sender<Arc<Rendezvous>>,
}

/// What a resolution changes.
#[derive(Debug)]
enum Update {
    /// The same set as now.
    Unchanged,
    /// A new set to publish; `truncated` is how many addresses were over [`MAX_REPLICAS`].
    Replace { set: ReplicaSet, truncated: usize },
    /// Keep the current set; the resolution failed or was empty.
    Keep(UpstreamError),
}

// === impl DnsTarget ===

impl DnsTarget {
    /// Parses `host:port` (an IPv6 literal in brackets: `[::1]:7000`). The port must not be 0.
    pub fn parse(target: &str) -> Result<Self, UpstreamError> {
        let invalid = |reason| UpstreamError::InvalidTarget {
            target: target.to_owned(),
            reason,
        };
        let (host, port) = target
            .rsplit_once(':')
            .ok_or(invalid("expected host:port"))?;
        let port: u16 = port
            .parse()
            .map_err(|_| invalid("port is not a number 1-65535"))?;
        if port == 0 {
            return Err(invalid("port is not a number 1-65535"));
        }
        let host = match host.strip_prefix('[') {
            Some(rest) => rest.strip_suffix(']').ok_or(invalid("unclosed '['"))?,
            None if host.contains(':') => return Err(invalid("IPv6 literal needs [brackets]")),
            None => host,
        };
        if host.is_empty() {
            return Err(invalid("empty host"));
        }
        Ok(Self {
            host: host.to_owned(),
            port,
        })
    }

    /// The name (or address literal) to resolve.
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port every replica listens on.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// Resolves once within `timeout`. All addresses are kept here (the resolver has already
    /// allocated them) so that [`next_set`] cuts the same lowest ones on every frontend.
    async fn resolve(&self, timeout: Duration) -> Result<Vec<SocketAddr>, UpstreamError> {
        let lookup = tokio::net::lookup_host((self.host.as_str(), self.port));
        match tokio::time::timeout(timeout, lookup).await {
            Ok(Ok(addrs)) => Ok(addrs.collect()),
            Ok(Err(source)) => Err(UpstreamError::Resolve {
                target: self.to_string(),
                source,
            }),
            Err(_) => Err(UpstreamError::Timeout {
                target: self.to_string(),
                timeout,
            }),
        }
    }
}

impl FromStr for DnsTarget {
    type Err = UpstreamError;

    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Self::parse(s)
    }
}

impl fmt::Display for DnsTarget {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

// === impl WatchOptions ===

impl WatchOptions {
    /// Checks that both durations are non-zero and the timeout fits in the interval.
    pub fn validate(&self) -> Result<(), UpstreamError> {
        if self.interval.is_zero() {
            return Err(UpstreamError::InvalidOptions("interval must be positive"));
        }
        if self.timeout.is_zero() {
            return Err(UpstreamError::InvalidOptions("timeout must be positive"));
        }
        if self.timeout > self.interval {
            return Err(UpstreamError::InvalidOptions(
                "timeout must not exceed the interval",
            ));
        }
        Ok(())
    }
}

impl Default for WatchOptions {
    /// Re-resolve every 5 s, wait at most 2 s: a replica that left stops getting names within
    /// about one interval, and failover covers the gap.
    fn default() -> Self {
        Self {
            interval: Duration::from_secs(5),
            timeout: Duration::from_secs(2),
        }
    }
}

// === impl ReplicaWatcher ===

impl ReplicaWatcher {
    /// A watcher over `source`. A static set is published at once; a DNS set starts empty until
    /// the first good resolution (callers gate readiness on a non-empty set).
    pub fn new(source: ReplicaSource, options: WatchOptions) -> Result<Self, UpstreamError> {
        options.validate()?;
        let initial = match &source {
            ReplicaSource::Static(set) => Rendezvous::new(set.clone()),
            ReplicaSource::Dns(_) => Rendezvous::default(),
        };
        let (tx, _) = watch::channel(Arc::new(initial));
        Ok(Self {
            source,
            options,
            tx,
        })
    }

    /// A receiver of the current set; it sees a change only when the set itself changes.
    pub fn subscribe(&self) -> watch::Receiver<Arc<Rendezvous>> {
        self.tx.subscribe()
    }

    /// Keeps the set current until `shutdown` is cancelled: resolves a DNS source at once and
    /// then every interval; a static source has nothing to refresh and just waits.
    pub async fn run(self, shutdown: CancellationToken) {
        let target = match &self.source {
            ReplicaSource::Static(_) => return shutdown.cancelled().await,
            ReplicaSource::Dns(target) => target,
        };
        let mut ticks = tokio::time::interval(self.options.interval);
        ticks.set_missed_tick_behavior(MissedTickBehavior::Delay);
        loop {
            let outcome = tokio::select! {
                biased;
                () = shutdown.cancelled() => return,
                outcome = async {
                    ticks.tick().await;
                    target.resolve(self.options.timeout).await
                } => outcome,
            };
            let current = self.tx.borrow().replicas().clone();
            match next_set(&current, target, outcome) {
                Update::Unchanged => {}
                Update::Replace { set, truncated } => {
                    if truncated > 0 {
                        tracing::warn!(
                            dns_target = %target,
                            kept = MAX_REPLICAS,
                            "replica target resolved to too many addresses; kept the lowest"
                        );
                    }
                    tracing::info!(
                        dns_target = %target,
                        replicas = set.len(),
                        added = set.iter().filter(|r| !current.contains(r)).count(),
                        removed = current.iter().filter(|r| !set.contains(r)).count(),
                        "replica set changed"
                    );
                    self.tx.send_replace(Arc::new(Rendezvous::new(set)));
                }
                Update::Keep(error) => tracing::warn!(
                    dns_target = %target,
                    %error,
                    replicas = current.len(),
                    "replica resolution failed; keeping the last good set"
                ),
            }
        }
    }
}

/// What to do with one resolution's `outcome`, given the `current` set. Pure.
fn next_set(
    current: &ReplicaSet,
    target: &DnsTarget,
    outcome: Result<Vec<SocketAddr>, UpstreamError>,
) -> Update {
    let addrs = match outcome {
        Ok(addrs) if addrs.is_empty() => {
            return Update::Keep(UpstreamError::Empty {
                target: target.to_string(),
            });
        }
        Ok(addrs) => addrs,
        Err(error) => return Update::Keep(error),
    };
    let mut replicas: Vec<Replica> = ReplicaSet::new(addrs.into_iter().map(Replica::new))
        .iter()
        .copied()
        .collect();
    let truncated = replicas.len().saturating_sub(MAX_REPLICAS);
    replicas.truncate(MAX_REPLICAS);
    let set = ReplicaSet::new(replicas);
    if set == *current {
        Update::Unchanged
    } else {
        Update::Replace { set, truncated }
    }
}

#[cfg(test)]
mod tests;
