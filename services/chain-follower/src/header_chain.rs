//! The in-memory header tree: the best (active) chain indexed by height, bounded side branches
//! and a bounded orphan pool (hns-chain.md §2; hnsd `src/chain.c` `hsk_chain_add`/`insert`,
//! hsd `chain.js` `connect`/`reorganize`).
//!
//! Pure: no I/O and no clock. Every header from a peer is fully validated with
//! [`validate_next_hashed`] against the branch it extends; a branch that gets strictly more
//! chainwork than the tip becomes the active chain (ties keep the first-seen tip).
//!
//! Memory: the active chain is one [`ChainEntry`] (112 bytes) per height plus a 16-byte index
//! slot (hash tail → height), about 45 MB for 300,000 headers. Full headers are kept only for
//! side branches (needed to append a winning branch to the store) and orphans, both bounded.
//! Headers of blocks disconnected by a reorg are not kept: if that branch regains the lead,
//! peers send it again.

use std::collections::{HashMap, VecDeque};

use hnsfleet_hns::BlockHash;
use hnsfleet_hns::chain::{
    BranchView, ChainEntry, ChainError, ChainView, CheckpointBlob, SafeRoot, SliceView,
    check_checkpoint, check_fork, locator_heights, safe_root, validate_next_hashed,
};
use hnsfleet_hns::header::{HashedHeader, Header};
use hnsfleet_hns::params::NetworkParams;

/// hnsd keeps at most this many orphans, then clears them all (`HSK_MAX_ORPHANS`).
pub const DEFAULT_MAX_ORPHANS: usize = 10_000;

/// Side-branch entries kept by default; bounds the deepest reorg this tree can perform.
pub const DEFAULT_MAX_SIDE: usize = 10_000;

/// Bounds on the memory held for headers outside the active chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most side-branch entries; when full, the lowest-work branch leaf is evicted. A reorg
    /// deeper than this cannot be assembled.
    pub max_side: usize,
    /// Most orphans; when full, the pool is cleared (hnsd) and the caller re-sends GETHEADERS.
    pub max_orphans: usize,
}

/// What [`HeaderChain::insert`] did with a valid (or unplaceable) header.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum InsertOutcome {
    /// The header extended the best chain; append it to the store.
    Extended {
        /// Its entry, the new tip.
        entry: ChainEntry,
    },
    /// The header is valid but on a branch with no more work than the tip.
    SideBranch {
        /// Its entry on the side branch.
        entry: ChainEntry,
    },
    /// The header completed a branch with more work than the tip, which is now active.
    Reorg(Reorg),
    /// The header is already known (active chain, side branch or orphan pool).
    Duplicate,
    /// The parent is unknown; the header waits in the orphan pool. Ask peers for the gap.
    Orphan,
}

/// A switch of the active chain to a branch with more work.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reorg {
    /// Number of active blocks disconnected (old tip height − fork height).
    pub depth: u32,
    /// Height of the last block the old and new chains share.
    pub fork_height: u32,
    /// The tip before the switch.
    pub old_tip: ChainEntry,
    /// The tip after the switch.
    pub new_tip: ChainEntry,
    /// The new branch's headers, heights `fork_height + 1 ..= new_tip.height`, to append to the
    /// store after truncating it to `fork_height`.
    pub connected: Vec<Header>,
}

/// A valid header that is not (yet) on the active chain.
#[derive(Debug, Clone)]
struct SideEntry {
    entry: ChainEntry,
    header: Header,
    /// Side entries whose parent this is; leaves (0) are the ones evicted.
    children: u32,
}

/// The header tree. See the module docs.
#[derive(Debug, Clone)]
pub struct HeaderChain {
    params: NetworkParams,
    limits: Limits,
    /// Height of `active[0]` (0 from genesis, the blob start from a checkpoint).
    base_height: u32,
    /// Never empty.
    active: Vec<ChainEntry>,
    /// Last 8 bytes of an active hash → its height. The leading bytes are PoW zeros, the tail
    /// is uniform; a (PoW-expensive) collision only makes a block look unknown, and lookups
    /// always confirm against the full hash in `active`.
    index: HashMap<u64, u32>,
    side: HashMap<BlockHash, SideEntry>,
    /// Orphans by their own hash.
    orphans: HashMap<BlockHash, Header>,
    /// Orphan hashes by the parent they wait for.
    orphans_by_prev: HashMap<BlockHash, Vec<BlockHash>>,
    /// Orphans whose parent has connected, waiting for [`HeaderChain::pop_ready_orphan`].
    ready: VecDeque<Header>,
}

// === impl Limits ===

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_side: DEFAULT_MAX_SIDE,
            max_orphans: DEFAULT_MAX_ORPHANS,
        }
    }
}

// === impl HeaderChain ===

impl HeaderChain {
    /// A chain holding only the network's genesis header.
    pub fn from_genesis(params: &NetworkParams) -> HeaderChain {
        HeaderChain::with_entries(params, vec![ChainEntry::genesis(params)])
    }

    /// A chain starting at a trusted checkpoint blob (verified with [`CheckpointBlob::verify`]).
    pub fn from_checkpoint(
        params: &NetworkParams,
        blob: &CheckpointBlob,
    ) -> Result<HeaderChain, ChainError> {
        Ok(HeaderChain::with_entries(params, blob.verify(params)?))
    }

    fn with_entries(params: &NetworkParams, active: Vec<ChainEntry>) -> HeaderChain {
        let base_height = active.first().map_or(0, |e| e.height);
        let mut chain = HeaderChain {
            params: params.clone(),
            limits: Limits::default(),
            base_height,
            index: HashMap::with_capacity(active.len()),
            active: Vec::new(),
            side: HashMap::new(),
            orphans: HashMap::new(),
            orphans_by_prev: HashMap::new(),
            ready: VecDeque::new(),
        };
        for entry in active {
            chain.push_active(entry);
        }
        chain
    }

    /// Replaces the side-branch and orphan bounds.
    pub fn with_limits(mut self, limits: Limits) -> HeaderChain {
        self.limits = limits;
        self
    }

    /// Reserves room for `additional` more active entries (e.g. the record count of a store).
    pub fn reserve(&mut self, additional: usize) {
        self.active.reserve_exact(additional);
        self.index.reserve(additional);
    }

    /// The network parameters.
    pub fn params(&self) -> &NetworkParams {
        &self.params
    }

    /// The best tip.
    pub fn tip(&self) -> ChainEntry {
        // `active` is never empty; the fallback only keeps this total.
        self.active
            .last()
            .copied()
            .unwrap_or_else(|| ChainEntry::genesis(&self.params))
    }

    /// Height of the lowest active entry held (0, or the checkpoint start).
    pub fn base_height(&self) -> u32 {
        self.base_height
    }

    /// Number of active entries held.
    pub fn len(&self) -> usize {
        self.active.len()
    }

    /// Always false: a chain holds at least its starting entry.
    pub fn is_empty(&self) -> bool {
        self.active.is_empty()
    }

    /// The active entry at `height`.
    pub fn entry_at(&self, height: u32) -> Option<&ChainEntry> {
        let index = height.checked_sub(self.base_height)?;
        self.active.get(usize::try_from(index).ok()?)
    }

    /// Height of `hash` if it is on the active chain.
    pub fn height_of(&self, hash: &BlockHash) -> Option<u32> {
        let height = *self.index.get(&hash_key(hash))?;
        (self.entry_at(height)?.hash == *hash).then_some(height)
    }

    /// Number of side-branch entries and orphans held.
    pub fn pending_counts(&self) -> (usize, usize) {
        (self.side.len(), self.orphans.len())
    }

    /// GETHEADERS locator hashes for the active chain, highest first (hns-chain.md §4.7).
    pub fn locator(&self) -> Vec<BlockHash> {
        locator_heights(self.tip().height, self.base_height)
            .into_iter()
            .filter_map(|h| {
                if h == 0 {
                    Some(self.params.genesis_hash)
                } else {
                    self.entry_at(h).map(|e| e.hash)
                }
            })
            .collect()
    }

    /// The tree root to query proofs against (hns-chain.md §5.8).
    pub fn safe_root(&self) -> Result<SafeRoot, ChainError> {
        safe_root(&self.params, self, &self.tip())
    }

    /// Appends a header from our own storage on top of the tip, checking only linkage, proof
    /// of work and hard-coded checkpoints (the store wrote it after full validation).
    pub fn extend_trusted(&mut self, header: &HashedHeader) -> Result<ChainEntry, ChainError> {
        let tip = self.tip();
        if header.header().prev_block != tip.hash {
            return Err(ChainError::PrevMismatch {
                expected: tip.hash,
                got: header.header().prev_block,
            });
        }
        let height = tip
            .height
            .checked_add(1)
            .ok_or(ChainError::HeightOverflow)?;
        let hash = header.verify_pow().map_err(ChainError::InvalidPow)?;
        check_checkpoint(&self.params, height, &hash)?;
        let entry = ChainEntry::from_header(header, height, tip.chainwork);
        self.push_active(entry);
        Ok(entry)
    }

    /// Validates `header` from a peer at time `now` (unix seconds) and places it. On error
    /// nothing changes; [`ChainError::ban_worthy`] says whether to ban the sender.
    pub fn insert(&mut self, header: Header, now: u64) -> Result<InsertOutcome, ChainError> {
        let hashed = HashedHeader::new(header);
        let hash = hashed.hash();
        if self.height_of(&hash).is_some()
            || self.side.contains_key(&hash)
            || self.orphans.contains_key(&hash)
        {
            return Ok(InsertOutcome::Duplicate);
        }
        let prev = hashed.header().prev_block;
        let tip = self.tip();

        // Common case: extend the best chain.
        if prev == tip.hash {
            let entry = validate_next_hashed(&self.params, &*self, &tip, &hashed, now)?;
            self.push_active(entry);
            self.release_orphans(&hash);
            return Ok(InsertOutcome::Extended { entry });
        }

        // A fork: collect the side branch (ascending) from the fork point up to the parent.
        let Some((fork, branch)) = self.branch_to(&prev) else {
            return Ok(self.add_orphan(hashed));
        };
        check_fork(&self.params, &fork, false)?;
        let entry = {
            let entries: Vec<ChainEntry> = branch.iter().map(|h| self.side_entry(h)).collect();
            let parent = entries.last().copied().unwrap_or(fork);
            let active = SliceView::new(self.base_height, &self.active);
            let view = BranchView::new(&active, fork.height.saturating_add(1), &entries);
            validate_next_hashed(&self.params, &view, &parent, &hashed, now)?
        };
        self.add_side(entry, hashed.into_header(), prev);
        self.release_orphans(&hash);
        if !entry.has_more_work_than(&tip) {
            return Ok(InsertOutcome::SideBranch { entry });
        }
        let mut path = branch;
        path.push(hash);
        Ok(InsertOutcome::Reorg(self.reorganize(fork, tip, &path)))
    }

    /// Next orphan whose parent has connected; insert it like a fresh header.
    pub fn pop_ready_orphan(&mut self) -> Option<Header> {
        self.ready.pop_front()
    }

    /// The active chain from `fork` upward is replaced by the side entries `path` (ascending).
    fn reorganize(&mut self, fork: ChainEntry, old_tip: ChainEntry, path: &[BlockHash]) -> Reorg {
        let keep = usize::try_from(fork.height - self.base_height).unwrap_or(usize::MAX);
        for gone in self.active.drain(keep.saturating_add(1)..) {
            self.index.remove(&hash_key(&gone.hash));
        }
        let mut connected = Vec::with_capacity(path.len());
        for hash in path {
            if let Some(side) = self.remove_side(hash) {
                self.push_active(side.entry);
                connected.push(side.header);
            }
        }
        let new_tip = self.tip();
        Reorg {
            depth: old_tip.height - fork.height,
            fork_height: fork.height,
            old_tip,
            new_tip,
            connected,
        }
    }

    /// For a parent hash on the active chain or a side branch: the active fork point and the
    /// side hashes from just above it up to `parent`. `None` if the parent is unknown (or its
    /// branch hangs off blocks no longer held).
    fn branch_to(&self, parent: &BlockHash) -> Option<(ChainEntry, Vec<BlockHash>)> {
        let mut branch = Vec::new();
        let mut cursor = *parent;
        loop {
            if let Some(height) = self.height_of(&cursor) {
                branch.reverse();
                return Some((*self.entry_at(height)?, branch));
            }
            let side = self.side.get(&cursor)?;
            branch.push(cursor);
            if branch.len() > self.side.len() {
                return None;
            }
            cursor = side.header.prev_block;
        }
    }

    fn side_entry(&self, hash: &BlockHash) -> ChainEntry {
        self.side
            .get(hash)
            .map(|s| s.entry)
            .unwrap_or_else(|| ChainEntry::genesis(&self.params))
    }

    fn push_active(&mut self, entry: ChainEntry) {
        if self.active.len() == self.active.capacity() {
            // Grow by a quarter instead of doubling: at 300,000 entries doubling would leave
            // up to 30 MB of reserved slack.
            let extra = (self.active.len() / 4).max(1024);
            self.active.reserve_exact(extra);
        }
        debug_assert_eq!(
            entry.height as usize,
            self.base_height as usize + self.active.len()
        );
        self.index.insert(hash_key(&entry.hash), entry.height);
        self.active.push(entry);
    }

    fn add_side(&mut self, entry: ChainEntry, header: Header, prev: BlockHash) {
        if self.side.len() >= self.limits.max_side {
            self.evict_side_leaf();
        }
        if let Some(parent) = self.side.get_mut(&prev) {
            parent.children += 1;
        }
        self.side.insert(
            entry.hash,
            SideEntry {
                entry,
                header,
                children: 0,
            },
        );
    }

    fn remove_side(&mut self, hash: &BlockHash) -> Option<SideEntry> {
        let side = self.side.remove(hash)?;
        if let Some(parent) = self.side.get_mut(&side.header.prev_block) {
            parent.children = parent.children.saturating_sub(1);
        }
        Some(side)
    }

    /// Drops the side leaf with the least work (a rare O(n) scan, only when full).
    fn evict_side_leaf(&mut self) {
        let victim = self
            .side
            .values()
            .filter(|s| s.children == 0)
            .min_by_key(|s| s.entry.chainwork)
            .map(|s| s.entry.hash);
        if let Some(hash) = victim {
            self.remove_side(&hash);
        }
    }

    fn add_orphan(&mut self, header: HashedHeader) -> InsertOutcome {
        if self.orphans.len() >= self.limits.max_orphans {
            self.orphans.clear();
            self.orphans_by_prev.clear();
        }
        let hash = header.hash();
        let header = header.into_header();
        self.orphans_by_prev
            .entry(header.prev_block)
            .or_default()
            .push(hash);
        self.orphans.insert(hash, header);
        InsertOutcome::Orphan
    }

    fn release_orphans(&mut self, parent: &BlockHash) {
        if let Some(children) = self.orphans_by_prev.remove(parent) {
            for child in children {
                if let Some(header) = self.orphans.remove(&child) {
                    self.ready.push_back(header);
                }
            }
        }
    }
}

impl ChainView for HeaderChain {
    fn entry_at(&self, height: u32) -> Option<&ChainEntry> {
        HeaderChain::entry_at(self, height)
    }
}

/// The index key of a block hash: its last 8 bytes (the uniformly distributed end).
fn hash_key(hash: &BlockHash) -> u64 {
    let mut tail = [0u8; 8];
    tail.copy_from_slice(&hash.0[24..]);
    u64::from_le_bytes(tail)
}

#[cfg(test)]
mod tests;
