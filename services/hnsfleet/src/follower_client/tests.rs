//! `verified_json` on real hsd 8.0.0 regtest proofs (`crates/hns/testdata`): the printed JSON is
//! hsd's `getnameresource` and `getnameinfo` (without `stats`) for the name, and any field of
//! the answer that disagrees with the proof is refused.

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

/// The answer an honest follower gives for vector entry `entry`.
fn answer(v: &Value, entry: &Value, exists: bool) -> pb::NameLookup {
    pb::NameLookup {
        name: entry["name"].as_str().unwrap().into(),
        name_hash: hex_field(entry, "nameHash"),
        height: u32::try_from(v["proofRootHeight"].as_u64().unwrap()).unwrap(),
        root: hex_field(v, "proofRoot"),
        exists,
        name_state: if exists {
            hex_field(entry, "nameStateRaw")
        } else {
            Vec::new()
        },
        resource: if exists {
            hex_field(entry, "resourceRaw")
        } else {
            Vec::new()
        },
        proof: hex_field(entry, "proof"),
        network: "regtest".into(),
        tip_height: u32::try_from(v["tipHeight"].as_u64().unwrap()).unwrap(),
    }
}

fn name_of(entry: &Value) -> Name {
    Name::parse(entry["name"].as_str().unwrap()).unwrap()
}

#[test]
fn honest_answers_print_hsd_resource_and_info() {
    let v = vectors();
    for entry in v["names"].as_array().unwrap() {
        let json = verified_json(&name_of(entry), &answer(&v, entry, true)).unwrap();
        let name = &entry["name"];
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
        let json = verified_json(&name_of(entry), &answer(&v, entry, false)).unwrap();
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
    quiet.network.clear();
    let json = verified_json(&name_of(entry), &quiet).unwrap();
    assert!(json.get("info").is_none());
    assert_eq!(json["resource"], entry["resource"]);
}

/// Changes one field of an answer.
type Tamper = Box<dyn Fn(&mut pb::NameLookup)>;

#[test]
fn every_disagreement_with_the_proof_is_refused() {
    let v = vectors();
    let entry = &v["names"][0];
    let name = name_of(entry);
    let honest = answer(&v, entry, true);
    let tampered: Vec<(&str, Tamper)> = vec![
        ("other name", Box::new(|a| a.name = "othername".into())),
        ("name hash", Box::new(|a| a.name_hash[0] ^= 1)),
        ("root", Box::new(|a| a.root[31] ^= 1)),
        ("short root", Box::new(|a| a.root.truncate(31))),
        ("proof", Box::new(|a| *a.proof.last_mut().unwrap() ^= 1)),
        ("exists", Box::new(|a| a.exists = false)),
        ("name state", Box::new(|a| a.name_state[0] ^= 1)),
        ("resource", Box::new(|a| a.resource.push(0))),
        ("network", Box::new(|a| a.network = "moon".into())),
    ];
    for (what, tamper) in tampered {
        let mut bad = honest.clone();
        tamper(&mut bad);
        assert!(verified_json(&name, &bad).is_err(), "{what} accepted");
    }
    // The absence proof cannot be turned into an existing name either.
    let absent = &v["absent"][0];
    let mut claims = answer(&v, absent, false);
    claims.exists = true;
    assert!(verified_json(&name_of(absent), &claims).is_err());
}
