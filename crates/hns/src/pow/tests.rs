#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use super::*;
use proptest::prelude::*;
use serde_json::Value;

const COMPACT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/consensus-compact.json"
));

fn vectors() -> Value {
    serde_json::from_str(COMPACT).unwrap()
}

fn bits_of(v: &Value) -> u32 {
    u32::from_str_radix(v.as_str().unwrap().trim_start_matches("0x"), 16).unwrap()
}

fn bytes32(v: &Value) -> [u8; 32] {
    let mut out = [0u8; 32];
    hex::decode_to_slice(v.as_str().unwrap(), &mut out).unwrap();
    out
}

#[test]
fn compact_vectors_decode_and_encode() {
    let v = vectors();
    for c in v["compact"].as_array().unwrap() {
        let bits = bits_of(&c["bits"]);
        let target = Target::from_bits(bits).unwrap();
        assert_eq!(target.to_be_bytes(), bytes32(&c["target"]));
        assert_eq!(target.to_bits(), bits);
        assert_eq!(Target::from_be_bytes(bytes32(&c["target"])), Some(target));
    }
}

#[test]
fn pow_check_vectors() {
    let v = vectors();
    for c in v["powCheck"].as_array().unwrap() {
        let bits = bits_of(&c["bits"]);
        let hash = BlockHash(bytes32(&c["hash"]));
        assert_eq!(
            check_pow(&hash, bits).is_ok(),
            c["valid"].as_bool().unwrap()
        );
    }
}

#[test]
fn network_limits_and_work_per_block() {
    let v = vectors();
    for (name, limits) in v["networkLimits"].as_object().unwrap() {
        let bits = bits_of(&limits["bits"]);
        let target = Target::from_bits(bits).unwrap();
        assert_eq!(target.to_be_bytes(), bytes32(&limits["target"]), "{name}");
        assert_eq!(target.to_bits(), bits, "{name}");
        let work = U256::from_str_radix(limits["workPerBlock"].as_str().unwrap(), 16).unwrap();
        assert_eq!(target.work().as_u256(), work, "{name}");
        assert_eq!(Chainwork::from_bits(bits).as_u256(), work, "{name}");
    }
}

#[test]
fn invalid_bits_are_typed() {
    assert_eq!(Target::from_bits(0), Err(PowError::ZeroTarget { bits: 0 }));
    // Mantissa shifted out entirely.
    assert_eq!(
        Target::from_bits(0x0100_00ff),
        Err(PowError::ZeroTarget { bits: 0x0100_00ff })
    );
    assert_eq!(
        Target::from_bits(0x1d80_ffff),
        Err(PowError::NegativeTarget { bits: 0x1d80_ffff })
    );
    // Sign bit on a zero mantissa is just zero (hsd: -0 == 0).
    assert_eq!(
        Target::from_bits(0x1d80_0000),
        Err(PowError::ZeroTarget { bits: 0x1d80_0000 })
    );
    assert_eq!(
        Target::from_bits(0xff7f_ffff),
        Err(PowError::TargetOverflow { bits: 0xff7f_ffff })
    );
    // 0x22 exponent: 1 byte of mantissa shifted by 31 bytes = 256 bits exactly... fits.
    assert!(Target::from_bits(0x2200_00ff).is_ok());
    // One more bit does not.
    assert_eq!(
        Target::from_bits(0x2200_01ff),
        Err(PowError::TargetOverflow { bits: 0x2200_01ff })
    );
    assert!(Target::from_bits(0x2300_0001).is_err());
}

#[test]
fn small_exponents_shift_right() {
    assert_eq!(
        Target::from_bits(0x0112_3456).unwrap().as_u256(),
        U256::from(0x12u8)
    );
    assert_eq!(
        Target::from_bits(0x0212_3456).unwrap().as_u256(),
        U256::from(0x1234u16)
    );
    assert_eq!(
        Target::from_bits(0x0312_3456).unwrap().as_u256(),
        U256::from(0x12_3456u32)
    );
    assert_eq!(
        Target::from_bits(0x0412_3456).unwrap().as_u256(),
        U256::from(0x1234_5600u32)
    );
    assert_eq!(to_compact(&U256::from(0x12u8)), 0x0112_0000);
    assert_eq!(to_compact(&U256::from(0x80u8)), 0x0200_8000);
}

#[test]
fn high_hash_is_rejected_with_hash() {
    let bits = 0x1900_896c;
    let mut hash = [0u8; 32];
    hash[8] = 0x89;
    hash[9] = 0x6c;
    assert!(check_pow(&BlockHash(hash), bits).is_ok());
    hash[31] = 1;
    assert_eq!(
        check_pow(&BlockHash(hash), bits),
        Err(PowError::HighHash {
            hash: BlockHash(hash),
            bits
        })
    );
}

#[test]
fn work_edge_cases() {
    // target = 2^256 - 1 → work 1; target = 2^255 - 1 → 2; target 1 → 2^255.
    let max = Target::from_be_bytes([0xff; 32]).unwrap();
    assert_eq!(max.work().as_u256(), U256::from(1u8));
    let mut half = [0xff; 32];
    half[0] = 0x7f;
    assert_eq!(
        Target::from_be_bytes(half).unwrap().work().as_u256(),
        U256::from(2u8)
    );
    let mut one = [0u8; 32];
    one[31] = 1;
    assert_eq!(
        Target::from_be_bytes(one).unwrap().work().as_u256(),
        U256::from(1u8) << 255
    );
    assert_eq!(Target::from_be_bytes([0; 32]), None);
    assert_eq!(Chainwork::from_bits(0x1d80_ffff), Chainwork::ZERO);
    // 2^256/w − 1 round trips through work for powers of two.
    assert_eq!(
        div_2_256_minus_1(U256::from(2u8)),
        Some((U256::from(1u8) << 255) - U256::from(1u8))
    );
    assert_eq!(div_2_256_minus_1(U256::from(1u8)), Some(U256::MAX));
    assert_eq!(
        div_2_256_minus_1(U256::from(3u8)),
        Some(U256::MAX / U256::from(3u8) - U256::from(1u8))
    );
    assert_eq!(div_2_256_minus_1(U256::ZERO), None);
}

#[test]
fn chainwork_bytes_and_saturation() {
    let w = Chainwork::from_bits(0x1c00_ffff);
    assert_eq!(Chainwork::from_be_bytes(w.to_be_bytes()), w);
    let max = Chainwork::from_be_bytes([0xff; 32]);
    assert_eq!(max + w, max);
    assert_eq!(format!("{w}"), "0x10001000100");
}

fn arb_target() -> impl Strategy<Value = U256> {
    (any::<[u8; 32]>(), 0usize..256).prop_map(|(bytes, shift)| {
        let v = U256::from_be_bytes(bytes) >> shift;
        if v.is_zero() { U256::from(1u8) } else { v }
    })
}

proptest! {
    /// Canonical bits (the output of `to_bits`) decode and re-encode to themselves, and the
    /// decoded target is the input truncated to its top 23 significant bits.
    #[test]
    fn canonical_bits_round_trip(value in arb_target()) {
        let bits = to_compact(&value);
        let target = Target::from_bits(bits).unwrap();
        prop_assert_eq!(target.to_bits(), bits);
        prop_assert!(target.as_u256() <= value);
        prop_assert_eq!(Target::from_bits(target.to_bits()), Ok(target));
    }

    /// Any bits either fail with a typed error or decode to a target whose canonical encoding
    /// decodes to the same target.
    #[test]
    fn any_bits_never_panic(bits in any::<u32>()) {
        if let Ok(target) = Target::from_bits(bits) {
            prop_assert_eq!(Target::from_bits(target.to_bits()), Ok(target));
        }
    }

    #[test]
    fn work_matches_definition(value in arb_target()) {
        let target = Target::from_be_bytes(value.to_be_bytes()).unwrap();
        let work = target.work().as_u256();
        // work · (target + 1) ≤ 2^256 < (work + 1) · (target + 1), checked in 512 bits.
        use ruint::aliases::U512;
        let t1 = U512::from(value) + U512::from(1u8);
        let two256 = U512::from(1u8) << 256;
        prop_assert!(U512::from(work) * t1 <= two256);
        prop_assert!((U512::from(work) + U512::from(1u8)) * t1 > two256);
    }
}
