#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, Ipv6Addr};

use super::super::*;
use super::name;

// --- presentation forms ---

#[test]
fn names_render_and_parse_like_hsd() {
    let n = WireName::from_labels([&b"a.b"[..], b"x y", b"\x00\x7f\xff", b"(;@\"\\)", b"Mixed"])
        .unwrap();
    let text = r#"a\.b.x\ y.\000\127\255.\(\;\@\"\\\).Mixed."#;
    assert_eq!(n.to_presentation(), text);
    assert_eq!(WireName::from_presentation(text).unwrap(), n);
    assert_eq!(n.label_count(), 5);
    assert_eq!(WireName::root().to_presentation(), ".");
    assert_eq!(name("."), WireName::root());
    assert_eq!(name("ns1.hns.").to_wire(), b"\x03ns1\x03hns\x00");
}

#[test]
fn presentation_rejects_what_hsd_rejects_or_breaks() {
    for bad in [
        "", "a", "a..", "..", ".a.", "a\\.", "a\\065.", "a\\q.", "a b.", "a@.", "a\u{e9}.",
        "a\\256.", "a\x01.",
    ] {
        assert!(
            matches!(
                WireName::from_presentation(bad),
                Err(ResourceError::InvalidName { .. })
            ),
            "{bad:?}"
        );
    }
    let long_label = format!("{}.", "a".repeat(64));
    assert!(WireName::from_presentation(&long_label).is_err());
    let long_name = format!("{}.", vec!["a".repeat(63); 4].join("."));
    assert!(WireName::from_presentation(&long_name).is_err());
}

#[test]
fn subdomain_test_is_case_insensitive() {
    let zone = name("full.");
    assert!(name("NS1.FULL.").is_subdomain_of(&zone));
    assert!(name("full.").is_subdomain_of(&zone));
    assert!(!name("ns.elsewhere.").is_subdomain_of(&zone));
    assert!(!name("full.x.").is_subdomain_of(&zone));
    assert!(!WireName::root().is_subdomain_of(&zone));
    assert!(zone.is_subdomain_of(&WireName::root()));
}

#[test]
fn txt_escaping_matches_bns() {
    // hns-dns.md §1.4: `a"b\c` is stored as the 4 bytes a"bc and printed back escaped.
    assert_eq!(txt_from_presentation("a\"b\\c").unwrap(), b"a\"bc");
    assert_eq!(txt_to_presentation(b"a\"bc"), "a\\\"bc");
    assert_eq!(
        txt_to_presentation(b"x \\\x00\x7f\xe9"),
        "x \\\\\\000\\127\\233"
    );
    assert_eq!(
        txt_from_presentation("\\000\\255x\\").unwrap(),
        b"\x00\xffx\\"
    );
    assert!(txt_from_presentation("\\256").is_err());
    assert!(txt_from_presentation("\u{e9}").is_err());
    assert!(txt_from_presentation(&"a".repeat(256)).is_err());
    // A 255-byte string of non-printables (1020 characters of JSON) is still accepted.
    let wide = txt_to_presentation(&[1u8; 255]);
    assert_eq!(txt_from_presentation(&wide).unwrap(), vec![1u8; 255]);
}

#[test]
fn ipv6_text_matches_binet() {
    for (addr, text) in [
        ("::", "::"),
        ("::1", "::1"),
        ("::2", "::2"),
        ("2001:db8::1", "2001:db8::1"),
        ("2001:db8:0:0:1:0:0:1", "2001:db8::1:0:0:1"),
        ("2001:0:0:1::1", "2001:0:0:1::1"),
        ("1:0:2:0:3:0:4:0", "1:0:2:0:3:0:4:0"),
        ("1::", "1::"),
        ("::ffff:1.2.3.4", "1.2.3.4"),
        ("::1.2.3.4", "::1.2.3.4"),
        ("::1:0", "::0.1.0.0"),
        ("fd87:d87e:eb43::", "aaaaaaaaaaaaaaaa.onion"),
        (
            "fd87:d87e:eb43:ffff:ffff:ffff:ffff:ffff",
            "7777777777777777.onion",
        ),
    ] {
        let parsed: Ipv6Addr = addr.parse().unwrap();
        assert_eq!(ipv6_to_hsd_string(&parsed), text, "{addr}");
        let res = Resource::new(vec![Record::GLUE6 {
            name: name("ns."),
            addr: parsed,
        }]);
        assert_eq!(Resource::from_json(&res.to_json()).unwrap(), res, "{addr}");
    }
}

#[test]
fn json_import_accepts_hsd_forms_and_rejects_bad_input() {
    let ok = r#"{"name":"x","records":[{"type":"GLUE4","ns":"a.","address":"::ffff:1.2.3.4","extra":1},
        {"type":"DS","keyTag":1,"algorithm":2,"digestType":3,"digest":"ABCD"}]}"#;
    let res = Resource::from_json(ok).unwrap();
    assert_eq!(
        res.records,
        vec![
            Record::GLUE4 {
                name: name("a."),
                addr: Ipv4Addr::new(1, 2, 3, 4)
            },
            Record::DS {
                key_tag: 1,
                algorithm: 2,
                digest_type: 3,
                digest: vec![0xab, 0xcd]
            }
        ]
    );
    for bad in [
        r#"{"records":[{"type":"MX","ns":"a."}]}"#,
        r#"{"records":[{"type":"NS","ns":"a"}]}"#,
        r#"{"records":[{"type":"NS"}]}"#,
        r#"{"records":[{"type":"GLUE4","ns":"a.","address":"::1"}]}"#,
        r#"{"records":[{"type":"GLUE6","ns":"a.","address":"x.onion"}]}"#,
        r#"{"records":[{"type":"SYNTH4","address":"10"}]}"#,
        r#"{"records":[{"type":"DS","keyTag":65536,"algorithm":1,"digestType":1,"digest":""}]}"#,
        r#"{"records":[{"type":"DS","keyTag":1,"algorithm":1,"digestType":1,"digest":"abc"}]}"#,
        r#"{"records":{}}"#,
        r#"[]"#,
    ] {
        assert!(Resource::from_json(bad).is_err(), "{bad}");
    }
    let digest = format!(
        r#"{{"records":[{{"type":"DS","keyTag":1,"algorithm":1,"digestType":1,"digest":"{}"}}]}}"#,
        "00".repeat(256)
    );
    assert!(Resource::from_json(&digest).is_err());
}
