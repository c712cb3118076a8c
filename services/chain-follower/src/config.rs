//! The follower's one typed configuration, loaded by the service kit's layered loader
//! ([`hnsfleet_service_kit::config`]): built-in defaults, then the TOML file (unknown keys
//! refused), then `HNSFLEET_*` environment variables, then the flags given; later wins.
//! Every key is declared once, here, with its doc comment; durations are human strings
//! (`proof_timeout = "5s"`). [`FollowerConfig::validate`] checks the whole result once and
//! names the bad key.
//!
//! Network-dependent defaults (seed peers, how many peers must agree before the follower calls
//! itself ready) are resolved from the final `network`, so `--network regtest` alone changes
//! them.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use hnsfleet_hns::params::{Network, NetworkParams};
pub use hnsfleet_service_kit::config::ConfigError;
use hnsfleet_service_kit::config::{Loader, ServiceConfig, ServiceSettings, duration, text};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A peer to dial: `HOST:PORT` for plain TCP, `KEY@HOST:PORT` for brontide, where KEY is the
/// peer's 33-byte compressed secp256k1 identity key in hsd's base32 form (or 66 hex digits).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct PeerAddr {
    /// Brontide identity key; `None` for plain TCP.
    pub identity: Option<[u8; 33]>,
    /// Host name or IP address (resolved at each connect).
    pub host: String,
    /// TCP port.
    pub port: u16,
}

/// A peer address that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad peer {input:?}: {why} (expected HOST:PORT or KEY@HOST:PORT)")]
pub struct BadPeerAddr {
    input: String,
    why: &'static str,
}

/// A DNS seed: a host name whose addresses (A and AAAA) are all candidate peers, `HOST` (the
/// network's plain p2p port) or `HOST:PORT`. Each address becomes a peer of its own, so a ban
/// hits one node, never everything behind the name.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SeedHost {
    /// The name to resolve.
    pub host: String,
    /// Port of the peers behind it; `None` means the network's plain p2p port.
    pub port: Option<u16>,
}

/// A DNS seed that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad DNS seed {input:?}: {why} (expected HOST or HOST:PORT)")]
pub struct BadSeedHost {
    input: String,
    why: &'static str,
}

/// Everything a follower can be told: every key, once. The README's config table lists the
/// same keys (a test checks it), each with its flag `--key-name` and variable
/// `HNSFLEET_KEY_NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FollowerConfig {
    /// `main`, `testnet`, `regtest` or `simnet`.
    #[serde(with = "text")]
    pub network: Network,
    /// Peers to keep connected; empty means the network's built-in seeds.
    pub peers: Vec<PeerAddr>,
    /// DNS seeds whose every address is a candidate peer. Default: the network's DNS seeds
    /// when `peers` is empty, none otherwise; an explicit empty list turns them off.
    pub dns_seeds: Option<Vec<SeedHost>>,
    /// Ask peers for more peers (GETADDR) and dial the full nodes they gossip (ADDR), within
    /// caps. Default: on for main and testnet; off for regtest and simnet (where only loopback
    /// addresses would be taken anyway).
    pub discover_peers: Option<bool>,
    /// Where the header file and the generated key live.
    pub data_dir: PathBuf,
    /// gRPC listen address.
    pub grpc_listen: SocketAddr,
    /// Admin HTTP listen address (`/metrics`, `/healthz`, `/readyz`).
    pub admin_listen: SocketAddr,
    /// gRPC requests handled at once over all connections; more are refused at once with
    /// `RESOURCE_EXHAUSTED` (reason `OVERLOADED`) instead of queueing.
    pub grpc_max_in_flight: usize,
    /// Open `WatchTip` streams at most; more are refused (reason `TOO_MANY_WATCHERS`).
    pub grpc_max_watchers: usize,
    /// Most peers connected at once.
    pub max_peers: usize,
    /// Distinct connected peers needed before the follower reports ready (the tip is never
    /// taken from one peer alone). Default: 2 on main and testnet, 1 on regtest and simnet.
    pub min_peers: Option<usize>,
    /// Ready only while the tip is within this many blocks of the best height a peer announced.
    pub ready_within: u32,
    /// How long a misbehaving peer stays banned (hsd: 24h).
    #[serde(with = "duration")]
    pub ban_time: Duration,
    /// How long one peer may take to answer a proof request.
    #[serde(with = "duration")]
    pub proof_timeout: Duration,
    /// How long one peer may take to answer a header request (hsd: 30s); a peer that stalls
    /// longer is dropped and redialled later.
    #[serde(with = "duration")]
    pub response_timeout: Duration,
    /// After this long without an answer, a proof request is also sent to the next peer
    /// (hedging); the first verified answer wins.
    #[serde(with = "duration")]
    pub hedge_after: Duration,
    /// Secret key file (64 hex digits) signing tip attestations; default `DATA_DIR/follower.key`,
    /// created on first start.
    pub key_file: Option<PathBuf>,
    /// Start a new header file from the network's built-in checkpoint instead of genesis
    /// (mainnet only; ignored on networks without one).
    pub checkpoint: bool,
    /// The keys every service shares: `log`, `log_format`, `shutdown_drain` and
    /// `shutdown_grace` (see [`ServiceSettings`]).
    #[serde(flatten)]
    pub service: ServiceSettings,
}

// === impl PeerAddr ===

impl PeerAddr {
    /// The network's built-in seed peers (none on regtest and simnet); its DNS seeds are
    /// [`SeedHost::network_seeds`].
    pub fn seeds(params: &NetworkParams) -> Vec<PeerAddr> {
        params
            .parsed_seed_peers()
            .map(|seed| PeerAddr {
                identity: seed.identity_key(),
                host: seed.ip.to_string(),
                port: seed.port(params),
            })
            .collect()
    }
}

// === impl SeedHost ===

impl SeedHost {
    /// The network's built-in DNS seeds (none on regtest and simnet).
    pub fn network_seeds(params: &NetworkParams) -> Vec<SeedHost> {
        params
            .dns_seeds
            .iter()
            .map(|host| SeedHost {
                host: (*host).to_string(),
                port: None,
            })
            .collect()
    }
}

impl FromStr for SeedHost {
    type Err = BadSeedHost;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = |why| BadSeedHost {
            input: input.to_string(),
            why,
        };
        let (host, port) = match input.rsplit_once(':') {
            Some((host, port)) => {
                let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
                if port == 0 {
                    return Err(bad("port 0"));
                }
                (host, Some(port))
            }
            None => (input, None),
        };
        let valid = |c: char| c.is_ascii_alphanumeric() || c == '-' || c == '.';
        if host.is_empty() || host.len() > 253 || !host.chars().all(valid) {
            return Err(bad("not a host name"));
        }
        Ok(SeedHost {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for SeedHost {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.port {
            Some(port) => write!(f, "{}:{port}", self.host),
            None => f.write_str(&self.host),
        }
    }
}

hnsfleet_service_kit::serde_as_text!(SeedHost);

impl FromStr for PeerAddr {
    type Err = BadPeerAddr;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = |why| BadPeerAddr {
            input: input.to_string(),
            why,
        };
        let (identity, hostport) = match input.split_once('@') {
            Some((key, rest)) => (
                Some(parse_identity(key).ok_or_else(|| bad("bad key"))?),
                rest,
            ),
            None => (None, input),
        };
        let (host, port) = hostport.rsplit_once(':').ok_or_else(|| bad("no port"))?;
        let host = host
            .strip_prefix('[')
            .and_then(|h| h.strip_suffix(']'))
            .unwrap_or(host);
        if host.is_empty() || host.contains(['/', ' ', '@']) {
            return Err(bad("bad host"));
        }
        let port: u16 = port.parse().map_err(|_| bad("bad port"))?;
        if port == 0 {
            return Err(bad("port 0"));
        }
        Ok(PeerAddr {
            identity,
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for PeerAddr {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(key) = &self.identity {
            let key = data_encoding::BASE32_NOPAD.encode(key).to_ascii_lowercase();
            write!(f, "{key}@")?;
        }
        if self.host.contains(':') {
            write!(f, "[{}]:{}", self.host, self.port)
        } else {
            write!(f, "{}:{}", self.host, self.port)
        }
    }
}

hnsfleet_service_kit::serde_as_text!(PeerAddr);

/// hsd's base32 (lower case, no padding) or hex of a 33-byte compressed key.
fn parse_identity(key: &str) -> Option<[u8; 33]> {
    let bytes = if key.len() == 66 {
        hex::decode(key).ok()?
    } else {
        data_encoding::BASE32_NOPAD
            .decode(key.to_ascii_uppercase().as_bytes())
            .ok()?
    };
    let key = <[u8; 33]>::try_from(bytes.as_slice()).ok()?;
    matches!(key[0], 2 | 3).then_some(key)
}

// === impl FollowerConfig ===

impl Default for FollowerConfig {
    fn default() -> Self {
        FollowerConfig {
            network: Network::Main,
            peers: Vec::new(),
            dns_seeds: None,
            discover_peers: None,
            data_dir: PathBuf::from("/var/lib/hnsfleet/follower"),
            grpc_listen: SocketAddr::from(([0, 0, 0, 0], 9530)),
            admin_listen: SocketAddr::from(([0, 0, 0, 0], 9531)),
            grpc_max_in_flight: 512,
            grpc_max_watchers: 256,
            max_peers: 8,
            min_peers: None,
            ready_within: 2,
            ban_time: Duration::from_secs(24 * 60 * 60),
            proof_timeout: Duration::from_secs(5),
            response_timeout: Duration::from_secs(30),
            hedge_after: Duration::from_millis(250),
            key_file: None,
            checkpoint: true,
            service: ServiceSettings::default(),
        }
    }
}

impl FollowerConfig {
    /// Defaults overlaid with TOML text, validated (tests and `--check-config` round trips;
    /// services load through [`crate::cli::FollowerArgs::resolve`]).
    pub fn from_toml(text: &str) -> Result<FollowerConfig, ConfigError> {
        Ok(Loader::new().toml(text).load::<FollowerConfig>()?.config)
    }

    /// The network's parameters.
    pub fn params(&self) -> &'static NetworkParams {
        self.network.params()
    }

    /// The peers to dial: the configured ones, else the network's seeds.
    pub fn effective_peers(&self) -> Vec<PeerAddr> {
        if self.peers.is_empty() {
            PeerAddr::seeds(self.params())
        } else {
            self.peers.clone()
        }
    }

    /// The DNS seeds to resolve, with their ports: the configured list, else the network's
    /// when no peers are configured.
    pub fn effective_dns_seeds(&self) -> Vec<(String, u16)> {
        let seeds = match &self.dns_seeds {
            Some(seeds) => seeds.clone(),
            None if self.peers.is_empty() => SeedHost::network_seeds(self.params()),
            None => Vec::new(),
        };
        seeds
            .into_iter()
            .map(|seed| (seed.host, seed.port.unwrap_or(self.params().port)))
            .collect()
    }

    /// This configuration with every network-dependent default written out (peers, DNS seeds
    /// with their ports, `min_peers`, `discover_peers`, `key_file`): what `--check-config`
    /// prints. Loading the result gives the same follower.
    pub fn resolved(&self) -> FollowerConfig {
        let dns_seeds = self
            .effective_dns_seeds()
            .into_iter()
            .map(|(host, port)| SeedHost {
                host,
                port: Some(port),
            })
            .collect();
        FollowerConfig {
            peers: self.effective_peers(),
            dns_seeds: Some(dns_seeds),
            min_peers: Some(self.effective_min_peers()),
            discover_peers: Some(self.effective_discover_peers()),
            key_file: Some(self.effective_key_file()),
            ..self.clone()
        }
    }

    /// Whether gossiped peers are dialled.
    pub fn effective_discover_peers(&self) -> bool {
        self.discover_peers.unwrap_or(match self.network {
            Network::Main | Network::Testnet => true,
            Network::Regtest | Network::Simnet => false,
        })
    }

    /// Connected peers required for readiness.
    pub fn effective_min_peers(&self) -> usize {
        self.min_peers.unwrap_or(match self.network {
            Network::Main | Network::Testnet => 2,
            Network::Regtest | Network::Simnet => 1,
        })
    }

    /// The attestation key file.
    pub fn effective_key_file(&self) -> PathBuf {
        self.key_file
            .clone()
            .unwrap_or_else(|| self.data_dir.join("follower.key"))
    }

    /// Checks the values that types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| Err(ConfigError::invalid(key, message));
        let dns_seeds = self.effective_dns_seeds();
        if self.effective_peers().is_empty() && dns_seeds.is_empty() {
            return invalid(
                "peers",
                &format!(
                    "no peers or DNS seeds given and {} has no seeds",
                    self.network
                ),
            );
        }
        if !(1..=65_536).contains(&self.grpc_max_in_flight) {
            return invalid("grpc_max_in_flight", "must be between 1 and 65536");
        }
        if !(1..=65_536).contains(&self.grpc_max_watchers) {
            return invalid("grpc_max_watchers", "must be between 1 and 65536");
        }
        if self.max_peers == 0 || self.max_peers > 128 {
            return invalid("max_peers", "must be between 1 and 128");
        }
        let min = self.effective_min_peers();
        if min == 0 || min > self.max_peers {
            return invalid("min_peers", "must be between 1 and max_peers");
        }
        // DNS seeds may stand for any number of peers; without them the list is the limit.
        if dns_seeds.is_empty() && min > self.effective_peers().len() {
            return invalid(
                "min_peers",
                &format!(
                    "{min} peers required but only {} configured",
                    self.effective_peers().len()
                ),
            );
        }
        let ms = Duration::from_millis;
        if !(ms(100)..=ms(120_000)).contains(&self.proof_timeout) {
            return invalid("proof_timeout", "must be between 100ms and 2m");
        }
        if !(ms(100)..=ms(600_000)).contains(&self.response_timeout) {
            return invalid("response_timeout", "must be between 100ms and 10m");
        }
        if self.hedge_after.is_zero() || self.hedge_after >= self.proof_timeout {
            return invalid("hedge_after", "must be above 0 and below proof_timeout");
        }
        if self.ban_time < Duration::from_secs(1) {
            return invalid("ban_time", "must be at least 1s");
        }
        if self.data_dir.as_os_str().is_empty() {
            return invalid("data_dir", "must not be empty");
        }
        self.service.validate()
    }
}

impl ServiceConfig for FollowerConfig {
    const LIST_KEYS: &'static [&'static str] = &["peers", "dns_seeds"];

    fn settings(&self) -> &ServiceSettings {
        &self.service
    }

    fn validate(&self) -> Result<(), ConfigError> {
        FollowerConfig::validate(self)
    }

    fn resolved(&self) -> Self {
        FollowerConfig::resolved(self)
    }
}

#[cfg(test)]
mod tests;
