//! Dev-only harness for end-to-end tests: starts and drives real hsd regtest nodes on
//! loopback through `scripts/hsd/hsd.sh` and `scripts/hsd/prepare-chain.sh`, so tests and
//! operators use the very same scripts, and (feature `knot`) real Knot DNS authoritative
//! servers with signed, unsigned or deliberately broken zones (module `knot`, feature `knot`). Never used by a
//! service.
//!
//! Every node gets its own name (its run directory) and port offset; [`Hsd`] stops its node on
//! drop, so a failing test leaves nothing running.
#![forbid(unsafe_code)]

pub mod dashboard;
#[cfg(feature = "knot")]
pub mod knot;
pub mod readme;
pub mod service;

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::Command;

use serde_json::Value;
use thiserror::Error;

/// Why a harness call failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum TestkitError {
    /// A script could not be run.
    #[error("running {script}: {source}")]
    Spawn {
        /// The script.
        script: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// A script exited non-zero.
    #[error("{script} {args} failed ({status}): {stderr}")]
    Failed {
        /// The script.
        script: String,
        /// Its arguments.
        args: String,
        /// Exit status.
        status: String,
        /// Its standard error (tail).
        stderr: String,
    },
    /// A script printed something unexpected.
    #[error("unexpected output from {what}: {detail}")]
    Output {
        /// Which call.
        what: String,
        /// What was wrong.
        detail: String,
    },
}

/// A running hsd regtest node, stopped on drop.
#[derive(Debug)]
pub struct Hsd {
    name: String,
    env: HashMap<String, String>,
}

/// The repository root (this crate lives in `crates/testkit`).
pub fn repo_root() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("../..")
}

fn run_dir() -> PathBuf {
    std::env::var_os("HSD_RUN_DIR")
        .map(PathBuf::from)
        .unwrap_or_else(|| PathBuf::from("/tmp/hnsfleet-hsd"))
}

fn script(name: &str, args: &[&str]) -> Result<String, TestkitError> {
    let path = repo_root().join("scripts/hsd").join(name);
    let out = Command::new("bash")
        .arg(&path)
        .args(args)
        .output()
        .map_err(|source| TestkitError::Spawn {
            script: name.into(),
            source,
        })?;
    if !out.status.success() {
        let stderr = String::from_utf8_lossy(&out.stderr);
        let tail: Vec<&str> = stderr.lines().rev().take(15).collect();
        return Err(TestkitError::Failed {
            script: name.into(),
            args: args.join(" "),
            status: out.status.to_string(),
            stderr: tail.into_iter().rev().collect::<Vec<_>>().join("\n"),
        });
    }
    Ok(String::from_utf8_lossy(&out.stdout).into_owned())
}

fn parse_env(text: &str) -> HashMap<String, String> {
    text.lines()
        .filter_map(|l| l.trim().trim_start_matches("export ").split_once('='))
        .map(|(k, v)| (k.to_string(), v.trim_matches(['"', '\'']).to_string()))
        .collect()
}

impl Hsd {
    /// Starts a fresh regtest node (empty chain) with ports shifted by `port_offset` (use
    /// multiples of 10).
    pub fn start(name: &str, port_offset: u16) -> Result<Hsd, TestkitError> {
        let out = script("hsd.sh", &["start", name, &port_offset.to_string()])?;
        Ok(Hsd {
            name: name.into(),
            env: parse_env(&out),
        })
    }

    /// Starts a node holding the prepared chain (real auctions for every record type,
    /// restored from the cache when the scripts have not changed) and returns its manifest.
    pub fn start_prepared(name: &str, port_offset: u16) -> Result<(Hsd, Value), TestkitError> {
        script("prepare-chain.sh", &[name, &port_offset.to_string()])?;
        let env = script("hsd.sh", &["env", name])?;
        let hsd = Hsd {
            name: name.into(),
            env: parse_env(&env),
        };
        let manifest = hsd.manifest()?;
        Ok((hsd, manifest))
    }

    /// The node's name (its run directory under `$HSD_RUN_DIR`).
    pub fn name(&self) -> &str {
        &self.name
    }

    /// The prepared-chain manifest (`names.json`) of this node.
    pub fn manifest(&self) -> Result<Value, TestkitError> {
        let path = run_dir().join(&self.name).join("names.json");
        let text = std::fs::read_to_string(&path).map_err(|e| TestkitError::Output {
            what: path.display().to_string(),
            detail: e.to_string(),
        })?;
        serde_json::from_str(&text).map_err(|e| TestkitError::Output {
            what: path.display().to_string(),
            detail: e.to_string(),
        })
    }

    fn port(&self, key: &str) -> Result<u16, TestkitError> {
        self.env
            .get(key)
            .and_then(|v| v.parse().ok())
            .ok_or_else(|| TestkitError::Output {
                what: format!("hsd.sh env {}", self.name),
                detail: format!("no {key}"),
            })
    }

    /// The plain-TCP p2p address.
    pub fn p2p_addr(&self) -> Result<SocketAddr, TestkitError> {
        Ok(SocketAddr::from((
            [127, 0, 0, 1],
            self.port("HSD_P2P_PORT")?,
        )))
    }

    /// The node's root name server (UDP and TCP): hsd's own HNS root authority. Never ask it
    /// about reserved or ICANN names (it would query the real ICANN root servers).
    pub fn ns_addr(&self) -> Result<SocketAddr, TestkitError> {
        Ok(SocketAddr::from((
            [127, 0, 0, 1],
            self.port("HSD_NS_PORT")?,
        )))
    }

    /// The node's HTTP/JSON-RPC address.
    pub fn http_addr(&self) -> Result<SocketAddr, TestkitError> {
        Ok(SocketAddr::from((
            [127, 0, 0, 1],
            self.port("HSD_HTTP_PORT")?,
        )))
    }

    /// The API key protecting the node's HTTP server (basic-auth password).
    pub fn api_key(&self) -> Option<&str> {
        self.env.get("HSD_API_KEY").map(String::as_str)
    }

    /// Node JSON-RPC call; `params` are raw JSON values. Returns the `result`.
    pub fn rpc(&self, method: &str, params: &[Value]) -> Result<Value, TestkitError> {
        self.call("rpc", method, params)
    }

    /// Wallet JSON-RPC call; returns the `result`.
    pub fn wallet(&self, method: &str, params: &[Value]) -> Result<Value, TestkitError> {
        self.call("wallet", method, params)
    }

    fn call(&self, kind: &str, method: &str, params: &[Value]) -> Result<Value, TestkitError> {
        let params: Vec<String> = params.iter().map(Value::to_string).collect();
        let mut args = vec![kind, self.name.as_str(), method];
        args.extend(params.iter().map(String::as_str));
        let out = script("hsd.sh", &args)?;
        let out = out.trim();
        if out.is_empty() {
            return Ok(Value::Null);
        }
        serde_json::from_str(out).map_err(|e| TestkitError::Output {
            what: format!("{kind} {method}"),
            detail: format!("{e}: {out}"),
        })
    }

    /// Mines `n` blocks.
    pub fn mine(&self, n: u32) -> Result<(), TestkitError> {
        script("hsd.sh", &["mine", &self.name, &n.to_string()]).map(|_| ())
    }

    /// Stops the node now (also done on drop).
    pub fn stop(&mut self) -> Result<(), TestkitError> {
        if self.env.is_empty() {
            return Ok(());
        }
        self.env.clear();
        script("hsd.sh", &["stop", &self.name]).map(|_| ())
    }
}

impl Drop for Hsd {
    fn drop(&mut self) {
        let _ = self.stop();
    }
}
