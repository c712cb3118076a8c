//! Brontide, the encrypted transport of the Handshake p2p network (hsd `lib/net/brontide.js`,
//! hnsd `src/brontide.c`): a Noise XK handshake over secp256k1 whose ephemeral keys travel as
//! 64 uniform-looking bytes ("SVDW squared", [`svdw`]), ChaCha20-Poly1305 transport messages
//! with keys rotated every 1,000 messages.
//!
//! - [`handshake`] and [`svdw`] are pure (no I/O, randomness passed in) and replay hsd's own
//!   transcript byte for byte in the tests.
//! - [`stream`] runs the handshake over any tokio byte stream and splits the session into a
//!   reader and a writer of whole messages (each message carries one p2p frame).
//!
//! This crate authenticates the peer's static key and encrypts; it does not interpret what
//! flows inside (that is `hnsfleet-hns`'s p2p codec).
#![forbid(unsafe_code)]

mod cipher;
mod field;
pub mod handshake;
pub mod stream;
pub mod svdw;

use secp256k1::PublicKey;
use thiserror::Error;

pub use handshake::{Initiator, RecvCipher, Responder, SendCipher, Session};
pub use stream::{BrontideReader, BrontideStream, BrontideWriter, accept, connect};

/// Why a brontide handshake or message failed. Every variant means the peer is unusable.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum BrontideError {
    /// An authentication tag did not verify (wrong key, or tampered bytes).
    #[error("brontide: authentication tag does not verify")]
    BadTag,
    /// The peer sent bytes that do not encode a valid public key.
    #[error("brontide: peer sent an invalid key")]
    BadKey,
    /// Our ephemeral key could not be encoded (a broken random source).
    #[error("brontide: could not encode the ephemeral key")]
    Encoding,
    /// A handshake step was called out of order.
    #[error("brontide: handshake step out of order")]
    OutOfOrder,
    /// A message longer than the 8 MB frame limit.
    #[error("brontide: message of {0} bytes exceeds the limit")]
    TooLong(usize),
    /// A `KEY` in `KEY@HOST:PORT` that is not a compressed secp256k1 key.
    #[error("brontide: invalid identity key {0:?}")]
    BadIdentity(String),
    /// The socket failed.
    #[error("brontide i/o: {0}")]
    Io(#[from] std::io::Error),
    /// The handshake did not finish in time.
    #[error("brontide handshake timed out")]
    Timeout,
}

impl BrontideError {
    /// Whether the peer sent something cryptographically wrong (as opposed to being slow or
    /// gone): a bad tag, key or length.
    pub fn is_protocol_violation(&self) -> bool {
        matches!(
            self,
            BrontideError::BadTag | BrontideError::BadKey | BrontideError::TooLong(_)
        )
    }
}

/// Parses a peer identity as hsd prints it (lower-case RFC 4648 base32 without padding of the
/// 33-byte compressed key), or as 66 hex digits.
pub fn parse_identity_key(s: &str) -> Result<PublicKey, BrontideError> {
    let bad = || BrontideError::BadIdentity(s.to_string());
    let bytes = if s.len() == 66 {
        hex::decode(s).map_err(|_| bad())?
    } else {
        data_encoding::BASE32_NOPAD
            .decode(s.to_ascii_uppercase().as_bytes())
            .map_err(|_| bad())?
    };
    if bytes.len() != 33 {
        return Err(bad());
    }
    PublicKey::from_slice(&bytes).map_err(|_| bad())
}

#[cfg(test)]
mod tests;
