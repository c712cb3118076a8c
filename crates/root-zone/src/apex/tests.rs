#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv6Addr;

use super::*;
use crate::RootZone;
use crate::tests::{NOW, TldState, query, render, zone};

#[test]
fn soa_serial_is_the_utc_hour() {
    assert_eq!(soa_serial(0), 1970010100);
    assert_eq!(soa_serial(NOW), 2023111422);
    // 2000-02-29 00:00:00 and 23:59:59 (leap day), 2100-03-01 (2100 is no leap year).
    assert_eq!(soa_serial(951_782_400), 2000022900);
    assert_eq!(soa_serial(951_868_799), 2000022923);
    assert_eq!(soa_serial(4_107_542_400), 2100030100);
    assert_eq!(soa_serial(4_102_444_799), 2099123123);
    assert_eq!(soa_serial(u64::MAX), u32::MAX);
}

fn apex(qtype: RecordType) -> Vec<String> {
    let a = zone()
        .answer(&query(".", qtype), TldState::NotLookedUp, NOW)
        .unwrap();
    assert_eq!(a.rcode, ResponseCode::NoError);
    assert!(a.authoritative);
    render(&a)
}

const NS: &str = ". 518400 IN NS _fs00008._synth.";
const GLUE: &str = "_fs00008._synth. 518400 IN A 127.0.0.1";
const SOA: &str = ". 86400 IN SOA . . 2023111422 1800 900 604800 21600";

#[test]
fn apex_ns_and_any() {
    for qtype in [RecordType::NS, RecordType::ANY] {
        assert_eq!(
            apex(qtype),
            [
                format!("AN {NS}"),
                "AN RRSIG(NS) Zsk".into(),
                format!("AD {GLUE}"),
                "AD RRSIG(A) Zsk".into(),
            ]
        );
    }
}

#[test]
fn apex_soa() {
    assert_eq!(
        apex(RecordType::SOA),
        [
            format!("AN {SOA}"),
            "AN RRSIG(SOA) Zsk".into(),
            format!("AU {NS}"),
            "AU RRSIG(NS) Zsk".into(),
            format!("AD {GLUE}"),
            "AD RRSIG(A) Zsk".into(),
        ]
    );
}

#[test]
fn apex_dnskey_is_signed_by_the_ksk_only() {
    let lines = apex(RecordType::DNSKEY);
    assert_eq!(lines.len(), 3);
    assert!(
        lines[0].starts_with("AN . 10800 IN DNSKEY 257 3 13"),
        "{lines:?}"
    );
    assert!(
        lines[1].starts_with("AN . 10800 IN DNSKEY 256 3 13"),
        "{lines:?}"
    );
    assert_eq!(lines[2], "AN RRSIG(DNSKEY) Ksk");
}

#[test]
fn apex_other_types_get_nodata() {
    for qtype in [
        RecordType::A,
        RecordType::DS,
        RecordType::TXT,
        RecordType::AAAA,
    ] {
        assert_eq!(
            apex(qtype),
            [
                "AU . 21600 IN NSEC \\000. NS SOA RRSIG NSEC DNSKEY".to_string(),
                "AU RRSIG(NSEC) Zsk".into(),
                format!("AU {SOA}"),
                "AU RRSIG(SOA) Zsk".into(),
            ],
            "{qtype}"
        );
    }
}

#[test]
fn apex_host_ipv6_uses_aaaa_glue() {
    let z = RootZone::new(IpAddr::V6(Ipv6Addr::UNSPECIFIED));
    let a = z
        .answer(&query(".", RecordType::NS), TldState::NotLookedUp, NOW)
        .unwrap();
    assert_eq!(
        render(&a),
        [
            "AN . 518400 IN NS _00000000000000000000000000._synth.",
            "AN RRSIG(NS) Zsk",
            "AD _00000000000000000000000000._synth. 518400 IN AAAA ::",
            "AD RRSIG(AAAA) Zsk",
        ]
    );
}
