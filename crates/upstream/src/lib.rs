//! How a frontend reaches the proof-cache replicas: which replicas exist, and which one owns a
//! given name.
//!
//! - [`Rendezvous`] shards keys (names) over a [`ReplicaSet`] with rendezvous
//!   (highest-random-weight) hashing: every replica scores every key and the highest score
//!   owns it. A replica leaving moves only the keys it owned; a replica joining takes keys only
//!   for itself. [`Rendezvous::ranked`] gives the full preference order, the order in which
//!   failover and hedging try replicas. This core is pure: no I/O, no clock.
//! - [`ReplicaWatcher`] keeps the current replica set: a static list, or a DNS name (a
//!   Kubernetes headless Service, `host:port`) re-resolved every interval with a timeout. A
//!   failed or empty resolution keeps the last good set. The set is published through a
//!   `tokio::sync::watch` channel.
//!
//! Every frontend must pick the same replica for the same name, whatever its version or
//! process: scores use xxHash64 with fixed seeds over a fixed byte encoding of the replica
//! address (see [`Replica`]), never `std`'s `DefaultHasher` or a per-process random seed.
//!
//! This crate must not: speak to the replicas (no gRPC, no connections), trust a replica's
//! answers (callers re-verify with `hnsfleet-verify`), or know about Handshake or DNS wire
//! formats. Hedging and failover policy built on [`Rendezvous::ranked`] come later.
#![forbid(unsafe_code)]

use std::time::Duration;

use thiserror::Error;

mod rendezvous;
mod watcher;

pub use rendezvous::{Rendezvous, Replica, ReplicaSet};
pub use watcher::{DnsTarget, MAX_REPLICAS, ReplicaSource, ReplicaWatcher, WatchOptions};

/// Why a replica set could not be configured or refreshed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum UpstreamError {
    /// A DNS replica target is not `host:port`.
    #[error("invalid replica target {target:?}: {reason}")]
    InvalidTarget {
        /// The target as given.
        target: String,
        /// What is wrong with it.
        reason: &'static str,
    },
    /// The watch interval or timeout is unusable.
    #[error("invalid replica watch options: {0}")]
    InvalidOptions(&'static str),
    /// The resolver returned an error.
    #[error("resolving {target} failed: {source}")]
    Resolve {
        /// The DNS target.
        target: String,
        /// The resolver's error.
        #[source]
        source: std::io::Error,
    },
    /// The resolver did not answer within the timeout.
    #[error("resolving {target} timed out after {timeout:?}")]
    Timeout {
        /// The DNS target.
        target: String,
        /// The timeout that elapsed.
        timeout: Duration,
    },
    /// The name resolved, but to no address (e.g. no ready pod behind the Service).
    #[error("{target} resolved to no addresses")]
    Empty {
        /// The DNS target.
        target: String,
    },
}
