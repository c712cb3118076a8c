//! Concurrency per client prefix: at most `per_prefix` slots held at once by the clients of one
//! prefix (open connections, say). A slot is a guard; dropping it frees it.
//!
//! Memory: a prefix has an entry only while it holds a slot, so the table never holds more
//! entries than slots are held, which the caller bounds (a global connection limit taken
//! first).

use std::collections::HashMap;
use std::net::IpAddr;
use std::sync::Arc;

use parking_lot::Mutex;

use crate::{LimitsError, Prefix};

/// Slots per client prefix (see the module docs). Cheap to clone (shared).
#[derive(Debug, Clone)]
pub struct PrefixSlots {
    inner: Arc<Inner>,
}

#[derive(Debug)]
struct Inner {
    per_prefix: usize,
    ipv4_prefix: u8,
    ipv6_prefix: u8,
    held: Mutex<HashMap<Prefix, usize>>,
}

/// One held slot; dropping it gives it back.
#[derive(Debug)]
pub struct Slot {
    inner: Arc<Inner>,
    prefix: Prefix,
}

// === impl PrefixSlots ===

impl PrefixSlots {
    /// `per_prefix` slots for each IPv4 `/ipv4_prefix` and IPv6 `/ipv6_prefix`.
    pub fn new(per_prefix: usize, ipv4_prefix: u8, ipv6_prefix: u8) -> Result<Self, LimitsError> {
        if per_prefix == 0 {
            return Err(LimitsError::Zero("per_prefix"));
        }
        if ipv4_prefix > 32 {
            return Err(LimitsError::PrefixLength("ipv4_prefix"));
        }
        if ipv6_prefix > 128 {
            return Err(LimitsError::PrefixLength("ipv6_prefix"));
        }
        Ok(PrefixSlots {
            inner: Arc::new(Inner {
                per_prefix,
                ipv4_prefix,
                ipv6_prefix,
                held: Mutex::new(HashMap::new()),
            }),
        })
    }

    /// A slot for the client at `ip`, or `None` when its prefix holds all of its slots.
    pub fn try_acquire(&self, ip: IpAddr) -> Option<Slot> {
        let prefix = Prefix::of(ip, self.inner.ipv4_prefix, self.inner.ipv6_prefix);
        let mut held = self.inner.held.lock();
        let count = held.entry(prefix).or_insert(0);
        if *count >= self.inner.per_prefix {
            return None;
        }
        *count += 1;
        drop(held);
        Some(Slot {
            inner: Arc::clone(&self.inner),
            prefix,
        })
    }

    /// Slots the prefix of `ip` holds now.
    pub fn held(&self, ip: IpAddr) -> usize {
        let prefix = Prefix::of(ip, self.inner.ipv4_prefix, self.inner.ipv6_prefix);
        self.inner.held.lock().get(&prefix).copied().unwrap_or(0)
    }

    /// Prefixes holding a slot now.
    pub fn tracked_prefixes(&self) -> usize {
        self.inner.held.lock().len()
    }
}

// === impl Slot ===

impl Drop for Slot {
    fn drop(&mut self) {
        let mut held = self.inner.held.lock();
        if let Some(count) = held.get_mut(&self.prefix) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                held.remove(&self.prefix);
            }
        }
    }
}
