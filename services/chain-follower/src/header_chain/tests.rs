//! Header-tree tests: the 155 real hsd regtest headers, and synthetic regtest branches mined
//! here (regtest's target accepts about half of all hashes).

use super::*;
use crate::synthetic::{mine_chain, mine_child};
use hnsfleet_hns::header::HEADER_SIZE;
use hnsfleet_hns::params::Network;

const REGTEST_BIN: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/hns/testdata/regtest/regtest-headers.bin"
));
const MAIN_BLOB: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/hns/testdata/hnsd-checkpoint-main-136000.bin"
));

/// Far enough ahead that no synthetic header is time-too-new.
const NOW: u64 = 4_000_000_000;

fn regtest() -> &'static NetworkParams {
    Network::Regtest.params()
}

/// A regtest chain of `n` mined headers on genesis, and the headers.
fn chain_of(n: usize) -> (HeaderChain, Vec<Header>) {
    let mut chain = HeaderChain::from_genesis(regtest());
    let headers = mine_chain(regtest(), &chain.tip(), n, 600, 0);
    for h in &headers {
        let out = chain.insert(h.clone(), NOW).unwrap();
        assert!(matches!(out, InsertOutcome::Extended { .. }), "{out:?}");
    }
    (chain, headers)
}

/// Inserts `headers` and returns the last outcome.
fn insert_all(chain: &mut HeaderChain, headers: &[Header]) -> InsertOutcome {
    let mut last = InsertOutcome::Duplicate;
    for h in headers {
        last = chain.insert(h.clone(), NOW).unwrap();
    }
    last
}

/// Snapshot of everything observable, to show a failed insert changed nothing.
fn state(chain: &HeaderChain) -> (ChainEntry, usize, (usize, usize), Vec<BlockHash>) {
    (
        chain.tip(),
        chain.len(),
        chain.pending_counts(),
        chain.locator(),
    )
}

#[test]
fn real_regtest_headers_from_genesis() {
    let headers: Vec<Header> = REGTEST_BIN
        .chunks(HEADER_SIZE)
        .map(|c| Header::decode(c).unwrap())
        .collect();
    assert_eq!(headers.len(), 155);
    assert_eq!(headers[0].hash(), regtest().genesis_hash);
    let now = headers[154].time + 60;
    let mut chain = HeaderChain::from_genesis(regtest());
    assert_eq!(
        chain.insert(headers[0].clone(), now).unwrap(),
        InsertOutcome::Duplicate
    );
    for (i, h) in headers.iter().enumerate().skip(1) {
        match chain.insert(h.clone(), now).unwrap() {
            InsertOutcome::Extended { entry } => assert_eq!(entry.height, i as u32),
            other => panic!("height {i}: {other:?}"),
        }
    }
    let tip = chain.tip();
    assert_eq!((tip.height, tip.hash), (154, headers[154].hash()));
    assert_eq!(chain.height_of(&headers[77].hash()), Some(77));
    let locator = chain.locator();
    assert_eq!(locator.first(), Some(&tip.hash));
    assert_eq!(locator.last(), Some(&regtest().genesis_hash));
    // Regtest tree interval 5: 154 mod 5 = 4 < 12, so the root of header 150.
    let root = chain.safe_root().unwrap();
    assert_eq!(root.height, 150);
    assert_eq!(root.tree_root, headers[150].tree_root);
}

#[test]
fn extension_duplicate_and_lookups() {
    let (mut chain, headers) = chain_of(20);
    assert_eq!(chain.tip().height, 20);
    assert_eq!(chain.entry_at(7).unwrap().hash, headers[6].hash());
    assert!(chain.entry_at(21).is_none());
    for h in [&headers[0], &headers[19]] {
        assert_eq!(
            chain.insert(h.clone(), NOW).unwrap(),
            InsertOutcome::Duplicate
        );
    }
    assert_eq!(chain.tip().height, 20);
}

#[test]
fn side_branch_with_less_work_keeps_tip() {
    let (mut chain, _) = chain_of(10);
    let tip = chain.tip();
    let fork = *chain.entry_at(5).unwrap();
    let branch = mine_chain(regtest(), &fork, 3, 601, 7);
    for (i, h) in branch.iter().enumerate() {
        match chain.insert(h.clone(), NOW).unwrap() {
            InsertOutcome::SideBranch { entry } => assert_eq!(entry.height, 6 + i as u32),
            other => panic!("{other:?}"),
        }
    }
    assert_eq!(chain.tip(), tip);
    assert_eq!(chain.pending_counts(), (3, 0));
    assert_eq!(
        chain.insert(branch[1].clone(), NOW).unwrap(),
        InsertOutcome::Duplicate
    );
}

#[test]
fn reorg_depth_1_after_equal_work_tie() {
    let (mut chain, _) = chain_of(10);
    let old_tip = chain.tip();
    let fork = *chain.entry_at(9).unwrap();
    let branch = mine_chain(regtest(), &fork, 2, 601, 1);
    // Equal work: the first-seen tip stays.
    assert!(matches!(
        chain.insert(branch[0].clone(), NOW).unwrap(),
        InsertOutcome::SideBranch { .. }
    ));
    assert_eq!(chain.tip(), old_tip);
    let InsertOutcome::Reorg(reorg) = chain.insert(branch[1].clone(), NOW).unwrap() else {
        panic!("expected a reorg");
    };
    assert_eq!((reorg.depth, reorg.fork_height), (1, 9));
    assert_eq!(reorg.old_tip, old_tip);
    assert_eq!(reorg.new_tip, chain.tip());
    assert_eq!(reorg.connected, branch);
    assert_eq!(chain.tip().height, 11);
    assert_eq!(chain.height_of(&old_tip.hash), None);
    assert_eq!(chain.entry_at(10).unwrap().hash, branch[0].hash());
    assert_eq!(chain.pending_counts(), (0, 0));
}

#[test]
fn reorg_depth_50_and_back() {
    let (mut chain, main) = chain_of(100);
    let fork = *chain.entry_at(50).unwrap();
    let branch = mine_chain(regtest(), &fork, 51, 599, 2);
    let InsertOutcome::Reorg(reorg) = insert_all(&mut chain, &branch) else {
        panic!("expected a reorg");
    };
    assert_eq!((reorg.depth, reorg.fork_height), (50, 50));
    assert_eq!(reorg.connected.len(), 51);
    assert_eq!(chain.tip().height, 101);
    assert_eq!(chain.tip().hash, branch[50].hash());
    assert_eq!(chain.entry_at(60).unwrap().hash, branch[9].hash());
    assert_eq!(chain.height_of(&main[59].hash()), None);
    // The disconnected headers are kept (all within the 80-block root window): a peer whose
    // tip was the old tip had every one of them.
    assert_eq!(chain.disconnected().len(), 50);
    let old_tip = (main[99].hash(), 100);
    let gone_60 = HashedHeader::new(main[59].clone());
    let at_60 = chain
        .disconnected()
        .find_root(60, &gone_60.header().tree_root)
        .unwrap();
    assert_eq!(at_60.hash, gone_60.hash());
    assert!(chain.disconnected().had(old_tip, &at_60));
    assert!(!chain.disconnected().had((branch[50].hash(), 101), &at_60));

    // The old branch comes back from a peer with two more blocks and wins again.
    let mut back: Vec<Header> = main[50..].to_vec();
    let mut parent = fork;
    for h in &back {
        parent = ChainEntry::from_header(&h.clone().into(), parent.height + 1, parent.chainwork);
    }
    back.extend(mine_chain(regtest(), &parent, 2, 600, 3));
    let InsertOutcome::Reorg(reorg) = insert_all(&mut chain, &back) else {
        panic!("expected a second reorg");
    };
    assert_eq!((reorg.depth, reorg.fork_height), (51, 50));
    assert_eq!(chain.tip().height, 102);
    assert_eq!(chain.entry_at(100).unwrap().hash, main[99].hash());
    // Now the first branch is the disconnected one, within the window of the new tip.
    let gone = chain.disconnected();
    let branch_60 = HashedHeader::new(branch[9].clone());
    let at_60 = gone.find_root(60, &branch_60.header().tree_root).unwrap();
    assert_eq!(at_60.hash, branch_60.hash());
    assert!(gone.had((branch[50].hash(), 101), &at_60));
    assert!(!gone.had(old_tip, &at_60));
}

#[test]
fn orphans_connect_when_parent_arrives() {
    let (mut chain, _) = chain_of(5);
    let next = mine_chain(regtest(), &chain.tip(), 3, 600, 0);
    assert_eq!(
        chain.insert(next[2].clone(), NOW).unwrap(),
        InsertOutcome::Orphan
    );
    assert_eq!(
        chain.insert(next[1].clone(), NOW).unwrap(),
        InsertOutcome::Orphan
    );
    assert_eq!(
        chain.insert(next[1].clone(), NOW).unwrap(),
        InsertOutcome::Duplicate
    );
    assert_eq!(chain.pending_counts(), (0, 2));
    assert!(matches!(
        chain.insert(next[0].clone(), NOW).unwrap(),
        InsertOutcome::Extended { .. }
    ));
    let mut n = 0;
    while let Some((h, origin)) = chain.pop_ready_orphan() {
        assert!(matches!(
            chain.insert_hashed(h, NOW, origin).unwrap(),
            InsertOutcome::Extended { .. }
        ));
        n += 1;
    }
    assert_eq!(n, 2);
    assert_eq!(chain.tip().hash, next[2].hash());
    assert_eq!(chain.pending_counts(), (0, 0));
}

#[test]
fn orphan_pool_is_bounded_per_origin_and_a_flood_only_evicts_its_own() {
    use hnsfleet_hns::header::HashedHeader;
    let (chain, _) = chain_of(1);
    let mut chain = chain.with_limits(Limits {
        max_side: 10,
        max_orphans: 6,
        max_orphans_per_origin: 4,
    });
    // Two honest orphans from peer 1 (a gap of one header before them).
    let honest = mine_chain(regtest(), &chain.tip(), 3, 600, 0);
    for h in &honest[1..] {
        let out = chain
            .insert_hashed(HashedHeader::new(h.clone()), NOW, 1)
            .unwrap();
        assert_eq!(out, InsertOutcome::Orphan);
    }
    // Peer 7 floods valid-PoW orphans of a branch nobody has.
    let far = mine_chain(regtest(), &chain.tip(), 40, 600, 7);
    for h in &far[1..] {
        let out = chain
            .insert_hashed(HashedHeader::new(h.clone()), NOW, 7)
            .unwrap();
        assert_eq!(out, InsertOutcome::Orphan);
        assert!(chain.pending_counts().1 <= 6);
        assert!(chain.orphans_from(7) <= 4);
    }
    assert_eq!(
        chain.orphans_from(1),
        2,
        "the flood evicted an honest orphan"
    );
    assert_eq!(chain.orphans_from(7), 4);
    // A third origin arriving when the pool is full takes from the heaviest (peer 7).
    let other = mine_chain(regtest(), &chain.tip(), 3, 600, 9);
    chain
        .insert_hashed(HashedHeader::new(other[2].clone()), NOW, 3)
        .unwrap();
    assert_eq!(
        (
            chain.orphans_from(1),
            chain.orphans_from(7),
            chain.orphans_from(3)
        ),
        (2, 3, 1)
    );
    // The honest orphans still connect once the gap arrives.
    assert!(matches!(
        chain.insert(honest[0].clone(), NOW).unwrap(),
        InsertOutcome::Extended { .. }
    ));
    while let Some((h, origin)) = chain.pop_ready_orphan() {
        chain.insert_hashed(h, NOW, origin).unwrap();
    }
    assert_eq!(chain.tip().hash, honest[2].hash());
    assert_eq!(chain.orphans_from(1), 0);
}

#[test]
fn orphans_need_valid_proof_of_work() {
    let (mut chain, _) = chain_of(1);
    let far = mine_chain(regtest(), &chain.tip(), 3, 600, 0);
    let mut bad = far[2].clone();
    while bad.verify_pow().is_ok() {
        bad.nonce = bad.nonce.wrapping_add(1);
    }
    let err = chain.insert(bad, NOW).unwrap_err();
    assert!(err.ban_worthy(), "{err}");
    // Random bytes: bits that decode to no valid target, or a hash above it.
    let random = Header::decode(&[0x5a; HEADER_SIZE]).unwrap();
    assert!(chain.insert(random, NOW).unwrap_err().ban_worthy());
    assert_eq!(chain.pending_counts(), (0, 0));
}

#[test]
fn side_eviction_never_drops_the_branch_being_extended() {
    let (chain, _) = chain_of(10);
    let mut chain = chain.with_limits(Limits {
        max_side: 3,
        max_orphans: 10,
        max_orphans_per_origin: 10,
    });
    // A low-work side branch off height 2, then one off height 8 (more work: it is longer).
    let low = *chain.entry_at(2).unwrap();
    let low_leaf = mine_child(regtest(), &low, low.time + 600, 1);
    chain.insert(low_leaf, NOW).unwrap();
    let fork = *chain.entry_at(8).unwrap();
    let branch = mine_chain(regtest(), &fork, 3, 600, 5);
    for h in &branch[..2] {
        assert!(matches!(
            chain.insert(h.clone(), NOW).unwrap(),
            InsertOutcome::SideBranch { .. }
        ));
    }
    assert_eq!(chain.pending_counts().0, 3);
    // Full. The branch's leaf has more work than the low leaf, so the low leaf goes...
    let out = chain.insert(branch[2].clone(), NOW).unwrap();
    assert!(matches!(out, InsertOutcome::Reorg(_)), "{out:?}");
    // ...and with only the branch's own leaf left as the least-work leaf, extending it keeps it.
    let (chain, _) = chain_of(10);
    let mut chain = chain.with_limits(Limits {
        max_side: 2,
        max_orphans: 10,
        max_orphans_per_origin: 10,
    });
    let fork = *chain.entry_at(3).unwrap();
    let branch = mine_chain(regtest(), &fork, 4, 600, 6);
    let high = *chain.entry_at(7).unwrap();
    let rich_leaf = mine_child(regtest(), &high, high.time + 600, 2);
    chain.insert(rich_leaf, NOW).unwrap();
    chain.insert(branch[0].clone(), NOW).unwrap();
    // The pool is full; branch[0] is the least-work leaf and is being extended: it must stay.
    assert!(matches!(
        chain.insert(branch[1].clone(), NOW).unwrap(),
        InsertOutcome::SideBranch { .. }
    ));
    assert_eq!(chain.pending_counts().0, 2);
    // Full, and the only leaf is the one being extended: the header is not kept (the bound
    // holds) and nothing changes.
    assert_eq!(
        chain.insert(branch[2].clone(), NOW).unwrap(),
        InsertOutcome::Unplaced
    );
    assert_eq!(chain.pending_counts().0, 2);
    assert_eq!(chain.tip().height, 10);
}

#[test]
fn side_branches_are_bounded() {
    let (chain, _) = chain_of(10);
    let mut chain = chain.with_limits(Limits {
        max_side: 4,
        max_orphans: 10,
        max_orphans_per_origin: 10,
    });
    for salt in 1..=6 {
        let fork = *chain.entry_at(3).unwrap();
        let h = mine_child(regtest(), &fork, fork.time + 600, salt);
        assert!(matches!(
            chain.insert(h, NOW).unwrap(),
            InsertOutcome::SideBranch { .. }
        ));
    }
    assert_eq!(chain.pending_counts().0, 4);
}

#[test]
fn invalid_headers_change_nothing() {
    let (mut chain, _) = chain_of(30);
    let tip = chain.tip();
    let fork = *chain.entry_at(20).unwrap();
    insert_all(&mut chain, &mine_chain(regtest(), &fork, 2, 600, 9));
    let orphan = mine_chain(regtest(), &tip, 2, 600, 0);
    assert_eq!(
        chain.insert(orphan[1].clone(), NOW).unwrap(),
        InsertOutcome::Orphan
    );
    let before = state(&chain);

    let mut bad_pow = mine_child(regtest(), &tip, tip.time + 600, 0);
    while bad_pow.verify_pow().is_ok() {
        bad_pow.nonce = bad_pow.nonce.wrapping_add(1);
    }
    let mut bad_bits = mine_child(regtest(), &tip, tip.time + 600, 0);
    bad_bits.bits = 0x2000_ffff;
    while bad_bits.verify_pow().is_err() {
        bad_bits.nonce = bad_bits.nonce.wrapping_add(1);
    }
    let too_old = mine_child(regtest(), &tip, chain.entry_at(25).unwrap().time, 0);
    let too_new = mine_child(regtest(), &tip, NOW + 3 * 3600, 0);
    // On the side branch (fork at 20, tip 22) too.
    let side_parent = chain.entry_at(12).unwrap().time;
    let side_old = mine_child(
        regtest(),
        &ChainEntry::from_header(
            &mine_chain(regtest(), &fork, 2, 600, 9)[1].clone().into(),
            22,
            fork.chainwork,
        ),
        side_parent,
        0,
    );

    let cases: Vec<(Header, &str, bool)> = vec![
        (bad_pow, "high-hash", true),
        (bad_bits, "bad-diffbits", true),
        (too_old, "time-too-old", true),
        (too_new, "time-too-new", false),
        (side_old, "time-too-old", true),
    ];
    for (h, rule, ban) in cases {
        let err = chain.insert(h, NOW).unwrap_err();
        assert_eq!((err.rule(), err.ban_worthy()), (rule, ban), "{err}");
        assert_eq!(state(&chain), before, "{rule} changed the chain");
    }
}

#[test]
fn fork_below_last_checkpoint_is_refused() {
    let mut params = regtest().clone();
    params.last_checkpoint = 20;
    let mut chain = HeaderChain::from_genesis(&params);
    let headers = mine_chain(&params, &chain.tip(), 30, 600, 0);
    insert_all(&mut chain, &headers);
    let before = state(&chain);
    let low = *chain.entry_at(10).unwrap();
    let err = chain
        .insert(mine_child(&params, &low, low.time + 601, 1), NOW)
        .unwrap_err();
    assert!(matches!(
        err,
        ChainError::ForkBeforeCheckpoint {
            height: 11,
            last_checkpoint: 20
        }
    ));
    assert!(err.ban_worthy());
    assert_eq!(state(&chain), before);
    let high = *chain.entry_at(25).unwrap();
    assert!(matches!(
        chain
            .insert(mine_child(&params, &high, high.time + 601, 1), NOW)
            .unwrap(),
        InsertOutcome::SideBranch { .. }
    ));
}

#[test]
fn starts_from_mainnet_checkpoint_blob() {
    let blob = CheckpointBlob::decode(MAIN_BLOB).unwrap();
    let params = Network::Main.params();
    let chain = HeaderChain::from_checkpoint(params, &blob).unwrap();
    assert_eq!(chain.base_height(), 136_000);
    assert_eq!(chain.tip().height, 136_149);
    assert_eq!(chain.tip().hash, blob.headers[149].hash());
    assert!(chain.entry_at(135_999).is_none());
    let locator = chain.locator();
    assert_eq!(locator.first(), Some(&chain.tip().hash));
    assert_eq!(locator.last(), Some(&params.genesis_hash));
    assert_eq!(locator[locator.len() - 2], blob.headers[0].hash());
    // A header from storage must link to the tip.
    let mut c = chain.clone();
    let err = c
        .extend_trusted(&blob.headers[5].clone().into())
        .unwrap_err();
    assert_eq!(err.rule(), "bad-prevblk");
}

mod orphan_properties {
    use super::*;
    use hnsfleet_hns::header::HashedHeader;
    use proptest::prelude::*;

    proptest! {
        #![proptest_config(ProptestConfig::with_cases(64))]

        /// Whatever mix of origins sends orphans, the pool stays within its bounds, the
        /// per-origin counts add up to the pool, and an origin that sent no more than its fair
        /// share (total / origins) never lost one to somebody else's flood.
        #[test]
        fn the_orphan_pool_keeps_its_bounds_and_fair_shares(
            sends in proptest::collection::vec((0u64..4, 1usize..12), 1..24),
        ) {
            let limits = Limits {
                max_side: 16,
                max_orphans: 24,
                max_orphans_per_origin: 10,
            };
            let (chain, _) = chain_of(1);
            let mut chain = chain.with_limits(limits);
            let mut sent = [0usize; 4];
            for (round, (origin, n)) in sends.iter().enumerate() {
                let branch = mine_chain(regtest(), &chain.tip(), n + 1, 600, round as u64 + 100);
                // Skip the first header: the rest are orphans.
                for h in &branch[1..] {
                    let out = chain
                        .insert_hashed(HashedHeader::new(h.clone()), NOW, *origin)
                        .unwrap();
                    prop_assert_eq!(out, InsertOutcome::Orphan);
                    sent[*origin as usize] += 1;
                }
                let (_, total) = chain.pending_counts();
                prop_assert!(total <= limits.max_orphans);
                let by_origin: usize = (0..4).map(|o| chain.orphans_from(o)).sum();
                prop_assert_eq!(by_origin, total);
                for o in 0..4u64 {
                    prop_assert!(chain.orphans_from(o) <= limits.max_orphans_per_origin);
                }
            }
            let share = limits.max_orphans / 4;
            for o in 0..4u64 {
                if sent[o as usize] <= share {
                    prop_assert_eq!(chain.orphans_from(o), sent[o as usize]);
                }
            }
        }
    }
}

#[test]
fn an_ended_session_s_orphans_are_dropped_and_only_its_own() {
    use hnsfleet_hns::header::HashedHeader;
    let (mut chain, _) = chain_of(1);
    let a = mine_chain(regtest(), &chain.tip(), 4, 600, 1);
    let b = mine_chain(regtest(), &chain.tip(), 3, 600, 2);
    for h in &a[1..] {
        chain
            .insert_hashed(HashedHeader::new(h.clone()), NOW, 7)
            .unwrap();
    }
    for h in &b[1..] {
        chain
            .insert_hashed(HashedHeader::new(h.clone()), NOW, 8)
            .unwrap();
    }
    assert_eq!(chain.pending_counts().1, 5);
    assert_eq!(chain.drop_orphans_from(7), 3);
    assert_eq!((chain.orphans_from(7), chain.orphans_from(8)), (0, 2));
    assert_eq!(chain.drop_orphans_from(7), 0);
    // The other origin's orphans still connect.
    chain.insert(b[0].clone(), NOW).unwrap();
    while let Some((h, origin)) = chain.pop_ready_orphan() {
        chain.insert_hashed(h, NOW, origin).unwrap();
    }
    assert_eq!(chain.tip().hash, b[2].hash());
    assert_eq!(chain.pending_counts().1, 0);
}

#[test]
fn recent_headers_follow_the_active_chain_through_reorgs_and_stay_bounded() {
    let (mut chain, main) = chain_of(100);
    // Heights 1..=100 are main[0..100]; genesis is height 0.
    assert_eq!(chain.recent_headers(10, 12).unwrap(), main[9..12].to_vec());
    assert_eq!(
        chain.recent_headers(0, 0).unwrap(),
        vec![regtest().genesis.clone()]
    );
    assert_eq!(chain.recent_headers(100, 101), None, "beyond the tip");
    assert_eq!(chain.recent_headers(12, 10), None, "backwards");
    // A reorg replaces the disconnected headers with the new branch's.
    let fork = *chain.entry_at(50).unwrap();
    let branch = mine_chain(regtest(), &fork, 51, 599, 2);
    assert!(matches!(
        insert_all(&mut chain, &branch),
        InsertOutcome::Reorg(_)
    ));
    assert_eq!(chain.recent_headers(49, 52).unwrap()[..2], main[48..50]);
    assert_eq!(chain.recent_headers(51, 101).unwrap(), branch);
    // Only the last RECENT_HEADERS are kept, however long the chain grows.
    let more = mine_chain(regtest(), &chain.tip(), RECENT_HEADERS + 10, 600, 4);
    insert_all(&mut chain, &more);
    let tip = chain.tip().height;
    let first_kept = tip + 1 - RECENT_HEADERS as u32;
    assert_eq!(
        chain.recent_headers(first_kept, tip).unwrap().len(),
        RECENT_HEADERS
    );
    assert_eq!(chain.recent_headers(first_kept - 1, tip), None);
}
