#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hickory_proto::rr::RecordType;

use super::*;
use crate::tests::{NOW, TldState, query, rdata_bytes, render, zone};

#[test]
fn bitmaps_match_hsd_hex() {
    for (map, hex_map) in [
        (TypeMap::Root, "000722000000000380"),
        (TypeMap::Empty, "0006000000000003"),
        (TypeMap::Ns, "0006200000000003"),
        (TypeMap::Txt, "0006000080000003"),
        (TypeMap::A, "0006400000000003"),
        (TypeMap::Aaaa, "0006000000080003"),
    ] {
        let set = nsec_set(Name::root(), Name::root(), map);
        let rdata = rdata_bytes(&set.records[0]);
        // The next name `.` is one zero byte, then the bitmap.
        assert_eq!(hex::encode(&rdata[1..]), hex_map, "{map:?}");
        assert_eq!(set.sign, Some(KeyRole::Zsk));
        assert_eq!(set.records[0].ttl, NSEC_TTL);
    }
}

#[test]
fn prev_and_next_follow_hsd() {
    assert_eq!(next_label(b"nonexistent"), b"nonexistent\0");
    assert_eq!(prev_label(b"nonexistent"), b"nonexistens\xff");
    assert_eq!(next_label(b"a-b"), b"a-b\0");
    assert_eq!(prev_label(b"a-b"), b"a-a\xff");
    let long = [b'a'; 63];
    let mut owner = [b'a'; 63];
    owner[62] = 0x60;
    let mut next = [b'a'; 63];
    next[62] = b'b';
    assert_eq!(prev_label(&long), owner);
    assert_eq!(next_label(&long), next);
}

#[test]
fn nxdomain_is_six_authority_records_in_hsd_order() {
    let a = zone()
        .answer(&query("nonexistent.", RecordType::A), TldState::Absent, NOW)
        .unwrap();
    assert_eq!(a.rcode, ResponseCode::NXDomain);
    assert!(a.authoritative);
    assert_eq!(
        render(&a),
        [
            "AU nonexistens\\255. 21600 IN NSEC nonexistent\\000. RRSIG NSEC",
            "AU RRSIG(NSEC) Zsk",
            // hickory's rdata text escapes `+`; the bytes are checked below.
            "AU !. 21600 IN NSEC \\+. RRSIG NSEC",
            "AU RRSIG(NSEC) Zsk",
            "AU . 86400 IN SOA . . 2023111422 1800 900 604800 21600",
            "AU RRSIG(SOA) Zsk",
        ]
    );
    let wildcard = &a.authority[1].records[0];
    assert_eq!(wildcard.name.iter().collect::<Vec<_>>(), [b"!"]);
    assert_eq!(rdata_bytes(wildcard)[..3], [1, b'+', 0]);
    // The same answer below the TLD, for any type, and for a name whose data was emptied.
    for (name, qtype, state) in [
        (
            "anything.below.nonexistent.",
            RecordType::TXT,
            TldState::Absent,
        ),
        ("NonExistent.", RecordType::DS, TldState::Exists(&[])),
    ] {
        let b = zone().answer(&query(name, qtype), state, NOW).unwrap();
        assert_eq!(a, b, "{name}");
    }
}

#[test]
fn nxdomain_for_a_63_octet_tld_has_no_padding_bytes() {
    let label = "a".repeat(63);
    let a = zone()
        .answer(
            &query(&format!("{label}."), RecordType::A),
            TldState::Absent,
            NOW,
        )
        .unwrap();
    let nsec = &a.authority[0].records[0];
    assert_eq!(
        nsec.name.iter().next().unwrap(),
        prev_label(label.as_bytes())
    );
    let rdata = rdata_bytes(nsec);
    // Next name: length 63, the label, the root.
    assert_eq!(rdata[0], 63);
    assert_eq!(&rdata[1..64], next_label(label.as_bytes()).as_slice());
    assert_eq!(rdata[64], 0);
}
