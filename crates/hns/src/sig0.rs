//! SIG(0) over secp256k1 ("HSIG"): signing and verifying whole DNS messages, and the key forms.
//!
//! A signed message is the unsigned message with ARCOUNT + 1 and one 94-byte SIG RR appended
//! (hns-dns.md §5.1–5.4). The digest is BLAKE2b-256 over the 19-byte SIG rdata prefix followed by
//! the message as it was before signing (ARCOUNT not counting the SIG); the signature is
//! secp256k1 ECDSA over that digest used directly as the message hash (RFC 6979, low-S, compact
//! `r ‖ s`). Verification takes the last 94 bytes as the SIG RR, like hnsd and libhns, checks
//! every fixed field and the validity window, and rejects high-S signatures.
//!
//! This module does no I/O and reads no clock: `now` (unix seconds, u32 as in the SIG RR) is a
//! parameter. It never re-serializes a message: signatures cover the exact bytes.
//!
//! Follows (facts only): bns `lib/hsig.js`, `lib/sig0.js`; hnsd `src/sig0.c`; libhns
//! `hns_sig0.c`; hsd `lib/dns/server.js`, `lib/node/node.js`.

use blake2::Digest;
use secp256k1::ecdsa::Signature;
use secp256k1::{Message, SECP256K1};
use thiserror::Error;

use crate::encoding::{DecodeError, Reader};
use crate::hash::Blake2b256;

mod key;

pub use key::{Sig0Key, Sig0PublicKey};

/// Size of the SIG(0) resource record every signer appends.
pub const SIG_RR_SIZE: usize = 94;
/// DNS header size.
const DNS_HEADER_SIZE: usize = 12;
/// Offset of ARCOUNT in the DNS header.
const ARCOUNT_OFFSET: usize = 10;
/// Size of the SIG rdata without the signature (type covered ... signer name).
pub const SIG_RDATA_PREFIX_SIZE: usize = 19;
/// Offset of the rdata inside the SIG RR (owner, type, class, TTL, RDLENGTH come first).
const RDATA_OFFSET: usize = 11;
/// Size of the compact `r ‖ s` signature.
const SIGNATURE_SIZE: usize = 64;
/// DNS type SIG.
pub const TYPE_SIG: u16 = 24;
/// DNS class ANY, which SIG(0) records use.
pub const CLASS_ANY: u16 = 255;
/// DNSSEC algorithm number 253 (PRIVATEDNS), used for BLAKE2b + secp256k1.
pub const ALGORITHM_PRIVATEDNS: u8 = 253;
/// Half-width of the validity window written by signers, in seconds (six hours).
pub const FUDGE_SECONDS: u32 = 6 * 60 * 60;
/// Largest message a signature may produce (the DNS-over-TCP length limit).
const MAX_MESSAGE: usize = 65_535;
/// Wire name `blake2bsecp256k1.` that prefixes the key in the KEY RR form (RFC 4034 A.1.1).
const ALGORITHM_NAME_WIRE: &[u8; 18] = b"\x10blake2bsecp256k1\x00";
/// Length of the compressed public key.
pub const PUBLIC_KEY_SIZE: usize = 33;
/// Length of the base32 text form of a public key.
pub const PUBLIC_KEY_BASE32_LEN: usize = 53;

/// Why a key could not be parsed, a message could not be signed, or a signature was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum Sig0Error {
    /// The secret key text is not 64 hex characters.
    #[error("secret key is not 64 hex characters")]
    SecretKeyHex,
    /// The 32 bytes are zero or not below the curve order.
    #[error("secret key is not a valid secp256k1 scalar")]
    InvalidSecretKey,
    /// The public key text is not hex / lower-case unpadded base32.
    #[error("public key text is not valid {0}")]
    PublicKeyEncoding(&'static str),
    /// The public key does not have 33 bytes.
    #[error("public key has {len} bytes, expected 33")]
    PublicKeyLength {
        /// Decoded length.
        len: usize,
    },
    /// The 33 bytes are not a compressed secp256k1 point.
    #[error("public key is not a compressed secp256k1 point")]
    InvalidPublicKey,
    /// The message is shorter than a DNS header (sign) or header plus SIG RR (verify).
    #[error("message of {len} bytes is too short")]
    TooShort {
        /// Message length.
        len: usize,
    },
    /// Signing would exceed 65,535 bytes or 65,535 additional records.
    #[error("signed message would exceed the dns size or record-count limit")]
    TooLong,
    /// ARCOUNT is zero or the last record is not of type SIG.
    #[error("message carries no sig(0) record")]
    NoSig,
    /// A fixed field of the SIG RR has the wrong value.
    #[error("sig(0) record has a wrong {0}")]
    BadField(&'static str),
    /// `now` is before the inception time.
    #[error("sig(0) not yet valid: inception {inception} is after now {now}")]
    NotYetValid {
        /// Inception written in the record.
        inception: u32,
        /// Verification time.
        now: u32,
    },
    /// `now` is after the expiration time.
    #[error("sig(0) expired: expiration {expiration} is before now {now}")]
    Expired {
        /// Expiration written in the record.
        expiration: u32,
        /// Verification time.
        now: u32,
    },
    /// The signature has a high S value (rejected like libsecp256k1-based verifiers do).
    #[error("sig(0) signature has a high s value")]
    HighS,
    /// The signature does not verify against the key (or is not a valid `r ‖ s`).
    #[error("sig(0) signature does not verify")]
    BadSignature,
}

// === signing and verification ===

/// Signs `message` (a complete serialized DNS message) and returns it with the SIG(0) RR appended.
///
/// If the message already ends with a SIG(0) record (owner `.`, type SIG, class ANY, TTL 0, type
/// covered 0, as the last additional record), that record is replaced instead of adding a second.
/// A message that cannot be walked is signed as it is, like bns does.
pub fn sign(message: &[u8], key: &Sig0Key, now: u32) -> Result<Vec<u8>, Sig0Error> {
    if message.len() < DNS_HEADER_SIZE {
        return Err(Sig0Error::TooShort { len: message.len() });
    }
    let (body, arcount) = match trailing_sig_offset(message) {
        Some(offset) => (
            message
                .get(..offset)
                .ok_or(Sig0Error::TooShort { len: offset })?,
            arcount(message).saturating_sub(1),
        ),
        None => (message, arcount(message)),
    };
    let mut out = Vec::with_capacity(body.len() + SIG_RR_SIZE);
    out.extend_from_slice(body);
    // `body` may still carry the old ARCOUNT when a SIG was cut off.
    out[ARCOUNT_OFFSET..DNS_HEADER_SIZE].copy_from_slice(&arcount.to_be_bytes());
    append_sig0(&mut out, key, now)?;
    Ok(out)
}

/// Signs `message` in place: appends a SIG(0) record and counts it in ARCOUNT.
///
/// For a message known not to end with a SIG(0) record already (a server's own encoded
/// response): unlike [`sign`], it neither walks the message nor copies it, so signing costs
/// the digest and the signature alone. The result is byte-for-byte what [`sign`] returns for
/// such a message. On an error `message` is left as it was.
pub fn append_sig0(message: &mut Vec<u8>, key: &Sig0Key, now: u32) -> Result<(), Sig0Error> {
    if message.len() < DNS_HEADER_SIZE {
        return Err(Sig0Error::TooShort { len: message.len() });
    }
    let new_arcount = arcount(message).checked_add(1).ok_or(Sig0Error::TooLong)?;
    if message.len() + SIG_RR_SIZE > MAX_MESSAGE {
        return Err(Sig0Error::TooLong);
    }
    let prefix = rdata_prefix(
        now.saturating_add(FUDGE_SECONDS),
        now.saturating_sub(FUDGE_SECONDS),
        key.key_tag,
    );
    let digest: [u8; 32] = Blake2b256::new()
        .chain_update(prefix)
        .chain_update(&message[..])
        .finalize()
        .into();
    // libsecp256k1 signs with an RFC 6979 nonce and always returns low-S.
    let signature = SECP256K1
        .sign_ecdsa(Message::from_digest(digest), &key.secret)
        .serialize_compact();

    message.reserve(SIG_RR_SIZE);
    message[ARCOUNT_OFFSET..DNS_HEADER_SIZE].copy_from_slice(&new_arcount.to_be_bytes());
    // owner `.`, TYPE SIG, CLASS ANY, TTL 0, RDLENGTH 83.
    message.extend_from_slice(&[0, 0, 24, 0, 255, 0, 0, 0, 0, 0, 83]);
    message.extend_from_slice(&prefix);
    message.extend_from_slice(&signature);
    Ok(())
}

/// Verifies the SIG(0) record that ends `message` against `key` at time `now`.
///
/// The last 94 bytes must be the SIG RR (trailing bytes after it fail, as in hnsd and libhns);
/// every fixed field is checked, `inception ≤ now ≤ expiration` (inclusive), the key tag is not
/// checked (it is covered by the digest), and high-S signatures are rejected.
pub fn verify(message: &[u8], key: &Sig0PublicKey, now: u32) -> Result<(), Sig0Error> {
    let len = message.len();
    if len < DNS_HEADER_SIZE + SIG_RR_SIZE {
        return Err(Sig0Error::TooShort { len });
    }
    let arcount = arcount(message);
    if arcount == 0 {
        return Err(Sig0Error::NoSig);
    }
    let (signed, rr) = message.split_at(len - SIG_RR_SIZE);
    let mut r = Reader::new(rr);
    let fields = read_sig_rr(&mut r).map_err(|_| Sig0Error::TooShort { len })?;
    fields.check()?;
    if now < fields.inception {
        return Err(Sig0Error::NotYetValid {
            inception: fields.inception,
            now,
        });
    }
    if now > fields.expiration {
        return Err(Sig0Error::Expired {
            expiration: fields.expiration,
            now,
        });
    }

    let mut signature =
        Signature::from_compact(&fields.signature).map_err(|_| Sig0Error::BadSignature)?;
    let original = signature;
    signature.normalize_s();
    if signature != original {
        return Err(Sig0Error::HighS);
    }

    let digest: [u8; 32] = Blake2b256::new()
        .chain_update(fields.prefix)
        .chain_update(&signed[..ARCOUNT_OFFSET])
        .chain_update((arcount - 1).to_be_bytes())
        .chain_update(&signed[DNS_HEADER_SIZE..])
        .finalize()
        .into();
    SECP256K1
        .verify_ecdsa(Message::from_digest(digest), &signature, &key.point)
        .map_err(|_| Sig0Error::BadSignature)
}

/// The fixed regtest/simnet identity key of hsd (hns-dns.md §5.3): every regtest node signs
/// its answers with it, so regtest clients can check them (tests and fuzzing use it too).
pub const REGTEST_KEY_HEX: &str =
    "104932181cfed7584105c728cdc0eb9af1e7ffdc4a00743fd45e5de66cac7668";

// === private helpers ===

/// The fields of a 94-byte SIG RR.
struct SigRr {
    owner: u8,
    rr_type: u16,
    class: u16,
    ttl: u32,
    rdlength: u16,
    prefix: [u8; SIG_RDATA_PREFIX_SIZE],
    expiration: u32,
    inception: u32,
    signature: [u8; SIGNATURE_SIZE],
}

impl SigRr {
    /// Checks every fixed field (all but the times, key tag and signature).
    fn check(&self) -> Result<(), Sig0Error> {
        if self.rr_type != TYPE_SIG {
            return Err(Sig0Error::NoSig);
        }
        let p = &self.prefix;
        let checks: [(bool, &'static str); 9] = [
            (self.owner == 0, "owner name"),
            (self.class == CLASS_ANY, "class"),
            (self.ttl == 0, "ttl"),
            (
                usize::from(self.rdlength) == SIG_RR_SIZE - RDATA_OFFSET,
                "rdlength",
            ),
            (p[0] == 0 && p[1] == 0, "type covered"),
            (p[2] == ALGORITHM_PRIVATEDNS, "algorithm"),
            (p[3] == 0, "labels"),
            (p[4..8] == [0, 0, 0, 0], "original ttl"),
            (p[18] == 0, "signer name"),
        ];
        match checks.iter().find(|(ok, _)| !ok) {
            Some((_, field)) => Err(Sig0Error::BadField(field)),
            None => Ok(()),
        }
    }
}

/// Reads the 94-byte SIG RR.
fn read_sig_rr(r: &mut Reader<'_>) -> Result<SigRr, DecodeError> {
    let owner = r.u8()?;
    let rr_type = r.u16_be()?;
    let class = r.u16_be()?;
    let ttl = r.u32_be()?;
    let rdlength = r.u16_be()?;
    let prefix: [u8; SIG_RDATA_PREFIX_SIZE] = r.array()?;
    let signature = r.array()?;
    let mut pr = Reader::new(&prefix[8..16]);
    let expiration = pr.u32_be()?;
    let inception = pr.u32_be()?;
    r.finish()?;
    Ok(SigRr {
        owner,
        rr_type,
        class,
        ttl,
        rdlength,
        prefix,
        expiration,
        inception,
        signature,
    })
}

/// The 19-byte SIG rdata before the signature.
fn rdata_prefix(expiration: u32, inception: u32, key_tag: u16) -> [u8; SIG_RDATA_PREFIX_SIZE] {
    let mut p = [0u8; SIG_RDATA_PREFIX_SIZE];
    // type covered 0, algorithm, labels 0, original TTL 0.
    p[2] = ALGORITHM_PRIVATEDNS;
    p[8..12].copy_from_slice(&expiration.to_be_bytes());
    p[12..16].copy_from_slice(&inception.to_be_bytes());
    p[16..18].copy_from_slice(&key_tag.to_be_bytes());
    // signer name `.` (0) stays.
    p
}

/// ARCOUNT of a message at least 12 bytes long (0 otherwise).
fn arcount(message: &[u8]) -> u16 {
    match message.get(ARCOUNT_OFFSET..DNS_HEADER_SIZE) {
        Some(&[hi, lo]) => u16::from_be_bytes([hi, lo]),
        _ => 0,
    }
}

/// Offset of the last additional record if it is a SIG(0) record, by walking the message.
fn trailing_sig_offset(message: &[u8]) -> Option<usize> {
    let mut r = Reader::new(message);
    let _id = r.u16_be().ok()?;
    let _flags = r.u16_be().ok()?;
    let qdcount = r.u16_be().ok()?;
    let ancount = r.u16_be().ok()?;
    let nscount = r.u16_be().ok()?;
    let arcount = r.u16_be().ok()?;
    if arcount == 0 {
        return None;
    }
    for _ in 0..qdcount {
        skip_name(&mut r).ok()?;
        r.bytes(4).ok()?;
    }
    let before_last = u32::from(ancount) + u32::from(nscount) + u32::from(arcount) - 1;
    for _ in 0..before_last {
        skip_name(&mut r).ok()?;
        r.bytes(8).ok()?;
        let rdlength = r.u16_be().ok()?;
        r.bytes(usize::from(rdlength)).ok()?;
    }
    let offset = r.position();
    let owner = r.u8().ok()?;
    let rr_type = r.u16_be().ok()?;
    let class = r.u16_be().ok()?;
    let ttl = r.u32_be().ok()?;
    let rdlength = r.u16_be().ok()?;
    let rdata = r.bytes(usize::from(rdlength)).ok()?;
    let is_sig0 = owner == 0
        && rr_type == TYPE_SIG
        && class == CLASS_ANY
        && ttl == 0
        && rdata.len() >= SIG_RDATA_PREFIX_SIZE
        && rdata.starts_with(&[0, 0]);
    is_sig0.then_some(offset)
}

/// Skips one (possibly compressed) domain name without following pointers.
fn skip_name(r: &mut Reader<'_>) -> Result<(), DecodeError> {
    loop {
        let len = r.u8()?;
        match len & 0xc0 {
            0x00 if len == 0 => return Ok(()),
            0x00 => {
                r.bytes(usize::from(len))?;
            }
            0xc0 => {
                r.u8()?;
                return Ok(());
            }
            _ => return Err(r.malformed("unsupported label type")),
        }
    }
}

#[cfg(test)]
mod tests;
