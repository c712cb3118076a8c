//! The configuration contract of the real binary: `--check-config` prints the effective config
//! as TOML (durations as human strings, network defaults written out) that loads back to the
//! same output; file < environment < flags; a bad value, an unknown key or a bad flag is one
//! line on stderr naming it, and exit status 64. Each run gets a cleared environment, so
//! nothing from the machine's leaks in.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::process::{Command, Output};

const BIN: &str = env!("CARGO_BIN_EXE_hnsfleet-chain-follower");

fn run(args: &[&str], env: &[(&str, &str)]) -> Output {
    Command::new(BIN)
        .env_clear()
        .envs(env.iter().copied())
        .args(args)
        .output()
        .unwrap()
}

fn stdout(out: &Output) -> String {
    assert!(
        out.status.success(),
        "{:?}: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    String::from_utf8(out.stdout.clone()).unwrap()
}

/// The one stderr line of a refused configuration (exit 64, nothing on stdout).
fn refused(out: &Output) -> String {
    let stderr = String::from_utf8(out.stderr.clone()).unwrap();
    assert_eq!(out.status.code(), Some(64), "{stderr}");
    assert!(out.stdout.is_empty());
    assert_eq!(stderr.lines().count(), 1, "{stderr}");
    stderr.trim_end().to_string()
}

/// A fresh temporary directory (removed when the value drops).
fn temp_dir() -> tempfile::TempDir {
    tempfile::tempdir().unwrap()
}

fn value<'a>(toml: &'a str, key: &str) -> &'a str {
    toml.lines()
        .find_map(|l| l.strip_prefix(&format!("{key} = ")))
        .unwrap_or_else(|| panic!("no {key} in\n{toml}"))
}

const REGTEST: [&str; 5] = [
    "--network",
    "regtest",
    "--peer",
    "127.0.0.1:14038",
    "--check-config",
];

#[test]
fn check_config_prints_human_durations_and_network_defaults_and_round_trips() {
    let text = stdout(&run(&REGTEST, &[]));
    for (key, expected) in [
        ("network", "\"regtest\""),
        ("proof_timeout", "\"5s\""),
        ("response_timeout", "\"30s\""),
        ("hedge_after", "\"250ms\""),
        ("ban_time", "\"24h\""),
        ("shutdown_drain", "\"5s\""),
        ("shutdown_grace", "\"10s\""),
        ("min_peers", "1"),
        ("discover_peers", "false"),
        ("dns_seeds", "[]"),
    ] {
        assert_eq!(value(&text, key), expected, "{key}");
    }
    let tmp = temp_dir();
    let dir = tmp.path().to_path_buf();
    let file = dir.join("follower.toml");
    std::fs::write(&file, &text).unwrap();
    let again = stdout(&run(
        &["--config", file.to_str().unwrap(), "--check-config"],
        &[],
    ));
    assert_eq!(again, text);
    let via_env = stdout(&run(
        &["--check-config"],
        &[("HNSFLEET_CONFIG", file.to_str().unwrap())],
    ));
    assert_eq!(via_env, text);
}

#[test]
fn file_then_environment_then_flags() {
    let tmp = temp_dir();
    let dir = tmp.path().to_path_buf();
    let file = dir.join("follower.toml");
    std::fs::write(
        &file,
        "network = \"regtest\"\npeers = [\"127.0.0.1:1\"]\nhedge_after = \"100ms\"\nmax_peers = 3\n",
    )
    .unwrap();
    let config = file.to_str().unwrap();
    let env = [
        ("HNSFLEET_HEDGE_AFTER", "200ms"),
        ("HNSFLEET_PEERS", "127.0.0.1:2,127.0.0.1:3"),
    ];
    let text = stdout(&run(&["--config", config, "--check-config"], &env));
    assert_eq!(value(&text, "hedge_after"), "\"200ms\"");
    assert_eq!(value(&text, "peers"), "[\"127.0.0.1:2\", \"127.0.0.1:3\"]");
    assert_eq!(value(&text, "max_peers"), "3");
    let text = stdout(&run(
        &[
            "--config",
            config,
            "--hedge-after",
            "300ms",
            "--check-config",
        ],
        &env,
    ));
    assert_eq!(value(&text, "hedge_after"), "\"300ms\"");
    assert_eq!(value(&text, "peers"), "[\"127.0.0.1:2\", \"127.0.0.1:3\"]");
}

#[test]
fn bad_configuration_exits_64_with_one_line_naming_the_key() {
    let e = refused(&run(&REGTEST, &[("HNSFLEET_HEDGE_AFTER", "5 parsecs")]));
    assert!(
        e.starts_with(
            "error: config key `hedge_after` (env HNSFLEET_HEDGE_AFTER): invalid duration \"5 parsecs\""
        ),
        "{e}"
    );
    let tmp = temp_dir();
    let dir = tmp.path().to_path_buf();
    let file = dir.join("follower.toml");
    std::fs::write(&file, "network = \"regtest\"\nproof_timeout_ms = 5000\n").unwrap();
    let e = refused(&run(
        &["--config", file.to_str().unwrap(), "--check-config"],
        &[],
    ));
    assert_eq!(
        e,
        format!(
            "error: config key `proof_timeout_ms` (config file {}): unknown key (did you mean `proof_timeout`?)",
            file.display()
        )
    );
    let e = refused(&run(&["--config", "/nonexistent.toml"], &[]));
    assert!(
        e.starts_with("error: config file /nonexistent.toml: "),
        "{e}"
    );
    let e = refused(&run(&["--network", "regtest", "--check-config"], &[]));
    assert!(e.starts_with("error: config key `peers`: "), "{e}");
    let e = refused(&run(&["--hedge-after", "5 parsecs"], &[]));
    assert!(
        e.contains("--hedge-after") && e.contains("5 parsecs"),
        "{e}"
    );
    let e = refused(&run(&["--proof-timeout-ms", "5000"], &[]));
    assert!(e.contains("--proof-timeout-ms"), "{e}");
}

#[test]
fn unknown_environment_variables_are_warned_about_not_fatal() {
    let out = run(
        &REGTEST,
        &[
            ("HNSFLEET_PROOF_TIMEOUT_MS", "5000"),
            ("HNSFLEET_FOLLOWER", "x"),
        ],
    );
    let text = stdout(&out);
    assert_eq!(value(&text, "proof_timeout"), "\"5s\"");
    let stderr = String::from_utf8(out.stderr).unwrap();
    assert!(
        stderr.contains(
            "warning: environment variable HNSFLEET_PROOF_TIMEOUT_MS matches no config key (did you mean HNSFLEET_PROOF_TIMEOUT?); ignored"
        ),
        "{stderr}"
    );
    assert!(stderr.contains("HNSFLEET_FOLLOWER"), "{stderr}");
}

#[test]
fn help_exits_0() {
    let out = run(&["--help"], &[]);
    let help = stdout(&out);
    for flag in [
        "--proof-timeout <DURATION>",
        "--shutdown-drain <DURATION>",
        "--config <FILE>",
    ] {
        assert!(help.contains(flag), "{flag} in\n{help}");
    }
}
