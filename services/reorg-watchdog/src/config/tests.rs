#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;

const KEY: &str = "02b4632d08485ff1df2db55b9dafd23347d1c47a457072a1e87be26896549a8737";

#[test]
fn defaults_follow_the_documented_rules() {
    let config = WatchdogConfig::from_toml(
        "followers = [\"http://10.0.0.1:9530\", \"http://10.0.0.2:9530\"]\n",
    )
    .unwrap();
    assert_eq!(config.freeze_depth, 12);
    assert_eq!(config.unfreeze_after, 12);
    assert_eq!(config.max_lag, 3);
    assert_eq!(config.max_attestation_age, Duration::from_secs(60));
    // A strict majority of two sources is both.
    assert_eq!(config.effective_quorum(), 2);
}

#[test]
fn sources_parse_with_and_without_keys() {
    let follower: SourceSpec = "http://127.0.0.1:9530".parse().unwrap();
    assert_eq!(follower.scheme(), Scheme::Http);
    assert_eq!(follower.key(), None);
    let attester: SourceSpec = format!("https://watchdog.example.net={KEY}")
        .parse()
        .unwrap();
    assert_eq!(attester.scheme(), Scheme::Https);
    assert_eq!(hex::encode(attester.key().unwrap()), KEY);
    assert_eq!(
        attester.to_string(),
        format!("https://watchdog.example.net={KEY}")
    );
    let grpc: SourceSpec = format!("grpc://10.1.1.1:9560={KEY}").parse().unwrap();
    assert_eq!(grpc.grpc_endpoint(), "http://10.1.1.1:9560");
    for bad in [
        "ftp://x:1",
        "http://x",
        "http://x:1/path",
        "http://x:1=zz",
        "http://x:1=02ab",
        &format!("http://x:1={}", "04".repeat(33)),
    ] {
        assert!(bad.parse::<SourceSpec>().is_err(), "{bad}");
    }
}

#[test]
fn bad_values_name_their_key() {
    let base = "followers = [\"http://10.0.0.1:9530\"]\n";
    for (extra, key) in [
        ("", ""),
        ("quorum = 2\n", "quorum"),
        ("freeze_depth = 0\n", "freeze_depth"),
        ("unfreeze_after = 0\n", "unfreeze_after"),
        ("max_attestation_age = \"1s\"\n", "max_attestation_age"),
        ("poll_interval = \"2m\"\n", "poll_interval"),
        ("heartbeat_interval = \"0s\"\n", "heartbeat_interval"),
        ("attesters = [\"http://10.0.0.9:80\"]\n", "attesters"),
    ] {
        let result = WatchdogConfig::from_toml(&format!("{base}{extra}"));
        if key.is_empty() {
            result.unwrap();
        } else {
            let error = result.unwrap_err().to_string();
            assert!(error.contains(key), "{extra}: {error}");
        }
    }
    let error = WatchdogConfig::from_toml("").unwrap_err().to_string();
    assert!(error.contains("followers"), "{error}");
    let twice = WatchdogConfig::from_toml(
        "followers = [\"http://10.0.0.1:9530\", \"http://10.0.0.1:9530\"]\n",
    )
    .unwrap_err()
    .to_string();
    assert!(twice.contains("twice"), "{twice}");
}
