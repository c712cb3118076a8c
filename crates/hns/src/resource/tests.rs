#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, Ipv6Addr};

use hnsfleet_fuzz_bodies as fuzz;
use serde_json::Value;

use super::*;

/// hns-dns.md §1.6 R1 (hsd test/resource-test.js without its out-of-bailiwick GLUE4).
pub(crate) const R1_HEX: &str = "0000e00b08022095a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e201036e733103686e730002036e7332c02c7f00000103036e7334c02c00000000000000000000000000000001047f000002050000000000000000000000000000000206010b68656c6c6f20776f726c64";
/// hsd's JSON of R1, compact, in hsd's field order.
const R1_JSON: &str = r#"{"records":[{"type":"DS","keyTag":57355,"algorithm":8,"digestType":2,"digest":"95a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e2"},{"type":"NS","ns":"ns1.hns."},{"type":"GLUE4","ns":"ns2.hns.","address":"127.0.0.1"},{"type":"GLUE6","ns":"ns4.hns.","address":"::1"},{"type":"SYNTH4","address":"127.0.0.2"},{"type":"SYNTH6","address":"::2"},{"type":"TXT","txt":["hello world"]}]}"#;
/// hns-dns.md §1.6 R2: the second name points at `example.com.` inside the first.
const R2_HEX: &str = "0001036e7331076578616d706c6503636f6d0001036e7332c006";

const REGTEST: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/regtest/regtest-names-proofs.json"
));
const NS_NAMES: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/hsd-ns-names.json"
));

pub(super) fn name(s: &str) -> WireName {
    WireName::from_presentation(s).unwrap()
}

/// Every real resource blob: R1, R2 and the regtest ones.
pub(crate) fn real_blobs() -> Vec<Vec<u8>> {
    let mut out = vec![hex::decode(R1_HEX).unwrap(), hex::decode(R2_HEX).unwrap()];
    for (raw, _) in regtest_vectors() {
        out.push(raw);
    }
    out
}

/// `(resourceRaw, resource JSON)` pairs from the regtest node.
pub(crate) fn regtest_vectors() -> Vec<(Vec<u8>, Value)> {
    let v: Value = serde_json::from_str(REGTEST).unwrap();
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

/// Removes JSON whitespace outside strings, to compare serializations as text.
fn minify(text: &str) -> String {
    let mut out = String::with_capacity(text.len());
    let (mut in_string, mut escaped) = (false, false);
    for c in text.chars() {
        if in_string {
            out.push(c);
            match (escaped, c) {
                (true, _) => escaped = false,
                (false, '\\') => escaped = true,
                (false, '"') => in_string = false,
                _ => {}
            }
        } else if c == '"' {
            in_string = true;
            out.push(c);
        } else if !c.is_whitespace() {
            out.push(c);
        }
    }
    out
}

fn r1_records() -> Vec<Record> {
    vec![
        Record::DS {
            key_tag: 57355,
            algorithm: 8,
            digest_type: 2,
            digest: hex::decode("95a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e2")
                .unwrap(),
        },
        Record::NS {
            name: name("ns1.hns."),
        },
        Record::GLUE4 {
            name: name("ns2.hns."),
            addr: Ipv4Addr::new(127, 0, 0, 1),
        },
        Record::GLUE6 {
            name: name("ns4.hns."),
            addr: Ipv6Addr::LOCALHOST,
        },
        Record::SYNTH4 {
            addr: Ipv4Addr::new(127, 0, 0, 2),
        },
        Record::SYNTH6 {
            addr: "::2".parse().unwrap(),
        },
        Record::TXT {
            strings: vec![b"hello world".to_vec()],
        },
    ]
}

// --- real vectors ---

#[test]
fn r1_decodes_encodes_and_prints_like_hsd() {
    let raw = hex::decode(R1_HEX).unwrap();
    assert_eq!(raw.len(), 119);
    let res = Resource::decode(&raw).unwrap();
    assert_eq!(res, Resource::new(r1_records()));
    assert!(res.is_complete());
    assert_eq!(res.encode().unwrap(), raw);
    assert_eq!(res.to_json(), R1_JSON);
    let imported = Resource::from_json(R1_JSON).unwrap();
    assert_eq!(imported.encode().unwrap(), raw);
    assert!(res.has_ns() && res.has_ds() && res.has_txt());
}

#[test]
fn r2_second_name_points_into_the_first() {
    let raw = hex::decode(R2_HEX).unwrap();
    let res = Resource::decode(&raw).unwrap();
    assert_eq!(
        res.records,
        vec![
            Record::NS {
                name: name("ns1.example.com.")
            },
            Record::NS {
                name: name("ns2.example.com.")
            },
        ]
    );
    assert_eq!(res.encode().unwrap(), raw);
    assert!(!res.has_ds() && !res.has_txt());
}

#[test]
fn regtest_resources_match_hsd_bytes_and_json() {
    let minified = minify(REGTEST);
    let vectors = regtest_vectors();
    assert_eq!(vectors.len(), 2);
    for (raw, json) in vectors {
        let res = Resource::decode(&raw).unwrap();
        assert!(res.is_complete());
        assert_eq!(serde_json::to_value(&res).unwrap(), json);
        assert!(minified.contains(&format!("\"resource\":{}", res.to_json())));
        let imported = Resource::from_json_value(&json).unwrap();
        assert_eq!(imported, res);
        assert_eq!(imported.encode().unwrap(), raw);
    }
}

#[test]
fn hsd_ns_names_round_trip_through_the_encoder() {
    let minified = minify(NS_NAMES);
    let all: Value = serde_json::from_str(NS_NAMES).unwrap();
    let all = all.as_object().unwrap();
    assert_eq!(all.len(), 4);
    for entry in all.values() {
        let res = Resource::from_json_value(entry).unwrap();
        let decoded = Resource::decode(&res.encode().unwrap()).unwrap();
        assert_eq!(decoded, res);
        let json = serde_json::to_value(&decoded).unwrap();
        assert_eq!(json["records"], entry["records"]);
        let records = res.to_json();
        let records = records
            .strip_prefix('{')
            .and_then(|s| s.strip_suffix('}'))
            .unwrap();
        assert!(minified.contains(records), "{records}");
    }
}

#[test]
fn hsd_resource_test_json_encodes_and_compresses() {
    // hsd test/resource-test.js: ns3.some-other-domain. shares no suffix with hns.
    let mut json: Value = serde_json::from_str(R1_JSON).unwrap();
    json["records"].as_array_mut().unwrap().insert(
        3,
        serde_json::json!({"type":"GLUE4","ns":"ns3.some-other-domain.","address":"10.20.30.40"}),
    );
    let res = Resource::from_json_value(&json).unwrap();
    let raw = res.encode().unwrap();
    assert_eq!(Resource::decode(&raw).unwrap(), res);
    assert_eq!(serde_json::to_value(&res).unwrap(), json);
    let expected = "02036e733311736f6d652d6f746865722d646f6d61696e000a141e28";
    assert!(hex::encode(&raw).contains(expected));
}

#[test]
fn empty_and_version_only() {
    assert!(matches!(
        Resource::decode(&[]),
        Err(ResourceError::Decode(DecodeError::Eof { .. }))
    ));
    let res = Resource::decode(&[0]).unwrap();
    assert!(res.records.is_empty() && res.is_complete());
    assert_eq!(res.encode().unwrap(), vec![0]);
    assert_eq!(res.to_json(), r#"{"records":[]}"#);
    assert_eq!(res.to_json_pretty(), "{\n  \"records\": []\n}");
}

// --- decoder rules ---

#[test]
fn bad_version_is_rejected() {
    let mut raw = hex::decode(R1_HEX).unwrap();
    raw[0] = 1;
    assert_eq!(
        Resource::decode(&raw),
        Err(ResourceError::UnsupportedVersion(1))
    );
}

#[test]
fn unknown_type_stops_and_keeps_earlier_records() {
    let raw = hex::decode("000103616263000701020304").unwrap();
    let res = Resource::decode(&raw).unwrap();
    assert_eq!(res.records, vec![Record::NS { name: name("abc.") }]);
    assert_eq!(res.truncated_at(), Some(7));
    assert!(!res.is_complete());
    assert_eq!(
        res.encode().unwrap(),
        hex::decode("00010361626300").unwrap()
    );
    assert!(fuzz::resource(&raw));
}

#[test]
fn forward_pointers_are_followed() {
    // NS -> pointer to offset 5, which is the body of the next NS record.
    let raw = hex::decode("0001c005010361626300").unwrap();
    let res = Resource::decode(&raw).unwrap();
    assert_eq!(
        res.records,
        vec![
            Record::NS { name: name("abc.") },
            Record::NS { name: name("abc.") }
        ]
    );
    assert_eq!(
        res.encode().unwrap(),
        hex::decode("00010361626300 01c002".replace(' ', "")).unwrap()
    );
}

/// A blob whose NS name goes through `pointers` compression pointers before `01 61 00`,
/// all stored inside a TXT string.
fn pointer_chain(pointers: usize) -> Vec<u8> {
    let payload_start = 4;
    let mut payload = Vec::new();
    for k in 1..pointers {
        let target = payload_start + 2 * k;
        payload.extend_from_slice(&(0xc000u16 | target as u16).to_be_bytes());
    }
    payload.extend_from_slice(&[1, b'a', 0]);
    let mut raw = vec![0, 6, 1, payload.len() as u8];
    raw.extend_from_slice(&payload);
    raw.push(1);
    raw.extend_from_slice(&(0xc000u16 | payload_start as u16).to_be_bytes());
    raw
}

#[test]
fn at_most_ten_pointers_per_name() {
    let ok = Resource::decode(&pointer_chain(10)).unwrap();
    assert_eq!(ok.records.last(), Some(&Record::NS { name: name("a.") }));
    assert!(matches!(
        Resource::decode(&pointer_chain(11)),
        Err(ResourceError::Decode(DecodeError::Malformed { .. }))
    ));
}

#[test]
fn pointer_loops_and_out_of_range_pointers_fail() {
    for hex_blob in [
        "0001c002",     // points at itself
        "0001c004c002", // two pointers pointing at each other
        "0001c0ff",     // beyond the end
        "0001ffff",     // beyond the end, 14-bit offset
        "0001c0",       // pointer cut short
    ] {
        let raw = hex::decode(hex_blob).unwrap();
        assert!(
            matches!(Resource::decode(&raw), Err(ResourceError::Decode(_))),
            "{hex_blob}"
        );
    }
}

#[test]
fn reserved_label_types_fail() {
    // 0x40 would be a 64-byte label: label lengths above 63 are label type 01.
    let mut raw = vec![0, 1, 0x40];
    raw.extend_from_slice(&[b'a'; 64]);
    raw.push(0);
    assert!(matches!(
        Resource::decode(&raw),
        Err(ResourceError::Decode(DecodeError::Malformed { .. }))
    ));
    assert!(Resource::decode(&[0, 1, 0x80, 0, 0]).is_err());
}

#[test]
fn name_length_bound_is_hsds() {
    // 3 x 63-byte labels + one 62-byte label: sum(len + 1) = 255, accepted (256 wire bytes).
    let mut raw = vec![0, 1];
    for len in [63usize, 63, 63, 62] {
        raw.push(len as u8);
        raw.extend(std::iter::repeat_n(b'x', len));
    }
    raw.push(0);
    let res = Resource::decode(&raw).unwrap();
    let Record::NS { name } = &res.records[0] else {
        unreachable!()
    };
    assert_eq!(name.wire_len(), 256);
    assert_eq!(res.encode().unwrap(), raw);
    // One more byte in the last label: rejected.
    let mut long = vec![0, 1];
    for len in [63usize, 63, 63, 63] {
        long.push(len as u8);
        long.extend(std::iter::repeat_n(b'x', len));
    }
    long.push(0);
    assert!(matches!(
        Resource::decode(&long),
        Err(ResourceError::Decode(DecodeError::Malformed { .. }))
    ));
}

#[test]
fn large_ds_digest_is_accepted() {
    let mut raw = vec![0, 0, 0x12, 0x34, 8, 2, 200];
    raw.extend_from_slice(&[0xab; 200]);
    let res = Resource::decode(&raw).unwrap();
    assert_eq!(res.encode().unwrap(), raw);
}

#[test]
fn encoder_enforces_limits() {
    let big = Resource::new(vec![
        Record::TXT {
            strings: vec![vec![b'a'; 255]; 2]
        };
        1
    ]);
    assert_eq!(big.encode(), Err(ResourceError::TooLarge { size: 515 }));
    let bad = Resource::new(vec![Record::TXT {
        strings: vec![vec![b'a'; 256]],
    }]);
    assert!(matches!(
        bad.encode(),
        Err(ResourceError::InvalidRecord { .. })
    ));
    let many = Resource::new(vec![Record::TXT {
        strings: vec![vec![]; 256],
    }]);
    assert!(matches!(
        many.encode(),
        Err(ResourceError::InvalidRecord { .. })
    ));
}

// --- negative tests over the real vectors ---

#[test]
fn every_truncation_fails_or_decodes_a_prefix() {
    for raw in real_blobs() {
        let full = Resource::decode(&raw).unwrap();
        for len in 0..raw.len() {
            let cut = &raw[..len];
            fuzz::resource(cut);
            match Resource::decode(cut) {
                Err(_) => {}
                Ok(res) => {
                    assert!(res.records.len() < full.records.len(), "len {len}");
                    assert_eq!(res.records[..], full.records[..res.records.len()]);
                }
            }
        }
    }
}

#[test]
fn every_byte_flip_fails_or_decodes_differently() {
    for raw in real_blobs() {
        let full = Resource::decode(&raw).unwrap();
        for i in 0..raw.len() {
            for value in 0..=255u8 {
                if value == raw[i] {
                    continue;
                }
                let mut mutated = raw.clone();
                mutated[i] = value;
                fuzz::resource(&mutated);
                // The same value is only legal when the flip re-aims a compression pointer at
                // an equal name (R1: `ns2.hns.` may point at the pointer inside `ns4.hns.`).
                if Resource::decode(&mutated).as_ref() == Ok(&full) {
                    let in_pointer = raw[i] >= 0xc0 || (i > 0 && raw[i - 1] >= 0xc0);
                    assert!(
                        in_pointer,
                        "byte {i} = {value:#04x} decodes to the same value"
                    );
                }
            }
        }
    }
}

mod props;
mod text;
