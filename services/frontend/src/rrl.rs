//! Response rate limiting on UDP (in the spirit of BIND's RRL): a spoofed source cannot turn
//! the resolver into an amplifier aimed at a victim, and a flood costs almost nothing.
//!
//! Every datagram is counted against its client prefix (IPv4 /24, IPv6 /56, as the SIG(0)
//! budget) before anything else is done with it — before the packet cache, any decoding,
//! resolution or signing — so a datagram over the limit costs one table look-up. The key is
//! the prefix alone, not (prefix, name, rcode) as BIND's authoritative RRL: a resolver's
//! attacker can vary names at will, and what matters is the bandwidth one victim prefix can be
//! sent. Over the limit, every `slip`-th datagram gets an empty TC=1 reply built from the
//! query's bytes ([`crate::wire::slip_reply`], never larger than the query), so a real client
//! behind that prefix retries over TCP, which proves its address and is not rate limited this
//! way; the others are dropped. Both are counted (`hnsfleet_frontend_rrl_total{action}`).
//!
//! Memory is bounded by the limiter (`hnsfleet-ratelimit`): at most [`MAX_PREFIXES`] prefixes,
//! the rest sharing one overflow budget.

use std::net::IpAddr;
use std::sync::atomic::{AtomicU32, Ordering};

use hnsfleet_ratelimit::{Budget, Limits, LimitsError, PrefixLimiter, Verdict};
use prometheus::IntCounter;

use crate::metrics::Metrics;

/// Client prefixes tracked.
pub const MAX_PREFIXES: usize = 100_000;
/// The global budget: RRL limits per prefix only, so this is far above what one frontend can
/// answer (the limiter wants one).
pub(crate) const UNLIMITED: u32 = 1_000_000_000;

/// What to do with a datagram.
#[derive(Debug, PartialEq, Eq)]
pub enum Admit {
    /// Within the limit: answer it.
    Answer,
    /// Over the limit: send this empty TC=1 reply instead.
    Slip(Vec<u8>),
    /// Over the limit: send nothing.
    Drop,
}

/// The limits: responses per second and burst per client prefix, and the slip ratio.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RrlLimits {
    /// Responses per second per prefix.
    pub rate: u32,
    /// Responses per prefix in a burst.
    pub burst: u32,
    /// Every `slip`-th over-limit datagram gets a TC=1 reply (0: none does).
    pub slip: u32,
}

/// Response rate limiting (see the module docs).
#[derive(Debug)]
pub struct Rrl {
    limiter: PrefixLimiter,
    slip: u32,
    /// Over-limit datagrams seen, modulo `slip`.
    over: AtomicU32,
    slipped: IntCounter,
    dropped: IntCounter,
}

// === impl Rrl ===

impl Rrl {
    /// RRL with `limits`, counting into `metrics`.
    pub fn new(limits: RrlLimits, metrics: &Metrics) -> Result<Rrl, LimitsError> {
        let limiter = PrefixLimiter::new(Limits {
            per_prefix: Budget {
                per_second: limits.rate,
                burst: limits.burst,
            },
            global: Budget {
                per_second: UNLIMITED,
                burst: UNLIMITED,
            },
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            max_prefixes: MAX_PREFIXES,
        })?;
        Ok(Rrl {
            limiter,
            slip: limits.slip,
            over: AtomicU32::new(0),
            slipped: metrics.rrl.with_label_values(&["slip"]),
            dropped: metrics.rrl.with_label_values(&["drop"]),
        })
    }

    /// Counts the datagram `bytes` from `client`; what to do with it.
    pub fn admit(&self, bytes: &[u8], client: IpAddr) -> Admit {
        if self.limiter.check(client) == Verdict::Allowed {
            return Admit::Answer;
        }
        if self.slip_this_one()
            && let Some(reply) = crate::wire::slip_reply(bytes)
        {
            self.slipped.inc();
            return Admit::Slip(reply);
        }
        self.dropped.inc();
        Admit::Drop
    }

    /// Whether this over-limit datagram is the `slip`-th.
    fn slip_this_one(&self) -> bool {
        if self.slip == 0 {
            return false;
        }
        let slip = self.slip;
        let previous = self
            .over
            .fetch_update(Ordering::Relaxed, Ordering::Relaxed, |n| {
                Some((n + 1) % slip)
            })
            .unwrap_or(0);
        previous + 1 == slip
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used, clippy::expect_used)]

    use std::net::Ipv4Addr;

    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::{Name, RecordType};

    use super::*;

    fn query() -> Vec<u8> {
        let mut message = Message::query();
        message.add_query(Query::query(Name::from_ascii("a.").unwrap(), RecordType::A));
        message.to_vec().unwrap()
    }

    fn ip(c: u8, d: u8) -> IpAddr {
        IpAddr::V4(Ipv4Addr::new(192, 0, c, d))
    }

    #[test]
    fn over_the_burst_every_second_datagram_slips_and_the_rest_drop() {
        let metrics = Metrics::unregistered();
        let limits = RrlLimits {
            rate: 1,
            burst: 10,
            slip: 2,
        };
        let rrl = Rrl::new(limits, &metrics).unwrap();
        let q = query();
        // Spread over the /24: one budget.
        let verdicts: Vec<Admit> = (0..30).map(|i| rrl.admit(&q, ip(2, i))).collect();
        let answered = verdicts.iter().filter(|v| **v == Admit::Answer).count();
        let slipped = verdicts
            .iter()
            .filter(|v| matches!(v, Admit::Slip(_)))
            .count();
        assert_eq!(answered, 10);
        assert_eq!(slipped, 10);
        assert_eq!(metrics.rrl.with_label_values(&["slip"]).get(), 10);
        assert_eq!(metrics.rrl.with_label_values(&["drop"]).get(), 10);
        // Another prefix has its own budget.
        assert_eq!(rrl.admit(&q, ip(3, 1)), Admit::Answer);
    }

    #[test]
    fn slip_zero_drops_all_and_slip_one_slips_all() {
        let q = query();
        for (slip, slipped) in [(0, 0), (1, 5), (3, 1)] {
            let metrics = Metrics::unregistered();
            let limits = RrlLimits {
                rate: 1,
                burst: 1,
                slip,
            };
            let rrl = Rrl::new(limits, &metrics).unwrap();
            assert_eq!(rrl.admit(&q, ip(2, 1)), Admit::Answer);
            let n = (0..5)
                .filter(|_| matches!(rrl.admit(&q, ip(2, 1)), Admit::Slip(_)))
                .count();
            assert_eq!(n, slipped, "slip {slip}");
        }
        // Garbage over the limit is dropped, never answered.
        let metrics = Metrics::unregistered();
        let limits = RrlLimits {
            rate: 1,
            burst: 1,
            slip: 1,
        };
        let rrl = Rrl::new(limits, &metrics).unwrap();
        rrl.admit(&q, ip(2, 1));
        assert_eq!(rrl.admit(&[0xff; 20], ip(2, 1)), Admit::Drop);
    }
}
