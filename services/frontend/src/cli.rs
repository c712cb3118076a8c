//! Command-line entry shared by the `hnsfleet-frontend` binary and `hnsfleet frontend`: the
//! flags (one per config key, overriding it only when given), config loading through the
//! service kit, telemetry, runtime, and the exit codes (0 clean stop, 1 runtime failure, 64
//! bad configuration).

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use bytesize::ByteSize;
use hnsfleet_hns::params::Network;
use hnsfleet_service_kit::cli::ServiceArgs;
pub use hnsfleet_service_kit::config::EXIT_CONFIG;
use hnsfleet_service_kit::config::{ConfigError, Env, ProcessEnv, duration, text};
use serde::Serialize;

use crate::config::{CacheUrl, FrontendConfig};

/// Flags of the frontend, each named after its config key (`--dns-listen` sets `dns_listen`;
/// lists are singular: `--cache`). A flag overrides the `HNSFLEET_*` variable, the file and
/// the default only when given.
#[derive(Debug, Clone, Default, clap::Args, Serialize)]
pub struct FrontendArgs {
    /// The chain's network: main, testnet, regtest or simnet.
    #[arg(long)]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::option::serialize"
    )]
    pub network: Option<Network>,
    /// A proof-cache's gRPC URL, http://HOST:PORT; repeatable (names are sharded over them).
    /// `HNSFLEET_CACHES` takes a comma-separated list.
    #[arg(long = "cache", value_name = "URL", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub caches: Vec<CacheUrl>,
    /// The reorg-watchdog's gRPC URL, http://HOST:PORT.
    #[arg(long, value_name = "URL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watchdog: Option<CacheUrl>,
    /// How long the watchdog may be silent before the frontend reports not ready (e.g. 30s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub watchdog_grace: Option<Duration>,
    /// Do53 (UDP and TCP) listen address of the resolver.
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_listen: Option<SocketAddr>,
    /// Listen address (UDP and TCP) of the HNS root authority alone.
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_listen: Option<SocketAddr>,
    /// DNS over TLS listen address.
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dot_listen: Option<SocketAddr>,
    /// DNS over HTTPS listen address (path /dns-query; HTTP/3 on its UDP port too).
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doh_listen: Option<SocketAddr>,
    /// Serve DoH over HTTP/3 on the UDP port of the DoH address (true/false).
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doh3: Option<bool>,
    /// DNS over QUIC (RFC 9250) listen address (UDP).
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doq_listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM) for DoT, DoH and DoQ.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for DoT, DoH and DoQ.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// How often the TLS certificate and key files are checked for a change (e.g. 10s; 0:
    /// only on SIGHUP).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub tls_reload_interval: Option<Duration>,
    /// Stateless TLS 1.3 session tickets (true/false).
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_tickets: Option<bool>,
    /// TLS sessions kept for resumption when tickets are off.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_session_cache: Option<usize>,
    /// Make a throw-away self-signed certificate for localhost (a local try).
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub self_signed: bool,
    /// SIG(0) key file (hnsfleet sig0 keygen): sign Do53 responses.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig0_key: Option<PathBuf>,
    /// Also sign DoT and DoQ responses (true/false).
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig0_dot: Option<bool>,
    /// Also sign DoH responses (true/false).
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig0_doh: Option<bool>,
    /// Signatures per second per client prefix.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig0_client_rate: Option<u32>,
    /// Signature burst per client prefix.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig0_client_burst: Option<u32>,
    /// Signatures per second for all clients.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub sig0_global_rate: Option<u32>,
    /// Address advertised as the root's name server.
    #[arg(long, value_name = "IP")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub public_host: Option<IpAddr>,
    /// ICANN root hints file (named.root format).
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icann_root_hints: Option<PathBuf>,
    /// ICANN trust anchors file (DS records).
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icann_trust_anchors: Option<PathBuf>,
    /// Admin HTTP listen address: /metrics, /healthz, /readyz.
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<SocketAddr>,
    /// Memory the answer cache may take (e.g. "256 MiB").
    #[arg(long, value_name = "SIZE")]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::option::serialize"
    )]
    pub answer_cache_capacity: Option<ByteSize>,
    /// Memory the packet cache may take (e.g. "64 MiB"; "0 B" turns it off).
    #[arg(long, value_name = "SIZE")]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::option::serialize"
    )]
    pub packet_cache_capacity: Option<ByteSize>,
    /// How long expired answers may be served when a refresh fails (e.g. 1d).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub serve_stale: Option<Duration>,
    /// Longest recursive resolution (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub resolve_timeout: Option<Duration>,
    /// Refresh popular answers before they expire (true/false).
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub prefetch: Option<bool>,
    /// Let recursion query loopback and private addresses (labs, tests).
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_private_upstreams: Option<bool>,
    /// EDNS0 UDP payload size offered (512–4096).
    #[arg(long, value_name = "BYTES")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp_payload: Option<u16>,
    /// UDP sockets per Do53 address, with SO_REUSEPORT (0: one per CPU).
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp_sockets: Option<usize>,
    /// Set DF on Do53 UDP answers and never fragment them (RFC 9715).
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub udp_dont_fragment: Option<bool>,
    /// Stream connections open at once.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections: Option<usize>,
    /// Close stream connections idle, or not reading their answers, this long (e.g. 10s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub idle_timeout: Option<Duration>,
    /// Queries resolved at once.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_in_flight: Option<usize>,
    /// UDP responses per second per client prefix (0: no rate limiting).
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrl_rate: Option<u32>,
    /// UDP response burst per client prefix.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrl_burst: Option<u32>,
    /// Every Nth over-limit datagram gets TC=1, the rest are dropped (0: all dropped).
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrl_slip: Option<u32>,
    /// Stream connections open at once per client prefix.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_connections_per_prefix: Option<usize>,
    /// New TLS handshakes per second per client prefix (0: no limit).
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_handshake_rate: Option<u32>,
    /// New TLS handshake burst per client prefix.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_handshake_burst: Option<u32>,
    /// HTTP/2 or HTTP/3 streams open at once per DoH connection.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doh_max_streams: Option<u32>,
    /// Queries in progress at once per TCP, DoT or DoQ connection.
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub max_pipelined: Option<usize>,
    /// The flags every service takes: --config, --check-config, logging, shutdown.
    #[command(flatten)]
    #[serde(flatten)]
    pub service: ServiceArgs,
}

impl FrontendArgs {
    /// Defaults, then the config file, then the process's `HNSFLEET_*` variables, then these
    /// flags; validated.
    pub fn resolve(&self) -> Result<FrontendConfig, ConfigError> {
        self.resolve_with(&ProcessEnv)
    }

    /// [`FrontendArgs::resolve`] with the environment `env` (tests).
    pub fn resolve_with(&self, env: &impl Env) -> Result<FrontendConfig, ConfigError> {
        Ok(hnsfleet_service_kit::cli::load(self, &self.service, env)?.config)
    }
}

/// Loads the configuration (exit 64 on a bad one; `--check-config` prints it), starts
/// telemetry and a multi-threaded runtime, and runs the frontend until SIGINT/SIGTERM and its
/// drain.
pub fn main_with(args: FrontendArgs) -> ExitCode {
    hnsfleet_service_kit::cli::run_service(
        &args,
        &args.service,
        "frontend",
        crate::service::run_until_signal,
    )
}
