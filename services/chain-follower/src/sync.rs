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
    loop {
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
