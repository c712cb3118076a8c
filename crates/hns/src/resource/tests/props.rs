#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, Ipv6Addr};

use hnsfleet_fuzz_bodies as fuzz;
use proptest::prelude::*;

use super::super::*;

// --- property tests ---

fn arb_label() -> impl Strategy<Value = Vec<u8>> {
    prop_oneof![
        prop::sample::select(vec![
            b"ns1".to_vec(),
            b"hns".to_vec(),
            b"NS1".to_vec(),
            b"a.b".to_vec(),
            b"_synth".to_vec(),
            vec![0, 0xff],
        ]),
        prop::collection::vec(any::<u8>(), 1..=63),
    ]
}

fn arb_name() -> impl Strategy<Value = WireName> {
    prop::collection::vec(arb_label(), 0..4).prop_filter_map("name too long", |labels| {
        WireName::from_labels(labels.iter().map(Vec::as_slice)).ok()
    })
}

fn arb_record() -> impl Strategy<Value = Record> {
    prop_oneof![
        (
            any::<u16>(),
            any::<u8>(),
            any::<u8>(),
            prop::collection::vec(any::<u8>(), 0..40)
        )
            .prop_map(|(key_tag, algorithm, digest_type, digest)| Record::DS {
                key_tag,
                algorithm,
                digest_type,
                digest
            }),
        arb_name().prop_map(|name| Record::NS { name }),
        (arb_name(), any::<u32>()).prop_map(|(name, a)| Record::GLUE4 {
            name,
            addr: Ipv4Addr::from(a)
        }),
        (arb_name(), any::<u128>()).prop_map(|(name, a)| Record::GLUE6 {
            name,
            addr: Ipv6Addr::from(a)
        }),
        any::<u32>().prop_map(|a| Record::SYNTH4 {
            addr: Ipv4Addr::from(a)
        }),
        any::<u128>().prop_map(|a| Record::SYNTH6 {
            addr: Ipv6Addr::from(a)
        }),
        prop::collection::vec(prop::collection::vec(any::<u8>(), 0..30), 0..4)
            .prop_map(|strings| Record::TXT { strings }),
    ]
}

fn arb_resource() -> impl Strategy<Value = Resource> {
    prop::collection::vec(arb_record(), 0..8).prop_map(Resource::new)
}

proptest! {
    #[test]
    fn encode_decode_round_trips(res in arb_resource()) {
        match res.encode() {
            Ok(raw) => {
                prop_assert!(raw.len() <= MAX_RESOURCE_SIZE);
                prop_assert_eq!(Resource::decode(&raw), Ok(res.clone()));
                prop_assert!(fuzz::resource(&raw));
            }
            Err(ResourceError::TooLarge { size }) => prop_assert!(size > MAX_RESOURCE_SIZE),
            Err(other) => prop_assert!(false, "unexpected {other}"),
        }
    }

    #[test]
    fn json_round_trips(res in arb_resource()) {
        let json = res.to_json();
        prop_assert_eq!(Resource::from_json(&json), Ok(res.clone()));
        let pretty = res.to_json_pretty();
        prop_assert_eq!(Resource::from_json(&pretty), Ok(res));
    }

    #[test]
    fn presentation_round_trips(n in arb_name()) {
        prop_assert_eq!(WireName::from_presentation(&n.to_presentation()), Ok(n));
    }

    #[test]
    fn ipv6_text_is_standard_outside_binet_special_cases(a in any::<u128>()) {
        let addr = Ipv6Addr::from(a);
        let s = addr.segments();
        let special = s[..6] == [0; 6]
            || s[..5] == [0; 5] && s[5] == 0xffff
            || s[..3] == [0xfd87, 0xd87e, 0xeb43];
        if !special {
            prop_assert_eq!(ipv6_to_hsd_string(&addr), addr.to_string());
        }
    }

    #[test]
    fn decoder_never_panics(data in prop::collection::vec(any::<u8>(), 0..80)) {
        let _ = Resource::decode(&data);
        let mut versioned = vec![0];
        versioned.extend_from_slice(&data);
        fuzz::resource(&versioned);
    }
}
