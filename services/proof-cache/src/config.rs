//! The proof-cache's one typed configuration, loaded by the service kit's layered loader
//! (defaults, then the TOML file, then `HNSFLEET_*` variables, then the flags given). Every key
//! is declared once, here, with its doc comment; durations are human strings (`"5m"`), sizes
//! too (`"256 MiB"`). [`CacheConfig::validate`] checks the whole result and names the bad key.

use std::fmt;
use std::net::SocketAddr;
use std::str::FromStr;
use std::time::Duration;

use bytesize::ByteSize;
use hnsfleet_hns::params::Network;
pub use hnsfleet_service_kit::config::ConfigError;
use hnsfleet_service_kit::config::{Loader, ServiceConfig, ServiceSettings, duration, text};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// A chain-follower's gRPC endpoint, `http://HOST:PORT` (or `https://`).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct FollowerUrl(String);

/// A follower URL that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad follower URL {input:?}: {why} (expected http://HOST:PORT)")]
pub struct BadFollowerUrl {
    input: String,
    why: &'static str,
}

/// Everything a proof-cache can be told: every key, once. The README's config table lists the
/// same keys, each with its flag `--key-name` (lists singular: `--follower`) and variable
/// `HNSFLEET_KEY_NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct CacheConfig {
    /// The followers' network (`main`, `testnet`, `regtest`, `simnet`); a follower on another
    /// network is left out.
    #[serde(with = "text")]
    pub network: Network,
    /// The chain-followers to ask, each `http://HOST:PORT`.
    pub followers: Vec<FollowerUrl>,
    /// Followers that must announce the same safe root before the cache trusts it. Default: a
    /// majority of `followers`.
    pub quorum: Option<usize>,
    /// gRPC listen address.
    pub grpc_listen: SocketAddr,
    /// Admin HTTP listen address (`/metrics`, `/healthz`, `/readyz`).
    pub admin_listen: SocketAddr,
    /// gRPC requests handled at once; more are refused at once with `RESOURCE_EXHAUSTED`
    /// (reason `OVERLOADED`).
    pub grpc_max_in_flight: usize,
    /// Memory the cached look-ups may take (proof, name state, resource and bookkeeping of each
    /// entry are weighed); the least valuable entries are evicted beyond it.
    pub cache_capacity: ByteSize,
    /// Longest time an entry is kept, whatever its root.
    #[serde(with = "duration")]
    pub cache_ttl: Duration,
    /// How long cached look-ups of the last trusted root are still served (marked stale) once
    /// fewer than a quorum of followers confirm it; after that look-ups fail with
    /// `STALE_EXPIRED` and the cache reports not ready.
    #[serde(with = "duration")]
    pub serve_stale: Duration,
    /// Deadline of one request to one follower.
    #[serde(with = "duration")]
    pub follower_timeout: Duration,
    /// After this long without an answer, a miss is also sent to the next follower (hedging);
    /// the first verified answer wins.
    #[serde(with = "duration")]
    pub hedge_after: Duration,
    /// How long a follower caught lying (a proof that does not verify, or against another
    /// root) is left out of look-ups and of the quorum.
    #[serde(with = "duration")]
    pub quarantine: Duration,
    /// The reorg-watchdog's gRPC URL (`http://HOST:PORT`): while it has frozen the fleet, its
    /// frozen root is trusted instead of the followers' quorum. Unset: no watchdog.
    pub watchdog: Option<FollowerUrl>,
    /// How long the watchdog may be silent (no verdict, no heartbeat) before the cache reports
    /// not ready; its last verdict is kept meanwhile.
    #[serde(with = "duration")]
    pub watchdog_grace: Duration,
    /// The keys every service shares: `log`, `log_format`, `shutdown_drain`, `shutdown_grace`.
    #[serde(flatten)]
    pub service: ServiceSettings,
}

// === impl FollowerUrl ===

impl FollowerUrl {
    /// The URL as given.
    pub fn as_str(&self) -> &str {
        &self.0
    }
}

impl FromStr for FollowerUrl {
    type Err = BadFollowerUrl;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = |why| BadFollowerUrl {
            input: input.to_string(),
            why,
        };
        let uri: http::Uri = input.parse().map_err(|_| bad("not a URL"))?;
        match uri.scheme_str() {
            Some("http" | "https") => {}
            _ => return Err(bad("scheme must be http or https")),
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.host().is_empty() {
            return Err(bad("no host"));
        }
        if authority.port_u16().is_none_or(|p| p == 0) {
            return Err(bad("no port"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("no path or query allowed"));
        }
        Ok(FollowerUrl(input.trim_end_matches('/').to_string()))
    }
}

impl fmt::Display for FollowerUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.0)
    }
}

hnsfleet_service_kit::serde_as_text!(FollowerUrl);

// === impl CacheConfig ===

impl Default for CacheConfig {
    fn default() -> Self {
        CacheConfig {
            network: Network::Main,
            followers: Vec::new(),
            quorum: None,
            grpc_listen: SocketAddr::from(([0, 0, 0, 0], 9540)),
            admin_listen: SocketAddr::from(([0, 0, 0, 0], 9541)),
            grpc_max_in_flight: 4096,
            cache_capacity: ByteSize::mib(256),
            cache_ttl: Duration::from_secs(60 * 60),
            serve_stale: Duration::from_secs(5 * 60),
            follower_timeout: Duration::from_secs(6),
            hedge_after: Duration::from_millis(300),
            quarantine: Duration::from_secs(10 * 60),
            watchdog: None,
            watchdog_grace: Duration::from_secs(30),
            service: ServiceSettings::default(),
        }
    }
}

impl CacheConfig {
    /// Defaults overlaid with TOML text, validated (tests; services load through
    /// [`crate::cli::CacheArgs::resolve`]).
    pub fn from_toml(text: &str) -> Result<CacheConfig, ConfigError> {
        Ok(Loader::new().toml(text).load::<CacheConfig>()?.config)
    }

    /// Followers that must agree: `quorum`, else a strict majority of `followers`.
    pub fn effective_quorum(&self) -> usize {
        self.quorum.unwrap_or(self.followers.len() / 2 + 1)
    }

    /// This configuration with the quorum written out (what `--check-config` prints).
    pub fn resolved(&self) -> CacheConfig {
        CacheConfig {
            quorum: Some(self.effective_quorum()),
            ..self.clone()
        }
    }

    /// Checks the values that types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| Err(ConfigError::invalid(key, message));
        if self.followers.is_empty() {
            return invalid("followers", "at least one follower is required");
        }
        if self.followers.len() > 64 {
            return invalid("followers", "at most 64 followers");
        }
        for (i, a) in self.followers.iter().enumerate() {
            if self.followers[..i].contains(a) {
                return invalid("followers", &format!("{a} is listed twice"));
            }
        }
        let quorum = self.effective_quorum();
        if quorum == 0 || quorum > self.followers.len() {
            return invalid(
                "quorum",
                &format!(
                    "must be between 1 and the number of followers ({})",
                    self.followers.len()
                ),
            );
        }
        if !(1..=65_536).contains(&self.grpc_max_in_flight) {
            return invalid("grpc_max_in_flight", "must be between 1 and 65536");
        }
        if self.cache_capacity < ByteSize::mib(1) || self.cache_capacity > ByteSize::tib(1) {
            return invalid("cache_capacity", "must be between 1 MiB and 1 TiB");
        }
        let ms = Duration::from_millis;
        if self.cache_ttl < Duration::from_secs(1) {
            return invalid("cache_ttl", "must be at least 1s");
        }
        if self.serve_stale > Duration::from_secs(24 * 60 * 60) {
            return invalid("serve_stale", "must be at most 24h");
        }
        if !(ms(100)..=ms(120_000)).contains(&self.follower_timeout) {
            return invalid("follower_timeout", "must be between 100ms and 2m");
        }
        if self.hedge_after.is_zero() || self.hedge_after >= self.follower_timeout {
            return invalid("hedge_after", "must be above 0 and below follower_timeout");
        }
        if self.quarantine < Duration::from_secs(1) {
            return invalid("quarantine", "must be at least 1s");
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.watchdog_grace) {
            return invalid("watchdog_grace", "must be between 1s and 1h");
        }
        self.service.validate()
    }
}

impl ServiceConfig for CacheConfig {
    const LIST_KEYS: &'static [&'static str] = &["followers"];

    fn settings(&self) -> &ServiceSettings {
        &self.service
    }

    fn validate(&self) -> Result<(), ConfigError> {
        CacheConfig::validate(self)
    }

    fn resolved(&self) -> Self {
        CacheConfig::resolved(self)
    }
}

#[cfg(test)]
mod tests;
