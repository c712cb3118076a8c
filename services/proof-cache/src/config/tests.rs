use super::*;
use hnsfleet_service_kit::cli::ServiceArgs;

use crate::cli::CacheArgs;

const NO_ENV: [(&str, &str); 0] = [];

fn url(s: &str) -> FollowerUrl {
    s.parse().unwrap()
}

#[test]
fn defaults_need_followers_and_take_a_majority() {
    let err = CacheConfig::default().validate().unwrap_err().to_string();
    assert!(err.contains("`followers`"), "{err}");
    let mut config = CacheConfig {
        followers: vec![url("http://127.0.0.1:9530")],
        ..CacheConfig::default()
    };
    config.validate().unwrap();
    assert_eq!(config.effective_quorum(), 1);
    config.followers.push(url("http://127.0.0.2:9530"));
    assert_eq!(config.effective_quorum(), 2);
    config.followers.push(url("http://127.0.0.3:9530"));
    assert_eq!(config.effective_quorum(), 2);
    assert_eq!(config.resolved().quorum, Some(2));
}

#[test]
fn follower_urls_are_checked() {
    for good in [
        "http://127.0.0.1:9530",
        "https://follower-0.followers:9530/",
    ] {
        good.parse::<FollowerUrl>().unwrap();
    }
    for (bad, why) in [
        ("127.0.0.1:9530", "scheme"),
        ("ftp://a:1", "scheme"),
        ("http://a", "port"),
        ("http://a:0", "port"),
        ("http://a:1/x", "path"),
        ("not a url", "URL"),
    ] {
        let err = bad.parse::<FollowerUrl>().unwrap_err().to_string();
        assert!(err.contains(why), "{bad}: {err}");
    }
}

#[test]
fn bad_values_name_their_key() {
    let base = "followers = [\"http://127.0.0.1:1\", \"http://127.0.0.1:2\"]\n";
    for (extra, key) in [
        ("quorum = 3", "quorum"),
        ("quorum = 0", "quorum"),
        ("cache_capacity = \"10 KiB\"", "cache_capacity"),
        ("cache_capacity = \"lots\"", "cache_capacity"),
        ("hedge_after = \"10s\"", "hedge_after"),
        ("follower_timeout = \"1ms\"", "follower_timeout"),
        ("quarantine = \"0s\"", "quarantine"),
        ("serve_stale = \"2d\"", "serve_stale"),
        ("cache_ttl = \"0s\"", "cache_ttl"),
        ("grpc_max_in_flight = 0", "grpc_max_in_flight"),
        ("no_such_key = 1", "no_such_key"),
    ] {
        let err = CacheConfig::from_toml(&format!("{base}{extra}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("`{key}`")), "{extra}: {err}");
    }
    let twice = "followers = [\"http://127.0.0.1:1\", \"http://127.0.0.1:1\"]\n";
    let err = CacheConfig::from_toml(twice).unwrap_err().to_string();
    assert!(err.contains("listed twice"), "{err}");
}

#[test]
fn file_env_and_flags_layer_and_sizes_are_human() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("cache.toml");
    std::fs::write(
        &file,
        "network = \"regtest\"\nfollowers = [\"http://127.0.0.1:1\"]\ncache_capacity = \"64 MiB\"\nserve_stale = \"30s\"\n",
    )
    .unwrap();
    let env = [
        (
            "HNSFLEET_FOLLOWERS",
            "http://127.0.0.1:2,http://127.0.0.1:3",
        ),
        ("HNSFLEET_SERVE_STALE", "45s"),
    ];
    let args = CacheArgs {
        hedge_after: Some(Duration::from_millis(50)),
        service: ServiceArgs {
            config: Some(file.clone()),
            ..ServiceArgs::default()
        },
        ..CacheArgs::default()
    };
    let config = args.resolve_with(&env).unwrap();
    assert_eq!(config.network, Network::Regtest);
    assert_eq!(
        config.followers,
        vec![url("http://127.0.0.1:2"), url("http://127.0.0.1:3")]
    );
    assert_eq!(config.cache_capacity, ByteSize::mib(64));
    assert_eq!(config.serve_stale, Duration::from_secs(45));
    assert_eq!(config.hedge_after, Duration::from_millis(50));
    // Without the environment, the file's values stand.
    let config = args.resolve_with(&NO_ENV).unwrap();
    assert_eq!(config.followers, vec![url("http://127.0.0.1:1")]);
    assert_eq!(config.serve_stale, Duration::from_secs(30));
    // What --check-config prints loads back to the same configuration.
    let printed = toml::to_string(&config.resolved()).unwrap();
    assert_eq!(CacheConfig::from_toml(&printed).unwrap(), config.resolved());
}
