use proptest::prelude::*;

use super::*;
use hnsfleet_hns::types::TreeRoot;

fn root(height: u32, byte: u8) -> SafeRoot {
    SafeRoot {
        height,
        tree_root: TreeRoot([byte; 32]),
    }
}

fn up(root: SafeRoot) -> FollowerView {
    FollowerView {
        connected: true,
        quarantined: false,
        synced: true,
        safe_root: Some(root),
    }
}

/// Connected and announcing `root`, but still syncing (or fallen behind).
fn syncing(root: SafeRoot) -> FollowerView {
    FollowerView {
        synced: false,
        ..up(root)
    }
}

fn down(root: SafeRoot) -> FollowerView {
    FollowerView {
        connected: false,
        ..up(root)
    }
}

#[test]
fn an_imposed_root_is_trusted_over_the_quorum_until_lifted() {
    let t0 = Instant::now();
    let (old, new) = (root(100, 1), root(110, 2));
    let mut trust = Trust::new(2, Duration::from_secs(60));
    trust.update(&[up(old), up(old)], t0);
    assert_eq!(trust.impose(Some(old)), Change::None);
    // The quorum moves to a new branch's root: the frozen one stays trusted, never stale.
    trust.update(&[up(new), up(new)], t0);
    let frozen = trust.snapshot(t0 + Duration::from_secs(600));
    assert_eq!(frozen.root, Some(old));
    assert!(frozen.imposed && !frozen.stale && !frozen.expired);
    // Even with every follower gone.
    trust.update(&[down(new), down(new)], t0);
    assert_eq!(
        trust.snapshot(t0 + Duration::from_secs(3600)).root,
        Some(old)
    );
    // Lifted: the quorum's root (followed underneath) is trusted again.
    trust.update(&[up(new), up(new)], t0);
    assert_eq!(
        trust.impose(None),
        Change::Moved {
            from: Some(old),
            to: new
        }
    );
    let lifted = trust.snapshot(t0);
    assert_eq!(lifted.root, Some(new));
    assert!(!lifted.imposed);
}

#[test]
fn the_majority_root_wins_and_a_minority_fork_does_not() {
    let (main, fork) = (root(100, 1), root(100, 2));
    assert_eq!(
        quorum_root(&[up(main), up(main), up(fork)], 2),
        Agreement::Root(main, 2)
    );
    // A quarantined or disconnected follower does not vote.
    let mut liar = up(main);
    liar.quarantined = true;
    assert_eq!(quorum_root(&[up(main), liar, up(fork)], 2), Agreement::None);
    assert_eq!(quorum_root(&[up(main), down(main)], 2), Agreement::None);
    // Two roots reaching a low quorum is a conflict, not a choice.
    assert_eq!(quorum_root(&[up(main), up(fork)], 1), Agreement::Conflict);
}

#[test]
fn losing_the_quorum_keeps_the_root_then_marks_it_stale_then_expires_it() {
    let t0 = Instant::now();
    let serve_stale = Duration::from_secs(60);
    let mut trust = Trust::new(2, serve_stale);
    let r = root(100, 1);
    assert!(trust.snapshot(t0).root.is_none());
    assert_eq!(
        trust.update(&[up(r), up(r), up(root(90, 9))], t0),
        Change::Moved { from: None, to: r }
    );
    let s = trust.snapshot(t0);
    assert_eq!(
        (s.root, s.agreeing, s.stale, s.expired),
        (Some(r), 2, false, false)
    );

    // Two followers go away: the root is kept, unconfirmed.
    assert_eq!(trust.update(&[up(r), down(r), down(r)], t0), Change::None);
    let within_grace = trust.snapshot(t0 + STALE_GRACE / 2);
    assert_eq!((within_grace.root, within_grace.stale), (Some(r), false));
    let stale = trust.snapshot(t0 + STALE_GRACE + Duration::from_secs(1));
    assert!(stale.stale && !stale.expired, "{stale:?}");
    let expired = trust.snapshot(t0 + STALE_GRACE + serve_stale + Duration::from_secs(1));
    assert!(expired.stale && expired.expired, "{expired:?}");

    // A quorum coming back confirms it again.
    let later = t0 + Duration::from_secs(600);
    trust.update(&[up(r), up(r), down(r)], later);
    let s = trust.snapshot(later);
    assert_eq!(
        (s.stale, s.expired, s.unconfirmed_for),
        (false, false, Duration::ZERO)
    );
}

#[test]
fn a_new_root_is_trusted_only_once_a_quorum_announces_it() {
    let t0 = Instant::now();
    let mut trust = Trust::new(2, Duration::from_secs(60));
    let (old, new) = (root(100, 1), root(105, 2));
    trust.update(&[up(old), up(old)], t0);
    // One follower first: the old root stays trusted (briefly unconfirmed).
    assert_eq!(trust.update(&[up(new), up(old)], t0), Change::None);
    assert_eq!(trust.snapshot(t0).root, Some(old));
    assert_eq!(
        trust.update(&[up(new), up(new)], t0),
        Change::Moved {
            from: Some(old),
            to: new
        }
    );
    let s = trust.snapshot(t0 + Duration::from_secs(5));
    assert_eq!((s.root, s.stale), (Some(new), false));
}

#[test]
fn unsynced_followers_do_not_vote_until_they_report_synced() {
    let t0 = Instant::now();
    let mut trust = Trust::new(2, Duration::from_secs(60));
    let old = root(100, 1);
    // Every follower announces the same (old) root while syncing: nothing is trusted.
    let all_syncing = [syncing(old), syncing(old), syncing(old)];
    assert_eq!(quorum_root(&all_syncing, 2), Agreement::None);
    assert_eq!(trust.update(&all_syncing, t0), Change::None);
    let s = trust.snapshot(t0);
    assert_eq!(
        (s.root, s.agreeing, s.stale, s.expired),
        (None, 0, false, false)
    );
    // One synced follower is below the quorum of two.
    trust.update(&[up(old), syncing(old), syncing(old)], t0);
    assert_eq!(trust.snapshot(t0).root, None);
    // A second one reports synced: its root is trusted now.
    assert_eq!(
        trust.update(&[up(old), up(old), syncing(old)], t0),
        Change::Moved {
            from: None,
            to: old
        }
    );
    assert_eq!(trust.snapshot(t0).agreeing, 2);
}

#[test]
fn a_follower_that_stops_being_synced_stops_confirming_the_root() {
    let t0 = Instant::now();
    let serve_stale = Duration::from_secs(60);
    let mut trust = Trust::new(2, serve_stale);
    let r = root(100, 1);
    trust.update(&[up(r), up(r), up(r)], t0);
    assert_eq!(trust.snapshot(t0).agreeing, 3);
    // Two fall behind (still announcing the root): the root is kept but unconfirmed, so it
    // goes stale and then expires like a root whose followers went away.
    assert_eq!(
        trust.update(&[up(r), syncing(r), syncing(r)], t0),
        Change::None
    );
    let s = trust.snapshot(t0 + STALE_GRACE + Duration::from_secs(1));
    assert_eq!(
        (s.root, s.agreeing, s.stale, s.expired),
        (Some(r), 1, true, false)
    );
    let s = trust.snapshot(t0 + STALE_GRACE + serve_stale + Duration::from_secs(1));
    assert!(s.expired, "{s:?}");
    // A root only syncing followers announce never replaces the trusted one.
    let behind = root(50, 7);
    trust.update(&[up(r), syncing(behind), syncing(behind)], t0);
    assert_eq!(trust.snapshot(t0).root, Some(r));
    // Back in sync: confirmed again.
    let later = t0 + Duration::from_secs(600);
    trust.update(&[up(r), up(r), syncing(behind)], later);
    let s = trust.snapshot(later);
    assert_eq!((s.agreeing, s.stale, s.expired), (2, false, false));
}

fn arb_view() -> impl Strategy<Value = FollowerView> {
    (
        any::<bool>(),
        any::<bool>(),
        any::<bool>(),
        proptest::option::of(0u8..3),
    )
        .prop_map(|(connected, quarantined, synced, r)| FollowerView {
            connected,
            quarantined,
            synced,
            safe_root: r.map(|b| root(u32::from(b) * 5, b)),
        })
}

proptest! {
    /// Whatever the followers say, a root is trusted only if at least `quorum` connected,
    /// honest, synced followers announced it at some update, and with a strict-majority quorum
    /// two roots never both qualify.
    #[test]
    fn only_quorum_announced_roots_are_trusted(
        rounds in proptest::collection::vec(proptest::collection::vec(arb_view(), 3), 1..20),
        quorum in 1usize..=3,
    ) {
        let mut trust = Trust::new(quorum, Duration::from_secs(1));
        let mut ever_agreed = Vec::new();
        let now = Instant::now();
        for views in &rounds {
            if let Agreement::Root(r, n) = quorum_root(views, quorum) {
                prop_assert!(n >= quorum);
                let voters = views.iter().filter(|v| v.votes() && v.safe_root == Some(r));
                prop_assert!(voters.count() >= quorum);
                ever_agreed.push(r);
            }
            if quorum >= 2 {
                prop_assert_ne!(quorum_root(views, quorum), Agreement::Conflict);
            }
            trust.update(views, now);
            if let Some(r) = trust.snapshot(now).root {
                prop_assert!(ever_agreed.contains(&r));
            }
        }
    }
}
