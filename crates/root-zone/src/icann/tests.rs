#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hickory_proto::dnssec::rdata::{DNSSECRData, DS};
use hickory_proto::dnssec::{Algorithm, DigestType};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType::{self, A, AAAA, DS as DS_TYPE, NS as NS_TYPE, TXT};
use hickory_proto::rr::rdata::{self, NS};
use hickory_proto::rr::{Name, RData, Record};

use super::*;
use crate::RootError;
use crate::tests::{NOW, TldState, query, render, zone};

const SOA: &str = "AU . 86400 IN SOA . . 2023111422 1800 900 604800 21600";

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn ns(owner: &str, target: &str) -> Record {
    Record::from_rdata(name(owner), 172800, RData::NS(NS(name(target))))
}

fn ds(owner: &str, tag: u16) -> Record {
    let digest =
        hex::decode("e2d3c916f6deeac73294e8268fb5885044a833fc5459588f4a9184cfc41a5766").unwrap();
    let rdata = DS::new(tag, Algorithm::ECDSAP256SHA256, DigestType::SHA256, digest);
    Record::from_rdata(name(owner), 86400, RData::DNSSEC(DNSSECRData::DS(rdata)))
}

fn glue(owner: &str, addr: &str) -> Record {
    let rdata = match addr.parse().unwrap() {
        std::net::IpAddr::V4(v4) => RData::A(rdata::A(v4)),
        std::net::IpAddr::V6(v6) => RData::AAAA(rdata::AAAA(v6)),
    };
    Record::from_rdata(name(owner), 172800, rdata)
}

/// A secure ICANN TLD: two NS, one DS, A and AAAA glue.
pub(crate) fn secure() -> IcannDelegation {
    IcannDelegation {
        ns: vec![
            ns("com.", "a.gtld-servers.net."),
            ns("com.", "b.gtld-servers.net."),
        ],
        ds: vec![ds("com.", 19718)],
        glue: vec![
            glue("a.gtld-servers.net.", "192.5.6.30"),
            glue("a.gtld-servers.net.", "2001:503:a83e::2:30"),
        ],
    }
}

/// An insecure ICANN TLD: NS and glue, no DS.
pub(crate) fn insecure() -> IcannDelegation {
    IcannDelegation {
        ns: vec![ns("cf.", "ns1.cf."), ns("cf.", "ns2.other.")],
        ds: Vec::new(),
        glue: vec![glue("ns1.cf.", "192.0.2.53")],
    }
}

fn ask(qname: &str, qtype: RecordType, d: &IcannDelegation) -> crate::Answer {
    zone()
        .answer(&query(qname, qtype), TldState::Icann(d), NOW)
        .unwrap()
}

const COM_DS: &str =
    "com. 86400 IN DS 19718 13 2 E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766";

#[test]
fn ds_at_a_secure_tld_is_answered_and_re_signed() {
    let a = ask("COM.", DS_TYPE, &secure());
    assert_eq!((a.rcode, a.authoritative), (ResponseCode::NoError, true));
    assert_eq!(
        render(&a),
        [format!("AN {COM_DS}"), "AN RRSIG(DS) Zsk".to_string()]
    );
}

#[test]
fn ds_at_an_insecure_tld_is_soa_then_the_insecure_delegation_nsec() {
    let a = ask("cf.", DS_TYPE, &insecure());
    assert_eq!((a.rcode, a.authoritative), (ResponseCode::NoError, true));
    // hsd's order (transcript `cf. DS`): SOA first, and only one SOA.
    assert_eq!(
        render(&a),
        [
            SOA,
            "AU RRSIG(SOA) Zsk",
            "AU cf. 21600 IN NSEC cf\\000. NS RRSIG NSEC",
            "AU RRSIG(NSEC) Zsk",
        ]
    );
}

#[test]
fn secure_referral_has_unsigned_ns_signed_ds_and_glue() {
    let expected = [
        "AU com. 172800 IN NS a.gtld-servers.net.",
        "AU com. 172800 IN NS b.gtld-servers.net.",
        &format!("AU {COM_DS}"),
        "AU RRSIG(DS) Zsk",
        "AD a.gtld-servers.net. 172800 IN A 192.5.6.30",
        "AD a.gtld-servers.net. 172800 IN AAAA 2001:503:a83e::2:30",
    ];
    for (qname, qtype) in [
        ("com.", A),
        ("com.", NS_TYPE),
        ("com.", TXT),
        ("www.example.com.", AAAA),
        ("example.com.", DS_TYPE),
    ] {
        let a = ask(qname, qtype, &secure());
        assert_eq!(
            (a.rcode, a.authoritative),
            (ResponseCode::NoError, false),
            "{qname} {qtype}"
        );
        assert_eq!(render(&a), expected, "{qname} {qtype}");
    }
}

#[test]
fn insecure_referral_carries_the_signed_nsec() {
    let expected = [
        "AU cf. 172800 IN NS ns1.cf.",
        "AU cf. 172800 IN NS ns2.other.",
        "AU cf. 21600 IN NSEC cf\\000. NS RRSIG NSEC",
        "AU RRSIG(NSEC) Zsk",
        "AD ns1.cf. 172800 IN A 192.0.2.53",
    ];
    for (qname, qtype) in [("cf.", A), ("www.cf.", DS_TYPE), ("a.b.Cf.", NS_TYPE)] {
        let a = ask(qname, qtype, &insecure());
        assert!(!a.authoritative, "{qname}");
        assert_eq!(render(&a), expected, "{qname} {qtype}");
    }
    // Without glue the additional section stays empty.
    let mut bare = insecure();
    bare.glue.clear();
    assert!(ask("cf.", A, &bare).additional.is_empty());
}

#[test]
fn without_do_icann_answers_lose_only_dnssec_records() {
    let mut q = query("com.", A);
    q.dnssec_ok = false;
    let d = secure();
    let a = zone().answer(&q, TldState::Icann(&d), NOW).unwrap();
    assert_eq!(
        render(&a),
        [
            "AU com. 172800 IN NS a.gtld-servers.net.",
            "AU com. 172800 IN NS b.gtld-servers.net.",
            "AD a.gtld-servers.net. 172800 IN A 192.5.6.30",
            "AD a.gtld-servers.net. 172800 IN AAAA 2001:503:a83e::2:30",
        ]
    );
    q.qtype = DS_TYPE;
    let a = zone().answer(&q, TldState::Icann(&d), NOW).unwrap();
    assert_eq!(render(&a), [format!("AN {COM_DS}")]);
    let i = insecure();
    let mut q = query("cf.", DS_TYPE);
    q.dnssec_ok = false;
    let a = zone().answer(&q, TldState::Icann(&i), NOW).unwrap();
    assert_eq!(render(&a), [SOA]);
}

#[test]
fn blacklisted_tlds_ignore_an_icann_state() {
    let d = secure();
    let a = zone()
        .answer(&query("onion.", A), TldState::Icann(&d), NOW)
        .unwrap();
    assert_eq!(a.rcode, ResponseCode::NXDomain);
}

#[test]
fn unusable_delegations_are_servfail() {
    let cases: Vec<(IcannDelegation, &str)> = vec![
        (
            IcannDelegation {
                ns: Vec::new(),
                ..secure()
            },
            "no NS records",
        ),
        (
            IcannDelegation {
                ns: vec![ns("net.", "a.gtld-servers.net.")],
                ..secure()
            },
            "an NS record is not an NS record of the TLD",
        ),
        (
            IcannDelegation {
                ds: vec![ds("com.", 1), ds("example.com.", 2)],
                ..secure()
            },
            "a DS record is not a DS record of the TLD",
        ),
        (
            IcannDelegation {
                ds: vec![ns("com.", "x.")],
                ..secure()
            },
            "a DS record is not a DS record of the TLD",
        ),
        (
            IcannDelegation {
                glue: vec![ns("com.", "x.")],
                ..secure()
            },
            "glue that is not A or AAAA",
        ),
    ];
    for (d, reason) in cases {
        let err = zone()
            .answer(&query("com.", A), TldState::Icann(&d), NOW)
            .unwrap_err();
        assert_eq!(
            err,
            RootError::Icann {
                tld: hnsfleet_hns::name::Name::parse("com").unwrap(),
                reason
            }
        );
        assert_eq!(err.rcode(), ResponseCode::ServFail);
    }
    // Owner case does not matter (DNS names compare case-insensitively).
    let mut upper = secure();
    upper.ns = vec![ns("COM.", "A.GTLD-SERVERS.NET.")];
    upper.ds = vec![ds("Com.", 19718)];
    let a = ask("com.", A, &upper);
    let first = a.authority_records().next().unwrap();
    assert_eq!(
        first.name.to_ascii(),
        "COM.",
        "records are served as received"
    );
    assert!(a.into_records(NOW).is_ok());
}
