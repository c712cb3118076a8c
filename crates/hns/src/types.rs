//! Domain newtypes, so that a tree root cannot be passed where a block hash is expected.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// A block height.
#[derive(Debug, Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Height(pub u32);

/// A hex string that is not exactly 32 bytes of hex.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("expected 64 hex characters (32 bytes)")]
pub struct ParseHashError;

/// Raw 32-byte hash in natural byte order (exactly as it appears on the wire).
#[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
pub struct Hash256(pub [u8; 32]);

macro_rules! hash_newtype {
    ($(#[$doc:meta])* $name:ident) => {
        $(#[$doc])*
        #[derive(Clone, Copy, PartialEq, Eq, PartialOrd, Ord, Hash, Default)]
        pub struct $name(pub [u8; 32]);

        impl $name {
            /// All-zero value.
            pub const ZERO: Self = $name([0u8; 32]);

            /// The raw bytes.
            pub fn as_bytes(&self) -> &[u8; 32] {
                &self.0
            }

            /// Lower-case hex of the raw bytes.
            pub fn to_hex(&self) -> String {
                hex::encode(self.0)
            }

            /// Parses 64 hex characters.
            pub fn from_hex(s: &str) -> Result<Self, ParseHashError> {
                let mut out = [0u8; 32];
                hex::decode_to_slice(s, &mut out).map_err(|_| ParseHashError)?;
                Ok($name(out))
            }
        }

        impl fmt::Debug for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                write!(f, "{}({})", stringify!($name), self.to_hex())
            }
        }

        impl fmt::Display for $name {
            fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
                f.write_str(&self.to_hex())
            }
        }

        impl FromStr for $name {
            type Err = ParseHashError;
            fn from_str(s: &str) -> Result<Self, Self::Err> {
                Self::from_hex(s)
            }
        }

        impl From<[u8; 32]> for $name {
            fn from(b: [u8; 32]) -> Self {
                $name(b)
            }
        }
    };
}

hash_newtype!(
    /// A block (header) hash; also the value compared against the PoW target.
    BlockHash
);
hash_newtype!(
    /// The root of the Urkel name tree committed in a header.
    TreeRoot
);
hash_newtype!(
    /// SHA3-256 of a lower-case top-level name: the key in the Urkel tree.
    NameHash
);

impl Hash256 {
    /// Lower-case hex.
    pub fn to_hex(&self) -> String {
        hex::encode(self.0)
    }
}

impl fmt::Debug for Hash256 {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "Hash256({})", self.to_hex())
    }
}

impl fmt::Display for Height {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "{}", self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hex_round_trip_and_errors() {
        let h = "5b6ef2d3c1f3cdcadfd9a030ba1811efdd17740f14e166489760741d075992e0";
        assert_eq!(
            BlockHash::from_hex(h).map(|b| b.to_hex()),
            Ok(h.to_string())
        );
        assert_eq!(BlockHash::from_hex("00"), Err(ParseHashError));
        assert_eq!(BlockHash::from_hex(&"zz".repeat(32)), Err(ParseHashError));
    }
}
