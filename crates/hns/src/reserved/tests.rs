#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use proptest::prelude::*;

use super::*;
use crate::hash::sha3_256;
use crate::name::{name_hash, verify_name};

#[test]
fn embedded_table_is_hsds_file() {
    assert_eq!(
        hex::encode(sha3_256(&[NAMES_DB])),
        "8725da475715c545fddd4ea815ec43a26199b43361d9d4bb69827dee7ae3aba0"
    );
    assert_eq!(len(), 90043);
}

#[test]
fn every_entry_reads_hashes_to_its_key_and_is_sorted() {
    let table = TABLE.as_ref().unwrap();
    let mut previous: Option<&[u8]> = None;
    let mut count = 0;
    for i in 0..table.count {
        let entry = table
            .entry(i)
            .unwrap_or_else(|| panic!("entry {i} unreadable"));
        let hash = table.hash_at(i).unwrap();
        assert_eq!(name_hash(entry.name).0.as_slice(), hash, "{}", entry.name);
        assert!(
            previous.is_none_or(|p| p < hash),
            "index not strictly sorted at {i}"
        );
        previous = Some(hash);
        assert!(verify_name(entry.name).is_ok(), "{}", entry.name);
        assert!(entry.target.starts_with(entry.name), "{}", entry.target);
        assert!(entry.target.ends_with('.'), "{}", entry.target);
        count += 1;
    }
    assert_eq!(entries().count(), count);
}

#[test]
fn root_flagged_entries_are_the_1516_icann_tlds() {
    assert_eq!(entries().filter(|r| r.root).count(), 1516);
    for tld in ["arpa", "com", "esurance", "org", "google"] {
        assert!(is_root_reserved(tld), "{tld}");
        assert_eq!(lookup(tld).unwrap().target, format!("{tld}."));
    }
}

#[test]
fn spec_examples() {
    let com = lookup("com").unwrap();
    assert_eq!(
        com,
        Reserved {
            name: "com",
            target: "com.",
            root: true,
            top100: false,
            value: 30_585_353_787,
        }
    );
    let google = lookup("google").unwrap();
    assert!(google.root && google.top100);
    assert_eq!(google.value, 660_214_983_416);
    // A custom value: name value + 136,000 HNS.
    let eth = lookup("eth").unwrap();
    assert_eq!(
        (eth.target, eth.root, eth.value),
        ("eth.ens.domains.", false, 136_503_513_487)
    );
    // Reserved for their owners but added to the ICANN root after launch: no root flag.
    let amazon = lookup("amazon").unwrap();
    assert_eq!(
        (amazon.target, amazon.root, amazon.top100),
        ("amazon.com.", false, true)
    );
    let spa = lookup("spa").unwrap();
    assert_eq!((spa.target, spa.root), ("spa.gov.my.", false));
    assert!(!is_root_reserved("amazon") && !is_root_reserved("spa"));
    // Not reserved at all.
    for name in [
        "kids",
        "music",
        "example",
        "localhost",
        "hnsvector",
        "",
        "com.",
        "a.com",
    ] {
        assert_eq!(lookup(name), None, "{name:?}");
        assert!(!is_root_reserved(name), "{name:?}");
    }
    assert_eq!(lookup(&"a".repeat(64)), None);
    assert_eq!(lookup_hash(&name_hash("com")), Some(com));
}

#[test]
fn truncated_tables_are_rejected() {
    assert!(Table::parse(&NAMES_DB[..27]).is_none());
    assert!(Table::parse(&NAMES_DB[..28 + 36 * 1000]).is_none());
    assert!(Table::parse(NAMES_DB).is_some());
}

proptest! {
    /// Look-ups ignore ASCII case: any mix of cases of a reserved name finds its entry.
    #[test]
    fn lookup_is_case_insensitive(index in 0usize..90043, mask in any::<u64>()) {
        let entry = TABLE.as_ref().unwrap().entry(index).unwrap();
        let mixed: String = entry
            .name
            .chars()
            .enumerate()
            .map(|(i, c)| if mask >> (i % 64) & 1 == 1 { c.to_ascii_uppercase() } else { c })
            .collect();
        prop_assert_eq!(lookup(&mixed), Some(entry));
        prop_assert_eq!(is_root_reserved(&mixed), entry.root);
    }
}
