//! Proof of work: compact "bits" ⇄ 256-bit target, work per header, cumulative chainwork and the
//! hash-below-target check.
//!
//! Follows hns-chain.md §1.3–§1.4 (hsd `lib/protocol/consensus.js` `fromCompact`, `toCompact`,
//! `verifyPOW`; hsd `lib/blockchain/chainentry.js` `getProof`; hnsd `src/pow.c`, `src/header.c`).
//! Pure arithmetic: it never hashes a header (see [`crate::header`]) and never looks at a chain
//! (see [`crate::chain`]). A block hash is compared with a target as a **big-endian** integer.

use std::fmt;
use std::ops::Add;

use ruint::aliases::U256;
use thiserror::Error;

use crate::types::BlockHash;

/// Why compact bits do not give a usable target, or why a hash does not meet it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum PowError {
    /// The sign bit (0x00800000) is set on a non-zero mantissa.
    #[error("compact bits {bits:#010x} encode a negative target")]
    NegativeTarget {
        /// The offending bits.
        bits: u32,
    },
    /// The bits decode to a zero target, which no hash can meet.
    #[error("compact bits {bits:#010x} encode a zero target")]
    ZeroTarget {
        /// The offending bits.
        bits: u32,
    },
    /// The bits decode to a value wider than 256 bits.
    #[error("compact bits {bits:#010x} encode a target wider than 256 bits")]
    TargetOverflow {
        /// The offending bits.
        bits: u32,
    },
    /// The hash, read as a big-endian integer, is greater than the target.
    #[error("hash {hash} is above the target of bits {bits:#010x}")]
    HighHash {
        /// The block hash that failed.
        hash: BlockHash,
        /// The bits it was checked against.
        bits: u32,
    },
}

/// A proof-of-work target: a header is valid if its hash (big-endian) is ≤ the target.
///
/// Only positive targets that fit in 256 bits are representable; [`Target::from_bits`] rejects
/// the rest, exactly the cases in which hsd's `verifyPOW` fails.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash)]
pub struct Target(U256);

/// An amount of work: per header `floor(2^256 / (target + 1))`, or a chain's cumulative sum.
///
/// Sums saturate at 2^256 − 1. Reaching that would need more than two headers at the minimum
/// possible target of 1, which no real chain can produce; hsd's unbounded integers never differ
/// from this in practice.
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Chainwork(U256);

// === impl Target ===

impl Target {
    /// Decodes compact bits (hsd `fromCompact` + the validity part of `verifyPOW`).
    pub fn from_bits(bits: u32) -> Result<Target, PowError> {
        let exponent = bits >> 24;
        let negative = bits & 0x0080_0000 != 0;
        let mantissa = bits & 0x007f_ffff;
        let value = if exponent <= 3 {
            U256::from(mantissa >> (8 * (3 - exponent)))
        } else {
            // The value is mantissa · 2^(8·(exponent−3)); it fits iff its bit length ≤ 256.
            let shift = 8 * (exponent as usize - 3);
            let mantissa_bits = 32 - mantissa.leading_zeros() as usize;
            if mantissa != 0 && mantissa_bits + shift > 256 {
                return Err(PowError::TargetOverflow { bits });
            }
            if mantissa == 0 {
                U256::ZERO
            } else {
                U256::from(mantissa) << shift
            }
        };
        if value.is_zero() {
            return Err(PowError::ZeroTarget { bits });
        }
        if negative {
            return Err(PowError::NegativeTarget { bits });
        }
        Ok(Target(value))
    }

    /// Wraps a known-valid non-zero value (network constants; checked by the params tests).
    pub(crate) const fn from_u256_unchecked(value: U256) -> Target {
        Target(value)
    }

    /// Encodes as canonical compact bits (hsd `toCompact`).
    pub fn to_bits(&self) -> u32 {
        to_compact(&self.0)
    }

    /// Builds a target from 32 big-endian bytes; `None` for zero.
    pub fn from_be_bytes(bytes: [u8; 32]) -> Option<Target> {
        let value = U256::from_be_bytes(bytes);
        if value.is_zero() {
            None
        } else {
            Some(Target(value))
        }
    }

    /// The target as 32 big-endian bytes (the form it is compared with a hash in).
    pub fn to_be_bytes(&self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// The target as an integer.
    pub fn as_u256(&self) -> U256 {
        self.0
    }

    /// Whether `hash`, read as a big-endian integer, is ≤ this target.
    pub fn is_met_by(&self, hash: &BlockHash) -> bool {
        // Lexicographic order of 32-byte arrays is the order of the big-endian integers.
        hash.0 <= self.to_be_bytes()
    }

    /// Work a header with this target contributes: `floor(2^256 / (target + 1))`.
    pub fn work(&self) -> Chainwork {
        Chainwork(div_2_256(self.0.checked_add(U256::from(1u8))))
    }
}

impl fmt::Debug for Target {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Target({})", hex::encode(self.to_be_bytes()))
    }
}

// === impl Chainwork ===

impl Chainwork {
    /// No work.
    pub const ZERO: Chainwork = Chainwork(U256::ZERO);

    /// From 32 big-endian bytes (hnsd's storage form).
    pub const fn from_be_bytes(bytes: [u8; 32]) -> Chainwork {
        Chainwork(U256::from_be_bytes(bytes))
    }

    /// As 32 big-endian bytes.
    pub fn to_be_bytes(&self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    /// From an integer.
    pub const fn from_u256(value: U256) -> Chainwork {
        Chainwork(value)
    }

    /// As an integer.
    pub fn as_u256(&self) -> U256 {
        self.0
    }

    /// Work of a header with compact `bits`; zero if the bits do not decode to a valid target
    /// (hsd `getProof` returns zero for targets ≤ 0).
    pub fn from_bits(bits: u32) -> Chainwork {
        Target::from_bits(bits)
            .map(|t| t.work())
            .unwrap_or(Chainwork::ZERO)
    }

    /// `self + other`, saturating at 2^256 − 1 (see the type docs).
    pub fn saturating_add(self, other: Chainwork) -> Chainwork {
        Chainwork(self.0.saturating_add(other.0))
    }
}

impl Add for Chainwork {
    type Output = Chainwork;
    fn add(self, other: Chainwork) -> Chainwork {
        self.saturating_add(other)
    }
}

impl fmt::Debug for Chainwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Chainwork({:#x})", self.0)
    }
}

impl fmt::Display for Chainwork {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{:#x}", self.0)
    }
}

// === free functions ===

/// Checks that `hash` meets the target encoded by `bits` (hsd `verifyPOW`).
pub fn check_pow(hash: &BlockHash, bits: u32) -> Result<(), PowError> {
    let target = Target::from_bits(bits)?;
    if target.is_met_by(hash) {
        Ok(())
    } else {
        Err(PowError::HighHash { hash: *hash, bits })
    }
}

/// `floor(2^256 / d)` for `d` ≥ 1 given as `Some(d)`, or for `d` = 2^256 given as `None`
/// (which yields 1). `d` = 0 yields 0, the "no work" convention.
pub(crate) fn div_2_256(d: Option<U256>) -> U256 {
    match d {
        None => U256::from(1u8),
        Some(d) if d.is_zero() => U256::ZERO,
        Some(d) => {
            // 2^256 = MAX + 1, so floor((MAX + 1) / d) is one more than floor(MAX / d)
            // exactly when d divides MAX + 1, i.e. when the remainder of MAX / d is d − 1.
            let (q, r) = U256::MAX.div_rem(d);
            if r == d - U256::from(1u8) {
                q.saturating_add(U256::from(1u8))
            } else {
                q
            }
        }
    }
}

/// `floor(2^256 / d) − 1` for `d` ≥ 1 (the retarget's `MAX_CHAINWORK / work − 1`); `None` for 0.
pub(crate) fn div_2_256_minus_1(d: U256) -> Option<U256> {
    if d.is_zero() {
        return None;
    }
    let (q, r) = U256::MAX.div_rem(d);
    // See `div_2_256`: the exact quotient is q + 1 when d divides 2^256, else q.
    if r == d - U256::from(1u8) {
        Some(q)
    } else {
        Some(q.saturating_sub(U256::from(1u8)))
    }
}

/// hsd `toCompact` over a non-negative integer (also used by the retarget).
pub(crate) fn to_compact(value: &U256) -> u32 {
    if value.is_zero() {
        return 0;
    }
    let mut exponent = value.byte_len() as u32;
    let mut mantissa: u32 = if exponent <= 3 {
        let low = value.as_limbs()[0] as u32;
        low << (8 * (3 - exponent))
    } else {
        let shifted = *value >> (8 * (exponent as usize - 3));
        shifted.as_limbs()[0] as u32
    };
    if mantissa & 0x0080_0000 != 0 {
        mantissa >>= 8;
        exponent += 1;
    }
    (exponent << 24) | mantissa
}

#[cfg(test)]
mod tests;
