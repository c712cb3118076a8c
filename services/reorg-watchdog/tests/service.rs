//! The watchdog service in process, against two scripted chain-followers (real gRPC servers
//! speaking `hnsfleet.follower.v1`, signing real attestations) and a lying outside attester
//! (an HTTP publish endpoint serving a wrong chain, then forged, other-network and replayed
//! attestations). Checks what a proof-cache or an operator sees: the verdict stream (with its
//! heartbeats), `GetAttestation`, `Unfreeze`, `/v1/verdict` and the metrics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use common::scripted::*;
use hnsfleet_attestation::SignedAttestation;
use hnsfleet_hns::params::Network;
use hnsfleet_proto::watchdog::v1 as pb;
use std::time::Duration;

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_freezes_on_a_deep_reorg_ignores_a_liar_and_thaws_on_agreement() {
    let (one, one_url) = ScriptedFollower::start(key(1), 1, 20).await;
    let (two, two_url) = ScriptedFollower::start(key(2), 1, 20).await;
    let (liar, liar_url) = attester().await;
    let liar_key = key(9);
    let liar_public = hex::encode(liar_key.public_key(secp256k1::SECP256K1).serialize());
    let running = watchdog(&format!(
        "network = \"regtest\"\n\
         followers = [\"{one_url}\", \"{two_url}\"]\n\
         attesters = [\"{liar_url}={liar_public}\"]\n\
         quorum = 2\nfreeze_depth = 3\nunfreeze_after = 2\n\
         poll_interval = \"200ms\"\nheartbeat_interval = \"300ms\"\n\
         max_attestation_age = \"20s\"\n"
    ))
    .await;
    let mut client = running.client.clone();
    let mut stream = client
        .watch_verdicts(pb::WatchVerdictsRequest {})
        .await
        .unwrap()
        .into_inner();

    // The liar attests another chain at the same height, signed with its pinned key.
    *liar.lock() = statement(regtest(), 9, 20, now())
        .sign(&liar_key)
        .encode()
        .to_vec();
    let ok = wait_for(&mut stream, "OK on chain 1 with the liar out", |v| {
        v.root.as_ref().is_some_and(|r| r.height == 18)
            && v.sources
                .get(2)
                .is_some_and(|s| s.health == pb::Health::MinorityFork as i32)
    })
    .await;
    assert_eq!(state(&ok), pb::State::Ok);
    assert_eq!(ok.root.as_ref().unwrap().tree_root, vec![1; 32]);
    assert_eq!(ok.agreed_tip.as_ref().unwrap().height, 20);
    let liar_series = format!(
        "hnsfleet_watchdog_ignored_attestations_total{{reason=\"REASON\",source=\"{liar_url}\"}}"
    );
    metric_reaches(
        running.admin,
        &liar_series.replace("REASON", "conflicting"),
        1.0,
    )
    .await;

    // Then forged, other-network and replayed attestations: each ignored and counted.
    let mut forged = statement(regtest(), 1, 20, now())
        .sign(&liar_key)
        .encode()
        .to_vec();
    forged[200] ^= 1;
    *liar.lock() = forged;
    metric_reaches(
        running.admin,
        &liar_series.replace("REASON", "bad_signature"),
        1.0,
    )
    .await;
    let other_network = Network::Main.params().magic;
    *liar.lock() = statement(other_network, 1, 20, now())
        .sign(&liar_key)
        .encode()
        .to_vec();
    metric_reaches(
        running.admin,
        &liar_series.replace("REASON", "wrong_network"),
        1.0,
    )
    .await;
    *liar.lock() = statement(regtest(), 9, 20, now() - 10)
        .sign(&liar_key)
        .encode()
        .to_vec();
    metric_reaches(
        running.admin,
        &liar_series.replace("REASON", "replayed"),
        1.0,
    )
    .await;
    let wrong_key = key(8);
    *liar.lock() = statement(regtest(), 1, 20, now())
        .sign(&wrong_key)
        .encode()
        .to_vec();
    metric_reaches(
        running.admin,
        &liar_series.replace("REASON", "wrong_key"),
        1.0,
    )
    .await;

    // A shallow reorganisation (2 ≤ K = 3): still OK, on the new chain's root.
    one.move_to(2, 21, 2);
    two.move_to(2, 21, 2);
    let moved = wait_for(&mut stream, "OK on chain 2", |v| {
        v.root.as_ref().is_some_and(|r| r.tree_root == vec![2; 32])
    })
    .await;
    assert_eq!(state(&moved), pb::State::Ok);

    // A deep one (5 > K): FROZEN on chain 2's root, whatever the new chain says.
    one.move_to(3, 23, 5);
    two.move_to(3, 23, 5);
    let frozen = wait_for(&mut stream, "FROZEN", |v| state(v) == pb::State::Frozen).await;
    assert_eq!(frozen.root.as_ref().unwrap().tree_root, vec![2; 32]);
    assert_eq!(frozen.depth, 5);
    assert_eq!(metric(running.admin, "hnsfleet_watchdog_frozen").await, 1.0);
    // The status JSON says the same.
    let status = reqwest::get(format!("http://{}/v1/verdict", running.publish))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["state"], "FROZEN");
    assert_eq!(status["root"], hex::encode([2u8; 32]));
    assert_eq!(status["sources"].as_array().unwrap().len(), 3);
    // Unchanged verdicts come back as heartbeats.
    let beat = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let message = stream.message().await.unwrap().unwrap();
            if message.heartbeat {
                return message.verdict.unwrap();
            }
        }
    })
    .await
    .expect("a heartbeat within 5 s");
    assert_eq!(state(&beat), pb::State::Frozen);

    // Two blocks of agreement on chain 3 (M = 2) thaw it onto chain 3's root.
    one.move_to(3, 25, 0);
    two.move_to(3, 25, 0);
    let thawed = wait_for(&mut stream, "OK on chain 3", |v| state(v) == pb::State::Ok).await;
    assert_eq!(thawed.root.as_ref().unwrap().tree_root, vec![3; 32]);

    // Its own view, signed with its key, for other operators.
    let attestation = client
        .get_attestation(pb::GetAttestationRequest {})
        .await
        .unwrap()
        .into_inner()
        .attestation
        .unwrap();
    let signed = SignedAttestation::decode(&attestation.signed_attestation).unwrap();
    let verified = signed.verify().unwrap();
    assert_eq!(verified.statement().hash, block(3, 25));
    let published = reqwest::get(format!("http://{}/v1/attestation.bin", running.publish))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let published = SignedAttestation::decode(&published).unwrap();
    assert_eq!(published.public_key, signed.public_key);
    assert!(published.verify().is_ok());

    // Another deep reorganisation, lifted by an operator.
    one.move_to(4, 26, 6);
    two.move_to(4, 26, 6);
    // (Once both followers' attestations of the new tip are in: without a quorum to thaw onto,
    // an operator's unfreeze is refused.)
    wait_for(&mut stream, "FROZEN again, a quorum on chain 4", |v| {
        state(v) == pb::State::Frozen && v.agreed_tip.as_ref().is_some_and(|t| t.height == 26)
    })
    .await;
    let lifted = client
        .unfreeze(pb::UnfreezeRequest {
            reason: "test".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .verdict
        .unwrap();
    assert_eq!(state(&lifted), pb::State::Ok);
    assert_eq!(lifted.root.as_ref().unwrap().tree_root, vec![4; 32]);
    metric_reaches(
        running.admin,
        "hnsfleet_watchdog_transitions_total{reason=\"operator\",state=\"ok\"}",
        1.0,
    )
    .await;
}
