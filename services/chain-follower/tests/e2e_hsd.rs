//! The follower against a real hsd regtest node holding names registered through real
//! auctions (every record type, an update, a transfer and a revoke): it syncs and validates
//! every header, reaches hsd's tip, and for every name serves exactly what hsd serves —
//! verified from Urkel proofs against the safe root — and a verified absence for names that
//! were never registered.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

mod common;
use common::{now, regtest_peer_config};

use hnsfleet_chain_follower::HeaderChain;
use hnsfleet_chain_follower::lookup::lookup;
use hnsfleet_chain_follower::peer::PeerConnection;
use hnsfleet_chain_follower::sync::sync_headers;
use hnsfleet_hns::name::Name;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::resource::Resource;
use hnsfleet_hns::types::TreeRoot;
use hnsfleet_hns::urkel::VerifiedName;
use hnsfleet_testkit::Hsd;
use serde_json::Value;

/// Verified look-up of `name` against `root` over `peer`; any failure fails the test.
async fn lookup_name(peer: &mut PeerConnection, root: TreeRoot, name: &str) -> VerifiedName {
    let key = Name::parse(name).unwrap().hash();
    lookup(peer, root, key, Duration::from_secs(5), |_| {})
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
        .0
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn syncs_from_real_hsd_and_serves_what_hsd_serves() {
    let (hsd, manifest) =
        tokio::task::spawn_blocking(|| Hsd::start_prepared("follower-e2e", 500).expect("hsd"))
            .await
            .unwrap();
    let config = regtest_peer_config("/hnsfleet-e2e/");
    let mut peer = PeerConnection::connect(hsd.p2p_addr().unwrap(), &config, now())
        .await
        .expect("handshake with hsd");
    assert!(peer.version().agent.starts_with("/hsd:"));

    let mut chain = HeaderChain::from_genesis(Network::Regtest.params());
    let mut persisted = 0;
    let report = sync_headers(&mut peer, &mut chain, now, |_, _| persisted += 1)
        .await
        .expect("sync");
    let tip = chain.tip();
    assert_eq!(Value::from(tip.height), manifest["tip"]["height"]);
    assert_eq!(Value::from(tip.hash.to_hex()), manifest["tip"]["hash"]);
    assert_eq!(report.received, tip.height as usize);
    assert_eq!(persisted, report.received);
    assert!(report.reorgs.is_empty());

    let safe = chain.safe_root().expect("safe root");
    assert!(
        u64::from(safe.height) > manifest["lastCommitHeight"].as_u64().unwrap(),
        "the safe root must commit the final state"
    );

    let names = manifest["names"].as_object().unwrap();
    for (name, entry) in names {
        let verified = lookup_name(&mut peer, safe.tree_root, name).await;
        let served = verified
            .state()
            .and_then(|s| s.resource_data())
            .map(|data| serde_json::to_value(Resource::decode(data).unwrap()).unwrap())
            .unwrap_or(Value::Null);
        assert_eq!(
            served, entry["resource"],
            "{name}: follower vs hsd getnameresource"
        );
        if let Some(state) = verified.state() {
            assert_eq!(Value::from(state.height), entry["info"]["height"], "{name}");
            assert_eq!(
                Value::from(state.renewal),
                entry["info"]["renewal"],
                "{name}"
            );
        }
    }
    for name in manifest["absent"].as_array().unwrap() {
        let verified = lookup_name(&mut peer, safe.tree_root, name.as_str().unwrap()).await;
        assert!(
            verified.state().is_none() && verified.absence().is_some(),
            "{name}"
        );
    }
    drop(hsd);
}
