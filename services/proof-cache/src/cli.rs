//! Command-line entry shared by the `hnsfleet-proof-cache` binary and `hnsfleet proof-cache`:
//! the flags (one per config key, overriding it only when given), config loading through the
//! service kit, telemetry, runtime, and the exit codes (0 clean stop, 1 runtime failure, 64
//! bad configuration).

use std::net::SocketAddr;
use std::process::ExitCode;
use std::time::Duration;

use bytesize::ByteSize;
use hnsfleet_hns::params::Network;
use hnsfleet_service_kit::cli::ServiceArgs;
pub use hnsfleet_service_kit::config::EXIT_CONFIG;
use hnsfleet_service_kit::config::{ConfigError, Env, ProcessEnv, duration, text};
use serde::Serialize;

use crate::config::{CacheConfig, FollowerUrl};

/// Flags of the proof-cache, each named after its config key (`--cache-ttl` sets
/// `cache_ttl`; lists are singular: `--follower`). A flag overrides the `HNSFLEET_*` variable,
/// the file and the default only when given.
#[derive(Debug, Clone, Default, clap::Args, Serialize)]
pub struct CacheArgs {
    /// The followers' network: main, testnet, regtest or simnet.
    #[arg(long)]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::option::serialize"
    )]
    pub network: Option<Network>,
    /// A chain-follower's gRPC URL, http://HOST:PORT; repeatable. `HNSFLEET_FOLLOWERS` takes a
    /// comma-separated list.
    #[arg(long = "follower", value_name = "URL", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub followers: Vec<FollowerUrl>,
    /// Followers that must announce the same safe root (default: a majority).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum: Option<usize>,
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
    /// Memory the cached look-ups may take (e.g. "256 MiB").
    #[arg(long, value_name = "SIZE")]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::option::serialize"
    )]
    pub cache_capacity: Option<ByteSize>,
    /// Longest life of a cached look-up (e.g. 1h).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub cache_ttl: Option<Duration>,
    /// How long the last trusted root's entries are served (stale) without a quorum (e.g. 5m).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub serve_stale: Option<Duration>,
    /// Deadline of one request to one follower (e.g. 6s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub follower_timeout: Option<Duration>,
    /// Delay before a miss is also sent to the next follower (e.g. 300ms).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub hedge_after: Option<Duration>,
    /// How long a follower caught lying is left out (e.g. 10m).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub quarantine: Option<Duration>,
    /// The reorg-watchdog's gRPC URL, http://HOST:PORT (its frozen root is obeyed).
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watchdog: Option<FollowerUrl>,
    /// How long the watchdog may be silent before the cache reports not ready (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub watchdog_grace: Option<Duration>,
    /// The flags every service takes: --config, --check-config, logging, shutdown.
    #[command(flatten)]
    #[serde(flatten)]
    pub service: ServiceArgs,
}

// === impl CacheArgs ===

impl CacheArgs {
    /// Defaults, then the config file, then the process's `HNSFLEET_*` variables, then these
    /// flags; validated.
    pub fn resolve(&self) -> Result<CacheConfig, ConfigError> {
        self.resolve_with(&ProcessEnv)
    }

    /// [`CacheArgs::resolve`] with the environment `env` (tests).
    pub fn resolve_with(&self, env: &impl Env) -> Result<CacheConfig, ConfigError> {
        Ok(hnsfleet_service_kit::cli::load(self, &self.service, env)?.config)
    }
}

/// Loads the configuration (exit 64 on a bad one; `--check-config` prints it), starts
/// telemetry and a multi-threaded runtime, and runs the proof-cache until SIGINT/SIGTERM and
/// its drain.
pub fn main_with(args: CacheArgs) -> ExitCode {
    hnsfleet_service_kit::cli::run_service(
        &args,
        &args.service,
        "proof-cache",
        crate::service::run_until_signal,
    )
}
