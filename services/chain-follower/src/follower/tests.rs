use hnsfleet_hns::params::Network;

use super::*;
use crate::synthetic::mine_chain;

fn follower(min_peers: usize) -> (Arc<Follower>, Readiness) {
    let params = Network::Regtest.params();
    let readiness = Readiness::new();
    let key = SecretKey::from_byte_array([9u8; 32]).unwrap();
    let follower = Follower::new(
        params,
        HeaderChain::from_genesis(params),
        None,
        Metrics::unregistered().unwrap(),
        readiness.clone(),
        ReadyRules {
            min_peers,
            within: 2,
        },
        key,
        || 1_900_000_000,
    );
    (follower, readiness)
}

#[test]
fn ready_only_with_peers_a_finished_sync_and_a_close_tip() {
    let (f, ready) = follower(2);
    assert!(ready.check().is_err());
    // One peer that has synced, claiming height 10: too few peers, tip too far behind.
    f.update_peers(|p| {
        p.connected = 1;
        p.synced_once = true;
        p.best_height = 10;
    });
    assert!(ready.check().is_err());
    f.update_peers(|p| p.connected = 2);
    assert!(ready.check().is_err(), "tip 0 is 10 blocks behind");
    let params = Network::Regtest.params();
    let headers = mine_chain(params, &ChainEntry::genesis(params), 8, 600, 1);
    f.accept(headers).unwrap();
    assert_eq!(f.tip().height, 8);
    assert!(ready.check().is_ok(), "8 + 2 >= 10");
    f.update_peers(|p| p.best_height = 11);
    assert!(ready.check().is_err());
    f.update_peers(|p| {
        p.best_height = 8;
        p.connected = 1;
    });
    assert!(ready.check().is_err(), "one peer is not enough");
}

#[test]
fn tip_events_carry_reorg_depth_and_metrics_follow() {
    let (f, _) = follower(1);
    let mut events = f.subscribe();
    let params = Network::Regtest.params();
    let genesis = ChainEntry::genesis(params);
    let a = mine_chain(params, &genesis, 5, 600, 1);
    f.accept(a).unwrap();
    let first = events.try_recv().unwrap();
    assert_eq!((first.tip.height, first.reorg_depth), (5, 0));
    assert!(events.try_recv().is_err(), "one event per batch");

    // A competing branch from height 2 that ends up with more work: depth 3 (heights 3..5).
    let fork = f.chain.lock().chain.entry_at(2).copied().unwrap();
    let b = mine_chain(params, &fork, 4, 601, 2);
    let accepted = f.accept(b).unwrap();
    assert_eq!(accepted.reorgs.len(), 1);
    let change = events.try_recv().unwrap();
    assert_eq!((change.tip.height, change.reorg_depth), (6, 3));
    let m = f.metrics();
    assert_eq!(m.tip_height.get(), 6);
    assert_eq!(m.reorg_depth.get_sample_count(), 1);
    assert_eq!(m.reorg_depth.get_sample_sum(), 3.0);
    assert_eq!(m.headers_validated.get(), 9);
}

#[test]
fn an_invalid_header_keeps_the_valid_prefix_and_publishes_it() {
    let (f, _) = follower(1);
    let mut events = f.subscribe();
    let params = Network::Regtest.params();
    let mut headers = mine_chain(params, &ChainEntry::genesis(params), 4, 600, 1);
    headers[2].bits = 0x1d00ffff; // not the regtest limit: invalid from here on
    let err = f.accept(headers).unwrap_err();
    assert!(err.ban_worthy(), "{err}");
    assert_eq!(f.tip().height, 2);
    assert_eq!(events.try_recv().unwrap().tip.height, 2);
    assert_eq!(f.metrics().headers_validated.get(), 2);
}

#[test]
fn attestations_state_the_tip_and_verify() {
    let (f, _) = follower(1);
    let params = Network::Regtest.params();
    f.accept(mine_chain(params, &ChainEntry::genesis(params), 3, 600, 1))
        .unwrap();
    let signed = f.attest();
    let verified = signed.verify().unwrap();
    let tip = f.tip();
    assert_eq!(verified.statement().height, 3);
    assert_eq!(verified.statement().hash, tip.hash);
    assert_eq!(verified.statement().tree_root, tip.tree_root);
    assert_eq!(verified.statement().network_magic, params.magic);
    assert_eq!(verified.statement().signed_at, 1_900_000_000);
}

#[test]
fn concurrent_batches_publish_tips_in_chain_order_and_the_watch_ends_on_the_tip() {
    let (f, _) = follower(1);
    let params = Network::Regtest.params();
    let headers = mine_chain(params, &ChainEntry::genesis(params), 400, 600, 3);
    let mut events = f.subscribe();
    let watch = f.watch_tip();
    // Two threads race to insert the same chain in small batches (like two peers syncing it
    // alongside each other).
    std::thread::scope(|scope| {
        for _ in 0..2 {
            let (f, headers) = (&f, &headers);
            scope.spawn(move || {
                for batch in headers.chunks(7) {
                    f.accept(batch.to_vec()).unwrap();
                }
            });
        }
    });
    let mut last = 0;
    while let Ok(change) = events.try_recv() {
        assert!(
            change.tip.height > last,
            "{} after {last}",
            change.tip.height
        );
        last = change.tip.height;
    }
    assert_eq!(last, 400);
    assert_eq!(watch.borrow().tip, f.tip());
}

#[test]
fn readyz_names_each_failing_rule() {
    let (f, ready) = follower(2);
    f.update_peers(|p| {
        p.connected = 1;
        p.best_height = 10;
    });
    let status = ready.status();
    let names: Vec<&str> = status.checks.iter().map(|c| c.name).collect();
    assert_eq!(
        names,
        ["peers", "synced_once", "near_best_peer", "chain_synced"]
    );
    let failing = status.failing();
    // Regtest needs no minimum work and tolerates old tips: the chain itself counts as synced.
    assert!(status.checks[3].ok, "{:?}", status.checks[3]);
    assert_eq!(failing.len(), 3, "{failing:?}");
    assert_eq!(failing[0], "peers: 1 of 2 required connected");
    assert_eq!(failing[1], "synced_once: no header sync round finished yet");
    assert!(
        failing[2].starts_with("near_best_peer: tip 0 is 10 behind the best peer height 10"),
        "{failing:?}"
    );
    f.update_peers(|p| {
        p.connected = 2;
        p.synced_once = true;
    });
    let params = Network::Regtest.params();
    f.accept(mine_chain(params, &ChainEntry::genesis(params), 8, 600, 1))
        .unwrap();
    assert_eq!(ready.check(), Ok(()));
    assert!(ready.status().checks.iter().all(|c| c.ok));
}

#[test]
fn synced_follows_the_chain_rules_and_each_change_is_published_with_the_tip() {
    // Two peers required for readiness, but the peer count is not part of "synced".
    let (f, ready) = follower(2);
    let params = Network::Regtest.params();
    let mut events = f.subscribe();
    let watch = f.watch_tip();
    assert!(!f.current().synced, "nothing synced before a sync round");

    // Mid-sync: headers (and a safe root) arrive, the round has not finished.
    f.update_peers(|p| p.connected = 1);
    f.accept(mine_chain(params, &ChainEntry::genesis(params), 8, 600, 1))
        .unwrap();
    let mid = events.try_recv().unwrap();
    assert_eq!(mid.tip.height, 8);
    assert!(mid.safe_root.is_some(), "a safe root exists while syncing");
    assert!(!mid.synced && !f.current().synced);

    // The round finishes with a peer that showed height 10: within `within` (2), so synced,
    // published as an event for the same tip though one peer is too few to be ready.
    f.update_peers(|p| {
        p.synced_once = true;
        p.best_height = 10;
    });
    let change = events.try_recv().unwrap();
    assert_eq!((change.tip, change.reorg_depth), (f.tip(), 0));
    assert_eq!(change.safe_root, mid.safe_root);
    assert!(change.synced && f.current().synced && watch.borrow().synced);
    assert!(ready.check().is_err(), "not ready: one peer of two");
    // Re-evaluating without a change publishes nothing.
    f.refresh_readiness();
    f.update_peers(|p| p.connected = 2);
    assert!(events.try_recv().is_err());
    assert_eq!(ready.check(), Ok(()));

    // The network moves 20 blocks ahead: behind, no longer synced, said at once.
    f.update_peers(|p| p.best_height = 28);
    let behind = events.try_recv().unwrap();
    assert!(!behind.synced && !f.current().synced);
    assert_eq!(behind.tip.height, 8);

    // Catching up: the tip change itself carries synced = true (one event, not two).
    let tip = f.tip();
    f.accept(mine_chain(params, &tip, 19, 600, 1)).unwrap();
    let caught_up = events.try_recv().unwrap();
    assert_eq!(caught_up.tip.height, 27);
    assert!(caught_up.synced);
    assert!(
        events.try_recv().is_err(),
        "no second event for the same change"
    );
    assert!(f.current().synced && watch.borrow().synced);
}

#[test]
fn an_old_tip_is_not_synced_on_mainnet() {
    // Mainnet needs minimum chainwork and a tip younger than 12 h; genesis has neither.
    let params = Network::Main.params();
    let readiness = Readiness::new();
    let f = Follower::new(
        params,
        HeaderChain::from_genesis(params),
        None,
        Metrics::unregistered().unwrap(),
        readiness,
        ReadyRules {
            min_peers: 1,
            within: 2,
        },
        SecretKey::from_byte_array([9u8; 32]).unwrap(),
        || 1_900_000_000,
    );
    f.update_peers(|p| {
        p.connected = 1;
        p.synced_once = true;
    });
    assert!(!f.current().synced);
}
