//! Headers recently disconnected by reorganizations: their height, hash and tree root, so a
//! look-up can still be answered against a root of the branch the chain just abandoned (the
//! reorg-watchdog freezes the fleet on such a root, docs/watchdog.md). hsd keeps every tree
//! root it ever committed (its Urkel store is append-only), so a peer that connected the
//! branch still proves against it; a peer that never did hangs up on the request.
//!
//! Bounded twice: only headers within the served window below the tip are kept (older ones go
//! when the next reorg is recorded), and never more than [`MAX_DISCONNECTED`] in all — the
//! lowest heights go first — so a peer feeding reorganizations cannot grow memory.
//!
//! Each reorganization's headers form one contiguous branch and share a branch number: a
//! peer whose tip was a header of that branch at or above height `h` connected the branch's
//! header at `h` too, and holds its root (see [`DisconnectedHeaders::had`]).

use std::collections::BTreeMap;

use hnsfleet_hns::chain::ChainEntry;
use hnsfleet_hns::types::{BlockHash, TreeRoot};

/// Most disconnected headers kept: seven full windows of mainnet (16 tree intervals of 36
/// blocks), about 300 KB.
pub const MAX_DISCONNECTED: usize = 4096;

/// One disconnected header.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Disconnected {
    /// Its height.
    pub height: u32,
    /// Its hash.
    pub hash: BlockHash,
    /// The tree root it carries.
    pub tree_root: TreeRoot,
    /// The reorganization that disconnected it (the headers of one share it).
    pub branch: u64,
}

/// The recently disconnected headers (see the module docs).
#[derive(Debug, Clone)]
pub struct DisconnectedHeaders {
    /// By (height, hash): ordered so the lowest go first, and a height is one range.
    entries: BTreeMap<(u32, BlockHash), (TreeRoot, u64)>,
    next_branch: u64,
    cap: usize,
}

// === impl DisconnectedHeaders ===

impl Default for DisconnectedHeaders {
    fn default() -> Self {
        DisconnectedHeaders::with_cap(MAX_DISCONNECTED)
    }
}

impl DisconnectedHeaders {
    /// An empty record keeping at most `cap` headers.
    pub fn with_cap(cap: usize) -> DisconnectedHeaders {
        DisconnectedHeaders {
            entries: BTreeMap::new(),
            next_branch: 0,
            cap,
        }
    }

    /// Records the headers one reorganization disconnected (one branch), keeping those at or
    /// above `lowest` (the new tip's height minus the window); drops older entries below it
    /// and, over the cap, the lowest.
    pub fn record(&mut self, gone: impl IntoIterator<Item = ChainEntry>, lowest: u32) {
        let branch = self.next_branch;
        self.next_branch = self.next_branch.wrapping_add(1);
        for entry in gone.into_iter().filter(|e| e.height >= lowest) {
            self.entries
                .insert((entry.height, entry.hash), (entry.tree_root, branch));
        }
        self.entries = self.entries.split_off(&(lowest, BlockHash::ZERO));
        while self.entries.len() > self.cap {
            self.entries.pop_first();
        }
    }

    /// Number of headers kept.
    pub fn len(&self) -> usize {
        self.entries.len()
    }

    /// Whether none is kept.
    pub fn is_empty(&self) -> bool {
        self.entries.is_empty()
    }

    /// The disconnected header at `height` that carries `tree_root` (the newest branch first
    /// when several do).
    pub fn find_root(&self, height: u32, tree_root: &TreeRoot) -> Option<Disconnected> {
        self.entries
            .range((height, BlockHash::ZERO)..=(height, BlockHash([0xff; 32])))
            .filter(|(_, (root, _))| root == tree_root)
            .max_by_key(|(_, (_, branch))| *branch)
            .map(|((height, hash), (tree_root, branch))| Disconnected {
                height: *height,
                hash: *hash,
                tree_root: *tree_root,
                branch: *branch,
            })
    }

    /// Whether a peer whose tip was `tip` (hash, height) had connected `header`: the tip is a
    /// header of the same disconnected branch at or above it.
    pub fn had(&self, tip: (BlockHash, u32), header: &Disconnected) -> bool {
        let (hash, height) = tip;
        height >= header.height
            && self
                .entries
                .get(&(height, hash))
                .is_some_and(|(_, branch)| *branch == header.branch)
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn entry(height: u32, tag: u8) -> ChainEntry {
        ChainEntry {
            hash: BlockHash([tag; 32]),
            tree_root: TreeRoot([tag ^ 0x80; 32]),
            chainwork: Default::default(),
            time: 0,
            height,
            bits: 0,
        }
    }

    fn branch(from: u32, to: u32, tag: u8) -> Vec<ChainEntry> {
        (from..=to)
            .map(|h| entry(h, tag.wrapping_add(h as u8)))
            .collect()
    }

    #[test]
    fn finds_a_root_by_height_and_knows_which_tips_had_it() {
        let mut gone = DisconnectedHeaders::default();
        let a = branch(101, 111, 0);
        gone.record(a.clone(), 30);
        let b = branch(101, 108, 100);
        gone.record(b.clone(), 31);
        assert_eq!(gone.len(), 19);

        let at = gone.find_root(105, &a[4].tree_root).unwrap();
        assert_eq!((at.height, at.hash), (105, a[4].hash));
        // The root at another height, or a root never disconnected, is unknown.
        assert_eq!(gone.find_root(106, &a[4].tree_root), None);
        assert_eq!(gone.find_root(105, &TreeRoot([7; 32])), None);

        // A tip on branch A at or above 105 had it; below it, on B, or unknown did not.
        assert!(gone.had((a[10].hash, 111), &at));
        assert!(gone.had((a[4].hash, 105), &at));
        assert!(!gone.had((a[3].hash, 104), &at));
        assert!(!gone.had((b[7].hash, 108), &at));
        assert!(!gone.had((BlockHash([9; 32]), 111), &at));
        // A hash at the wrong height is not that header.
        assert!(!gone.had((a[10].hash, 110), &at));
    }

    #[test]
    fn keeps_only_the_window_and_the_cap() {
        let mut gone = DisconnectedHeaders::with_cap(10);
        gone.record(branch(1, 8, 0), 0);
        assert_eq!(gone.len(), 8);
        // The next reorg's window starts at 5: heights 1..=4 go, and of the rest the lowest
        // go until 10 are left.
        gone.record(branch(3, 12, 50), 5);
        assert_eq!(gone.len(), 10);
        assert!(gone.entries.keys().all(|(h, _)| *h >= 6));
        assert!(gone.find_root(12, &entry(12, 62).tree_root).is_some());
        assert!(gone.find_root(4, &entry(4, 4).tree_root).is_none());
    }

    #[test]
    fn a_flood_of_reorgs_stays_within_the_cap() {
        let mut gone = DisconnectedHeaders::default();
        for round in 0..100u32 {
            gone.record(branch(1000, 1100, round as u8), 1000);
        }
        assert!(gone.len() <= MAX_DISCONNECTED);
    }
}
