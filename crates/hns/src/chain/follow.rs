//! Chain-following helpers: GETHEADERS locator heights (hns-chain.md §4.7, hnsd
//! `hsk_chain_get_locator`), the safe tree root (§5.8, hsd `chain.getSafeRoot`, hnsd
//! `hsk_chain_safe_root`) and the "synced" predicate (§2.4, hsd `maybeSync`/`hasChainwork`).

use super::{ChainEntry, ChainError, ChainView};
use crate::params::NetworkParams;
use crate::types::TreeRoot;

/// Upper bound on [`locator_heights`]' output; hnsd refuses locators longer than 64.
pub const MAX_LOCATOR_HEIGHTS: usize = 64;

/// Entries taken one block apart at the start of a locator before the step starts doubling.
const LOCATOR_DENSE: usize = 11;

/// A freshly committed tree root is used only once this many blocks sit on top of it.
pub const SAFE_ROOT_DEPTH: u32 = 12;

/// The root to query proofs against and the height of the header that carries it.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct SafeRoot {
    /// Height of the header whose `treeRoot` is used.
    pub height: u32,
    /// That tree root.
    pub tree_root: TreeRoot,
}

/// Heights for a GETHEADERS locator, highest first: `tip`, then one block apart for the first
/// entries, then doubling steps, ending at `lowest` (the lowest height held locally, 0 when
/// syncing from genesis). When `lowest` > 0 (the chain starts at a checkpoint), genesis (0) is
/// appended as a last resort; its hash is [`NetworkParams::genesis_hash`]. At most
/// [`MAX_LOCATOR_HEIGHTS`] entries; strictly decreasing.
pub fn locator_heights(tip: u32, lowest: u32) -> Vec<u32> {
    let lowest = lowest.min(tip);
    let mut out = Vec::with_capacity(48);
    out.push(tip);
    let mut height = tip;
    let mut step: u32 = 1;
    // Leave room for `lowest` and genesis.
    while height > lowest && out.len() < MAX_LOCATOR_HEIGHTS - 2 {
        if out.len() >= LOCATOR_DENSE {
            step = step.saturating_mul(2);
        }
        height = height.saturating_sub(step).max(lowest);
        out.push(height);
    }
    if height != lowest {
        out.push(lowest);
    }
    if lowest > 0 {
        out.push(0);
    }
    out
}

/// Height of the header whose root is safe to query when the tip is at `tip_height`: with
/// m = tip mod interval, the tip itself if m ≥ 12, else height tip − m. Header k·I carries the
/// root committed after block (k−1)·I (§5.6), so a new commitment is used only once 12 blocks
/// are built on top of it; with I ≤ 12 (regtest) the safe root always lags one commitment.
pub fn safe_root_height(tip_height: u32, tree_interval: u32) -> u32 {
    if tree_interval == 0 {
        return tip_height;
    }
    let m = tip_height % tree_interval;
    if m >= SAFE_ROOT_DEPTH {
        tip_height
    } else {
        tip_height - m
    }
}

/// The safe root of the branch ending at `tip` (the view must hold the entry at
/// [`safe_root_height`] unless it is the tip).
pub fn safe_root<V: ChainView + ?Sized>(
    params: &NetworkParams,
    view: &V,
    tip: &ChainEntry,
) -> Result<SafeRoot, ChainError> {
    let height = safe_root_height(tip.height, params.names.tree_interval);
    let entry = if height == tip.height {
        tip
    } else {
        match view.entry_at(height) {
            Some(e) if e.height == height => e,
            _ => return Err(ChainError::MissingAncestor { height }),
        }
    };
    Ok(SafeRoot {
        height,
        tree_root: entry.tree_root,
    })
}

/// Whether a chain with this tip counts as synced at `now`: enough cumulative work and a tip
/// no older than the network's maximum tip age. Resolution must not run before this holds.
pub fn is_synced(params: &NetworkParams, tip: &ChainEntry, now: u64) -> bool {
    tip.chainwork >= params.pow.min_chainwork && tip.time >= now.saturating_sub(params.max_tip_age)
}
