//! Handshake top-level names: validity rules, name hashes and the rollout schedule.
//!
//! Follows hsd `lib/covenants/rules.js` (`verifyName`, `hashName`, `getRollout`) as described in
//! hns-chain.md §5.1 and §3.2. A name here is one label without a dot, lower-case ASCII.

use std::fmt;
use std::str::FromStr;

use ruint::aliases::U256;
use thiserror::Error;

use crate::hash::sha3_256;
use crate::params::NameRules;
use crate::types::NameHash;

/// Longest valid name, in bytes.
pub const MAX_NAME_SIZE: usize = 63;

/// Names consensus refuses outright (hsd `rules.blacklist`).
pub const CONSENSUS_BLACKLIST: [&str; 5] = ["example", "invalid", "local", "localhost", "test"];

/// TLDs the root server answers NXDOMAIN for without a tree look-up (hsd/hnsd root servers:
/// names of other naming systems).
pub const ROOT_BLACKLIST: [&str; 8] = ["bit", "eth", "exit", "gnu", "i2p", "onion", "tor", "zkey"];

/// Number of weekly rollout slots (hsd `rules.getRollout`: hash mod 52).
const ROLLOUT_WEEKS: u64 = 52;

/// Why a string is not a valid Handshake name.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NameError {
    /// The name is empty.
    #[error("name is empty")]
    Empty,
    /// The name is longer than 63 bytes.
    #[error("name is {0} bytes long, the limit is 63")]
    TooLong(usize),
    /// A byte outside `a-z 0-9 - _` (upper case is not allowed here; lower-case first).
    #[error("name contains the invalid character {0:?} (allowed: a-z 0-9 - _)")]
    InvalidChar(char),
    /// `-` or `_` at the start or the end.
    #[error("name may not start or end with '-' or '_'")]
    BadEdge,
    /// One of the names consensus reserves for testing and documentation.
    #[error("name {0:?} is blacklisted by consensus")]
    Blacklisted(String),
}

/// A valid Handshake top-level name (lower-case, 1..63 bytes, no dot).
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub struct Name(String);

/// Checks a name against hsd's `verifyName` rules. The name must already be lower-case.
pub fn verify_name(name: &str) -> Result<(), NameError> {
    let bytes = name.as_bytes();
    let (Some(&first), Some(&last)) = (bytes.first(), bytes.last()) else {
        return Err(NameError::Empty);
    };
    if bytes.len() > MAX_NAME_SIZE {
        return Err(NameError::TooLong(bytes.len()));
    }
    if let Some(bad) = name
        .chars()
        .find(|c| !matches!(c, 'a'..='z' | '0'..='9' | '-' | '_'))
    {
        return Err(NameError::InvalidChar(bad));
    }
    if matches!(first, b'-' | b'_') || matches!(last, b'-' | b'_') {
        return Err(NameError::BadEdge);
    }
    if CONSENSUS_BLACKLIST.contains(&name) {
        return Err(NameError::Blacklisted(name.to_string()));
    }
    Ok(())
}

/// SHA3-256 of the name bytes: the name's key in the Urkel tree. The caller lower-cases first.
pub fn name_hash(name: &str) -> NameHash {
    NameHash(sha3_256(&[name.as_bytes()]))
}

/// SHA3-256 of raw name bytes (as stored in a name state).
pub fn name_hash_bytes(name: &[u8]) -> NameHash {
    NameHash(sha3_256(&[name]))
}

/// Height from which a name can be opened: `auction_start + (hash mod 52) * rollout_interval`,
/// reading the hash as a big-endian 256-bit integer.
pub fn rollout_height(hash: &NameHash, rules: &NameRules) -> u32 {
    if rules.no_rollout {
        return 0;
    }
    let week = U256::from_be_bytes(hash.0) % U256::from(ROLLOUT_WEEKS);
    // week < 52, so the conversion cannot fail.
    let week = u32::try_from(week).unwrap_or(0);
    rules
        .auction_start
        .saturating_add(week.saturating_mul(rules.rollout_interval))
}

// === impl Name ===

impl Name {
    /// Lower-cases and validates `s` (DNS labels are case-insensitive; the tree key is not).
    pub fn parse(s: &str) -> Result<Name, NameError> {
        let lower = s.to_ascii_lowercase();
        verify_name(&lower)?;
        Ok(Name(lower))
    }

    /// The name as a string.
    pub fn as_str(&self) -> &str {
        &self.0
    }

    /// The tree key of this name.
    pub fn hash(&self) -> NameHash {
        name_hash(&self.0)
    }

    /// Whether the root server treats this TLD as another naming system's (NXDOMAIN, no look-up).
    pub fn is_root_blacklisted(&self) -> bool {
        ROOT_BLACKLIST.contains(&self.0.as_str())
    }
}

impl FromStr for Name {
    type Err = NameError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Name::parse(s)
    }
}

impl fmt::Display for Name {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    fn regtest_rules() -> NameRules {
        crate::params::Network::Regtest.params().names
    }

    #[test]
    fn hsd_rules() {
        for ok in ["a", "hnsvector", "a-b", "a_b", "0", &"x".repeat(63)] {
            assert_eq!(verify_name(ok), Ok(()), "{ok}");
        }
        assert_eq!(verify_name(""), Err(NameError::Empty));
        assert_eq!(verify_name(&"x".repeat(64)), Err(NameError::TooLong(64)));
        assert_eq!(verify_name("-a"), Err(NameError::BadEdge));
        assert_eq!(verify_name("a_"), Err(NameError::BadEdge));
        assert_eq!(verify_name("A"), Err(NameError::InvalidChar('A')));
        assert_eq!(verify_name("a.b"), Err(NameError::InvalidChar('.')));
        assert_eq!(verify_name("é"), Err(NameError::InvalidChar('é')));
        assert!(matches!(
            verify_name("localhost"),
            Err(NameError::Blacklisted(_))
        ));
        assert_eq!(
            Name::parse("HNSVector").map(|n| n.to_string()),
            Ok("hnsvector".into())
        );
    }

    #[test]
    fn name_hash_matches_the_regtest_vectors() {
        let v: serde_json::Value = serde_json::from_str(include_str!(concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/testdata/regtest/regtest-names-proofs.json"
        )))
        .unwrap();
        for n in v["names"]
            .as_array()
            .unwrap()
            .iter()
            .chain(v["absent"].as_array().unwrap())
        {
            let name = Name::parse(n["name"].as_str().unwrap()).unwrap();
            assert_eq!(name.hash().to_hex(), n["nameHash"].as_str().unwrap());
        }
    }

    #[test]
    fn rollout_is_a_week_slot_of_the_hash() {
        let rules = regtest_rules();
        // hash mod 52 of SHA3("hnsvector") times the regtest interval of 2.
        let h = name_hash("hnsvector");
        let week = U256::from_be_bytes(h.0) % U256::from(52u64);
        assert_eq!(u64::from(rollout_height(&h, &rules)), week.to::<u64>() * 2);
        assert!(rollout_height(&h, &rules) <= 102);
        let no_rollout = NameRules {
            no_rollout: true,
            ..rules
        };
        assert_eq!(rollout_height(&h, &no_rollout), 0);
    }

    proptest! {
        #[test]
        fn validation_never_panics_and_accepts_only_the_charset(s in ".{0,80}") {
            if verify_name(&s).is_ok() {
                prop_assert!(s.bytes().all(|b| b.is_ascii_lowercase() || b.is_ascii_digit() || b == b'-' || b == b'_'));
                prop_assert!(!s.is_empty() && s.len() <= 63);
            }
        }
    }
}
