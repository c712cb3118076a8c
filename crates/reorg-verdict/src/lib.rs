//! The reorg-watchdog's judgement, as docs/watchdog.md states it: signed tip attestations
//! from many sources go in ([`Engine::offer`], [`Engine::follower_tip`]); one verdict comes
//! out ([`Engine::evaluate`]) — `OK`, or `FROZEN` on the last root a quorum agreed on, after
//! a reorganisation deeper than `freeze_depth` seen by a quorum of sources, or a split
//! between groups of sources that no quorum settles.
//!
//! Pure: no I/O and no clock (every call takes `now`, unix seconds), so every rule is tested
//! with exact inputs. Bounded: a source keeps at most [`HISTORY`] tips, and every per-call
//! cost is linear or quadratic in the number of configured sources (a handful), never in
//! what a source sends.
#![forbid(unsafe_code)]

mod source;

#[cfg(test)]
mod tests;

use hnsfleet_attestation::{SignedAttestation, TipStatement};
use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_hns::types::BlockHash;
use thiserror::Error;

pub use source::{HISTORY, Health, SourceConfig, SourceKind, SourceReport};

use source::Source;

/// The thresholds of docs/watchdog.md.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Rules {
    /// The network watched (its magic): statements about any other are ignored.
    pub network_magic: u32,
    /// Sources that must agree.
    pub quorum: usize,
    /// A reorganisation or split deeper than this many blocks freezes the fleet (K).
    pub freeze_depth: u32,
    /// Blocks a quorum must agree on one chain again before a freeze lifts (M).
    pub unfreeze_after: u32,
    /// A source more than this many blocks behind the others on its chain is lagging.
    pub max_lag: u32,
    /// Seconds after which an attestation (and a source without a newer one) is stale.
    pub max_attestation_age: u64,
    /// Seconds an attestation may be signed in the future (clocks differ).
    pub max_clock_skew: u64,
}

/// Why an attestation was ignored: it changed nothing.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Error)]
pub enum Ignored {
    /// Not exactly one encoded attestation.
    #[error("malformed attestation")]
    Malformed,
    /// The signature does not verify.
    #[error("bad signature")]
    BadSignature,
    /// Signed by another key than the source's pinned one.
    #[error("signed by another key than the pinned one")]
    WrongKey,
    /// About another network.
    #[error("about another network")]
    WrongNetwork,
    /// Signed too long ago, or too far in the future.
    #[error("stale (or signed in the future)")]
    Stale,
    /// Older than the last accepted one from the same source (or, signed in the same second,
    /// with no more chainwork).
    #[error("replayed (older than the last accepted)")]
    Replayed,
}

impl Ignored {
    /// Every reason, in the order of their labels.
    pub const ALL: [Ignored; 6] = [
        Ignored::Malformed,
        Ignored::BadSignature,
        Ignored::WrongKey,
        Ignored::WrongNetwork,
        Ignored::Stale,
        Ignored::Replayed,
    ];

    /// The metric label (`ignored_attestations_total{reason}`).
    pub fn label(self) -> &'static str {
        match self {
            Ignored::Malformed => "malformed",
            Ignored::BadSignature => "bad_signature",
            Ignored::WrongKey => "wrong_key",
            Ignored::WrongNetwork => "wrong_network",
            Ignored::Stale => "stale",
            Ignored::Replayed => "replayed",
        }
    }
}

/// What became of an accepted attestation.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Offered {
    /// The same statement as last time: no news.
    Repeat {
        /// As for [`Offered::Recorded`]: its tip contradicts the agreed chain (a source that
        /// keeps repeating a contradiction keeps being counted).
        conflicting: bool,
    },
    /// Recorded.
    Recorded {
        /// Its tip contradicts the chain the quorum agreed on at that height (the source will
        /// be judged on a minority fork and left out: the service counts it as ignored,
        /// reason `conflicting`).
        conflicting: bool,
    },
}

/// A follower's tip event (`WatchTip`): what a bare attestation does not say.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FollowerTip {
    /// The new tip's height.
    pub height: u32,
    /// The new tip's hash.
    pub hash: BlockHash,
    /// Blocks disconnected from the follower's previous best chain (0: an extension).
    pub reorg_depth: u32,
    /// The follower skipped events (its `reorg_depth` does not cover them).
    pub missed_changes: bool,
    /// The root the follower answers look-ups against at this tip.
    pub safe_root: Option<SafeRoot>,
}

/// The fleet's state.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum State {
    /// Resolve against the quorum's root.
    Ok,
    /// Resolve against the verdict's root only.
    Frozen,
}

/// Why the fleet froze.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum FreezeReason {
    /// A quorum of sources reorganised deeper than the freeze depth.
    DeepReorg,
    /// Groups of sources on different chains, deeper than the freeze depth, and no quorum.
    Divergence,
}

/// The verdict.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Verdict {
    /// OK or FROZEN.
    pub state: State,
    /// The root to resolve against (none before a quorum ever agreed on one).
    pub root: Option<SafeRoot>,
    /// The highest tip every healthy source of the quorum has (none without a quorum).
    pub agreed_tip: Option<TipStatement>,
    /// Why frozen.
    pub reason: Option<FreezeReason>,
    /// Since when frozen (unix seconds).
    pub frozen_since: Option<u64>,
    /// The depth that froze the fleet (0 when OK).
    pub depth: u32,
    /// Blocks a quorum has agreed on one chain since the freeze (0 when OK).
    pub agreeing_blocks: u32,
    /// Every source, in configuration order.
    pub sources: Vec<SourceReport>,
    /// Sources that must agree.
    pub quorum: usize,
    /// Increases whenever anything above but the sources' signing times changes.
    pub sequence: u64,
}

/// A change of state, for logs and Kubernetes Events.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Transition {
    /// OK → FROZEN.
    Froze {
        /// Why.
        reason: FreezeReason,
        /// How deep.
        depth: u32,
        /// The root frozen on.
        root: Option<SafeRoot>,
    },
    /// FROZEN → OK after `unfreeze_after` blocks of agreement.
    Thawed {
        /// The root trusted again.
        root: Option<SafeRoot>,
    },
    /// FROZEN → OK by an operator's command.
    Unfrozen {
        /// The root trusted again.
        root: Option<SafeRoot>,
    },
}

/// [`Engine::unfreeze`] failed: no quorum agrees on any chain, so there is no root to
/// trust instead of the frozen one.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Error)]
#[error("no quorum of sources agrees on a chain: the fleet stays frozen")]
pub struct NoQuorum;

/// The judgement's state.
#[derive(Debug, Clone)]
pub struct Engine {
    rules: Rules,
    sources: Vec<Source>,
    state: State,
    reason: Option<FreezeReason>,
    frozen_since: Option<u64>,
    depth: u32,
    /// OK: the last root a quorum agreed on. FROZEN: the frozen root.
    root: Option<SafeRoot>,
    agreed: Option<TipStatement>,
    /// The root the quorum agrees on now (followers' safe roots), even while frozen.
    agreed_root: Option<SafeRoot>,
    /// While frozen: the agreed tip (height, hash) when the quorum started agreeing again.
    agreeing_from: Option<(u32, BlockHash)>,
    agreeing_blocks: u32,
    sequence: u64,
    /// What `sequence` last counted.
    summary: Option<Summary>,
}

/// The parts of a verdict whose change bumps its sequence.
type Summary = (
    State,
    Option<SafeRoot>,
    Option<(u32, BlockHash)>,
    Option<FreezeReason>,
    u32,
    Vec<Health>,
);

impl Engine {
    /// A judgement over `sources` (indices into this list name them in every other call).
    /// Starts OK with no root: nothing is agreed before the sources are heard.
    pub fn new(rules: Rules, sources: Vec<SourceConfig>) -> Engine {
        Engine {
            rules: Rules {
                quorum: rules.quorum.max(1),
                ..rules
            },
            sources: sources.into_iter().map(Source::new).collect(),
            state: State::Ok,
            reason: None,
            frozen_since: None,
            depth: 0,
            root: None,
            agreed: None,
            agreed_root: None,
            agreeing_from: None,
            agreeing_blocks: 0,
            sequence: 0,
            summary: None,
        }
    }

    /// The rules in force.
    pub fn rules(&self) -> &Rules {
        &self.rules
    }

    /// An attestation (its canonical bytes) read from source `index` at `now`. Verified,
    /// checked against the source's pinned key, the network, its age and the source's last
    /// accepted one; recorded when it passes. Takes effect at the next [`Engine::evaluate`].
    pub fn offer(&mut self, index: usize, bytes: &[u8], now: u64) -> Result<Offered, Ignored> {
        let rules = self.rules;
        let agreed_conflict = self.conflicts_with_agreed_chain(index, bytes);
        let source = self.sources.get_mut(index).ok_or(Ignored::Malformed)?;
        let signed = SignedAttestation::decode(bytes).map_err(|_| Ignored::Malformed)?;
        let verified = signed.verify().map_err(|_| Ignored::BadSignature)?;
        if source
            .config
            .pinned_key
            .is_some_and(|key| key != *verified.signer())
        {
            return Err(Ignored::WrongKey);
        }
        let statement = *verified.statement();
        if statement.network_magic != rules.network_magic {
            return Err(Ignored::WrongNetwork);
        }
        if now.saturating_sub(statement.signed_at) > rules.max_attestation_age
            || statement.signed_at.saturating_sub(now) > rules.max_clock_skew
        {
            return Err(Ignored::Stale);
        }
        if let Some((last, _)) = &source.latest {
            if statement == *last {
                source.unreachable = None;
                return Ok(Offered::Repeat {
                    conflicting: agreed_conflict,
                });
            }
            // Signing times are whole seconds: within one, only a heavier tip is news (a tip
            // changes at most by growing its chain's work).
            if statement.signed_at < last.signed_at
                || (statement.signed_at == last.signed_at && statement.chainwork <= last.chainwork)
            {
                return Err(Ignored::Replayed);
            }
        }
        let replaced = source.record_tip(statement.height, statement.hash);
        // Only a source on the agreed chain can take the fleet's chain with it.
        if replaced > 0 && source.in_quorum {
            source.note_reorg(replaced, now);
        }
        source.latest = Some((statement, now));
        source.signer = Some(*verified.signer());
        source.unreachable = None;
        Ok(Offered::Recorded {
            conflicting: agreed_conflict,
        })
    }

    /// A follower's tip event: its reorg depth places the fork point (its history above is
    /// dropped, and a reorganisation is noted), and its safe root is remembered for that tip.
    pub fn follower_tip(&mut self, index: usize, event: FollowerTip, now: u64) {
        let Some(source) = self.sources.get_mut(index) else {
            return;
        };
        if event.reorg_depth > 0 && !event.missed_changes {
            let previous = source.last_event_height.unwrap_or(event.height);
            source.forget_above(previous.saturating_sub(event.reorg_depth));
            if source.in_quorum {
                source.note_reorg(event.reorg_depth, now);
            }
            // Its attestation of the new tip may have come first: the new tip was not left.
            source.record_tip(event.height, event.hash);
        }
        source.last_event_height = Some(event.height);
        source.safe_root = event.safe_root.map(|root| (event.height, event.hash, root));
    }

    /// Reading source `index` failed (`why`, for the report): it leaves the quorum until its
    /// next accepted attestation.
    pub fn unreachable(&mut self, index: usize, why: &str) {
        if let Some(source) = self.sources.get_mut(index) {
            source.unreachable = Some(why.to_owned());
        }
    }

    /// Whether source `index`'s tip in `bytes` (if it decodes) contradicts the agreed chain
    /// at its height, as the healthy sources attested it.
    fn conflicts_with_agreed_chain(&self, index: usize, bytes: &[u8]) -> bool {
        let Ok(signed) = SignedAttestation::decode(bytes) else {
            return false;
        };
        let tip = signed.statement;
        self.sources.iter().enumerate().any(|(other, source)| {
            other != index
                && source.health == Health::Healthy
                && source
                    .history
                    .get(&tip.height)
                    .is_some_and(|hash| *hash != tip.hash)
        })
    }

    /// Re-judges every source and the verdict at `now`; the transition, if the state changed.
    pub fn evaluate(&mut self, now: u64) -> Option<Transition> {
        let rules = self.rules;
        for source in &mut self.sources {
            if source
                .reorg
                .is_some_and(|(_, at)| now.saturating_sub(at) > rules.max_attestation_age)
            {
                source.reorg = None;
            }
        }
        let fresh: Vec<usize> = (0..self.sources.len())
            .filter(|&i| self.sources[i].fresh(now, rules.max_attestation_age))
            .collect();
        let group = self.largest_group(&fresh);
        let (healthy, lagging) = self.split_lagging(&group);
        self.judge(&fresh, &group, &lagging, now);
        let agreed = (healthy.len() >= rules.quorum)
            .then(|| self.lowest_tip(&healthy))
            .flatten();
        self.agreed = agreed;
        self.agreed_root = agreed.and_then(|_| self.followers_root(&healthy));
        if agreed.is_some() {
            for (i, source) in self.sources.iter_mut().enumerate() {
                source.in_quorum = healthy.contains(&i);
            }
        }
        // Reorganisations count toward a freeze for `max_attestation_age` after they are seen.
        let reorgs: Vec<u32> = self
            .sources
            .iter()
            .filter_map(|s| s.reorg)
            .map(|(depth, _)| depth)
            .filter(|&depth| depth > rules.freeze_depth)
            .collect();
        let transition = match self.state {
            State::Ok => self.check_freeze(&fresh, &group, agreed.is_some(), &reorgs, now),
            State::Frozen => self.check_thaw(&healthy, &reorgs),
        };
        if self.state == State::Ok
            && let Some(root) = self.agreed_root
        {
            self.root = Some(root);
        }
        self.count_change();
        transition
    }

    /// Lifts a freeze now: OK on the root the quorum agrees on. Fails (stays frozen) when no
    /// quorum agrees on a chain. A no-op when OK.
    pub fn unfreeze(&mut self) -> Result<Option<Transition>, NoQuorum> {
        if self.state == State::Ok {
            return Ok(None);
        }
        if self.agreed.is_none() {
            return Err(NoQuorum);
        }
        if let Some(root) = self.agreed_root {
            self.root = Some(root);
        }
        self.thaw();
        self.count_change();
        Ok(Some(Transition::Unfrozen { root: self.root }))
    }

    /// The current verdict.
    pub fn verdict(&self) -> Verdict {
        Verdict {
            state: self.state,
            root: self.root,
            agreed_tip: self.agreed,
            reason: self.reason,
            frozen_since: self.frozen_since,
            depth: self.depth,
            agreeing_blocks: self.agreeing_blocks,
            sources: self.sources.iter().map(Source::report).collect(),
            quorum: self.rules.quorum,
            sequence: self.sequence,
        }
    }

    /// The largest group of sources that the attestations place on one chain: a founder, and
    /// each source that agrees with it ([`Source::agrees_with`]: positive evidence, never mere
    /// absence of conflict) and conflicts with no member already in. Ties: the group whose
    /// founder's tip has the most chainwork.
    fn largest_group(&self, fresh: &[usize]) -> Vec<usize> {
        let group_of = |founder: usize| -> Vec<usize> {
            let mut members = vec![founder];
            for &i in fresh {
                let source = &self.sources[i];
                if i != founder
                    && self.sources[founder].agrees_with(source)
                    && members
                        .iter()
                        .all(|&m| !self.sources[m].conflicts_with(source))
                {
                    members.push(i);
                }
            }
            members
        };
        let chainwork = |i: usize| self.sources[i].tip().map(|t| t.chainwork);
        fresh
            .iter()
            .map(|&founder| (group_of(founder), chainwork(founder)))
            .max_by(|(a, wa), (b, wb)| a.len().cmp(&b.len()).then(wa.cmp(wb)))
            .map(|(group, _)| group)
            .unwrap_or_default()
    }

    /// `group` split into (healthy, lagging): lagging ones are more than `max_lag` blocks
    /// below the group's highest tip.
    fn split_lagging(&self, group: &[usize]) -> (Vec<usize>, Vec<usize>) {
        let height = |i: usize| self.sources[i].tip().map_or(0, |t| t.height);
        let highest = group.iter().map(|&i| height(i)).max().unwrap_or(0);
        group
            .iter()
            .partition(|&&i| height(i).saturating_add(self.rules.max_lag) >= highest)
    }

    /// Sets every source's health and the reason for it.
    fn judge(&mut self, fresh: &[usize], group: &[usize], lagging: &[usize], now: u64) {
        let max_age = self.rules.max_attestation_age;
        let conflicting: Vec<bool> = (0..self.sources.len())
            .map(|i| {
                group
                    .iter()
                    .any(|&m| m != i && self.sources[m].conflicts_with(&self.sources[i]))
            })
            .collect();
        for (i, source) in self.sources.iter_mut().enumerate() {
            let (health, detail) = if let Some(why) = &source.unreachable {
                (Health::Unreachable, why.clone())
            } else if !fresh.contains(&i) {
                let detail = match source.tip() {
                    None => "no attestation yet".to_owned(),
                    Some(tip) => format!(
                        "last attestation signed {}s ago (limit {max_age}s)",
                        now.saturating_sub(tip.signed_at)
                    ),
                };
                (Health::Stale, detail)
            } else if !group.contains(&i) {
                if conflicting[i] {
                    (
                        Health::MinorityFork,
                        "attests another block at a height the largest group attested".to_owned(),
                    )
                } else {
                    (
                        Health::Lagging,
                        "not yet seen on the chain the largest group agrees on".to_owned(),
                    )
                }
            } else if lagging.contains(&i) {
                (
                    Health::Lagging,
                    format!("more than {} blocks behind", self.rules.max_lag),
                )
            } else {
                (Health::Healthy, String::new())
            };
            source.health = health;
            source.detail = detail;
        }
    }

    /// The lowest tip among `members`: a block every one of them has.
    fn lowest_tip(&self, members: &[usize]) -> Option<TipStatement> {
        members
            .iter()
            .filter_map(|&i| self.sources[i].tip())
            .min_by_key(|tip| tip.height)
            .copied()
    }

    /// The lowest safe root that the followers among `members` announced with their current
    /// tips (attesters do not announce roots).
    fn followers_root(&self, members: &[usize]) -> Option<SafeRoot> {
        members
            .iter()
            .filter_map(|&i| {
                let source = &self.sources[i];
                let tip = source.tip()?;
                let (height, hash, root) = source.safe_root?;
                (height == tip.height && hash == tip.hash).then_some(root)
            })
            .min_by_key(|root| root.height)
    }

    /// OK: freezes on a quorum of deep reorganisations, or on a deep split without a quorum.
    fn check_freeze(
        &mut self,
        fresh: &[usize],
        group: &[usize],
        agreed: bool,
        reorgs: &[u32],
        now: u64,
    ) -> Option<Transition> {
        let (reason, depth) = if reorgs.len() >= self.rules.quorum {
            (FreezeReason::DeepReorg, reorgs.iter().copied().max()?)
        } else if !agreed {
            let others: Vec<usize> = fresh
                .iter()
                .copied()
                .filter(|i| !group.contains(i))
                .collect();
            let second = self.largest_group(&others);
            let depth = self.split_depth(group, &second)?;
            if depth <= self.rules.freeze_depth {
                return None;
            }
            (FreezeReason::Divergence, depth)
        } else {
            return None;
        };
        self.state = State::Frozen;
        self.reason = Some(reason);
        self.frozen_since = Some(now);
        self.depth = depth;
        self.agreeing_from = None;
        self.agreeing_blocks = 0;
        self.clear_reorgs();
        Some(Transition::Froze {
            reason,
            depth,
            root: self.root,
        })
    }

    /// How deep two groups have split: blocks from the highest height where members of both
    /// attested the same block up to the lower of their lowest tips; `None` when either group
    /// is empty.
    fn split_depth(&self, a: &[usize], b: &[usize]) -> Option<u32> {
        let low = |g: &[usize]| {
            g.iter()
                .filter_map(|&i| self.sources[i].tip())
                .map(|t| t.height)
                .min()
        };
        let top = low(a)?.min(low(b)?);
        let mut fork = None;
        let mut lowest_known = u32::MAX;
        for &i in a {
            for &j in b {
                let (x, y) = (&self.sources[i].history, &self.sources[j].history);
                for (height, hash) in x {
                    lowest_known = lowest_known.min(*height);
                    if y.get(height) == Some(hash) && fork.is_none_or(|f| *height > f) {
                        fork = Some(*height);
                    }
                }
                if let Some((&height, _)) = y.first_key_value() {
                    lowest_known = lowest_known.min(height);
                }
            }
        }
        // Without a common block in the histories, they split below what is remembered.
        let fork = fork.unwrap_or_else(|| lowest_known.saturating_sub(1));
        Some(top.saturating_sub(fork))
    }

    /// FROZEN: counts the blocks a quorum has agreed on one chain; thaws at `unfreeze_after`.
    /// A new deep reorganisation, or the agreed chain changing, starts the count again.
    fn check_thaw(&mut self, healthy: &[usize], reorgs: &[u32]) -> Option<Transition> {
        let Some(agreed) = self.agreed else {
            self.agreeing_from = None;
            self.agreeing_blocks = 0;
            return None;
        };
        let same_chain = self.agreeing_from.is_some_and(|(height, hash)| {
            reorgs.is_empty()
                && healthy.iter().all(|&i| {
                    self.sources[i]
                        .history
                        .get(&height)
                        .is_none_or(|seen| *seen == hash)
                })
                && agreed.height >= height
        });
        if !same_chain {
            self.agreeing_from = Some((agreed.height, agreed.hash));
            self.clear_reorgs();
        }
        let from = self
            .agreeing_from
            .map_or(agreed.height, |(height, _)| height);
        self.agreeing_blocks = agreed.height.saturating_sub(from);
        if self.agreeing_blocks < self.rules.unfreeze_after {
            return None;
        }
        if let Some(root) = self.agreed_root {
            self.root = Some(root);
        }
        self.thaw();
        Some(Transition::Thawed { root: self.root })
    }

    fn thaw(&mut self) {
        self.state = State::Ok;
        self.reason = None;
        self.frozen_since = None;
        self.depth = 0;
        self.agreeing_from = None;
        self.agreeing_blocks = 0;
        self.clear_reorgs();
    }

    fn clear_reorgs(&mut self) {
        for source in &mut self.sources {
            source.reorg = None;
        }
    }

    /// Bumps the sequence when the verdict's substance changed.
    fn count_change(&mut self) {
        let summary: Summary = (
            self.state,
            self.root,
            self.agreed.map(|tip| (tip.height, tip.hash)),
            self.reason,
            self.agreeing_blocks,
            self.sources.iter().map(|s| s.health).collect(),
        );
        if self.summary.as_ref() != Some(&summary) {
            self.sequence += 1;
            self.summary = Some(summary);
        }
    }
}
