use std::path::PathBuf;

use clap::Parser;

use super::*;
use crate::cli::ServiceArgs;

/// A service's config as each service writes one.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
struct Demo {
    /// A string.
    name: String,
    /// A list (comma list in the environment).
    peers: Vec<String>,
    /// A number with a range.
    max_peers: usize,
    /// A number whose default depends on others.
    min_peers: Option<usize>,
    /// A switch.
    enabled: bool,
    /// A duration.
    #[serde(with = "duration")]
    hedge_after: Duration,
    /// The shared keys.
    #[serde(flatten)]
    service: ServiceSettings,
}

impl Default for Demo {
    fn default() -> Self {
        Demo {
            name: "demo".into(),
            peers: Vec::new(),
            max_peers: 8,
            min_peers: None,
            enabled: true,
            hedge_after: Duration::from_millis(250),
            service: ServiceSettings::default(),
        }
    }
}

impl ServiceConfig for Demo {
    const LIST_KEYS: &'static [&'static str] = &["peers"];

    fn settings(&self) -> &ServiceSettings {
        &self.service
    }

    fn validate(&self) -> Result<(), ConfigError> {
        if !(1..=128).contains(&self.max_peers) {
            return Err(ConfigError::invalid(
                "max_peers",
                "must be between 1 and 128",
            ));
        }
        Ok(())
    }
}

#[derive(Debug, Default, Parser, Serialize)]
struct DemoArgs {
    #[command(flatten)]
    #[serde(flatten)]
    service: ServiceArgs,
    #[arg(long = "peer")]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    peers: Vec<String>,
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    max_peers: Option<usize>,
    #[arg(long, value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    hedge_after: Option<Duration>,
}

/// A TOML file in a fresh temporary directory; removed on drop.
struct TempFile(PathBuf);

impl TempFile {
    fn new(name: &str, text: &str) -> TempFile {
        let dir = std::env::temp_dir().join(format!("hnsfleet-kit-{}-{name}", std::process::id()));
        std::fs::create_dir_all(&dir).unwrap();
        let path = dir.join("config.toml");
        std::fs::write(&path, text).unwrap();
        TempFile(path)
    }
}

impl Drop for TempFile {
    fn drop(&mut self) {
        if let Some(dir) = self.0.parent() {
            let _ = std::fs::remove_dir_all(dir);
        }
    }
}

fn load(file: Option<&Path>, env: &impl Env, argv: &[&str]) -> Result<Loaded<Demo>, ConfigError> {
    let args =
        DemoArgs::try_parse_from(std::iter::once("demo").chain(argv.iter().copied())).unwrap();
    Loader::new().file(file).env(env).flags(&args).load()
}

fn err(file: Option<&Path>, env: &impl Env, argv: &[&str]) -> String {
    load(file, env, argv).unwrap_err().to_string()
}

#[test]
fn later_layers_win_default_then_file_then_env_then_flags() {
    let file = TempFile::new(
        "layers",
        "name = \"from-file\"\nmax_peers = 3\nhedge_after = \"100ms\"\npeers = [\"f1\"]\nlog_format = \"json\"\n",
    );
    let none: [(&str, &str); 0] = [];
    let c = load(None, &none, &[]).unwrap().config;
    assert_eq!(c, Demo::default());

    let c = load(Some(&file.0), &none, &[]).unwrap().config;
    assert_eq!((c.name.as_str(), c.max_peers), ("from-file", 3));
    assert_eq!(c.hedge_after, Duration::from_millis(100));
    assert_eq!(c.service.log_format, LogFormat::Json);
    assert!(c.enabled, "untouched keys keep their default");

    let env = [
        ("HNSFLEET_MAX_PEERS", "4"),
        ("HNSFLEET_HEDGE_AFTER", "200ms"),
        ("HNSFLEET_PEERS", "e1, e2,"),
        ("HNSFLEET_ENABLED", "false"),
        ("HNSFLEET_MIN_PEERS", "2"),
        ("HNSFLEET_NAME", ""),
        ("HNSFLEET_SHUTDOWN_DRAIN", "0s"),
        ("PATH", "/bin"),
    ];
    let c = load(Some(&file.0), &env, &[]).unwrap().config;
    assert_eq!(c.name, "from-file", "an empty variable counts as unset");
    assert_eq!(c.max_peers, 4);
    assert_eq!(c.hedge_after, Duration::from_millis(200));
    assert_eq!(c.peers, ["e1", "e2"]);
    assert!(!c.enabled);
    assert_eq!(c.min_peers, Some(2));
    assert_eq!(c.service.shutdown_drain, Duration::ZERO);

    // Only the flags given override; the others leave env and file alone.
    let c = load(Some(&file.0), &env, &["--max-peers", "5", "--peer", "x"])
        .unwrap()
        .config;
    assert_eq!(c.max_peers, 5);
    assert_eq!(c.peers, ["x"]);
    assert_eq!(c.hedge_after, Duration::from_millis(200));
    let c = load(
        Some(&file.0),
        &env,
        &["--hedge-after", "1s", "--shutdown-grace", "3s"],
    )
    .unwrap()
    .config;
    assert_eq!(c.hedge_after, Duration::from_secs(1));
    assert_eq!(c.service.shutdown_grace, Duration::from_secs(3));
    assert_eq!(c.max_peers, 4);
}

#[test]
fn the_config_file_comes_from_the_flag_else_hnsfleet_config() {
    let file = TempFile::new("config-env", "max_peers = 9\n");
    let path = file.0.display().to_string();
    let env = [("HNSFLEET_CONFIG", path.as_str())];
    assert_eq!(load(None, &env, &[]).unwrap().config.max_peers, 9);
    let other = TempFile::new("config-flag", "max_peers = 10\n");
    assert_eq!(
        load(Some(&other.0), &env, &[]).unwrap().config.max_peers,
        10
    );
    let missing = err(Some(Path::new("/nonexistent/x.toml")), &env, &[]);
    assert!(
        missing.starts_with("config file /nonexistent/x.toml: "),
        "{missing}"
    );
}

#[test]
fn unknown_keys_are_refused_in_the_file_and_warned_about_in_the_environment() {
    let none: [(&str, &str); 0] = [];
    let file = TempFile::new("unknown", "max_peer = 3\n");
    let e = err(Some(&file.0), &none, &[]);
    assert_eq!(
        e,
        format!(
            "config key `max_peer` (config file {}): unknown key (did you mean `max_peers`?)",
            file.0.display()
        )
    );
    let e = Loader::new()
        .toml("[table]\nx = 1\n")
        .load::<Demo>()
        .unwrap_err();
    assert_eq!(
        e.to_string(),
        "config key `table` (config text): unknown key"
    );

    let env = [
        ("HNSFLEET_HEDGE_AFTER_MS", "250"),
        ("HNSFLEET_FOLLOWER", "http://x"),
        ("HNSFLEET_max_peers", "1"),
    ];
    let loaded = load(None, &env, &[]).unwrap();
    assert_eq!(
        loaded.config,
        Demo::default(),
        "unknown variables change nothing"
    );
    assert_eq!(
        loaded.warnings,
        [
            "environment variable HNSFLEET_HEDGE_AFTER_MS matches no config key (did you mean HNSFLEET_HEDGE_AFTER?); ignored",
            "environment variable HNSFLEET_FOLLOWER matches no config key; ignored",
            "environment variable HNSFLEET_max_peers matches no config key (did you mean HNSFLEET_MAX_PEERS?); ignored",
        ]
    );
}

#[test]
fn a_bad_value_is_one_line_naming_the_key_and_where_it_came_from() {
    let none: [(&str, &str); 0] = [];
    let e = err(None, &[("HNSFLEET_HEDGE_AFTER", "5 parsecs")], &[]);
    assert!(
        e.starts_with(
            "config key `hedge_after` (env HNSFLEET_HEDGE_AFTER): invalid duration \"5 parsecs\""
        ),
        "{e}"
    );
    let file = TempFile::new("bad-values", "hedge_after = 250\n");
    let e = err(Some(&file.0), &none, &[]);
    assert!(
        e.starts_with(&format!(
            "config key `hedge_after` (config file {}): invalid duration 250: write a unit",
            file.0.display()
        )),
        "{e}"
    );
    // The shared keys, which sit behind `flatten`, name their key too.
    let file = TempFile::new("bad-shared", "shutdown_drain = \"soon\"\n");
    let e = err(Some(&file.0), &none, &[]);
    assert!(
        e.starts_with("config key `shutdown_drain` (config file "),
        "{e}"
    );
    let e = err(None, &[("HNSFLEET_LOG_FORMAT", "xml")], &[]);
    assert!(
        e.starts_with("config key `log_format` (env HNSFLEET_LOG_FORMAT): "),
        "{e}"
    );
    let e = err(None, &[("HNSFLEET_MAX_PEERS", "many")], &[]);
    assert!(
        e.starts_with("config key `max_peers` (env HNSFLEET_MAX_PEERS): "),
        "{e}"
    );
    // Validation errors get the origin of the value they judge.
    let e = err(None, &none, &["--max-peers", "0"]);
    assert_eq!(
        e,
        "config key `max_peers` (flag --max-peers): must be between 1 and 128"
    );
    let e = err(None, &none, &["--log", "info,[[["]);
    assert!(e.starts_with("config key `log` (flag --log): "), "{e}");
    let e = err(None, &none, &["--shutdown-drain", "11m"]);
    assert_eq!(
        e,
        "config key `shutdown_drain` (flag --shutdown-drain): must be at most 10m"
    );
    let file = TempFile::new("not-toml", "max_peers = = 3\n");
    let e = err(Some(&file.0), &none, &[]);
    assert!(e.starts_with("config file "), "{e}");
    assert!(!e.contains('\n'), "{e}");
    for e in [
        err(None, &[("HNSFLEET_HEDGE_AFTER", "5 parsecs")], &[]),
        err(Some(&file.0), &none, &[]),
    ] {
        assert_eq!(e.lines().count(), 1, "{e}");
    }
}

#[test]
fn flag_names_and_env_names_follow_the_keys() {
    let names = flag_names::<DemoArgs>();
    assert_eq!(names["peers"], "--peer");
    assert_eq!(names["max_peers"], "--max-peers");
    assert_eq!(names["shutdown_drain"], "--shutdown-drain");
    assert_eq!(names["config"], "--config");
    assert_eq!(env_name("max_peers"), "HNSFLEET_MAX_PEERS");
    assert_eq!(
        keys::closest("proof_timeout_ms", &["proof_timeout".to_string()].into()),
        Some("proof_timeout".to_string())
    );
    assert_eq!(keys::closest("zzz", &["peers".to_string()].into()), None);
}
