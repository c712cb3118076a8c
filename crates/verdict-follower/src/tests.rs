#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hnsfleet_hns::types::TreeRoot;
use hnsfleet_proto::follower::v1 as fpb;

use super::*;

fn frozen(height: u32, root: u8, sequence: u64) -> pb::Verdict {
    pb::Verdict {
        state: pb::State::Frozen as i32,
        root: Some(fpb::SafeRoot {
            height,
            tree_root: vec![root; 32],
        }),
        sequence,
        ..pb::Verdict::default()
    }
}

#[test]
fn verdicts_decide_what_to_resolve_against() {
    assert_eq!(
        decide(&pb::Verdict {
            state: pb::State::Ok as i32,
            ..pb::Verdict::default()
        }),
        Some(Verdict::Ok)
    );
    assert_eq!(
        decide(&frozen(7, 3, 1)),
        Some(Verdict::Frozen(SafeRoot {
            height: 7,
            tree_root: TreeRoot([3; 32]),
        }))
    );
    // A freeze without a usable root, or no state: not acted on.
    let mut no_root = frozen(7, 3, 1);
    no_root.root = None;
    assert_eq!(decide(&no_root), None);
    let mut short = frozen(7, 3, 1);
    short.root.as_mut().unwrap().tree_root = vec![3; 31];
    assert_eq!(decide(&short), None);
    assert_eq!(decide(&pb::Verdict::default()), None);
}

#[tokio::test]
async fn a_follower_keeps_the_last_verdict_and_knows_when_the_watchdog_went_silent() {
    let (url, script) = crate::scripted::start(Duration::from_millis(100))
        .await
        .unwrap();
    let follower = std::sync::Arc::new(VerdictFollower::new(&url, Duration::from_secs(2)));
    let mut followed = follower.subscribe();
    let stop = CancellationToken::new();
    tokio::spawn({
        let (follower, stop) = (std::sync::Arc::clone(&follower), stop.clone());
        async move { follower.run(stop).await }
    });
    assert_eq!(follower.current().verdict, Verdict::Unknown);
    assert!(
        !follower
            .current()
            .live(Instant::now(), Duration::from_secs(60))
    );

    script.send_replace(Some(frozen(40, 9, 3)));
    tokio::time::timeout(Duration::from_secs(5), followed.changed())
        .await
        .unwrap()
        .unwrap();
    let now = follower.current();
    assert_eq!(
        now.frozen_root(),
        Some(SafeRoot {
            height: 40,
            tree_root: TreeRoot([9; 32]),
        })
    );
    assert_eq!(now.sequence, 3);
    assert!(now.live(Instant::now(), Duration::from_secs(1)));

    // Silence: the freeze is kept, but it is no longer live after the grace.
    script.send_replace(None);
    tokio::time::sleep(Duration::from_millis(300)).await;
    let heard = follower.current().heard_at.unwrap();
    let later = heard + Duration::from_secs(31);
    assert!(!follower.current().live(later, Duration::from_secs(30)));
    assert_eq!(follower.current().frozen_root().map(|r| r.height), Some(40));
    stop.cancel();
}

#[test]
fn readiness_says_live_frozen_or_silent() {
    let now = Instant::now();
    let grace = Duration::from_secs(30);
    let root = SafeRoot {
        height: 72,
        tree_root: TreeRoot([7; 32]),
    };
    let heard = |verdict, at| Followed {
        verdict,
        heard_at: at,
        sequence: 1,
    };
    assert_eq!(
        heard(Verdict::Ok, Some(now)).readiness(now, grace),
        (true, "reorg-watchdog: OK".to_owned())
    );
    assert_eq!(
        heard(Verdict::Frozen(root), Some(now)).readiness(now, grace),
        (true, "FROZEN by the reorg-watchdog at height 72".to_owned())
    );
    // Silent past the grace (or never heard): not live, whatever it said last.
    let (live, detail) =
        heard(Verdict::Frozen(root), Some(now)).readiness(now + Duration::from_secs(31), grace);
    assert!(!live);
    assert!(detail.contains("silent for over 30s"), "{detail}");
    assert!(!heard(Verdict::Unknown, None).readiness(now, grace).0);
}
