//! Rate limits per client prefix and in all, with memory a stranger cannot grow.
//!
//! A [`PrefixLimiter`] answers "may this client have one more?" for costly work a client can
//! ask for at will: a SIG(0) signature on every Do53 response (the frontend's signing budget),
//! later response rate limiting and new TLS handshakes. Clients are grouped by address prefix
//! (an IPv4 /24 and an IPv6 /56 by default), because one host or subscriber controls a whole
//! prefix. Each prefix has its own budget (GCRA through the `governor` crate: a rate and a
//! burst), and all prefixes share a global budget, which protects the CPU however many
//! prefixes take part. A prefix over its budget does not consume global budget.
//!
//! Memory: at most `max_prefixes` prefixes are tracked. When the table is full, prefixes that
//! are back at a full budget are forgotten; if it is still full, new prefixes share one
//! overflow budget, so an attacker spraying source addresses competes only with itself there
//! while tracked clients keep their own budgets.
//!
//! [`PrefixSlots`] is the concurrency counterpart: how many of something (open connections)
//! one prefix may hold at once, with a guard that gives its slot back when dropped.
//!
//! Pure apart from the clock, which is a parameter (tests use governor's fake clock).
#![forbid(unsafe_code)]

mod slots;

pub use slots::{PrefixSlots, Slot};

use std::net::IpAddr;
use std::num::NonZeroU32;

use std::collections::HashMap;
use std::time::Duration;

use governor::clock::{Clock, DefaultClock, Reference};
use governor::middleware::NoOpMiddleware;
use governor::state::{InMemoryState, NotKeyed};
use governor::{Quota, RateLimiter};
use parking_lot::Mutex;
use thiserror::Error;

/// A client prefix: the address family and the masked address bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum Prefix {
    /// An IPv4 prefix (masked address).
    V4(u32),
    /// An IPv6 prefix (masked address).
    V6(u128),
}

/// A budget: `per_second` on average, up to `burst` at once.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Budget {
    /// Sustained rate.
    pub per_second: u32,
    /// Largest burst.
    pub burst: u32,
}

/// Everything a [`PrefixLimiter`] is built from.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Each client prefix's budget.
    pub per_prefix: Budget,
    /// The budget all clients share.
    pub global: Budget,
    /// IPv4 prefix length clients are grouped by (0..=32).
    pub ipv4_prefix: u8,
    /// IPv6 prefix length clients are grouped by (0..=128).
    pub ipv6_prefix: u8,
    /// Most prefixes tracked at once.
    pub max_prefixes: usize,
}

/// Why limits were refused.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum LimitsError {
    /// A rate or a burst is zero.
    #[error("{0}: rate and burst must be at least 1")]
    Zero(&'static str),
    /// A prefix length is out of range.
    #[error("{0}: prefix length out of range")]
    PrefixLength(&'static str),
    /// No prefix could be tracked.
    #[error("max_prefixes must be at least 1")]
    NoPrefixes,
}

/// The answer for one unit of work.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Verdict {
    /// Within both budgets.
    Allowed,
    /// The client's prefix is over its budget.
    PrefixOverBudget,
    /// The shared budget is exhausted.
    GlobalOverBudget,
}

type Direct<C> = RateLimiter<NotKeyed, InMemoryState, C, NoOpMiddleware<<C as Clock>::Instant>>;

/// How often a full table may be swept for forgettable prefixes (a sweep is O(table)).
const SWEEP_EVERY: Duration = Duration::from_secs(1);

/// Per-prefix and global budgets (see the crate docs).
#[derive(Debug)]
pub struct PrefixLimiter<C: Clock = DefaultClock> {
    limits: Limits,
    clock: C,
    per_prefix: Quota,
    /// Time a drained prefix budget takes to refill: a prefix idle that long is at a full
    /// budget and can be forgotten without changing any verdict.
    refill: Duration,
    table: Mutex<Table<C>>,
    overflow: Direct<C>,
    global: Direct<C>,
}

#[derive(Debug)]
struct Table<C: Clock> {
    prefixes: HashMap<Prefix, Entry<C>>,
    last_sweep: Option<C::Instant>,
}

#[derive(Debug)]
struct Entry<C: Clock> {
    limiter: Direct<C>,
    last_used: C::Instant,
}

// === impl Budget ===

impl Budget {
    fn quota(self, what: &'static str) -> Result<Quota, LimitsError> {
        let rate = NonZeroU32::new(self.per_second).ok_or(LimitsError::Zero(what))?;
        let burst = NonZeroU32::new(self.burst).ok_or(LimitsError::Zero(what))?;
        Ok(Quota::per_second(rate).allow_burst(burst))
    }

    /// Time to refill the whole burst.
    fn refill(self) -> Duration {
        Duration::from_secs_f64(f64::from(self.burst) / f64::from(self.per_second.max(1)))
    }
}

// === impl Limits ===

impl Limits {
    /// Checks every value.
    pub fn validate(&self) -> Result<(), LimitsError> {
        self.per_prefix.quota("per_prefix")?;
        self.global.quota("global")?;
        if self.ipv4_prefix > 32 {
            return Err(LimitsError::PrefixLength("ipv4_prefix"));
        }
        if self.ipv6_prefix > 128 {
            return Err(LimitsError::PrefixLength("ipv6_prefix"));
        }
        if self.max_prefixes == 0 {
            return Err(LimitsError::NoPrefixes);
        }
        Ok(())
    }

    /// The prefix `ip` belongs to (IPv4-mapped IPv6 addresses count as IPv4).
    pub fn prefix_of(&self, ip: IpAddr) -> Prefix {
        Prefix::of(ip, self.ipv4_prefix, self.ipv6_prefix)
    }
}

// === impl Prefix ===

impl Prefix {
    /// The prefix of `ip` with `ipv4_prefix` or `ipv6_prefix` leading bits kept (lengths over
    /// 32 or 128 keep every bit); IPv4-mapped IPv6 addresses count as IPv4.
    pub fn of(ip: IpAddr, ipv4_prefix: u8, ipv6_prefix: u8) -> Prefix {
        match ip.to_canonical() {
            IpAddr::V4(v4) => {
                let mask = u32::MAX
                    .checked_shl(32u32.saturating_sub(u32::from(ipv4_prefix)))
                    .unwrap_or(0);
                Prefix::V4(u32::from(v4) & mask)
            }
            IpAddr::V6(v6) => {
                let mask = u128::MAX
                    .checked_shl(128u32.saturating_sub(u32::from(ipv6_prefix)))
                    .unwrap_or(0);
                Prefix::V6(u128::from(v6) & mask)
            }
        }
    }
}

// === impl PrefixLimiter ===

impl PrefixLimiter<DefaultClock> {
    /// A limiter on the system's monotonic clock.
    pub fn new(limits: Limits) -> Result<Self, LimitsError> {
        Self::with_clock(limits, DefaultClock::default())
    }
}

impl<C: Clock + Clone> PrefixLimiter<C> {
    /// A limiter on `clock`.
    pub fn with_clock(limits: Limits, clock: C) -> Result<Self, LimitsError> {
        limits.validate()?;
        let per_prefix = limits.per_prefix.quota("per_prefix")?;
        Ok(PrefixLimiter {
            per_prefix,
            refill: limits.per_prefix.refill(),
            table: Mutex::new(Table {
                prefixes: HashMap::new(),
                last_sweep: None,
            }),
            overflow: RateLimiter::direct_with_clock(per_prefix, clock.clone()),
            global: RateLimiter::direct_with_clock(limits.global.quota("global")?, clock.clone()),
            clock,
            limits,
        })
    }

    /// Takes one unit for the client at `ip`: from its prefix's budget (or the overflow budget
    /// when the table is full), then from the global one.
    pub fn check(&self, ip: IpAddr) -> Verdict {
        if !self.check_prefix(self.limits.prefix_of(ip)) {
            return Verdict::PrefixOverBudget;
        }
        if self.global.check().is_err() {
            return Verdict::GlobalOverBudget;
        }
        Verdict::Allowed
    }

    /// Prefixes tracked now.
    pub fn tracked_prefixes(&self) -> usize {
        self.table.lock().prefixes.len()
    }

    fn check_prefix(&self, prefix: Prefix) -> bool {
        let now = self.clock.now();
        let mut table = self.table.lock();
        if let Some(entry) = table.prefixes.get_mut(&prefix) {
            entry.last_used = now;
            return entry.limiter.check().is_ok();
        }
        if table.prefixes.len() >= self.limits.max_prefixes {
            self.sweep(&mut table, now);
        }
        if table.prefixes.len() >= self.limits.max_prefixes {
            drop(table);
            return self.overflow.check().is_ok();
        }
        let limiter = RateLimiter::direct_with_clock(self.per_prefix, self.clock.clone());
        let allowed = limiter.check().is_ok();
        table.prefixes.insert(
            prefix,
            Entry {
                limiter,
                last_used: now,
            },
        );
        allowed
    }

    /// Forgets prefixes idle for a whole refill (they are at a full budget), at most once per
    /// [`SWEEP_EVERY`].
    fn sweep(&self, table: &mut Table<C>, now: C::Instant) {
        if table
            .last_sweep
            .is_some_and(|last| Duration::from(now.duration_since(last)) < SWEEP_EVERY)
        {
            return;
        }
        table.last_sweep = Some(now);
        let refill = self.refill;
        table
            .prefixes
            .retain(|_, e| Duration::from(now.duration_since(e.last_used)) < refill);
    }
}

#[cfg(test)]
mod tests;
