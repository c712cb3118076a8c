//! SIG(0) on responses (secp256k1, byte-compatible with hsd and hnsd clients: the core crate's
//! signer), within a signing budget.
//!
//! One signature costs tens of microseconds of CPU, and a client can ask for one with a
//! 30-byte packet, so signing is budgeted per client prefix (IPv4 /24, IPv6 /56) and for all
//! clients together (`hnsfleet-ratelimit`). What an over-budget client receives:
//! - over **UDP**: an empty response with TC=1, unsigned. It costs nothing to send, amplifies
//!   nothing, and a real client retries over TCP, which proves its address.
//! - over **TCP, DoT and DoH**: the full answer, unsigned. A client that requires SIG(0)
//!   rejects it and may retry later; one that does not still gets its answer.
//!
//! Both are counted (`hnsfleet_frontend_sig0_over_budget_total{scope}`).

use std::net::IpAddr;
use std::path::Path;
use std::time::{SystemTime, UNIX_EPOCH};

use anyhow::{Context, bail};
use hnsfleet_hns::sig0::{Sig0Key, Sig0PublicKey, append_sig0};
use hnsfleet_ratelimit::{Budget, Limits, PrefixLimiter, Verdict};

use crate::metrics::Metrics;

/// Client prefixes tracked by the signing budget.
const MAX_PREFIXES: usize = 100_000;

/// Signs responses within the budget.
#[derive(Debug)]
pub struct Signer {
    key: Sig0Key,
    budget: PrefixLimiter,
    metrics: Metrics,
}

/// The outcome of asking to sign.
#[derive(Debug, PartialEq, Eq)]
pub enum Signed {
    /// The response with its SIG(0) appended.
    Signed(Vec<u8>),
    /// Over a budget: the response as it was.
    OverBudget(Vec<u8>),
}

impl Signer {
    /// A signer with `key`, budgets `client` per prefix and `global` for everyone.
    pub fn new(
        key: Sig0Key,
        client: Budget,
        global: Budget,
        metrics: Metrics,
    ) -> anyhow::Result<Self> {
        let budget = PrefixLimiter::new(Limits {
            per_prefix: client,
            global,
            ipv4_prefix: 24,
            ipv6_prefix: 56,
            max_prefixes: MAX_PREFIXES,
        })
        .context("signing budget")?;
        Ok(Signer {
            key,
            budget,
            metrics,
        })
    }

    /// The public key clients verify with.
    pub fn public_key(&self) -> Sig0PublicKey {
        self.key.public_key()
    }

    /// Signs `response` for `client` if the budgets allow (in place: the frontend's own
    /// encoded responses never end with a SIG(0) record, so nothing is walked or copied).
    pub fn sign(&self, mut response: Vec<u8>, client: IpAddr) -> Signed {
        let scope = match self.budget.check(client) {
            Verdict::Allowed => None,
            Verdict::PrefixOverBudget => Some("client"),
            Verdict::GlobalOverBudget => Some("global"),
        };
        if let Some(scope) = scope {
            self.metrics
                .sig0_over_budget
                .with_label_values(&[scope])
                .inc();
            return Signed::OverBudget(response);
        }
        match append_sig0(&mut response, &self.key, unix_now()) {
            Ok(()) => {
                self.metrics.sig0_signed.inc();
                Signed::Signed(response)
            }
            Err(error) => {
                tracing::warn!(%error, "cannot sign a response");
                Signed::OverBudget(response)
            }
        }
    }
}

fn unix_now() -> u32 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| u32::try_from(d.as_secs()).unwrap_or(u32::MAX))
}

/// Reads a key file: 64 hex digits (surrounding whitespace allowed). A file that others can
/// read is refused: the key would not be secret.
pub fn read_key(path: &Path) -> anyhow::Result<Sig0Key> {
    use std::os::unix::fs::PermissionsExt;
    let meta = std::fs::metadata(path).with_context(|| format!("key file {}", path.display()))?;
    if meta.permissions().mode() & 0o077 != 0 {
        bail!(
            "key file {} is readable by others (mode {:o}): chmod 600 it",
            path.display(),
            meta.permissions().mode() & 0o777
        );
    }
    let text =
        std::fs::read_to_string(path).with_context(|| format!("key file {}", path.display()))?;
    Sig0Key::from_hex(text.trim())
        .with_context(|| format!("key file {}: not a SIG(0) secret key", path.display()))
}
