//! Network parameters (mainnet, testnet, regtest, simnet) as plain `'static` data.
//!
//! Sources: hsd `lib/protocol/networks.js`, `lib/protocol/genesis.js`, `lib/net/seeds/main.js`,
//! `lib/net/seeds/testnet.js` (hsd@698e252); hnsd `src/constants.h` (hns-chain.md §2.3, §2.4,
//! §3). Nothing here is computed at run time except lookups; nothing here performs I/O. Seeds
//! are hints for a peer manager, never trusted.

use std::fmt;
use std::str::FromStr;

use thiserror::Error;

use crate::header::Header;
use crate::pow::{Chainwork, Target};
use crate::types::BlockHash;

mod networks;
mod seeds;

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

/// Proof-of-work and difficulty constants of a network (hns-chain.md §2.3).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct PowParams {
    /// Compact form of the easiest allowed target; also the genesis bits.
    pub limit_bits: u32,
    /// The easiest allowed target (`limit_bits` decoded).
    pub limit_target: Target,
    /// Retarget window in blocks.
    pub target_window: u32,
    /// Intended seconds between blocks.
    pub target_spacing: u64,
    /// Blocks per day (`86400 / target_spacing`).
    pub blocks_per_day: u32,
    /// Intended seconds per window (`target_window · target_spacing`).
    pub target_timespan: u64,
    /// Lower clamp of the measured timespan in the retarget, seconds.
    pub min_actual: u64,
    /// Upper clamp of the measured timespan in the retarget, seconds.
    pub max_actual: u64,
    /// Testnet rule: a block more than two spacings after its parent may use the limit bits.
    pub target_reset: bool,
    /// Regtest rule: every block carries the limit bits.
    pub no_retargeting: bool,
    /// Minimum chainwork of a tip for the chain to count as synced.
    pub min_chainwork: Chainwork,
}

/// One hard-coded checkpoint: the main-chain block hash at a height.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Checkpoint {
    /// Block height.
    pub height: u32,
    /// Expected block hash at that height.
    pub hash: BlockHash,
}

/// A hard-coded seed peer, parsed from hsd's `key@ip` / `ip` strings.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SeedPeer {
    /// The peer's brontide identity key as hsd writes it (base32 of the 33-byte compressed
    /// key); `None` for a plain-TCP peer.
    pub identity: Option<&'static str>,
    /// IPv4 address (no port: use the network's brontide port with a key, else the P2P port).
    pub ip: &'static str,
}

/// Everything that differs between the four networks, as static data.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct NetworkParams {
    /// Which network this is.
    pub network: Network,
    /// Packet magic as a number; on the wire it is written little-endian
    /// ([`NetworkParams::wire_magic`]). Equals the first four genesis-hash bytes read big-endian.
    pub magic: u32,
    /// Plain-TCP P2P port.
    pub port: u16,
    /// Brontide (encrypted) P2P port.
    pub brontide_port: u16,
    /// hsd node HTTP/RPC port.
    pub rpc_port: u16,
    /// hsd wallet HTTP port.
    pub wallet_port: u16,
    /// hsd authoritative root name server port.
    pub ns_port: u16,
    /// hsd recursive resolver port.
    pub rs_port: u16,
    /// The genesis header. Its PoW is not checked by anyone (main/testnet/regtest do not meet
    /// their own targets); it is trusted as a constant.
    pub genesis: Header,
    /// Hash of [`NetworkParams::genesis`].
    pub genesis_hash: BlockHash,
    /// Difficulty constants.
    pub pow: PowParams,
    /// A tip older than this many seconds means "not synced". Mainnet and testnet use hsd's 12 h
    /// (hnsd uses 24 h / 2 weeks): we prefer to refuse answers earlier rather than serve from a
    /// stale tip. Regtest and simnet: `0xffffffff`, i.e. never too old.
    pub max_tip_age: u64,
    /// Hard-coded checkpoints, sorted by height (mainnet only).
    pub checkpoints: &'static [Checkpoint],
    /// Height of the last checkpoint (0 if none); hsd refuses forks below it.
    pub last_checkpoint: u32,
    /// DNS seed host names.
    pub dns_seeds: &'static [&'static str],
    /// Hard-coded seed peers in hsd's `key@ip` / `ip` form (see
    /// [`NetworkParams::parsed_seed_peers`]).
    pub seed_peers: &'static [&'static str],
    /// Fixed brontide identity private key (regtest and simnet only; testing networks).
    pub identity_key: Option<[u8; 32]>,
    /// Whether a node may connect to itself (regtest and simnet).
    pub self_connect: bool,
    /// Bech32 address human-readable part.
    pub address_hrp: &'static str,
    /// Name auction and tree parameters.
    pub names: NameRules,
}

// === impl Network ===

impl Network {
    /// All four networks.
    pub const ALL: [Network; 4] = [
        Network::Main,
        Network::Testnet,
        Network::Regtest,
        Network::Simnet,
    ];

    /// This network's parameters.
    pub fn params(self) -> &'static NetworkParams {
        params(self)
    }

    /// The network whose packet magic is `magic` (the u32 value, not the wire bytes).
    pub fn from_magic(magic: u32) -> Option<Network> {
        Network::ALL.into_iter().find(|n| n.params().magic == magic)
    }
}

/// The parameters of `network`.
pub fn params(network: Network) -> &'static NetworkParams {
    match network {
        Network::Main => &networks::MAIN,
        Network::Testnet => &networks::TESTNET,
        Network::Regtest => &networks::REGTEST,
        Network::Simnet => &networks::SIMNET,
    }
}

// === impl NetworkParams ===

impl NetworkParams {
    /// The four magic bytes that start every P2P frame (`magic` little-endian).
    pub fn wire_magic(&self) -> [u8; 4] {
        self.magic.to_le_bytes()
    }

    /// The checkpoint hash at `height`, if there is one.
    pub fn checkpoint_at(&self, height: u32) -> Option<BlockHash> {
        self.checkpoints
            .binary_search_by_key(&height, |c| c.height)
            .ok()
            .and_then(|i| self.checkpoints.get(i))
            .map(|c| c.hash)
    }

    /// The hard-coded seed peers, parsed.
    pub fn parsed_seed_peers(&self) -> impl Iterator<Item = SeedPeer> + '_ {
        self.seed_peers.iter().map(|s| SeedPeer::parse(s))
    }
}

// === impl SeedPeer ===

impl SeedPeer {
    /// Splits hsd's `key@ip` or bare `ip` form.
    pub fn parse(s: &'static str) -> SeedPeer {
        match s.split_once('@') {
            Some((key, ip)) => SeedPeer {
                identity: Some(key),
                ip,
            },
            None => SeedPeer {
                identity: None,
                ip: s,
            },
        }
    }

    /// Decodes the identity key (lower-case RFC 4648 base32, no padding) into the 33-byte
    /// compressed public key; `None` without a key or if it does not decode to 33 bytes.
    pub fn identity_key(&self) -> Option<[u8; 33]> {
        let upper = self.identity?.to_ascii_uppercase();
        let bytes = data_encoding::BASE32_NOPAD.decode(upper.as_bytes()).ok()?;
        <[u8; 33]>::try_from(bytes.as_slice()).ok()
    }

    /// The port to dial: the brontide port for a keyed peer, else the plain P2P port.
    pub fn port(&self, params: &NetworkParams) -> u16 {
        if self.identity.is_some() {
            params.brontide_port
        } else {
            params.port
        }
    }
}

#[cfg(test)]
mod tests;
