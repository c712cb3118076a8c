use hnsfleet_fuzz_bodies as fuzz;
use proptest::prelude::*;
use serde_json::Value;

use super::*;

fn vectors() -> Value {
    serde_json::from_str(include_str!(concat!(
        env!("CARGO_MANIFEST_DIR"),
        "/testdata/regtest/regtest-names-proofs.json"
    )))
    .unwrap()
}

fn root(s: &str) -> TreeRoot {
    TreeRoot::from_hex(s).unwrap()
}

fn key(s: &str) -> NameHash {
    NameHash::from_hex(s).unwrap()
}

/// Every (proof bytes, root, key, expected membership kind) pair in the vector file.
fn cases() -> Vec<(Vec<u8>, TreeRoot, NameHash, Option<AbsenceKind>)> {
    let v = vectors();
    let tip_root = v["proofRoot"].as_str().unwrap();
    let mut out = Vec::new();
    for n in v["names"].as_array().unwrap() {
        out.push((
            hex::decode(n["proof"].as_str().unwrap()).unwrap(),
            root(tip_root),
            key(n["nameHash"].as_str().unwrap()),
            None,
        ));
    }
    for a in v["absent"].as_array().unwrap() {
        let kind = match a["type"].as_str().unwrap() {
            "TYPE_DEADEND" => AbsenceKind::DeadEnd,
            "TYPE_SHORT" => AbsenceKind::Short,
            "TYPE_COLLISION" => AbsenceKind::Collision,
            other => panic!("unexpected type {other}"),
        };
        out.push((
            hex::decode(a["proof"].as_str().unwrap()).unwrap(),
            root(a["root"].as_str().unwrap_or(tip_root)),
            key(a["nameHash"].as_str().unwrap()),
            Some(kind),
        ));
    }
    let older = &v["olderRoot"];
    for p in older["proofs"].as_array().unwrap() {
        out.push((
            hex::decode(p["proof"].as_str().unwrap()).unwrap(),
            root(older["root"].as_str().unwrap()),
            key(p["nameHash"].as_str().unwrap()),
            p["type"]
                .as_str()
                .filter(|t| *t != "TYPE_EXISTS")
                .map(|_| AbsenceKind::DeadEnd),
        ));
    }
    out
}

#[test]
fn real_existence_proofs_verify_and_return_the_value() {
    let v = vectors();
    let tip_root = root(v["proofRoot"].as_str().unwrap());
    for n in v["names"].as_array().unwrap() {
        let proof_bytes = hex::decode(n["proof"].as_str().unwrap()).unwrap();
        let k = key(n["nameHash"].as_str().unwrap());
        let proof = Proof::decode(&proof_bytes).unwrap();
        assert_eq!(proof.encode(), proof_bytes);
        let json = &n["proofJSON"];
        assert_eq!(u64::from(proof.depth), json["depth"].as_u64().unwrap());
        assert_eq!(proof.nodes.len(), json["nodes"].as_array().unwrap().len());
        for (node, j) in proof.nodes.iter().zip(json["nodes"].as_array().unwrap()) {
            let bits: String = node
                .prefix
                .as_ref()
                .map(|p| {
                    (0..p.size())
                        .map(|i| if p.bit(i) { '1' } else { '0' })
                        .collect()
                })
                .unwrap_or_default();
            assert_eq!(bits, j[0].as_str().unwrap());
            assert_eq!(hex::encode(node.sibling), j[1].as_str().unwrap());
        }
        let verified = proof.verify(&tip_root, &k).unwrap();
        let value = hex::decode(n["value"].as_str().unwrap()).unwrap();
        assert_eq!(verified.membership(), &Membership::Exists(value));
        assert_eq!(verified.root(), &tip_root);

        let name = verify_name_proof(&tip_root, &k, &proof_bytes).unwrap();
        let state = name.state().unwrap();
        assert_eq!(state.name, n["name"].as_str().unwrap().as_bytes());
        assert_eq!(name.absence(), None);
    }
}

#[test]
fn real_absence_proofs_verify_with_their_kind() {
    let v = vectors();
    let tip_root = v["proofRoot"].as_str().unwrap();
    for a in v["absent"].as_array().unwrap() {
        let bytes = hex::decode(a["proof"].as_str().unwrap()).unwrap();
        let r = root(a["root"].as_str().unwrap_or(tip_root));
        let k = key(a["nameHash"].as_str().unwrap());
        let proof = Proof::decode(&bytes).unwrap();
        assert_eq!(proof.encode(), bytes);
        let kind = match a["type"].as_str().unwrap() {
            "TYPE_DEADEND" => AbsenceKind::DeadEnd,
            "TYPE_SHORT" => AbsenceKind::Short,
            _ => AbsenceKind::Collision,
        };
        assert_eq!(
            proof.verify(&r, &k).unwrap().membership(),
            &Membership::Absent(kind)
        );
        let name = verify_name_proof(&r, &k, &bytes).unwrap();
        assert_eq!((name.state(), name.absence()), (None, Some(kind)));
    }
}

#[test]
fn older_root_proofs_verify_against_their_own_root_only() {
    let v = vectors();
    let older = &v["olderRoot"];
    let old_root = root(older["root"].as_str().unwrap());
    let tip_root = root(v["proofRoot"].as_str().unwrap());
    assert_ne!(old_root, tip_root);
    let proofs = older["proofs"].as_array().unwrap();
    assert!(!proofs.is_empty());
    for p in proofs {
        let bytes = hex::decode(p["proof"].as_str().unwrap()).unwrap();
        let k = key(p["nameHash"].as_str().unwrap());
        assert!(verify_name_proof(&old_root, &k, &bytes).is_ok());
        let err = verify_name_proof(&tip_root, &k, &bytes).unwrap_err();
        assert_eq!(err, ProofError::HashMismatch);
    }
}

#[test]
fn wrong_root_wrong_key_and_same_key_give_urkel_codes() {
    let v = vectors();
    let n = &v["names"][0];
    let bytes = hex::decode(n["proof"].as_str().unwrap()).unwrap();
    let tip_root = root(v["proofRoot"].as_str().unwrap());
    let k = key(n["nameHash"].as_str().unwrap());
    let proof = Proof::decode(&bytes).unwrap();

    let err = proof.verify(&TreeRoot([1; 32]), &k).unwrap_err();
    assert_eq!(err, ProofError::HashMismatch);
    assert_eq!(
        u64::from(err.code()),
        v["wrongRootVerifyCode"].as_u64().unwrap()
    );

    let other = key(v["names"][1]["nameHash"].as_str().unwrap());
    let err = proof.verify(&tip_root, &other).unwrap_err();
    assert_eq!(
        u64::from(err.code()),
        v["wrongKeyVerifyCode"].as_u64().unwrap()
    );

    // A collision proof verified for the colliding key itself.
    let collision = v["absent"]
        .as_array()
        .unwrap()
        .iter()
        .find(|a| a["type"] == "TYPE_COLLISION")
        .unwrap();
    let cbytes = hex::decode(collision["proof"].as_str().unwrap()).unwrap();
    let cproof = Proof::decode(&cbytes).unwrap();
    let Terminal::Collision { key: other_key, .. } = cproof.terminal.clone() else {
        panic!("not a collision proof");
    };
    let err = cproof.verify(&tip_root, &other_key).unwrap_err();
    assert_eq!((err.clone(), err.code()), (ProofError::SameKey, 2));
}

#[test]
fn hand_built_structural_errors() {
    let k = NameHash([0u8; 32]);
    let r = TreeRoot::ZERO;
    // SHORT whose prefix agrees with the key at the terminal depth.
    let short = Proof {
        depth: 0,
        nodes: vec![],
        terminal: Terminal::Short {
            prefix: Bits::new(2, &[0x00]).unwrap(),
            left: [1; 32],
            right: [2; 32],
        },
    };
    assert_eq!(short.verify(&r, &k), Err(ProofError::SamePath));
    // More nodes than the depth allows.
    let neg = Proof {
        depth: 0,
        nodes: vec![ProofNode {
            prefix: None,
            sibling: [3; 32],
        }],
        terminal: Terminal::DeadEnd,
    };
    assert_eq!(neg.verify(&r, &k), Err(ProofError::NegDepth));
    // A prefix that disagrees with the key.
    let mismatch = Proof {
        depth: 2,
        nodes: vec![ProofNode {
            prefix: Some(Bits::new(1, &[0x80]).unwrap()),
            sibling: [3; 32],
        }],
        terminal: Terminal::DeadEnd,
    };
    assert_eq!(mismatch.verify(&r, &k), Err(ProofError::PathMismatch));
    // Depth larger than the path explains.
    let deep = Proof {
        depth: 5,
        nodes: vec![],
        terminal: Terminal::DeadEnd,
    };
    assert_eq!(deep.verify(&r, &k), Err(ProofError::TooDeep));
    for (p, code) in [(short, 3), (neg, 4), (mismatch, 5), (deep, 6)] {
        assert_eq!(p.verify(&r, &k).unwrap_err().code(), code);
        assert_eq!(Proof::decode(&p.encode()), Ok(p));
    }
}

#[test]
fn every_flipped_byte_or_truncation_of_a_real_proof_fails() {
    for (bytes, r, k, _) in cases() {
        assert!(verify_name_proof(&r, &k, &bytes).is_ok());
        for len in 0..bytes.len() {
            assert!(
                verify_name_proof(&r, &k, &bytes[..len]).is_err(),
                "truncated to {len}"
            );
        }
        for i in 0..bytes.len() {
            for x in [0x01u8, 0x02, 0x10, 0x80, 0xff] {
                let mut m = bytes.clone();
                m[i] ^= x;
                fuzz::proof(&m);
                assert!(
                    verify_name_proof(&r, &k, &m).is_err(),
                    "byte {i} ^ {x:#04x} still verifies"
                );
            }
        }
        let mut trailing = bytes.clone();
        trailing.push(0);
        assert!(matches!(
            Proof::decode(&trailing),
            Err(ProofError::Decode(DecodeError::TrailingBytes { count: 1 }))
        ));
    }
}

#[test]
fn decoder_bounds() {
    // depth 257
    assert!(Proof::decode(&[0x01, 0x01, 0, 0]).is_err());
    // 257 nodes
    assert!(Proof::decode(&[0, 0, 0x01, 0x01]).is_err());
    // unused bitmap bit set (1 node, bit 1 set)
    assert!(Proof::decode(&[0x01, 0x00, 0x01, 0x00, 0x40]).is_err());
    // EXISTS value above 668 bytes
    let mut big = vec![0x00, 0xc0, 0, 0];
    big.extend_from_slice(&669u16.to_le_bytes());
    big.extend(std::iter::repeat_n(0u8, 669));
    assert!(matches!(
        Proof::decode(&big),
        Err(ProofError::Decode(DecodeError::Malformed { .. }))
    ));
    // SHORT with a non-canonical two-byte size (0x80 0x05) and one with size 0.
    assert!(Proof::decode(&[0x00, 0x40, 0, 0, 0x80, 0x05, 0x00]).is_err());
    assert!(Proof::decode(&[0x00, 0x40, 0, 0, 0x00]).is_err());
    // Bits: size 257, padding bits set.
    assert!(Bits::new(257, &[0u8; 33]).is_none());
    assert!(Bits::new(3, &[0x10]).is_none());
    assert!(Bits::new(3, &[0xe0]).is_some());
}

fn arb_bits() -> impl Strategy<Value = Bits> {
    (1u16..=256, any::<[u8; 32]>()).prop_map(|(size, mut data)| {
        let len = usize::from(size).div_ceil(8);
        let spare = len * 8 - usize::from(size);
        data[len - 1] &= 0xffu8 << spare;
        Bits::new(size, &data[..len]).unwrap()
    })
}

fn arb_proof() -> impl Strategy<Value = Proof> {
    let node = (proptest::option::of(arb_bits()), any::<[u8; 32]>())
        .prop_map(|(prefix, sibling)| ProofNode { prefix, sibling });
    let terminal = prop_oneof![
        Just(Terminal::DeadEnd),
        (arb_bits(), any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(prefix, left, right)| {
            Terminal::Short {
                prefix,
                left,
                right,
            }
        }),
        (any::<[u8; 32]>(), any::<[u8; 32]>()).prop_map(|(k, value_hash)| Terminal::Collision {
            key: NameHash(k),
            value_hash
        }),
        proptest::collection::vec(any::<u8>(), 0..=MAX_VALUE_SIZE)
            .prop_map(|value| Terminal::Exists { value }),
    ];
    (0u16..=256, proptest::collection::vec(node, 0..20), terminal).prop_map(
        |(depth, nodes, terminal)| Proof {
            depth,
            nodes,
            terminal,
        },
    )
}

proptest! {
    #[test]
    fn encode_decode_round_trip(proof in arb_proof()) {
        let bytes = proof.encode();
        prop_assert_eq!(Proof::decode(&bytes), Ok(proof));
        prop_assert!(fuzz::proof(&bytes));
    }

    #[test]
    fn arbitrary_bytes_never_panic(data in proptest::collection::vec(any::<u8>(), 0..400)) {
        fuzz::proof(&data);
    }
}

/// Rebuilding hsd's regtest tree from its two name states gives hsd's root and, for every
/// name and absent key, hsd's exact proof bytes: the test tree is a faithful model of urkel.
#[test]
fn test_tree_reproduces_hsd_root_and_proofs() {
    use super::testtree::Node;
    let v = vectors();
    let entries: Vec<([u8; 32], Vec<u8>)> = v["names"]
        .as_array()
        .unwrap()
        .iter()
        .map(|n| {
            (
                key(n["nameHash"].as_str().unwrap()).0,
                hex::decode(n["nameStateRaw"].as_str().unwrap()).unwrap(),
            )
        })
        .collect();
    let tree = Node::build(&entries, 0);
    assert_eq!(tree.root(), root(v["proofRoot"].as_str().unwrap()));
    for e in v["names"].as_array().unwrap().iter().chain(
        v["absent"]
            .as_array()
            .unwrap()
            .iter()
            .filter(|a| a["root"].is_null()),
    ) {
        let k = key(e["nameHash"].as_str().unwrap());
        assert_eq!(
            hex::encode(tree.prove(&k).encode()),
            e["proof"].as_str().unwrap(),
            "{}",
            e["name"]
        );
    }
}

proptest! {
    #![proptest_config(ProptestConfig::with_cases(64))]

    /// On random trees, every member's proof verifies to its value, every non-member is
    /// proven absent, and no proof verifies for a different key or root.
    #[test]
    fn random_trees_prove_members_and_non_members(
        entries in proptest::collection::btree_map(any::<[u8; 32]>(), proptest::collection::vec(any::<u8>(), 0..40), 0..40),
        outsiders in proptest::collection::vec(any::<[u8; 32]>(), 1..8),
    ) {
        use super::testtree::Node;
        let entries: Vec<([u8; 32], Vec<u8>)> = entries.into_iter().collect();
        let tree = Node::build(&entries, 0);
        let r = tree.root();
        for (k, value) in &entries {
            let proof = tree.prove(&NameHash(*k));
            let bytes = proof.encode();
            prop_assert_eq!(Proof::decode(&bytes), Ok(proof.clone()));
            let verified = proof.verify(&r, &NameHash(*k)).unwrap();
            prop_assert_eq!(verified.membership(), &Membership::Exists(value.clone()));
            prop_assert!(proof.verify(&TreeRoot([0xee; 32]), &NameHash(*k)).is_err());
        }
        for k in outsiders.iter().filter(|k| !entries.iter().any(|(e, _)| e == *k)) {
            let proof = tree.prove(&NameHash(*k));
            let verified = proof.verify(&r, &NameHash(*k)).unwrap();
            prop_assert!(matches!(verified.membership(), Membership::Absent(_)));
            if let Some((member, _)) = entries.first() {
                // An absence proof for one key never proves anything about a member.
                prop_assert!(proof.verify(&r, &NameHash(*member)).is_err());
            }
        }
    }
}
