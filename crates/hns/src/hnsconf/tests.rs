#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use hnsfleet_fuzz_bodies as fuzz;
use proptest::prelude::*;

use super::*;
use crate::sig0::{REGTEST_KEY_HEX, Sig0Error, Sig0Key};

// hns-dns.md §5.5.
const SPEC_LINE: &str =
    "nameserver aorsxa4ylaacshipyjkfbvzfkh3jhh4yowtoqdt64nzemqtiw2whk@127.0.0.1:25350";
const KEY: &str = "aorsxa4ylaacshipyjkfbvzfkh3jhh4yowtoqdt64nzemqtiw2whk";

fn regtest_key() -> Sig0PublicKey {
    Sig0Key::from_hex(REGTEST_KEY_HEX).unwrap().public_key()
}

#[test]
fn spec_example_line() {
    let conf = HnsConf::parse(SPEC_LINE).unwrap();
    assert_eq!(
        conf.nameservers,
        vec![HnsNameserver {
            key: Some(regtest_key()),
            addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
            port: 25350,
        }]
    );
    assert!(conf.directives.is_empty());
    assert_eq!(conf.to_string(), format!("{SPEC_LINE}\n"));
    assert_eq!(
        conf.nameservers[0].to_string(),
        format!("{KEY}@127.0.0.1:25350")
    );
}

#[test]
fn full_file_with_comments_and_directives() {
    let text = format!(
        "# hns.conf\n\
         ; another comment\n\
         \n\
         domain example\n\
         nameserver 127.0.0.1\n\
         \tnameserver   {KEY}@[::1]:5350   # local hsd\n\
         search a.example b.example\n\
         nameserver ::1\n\
         nameserver {KEY}@10.0.0.1;trailing comment\n\
         options ndots:1 timeout:2\n\
         options\n"
    );
    let conf = HnsConf::parse(&text).unwrap();
    let key = Some(regtest_key());
    assert_eq!(
        conf.nameservers,
        vec![
            HnsNameserver {
                key: None,
                addr: IpAddr::V4(Ipv4Addr::LOCALHOST),
                port: 53
            },
            HnsNameserver {
                key,
                addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
                port: 5350
            },
            HnsNameserver {
                key: None,
                addr: IpAddr::V6(Ipv6Addr::LOCALHOST),
                port: 53
            },
            HnsNameserver {
                key,
                addr: IpAddr::V4(Ipv4Addr::new(10, 0, 0, 1)),
                port: 53
            },
        ]
    );
    let keywords: Vec<_> = conf.directives.iter().map(|d| d.keyword.as_str()).collect();
    assert_eq!(keywords, ["domain", "search", "options", "options"]);
    assert_eq!(conf.directives[1].args, ["a.example", "b.example"]);
    assert!(conf.directives[3].args.is_empty());
    let canonical = format!(
        "nameserver 127.0.0.1\n\
         nameserver {KEY}@[::1]:5350\n\
         nameserver ::1\n\
         nameserver {KEY}@10.0.0.1\n\
         domain example\n\
         search a.example b.example\n\
         options ndots:1 timeout:2\n\
         options\n"
    );
    assert_eq!(conf.to_string(), canonical);
    assert_eq!(HnsConf::parse(&canonical).unwrap(), conf);
    assert_eq!(HnsConf::parse("").unwrap(), HnsConf::default());
}

#[test]
fn host_port_forms() {
    let cases: [(&str, IpAddr, u16); 6] = [
        ("1.2.3.4", IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)), 53),
        ("1.2.3.4:5353", IpAddr::V4(Ipv4Addr::new(1, 2, 3, 4)), 5353),
        ("[2001:db8::1]", "2001:db8::1".parse().unwrap(), 53),
        ("[2001:db8::1]:853", "2001:db8::1".parse().unwrap(), 853),
        ("2001:db8::1", "2001:db8::1".parse().unwrap(), 53),
        ("[::ffff:1.2.3.4]:1", "::ffff:1.2.3.4".parse().unwrap(), 1),
    ];
    for (text, addr, port) in cases {
        let ns: HnsNameserver = text.parse().unwrap();
        assert_eq!((ns.addr, ns.port, ns.key), (addr, port, None), "{text}");
        assert_eq!(ns.to_string().parse::<HnsNameserver>().unwrap(), ns);
    }
    let v6: HnsNameserver = "[::1]:53".parse().unwrap();
    assert_eq!(v6.to_string(), "::1");
    let v6: HnsNameserver = "[::1]:54".parse().unwrap();
    assert_eq!(v6.to_string(), "[::1]:54");
}

#[test]
fn the_whitepaper_form_names_the_key_after_the_address() {
    let hex = regtest_key().to_hex();
    for line in [
        format!("nameserver 127.0.0.1:25350 {KEY}"),
        format!("nameserver 127.0.0.1:25350 {}", KEY.to_ascii_uppercase()),
        format!("nameserver 127.0.0.1:25350 {hex}"),
    ] {
        let conf = HnsConf::parse(&line).unwrap();
        assert_eq!(conf.nameservers[0].key, Some(regtest_key()), "{line}");
        assert_eq!(conf.nameservers[0].port, 25350);
        // Printed in the canonical (libhns) form, which parses back to the same value.
        assert_eq!(conf.to_string(), format!("{SPEC_LINE}\n"));
    }
    // Both forms at once, or anything after the key, is refused.
    for (line, extra) in [
        (format!("nameserver {KEY}@127.0.0.1 {KEY}"), KEY.to_string()),
        (
            format!("nameserver 127.0.0.1 {KEY} more"),
            "more".to_string(),
        ),
    ] {
        let err = HnsConf::parse(&line).unwrap_err();
        assert_eq!(err.cause, NameserverError::ExtraArgument(extra), "{line}");
    }
    // A key that is neither base32 nor 66 hex digits names its encoding.
    let err = HnsConf::parse("nameserver 127.0.0.1 00ff").unwrap_err();
    assert!(matches!(err.cause, NameserverError::Key(_)), "{err}");
}

#[test]
fn errors_name_line_and_cause() {
    let cases: [(&str, NameserverError); 14] = [
        ("nameserver", NameserverError::MissingAddress),
        (
            "nameserver 1.2.3.4 5.6.7.8",
            NameserverError::Key(Sig0Error::PublicKeyEncoding("base32")),
        ),
        (
            "nameserver ns.example",
            NameserverError::Address("ns.example".into()),
        ),
        (
            "nameserver ns.example:53",
            NameserverError::Address("ns.example:53".into()),
        ),
        ("nameserver 1.2.3.4:", NameserverError::Port("".into())),
        ("nameserver 1.2.3.4:0", NameserverError::Port("0".into())),
        (
            "nameserver 1.2.3.4:+53",
            NameserverError::Port("+53".into()),
        ),
        (
            "nameserver 1.2.3.4:65536",
            NameserverError::Port("65536".into()),
        ),
        ("nameserver [::1", NameserverError::Address("[::1".into())),
        (
            "nameserver [::1]53",
            NameserverError::Address("[::1]53".into()),
        ),
        (
            "nameserver [1.2.3.4]:53",
            NameserverError::Address("[1.2.3.4]:53".into()),
        ),
        (
            "nameserver fe80::1%eth0",
            NameserverError::Address("fe80::1%eth0".into()),
        ),
        (
            "nameserver @1.2.3.4",
            NameserverError::Key(crate::sig0::Sig0Error::PublicKeyLength { len: 0 }),
        ),
        (
            "nameserver aaaa@1.2.3.4",
            NameserverError::Key(crate::sig0::Sig0Error::PublicKeyLength { len: 2 }),
        ),
    ];
    for (line, cause) in cases {
        let text = format!("# header\n\n{line}\n");
        let err = HnsConf::parse(&text).unwrap_err();
        assert_eq!(err, HnsConfError { line: 3, cause }, "{line}");
        assert!(err.to_string().starts_with("hns.conf line 3: "), "{err}");
    }
    // A key that decodes to 33 bytes but is not a curve point.
    let bad_point = data_encoding::BASE32_NOPAD
        .encode(&[0x05; 33])
        .to_ascii_lowercase();
    assert_eq!(
        HnsNameserver::parse(&format!("{bad_point}@1.2.3.4")),
        Err(NameserverError::Key(
            crate::sig0::Sig0Error::InvalidPublicKey
        ))
    );
}

#[test]
fn fuzz_body_over_spec_line_and_mutations() {
    assert!(fuzz::hnsconf(SPEC_LINE.as_bytes()));
    assert!(!fuzz::hnsconf(b"\xff\xfe"));
    let bytes = SPEC_LINE.as_bytes();
    for i in 0..bytes.len() {
        for b in [b'@', b':', b'[', b']', b' ', b'#', b'\n', b'0', b'z', 0x80] {
            let mut m = bytes.to_vec();
            m[i] = b;
            fuzz::hnsconf(&m);
        }
        fuzz::hnsconf(&bytes[..i]);
    }
}

fn arb_nameserver() -> impl Strategy<Value = HnsNameserver> {
    let addr = prop_oneof![
        any::<[u8; 4]>().prop_map(|b| IpAddr::V4(Ipv4Addr::from(b))),
        any::<[u8; 16]>().prop_map(|b| IpAddr::V6(Ipv6Addr::from(b))),
    ];
    let key = proptest::option::of(any::<[u8; 32]>().prop_filter_map("valid scalar", |s| {
        Sig0Key::from_bytes(&s).ok().map(|k| k.public_key())
    }));
    (key, addr, prop_oneof![Just(53u16), 1..=u16::MAX])
        .prop_map(|(key, addr, port)| HnsNameserver { key, addr, port })
}

fn arb_directive() -> impl Strategy<Value = HnsDirective> {
    (
        "[a-z][a-z0-9_-]{0,12}".prop_filter("not nameserver", |k| k != "nameserver"),
        proptest::collection::vec("[a-zA-Z0-9.:_/-]{1,20}", 0..4),
    )
        .prop_map(|(keyword, args)| HnsDirective { keyword, args })
}

proptest! {
    #[test]
    fn print_parse_round_trip(
        nameservers in proptest::collection::vec(arb_nameserver(), 0..6),
        directives in proptest::collection::vec(arb_directive(), 0..6),
    ) {
        let conf = HnsConf { nameservers, directives };
        let text = conf.to_string();
        prop_assert_eq!(HnsConf::parse(&text), Ok(conf.clone()));
        for ns in &conf.nameservers {
            prop_assert_eq!(ns.to_string().parse::<HnsNameserver>(), Ok(ns.clone()));
        }
    }

    #[test]
    fn parse_never_panics(text in "(\\PC|\\n|@|:|\\[|\\]){0,200}") {
        let _ = HnsConf::parse(&text);
        fuzz::hnsconf(text.as_bytes());
    }
}
