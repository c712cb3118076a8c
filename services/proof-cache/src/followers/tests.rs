use bytes::Bytes;
use hnsfleet_hns::types::TreeRoot;
use hnsfleet_hns::urkel::testtree::TestTree;
use hnsfleet_hns::urkel::verify_name_proof;

use super::member::{Attempt, check_answer, status_reason};
use super::*;
use crate::synthetic::name_state;

/// An honest answer for `name` from a tree of `bench0..bench9`, and the root it is for.
fn honest(name: &str) -> (pb::LookupNameResponse, SafeRoot) {
    let tree = TestTree::build(
        (0..10)
            .map(|i| {
                let key = Name::parse(&format!("bench{i}")).unwrap().hash().0;
                (key, name_state(i).encode())
            })
            .collect(),
    );
    let root = SafeRoot {
        height: 100,
        tree_root: tree.root(),
    };
    let name = Name::parse(name).unwrap();
    let proof = tree.prove(&name.hash()).encode();
    let verified = verify_name_proof(&root.tree_root, &name.hash(), &proof).unwrap();
    let lookup = hnsfleet_proto::convert::name_lookup(
        &name,
        root.height,
        &root.tree_root,
        verified.state(),
        Bytes::from(proof),
        Some(Network::Regtest),
        105,
    );
    (
        pb::LookupNameResponse {
            lookup: Some(lookup),
        },
        root,
    )
}

fn verdict(attempt: Attempt) -> (&'static str, &'static str) {
    match attempt {
        Attempt::Verified(_) => ("verified", ""),
        Attempt::Failed(reason, _) => ("failed", reason),
        Attempt::Lie(reason, _) => ("lie", reason),
    }
}

#[test]
fn honest_answers_verify_for_present_and_absent_names() {
    for name in ["bench3", "absentname"] {
        let (answer, root) = honest(name);
        let n = Name::parse(name).unwrap();
        match check_answer(&n, root, Network::Regtest, answer.clone()) {
            Attempt::Verified(lookup) => assert_eq!(Some(lookup), answer.lookup),
            other => panic!("{name}: {:?}", verdict(other)),
        }
    }
}

#[test]
fn every_kind_of_lie_is_named() {
    let name = Name::parse("bench3").unwrap();
    let (answer, root) = honest("bench3");
    let tamper = |f: &dyn Fn(&mut pb::NameLookup)| {
        let mut bad = answer.clone();
        f(bad.lookup.as_mut().unwrap());
        verdict(check_answer(&name, root, Network::Regtest, bad))
    };
    assert_eq!(
        tamper(&|l| {
            let mut p = l.proof.to_vec();
            let i = p.len() / 2;
            p[i] ^= 1;
            l.proof = p.into();
        }),
        ("lie", "bad_proof")
    );
    assert_eq!(tamper(&|l| l.exists = false), ("lie", "bad_proof"));
    assert_eq!(tamper(&|l| l.height += 5), ("lie", "wrong_root"));
    assert_eq!(
        tamper(&|l| l.tree_root = Bytes::from(vec![9; 32])),
        ("lie", "wrong_root")
    );
    assert_eq!(
        tamper(&|l| l.tree_root = Bytes::from(vec![9; 3])),
        ("lie", "malformed")
    );
    assert_eq!(
        tamper(&|l| l.network = pb::Network::Main as i32),
        ("lie", "wrong_network")
    );
    assert_eq!(tamper(&|l| l.name = "bench4".into()), ("lie", "bad_proof"));
    let empty = pb::LookupNameResponse { lookup: None };
    assert_eq!(
        verdict(check_answer(&name, root, Network::Regtest, empty)),
        ("lie", "malformed")
    );
    // Against another root, even an honest proof is a lie for this one.
    let other = SafeRoot {
        height: 100,
        tree_root: TreeRoot([1; 32]),
    };
    assert_eq!(
        verdict(check_answer(&name, other, Network::Regtest, answer.clone())),
        ("lie", "wrong_root")
    );
}

#[test]
fn follower_errors_get_stable_labels() {
    use pb::ErrorReason as R;
    for (status, label) in [
        (
            R::UnknownRoot.status(tonic::Code::FailedPrecondition, "x"),
            "unknown_root",
        ),
        (
            R::NotSynced.status(tonic::Code::Unavailable, "x"),
            "not_synced",
        ),
        (
            R::Overloaded.status(tonic::Code::ResourceExhausted, "x"),
            "overloaded",
        ),
        (
            tonic::Status::unavailable("connection refused"),
            "unavailable",
        ),
        (tonic::Status::internal("?"), "other"),
    ] {
        assert_eq!(status_reason(&status), label);
    }
    // Every label the classifier can give is declared (and so exported at zero).
    for reason in [
        R::NotSynced,
        R::NoPeers,
        R::ProofTimeout,
        R::AllPeersFailed,
        R::DeadlineExceeded,
        R::Overloaded,
        R::Draining,
        R::UnknownRoot,
        R::InvalidName,
        R::InvalidRoot,
        R::TooManyWatchers,
    ] {
        let label = status_reason(&reason.status(tonic::Code::Unavailable, "x"));
        assert!(
            crate::metrics::FOLLOWER_ERROR_REASONS.contains(&label),
            "{label}"
        );
    }
    for code in [
        tonic::Code::Unavailable,
        tonic::Code::DeadlineExceeded,
        tonic::Code::Cancelled,
    ] {
        let label = status_reason(&tonic::Status::new(code, "x"));
        assert!(
            crate::metrics::FOLLOWER_ERROR_REASONS.contains(&label),
            "{label}"
        );
    }
}

#[test]
fn each_follower_state_has_its_label_and_an_unsynced_one_is_syncing() {
    use crate::metrics::FOLLOWER_STATES;
    let trusted = SafeRoot {
        height: 100,
        tree_root: TreeRoot([1; 32]),
    };
    let later = SafeRoot {
        height: 105,
        tree_root: TreeRoot([2; 32]),
    };
    let view = |connected, quarantined, synced, root| FollowerView {
        connected,
        quarantined,
        synced,
        safe_root: Some(root),
    };
    let label = |v: FollowerView, forked| FOLLOWER_STATES[state_index(&v, forked, Some(trusted))];
    assert_eq!(label(view(true, false, true, trusted), false), "agreeing");
    assert_eq!(label(view(true, false, true, later), false), "ahead");
    assert_eq!(label(view(true, false, true, trusted), true), "disagreeing");
    // Announcing the trusted root, even, but not synced: it does not vote.
    assert_eq!(label(view(true, false, false, trusted), false), "syncing");
    assert_eq!(label(view(true, false, false, later), true), "syncing");
    assert_eq!(
        label(view(false, false, true, trusted), false),
        "disconnected"
    );
    assert_eq!(label(view(true, true, true, trusted), false), "quarantined");
    // Before any root is trusted, a synced follower counts as agreeing, an unsynced one not.
    let none = |v: FollowerView| FOLLOWER_STATES[state_index(&v, false, None)];
    assert_eq!(none(view(true, false, true, later)), "agreeing");
    assert_eq!(none(view(true, false, false, later)), "syncing");
}
