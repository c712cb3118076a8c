//! Unit tests: configuration parsing, the built-in anchors, NSEC coverage.

#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;

use hickory_proto::dnssec::TrustAnchors;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, NSEC};
use hickory_proto::rr::{Name, RData, RecordType};

use super::*;

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

#[test]
fn default_anchors_are_ksk_2017_and_ksk_2024() {
    let anchors = default_anchors();
    let tags: Vec<u16> = anchors
        .iter()
        .map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(ds)) => ds.key_tag(),
            _ => panic!("not a DS"),
        })
        .collect();
    assert_eq!(tags, [20326, 38696]);
    // Independent check of the digests: each one covers one of the root KSKs hickory bundles.
    let bundled = TrustAnchors::default();
    assert_eq!(bundled.len(), 2);
    for anchor in &anchors {
        let RData::DNSSEC(DNSSECRData::DS(ds)) = &anchor.data else {
            panic!()
        };
        let covered = (0..bundled.len()).any(|i| {
            let key = DNSKEY::with_flags(257, bundled.get(i).unwrap().clone());
            ds.covers(&Name::root(), &key).unwrap()
        });
        assert!(covered, "{ds}");
    }
}

#[test]
fn root_hints_in_named_root_format() {
    let hints = "\
;       This file holds the information on root name servers
.                        3600000      NS    A.ROOT-SERVERS.NET.
A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4
A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30
;
.                        3600000      NS    B.ROOT-SERVERS.NET.
B.ROOT-SERVERS.NET.      3600000      A     170.247.170.2
UNRELATED.EXAMPLE.       3600000      A     192.0.2.9
127.0.0.77:5353
";
    let servers = parse_root_hints(hints).unwrap();
    let want: Vec<SocketAddr> = [
        "127.0.0.77:5353",
        "198.41.0.4:53",
        "[2001:503:ba3e::2:30]:53",
        "170.247.170.2:53",
    ]
    .iter()
    .map(|s| s.parse().unwrap())
    .collect();
    let mut got = servers.clone();
    got.sort();
    let mut want_sorted = want.clone();
    want_sorted.sort();
    assert_eq!(got, want_sorted);
    assert_eq!(servers[0], want[0], "explicit addresses first");
    assert!(parse_root_hints("; nothing\n").is_err());
    assert!(parse_root_hints(". NS broken(\n").is_err());
}

#[test]
fn anchors_must_be_root_ds() {
    assert!(parse_anchors("com. DS 1 13 2 AAAA\n").is_err());
    assert!(
        parse_anchors(". 3600 IN NS a.example.\n").is_err(),
        "no DS at all"
    );
    let one = parse_anchors(". 86400 IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D\n").unwrap();
    assert_eq!(one.len(), 1);
    assert_eq!(one[0].record_type(), RecordType::DS);
}

#[test]
fn config_is_checked() {
    let server: SocketAddr = "127.0.0.1:53".parse().unwrap();
    assert!(
        IcannConfig::new(vec![server], default_anchors())
            .validate()
            .is_ok()
    );
    assert!(matches!(
        IcannRoot::new(IcannConfig::new(vec![], default_anchors())),
        Err(IcannError::Config(_))
    ));
    assert!(matches!(
        IcannRoot::new(IcannConfig::new(vec![server], vec![])),
        Err(IcannError::Config(_))
    ));
    let mut zero = IcannConfig::new(vec![server], default_anchors());
    zero.attempts = 0;
    assert!(zero.validate().is_err());
}

#[test]
fn from_files_reads_hints_and_anchors() {
    let dir = tempfile::tempdir().unwrap();
    let hints = dir.path().join("named.root");
    std::fs::write(&hints, ". NS A.ROOT.\nA.ROOT. A 192.0.2.1\n").unwrap();
    let config = IcannConfig::from_files(&hints, None).unwrap();
    assert_eq!(
        config.servers,
        ["192.0.2.1:53".parse::<SocketAddr>().unwrap()]
    );
    assert_eq!(config.anchors, default_anchors());
    let anchors = dir.path().join("anchors");
    std::fs::write(&anchors, ". DS 12345 13 2 AAAAAAAA\n").unwrap();
    assert_eq!(
        IcannConfig::from_files(&hints, Some(&anchors))
            .unwrap()
            .anchors
            .len(),
        1
    );
    assert!(IcannConfig::from_files(&dir.path().join("missing"), None).is_err());
}

#[test]
fn nsec_coverage_in_canonical_order() {
    let nsec = |next: &str| NSEC::new(name(next), [RecordType::NS]);
    // aaa. -> com. covers b., not aaa. itself nor com. nor d.
    assert!(validate::covers(&name("aaa."), &nsec("com."), &name("b.")));
    assert!(!validate::covers(
        &name("aaa."),
        &nsec("com."),
        &name("aaa.")
    ));
    assert!(!validate::covers(
        &name("aaa."),
        &nsec("com."),
        &name("com.")
    ));
    assert!(!validate::covers(&name("aaa."), &nsec("com."), &name("d.")));
    // The apex NSEC covers the wildcard (`*` sorts before letters).
    assert!(validate::covers(&Name::root(), &nsec("aaa."), &name("*.")));
    // The last NSEC wraps to the apex and covers everything after it.
    assert!(validate::covers(&name("zip."), &nsec("."), &name("zzz.")));
    assert!(!validate::covers(&name("zip."), &nsec("."), &name("abc.")));
}

#[test]
fn the_built_in_root_hints_are_the_thirteen_iana_servers_on_both_families() {
    let servers = parse_root_hints(IANA_ROOT_HINTS).unwrap();
    assert_eq!(servers.len(), 26);
    assert_eq!(servers.iter().filter(|s| s.is_ipv4()).count(), 13);
    assert!(servers.iter().all(|s| s.port() == 53));
    assert!(servers.iter().all(|s| !s.ip().is_loopback()));
}
