#![allow(clippy::unwrap_used, clippy::panic)]

use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, NSEC, NSEC3};
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
    // The same record twice (and once with another TTL) is the set signed once.
    let mut repeated = records.clone();
    repeated.push(records[0].clone());
    let mut other_ttl = records[0].clone();
    other_ttl.ttl = 7;
    repeated.push(other_ttl);
    assert!(verify_set(&repeated, &owner, RecordType::TXT, &Name::root(), &zsk, NOW).is_ok());
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

// === NSEC3 (RFC 5155 Appendix B: the example zone, salt aabbccdd, 12 iterations) ===

/// The NSEC3 records of RFC 5155 Appendix B, given as `owner-hash next-hash TYPES…`
/// (`opt_out` sets the flags field, 1 in the RFC; hickory's zone parser takes no NSEC3).
fn rfc5155(lines: &[&str], opt_out: bool) -> Vec<Record> {
    lines
        .iter()
        .map(|line| {
            let mut words = line.split(' ');
            let owner = n(&format!("{}.example.", words.next().unwrap()));
            let next = data_encoding::BASE32HEX_NOPAD
                .decode(words.next().unwrap().to_ascii_uppercase().as_bytes())
                .unwrap();
            let types: Vec<RecordType> = words.map(|w| w.parse().unwrap()).collect();
            let nsec3 = NSEC3::new(
                Nsec3HashAlgorithm::SHA1,
                opt_out,
                12,
                vec![0xaa, 0xbb, 0xcc, 0xdd],
                next,
                types,
            );
            Record::from_rdata(owner, 3600, RData::DNSSEC(DNSSECRData::NSEC3(nsec3)))
        })
        .collect()
}

/// B.1: the closest encloser x.w.example, the next closer c.x.w.example, the wildcard
/// *.x.w.example.
const NAME_ERROR: [&str; 3] = [
    "0p9mhaveqvm6t7vbl5lop2u3t2rp3tom 2t7b4g4vsa5smi47k61mv5bv1a22bojr MX DNSKEY NS SOA NSEC3PARAM RRSIG",
    "b4um86eghhds6nea196smvmlo4ors995 gjeqe526plbf1g8mklp59enfd789njgi MX RRSIG",
    "35mthgpgcu1qg68fab165klnsnk3dpvl b4um86eghhds6nea196smvmlo4ors995 NS DS RRSIG",
];

#[test]
fn nsec3_name_error_needs_all_three_records_and_no_opt_out() {
    let qname = n("a.c.x.w.example.");
    let chain = Nsec3Chain::from_section(&rfc5155(&NAME_ERROR, false), &qname).unwrap();
    assert_eq!(chain.zone(), &n("example."));
    assert_eq!(chain.prove_name_error(&qname), Ok(n("x.w.example.")));
    // Any of the three missing: no proof.
    for left_out in 0..3 {
        let lines: Vec<&str> = (0..3)
            .filter(|i| *i != left_out)
            .map(|i| NAME_ERROR[i])
            .collect();
        let chain = Nsec3Chain::from_section(&rfc5155(&lines, false), &qname).unwrap();
        assert!(
            chain.prove_name_error(&qname).is_err(),
            "without line {left_out}"
        );
    }
    // As published (opt-out): an unsigned delegation may hide at c.x.w.example.
    let chain = Nsec3Chain::from_section(&rfc5155(&NAME_ERROR, true), &qname).unwrap();
    assert_eq!(
        chain.prove_name_error(&qname),
        Err(Nsec3Error::OptOut(n("c.x.w.example.")))
    );
    // The encloser itself exists: the same records deny nothing about it.
    let chain = Nsec3Chain::from_section(&rfc5155(&NAME_ERROR, false), &qname).unwrap();
    assert_eq!(
        chain.prove_name_error(&n("x.w.example.")),
        Err(Nsec3Error::NameExists(n("x.w.example.")))
    );
}

#[test]
fn nsec3_no_data_at_the_name_and_at_a_wildcard() {
    // B.2: ns1.example has A, not MX.
    let b2 = ["2t7b4g4vsa5smi47k61mv5bv1a22bojr 2vptu5timamqttgl4luu9kg21e0aor3s A RRSIG"];
    let ns1 = n("ns1.example.");
    let chain = Nsec3Chain::from_section(&rfc5155(&b2, true), &ns1).unwrap();
    assert_eq!(chain.prove_no_data(&ns1, RecordType::MX), Ok(()));
    assert_eq!(
        chain.prove_no_data(&ns1, RecordType::A),
        Err(Nsec3Error::TypeNotDenied(ns1.clone(), RecordType::A))
    );
    // B.5: a.z.w.example AAAA, from *.w.example (which has MX only).
    let b5 = [
        "k8udemvp1j2f7eg6jebps17vp3n8i58h kohar7mbb8dc2ce8a9qvl8hon4k53uhi",
        "q04jkcevqvmu85r014c7dkba38o0ji5r r53bq7cc2uvmubfu5ocmm6pers9tk9en A RRSIG",
        "r53bq7cc2uvmubfu5ocmm6pers9tk9en t644ebqk9bibcna874givr6joj62mlhv MX RRSIG",
    ];
    let qname = n("a.z.w.example.");
    let chain = Nsec3Chain::from_section(&rfc5155(&b5, false), &qname).unwrap();
    assert_eq!(chain.prove_no_data(&qname, RecordType::AAAA), Ok(()));
    assert!(chain.prove_no_data(&qname, RecordType::MX).is_err());
    // Without the wildcard's own record nothing says what *.w.example holds.
    let chain = Nsec3Chain::from_section(&rfc5155(&b5[..2], false), &qname).unwrap();
    assert!(chain.prove_no_data(&qname, RecordType::AAAA).is_err());
}

#[test]
fn nsec3_wildcard_answer_needs_its_next_closer_name_covered() {
    // B.4: a.z.w.example MX from *.w.example (RRSIG labels 2): z.w.example must be covered.
    let b4 = ["q04jkcevqvmu85r014c7dkba38o0ji5r r53bq7cc2uvmubfu5ocmm6pers9tk9en A RRSIG"];
    let qname = n("a.z.w.example.");
    let chain = Nsec3Chain::from_section(&rfc5155(&b4, false), &qname).unwrap();
    assert_eq!(chain.prove_no_closer_match(&qname, 2), Ok(()));
    // Claimed from *.z.w.example instead (labels 3): a.z.w.example is not covered.
    assert!(chain.prove_no_closer_match(&qname, 3).is_err());
    assert!(chain.prove_no_closer_match(&qname, 4).is_err());
    let chain = Nsec3Chain::from_section(&rfc5155(&b4, true), &qname).unwrap();
    assert_eq!(
        chain.prove_no_closer_match(&qname, 2),
        Err(Nsec3Error::OptOut(n("z.w.example.")))
    );
}

#[test]
fn nsec3_chains_refuse_costly_foreign_or_malformed_records() {
    let qname = n("a.c.x.w.example.");
    let costly = rfc5155(&NAME_ERROR, false)
        .into_iter()
        .map(|mut r| {
            if let RData::DNSSEC(DNSSECRData::NSEC3(x)) = &r.data {
                r.data = RData::DNSSEC(DNSSECRData::NSEC3(NSEC3::new(
                    x.hash_algorithm(),
                    false,
                    MAX_ITERATIONS + 1,
                    x.salt().to_vec(),
                    x.next_hashed_owner_name().to_vec(),
                    x.type_bit_maps().collect::<Vec<_>>(),
                )));
            }
            r
        })
        .collect::<Vec<_>>();
    assert_eq!(
        Nsec3Chain::from_section(&costly, &qname).unwrap_err(),
        Nsec3Error::TooManyIterations(MAX_ITERATIONS + 1)
    );
    assert!(matches!(
        Nsec3Chain::from_section(&rfc5155(&NAME_ERROR, false), &n("example.com.")),
        Err(Nsec3Error::OutOfZone(_))
    ));
    assert!(matches!(
        Nsec3Chain::from_section(&[], &qname),
        Err(Nsec3Error::NoRecords(_))
    ));
    let mut bad_owner = rfc5155(&NAME_ERROR[..1], false);
    bad_owner[0].name = n("not-a-hash.example.");
    assert!(matches!(
        Nsec3Chain::from_section(&bad_owner, &qname),
        Err(Nsec3Error::BadOwner(_))
    ));
}

proptest::proptest! {
    /// Any chain of NSEC3 records and any name: every proof returns, none panics, and a
    /// proven name error names a closest encloser strictly above the name, inside the zone.
    #[test]
    fn nsec3_proofs_never_panic_on_arbitrary_chains(
        records in proptest::collection::vec(
            (
                proptest::array::uniform20(proptest::num::u8::ANY),
                proptest::array::uniform20(proptest::num::u8::ANY),
                proptest::bool::ANY,
                proptest::collection::vec(1u16..300, 0..4),
            ),
            0..8,
        ),
        labels in proptest::collection::vec("([a-c]{1,2}|\\*)", 0..4),
        wildcard_labels in 0u8..6,
    ) {
        let section: Vec<Record> = records
            .iter()
            .map(|(owner, next, opt_out, types)| {
                let label = data_encoding::BASE32HEX_NOPAD.encode(owner).to_ascii_lowercase();
                let nsec3 = NSEC3::new(
                    Nsec3HashAlgorithm::SHA1,
                    *opt_out,
                    1,
                    vec![0xab],
                    next.to_vec(),
                    types.iter().map(|t| RecordType::from(*t)).collect::<Vec<_>>(),
                );
                Record::from_rdata(
                    n(&format!("{label}.example.")),
                    300,
                    RData::DNSSEC(DNSSECRData::NSEC3(nsec3)),
                )
            })
            .collect();
        let mut qname = n("example.");
        for label in &labels {
            qname = qname.prepend_label(label.as_str()).unwrap();
        }
        if let Ok(chain) = Nsec3Chain::from_section(&section, &qname) {
            let name_error = chain.prove_name_error(&qname);
            let _ = chain.prove_no_data(&qname, RecordType::A);
            let _ = chain.prove_no_closer_match(&qname, wildcard_labels);
            if let Ok(encloser) = name_error {
                proptest::prop_assert!(encloser.zone_of(&qname) && encloser != qname);
                proptest::prop_assert!(chain.zone().zone_of(&encloser));
            }
        }
    }
}

// === NSEC denial ===

/// An NSEC record `owner` → `next` listing `types`.
fn nsec(owner: &str, next: &str, types: &[RecordType]) -> Record {
    Record::from_rdata(
        n(owner),
        300,
        RData::DNSSEC(DNSSECRData::NSEC(NSEC::new(n(next), types.to_vec()))),
    )
}

#[test]
fn nsec_denials_at_the_name_at_a_wildcard_and_by_name_error() {
    use RecordType::{A, CNAME, MX, NS, NSEC as NSEC_TYPE, RRSIG as RRSIG_TYPE, SOA, TXT};
    // example.: apex, a, *.w (MX), x.w, z.
    let zone = [
        nsec("example.", "a.example.", &[SOA, NS, RRSIG_TYPE, NSEC_TYPE]),
        nsec("a.example.", "*.w.example.", &[A, RRSIG_TYPE, NSEC_TYPE]),
        nsec("*.w.example.", "x.w.example.", &[MX, RRSIG_TYPE, NSEC_TYPE]),
        nsec(
            "x.w.example.",
            "z.example.",
            &[CNAME, RRSIG_TYPE, NSEC_TYPE],
        ),
        nsec("z.example.", "example.", &[TXT, RRSIG_TYPE, NSEC_TYPE]),
    ];
    let set = NsecSet::from_section(&zone);
    // At the name.
    assert_eq!(set.prove_no_data(&n("a.example."), TXT), Ok(()));
    assert!(set.prove_no_data(&n("a.example."), A).is_err());
    assert!(
        set.prove_no_data(&n("x.w.example."), TXT).is_err(),
        "CNAME there"
    );
    // At the wildcard: b.w.example does not exist, *.w.example has MX only.
    assert_eq!(set.prove_no_data(&n("b.w.example."), TXT), Ok(()));
    assert!(set.prove_no_data(&n("b.w.example."), MX).is_err());
    // Name errors: the name and the wildcard at its closest encloser covered.
    assert_eq!(set.prove_name_error(&n("b.example.")), Ok(n("example.")));
    assert_eq!(
        set.prove_name_error(&n("b.w.example.")),
        Err(NsecError::WildcardNotDenied(n("*.w.example.")))
    );
    assert!(set.prove_name_error(&n("a.example.")).is_err(), "exists");
    assert_eq!(set.prove_no_closer_match(&n("b.w.example.")), Ok(()));
    assert!(set.prove_no_closer_match(&n("x.w.example.")).is_err());
    // Each record matters for the name error of b.example (a → *.w covers it, example → a
    // covers *.example).
    for left_out in [0, 1] {
        let rest: Vec<Record> = (0..zone.len())
            .filter(|&i| i != left_out)
            .map(|i| zone[i].clone())
            .collect();
        assert!(
            NsecSet::from_section(&rest)
                .prove_name_error(&n("b.example."))
                .is_err()
        );
    }
}

#[test]
fn a_parents_nsec_at_a_delegation_proves_nothing_below_it() {
    use RecordType::{A, DS, NS, NSEC as NSEC_TYPE, RRSIG as RRSIG_TYPE, SOA};
    // The parent's records around the delegation child.example (NS, DS: no SOA).
    let parent = [
        nsec(
            "example.",
            "child.example.",
            &[SOA, NS, RRSIG_TYPE, NSEC_TYPE],
        ),
        nsec(
            "child.example.",
            "www.example.",
            &[NS, DS, RRSIG_TYPE, NSEC_TYPE],
        ),
        nsec("www.example.", "example.", &[A, RRSIG_TYPE, NSEC_TYPE]),
    ];
    let set = NsecSet::from_section(&parent);
    // child.example < nx.child.example < www.example, but that span is the child zone's.
    assert!(matches!(
        set.prove_name_error(&n("nx.child.example.")),
        Err(NsecError::NotCovered(_))
    ));
    assert!(set.prove_no_closer_match(&n("nx.child.example.")).is_err());
    assert!(set.prove_no_data(&n("nx.child.example."), A).is_err());
    // At the cut the parent speaks for DS only.
    assert_eq!(
        set.prove_no_data(&n("child.example."), A),
        Err(NsecError::AncestorDelegation(n("child.example.")))
    );
    assert!(
        set.prove_no_data(&n("child.example."), DS).is_err(),
        "DS is there"
    );
    // A sibling name outside the cut is still denied by the same records.
    assert_eq!(set.prove_name_error(&n("d.example.")), Ok(n("example.")));
}
