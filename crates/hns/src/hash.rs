//! The hash functions Handshake uses, with the exact parameters consensus requires.
//!
//! BLAKE2b-256 is unkeyed BLAKE2b with the digest-length parameter set to 32 (not a truncated
//! BLAKE2b-512); SHA3-256 is FIPS-202 SHA3, not legacy Keccak.

use blake2::digest::consts::U32;
use blake2::{Blake2b, Blake2b512, Digest};
use sha3::Sha3_256;

/// BLAKE2b with a 32-byte digest.
pub type Blake2b256 = Blake2b<U32>;

/// BLAKE2b-256 over the concatenation of `parts`.
pub fn blake2b256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Blake2b256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// BLAKE2b-512 over the concatenation of `parts`.
pub fn blake2b512(parts: &[&[u8]]) -> [u8; 64] {
    let mut h = Blake2b512::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

/// SHA3-256 over the concatenation of `parts`.
pub fn sha3_256(parts: &[&[u8]]) -> [u8; 32] {
    let mut h = Sha3_256::new();
    for p in parts {
        h.update(p);
    }
    h.finalize().into()
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn sha3_of_name_matches_hsd_name_hash() {
        // hns-chain.md §5.1: SHA3-256("hnsvector").
        assert_eq!(
            hex::encode(sha3_256(&[b"hnsvector"])),
            "a953572d8359689fce1bbc567fcf8e9188bfcf9f898af872f48b568ca1b5f3a0"
        );
    }

    #[test]
    fn blake2b256_is_not_truncated_512() {
        assert_ne!(blake2b256(&[b"abc"])[..], blake2b512(&[b"abc"])[..32]);
    }
}
