//! One layered configuration loader for every service, built on figment:
//!
//! 1. the service's `Default`,
//! 2. the TOML file (`--config FILE`, else `HNSFLEET_CONFIG`),
//! 3. `HNSFLEET_<KEY>` environment variables,
//! 4. the flags given on the command line (only those: a flag left out never overrides);
//!
//! later wins. Each service declares every key once, in a flat typed struct with doc comments
//! (a [`ServiceConfig`]) that embeds the keys all services share ([`ServiceSettings`]) with
//! `#[serde(flatten)]`. Durations are human strings ([`duration`]). A key maps to its flag
//! `--key-name` (the clap argument id is the key) and to `HNSFLEET_KEY_NAME`; list keys
//! ([`ServiceConfig::LIST_KEYS`]) take comma lists in the environment (`HNSFLEET_PEERS=a,b`).
//! An empty environment variable counts as unset.
//!
//! Unknown keys in the file are refused. Unknown `HNSFLEET_*` variables are not: the prefix
//! is shared with the command-line clients and scripts (`HNSFLEET_FOLLOWER`,
//! `HNSFLEET_PROOF_CACHE`) and with the other services of a pod, so each one becomes a warning
//! (with the closest key, e.g. for a renamed one) that the service logs at start.
//!
//! Every error is one line naming the key and where its value came from, e.g.
//! ``config key `hedge_after` (env HNSFLEET_HEDGE_AFTER): invalid duration "5 parsecs": ...``;
//! services exit with [`EXIT_CONFIG`]. The environment is passed in ([`Env`]), so tests never
//! touch the process's own.

use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::time::Duration;

use figment::providers::{Format, Toml};
use figment::value::{Dict, Map, Value};
use figment::{Figment, Metadata, Profile, Provider};
use serde::de::DeserializeOwned;
use serde::{Deserialize, Serialize};
use thiserror::Error;

use crate::telemetry::LogFormat;

pub mod duration;
mod keys;
pub mod text;

pub use keys::{env_name, flag_names};

/// Prefix of the environment variables that set config keys.
pub const ENV_PREFIX: &str = "HNSFLEET_";
/// The environment variable naming the config file (when `--config` is not given).
pub const CONFIG_ENV: &str = "HNSFLEET_CONFIG";
/// Exit status for a configuration error (sysexits `EX_USAGE`).
pub const EXIT_CONFIG: u8 = 64;

/// Why a configuration was refused. Every message is one line naming the key at fault.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConfigError {
    /// The config file could not be read or is not TOML.
    #[error("config file {path}: {message}")]
    File {
        /// The file.
        path: PathBuf,
        /// What went wrong.
        message: String,
    },
    /// A key no layer may set.
    #[error("config key `{key}`{}: unknown key{}", from(.origin), hint(.closest))]
    Unknown {
        /// The key as written.
        key: String,
        /// Where it was set.
        origin: Option<String>,
        /// The closest known key, if one is close.
        closest: Option<String>,
    },
    /// A value that does not parse, is out of range, or is inconsistent with another.
    #[error("config key `{key}`{}: {message}", from(.origin))]
    Invalid {
        /// The key.
        key: String,
        /// Where the value came from (`config file F`, `env HNSFLEET_X`, `flag --x`), when
        /// it was not the default.
        origin: Option<String>,
        /// What is wrong.
        message: String,
    },
}

/// Where environment variables come from: the process ([`ProcessEnv`]) or, in tests, a map.
pub trait Env {
    /// Every variable as (name, value); those not valid UTF-8 may be skipped.
    fn vars(&self) -> Vec<(String, String)>;
}

/// The process's environment.
#[derive(Debug, Clone, Copy, Default)]
pub struct ProcessEnv;

/// A service's typed configuration: flat, every key declared once with a doc comment,
/// `#[serde(default)]`, the shared keys embedded with `#[serde(flatten)]`.
pub trait ServiceConfig: Serialize + DeserializeOwned + Default + Clone {
    /// Keys whose environment variable is a comma-separated list.
    const LIST_KEYS: &'static [&'static str] = &[];

    /// This configuration with defaults that depend on other keys written out: what
    /// `--check-config` prints, ready to be loaded back as a file.
    fn resolved(&self) -> Self {
        self.clone()
    }

    /// The keys every service shares.
    fn settings(&self) -> &ServiceSettings;

    /// Checks what types alone cannot, naming the key ([`ConfigError::invalid`]). The shared
    /// keys are already checked.
    fn validate(&self) -> Result<(), ConfigError>;
}

/// The keys every service has: logging and the shutdown sequence (see
/// [`Lifecycle`](crate::shutdown::Lifecycle)).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(default)]
pub struct ServiceSettings {
    /// Tracing filter (`info`, `hnsfleet=debug,warn`, ...).
    pub log: String,
    /// Log output: `text` or `json` (one object per line).
    pub log_format: LogFormat,
    /// After SIGTERM, how long `/readyz` says "draining" while the listeners keep serving, so
    /// load balancers and BGP withdraw the node before it stops accepting.
    #[serde(with = "duration")]
    pub shutdown_drain: Duration,
    /// Once the listeners stop accepting, how long in-flight requests may still take before
    /// the process exits anyway.
    #[serde(with = "duration")]
    pub shutdown_grace: Duration,
}

/// A loaded configuration and the warnings to log once logging is up.
#[derive(Debug, Clone)]
pub struct Loaded<C> {
    /// The validated configuration.
    pub config: C,
    /// Ignored environment variables and the like, one line each.
    pub warnings: Vec<String>,
}

/// The layers to load (see the module docs). Defaults are always the first.
#[derive(Debug, Default)]
pub struct Loader {
    file: Option<PathBuf>,
    text: Option<String>,
    env: Vec<(String, String)>,
    flags: Option<Flags>,
}

#[derive(Debug)]
struct Flags {
    values: Result<Value, figment::Error>,
    names: Arc<BTreeMap<String, String>>,
}

/// One layer of values and how to say where a key came from.
struct Layer {
    name: &'static str,
    dict: Dict,
    origin: fn(&str, &BTreeMap<String, String>) -> String,
    flag_names: Arc<BTreeMap<String, String>>,
}

// === impl ConfigError ===

impl ConfigError {
    /// A bad value of `key` (for [`ServiceConfig::validate`]); the loader adds its origin.
    pub fn invalid(key: &str, message: impl Into<String>) -> ConfigError {
        ConfigError::Invalid {
            key: key.to_string(),
            origin: None,
            message: message.into(),
        }
    }
}

fn from(origin: &Option<String>) -> String {
    origin
        .as_ref()
        .map(|o| format!(" ({o})"))
        .unwrap_or_default()
}

fn hint(closest: &Option<String>) -> String {
    closest
        .as_ref()
        .map(|k| format!(" (did you mean `{k}`?)"))
        .unwrap_or_default()
}

// === impl Env ===

impl Env for ProcessEnv {
    fn vars(&self) -> Vec<(String, String)> {
        std::env::vars_os()
            .filter_map(|(k, v)| Some((k.into_string().ok()?, v.into_string().ok()?)))
            .collect()
    }
}

impl Env for BTreeMap<String, String> {
    fn vars(&self) -> Vec<(String, String)> {
        self.iter().map(|(k, v)| (k.clone(), v.clone())).collect()
    }
}

impl<const N: usize> Env for [(&str, &str); N] {
    fn vars(&self) -> Vec<(String, String)> {
        self.iter()
            .map(|(k, v)| ((*k).to_string(), (*v).to_string()))
            .collect()
    }
}

// === impl ServiceSettings ===

impl Default for ServiceSettings {
    fn default() -> Self {
        ServiceSettings {
            log: "info".into(),
            log_format: LogFormat::Text,
            shutdown_drain: Duration::from_secs(5),
            shutdown_grace: Duration::from_secs(10),
        }
    }
}

impl ServiceSettings {
    /// Longest drain window or grace period accepted.
    pub const MAX_SHUTDOWN_STEP: Duration = Duration::from_secs(600);

    /// Checks the filter syntax and the shutdown bounds.
    pub fn validate(&self) -> Result<(), ConfigError> {
        if let Err(e) = tracing_subscriber::EnvFilter::try_new(&self.log) {
            return Err(ConfigError::invalid("log", e.to_string()));
        }
        for (key, value) in [
            ("shutdown_drain", self.shutdown_drain),
            ("shutdown_grace", self.shutdown_grace),
        ] {
            if value > Self::MAX_SHUTDOWN_STEP {
                return Err(ConfigError::invalid(key, "must be at most 10m"));
            }
        }
        Ok(())
    }
}

// === impl Loader ===

impl Loader {
    /// Defaults only; add layers with the methods below.
    pub fn new() -> Loader {
        Loader::default()
    }

    /// The config file given with `--config` (`None`: fall back to `HNSFLEET_CONFIG`).
    pub fn file(mut self, path: Option<&Path>) -> Loader {
        self.file = path.map(Path::to_path_buf);
        self
    }

    /// TOML text in place of a file (tests, round trips of `--check-config` output).
    pub fn toml(mut self, text: &str) -> Loader {
        self.text = Some(text.to_string());
        self
    }

    /// The environment to read `HNSFLEET_*` from.
    pub fn env(mut self, env: &impl Env) -> Loader {
        self.env = env.vars();
        self
    }

    /// The parsed command line: a clap `Args` whose argument ids are the config keys, every
    /// config flag an `Option` (or a `Vec`) skipped when absent (`skip_serializing_if`), and
    /// the non-key flags (`--config`, `--check-config`) `#[serde(skip)]`.
    pub fn flags<A: clap::Args + Serialize>(mut self, args: &A) -> Loader {
        self.flags = Some(Flags {
            values: Value::serialize(args),
            names: Arc::new(flag_names::<A>()),
        });
        self
    }

    /// Loads, checks and validates `C`.
    pub fn load<C: ServiceConfig>(self) -> Result<Loaded<C>, ConfigError> {
        let known = keys::known::<C>();
        let mut warnings = Vec::new();
        let flag_names = self
            .flags
            .as_ref()
            .map(|f| Arc::clone(&f.names))
            .unwrap_or_default();
        let layer = |name, dict, origin| Layer {
            name,
            dict,
            origin,
            flag_names: Arc::clone(&flag_names),
        };

        let defaults = dict_of(Value::serialize(C::default()), "the defaults")?;
        let mut figment = Figment::from(layer("defaults", defaults, |_, _| String::new()));

        let file = self.file.clone().or_else(|| {
            self.env
                .iter()
                .find(|(k, v)| k == CONFIG_ENV && !v.is_empty())
                .map(|(_, v)| PathBuf::from(v))
        });
        if let Some(path) = &file {
            if let Err(e) = std::fs::metadata(path) {
                return Err(ConfigError::File {
                    path: path.clone(),
                    message: e.to_string(),
                });
            }
            figment = figment.merge(Toml::file_exact(path));
        }
        if let Some(text) = &self.text {
            figment = figment.merge(Toml::string(text));
        }

        let (env, env_warnings) = keys::env_layer(&self.env, &known, C::LIST_KEYS);
        warnings.extend(env_warnings);
        figment = figment.merge(layer("environment", env, |key, _| {
            format!("env {}", env_name(key))
        }));

        if let Some(flags) = self.flags {
            let values = dict_of(flags.values, "the command-line flags")?;
            figment = figment.merge(layer("flags", values, |key, names| match names.get(key) {
                Some(flag) => format!("flag {flag}"),
                None => format!("flag for {key}"),
            }));
        }

        // Unknown keys: only the file can bring them (the other layers are filtered or typed).
        let merged = figment
            .data()
            .map_err(|e| figment_error(e, &figment, file.as_deref()))?;
        if let Some(values) = merged.get(&Profile::Default) {
            for key in values.keys() {
                if !known.contains(key) {
                    return Err(ConfigError::Unknown {
                        key: key.clone(),
                        origin: origin_of(&figment, key),
                        closest: keys::closest(key, &known),
                    });
                }
            }
        }
        // The shared keys first: through `flatten` their errors would lose the key's name.
        let settings: ServiceSettings = figment
            .extract_lossy()
            .map_err(|e| figment_error(e, &figment, file.as_deref()))?;
        let with_origin = |e: ConfigError| match e {
            ConfigError::Invalid {
                key,
                origin: None,
                message,
            } => ConfigError::Invalid {
                origin: origin_of(&figment, &key),
                key,
                message,
            },
            e => e,
        };
        settings.validate().map_err(with_origin)?;
        let config: C = figment
            .extract_lossy()
            .map_err(|e| figment_error(e, &figment, file.as_deref()))?;
        config.validate().map_err(with_origin)?;
        Ok(Loaded { config, warnings })
    }
}

/// The top-level table of a serialized value.
fn dict_of(value: Result<Value, figment::Error>, what: &str) -> Result<Dict, ConfigError> {
    match value {
        Ok(Value::Dict(_, dict)) => Ok(dict),
        Ok(other) => Err(ConfigError::invalid(
            "",
            format!("{what} are not a table: {other:?}"),
        )),
        Err(e) => Err(ConfigError::invalid("", format!("{what}: {e}"))),
    }
}

/// Where `key`'s final value came from; `None` for the default.
fn origin_of(figment: &Figment, key: &str) -> Option<String> {
    let metadata = figment.find_metadata(key)?;
    origin_in(metadata, key)
}

fn origin_in(metadata: &Metadata, key: &str) -> Option<String> {
    if let Some(path) = metadata.source.as_ref().and_then(|s| s.file_path()) {
        return Some(format!("config file {}", path.display()));
    }
    if metadata.name == "TOML source string" {
        return Some("config text".into());
    }
    let origin = metadata.interpolate(&Profile::Default, &[key]);
    (!origin.is_empty()).then_some(origin)
}

/// One line from a figment error: the first error only, named by key and origin.
fn figment_error(e: figment::Error, figment: &Figment, file: Option<&Path>) -> ConfigError {
    let key = e.path.join(".");
    let origin = e
        .metadata
        .as_ref()
        .and_then(|m| origin_in(m, &key))
        .or_else(|| origin_of(figment, &key));
    let message = one_line(&e.kind.to_string());
    if key.is_empty() {
        // No key: the file did not parse (figment reports it without a path).
        let path = e
            .metadata
            .as_ref()
            .and_then(|m| m.source.as_ref())
            .and_then(|s| s.file_path())
            .or(file)
            .map(Path::to_path_buf);
        return match path {
            Some(path) => ConfigError::File { path, message },
            None => ConfigError::Invalid {
                key: "(toml)".into(),
                origin,
                message,
            },
        };
    }
    ConfigError::Invalid {
        key,
        origin,
        message,
    }
}

fn one_line(text: &str) -> String {
    text.split_whitespace().collect::<Vec<_>>().join(" ")
}

// === impl Layer ===

impl Provider for Layer {
    fn metadata(&self) -> Metadata {
        let origin = self.origin;
        let names = Arc::clone(&self.flag_names);
        Metadata::named(self.name)
            .interpolater(move |_: &Profile, keys: &[&str]| origin(&keys.join("."), &names))
    }

    fn data(&self) -> Result<Map<Profile, Dict>, figment::Error> {
        Ok(Profile::Default.collect(self.dict.clone()))
    }
}

#[cfg(test)]
mod tests;
