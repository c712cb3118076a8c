//! Network parameters (mainnet, testnet, regtest, simnet) as plain data.
//!
//! Sources: hsd `lib/protocol/networks.js`, hnsd `src/constants.h` (hns-chain.md §2.3, §3).

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

/// The four Handshake networks.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Network {
    /// The production network.
    Main,
    /// The public test network.
    Testnet,
    /// Local regression-test network (no retargeting, trivial PoW).
    Regtest,
    /// Local simulation network.
    Simnet,
}

/// A network name that is not one of `main`, `testnet`, `regtest`, `simnet`.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("unknown network {0:?} (expected main, testnet, regtest or simnet)")]
pub struct UnknownNetwork(pub String);

impl FromStr for Network {
    type Err = UnknownNetwork;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "main" | "mainnet" => Ok(Network::Main),
            "testnet" => Ok(Network::Testnet),
            "regtest" => Ok(Network::Regtest),
            "simnet" => Ok(Network::Simnet),
            other => Err(UnknownNetwork(other.to_string())),
        }
    }
}

impl fmt::Display for Network {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Network::Main => "main",
            Network::Testnet => "testnet",
            Network::Regtest => "regtest",
            Network::Simnet => "simnet",
        })
    }
}

/// Name-auction and tree parameters of a network, in blocks (hsd `networks.js` `*.names`).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct NameRules {
    /// Names are committed to the tree after every block whose height is a multiple of this.
    pub tree_interval: u32,
    /// Height at which auctions start.
    pub auction_start: u32,
    /// Spacing of the weekly name rollout.
    pub rollout_interval: u32,
    /// How long claimed names stay LOCKED.
    pub lockup_period: u32,
    /// Length of the BIDDING phase.
    pub bidding_period: u32,
    /// Length of the REVEAL phase.
    pub reveal_period: u32,
    /// A name expires if not renewed within this many blocks of its last renewal.
    pub renewal_window: u32,
    /// Reserved names can be claimed before this height.
    pub claim_period: u32,
    /// Blocks after a TRANSFER before it can be finalized.
    pub transfer_lockup: u32,
    /// A revoked name can be re-opened after this many blocks.
    pub auction_maturity: u32,
    /// Whether the rollout schedule is disabled.
    pub no_rollout: bool,
    /// Whether the reserved-name table is disabled.
    pub no_reserved: bool,
}
