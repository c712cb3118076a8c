//! The watchdog's one typed configuration, loaded by the service kit's layered loader
//! (defaults, then the TOML file, then `HNSFLEET_*` variables, then the flags given). Every key
//! is declared once, here, with its doc comment; docs/watchdog.md explains the rules they set.
//! [`WatchdogConfig::validate`] checks the whole result and names the bad key.

use std::fmt;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use hnsfleet_hns::params::Network;
pub use hnsfleet_service_kit::config::ConfigError;
use hnsfleet_service_kit::config::{Loader, ServiceConfig, ServiceSettings, duration, text};
use hnsfleet_watchdog_kube::KubeConfig;
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Most sources (followers and attesters together): the judgement compares every pair.
pub const MAX_SOURCES: usize = 64;

/// A source: its URL and, optionally (always, for an attester), the only key it may sign
/// with. Written `URL` or `URL=PUBKEY` (66 hex digits, a compressed secp256k1 key).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct SourceSpec {
    url: String,
    scheme: Scheme,
    key: Option<[u8; 33]>,
}

/// How a source is read.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Scheme {
    /// gRPC over plain HTTP/2 (`http://` for followers, `grpc://` for attesters).
    Grpc,
    /// An attester's HTTP publish endpoint (`http://`).
    Http,
    /// An attester's HTTPS publish endpoint (`https://`).
    Https,
}

/// A source that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad source {input:?}: {why}")]
pub struct BadSource {
    input: String,
    why: &'static str,
}

/// Everything a watchdog can be told: every key, once. The README's config table lists the
/// same keys, each with its flag `--key-name` (lists singular: `--follower`, `--attester`) and
/// variable `HNSFLEET_KEY_NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct WatchdogConfig {
    /// The network watched (`main`, `testnet`, `regtest`, `simnet`): attestations about any
    /// other are ignored.
    #[serde(with = "text")]
    pub network: Network,
    /// This fleet's chain-followers, `http://HOST:PORT` (gRPC), each optionally `=PUBKEY` to
    /// pin its attestation key.
    pub followers: Vec<SourceSpec>,
    /// Other operators' watchdogs, `URL=PUBKEY`: `https://HOST[:PORT]` or `http://HOST:PORT`
    /// (their publish endpoint) or `grpc://HOST:PORT` (their gRPC API). The key is required.
    pub attesters: Vec<SourceSpec>,
    /// Sources that must agree. Default: a strict majority of all sources.
    pub quorum: Option<usize>,
    /// A reorganisation (or split) deeper than this many blocks freezes the fleet (K).
    pub freeze_depth: u32,
    /// Blocks a quorum must agree on one chain before a freeze lifts by itself (M).
    pub unfreeze_after: u32,
    /// A source more than this many blocks behind the others is lagging (left out).
    pub max_lag: u32,
    /// An attestation signed longer ago than this is stale, and so is a source without a
    /// newer one.
    #[serde(with = "duration")]
    pub max_attestation_age: Duration,
    /// How far in the future an attestation may be signed (clocks differ).
    #[serde(with = "duration")]
    pub max_clock_skew: Duration,
    /// How often every source is read (followers are also read at once on every tip change).
    #[serde(with = "duration")]
    pub poll_interval: Duration,
    /// Deadline of one read of one source.
    #[serde(with = "duration")]
    pub source_timeout: Duration,
    /// How often `WatchVerdicts` repeats an unchanged verdict, so its followers can tell a
    /// live watchdog from a silent one.
    #[serde(with = "duration")]
    pub heartbeat_interval: Duration,
    /// Secret key file (64 hex digits) signing the watchdog's own view. Unset: a new key at
    /// every start (fine for one process; other operators pin a key, so set it for them).
    pub key_file: Option<PathBuf>,
    /// gRPC listen address (`GetVerdict`, `WatchVerdicts`, `GetAttestation`, `Unfreeze`).
    pub grpc_listen: SocketAddr,
    /// Admin HTTP listen address (`/metrics`, `/healthz`, `/readyz`).
    pub admin_listen: SocketAddr,
    /// Publish listen address: `/v1/attestation`, `/v1/attestation.bin`, `/v1/verdict` for
    /// other operators' watchdogs. HTTPS with `publish_tls_cert` and `publish_tls_key`, plain
    /// HTTP without (for an ingress that terminates TLS).
    pub publish_listen: Option<SocketAddr>,
    /// PEM certificate chain of the publish endpoint (HTTPS; with `publish_tls_key`).
    pub publish_tls_cert: Option<PathBuf>,
    /// PEM private key of the publish endpoint's certificate.
    pub publish_tls_key: Option<PathBuf>,
    /// How often the certificate files are checked for a new pair (also on SIGHUP; 0: only on
    /// SIGHUP).
    #[serde(with = "duration")]
    pub publish_tls_reload_interval: Duration,
    /// PEM CA certificates trusted for `https://` attesters, besides the system's (a private
    /// PKI between operators).
    pub attester_ca_file: Option<PathBuf>,
    /// File holding the operator token `Unfreeze` requires (`authorization: Bearer TOKEN`,
    /// at least 16 characters; read at every call, so it can be rotated in place). Unset:
    /// `Unfreeze` is accepted only from a loopback address (`kubectl exec`, `hnsfleet up`).
    pub unfreeze_token_file: Option<PathBuf>,
    /// Kubernetes: Lease leadership, the ReorgWatch status and Events (`kube_*` keys; off
    /// outside a cluster unless `kube_enabled = true`).
    #[serde(flatten)]
    pub kube: KubeConfig,
    /// The keys every service shares: `log`, `log_format`, `shutdown_drain`, `shutdown_grace`.
    #[serde(flatten)]
    pub service: ServiceSettings,
}

// === impl SourceSpec ===

impl SourceSpec {
    /// The URL as given (without the key).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// How it is read.
    pub fn scheme(&self) -> Scheme {
        self.scheme
    }

    /// The pinned key, if any.
    pub fn key(&self) -> Option<[u8; 33]> {
        self.key
    }

    /// The gRPC endpoint URL (`grpc://` becomes `http://`).
    pub fn grpc_endpoint(&self) -> String {
        match self.url.strip_prefix("grpc://") {
            Some(rest) => format!("http://{rest}"),
            None => self.url.clone(),
        }
    }
}

impl FromStr for SourceSpec {
    type Err = BadSource;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = |why| BadSource {
            input: input.to_string(),
            why,
        };
        let (url, key) = match input.split_once('=') {
            Some((url, key)) => {
                let bytes = hex::decode(key.trim()).map_err(|_| bad("key is not hex"))?;
                let key: [u8; 33] = bytes
                    .try_into()
                    .map_err(|_| bad("key must be 66 hex digits (compressed secp256k1)"))?;
                secp256k1::PublicKey::from_slice(&key)
                    .map_err(|_| bad("key is not a secp256k1 point"))?;
                (url.trim(), Some(key))
            }
            None => (input.trim(), None),
        };
        let uri: http::Uri = url.parse().map_err(|_| bad("not a URL"))?;
        let scheme = match uri.scheme_str() {
            Some("http") => Scheme::Http,
            Some("https") => Scheme::Https,
            Some("grpc") => Scheme::Grpc,
            _ => return Err(bad("scheme must be http, https or grpc")),
        };
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        if authority.host().is_empty() {
            return Err(bad("no host"));
        }
        if scheme != Scheme::Https && authority.port_u16().is_none_or(|p| p == 0) {
            return Err(bad("no port"));
        }
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("no path or query allowed"));
        }
        Ok(SourceSpec {
            url: url.trim_end_matches('/').to_string(),
            scheme,
            key,
        })
    }
}

impl fmt::Display for SourceSpec {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.url)?;
        if let Some(key) = self.key {
            write!(f, "={}", hex::encode(key))?;
        }
        Ok(())
    }
}

hnsfleet_service_kit::serde_as_text!(SourceSpec);

// === impl WatchdogConfig ===

impl Default for WatchdogConfig {
    fn default() -> Self {
        WatchdogConfig {
            network: Network::Main,
            followers: Vec::new(),
            attesters: Vec::new(),
            quorum: None,
            freeze_depth: 12,
            unfreeze_after: 12,
            max_lag: 3,
            max_attestation_age: Duration::from_secs(60),
            max_clock_skew: Duration::from_secs(30),
            poll_interval: Duration::from_secs(2),
            source_timeout: Duration::from_secs(5),
            heartbeat_interval: Duration::from_secs(5),
            key_file: None,
            grpc_listen: SocketAddr::from(([0, 0, 0, 0], 9560)),
            admin_listen: SocketAddr::from(([0, 0, 0, 0], 9561)),
            publish_listen: None,
            publish_tls_cert: None,
            publish_tls_key: None,
            publish_tls_reload_interval: Duration::from_secs(10),
            attester_ca_file: None,
            unfreeze_token_file: None,
            kube: KubeConfig::default(),
            service: ServiceSettings::default(),
        }
    }
}

impl WatchdogConfig {
    /// Defaults overlaid with TOML text, validated (tests; services load through the CLI).
    pub fn from_toml(text: &str) -> Result<WatchdogConfig, ConfigError> {
        Ok(Loader::new().toml(text).load::<WatchdogConfig>()?.config)
    }

    /// Followers and attesters together.
    pub fn source_count(&self) -> usize {
        self.followers.len() + self.attesters.len()
    }

    /// Sources that must agree: `quorum`, else a strict majority of all sources.
    pub fn effective_quorum(&self) -> usize {
        self.quorum.unwrap_or(self.source_count() / 2 + 1)
    }

    /// This configuration with the quorum written out (what `--check-config` prints).
    pub fn resolved(&self) -> WatchdogConfig {
        WatchdogConfig {
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
        if self.source_count() > MAX_SOURCES {
            return invalid("followers", "at most 64 followers and attesters together");
        }
        for follower in &self.followers {
            if follower.scheme() != Scheme::Http {
                return invalid(
                    "followers",
                    &format!("{follower}: must be http://HOST:PORT"),
                );
            }
        }
        for attester in &self.attesters {
            if attester.key().is_none() {
                return invalid(
                    "attesters",
                    &format!("{attester}: an attester needs its key (URL=PUBKEY)"),
                );
            }
        }
        let all: Vec<&str> = self
            .followers
            .iter()
            .chain(&self.attesters)
            .map(SourceSpec::url)
            .collect();
        for (i, url) in all.iter().enumerate() {
            if all[..i].contains(url) {
                return invalid("followers", &format!("{url} is listed twice"));
            }
        }
        let quorum = self.effective_quorum();
        if quorum == 0 || quorum > self.source_count() {
            return invalid(
                "quorum",
                &format!(
                    "must be between 1 and the number of sources ({})",
                    self.source_count()
                ),
            );
        }
        if !(1..=10_000).contains(&self.freeze_depth) {
            return invalid("freeze_depth", "must be between 1 and 10000");
        }
        if !(1..=10_000).contains(&self.unfreeze_after) {
            return invalid("unfreeze_after", "must be between 1 and 10000");
        }
        if self.max_lag > 1_000 {
            return invalid("max_lag", "must be at most 1000");
        }
        let secs = Duration::from_secs;
        if !(secs(5)..=secs(24 * 60 * 60)).contains(&self.max_attestation_age) {
            return invalid("max_attestation_age", "must be between 5s and 24h");
        }
        if self.max_clock_skew > secs(60 * 60) {
            return invalid("max_clock_skew", "must be at most 1h");
        }
        if self.poll_interval < Duration::from_millis(100)
            || self.poll_interval >= self.max_attestation_age
        {
            return invalid(
                "poll_interval",
                "must be at least 100ms and below max_attestation_age",
            );
        }
        if !(Duration::from_millis(100)..=secs(120)).contains(&self.source_timeout) {
            return invalid("source_timeout", "must be between 100ms and 2m");
        }
        if !(Duration::from_millis(100)..=secs(60)).contains(&self.heartbeat_interval) {
            return invalid("heartbeat_interval", "must be between 100ms and 1m");
        }
        match (&self.publish_tls_cert, &self.publish_tls_key) {
            (Some(_), None) => return invalid("publish_tls_key", "publish_tls_cert needs it"),
            (None, Some(_)) => return invalid("publish_tls_cert", "publish_tls_key needs it"),
            (Some(_), Some(_)) if self.publish_listen.is_none() => {
                return invalid("publish_tls_cert", "set without publish_listen");
            }
            _ => {}
        }
        if self.publish_tls_reload_interval > secs(60 * 60) {
            return invalid("publish_tls_reload_interval", "must be at most 1h");
        }
        self.kube.validate()?;
        self.service.validate()
    }
}

impl ServiceConfig for WatchdogConfig {
    const LIST_KEYS: &'static [&'static str] = &["followers", "attesters"];

    fn settings(&self) -> &ServiceSettings {
        &self.service
    }

    fn validate(&self) -> Result<(), ConfigError> {
        WatchdogConfig::validate(self)
    }

    fn resolved(&self) -> Self {
        WatchdogConfig::resolved(self)
    }
}

#[cfg(test)]
mod tests;
