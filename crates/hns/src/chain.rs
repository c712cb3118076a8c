//! Contextual header-chain rules, independent of storage: what makes a header a valid child of
//! its parent on a given branch.
//!
//! Follows hns-chain.md §2 (hsd `lib/blockchain/chain.js` `verify`, `getMedianTime`, `getTarget`,
//! `getSuitableBlock`, `retarget`, `verifyCheckpoint`, `getSafeRoot`; hnsd `src/chain.c`
//! `hsk_chain_add`, `hsk_chain_get_mtp`, `hsk_chain_get_target`, `hsk_chain_get_locator`,
//! `hsk_chain_safe_root`) and §5.8 for the safe root.
//!
//! The caller owns the headers: it supplies a [`ChainView`] that returns the ancestors of the
//! header being validated by height, in O(1). This module never stores, never does I/O and never
//! reads a clock; the current time is the `now` parameter (unix seconds, ideally network-adjusted).
//! It does not decide the best chain or reorganize; it only says whether a header may extend a
//! given parent and how much work the result has.

use thiserror::Error;

use crate::encoding::DecodeError;
use crate::header::{HashedHeader, Header, HeaderError};
use crate::params::NetworkParams;
use crate::pow::Chainwork;
use crate::types::{BlockHash, TreeRoot};

mod checkpoint;
mod follow;
mod retarget;

pub use checkpoint::{CheckpointBlob, MAX_CHECKPOINT_HEADERS};
pub use follow::{
    MAX_LOCATOR_HEIGHTS, SAFE_ROOT_DEPTH, SafeRoot, is_synced, locator_heights, safe_root,
    safe_root_height,
};
pub use retarget::{expected_bits, median_time_past};

/// Number of ancestors (the parent included) whose median time a new header must exceed.
pub const MEDIAN_TIMESPAN: usize = 11;

/// A header may be at most this many seconds ahead of the current time (hsd/hnsd: 2 hours).
pub const MAX_FUTURE_SECS: u64 = 2 * 60 * 60;

/// Why a header cannot extend a parent. Each variant names the rule; [`ChainError::rule`] gives
/// hsd's reject reason and [`ChainError::ban_worthy`] whether the sending peer should be banned.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ChainError {
    /// The header's `prevBlock` is not the hash of the parent it was validated against
    /// (within a HEADERS batch: the batch does not link up).
    #[error("header does not link to its parent: prevBlock {got}, parent hash {expected}")]
    PrevMismatch {
        /// Hash of the parent.
        expected: BlockHash,
        /// The header's `prevBlock`.
        got: BlockHash,
    },
    /// The header's bits or hash fail the context-free proof-of-work check.
    #[error("invalid proof of work: {0}")]
    InvalidPow(HeaderError),
    /// The header's time is more than [`MAX_FUTURE_SECS`] ahead of `now`. May become valid later.
    #[error("time-too-new: header time {time} is after {limit} (now + 2 h)")]
    TimeTooNew {
        /// Header time.
        time: u64,
        /// Latest allowed time.
        limit: u64,
    },
    /// The header's time is not after the median time of its last 11 ancestors.
    #[error("time-too-old: header time {time} is not after median time past {median}")]
    TimeTooOld {
        /// Header time.
        time: u64,
        /// Median time past of the parent.
        median: u64,
    },
    /// The header's bits differ from the difficulty the chain requires.
    #[error("bad-diffbits: header bits {got:#010x}, expected {expected:#010x}")]
    BadDiffBits {
        /// Bits required by the retarget rule.
        expected: u32,
        /// Bits in the header.
        got: u32,
    },
    /// The header's bits decode to a target easier than the network's limit: no chain can
    /// contain it, whatever its parent.
    #[error("bad-diffbits: bits {bits:#010x} are easier than the network limit {limit:#010x}")]
    EasierThanLimit {
        /// Bits in the header.
        bits: u32,
        /// The network's limit bits.
        limit: u32,
    },
    /// A hard-coded checkpoint exists at this height and the hash differs.
    #[error("checkpoint mismatch at height {height}: got {got}, expected {expected}")]
    CheckpointMismatch {
        /// Height of the checkpoint.
        height: u32,
        /// Checkpoint hash.
        expected: BlockHash,
        /// Header hash.
        got: BlockHash,
    },
    /// A fork from the main chain below the last checkpoint (hsd "bad-fork-prior-to-checkpoint").
    #[error("fork at height {height} is below the last checkpoint {last_checkpoint}")]
    ForkBeforeCheckpoint {
        /// Height of the forking header.
        height: u32,
        /// The network's last checkpoint height.
        last_checkpoint: u32,
    },
    /// The view lacks an ancestor the rules need (e.g. history before a checkpoint start).
    /// A local condition, not the peer's fault.
    #[error("ancestor at height {height} is not available")]
    MissingAncestor {
        /// Height that was asked for.
        height: u32,
    },
    /// The parent is at height `u32::MAX`.
    #[error("block height overflows u32")]
    HeightOverflow,
    /// A checkpoint blob could not be decoded.
    #[error("checkpoint blob decode: {0}")]
    BlobDecode(DecodeError),
}

/// The per-header data the chain rules need, kept small (112 bytes) so hundreds of thousands
/// fit in memory: 300,000 entries ≈ 34 MB.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct ChainEntry {
    /// Block hash.
    pub hash: BlockHash,
    /// Urkel tree root committed by this header.
    pub tree_root: TreeRoot,
    /// Cumulative work from genesis (or from the checkpoint's seeded value) up to this header.
    pub chainwork: Chainwork,
    /// Header time, unix seconds.
    pub time: u64,
    /// Height.
    pub height: u32,
    /// Compact target.
    pub bits: u32,
}

/// Read access to the branch being extended: `entry_at(h)` returns the ancestor at height `h`
/// of the header under validation (for `h` ≤ the parent's height), or `None` if unknown.
/// Must be O(1); the rules call it up to 17 times per header.
pub trait ChainView {
    /// The entry at `height` on this branch.
    fn entry_at(&self, height: u32) -> Option<&ChainEntry>;
}

/// A view over consecutive entries held in a slice, the first of which is at `first_height`.
#[derive(Debug, Clone, Copy)]
pub struct SliceView<'a> {
    first_height: u32,
    entries: &'a [ChainEntry],
}

/// A side branch on top of a base view: heights from the branch's first height upward come
/// from `branch`, lower heights from `base` (e.g. validating a fork without copying the chain).
#[derive(Debug, Clone, Copy)]
pub struct BranchView<'a, V: ?Sized> {
    base: &'a V,
    branch: SliceView<'a>,
}

// === impl ChainError ===

impl ChainError {
    /// hsd's reject reason for this failure (the string in its `VerifyError`).
    pub fn rule(&self) -> &'static str {
        match self {
            ChainError::PrevMismatch { .. } => "bad-prevblk",
            ChainError::InvalidPow(_) => "high-hash",
            ChainError::TimeTooNew { .. } => "time-too-new",
            ChainError::TimeTooOld { .. } => "time-too-old",
            ChainError::BadDiffBits { .. } | ChainError::EasierThanLimit { .. } => "bad-diffbits",
            ChainError::CheckpointMismatch { .. } => "checkpoint mismatch",
            ChainError::ForkBeforeCheckpoint { .. } => "bad-fork-prior-to-checkpoint",
            ChainError::MissingAncestor { .. } => "missing-ancestor",
            ChainError::HeightOverflow => "height-overflow",
            ChainError::BlobDecode(_) => "bad-checkpoint-blob",
        }
    }

    /// Whether the peer that sent the header should be banned. Invalid PoW, wrong difficulty,
    /// a timestamp at or below the median time past (hnsd bans for both), checkpoint violations.
    /// Not ban-worthy: `time-too-new` (may become valid; hsd score 0, hnsd only disconnects),
    /// non-linking headers (hsd/hnsd disconnect), and local conditions.
    pub fn ban_worthy(&self) -> bool {
        match self {
            ChainError::InvalidPow(_)
            | ChainError::TimeTooOld { .. }
            | ChainError::BadDiffBits { .. }
            | ChainError::EasierThanLimit { .. }
            | ChainError::CheckpointMismatch { .. }
            | ChainError::ForkBeforeCheckpoint { .. } => true,
            ChainError::PrevMismatch { .. }
            | ChainError::TimeTooNew { .. }
            | ChainError::MissingAncestor { .. }
            | ChainError::HeightOverflow
            | ChainError::BlobDecode(_) => false,
        }
    }

    /// Whether the failure may go away on its own (only `time-too-new`): do not cache the
    /// header as invalid.
    pub fn is_transient(&self) -> bool {
        matches!(self, ChainError::TimeTooNew { .. })
    }
}

// === impl ChainEntry ===

impl ChainEntry {
    /// The network's genesis entry; its chainwork is the work of its own bits (hsd, hnsd).
    pub fn genesis(params: &NetworkParams) -> ChainEntry {
        let g = &params.genesis;
        ChainEntry {
            hash: params.genesis_hash,
            tree_root: g.tree_root,
            chainwork: Chainwork::from_bits(g.bits),
            time: g.time,
            height: 0,
            bits: g.bits,
        }
    }

    /// Builds the entry for `header` at `height` on top of `prev_chainwork` without checking
    /// anything (for headers from trusted storage; use [`validate_next`] for peer data).
    pub fn from_header(
        header: &HashedHeader,
        height: u32,
        prev_chainwork: Chainwork,
    ) -> ChainEntry {
        let h = header.header();
        ChainEntry {
            hash: header.hash(),
            tree_root: h.tree_root,
            chainwork: prev_chainwork + Chainwork::from_bits(h.bits),
            time: h.time,
            height,
            bits: h.bits,
        }
    }

    /// Whether this entry should replace `tip` as the best tip: strictly more work (ties keep
    /// the first-seen tip, hnsd `hsk_chain_insert`).
    pub fn has_more_work_than(&self, tip: &ChainEntry) -> bool {
        self.chainwork > tip.chainwork
    }
}

// === impl ChainView ===

impl<T: ChainView + ?Sized> ChainView for &T {
    fn entry_at(&self, height: u32) -> Option<&ChainEntry> {
        (**self).entry_at(height)
    }
}

impl<'a> SliceView<'a> {
    /// A view whose first entry is at `first_height`.
    pub fn new(first_height: u32, entries: &'a [ChainEntry]) -> SliceView<'a> {
        SliceView {
            first_height,
            entries,
        }
    }

    /// A view starting at the height of the first entry (empty slices give an empty view).
    pub fn from_entries(entries: &'a [ChainEntry]) -> SliceView<'a> {
        let first_height = entries.first().map_or(0, |e| e.height);
        SliceView::new(first_height, entries)
    }

    /// The entries.
    pub fn entries(&self) -> &'a [ChainEntry] {
        self.entries
    }
}

impl ChainView for SliceView<'_> {
    fn entry_at(&self, height: u32) -> Option<&ChainEntry> {
        let index = height.checked_sub(self.first_height)?;
        self.entries.get(usize::try_from(index).ok()?)
    }
}

impl<'a, V: ChainView + ?Sized> BranchView<'a, V> {
    /// `branch` entries sit directly on top of `base` from height `branch_start` upward.
    pub fn new(base: &'a V, branch_start: u32, branch: &'a [ChainEntry]) -> BranchView<'a, V> {
        BranchView {
            base,
            branch: SliceView::new(branch_start, branch),
        }
    }
}

impl<V: ChainView + ?Sized> ChainView for BranchView<'_, V> {
    fn entry_at(&self, height: u32) -> Option<&ChainEntry> {
        if height >= self.branch.first_height {
            self.branch.entry_at(height)
        } else {
            self.base.entry_at(height)
        }
    }
}

// === validation ===

/// Validates `header` as the child of `parent` on the branch `view` describes, at time `now`,
/// and returns its entry (hns-chain.md §2.1). Checks, in order: linkage, proof of work,
/// checkpoint, difficulty bits, time-too-old (median time past), time-too-new.
pub fn validate_next<V: ChainView + ?Sized>(
    params: &NetworkParams,
    view: &V,
    parent: &ChainEntry,
    header: &Header,
    now: u64,
) -> Result<ChainEntry, ChainError> {
    // Check the cheap linkage first so a non-linking header costs no hashing.
    if header.prev_block != parent.hash {
        return Err(ChainError::PrevMismatch {
            expected: parent.hash,
            got: header.prev_block,
        });
    }
    validate_next_hashed(
        params,
        view,
        parent,
        &HashedHeader::new(header.clone()),
        now,
    )
}

/// The checks that need only the parent: linkage, proof of work and a checkpoint at this
/// height. Returns the new header's height and hash.
pub(crate) fn check_link_pow_checkpoint(
    params: &NetworkParams,
    parent: &ChainEntry,
    header: &HashedHeader,
) -> Result<(u32, BlockHash), ChainError> {
    let h = header.header();
    if h.prev_block != parent.hash {
        return Err(ChainError::PrevMismatch {
            expected: parent.hash,
            got: h.prev_block,
        });
    }
    let height = parent
        .height
        .checked_add(1)
        .ok_or(ChainError::HeightOverflow)?;
    let hash = header.verify_pow().map_err(ChainError::InvalidPow)?;
    check_checkpoint(params, height, &hash)?;
    Ok((height, hash))
}

/// [`validate_next`] for a header whose hash is already known (e.g. after checking a HEADERS
/// batch's linkage).
pub fn validate_next_hashed<V: ChainView + ?Sized>(
    params: &NetworkParams,
    view: &V,
    parent: &ChainEntry,
    header: &HashedHeader,
    now: u64,
) -> Result<ChainEntry, ChainError> {
    let h = header.header();
    let (height, _) = check_link_pow_checkpoint(params, parent, header)?;

    let expected = expected_bits(params, view, parent, h.time)?;
    if h.bits != expected {
        return Err(ChainError::BadDiffBits {
            expected,
            got: h.bits,
        });
    }

    let median = median_time_past(view, parent)?;
    if h.time <= median {
        return Err(ChainError::TimeTooOld {
            time: h.time,
            median,
        });
    }

    let limit = now.saturating_add(MAX_FUTURE_SECS);
    if h.time > limit {
        return Err(ChainError::TimeTooNew {
            time: h.time,
            limit,
        });
    }

    Ok(ChainEntry::from_header(header, height, parent.chainwork))
}

/// The context-free checks of one HEADERS batch, done before any chain state is consulted (so
/// a hostile batch costs hashing only, never a lock): every header's proof of work meets its
/// own bits, those bits are no easier than the network's limit, and each header's `prevBlock`
/// is the hash of the one before it. Returns the headers with their hashes (so the contextual
/// checks need not hash again), or the index of the first bad header and why.
pub fn precheck_batch(
    params: &NetworkParams,
    headers: Vec<Header>,
) -> Result<Vec<HashedHeader>, (usize, ChainError)> {
    let mut hashed: Vec<HashedHeader> = Vec::with_capacity(headers.len());
    for (i, header) in headers.into_iter().enumerate() {
        if let Some(previous) = hashed.last()
            && header.prev_block != previous.hash()
        {
            return Err((
                i,
                ChainError::PrevMismatch {
                    expected: previous.hash(),
                    got: header.prev_block,
                },
            ));
        }
        let header = HashedHeader::new(header);
        check_pow_within_limit(params, &header).map_err(|e| (i, e))?;
        hashed.push(header);
    }
    Ok(hashed)
}

/// The context-free proof-of-work rules of one header, on its cached hash: its bits decode to
/// a target the hash meets, and that target is no easier than the network's limit. All that
/// can be checked of a header whose parent is unknown.
pub fn check_pow_within_limit(
    params: &NetworkParams,
    header: &HashedHeader,
) -> Result<(), ChainError> {
    let bits = header.header().bits;
    let target = crate::pow::Target::from_bits(bits)
        .map_err(|e| ChainError::InvalidPow(HeaderError::BadBits(e)))?;
    if !target.is_met_by(&header.hash()) {
        return Err(ChainError::InvalidPow(HeaderError::HighHash {
            hash: header.hash(),
            bits,
        }));
    }
    if target > params.pow.limit_target {
        return Err(ChainError::EasierThanLimit {
            bits,
            limit: params.pow.limit_bits,
        });
    }
    Ok(())
}

/// Fails if a hard-coded checkpoint exists at `height` and `hash` differs from it.
pub fn check_checkpoint(
    params: &NetworkParams,
    height: u32,
    hash: &BlockHash,
) -> Result<(), ChainError> {
    match params.checkpoint_at(height) {
        Some(expected) if expected != *hash => Err(ChainError::CheckpointMismatch {
            height,
            expected,
            got: *hash,
        }),
        _ => Ok(()),
    }
}

/// hsd's "bad-fork-prior-to-checkpoint": a header whose parent is not the current tip starts a
/// fork; that fork is refused if it would replace main-chain blocks below the last checkpoint.
pub fn check_fork(
    params: &NetworkParams,
    parent: &ChainEntry,
    extends_tip: bool,
) -> Result<(), ChainError> {
    let height = parent.height.saturating_add(1);
    if !extends_tip && height < params.last_checkpoint {
        return Err(ChainError::ForkBeforeCheckpoint {
            height,
            last_checkpoint: params.last_checkpoint,
        });
    }
    Ok(())
}

#[cfg(test)]
mod tests;
