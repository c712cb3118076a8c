//! The hsd-generated regtest chain, heights 0..154, and negative cases built on it.

use super::*;

#[test]
fn regtest_chain_validates_from_genesis() {
    let params = regtest_params();
    let headers = regtest_headers();
    assert_eq!(headers.len(), 155);
    assert_eq!(headers[0], params.genesis);
    let entries = regtest_entries();
    let v: Value = serde_json::from_str(REGTEST_JSON).unwrap();
    let expected = v["headers"].as_array().unwrap();
    for (h, e) in entries.iter().enumerate() {
        assert_eq!(e.height as usize, h);
        assert_eq!(e.bits, 0x207f_ffff);
        // Two units of work per regtest block, genesis included.
        assert_eq!(
            e.chainwork.as_u256(),
            ruint::aliases::U256::from(2 * (h as u64 + 1))
        );
        assert_eq!(e.hash.to_hex(), expected[h]["hash"].as_str().unwrap());
        assert_eq!(
            e.tree_root.to_hex(),
            expected[h]["treeRoot"].as_str().unwrap()
        );
        assert_eq!(
            hex::encode(e.chainwork.to_be_bytes()),
            expected[h]["chainwork"].as_str().unwrap()
        );
    }
    assert_eq!(
        entries[154].chainwork.as_u256(),
        ruint::aliases::U256::from(0x136u32)
    );
    // Tree roots change only at heights ≡ 1 (mod 5).
    for w in entries.windows(2) {
        if w[0].tree_root != w[1].tree_root {
            assert_eq!(w[1].height % 5, 1, "{}", w[1].height);
        }
    }
}

#[test]
fn regtest_safe_root_lags_one_commitment() {
    let params = regtest_params();
    let entries = regtest_entries();
    let v: Value = serde_json::from_str(REGTEST_JSON).unwrap();
    let view = SliceView::new(0, &entries);
    let tip = &entries[154];
    let safe = safe_root(params, &view, tip).unwrap();
    assert_eq!(safe.height, 150);
    assert_eq!(safe.tree_root.to_hex(), v["proofRoot"].as_str().unwrap());
    // With only the tip visible, the lower header is missing.
    let short = SliceView::new(0, &entries[..100]);
    assert_eq!(
        safe_root(params, &short, tip),
        Err(ChainError::MissingAncestor { height: 150 })
    );
    assert!(is_synced(params, tip, tip.time + 1_000_000));
}

/// Parent index, header to validate (already re-mined by the caller where needed).
fn check(
    entries: &[ChainEntry],
    at: usize,
    header: &Header,
    now: u64,
) -> Result<ChainEntry, ChainError> {
    let view = SliceView::new(0, &entries[..at]);
    validate_next(regtest_params(), &view, &entries[at - 1], header, now)
}

#[test]
fn wrong_bits_are_bad_diffbits() {
    let entries = regtest_entries();
    let headers = regtest_headers();
    let now = headers[154].time + 60;
    let mut h = headers[100].clone();
    // An easier target than the regtest limit; re-mine so that PoW passes.
    h.bits = 0x2100_ffff;
    let h = mine(h);
    let err = check(&entries, 100, &h, now).unwrap_err();
    assert_eq!(
        err,
        ChainError::BadDiffBits {
            expected: 0x207f_ffff,
            got: 0x2100_ffff
        }
    );
    assert!(err.ban_worthy());
    assert_eq!(err.rule(), "bad-diffbits");
}

#[test]
fn time_at_or_below_median_is_time_too_old() {
    let entries = regtest_entries();
    let headers = regtest_headers();
    let now = headers[154].time + 60;
    let view = SliceView::new(0, &entries[..100]);
    let mtp = median_time_past(&view, &entries[99]).unwrap();
    for time in [mtp, mtp - 1] {
        let mut h = headers[100].clone();
        h.time = time;
        let h = mine(h);
        let err = check(&entries, 100, &h, now).unwrap_err();
        assert_eq!(err, ChainError::TimeTooOld { time, median: mtp });
        assert!(err.ban_worthy());
    }
    let mut h = headers[100].clone();
    h.time = mtp + 1;
    assert!(check(&entries, 100, &mine(h), now).is_ok());
}

#[test]
fn time_beyond_two_hours_is_time_too_new_and_not_ban_worthy() {
    let entries = regtest_entries();
    let headers = regtest_headers();
    let now = headers[99].time;
    let mut h = headers[100].clone();
    h.time = now + MAX_FUTURE_SECS + 1;
    let h = mine(h);
    let err = check(&entries, 100, &h, now).unwrap_err();
    assert_eq!(
        err,
        ChainError::TimeTooNew {
            time: now + 7201,
            limit: now + 7200
        }
    );
    assert!(!err.ban_worthy());
    assert!(err.is_transient());
    // Valid once the clock catches up.
    assert!(check(&entries, 100, &h, now + 1).is_ok());
    let mut edge = headers[100].clone();
    edge.time = now + MAX_FUTURE_SECS;
    assert!(check(&entries, 100, &mine(edge), now).is_ok());
}

#[test]
fn checkpoint_mismatch_and_match() {
    let entries = regtest_entries();
    let headers = regtest_headers();
    let now = headers[154].time + 60;
    let wrong: &'static [Checkpoint] = Box::leak(Box::new([Checkpoint {
        height: 100,
        hash: BlockHash::ZERO,
    }]));
    let mut params = regtest_params().clone();
    params.checkpoints = wrong;
    let view = SliceView::new(0, &entries[..100]);
    let err = validate_next(&params, &view, &entries[99], &headers[100], now).unwrap_err();
    assert_eq!(
        err,
        ChainError::CheckpointMismatch {
            height: 100,
            expected: BlockHash::ZERO,
            got: entries[100].hash
        }
    );
    assert!(err.ban_worthy());
    let right: &'static [Checkpoint] = Box::leak(Box::new([Checkpoint {
        height: 100,
        hash: entries[100].hash,
    }]));
    params.checkpoints = right;
    assert_eq!(
        validate_next(&params, &view, &entries[99], &headers[100], now),
        Ok(entries[100])
    );
}

#[test]
fn broken_linkage_is_prev_mismatch() {
    let entries = regtest_entries();
    let headers = regtest_headers();
    let now = headers[154].time + 60;
    // Header 101 offered as the child of 99.
    let view = SliceView::new(0, &entries[..100]);
    let err = validate_next(regtest_params(), &view, &entries[99], &headers[101], now).unwrap_err();
    assert_eq!(
        err,
        ChainError::PrevMismatch {
            expected: entries[99].hash,
            got: entries[100].hash
        }
    );
    assert!(!err.ban_worthy());
    let hashed = HashedHeader::new(headers[101].clone());
    assert_eq!(
        validate_next_hashed(regtest_params(), &view, &entries[99], &hashed, now),
        Err(err)
    );
}

#[test]
fn invalid_pow_is_typed() {
    let entries = regtest_entries();
    let headers = regtest_headers();
    let now = headers[154].time + 60;
    let mut h = headers[100].clone();
    // Re-mine for a failing hash: advance the nonce until the hash is above the target.
    while h.verify_pow().is_ok() {
        h.nonce = h.nonce.wrapping_add(1);
    }
    let err = check(&entries, 100, &h, now).unwrap_err();
    assert!(matches!(
        err,
        ChainError::InvalidPow(HeaderError::HighHash { .. })
    ));
    assert!(err.ban_worthy());
    let mut h = headers[100].clone();
    h.bits = 0x2080_0001;
    assert!(matches!(
        check(&entries, 100, &h, now),
        Err(ChainError::InvalidPow(HeaderError::BadBits(_)))
    ));
}

#[test]
fn missing_history_is_reported_not_guessed() {
    let entries = regtest_entries();
    let headers = regtest_headers();
    let now = headers[154].time + 60;
    // Only entries 95..100 are known: the median needs 89..99.
    let view = SliceView::new(95, &entries[95..100]);
    assert_eq!(
        validate_next(regtest_params(), &view, &entries[99], &headers[100], now),
        Err(ChainError::MissingAncestor { height: 94 })
    );
}

#[test]
fn a_fork_validates_through_a_branch_view() {
    let params = regtest_params();
    let entries = regtest_entries();
    let headers = regtest_headers();
    let now = headers[154].time + 60;
    let base = SliceView::new(0, &entries[..=120]);
    // An alternative block 121 (different nonce/extra nonce), then a child on top of it.
    let mut alt = headers[121].clone();
    alt.extra_nonce[0] ^= 1;
    let alt = mine(alt);
    let alt_entry = validate_next(params, &base, &entries[120], &alt, now).unwrap();
    assert_ne!(alt_entry.hash, entries[121].hash);
    assert_eq!(alt_entry.chainwork, entries[121].chainwork);
    assert!(!alt_entry.has_more_work_than(&entries[121]));

    let branch = [alt_entry];
    let view = BranchView::new(&base, 121, &branch);
    let mut child = headers[122].clone();
    child.prev_block = alt_entry.hash;
    let child = mine(child);
    let child_entry = validate_next(params, &view, &alt_entry, &child, now).unwrap();
    assert_eq!(child_entry.height, 122);
    assert!(child_entry.has_more_work_than(&entries[121]));
    assert_eq!(view.entry_at(121), Some(&alt_entry));
    assert_eq!(view.entry_at(120), Some(&entries[120]));
    assert_eq!(view.entry_at(122), None);
}

#[test]
fn target_reset_and_early_heights() {
    // Testnet: a block more than 20 minutes after its parent may use the limit bits; early
    // heights always do. Uses synthetic entries (only times, heights and bits matter).
    let p = Network::Testnet.params();
    let mut parent = ChainEntry::genesis(p);
    parent.height = 10;
    let view = SliceView::new(0, &[]);
    assert_eq!(
        expected_bits(p, &view, &parent, parent.time + 1),
        Ok(p.pow.limit_bits)
    );
    parent.height = 1000;
    assert_eq!(
        expected_bits(p, &view, &parent, parent.time + 1201),
        Ok(p.pow.limit_bits)
    );
    assert_eq!(
        expected_bits(p, &view, &parent, parent.time + 1200),
        Err(ChainError::MissingAncestor { height: 999 })
    );
}
