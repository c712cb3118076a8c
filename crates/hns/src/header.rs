//! The 236-byte Handshake block header: layout, encoding and decoding.
//!
//! Layout (hns-chain.md §1.1, hsd `lib/primitives/abstractblock.js`): nonce u32 ‖ time u64 ‖
//! prevBlock ‖ treeRoot ‖ extraNonce(24) ‖ reservedRoot ‖ witnessRoot ‖ merkleRoot ‖ version u32 ‖
//! bits u32 ‖ mask(32), all little-endian.

use thiserror::Error;

use crate::encoding::{DecodeError, Reader};
use crate::types::{BlockHash, TreeRoot};

/// Serialized size of a header.
pub const HEADER_SIZE: usize = 236;

/// Why a header was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HeaderError {
    /// The bytes are not a 236-byte header.
    #[error("header decode: {0}")]
    Decode(#[from] DecodeError),
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
}
