#![allow(clippy::unwrap_used, clippy::panic)]

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData};
use hickory_proto::rr::rdata::TXT;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hnsfleet_root_zone::{KeyRole, dnskey, rrsig};

use super::*;

const NOW: u64 = 1_800_000_000;

fn n(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn key(role: KeyRole) -> DNSKEY {
    match dnskey(role).data {
        RData::DNSSEC(DNSSECRData::DNSKEY(k)) => k,
        _ => panic!("not a DNSKEY"),
    }
}

/// A TXT set at `owner` and its RRSIG by the HNS root's ZSK, signed at `NOW`.
fn signed_txt(owner: &str) -> Vec<Record> {
    let set = vec![Record::from_rdata(
        n(owner),
        300,
        RData::TXT(TXT::new(vec!["hello".into()])),
    )];
    let sig = rrsig(&set, KeyRole::Zsk, NOW).unwrap();
    let mut records = set;
    records.push(sig);
    records
}

#[test]
fn the_anchors_parse_and_the_hns_one_is_the_root_zones_ksk() {
    let hns = parse_anchors(HNS_ROOT_ANCHOR).unwrap();
    let RData::DNSSEC(DNSSECRData::DS(ds)) = &hns[0].data else {
        panic!("not a DS")
    };
    assert!(ds.covers(&Name::root(), &key(KeyRole::Ksk)).unwrap());
    assert!(!ds.covers(&Name::root(), &key(KeyRole::Zsk)).unwrap());
    assert_eq!(parse_anchors(ICANN_ROOT_ANCHORS).unwrap().len(), 2);
    for bad in [
        "",
        ". IN A 127.0.0.1",
        "com. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D",
        ". IN DS 1 8 2 zz",
    ] {
        assert!(parse_anchors(bad).is_err(), "{bad:?}");
    }
}

#[test]
fn a_set_verifies_with_its_signers_key_within_the_validity_only() {
    let records = signed_txt("example.");
    let owner = n("example.");
    let zsk = [key(KeyRole::Zsk)];
    let ttl = verify_set(&records, &owner, RecordType::TXT, &Name::root(), &zsk, NOW).unwrap();
    assert_eq!(ttl, 300);
    // Another key, another signer, before the inception, after the expiration.
    let ksk = [key(KeyRole::Ksk)];
    let no = |r: Result<u32, SetError>| matches!(r, Err(SetError::NoValidSignature { .. }));
    assert!(no(verify_set(
        &records,
        &owner,
        RecordType::TXT,
        &Name::root(),
        &ksk,
        NOW
    )));
    assert!(no(verify_set(
        &records,
        &owner,
        RecordType::TXT,
        &owner,
        &zsk,
        NOW
    )));
    assert!(no(verify_set(
        &records,
        &owner,
        RecordType::TXT,
        &Name::root(),
        &zsk,
        NOW - 2 * 86400
    )));
    assert!(no(verify_set(
        &records,
        &owner,
        RecordType::TXT,
        &Name::root(),
        &zsk,
        NOW + 2 * 31_536_000
    )));
    // Another record in the set, or none at all.
    let mut more = records.clone();
    more.push(Record::from_rdata(
        n("example."),
        300,
        RData::TXT(TXT::new(vec!["forged".into()])),
    ));
    assert!(no(verify_set(
        &more,
        &owner,
        RecordType::TXT,
        &Name::root(),
        &zsk,
        NOW
    )));
    assert_eq!(
        verify_set(&records, &owner, RecordType::A, &Name::root(), &zsk, NOW),
        Err(SetError::Empty)
    );
}

#[test]
fn a_dnskey_set_is_valid_under_a_ds_that_names_its_signing_key() {
    let keys = vec![dnskey(KeyRole::Ksk), dnskey(KeyRole::Zsk)];
    let mut records = keys.clone();
    records.push(rrsig(&keys, KeyRole::Ksk, NOW).unwrap());
    let anchors = parse_anchors(HNS_ROOT_ANCHOR).unwrap();
    let ds = ds_of(&anchors);
    let valid = validate_keys(&records, &Name::root(), &ds, NOW).unwrap();
    assert_eq!(valid.len(), 2);
    // Signed by the ZSK only: the DS names the KSK.
    let mut zsk_signed = keys.clone();
    zsk_signed.push(rrsig(&keys, KeyRole::Zsk, NOW).unwrap());
    assert!(validate_keys(&zsk_signed, &Name::root(), &ds, NOW).is_err());
    // ICANN's anchors name none of these keys.
    let icann = ds_of(&parse_anchors(ICANN_ROOT_ANCHORS).unwrap());
    assert!(validate_keys(&records, &Name::root(), &icann, NOW).is_err());
}

#[test]
fn nsec_coverage_follows_canonical_order() {
    assert!(nsec_covers(
        &n("a.example."),
        &n("d.example."),
        &n("b.example.")
    ));
    assert!(nsec_covers(
        &n("a.example."),
        &n("d.example."),
        &n("x.b.example.")
    ));
    assert!(!nsec_covers(
        &n("a.example."),
        &n("d.example."),
        &n("a.example.")
    ));
    assert!(!nsec_covers(
        &n("a.example."),
        &n("d.example."),
        &n("d.example.")
    ));
    assert!(!nsec_covers(
        &n("a.example."),
        &n("d.example."),
        &n("e.example.")
    ));
    // The zone's last NSEC wraps to the apex.
    assert!(nsec_covers(
        &n("z.example."),
        &n("example."),
        &n("zz.example.")
    ));
    assert!(!nsec_covers(&n("z.example."), &n("example."), &n("other.")));
    // The root zone's last NSEC covers everything after it.
    assert!(nsec_covers(&n("zw."), &Name::root(), &n("zz.")));
    assert!(!nsec_covers(&n("zw."), &Name::root(), &n("ab.")));
}
