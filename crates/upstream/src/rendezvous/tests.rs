use std::collections::{BTreeMap, BTreeSet};
use std::net::{Ipv4Addr, Ipv6Addr, SocketAddr, SocketAddrV6};

use proptest::prelude::*;
use proptest::sample::Index;

use super::*;

fn v4(last: u8, port: u16) -> Replica {
    Replica::new(SocketAddr::from((Ipv4Addr::new(10, 0, 0, last), port)))
}

fn rendezvous(replicas: impl IntoIterator<Item = Replica>) -> Rendezvous {
    Rendezvous::new(ReplicaSet::new(replicas))
}

/// Names shaped like what a frontend shards: canonical lowercase TLDs.
fn names(count: usize) -> Vec<Vec<u8>> {
    (0..count)
        .map(|i| format!("name-{i}").into_bytes())
        .collect()
}

fn picks(r: &Rendezvous, keys: &[Vec<u8>]) -> Vec<Option<Replica>> {
    keys.iter().map(|k| r.pick(k).copied()).collect()
}

fn replica() -> impl Strategy<Value = Replica> {
    prop_oneof![
        (any::<[u8; 4]>(), any::<u16>())
            .prop_map(|(ip, port)| Replica::new(SocketAddr::from((Ipv4Addr::from(ip), port)))),
        (any::<[u8; 16]>(), any::<u16>(), any::<u32>()).prop_map(|(ip, port, scope)| {
            Replica::new(SocketAddr::V6(SocketAddrV6::new(
                Ipv6Addr::from(ip),
                port,
                0,
                scope,
            )))
        }),
    ]
}

fn replicas(range: std::ops::Range<usize>) -> impl Strategy<Value = Vec<Replica>> {
    prop::collection::btree_set(replica(), range).prop_map(|s| s.into_iter().collect())
}

fn keys() -> impl Strategy<Value = Vec<Vec<u8>>> {
    prop::collection::vec(prop::collection::vec(any::<u8>(), 0..40), 1..300)
}

/// The case: three replicas, one leaves, and only the names it owned move.
#[test]
fn three_replicas_remove_one_remaps_only_its_share() {
    let (a, b, c) = (v4(1, 7000), v4(2, 7000), v4(3, 7000));
    let keys = names(10_000);
    let before = picks(&rendezvous([a, b, c]), &keys);
    let after = picks(&rendezvous([a, c]), &keys);

    let mut moved = 0;
    for (old, new) in before.iter().zip(&after) {
        if *old == Some(b) {
            moved += 1;
            assert!(
                *new == Some(a) || *new == Some(c),
                "b's key went to {new:?}"
            );
        } else {
            assert_eq!(old, new, "a key not on b moved");
        }
    }
    // b owned about a third; the test is meaningless if it owned nothing.
    assert!((3_000..3_700).contains(&moved), "b owned {moved} of 10000");
}

/// Shares for three fixed replicas over 30,000 names. Each count is Binomial(30000, 1/3) for a
/// good hash: mean 10000, σ ≈ 81.6. The bounds 9000..=11100 (30%–37%) sit more than 12σ away
/// (probability < 1e-30), and the inputs are fixed, so only a broken score function fails this.
#[test]
fn three_replicas_share_names_evenly() {
    let replicas = [v4(1, 7000), v4(2, 7000), v4(3, 7000)];
    let r = rendezvous(replicas);
    let mut counts: BTreeMap<Replica, usize> = BTreeMap::new();
    for key in names(30_000) {
        *counts.entry(*r.pick(&key).unwrap()).or_default() += 1;
    }
    assert_eq!(counts.len(), 3);
    for (replica, count) in counts {
        assert!(
            (9_000..=11_100).contains(&count),
            "{replica} owns {count} of 30000"
        );
    }
}

#[test]
fn empty_set_picks_nothing() {
    let r = Rendezvous::default();
    assert_eq!(r.pick(b"example"), None);
    assert_eq!(r.ranked(b"example").len(), 0);
    assert!(r.replicas().is_empty());
}

#[test]
fn set_drops_duplicates_and_ignores_order() {
    let set = ReplicaSet::new([v4(2, 1), v4(1, 1), v4(2, 1), v4(1, 2)]);
    assert_eq!(set.len(), 3);
    assert_eq!(set, ReplicaSet::new([v4(1, 2), v4(2, 1), v4(1, 1)]));
    assert!(set.contains(&v4(1, 2)));
    assert!(!set.contains(&v4(3, 1)));
    let addrs: ReplicaSet = [v4(1, 1).addr(), v4(1, 1).addr()].into_iter().collect();
    assert_eq!(addrs.len(), 1);
}

/// Pins the score function: if the seed, the hash or the replica encoding changes, every
/// frontend reshuffles its names and mixed-version frontends disagree. Change these values only
/// on purpose, and say so in the release notes.
#[test]
fn picks_are_stable_across_versions() {
    let v6 = Replica::new(SocketAddr::from((Ipv6Addr::LOCALHOST, 7000)));
    let r = rendezvous([v4(1, 7000), v4(2, 7000), v4(3, 7000), v6]);
    let score = XxHash64::oneshot(v4(1, 7000).identity_hash(), b"example");
    assert_eq!(score, GOLDEN_SCORE, "{score:#x}");
    let got: Vec<String> = GOLDEN_KEYS
        .iter()
        .map(|k| r.pick(k).unwrap().to_string())
        .collect();
    assert_eq!(got, GOLDEN);
}

const GOLDEN_SCORE: u64 = 0x4e54_92c7_cb20_b5e3;
const GOLDEN_KEYS: [&[u8]; 8] = [
    b"com",
    b"example",
    b"hns",
    b"",
    b"xn--ls8h",
    b"proofofconcept",
    b"nb",
    b"a",
];
const GOLDEN: [&str; 8] = [
    "[::1]:7000",
    "10.0.0.3:7000",
    "10.0.0.3:7000",
    "10.0.0.3:7000",
    "10.0.0.3:7000",
    "10.0.0.2:7000",
    "10.0.0.3:7000",
    "10.0.0.3:7000",
];

/// The scores of different replicas must be independent, not merely evenly spread: then every
/// preference order of four replicas is equally likely, and a failed replica's keys spread
/// evenly over the rest. Each of the 24 orders over 48,000 names is Binomial(48000, 1/24):
/// mean 2000, σ ≈ 43.8; the bounds 1500..=2500 are over 11σ away, and the inputs are fixed.
#[test]
fn every_preference_order_is_equally_likely() {
    let v6 = Replica::new(SocketAddr::from((Ipv6Addr::LOCALHOST, 7000)));
    let r = rendezvous([v4(1, 7000), v4(2, 7000), v4(3, 7000), v6]);
    let mut counts: BTreeMap<Vec<Replica>, usize> = BTreeMap::new();
    for key in names(48_000) {
        *counts.entry(r.ranked(&key).copied().collect()).or_default() += 1;
    }
    assert_eq!(counts.len(), 24);
    for (order, count) in counts {
        assert!(
            (1_500..=2_500).contains(&count),
            "{order:?} ranked {count} times"
        );
    }
}

proptest! {
    /// Removing any one of 1–9 replicas moves only the keys it owned; theirs go elsewhere.
    #[test]
    fn removing_a_replica_moves_only_its_keys(
        replicas in replicas(1..10),
        gone in any::<Index>(),
        keys in keys(),
    ) {
        let gone = replicas[gone.index(replicas.len())];
        let before = rendezvous(replicas.iter().copied());
        let after = rendezvous(replicas.iter().copied().filter(|r| *r != gone));
        for key in &keys {
            let old = before.pick(key).copied();
            let new = after.pick(key).copied();
            if old == Some(gone) {
                prop_assert_ne!(new, Some(gone));
                prop_assert_eq!(new.is_none(), replicas.len() == 1);
            } else {
                prop_assert_eq!(old, new);
            }
        }
    }

    /// Adding a replica to 0–9 others moves keys only onto the new one.
    #[test]
    fn adding_a_replica_moves_keys_only_to_it(
        replicas in replicas(0..10),
        new in replica(),
        keys in keys(),
    ) {
        prop_assume!(!replicas.contains(&new));
        let before = rendezvous(replicas.iter().copied());
        let after = rendezvous(replicas.iter().copied().chain([new]));
        for key in &keys {
            let old = before.pick(key).copied();
            let now = after.pick(key).copied();
            if old != now {
                prop_assert_eq!(now, Some(new));
            }
        }
    }

    /// The result depends on the set only: any order, any duplicates.
    #[test]
    fn result_is_independent_of_input_order(
        (replicas, shuffled) in replicas(1..10)
            .prop_flat_map(|r| (Just(r.clone()), Just(r).prop_shuffle())),
        repeat in any::<Index>(),
        keys in keys(),
    ) {
        let extra = shuffled[repeat.index(shuffled.len())];
        let a = rendezvous(replicas.iter().copied());
        let b = rendezvous(shuffled.iter().copied().chain([extra]));
        prop_assert_eq!(&a, &b);
        for key in &keys {
            prop_assert_eq!(a.pick(key), b.pick(key));
            prop_assert!(a.ranked(key).eq(b.ranked(key)));
        }
    }

    /// `ranked` starts with `pick`, lists every replica once, and dropping a replica leaves the
    /// others' order as it was (so failover after a loss tries what hedging tried before).
    #[test]
    fn ranked_is_a_stable_preference_order(
        replicas in replicas(1..10),
        gone in any::<Index>(),
        keys in keys(),
    ) {
        let gone = replicas[gone.index(replicas.len())];
        let full = rendezvous(replicas.iter().copied());
        let less = rendezvous(replicas.iter().copied().filter(|r| *r != gone));
        for key in &keys {
            let order: Vec<Replica> = full.ranked(key).copied().collect();
            prop_assert_eq!(order.first(), full.pick(key));
            prop_assert_eq!(order.len(), replicas.len());
            prop_assert_eq!(order.iter().collect::<BTreeSet<_>>().len(), replicas.len());
            let without: Vec<Replica> = order.into_iter().filter(|r| *r != gone).collect();
            prop_assert!(less.ranked(key).copied().eq(without));
        }
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(16))]

    /// Even shares for any three replicas (the bound as in `three_replicas_share_names_evenly`:
    /// over 12σ of Binomial(30000, 1/3) from the mean, so it cannot flake).
    #[test]
    fn any_three_replicas_share_names_evenly(replicas in replicas(3..4)) {
        let r = rendezvous(replicas);
        let mut counts: BTreeMap<Replica, usize> = BTreeMap::new();
        for key in names(30_000) {
            *counts.entry(*r.pick(&key).unwrap()).or_default() += 1;
        }
        prop_assert_eq!(counts.len(), 3);
        for count in counts.into_values() {
            prop_assert!((9_000..=11_100).contains(&count), "share {}", count);
        }
    }
}
