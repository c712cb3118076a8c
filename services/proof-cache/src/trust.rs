//! Which tree root the cache trusts: the safe root a quorum of healthy, synced followers
//! announce.
//!
//! Pure (the clock is a parameter). A follower *votes* only while it is connected, not
//! quarantined and reports itself synced (`synced` on `WatchTip`: its chain is caught up with
//! the network). A follower still in its initial header sync, or one that fell behind, may
//! announce a safe root far behind the network's; it never counts, so a cache whose followers
//! are all syncing has no trusted root (look-ups fail with `NO_TRUSTED_ROOT`, `/readyz` is
//! 503, frontends answer SERVFAIL with EDE 14 Not Ready). [`Trust::update`] takes what each
//! follower last announced ([`FollowerView`]) and:
//! - moves the trusted root to a root that at least `quorum` voting followers announce
//!   (forward, or back on a reorg the quorum followed);
//! - keeps the last trusted root when no root reaches the quorum (followers lost or no longer
//!   synced, or still disagreeing during a root change), and remembers since when it is
//!   unconfirmed;
//! - never trusts anything when two different roots both reach the quorum (possible only with
//!   a quorum at or below half the followers): it keeps the previous root.
//!
//! While the reorg-watchdog has frozen the fleet, [`Trust::impose`] makes its frozen root the
//! trusted one whatever the quorum says (the quorum's root is still followed, and trusted
//! again when the freeze lifts).
//!
//! [`Trust::snapshot`] turns the unconfirmed time into the serving decision: within
//! [`STALE_GRACE`] of losing confirmation (a root change in flight) answers are normal; then
//! they are marked stale for `serve_stale`; after that the root has expired and nothing is
//! served.

use std::time::{Duration, Instant};

use hnsfleet_hns::chain::SafeRoot;

/// How long the trusted root may be unconfirmed before answers are marked stale: followers
/// announce a new safe root within milliseconds of each other, so a root change in flight
/// does not flag answers.
pub const STALE_GRACE: Duration = Duration::from_secs(1);

/// What the cache last heard from one follower.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub struct FollowerView {
    /// Its `WatchTip` stream is open.
    pub connected: bool,
    /// It was caught lying and is left out.
    pub quarantined: bool,
    /// It reported its chain caught up with the network on its last event.
    pub synced: bool,
    /// The safe root it announced last.
    pub safe_root: Option<SafeRoot>,
}

/// The trust state of the cache.
#[derive(Debug, Clone)]
pub struct Trust {
    quorum: usize,
    serve_stale: Duration,
    trusted: Option<SafeRoot>,
    agreeing: usize,
    unconfirmed_since: Option<Instant>,
    conflict: bool,
    /// The reorg-watchdog's frozen root, trusted instead of the quorum's while set.
    imposed: Option<SafeRoot>,
}

/// The serving decision at one instant.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct TrustSnapshot {
    /// The trusted root, if a quorum ever agreed on one.
    pub root: Option<SafeRoot>,
    /// Followers announcing it now.
    pub agreeing: usize,
    /// Followers that must agree.
    pub quorum: usize,
    /// How long the root has gone without a quorum confirming it.
    pub unconfirmed_for: Duration,
    /// Answers are marked stale (unconfirmed for longer than [`STALE_GRACE`]).
    pub stale: bool,
    /// Unconfirmed for longer than [`STALE_GRACE`] + `serve_stale`: nothing is served.
    pub expired: bool,
    /// Two different roots both reached the quorum at the last update.
    pub conflict: bool,
    /// `root` is the reorg-watchdog's frozen root, not the quorum's (never stale: the
    /// watchdog decided it).
    pub imposed: bool,
}

/// What an update changed.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Change {
    /// Nothing the cache acts on.
    None,
    /// A (new) root is trusted.
    Moved {
        /// The root trusted before, if any.
        from: Option<SafeRoot>,
        /// The root trusted now.
        to: SafeRoot,
    },
}

/// What the followers agree on.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Agreement {
    /// No root reaches the quorum.
    None,
    /// One root reaches it, announced by this many followers.
    Root(SafeRoot, usize),
    /// Two different roots both reach it.
    Conflict,
}

/// What at least `quorum` of `views` that vote ([`FollowerView::votes`]) announce.
pub fn quorum_root(views: &[FollowerView], quorum: usize) -> Agreement {
    let mut counts: Vec<(SafeRoot, usize)> = Vec::new();
    for root in views
        .iter()
        .filter(|v| v.votes())
        .filter_map(|v| v.safe_root)
    {
        match counts.iter_mut().find(|(r, _)| *r == root) {
            Some((_, n)) => *n += 1,
            None => counts.push((root, 1)),
        }
    }
    let mut reached = counts.into_iter().filter(|(_, n)| *n >= quorum.max(1));
    match (reached.next(), reached.next()) {
        (None, _) => Agreement::None,
        (Some((root, n)), None) => Agreement::Root(root, n),
        (Some(_), Some(_)) => Agreement::Conflict,
    }
}

// === impl FollowerView ===

impl FollowerView {
    /// Whether its announced root counts toward the quorum: connected, not quarantined, and
    /// synced.
    pub fn votes(&self) -> bool {
        self.connected && !self.quarantined && self.synced
    }
}

// === impl Trust ===

impl Trust {
    /// No trusted root yet; `quorum` followers must agree; unconfirmed roots are served stale
    /// for `serve_stale` after [`STALE_GRACE`].
    pub fn new(quorum: usize, serve_stale: Duration) -> Trust {
        Trust {
            quorum: quorum.max(1),
            serve_stale,
            trusted: None,
            agreeing: 0,
            unconfirmed_since: None,
            conflict: false,
            imposed: None,
        }
    }

    /// Trusts `root` instead of the quorum's while it is `Some` (the reorg-watchdog froze the
    /// fleet on it); `None` returns to the quorum's root. The quorum's root keeps being
    /// followed underneath.
    pub fn impose(&mut self, root: Option<SafeRoot>) -> Change {
        let before = self.imposed.or(self.trusted);
        self.imposed = root;
        let after = self.imposed.or(self.trusted);
        match after {
            Some(to) if before != after => Change::Moved { from: before, to },
            _ => Change::None,
        }
    }

    /// Re-evaluates the trusted root from what every follower announced last.
    pub fn update(&mut self, views: &[FollowerView], now: Instant) -> Change {
        let agreed = quorum_root(views, self.quorum);
        self.conflict = agreed == Agreement::Conflict;
        if let Agreement::Root(root, agreeing) = agreed {
            let from = self.trusted.replace(root);
            self.agreeing = agreeing;
            self.unconfirmed_since = None;
            return if from == Some(root) {
                Change::None
            } else {
                Change::Moved { from, to: root }
            };
        }
        let Some(trusted) = self.trusted else {
            return Change::None;
        };
        self.agreeing = views
            .iter()
            .filter(|v| v.votes() && v.safe_root == Some(trusted))
            .count();
        if self.agreeing >= self.quorum && !self.conflict {
            self.unconfirmed_since = None;
        } else {
            self.unconfirmed_since.get_or_insert(now);
        }
        Change::None
    }

    /// The serving decision at `now`.
    pub fn snapshot(&self, now: Instant) -> TrustSnapshot {
        let unconfirmed_for = self
            .unconfirmed_since
            .map_or(Duration::ZERO, |since| now.saturating_duration_since(since));
        if let Some(root) = self.imposed {
            return TrustSnapshot {
                root: Some(root),
                agreeing: self.agreeing,
                quorum: self.quorum,
                unconfirmed_for: Duration::ZERO,
                stale: false,
                expired: false,
                conflict: self.conflict,
                imposed: true,
            };
        }
        TrustSnapshot {
            root: self.trusted,
            agreeing: self.agreeing,
            quorum: self.quorum,
            unconfirmed_for,
            stale: self.trusted.is_some() && unconfirmed_for > STALE_GRACE,
            expired: self.trusted.is_some() && unconfirmed_for > STALE_GRACE + self.serve_stale,
            conflict: self.conflict,
            imposed: false,
        }
    }
}

#[cfg(test)]
mod tests;
