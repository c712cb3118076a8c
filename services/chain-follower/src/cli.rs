//! Command-line entry shared by the `hnsfleet-chain-follower` binary and `hnsfleet follower`:
//! flags (each also read from its `HNSFLEET_*` variable), config loading, telemetry, runtime,
//! and the exit codes operators script against (0 clean stop, 1 runtime failure, 64 bad
//! configuration).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;

use hnsfleet_hns::params::Network;

use crate::config::{ConfigError, FollowerConfig, LogFormat, PeerAddr, SeedHost};

/// Exit status for a configuration error (sysexits `EX_USAGE`).
pub const EXIT_CONFIG: u8 = 64;

/// Flags of the follower. Every flag overrides the same key of the config file; unset flags
/// fall back to the `HNSFLEET_*` variable, then the file, then the default.
#[derive(Debug, Clone, Default, clap::Args)]
pub struct FollowerArgs {
    /// TOML config file (keys as the long flags, with `_` for `-`).
    #[arg(long, env = "HNSFLEET_CONFIG")]
    pub config: Option<PathBuf>,
    /// Network: main, testnet, regtest or simnet.
    #[arg(long, env = "HNSFLEET_NETWORK")]
    pub network: Option<Network>,
    /// Peer to keep connected, HOST:PORT (plain TCP) or KEY@HOST:PORT (brontide); repeatable.
    /// `HNSFLEET_PEERS` takes a comma-separated list.
    #[arg(long = "peer", env = "HNSFLEET_PEERS", value_delimiter = ',')]
    pub peers: Vec<PeerAddr>,
    /// DNS seed, HOST or HOST:PORT, whose every address is a candidate peer; repeatable.
    /// `HNSFLEET_DNS_SEEDS` takes a comma-separated list. Default: the network's DNS seeds
    /// when no `--peer` is given.
    #[arg(long = "dns-seed", env = "HNSFLEET_DNS_SEEDS", value_delimiter = ',')]
    pub dns_seeds: Vec<SeedHost>,
    /// Dial the full nodes peers gossip (ADDR): true or false. Default: true on main and
    /// testnet, false on regtest and simnet.
    #[arg(long, env = "HNSFLEET_DISCOVER_PEERS")]
    pub discover_peers: Option<bool>,
    /// Directory of the header file and the generated attestation key.
    #[arg(long, env = "HNSFLEET_DATA_DIR")]
    pub data_dir: Option<PathBuf>,
    /// gRPC listen address (port 0 picks one; the bound address is printed).
    #[arg(long, env = "HNSFLEET_GRPC_LISTEN")]
    pub grpc_listen: Option<SocketAddr>,
    /// Admin HTTP listen address: /metrics, /healthz, /readyz.
    #[arg(long, env = "HNSFLEET_ADMIN_LISTEN")]
    pub admin_listen: Option<SocketAddr>,
    /// gRPC requests handled at once; more are refused (RESOURCE_EXHAUSTED, OVERLOADED).
    #[arg(long, env = "HNSFLEET_GRPC_MAX_IN_FLIGHT")]
    pub grpc_max_in_flight: Option<usize>,
    /// Open WatchTip streams at most; more are refused (TOO_MANY_WATCHERS).
    #[arg(long, env = "HNSFLEET_GRPC_MAX_WATCHERS")]
    pub grpc_max_watchers: Option<usize>,
    /// Most peers connected at once.
    #[arg(long, env = "HNSFLEET_MAX_PEERS")]
    pub max_peers: Option<usize>,
    /// Connected peers required before reporting ready.
    #[arg(long, env = "HNSFLEET_MIN_PEERS")]
    pub min_peers: Option<usize>,
    /// Ready while the tip is within this many blocks of the best peer height.
    #[arg(long, env = "HNSFLEET_READY_WITHIN")]
    pub ready_within: Option<u32>,
    /// Ban time of a misbehaving peer, seconds.
    #[arg(long, env = "HNSFLEET_BAN_SECS")]
    pub ban_secs: Option<u64>,
    /// Per-peer proof deadline, milliseconds.
    #[arg(long, env = "HNSFLEET_PROOF_TIMEOUT_MS")]
    pub proof_timeout_ms: Option<u64>,
    /// Deadline of a peer's answer to a header request, milliseconds.
    #[arg(long, env = "HNSFLEET_RESPONSE_TIMEOUT_MS")]
    pub response_timeout_ms: Option<u64>,
    /// Delay before a proof request is hedged to another peer, milliseconds.
    #[arg(long, env = "HNSFLEET_HEDGE_AFTER_MS")]
    pub hedge_after_ms: Option<u64>,
    /// Attestation secret key file (default DATA_DIR/follower.key).
    #[arg(long, env = "HNSFLEET_KEY_FILE")]
    pub key_file: Option<PathBuf>,
    /// Start a new header file from the built-in checkpoint (true) or genesis (false).
    #[arg(long, env = "HNSFLEET_CHECKPOINT")]
    pub checkpoint: Option<bool>,
    /// Tracing filter.
    #[arg(long, env = "HNSFLEET_LOG")]
    pub log: Option<String>,
    /// Log format: text or json.
    #[arg(long, env = "HNSFLEET_LOG_FORMAT")]
    pub log_format: Option<LogFormat>,
    /// Print the effective configuration as TOML, network defaults written out, and exit (64
    /// if it is invalid).
    #[arg(long)]
    pub check_config: bool,
}

// === impl FollowerArgs ===

impl FollowerArgs {
    /// Defaults, then the config file, then these flags/env values; validated.
    pub fn resolve(&self) -> Result<FollowerConfig, ConfigError> {
        let mut config = match &self.config {
            Some(path) => FollowerConfig::from_file(path)?,
            None => FollowerConfig::default(),
        };
        if let Some(v) = self.network {
            config.network = v;
        }
        if !self.peers.is_empty() {
            config.peers = self.peers.clone();
        }
        if !self.dns_seeds.is_empty() {
            config.dns_seeds = Some(self.dns_seeds.clone());
        }
        macro_rules! overlay {
            ($($field:ident),*) => {$(
                if let Some(v) = &self.$field {
                    config.$field = v.clone();
                }
            )*};
        }
        overlay!(
            data_dir,
            grpc_listen,
            admin_listen,
            grpc_max_in_flight,
            grpc_max_watchers,
            max_peers,
            ready_within,
            ban_secs,
            proof_timeout_ms,
            response_timeout_ms,
            hedge_after_ms,
            checkpoint,
            log,
            log_format
        );
        if self.min_peers.is_some() {
            config.min_peers = self.min_peers;
        }
        if self.discover_peers.is_some() {
            config.discover_peers = self.discover_peers;
        }
        if self.key_file.is_some() {
            config.key_file = self.key_file.clone();
        }
        config.validate()?;
        Ok(config)
    }
}

/// Resolves the configuration, starts telemetry and a multi-threaded runtime, and runs the
/// follower until SIGINT/SIGTERM.
pub fn main_with(args: FollowerArgs) -> ExitCode {
    let config = match args.resolve() {
        Ok(config) => config,
        Err(e) => {
            eprintln!("error: {e}");
            return ExitCode::from(EXIT_CONFIG);
        }
    };
    if args.check_config {
        match toml::to_string(&config.resolved()) {
            Ok(text) => {
                print!("{text}");
                return ExitCode::SUCCESS;
            }
            Err(e) => {
                eprintln!("error: {e}");
                return ExitCode::FAILURE;
            }
        }
    }
    let format = match config.log_format {
        LogFormat::Text => hnsfleet_service_kit::telemetry::LogFormat::Text,
        LogFormat::Json => hnsfleet_service_kit::telemetry::LogFormat::Json,
    };
    if let Err(e) = hnsfleet_service_kit::telemetry::init(&config.log, format) {
        eprintln!("error: {e}");
        return ExitCode::from(EXIT_CONFIG);
    }
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(crate::service::run_until_signal(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "follower stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
