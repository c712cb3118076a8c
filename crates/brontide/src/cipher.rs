//! Noise cipher and symmetric state as brontide uses them (hsd `lib/net/brontide.js`
//! `CipherState`, `SymmetricState`): ChaCha20-Poly1305 (RFC 7539) with a 12-byte nonce whose
//! bytes 4..8 carry the message counter little-endian, and a key rotation every 1,000 messages
//! (HKDF-SHA256 of the old key with the chaining salt).

use chacha20poly1305::aead::{AeadInPlace, KeyInit};
use chacha20poly1305::{ChaCha20Poly1305, Key, Nonce, Tag};
use hkdf::Hkdf;
use sha2::{Digest, Sha256};

use crate::BrontideError;

/// Messages per key before it rotates.
pub(crate) const ROTATION_INTERVAL: u32 = 1000;
/// Poly1305 tag size.
pub(crate) const TAG_SIZE: usize = 16;

/// HKDF-SHA256 extract with `salt`, then expand to 64 bytes with empty info: two 32-byte keys.
pub(crate) fn expand(secret: &[u8], salt: &[u8; 32]) -> ([u8; 32], [u8; 32]) {
    let hk = Hkdf::<Sha256>::new(Some(salt), secret);
    let mut out = [0u8; 64];
    // 64 bytes is far below HKDF-SHA256's limit of 255 · 32.
    let _ = hk.expand(&[], &mut out);
    let mut a = [0u8; 32];
    let mut b = [0u8; 32];
    a.copy_from_slice(&out[..32]);
    b.copy_from_slice(&out[32..]);
    (a, b)
}

/// One direction's key, nonce counter and rotation salt.
#[derive(Clone)]
pub(crate) struct CipherState {
    key: [u8; 32],
    salt: [u8; 32],
    nonce: u32,
}

impl CipherState {
    pub(crate) fn new(key: [u8; 32], salt: [u8; 32]) -> CipherState {
        CipherState {
            key,
            salt,
            nonce: 0,
        }
    }

    fn iv(&self) -> Nonce {
        let mut iv = [0u8; 12];
        iv[4..8].copy_from_slice(&self.nonce.to_le_bytes());
        Nonce::from(iv)
    }

    fn advance(&mut self) {
        self.nonce += 1;
        if self.nonce == ROTATION_INTERVAL {
            let (salt, next) = expand(&self.key, &self.salt);
            self.salt = salt;
            self.key = next;
            self.nonce = 0;
        }
    }

    /// Encrypts `data` in place and returns its tag.
    pub(crate) fn encrypt(&mut self, data: &mut [u8], ad: &[u8]) -> [u8; TAG_SIZE] {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.key));
        // In-place encryption of a slice cannot fail for lengths below 2^38 bytes.
        let tag = cipher
            .encrypt_in_place_detached(&self.iv(), ad, data)
            .map(|t| t.into())
            .unwrap_or([0u8; TAG_SIZE]);
        self.advance();
        tag
    }

    /// Checks `tag` and decrypts `data` in place; on failure nothing advances.
    pub(crate) fn decrypt(
        &mut self,
        data: &mut [u8],
        tag: &[u8; TAG_SIZE],
        ad: &[u8],
    ) -> Result<(), BrontideError> {
        let cipher = ChaCha20Poly1305::new(Key::from_slice(&self.key));
        cipher
            .decrypt_in_place_detached(&self.iv(), ad, data, Tag::from_slice(tag))
            .map_err(|_| BrontideError::BadTag)?;
        self.advance();
        Ok(())
    }
}

/// The handshake's chaining key, running digest and current cipher.
pub(crate) struct SymmetricState {
    pub(crate) cipher: CipherState,
    pub(crate) chain: [u8; 32],
    pub(crate) digest: [u8; 32],
}

impl SymmetricState {
    pub(crate) fn new(protocol_name: &str) -> SymmetricState {
        let digest: [u8; 32] = Sha256::digest(protocol_name.as_bytes()).into();
        SymmetricState {
            cipher: CipherState::new([0u8; 32], [0u8; 32]),
            chain: digest,
            digest,
        }
    }

    pub(crate) fn mix_key(&mut self, secret: &[u8; 32]) {
        let (chain, temp) = expand(secret, &self.chain);
        self.chain = chain;
        self.cipher = CipherState::new(temp, self.cipher.salt);
    }

    fn mixed(&self, data: &[u8], tag: &[u8]) -> [u8; 32] {
        let mut h = Sha256::new();
        h.update(self.digest);
        h.update(data);
        h.update(tag);
        h.finalize().into()
    }

    pub(crate) fn mix_hash(&mut self, data: &[u8]) {
        self.digest = self.mixed(data, &[]);
    }

    /// Encrypts `data` in place with the digest as associated data, then mixes the
    /// ciphertext and tag into the digest.
    pub(crate) fn encrypt_hash(&mut self, data: &mut [u8]) -> [u8; TAG_SIZE] {
        let ad = self.digest;
        let tag = self.cipher.encrypt(data, &ad);
        self.digest = self.mixed(data, &tag);
        tag
    }

    /// Mixes ciphertext and tag into the digest, then decrypts `data` in place.
    pub(crate) fn decrypt_hash(
        &mut self,
        data: &mut [u8],
        tag: &[u8; TAG_SIZE],
    ) -> Result<(), BrontideError> {
        let next = self.mixed(data, tag);
        let ad = self.digest;
        self.cipher.decrypt(data, tag, &ad)?;
        self.digest = next;
        Ok(())
    }
}
