#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType::{A, AAAA, ANY, TXT};

use crate::tests::{NOW, TldState, query, render, zone};

const SOA: &str = "AU . 86400 IN SOA . . 2023111422 1800 900 604800 21600";

fn ask(name: &str, qtype: hickory_proto::rr::RecordType) -> Vec<String> {
    let a = zone()
        .answer(&query(name, qtype), TldState::NotLookedUp, NOW)
        .unwrap();
    assert_eq!((a.rcode, a.authoritative), (ResponseCode::NoError, true));
    render(&a)
}

#[test]
fn synth_tld_is_an_empty_non_terminal() {
    assert_eq!(
        ask("_synth.", A),
        [
            "AU _synth. 21600 IN NSEC \\000._synth. RRSIG NSEC",
            "AU RRSIG(NSEC) Zsk",
            SOA,
            "AU RRSIG(SOA) Zsk",
        ]
    );
}

#[test]
fn synth_v4_and_mapped_answer_a() {
    for name in [
        "_fs0000g._synth.",
        "_FS0000G._synth.",
        "_0000000000000000vvvnu00008._synth.",
    ] {
        let lower = name.to_ascii_lowercase();
        assert_eq!(
            ask(name, A),
            [
                format!("AN {lower} 21600 IN A 127.0.0.2"),
                "AN RRSIG(A) Zsk".into()
            ]
        );
        for qtype in [AAAA, TXT, ANY] {
            assert_eq!(
                ask(name, qtype),
                [
                    format!("AU {lower} 21600 IN NSEC \\000.{lower} A RRSIG NSEC"),
                    "AU RRSIG(NSEC) Zsk".into(),
                    SOA.into(),
                    "AU RRSIG(SOA) Zsk".into(),
                ]
            );
        }
    }
}

#[test]
fn synth_v6_answers_aaaa() {
    let name = "_00000000000000000000000008._synth.";
    assert_eq!(
        ask(name, AAAA),
        [
            format!("AN {name} 21600 IN AAAA ::2"),
            "AN RRSIG(AAAA) Zsk".into()
        ]
    );
    assert_eq!(
        ask(name, A)[0],
        format!("AU {name} 21600 IN NSEC \\000.{name} AAAA RRSIG NSEC")
    );
}

#[test]
fn malformed_synth_labels_are_servfail() {
    for name in [
        "_fs0000h._synth.",
        "_fs0000._synth.",
        "_._synth.",
        "_fs000!g._synth.",
    ] {
        let err = zone()
            .answer(&query(name, A), TldState::NotLookedUp, NOW)
            .unwrap_err();
        assert_eq!(err.rcode(), ResponseCode::ServFail, "{name}");
    }
}
