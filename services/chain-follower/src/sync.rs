//! Header sync over one peer: GETHEADERS with our locator, validate and insert every header,
//! repeat while the peer returns full batches. Every header goes through the full contextual
//! checks of the header chain; the first invalid one ends the sync with an error that says
//! whether the peer should be banned. Headers are handed to the caller (with what the chain did
//! with them) so the caller can persist them.

use std::time::Duration;

use hnsfleet_hns::chain::ChainError;
use hnsfleet_hns::header::Header;
use hnsfleet_hns::p2p::{GetHeaders, MAX_HEADERS, Packet};
use hnsfleet_hns::types::BlockHash;
use thiserror::Error;

use crate::header_chain::{HeaderChain, InsertOutcome, Reorg};
use crate::peer::{PeerConnection, PeerError};

/// How long a peer may take to answer GETHEADERS (hsd `RESPONSE_TIMEOUT`: 30 s).
pub const HEADERS_TIMEOUT: Duration = Duration::from_secs(30);

/// How often a running sync logs its progress.
pub const PROGRESS_INTERVAL: Duration = Duration::from_secs(5);

/// Progress of a running sync, logged every [`PROGRESS_INTERVAL`].
#[derive(Debug, Clone, Copy, PartialEq)]
pub struct Progress {
    /// Our tip height.
    pub height: u32,
    /// The best height the peer announced (its VERSION).
    pub peer_height: u32,
    /// Headers validated per second since the sync started.
    pub headers_per_sec: f64,
    /// Estimated time to reach the peer's height at that rate.
    pub eta: Option<Duration>,
}

impl Progress {
    /// Progress after `validated` headers in `elapsed`, at `height`, towards `peer_height`.
    pub fn compute(height: u32, peer_height: u32, validated: usize, elapsed: Duration) -> Progress {
        let secs = elapsed.as_secs_f64();
        let headers_per_sec = if secs > 0.0 {
            validated as f64 / secs
        } else {
            0.0
        };
        let remaining = peer_height.saturating_sub(height);
        let eta = (headers_per_sec > 0.0)
            .then(|| Duration::from_secs_f64(f64::from(remaining) / headers_per_sec));
        Progress {
            height,
            peer_height,
            headers_per_sec,
            eta,
        }
    }
}

/// Why a sync round stopped early.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum SyncError {
    /// The connection failed or timed out.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// The peer sent a header that breaks a consensus rule.
    #[error("peer sent an invalid header: {0}")]
    InvalidHeader(ChainError),
    /// The peer sent more headers in one batch than the protocol allows.
    #[error("peer sent {0} headers in one batch (limit 2000)")]
    OversizeBatch(usize),
}

impl SyncError {
    /// Whether the peer proved itself dishonest or broken (as opposed to slow or gone).
    pub fn ban_worthy(&self) -> bool {
        match self {
            SyncError::InvalidHeader(e) => e.ban_worthy(),
            SyncError::OversizeBatch(_) => true,
            SyncError::Peer(PeerError::Protocol(_)) => true,
            SyncError::Peer(_) => false,
        }
    }
}

/// What one sync run did.
#[derive(Debug, Default)]
pub struct SyncReport {
    /// Headers received and inserted (duplicates included).
    pub received: usize,
    /// Reorganizations that happened, in order.
    pub reorgs: Vec<Reorg>,
}

/// Syncs `chain` from `peer` until the peer has nothing new. `now` gives the current unix time
/// for the time-too-new rule; `persist` sees every header with what the chain did with it.
pub async fn sync_headers(
    peer: &mut PeerConnection,
    chain: &mut HeaderChain,
    now: impl Fn() -> u64,
    mut persist: impl FnMut(&Header, &InsertOutcome),
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let started = tokio::time::Instant::now();
    let mut last_log = started;
    loop {
        if last_log.elapsed() >= PROGRESS_INTERVAL {
            last_log = tokio::time::Instant::now();
            let p = Progress::compute(
                chain.tip().height,
                peer.version().height,
                report.received,
                started.elapsed(),
            );
            tracing::info!(
                peer = %peer.addr(),
                height = p.height,
                peer_height = p.peer_height,
                headers_per_sec = p.headers_per_sec.round(),
                eta_secs = p.eta.map(|d| d.as_secs()),
                "syncing headers"
            );
        }
        let request = Packet::GetHeaders(GetHeaders {
            locator: chain.locator(),
            stop: BlockHash::ZERO,
        });
        let headers = peer
            .request(
                &request,
                HEADERS_TIMEOUT,
                |p| match p {
                    Packet::Headers(h) => Some(h.clone()),
                    _ => None,
                },
                |_| {},
            )
            .await?;
        if headers.len() > MAX_HEADERS {
            return Err(SyncError::OversizeBatch(headers.len()));
        }
        let batch = headers.len();
        for header in headers {
            let outcome = chain
                .insert(header.clone(), now())
                .map_err(SyncError::InvalidHeader)?;
            persist(&header, &outcome);
            if let InsertOutcome::Reorg(reorg) = &outcome {
                tracing::info!(
                    peer = %peer.addr(),
                    depth = reorg.depth,
                    fork_height = reorg.fork_height,
                    "reorganized to a chain with more work"
                );
                report.reorgs.push(reorg.clone());
            }
            report.received += 1;
            while let Some(orphan) = chain.pop_ready_orphan() {
                let outcome = chain
                    .insert(orphan.clone(), now())
                    .map_err(SyncError::InvalidHeader)?;
                persist(&orphan, &outcome);
            }
        }
        tracing::debug!(peer = %peer.addr(), height = chain.tip().height, batch, "headers batch");
        if batch < MAX_HEADERS {
            return Ok(report);
        }
    }
}

/// Follows the peer's new-tip announcements after a sync: an unsolicited HEADERS (what hsd
/// sends after SENDHEADERS) is validated and inserted; a header whose parent is unknown, or an
/// INV of blocks (peers that ignore SENDHEADERS), triggers a [`sync_headers`] round. Returns
/// once `done` says so after an announcement, or fails when `wait` passes without one.
pub async fn follow_announcements(
    peer: &mut PeerConnection,
    chain: &mut HeaderChain,
    now: impl Fn() -> u64 + Copy,
    mut persist: impl FnMut(&Header, &InsertOutcome),
    wait: Duration,
    mut done: impl FnMut(&HeaderChain) -> bool,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    while !done(chain) {
        let mut resync = false;
        match peer.recv(wait).await? {
            Packet::Headers(headers) => {
                if headers.len() > MAX_HEADERS {
                    return Err(SyncError::OversizeBatch(headers.len()));
                }
                for header in headers {
                    let outcome = chain
                        .insert(header.clone(), now())
                        .map_err(SyncError::InvalidHeader)?;
                    persist(&header, &outcome);
                    report.received += 1;
                    match outcome {
                        InsertOutcome::Orphan => resync = true,
                        InsertOutcome::Reorg(reorg) => report.reorgs.push(reorg),
                        _ => {}
                    }
                }
            }
            Packet::Inv(items) => resync = items.iter().any(|i| i.block_hash().is_some()),
            _ => {}
        }
        if resync {
            let round = sync_headers(peer, chain, now, &mut persist).await?;
            report.received += round.received;
            report.reorgs.extend(round.reorgs);
        }
    }
    Ok(report)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn progress_rate_and_eta() {
        let p = Progress::compute(100_000, 300_000, 50_000, Duration::from_secs(10));
        assert_eq!(p.headers_per_sec, 5_000.0);
        assert_eq!(p.eta, Some(Duration::from_secs(40)));
        let done = Progress::compute(300_000, 300_000, 1, Duration::from_secs(1));
        assert_eq!(done.eta, Some(Duration::ZERO));
        let idle = Progress::compute(0, 10, 0, Duration::ZERO);
        assert_eq!((idle.headers_per_sec, idle.eta), (0.0, None));
    }
}
