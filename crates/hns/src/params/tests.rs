#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)] // Tests fail loudly.

use super::*;
use serde_json::Value;

const GENESIS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/genesis-headers.json"
));
const GENESIS_DATA: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/hsd-genesis-data.json"
));

fn json_name(n: Network) -> &'static str {
    match n {
        Network::Main => "main",
        Network::Testnet => "testnet",
        Network::Regtest => "regtest",
        Network::Simnet => "simnet",
    }
}

#[test]
fn genesis_headers_match_vectors_and_hash() {
    let v: Value = serde_json::from_str(GENESIS).unwrap();
    for n in Network::ALL {
        let p = n.params();
        let g = &v[json_name(n)];
        assert_eq!(p.network, n);
        assert_eq!(
            hex::encode(p.genesis.encode()),
            g["headerHex"].as_str().unwrap(),
            "{n}"
        );
        assert_eq!(p.genesis.hash(), p.genesis_hash, "{n}");
        assert_eq!(p.genesis_hash.to_hex(), g["hash"].as_str().unwrap(), "{n}");
        assert_eq!(
            format!("{:#010x}", p.magic),
            g["magic"].as_str().unwrap(),
            "{n}"
        );
        assert_eq!(
            hex::encode(p.wire_magic()),
            g["magicWireBytes"].as_str().unwrap()
        );
        // The magic is the genesis hash's first four bytes read big-endian.
        let first4 = <[u8; 4]>::try_from(&p.genesis_hash.0[..4]).unwrap();
        assert_eq!(u32::from_be_bytes(first4), p.magic);
        assert_eq!(p.genesis.bits, p.pow.limit_bits);
        assert_eq!(
            hex::encode(Chainwork::from_bits(p.genesis.bits).to_be_bytes()),
            g["chainworkHex"].as_str().unwrap(),
            "{n}"
        );
    }
}

#[test]
fn genesis_blocks_start_with_the_genesis_header() {
    let v: Value = serde_json::from_str(GENESIS_DATA).unwrap();
    for n in Network::ALL {
        let b64 = v[json_name(n)].as_str().unwrap();
        let block = data_encoding::BASE64.decode(b64.as_bytes()).unwrap();
        assert_eq!(block.len(), 452, "{n}");
        let header = Header::decode(&block[..crate::header::HEADER_SIZE]).unwrap();
        assert_eq!(header, n.params().genesis, "{n}");
    }
}

#[test]
fn pow_limits_are_consistent() {
    for n in Network::ALL {
        let pow = &n.params().pow;
        assert_eq!(
            Target::from_bits(pow.limit_bits),
            Ok(pow.limit_target),
            "{n}"
        );
        assert_eq!(pow.limit_target.to_bits(), pow.limit_bits, "{n}");
        assert_eq!(u64::from(pow.blocks_per_day) * pow.target_spacing, 86_400);
        assert_eq!(
            pow.target_timespan,
            u64::from(pow.target_window) * pow.target_spacing
        );
        assert_eq!((pow.min_actual, pow.max_actual), (21_600, 345_600));
    }
    assert!(Network::Regtest.params().pow.no_retargeting);
    assert!(Network::Testnet.params().pow.target_reset);
    assert!(!Network::Main.params().pow.target_reset);
    assert_eq!(
        hex::encode(Network::Main.params().pow.min_chainwork.to_be_bytes()),
        "00000000000000000000000000000000000000000000000075b5a2b7bf522d45"
    );
}

#[test]
fn magic_lookup_and_names() {
    for n in Network::ALL {
        assert_eq!(Network::from_magic(n.params().magic), Some(n));
        assert_eq!(n.to_string().parse::<Network>(), Ok(n));
        assert!(std::ptr::eq(params(n), n.params()));
    }
    assert_eq!(Network::from_magic(0x5b6e_f2d3), Some(Network::Main));
    assert_eq!(Network::from_magic(0), None);
    assert_eq!(
        Network::Main.params().wire_magic(),
        [0xd3, 0xf2, 0x6e, 0x5b]
    );
}

#[test]
fn mainnet_defaults() {
    let p = Network::Main.params();
    assert_eq!((p.port, p.brontide_port), (12038, 44806));
    assert_eq!(
        (p.rpc_port, p.wallet_port, p.ns_port, p.rs_port),
        (12037, 12039, 5349, 5350)
    );
    assert_eq!(p.address_hrp, "hs");
    assert_eq!(p.max_tip_age, 12 * 60 * 60);
    assert!(!p.dns_seeds.is_empty());
    assert!(!p.seed_peers.is_empty());
    assert_eq!(p.identity_key, None);

    // Checkpoints: sorted, the last one is `last_checkpoint`, all look like real PoW hashes.
    assert_eq!(p.checkpoints.len(), 15);
    assert!(p.checkpoints.windows(2).all(|w| w[0].height < w[1].height));
    assert_eq!(
        p.checkpoints.last().map(|c| c.height),
        Some(p.last_checkpoint)
    );
    assert_eq!(p.last_checkpoint, 258_026);
    for c in p.checkpoints {
        assert_eq!(&c.hash.0[..5], &[0u8; 5], "{}", c.height);
        assert_eq!(p.checkpoint_at(c.height), Some(c.hash));
        assert_eq!(p.checkpoint_at(c.height + 1), None);
    }
    assert_eq!(
        p.checkpoint_at(136_000),
        None,
        "the hnsd checkpoint start is not an hsd checkpoint"
    );
    assert_eq!(
        p.checkpoint_at(258_026).map(|h| h.to_hex()).as_deref(),
        Some("0000000000000004963d20732c58e5a91cb7e1b61ec6709d031f1a5ca8c55b95")
    );

    // Seeds: keyed entries decode to compressed secp256k1 keys; IPs parse.
    let peers: Vec<SeedPeer> = p.parsed_seed_peers().collect();
    assert_eq!(peers.len(), 24);
    assert!(peers.iter().filter(|s| s.identity.is_some()).count() >= 10);
    for s in &peers {
        assert!(s.ip.parse::<std::net::Ipv4Addr>().is_ok(), "{}", s.ip);
        match s.identity {
            Some(_) => {
                let key = s.identity_key().unwrap();
                assert!(key[0] == 2 || key[0] == 3);
                assert!(secp256k1::PublicKey::from_slice(&key).is_ok());
                assert_eq!(s.port(p), 44806);
            }
            None => assert_eq!(s.port(p), 12038),
        }
    }
}

#[test]
fn other_networks() {
    let t = Network::Testnet.params();
    assert_eq!(
        (t.port, t.brontide_port, t.address_hrp),
        (13038, 45806, "ts")
    );
    assert!(t.checkpoints.is_empty());
    assert!(t.parsed_seed_peers().all(|s| s.identity_key().is_some()));
    let r = Network::Regtest.params();
    assert_eq!(
        (r.port, r.brontide_port, r.address_hrp),
        (14038, 46806, "rs")
    );
    assert_eq!((r.ns_port, r.rs_port), (25349, 25350));
    assert_eq!(r.max_tip_age, 0xffff_ffff);
    assert!(r.self_connect);
    assert_eq!(
        r.identity_key.map(hex::encode).as_deref(),
        Some("104932181cfed7584105c728cdc0eb9af1e7ffdc4a00743fd45e5de66cac7668")
    );
    let s = Network::Simnet.params();
    assert_eq!(
        (s.port, s.brontide_port, s.address_hrp),
        (15038, 47806, "ss")
    );
    assert_eq!(s.identity_key, r.identity_key);
}

#[test]
fn name_rules_table() {
    let m = Network::Main.params().names;
    assert_eq!(
        (
            m.tree_interval,
            m.auction_start,
            m.rollout_interval,
            m.lockup_period
        ),
        (36, 2016, 1008, 4320)
    );
    assert_eq!(
        (m.bidding_period, m.reveal_period, m.renewal_window),
        (720, 1440, 105_120)
    );
    assert_eq!(
        (m.claim_period, m.transfer_lockup, m.auction_maturity),
        (210_240, 288, 4176)
    );
    let r = Network::Regtest.params().names;
    assert_eq!(
        (
            r.tree_interval,
            r.auction_start,
            r.rollout_interval,
            r.lockup_period
        ),
        (5, 0, 2, 2)
    );
    assert_eq!(
        (r.bidding_period, r.reveal_period, r.renewal_window),
        (5, 10, 5000)
    );
    assert_eq!(
        (r.claim_period, r.transfer_lockup, r.auction_maturity),
        (250_000, 10, 65)
    );
    assert!(!r.no_reserved && !r.no_rollout);
    let t = Network::Testnet.params().names;
    assert_eq!(
        (
            t.tree_interval,
            t.auction_start,
            t.rollout_interval,
            t.lockup_period
        ),
        (36, 36, 36, 36)
    );
    assert_eq!(
        (t.bidding_period, t.reveal_period, t.renewal_window),
        (144, 288, 4320)
    );
    assert_eq!(
        (t.claim_period, t.transfer_lockup, t.auction_maturity),
        (12_960, 288, 1008)
    );
    assert_eq!(Network::Simnet.params().names.tree_interval, 2);
}
