#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hnsfleet_hns::resource::Resource;

use crate::Answer;
use crate::tests::{NOW, TldState, query, render, zone};

const DIGEST: &str = "95a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e2";
const SOA: &str = "AU . 86400 IN SOA . . 2023111422 1800 900 604800 21600";

fn blob(json: &str) -> Vec<u8> {
    Resource::from_json(json).unwrap().encode().unwrap()
}

/// hns-dns.md §2.3's `full.` example.
fn full() -> Vec<u8> {
    blob(&format!(
        r#"{{"records":[
        {{"type":"DS","keyTag":57355,"algorithm":8,"digestType":2,"digest":"{DIGEST}"}},
        {{"type":"NS","ns":"ns1.full."}},
        {{"type":"GLUE4","ns":"ns2.full.","address":"10.0.0.2"}},
        {{"type":"GLUE6","ns":"ns3.full.","address":"2001:db8::3"}},
        {{"type":"GLUE4","ns":"ns.elsewhere.","address":"10.9.9.9"}},
        {{"type":"SYNTH4","address":"127.0.0.2"}},
        {{"type":"SYNTH6","address":"::2"}},
        {{"type":"TXT","txt":["hello"]}}]}}"#
    ))
}

fn ask(name: &str, qtype: hickory_proto::rr::RecordType, data: &[u8]) -> Answer {
    zone()
        .answer(&query(name, qtype), TldState::Exists(data), NOW)
        .unwrap()
}

#[test]
fn full_example_referral_matches_hsd() {
    use hickory_proto::rr::RecordType::{A, AAAA, DS, NS, TXT};
    let data = full();
    let expected = [
        "AU full. 21600 IN NS ns1.full.",
        "AU full. 21600 IN NS ns2.full.",
        "AU full. 21600 IN NS ns3.full.",
        "AU full. 21600 IN NS ns.elsewhere.",
        "AU full. 21600 IN NS _fs0000g._synth.",
        "AU full. 21600 IN NS _00000000000000000000000008._synth.",
        &format!("AU full. 21600 IN DS 57355 8 2 {}", DIGEST.to_uppercase()),
        "AU RRSIG(DS) Zsk",
        "AD ns2.full. 21600 IN A 10.0.0.2",
        "AD ns3.full. 21600 IN AAAA 2001:db8::3",
        "AD _fs0000g._synth. 21600 IN A 127.0.0.2",
        "AD _00000000000000000000000008._synth. 21600 IN AAAA ::2",
    ];
    for (name, qtype) in [
        ("full.", A),
        ("www.full.", AAAA),
        ("full.", NS),
        ("full.", TXT),
        ("sub.full.", DS),
    ] {
        let a = ask(name, qtype, &data);
        assert!(!a.authoritative, "{name} {qtype}");
        assert_eq!(a.rcode, hickory_proto::op::ResponseCode::NoError);
        assert_eq!(render(&a), expected, "{name} {qtype}");
    }
}

#[test]
fn tld_ds_is_answered_authoritatively() {
    let a = ask("FULL.", hickory_proto::rr::RecordType::DS, &full());
    assert!(a.authoritative);
    assert_eq!(
        render(&a),
        [
            format!("AN full. 21600 IN DS 57355 8 2 {}", DIGEST.to_uppercase()),
            "AN RRSIG(DS) Zsk".into(),
        ]
    );
}

#[test]
fn delegation_without_ds() {
    use hickory_proto::rr::RecordType::{A, DS};
    let data = blob(r#"{"records":[{"type":"NS","ns":"ns1.fleetupd."}]}"#);
    // Referral with the insecure-delegation proof.
    assert_eq!(
        render(&ask("www.fleetupd.", A, &data)),
        [
            "AU fleetupd. 21600 IN NS ns1.fleetupd.",
            "AU fleetupd. 21600 IN NSEC fleetupd\\000. NS RRSIG NSEC",
            "AU RRSIG(NSEC) Zsk",
        ]
    );
    // `T DS` without DS: NoData with the NS map.
    let a = ask("fleetupd.", DS, &data);
    assert!(a.authoritative);
    assert_eq!(
        render(&a),
        [
            "AU fleetupd. 21600 IN NSEC fleetupd\\000. NS RRSIG NSEC",
            "AU RRSIG(NSEC) Zsk",
            SOA,
            "AU RRSIG(SOA) Zsk",
        ]
    );
}

#[test]
fn txt_only_tld() {
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::RecordType::{A, DS, TXT};
    let data = blob(r#"{"records":[{"type":"TXT","txt":["a"]},{"type":"TXT","txt":["b","c"]}]}"#);
    let a = ask("fleettxt.", TXT, &data);
    assert!(a.authoritative);
    assert_eq!(
        render(&a),
        [
            "AN fleettxt. 21600 IN TXT \"a\"",
            "AN fleettxt. 21600 IN TXT \"b\" \"c\"",
            "AN RRSIG(TXT) Zsk",
        ]
    );
    let nodata = [
        "AU fleettxt. 21600 IN NSEC fleettxt\\000. TXT RRSIG NSEC",
        "AU RRSIG(NSEC) Zsk",
        SOA,
        "AU RRSIG(SOA) Zsk",
    ];
    for qtype in [A, DS] {
        let a = ask("fleettxt.", qtype, &data);
        assert_eq!((a.rcode, a.authoritative), (ResponseCode::NoError, true));
        assert_eq!(render(&a), nodata, "{qtype}");
    }
    // Below a TLD without NS: the fleet's NXDOMAIN (hsd: NOERROR) with the same proof.
    for qtype in [A, TXT, DS] {
        let a = ask("www.fleettxt.", qtype, &data);
        assert_eq!((a.rcode, a.authoritative), (ResponseCode::NXDomain, true));
        assert_eq!(render(&a), nodata, "{qtype}");
    }
}

#[test]
fn empty_and_ds_only_resources_use_the_empty_map() {
    use hickory_proto::rr::RecordType::{A, DS, TXT};
    let empty_map = [
        "AU x. 21600 IN NSEC x\\000. RRSIG NSEC",
        "AU RRSIG(NSEC) Zsk",
        SOA,
        "AU RRSIG(SOA) Zsk",
    ];
    for qtype in [A, DS, TXT] {
        assert_eq!(render(&ask("x.", qtype, &[0])), empty_map, "{qtype}");
    }
    let ds_only = blob(&format!(
        r#"{{"records":[{{"type":"DS","keyTag":1,"algorithm":13,"digestType":2,"digest":"{DIGEST}"}}]}}"#
    ));
    assert_eq!(render(&ask("x.", A, &ds_only)), empty_map);
    assert_eq!(render(&ask("x.", TXT, &ds_only)), empty_map);
    assert_eq!(render(&ask("x.", DS, &ds_only)).len(), 2);
}

#[test]
fn glue_bailiwick_case_and_dedup() {
    use hickory_proto::rr::RecordType::A;
    let data = blob(
        r#"{"records":[
        {"type":"GLUE4","ns":"ns1.x.","address":"10.0.0.1"},
        {"type":"GLUE6","ns":"ns1.x.","address":"::1"},
        {"type":"GLUE4","ns":"NS1.X.","address":"10.0.0.3"},
        {"type":"GLUE4","ns":"x.","address":"10.0.0.4"},
        {"type":"GLUE4","ns":"ns.other.","address":"10.0.0.5"}]}"#,
    );
    assert_eq!(
        render(&ask("x.", A, &data)),
        [
            "AU x. 21600 IN NS ns1.x.",
            "AU x. 21600 IN NS NS1.X.",
            "AU x. 21600 IN NS x.",
            "AU x. 21600 IN NS ns.other.",
            "AU x. 21600 IN NSEC x\\000. NS RRSIG NSEC",
            "AU RRSIG(NSEC) Zsk",
            "AD ns1.x. 21600 IN A 10.0.0.1",
            "AD ns1.x. 21600 IN AAAA ::1",
            "AD NS1.X. 21600 IN A 10.0.0.3",
            "AD x. 21600 IN A 10.0.0.4",
        ]
    );
}

#[test]
fn undecodable_resources_are_servfail() {
    use hickory_proto::rr::RecordType::A;
    for bad in [&[1u8][..], &[0, 1, 3, b'n', b's']] {
        let err = zone()
            .answer(&query("x.", A), TldState::Exists(bad), NOW)
            .unwrap_err();
        assert_eq!(err.rcode(), hickory_proto::op::ResponseCode::ServFail);
    }
    // An unknown type byte keeps the records before it (hsd).
    let mut data = blob(r#"{"records":[{"type":"NS","ns":"ns1.x."}]}"#);
    data.extend([7, 1, 2, 3]);
    assert_eq!(render(&ask("x.", A, &data))[0], "AU x. 21600 IN NS ns1.x.");
}

#[test]
fn regtest_vectors() {
    use hickory_proto::rr::RecordType::A;
    let v: serde_json::Value = serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/../hns/testdata/regtest/regtest-names-proofs.json"
    )))
    .unwrap();
    for n in v["names"].as_array().unwrap() {
        let name = n["name"].as_str().unwrap();
        let data = hex::decode(n["resourceRaw"].as_str().unwrap()).unwrap();
        let a = ask(&format!("www.{name}."), A, &data);
        let resource = Resource::decode(&data).unwrap();
        assert_eq!(a.authoritative, !resource.has_ns(), "{name}");
        let ns = a
            .authority_records()
            .filter(|r| r.record_type() == hickory_proto::rr::RecordType::NS);
        assert!(ns.count() >= 1, "{name}");
    }
}
