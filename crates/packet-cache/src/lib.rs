//! A packet cache: encoded DNS responses stored under the bytes of the query that produced
//! them, so a repeated query is answered without decoding it, looking anything up or encoding
//! records again (the idea of dnsdist's packet cache).
//!
//! The key is the query as received minus its ID, behind a one-byte `variant` the caller
//! chooses (which service and transport answered: their responses differ). Everything else
//! the response depends on — the name as spelled, RD, CD, AD, the EDNS0 payload size and DO
//! bit, options — is in those bytes, so equal keys get equal answers. The name's case is part
//! of the key on purpose: an answer may repeat the asker's spelling beyond the question (the
//! HNS root, like hsd's, writes record data relative to the name as asked), so a response is
//! only replayed to the same spelling (a client randomising case, DNS 0x20, just misses).
//!
//! A hit is a copy of the stored response with two things patched: the query's ID, and every
//! record's TTL lowered by the time the entry has been stored. An entry lives for at most 9/10 of the smallest TTL in
//! it (and at most `max_lifetime`), so the last tenth of a TTL is left to the cache behind it,
//! which uses those queries to prefetch popular answers.
//!
//! Only plain one-question queries (QUERY opcode, no TC) of at most [`MAX_KEY`] bytes have a
//! key; only NOERROR and NXDOMAIN responses that parse to their last byte and carry at least
//! one record with a TTL are stored. Pure (no I/O), bounded in bytes, and safe with hostile bytes.
//!
//! The map is `quick_cache`'s sharded one, not moka (which the proof and answer caches use):
//! a hit here is the whole work of answering, and quick_cache's look-up is a hash, a shard's
//! read lock and a reference bit, where moka also records every read for its policy (a
//! channel send, later replayed) — about 4 % of a core at 375k answers/s. Its eviction
//! (CLOCK-Pro with ghost entries) keeps entries asked more than once when a flood of
//! one-off queries arrives, as moka's TinyLFU did. Expired entries are not swept: a look-up
//! treats them as absent and eviction reclaims their room.
#![forbid(unsafe_code)]

mod wire;

#[cfg(test)]
mod tests;

use std::sync::Arc;
use std::time::{Duration, Instant};

use quick_cache::Weighter;
use quick_cache::sync::Cache;

/// The smallest TTL of the answer and authority records of an encoded one-question response
/// (OPT and SIG(0) records aside), read from the wire without decoding the message: what an
/// HTTP `cache-control: max-age` may be (RFC 8484 §5.1). `None` when those sections have no
/// record or do not parse.
pub fn answer_min_ttl(response: &[u8]) -> Option<u32> {
    wire::answer_min_ttl(response)
}

/// Longest query (in bytes, after the ID, plus the variant byte) that has a key.
pub const MAX_KEY: usize = 512;

/// Why a response was not stored.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NotStored {
    /// The cache is disabled (capacity 0).
    Disabled,
    /// Not a response, truncated, or an rcode other than NOERROR/NXDOMAIN.
    NotCacheable,
    /// The response's question is not the query's.
    OtherQuestion,
    /// The response does not parse to its last byte.
    Malformed,
    /// No record with a TTL, or the smallest TTL is too short to be worth storing.
    TooShort,
}

/// The cache key of one query, built on the stack.
pub struct Key {
    bytes: [u8; MAX_KEY],
    len: usize,
    question_end: usize,
}

impl Key {
    /// The key of `query` under `variant`, or `None` when the query is not cacheable (not a
    /// plain one-question query, or longer than [`MAX_KEY`]).
    pub fn of(variant: u8, query: &[u8]) -> Option<Key> {
        if query.len() < wire::HEADER || query.len() > MAX_KEY {
            return None;
        }
        let flags = query[2];
        // QR must be 0, opcode QUERY (0), TC 0.
        if flags & 0b1111_1010 != 0 {
            return None;
        }
        let question_end = wire::question_end(query)?;
        let mut bytes = [0u8; MAX_KEY];
        bytes[0] = variant;
        // Query offset `o` is key offset `o - 1`.
        let len = query.len() - 1;
        bytes[1..len].copy_from_slice(&query[2..]);
        Some(Key {
            bytes,
            len,
            question_end,
        })
    }

    /// The key's bytes.
    pub fn as_bytes(&self) -> &[u8] {
        &self.bytes[..self.len]
    }

    /// The question (name, type, class) as asked.
    fn question(&self) -> &[u8] {
        &self.bytes[wire::HEADER - 1..self.question_end - 1]
    }
}

/// One stored response.
struct Entry<M> {
    response: Box<[u8]>,
    ttl_offsets: Box<[u16]>,
    ttls: Box<[u32]>,
    question_end: usize,
    stored: Instant,
    lifetime: Duration,
    meta: M,
}

/// An entry's weight: the bytes it holds, with its bookkeeping.
#[derive(Clone, Copy)]
struct Bytes;

impl<M> Weighter<Box<[u8]>, Arc<Entry<M>>> for Bytes {
    fn weight(&self, key: &Box<[u8]>, entry: &Arc<Entry<M>>) -> u64 {
        (key.len() + entry.response.len() + entry.ttl_offsets.len() * 6) as u64
            + (std::mem::size_of::<Entry<M>>() + 64) as u64
    }
}

/// A typical entry's weight, to size the map's table from the capacity in bytes.
const TYPICAL_ENTRY: u64 = 400;

/// How big and how long-lived the cache is.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Bytes of keys and responses held at most; 0 disables the cache.
    pub capacity_bytes: u64,
    /// Longest an entry lives, whatever its TTLs.
    pub max_lifetime: Duration,
}

/// The stored entries: key bytes to entry.
type Entries<M> = Cache<Box<[u8]>, Arc<Entry<M>>, Bytes>;

/// The cache. `M` is whatever the caller wants back with a hit (e.g. metric handles for the
/// answer's labels). Cheap to clone (shared).
#[derive(Clone)]
pub struct PacketCache<M> {
    entries: Option<Arc<Entries<M>>>,
    max_lifetime: Duration,
}

impl<M: Clone + Send + Sync + 'static> PacketCache<M> {
    /// An empty cache within `limits`.
    pub fn new(limits: Limits) -> PacketCache<M> {
        let entries = (limits.capacity_bytes > 0).then(|| {
            let estimated = usize::try_from(limits.capacity_bytes / TYPICAL_ENTRY)
                .unwrap_or(usize::MAX)
                .max(16);
            Arc::new(Entries::<M>::with_weighter(
                estimated,
                limits.capacity_bytes,
                Bytes,
            ))
        });
        PacketCache {
            entries,
            max_lifetime: limits.max_lifetime,
        }
    }

    /// Whether the cache stores anything.
    pub fn is_enabled(&self) -> bool {
        self.entries.is_some()
    }

    /// The stored answer to `query` (whose key is `key`), patched for it, with its metadata.
    pub fn get(&self, key: &Key, query: &[u8]) -> Option<(Vec<u8>, M)> {
        self.get_at(key, query, Instant::now(), 0)
    }

    /// [`PacketCache::get`] at the time `now` (a caller that reads the clock anyway passes its
    /// reading), with room for `spare` more bytes in the returned buffer (a record the caller
    /// appends, such as a SIG(0), then needs no second allocation).
    pub fn get_at(
        &self,
        key: &Key,
        query: &[u8],
        now: Instant,
        spare: usize,
    ) -> Option<(Vec<u8>, M)> {
        let entry = self.entries.as_ref()?.get(key.as_bytes())?;
        let age = now.saturating_duration_since(entry.stored);
        if age >= entry.lifetime || entry.question_end != key.question_end {
            return None;
        }
        let id = query.get(..2)?;
        let mut out = Vec::with_capacity(entry.response.len() + spare);
        out.extend_from_slice(id);
        out.extend_from_slice(entry.response.get(2..)?);
        let age = u32::try_from(age.as_secs()).unwrap_or(u32::MAX);
        if age > 0 {
            for (&offset, &ttl) in entry.ttl_offsets.iter().zip(entry.ttls.iter()) {
                let at = usize::from(offset);
                if let Some(field) = out.get_mut(at..at + 4) {
                    field.copy_from_slice(&ttl.saturating_sub(age).to_be_bytes());
                }
            }
        }
        Some((out, entry.meta.clone()))
    }

    /// Stores `response` as the answer to the query whose key is `key`.
    pub fn insert(&self, key: &Key, response: &[u8], meta: M) -> Result<(), NotStored> {
        let entries = self.entries.as_ref().ok_or(NotStored::Disabled)?;
        let entry = self.entry(key, response, meta, Instant::now())?;
        entries.insert(key.as_bytes().into(), Arc::new(entry));
        Ok(())
    }

    /// Checks `response` and builds its entry.
    fn entry(
        &self,
        key: &Key,
        response: &[u8],
        meta: M,
        now: Instant,
    ) -> Result<Entry<M>, NotStored> {
        let flags = *response.get(2).ok_or(NotStored::Malformed)?;
        let rcode = response.get(3).ok_or(NotStored::Malformed)? & 0x0F;
        // QR must be 1, TC 0; NOERROR or NXDOMAIN.
        if flags & 0x80 == 0 || flags & 0x02 != 0 || !(rcode == 0 || rcode == 3) {
            return Err(NotStored::NotCacheable);
        }
        let question_end = wire::question_end(response).ok_or(NotStored::OtherQuestion)?;
        if response.get(wire::HEADER..question_end) != Some(key.question()) {
            return Err(NotStored::OtherQuestion);
        }
        let (ttl_offsets, min_ttl) =
            wire::record_ttls(response, question_end).ok_or(NotStored::Malformed)?;
        let lifetime = Duration::from_secs(u64::from(min_ttl.ok_or(NotStored::TooShort)?) * 9 / 10)
            .min(self.max_lifetime);
        if lifetime < Duration::from_secs(1) {
            return Err(NotStored::TooShort);
        }
        let ttls = ttl_offsets
            .iter()
            .map(|&at| wire::u32_at(response, usize::from(at)).unwrap_or(0))
            .collect();
        Ok(Entry {
            response: response.into(),
            ttl_offsets: ttl_offsets.into(),
            ttls,
            question_end,
            stored: now,
            lifetime,
            meta,
        })
    }

    /// Bytes the entries hold now, as weighed against the capacity.
    pub fn weight(&self) -> u64 {
        self.entries.as_ref().map_or(0, |entries| entries.weight())
    }

    /// Forgets every entry (e.g. when the data behind them changed).
    pub fn clear(&self) {
        if let Some(entries) = &self.entries {
            entries.clear();
        }
    }
}
