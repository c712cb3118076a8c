//! Rendezvous (highest-random-weight) hashing over a set of replicas. Pure: no I/O, no clock.
//!
//! The score of (key, replica) is `xxHash64(seed = h(replica), key)` where
//! `h(replica) = xxHash64(REPLICA_SEED, encode(replica))`. The highest score owns the key; ties
//! (astronomically rare) go to the smaller replica address, so the result depends only on the
//! set, never on the order replicas were listed or resolved in.

use std::cmp::Ordering;
use std::fmt;
use std::net::SocketAddr;

use twox_hash::XxHash64;

/// Seed of the replica identity hash (`"hnsfleet"` in ASCII). Part of the sharding contract:
/// changing it, or [`Replica`]'s encoding, reassigns almost every name at once, and frontends of
/// different versions would then disagree during a rollout.
const REPLICA_SEED: u64 = 0x686e_7366_6c65_6574;

/// A proof-cache replica, identified by its socket address.
///
/// Its identity bytes (what is hashed) are `4 ‖ IPv4 octets ‖ port` or
/// `6 ‖ IPv6 octets ‖ port ‖ scope id`, integers big-endian.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Replica(SocketAddr);

/// A deduplicated, sorted set of replicas: built from any list, in any order, with repeats.
#[derive(Debug, Clone, Default, PartialEq, Eq, Hash)]
pub struct ReplicaSet {
    /// Sorted ascending, no duplicates.
    replicas: Vec<Replica>,
}

/// Rendezvous sharding over one [`ReplicaSet`], with each replica's identity hash computed once.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Rendezvous {
    set: ReplicaSet,
    /// `seeds[i]` is the identity hash of `set.replicas[i]`.
    seeds: Vec<u64>,
}

// === impl Replica ===

impl Replica {
    /// The replica at `addr`.
    pub const fn new(addr: SocketAddr) -> Self {
        Self(addr)
    }

    /// Its socket address.
    pub const fn addr(&self) -> SocketAddr {
        self.0
    }

    /// The identity hash: the seed of this replica's key scores.
    fn identity_hash(&self) -> u64 {
        let mut bytes = [0u8; 1 + 16 + 2 + 4];
        let len = match self.0 {
            SocketAddr::V4(a) => {
                bytes[0] = 4;
                bytes[1..5].copy_from_slice(&a.ip().octets());
                bytes[5..7].copy_from_slice(&a.port().to_be_bytes());
                7
            }
            SocketAddr::V6(a) => {
                bytes[0] = 6;
                bytes[1..17].copy_from_slice(&a.ip().octets());
                bytes[17..19].copy_from_slice(&a.port().to_be_bytes());
                bytes[19..23].copy_from_slice(&a.scope_id().to_be_bytes());
                23
            }
        };
        XxHash64::oneshot(REPLICA_SEED, &bytes[..len])
    }
}

impl From<SocketAddr> for Replica {
    fn from(addr: SocketAddr) -> Self {
        Self(addr)
    }
}

impl fmt::Display for Replica {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        self.0.fmt(f)
    }
}

// === impl ReplicaSet ===

impl ReplicaSet {
    /// The set of the given replicas (duplicates dropped, order ignored).
    pub fn new(replicas: impl IntoIterator<Item = Replica>) -> Self {
        let mut replicas: Vec<Replica> = replicas.into_iter().collect();
        replicas.sort_unstable();
        replicas.dedup();
        Self { replicas }
    }

    /// Number of distinct replicas.
    pub fn len(&self) -> usize {
        self.replicas.len()
    }

    /// Whether there is no replica.
    pub fn is_empty(&self) -> bool {
        self.replicas.is_empty()
    }

    /// Whether `replica` is in the set.
    pub fn contains(&self, replica: &Replica) -> bool {
        self.replicas.binary_search(replica).is_ok()
    }

    /// The replicas in ascending address order.
    pub fn iter(&self) -> std::slice::Iter<'_, Replica> {
        self.replicas.iter()
    }
}

impl FromIterator<Replica> for ReplicaSet {
    fn from_iter<I: IntoIterator<Item = Replica>>(iter: I) -> Self {
        Self::new(iter)
    }
}

impl FromIterator<SocketAddr> for ReplicaSet {
    fn from_iter<I: IntoIterator<Item = SocketAddr>>(iter: I) -> Self {
        Self::new(iter.into_iter().map(Replica))
    }
}

impl<'a> IntoIterator for &'a ReplicaSet {
    type Item = &'a Replica;
    type IntoIter = std::slice::Iter<'a, Replica>;

    fn into_iter(self) -> Self::IntoIter {
        self.iter()
    }
}

// === impl Rendezvous ===

impl Rendezvous {
    /// Sharding over `set`.
    pub fn new(set: ReplicaSet) -> Self {
        let seeds = set.iter().map(Replica::identity_hash).collect();
        Self { set, seeds }
    }

    /// The replica set this shards over.
    pub fn replicas(&self) -> &ReplicaSet {
        &self.set
    }

    /// The replica that owns `key`, or `None` if the set is empty.
    ///
    /// `key` is hashed as given: callers shard DNS names by a canonical form (lowercase, no
    /// trailing dot) so that `Example.` and `example` land on the same replica.
    pub fn pick(&self, key: &[u8]) -> Option<&Replica> {
        // The first in `higher_first` order, without sorting.
        self.scored(key)
            .min_by(higher_first)
            .map(|(_, replica)| replica)
    }

    /// Every replica, best first: the order in which failover and hedging should try them for
    /// `key`. The first is [`Rendezvous::pick`]; dropping any replica from the set leaves the
    /// order of the others unchanged.
    pub fn ranked(&self, key: &[u8]) -> impl ExactSizeIterator<Item = &Replica> + '_ {
        let mut scored: Vec<(u64, &Replica)> = self.scored(key).collect();
        scored.sort_unstable_by(higher_first);
        scored.into_iter().map(|(_, replica)| replica)
    }

    fn scored<'s>(&'s self, key: &[u8]) -> impl Iterator<Item = (u64, &'s Replica)> {
        debug_assert_eq!(self.seeds.len(), self.set.len());
        self.seeds
            .iter()
            .zip(self.set.iter())
            .map(move |(&seed, replica)| (XxHash64::oneshot(seed, key), replica))
    }
}

impl From<ReplicaSet> for Rendezvous {
    fn from(set: ReplicaSet) -> Self {
        Self::new(set)
    }
}

/// Orders scored replicas best first: higher score, then (on a tie) the smaller address.
fn higher_first(a: &(u64, &Replica), b: &(u64, &Replica)) -> Ordering {
    b.0.cmp(&a.0).then_with(|| a.1.cmp(b.1))
}

#[cfg(test)]
mod tests;
