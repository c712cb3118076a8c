use hnsfleet_fuzz_bodies as fuzz;
use proptest::prelude::*;
use serde_json::Value;

use super::*;
use crate::name::name_hash;

fn vectors() -> Value {
    serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/regtest/regtest-names-proofs.json"
    )))
    .unwrap()
}

fn regtest_rules() -> NameRules {
    crate::params::Network::Regtest.params().names
}

#[test]
fn real_name_states_decode_reencode_and_match_hsd_json() {
    let v = vectors();
    let height = u32::try_from(v["tipHeight"].as_u64().unwrap()).unwrap();
    for n in v["names"].as_array().unwrap() {
        let raw = hex::decode(n["nameStateRaw"].as_str().unwrap()).unwrap();
        let state = NameState::decode(&raw).unwrap();
        assert_eq!(state.encode(), raw);
        assert!(fuzz::namestate(&raw));
        let name = n["name"].as_str().unwrap();
        assert_eq!(state.name, name.as_bytes());
        assert_eq!(
            state.resource_data().map(hex::encode).as_deref(),
            n["resourceRaw"].as_str()
        );
        let json = serde_json::to_value(state.to_json(&name_hash(name), height, &regtest_rules()))
            .unwrap();
        let mut expected = n["nameState"].clone();
        expected.as_object_mut().unwrap().remove("stats");
        assert_eq!(json, expected, "{name}");
        assert!(!state.is_expired(height, &regtest_rules()));
    }
}

#[test]
fn every_truncation_and_bad_flag_is_a_typed_error() {
    let v = vectors();
    let raw = hex::decode(v["names"][0]["nameStateRaw"].as_str().unwrap()).unwrap();
    for len in 0..raw.len() {
        assert!(NameState::decode(&raw[..len]).is_err(), "prefix {len}");
    }
    let mut trailing = raw.clone();
    trailing.push(0);
    assert!(matches!(
        NameState::decode(&trailing),
        Err(NameStateError::Decode(DecodeError::TrailingBytes {
            count: 1
        }))
    ));
    // Every single-byte change either fails or decodes to a different state; never panics.
    let original = NameState::decode(&raw).unwrap();
    for i in 0..raw.len() {
        for x in [0x01u8, 0x80, 0xff] {
            let mut m = raw.clone();
            m[i] ^= x;
            fuzz::namestate(&m);
            if let Ok(s) = NameState::decode(&m) {
                assert_ne!(s, original, "byte {i} ^ {x:#x}");
            }
        }
    }
}

#[test]
fn limits_and_non_canonical_fields() {
    let base = NameState {
        name: b"x".to_vec(),
        data: vec![0],
        height: 1,
        renewal: 1,
        ..NameState::default()
    };
    let mut bytes = base.encode();
    // Unknown flag bit 10.
    let field_at = 1 + 1 + 2 + 1 + 8;
    bytes[field_at + 1] |= 0x04;
    assert_eq!(
        NameState::decode(&bytes),
        Err(NameStateError::UnknownFlags(1 << 10))
    );
    // Value flagged present but zero.
    let mut bytes = base.encode();
    bytes[field_at] |= 0x02;
    bytes.push(0);
    assert_eq!(
        NameState::decode(&bytes),
        Err(NameStateError::NonCanonical("value"))
    );
    // Oversized name and data lengths are rejected before reading them.
    assert_eq!(
        NameState::decode(&[64]),
        Err(NameStateError::NameTooLong(64))
    );
    assert_eq!(
        NameState::decode(&[0, 0x01, 0x02]),
        Err(NameStateError::DataTooLarge(513))
    );
    assert_eq!(
        NameState::decode(&[0u8; 669]),
        Err(NameStateError::TooLarge(669))
    );
}

#[test]
fn auction_states_follow_hsd() {
    let rules = regtest_rules();
    let open = NameState {
        height: 100,
        ..NameState::default()
    };
    // open period = tree interval + 1 = 6, bidding 5, reveal 10.
    assert_eq!(open.state(100, &rules), AuctionState::Opening);
    assert_eq!(open.state(105, &rules), AuctionState::Opening);
    assert_eq!(open.state(106, &rules), AuctionState::Bidding);
    assert_eq!(open.state(110, &rules), AuctionState::Bidding);
    assert_eq!(open.state(111, &rules), AuctionState::Reveal);
    assert_eq!(open.state(120, &rules), AuctionState::Reveal);
    assert_eq!(open.state(121, &rules), AuctionState::Closed);
    // Nobody revealed: closed without owner means expired.
    assert!(open.is_expired(121, &rules));
    assert!(!open.is_expired(120, &rules));

    let owned = NameState {
        height: 100,
        renewal: 130,
        owner: Some(Outpoint {
            txid: [7; 32],
            index: 0,
        }),
        data: vec![0],
        ..NameState::default()
    };
    assert!(!owned.is_expired(5129, &rules));
    assert!(owned.is_expired(5130, &rules));
    // Expired names still resolve: the reference rule only looks at the data.
    assert_eq!(owned.resource_data(), Some(&[0u8][..]));

    let revoked = NameState {
        revoked: 200,
        ..owned.clone()
    };
    assert_eq!(revoked.state(201, &rules), AuctionState::Revoked);
    assert!(!revoked.is_expired(264, &rules));
    assert!(revoked.is_expired(265, &rules));

    let claimed = NameState {
        claimed: 1,
        height: 100,
        ..owned.clone()
    };
    assert_eq!(claimed.state(101, &rules), AuctionState::Locked);
    assert_eq!(claimed.state(102, &rules), AuctionState::Closed);
    // Claimable (before the claim period) names never expire.
    assert!(!claimed.is_expired(10_000, &rules));

    let empty = NameState::default();
    assert_eq!(empty.resource_data(), None);
}

fn arb_state() -> impl Strategy<Value = NameState> {
    (
        (
            proptest::collection::vec(any::<u8>(), 0..=63),
            proptest::collection::vec(any::<u8>(), 0..=512),
            any::<u32>(),
            any::<u32>(),
            proptest::option::of((any::<[u8; 32]>(), any::<u32>())),
        ),
        (
            any::<u64>(),
            any::<u64>(),
            any::<u32>(),
            any::<u32>(),
            any::<u32>(),
            any::<u64>(),
            any::<[bool; 3]>(),
        ),
    )
        .prop_map(
            |(
                (name, data, height, renewal, owner),
                (value, highest, transfer, revoked, claimed, renewals, [registered, expired, weak]),
            )| NameState {
                name,
                data,
                height,
                renewal,
                owner: owner
                    .map(|(txid, index)| Outpoint { txid, index })
                    .filter(|o| !o.is_null()),
                value,
                highest,
                transfer,
                revoked,
                claimed,
                renewals,
                registered,
                expired,
                weak,
            },
        )
}

proptest! {
    #[test]
    fn encode_decode_round_trip(state in arb_state()) {
        let bytes = state.encode();
        prop_assert!(bytes.len() <= MAX_NAME_STATE_SIZE);
        prop_assert_eq!(NameState::decode(&bytes), Ok(state));
        prop_assert!(fuzz::namestate(&bytes));
    }

    #[test]
    fn decoding_arbitrary_bytes_never_panics(data in proptest::collection::vec(any::<u8>(), 0..700)) {
        fuzz::namestate(&data);
    }
}
