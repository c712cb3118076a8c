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
//! Headers of blocks disconnected by a reorg are not kept (if that branch regains the lead,
//! peers send it again); only their height, hash and tree root within the root window are,
//! bounded ([`disconnected`]), so look-ups can still name a root of the abandoned branch.

use std::collections::{BTreeSet, HashMap, VecDeque};

use hnsfleet_hns::BlockHash;
use hnsfleet_hns::chain::{
    BranchView, ChainEntry, ChainError, ChainView, CheckpointBlob, SafeRoot, SliceView,
    check_checkpoint, check_fork, check_pow_within_limit, locator_heights, safe_root,
    validate_next_hashed,
};
use hnsfleet_hns::header::{HashedHeader, Header};
use hnsfleet_hns::params::NetworkParams;

pub mod disconnected;

use disconnected::DisconnectedHeaders;

/// Tree intervals below the tip within which a requested root is served
/// ([`HeaderChain::root_window`]): full nodes keep at least these roots.
pub const ROOT_WINDOW_INTERVALS: u32 = 16;

/// Full headers kept in memory for proof bundles (236 bytes each, 236 KiB): beyond the root
/// window on every network (576 blocks on mainnet).
pub const RECENT_HEADERS: usize = 1024;

/// Orphans kept by default over all origins (hnsd's `HSK_MAX_ORPHANS`; hnsd then clears them
/// all, here the origin holding the most loses its oldest).
pub const DEFAULT_MAX_ORPHANS: usize = 10_000;

/// Orphans kept by default from one origin (peer); its oldest goes first.
pub const DEFAULT_MAX_ORPHANS_PER_ORIGIN: usize = 2_000;

/// Memory one orphan holds: the header, its hash twice (pool and parent index) and map
/// overhead, rounded up. `max_orphans` × this bounds the pool's bytes.
pub const ORPHAN_BYTES: usize = 512;

/// Who sent a header (a peer session id), for fair shares of the orphan pool. `0` is "local".
pub type Origin = u64;

/// Side-branch entries kept by default; bounds the deepest reorg this tree can perform.
pub const DEFAULT_MAX_SIDE: usize = 10_000;

/// Bounds on the memory held for headers outside the active chain.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Limits {
    /// Most side-branch entries; when full, the lowest-work branch leaf is evicted. A reorg
    /// deeper than this cannot be assembled.
    pub max_side: usize,
    /// Most orphans over all origins (bytes: × [`ORPHAN_BYTES`]); when full, the origin that
    /// holds the most loses its oldest, so a flood only ever evicts the flooder's own.
    pub max_orphans: usize,
    /// Most orphans from one origin; beyond it that origin's oldest is dropped.
    pub max_orphans_per_origin: usize,
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
    /// The header is valid but was not kept: the side pool is full and the only branch left to
    /// evict from is the one it extends (a fork deeper than `max_side` that has not overtaken
    /// the tip). Nothing changed.
    Unplaced,
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

/// An orphan: a header with valid proof of work whose parent is unknown.
#[derive(Debug, Clone)]
struct Orphan {
    header: HashedHeader,
    origin: Origin,
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
    /// The full headers of the last (up to [`RECENT_HEADERS`]) active entries, ending at the
    /// tip: what proof bundles send ([`HeaderChain::recent_headers`]).
    recent: VecDeque<Header>,
    /// Last 8 bytes of an active hash → its height. The leading bytes are PoW zeros, the tail
    /// is uniform; a (PoW-expensive) collision only makes a block look unknown, and lookups
    /// always confirm against the full hash in `active`.
    index: HashMap<u64, u32>,
    side: HashMap<BlockHash, SideEntry>,
    /// Side leaves ordered by chainwork: the eviction candidates, cheapest first.
    leaves: BTreeSet<(hnsfleet_hns::pow::Chainwork, BlockHash)>,
    /// Orphans by their own hash.
    orphans: HashMap<BlockHash, Orphan>,
    /// Orphan hashes by the parent they wait for.
    orphans_by_prev: HashMap<BlockHash, Vec<BlockHash>>,
    /// Each origin's orphan hashes, oldest first (entries already gone are skipped lazily).
    orphans_by_origin: HashMap<Origin, VecDeque<BlockHash>>,
    /// Live orphans per origin.
    orphan_counts: HashMap<Origin, usize>,
    /// Orphans whose parent has connected, waiting for [`HeaderChain::pop_ready_orphan`].
    ready: VecDeque<(HashedHeader, Origin)>,
    /// Headers recent reorganizations disconnected, within the root window.
    disconnected: DisconnectedHeaders,
}

// === impl Limits ===

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_side: DEFAULT_MAX_SIDE,
            max_orphans: DEFAULT_MAX_ORPHANS,
            max_orphans_per_origin: DEFAULT_MAX_ORPHANS_PER_ORIGIN,
        }
    }
}

// === impl HeaderChain ===

impl HeaderChain {
    /// A chain holding only the network's genesis header.
    pub fn from_genesis(params: &NetworkParams) -> HeaderChain {
        let mut chain = HeaderChain::with_entries(params, vec![ChainEntry::genesis(params)]);
        chain.recent.push_back(params.genesis.clone());
        chain
    }

    /// A chain starting at a trusted checkpoint blob (verified with [`CheckpointBlob::verify`]).
    pub fn from_checkpoint(
        params: &NetworkParams,
        blob: &CheckpointBlob,
    ) -> Result<HeaderChain, ChainError> {
        let mut chain = HeaderChain::with_entries(params, blob.verify(params)?);
        let keep = blob.headers.len().saturating_sub(RECENT_HEADERS);
        chain.recent = blob.headers.iter().skip(keep).cloned().collect();
        Ok(chain)
    }

    fn with_entries(params: &NetworkParams, active: Vec<ChainEntry>) -> HeaderChain {
        let base_height = active.first().map_or(0, |e| e.height);
        let mut chain = HeaderChain {
            params: params.clone(),
            limits: Limits::default(),
            base_height,
            index: HashMap::with_capacity(active.len()),
            active: Vec::new(),
            recent: VecDeque::new(),
            side: HashMap::new(),
            leaves: BTreeSet::new(),
            orphans: HashMap::new(),
            orphans_by_prev: HashMap::new(),
            orphans_by_origin: HashMap::new(),
            orphan_counts: HashMap::new(),
            ready: VecDeque::new(),
            disconnected: DisconnectedHeaders::default(),
        };
        for entry in active {
            chain.push_active(entry, None);
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

    /// Orphans held that came from `origin`.
    pub fn orphans_from(&self, origin: Origin) -> usize {
        self.orphan_counts.get(&origin).copied().unwrap_or(0)
    }

    /// Whether `hash` is a validated header this tree holds (active chain or side branch);
    /// orphans do not count, their parents are unknown.
    pub fn contains(&self, hash: &BlockHash) -> bool {
        self.height_of(hash).is_some() || self.side.contains_key(hash)
    }

    /// Height of a validated header on the active chain or a side branch.
    pub fn height_anywhere(&self, hash: &BlockHash) -> Option<u32> {
        self.height_of(hash)
            .or_else(|| self.side.get(hash).map(|s| s.entry.height))
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

    /// Blocks below the tip within which a requested root is served: [`ROOT_WINDOW_INTERVALS`]
    /// tree intervals.
    pub fn root_window(&self) -> u32 {
        self.params
            .names
            .tree_interval
            .max(1)
            .saturating_mul(ROOT_WINDOW_INTERVALS)
    }

    /// The headers recent reorganizations disconnected, within the root window.
    pub fn disconnected(&self) -> &DisconnectedHeaders {
        &self.disconnected
    }

    /// The full headers of the active chain at heights `from..=to`, if all of them are among
    /// the recent ones kept (the last [`RECENT_HEADERS`]).
    pub fn recent_headers(&self, from: u32, to: u32) -> Option<Vec<Header>> {
        let tip = self.tip().height;
        if from > to || to > tip {
            return None;
        }
        let first_kept = tip.checked_add(1)?.checked_sub(self.recent.len() as u32)?;
        if from < first_kept {
            return None;
        }
        let start = (from - first_kept) as usize;
        let count = (to - from) as usize + 1;
        Some(
            self.recent
                .iter()
                .skip(start)
                .take(count)
                .cloned()
                .collect(),
        )
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
        self.push_active(entry, Some(header.header()));
        Ok(entry)
    }

    /// Validates `header` from a peer at time `now` (unix seconds) and places it. On error
    /// nothing changes; [`ChainError::ban_worthy`] says whether to ban the sender.
    pub fn insert(&mut self, header: Header, now: u64) -> Result<InsertOutcome, ChainError> {
        self.insert_hashed(HashedHeader::new(header), now, 0)
    }

    /// [`HeaderChain::insert`] for a header already hashed (e.g. by
    /// [`hnsfleet_hns::chain::precheck_batch`] outside any lock), sent by `origin`. An orphan
    /// is kept only if its proof of work is valid, within the origin's share of the pool.
    pub fn insert_hashed(
        &mut self,
        hashed: HashedHeader,
        now: u64,
        origin: Origin,
    ) -> Result<InsertOutcome, ChainError> {
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
            self.push_active(entry, Some(hashed.header()));
            self.release_orphans(&hash);
            return Ok(InsertOutcome::Extended { entry });
        }

        // A fork: collect the side branch (ascending) from the fork point up to the parent.
        let Some((fork, branch)) = self.branch_to(&prev) else {
            // Nothing is known about an orphan but its own proof of work: check at least that
            // (against the cached hash), and that no chain of this network could hold it.
            check_pow_within_limit(&self.params, &hashed)?;
            return Ok(self.add_orphan(hashed, origin));
        };
        check_fork(&self.params, &fork, false)?;
        let entry = {
            let entries: Vec<ChainEntry> = branch.iter().map(|h| self.side_entry(h)).collect();
            let parent = entries.last().copied().unwrap_or(fork);
            let active = SliceView::new(self.base_height, &self.active);
            let view = BranchView::new(&active, fork.height.saturating_add(1), &entries);
            validate_next_hashed(&self.params, &view, &parent, &hashed, now)?
        };
        let wins = entry.has_more_work_than(&tip);
        if !wins && self.side.len() >= self.limits.max_side && !self.can_evict_other_than(&prev) {
            return Ok(InsertOutcome::Unplaced);
        }
        // A winning header is placed even over the bound: the reorg below takes its branch
        // out of the side pool at once.
        self.add_side(entry, hashed.into_header(), prev);
        self.release_orphans(&hash);
        if !wins {
            return Ok(InsertOutcome::SideBranch { entry });
        }
        let mut path = branch;
        path.push(hash);
        Ok(InsertOutcome::Reorg(self.reorganize(fork, tip, &path)))
    }

    /// Next orphan whose parent has connected, with its origin; insert it like a fresh header
    /// ([`HeaderChain::insert_hashed`]).
    pub fn pop_ready_orphan(&mut self) -> Option<(HashedHeader, Origin)> {
        self.ready.pop_front()
    }

    /// The active chain from `fork` upward is replaced by the side entries `path` (ascending).
    fn reorganize(&mut self, fork: ChainEntry, old_tip: ChainEntry, path: &[BlockHash]) -> Reorg {
        let keep = usize::try_from(fork.height - self.base_height).unwrap_or(usize::MAX);
        let gone: Vec<ChainEntry> = self.active.drain(keep.saturating_add(1)..).collect();
        for entry in &gone {
            self.index.remove(&hash_key(&entry.hash));
            self.recent.pop_back();
        }
        let mut connected = Vec::with_capacity(path.len());
        for hash in path {
            if let Some(side) = self.remove_side(hash) {
                self.push_active(side.entry, Some(&side.header));
                connected.push(side.header);
            }
        }
        let new_tip = self.tip();
        let lowest = new_tip.height.saturating_sub(self.root_window());
        self.disconnected.record(gone, lowest);
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

    /// Appends `entry` to the active chain; its `header`, when known, to the recent headers
    /// (an entry without one empties them, since they must stay consecutive up to the tip).
    fn push_active(&mut self, entry: ChainEntry, header: Option<&Header>) {
        match header {
            Some(header) => {
                if self.recent.len() == RECENT_HEADERS {
                    self.recent.pop_front();
                }
                self.recent.push_back(header.clone());
            }
            None => self.recent.clear(),
        }
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

    /// Adds a validated side entry whose parent is `prev`. When the side pool is full, the
    /// leaf with the least work goes first — never `prev`, the branch being extended.
    fn add_side(&mut self, entry: ChainEntry, header: Header, prev: BlockHash) {
        if self.side.len() >= self.limits.max_side {
            self.evict_side_leaf(&prev);
        }
        if let Some(parent) = self.side.get_mut(&prev) {
            if parent.children == 0 {
                self.leaves
                    .remove(&(parent.entry.chainwork, parent.entry.hash));
            }
            parent.children += 1;
        }
        self.leaves.insert((entry.chainwork, entry.hash));
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
        self.leaves.remove(&(side.entry.chainwork, side.entry.hash));
        if let Some(parent) = self.side.get_mut(&side.header.prev_block) {
            parent.children = parent.children.saturating_sub(1);
            if parent.children == 0 {
                self.leaves
                    .insert((parent.entry.chainwork, parent.entry.hash));
            }
        }
        Some(side)
    }

    /// Whether some side leaf other than `keep` exists.
    fn can_evict_other_than(&self, keep: &BlockHash) -> bool {
        self.leaves.iter().any(|(_, hash)| hash != keep)
    }

    /// Drops the side leaf with the least work other than `keep` (O(log n)).
    fn evict_side_leaf(&mut self, keep: &BlockHash) {
        let victim = self
            .leaves
            .iter()
            .map(|(_, hash)| *hash)
            .find(|hash| hash != keep);
        if let Some(hash) = victim {
            self.remove_side(&hash);
        }
    }

    fn add_orphan(&mut self, header: HashedHeader, origin: Origin) -> InsertOutcome {
        if self.orphan_counts.get(&origin).copied().unwrap_or(0)
            >= self.limits.max_orphans_per_origin
        {
            self.evict_oldest_orphan(origin);
        }
        if self.orphans.len() >= self.limits.max_orphans {
            // The origin holding the most pays (ties: the newcomer's own share first).
            let heaviest = self
                .orphan_counts
                .iter()
                .max_by_key(|(o, n)| (**n, **o == origin))
                .map(|(o, _)| *o);
            if let Some(heaviest) = heaviest {
                self.evict_oldest_orphan(heaviest);
            }
        }
        if self.limits.max_orphans == 0 || self.limits.max_orphans_per_origin == 0 {
            return InsertOutcome::Orphan;
        }
        let hash = header.hash();
        self.orphans_by_prev
            .entry(header.header().prev_block)
            .or_default()
            .push(hash);
        *self.orphan_counts.entry(origin).or_default() += 1;
        self.orphans.insert(hash, Orphan { header, origin });
        let live = self.orphan_counts.get(&origin).copied().unwrap_or(0);
        let queue = self.orphans_by_origin.entry(origin).or_default();
        queue.push_back(hash);
        // Orphans released to the chain leave their hash here; drop those now and then so the
        // queue stays within a small multiple of the origin's live orphans.
        if queue.len() > 2 * live + 16 {
            let orphans = &self.orphans;
            queue.retain(|h| orphans.get(h).is_some_and(|o| o.origin == origin));
        }
        InsertOutcome::Orphan
    }

    /// Drops every orphan `origin` sent (its session ended: nobody will fill their gaps).
    /// Returns how many were dropped.
    pub fn drop_orphans_from(&mut self, origin: Origin) -> usize {
        let hashes = self.orphans_by_origin.remove(&origin).unwrap_or_default();
        let mut dropped = 0;
        for hash in hashes {
            if self.orphans.get(&hash).is_some_and(|o| o.origin == origin)
                && self.take_orphan(&hash).is_some()
            {
                dropped += 1;
            }
        }
        dropped
    }

    /// Removes `origin`'s oldest orphan still held.
    fn evict_oldest_orphan(&mut self, origin: Origin) {
        while let Some(hash) = self
            .orphans_by_origin
            .get_mut(&origin)
            .and_then(VecDeque::pop_front)
        {
            if self.orphans.get(&hash).is_some_and(|o| o.origin == origin) {
                self.take_orphan(&hash);
                return;
            }
        }
    }

    /// Removes an orphan from every index; returns it.
    fn take_orphan(&mut self, hash: &BlockHash) -> Option<Orphan> {
        let orphan = self.orphans.remove(hash)?;
        let prev = orphan.header.header().prev_block;
        if let Some(siblings) = self.orphans_by_prev.get_mut(&prev) {
            siblings.retain(|h| h != hash);
            if siblings.is_empty() {
                self.orphans_by_prev.remove(&prev);
            }
        }
        if let Some(count) = self.orphan_counts.get_mut(&orphan.origin) {
            *count = count.saturating_sub(1);
            if *count == 0 {
                self.orphan_counts.remove(&orphan.origin);
                self.orphans_by_origin.remove(&orphan.origin);
            }
        }
        Some(orphan)
    }

    fn release_orphans(&mut self, parent: &BlockHash) {
        if let Some(children) = self.orphans_by_prev.get(parent).cloned() {
            for child in children {
                if let Some(orphan) = self.take_orphan(&child) {
                    self.ready.push_back((orphan.header, orphan.origin));
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
