//! The three-act Noise XK handshake and the transport session it yields (hsd
//! `lib/net/brontide.js` `Brontide`, `BrontideStream`). Pure: no I/O; ephemeral keys and
//! randomness are passed in, so tests replay hsd's own transcript byte for byte.
//!
//! Act 1 (initiator → responder, 80 bytes): ephemeral key as 64 uniform bytes ‖ tag.
//! Act 2 (responder → initiator, 80 bytes): the same from the responder.
//! Act 3 (initiator → responder, 65 bytes): encrypted static key (33) ‖ its tag ‖ final tag.
//! Transport message: u32 little-endian length (encrypted) ‖ tag ‖ payload (encrypted) ‖ tag.

use rand::RngCore;
use secp256k1::ecdh::SharedSecret;
use secp256k1::{PublicKey, SecretKey};

use crate::BrontideError;
use crate::cipher::{CipherState, SymmetricState, TAG_SIZE, expand};
use crate::svdw::{public_key_from_hash, public_key_to_hash};

/// Noise protocol name hsd hashes into the initial state.
pub const PROTOCOL_NAME: &str = "Noise_XK_secp256k1_ChaChaPoly_SHA256+SVDW_Squared";
/// Prologue mixed into the handshake.
pub const PROLOGUE: &[u8] = b"hns";
/// Act 1 size.
pub const ACT_ONE_SIZE: usize = 80;
/// Act 2 size.
pub const ACT_TWO_SIZE: usize = 80;
/// Act 3 size.
pub const ACT_THREE_SIZE: usize = 65;
/// Encrypted length prefix plus its tag.
pub const HEADER_SIZE: usize = 4 + TAG_SIZE;
/// Largest payload accepted (hsd: 8,000,000 + 9, one whole p2p frame).
pub const MAX_MESSAGE: usize = 8_000_000 + 9;

/// SHA-256 of the compressed shared point (what libsecp256k1's default ECDH returns, and
/// what hsd computes).
fn ecdh(public: &PublicKey, secret: &SecretKey) -> [u8; 32] {
    SharedSecret::new(public, secret).secret_bytes()
}

fn tag_of(bytes: &[u8]) -> Result<[u8; TAG_SIZE], BrontideError> {
    bytes.try_into().map_err(|_| BrontideError::BadTag)
}

/// The initiator's side (we dial a peer whose static key we know).
pub struct Initiator {
    state: SymmetricState,
    local_static: SecretKey,
    remote_static: PublicKey,
    ephemeral: SecretKey,
}

/// The responder's side (tests and scripted peers).
pub struct Responder {
    state: SymmetricState,
    local_static: SecretKey,
    ephemeral: SecretKey,
    remote_ephemeral: Option<PublicKey>,
}

/// An established session: independent send and receive ciphers.
pub struct Session {
    send: CipherState,
    recv: CipherState,
}

/// The sending half of a session.
pub struct SendCipher(CipherState);

/// The receiving half of a session: buffers ciphertext and yields whole decrypted payloads.
/// It holds at most one message (≤ [`MAX_MESSAGE`] + tag) plus what the caller fed past it.
#[derive(Clone)]
pub struct RecvCipher {
    cipher: CipherState,
    buf: Vec<u8>,
    /// Payload length of the message whose header was already decrypted and dropped.
    pending_len: Option<usize>,
}

// === impl Initiator ===

impl Initiator {
    /// Starts a handshake with the peer whose static key is `remote_static`.
    pub fn new(local_static: SecretKey, remote_static: PublicKey, ephemeral: SecretKey) -> Self {
        let mut state = SymmetricState::new(PROTOCOL_NAME);
        state.mix_hash(PROLOGUE);
        state.mix_hash(&remote_static.serialize());
        Initiator {
            state,
            local_static,
            remote_static,
            ephemeral,
        }
    }

    /// Act 1.
    pub fn act_one(&mut self, rng: &mut impl RngCore) -> Result<[u8; ACT_ONE_SIZE], BrontideError> {
        let ephemeral = self.ephemeral.public_key(secp256k1::SECP256K1);
        let uniform = public_key_to_hash(&ephemeral, rng).ok_or(BrontideError::Encoding)?;
        self.state.mix_hash(&ephemeral.serialize());
        self.state
            .mix_key(&ecdh(&self.remote_static, &self.ephemeral));
        let tag = self.state.encrypt_hash(&mut []);
        let mut act = [0u8; ACT_ONE_SIZE];
        act[..64].copy_from_slice(&uniform);
        act[64..].copy_from_slice(&tag);
        Ok(act)
    }

    /// Reads act 2 and answers with act 3; the session is then established.
    pub fn act_three(
        mut self,
        act_two: &[u8; ACT_TWO_SIZE],
    ) -> Result<([u8; ACT_THREE_SIZE], Session), BrontideError> {
        let mut uniform = [0u8; 64];
        uniform.copy_from_slice(&act_two[..64]);
        let remote_ephemeral = public_key_from_hash(&uniform).ok_or(BrontideError::BadKey)?;
        self.state.mix_hash(&remote_ephemeral.serialize());
        self.state
            .mix_key(&ecdh(&remote_ephemeral, &self.ephemeral));
        self.state.decrypt_hash(&mut [], &tag_of(&act_two[64..])?)?;

        let mut ours = self
            .local_static
            .public_key(secp256k1::SECP256K1)
            .serialize();
        let tag1 = self.state.encrypt_hash(&mut ours);
        self.state
            .mix_key(&ecdh(&remote_ephemeral, &self.local_static));
        let tag2 = self.state.encrypt_hash(&mut []);
        let mut act = [0u8; ACT_THREE_SIZE];
        act[..33].copy_from_slice(&ours);
        act[33..49].copy_from_slice(&tag1);
        act[49..].copy_from_slice(&tag2);
        Ok((act, split(&self.state, true)))
    }
}

// === impl Responder ===

impl Responder {
    /// Waits for an initiator who knows `local_static`'s public key.
    pub fn new(local_static: SecretKey, ephemeral: SecretKey) -> Self {
        let mut state = SymmetricState::new(PROTOCOL_NAME);
        state.mix_hash(PROLOGUE);
        state.mix_hash(&local_static.public_key(secp256k1::SECP256K1).serialize());
        Responder {
            state,
            local_static,
            ephemeral,
            remote_ephemeral: None,
        }
    }

    /// Reads act 1.
    pub fn read_act_one(&mut self, act_one: &[u8; ACT_ONE_SIZE]) -> Result<(), BrontideError> {
        let mut uniform = [0u8; 64];
        uniform.copy_from_slice(&act_one[..64]);
        let remote_ephemeral = public_key_from_hash(&uniform).ok_or(BrontideError::BadKey)?;
        self.state.mix_hash(&remote_ephemeral.serialize());
        self.state
            .mix_key(&ecdh(&remote_ephemeral, &self.local_static));
        self.state.decrypt_hash(&mut [], &tag_of(&act_one[64..])?)?;
        self.remote_ephemeral = Some(remote_ephemeral);
        Ok(())
    }

    /// Act 2 (after [`Responder::read_act_one`]).
    pub fn act_two(&mut self, rng: &mut impl RngCore) -> Result<[u8; ACT_TWO_SIZE], BrontideError> {
        let remote = self.remote_ephemeral.ok_or(BrontideError::OutOfOrder)?;
        let ephemeral = self.ephemeral.public_key(secp256k1::SECP256K1);
        let uniform = public_key_to_hash(&ephemeral, rng).ok_or(BrontideError::Encoding)?;
        self.state.mix_hash(&ephemeral.serialize());
        self.state.mix_key(&ecdh(&remote, &self.ephemeral));
        let tag = self.state.encrypt_hash(&mut []);
        let mut act = [0u8; ACT_TWO_SIZE];
        act[..64].copy_from_slice(&uniform);
        act[64..].copy_from_slice(&tag);
        Ok(act)
    }

    /// Reads act 3: the initiator's static key, and the session.
    pub fn read_act_three(
        mut self,
        act_three: &[u8; ACT_THREE_SIZE],
    ) -> Result<(PublicKey, Session), BrontideError> {
        let mut theirs = [0u8; 33];
        theirs.copy_from_slice(&act_three[..33]);
        self.state
            .decrypt_hash(&mut theirs, &tag_of(&act_three[33..49])?)?;
        let remote_static = PublicKey::from_slice(&theirs).map_err(|_| BrontideError::BadKey)?;
        self.state.mix_key(&ecdh(&remote_static, &self.ephemeral));
        self.state
            .decrypt_hash(&mut [], &tag_of(&act_three[49..])?)?;
        Ok((remote_static, split(&self.state, false)))
    }
}

fn split(state: &SymmetricState, initiator: bool) -> Session {
    let (h1, h2) = expand(&[], &state.chain);
    let (send, recv) = if initiator { (h1, h2) } else { (h2, h1) };
    Session {
        send: CipherState::new(send, state.chain),
        recv: CipherState::new(recv, state.chain),
    }
}

// === impl Session ===

impl Session {
    /// Splits into the two directions.
    pub fn split(self) -> (SendCipher, RecvCipher) {
        (
            SendCipher(self.send),
            RecvCipher {
                cipher: self.recv,
                buf: Vec::new(),
                pending_len: None,
            },
        )
    }
}

// === impl SendCipher ===

impl SendCipher {
    /// Encrypts one payload into a transport message.
    pub fn encrypt(&mut self, payload: &[u8]) -> Result<Vec<u8>, BrontideError> {
        if payload.len() > MAX_MESSAGE {
            return Err(BrontideError::TooLong(payload.len()));
        }
        let mut out = Vec::with_capacity(HEADER_SIZE + payload.len() + TAG_SIZE);
        let mut len = (payload.len() as u32).to_le_bytes();
        let tag = self.0.encrypt(&mut len, &[]);
        out.extend_from_slice(&len);
        out.extend_from_slice(&tag);
        let start = out.len();
        out.extend_from_slice(payload);
        let tag = self.0.encrypt(&mut out[start..], &[]);
        out.extend_from_slice(&tag);
        Ok(out)
    }
}

// === impl RecvCipher ===

impl RecvCipher {
    /// Buffers ciphertext as it arrives.
    pub fn feed(&mut self, data: &[u8]) {
        self.buf.extend_from_slice(data);
    }

    /// Ciphertext bytes still needed before the next payload can come out (at least 1).
    pub fn wanted(&self) -> usize {
        let need = match self.pending_len {
            Some(len) => len + TAG_SIZE,
            None => HEADER_SIZE,
        };
        need.saturating_sub(self.buf.len()).max(1)
    }

    /// The next whole payload, if buffered. A bad tag or a length above [`MAX_MESSAGE`] is an
    /// error, after which the session is unusable (the peer must be dropped).
    pub fn next_message(&mut self) -> Result<Option<Vec<u8>>, BrontideError> {
        let len = match self.pending_len {
            Some(len) => len,
            None => {
                let Some(header) = self.buf.get(..HEADER_SIZE) else {
                    return Ok(None);
                };
                let mut len = [0u8; 4];
                len.copy_from_slice(&header[..4]);
                let tag = tag_of(&header[4..])?;
                self.cipher.decrypt(&mut len, &tag, &[])?;
                let len = u32::from_le_bytes(len) as usize;
                if len > MAX_MESSAGE {
                    return Err(BrontideError::TooLong(len));
                }
                self.buf.drain(..HEADER_SIZE);
                self.pending_len = Some(len);
                len
            }
        };
        let Some(body) = self.buf.get(..len + TAG_SIZE) else {
            return Ok(None);
        };
        let tag = tag_of(&body[len..])?;
        let mut payload = body[..len].to_vec();
        self.cipher.decrypt(&mut payload, &tag, &[])?;
        self.buf.drain(..len + TAG_SIZE);
        self.pending_len = None;
        Ok(Some(payload))
    }
}

#[cfg(test)]
mod tests;
