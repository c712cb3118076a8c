#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hickory_proto::serialize::binary::BinEncodable;
use proptest::prelude::*;

use super::*;

/// hns-dns.md §1.6 R1 (hsd test/resource-test.js without its out-of-bailiwick GLUE4).
const R1_HEX: &str = "0000e00b08022095a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e201036e733103686e730002036e7332c02c7f00000103036e7334c02c00000000000000000000000000000001047f000002050000000000000000000000000000000206010b68656c6c6f20776f726c64";
/// hns-dns.md §1.6 R2: the second name points at `example.com.` inside the first.
const R2_HEX: &str = "0001036e7331076578616d706c6503636f6d0001036e7332c006";

/// The real regtest node's names, proofs and resources (the protocol crate's test vectors).
const REGTEST: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../hns/testdata/regtest/regtest-names-proofs.json"
));

/// Every real resource blob: R1, R2 and the regtest ones.
fn real_blobs() -> Vec<Vec<u8>> {
    let mut out = vec![hex::decode(R1_HEX).unwrap(), hex::decode(R2_HEX).unwrap()];
    out.extend(regtest_vectors().into_iter().map(|(raw, _)| raw));
    out
}

/// `(resourceRaw, resource JSON)` pairs from the regtest node.
fn regtest_vectors() -> Vec<(Vec<u8>, serde_json::Value)> {
    let v: serde_json::Value = serde_json::from_str(REGTEST).unwrap();
    v["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            let raw = hex::decode(n["resourceRaw"].as_str().unwrap()).unwrap();
            (raw, n["resource"].clone())
        })
        .collect()
}

fn tld(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn resource(json: &str) -> Resource {
    Resource::from_json(json).unwrap()
}

const DIGEST: &str = "95a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e2";

// --- synth names ---

#[test]
fn synth_names_match_hsd_vectors() {
    for (addr, label) in [
        ("127.0.0.1", "_fs00008"),
        ("127.0.0.2", "_fs0000g"),
        ("192.0.2.1", "_o000408"),
        ("192.0.2.7", "_o00041o"),
        ("0.0.0.0", "_0000000"),
        ("::2", "_00000000000000000000000008"),
        ("2001:db8::1", "_400gre00000000000000000004"),
        ("::", "_00000000000000000000000000"),
        ("::ffff:127.0.0.2", "_0000000000000000vvvnu00008"),
    ] {
        let ip: IpAddr = addr.parse().unwrap();
        assert_eq!(synth_label(ip), label, "{addr}");
        assert_eq!(synth_name(ip).to_ascii(), format!("{label}._synth."));
        assert_eq!(
            synth_wire_name(ip).to_presentation(),
            format!("{label}._synth.")
        );
    }
}

#[test]
fn synth_labels_parse_strictly() {
    let v4 = |s: &str| IpAddr::V4(s.parse().unwrap());
    let v6 = |s: &str| IpAddr::V6(s.parse().unwrap());
    assert_eq!(parse_synth_label("_fs00008"), Ok(v4("127.0.0.1")));
    assert_eq!(parse_synth_label("_FS0000G"), Ok(v4("127.0.0.2")));
    assert_eq!(
        parse_synth_label("_400gre00000000000000000004"),
        Ok(v6("2001:db8::1"))
    );
    // IPv4-mapped 16 bytes are served as A (hns-dns.md §2.5).
    assert_eq!(
        parse_synth_label("_0000000000000000vvvnu00008"),
        Ok(v4("127.0.0.2"))
    );
    for bad in [
        "fs00008",                       // no underscore
        "_",                             // empty
        "_fs0000h",                      // non-zero trailing bits
        "_fs0000w",                      // outside the base32hex alphabet
        "_fs0000=",                      // padding
        "_fs0000",                       // 6 characters: invalid length
        "_fs00008a",                     // 5 bytes
        "_fs000080",                     // 5 bytes
        "_0000000000000000000000000000", // 28 chars: 17 bytes
        "_000000000000000000000000000",  // 27 chars: invalid length
        "_fs0000\u{e9}",
    ] {
        assert!(
            matches!(parse_synth_label(bad), Err(DnsError::InvalidSynth { .. })),
            "{bad}"
        );
    }
}

proptest! {
    #[test]
    fn synth_codec_round_trips(v4 in any::<u32>(), v6 in any::<u128>()) {
        let a = IpAddr::V4(Ipv4Addr::from(v4));
        prop_assert_eq!(parse_synth_label(&synth_label(a)), Ok(a));
        let b = Ipv6Addr::from(v6);
        let expected = match b.to_ipv4_mapped() {
            Some(m) => IpAddr::V4(m),
            None => IpAddr::V6(b),
        };
        prop_assert_eq!(parse_synth_label(&synth_label(IpAddr::V6(b))), Ok(expected));
        let mapped = IpAddr::V6(Ipv4Addr::from(v4).to_ipv6_mapped());
        prop_assert_eq!(parse_synth_label(&synth_label(mapped)), Ok(a));
    }
}

// --- referrals ---

/// hns-dns.md §2.3: the `full.` example verified against hsd 8.0.0.
const FULL: &str = r#"{"records":[
    {"type":"DS","keyTag":57355,"algorithm":8,"digestType":2,"digest":"95a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e2"},
    {"type":"NS","ns":"ns1.full."},
    {"type":"GLUE4","ns":"ns2.full.","address":"10.0.0.2"},
    {"type":"GLUE6","ns":"ns3.full.","address":"2001:db8::3"},
    {"type":"GLUE4","ns":"ns.elsewhere.","address":"10.9.9.9"},
    {"type":"SYNTH4","address":"127.0.0.2"},
    {"type":"SYNTH6","address":"::2"},
    {"type":"TXT","txt":["hello world"]}]}"#;

#[test]
fn full_referral_matches_hsd_order() {
    let res = resource(FULL);
    let referral = res.referral(&tld("full.")).unwrap();
    let authority: Vec<Record> = referral.authority().cloned().collect();
    assert_eq!(
        to_zone_text(&authority),
        format!(
            "full. 21600 IN NS ns1.full.\n\
             full. 21600 IN NS ns2.full.\n\
             full. 21600 IN NS ns3.full.\n\
             full. 21600 IN NS ns.elsewhere.\n\
             full. 21600 IN NS _fs0000g._synth.\n\
             full. 21600 IN NS _00000000000000000000000008._synth.\n\
             full. 21600 IN DS 57355 8 2 {}\n",
            DIGEST.to_uppercase()
        )
    );
    assert_eq!(
        to_zone_text(&referral.glue),
        "ns2.full. 21600 IN A 10.0.0.2\n\
         ns3.full. 21600 IN AAAA 2001:db8::3\n\
         _fs0000g._synth. 21600 IN A 127.0.0.2\n\
         _00000000000000000000000008._synth. 21600 IN AAAA ::2\n"
    );
    assert_eq!(
        to_zone_text(&res.txt_records(&tld("full."))),
        "full. 21600 IN TXT \"hello world\"\n"
    );
}

#[test]
fn hsd_resource_test_referral() {
    // hsd test/resource-test.js "should synthesize a referral": 6 NS + DS, 4 glue.
    let mut json: serde_json::Value =
        serde_json::to_value(Resource::decode(&hex::decode(R1_HEX).unwrap()).unwrap()).unwrap();
    json["records"].as_array_mut().unwrap().insert(
        3,
        serde_json::json!({"type":"GLUE4","ns":"ns3.some-other-domain.","address":"10.20.30.40"}),
    );
    let res = Resource::from_json_value(&json).unwrap();
    let referral = res.referral(&tld("hns.")).unwrap();
    let ns: Vec<String> = referral
        .ns
        .iter()
        .map(|r| match &r.data {
            RData::NS(ns) => ns.0.to_ascii(),
            _ => unreachable!(),
        })
        .collect();
    assert_eq!(
        ns,
        [
            "ns1.hns.",
            "ns2.hns.",
            "ns3.some-other-domain.",
            "ns4.hns.",
            "_fs0000g._synth.",
            "_00000000000000000000000008._synth."
        ]
    );
    assert_eq!(referral.ds.len(), 1);
    assert_eq!(
        to_zone_text(&referral.glue),
        "ns2.hns. 21600 IN A 127.0.0.1\n\
         ns4.hns. 21600 IN AAAA ::1\n\
         _fs0000g._synth. 21600 IN A 127.0.0.2\n\
         _00000000000000000000000008._synth. 21600 IN AAAA ::2\n"
    );
}

#[test]
fn regtest_referrals() {
    let vectors = regtest_vectors();
    let hnsvector = Resource::decode(&vectors[0].0).unwrap();
    let referral = hnsvector.referral(&tld("hnsvector.")).unwrap();
    assert_eq!(
        to_zone_text(&referral.authority().cloned().collect::<Vec<_>>()),
        format!(
            "hnsvector. 21600 IN NS ns1.hnsvector.\n\
             hnsvector. 21600 IN DS 57355 8 2 {}\n",
            DIGEST.to_uppercase()
        )
    );
    assert_eq!(
        to_zone_text(&referral.glue),
        "ns1.hnsvector. 21600 IN A 10.20.30.40\n"
    );
    assert_eq!(
        to_zone_text(&hnsvector.txt_records(&tld("hnsvector."))),
        "hnsvector. 21600 IN TXT \"hello handshake\"\n"
    );
    let fleet = Resource::decode(&vectors[1].0).unwrap();
    let referral = fleet.referral(&tld("resolverfleet.")).unwrap();
    assert_eq!(
        to_zone_text(&referral.ns),
        "resolverfleet. 21600 IN NS _o00041o._synth.\n\
         resolverfleet. 21600 IN NS _400gre00000000000000000004._synth.\n"
    );
    assert!(referral.ds.is_empty());
    assert_eq!(
        to_zone_text(&referral.glue),
        "_o00041o._synth. 21600 IN A 192.0.2.7\n\
         _400gre00000000000000000004._synth. 21600 IN AAAA 2001:db8::1\n"
    );
}

#[test]
fn ns_dedup_is_exact_and_glue_is_not_deduplicated() {
    let res = resource(
        r#"{"records":[
        {"type":"NS","ns":"ns1.x."},
        {"type":"GLUE4","ns":"ns1.x.","address":"1.2.3.4"},
        {"type":"GLUE6","ns":"ns1.x.","address":"2001:db8::1"},
        {"type":"GLUE4","ns":"NS1.X.","address":"1.2.3.5"},
        {"type":"GLUE4","ns":"x.","address":"1.2.3.6"},
        {"type":"GLUE4","ns":"ns1.xx.","address":"1.2.3.7"}]}"#,
    );
    let referral = res.referral(&tld("x.")).unwrap();
    assert_eq!(
        to_zone_text(&referral.ns),
        "x. 21600 IN NS ns1.x.\n\
         x. 21600 IN NS NS1.X.\n\
         x. 21600 IN NS x.\n\
         x. 21600 IN NS ns1.xx.\n"
    );
    assert_eq!(
        to_zone_text(&referral.glue),
        "ns1.x. 21600 IN A 1.2.3.4\n\
         ns1.x. 21600 IN AAAA 2001:db8::1\n\
         NS1.X. 21600 IN A 1.2.3.5\n\
         x. 21600 IN A 1.2.3.6\n"
    );
    // The bailiwick test ignores the case of the TLD too; owners keep the stored case.
    let upper = res.glue_records(&tld("X.")).unwrap();
    assert_eq!(upper.len(), 4);
    assert_eq!(upper[2].name.to_ascii(), "NS1.X.");
}

#[test]
fn records_keep_case_and_bytes_on_the_wire() {
    let res = Resource::new(vec![resource::Record::GLUE4 {
        name: WireName::from_labels([&b"N\x00s.1"[..], b"X"]).unwrap(),
        addr: Ipv4Addr::new(1, 2, 3, 4),
    }]);
    let referral = res.referral(&tld("x.")).unwrap();
    let ns_wire = referral.ns[0].to_bytes().unwrap();
    // owner x. | NS | IN | TTL | rdlength 9 | 05 N 00 s . 1 01 X 00
    assert_eq!(
        hex::encode(ns_wire),
        "01780000020001000054600009054e00732e31015800"
    );
    assert_eq!(
        to_zone_text(&referral.glue),
        "N\\000s\\.1.X. 21600 IN A 1.2.3.4\n"
    );
}

#[test]
fn ds_values_are_kept_verbatim() {
    for value in 0..=255u8 {
        let res = Resource::new(vec![resource::Record::DS {
            key_tag: 0xbeef,
            algorithm: value,
            digest_type: value,
            digest: vec![value; 3],
        }]);
        let ds = res.ds_records(&tld("x."));
        assert_eq!(
            ds[0].data.to_bytes().unwrap(),
            [&[0xbe, 0xef, value, value][..], &[value; 3]].concat()
        );
    }
}

#[test]
fn txt_records_one_rr_per_record() {
    let res = resource(
        r#"{"records":[{"type":"TXT","txt":["a","b c"]},{"type":"TXT","txt":[]},{"type":"TXT","txt":["q\"\\\\\\001"]}]}"#,
    );
    let txt = res.txt_records(&tld("t."));
    assert_eq!(txt.len(), 3);
    assert_eq!(
        to_zone_text(&txt),
        "t. 21600 IN TXT \"a\" \"b c\"\nt. 21600 IN TXT \nt. 21600 IN TXT \"q\\\"\\\\\\001\"\n"
    );
    let RData::TXT(first) = &txt[0].data else {
        unreachable!()
    };
    assert_eq!(first.txt_data.len(), 2);
    assert!(res.ns_records(&tld("t.")).unwrap().is_empty());
}

#[test]
fn mapped_ipv6_glue_is_served_as_aaaa() {
    // Deliberate deviation from hsd, which throws (SERVFAIL) here (hns-dns.md §1.5).
    let mapped = Ipv4Addr::new(10, 0, 0, 1).to_ipv6_mapped();
    let res = Resource::new(vec![
        resource::Record::GLUE6 {
            name: WireName::from_presentation("ns.m.").unwrap(),
            addr: mapped,
        },
        resource::Record::SYNTH6 { addr: mapped },
    ]);
    assert_eq!(
        to_zone_text(&res.glue_records(&tld("m.")).unwrap()),
        "ns.m. 21600 IN AAAA ::ffff:10.0.0.1\n\
         _0000000000000000vvvgk00004._synth. 21600 IN AAAA ::ffff:10.0.0.1\n"
    );
}

#[test]
fn names_needing_256_wire_bytes_cannot_be_served() {
    let labels = [[b'x'; 63], [b'x'; 63], [b'x'; 63]];
    let mut all: Vec<&[u8]> = labels.iter().map(|l| &l[..]).collect();
    let last = [b'y'; 62];
    all.push(&last);
    let long = WireName::from_labels(all).unwrap();
    assert_eq!(long.wire_len(), 256);
    let res = Resource::new(vec![resource::Record::NS { name: long }]);
    assert!(matches!(
        res.referral(&tld("x.")),
        Err(DnsError::NameTooLong { .. })
    ));
    assert_eq!(res.ds_records(&tld("x.")), vec![]);
}

#[test]
fn conversion_never_panics_on_real_and_mutated_blobs() {
    for raw in real_blobs() {
        assert!(hnsfleet_fuzz_bodies::resource(&raw), "real blob decodes");
        let res = Resource::decode(&raw).unwrap();
        let referral = res.referral(&tld("x.")).unwrap();
        assert_eq!(referral.ns.is_empty(), !res.has_ns());
    }
}
