#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hnsfleet_attestation::TipStatement;
use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_hns::types::{BlockHash, TreeRoot};
use proptest::prelude::*;
use secp256k1::SecretKey;

use super::*;

const MAGIC: u32 = 0xebf1_0ad8;
const NOW: u64 = 1_800_000_000;

fn rules(quorum: usize) -> Rules {
    Rules {
        network_magic: MAGIC,
        quorum,
        freeze_depth: 3,
        unfreeze_after: 2,
        max_lag: 3,
        max_attestation_age: 60,
        max_clock_skew: 30,
    }
}

fn key(n: u8) -> SecretKey {
    SecretKey::from_byte_array([n.max(1); 32]).unwrap()
}

fn public(n: u8) -> [u8; 33] {
    secp256k1::PublicKey::from_secret_key(secp256k1::SECP256K1, &key(n)).serialize()
}

/// The block at `height` of chain `chain` (chains share nothing unless the test says so).
fn block(chain: u8, height: u32) -> BlockHash {
    let mut bytes = [chain; 32];
    bytes[..4].copy_from_slice(&height.to_be_bytes());
    BlockHash(bytes)
}

fn statement(chain: u8, height: u32, signed_at: u64) -> TipStatement {
    TipStatement {
        network_magic: MAGIC,
        height,
        hash: block(chain, height),
        tree_root: TreeRoot([chain; 32]),
        chainwork: {
            let mut w = [0u8; 32];
            w[28..].copy_from_slice(&height.to_be_bytes());
            w
        },
        time: signed_at,
        signed_at,
    }
}

fn signed(signer: u8, statement: &TipStatement) -> Vec<u8> {
    statement.sign(&key(signer)).encode().to_vec()
}

fn root(chain: u8, height: u32) -> SafeRoot {
    SafeRoot {
        height,
        tree_root: TreeRoot([chain; 32]),
    }
}

/// `n` followers (source i signs with key i + 1), then `attesters` attesters with pinned keys.
fn engine(quorum: usize, followers: u8, attesters: u8) -> Engine {
    let mut sources = Vec::new();
    for i in 0..followers {
        sources.push(SourceConfig {
            name: format!("follower-{i}"),
            kind: SourceKind::Follower,
            pinned_key: None,
        });
    }
    for i in followers..followers + attesters {
        sources.push(SourceConfig {
            name: format!("attester-{i}"),
            kind: SourceKind::Attester,
            pinned_key: Some(public(i + 1)),
        });
    }
    Engine::new(rules(quorum), sources)
}

/// Source `i` (a follower) is at `height` of `chain`, with that chain's safe root at
/// `height - 2`; its tip event says it reorganised `reorg` blocks.
fn follower_at(engine: &mut Engine, i: usize, chain: u8, height: u32, reorg: u32, now: u64) {
    engine.follower_tip(
        i,
        FollowerTip {
            height,
            hash: block(chain, height),
            reorg_depth: reorg,
            missed_changes: false,
            safe_root: Some(root(chain, height - 2)),
        },
        now,
    );
    let signer = u8::try_from(i).unwrap() + 1;
    engine
        .offer(i, &signed(signer, &statement(chain, height, now)), now)
        .unwrap();
}

fn attester_at(engine: &mut Engine, i: usize, chain: u8, height: u32, now: u64) -> Offered {
    let signer = u8::try_from(i).unwrap() + 1;
    engine
        .offer(i, &signed(signer, &statement(chain, height, now)), now)
        .unwrap()
}

fn healths(engine: &Engine) -> Vec<Health> {
    engine.verdict().sources.iter().map(|s| s.health).collect()
}

/// Three followers that walked chain 1 up to `height`, one block per second.
fn three_on_chain_one(height: u32) -> (Engine, u64) {
    let mut engine = engine(2, 3, 0);
    let mut now = NOW;
    for h in 10..=height {
        now += 1;
        for i in 0..3 {
            follower_at(&mut engine, i, 1, h, 0, now);
        }
        assert_eq!(engine.evaluate(now), None);
    }
    (engine, now)
}

#[test]
fn ignored_attestations_change_nothing_and_say_why() {
    let mut engine = engine(1, 1, 1);
    let good = statement(1, 10, NOW);
    // Source 1 is an attester pinned to key 2.
    assert_eq!(
        engine.offer(1, &signed(3, &good), NOW),
        Err(Ignored::WrongKey)
    );
    assert_eq!(engine.offer(0, b"short", NOW), Err(Ignored::Malformed));
    let mut forged = signed(1, &good);
    forged[130] ^= 1;
    assert_eq!(engine.offer(0, &forged, NOW), Err(Ignored::BadSignature));
    let other_network = TipStatement {
        network_magic: 1,
        ..good
    };
    assert_eq!(
        engine.offer(0, &signed(1, &other_network), NOW),
        Err(Ignored::WrongNetwork)
    );
    assert_eq!(
        engine.offer(0, &signed(1, &statement(1, 10, NOW - 61)), NOW),
        Err(Ignored::Stale)
    );
    assert_eq!(
        engine.offer(0, &signed(1, &statement(1, 10, NOW + 31)), NOW),
        Err(Ignored::Stale)
    );
    let before = engine.verdict();
    assert_eq!(engine.evaluate(NOW), None);
    assert!(engine.verdict().sources.iter().all(|s| s.tip.is_none()));
    assert_eq!(engine.verdict().root, before.root);

    // Accepted, then the same again (no news), then an older one (a replay).
    assert_eq!(
        engine.offer(0, &signed(1, &good), NOW),
        Ok(Offered::Recorded { conflicting: false })
    );
    assert_eq!(
        engine.offer(0, &signed(1, &good), NOW + 1),
        Ok(Offered::Repeat { conflicting: false })
    );
    assert_eq!(
        engine.offer(0, &signed(1, &statement(1, 9, NOW - 5)), NOW + 1),
        Err(Ignored::Replayed)
    );
    assert_eq!(engine.verdict().sources[0].tip, Some(good));
    let labels: Vec<_> = [
        Ignored::Malformed,
        Ignored::BadSignature,
        Ignored::WrongKey,
        Ignored::WrongNetwork,
        Ignored::Stale,
        Ignored::Replayed,
    ]
    .iter()
    .map(|i| i.label())
    .collect();
    assert_eq!(
        labels,
        [
            "malformed",
            "bad_signature",
            "wrong_key",
            "wrong_network",
            "stale",
            "replayed"
        ]
    );
}

#[test]
fn a_quorum_on_one_chain_is_ok_on_the_lowest_safe_root_its_followers_announce() {
    let mut engine = engine(2, 3, 0);
    assert_eq!(engine.evaluate(NOW), None);
    assert_eq!(engine.verdict().root, None);
    assert_eq!(healths(&engine), vec![Health::Stale; 3]);
    // Three followers a block or two apart: each has attested the others' tips on its way.
    follower_at(&mut engine, 0, 1, 20, 0, NOW);
    follower_at(&mut engine, 1, 1, 20, 0, NOW);
    follower_at(&mut engine, 2, 1, 20, 0, NOW);
    follower_at(&mut engine, 1, 1, 21, 0, NOW + 1);
    follower_at(&mut engine, 2, 1, 21, 0, NOW + 1);
    follower_at(&mut engine, 2, 1, 22, 0, NOW + 2);
    let now = NOW + 2;
    engine.evaluate(now);
    let verdict = engine.verdict();
    assert_eq!(verdict.state, State::Ok);
    assert_eq!(verdict.agreed_tip.map(|t| t.height), Some(20));
    assert_eq!(verdict.root, Some(root(1, 18)));
    assert_eq!(healths(&engine), vec![Health::Healthy; 3]);
}

#[test]
fn lagging_and_stale_sources_leave_the_quorum() {
    let (mut engine, now) = three_on_chain_one(20);
    // Source 2 stops at 20 while the others go to 24.
    for h in 21..=24 {
        follower_at(&mut engine, 0, 1, h, 0, now + u64::from(h - 20));
        follower_at(&mut engine, 1, 1, h, 0, now + u64::from(h - 20));
    }
    let now = now + 4;
    engine.evaluate(now);
    assert_eq!(
        healths(&engine),
        vec![Health::Healthy, Health::Healthy, Health::Lagging]
    );
    assert_eq!(engine.verdict().agreed_tip.map(|t| t.height), Some(24));
    // A minute on, only source 0 keeps attesting: no quorum, the last root stays.
    let later = now + 61;
    follower_at(&mut engine, 0, 1, 25, 0, later);
    engine.unreachable(1, "connection refused");
    engine.evaluate(later);
    assert_eq!(
        healths(&engine),
        vec![Health::Healthy, Health::Unreachable, Health::Stale]
    );
    let verdict = engine.verdict();
    assert_eq!(verdict.agreed_tip, None);
    assert_eq!(verdict.root, Some(root(1, 22)));
    assert_eq!(verdict.state, State::Ok);
    assert!(verdict.sources[1].detail.contains("refused"));
}

#[test]
fn a_lying_attester_is_a_minority_fork_and_never_freezes_the_fleet() {
    let mut engine = engine(2, 2, 1);
    let mut now = NOW;
    for h in 10..=30 {
        now += 1;
        follower_at(&mut engine, 0, 1, h, 0, now);
        follower_at(&mut engine, 1, 1, h, 0, now);
        // The attester claims other blocks at the same heights.
        let offered = attester_at(&mut engine, 2, 9, h, now);
        if h > 10 {
            assert_eq!(offered, Offered::Recorded { conflicting: true });
        }
        assert_eq!(engine.evaluate(now), None);
    }
    assert_eq!(
        healths(&engine),
        vec![Health::Healthy, Health::Healthy, Health::MinorityFork]
    );
    assert_eq!(engine.verdict().state, State::Ok);
    assert_eq!(engine.verdict().root, Some(root(1, 28)));
}

#[test]
fn a_reorg_no_deeper_than_k_does_not_freeze() {
    let (mut engine, now) = three_on_chain_one(30);
    // All three move to chain 2, forked at 27: 3 blocks (28..=30) replaced, K = 3.
    for i in 0..3 {
        follower_at(&mut engine, i, 2, 31, 3, now + 1);
    }
    assert_eq!(engine.evaluate(now + 1), None);
    assert_eq!(engine.verdict().state, State::Ok);
    assert_eq!(engine.verdict().root, Some(root(2, 29)));
}

#[test]
fn a_deep_reorg_of_a_quorum_freezes_on_the_last_agreed_root_until_m_blocks_agree() {
    let (mut engine, mut now) = three_on_chain_one(30);
    let before = engine.verdict();
    assert_eq!(before.root, Some(root(1, 28)));
    // Source 0 reorganises 5 blocks deep first: alone it is only a minority fork.
    now += 1;
    follower_at(&mut engine, 0, 2, 31, 5, now);
    assert_eq!(engine.evaluate(now), None);
    assert_eq!(healths(&engine)[0], Health::MinorityFork);
    // Source 1 follows: two deep reorganisations from the agreed chain make the quorum.
    follower_at(&mut engine, 1, 2, 31, 5, now);
    let froze = engine.evaluate(now);
    assert_eq!(
        froze,
        Some(Transition::Froze {
            reason: FreezeReason::DeepReorg,
            depth: 5,
            root: Some(root(1, 28)),
        })
    );
    let frozen = engine.verdict();
    assert_eq!(frozen.state, State::Frozen);
    assert_eq!(frozen.frozen_since, Some(now));
    assert!(frozen.sequence > before.sequence);
    // The new chain's roots are not trusted while frozen.
    now += 1;
    follower_at(&mut engine, 2, 2, 32, 6, now);
    follower_at(&mut engine, 0, 2, 32, 0, now);
    follower_at(&mut engine, 1, 2, 32, 0, now);
    assert_eq!(engine.evaluate(now), None);
    assert_eq!(engine.verdict().root, Some(root(1, 28)));
    assert_eq!(engine.verdict().agreeing_blocks, 0);
    // M = 2 blocks of agreement on chain 2 thaw it, onto chain 2's root.
    now += 1;
    for i in 0..3 {
        follower_at(&mut engine, i, 2, 33, 0, now);
    }
    assert_eq!(engine.evaluate(now), None);
    assert_eq!(engine.verdict().agreeing_blocks, 1);
    assert_eq!(engine.verdict().state, State::Frozen);
    now += 1;
    for i in 0..3 {
        follower_at(&mut engine, i, 2, 34, 0, now);
    }
    assert_eq!(
        engine.evaluate(now),
        Some(Transition::Thawed {
            root: Some(root(2, 32))
        })
    );
    assert_eq!(engine.verdict().state, State::Ok);
    assert_eq!(engine.verdict().reason, None);
}

#[test]
fn two_followers_reorganising_one_after_the_other_freeze_the_fleet_on_the_old_root() {
    // Two followers, quorum 2. The first to reorganise 5 blocks deep splits them deeper than
    // K with no quorum left: frozen at once, on the root both agreed on before.
    let mut engine = engine(2, 2, 0);
    let mut now = NOW;
    for h in 10..=21 {
        now += 1;
        follower_at(&mut engine, 0, 1, h, 0, now);
        follower_at(&mut engine, 1, 1, h, 0, now);
        engine.evaluate(now);
    }
    now += 1;
    follower_at(&mut engine, 0, 3, 23, 5, now);
    assert_eq!(
        engine.evaluate(now),
        Some(Transition::Froze {
            reason: FreezeReason::Divergence,
            depth: 5,
            root: Some(root(1, 19)),
        })
    );
    // The second follows: still frozen on the old root until M blocks agree.
    follower_at(&mut engine, 1, 3, 23, 5, now);
    assert_eq!(engine.evaluate(now), None);
    assert_eq!(engine.verdict().state, State::Frozen);
    assert_eq!(engine.verdict().root, Some(root(1, 19)));
    now += 1;
    follower_at(&mut engine, 0, 3, 25, 0, now);
    follower_at(&mut engine, 1, 3, 25, 0, now);
    assert_eq!(
        engine.evaluate(now),
        Some(Transition::Thawed {
            root: Some(root(3, 23))
        })
    );
}

#[test]
fn attesters_show_deep_reorgs_through_their_own_tips() {
    // Two attesters; their tips go back to height 20 on another chain after 30.
    let mut engine = engine(2, 0, 2);
    let mut now = NOW;
    for h in 20..=30 {
        now += 1;
        attester_at(&mut engine, 0, 1, h, now);
        attester_at(&mut engine, 1, 1, h, now);
        engine.evaluate(now);
    }
    now += 1;
    attester_at(&mut engine, 0, 2, 25, now);
    attester_at(&mut engine, 1, 2, 25, now);
    let froze = engine.evaluate(now);
    assert!(
        matches!(
            froze,
            Some(Transition::Froze {
                reason: FreezeReason::DeepReorg,
                depth: 6,
                ..
            })
        ),
        "{froze:?}"
    );
}

#[test]
fn a_deep_split_without_a_quorum_freezes_and_a_shallow_one_does_not() {
    // (fork height, last height mined on both branches, whether that is deeper than K = 3)
    for (fork, last, freezes) in [(27u32, 30u32, false), (25, 29, true)] {
        let mut engine = engine(3, 4, 0);
        let mut now = NOW;
        for h in 10..=last {
            now += 1;
            for i in 0..4 {
                // Sources 2 and 3 follow chain 2 above the fork; 0 and 1 stay on chain 1.
                let chain = if i >= 2 && h > fork { 2 } else { 1 };
                follower_at(&mut engine, i, chain, h, 0, now);
            }
            let transition = engine.evaluate(now);
            if freezes && h == last {
                assert!(
                    matches!(
                        transition,
                        Some(Transition::Froze {
                            reason: FreezeReason::Divergence,
                            depth: 4,
                            ..
                        })
                    ),
                    "at {h}: {transition:?}"
                );
            } else {
                assert_eq!(transition, None, "at {h}");
            }
        }
        let verdict = engine.verdict();
        assert_eq!(verdict.state == State::Frozen, freezes, "fork at {fork}");
        assert_eq!(verdict.agreed_tip, None);
        // Frozen or not, the root is the last one all four agreed on.
        assert_eq!(verdict.root, Some(root(1, fork - 2)));
    }
}

#[test]
fn an_operator_unfreezes_onto_the_quorum_or_is_told_there_is_none() {
    let (mut engine, mut now) = three_on_chain_one(30);
    now += 1;
    for i in 0..3 {
        follower_at(&mut engine, i, 2, 31, 8, now);
    }
    assert!(matches!(
        engine.evaluate(now),
        Some(Transition::Froze { .. })
    ));
    // No source fresh a minute later: nothing to unfreeze onto.
    let mut later = engine.clone();
    later.evaluate(now + 120);
    assert_eq!(later.unfreeze(), Err(NoQuorum));
    assert_eq!(later.verdict().state, State::Frozen);
    // With the quorum on chain 2: OK at once on its root.
    assert_eq!(
        engine.unfreeze(),
        Ok(Some(Transition::Unfrozen {
            root: Some(root(2, 29))
        }))
    );
    assert_eq!(engine.verdict().state, State::Ok);
    assert_eq!(engine.unfreeze(), Ok(None));
    // The reorganisation that froze it does not freeze it again.
    assert_eq!(engine.evaluate(now), None);
    assert_eq!(engine.verdict().state, State::Ok);
}

#[test]
fn the_sequence_counts_changes_not_evaluations() {
    let (mut engine, now) = three_on_chain_one(12);
    let sequence = engine.verdict().sequence;
    engine.evaluate(now);
    engine.evaluate(now);
    assert_eq!(engine.verdict().sequence, sequence);
    follower_at(&mut engine, 0, 1, 13, 0, now + 1);
    follower_at(&mut engine, 1, 1, 13, 0, now + 1);
    follower_at(&mut engine, 2, 1, 13, 0, now + 1);
    engine.evaluate(now + 1);
    assert_eq!(engine.verdict().sequence, sequence + 1);
}

proptest! {
    #[test]
    fn arbitrary_bytes_are_ignored_and_change_nothing(
        bytes in proptest::collection::vec(any::<u8>(), 0..400),
        source in 0usize..4,
    ) {
        let (mut engine, now) = three_on_chain_one(15);
        let before = engine.verdict();
        prop_assert!(engine.offer(source, &bytes, now).is_err());
        engine.evaluate(now);
        prop_assert_eq!(engine.verdict(), before);
    }

    #[test]
    fn a_flipped_byte_of_a_good_attestation_is_never_accepted(at in 0usize..217, bit in 0u8..8) {
        let (mut engine, now) = three_on_chain_one(15);
        let mut bytes = signed(1, &statement(1, 16, now + 1));
        bytes[at] ^= 1 << bit;
        // Flipping the key's or signature's bytes breaks the signature; flipping the
        // statement's breaks it too: nothing altered verifies.
        prop_assert!(engine.offer(0, &bytes, now + 1).is_err());
    }
}
