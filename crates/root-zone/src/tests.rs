#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::Ipv4Addr;

use hickory_proto::serialize::binary::{BinEncodable, BinEncoder};
use hnsfleet_hns_dns::to_zone_text;

use hickory_proto::dnssec::DigestType;
use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::RData;

use super::*;

/// One line per record, `AN`/`AU`/`AD` + zone text, and `AU RRSIG(TYPE) ZSK` after each set
/// that must be signed: the answer in the shape hns-dns.md's transcripts use.
pub(crate) fn render(answer: &Answer) -> Vec<String> {
    let mut out = Vec::new();
    for (tag, section) in [
        ("AN", &answer.answer),
        ("AU", &answer.authority),
        ("AD", &answer.additional),
    ] {
        for set in section {
            for line in to_zone_text(&set.records).lines() {
                out.push(format!("{tag} {line}"));
            }
            if let Some(key) = set.sign {
                let rtype = set.record_type().unwrap();
                out.push(format!("{tag} RRSIG({rtype}) {key:?}"));
            }
        }
    }
    out
}

/// The rdata bytes of `record` (uncompressed, canonical form not applied).
pub(crate) fn rdata_bytes(record: &Record) -> Vec<u8> {
    let mut buf = Vec::new();
    let mut encoder = BinEncoder::new(&mut buf);
    encoder.set_canonical_form(true);
    record.data.emit(&mut encoder).unwrap();
    buf
}

pub(crate) use crate::TldState;

pub(crate) fn query(name: &str, qtype: RecordType) -> Query {
    Query {
        name: dns_name(name),
        qtype,
        qclass: DNSClass::IN,
        opcode: OpCode::Query,
        dnssec_ok: true,
    }
}

/// A name from presentation text with `\DDD` escapes and any label bytes (no `\.`).
pub(crate) fn dns_name(text: &str) -> Name {
    let labels: Vec<Vec<u8>> = text
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
        .map(|label| {
            let (mut out, bytes) = (Vec::new(), label.as_bytes());
            let mut i = 0;
            while i < bytes.len() {
                if bytes[i] == b'\\' {
                    let digits = std::str::from_utf8(&bytes[i + 1..i + 4]).unwrap();
                    out.push(digits.parse::<u8>().unwrap());
                    i += 4;
                } else {
                    out.push(bytes[i]);
                    i += 1;
                }
            }
            out
        })
        .collect();
    Name::from_labels(labels).unwrap()
}

pub(crate) fn zone() -> RootZone {
    RootZone::new(IpAddr::V4(Ipv4Addr::LOCALHOST))
}

/// 2023-11-14 22:13:20 UTC.
pub(crate) const NOW: u64 = 1_700_000_000;

fn tld(s: &str) -> HnsName {
    HnsName::parse(s).unwrap()
}

// --- routing (§2.1 step 4 a-d) ---

#[test]
fn routes_follow_hsd_step_four() {
    let z = zone();
    let route = |name: &str| z.route(&query(name, RecordType::A));
    assert_eq!(route("."), Route::Apex);
    for synth in [
        "_synth.",
        "_fs0000g._synth.",
        "_FS0000G._SYNTH.",
        "_bad._synth.",
    ] {
        assert_eq!(route(synth), Route::Synth, "{synth}");
    }
    // The TLD `_synth` itself fails the name rules (leading `_`).
    for refused in [
        "-bad.",
        "bad_.",
        "a\\000b.",
        "test.",
        "localhost.",
        "example.",
        "invalid.",
        "local.",
        "x._fs0000g._synth.",
        "abc._synth.",
        "www.test.",
        "caf\\195\\169.",
    ] {
        assert_eq!(route(refused), Route::Refused, "{refused}");
    }
    for blocked in ["bit", "eth", "exit", "gnu", "i2p", "onion", "tor", "zkey"] {
        assert_eq!(
            route(&format!("{blocked}.")),
            Route::Blacklisted(tld(blocked))
        );
        assert_eq!(
            route(&format!("www.{blocked}.")),
            Route::Blacklisted(tld(blocked))
        );
    }
    assert_eq!(
        route("Full."),
        Route::Tld {
            tld: tld("full"),
            below: false
        }
    );
    assert_eq!(
        route("www.sub.FULL."),
        Route::Tld {
            tld: tld("full"),
            below: true
        }
    );
    assert_eq!(route("a-b.").lookup(), Some(&tld("a-b")));
    assert_eq!(route(".").lookup(), None);
    assert_eq!(route("onion.").lookup(), None);
}

#[test]
fn opcode_and_class_deviations() {
    let z = zone();
    let mut q = query("full.", RecordType::A);
    q.opcode = OpCode::Update;
    assert_eq!(z.route(&q), Route::NotImplemented);
    let a = z.answer(&q, TldState::NotLookedUp, NOW).unwrap();
    assert_eq!(a, Answer::empty(ResponseCode::NotImp));

    for class in [DNSClass::CH, DNSClass::ANY, DNSClass::HS] {
        let mut q = query(".", RecordType::NS);
        q.qclass = class;
        assert_eq!(z.route(&q), Route::Refused);
        let a = z.answer(&q, TldState::NotLookedUp, NOW).unwrap();
        assert_eq!(a, Answer::empty(ResponseCode::Refused));
    }
}

#[test]
fn refused_answers_are_empty_and_not_authoritative() {
    let a = zone()
        .answer(&query("test.", RecordType::A), TldState::Absent, NOW)
        .unwrap();
    assert_eq!(a.rcode, ResponseCode::Refused);
    assert!(!a.authoritative);
    assert!(render(&a).is_empty());
}

#[test]
fn a_tld_query_without_its_state_is_an_error() {
    let err = zone()
        .answer(
            &query("www.full.", RecordType::A),
            TldState::NotLookedUp,
            NOW,
        )
        .unwrap_err();
    assert_eq!(err, RootError::NotLookedUp(tld("full")));
    assert_eq!(err.rcode(), ResponseCode::ServFail);
}

#[test]
fn blacklisted_tlds_get_the_nxdomain_proof_without_a_lookup() {
    let a = zone()
        .answer(&query("onion.", RecordType::A), TldState::NotLookedUp, NOW)
        .unwrap();
    assert_eq!(a.rcode, ResponseCode::NXDomain);
    assert!(a.authoritative);
    let lines = render(&a);
    assert_eq!(
        lines[0],
        "AU oniom\\255. 21600 IN NSEC onion\\000. RRSIG NSEC"
    );
    // A state that says the name exists does not matter either.
    let data = hex::decode("0001036e7331076578616d706c6503636f6d00").unwrap();
    let b = zone()
        .answer(
            &query("www.onion.", RecordType::A),
            TldState::Exists(&data),
            NOW,
        )
        .unwrap();
    assert_eq!(a, b);
}

// --- keys (§2.7) ---

#[test]
fn root_keys_match_the_published_dnskeys_tags_and_anchor() {
    let ksk = dnskey(KeyRole::Ksk);
    let zsk = dnskey(KeyRole::Zsk);
    assert_eq!(
        hex::encode(rdata_bytes(&ksk)),
        "0101030d4fd714449d8cfcccfdaba52c64d63e3aca72be3f94bfeb60aeb5a42ed3d0c2053f5eee58934974d929f9b9adb10107c4608cd13babf9880f817a331e13034fe1"
    );
    assert_eq!(
        hex::encode(rdata_bytes(&zsk)),
        "0100030d2399cfb3a72515ad609f09fd22954319d24b7c438dce00f535c7ee13010856e2281dd64682f55b96c2cd6d13beb295b79d060783ddacbe1cb51ce8d3885048b1"
    );
    let key = |r: &Record| match &r.data {
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) => k.clone(),
        other => panic!("not a DNSKEY: {other:?}"),
    };
    assert_eq!(key(&ksk).calculate_key_tag().unwrap(), KSK_KEY_TAG);
    assert_eq!(key(&zsk).calculate_key_tag().unwrap(), ZSK_KEY_TAG);
    assert!(key(&ksk).is_key_signing_key());
    assert!(!key(&zsk).is_key_signing_key());
    let digest = key(&ksk)
        .to_digest(&Name::root(), DigestType::SHA256)
        .unwrap();
    assert_eq!(
        hex::encode_upper(digest.as_ref()),
        "7C50EA94A63AEECB65B510D1EAC1846C973A89D4AB292287D5A4D715136B57A3"
    );
    assert_eq!(ksk.ttl, DNSKEY_TTL);
    assert_eq!(ksk.name, Name::root());
}

// --- DO=0 filtering (§6.1) ---

#[test]
fn without_do_only_the_asked_dnssec_type_remains() {
    let z = zone();
    let mut q = query("nosuchname.", RecordType::A);
    q.dnssec_ok = false;
    let a = z.answer(&q, TldState::Absent, NOW).unwrap();
    assert_eq!(
        render(&a),
        ["AU . 86400 IN SOA . . 2023111422 1800 900 604800 21600"]
    );

    let mut q = query(".", RecordType::DNSKEY);
    q.dnssec_ok = false;
    let a = z.answer(&q, TldState::NotLookedUp, NOW).unwrap();
    assert_eq!(a.answer_records().count(), 2);
    assert_eq!(a.to_sign().count(), 0);
}
