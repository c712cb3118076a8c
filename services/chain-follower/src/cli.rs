//! Command-line entry shared by the `hnsfleet-chain-follower` binary and `hnsfleet follower`:
//! the flags (one per config key, overriding it only when given), config loading through the
//! service kit, telemetry, runtime, and the exit codes operators script against (0 clean stop,
//! 1 runtime failure, 64 bad configuration).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use hnsfleet_hns::params::Network;
use hnsfleet_service_kit::cli::ServiceArgs;
pub use hnsfleet_service_kit::config::EXIT_CONFIG;
use hnsfleet_service_kit::config::{ConfigError, Env, ProcessEnv, duration, text};
use serde::Serialize;

use crate::config::{FollowerConfig, PeerAddr, SeedHost};

/// Flags of the follower, each named after its config key (`--max-peers` sets `max_peers`;
/// lists are singular: `--peer`, `--dns-seed`). A flag overrides the `HNSFLEET_*` variable,
/// the file and the default only when given.
#[derive(Debug, Clone, Default, clap::Args, Serialize)]
pub struct FollowerArgs {
    /// Network: main, testnet, regtest or simnet.
    #[arg(long)]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::option::serialize"
    )]
    pub network: Option<Network>,
    /// Peer to keep connected, HOST:PORT (plain TCP) or KEY@HOST:PORT (brontide); repeatable.
    /// `HNSFLEET_PEERS` takes a comma-separated list.
    #[arg(long = "peer", value_name = "PEER", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerAddr>,
    /// DNS seed, HOST or HOST:PORT, whose every address is a candidate peer; repeatable.
    /// `HNSFLEET_DNS_SEEDS` takes a comma-separated list. Default: the network's DNS seeds
    /// when no `--peer` is given.
    #[arg(long = "dns-seed", value_name = "SEED", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub dns_seeds: Vec<SeedHost>,
    /// Dial the full nodes peers gossip (ADDR): true or false. Default: true on main and
    /// testnet, false on regtest and simnet.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub discover_peers: Option<bool>,
    /// Directory of the header file and the generated attestation key.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// gRPC listen address (port 0 picks one; the bound address is printed).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_listen: Option<SocketAddr>,
    /// Admin HTTP listen address: /metrics, /healthz, /readyz.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<SocketAddr>,
    /// gRPC requests handled at once; more are refused (RESOURCE_EXHAUSTED, OVERLOADED).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_max_in_flight: Option<usize>,
    /// Open WatchTip streams at most; more are refused (TOO_MANY_WATCHERS).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_max_watchers: Option<usize>,
    /// Most peers connected at once.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_peers: Option<usize>,
    /// Connected peers required before reporting ready.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub min_peers: Option<usize>,
    /// Ready while the tip is within this many blocks of the best peer height.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub ready_within: Option<u32>,
    /// Ban time of a misbehaving peer (e.g. 24h).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub ban_time: Option<Duration>,
    /// Per-peer proof deadline (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub proof_timeout: Option<Duration>,
    /// Deadline of a peer's answer to a header request (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub response_timeout: Option<Duration>,
    /// Delay before a proof request is hedged to another peer (e.g. 250ms).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub hedge_after: Option<Duration>,
    /// Attestation secret key file (default DATA_DIR/follower.key).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// Start a new header file from the built-in checkpoint (true) or genesis (false).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<bool>,
    /// The flags every service takes: --config, --check-config, logging, shutdown.
    #[command(flatten)]
    #[serde(flatten)]
    pub service: ServiceArgs,
}

// === impl FollowerArgs ===

impl FollowerArgs {
    /// Defaults, then the config file, then the process's `HNSFLEET_*` variables, then these
    /// flags; validated.
    pub fn resolve(&self) -> Result<FollowerConfig, ConfigError> {
        self.resolve_with(&ProcessEnv)
    }

    /// [`FollowerArgs::resolve`] with the environment `env` (tests).
    pub fn resolve_with(&self, env: &impl Env) -> Result<FollowerConfig, ConfigError> {
        Ok(hnsfleet_service_kit::cli::load(self, &self.service, env)?.config)
    }
}

/// Loads the configuration (exit 64 on a bad one; `--check-config` prints it), starts
/// telemetry and a multi-threaded runtime, and runs the follower until SIGINT/SIGTERM and
/// its drain.
pub fn main_with(args: FollowerArgs) -> ExitCode {
    hnsfleet_service_kit::cli::run_service(
        &args,
        &args.service,
        "follower",
        crate::service::run_until_signal,
    )
}
