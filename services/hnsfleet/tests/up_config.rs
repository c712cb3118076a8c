//! `hnsfleet up`: the README's config table ("`hnsfleet up`") lists exactly its keys, flags,
//! variables and defaults, and a bad value exits 64 naming the key.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hnsfleet::up::{UpArgs, UpConfig};
use hnsfleet_service_kit::config::flag_names;

const README: &str = include_str!(concat!(env!("CARGO_MANIFEST_DIR"), "/../../README.md"));
const BIN: &str = env!("CARGO_BIN_EXE_hnsfleet");

#[test]
fn readme_config_table_lists_exactly_the_keys_flags_variables_and_defaults() {
    hnsfleet_testkit::readme::assert_config_table(
        README,
        "`hnsfleet up`",
        &serde_json::to_value(UpConfig::default()).unwrap(),
        &flag_names::<UpArgs>(),
    );
}

#[test]
fn bad_values_exit_64_naming_the_key() {
    for (args, key) in [
        (vec!["up", "--tls-cert", "/nope.pem"], "tls_cert"),
        (vec!["up", "--network", "regtest"], "peers"),
        (vec!["up", "--peer", "not a peer"], "peer"),
        (vec!["up", "--dns-listen", "nowhere"], "dns-listen"),
    ] {
        let out = std::process::Command::new(BIN)
            .args(&args)
            .output()
            .unwrap();
        assert_eq!(out.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&out.stderr);
        assert!(stderr.contains(key), "{args:?}: {stderr}");
    }
}
