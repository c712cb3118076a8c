//! The publicly known HNS root keys (hns-dns.md §2.7): ECDSA P-256 (algorithm 13) KSK and ZSK,
//! whose private halves are published on purpose so that unmodified validators accept the root.
//! Security comes from the Urkel proofs, not from these signatures.

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData};
use hickory_proto::dnssec::{Algorithm, PublicKeyBuf};
use hickory_proto::rr::{Name, RData, Record};

use crate::{KeyRole, RecordSet};

/// TTL of the DNSKEY set.
pub const DNSKEY_TTL: u32 = 10800;

/// TTL of every RRSIG the root makes (the key's TTL, not the signed set's).
pub const RRSIG_TTL: u32 = 10800;

/// DNSKEY flags of the key-signing key (zone key, secure entry point).
pub const KSK_FLAGS: u16 = 257;

/// DNSKEY flags of the zone-signing key (zone key).
pub const ZSK_FLAGS: u16 = 256;

/// Key tag of the KSK.
pub const KSK_KEY_TAG: u16 = 35215;

/// Key tag of the ZSK.
pub const ZSK_KEY_TAG: u16 = 60944;

/// The KSK's P-256 private scalar (public by design).
pub const KSK_PRIVATE_KEY: [u8; 32] =
    hex_32("1c74c825c5b0f08cf6be846bfc93c423f03e3e1f6202fb2d96474b1520bbafad");

/// The ZSK's P-256 private scalar (public by design).
pub const ZSK_PRIVATE_KEY: [u8; 32] =
    hex_32("54276ff8604a3494c5c76d6651f14b289c7253ba636be4bfd7969308f48da47d");

/// The KSK's public point, X ‖ Y (the DNSKEY public key field).
pub const KSK_PUBLIC_KEY: [u8; 64] = hex_64(
    "4fd714449d8cfcccfdaba52c64d63e3aca72be3f94bfeb60aeb5a42ed3d0c2053f5eee58934974d929f9b9adb10107c4608cd13babf9880f817a331e13034fe1",
);

/// The ZSK's public point, X ‖ Y.
pub const ZSK_PUBLIC_KEY: [u8; 64] = hex_64(
    "2399cfb3a72515ad609f09fd22954319d24b7c438dce00f535c7ee13010856e2281dd64682f55b96c2cd6d13beb295b79d060783ddacbe1cb51ce8d3885048b1",
);

/// The DNSKEY record of one root key.
pub fn dnskey(role: KeyRole) -> Record {
    let (flags, public) = match role {
        KeyRole::Ksk => (KSK_FLAGS, KSK_PUBLIC_KEY),
        KeyRole::Zsk => (ZSK_FLAGS, ZSK_PUBLIC_KEY),
    };
    let key = PublicKeyBuf::new(public.to_vec(), Algorithm::ECDSAP256SHA256);
    let rdata = RData::DNSSEC(DNSSECRData::DNSKEY(DNSKEY::with_flags(flags, key)));
    Record::from_rdata(Name::root(), DNSKEY_TTL, rdata)
}

/// The apex DNSKEY set (KSK, then ZSK), signed by the KSK only.
pub(crate) fn dnskey_set() -> RecordSet {
    RecordSet::signed(
        vec![dnskey(KeyRole::Ksk), dnskey(KeyRole::Zsk)],
        KeyRole::Ksk,
    )
}

// === const hex ===

#[allow(clippy::panic)] // Const evaluation only: a bad literal fails the build.
const fn hex_nibble(c: u8) -> u8 {
    match c {
        b'0'..=b'9' => c - b'0',
        b'a'..=b'f' => c - b'a' + 10,
        _ => panic!("not a lower-case hex digit"),
    }
}

const fn hex_32(s: &str) -> [u8; 32] {
    let s = s.as_bytes();
    assert!(s.len() == 64);
    let mut out = [0u8; 32];
    let mut i = 0;
    while i < 32 {
        out[i] = hex_nibble(s[2 * i]) << 4 | hex_nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}

const fn hex_64(s: &str) -> [u8; 64] {
    let s = s.as_bytes();
    assert!(s.len() == 128);
    let mut out = [0u8; 64];
    let mut i = 0;
    while i < 64 {
        out[i] = hex_nibble(s[2 * i]) << 4 | hex_nibble(s[2 * i + 1]);
        i += 1;
    }
    out
}
