use clap::Parser;

use super::*;

fn args(extra: &[&str]) -> Args {
    let mut all = vec!["hnsfleet-loadgen", "--target", "127.0.0.1:53"];
    all.extend_from_slice(extra);
    Args::try_parse_from(all).unwrap()
}

fn config_err(extra: &[&str]) -> String {
    Config::from_args(&args(extra)).unwrap_err().to_string()
}

#[test]
fn defaults_are_a_bounded_closed_loop() {
    let config = Config::from_args(&args(&[])).unwrap();
    assert_eq!(config.mode, Mode::Closed { concurrency: 100 });
    assert_eq!(config.duration, DEFAULT_DURATION);
    assert_eq!(config.queries, None);
    assert_eq!(config.timeout, Duration::from_secs(2));
    assert_eq!(config.connections, 4);
    assert!(config.trust.is_none());
    // --queries alone is still bounded in time.
    let config = Config::from_args(&args(&["--queries", "10"])).unwrap();
    assert_eq!(config.duration, MAX_DURATION);
    // Closed loop never opens more connections than it has outstanding queries.
    let config = Config::from_args(&args(&["--concurrency", "2", "--connections", "8"])).unwrap();
    assert_eq!(config.connections, 2);
    let config = Config::from_args(&args(&["--rate", "100", "--duration", "1.5"])).unwrap();
    assert_eq!(config.mode, Mode::Open { rate: 100 });
    assert_eq!(config.duration, Duration::from_millis(1500));
}

#[test]
fn caps_cannot_be_exceeded() {
    assert!(config_err(&["--duration", "301"]).contains("300 s"));
    assert!(config_err(&["--duration", "0"]).contains("--duration"));
    assert!(config_err(&["--queries", "100000001"]).contains("--queries"));
    assert!(config_err(&["--rate", "2000001"]).contains("--rate"));
    assert!(config_err(&["--rate", "0"]).contains("--rate"));
    assert!(config_err(&["--concurrency", "10001"]).contains("--concurrency"));
    assert!(config_err(&["--connections", "257"]).contains("--connections"));
    assert!(config_err(&["--timeout", "31s"]).contains("--timeout"));
    assert!(config_err(&["--hot-fraction", "1.5"]).contains("--hot-fraction"));
    assert!(config_err(&["--hot-set", "0"]).contains("--hot-set"));
    assert!(config_err(&["--mix", "hns=0"]).contains("--mix"));
    assert!(config_err(&["--mix", "bogus=1"]).contains("bogus"));
    assert!(config_err(&["--qtypes", "NOPE=1"]).contains("NOPE"));
    assert!(config_err(&["--hns-names", "a..b"]).contains("a..b"));
    assert!(config_err(&["-t", "dot"]).contains("--insecure"));
    // --rate and --concurrency exclude each other.
    assert!(
        Args::try_parse_from([
            "x",
            "--target",
            "127.0.0.1:53",
            "--rate",
            "1",
            "--concurrency",
            "1"
        ])
        .is_err()
    );
}

#[test]
fn non_loopback_targets_are_refused_before_anything_else() {
    for target in [
        "10.1.2.3:53",
        "8.8.8.8:53",
        "[2001:db8::1]:853",
        "0.0.0.0:53",
    ] {
        let args = Args::try_parse_from(["x", "--target", target]).unwrap();
        let err = Config::from_args(&args).unwrap_err();
        assert!(matches!(err, LoadgenError::TargetNotAllowed(_)), "{target}");
    }
    let args = Args::try_parse_from(["x", "--target", "198.18.0.2:53"]).unwrap();
    assert!(Config::from_args(&args).is_ok());
}

#[test]
fn name_lists_come_from_flags_files_or_defaults() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("hns.txt");
    std::fs::write(&file, "# HNS TLDs\nalpha\nbeta. # trailing comment\n\n").unwrap();
    let config = Config::from_args(&args(&[
        "--hns-names",
        "gamma",
        "--hns-file",
        file.to_str().unwrap(),
        "--icann-names",
        "example.com,iana.org",
    ]))
    .unwrap();
    assert_eq!(
        config.names.hns,
        vec![
            b"\x05gamma\x00".to_vec(),
            b"\x05alpha\x00".to_vec(),
            b"\x04beta\x00".to_vec()
        ]
    );
    // Names below default to www. under each HNS TLD.
    assert_eq!(config.names.below[1], b"\x03www\x05alpha\x00".to_vec());
    assert_eq!(config.names.icann.len(), 2);
    let missing = config_err(&["--hns-file", "/nonexistent/names"]);
    assert!(missing.contains("/nonexistent/names"), "{missing}");
}
