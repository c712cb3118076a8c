//! Which server to ask and which key to pin: `--server`/`--key` given by the caller, else the
//! `nameserver` lines of an hns.conf (the whitepaper's client file). The file is the one
//! named by the caller (`--hns-conf`), else by `HNS_CONF`, else `/etc/hns.conf` if it exists.
//! There is no built-in server list: without a server and an hns.conf, nothing is asked.
//!
//! [`conf_path`] and [`select`] are pure; [`load_conf`] reads the environment and the file.

use std::ffi::OsStr;
use std::fmt;
use std::path::{Path, PathBuf};

use hnsfleet_hns::hnsconf::HnsConf;
use hnsfleet_hns::sig0::Sig0PublicKey;

use crate::error::Error;
use crate::server::Server;

/// The system-wide hns.conf, read when it exists and nothing else is named.
pub const DEFAULT_HNS_CONF: &str = "/etc/hns.conf";
/// The environment variable naming an hns.conf.
pub const HNS_CONF_ENV: &str = "HNS_CONF";

/// How an hns.conf was chosen.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum ConfOrigin {
    /// Named by the caller (`--hns-conf`).
    Flag,
    /// Named by `HNS_CONF`.
    Env,
    /// `/etc/hns.conf`.
    Default,
}

/// A parsed hns.conf and where it came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ConfFile {
    /// Its path.
    pub path: PathBuf,
    /// How it was chosen.
    pub origin: ConfOrigin,
    /// Its contents.
    pub conf: HnsConf,
}

/// Where a pinned key came from.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum KeySource {
    /// Given by the caller (`--key`).
    Given,
    /// The `nameserver` line for the server in this hns.conf.
    HnsConf(PathBuf),
}

/// A key responses must be SIG(0)-signed with, and its origin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct PinnedKey {
    /// The key.
    pub key: Sig0PublicKey,
    /// Where it came from.
    pub source: KeySource,
}

/// The server to ask and the key to pin.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Selection {
    /// The server.
    pub server: Server,
    /// The pinned key, if any.
    pub pinned: Option<PinnedKey>,
}

// === pure choices ===

/// The hns.conf to read: `flag`, else `env` (if set and not empty), else
/// [`DEFAULT_HNS_CONF`] if `default_exists`; `None` when there is none.
pub fn conf_path(
    flag: Option<&Path>,
    env: Option<&OsStr>,
    default_exists: bool,
) -> Option<(PathBuf, ConfOrigin)> {
    if let Some(path) = flag {
        return Some((path.to_path_buf(), ConfOrigin::Flag));
    }
    if let Some(path) = env.filter(|p| !p.is_empty()) {
        return Some((PathBuf::from(path), ConfOrigin::Env));
    }
    default_exists.then(|| (PathBuf::from(DEFAULT_HNS_CONF), ConfOrigin::Default))
}

/// Picks the server and the key. With `server`, the key is `key`, else the one the hns.conf
/// lists for that exact IP and port (none if it lists none). Without, the hns.conf's first
/// `nameserver` is asked over `transport` at its IP and port, its key pinned
/// unless `key` overrides it. Neither: [`Error::NoServer`].
pub fn select(
    server: Option<Server>,
    key: Option<Sig0PublicKey>,
    conf: Option<&ConfFile>,
    transport: crate::Transport,
) -> Result<Selection, Error> {
    let given = key.map(|key| PinnedKey {
        key,
        source: KeySource::Given,
    });
    let from_conf = |conf: &ConfFile, key: Option<Sig0PublicKey>| {
        key.map(|key| PinnedKey {
            key,
            source: KeySource::HnsConf(conf.path.clone()),
        })
    };
    if let Some(server) = server {
        let listed = conf.and_then(|conf| {
            let ns = conf
                .conf
                .nameservers
                .iter()
                .find(|ns| ns.addr == server.addr.ip() && ns.port == server.addr.port())?;
            from_conf(conf, ns.key)
        });
        let pinned = given.or(listed);
        return Ok(Selection { server, pinned });
    }
    let conf = conf.ok_or(Error::NoServer)?;
    let ns = conf.conf.nameservers.first().ok_or(Error::NoServer)?;
    let server = Server::new(transport, (ns.addr, ns.port).into());
    let pinned = given.or_else(|| from_conf(conf, ns.key));
    Ok(Selection { server, pinned })
}

/// Parses a public key as `hnsfleet sig0 pubkey` prints it: 66 hex digits or the 53-character
/// base32 form.
pub fn parse_key(text: &str) -> Result<Sig0PublicKey, Error> {
    let text = text.trim();
    let parsed = if text.len() == 66 {
        Sig0PublicKey::from_hex(text)
    } else {
        Sig0PublicKey::from_base32(text)
    };
    parsed.map_err(|source| Error::BadKey {
        text: text.to_string(),
        source,
    })
}

// === I/O ===

/// Finds and reads the hns.conf (`flag`, else `HNS_CONF`, else `/etc/hns.conf` if it exists).
pub fn load_conf(flag: Option<&Path>) -> Result<Option<ConfFile>, Error> {
    let env = std::env::var_os(HNS_CONF_ENV);
    let default_exists = Path::new(DEFAULT_HNS_CONF).exists();
    let Some((path, origin)) = conf_path(flag, env.as_deref(), default_exists) else {
        return Ok(None);
    };
    let text = std::fs::read_to_string(&path).map_err(|source| Error::ReadFile {
        path: path.clone(),
        source,
    })?;
    let conf = HnsConf::parse(&text).map_err(|source| Error::HnsConf {
        path: path.clone(),
        source,
    })?;
    Ok(Some(ConfFile { path, origin, conf }))
}

// === impl KeySource ===

impl fmt::Display for KeySource {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self {
            KeySource::Given => f.write_str("given"),
            KeySource::HnsConf(path) => write!(f, "pinned by hns.conf {}", path.display()),
        }
    }
}

#[cfg(test)]
mod tests;
