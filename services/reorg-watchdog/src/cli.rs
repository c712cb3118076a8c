//! Command-line entry shared by the `hnsfleet-reorg-watchdog` binary and `hnsfleet watchdog`:
//! the flags (one per config key, overriding it only when given), config loading through the
//! service kit, telemetry, runtime, and the exit codes (0 clean stop, 1 runtime failure, 64
//! bad configuration).

use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use hnsfleet_hns::params::Network;
use hnsfleet_service_kit::cli::ServiceArgs;
pub use hnsfleet_service_kit::config::EXIT_CONFIG;
use hnsfleet_service_kit::config::{ConfigError, Env, ProcessEnv, duration, text};
use serde::Serialize;

use crate::config::{SourceSpec, WatchdogConfig};

/// Flags of the watchdog, each named after its config key (`--freeze-depth` sets
/// `freeze_depth`; lists are singular: `--follower`, `--attester`). A flag overrides the
/// `HNSFLEET_*` variable, the file and the default only when given.
#[derive(Debug, Clone, Default, clap::Args, Serialize)]
pub struct WatchdogArgs {
    /// The network watched: main, testnet, regtest or simnet.
    #[arg(long)]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::option::serialize"
    )]
    pub network: Option<Network>,
    /// A chain-follower's gRPC URL, http://HOST:PORT[=PUBKEY]; repeatable.
    #[arg(long = "follower", value_name = "URL", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub followers: Vec<SourceSpec>,
    /// Another operator's watchdog, URL=PUBKEY (https://, http:// or grpc://); repeatable.
    #[arg(long = "attester", value_name = "URL=PUBKEY", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attesters: Vec<SourceSpec>,
    /// Sources that must agree (default: a strict majority).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub quorum: Option<usize>,
    /// A reorganisation deeper than this many blocks freezes the fleet (K).
    #[arg(long, value_name = "K")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze_depth: Option<u32>,
    /// Blocks of agreement that lift a freeze (M).
    #[arg(long, value_name = "M")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfreeze_after: Option<u32>,
    /// Blocks behind the others a source may be before it is lagging.
    #[arg(long, value_name = "BLOCKS")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_lag: Option<u32>,
    /// Age at which an attestation is stale (e.g. 60s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub max_attestation_age: Option<Duration>,
    /// How far in the future an attestation may be signed (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub max_clock_skew: Option<Duration>,
    /// Between two reads of a source (e.g. 2s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub poll_interval: Option<Duration>,
    /// Deadline of one read of a source (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub source_timeout: Option<Duration>,
    /// How often WatchVerdicts repeats an unchanged verdict (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub heartbeat_interval: Option<Duration>,
    /// Secret key file (64 hex digits) signing the watchdog's own view.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub key_file: Option<PathBuf>,
    /// gRPC listen address (port 0 picks one; the bound address is printed).
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub grpc_listen: Option<SocketAddr>,
    /// Admin HTTP listen address: /metrics, /healthz, /readyz.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<SocketAddr>,
    /// Publish listen address: /v1/attestation, /v1/attestation.bin, /v1/verdict.
    #[arg(long)]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_listen: Option<SocketAddr>,
    /// PEM certificate chain of the publish endpoint (HTTPS).
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_tls_cert: Option<PathBuf>,
    /// PEM private key of the publish endpoint's certificate.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub publish_tls_key: Option<PathBuf>,
    /// How often the certificate files are checked for a new pair (e.g. 10s; 0s: SIGHUP only).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub publish_tls_reload_interval: Option<Duration>,
    /// PEM CA certificates trusted for https:// attesters, besides the system's.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub attester_ca_file: Option<PathBuf>,
    /// File holding the token Unfreeze requires (unset: loopback callers only).
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfreeze_token_file: Option<PathBuf>,
    /// Kubernetes integration: auto (in a cluster), true or false.
    #[arg(long, value_name = "WHEN")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_enabled: Option<String>,
    /// Namespace of the Lease, the ReorgWatch and its Events.
    #[arg(long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_namespace: Option<String>,
    /// Name of the Lease the replicas elect their leader on.
    #[arg(long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_lease: Option<String>,
    /// This replica's identity in the Lease (default POD_NAME, else HOSTNAME).
    #[arg(long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_identity: Option<String>,
    /// How long a Lease holds without renewal (e.g. 15s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub kube_lease_duration: Option<Duration>,
    /// How often the leader renews (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub kube_renew_interval: Option<Duration>,
    /// A leader this close to its Lease's end steps down (e.g. 4s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub kube_step_down_margin: Option<Duration>,
    /// Bound on one Kubernetes API request (e.g. 2s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub kube_request_timeout: Option<Duration>,
    /// Name of the ReorgWatch object holding the verdict.
    #[arg(long, value_name = "NAME")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub kube_resource: Option<String>,
    /// The flags every service takes: --config, --check-config, logging, shutdown.
    #[command(flatten)]
    #[serde(flatten)]
    pub service: ServiceArgs,
}

impl WatchdogArgs {
    /// Defaults, then the config file, then the process's `HNSFLEET_*` variables, then these
    /// flags; validated.
    pub fn resolve(&self) -> Result<WatchdogConfig, ConfigError> {
        self.resolve_with(&ProcessEnv)
    }

    /// [`WatchdogArgs::resolve`] with the environment `env` (tests).
    pub fn resolve_with(&self, env: &impl Env) -> Result<WatchdogConfig, ConfigError> {
        Ok(hnsfleet_service_kit::cli::load(self, &self.service, env)?.config)
    }
}

/// Loads the configuration (exit 64 on a bad one; `--check-config` prints it), starts
/// telemetry and a multi-threaded runtime, and runs the watchdog until SIGINT/SIGTERM and its
/// drain.
pub fn main_with(args: WatchdogArgs) -> ExitCode {
    hnsfleet_service_kit::cli::run_service(
        &args,
        &args.service,
        "reorg-watchdog",
        crate::service::run_until_signal,
    )
}
