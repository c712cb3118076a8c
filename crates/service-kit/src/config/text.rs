//! Values written in config files as their text form: serialized through `Display`, read back
//! through `FromStr`, so the file takes the same spelling as the flag (`network = "regtest"`,
//! `followers = ["http://..."]`).
//!
//! Use `#[serde(with = "hnsfleet_service_kit::config::text")]` on the field.

use std::fmt::Display;
use std::str::FromStr;

use serde::{Deserialize, Deserializer, Serializer};

/// Writes `value` as its `Display` text.
pub fn serialize<T: Display, S: Serializer>(value: &T, s: S) -> Result<S::Ok, S::Error> {
    s.collect_str(value)
}

/// Reads a value from its text; the parse error is the config error's message.
pub fn deserialize<'de, T, D>(d: D) -> Result<T, D::Error>
where
    T: FromStr,
    T::Err: Display,
    D: Deserializer<'de>,
{
    let text = String::deserialize(d)?;
    text.parse().map_err(serde::de::Error::custom)
}

/// Implements `Serialize` and `Deserialize` for a type through its `Display` and `FromStr`
/// (for types used in lists, where `#[serde(with)]` does not reach). The calling crate must
/// depend on `serde`.
#[macro_export]
macro_rules! serde_as_text {
    ($ty:ty) => {
        impl ::serde::Serialize for $ty {
            fn serialize<S: ::serde::Serializer>(&self, s: S) -> Result<S::Ok, S::Error> {
                $crate::config::text::serialize(self, s)
            }
        }

        impl<'de> ::serde::Deserialize<'de> for $ty {
            fn deserialize<D: ::serde::Deserializer<'de>>(d: D) -> Result<Self, D::Error> {
                $crate::config::text::deserialize(d)
            }
        }
    };
}

/// `Option<T>` as text when set (flags structs: a flag left out is not serialized).
pub mod option {
    use std::fmt::Display;

    use serde::Serializer;

    /// Writes `Some(value)` as its text, `None` as none.
    pub fn serialize<T: Display, S: Serializer>(
        value: &Option<T>,
        s: S,
    ) -> Result<S::Ok, S::Error> {
        match value {
            Some(v) => s.collect_str(v),
            None => s.serialize_none(),
        }
    }
}
