#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv6Addr};

use hickory_proto::dnssec::Verifier as _;
use hickory_proto::dnssec::rdata::DNSKEY;
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{DNSClass, RecordType};
use hickory_proto::serialize::binary::BinDecodable as _;
use hnsfleet_hns::resource::Resource;

use super::*;
use crate::keys::dnskey;
use crate::tests::{NOW, TldState, dns_name, query, zone};
use crate::{Answer, RootZone};

/// hsd 8.0.0's RRSIGs for fixed sets at a fixed second, made by bns (see the file's provenance).
const BNS_VECTORS: &str = include_str!("../../testdata/bns-rrsig-vectors.json");

fn blob(json: &str) -> Vec<u8> {
    Resource::from_json(json).unwrap().encode().unwrap()
}

/// A TLD with two DS records, NS with glue and a synth server, and three TXT records of
/// different lengths (so sorting by rdata matters).
fn rich() -> Vec<u8> {
    blob(
        r#"{"records":[
        {"type":"DS","keyTag":57355,"algorithm":8,"digestType":2,"digest":"95a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e2"},
        {"type":"DS","keyTag":1,"algorithm":13,"digestType":2,"digest":"0000000000000000000000000000000000000000000000000000000000000001"},
        {"type":"NS","ns":"ns1.rich."},
        {"type":"GLUE4","ns":"ns2.rich.","address":"10.0.0.2"},
        {"type":"SYNTH6","address":"::2"}]}"#,
    )
}

fn txt_only() -> Vec<u8> {
    blob(
        r#"{"records":[
        {"type":"TXT","txt":["zz"]},
        {"type":"TXT","txt":["a","bbbbbbbbbbbbbbbbbbbb"]},
        {"type":"TXT","txt":["m"]}]}"#,
    )
}

/// Answers of every shape the root produces, all with DO=1.
fn sample_answers() -> Vec<(String, Answer)> {
    let z = zone();
    let v6 = RootZone::new(IpAddr::V6(Ipv6Addr::LOCALHOST));
    let (rich, txt) = (rich(), txt_only());
    let (secure, insecure) = (
        crate::icann::tests::secure(),
        crate::icann::tests::insecure(),
    );
    let mut out = Vec::new();
    let cases: Vec<(&RootZone, &str, RecordType, TldState<'_>)> = vec![
        (&z, ".", RecordType::NS, TldState::NotLookedUp),
        (&z, ".", RecordType::SOA, TldState::NotLookedUp),
        (&z, ".", RecordType::DNSKEY, TldState::NotLookedUp),
        (&z, ".", RecordType::A, TldState::NotLookedUp),
        (&v6, ".", RecordType::NS, TldState::NotLookedUp),
        (&z, "_synth.", RecordType::A, TldState::NotLookedUp),
        (&z, "_fs0000g._synth.", RecordType::A, TldState::NotLookedUp),
        (
            &z,
            "_FS0000G._synth.",
            RecordType::TXT,
            TldState::NotLookedUp,
        ),
        (
            &z,
            "_00000000000000000000000008._synth.",
            RecordType::AAAA,
            TldState::NotLookedUp,
        ),
        (&z, "nosuchname.", RecordType::A, TldState::Absent),
        (&z, "onion.", RecordType::A, TldState::NotLookedUp),
        (&z, "rich.", RecordType::A, TldState::Exists(&rich)),
        (&z, "rich.", RecordType::DS, TldState::Exists(&rich)),
        (&z, "www.Rich.", RecordType::DS, TldState::Exists(&rich)),
        (&z, "txt.", RecordType::TXT, TldState::Exists(&txt)),
        (&z, "txt.", RecordType::A, TldState::Exists(&txt)),
        (&z, "www.txt.", RecordType::A, TldState::Exists(&txt)),
        (&z, "com.", RecordType::DS, TldState::Icann(&secure)),
        (&z, "www.com.", RecordType::A, TldState::Icann(&secure)),
        (&z, "cf.", RecordType::DS, TldState::Icann(&insecure)),
        (&z, "cf.", RecordType::A, TldState::Icann(&insecure)),
    ];
    for (zone, name, qtype, state) in cases {
        let answer = zone.answer(&query(name, qtype), state, NOW).unwrap();
        out.push((format!("{name} {qtype}"), answer));
    }
    out
}

fn rrsig_of(record: &Record) -> &RRSIG {
    match &record.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig)) => sig,
        other => panic!("not an RRSIG: {other:?}"),
    }
}

fn dnskey_rdata(role: KeyRole) -> DNSKEY {
    match &dnskey(role).data {
        RData::DNSSEC(DNSSECRData::DNSKEY(key)) => key.clone(),
        other => panic!("not a DNSKEY: {other:?}"),
    }
}

/// Checks one section: every RRSIG follows the set it covers, has hsd's field values and
/// verifies with hickory's own DNSSEC code against the right root DNSKEY. Returns the count.
fn check_section(label: &str, records: &[Record]) -> usize {
    let mut count = 0;
    let mut set_start = 0;
    for (i, record) in records.iter().enumerate() {
        if record.record_type() != RecordType::RRSIG {
            let prev = &records[i.saturating_sub(1)];
            if i > set_start
                && (prev.record_type() != record.record_type() || prev.name != record.name)
            {
                set_start = i;
            }
            continue;
        }
        let covered = &records[set_start..i];
        assert!(!covered.is_empty(), "{label}: RRSIG without a set");
        let sig = rrsig_of(record);
        let input = sig.input();
        let first = &covered[0];
        assert_eq!(input.type_covered, first.record_type(), "{label}");
        assert_eq!(record.name, first.name, "{label}");
        assert_eq!(record.ttl, RRSIG_TTL, "{label}");
        assert_eq!(input.algorithm, Algorithm::ECDSAP256SHA256, "{label}");
        assert_eq!(input.num_labels, first.name.num_labels(), "{label}");
        assert_eq!(input.original_ttl, first.ttl, "{label}");
        assert_eq!(input.sig_inception.get(), (NOW - 86400) as u32, "{label}");
        assert_eq!(input.sig_expiration.get(), (NOW + 31_536_000) as u32);
        assert_eq!(input.signer_name, Name::root(), "{label}");
        assert_eq!(sig.sig().len(), 64, "{label}");
        let role = if first.record_type() == RecordType::DNSKEY {
            KeyRole::Ksk
        } else {
            KeyRole::Zsk
        };
        let tag = match role {
            KeyRole::Ksk => KSK_KEY_TAG,
            KeyRole::Zsk => ZSK_KEY_TAG,
        };
        assert_eq!(input.key_tag, tag, "{label}");
        dnskey_rdata(role)
            .verify_rrsig(&first.name, first.dns_class, sig, covered.iter())
            .unwrap_or_else(|e| panic!("{label}: RRSIG({}) fails: {e}", first.record_type()));
        // The other key must not verify it (the test can tell keys apart).
        let other = match role {
            KeyRole::Ksk => KeyRole::Zsk,
            KeyRole::Zsk => KeyRole::Ksk,
        };
        assert!(
            dnskey_rdata(other)
                .verify_rrsig(&first.name, first.dns_class, sig, covered.iter())
                .is_err(),
            "{label}"
        );
        count += 1;
        set_start = i + 1;
    }
    count
}

#[test]
fn every_rrsig_verifies_with_hickory_and_has_hsds_fields() {
    let mut total = 0;
    for (label, answer) in sample_answers() {
        let expected = answer.to_sign().count();
        let unsigned: Vec<Record> = answer
            .answer_records()
            .chain(answer.authority_records())
            .chain(answer.additional_records())
            .cloned()
            .collect();
        let signed = answer.into_records(NOW).unwrap();
        let mut count = 0;
        for section in [&signed.answer, &signed.authority, &signed.additional] {
            count += check_section(&label, section);
        }
        assert_eq!(count, expected, "{label}");
        // Removing the RRSIGs gives back exactly the unsigned records, in order.
        let stripped: Vec<Record> = [signed.answer, signed.authority, signed.additional]
            .concat()
            .into_iter()
            .filter(|r| r.record_type() != RecordType::RRSIG)
            .collect();
        assert_eq!(stripped, unsigned, "{label}");
        total += count;
    }
    assert!(total >= 30, "only {total} signatures checked");
}

#[test]
fn rrsig_goes_right_after_its_set() {
    let answer = zone()
        .answer(&query("nosuchname.", RecordType::A), TldState::Absent, NOW)
        .unwrap();
    let signed = answer.into_records(NOW).unwrap();
    let types: Vec<RecordType> = signed.authority.iter().map(Record::record_type).collect();
    use RecordType::{NSEC, RRSIG, SOA};
    assert_eq!(types, [NSEC, RRSIG, NSEC, RRSIG, SOA, RRSIG]);
    assert!(signed.answer.is_empty() && signed.additional.is_empty());

    // Referral NS and glue stay unsigned; the DS set is signed.
    let rich = rich();
    let answer = zone()
        .answer(&query("rich.", RecordType::A), TldState::Exists(&rich), NOW)
        .unwrap();
    let signed = answer.into_records(NOW).unwrap();
    let types: Vec<RecordType> = signed.authority.iter().map(Record::record_type).collect();
    use RecordType::{DS, NS};
    assert_eq!(types, [NS, NS, NS, DS, DS, RRSIG]);
    assert!(
        signed
            .additional
            .iter()
            .all(|r| r.record_type() != RecordType::RRSIG)
    );
}

#[test]
fn signatures_are_deterministic() {
    for (label, answer) in sample_answers() {
        let a = answer.clone().into_records(NOW).unwrap();
        let b = answer.clone().into_records(NOW).unwrap();
        assert_eq!(a, b, "{label}");
        let bytes = |s: &SignedAnswer| {
            [&s.answer, &s.authority, &s.additional]
                .into_iter()
                .flatten()
                .map(|r| r.to_bytes().unwrap())
                .collect::<Vec<_>>()
        };
        assert_eq!(bytes(&a), bytes(&b), "{label}");
        if answer.needs_signing() {
            let later = answer.into_records(NOW + 1).unwrap();
            assert_ne!(bytes(&a), bytes(&later), "{label}: time is signed");
        }
    }
}

#[test]
fn do_zero_answers_need_no_signing() {
    for name in [".", "nosuchname.", "_fs0000g._synth."] {
        let mut q = query(name, RecordType::A);
        q.dnssec_ok = false;
        let answer = zone().answer(&q, TldState::Absent, NOW).unwrap();
        assert!(!answer.needs_signing(), "{name}");
        let signed = answer.into_records(NOW).unwrap();
        assert!(
            [signed.answer, signed.authority, signed.additional]
                .concat()
                .iter()
                .all(|r| r.record_type() != RecordType::RRSIG),
            "{name}"
        );
    }
}

#[test]
fn signed_data_is_canonical_sorted_and_deduplicated() {
    let owner = dns_name("Txt.");
    let txt = |parts: &[&str]| {
        Record::from_rdata(
            owner.clone(),
            21600,
            RData::TXT(TXT::new(parts.iter().map(|s| s.to_string()).collect())),
        )
    };
    let set = vec![txt(&["zz"]), txt(&["a", "bbbb"]), txt(&["m"]), txt(&["zz"])];
    let sig = rrsig(&set, KeyRole::Zsk, NOW).unwrap();
    let input = rrsig_of(&sig).input().clone();
    let data = signed_data(&input, &set).unwrap();
    // RRSIG rdata prefix: type TXT(16), alg 13, 1 label, TTL, expiration, inception, tag, `.`.
    let mut expected = hex::decode("0010 0d 01 00005460".replace(' ', "")).unwrap();
    expected.extend_from_slice(&((NOW + 31_536_000) as u32).to_be_bytes());
    expected.extend_from_slice(&((NOW - 86400) as u32).to_be_bytes());
    expected.extend_from_slice(&ZSK_KEY_TAG.to_be_bytes());
    expected.push(0);
    // Records by rdata bytes: `01 61 04 bbbb` < `01 6d` < `02 7a7a`; the duplicate goes.
    for rdata in ["016104626262 62", "016d", "027a7a"] {
        expected.extend_from_slice(
            &hex::decode("0374787400 0010 0001 00005460".replace(' ', "")).unwrap(),
        );
        let rdata = hex::decode(rdata.replace(' ', "")).unwrap();
        expected.extend_from_slice(&(rdata.len() as u16).to_be_bytes());
        expected.extend_from_slice(&rdata);
    }
    assert_eq!(hex::encode(&data), hex::encode(&expected));
    // Order and duplicates in the input do not change the signature.
    let reordered = vec![txt(&["m"]), txt(&["zz"]), txt(&["a", "bbbb"])];
    assert_eq!(rrsig(&reordered, KeyRole::Zsk, NOW).unwrap(), sig);
    // The RRSIG keeps the set's owner as given (hsd copies the set's name).
    assert_eq!(sig.name.to_ascii(), "Txt.");
}

#[test]
fn malformed_sets_are_errors() {
    assert_eq!(rrsig(&[], KeyRole::Zsk, NOW), Err(SignError::EmptySet));
    let a = crate::keys::dnskey(KeyRole::Ksk);
    let mut b = a.clone();
    b.name = dns_name("other.");
    assert_eq!(
        rrsig(&[a.clone(), b], KeyRole::Ksk, NOW),
        Err(SignError::NotOneSet)
    );
    let mut c = a.clone();
    c.dns_class = DNSClass::CH;
    assert_eq!(rrsig(&[a, c], KeyRole::Ksk, NOW), Err(SignError::NotOneSet));
    let empty = Answer {
        rcode: ResponseCode::NoError,
        authoritative: true,
        answer: vec![RecordSet::signed(Vec::new(), KeyRole::Zsk)],
        authority: Vec::new(),
        additional: Vec::new(),
    };
    assert_eq!(empty.into_records(NOW), Err(SignError::EmptySet));
}

#[test]
fn serial_fields_wrap_after_2106() {
    let set = vec![crate::keys::dnskey(KeyRole::Zsk)];
    let now = (1u64 << 32) + 100;
    let sig = rrsig(&set, KeyRole::Ksk, now).unwrap();
    let input = rrsig_of(&sig).input();
    assert_eq!(input.sig_inception.get(), 100u32.wrapping_sub(86400));
    assert_eq!(input.sig_expiration.get(), 100 + 31_536_000);
}

/// The strongest check: hsd's signer (bns 0.15.0) and ours give byte-identical RRSIGs.
#[test]
fn reproduces_bns_signatures_byte_for_byte() {
    let json: serde_json::Value = serde_json::from_str(BNS_VECTORS).unwrap();
    let now = json["now"].as_u64().unwrap();
    let sets = json["sets"].as_array().unwrap();
    let expected = json["rrsigs"].as_array().unwrap();
    assert_eq!(sets.len(), expected.len());
    assert!(sets.len() >= 10, "too few vectors");
    for (set, want) in sets.iter().zip(expected) {
        let key = match set["key"].as_str().unwrap() {
            "ksk" => KeyRole::Ksk,
            "zsk" => KeyRole::Zsk,
            other => panic!("key {other}"),
        };
        let records: Vec<Record> = set["records"]
            .as_array()
            .unwrap()
            .iter()
            .map(|h| Record::from_bytes(&hex::decode(h.as_str().unwrap()).unwrap()).unwrap())
            .collect();
        let ours = rrsig(&records, key, now).unwrap();
        assert_eq!(
            hex::encode(ours.to_bytes().unwrap()),
            want.as_str().unwrap(),
            "set {:?}",
            set["label"]
        );
    }
}
