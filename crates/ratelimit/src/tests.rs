use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::time::Duration;

use governor::clock::FakeRelativeClock;
use proptest::prelude::*;

use super::*;

fn limits(per_prefix: (u32, u32), global: (u32, u32), max_prefixes: usize) -> Limits {
    Limits {
        per_prefix: Budget {
            per_second: per_prefix.0,
            burst: per_prefix.1,
        },
        global: Budget {
            per_second: global.0,
            burst: global.1,
        },
        ipv4_prefix: 24,
        ipv6_prefix: 56,
        max_prefixes,
    }
}

fn v4(a: u8, b: u8, c: u8, d: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(a, b, c, d))
}

#[test]
fn clients_are_grouped_by_prefix() {
    let l = limits((1, 1), (1, 1), 1);
    assert_eq!(
        l.prefix_of(v4(192, 0, 2, 1)),
        l.prefix_of(v4(192, 0, 2, 200))
    );
    assert_ne!(l.prefix_of(v4(192, 0, 2, 1)), l.prefix_of(v4(192, 0, 3, 1)));
    let a: IpAddr = "2001:db8:0:ff00::1".parse().unwrap();
    let b: IpAddr = "2001:db8:0:ffaa::2".parse().unwrap();
    let c: IpAddr = "2001:db8:0:100::1".parse().unwrap();
    assert_eq!(l.prefix_of(a), l.prefix_of(b), "same /56");
    assert_ne!(l.prefix_of(a), l.prefix_of(c));
    let mapped = IpAddr::V6(Ipv4Addr::new(192, 0, 2, 9).to_ipv6_mapped());
    assert_eq!(l.prefix_of(mapped), l.prefix_of(v4(192, 0, 2, 1)));
    let whole = Limits {
        ipv4_prefix: 0,
        ipv6_prefix: 0,
        ..l
    };
    assert_eq!(whole.prefix_of(v4(1, 2, 3, 4)), Prefix::V4(0));
    assert_eq!(
        whole.prefix_of(IpAddr::V6(Ipv6Addr::LOCALHOST)),
        Prefix::V6(0)
    );
}

#[test]
fn a_prefix_over_its_budget_is_refused_and_others_are_not() {
    let clock = FakeRelativeClock::default();
    let limiter =
        PrefixLimiter::with_clock(limits((10, 3), (1000, 1000), 16), clock.clone()).unwrap();
    let greedy = v4(198, 51, 100, 7);
    for _ in 0..3 {
        assert_eq!(limiter.check(greedy), Verdict::Allowed);
    }
    assert_eq!(limiter.check(greedy), Verdict::PrefixOverBudget);
    assert_eq!(
        limiter.check(v4(198, 51, 100, 8)),
        Verdict::PrefixOverBudget,
        "same /24"
    );
    assert_eq!(limiter.check(v4(203, 0, 113, 1)), Verdict::Allowed);
    // 10/s: one more after 100 ms.
    clock.advance(Duration::from_millis(100));
    assert_eq!(limiter.check(greedy), Verdict::Allowed);
    assert_eq!(limiter.check(greedy), Verdict::PrefixOverBudget);
}

#[test]
fn the_global_budget_caps_all_prefixes_and_refused_prefixes_do_not_spend_it() {
    let clock = FakeRelativeClock::default();
    let limiter = PrefixLimiter::with_clock(limits((10, 2), (10, 5), 64), clock.clone()).unwrap();
    // One prefix spends its 2, and 100 more tries are refused by its own budget only.
    let heavy = v4(10, 0, 0, 1);
    for _ in 0..102 {
        limiter.check(heavy);
    }
    // So 3 units of the global 5 remain for everyone else.
    let allowed = (1..=10)
        .map(|i| limiter.check(v4(10, 0, i, 1)))
        .filter(|v| *v == Verdict::Allowed)
        .count();
    assert_eq!(allowed, 3);
    assert_eq!(limiter.check(v4(10, 0, 200, 1)), Verdict::GlobalOverBudget);
}

#[test]
fn a_spray_of_addresses_cannot_grow_the_table_or_take_tracked_budgets() {
    let clock = FakeRelativeClock::default();
    let limiter =
        PrefixLimiter::with_clock(limits((10, 5), (1_000_000, 1_000_000), 4), clock.clone())
            .unwrap();
    let regular = v4(192, 0, 2, 1);
    assert_eq!(limiter.check(regular), Verdict::Allowed);
    for i in 0..10_000u32 {
        let [a, b, c, _] = (0x0b00_0000 + (i << 8)).to_be_bytes();
        limiter.check(v4(a, b, c, 1));
        assert!(limiter.tracked_prefixes() <= 4);
    }
    // The sprayers share one overflow budget, long spent; the tracked client keeps its own.
    assert_eq!(limiter.check(v4(11, 200, 0, 1)), Verdict::PrefixOverBudget);
    for _ in 0..4 {
        assert_eq!(limiter.check(regular), Verdict::Allowed);
    }
    // Idle for a whole refill, tracked prefixes are forgotten and new clients tracked again.
    clock.advance(Duration::from_secs(2));
    assert_eq!(limiter.check(v4(172, 16, 0, 1)), Verdict::Allowed);
    assert!(limiter.tracked_prefixes() <= 4);
}

#[test]
fn bad_limits_are_refused() {
    for (bad, what) in [
        (limits((0, 1), (1, 1), 1), "per_prefix"),
        (limits((1, 0), (1, 1), 1), "per_prefix"),
        (limits((1, 1), (1, 0), 1), "global"),
        (limits((1, 1), (1, 1), 0), "max_prefixes"),
        (
            Limits {
                ipv4_prefix: 33,
                ..limits((1, 1), (1, 1), 1)
            },
            "ipv4_prefix",
        ),
    ] {
        let err = PrefixLimiter::new(bad).unwrap_err().to_string();
        assert!(err.contains(what), "{err}");
    }
}

proptest! {
    /// Whatever the mix of clients and pauses, the table never exceeds its bound and no prefix
    /// gets more than its burst plus what its rate refilled.
    #[test]
    fn bounded_and_within_budget(ops in proptest::collection::vec((0u8..32, 0u64..300), 1..400)) {
        let clock = FakeRelativeClock::default();
        let limiter = PrefixLimiter::with_clock(limits((5, 3), (1_000, 1_000), 8), clock.clone()).unwrap();
        let mut allowed = std::collections::HashMap::<u8, u32>::new();
        let mut elapsed = Duration::ZERO;
        for (client, pause_ms) in ops {
            clock.advance(Duration::from_millis(pause_ms));
            elapsed += Duration::from_millis(pause_ms);
            if limiter.check(v4(10, client, 0, 1)) == Verdict::Allowed {
                *allowed.entry(client).or_default() += 1;
            }
            prop_assert!(limiter.tracked_prefixes() <= 8);
        }
        let cap = 3 + (elapsed.as_secs_f64() * 5.0).ceil() as u32;
        for (client, n) in allowed {
            prop_assert!(n <= cap, "client {client}: {n} > {cap}");
        }
    }
}

#[test]
fn slots_are_counted_per_prefix_and_given_back_on_drop() {
    let slots = PrefixSlots::new(2, 24, 56).unwrap();
    let a = slots.try_acquire(v4(10, 0, 0, 1)).unwrap();
    let b = slots.try_acquire(v4(10, 0, 0, 2)).unwrap();
    // The prefix is full; another prefix is not.
    assert!(slots.try_acquire(v4(10, 0, 0, 3)).is_none());
    let other = slots.try_acquire(v4(10, 0, 1, 1)).unwrap();
    assert_eq!(slots.held(v4(10, 0, 0, 99)), 2);
    drop(a);
    let c = slots.try_acquire(v4(10, 0, 0, 3)).unwrap();
    drop((b, c, other));
    // Nothing held, nothing tracked.
    assert_eq!(slots.tracked_prefixes(), 0);
    assert!(PrefixSlots::new(0, 24, 56).is_err());
    assert!(PrefixSlots::new(1, 33, 56).is_err());
}

#[test]
fn ipv6_slots_group_by_the_prefix_length() {
    let slots = PrefixSlots::new(1, 24, 56).unwrap();
    let ip = |s: &str| IpAddr::V6(s.parse::<Ipv6Addr>().unwrap());
    let _a = slots.try_acquire(ip("2001:db8:0:ff::1")).unwrap();
    // Same /56.
    assert!(slots.try_acquire(ip("2001:db8:0:ee::2")).is_none());
    // Another /56.
    assert!(slots.try_acquire(ip("2001:db8:0:100::1")).is_some());
}

proptest! {
    /// Whatever the order of takes and gives, no prefix ever holds more than its slots and
    /// the table only tracks prefixes that hold one.
    #[test]
    fn slots_never_exceed_the_limit(ops in proptest::collection::vec((0u8..6, any::<bool>()), 1..300)) {
        let slots = PrefixSlots::new(3, 24, 56).unwrap();
        let mut held: Vec<Vec<Slot>> = (0..6).map(|_| Vec::new()).collect();
        for (client, take) in ops {
            let list = &mut held[usize::from(client)];
            if take {
                let got = slots.try_acquire(v4(10, client, 0, 1));
                prop_assert_eq!(got.is_some(), list.len() < 3);
                list.extend(got);
            } else {
                list.pop();
            }
            let live = held.iter().filter(|l| !l.is_empty()).count();
            prop_assert_eq!(slots.tracked_prefixes(), live);
        }
    }
}
