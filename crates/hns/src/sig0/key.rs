//! SIG(0) keys: the secret signing key and the 33-byte public key with its text forms.

use std::fmt;
use std::str::FromStr;

use secp256k1::{PublicKey, SECP256K1, SecretKey};

use super::{
    ALGORITHM_NAME_WIRE, ALGORITHM_PRIVATEDNS, PUBLIC_KEY_BASE32_LEN, PUBLIC_KEY_SIZE, Sig0Error,
};

/// A SIG(0) signing key (secp256k1 secret key), with its public key and key tag precomputed.
///
/// `Debug` never prints the secret.
#[derive(Clone)]
pub struct Sig0Key {
    pub(super) secret: SecretKey,
    public: Sig0PublicKey,
    pub(super) key_tag: u16,
}

/// A SIG(0) public key: a 33-byte compressed secp256k1 point, validated on construction.
#[derive(Clone, Copy)]
pub struct Sig0PublicKey {
    bytes: [u8; PUBLIC_KEY_SIZE],
    pub(super) point: PublicKey,
}

// === impl Sig0Key ===

impl Sig0Key {
    /// Parses a key file's contents: 64 hex characters, surrounding whitespace ignored.
    pub fn from_hex(text: &str) -> Result<Sig0Key, Sig0Error> {
        let mut bytes = [0u8; 32];
        hex::decode_to_slice(text.trim(), &mut bytes).map_err(|_| Sig0Error::SecretKeyHex)?;
        Sig0Key::from_bytes(&bytes)
    }

    /// Builds a key from 32 secret bytes (e.g. fresh randomness supplied by the caller).
    pub fn from_bytes(bytes: &[u8; 32]) -> Result<Sig0Key, Sig0Error> {
        let secret = SecretKey::from_byte_array(*bytes).map_err(|_| Sig0Error::InvalidSecretKey)?;
        let point = PublicKey::from_secret_key(SECP256K1, &secret);
        let public = Sig0PublicKey {
            bytes: point.serialize(),
            point,
        };
        Ok(Sig0Key {
            secret,
            key_tag: public.key_tag(),
            public,
        })
    }

    /// The public key.
    pub fn public_key(&self) -> Sig0PublicKey {
        self.public
    }

    /// The RFC 4034 key tag written into signatures (see [`Sig0PublicKey::key_tag`]).
    pub fn key_tag(&self) -> u16 {
        self.key_tag
    }
}

impl fmt::Debug for Sig0Key {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sig0Key(public {})", self.public)
    }
}

// === impl Sig0PublicKey ===

impl Sig0PublicKey {
    /// Parses 33 bytes; they must be a compressed point on the curve.
    pub fn from_bytes(bytes: &[u8]) -> Result<Sig0PublicKey, Sig0Error> {
        let bytes: [u8; PUBLIC_KEY_SIZE] = bytes
            .try_into()
            .map_err(|_| Sig0Error::PublicKeyLength { len: bytes.len() })?;
        let point = PublicKey::from_byte_array_compressed(bytes)
            .map_err(|_| Sig0Error::InvalidPublicKey)?;
        Ok(Sig0PublicKey { bytes, point })
    }

    /// Parses 66 hex characters.
    pub fn from_hex(text: &str) -> Result<Sig0PublicKey, Sig0Error> {
        let bytes = hex::decode(text.trim()).map_err(|_| Sig0Error::PublicKeyEncoding("hex"))?;
        Sig0PublicKey::from_bytes(&bytes)
    }

    /// Parses the base32 text form (RFC 4648 alphabet, unpadded, 53 characters; either case).
    pub fn from_base32(text: &str) -> Result<Sig0PublicKey, Sig0Error> {
        // Bound the work before decoding: 33 bytes are 53 characters.
        if text.len() > 2 * PUBLIC_KEY_BASE32_LEN {
            let len = text.len() / 8 * 5;
            return Err(Sig0Error::PublicKeyLength { len });
        }
        let upper = text.to_ascii_uppercase();
        let bytes = data_encoding::BASE32_NOPAD
            .decode(upper.as_bytes())
            .map_err(|_| Sig0Error::PublicKeyEncoding("base32"))?;
        Sig0PublicKey::from_bytes(&bytes)
    }

    /// The base32 text form: lower-case, unpadded, 53 characters.
    pub fn to_base32(&self) -> String {
        data_encoding::BASE32_NOPAD
            .encode(&self.bytes)
            .to_ascii_lowercase()
    }

    /// Lower-case hex of the 33 bytes.
    pub fn to_hex(&self) -> String {
        hex::encode(self.bytes)
    }

    /// The 33-byte compressed point.
    pub fn as_bytes(&self) -> &[u8; PUBLIC_KEY_SIZE] {
        &self.bytes
    }

    /// RDATA of the KEY RR form: flags 0, protocol 0, algorithm 253, `blake2bsecp256k1.` ‖ key.
    pub fn key_rdata(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(4 + ALGORITHM_NAME_WIRE.len() + PUBLIC_KEY_SIZE);
        out.extend_from_slice(&[0, 0, 0, ALGORITHM_PRIVATEDNS]);
        out.extend_from_slice(ALGORITHM_NAME_WIRE);
        out.extend_from_slice(&self.bytes);
        out
    }

    /// RFC 4034 Appendix B key tag over [`Self::key_rdata`] (what hsd writes; hnsd writes 0).
    pub fn key_tag(&self) -> u16 {
        let rdata = self.key_rdata();
        let mut acc: u32 = 0;
        for pair in rdata.chunks(2) {
            let hi = u32::from(pair.first().copied().unwrap_or(0));
            let lo = u32::from(pair.get(1).copied().unwrap_or(0));
            acc += (hi << 8) | lo;
        }
        acc += (acc >> 16) & 0xffff;
        (acc & 0xffff) as u16
    }
}

impl PartialEq for Sig0PublicKey {
    fn eq(&self, other: &Self) -> bool {
        self.bytes == other.bytes
    }
}

impl Eq for Sig0PublicKey {}

impl std::hash::Hash for Sig0PublicKey {
    fn hash<H: std::hash::Hasher>(&self, state: &mut H) {
        self.bytes.hash(state);
    }
}

impl fmt::Debug for Sig0PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Sig0PublicKey({})", self.to_base32())
    }
}

impl fmt::Display for Sig0PublicKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_base32())
    }
}

impl FromStr for Sig0PublicKey {
    type Err = Sig0Error;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Sig0PublicKey::from_base32(s)
    }
}
