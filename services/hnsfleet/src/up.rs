//! `hnsfleet up`: the whole fleet in one process with one config — a chain-follower, a
//! proof-cache in front of it and a frontend in front of that, and a reorg-watchdog watching
//! the follower (and any `--attester`) whose verdict the proof-cache obeys, linked over
//! loopback gRPC on ports picked at start (the same services, code and wire as a deployed
//! fleet).
//!
//! Mainnet with the built-in seeds by default; `--network regtest --peer 127.0.0.1:PORT` for a
//! local chain. The resolver listens on 127.0.0.1:5350 (Do53), the root authority on
//! 127.0.0.1:5349; DoT (127.0.0.1:8853) and DoH (127.0.0.1:8443) only when a certificate or
//! `--self-signed` is given. One listening line on stdout names every address, including the
//! follower's and the cache's.

use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use anyhow::Context;
use hnsfleet_chain_follower::config::{FollowerConfig, PeerAddr};
use hnsfleet_frontend::config::FrontendConfig;
use hnsfleet_hns::params::Network;
use hnsfleet_proof_cache::config::{CacheConfig, FollowerUrl};
use hnsfleet_reorg_watchdog::config::{SourceSpec, WatchdogConfig};
use hnsfleet_service_kit::Lifecycle;
use hnsfleet_service_kit::cli::{Listeners, ServiceArgs, announce_listening};
use hnsfleet_service_kit::config::{ConfigError, ServiceConfig, ServiceSettings, duration, text};
use serde::{Deserialize, Serialize};
use tokio::net::TcpListener;

/// Default DoT address when TLS is on and `dot_listen` is not set.
const DEFAULT_DOT: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8853);
/// Default DoH address when TLS is on and `doh_listen` is not set.
const DEFAULT_DOH: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8443);
/// Default DoQ address (UDP) when TLS is on and `doq_listen` is not set: DoT's port number, as
/// RFC 9250 gives DoQ 853/udp beside DoT's 853/tcp.
const DEFAULT_DOQ: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 8853);
/// Loopback with a port picked by the system (the internal gRPC and admin listeners).
const ANY_LOOPBACK: SocketAddr = SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), 0);

/// Everything `hnsfleet up` can be told (file, `HNSFLEET_*`, flags).
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct UpConfig {
    /// The chain: `main` (default, built-in seeds), `testnet`, `regtest` or `simnet`.
    #[serde(with = "text")]
    pub network: Network,
    /// Peers to sync from (`HOST:PORT` or `KEY@HOST:PORT`); empty: the network's seeds.
    pub peers: Vec<PeerAddr>,
    /// Where the follower keeps its header chain and identity key.
    pub data_dir: PathBuf,
    /// Do53 (UDP and TCP) of the resolver.
    pub dns_listen: SocketAddr,
    /// Do53 of the HNS root authority alone.
    pub root_listen: SocketAddr,
    /// DoT; default 127.0.0.1:8853 when a certificate or `self_signed` is given, else off.
    pub dot_listen: Option<SocketAddr>,
    /// DoH; default 127.0.0.1:8443 when a certificate or `self_signed` is given, else off.
    pub doh_listen: Option<SocketAddr>,
    /// Also DoH over HTTP/3 on the UDP port of `doh_listen`.
    pub doh3: bool,
    /// DoQ (UDP); default 127.0.0.1:8853 when a certificate or `self_signed` is given, else
    /// off.
    pub doq_listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM).
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    pub tls_key: Option<PathBuf>,
    /// A throw-away self-signed certificate for localhost.
    pub self_signed: bool,
    /// SIG(0) key file: Do53 responses are signed.
    pub sig0_key: Option<PathBuf>,
    /// Also sign DoT and DoQ responses.
    pub sig0_dot: bool,
    /// Also sign DoH responses.
    pub sig0_doh: bool,
    /// ICANN root hints (named.root format); tests and the demo point it at loopback.
    pub icann_root_hints: Option<PathBuf>,
    /// ICANN trust anchors (DS records).
    pub icann_trust_anchors: Option<PathBuf>,
    /// The frontend's admin HTTP address (`/metrics`, `/healthz`, `/readyz`).
    pub admin_listen: SocketAddr,
    /// Let recursion query name servers at loopback and private addresses.
    pub allow_private_upstreams: bool,
    /// Start from the network's built-in checkpoint (mainnet).
    pub checkpoint: bool,
    /// Longest recursive resolution.
    #[serde(with = "duration")]
    pub resolve_timeout: Duration,
    /// UDP responses per second per client prefix (the frontend's `rrl_rate`; burst twice
    /// that); 0 turns response rate limiting off.
    pub rrl_rate: u32,
    /// Every Nth over-limit datagram gets an empty TC=1 reply (the frontend's `rrl_slip`).
    pub rrl_slip: u32,
    /// Stream connections open at once per client prefix.
    pub max_connections_per_prefix: usize,
    /// New TLS handshakes per second per client prefix (burst twice that); 0: no limit.
    pub tls_handshake_rate: u32,
    /// The reorg-watchdog's freeze depth K: a reorganisation deeper than this freezes the
    /// fleet on its last agreed root (docs/watchdog.md).
    pub freeze_depth: u32,
    /// Blocks of agreement that lift a freeze (M).
    pub unfreeze_after: u32,
    /// Other operators' watchdogs the in-process watchdog compares with, `URL=PUBKEY`.
    pub attesters: Vec<SourceSpec>,
    /// Quorum of the watchdog's sources (the follower and the attesters); default a majority.
    pub watchdog_quorum: Option<usize>,
    /// The keys every service shares: `log`, `log_format`, `shutdown_drain`, `shutdown_grace`.
    #[serde(flatten)]
    pub service: ServiceSettings,
}

/// Flags of `hnsfleet up`, each named after its config key (`--peer` for `peers`).
#[derive(Debug, Clone, Default, clap::Args, Serialize)]
pub struct UpArgs {
    /// main, testnet, regtest or simnet.
    #[arg(long)]
    #[serde(
        skip_serializing_if = "Option::is_none",
        serialize_with = "text::option::serialize"
    )]
    pub network: Option<Network>,
    /// A peer to sync from; repeatable.
    #[arg(long = "peer", value_name = "HOST:PORT", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub peers: Vec<PeerAddr>,
    /// Data directory of the follower.
    #[arg(long, value_name = "DIR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub data_dir: Option<PathBuf>,
    /// Do53 listen address of the resolver.
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dns_listen: Option<SocketAddr>,
    /// Listen address of the HNS root authority.
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub root_listen: Option<SocketAddr>,
    /// DoT listen address.
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub dot_listen: Option<SocketAddr>,
    /// DoH listen address (HTTP/3 on its UDP port too).
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doh_listen: Option<SocketAddr>,
    /// Serve DoH over HTTP/3 on the UDP port of the DoH address (true/false).
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doh3: Option<bool>,
    /// DNS over QUIC listen address (UDP).
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub doq_listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM).
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM).
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub tls_key: Option<PathBuf>,
    /// Make a throw-away self-signed certificate.
    #[arg(long)]
    #[serde(skip_serializing_if = "std::ops::Not::not")]
    pub self_signed: bool,
    /// SIG(0) key file.
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
    /// ICANN root hints file.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icann_root_hints: Option<PathBuf>,
    /// ICANN trust anchors file.
    #[arg(long, value_name = "FILE")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub icann_trust_anchors: Option<PathBuf>,
    /// Admin HTTP listen address.
    #[arg(long, value_name = "ADDR")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub admin_listen: Option<SocketAddr>,
    /// Let recursion query loopback and private addresses (true/false).
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub allow_private_upstreams: Option<bool>,
    /// Start from the built-in checkpoint (true/false).
    #[arg(long, value_name = "BOOL")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub checkpoint: Option<bool>,
    /// Longest recursive resolution (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub resolve_timeout: Option<Duration>,
    /// UDP responses per second per client prefix (0: no rate limiting).
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub rrl_rate: Option<u32>,
    /// Every Nth over-limit datagram gets TC=1 (0: all dropped).
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
    /// The reorg-watchdog's freeze depth K (blocks).
    #[arg(long, value_name = "K")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub freeze_depth: Option<u32>,
    /// Blocks of agreement that lift a freeze (M).
    #[arg(long, value_name = "M")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub unfreeze_after: Option<u32>,
    /// Another operator's watchdog, URL=PUBKEY; repeatable.
    #[arg(long = "attester", value_name = "URL=PUBKEY", value_delimiter = ',')]
    #[serde(skip_serializing_if = "Vec::is_empty")]
    pub attesters: Vec<SourceSpec>,
    /// Quorum of the watchdog's sources (default: a majority).
    #[arg(long, value_name = "N")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub watchdog_quorum: Option<usize>,
    /// The flags every service takes: --config, --check-config, logging, shutdown.
    #[command(flatten)]
    #[serde(flatten)]
    pub service: ServiceArgs,
}

impl Default for UpConfig {
    fn default() -> Self {
        let loopback = |port| SocketAddr::new(IpAddr::V4(std::net::Ipv4Addr::LOCALHOST), port);
        let frontend = FrontendConfig::default();
        let watchdog = WatchdogConfig::default();
        UpConfig {
            network: Network::Main,
            peers: Vec::new(),
            data_dir: PathBuf::from("hnsfleet-data"),
            dns_listen: loopback(5350),
            root_listen: loopback(5349),
            dot_listen: None,
            doh_listen: None,
            doh3: frontend.doh3,
            doq_listen: None,
            tls_cert: None,
            tls_key: None,
            self_signed: false,
            sig0_key: None,
            sig0_dot: frontend.sig0_dot,
            sig0_doh: frontend.sig0_doh,
            icann_root_hints: None,
            icann_trust_anchors: None,
            admin_listen: loopback(9550),
            allow_private_upstreams: false,
            checkpoint: true,
            resolve_timeout: Duration::from_secs(5),
            rrl_rate: frontend.rrl_rate,
            rrl_slip: frontend.rrl_slip,
            max_connections_per_prefix: frontend.max_connections_per_prefix,
            tls_handshake_rate: frontend.tls_handshake_rate,
            freeze_depth: watchdog.freeze_depth,
            unfreeze_after: watchdog.unfreeze_after,
            attesters: Vec::new(),
            watchdog_quorum: None,
            service: ServiceSettings::default(),
        }
    }
}

impl UpConfig {
    fn tls(&self) -> bool {
        self.self_signed || self.tls_cert.is_some()
    }

    /// The follower's configuration (internal listeners on loopback, any port).
    pub fn follower(&self) -> FollowerConfig {
        FollowerConfig {
            network: self.network,
            peers: self.peers.clone(),
            data_dir: self.data_dir.clone(),
            grpc_listen: ANY_LOOPBACK,
            admin_listen: ANY_LOOPBACK,
            checkpoint: self.checkpoint && self.network == Network::Main,
            service: self.service.clone(),
            ..FollowerConfig::default()
        }
    }

    /// The watchdog's configuration, watching `follower` (and the attesters).
    pub fn watchdog(&self, follower: SourceSpec) -> WatchdogConfig {
        WatchdogConfig {
            network: self.network,
            followers: vec![follower],
            attesters: self.attesters.clone(),
            quorum: self.watchdog_quorum,
            freeze_depth: self.freeze_depth,
            unfreeze_after: self.unfreeze_after,
            grpc_listen: ANY_LOOPBACK,
            admin_listen: ANY_LOOPBACK,
            // One process, one watchdog: no Lease, no ReorgWatch, even inside a cluster.
            kube: hnsfleet_watchdog_kube::KubeConfig {
                kube_enabled: hnsfleet_watchdog_kube::Enabled::Never,
                ..hnsfleet_watchdog_kube::KubeConfig::default()
            },
            service: self.service.clone(),
            ..WatchdogConfig::default()
        }
    }

    /// The proof-cache's configuration, asking `follower` and obeying `watchdog`.
    pub fn cache(&self, follower: FollowerUrl, watchdog: Option<FollowerUrl>) -> CacheConfig {
        CacheConfig {
            network: self.network,
            followers: vec![follower],
            quorum: Some(1),
            watchdog,
            grpc_listen: ANY_LOOPBACK,
            admin_listen: ANY_LOOPBACK,
            service: self.service.clone(),
            ..CacheConfig::default()
        }
    }

    /// The frontend's configuration, asking `cache` and following `watchdog`.
    pub fn frontend(
        &self,
        cache: hnsfleet_frontend::config::CacheUrl,
        watchdog: Option<hnsfleet_frontend::config::CacheUrl>,
    ) -> FrontendConfig {
        let tls = self.tls();
        FrontendConfig {
            network: self.network,
            caches: vec![cache],
            watchdog,
            dns_listen: Some(self.dns_listen),
            root_listen: Some(self.root_listen),
            dot_listen: self.dot_listen.or(tls.then_some(DEFAULT_DOT)),
            doh_listen: self.doh_listen.or(tls.then_some(DEFAULT_DOH)),
            doh3: self.doh3,
            doq_listen: self.doq_listen.or(tls.then_some(DEFAULT_DOQ)),
            tls_cert: self.tls_cert.clone(),
            tls_key: self.tls_key.clone(),
            self_signed: self.self_signed,
            sig0_key: self.sig0_key.clone(),
            sig0_dot: self.sig0_dot,
            sig0_doh: self.sig0_doh,
            icann_root_hints: self.icann_root_hints.clone(),
            icann_trust_anchors: self.icann_trust_anchors.clone(),
            admin_listen: self.admin_listen,
            allow_private_upstreams: self.allow_private_upstreams,
            resolve_timeout: self.resolve_timeout,
            rrl_rate: self.rrl_rate,
            rrl_burst: self.rrl_rate.saturating_mul(2),
            rrl_slip: self.rrl_slip,
            max_connections_per_prefix: self.max_connections_per_prefix,
            tls_handshake_rate: self.tls_handshake_rate,
            tls_handshake_burst: self.tls_handshake_rate.saturating_mul(2),
            service: self.service.clone(),
            ..FrontendConfig::default()
        }
    }

    /// Checks the whole: each service's part validates on its own.
    pub fn validate(&self) -> Result<(), ConfigError> {
        self.follower().validate()?;
        let url = |s: &str| {
            s.parse()
                .map_err(|e| ConfigError::invalid("peers", format!("{e}")))
        };
        self.cache(url("http://127.0.0.1:1")?, Some(url("http://127.0.0.1:2")?))
            .validate()?;
        let follower = "http://127.0.0.1:1"
            .parse()
            .map_err(|e| ConfigError::invalid("attesters", format!("{e}")))?;
        self.watchdog(follower).validate()?;
        let cache = "http://127.0.0.1:1"
            .parse()
            .map_err(|e| ConfigError::invalid("admin_listen", format!("{e}")))?;
        self.frontend(cache, None).validate()
    }
}

impl ServiceConfig for UpConfig {
    const LIST_KEYS: &'static [&'static str] = &["peers"];

    fn settings(&self) -> &ServiceSettings {
        &self.service
    }

    fn validate(&self) -> Result<(), ConfigError> {
        UpConfig::validate(self)
    }

    fn resolved(&self) -> Self {
        self.clone()
    }
}

/// Loads the configuration, then runs the three services until SIGINT/SIGTERM.
pub fn main_with(args: UpArgs) -> ExitCode {
    hnsfleet_service_kit::cli::run_service(&args, &args.service, "up", run_until_signal)
}

/// Binds everything, prints one listening line, runs the three services; a signal drains the
/// frontend first, then the cache and the follower.
pub async fn run_until_signal(config: UpConfig) -> anyhow::Result<()> {
    let bind_internal = || async {
        Ok::<_, anyhow::Error>(Listeners {
            grpc: TcpListener::bind(ANY_LOOPBACK).await?,
            admin: TcpListener::bind(ANY_LOOPBACK).await?,
        })
    };
    let follower_listeners = bind_internal().await.context("follower listeners")?;
    let cache_listeners = bind_internal().await.context("cache listeners")?;
    let watchdog_listeners = bind_internal().await.context("watchdog listeners")?;
    let follower_grpc = follower_listeners.grpc.local_addr()?;
    let cache_grpc = cache_listeners.grpc.local_addr()?;
    let watchdog_grpc = watchdog_listeners.grpc.local_addr()?;
    let parse_error = |e: &dyn std::fmt::Display| anyhow::anyhow!("{e}");
    let follower_url: FollowerUrl = format!("http://{follower_grpc}")
        .parse()
        .map_err(|e| parse_error(&e))?;
    let watchdog_url: FollowerUrl = format!("http://{watchdog_grpc}")
        .parse()
        .map_err(|e| parse_error(&e))?;
    let cache_url = format!("http://{cache_grpc}")
        .parse()
        .map_err(|e| parse_error(&e))?;
    let follower = config.follower();
    let watchdog = config.watchdog(
        format!("http://{follower_grpc}")
            .parse()
            .map_err(|e| parse_error(&e))?,
    );
    let cache = config.cache(follower_url, Some(watchdog_url));
    let frontend = config.frontend(
        cache_url,
        Some(
            format!("http://{watchdog_grpc}")
                .parse()
                .map_err(|e| parse_error(&e))?,
        ),
    );
    let frontend_listeners = hnsfleet_frontend::service::Listeners::bind(&frontend).await?;

    let settings = &config.service;
    let lifecycles = [
        Lifecycle::from_settings(settings),
        Lifecycle::from_settings(settings),
        Lifecycle::from_settings(settings),
        Lifecycle::from_settings(settings),
    ];
    let [follower_life, cache_life, frontend_life, watchdog_life] = lifecycles.clone();
    frontend_life.watch_signals().context("signal handlers")?;
    let mut addresses = frontend_listeners.addresses()?;
    addresses.extend([
        ("follower_grpc", follower_grpc),
        ("follower_admin", follower_listeners.admin.local_addr()?),
        ("cache_grpc", cache_grpc),
        ("cache_admin", cache_listeners.admin.local_addr()?),
        ("watchdog_grpc", watchdog_grpc),
        ("watchdog_admin", watchdog_listeners.admin.local_addr()?),
    ]);
    announce_listening(&addresses).context("listening line")?;
    tracing::info!(network = %config.network, peers = config.peers.len(), "fleet up");

    // The frontend's drain starts the others' (they keep serving it through their own drain).
    {
        let (draining, follower_life, cache_life, watchdog_life) = (
            frontend_life.draining(),
            follower_life.clone(),
            cache_life.clone(),
            watchdog_life.clone(),
        );
        tokio::spawn(async move {
            draining.cancelled().await;
            cache_life.begin_shutdown();
            watchdog_life.begin_shutdown();
            follower_life.begin_shutdown();
        });
    }
    let watchdog_listeners = hnsfleet_reorg_watchdog::service::WatchdogListeners {
        service: watchdog_listeners,
        publish: None,
    };
    let (a, b, c, d) = tokio::join!(
        hnsfleet_chain_follower::service::run(follower, follower_listeners, follower_life),
        hnsfleet_proof_cache::service::run(cache, cache_listeners, cache_life),
        hnsfleet_frontend::service::run(frontend, frontend_listeners, frontend_life),
        hnsfleet_reorg_watchdog::service::run(watchdog, watchdog_listeners, watchdog_life),
    );
    a.context("follower")?;
    b.context("proof-cache")?;
    c.context("frontend")?;
    d.context("reorg-watchdog")?;
    Ok(())
}
