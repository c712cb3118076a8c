//! Chain-rule tests on real data: the hnsd mainnet checkpoint (heights 136000..136149) and the
//! hsd-generated regtest chain (heights 0..154). Negative cases re-mine regtest headers (the
//! regtest target accepts about half of all hashes) so that only the rule under test fails.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use super::*;
use crate::params::{Checkpoint, Network};
use crate::pow::Target;
use proptest::prelude::*;
use serde_json::Value;

mod blob;
mod follow;
mod regtest;

const BLOB: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/hnsd-checkpoint-main-136000.bin"
));
const BLOB_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/hnsd-checkpoint-main-136000.json"
));
const REGTEST_BIN: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/regtest/regtest-headers.bin"
));
const REGTEST_JSON: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/regtest/regtest-names-proofs.json"
));

fn main_params() -> &'static NetworkParams {
    Network::Main.params()
}

fn regtest_params() -> &'static NetworkParams {
    Network::Regtest.params()
}

/// The 155 regtest headers, heights 0..=154.
fn regtest_headers() -> Vec<Header> {
    REGTEST_BIN
        .chunks(crate::header::HEADER_SIZE)
        .map(|c| Header::decode(c).unwrap())
        .collect()
}

/// Validates the regtest chain from genesis and returns its entries.
fn regtest_entries() -> Vec<ChainEntry> {
    let params = regtest_params();
    let headers = regtest_headers();
    let now = headers.last().unwrap().time + 60;
    let mut entries = vec![ChainEntry::genesis(params)];
    for header in &headers[1..] {
        let parent = *entries.last().unwrap();
        let view = SliceView::new(0, &entries);
        entries.push(validate_next(params, &view, &parent, header, now).unwrap());
    }
    entries
}

/// Increments the nonce until the header meets its own target (fast on regtest).
fn mine(mut header: Header) -> Header {
    while header.verify_pow().is_err() {
        header.nonce = header.nonce.wrapping_add(1);
    }
    header
}

fn hex_u32(v: &Value) -> u32 {
    u32::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

#[test]
fn error_rules_and_ban_policy() {
    let h = BlockHash::ZERO;
    let cases: Vec<(ChainError, &str, bool)> = vec![
        (
            ChainError::PrevMismatch {
                expected: h,
                got: h,
            },
            "bad-prevblk",
            false,
        ),
        (
            ChainError::InvalidPow(HeaderError::HighHash { hash: h, bits: 1 }),
            "high-hash",
            true,
        ),
        (
            ChainError::TimeTooNew { time: 2, limit: 1 },
            "time-too-new",
            false,
        ),
        (
            ChainError::TimeTooOld { time: 1, median: 1 },
            "time-too-old",
            true,
        ),
        (
            ChainError::BadDiffBits {
                expected: 1,
                got: 2,
            },
            "bad-diffbits",
            true,
        ),
        (
            ChainError::CheckpointMismatch {
                height: 1,
                expected: h,
                got: h,
            },
            "checkpoint mismatch",
            true,
        ),
        (
            ChainError::ForkBeforeCheckpoint {
                height: 1,
                last_checkpoint: 2,
            },
            "bad-fork-prior-to-checkpoint",
            true,
        ),
        (
            ChainError::MissingAncestor { height: 1 },
            "missing-ancestor",
            false,
        ),
    ];
    for (err, rule, ban) in cases {
        assert_eq!(err.rule(), rule);
        assert_eq!(err.ban_worthy(), ban, "{err}");
        assert_eq!(err.is_transient(), rule == "time-too-new");
        assert!(!err.to_string().is_empty());
    }
}

#[test]
fn chain_entry_is_compact() {
    assert_eq!(std::mem::size_of::<ChainEntry>(), 112);
}

#[test]
fn genesis_entries() {
    for n in Network::ALL {
        let p = n.params();
        let g = ChainEntry::genesis(p);
        assert_eq!(
            (g.height, g.hash, g.bits),
            (0, p.genesis_hash, p.pow.limit_bits)
        );
        assert_eq!(g.chainwork, p.pow.limit_target.work());
    }
    assert_eq!(
        ChainEntry::genesis(main_params()).chainwork.as_u256(),
        ruint::aliases::U256::from(0x100_0100_0100u64)
    );
}

#[test]
fn check_fork_below_last_checkpoint() {
    let p = main_params();
    let mut parent = ChainEntry::genesis(p);
    parent.height = 1000;
    assert!(check_fork(p, &parent, true).is_ok());
    let err = check_fork(p, &parent, false).unwrap_err();
    assert!(matches!(
        err,
        ChainError::ForkBeforeCheckpoint { height: 1001, .. }
    ));
    assert!(err.ban_worthy());
    parent.height = 258_026;
    assert!(check_fork(p, &parent, false).is_ok());
    assert!(
        check_fork(
            regtest_params(),
            &ChainEntry::genesis(regtest_params()),
            false
        )
        .is_ok()
    );
}

#[test]
fn check_checkpoint_table() {
    let p = main_params();
    let good = p.checkpoint_at(1008).unwrap();
    assert!(check_checkpoint(p, 1008, &good).is_ok());
    assert!(check_checkpoint(p, 1009, &BlockHash::ZERO).is_ok());
    assert_eq!(
        check_checkpoint(p, 1008, &BlockHash::ZERO),
        Err(ChainError::CheckpointMismatch {
            height: 1008,
            expected: good,
            got: BlockHash::ZERO
        })
    );
}

#[test]
fn bits_round_trip_through_target_for_real_headers() {
    let v: Value = serde_json::from_str(BLOB_JSON).unwrap();
    for h in v["headers"].as_array().unwrap() {
        let bits = hex_u32(&h["bits"]);
        assert_eq!(Target::from_bits(bits).unwrap().to_bits(), bits);
    }
}

proptest! {
    #[test]
    fn slice_view_heights(first in 0u32..1000, len in 0usize..50, probe in 0u32..1100) {
        let mut entries = Vec::new();
        for i in 0..len {
            let mut e = ChainEntry::genesis(regtest_params());
            e.height = first + i as u32;
            entries.push(e);
        }
        let view = SliceView::new(first, &entries);
        match view.entry_at(probe) {
            Some(e) => prop_assert_eq!(e.height, probe),
            None => prop_assert!(probe < first || probe >= first + len as u32),
        }
    }
}

#[test]
fn precheck_batch_takes_real_headers_and_refuses_bad_pow_linkage_and_easy_bits() {
    let params = regtest_params();
    let headers: Vec<Header> = regtest_headers().into_iter().skip(1).take(50).collect();
    let hashed = precheck_batch(params, headers.clone()).unwrap();
    assert_eq!(hashed.len(), 50);
    for (h, raw) in hashed.iter().zip(&headers) {
        assert_eq!(h.hash(), raw.hash());
    }
    // The first header's parent is not checked (that needs the chain).
    assert!(precheck_batch(params, headers[10..].to_vec()).is_ok());

    // Broken linkage in the middle.
    let mut unlinked = headers.clone();
    unlinked.remove(20);
    let (at, e) = precheck_batch(params, unlinked).unwrap_err();
    assert_eq!((at, e.rule()), (20, "bad-prevblk"));

    // A hash above the header's own target.
    let mut bad_pow = headers.clone();
    while bad_pow[7].verify_pow().is_ok() {
        bad_pow[7].nonce = bad_pow[7].nonce.wrapping_add(1);
    }
    let (at, e) = precheck_batch(params, bad_pow).unwrap_err();
    assert_eq!((at, e.ban_worthy()), (7, true));
    assert!(matches!(e, ChainError::InvalidPow(_)), "{e}");

    // Valid PoW against bits easier than the network allows (mainnet limit, regtest header).
    let easy = regtest_headers()[1].clone();
    let (at, e) = precheck_batch(main_params(), vec![easy]).unwrap_err();
    assert!(matches!(e, ChainError::EasierThanLimit { .. }), "{e}");
    assert_eq!((at, e.ban_worthy(), e.rule()), (0, true, "bad-diffbits"));

    // Random bytes as headers: refused at the first one, whatever they are.
    let random = Header::decode(&[0x5a; crate::header::HEADER_SIZE]).unwrap();
    assert_eq!(precheck_batch(params, vec![random; 2000]).unwrap_err().0, 0);
}
