//! The follower's readiness rules and the *synced* state derived from them, pure (the peer
//! facts, the tip and the time are parameters).
//!
//! Readiness (`/readyz`) needs all four rules; *synced* ([`caught_up`], sent on `GetTip` and
//! `WatchTip`) needs the three about the chain: the peer count is the follower's own
//! redundancy requirement and says nothing about whether its safe root is current.

use hnsfleet_hns::chain::{ChainEntry, is_synced};
use hnsfleet_hns::params::NetworkParams;
use hnsfleet_service_kit::Check;

use super::{PeerStats, ReadyRules};

/// Whether the chain is caught up with the network at `now`: a header sync round with a peer
/// finished, the tip is within `rules.within` blocks of the best height the peers showed, and
/// the chain counts as synced (minimum chainwork reached, tip no older than the network's
/// maximum tip age). Until then the safe root may be far behind the network.
pub(crate) fn caught_up(
    params: &NetworkParams,
    rules: &ReadyRules,
    stats: &PeerStats,
    tip: &ChainEntry,
    now: u64,
) -> bool {
    stats.synced_once && near_best_peer(rules, stats, tip) && is_synced(params, tip, now)
}

/// Logs a change of the synced state (once per change).
pub(crate) fn log_change(synced: bool, tip: &ChainEntry, stats: &PeerStats) {
    if synced {
        tracing::info!(
            height = tip.height,
            best_peer_height = stats.best_height,
            "chain synced"
        );
    } else {
        tracing::warn!(
            height = tip.height,
            best_peer_height = stats.best_height,
            "chain not synced: its safe root is announced as not to be trusted"
        );
    }
}

/// The readiness rules, one [`Check`] each: `peers`, `synced_once`, `near_best_peer`,
/// `chain_synced` (the last three together are [`caught_up`]).
pub(crate) fn ready_checks(
    params: &NetworkParams,
    rules: &ReadyRules,
    stats: &PeerStats,
    tip: &ChainEntry,
    now: u64,
) -> Vec<Check> {
    let behind = stats.best_height.saturating_sub(tip.height);
    let age = now.saturating_sub(tip.time);
    vec![
        Check::new(
            "peers",
            stats.connected >= rules.min_peers,
            format!(
                "{} of {} required connected",
                stats.connected, rules.min_peers
            ),
        ),
        Check::new(
            "synced_once",
            stats.synced_once,
            if stats.synced_once {
                "a header sync round finished"
            } else {
                "no header sync round finished yet"
            },
        ),
        Check::new(
            "near_best_peer",
            near_best_peer(rules, stats, tip),
            format!(
                "tip {} is {behind} behind the best peer height {} (at most {})",
                tip.height, stats.best_height, rules.within
            ),
        ),
        Check::new(
            "chain_synced",
            is_synced(params, tip, now),
            format!(
                "tip {} is {age} s old (at most {}), minimum chainwork {}",
                tip.height,
                params.max_tip_age,
                if tip.chainwork >= params.pow.min_chainwork {
                    "reached"
                } else {
                    "not reached"
                }
            ),
        ),
    ]
}

fn near_best_peer(rules: &ReadyRules, stats: &PeerStats, tip: &ChainEntry) -> bool {
    tip.height.saturating_add(rules.within) >= stats.best_height
}
