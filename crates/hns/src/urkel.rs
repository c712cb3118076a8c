//! Urkel tree proofs: decoding, encoding and verification against a tree root.
//!
//! Follows urkel `lib/proof.js` (read/write/verify, codes), `lib/common.js` (node hashes) and
//! hnsd `src/proof-radix.c`, as described in hns-chain.md §5.2–5.5. The tree is a radix tree
//! over 256-bit keys hashed with BLAKE2b-256:
//! - leaf: `H(0x00 ‖ key ‖ H(value))`;
//! - internal without prefix: `H(0x01 ‖ left ‖ right)`;
//! - internal with an n-bit prefix: `H(0x02 ‖ n as u16 LE ‖ prefix bytes ‖ left ‖ right)`;
//! - empty subtree: 32 zero bytes.
//!
//! Decoding bounds every size before allocating (depth and node count ≤ 256, prefix sizes
//! 1..=256, EXISTS values ≤ 668 bytes) and, beyond the references, rejects non-canonical
//! encodings (unused bitmap or prefix bits set, a two-byte size under 128, trailing bytes), so
//! that every byte of an accepted proof matters. Only [`Proof::verify`] builds a
//! [`VerifiedProof`].

use blake2::Digest;
use thiserror::Error;

use crate::encoding::{DecodeError, Reader};
use crate::hash::Blake2b256;
use crate::namestate::{MAX_NAME_STATE_SIZE, NameState, NameStateError};
use crate::types::{NameHash, TreeRoot};

mod bits;

pub use bits::Bits;
use bits::bit_at;

/// Key size in bits; also the deepest a proof can go.
pub const KEY_BITS: u16 = 256;
/// Most sibling nodes a proof may carry.
pub const MAX_NODES: u16 = 256;
/// Largest EXISTS value accepted (an HNS name state).
pub const MAX_VALUE_SIZE: usize = MAX_NAME_STATE_SIZE;
/// Largest encoded proof [`Proof::decode`] can accept: the type/depth and count words, a full
/// prefix bitmap, [`MAX_NODES`] nodes each with the longest prefix (2-byte size + 32 bytes) and
/// a sibling hash, and the largest terminal (an existing value of [`MAX_VALUE_SIZE`] bytes with
/// its 2-byte length). A PROOF packet longer than this plus its root and key is not a proof.
pub const MAX_PROOF_SIZE: usize =
    4 + (MAX_NODES as usize).div_ceil(8) + MAX_NODES as usize * (2 + 32 + 32) + 2 + MAX_VALUE_SIZE;

const LEAF_PREFIX: u8 = 0x00;
const INTERNAL_PREFIX: u8 = 0x01;
const INTERNAL_PREFIXED: u8 = 0x02;

/// Why a proof was rejected. [`ProofError::code`] gives urkel's numeric code.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ProofError {
    /// The bytes are not a well-formed proof.
    #[error("proof decode: {0}")]
    Decode(#[from] DecodeError),
    /// The recomputed root differs from the expected root (wrong root, key or data).
    #[error("proof hash mismatch: it does not lead to the expected tree root")]
    HashMismatch,
    /// A collision proof names the very key it claims is absent.
    #[error("collision proof names the key being proven absent")]
    SameKey,
    /// A short proof's prefix agrees with the key, so it proves nothing.
    #[error("short proof prefix matches the key")]
    SamePath,
    /// The proof has more nodes or prefix bits than its depth allows.
    #[error("proof path is deeper than its stated depth")]
    NegDepth,
    /// A node's prefix disagrees with the key's bits.
    #[error("proof node prefix does not match the key")]
    PathMismatch,
    /// The stated depth leaves bits unaccounted for.
    #[error("proof depth does not match its path")]
    TooDeep,
    /// An EXISTS proof whose value is not a valid name state, or is for another name.
    #[error("proof value is not a name state for this key: {0}")]
    BadValue(String),
}

/// One sibling on the path from the root, root first.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ProofNode {
    /// The prefix of the internal node at this step, if it has one.
    pub prefix: Option<Bits>,
    /// Hash of the sibling subtree.
    pub sibling: [u8; 32],
}

/// What the path ends in.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Terminal {
    /// An empty subtree: the key is absent.
    DeadEnd,
    /// An internal node whose prefix diverges from the key: absent.
    Short {
        /// The node's prefix.
        prefix: Bits,
        /// Left child hash.
        left: [u8; 32],
        /// Right child hash.
        right: [u8; 32],
    },
    /// A leaf for a different key: absent.
    Collision {
        /// The other key.
        key: NameHash,
        /// BLAKE2b-256 of the other key's value.
        value_hash: [u8; 32],
    },
    /// The key's leaf, with its value.
    Exists {
        /// The stored value (an HNS name state).
        value: Vec<u8>,
    },
}

/// A decoded (not yet verified) Urkel proof.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Proof {
    /// Depth of the terminal node.
    pub depth: u16,
    /// Siblings from the root down.
    pub nodes: Vec<ProofNode>,
    /// The terminal node.
    pub terminal: Terminal,
}

/// How absence was proven.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum AbsenceKind {
    /// The path ends in an empty subtree.
    DeadEnd,
    /// The path ends in a node whose prefix diverges from the key.
    Short,
    /// The path ends in another key's leaf.
    Collision,
}

/// The result of a verified proof: the key exists with a value, or is proven absent.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Membership {
    /// The key is in the tree with this value.
    Exists(Vec<u8>),
    /// The key is not in the tree.
    Absent(AbsenceKind),
}

/// A proof checked against a root and key. Only [`Proof::verify`] creates one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedProof {
    root: TreeRoot,
    key: NameHash,
    membership: Membership,
}

/// A verified name look-up: the proof held, and an existing value decoded as the name state
/// of exactly this key. Only [`verify_name_proof`] creates one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedName {
    root: TreeRoot,
    key: NameHash,
    state: Option<NameState>,
    absence: Option<AbsenceKind>,
}

// === impl ProofError ===

impl ProofError {
    /// urkel's verification code: 1 HASH_MISMATCH, 2 SAME_KEY, 3 SAME_PATH, 4 NEG_DEPTH,
    /// 5 PATH_MISMATCH, 6 TOO_DEEP, 7 UNKNOWN_ERROR (decode and value errors).
    pub fn code(&self) -> u8 {
        match self {
            ProofError::HashMismatch => 1,
            ProofError::SameKey => 2,
            ProofError::SamePath => 3,
            ProofError::NegDepth => 4,
            ProofError::PathMismatch => 5,
            ProofError::TooDeep => 6,
            ProofError::Decode(_) | ProofError::BadValue(_) => 7,
        }
    }
}

// === impl Proof ===

impl Proof {
    /// Decodes a serialized proof; the whole input must be consumed.
    pub fn decode(bytes: &[u8]) -> Result<Proof, ProofError> {
        let mut r = Reader::new(bytes);
        let type_depth = r.u16_le()?;
        let kind = type_depth >> 14;
        let depth = type_depth & 0x3fff;
        if depth > KEY_BITS {
            return Err(r.malformed("proof depth above 256").into());
        }
        let count = r.u16_le()?;
        if count > MAX_NODES {
            return Err(r.malformed("more than 256 proof nodes").into());
        }
        let bitmap = r.bytes(usize::from(count).div_ceil(8))?;
        if (count..(bitmap.len() as u16 * 8)).any(|i| bitmap_bit(bitmap, i)) {
            return Err(r.malformed("unused prefix-bitmap bits set").into());
        }
        let mut nodes = Vec::with_capacity(usize::from(count));
        for i in 0..count {
            let prefix = if bitmap_bit(bitmap, i) {
                Some(Bits::read(&mut r)?)
            } else {
                None
            };
            nodes.push(ProofNode {
                prefix,
                sibling: r.array()?,
            });
        }
        let terminal = match kind {
            0 => Terminal::DeadEnd,
            1 => Terminal::Short {
                prefix: Bits::read(&mut r)?,
                left: r.array()?,
                right: r.array()?,
            },
            2 => Terminal::Collision {
                key: NameHash(r.array()?),
                value_hash: r.array()?,
            },
            _ => {
                let len = usize::from(r.u16_le()?);
                if len > MAX_VALUE_SIZE {
                    return Err(r.malformed("proof value above 668 bytes").into());
                }
                Terminal::Exists {
                    value: r.bytes(len)?.to_vec(),
                }
            }
        };
        r.finish()?;
        Ok(Proof {
            depth,
            nodes,
            terminal,
        })
    }

    /// Encodes the proof in urkel's wire form.
    pub fn encode(&self) -> Vec<u8> {
        let kind: u16 = match self.terminal {
            Terminal::DeadEnd => 0,
            Terminal::Short { .. } => 1,
            Terminal::Collision { .. } => 2,
            Terminal::Exists { .. } => 3,
        };
        let mut out = Vec::with_capacity(4 + self.nodes.len() * 34 + 80);
        out.extend_from_slice(&((kind << 14) | (self.depth & 0x3fff)).to_le_bytes());
        out.extend_from_slice(&(self.nodes.len() as u16).to_le_bytes());
        let mut bitmap = vec![0u8; self.nodes.len().div_ceil(8)];
        for (i, node) in self.nodes.iter().enumerate() {
            if node.prefix.is_some() {
                bitmap[i >> 3] |= 0x80 >> (i & 7);
            }
        }
        out.extend_from_slice(&bitmap);
        for node in &self.nodes {
            if let Some(prefix) = &node.prefix {
                prefix.write(&mut out);
            }
            out.extend_from_slice(&node.sibling);
        }
        match &self.terminal {
            Terminal::DeadEnd => {}
            Terminal::Short {
                prefix,
                left,
                right,
            } => {
                prefix.write(&mut out);
                out.extend_from_slice(left);
                out.extend_from_slice(right);
            }
            Terminal::Collision { key, value_hash } => {
                out.extend_from_slice(&key.0);
                out.extend_from_slice(value_hash);
            }
            Terminal::Exists { value } => {
                out.extend_from_slice(&(value.len() as u16).to_le_bytes());
                out.extend_from_slice(value);
            }
        }
        out
    }

    /// Verifies the proof for `key` against `root` (urkel `Proof.verify`).
    pub fn verify(&self, root: &TreeRoot, key: &NameHash) -> Result<VerifiedProof, ProofError> {
        let k = &key.0;
        let (mut next, membership) = match &self.terminal {
            Terminal::DeadEnd => ([0u8; 32], Membership::Absent(AbsenceKind::DeadEnd)),
            Terminal::Short {
                prefix,
                left,
                right,
            } => {
                if prefix.matches_key(k, self.depth) {
                    return Err(ProofError::SamePath);
                }
                (
                    hash_internal(Some(prefix), left, right),
                    Membership::Absent(AbsenceKind::Short),
                )
            }
            Terminal::Collision {
                key: other,
                value_hash,
            } => {
                if other == key {
                    return Err(ProofError::SameKey);
                }
                (
                    hash_leaf(&other.0, value_hash),
                    Membership::Absent(AbsenceKind::Collision),
                )
            }
            Terminal::Exists { value } => {
                let value_hash: [u8; 32] = Blake2b256::digest(value).into();
                (hash_leaf(k, &value_hash), Membership::Exists(value.clone()))
            }
        };
        let mut depth = self.depth;
        for node in self.nodes.iter().rev() {
            let prefix_bits = node.prefix.as_ref().map_or(0, Bits::size);
            if depth < prefix_bits + 1 {
                return Err(ProofError::NegDepth);
            }
            depth -= 1;
            next = if bit_at(k, depth) {
                hash_internal(node.prefix.as_ref(), &node.sibling, &next)
            } else {
                hash_internal(node.prefix.as_ref(), &next, &node.sibling)
            };
            depth -= prefix_bits;
            if let Some(prefix) = &node.prefix
                && !prefix.matches_key(k, depth)
            {
                return Err(ProofError::PathMismatch);
            }
        }
        if depth != 0 {
            return Err(ProofError::TooDeep);
        }
        if next != root.0 {
            return Err(ProofError::HashMismatch);
        }
        Ok(VerifiedProof {
            root: *root,
            key: *key,
            membership,
        })
    }
}

fn bitmap_bit(bitmap: &[u8], i: u16) -> bool {
    let i = usize::from(i);
    bitmap
        .get(i >> 3)
        .is_some_and(|b| (b >> (7 - (i & 7))) & 1 == 1)
}

fn hash_leaf(key: &[u8; 32], value_hash: &[u8; 32]) -> [u8; 32] {
    let mut h = Blake2b256::new();
    h.update([LEAF_PREFIX]);
    h.update(key);
    h.update(value_hash);
    h.finalize().into()
}

fn hash_internal(prefix: Option<&Bits>, left: &[u8; 32], right: &[u8; 32]) -> [u8; 32] {
    let mut h = Blake2b256::new();
    match prefix {
        None => h.update([INTERNAL_PREFIX]),
        Some(bits) => {
            h.update([INTERNAL_PREFIXED]);
            h.update(bits.size().to_le_bytes());
            h.update(bits.bytes());
        }
    }
    h.update(left);
    h.update(right);
    h.finalize().into()
}

// === impl VerifiedProof ===

impl VerifiedProof {
    /// The root the proof was checked against.
    pub fn root(&self) -> &TreeRoot {
        &self.root
    }

    /// The key the proof is about.
    pub fn key(&self) -> &NameHash {
        &self.key
    }

    /// Whether the key exists (with its value) or how its absence was proven.
    pub fn membership(&self) -> &Membership {
        &self.membership
    }
}

// === impl VerifiedName ===

impl VerifiedName {
    /// The tree root the proof was checked against.
    pub fn root(&self) -> &TreeRoot {
        &self.root
    }

    /// The name hash (tree key).
    pub fn key(&self) -> &NameHash {
        &self.key
    }

    /// The name state, if the name exists in the tree.
    pub fn state(&self) -> Option<&NameState> {
        self.state.as_ref()
    }

    /// How absence was proven, if the name does not exist.
    pub fn absence(&self) -> Option<AbsenceKind> {
        self.absence
    }
}

/// Decodes and verifies a name proof, and for an existing name decodes the value as the name
/// state of exactly `key` (its name must hash to the key). This is what services serve from.
pub fn verify_name_proof(
    root: &TreeRoot,
    key: &NameHash,
    proof: &[u8],
) -> Result<VerifiedName, ProofError> {
    let verified = Proof::decode(proof)?.verify(root, key)?;
    let (state, absence) = match verified.membership {
        Membership::Absent(kind) => (None, Some(kind)),
        Membership::Exists(value) => {
            let state = NameState::decode(&value)
                .map_err(|e: NameStateError| ProofError::BadValue(e.to_string()))?;
            if crate::name::name_hash_bytes(&state.name) != *key {
                return Err(ProofError::BadValue(
                    "the name state's name does not hash to the key".into(),
                ));
            }
            (Some(state), None)
        }
    };
    Ok(VerifiedName {
        root: verified.root,
        key: verified.key,
        state,
        absence,
    })
}

#[cfg(test)]
mod tests;
#[cfg(any(test, feature = "test-util"))]
pub mod testtree;
