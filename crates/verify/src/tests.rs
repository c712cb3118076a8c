//! `verify_lookup` on real hsd 8.0.0 regtest proofs (`crates/hns/testdata`): honest answers
//! verify and carry the proof's values; any claimed value that disagrees with the proof is
//! refused with the error naming it.

use serde_json::Value;

use super::*;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../hns/testdata/regtest/regtest-names-proofs.json"
));

fn vectors() -> Value {
    serde_json::from_str(VECTORS).unwrap()
}

fn hex_field(v: &Value, key: &str) -> Vec<u8> {
    hex::decode(v[key].as_str().unwrap()).unwrap()
}

fn hash32(v: &Value, key: &str) -> [u8; 32] {
    hex_field(v, key).try_into().unwrap()
}

fn name_of(entry: &Value) -> Name {
    Name::parse(entry["name"].as_str().unwrap()).unwrap()
}

/// The claim an honest follower makes for vector entry `entry`.
fn claim(v: &Value, entry: &Value, exists: bool) -> LookupClaim {
    let raw = |key| {
        if exists {
            hex_field(entry, key)
        } else {
            Vec::new()
        }
    };
    LookupClaim {
        name: name_of(entry),
        name_hash: NameHash(hash32(entry, "nameHash")),
        tree_root: TreeRoot(hash32(v, "proofRoot")),
        height: u32::try_from(v["proofRootHeight"].as_u64().unwrap()).unwrap(),
        exists,
        name_state: raw("nameStateRaw"),
        resource: raw("resourceRaw"),
        proof: hex_field(entry, "proof"),
        network: Some(Network::Regtest),
        tip_height: u32::try_from(v["tipHeight"].as_u64().unwrap()).unwrap(),
    }
}

#[test]
fn honest_answers_verify_and_carry_the_proofs_values() {
    let v = vectors();
    let names = v["names"].as_array().unwrap();
    assert!(names.len() >= 2, "the vectors cover several names");
    for entry in names {
        let honest = claim(&v, entry, true);
        let verified = verify_lookup(&name_of(entry), honest.clone()).unwrap();
        assert!(verified.exists());
        assert_eq!(verified.name(), &honest.name);
        assert_eq!(verified.name_hash(), &honest.name_hash);
        assert_eq!(verified.tree_root(), &honest.tree_root);
        assert_eq!(verified.height(), honest.height);
        assert_eq!(verified.state().unwrap().encode(), honest.name_state);
        assert_eq!(verified.resource_data(), honest.resource.as_slice());
        assert_eq!(verified.proof(), honest.proof.as_slice());
        assert_eq!(verified.network(), Some(Network::Regtest));
        assert_eq!(verified.tip_height(), honest.tip_height);
        assert_eq!(verified.absence(), None);
    }
    // absent[0..2] are proven against the tip root; absent[2] against the empty tree.
    for entry in &v["absent"].as_array().unwrap()[..2] {
        let verified = verify_lookup(&name_of(entry), claim(&v, entry, false)).unwrap();
        assert!(!verified.exists());
        assert!(verified.absence().is_some());
        assert!(verified.resource_data().is_empty());
    }
}

/// Changes one field of a claim.
type Tamper = Box<dyn Fn(&mut LookupClaim)>;

#[test]
fn every_disagreement_with_the_proof_is_refused() {
    let v = vectors();
    let entry = &v["names"][0];
    let name = name_of(entry);
    let honest = claim(&v, entry, true);
    let tampered: Vec<(&str, Tamper, VerifyError)> = vec![
        (
            "other name",
            Box::new(|c| c.name = Name::parse("othername").unwrap()),
            VerifyError::OtherName {
                asked: name.as_str().into(),
                answered: "othername".into(),
            },
        ),
        (
            "name hash",
            Box::new(|c| c.name_hash.0[0] ^= 1),
            VerifyError::NameHash,
        ),
        (
            "exists",
            Box::new(|c| c.exists = false),
            VerifyError::Exists,
        ),
        (
            "name state",
            Box::new(|c| c.name_state[0] ^= 1),
            VerifyError::NameState,
        ),
        (
            "resource",
            Box::new(|c| c.resource.push(0)),
            VerifyError::Resource,
        ),
    ];
    for (what, tamper, expected) in tampered {
        let mut bad = honest.clone();
        tamper(&mut bad);
        assert_eq!(verify_lookup(&name, bad), Err(expected), "{what}");
    }
    // A root or proof changed by one bit does not verify.
    for (what, tamper) in [
        (
            "root",
            Box::new(|c: &mut LookupClaim| c.tree_root.0[31] ^= 1) as Tamper,
        ),
        ("proof", Box::new(|c| *c.proof.last_mut().unwrap() ^= 1)),
        ("empty proof", Box::new(|c| c.proof.clear())),
    ] {
        let mut bad = honest.clone();
        tamper(&mut bad);
        assert!(
            matches!(verify_lookup(&name, bad), Err(VerifyError::Proof(_))),
            "{what} accepted"
        );
    }
    // The absence proof cannot be turned into an existing name, nor a presence proof into an
    // absent one.
    let absent = &v["absent"][0];
    let mut claims = claim(&v, absent, false);
    claims.exists = true;
    assert_eq!(
        verify_lookup(&name_of(absent), claims),
        Err(VerifyError::Exists)
    );
    let mut denies = honest.clone();
    (denies.exists, denies.name_state, denies.resource) = (false, Vec::new(), Vec::new());
    assert_eq!(verify_lookup(&name, denies), Err(VerifyError::Exists));
    // Another name's valid proof under the same root does not prove this name.
    let mut borrowed = honest;
    borrowed.proof = hex_field(&v["names"][1], "proof");
    assert!(matches!(
        verify_lookup(&name, borrowed),
        Err(VerifyError::Proof(_))
    ));
}

/// The real regtest headers 0..=154 (`crates/hns/testdata/regtest/regtest-headers.bin`).
const HEADERS: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../hns/testdata/regtest/regtest-headers.bin"
));

fn raw_headers(from: usize, to: usize) -> Vec<Vec<u8>> {
    use hnsfleet_hns::header::HEADER_SIZE;
    (from..=to)
        .map(|h| HEADERS[h * HEADER_SIZE..(h + 1) * HEADER_SIZE].to_vec())
        .collect()
}

#[test]
fn a_header_chain_ties_a_root_only_when_every_header_holds() {
    use hnsfleet_hns::header::Header;
    use hnsfleet_hns::params::Network;
    let params = Network::Regtest.params();
    let raw = raw_headers(141, 150);
    let root = Header::decode(&raw[0]).unwrap().tree_root;
    let carried = |i: usize| Header::decode(&raw[i]).unwrap().tree_root == root;
    // The root's own height: the last of the first run of headers carrying it.
    let height = 141 + (0..raw.len()).take_while(|&i| carried(i)).count() as u32 - 1;
    let ok = verify_header_chain(params, &root, height, 141, &raw).unwrap();
    assert_eq!(ok.len(), raw.len());

    // Hostile variants, each refused with its own error.
    assert_eq!(
        verify_header_chain(params, &root, height, 141, &Vec::<Vec<u8>>::new()),
        Err(HeaderChainError::Count(0))
    );
    let too_many = vec![raw[0].clone(); MAX_CHAIN_HEADERS + 1];
    assert_eq!(
        verify_header_chain(params, &root, height, 141, &too_many),
        Err(HeaderChainError::Count(MAX_CHAIN_HEADERS + 1))
    );
    assert!(matches!(
        verify_header_chain(params, &root, 200, 141, &raw),
        Err(HeaderChainError::Range { .. })
    ));
    let other_root = hnsfleet_hns::types::TreeRoot([7; 32]);
    assert_eq!(
        verify_header_chain(params, &other_root, height, 141, &raw),
        Err(HeaderChainError::Root(141))
    );
    let mut gap = raw.clone();
    gap.remove(3);
    assert!(matches!(
        verify_header_chain(params, &root, height, 141, &gap),
        Err(HeaderChainError::Header { height: 144, .. })
    ));
    let mut short = raw.clone();
    short[2].pop();
    assert!(matches!(
        verify_header_chain(params, &root, height, 141, &short),
        Err(HeaderChainError::Header { height: 143, .. })
    ));
    // A header re-mined on another network's rules: regtest's limit bits, mainnet's limit.
    assert!(matches!(
        verify_header_chain(Network::Main.params(), &root, height, 141, &raw),
        Err(HeaderChainError::Header { height: 141, .. })
    ));
}
