//! The look-up path of `hnsfleet lookup` on real hsd 8.0.0 regtest proofs
//! (`crates/hns/testdata`): the printed JSON is hsd's `getnameresource` and `getnameinfo`
//! (without `stats`) for the name, and an answer that is malformed or disagrees with its proof
//! is refused (the disagreements themselves are covered in `hnsfleet-verify`).

use serde_json::Value;

use super::*;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/hns/testdata/regtest/regtest-names-proofs.json"
));

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn hex_field(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap()).unwrap()
}

/// The response an honest follower gives for vector entry `entry`.
fn answer(v: &Value, entry: &Value, exists: bool) -> pb::LookupNameResponse {
    let raw = |key| {
        if exists {
            hex_field(entry, key)
        } else {
            Vec::new()
        }
    };
    pb::LookupNameResponse {
        lookup: Some(pb::NameLookup {
            name: entry["name"].as_str().unwrap().into(),
            name_hash: hex_field(entry, "nameHash").into(),
            height: u32::try_from(v["proofRootHeight"].as_u64().unwrap()).unwrap(),
            tree_root: hex_field(v, "proofRoot").into(),
            exists,
            name_state: raw("nameStateRaw").into(),
            resource: raw("resourceRaw").into(),
            proof: hex_field(entry, "proof").into(),
            network: pb::Network::Regtest as i32,
            tip_height: u32::try_from(v["tipHeight"].as_u64().unwrap()).unwrap(),
        }),
    }
}

fn name_of(entry: &Value) -> Name {
    Name::parse(entry["name"].as_str().unwrap()).unwrap()
}

fn printed(name: &Name, response: pb::LookupNameResponse) -> anyhow::Result<Value> {
    lookup_json(&verify_answer(name, response)?)
}

#[test]
fn honest_answers_print_hsd_resource_and_info() {
    let v = vectors();
    for entry in v["names"].as_array().unwrap() {
        let json = printed(&name_of(entry), answer(&v, entry, true)).unwrap();
        let name = &entry["name"];
        let keys: Vec<&String> = json.as_object().unwrap().keys().collect();
        assert_eq!(
            keys,
            ["name", "height", "root", "exists", "resource", "info"],
            "the README's shape"
        );
        assert_eq!(json["name"], *name);
        assert_eq!(json["exists"], true);
        assert_eq!(json["root"], v["proofRoot"]);
        assert_eq!(json["height"], v["proofRootHeight"]);
        assert_eq!(json["resource"], entry["resource"], "{name}");
        let mut info = entry["nameState"].clone();
        info.as_object_mut().unwrap().remove("stats");
        assert_eq!(json["info"], info, "{name}");
    }
    // absent[0..2] are proven against the tip root; absent[2] against the empty tree.
    for entry in &v["absent"].as_array().unwrap()[..2] {
        let json = printed(&name_of(entry), answer(&v, entry, false)).unwrap();
        assert_eq!(json["exists"], false);
        assert_eq!(json["resource"], Value::Null);
        assert_eq!(json["info"], Value::Null);
    }
}

#[test]
fn a_follower_that_does_not_say_its_network_gets_no_info() {
    let v = vectors();
    let entry = &v["names"][0];
    let mut quiet = answer(&v, entry, true);
    quiet.lookup.as_mut().unwrap().network = pb::Network::Unspecified as i32;
    let json = printed(&name_of(entry), quiet).unwrap();
    assert!(json.get("info").is_none());
    assert_eq!(json["resource"], entry["resource"]);
}

/// Changes one field of an answer.
type Tamper = Box<dyn Fn(&mut pb::NameLookup)>;

/// Flips the lowest bit of byte `i`.
fn flip(bytes: &mut bytes::Bytes, i: usize) {
    let mut v = bytes.to_vec();
    v[i] ^= 1;
    *bytes = v.into();
}

#[test]
fn malformed_or_disagreeing_answers_are_refused() {
    let v = vectors();
    let entry = &v["names"][0];
    let name = name_of(entry);
    let tampered: Vec<(&str, Tamper)> = vec![
        ("other name", Box::new(|a| a.name = "othername".into())),
        ("invalid name", Box::new(|a| a.name = "bad..name".into())),
        ("short root", Box::new(|a| a.tree_root.truncate(31))),
        ("root", Box::new(|a| flip(&mut a.tree_root, 31))),
        (
            "proof",
            Box::new(|a| {
                let last = a.proof.len() - 1;
                flip(&mut a.proof, last)
            }),
        ),
        ("exists", Box::new(|a| a.exists = false)),
        (
            "resource",
            Box::new(|a| a.resource = [&a.resource[..], &[0]].concat().into()),
        ),
        ("network", Box::new(|a| a.network = 99)),
    ];
    for (what, tamper) in tampered {
        let mut bad = answer(&v, entry, true);
        tamper(bad.lookup.as_mut().unwrap());
        assert!(printed(&name, bad).is_err(), "{what} accepted");
    }
    let empty = pb::LookupNameResponse { lookup: None };
    assert!(printed(&name, empty).is_err());
}

#[test]
fn error_lines_carry_the_code_and_the_reason() {
    use hnsfleet_proto::follower::v1::ErrorReason;
    let status = ErrorReason::NotSynced.status(tonic::Code::Unavailable, "chain not synced");
    assert_eq!(
        status_line(&status),
        "follower error UNAVAILABLE NOT_SYNCED: chain not synced"
    );
    assert_eq!(
        status_line(&tonic::Status::internal("boom")),
        "follower error INTERNAL: boom"
    );
}
