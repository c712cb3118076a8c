#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hnsfleet_fuzz_bodies as fuzz;
use proptest::prelude::*;

use super::*;
use crate::hash::blake2b256;

// hns-dns.md §5.6.
const NOW: u32 = 1_700_000_000;
const UNSIGNED_HEX: &str = "123484000001000100000000076578616d706c650000100001c00c0010000100005460000c0b68656c6c6f20776f726c64";
const SIGNED_HEX: &str = concat!(
    "123484000001000100000001076578616d706c650000100001c00c0010000100005460000c0b68656c6c6f20776f726c64",
    "00001800ff0000000000530000fd00000000006554456065539ca0fc5300",
    "7c2bac36fcfd63db810a7cadf5bb3a65789a0043bb598c87603b399824c9b5ed",
    "63b88cb7538be8b7fed4b469a68c7a9b5fff7fb886cc67b94324f02a0f719ccf"
);
const PUB_HEX: &str = "03a32b83985800291d0fc25450d72551f6939f9875a6e80e7ee372464268b6ac75";
const PUB_BASE32: &str = "aorsxa4ylaacshipyjkfbvzfkh3jhh4yowtoqdt64nzemqtiw2whk";
const DIGEST_HEX: &str = "4e97d11de3329dc3618a0cf3e08c25335c2372b6717dd251936d25e01c4bc920";
/// secp256k1 group order, big-endian.
const ORDER: [u8; 32] = [
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe,
    0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36, 0x41, 0x41,
];

fn key() -> Sig0Key {
    Sig0Key::from_hex(REGTEST_KEY_HEX).unwrap()
}

fn unsigned() -> Vec<u8> {
    hex::decode(UNSIGNED_HEX).unwrap()
}

fn signed() -> Vec<u8> {
    hex::decode(SIGNED_HEX).unwrap()
}

/// `n - x` for a 32-byte big-endian x < n.
fn order_minus(x: &[u8]) -> [u8; 32] {
    let mut out = [0u8; 32];
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let mut d = i16::from(ORDER[i]) - i16::from(x[i]) - borrow;
        borrow = 0;
        if d < 0 {
            d += 256;
            borrow = 1;
        }
        out[i] = d as u8;
    }
    out
}

#[test]
fn key_file_contents_parse() {
    let k = key();
    assert_eq!(k.public_key().to_hex(), PUB_HEX);
    let with_newline = format!("  {REGTEST_KEY_HEX}\n");
    assert_eq!(
        Sig0Key::from_hex(&with_newline).unwrap().public_key(),
        k.public_key()
    );
    let upper = REGTEST_KEY_HEX.to_ascii_uppercase();
    assert_eq!(
        Sig0Key::from_hex(&upper).unwrap().public_key(),
        k.public_key()
    );
    assert!(!format!("{k:?}").contains(REGTEST_KEY_HEX));
}

#[test]
fn bad_secret_keys_are_typed_errors() {
    for bad in [
        "",
        "00",
        &REGTEST_KEY_HEX[..63],
        &format!("{REGTEST_KEY_HEX}00"),
        &"zz".repeat(32),
    ] {
        assert_eq!(
            Sig0Key::from_hex(bad).unwrap_err(),
            Sig0Error::SecretKeyHex,
            "{bad:?}"
        );
    }
    assert_eq!(
        Sig0Key::from_hex(&"00".repeat(32)).unwrap_err(),
        Sig0Error::InvalidSecretKey
    );
    assert_eq!(
        Sig0Key::from_bytes(&ORDER).unwrap_err(),
        Sig0Error::InvalidSecretKey
    );
}

#[test]
fn public_key_text_forms_and_key_tag() {
    let pk = key().public_key();
    assert_eq!(pk.to_base32(), PUB_BASE32);
    assert_eq!(pk.to_string(), PUB_BASE32);
    assert_eq!(pk.to_base32().len(), PUBLIC_KEY_BASE32_LEN);
    assert_eq!(Sig0PublicKey::from_base32(PUB_BASE32).unwrap(), pk);
    assert_eq!(PUB_BASE32.parse::<Sig0PublicKey>().unwrap(), pk);
    assert_eq!(
        Sig0PublicKey::from_base32(&PUB_BASE32.to_ascii_uppercase()).unwrap(),
        pk
    );
    assert_eq!(Sig0PublicKey::from_hex(PUB_HEX).unwrap(), pk);
    assert_eq!(Sig0PublicKey::from_bytes(pk.as_bytes()).unwrap(), pk);
    assert_eq!(pk.key_tag(), 64595);
    assert_eq!(key().key_tag(), 64595);
    assert!(
        hex::encode(pk.key_rdata()).starts_with("000000fd10626c616b653262736563703235366b310003a3")
    );
    assert_eq!(pk.key_rdata().len(), 55);
}

#[test]
fn bad_public_keys_are_typed_errors() {
    let short = data_encoding::BASE32_NOPAD
        .encode(&key().public_key().as_bytes()[..32])
        .to_ascii_lowercase();
    assert_eq!(
        Sig0PublicKey::from_base32(&short).unwrap_err(),
        Sig0Error::PublicKeyLength { len: 32 }
    );
    assert!(Sig0PublicKey::from_base32(&PUB_BASE32[..52]).is_err());
    assert!(matches!(
        Sig0PublicKey::from_base32(&format!("{PUB_BASE32}aaaaaaaa")),
        Err(Sig0Error::PublicKeyLength { .. })
    ));
    assert_eq!(
        Sig0PublicKey::from_base32(&"a".repeat(1000)).unwrap_err(),
        Sig0Error::PublicKeyLength { len: 625 }
    );
    // '1', '8', '=' are not in the alphabet.
    let mut bad = PUB_BASE32.to_string();
    bad.replace_range(0..1, "1");
    assert_eq!(
        Sig0PublicKey::from_base32(&bad).unwrap_err(),
        Sig0Error::PublicKeyEncoding("base32")
    );
    // The last character carries one unused bit, which must be zero ('k' = 10 is even).
    let mut odd = PUB_BASE32.to_string();
    odd.replace_range(52..53, "l");
    assert_eq!(
        Sig0PublicKey::from_base32(&odd).unwrap_err(),
        Sig0Error::PublicKeyEncoding("base32")
    );
    // Prefix 0x04 (uncompressed marker) and x not on the curve.
    let mut bytes = *key().public_key().as_bytes();
    bytes[0] = 0x04;
    assert_eq!(
        Sig0PublicKey::from_bytes(&bytes).unwrap_err(),
        Sig0Error::InvalidPublicKey
    );
    assert_eq!(
        Sig0PublicKey::from_bytes(&[2u8; 32]).unwrap_err(),
        Sig0Error::PublicKeyLength { len: 32 }
    );
    assert_eq!(
        Sig0PublicKey::from_hex("0x03").unwrap_err(),
        Sig0Error::PublicKeyEncoding("hex")
    );
}

#[test]
fn signs_the_spec_vector_byte_for_byte() {
    let out = sign(&unsigned(), &key(), NOW).unwrap();
    assert_eq!(hex::encode(&out), SIGNED_HEX);
    assert_eq!(out.len(), 143);
    // The digest: prefix19 ‖ unsigned message.
    let prefix = &out[49 + RDATA_OFFSET..49 + RDATA_OFFSET + SIG_RDATA_PREFIX_SIZE];
    assert_eq!(hex::encode(blake2b256(&[prefix, &unsigned()])), DIGEST_HEX);
}

#[test]
fn verifies_the_spec_vector_inside_the_window_only() {
    let msg = signed();
    let pk = key().public_key();
    assert_eq!(verify(&msg, &pk, NOW), Ok(()));
    assert_eq!(verify(&msg, &pk, NOW - FUDGE_SECONDS), Ok(()));
    assert_eq!(verify(&msg, &pk, NOW + FUDGE_SECONDS), Ok(()));
    assert_eq!(
        verify(&msg, &pk, NOW - FUDGE_SECONDS - 1),
        Err(Sig0Error::NotYetValid {
            inception: NOW - FUDGE_SECONDS,
            now: NOW - FUDGE_SECONDS - 1
        })
    );
    assert_eq!(
        verify(&msg, &pk, NOW + FUDGE_SECONDS + 1),
        Err(Sig0Error::Expired {
            expiration: NOW + FUDGE_SECONDS,
            now: NOW + FUDGE_SECONDS + 1
        })
    );
}

#[test]
fn resigning_replaces_the_sig() {
    let k = key();
    let once = signed();
    assert_eq!(sign(&once, &k, NOW).unwrap(), once);
    // At another time: still exactly one SIG, ARCOUNT 1, verifies then.
    let later = sign(&once, &k, NOW + 100).unwrap();
    assert_eq!(later.len(), once.len());
    assert_eq!(&later[10..12], &[0, 1]);
    assert_eq!(verify(&later, &k.public_key(), NOW + 100), Ok(()));
}

#[test]
fn every_bit_flip_fails_verification() {
    let msg = signed();
    let pk = key().public_key();
    for i in 0..msg.len() {
        for bit in 0..8 {
            let mut m = msg.clone();
            m[i] ^= 1 << bit;
            assert!(verify(&m, &pk, NOW).is_err(), "byte {i} bit {bit}");
        }
    }
}

#[test]
fn wrong_fields_name_the_cause() {
    let msg = signed();
    let pk = key().public_key();
    let rr = msg.len() - SIG_RR_SIZE;
    let cases: [(usize, Sig0Error); 11] = [
        (rr, Sig0Error::BadField("owner name")),
        (rr + 2, Sig0Error::NoSig),
        (rr + 4, Sig0Error::BadField("class")),
        (rr + 8, Sig0Error::BadField("ttl")),
        (rr + 10, Sig0Error::BadField("rdlength")),
        (rr + 12, Sig0Error::BadField("type covered")),
        (rr + 13, Sig0Error::BadField("algorithm")),
        (rr + 14, Sig0Error::BadField("labels")),
        (rr + 18, Sig0Error::BadField("original ttl")),
        (rr + 28, Sig0Error::BadSignature), // key tag: covered by the digest only
        (rr + 29, Sig0Error::BadField("signer name")),
    ];
    for (offset, want) in cases {
        let mut m = msg.clone();
        m[offset] ^= 0x01;
        assert_eq!(verify(&m, &pk, NOW), Err(want), "offset {}", offset - rr);
    }
    let mut no_ar = msg.clone();
    no_ar[11] = 0;
    assert_eq!(verify(&no_ar, &pk, NOW), Err(Sig0Error::NoSig));
}

#[test]
fn high_s_is_rejected() {
    let msg = signed();
    let s_at = msg.len() - 32;
    let mut high = msg.clone();
    high[s_at..].copy_from_slice(&order_minus(&msg[s_at..]));
    assert_eq!(
        verify(&high, &key().public_key(), NOW),
        Err(Sig0Error::HighS)
    );
}

#[test]
fn other_key_truncation_and_trailing_bytes_fail() {
    let msg = signed();
    let other = Sig0Key::from_bytes(&[7u8; 32]).unwrap().public_key();
    assert_eq!(verify(&msg, &other, NOW), Err(Sig0Error::BadSignature));
    let pk = key().public_key();
    for len in 0..msg.len() {
        assert!(verify(&msg[..len], &pk, NOW).is_err(), "len {len}");
    }
    assert_eq!(
        verify(&msg[..105], &pk, NOW),
        Err(Sig0Error::TooShort { len: 105 })
    );
    let mut trailing = msg.clone();
    trailing.push(0);
    assert!(verify(&trailing, &pk, NOW).is_err());
    // r = 0 and r ≥ n are not signatures.
    let r_at = msg.len() - 64;
    let mut zero_r = msg.clone();
    zero_r[r_at..r_at + 32].fill(0);
    assert_eq!(verify(&zero_r, &pk, NOW), Err(Sig0Error::BadSignature));
    let mut big_r = msg.clone();
    big_r[r_at..r_at + 32].fill(0xff);
    assert_eq!(verify(&big_r, &pk, NOW), Err(Sig0Error::BadSignature));
}

#[test]
fn sign_limits() {
    let k = key();
    assert_eq!(
        sign(&[0u8; 11], &k, NOW),
        Err(Sig0Error::TooShort { len: 11 })
    );
    // A bare header signs (ARCOUNT 0 → 1) and verifies.
    let out = sign(&[0u8; 12], &k, NOW).unwrap();
    assert_eq!(out.len(), 12 + SIG_RR_SIZE);
    assert_eq!(verify(&out, &k.public_key(), NOW), Ok(()));
    let mut full = [0u8; 12];
    full[10] = 0xff;
    full[11] = 0xff;
    assert_eq!(sign(&full, &k, NOW), Err(Sig0Error::TooLong));
    let big = vec![0u8; MAX_MESSAGE - SIG_RR_SIZE + 1];
    assert_eq!(sign(&big, &k, NOW), Err(Sig0Error::TooLong));
    let fits = vec![0u8; MAX_MESSAGE - SIG_RR_SIZE];
    assert_eq!(sign(&fits, &k, NOW).unwrap().len(), MAX_MESSAGE);
}

#[test]
fn append_sig0_matches_sign_and_leaves_bad_input_alone() {
    let k = key();
    let mut msg = unsigned();
    append_sig0(&mut msg, &k, NOW).unwrap();
    assert_eq!(hex::encode(&msg), SIGNED_HEX);
    for bad in [
        vec![0u8; 11],
        {
            let mut full = vec![0u8; 12];
            full[10] = 0xff;
            full[11] = 0xff;
            full
        },
        vec![0u8; MAX_MESSAGE - SIG_RR_SIZE + 1],
    ] {
        let mut copy = bad.clone();
        assert!(append_sig0(&mut copy, &k, NOW).is_err());
        assert_eq!(copy, bad, "a refused message is left as it was");
    }
}

#[test]
fn times_saturate_at_the_ends_of_u32() {
    let k = key();
    for now in [0, 1, FUDGE_SECONDS, u32::MAX - 1, u32::MAX] {
        let out = sign(&unsigned(), &k, now).unwrap();
        assert_eq!(verify(&out, &k.public_key(), now), Ok(()), "now {now}");
    }
}

#[test]
fn a_sig_that_is_not_last_is_not_replaced() {
    // The vector's answer record is TXT, so nothing is cut: the second signature is appended.
    let k = key();
    let mut msg = unsigned();
    // Claim one additional record (a TXT answer copy) that is not a SIG.
    msg[11] = 1;
    msg.extend_from_slice(
        &hex::decode("c00c0010000100005460000c0b68656c6c6f20776f726c64").unwrap(),
    );
    let out = sign(&msg, &k, NOW).unwrap();
    assert_eq!(out.len(), msg.len() + SIG_RR_SIZE);
    assert_eq!(&out[10..12], &[0, 2]);
    assert_eq!(verify(&out, &k.public_key(), NOW), Ok(()));
}

#[test]
fn fuzz_body_over_vectors_and_mutations() {
    assert!(fuzz::sig0(&signed()));
    assert!(fuzz::sig0(&unsigned()));
    assert!(!fuzz::sig0(&[]));
    let msg = signed();
    for i in (0..msg.len()).step_by(7) {
        let mut m = msg.clone();
        m[i] ^= 0xa5;
        fuzz::sig0(&m);
        fuzz::sig0(&msg[..i]);
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    #[test]
    fn random_messages_sign_then_verify(
        mut msg in proptest::collection::vec(any::<u8>(), 12..300),
        now in any::<u32>(),
    ) {
        // Keep ARCOUNT from overflowing.
        msg[10] = 0;
        let k = key();
        let out = sign(&msg, &k, now).unwrap();
        prop_assert_eq!(verify(&out, &k.public_key(), now), Ok(()));
        // Without a trailing SIG(0) (no additional records), appending in place is the same.
        msg[11] = 0;
        let mut in_place = msg.clone();
        append_sig0(&mut in_place, &k, now).unwrap();
        prop_assert_eq!(in_place, sign(&msg, &k, now).unwrap());
    }

    #[test]
    fn verify_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        let _ = verify(&data, &key().public_key(), NOW);
        fuzz::sig0(&data);
    }

    #[test]
    fn base32_round_trips(seed in any::<[u8; 32]>()) {
        if let Ok(k) = Sig0Key::from_bytes(&seed) {
            let pk = k.public_key();
            prop_assert_eq!(Sig0PublicKey::from_base32(&pk.to_base32()), Ok(pk));
            prop_assert_eq!(Sig0PublicKey::from_hex(&pk.to_hex()), Ok(pk));
        }
    }
}
