#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use super::*;
use hnsfleet_service_kit::cli::ServiceArgs;

use crate::cli::FrontendArgs;

fn url(s: &str) -> CacheUrl {
    s.parse().unwrap()
}

#[test]
fn defaults_need_a_cache_and_serve_do53_on_53() {
    let err = FrontendConfig::default()
        .validate()
        .unwrap_err()
        .to_string();
    assert!(err.contains("`caches`"), "{err}");
    let config = FrontendConfig {
        caches: vec![url("http://127.0.0.1:9540")],
        ..FrontendConfig::default()
    };
    config.validate().unwrap();
    assert_eq!(
        config.dns_listen,
        Some(SocketAddr::from(([0, 0, 0, 0], 53)))
    );
    assert_eq!(config.udp_payload, 1232);
    assert!(config.udp_dont_fragment);
    // 0 sockets means one per CPU: at least one, never more than the cap.
    assert!((1..=256).contains(&config.udp_socket_count()));
    assert!(!config.needs_tls());
    // The public host falls back to loopback when the listener is on every address.
    assert_eq!(config.effective_public_host(), IpAddr::from([127, 0, 0, 1]));
}

#[test]
fn cache_urls_are_checked() {
    assert_eq!(
        url("http://[::1]:9540").socket_addr(),
        Some("[::1]:9540".parse().unwrap())
    );
    assert_eq!(url("http://cache.hnsfleet:9540").socket_addr(), None);
    assert_eq!(url("http://[::1]:9540").to_string(), "http://[::1]:9540");
    for (bad, why) in [
        ("127.0.0.1:9540", "scheme"),
        ("https://a:1", "scheme"),
        ("http://a", "port"),
        ("http://a:1/x", "path"),
    ] {
        let err = bad.parse::<CacheUrl>().unwrap_err().to_string();
        assert!(err.contains(why), "{bad}: {err}");
    }
}

#[test]
fn bad_values_name_their_key() {
    let base = "caches = [\"http://127.0.0.1:1\"]\n";
    for (extra, key) in [
        ("dot_listen = \"127.0.0.1:853\"", "tls_cert"),
        ("doq_listen = \"127.0.0.1:853\"", "tls_cert"),
        (
            "doh_listen = \"127.0.0.1:443\"\ntls_cert = \"/c.pem\"",
            "tls_cert",
        ),
        (
            "doh_listen = \"127.0.0.1:443\"\ntls_cert = \"/c\"\ntls_key = \"/k\"\nself_signed = true",
            "self_signed",
        ),
        ("udp_payload = 100", "udp_payload"),
        ("udp_sockets = 1000", "udp_sockets"),
        ("sig0_client_rate = 0", "sig0_client_rate"),
        ("sig0_client_burst = 1", "sig0_client_burst"),
        ("answer_cache_capacity = \"1 KiB\"", "answer_cache_capacity"),
        ("serve_stale = \"30d\"", "serve_stale"),
        ("resolve_timeout = \"1ms\"", "resolve_timeout"),
        ("max_connections = 0", "max_connections"),
        ("max_in_flight = 0", "max_in_flight"),
        ("idle_timeout = \"1ms\"", "idle_timeout"),
        ("rrl_rate = 100\nrrl_burst = 10", "rrl_burst"),
        ("rrl_slip = 11", "rrl_slip"),
        (
            "max_connections_per_prefix = 0",
            "max_connections_per_prefix",
        ),
        (
            "tls_handshake_rate = 10\ntls_handshake_burst = 1",
            "tls_handshake_burst",
        ),
        ("doh_max_streams = 0", "doh_max_streams"),
        ("max_pipelined = 0", "max_pipelined"),
        ("tls_reload_interval = \"10ms\"", "tls_reload_interval"),
        ("tls_session_cache = 100000000", "tls_session_cache"),
        ("no_such_key = 1", "no_such_key"),
    ] {
        let err = FrontendConfig::from_toml(&format!("{base}{extra}\n"))
            .unwrap_err()
            .to_string();
        assert!(err.contains(&format!("`{key}`")), "{extra}: {err}");
    }
    let mixed = "caches = [\"http://127.0.0.1:1\", \"http://cache:1\"]\n";
    let err = FrontendConfig::from_toml(mixed).unwrap_err().to_string();
    assert!(err.contains("host name"), "{err}");
}

#[test]
fn file_env_and_flags_layer() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("frontend.toml");
    std::fs::write(
        &file,
        "network = \"regtest\"\ncaches = [\"http://127.0.0.1:1\"]\nserve_stale = \"1h\"\nsig0_doh = true\n",
    )
    .unwrap();
    let env = [
        ("HNSFLEET_CACHES", "http://127.0.0.1:2,http://127.0.0.1:3"),
        ("HNSFLEET_SERVE_STALE", "2h"),
    ];
    let args = FrontendArgs {
        dns_listen: Some("127.0.0.1:5353".parse().unwrap()),
        service: ServiceArgs {
            config: Some(file.clone()),
            ..ServiceArgs::default()
        },
        ..FrontendArgs::default()
    };
    let config = args.resolve_with(&env).unwrap();
    assert_eq!(config.network, Network::Regtest);
    assert_eq!(
        config.caches,
        vec![url("http://127.0.0.1:2"), url("http://127.0.0.1:3")]
    );
    assert_eq!(config.serve_stale, Duration::from_secs(7200));
    assert!(config.sig0_doh);
    // Rate limits turned off need no burst.
    let off =
        "caches = [\"http://127.0.0.1:1\"]\nrrl_rate = 0\nrrl_burst = 0\ntls_handshake_rate = 0\n";
    FrontendConfig::from_toml(off).unwrap();
    assert_eq!(config.dns_listen, Some("127.0.0.1:5353".parse().unwrap()));
    assert_eq!(config.effective_public_host(), IpAddr::from([127, 0, 0, 1]));
    // What --check-config prints loads back to the same configuration.
    let printed = toml::to_string(&config.resolved()).unwrap();
    assert_eq!(
        FrontendConfig::from_toml(&printed).unwrap(),
        config.resolved()
    );
}

#[test]
fn tls_reload_polling_can_be_turned_off_and_resumption_has_defaults() {
    let base = "caches = [\"http://127.0.0.1:1\"]\n";
    let defaults = FrontendConfig::from_toml(base).unwrap();
    assert_eq!(defaults.tls_reload_interval, Duration::from_secs(10));
    assert!(defaults.tls_tickets);
    assert_eq!(defaults.tls_session_cache, 10_000);
    let off = FrontendConfig::from_toml(&format!(
        "{base}tls_reload_interval = \"0s\"\ntls_tickets = false\ntls_session_cache = 0\n"
    ))
    .unwrap();
    assert!(off.tls_reload_interval.is_zero());
    assert!(!off.tls_tickets);
    assert_eq!(off.tls_session_cache, 0);
}
