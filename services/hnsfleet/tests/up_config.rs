//! `hnsfleet up`: the README's config table ("`hnsfleet up`") lists exactly its keys, flags,
//! variables and defaults, a bad value exits 64 naming the key, and the abuse limits and TLS
//! listeners (DoT, DoH with HTTP/3, DoQ) reach the frontend as documented.
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
        (vec!["up", "--rrl-slip", "11"], "rrl_slip"),
        (
            vec!["up", "--max-connections-per-prefix", "0"],
            "max_connections_per_prefix",
        ),
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

#[test]
fn abuse_limits_reach_the_frontend_with_bursts_twice_the_rates() {
    let up = UpConfig {
        rrl_rate: 5_000,
        rrl_slip: 3,
        max_connections_per_prefix: 7,
        tls_handshake_rate: 50,
        ..UpConfig::default()
    };
    let frontend = up.frontend("http://127.0.0.1:1".parse().unwrap(), None);
    assert_eq!(
        (frontend.rrl_rate, frontend.rrl_burst, frontend.rrl_slip),
        (5_000, 10_000, 3)
    );
    assert_eq!(frontend.max_connections_per_prefix, 7);
    assert_eq!(
        (frontend.tls_handshake_rate, frontend.tls_handshake_burst),
        (50, 100)
    );
    frontend.validate().unwrap();
    // Off is off, not a zero burst refused.
    let off = UpConfig {
        rrl_rate: 0,
        tls_handshake_rate: 0,
        ..UpConfig::default()
    }
    .frontend("http://127.0.0.1:1".parse().unwrap(), None);
    off.validate().unwrap();
}

#[test]
fn tls_turns_on_dot_doh_with_http3_and_doq_at_their_defaults() {
    let url = || "http://127.0.0.1:1".parse().unwrap();
    let plain = UpConfig::default().frontend(url(), None);
    assert_eq!(
        (plain.dot_listen, plain.doh_listen, plain.doq_listen),
        (None, None, None)
    );
    let tls = UpConfig {
        self_signed: true,
        ..UpConfig::default()
    };
    let frontend = tls.frontend(url(), None);
    assert_eq!(frontend.doq_listen, Some("127.0.0.1:8853".parse().unwrap()));
    assert_eq!(frontend.doh_listen, Some("127.0.0.1:8443".parse().unwrap()));
    assert!(frontend.doh3);
    frontend.validate().unwrap();
    // Given addresses win; HTTP/3 can be turned off.
    let given = UpConfig {
        self_signed: true,
        doq_listen: Some("127.0.0.1:9853".parse().unwrap()),
        doh3: false,
        ..UpConfig::default()
    }
    .frontend(url(), None);
    assert_eq!(given.doq_listen, Some("127.0.0.1:9853".parse().unwrap()));
    assert!(!given.doh3);
}
