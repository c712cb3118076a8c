use hnsfleet_fuzz_bodies as fuzz;
use proptest::prelude::*;

use super::*;

fn key(byte: u8) -> SecretKey {
    SecretKey::from_byte_array([byte; 32]).unwrap()
}

fn statement() -> TipStatement {
    TipStatement {
        network_magic: 0xae3895cf,
        height: 154,
        hash: BlockHash([7; 32]),
        tree_root: TreeRoot([9; 32]),
        chainwork: {
            let mut w = [0u8; 32];
            w[31] = 0x36;
            w[30] = 0x01;
            w
        },
        time: 1_763_800_000,
        signed_at: 1_763_800_060,
    }
}

#[test]
fn sign_verify_round_trip() {
    let att = statement().sign(&key(1));
    let bytes = att.encode();
    let decoded = SignedAttestation::decode(&bytes).unwrap();
    assert_eq!(decoded, att);
    let verified = decoded.verify().unwrap();
    assert_eq!(verified.statement(), &statement());
    assert_eq!(
        verified.signer(),
        &PublicKey::from_secret_key(SECP256K1, &key(1)).serialize()
    );
    // Deterministic: the same statement and key give the same bytes.
    assert_eq!(statement().sign(&key(1)).encode(), bytes);
}

#[test]
fn every_flipped_byte_fails_verification() {
    let bytes = statement().sign(&key(2)).encode();
    for i in 0..bytes.len() {
        for x in [0x01u8, 0x80] {
            let mut m = bytes;
            m[i] ^= x;
            let result = SignedAttestation::decode(&m).unwrap().verify();
            assert!(result.is_err(), "byte {i} ^ {x:#x} still verifies");
        }
    }
}

#[test]
fn wrong_length_high_s_and_foreign_key_are_rejected() {
    let att = statement().sign(&key(3));
    let bytes = att.encode();
    assert_eq!(
        SignedAttestation::decode(&bytes[..SIGNED_SIZE - 1]),
        Err(AttestationError::BadLength(SIGNED_SIZE - 1))
    );
    let mut longer = bytes.to_vec();
    longer.push(0);
    assert!(SignedAttestation::decode(&longer).is_err());

    // s -> n - s: the same signature in high-S form.
    const N: [u8; 32] = [
        0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
        0xfe, 0xba, 0xae, 0xdc, 0xe6, 0xaf, 0x48, 0xa0, 0x3b, 0xbf, 0xd2, 0x5e, 0x8c, 0xd0, 0x36,
        0x41, 0x41,
    ];
    let mut high = att;
    let mut borrow = 0i16;
    for i in (0..32).rev() {
        let d = i16::from(N[i]) - i16::from(att.signature[32 + i]) - borrow;
        high.signature[32 + i] = d.rem_euclid(256) as u8;
        borrow = i16::from(d < 0);
    }
    assert_eq!(high.verify(), Err(AttestationError::BadSignatureEncoding));

    let mut foreign = att;
    foreign.public_key = PublicKey::from_secret_key(SECP256K1, &key(4)).serialize();
    assert_eq!(foreign.verify(), Err(AttestationError::BadSignature));
}

#[test]
fn the_digest_is_domain_separated() {
    let s = statement();
    let plain: [u8; 32] = Blake2b::<U32>::digest(s.encode()).into();
    assert_ne!(s.digest(), plain);
}

proptest! {
    #[test]
    fn statements_round_trip_and_verify(
        magic in any::<u32>(), height in any::<u32>(), hash in any::<[u8; 32]>(),
        root in any::<[u8; 32]>(), work in any::<[u8; 32]>(), time in any::<u64>(),
        signed_at in any::<u64>(), k in 1u8..=254,
    ) {
        let s = TipStatement {
            network_magic: magic, height, hash: BlockHash(hash), tree_root: TreeRoot(root),
            chainwork: work, time, signed_at,
        };
        prop_assert_eq!(TipStatement::decode(&s.encode()), s);
        let att = s.sign(&key(k));
        prop_assert!(att.verify().is_ok());
        prop_assert!(fuzz::attestation(&att.encode()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        fuzz::attestation(&data);
    }
}
