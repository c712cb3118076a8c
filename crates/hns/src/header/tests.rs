#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use super::*;
use hnsfleet_fuzz_bodies as fuzz;
use proptest::prelude::*;
use serde_json::Value;

const GENESIS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/genesis-headers.json"
));
const MAINNET: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/mainnet-headers-hsd-testdata.json"
));
const BLOCK14361: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/hsd-block14361.raw"
));

/// (header bytes, expected hash hex, bits) of the 11 real mainnet headers.
fn mainnet_headers() -> Vec<(Vec<u8>, String, u32)> {
    let v: Value = serde_json::from_str(MAINNET).unwrap();
    v["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| {
            let bits = h["bits"].as_str().unwrap().trim_start_matches("0x");
            (
                hex::decode(h["headerHex"].as_str().unwrap()).unwrap(),
                h["hash"].as_str().unwrap().to_string(),
                u32::from_str_radix(bits, 16).unwrap(),
            )
        })
        .collect()
}

#[test]
fn genesis_headers_hash_to_their_ids() {
    let v: Value = serde_json::from_str(GENESIS).unwrap();
    for (name, g) in v.as_object().unwrap() {
        let bytes = hex::decode(g["headerHex"].as_str().unwrap()).unwrap();
        let header = Header::decode(&bytes).unwrap();
        assert_eq!(header.encode().to_vec(), bytes, "{name}");
        assert_eq!(
            header.hash().to_hex(),
            g["hash"].as_str().unwrap(),
            "{name}"
        );
        assert_eq!(
            header.verify_pow().is_ok(),
            g["powValid"].as_bool().unwrap(),
            "{name}"
        );
        assert!(fuzz::header(&bytes));
    }
}

#[test]
fn mainnet_headers_hash_and_meet_their_targets() {
    let headers = mainnet_headers();
    assert_eq!(headers.len(), 11);
    for (bytes, hash, bits) in &headers {
        let header = Header::decode(bytes).unwrap();
        assert_eq!(header.bits, *bits);
        assert_eq!(header.hash().to_hex(), *hash);
        assert_eq!(header.verify_pow().map(|h| h.to_hex()), Ok(hash.clone()));
        let hashed = HashedHeader::decode(bytes).unwrap();
        assert_eq!(hashed.hash().to_hex(), *hash);
        assert_eq!(hashed.verify_pow(), header.verify_pow());
        assert_eq!(hashed.header(), &header);
        assert!(fuzz::header(bytes));
    }
}

#[test]
fn block_payload_starts_with_a_header() {
    // The raw block's first 236 bytes are the header in the vector file.
    let headers = mainnet_headers();
    let mut r = crate::encoding::Reader::new(BLOCK14361);
    let header = Header::read(&mut r).unwrap();
    assert_eq!(header.encode().to_vec(), headers[0].0);
}

#[test]
fn every_single_byte_flip_fails_pow_with_a_typed_error() {
    for (bytes, hash, _) in mainnet_headers() {
        for i in 0..HEADER_SIZE {
            for flip in [0x01u8, 0x80, 0xff] {
                let mut mutated = bytes.clone();
                mutated[i] ^= flip;
                fuzz::header(&mutated);
                let header = Header::decode(&mutated).unwrap();
                assert_ne!(header.hash().to_hex(), hash, "byte {i} flip {flip:#x}");
                match header.verify_pow() {
                    Err(HeaderError::HighHash { hash: h, bits }) => {
                        assert_eq!(h, header.hash());
                        assert_eq!(bits, header.bits);
                    }
                    Err(HeaderError::BadBits(_)) => assert!((200..204).contains(&i)),
                    other => panic!("byte {i} flip {flip:#x}: {other:?}"),
                }
            }
        }
    }
}

#[test]
fn truncated_and_extended_inputs_are_typed_errors() {
    let (bytes, _, _) = &mainnet_headers()[0];
    for n in 0..HEADER_SIZE {
        fuzz::header(&bytes[..n]);
        assert!(matches!(
            Header::decode(&bytes[..n]),
            Err(HeaderError::Decode(DecodeError::Eof { .. }))
        ));
    }
    let mut long = bytes.clone();
    long.push(0);
    fuzz::header(&long);
    assert_eq!(
        Header::decode(&long),
        Err(HeaderError::Decode(DecodeError::TrailingBytes { count: 1 }))
    );
}

#[test]
fn invalid_bits_are_reported_before_hashing() {
    let (bytes, _, _) = &mainnet_headers()[0];
    let mut header = Header::decode(bytes).unwrap();
    header.bits = 0x1a82_ef91;
    assert!(matches!(
        header.verify_pow(),
        Err(HeaderError::BadBits(PowError::NegativeTarget { .. }))
    ));
    header.bits = 0;
    assert!(matches!(
        header.verify_pow(),
        Err(HeaderError::BadBits(PowError::ZeroTarget { .. }))
    ));
}

fn arb_header() -> impl Strategy<Value = Header> {
    (
        (
            any::<u32>(),
            any::<u64>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
        ),
        (
            any::<[u8; 24]>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
            any::<[u8; 32]>(),
        ),
        (any::<u32>(), any::<u32>(), any::<[u8; 32]>()),
    )
        .prop_map(|(a, b, c)| Header {
            nonce: a.0,
            time: a.1,
            prev_block: BlockHash(a.2),
            tree_root: TreeRoot(a.3),
            extra_nonce: b.0,
            reserved_root: b.1,
            witness_root: b.2,
            merkle_root: b.3,
            version: c.0,
            bits: c.1,
            mask: c.2,
        })
}

proptest! {
    #[test]
    fn header_round_trips(header in arb_header()) {
        let bytes = header.encode();
        prop_assert_eq!(Header::decode(&bytes), Ok(header.clone()));
        let mut out = Vec::new();
        header.write(&mut out);
        prop_assert_eq!(&out[..], &bytes[..]);
        prop_assert!(fuzz::header(&bytes));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        fuzz::header(&data);
    }
}
