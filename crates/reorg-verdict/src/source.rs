//! One source of attestations (a chain-follower or another operator's watchdog): its last
//! accepted statement, the (height → hash) history of the tips it attested, and what the last
//! evaluation made of it.

use std::collections::BTreeMap;

use hnsfleet_attestation::TipStatement;
use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_hns::types::BlockHash;

/// Tips remembered per source: enough to compare sources polled at different moments across
/// a few hours of mainnet blocks, bounded whatever a source sends.
pub const HISTORY: usize = 512;

/// What kind of source it is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum SourceKind {
    /// One of this fleet's chain-followers (its key may be pinned; its tip events also carry
    /// its reorg depth and safe root).
    Follower,
    /// Another operator's watchdog, with a pinned key.
    Attester,
}

/// How the last evaluation judged a source.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Health {
    /// Fresh and on the quorum's chain: counts toward the quorum.
    Healthy,
    /// More than `max_lag` blocks behind the others on its chain.
    Lagging,
    /// On another chain than the largest group.
    MinorityFork,
    /// No accepted attestation for `max_attestation_age` (or none yet).
    Stale,
    /// The last attempt to read it failed.
    Unreachable,
}

/// A source as configured.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceConfig {
    /// How it was configured (its URL): its name in reports and metrics.
    pub name: String,
    /// Follower or attester.
    pub kind: SourceKind,
    /// The only key whose attestations are accepted from it (required for attesters by the
    /// service's configuration; optional for followers).
    pub pinned_key: Option<[u8; 33]>,
}

/// A source as the verdict reports it.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct SourceReport {
    /// Its configured name.
    pub name: String,
    /// Follower or attester.
    pub kind: SourceKind,
    /// The last evaluation's judgement.
    pub health: Health,
    /// Its last accepted statement.
    pub tip: Option<TipStatement>,
    /// The key that signed it.
    pub public_key: Option<[u8; 33]>,
    /// The deepest reorganisation it showed since the verdict last changed.
    pub reorg_depth: u32,
    /// Why it is not healthy (empty when healthy).
    pub detail: String,
}

/// A source's state.
#[derive(Debug, Clone)]
pub(crate) struct Source {
    pub(crate) config: SourceConfig,
    /// Last accepted statement and when it was accepted.
    pub(crate) latest: Option<(TipStatement, u64)>,
    pub(crate) signer: Option<[u8; 33]>,
    /// Tips attested, by height (the latest included).
    pub(crate) history: BTreeMap<u32, BlockHash>,
    /// Blocks it attested and then left in a reorganisation, by height: its chain does not
    /// hold them (a source still on them is on another chain).
    pub(crate) left: BTreeMap<u32, BlockHash>,
    /// A follower's safe root, for the tip (height, hash) it came with.
    pub(crate) safe_root: Option<(u32, BlockHash, SafeRoot)>,
    /// A follower's last tip event (height), to place its next reorg's fork point.
    pub(crate) last_event_height: Option<u32>,
    /// Deepest reorganisation shown since the verdict last changed, and when.
    pub(crate) reorg: Option<(u32, u64)>,
    /// The last read failed: why.
    pub(crate) unreachable: Option<String>,
    pub(crate) health: Health,
    /// It counted toward the quorum the last time a quorum agreed: a reorganisation it shows
    /// now takes it off the agreed chain.
    pub(crate) in_quorum: bool,
    pub(crate) detail: String,
}

impl Source {
    pub(crate) fn new(config: SourceConfig) -> Source {
        Source {
            config,
            latest: None,
            signer: None,
            history: BTreeMap::new(),
            left: BTreeMap::new(),
            safe_root: None,
            last_event_height: None,
            reorg: None,
            unreachable: None,
            health: Health::Stale,
            in_quorum: false,
            detail: "no attestation yet".to_owned(),
        }
    }

    /// The last accepted tip.
    pub(crate) fn tip(&self) -> Option<&TipStatement> {
        self.latest.as_ref().map(|(tip, _)| tip)
    }

    /// Whether its last accepted attestation was signed at most `max_age` seconds ago and its
    /// last read succeeded.
    pub(crate) fn fresh(&self, now: u64, max_age: u64) -> bool {
        self.unreachable.is_none()
            && self
                .tip()
                .is_some_and(|tip| now.saturating_sub(tip.signed_at) <= max_age)
    }

    /// Records a new tip (height, hash) on this source's chain; returns how many blocks of its
    /// previous chain it replaced (0 for an extension, or when that cannot be told).
    pub(crate) fn record_tip(&mut self, height: u32, hash: BlockHash) -> u32 {
        let previous = self.history.last_key_value().map(|(&h, _)| h);
        let replaced = match (previous, self.history.get(&height)) {
            // The same block again, or an extension.
            (_, Some(known)) if *known == hash => previous.map_or(0, |p| p.saturating_sub(height)),
            // Another block at a height it attested: everything from there was replaced.
            (Some(previous), Some(_)) => previous - height + 1,
            // Back below its previous tip, at a height it never attested.
            (Some(previous), None) if height <= previous => previous - height + 1,
            _ => 0,
        };
        if replaced > 0 {
            self.forget_above(height.saturating_sub(1));
        }
        if self.left.get(&height) == Some(&hash) {
            self.left.remove(&height);
        }
        self.history.insert(height, hash);
        while self.history.len() > HISTORY {
            self.history.pop_first();
        }
        replaced
    }

    /// Moves the history above `height` (a reorganisation's fork point) to the blocks it left.
    pub(crate) fn forget_above(&mut self, height: u32) {
        let above = self.history.split_off(&(height.saturating_add(1)));
        self.left.extend(above);
        while self.left.len() > HISTORY {
            self.left.pop_first();
        }
    }

    /// Notes a reorganisation of `depth` blocks at `now`, keeping the deepest.
    pub(crate) fn note_reorg(&mut self, depth: u32, now: u64) {
        if self.reorg.is_none_or(|(deepest, _)| depth > deepest) {
            self.reorg = Some((depth, now));
        }
    }

    /// Whether this source and `other` are on different chains, as far as their attestations
    /// tell: one's tip differs from what the other attested at that height, or is a block the
    /// other left in a reorganisation.
    pub(crate) fn conflicts_with(&self, other: &Source) -> bool {
        let differs = |a: &Source, b: &Source| {
            a.tip().is_some_and(|tip| {
                b.history
                    .get(&tip.height)
                    .is_some_and(|hash| *hash != tip.hash)
                    || b.left.get(&tip.height) == Some(&tip.hash)
            })
        };
        differs(self, other) || differs(other, self)
    }

    /// Whether the attestations place this source and `other` on one chain: the same tip, or
    /// the lower tip is a block the higher source attested. No evidence is not agreement.
    pub(crate) fn agrees_with(&self, other: &Source) -> bool {
        let (Some(a), Some(b)) = (self.tip(), other.tip()) else {
            return false;
        };
        if a.height == b.height {
            return a.hash == b.hash;
        }
        let (low, higher) = if a.height < b.height {
            (a, other)
        } else {
            (b, self)
        };
        higher.history.get(&low.height) == Some(&low.hash)
    }

    pub(crate) fn report(&self) -> SourceReport {
        SourceReport {
            name: self.config.name.clone(),
            kind: self.config.kind,
            health: self.health,
            tip: self.tip().copied(),
            public_key: self.signer,
            reorg_depth: self.reorg.map_or(0, |(depth, _)| depth),
            detail: self.detail.clone(),
        }
    }
}
