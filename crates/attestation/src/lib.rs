//! Signed tip attestations: a follower (or an outside attester) states "on network N, my best
//! chain's tip is height H with hash B, tree root R and chainwork W, as of time T" and signs it
//! with its secp256k1 key. The reorg-watchdog compares such statements from many sources.
//!
//! Pure: no I/O, no clock (`signed_at` is given by the caller). The wire form is fixed-size and
//! strict (exact length, low-S signatures only), so a statement has exactly one encoding and
//! the signature covers every byte of it. The digest is domain-separated
//! (`hnsfleet-attestation-v1`) so an attestation signature can never double as a SIG(0) or
//! any other signature made with the same key.
#![forbid(unsafe_code)]

use blake2::digest::consts::U32;
use blake2::{Blake2b, Digest};
use hnsfleet_hns::types::{BlockHash, TreeRoot};
use secp256k1::ecdsa::Signature;
use secp256k1::{Message, PublicKey, SECP256K1, SecretKey};
use thiserror::Error;

/// Domain separator hashed in front of every statement.
pub const DOMAIN: &[u8] = b"hnsfleet-attestation-v1";
/// Size of an encoded [`TipStatement`].
pub const STATEMENT_SIZE: usize = 4 + 4 + 32 + 32 + 32 + 8 + 8;
/// Size of an encoded [`SignedAttestation`]: statement ‖ 33-byte key ‖ 64-byte signature.
pub const SIGNED_SIZE: usize = STATEMENT_SIZE + 33 + 64;

/// Why an attestation was rejected.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum AttestationError {
    /// The bytes are not exactly one encoded attestation.
    #[error("attestation is {0} bytes, expected {SIGNED_SIZE}")]
    BadLength(usize),
    /// The public key is not a valid compressed secp256k1 point.
    #[error("attestation public key is not a valid secp256k1 point")]
    BadPublicKey,
    /// The signature is malformed or high-S.
    #[error("attestation signature is malformed or not low-S")]
    BadSignatureEncoding,
    /// The signature does not verify for this statement and key.
    #[error("attestation signature does not verify")]
    BadSignature,
}

/// What an attester states about its best chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct TipStatement {
    /// Network magic (hns-chain.md §3.1), so statements of different networks never compare.
    pub network_magic: u32,
    /// Tip height.
    pub height: u32,
    /// Tip block hash.
    pub hash: BlockHash,
    /// Tree root committed by the tip header.
    pub tree_root: TreeRoot,
    /// Cumulative chainwork of the tip, 32 bytes big-endian.
    pub chainwork: [u8; 32],
    /// Tip header time, unix seconds.
    pub time: u64,
    /// When the statement was signed, unix seconds.
    pub signed_at: u64,
}

/// A statement with its signer's key and signature, not yet checked.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SignedAttestation {
    /// The statement.
    pub statement: TipStatement,
    /// Signer's compressed public key.
    pub public_key: [u8; 33],
    /// Compact `r ‖ s` ECDSA signature over [`TipStatement::digest`].
    pub signature: [u8; 64],
}

/// An attestation whose signature verified. Only [`SignedAttestation::verify`] builds one.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct VerifiedAttestation {
    statement: TipStatement,
    signer: [u8; 33],
}

// === impl TipStatement ===

impl TipStatement {
    /// Fixed-size encoding (big-endian integers).
    pub fn encode(&self) -> [u8; STATEMENT_SIZE] {
        let mut out = [0u8; STATEMENT_SIZE];
        out[0..4].copy_from_slice(&self.network_magic.to_be_bytes());
        out[4..8].copy_from_slice(&self.height.to_be_bytes());
        out[8..40].copy_from_slice(&self.hash.0);
        out[40..72].copy_from_slice(&self.tree_root.0);
        out[72..104].copy_from_slice(&self.chainwork);
        out[104..112].copy_from_slice(&self.time.to_be_bytes());
        out[112..120].copy_from_slice(&self.signed_at.to_be_bytes());
        out
    }

    /// Decodes exactly [`STATEMENT_SIZE`] bytes.
    pub fn decode(bytes: &[u8; STATEMENT_SIZE]) -> TipStatement {
        let arr32 = |at: usize| {
            let mut a = [0u8; 32];
            a.copy_from_slice(&bytes[at..at + 32]);
            a
        };
        let u64_at = |at: usize| {
            let mut a = [0u8; 8];
            a.copy_from_slice(&bytes[at..at + 8]);
            u64::from_be_bytes(a)
        };
        TipStatement {
            network_magic: u32::from_be_bytes([bytes[0], bytes[1], bytes[2], bytes[3]]),
            height: u32::from_be_bytes([bytes[4], bytes[5], bytes[6], bytes[7]]),
            hash: BlockHash(arr32(8)),
            tree_root: TreeRoot(arr32(40)),
            chainwork: arr32(72),
            time: u64_at(104),
            signed_at: u64_at(112),
        }
    }

    /// BLAKE2b-256(DOMAIN ‖ encoding): what is signed.
    pub fn digest(&self) -> [u8; 32] {
        let mut h = Blake2b::<U32>::new();
        h.update(DOMAIN);
        h.update(self.encode());
        h.finalize().into()
    }

    /// Signs the statement (RFC 6979 deterministic nonce, low-S).
    pub fn sign(&self, key: &SecretKey) -> SignedAttestation {
        let msg = Message::from_digest(self.digest());
        let signature = SECP256K1.sign_ecdsa(msg, key).serialize_compact();
        SignedAttestation {
            statement: *self,
            public_key: PublicKey::from_secret_key(SECP256K1, key).serialize(),
            signature,
        }
    }
}

// === impl SignedAttestation ===

impl SignedAttestation {
    /// Wire form: statement ‖ public key ‖ signature.
    pub fn encode(&self) -> [u8; SIGNED_SIZE] {
        let mut out = [0u8; SIGNED_SIZE];
        out[..STATEMENT_SIZE].copy_from_slice(&self.statement.encode());
        out[STATEMENT_SIZE..STATEMENT_SIZE + 33].copy_from_slice(&self.public_key);
        out[STATEMENT_SIZE + 33..].copy_from_slice(&self.signature);
        out
    }

    /// Decodes exactly [`SIGNED_SIZE`] bytes (the signature is checked by [`Self::verify`]).
    pub fn decode(bytes: &[u8]) -> Result<SignedAttestation, AttestationError> {
        let bytes: &[u8; SIGNED_SIZE] = bytes
            .try_into()
            .map_err(|_| AttestationError::BadLength(bytes.len()))?;
        let mut statement = [0u8; STATEMENT_SIZE];
        statement.copy_from_slice(&bytes[..STATEMENT_SIZE]);
        let mut public_key = [0u8; 33];
        public_key.copy_from_slice(&bytes[STATEMENT_SIZE..STATEMENT_SIZE + 33]);
        let mut signature = [0u8; 64];
        signature.copy_from_slice(&bytes[STATEMENT_SIZE + 33..]);
        Ok(SignedAttestation {
            statement: TipStatement::decode(&statement),
            public_key,
            signature,
        })
    }

    /// Checks the signature against the embedded key.
    pub fn verify(&self) -> Result<VerifiedAttestation, AttestationError> {
        let key =
            PublicKey::from_slice(&self.public_key).map_err(|_| AttestationError::BadPublicKey)?;
        let sig = Signature::from_compact(&self.signature)
            .map_err(|_| AttestationError::BadSignatureEncoding)?;
        let mut normalized = sig;
        normalized.normalize_s();
        if normalized != sig {
            return Err(AttestationError::BadSignatureEncoding);
        }
        let msg = Message::from_digest(self.statement.digest());
        SECP256K1
            .verify_ecdsa(msg, &sig, &key)
            .map_err(|_| AttestationError::BadSignature)?;
        Ok(VerifiedAttestation {
            statement: self.statement,
            signer: self.public_key,
        })
    }
}

// === impl VerifiedAttestation ===

impl VerifiedAttestation {
    /// The verified statement.
    pub fn statement(&self) -> &TipStatement {
        &self.statement
    }

    /// The key that signed it.
    pub fn signer(&self) -> &[u8; 33] {
        &self.signer
    }
}

#[cfg(test)]
mod tests;
