//! The contract's Rust side: the generated method list, the error reasons, and the validating
//! conversions (round trips over real regtest proofs and a real signed attestation; every
//! malformed or disagreeing field refused by name).

use hnsfleet_attestation::{SignedAttestation, TipStatement};
use hnsfleet_hns::chain::ChainEntry;
use hnsfleet_hns::name::Name;
use hnsfleet_hns::params::Network;
use hnsfleet_verify::{LookupClaim, verify_lookup};
use secp256k1::SecretKey;
use serde_json::Value;
use tonic::Code;

use crate::convert::{ChainTip, ConvertError};
use crate::follower::v1::{self as pb, ErrorReason};
use crate::status::{ERROR_DOMAIN, reason_of};

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../crates/hns/testdata/regtest/regtest-names-proofs.json"
));

fn hex_field(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap()).unwrap()
}

/// The answer an honest regtest follower sends for the first name of the vectors.
fn honest_lookup() -> pb::NameLookup {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    let entry = &v["names"][0];
    pb::NameLookup {
        name: entry["name"].as_str().unwrap().into(),
        name_hash: hex_field(entry, "nameHash").into(),
        height: u32::try_from(v["proofRootHeight"].as_u64().unwrap()).unwrap(),
        tree_root: hex_field(&v, "proofRoot").into(),
        exists: true,
        name_state: hex_field(entry, "nameStateRaw").into(),
        resource: hex_field(entry, "resourceRaw").into(),
        proof: hex_field(entry, "proof").into(),
        network: pb::Network::Regtest as i32,
        tip_height: u32::try_from(v["tipHeight"].as_u64().unwrap()).unwrap(),
    }
}

#[test]
fn methods_are_generated_from_the_proto() {
    assert_eq!(
        crate::METHODS,
        &[
            (
                "hnsfleet.follower.v1.ChainFollowerService",
                &[
                    "GetTip",
                    "WatchTip",
                    "LookupName",
                    "GetAttestation",
                    "GetHeaders"
                ][..]
            ),
            (
                "hnsfleet.cache.v1.ProofCacheService",
                &["LookupName", "GetTrustedRoot", "GetHeaders"][..]
            ),
            (
                "hnsfleet.watchdog.v1.ReorgWatchdogService",
                &["GetVerdict", "WatchVerdicts", "GetAttestation", "Unfreeze"][..]
            )
        ]
    );
}

#[test]
fn every_reason_round_trips_through_a_status() {
    for value in 1.. {
        let Ok(reason) = ErrorReason::try_from(value) else {
            assert!(value > 11, "reasons 1..=11 exist");
            break;
        };
        let wire = reason.as_reason();
        assert!(
            !wire.is_empty() && wire.bytes().all(|b| b.is_ascii_uppercase() || b == b'_'),
            "{wire}"
        );
        assert_eq!(ErrorReason::from_reason(wire), Some(reason));
        let status = reason.status(Code::Unavailable, "why");
        assert_eq!(ErrorReason::of(&status), Some(reason));
        assert_eq!(reason_of(&status).as_deref(), Some(wire));
        let info = crate::status::error_info(&status).unwrap();
        assert_eq!(info.domain, ERROR_DOMAIN);
        assert_eq!(status.message(), "why");
    }
    assert_eq!(ErrorReason::NotSynced.as_reason(), "NOT_SYNCED");
    assert_eq!(ErrorReason::from_reason("UNSPECIFIED"), None);
    assert_eq!(ErrorReason::from_reason("NOPE"), None);
    assert_eq!(ErrorReason::of(&tonic::Status::unavailable("bare")), None);
}

#[test]
fn cache_reasons_round_trip_in_their_own_domain() {
    use crate::cache::v1::ErrorReason as CacheReason;
    for value in 1..=7 {
        let reason = CacheReason::try_from(value).unwrap();
        let status = reason.status(Code::Unavailable, "why");
        assert_eq!(CacheReason::of(&status), Some(reason));
        assert_eq!(
            crate::status::error_info(&status).unwrap().domain,
            crate::status::CACHE_ERROR_DOMAIN
        );
        // A follower reason is not a cache reason, even with the same name.
        assert_eq!(ErrorReason::of(&status), None);
    }
    assert_eq!(CacheReason::StaleExpired.as_reason(), "STALE_EXPIRED");
}

#[test]
fn synced_is_field_4_of_get_tip_and_5_of_watch_tip_and_absent_means_not_synced() {
    use prost::Message;
    let root = pb::SafeRoot {
        height: 7,
        tree_root: vec![1; 32],
    };
    let get = pb::GetTipResponse {
        safe_root: Some(root.clone()),
        synced: true,
        ..Default::default()
    };
    let watch = pb::WatchTipResponse {
        safe_root: Some(root),
        synced: true,
        ..Default::default()
    };
    // Varint fields: tag (number << 3 | 0) then 1; proto3 omits a false bool.
    let (get_bytes, watch_bytes) = (get.encode_to_vec(), watch.encode_to_vec());
    assert!(get_bytes.ends_with(&[4 << 3, 1]), "{get_bytes:?}");
    assert!(watch_bytes.ends_with(&[5 << 3, 1]), "{watch_bytes:?}");
    // A follower that predates the field sends the message without it: decoded as not
    // synced, so a cache never counts such a follower by accident.
    let old = pb::GetTipResponse {
        synced: false,
        ..get.clone()
    };
    let decoded = pb::GetTipResponse::decode(&old.encode_to_vec()[..]).unwrap();
    assert!(!decoded.synced);
    assert_eq!(decoded.safe_root, get.safe_root);
    let old_watch = pb::WatchTipResponse {
        synced: false,
        ..watch.clone()
    };
    assert!(
        !pb::WatchTipResponse::decode(&old_watch.encode_to_vec()[..])
            .unwrap()
            .synced
    );
}

#[test]
fn a_verified_lookup_holds_its_proof_once() {
    let wire = honest_lookup();
    let claim = LookupClaim::try_from(&wire).unwrap();
    let name = claim.name.clone();
    let verified = hnsfleet_verify::verify_lookup(&name, claim).unwrap();
    let rebuilt = pb::NameLookup::from(&verified);
    assert_eq!(rebuilt, wire);
    let proof = rebuilt.proof.as_ptr_range();
    for (what, part) in [
        ("name_state", &rebuilt.name_state),
        ("resource", &rebuilt.resource),
    ] {
        assert!(!part.is_empty(), "{what}");
        let range = part.as_ptr_range();
        assert!(
            proof.start <= range.start && range.end <= proof.end,
            "{what} is a copy, not a view into the proof"
        );
    }
}

#[test]
fn a_verified_lookup_round_trips_through_the_wire_message() {
    let wire = honest_lookup();
    let claim = LookupClaim::try_from(&wire).unwrap();
    let name = Name::parse(&wire.name).unwrap();
    let verified = verify_lookup(&name, claim).unwrap();
    assert_eq!(pb::NameLookup::from(&verified), wire);
    // Unspecified network is "not said", not an error.
    let mut quiet = wire.clone();
    quiet.network = pb::Network::Unspecified as i32;
    assert_eq!(LookupClaim::try_from(&quiet).unwrap().network, None);
}

/// Changes one field of a wire look-up.
type Tamper = Box<dyn Fn(&mut pb::NameLookup)>;

#[test]
fn malformed_lookups_are_refused_by_field() {
    let honest = honest_lookup();
    let cases: Vec<(Tamper, ConvertError)> = vec![
        (
            Box::new(|m| m.tree_root.truncate(31)),
            ConvertError::Length {
                field: "tree_root",
                len: 31,
                expected: 32,
            },
        ),
        (
            Box::new(|m| m.name_hash = [&m.name_hash[..], &[0]].concat().into()),
            ConvertError::Length {
                field: "name_hash",
                len: 33,
                expected: 32,
            },
        ),
        (
            Box::new(|m| m.network = 99),
            ConvertError::UnknownEnum {
                field: "network",
                value: 99,
            },
        ),
    ];
    for (tamper, expected) in cases {
        let mut bad = honest.clone();
        tamper(&mut bad);
        assert_eq!(LookupClaim::try_from(&bad), Err(expected));
    }
    let mut bad = honest;
    bad.name = "bad..name".into();
    assert!(matches!(
        LookupClaim::try_from(&bad),
        Err(ConvertError::InvalidName { .. })
    ));
}

#[test]
fn tips_convert_both_ways_and_need_32_byte_hashes() {
    let params = Network::Regtest.params();
    let genesis = ChainEntry::genesis(params);
    let wire = pb::Tip::from(&genesis);
    let tip = ChainTip::try_from(&wire).unwrap();
    assert_eq!(
        (
            tip.height,
            tip.hash,
            tip.tree_root,
            tip.chainwork,
            tip.time_unix_secs
        ),
        (
            genesis.height,
            genesis.hash,
            genesis.tree_root,
            genesis.chainwork,
            genesis.time
        )
    );
    let mut short = wire;
    short.chainwork_be.pop();
    assert_eq!(
        ChainTip::try_from(&short),
        Err(ConvertError::Length {
            field: "tip.chainwork_be",
            len: 31,
            expected: 32
        })
    );
}

/// Changes one field of a wire attestation.
type TamperAttestation = Box<dyn Fn(&mut pb::Attestation)>;

#[test]
fn attestations_round_trip_and_every_disagreeing_field_is_refused() {
    let params = Network::Regtest.params();
    let genesis = ChainEntry::genesis(params);
    let key = SecretKey::from_byte_array([7; 32]).unwrap();
    let signed = TipStatement {
        network_magic: params.magic,
        height: genesis.height,
        hash: genesis.hash,
        tree_root: genesis.tree_root,
        chainwork: genesis.chainwork.to_be_bytes(),
        time: genesis.time,
        signed_at: 1_700_000_000,
    }
    .sign(&key);
    let wire = pb::Attestation::from(&signed);
    assert_eq!(wire.network, pb::Network::Regtest as i32);
    assert_eq!(SignedAttestation::try_from(&wire), Ok(signed));
    assert!(SignedAttestation::try_from(&wire).unwrap().verify().is_ok());
    let cases: Vec<(&str, TamperAttestation)> = vec![
        (
            "tip.height",
            Box::new(|m| m.tip.as_mut().unwrap().height += 1),
        ),
        (
            "tip.hash",
            Box::new(|m| m.tip.as_mut().unwrap().hash[0] ^= 1),
        ),
        (
            "tip.tree_root",
            Box::new(|m| m.tip.as_mut().unwrap().tree_root[0] ^= 1),
        ),
        (
            "tip.chainwork_be",
            Box::new(|m| m.tip.as_mut().unwrap().chainwork_be[0] ^= 1),
        ),
        (
            "tip.time_unix_secs",
            Box::new(|m| m.tip.as_mut().unwrap().time_unix_secs += 1),
        ),
        (
            "network",
            Box::new(|m| m.network = pb::Network::Main as i32),
        ),
        ("public_key", Box::new(|m| m.public_key[1] ^= 1)),
        (
            "signed_at_unix_secs",
            Box::new(|m| m.signed_at_unix_secs += 1),
        ),
        ("signature", Box::new(|m| m.signature[0] ^= 1)),
    ];
    for (field, tamper) in cases {
        let mut bad = wire.clone();
        tamper(&mut bad);
        assert_eq!(
            SignedAttestation::try_from(&bad),
            Err(ConvertError::Disagrees { field }),
            "{field}"
        );
    }
    let mut no_tip = wire.clone();
    no_tip.tip = None;
    assert_eq!(
        SignedAttestation::try_from(&no_tip),
        Err(ConvertError::Missing { field: "tip" })
    );
    let mut short = wire;
    short.signed_attestation.pop();
    assert!(matches!(
        SignedAttestation::try_from(&short),
        Err(ConvertError::Attestation(_))
    ));
}
