//! The 236-byte Handshake block header: layout, encoding and decoding.
//!
//! Layout (hns-chain.md §1.1, hsd `lib/primitives/abstractblock.js`): nonce u32 ‖ time u64 ‖
//! prevBlock ‖ treeRoot ‖ extraNonce(24) ‖ reservedRoot ‖ witnessRoot ‖ merkleRoot ‖ version u32 ‖
//! bits u32 ‖ mask(32), all little-endian.
//!
//! Also the header hash (§1.2, hsd `abstractblock.js` `powHash`, hnsd `src/header.c`) and the
//! context-free proof-of-work check. Rules that need the chain (linkage, difficulty, time,
//! checkpoints) live in [`crate::chain`]; this module never looks beyond one header.

use thiserror::Error;

use crate::encoding::{DecodeError, Reader};
use crate::pow::{PowError, Target};
use crate::types::{BlockHash, TreeRoot};

mod pow_hash;

/// Serialized size of a header.
pub const HEADER_SIZE: usize = 236;

/// Why a header was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The bytes are not a 236-byte header.
    #[error("header decode: {0}")]
    Decode(#[from] DecodeError),
    /// The `bits` field does not decode to a valid target (negative, zero or too wide).
    #[error("header has invalid bits: {0}")]
    BadBits(PowError),
    /// The header hash is above the target its `bits` encode (hsd "high-hash").
    #[error("header hash {hash} is above the target of bits {bits:#010x}")]
    HighHash {
        /// The computed header hash.
        hash: BlockHash,
        /// The header's compact target.
        bits: u32,
    },
}

/// A header together with its hash, computed once at construction (fields are private so the
/// two can never disagree).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HashedHeader {
    header: Header,
    hash: BlockHash,
}

/// A decoded block header. Field order follows the wire layout.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Header {
    /// Miner nonce.
    pub nonce: u32,
    /// Unix time in seconds.
    pub time: u64,
    /// Hash of the parent header.
    pub prev_block: BlockHash,
    /// Urkel name-tree root committed by this header.
    pub tree_root: TreeRoot,
    /// Extra nonce space for miners.
    pub extra_nonce: [u8; 24],
    /// Reserved root (not validated by consensus).
    pub reserved_root: [u8; 32],
    /// Witness merkle root.
    pub witness_root: [u8; 32],
    /// Transaction merkle root.
    pub merkle_root: [u8; 32],
    /// Version bits.
    pub version: u32,
    /// Compact difficulty target.
    pub bits: u32,
    /// Pool anti-withholding mask.
    pub mask: [u8; 32],
}

impl Header {
    /// Decodes exactly [`HEADER_SIZE`] bytes.
    pub fn decode(bytes: &[u8]) -> Result<Header, HeaderError> {
        let mut r = Reader::new(bytes);
        let header = Header::read(&mut r)?;
        r.finish()?;
        Ok(header)
    }

    /// Reads one header from a reader (used inside HEADERS and BLOCK payloads).
    pub fn read(r: &mut Reader<'_>) -> Result<Header, DecodeError> {
        Ok(Header {
            nonce: r.u32_le()?,
            time: r.u64_le()?,
            prev_block: BlockHash(r.array()?),
            tree_root: TreeRoot(r.array()?),
            extra_nonce: r.array()?,
            reserved_root: r.array()?,
            witness_root: r.array()?,
            merkle_root: r.array()?,
            version: r.u32_le()?,
            bits: r.u32_le()?,
            mask: r.array()?,
        })
    }

    /// Encodes to the 236-byte wire form.
    pub fn encode(&self) -> [u8; HEADER_SIZE] {
        let mut out = [0u8; HEADER_SIZE];
        out[0..4].copy_from_slice(&self.nonce.to_le_bytes());
        out[4..12].copy_from_slice(&self.time.to_le_bytes());
        out[12..44].copy_from_slice(&self.prev_block.0);
        out[44..76].copy_from_slice(&self.tree_root.0);
        out[76..100].copy_from_slice(&self.extra_nonce);
        out[100..132].copy_from_slice(&self.reserved_root);
        out[132..164].copy_from_slice(&self.witness_root);
        out[164..196].copy_from_slice(&self.merkle_root);
        out[196..200].copy_from_slice(&self.version.to_le_bytes());
        out[200..204].copy_from_slice(&self.bits.to_le_bytes());
        out[204..236].copy_from_slice(&self.mask);
        out
    }

    /// Appends the wire form to `out`.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.encode());
    }

    /// The block hash (= PoW hash, hns-chain.md §1.2). Costs six hash invocations and no
    /// allocation; callers that need it more than once should keep a [`HashedHeader`].
    pub fn hash(&self) -> BlockHash {
        pow_hash::header_hash(self)
    }

    /// Context-free proof-of-work check: `bits` must decode to a valid target and the hash must
    /// be ≤ it. Returns the hash on success so it need not be computed again.
    pub fn verify_pow(&self) -> Result<BlockHash, HeaderError> {
        // Reject bad bits before paying for the hash.
        let target = Target::from_bits(self.bits).map_err(HeaderError::BadBits)?;
        check_target(&target, self.hash(), self.bits)
    }
}

/// The hash-versus-target comparison shared by [`Header`] and [`HashedHeader`].
fn check_target(target: &Target, hash: BlockHash, bits: u32) -> Result<BlockHash, HeaderError> {
    if target.is_met_by(&hash) {
        Ok(hash)
    } else {
        Err(HeaderError::HighHash { hash, bits })
    }
}

// === impl HashedHeader ===

impl HashedHeader {
    /// Hashes `header` once.
    pub fn new(header: Header) -> HashedHeader {
        let hash = header.hash();
        HashedHeader { header, hash }
    }

    /// Decodes exactly [`HEADER_SIZE`] bytes and hashes them.
    pub fn decode(bytes: &[u8]) -> Result<HashedHeader, HeaderError> {
        Header::decode(bytes).map(HashedHeader::new)
    }

    /// The header.
    pub fn header(&self) -> &Header {
        &self.header
    }

    /// Its hash.
    pub fn hash(&self) -> BlockHash {
        self.hash
    }

    /// Gives the header back.
    pub fn into_header(self) -> Header {
        self.header
    }

    /// Context-free proof-of-work check against the cached hash (see [`Header::verify_pow`]).
    pub fn verify_pow(&self) -> Result<BlockHash, HeaderError> {
        let bits = self.header.bits;
        let target = Target::from_bits(bits).map_err(HeaderError::BadBits)?;
        check_target(&target, self.hash, bits)
    }
}

impl From<Header> for HashedHeader {
    fn from(header: Header) -> Self {
        HashedHeader::new(header)
    }
}

#[cfg(test)]
mod tests;
