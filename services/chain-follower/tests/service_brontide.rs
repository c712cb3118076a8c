//! The `hnsfleet-chain-follower` binary with a brontide-only peer (`KEY@HOST:PORT`, the key in
//! hsd's base32 form) against a real hsd's encrypted listener: it syncs, becomes ready, and
//! answers look-ups exactly as hsd does. A follower told the wrong key never gets a session,
//! however often it tries.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{
    CONNECT_FAILED, POOL_DEBUG_LOG, assert_resource_is_hsds, assert_tip_is_hsds, connect_api,
    follower_command, lookup, peer_log_events, start_prepared_hsd,
};
use hnsfleet_chain_follower::metrics;
use hnsfleet_hns::params::Network;
use hnsfleet_testkit::service::ServiceProcess;
use secp256k1::SecretKey;

fn base32_key(secret: [u8; 32]) -> String {
    let public = SecretKey::from_byte_array(secret)
        .unwrap()
        .public_key(secp256k1::SECP256K1)
        .serialize();
    data_encoding::BASE32_NOPAD
        .encode(&public)
        .to_ascii_lowercase()
}

async fn start(peer: &str, data_dir: &Path, log: &str) -> ServiceProcess {
    follower_command(data_dir)
        .peer(peer)
        .flag("--log", POOL_DEBUG_LOG)
        .spawn(log)
        .await
        .unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn follower_syncs_and_serves_over_brontide() {
    let (hsd, manifest) = start_prepared_hsd("svc-brontide", 780).await;
    let port = hsd.p2p_addr().unwrap().port() - 14038 + 26806;
    let identity = Network::Regtest.params().identity_key.unwrap();
    let peer = format!("{}@127.0.0.1:{port}", base32_key(identity));
    let base = tempfile::tempdir().unwrap();

    let follower = start(&peer, &base.path().join("good"), "svc-brontide").await;
    follower.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut api = connect_api(&follower).await;
    assert_tip_is_hsds(&mut api, &hsd).await;
    for name in manifest["names"].as_object().unwrap().keys() {
        let answer = lookup(&mut api, name).await;
        assert!(answer.exists, "{name}");
        assert_resource_is_hsds(&answer, &hsd);
    }

    // The same listener, the wrong key: hsd cannot complete the handshake, no session ever.
    let wrong = format!("{}@127.0.0.1:{port}", base32_key([0x44; 32]));
    let impostor_check = start(&wrong, &base.path().join("wrong"), "svc-brontide-wrong").await;
    // It tried (and failed) twice, redialling in between; still no session.
    impostor_check
        .poll(
            Duration::from_secs(45),
            "two failed handshakes",
            async |f| (peer_log_events(f, &wrong, CONNECT_FAILED).len() >= 2).then_some(()),
        )
        .await
        .unwrap();
    assert_eq!(impostor_check.admin_get("/readyz").await.unwrap().0, 503);
    assert_eq!(
        impostor_check
            .metric(metrics::PEERS_CONNECTED, &[])
            .await
            .unwrap(),
        Some(0.0)
    );
    assert_eq!(
        impostor_check
            .metric(metrics::TIP_HEIGHT, &[])
            .await
            .unwrap(),
        Some(0.0)
    );
    drop((follower, impostor_check));
}
