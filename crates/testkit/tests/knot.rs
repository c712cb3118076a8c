//! The Knot harness against the real knotd: signed zones carry RRSIGs that verify under the
//! served DNSKEYs, keymgr's DS matches those keys, unsigned zones carry no DNSSEC records, and
//! a bogus zone's broken signatures fail while its others still verify.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::net::SocketAddr;

use hickory_proto::dnssec::Verifier;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, RRSIG};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hnsfleet_testkit::knot::{KeyModel, Knot, KnotError, Signing, ZoneSpec};

fn zone(origin: &str) -> String {
    format!(
        "$ORIGIN {origin}\n$TTL 3600\n@ SOA ns.{origin} host.{origin} 1 3600 900 604800 300\n\
         @ NS ns.{origin}\nns A 127.0.0.41\nwww A 192.0.2.1\n"
    )
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn dnskeys(records: &[Record]) -> Vec<DNSKEY> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some(k.clone()),
            _ => None,
        })
        .collect()
}

/// Verifies every RRSIG over `rtype` in the answer with the key its tag names; returns how many
/// verified and how many failed.
fn check_sigs(msg: &Message, rtype: RecordType, keys: &[DNSKEY]) -> (usize, usize) {
    let (mut ok, mut bad) = (0, 0);
    for r in &msg.answers {
        let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &r.data else {
            continue;
        };
        let sig: &RRSIG = sig;
        if sig.input().type_covered != rtype {
            continue;
        }
        let key = keys
            .iter()
            .find(|k| k.calculate_key_tag().unwrap() == sig.input().key_tag)
            .expect("signing key is served");
        let set = msg.answers.iter().filter(|a| a.record_type() == rtype);
        match key.verify_rrsig(&r.name, DNSClass::IN, sig, set) {
            Ok(()) => ok += 1,
            Err(_) => bad += 1,
        }
    }
    (ok, bad)
}

fn addr(last: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, last], 53))
}

#[tokio::test]
async fn signed_unsigned_and_bogus_zones() {
    let zones = vec![
        ZoneSpec::signed("com.", &zone("com.")).unwrap(),
        ZoneSpec::new("org.", &zone("org."), Signing::Signed(KeyModel::KskZsk)).unwrap(),
        ZoneSpec::unsigned("net.", &zone("net.")).unwrap(),
        ZoneSpec::new(
            "bad.",
            &zone("bad."),
            Signing::Bogus {
                model: KeyModel::Csk,
                corrupt: RecordType::A,
            },
        )
        .unwrap(),
    ];
    let knot = Knot::start(addr(41), zones).await.expect("knotd starts");

    // com: one CSK; the SOA and A answers are signed by it; keymgr's DS covers it.
    let com = knot.keys(&name("com.")).expect("com keys");
    let keys = dnskeys(&com.dnskey);
    assert_eq!(keys.len(), 1);
    assert_eq!(keys[0].flags(), 257);
    assert_eq!(com.dnskey_text.len(), 1);
    assert!(
        com.ds_text.iter().any(|l| l.contains(" DS ")),
        "{:?}",
        com.ds_text
    );
    for ds in &com.ds {
        let RData::DNSSEC(DNSSECRData::DS(ds)) = &ds.data else {
            panic!("not a DS")
        };
        assert!(ds.covers(&name("com."), &keys[0]).unwrap(), "{ds}");
    }
    let soa = knot.query(&name("com."), RecordType::SOA).await.unwrap();
    assert!(soa.metadata.authoritative);
    assert_eq!(check_sigs(&soa, RecordType::SOA, &keys), (1, 0));
    let www = knot.query(&name("www.com."), RecordType::A).await.unwrap();
    assert_eq!(check_sigs(&www, RecordType::A, &keys), (1, 0));
    let missing = knot.query(&name("nope.com."), RecordType::A).await.unwrap();
    assert_eq!(missing.metadata.response_code, ResponseCode::NXDomain);
    assert!(
        missing
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::NSEC)
    );

    // org: KSK + ZSK; the DS covers the KSK only, the ZSK signs the SOA.
    let org = knot.keys(&name("org.")).expect("org keys");
    let keys = dnskeys(&org.dnskey);
    let mut flags: Vec<u16> = keys.iter().map(DNSKEY::flags).collect();
    flags.sort();
    assert_eq!(flags, [256, 257]);
    for ds in &org.ds {
        let RData::DNSSEC(DNSSECRData::DS(ds)) = &ds.data else {
            panic!("not a DS")
        };
        let covered: Vec<u16> = keys
            .iter()
            .filter(|k| ds.covers(&name("org."), k).unwrap())
            .map(DNSKEY::flags)
            .collect();
        assert_eq!(covered, [257]);
    }
    let soa = knot.query(&name("org."), RecordType::SOA).await.unwrap();
    assert_eq!(check_sigs(&soa, RecordType::SOA, &keys), (1, 0));

    // net: served as written.
    assert!(knot.keys(&name("net.")).is_none());
    let soa = knot.query(&name("net."), RecordType::SOA).await.unwrap();
    assert!(
        soa.answers
            .iter()
            .all(|r| r.record_type() == RecordType::SOA)
    );
    assert_eq!(soa.answers.len(), 1);

    // bad: the A signatures are broken, the SOA one is not.
    let bad = knot.keys(&name("bad.")).expect("bad keys");
    let keys = dnskeys(&bad.dnskey);
    let soa = knot.query(&name("bad."), RecordType::SOA).await.unwrap();
    assert_eq!(check_sigs(&soa, RecordType::SOA, &keys), (1, 0));
    let www = knot.query(&name("www.bad."), RecordType::A).await.unwrap();
    assert_eq!(check_sigs(&www, RecordType::A, &keys), (0, 1));
}

#[tokio::test]
async fn drop_stops_the_server_and_errors_are_clear() {
    let knot = Knot::start(
        addr(44),
        vec![ZoneSpec::unsigned("example.", &zone("example.")).unwrap()],
    )
    .await
    .expect("knotd starts");
    let dir = knot.dir().to_path_buf();
    assert!(knot.query(&name("example."), RecordType::SOA).await.is_ok());
    drop(knot);
    assert!(!dir.exists(), "temp dir removed");
    let after = hnsfleet_testkit::knot::query_udp(
        addr(44),
        &name("example."),
        RecordType::SOA,
        std::time::Duration::from_millis(300),
    )
    .await;
    assert!(matches!(after, Err(KnotError::Query { .. })), "{after:?}");

    // A zone that does not parse: knotd refuses it and the harness says so instead of hanging.
    let broken = ZoneSpec::unsigned("broken.", "this is not a zone\n").unwrap();
    let err = Knot::start(addr(45), vec![broken]).await.unwrap_err();
    assert!(matches!(err, KnotError::ZoneRejected { .. }), "{err}");
    // A bogus zone must name a type it has signatures for.
    let none = ZoneSpec::new(
        "nods.",
        &zone("nods."),
        Signing::Bogus {
            model: KeyModel::Csk,
            corrupt: RecordType::DS,
        },
    )
    .unwrap();
    let err = Knot::start(addr(46), vec![none]).await.unwrap_err();
    assert!(matches!(err, KnotError::Setup(_)), "{err}");
}
