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

use rand::SeedableRng;
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

/// Fuzz body: feeds `data` to the receiving side of a session with fixed keys. Must never
/// panic; anything it yields passed authentication (which random bytes never do).
#[doc(hidden)]
pub fn fuzz_recv(data: &[u8]) {
    static SESSION: std::sync::OnceLock<Option<RecvCipher>> = std::sync::OnceLock::new();
    let Some(recv) = SESSION.get_or_init(fixed_session) else {
        return;
    };
    let mut recv = recv.clone();
    recv.feed(data);
    while let Ok(Some(_)) = recv.next_message() {}
}

/// The responder's receiving side of a handshake with fixed keys (those of the hsd transcript
/// in `testdata/vectors.json`).
fn fixed_session() -> Option<RecvCipher> {
    use secp256k1::SecretKey;
    let key = |b: u8| SecretKey::from_byte_array([b; 32]).ok();
    let (initiator_static, initiator_eph) = (key(0x11)?, key(0x12)?);
    let (responder_static, responder_eph) = (key(0x21)?, key(0x22)?);
    let mut rng = rand::rngs::StdRng::from_seed([3; 32]);
    let responder_public = responder_static.public_key(secp256k1::SECP256K1);
    let mut initiator = Initiator::new(initiator_static, responder_public, initiator_eph);
    let mut responder = Responder::new(responder_static, responder_eph);
    let one = initiator.act_one(&mut rng).ok()?;
    responder.read_act_one(&one).ok()?;
    let two = responder.act_two(&mut rng).ok()?;
    let (three, _) = initiator.act_three(&two).ok()?;
    let (_, session) = responder.read_act_three(&three).ok()?;
    Some(session.split().1)
}

#[cfg(test)]
mod tests;
