//! One lazily connected channel per replica of the current set, rebuilt only when the set
//! changes, keeping the channel of every replica that stays.

use std::collections::HashMap;
use std::sync::Arc;
use std::time::Duration;

use hnsfleet_upstream::{Rendezvous, Replica};
use parking_lot::RwLock;
use tokio::sync::watch;
use tonic::transport::{Channel, Endpoint};

use crate::ReplicaError;

/// The channels of the replica set last seen, swapped whole when the set changes.
#[derive(Debug)]
pub(crate) struct ChannelPool {
    connect_timeout: Duration,
    current: RwLock<Arc<Channels>>,
}

/// A replica set and a channel to each of its replicas.
#[derive(Debug, Default)]
pub(crate) struct Channels {
    rendezvous: Arc<Rendezvous>,
    /// A channel, or why the replica's address makes no endpoint (kept so every attempt on it
    /// fails the same way, without rebuilding).
    slots: HashMap<Replica, Result<Channel, String>>,
}

// === impl ChannelPool ===

impl ChannelPool {
    /// No channels yet; `connect_timeout` bounds each channel's TCP connect.
    pub(crate) fn new(connect_timeout: Duration) -> Self {
        Self {
            connect_timeout,
            current: RwLock::new(Arc::default()),
        }
    }

    /// The channels of the set now published on `replicas`, and whether they had to be
    /// rebuilt for it. A rebuild keeps the channel of every replica still in the set, makes
    /// lazy ones for replicas that joined and drops those of replicas that left (their
    /// connections close once calls in flight on them end). Must run inside a tokio runtime
    /// (a tonic channel spawns its worker).
    pub(crate) fn channels_for(
        &self,
        replicas: &watch::Receiver<Arc<Rendezvous>>,
    ) -> (Arc<Channels>, bool) {
        {
            let current = self.current.read();
            if Arc::ptr_eq(&current.rendezvous, &replicas.borrow()) {
                return (Arc::clone(&current), false);
            }
        }
        let mut current = self.current.write();
        // Read the set again under the lock: a caller holding an older set cannot rebuild back
        // to it after a newer one went in (published sets only move forward).
        let latest = Arc::clone(&replicas.borrow());
        if Arc::ptr_eq(&current.rendezvous, &latest) {
            return (Arc::clone(&current), false);
        }
        let slots = latest
            .replicas()
            .iter()
            .map(|replica| {
                let slot = match current.slots.get(replica) {
                    Some(kept) => kept.clone(),
                    None => self.connect_lazy(replica),
                };
                (*replica, slot)
            })
            .collect();
        let next = Arc::new(Channels {
            rendezvous: latest,
            slots,
        });
        *current = Arc::clone(&next);
        (next, true)
    }

    fn connect_lazy(&self, replica: &Replica) -> Result<Channel, String> {
        let endpoint = Endpoint::from_shared(format!("http://{}", replica.addr()))
            .map_err(|e| e.to_string())?;
        Ok(endpoint
            .connect_timeout(self.connect_timeout)
            .tcp_nodelay(true)
            .connect_lazy())
    }
}

// === impl Channels ===

impl Channels {
    /// The replica set these channels serve.
    pub(crate) fn rendezvous(&self) -> &Rendezvous {
        &self.rendezvous
    }

    /// The channel to `replica` (a clone: channels are handles to one connection).
    pub(crate) fn get(&self, replica: &Replica) -> Result<Channel, ReplicaError> {
        match self.slots.get(replica) {
            Some(Ok(channel)) => Ok(channel.clone()),
            Some(Err(reason)) => Err(ReplicaError::Address(reason.clone())),
            None => Err(ReplicaError::Address("not in the replica set".to_owned())),
        }
    }

    /// How many replicas have a channel (or a recorded address error).
    #[cfg(test)]
    pub(crate) fn len(&self) -> usize {
        self.slots.len()
    }

    /// Whether `replica` has a slot. (Whether a kept replica kept its connection is shown by
    /// the servers' connection counts in the integration tests: a `Channel` has no identity.)
    #[cfg(test)]
    pub(crate) fn contains(&self, replica: &Replica) -> bool {
        self.slots.contains_key(replica)
    }
}
