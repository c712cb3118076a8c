use super::*;
use hnsfleet_service_kit::cli::ServiceArgs;

use crate::cli::FollowerArgs;

/// No `HNSFLEET_*` variables: tests never read or change the process environment.
const NO_ENV: [(&str, &str); 0] = [];

#[test]
fn mainnet_defaults_use_seeds_and_checkpoint_without_dialing() {
    let config = FollowerConfig::default();
    assert_eq!(config.network, Network::Main);
    assert!(config.checkpoint);
    let peers = config.effective_peers();
    assert!(peers.len() >= 5, "{peers:?}");
    // Keyed seeds dial the brontide port.
    let params = Network::Main.params();
    assert!(
        peers
            .iter()
            .any(|p| p.identity.is_some() && p.port == params.brontide_port)
    );
    // Static seeds are addresses; host names are DNS seeds.
    assert!(
        peers
            .iter()
            .all(|p| p.host.parse::<std::net::IpAddr>().is_ok())
    );
    // DNS seeds are resolved to one peer per address, on the plain port.
    let dns = config.effective_dns_seeds();
    assert_eq!(dns.len(), params.dns_seeds.len());
    assert!(
        dns.iter().all(|(host, port)| {
            params.dns_seeds.contains(&host.as_str()) && *port == params.port
        })
    );
    assert_eq!(config.effective_min_peers(), 2);
    assert!(config.effective_discover_peers());
    config.validate().unwrap();
}

#[test]
fn regtest_has_no_seeds_and_needs_peers() {
    let config = FollowerConfig {
        network: Network::Regtest,
        ..FollowerConfig::default()
    };
    let err = config.validate().unwrap_err().to_string();
    assert!(err.contains("`peers`"), "{err}");
    let config = FollowerConfig {
        network: Network::Regtest,
        peers: vec!["127.0.0.1:14038".parse().unwrap()],
        ..FollowerConfig::default()
    };
    config.validate().unwrap();
    assert_eq!(config.effective_min_peers(), 1);
    // A local test network does not dial gossiped peers unless told to.
    assert!(!config.effective_discover_peers());
    let told = FollowerArgs {
        network: Some(Network::Regtest),
        peers: vec!["127.0.0.1:1".parse().unwrap()],
        discover_peers: Some(true),
        ..FollowerArgs::default()
    };
    assert!(
        told.resolve_with(&NO_ENV)
            .unwrap()
            .effective_discover_peers()
    );
}

#[test]
fn peer_addresses_parse_and_print() {
    let plain: PeerAddr = "127.0.0.1:14038".parse().unwrap();
    assert_eq!(plain.identity, None);
    assert_eq!((plain.host.as_str(), plain.port), ("127.0.0.1", 14038));
    let key = "aorsxa4ylaacshipyjkfbvzfkh3jhh4yowtoqdt64nzemqtiw2whk";
    let keyed: PeerAddr = format!("{key}@127.0.0.1:26806").parse().unwrap();
    assert_eq!(keyed.to_string(), format!("{key}@127.0.0.1:26806"));
    let hex_key = hex::encode(keyed.identity.unwrap());
    let same: PeerAddr = format!("{hex_key}@127.0.0.1:26806").parse().unwrap();
    assert_eq!(same, keyed);
    let v6: PeerAddr = "[::1]:1".parse().unwrap();
    assert_eq!(v6.to_string(), "[::1]:1");
    for bad in [
        "",
        "127.0.0.1",
        "127.0.0.1:0",
        "127.0.0.1:99999",
        ":80",
        "zz@127.0.0.1:1",
        "@127.0.0.1:1",
    ] {
        assert!(bad.parse::<PeerAddr>().is_err(), "{bad:?} parsed");
    }
}

#[test]
fn dns_seeds_parse_default_and_override() {
    let seed: SeedHost = "seed.example.org".parse().unwrap();
    assert_eq!((seed.host.as_str(), seed.port), ("seed.example.org", None));
    let seed: SeedHost = "localhost:14038".parse().unwrap();
    assert_eq!(seed.to_string(), "localhost:14038");
    for bad in ["", ":1", "a b", "host:0", "host:x", "key@host", "[::1]:1"] {
        assert!(bad.parse::<SeedHost>().is_err(), "{bad:?} parsed");
    }
    // Configured peers turn the network's DNS seeds off unless seeds are asked for.
    let with_peers = FollowerConfig {
        peers: vec!["127.0.0.1:1".parse().unwrap()],
        ..FollowerConfig::default()
    };
    assert!(with_peers.effective_dns_seeds().is_empty());
    let explicit = FollowerConfig {
        dns_seeds: Some(vec!["localhost".parse().unwrap()]),
        ..with_peers.clone()
    };
    assert_eq!(
        explicit.effective_dns_seeds(),
        [("localhost".to_string(), Network::Main.params().port)]
    );
    let off = FollowerConfig {
        dns_seeds: Some(Vec::new()),
        ..FollowerConfig::default()
    };
    assert!(off.effective_dns_seeds().is_empty());
    off.validate().unwrap();
    // A regtest follower may start from a DNS seed alone; it may stand for any number of
    // peers, so min_peers is not checked against a count.
    let seeded = FollowerConfig {
        network: Network::Regtest,
        dns_seeds: Some(vec!["localhost:14038".parse().unwrap()]),
        min_peers: Some(3),
        ..FollowerConfig::default()
    };
    seeded.validate().unwrap();
    let toml = FollowerConfig::from_toml("dns_seeds = [\"localhost:1\"]").unwrap();
    assert_eq!(toml.dns_seeds, Some(vec!["localhost:1".parse().unwrap()]));
    let bad = FollowerConfig::from_toml("dns_seeds = [\"a b\"]")
        .unwrap_err()
        .to_string();
    assert!(bad.contains("a b"), "{bad}");
    let args = FollowerArgs {
        network: Some(Network::Regtest),
        dns_seeds: vec!["localhost:2000".parse().unwrap()],
        ..FollowerArgs::default()
    };
    assert_eq!(
        args.resolve_with(&NO_ENV).unwrap().effective_dns_seeds(),
        [("localhost".to_string(), 2000)]
    );
}

#[test]
fn resolved_config_writes_the_network_defaults_out_and_loads_back_the_same() {
    for config in [
        FollowerConfig::default(),
        FollowerConfig {
            network: Network::Regtest,
            peers: vec!["127.0.0.1:14038".parse().unwrap()],
            ..FollowerConfig::default()
        },
    ] {
        let resolved = config.resolved();
        assert_eq!(resolved.min_peers, Some(config.effective_min_peers()));
        assert_eq!(
            resolved.discover_peers,
            Some(config.effective_discover_peers())
        );
        assert_eq!(resolved.peers, config.effective_peers());
        assert_eq!(resolved.effective_dns_seeds(), config.effective_dns_seeds());
        assert_eq!(resolved.key_file, Some(config.effective_key_file()));
        resolved.validate().unwrap();
        let text = toml::to_string(&resolved).unwrap();
        let loaded = FollowerConfig::from_toml(&text).unwrap();
        assert_eq!(loaded, resolved, "{text}");
        assert_eq!(loaded.resolved(), resolved);
        // Durations are written as human strings.
        for line in [
            "proof_timeout = \"5s\"",
            "response_timeout = \"30s\"",
            "hedge_after = \"250ms\"",
            "ban_time = \"24h\"",
            "shutdown_drain = \"5s\"",
            "shutdown_grace = \"10s\"",
            "log_format = \"text\"",
        ] {
            assert!(text.lines().any(|l| l == line), "{line} in\n{text}");
        }
    }
}

#[test]
fn list_keys_are_exactly_the_keys_whose_value_is_a_list() {
    let resolved = serde_json::to_value(FollowerConfig::default().resolved()).unwrap();
    let lists: Vec<&str> = resolved
        .as_object()
        .unwrap()
        .iter()
        .filter(|(_, v)| v.is_array())
        .map(|(k, _)| k.as_str())
        .collect();
    assert_eq!(lists, FollowerConfig::LIST_KEYS);
}

#[test]
fn toml_file_then_env_then_flags_later_wins() {
    let text = r#"
network = "regtest"
peers = ["127.0.0.1:1000", "127.0.0.1:1001"]
grpc_listen = "127.0.0.1:7000"
hedge_after = "100ms"
proof_timeout = "2s"
ban_time = "1h"
"#;
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("follower.toml");
    std::fs::write(&path, text).unwrap();
    let from_file = FollowerArgs {
        service: ServiceArgs {
            config: Some(path.clone()),
            ..ServiceArgs::default()
        },
        ..FollowerArgs::default()
    };
    let config = from_file.resolve_with(&NO_ENV).unwrap();
    assert_eq!(config.network, Network::Regtest);
    assert_eq!(config.peers.len(), 2);
    assert_eq!(config.hedge_after, Duration::from_millis(100));
    assert_eq!(config.proof_timeout, Duration::from_secs(2));
    assert_eq!(config.ban_time, Duration::from_secs(3600));

    let env = [
        (
            "HNSFLEET_PEERS",
            "127.0.0.1:3000,127.0.0.1:3001,127.0.0.1:3002",
        ),
        ("HNSFLEET_HEDGE_AFTER", "200ms"),
        ("HNSFLEET_RESPONSE_TIMEOUT", "45s"),
        ("HNSFLEET_SHUTDOWN_DRAIN", "1s"),
    ];
    let config = from_file.resolve_with(&env).unwrap();
    assert_eq!(config.peers.len(), 3);
    assert_eq!(config.hedge_after, Duration::from_millis(200));
    assert_eq!(config.response_timeout, Duration::from_secs(45));
    assert_eq!(config.service.shutdown_drain, Duration::from_secs(1));

    let args = FollowerArgs {
        peers: vec!["127.0.0.1:2000".parse().unwrap()],
        hedge_after: Some(Duration::from_millis(300)),
        ..from_file.clone()
    };
    let config = args.resolve_with(&env).unwrap();
    assert_eq!(config.network, Network::Regtest);
    assert_eq!(config.peers.len(), 1);
    assert_eq!(config.peers[0].port, 2000);
    assert_eq!(config.grpc_listen, "127.0.0.1:7000".parse().unwrap());
    assert_eq!(config.hedge_after, Duration::from_millis(300));
    assert_eq!(
        config.response_timeout,
        Duration::from_secs(45),
        "no flag: env stays"
    );
    drop(dir);
}

#[test]
fn bad_values_name_their_key() {
    let err = |text: &str| FollowerConfig::from_toml(text).unwrap_err().to_string();
    let unknown = err("netwrk = \"main\"");
    assert!(unknown.contains("`netwrk`"), "{unknown}");
    assert!(unknown.contains("did you mean `network`"), "{unknown}");
    // The keys renamed to durations point to their new name.
    let renamed = err("proof_timeout_ms = 5000");
    assert!(
        renamed.contains("`proof_timeout_ms`") && renamed.contains("`proof_timeout`"),
        "{renamed}"
    );
    let wrong_type = err("max_peers = \"many\"");
    assert!(wrong_type.contains("`max_peers`"), "{wrong_type}");
    let bad_network = err("network = \"moon\"");
    assert!(bad_network.contains("moon"), "{bad_network}");
    let bad_peer = err("peers = [\"nope\"]");
    assert!(bad_peer.contains("nope"), "{bad_peer}");
    let bad_duration = err("hedge_after = \"5 parsecs\"");
    assert!(
        bad_duration.starts_with("config key `hedge_after` (config text): invalid duration"),
        "{bad_duration}"
    );
    let env_duration = FollowerArgs::default()
        .resolve_with(&[("HNSFLEET_PROOF_TIMEOUT", "5000")])
        .unwrap_err()
        .to_string();
    assert!(
        env_duration.starts_with(
            "config key `proof_timeout` (env HNSFLEET_PROOF_TIMEOUT): invalid duration \"5000\""
        ),
        "{env_duration}"
    );
    let base = FollowerConfig {
        network: Network::Regtest,
        peers: vec!["127.0.0.1:1".parse().unwrap()],
        ..FollowerConfig::default()
    };
    let cases: [(&str, FollowerConfig); 6] = [
        (
            "hedge_after",
            FollowerConfig {
                hedge_after: Duration::from_secs(6),
                ..base.clone()
            },
        ),
        (
            "max_peers",
            FollowerConfig {
                max_peers: 0,
                ..base.clone()
            },
        ),
        (
            "min_peers",
            FollowerConfig {
                min_peers: Some(2),
                ..base.clone()
            },
        ),
        (
            "proof_timeout",
            FollowerConfig {
                proof_timeout: Duration::from_millis(1),
                hedge_after: Duration::ZERO,
                ..base.clone()
            },
        ),
        (
            "ban_time",
            FollowerConfig {
                ban_time: Duration::from_millis(10),
                ..base.clone()
            },
        ),
        (
            "log",
            FollowerConfig {
                service: ServiceSettings {
                    log: "info,[[[".into(),
                    ..ServiceSettings::default()
                },
                ..base.clone()
            },
        ),
    ];
    for (key, config) in cases {
        let err = config.validate().unwrap_err().to_string();
        assert!(err.contains(&format!("`{key}`")), "{key}: {err}");
    }
}
