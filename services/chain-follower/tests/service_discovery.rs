//! Peer discovery through ADDR gossip, with the real `hnsfleet-chain-follower` binary. Its only
//! configured peer is a scripted one with no chain that, asked GETADDR, gossips a real hsd's
//! address among others: a documentation-range address and a node without the NETWORK service
//! (both refused), and more loopback addresses than one peer may add. The follower dials hsd,
//! syncs and serves from it, takes no more than the per-source cap from that one peer, and
//! never dials the refused addresses.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::time::Duration;

use common::fake_peer::{Behavior, FakePeer};
use common::{assert_tip_is_hsds, connect_api, follower_command, lookup, start_prepared_hsd};
use hnsfleet_chain_follower::metrics;
use hnsfleet_hns::p2p::NetAddress;
use serde_json::Value;

/// Most addresses one gossiping peer may add (the pool's `DISCOVERED_PER_SOURCE`).
const PER_SOURCE: usize = 8;

fn gossiped(addr: &str, services: u64) -> NetAddress {
    NetAddress::from_socket_addr(addr.parse::<SocketAddr>().unwrap(), services, 0)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn gossiped_peers_are_dialled_within_the_caps_and_filters() {
    let (hsd, manifest) = start_prepared_hsd("svc-discovery", 810).await;
    let hsd_addr = hsd.p2p_addr().unwrap();
    let mut entries = vec![
        gossiped(&hsd_addr.to_string(), 1),
        gossiped("192.0.2.1:14038", 1),
        gossiped("127.0.0.99:9", 0),
    ];
    entries.extend((2..14).map(|i| gossiped(&format!("127.0.0.{i}:9"), 1)));
    let gossip = FakePeer::start(Behavior::Gossip(entries), 0).await;

    let data_dir = tempfile::tempdir().unwrap();
    let follower = follower_command(data_dir.path())
        .peer(gossip.addr)
        .flag("--discover-peers", true)
        .flag("--min-peers", 1)
        // Failed dials are logged at debug level, inside the peer's span.
        .flag("--log", "info,hnsfleet_chain_follower::pool=debug")
        .spawn("svc-discovery")
        .await
        .unwrap();
    // On regtest a genesis tip agreed by the chainless peer alone already counts as ready, so
    // wait for hsd's height itself.
    let hsd_height = hsd.rpc("getblockcount", &[]).unwrap().as_f64().unwrap();
    follower
        .poll(Duration::from_secs(30), "hsd's height", async |f| {
            (f.metric(metrics::TIP_HEIGHT, &[]).await.unwrap() == Some(hsd_height)).then_some(())
        })
        .await
        .unwrap_or_else(|e| panic!("{e}\n{}", follower.log_tail(30)));
    follower.wait_ready(Duration::from_secs(30)).await.unwrap();

    // The chain came from hsd, which only gossip named.
    let mut api = connect_api(&follower).await;
    assert_tip_is_hsds(&mut api, &hsd).await;
    let name = manifest["names"]
        .as_object()
        .unwrap()
        .keys()
        .next()
        .unwrap();
    assert!(lookup(&mut api, name).await.exists, "{name}");

    // The scripted peer's gossip added exactly PER_SOURCE peers (hsd first among them); hsd,
    // asked too, may add loopback peers of its own, never fewer.
    let log = follower.log();
    let from_gossip_peer: Vec<Value> = log
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == "learnt peers from gossip")
        .filter(|line| line["span"]["peer"] == gossip.addr.to_string())
        .collect();
    assert_eq!(from_gossip_peer.len(), 1, "{log}");
    assert_eq!(from_gossip_peer[0]["fields"]["added"], PER_SOURCE, "{log}");
    let known = follower
        .metric(metrics::PEERS_KNOWN, &[])
        .await
        .unwrap()
        .unwrap();
    assert!(known >= (1 + PER_SOURCE) as f64, "{known}");
    // A gossiped loopback address with nothing listening was dialled (and failed)...
    follower
        .poll(
            Duration::from_secs(10),
            "a failed dial in the log",
            async |f| f.log().contains("127.0.0.2:9").then_some(()),
        )
        .await
        .unwrap();
    let log = follower.log();
    // ... the refused ones and those over the cap never were.
    for refused in ["192.0.2.1", "127.0.0.99", "127.0.0.9:9"] {
        assert!(!log.contains(refused), "{refused} was dialled");
    }

    // Dead gossip does not stay: each gossiped address with nothing listening (127.0.0.2..=8)
    // is retried with backoff, then forgotten after its failures, and the known-peer count
    // (the live entries the caps count) drops by as many.
    let forgotten = |f: &hnsfleet_testkit::service::ServiceProcess| -> Vec<Value> {
        f.log()
            .lines()
            .filter_map(|line| serde_json::from_str::<Value>(line).ok())
            .filter(|line| {
                line["fields"]["message"] == "forgetting a learnt peer that keeps failing"
            })
            .collect()
    };
    let dead = PER_SOURCE - 1;
    let events = follower
        .poll(
            Duration::from_secs(150),
            "dead gossip forgotten",
            async |f| {
                let events = forgotten(f);
                (events.len() >= dead).then_some(events)
            },
        )
        .await
        .unwrap();
    for event in &events {
        let peer = event["span"]["peer"].as_str().unwrap();
        assert!(
            peer.starts_with("127.0.0.") && peer.ends_with(":9"),
            "{event}"
        );
        assert!(
            event["fields"]["failures"].as_u64().unwrap() >= 8,
            "{event}"
        );
    }
    let after = follower
        .metric(metrics::PEERS_KNOWN, &[])
        .await
        .unwrap()
        .unwrap();
    assert!(
        after <= known - dead as f64,
        "{after} known peers, {known} before"
    );
    // hsd, which answered, is still a peer.
    assert_tip_is_hsds(&mut api, &hsd).await;
    drop(follower);
}
