//! Durations as human strings (`250ms`, `5s`, `2m`, `24h`, `1h 30m`) in config files,
//! environment variables and flags. Bare numbers are refused: a unit is always written, so
//! `5000` can never mean seconds to one reader and milliseconds to another.
//!
//! Use `#[serde(with = "hnsfleet_service_kit::config::duration")]` on a `Duration` field,
//! [`option`] on an `Option<Duration>`, and [`parse`] as the clap `value_parser`.

use std::fmt;
use std::time::Duration;

use serde::de::{self, Visitor};
use serde::{Deserializer, Serializer};

/// Parses a human duration; the error names the value and shows the expected form.
pub fn parse(text: &str) -> Result<Duration, String> {
    humantime::parse_duration(text.trim())
        .map_err(|e| format!("invalid duration {text:?}: {e} (write e.g. 250ms, 5s, 2m, 24h)"))
}

/// The shortest exact form in one unit: `250ms`, `5s`, `2m`, `24h`, `0s`; durations that are
/// not whole milliseconds use humantime's multi-unit form. [`parse`] reads it back exactly.
pub fn format(d: Duration) -> String {
    let ms = d.as_millis();
    if !d.subsec_nanos().is_multiple_of(1_000_000) {
        humantime::format_duration(d).to_string()
    } else if ms == 0 {
        "0s".to_string()
    } else if ms.is_multiple_of(3_600_000) {
        format!("{}h", ms / 3_600_000)
    } else if ms.is_multiple_of(60_000) {
        format!("{}m", ms / 60_000)
    } else if ms.is_multiple_of(1_000) {
        format!("{}s", ms / 1_000)
    } else {
        format!("{ms}ms")
    }
}

/// Serializes as [`format()`].
pub fn serialize<S: Serializer>(d: &Duration, s: S) -> Result<S::Ok, S::Error> {
    s.serialize_str(&format(*d))
}

/// Deserializes a human string; a number gets an error asking for a unit.
pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Duration, D::Error> {
    d.deserialize_str(HumanDuration)
}

/// The same for `Option<Duration>` (absent or `None` stays `None`).
pub mod option {
    use std::time::Duration;

    use serde::{Deserialize, Deserializer, Serializer};

    /// Serializes `Some` as [`super::format()`], `None` as none.
    pub fn serialize<S: Serializer>(d: &Option<Duration>, s: S) -> Result<S::Ok, S::Error> {
        match d {
            Some(d) => s.serialize_some(&super::format(*d)),
            None => s.serialize_none(),
        }
    }

    /// Deserializes an optional human string.
    pub fn deserialize<'de, D: Deserializer<'de>>(d: D) -> Result<Option<Duration>, D::Error> {
        #[derive(Deserialize)]
        struct Wrap(#[serde(deserialize_with = "super::deserialize")] Duration);
        Ok(Option::<Wrap>::deserialize(d)?.map(|Wrap(d)| d))
    }
}

struct HumanDuration;

impl Visitor<'_> for HumanDuration {
    type Value = Duration;

    fn expecting(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str("a duration with a unit, e.g. 250ms, 5s, 2m, 24h")
    }

    fn visit_str<E: de::Error>(self, v: &str) -> Result<Duration, E> {
        parse(v).map_err(E::custom)
    }

    fn visit_u64<E: de::Error>(self, v: u64) -> Result<Duration, E> {
        Err(E::custom(format!(
            "invalid duration {v}: write a unit (e.g. {v}ms or {v}s)"
        )))
    }

    fn visit_i64<E: de::Error>(self, v: i64) -> Result<Duration, E> {
        Err(E::custom(format!(
            "invalid duration {v}: write a unit (e.g. 250ms, 5s)"
        )))
    }

    fn visit_f64<E: de::Error>(self, v: f64) -> Result<Duration, E> {
        Err(E::custom(format!(
            "invalid duration {v}: write a unit (e.g. 1500ms, 1.5s)"
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn human_strings_parse_and_format_back_exactly() {
        for (text, d) in [
            ("250ms", Duration::from_millis(250)),
            ("5s", Duration::from_secs(5)),
            ("2m", Duration::from_secs(120)),
            ("24h", Duration::from_secs(86_400)),
            ("0s", Duration::ZERO),
            ("1500ms", Duration::from_millis(1_500)),
        ] {
            assert_eq!(parse(text), Ok(d), "{text}");
            assert_eq!(format(d), text);
        }
        assert_eq!(parse("1h 30m"), Ok(Duration::from_secs(5_400)));
        assert_eq!(format(Duration::from_secs(5_400)), "90m");
        assert_eq!(parse("1day"), Ok(Duration::from_secs(86_400)));
        let odd = Duration::from_nanos(1_500);
        assert_eq!(parse(&format(odd)), Ok(odd));
        let err = parse("5 parsecs").unwrap_err();
        assert!(err.starts_with("invalid duration \"5 parsecs\""), "{err}");
        assert!(parse("5000").is_err(), "a unit is required");
    }
}
