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

/// The usual deadline of a GETHEADERS answer (hsd `RESPONSE_TIMEOUT`: 30 s); each
/// connection carries its own ([`PeerConnection::response_timeout`]).
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
            SyncError::Peer(PeerError::Brontide(e)) => e.is_protocol_violation(),
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
    /// Hash and height of the newest header the peer sent that is on the best chain: a lower
    /// bound of the peer's tip.
    pub last_on_best: Option<(BlockHash, u32)>,
}

/// Where synced headers go: a header chain plus whatever persistence and publication the
/// owner needs. The follower service implements it over its shared, locked chain; tests and
/// tools use `LocalChain` (feature `test-util`).
pub trait HeaderSink {
    /// The block locator of the current best chain.
    fn locator(&mut self) -> Vec<BlockHash>;
    /// The current tip height.
    fn tip_height(&mut self) -> u32;
    /// Validates and inserts `headers` in order (then any orphans they made ready). Stops at the
    /// first invalid header; the valid prefix stays inserted.
    fn accept(&mut self, headers: Vec<Header>) -> Result<Accepted, ChainError>;
}

/// What a [`HeaderSink`] did with one batch.
#[derive(Debug, Default)]
pub struct Accepted {
    /// Headers inserted (duplicates included).
    pub received: usize,
    /// Reorganizations the batch caused, in order.
    pub reorgs: Vec<Reorg>,
    /// Whether some header's parent was unknown (ask the peer for the gap).
    pub orphaned: bool,
    /// The hash and active-chain height of the batch's last header, if it is on the best chain.
    pub last_on_best: Option<(BlockHash, u32)>,
}

/// A [`HeaderSink`] over a header chain owned by the caller, with a clock and a callback that
/// sees every header with what the chain did with it (to persist it).
#[cfg(feature = "test-util")]
pub struct LocalChain<'a, N, P> {
    /// The chain.
    pub chain: &'a mut HeaderChain,
    /// Current unix time.
    pub now: N,
    /// Called for every inserted header.
    pub persist: P,
}

#[cfg(feature = "test-util")]
impl<N, P> HeaderSink for LocalChain<'_, N, P>
where
    N: Fn() -> u64,
    P: FnMut(&Header, &InsertOutcome),
{
    fn locator(&mut self) -> Vec<BlockHash> {
        self.chain.locator()
    }

    fn tip_height(&mut self) -> u32 {
        self.chain.tip().height
    }

    fn accept(&mut self, headers: Vec<Header>) -> Result<Accepted, ChainError> {
        insert_batch(self.chain, headers, (self.now)(), &mut self.persist)
    }
}

/// Inserts a batch into `chain` (see [`HeaderSink::accept`]), calling `persist` for every
/// header the chain took, orphans included.
pub fn insert_batch(
    chain: &mut HeaderChain,
    headers: Vec<Header>,
    now: u64,
    persist: &mut impl FnMut(&Header, &InsertOutcome),
) -> Result<Accepted, ChainError> {
    let mut accepted = Accepted::default();
    let last = headers.last().map(Header::hash);
    for header in headers {
        let outcome = chain.insert(header.clone(), now)?;
        persist(&header, &outcome);
        accepted.received += 1;
        match outcome {
            InsertOutcome::Orphan => accepted.orphaned = true,
            InsertOutcome::Reorg(reorg) => accepted.reorgs.push(reorg),
            _ => {}
        }
        while let Some(orphan) = chain.pop_ready_orphan() {
            let outcome = chain.insert(orphan.clone(), now)?;
            persist(&orphan, &outcome);
            if let InsertOutcome::Reorg(reorg) = outcome {
                accepted.reorgs.push(reorg);
            }
        }
    }
    accepted.last_on_best = last.and_then(|hash| chain.height_of(&hash).map(|h| (hash, h)));
    Ok(accepted)
}

/// Syncs `chain` from `peer` until the peer has nothing new. `now` gives the current unix time
/// for the time-too-new rule; `persist` sees every header with what the chain did with it.
#[cfg(feature = "test-util")]
pub async fn sync_headers(
    peer: &mut PeerConnection,
    chain: &mut HeaderChain,
    now: impl Fn() -> u64,
    persist: impl FnMut(&Header, &InsertOutcome),
) -> Result<SyncReport, SyncError> {
    sync_into(
        peer,
        &mut LocalChain {
            chain,
            now,
            persist,
        },
        &mut SetAside::default(),
    )
    .await
}

/// Packets that arrive during a sync but answer something else the caller asked for (PROOF,
/// PONG): kept, in order, for the caller to handle once the sync is over. Bounded: an honest
/// peer sends at most one per request the caller has in flight.
#[derive(Debug, Default)]
pub struct SetAside {
    packets: Vec<Packet>,
    dropped: usize,
}

impl SetAside {
    /// Most packets kept; later ones are dropped (and counted).
    pub const MAX: usize = 512;

    fn keep(&mut self, packet: Packet) {
        if !matches!(packet, Packet::Proof(_) | Packet::Pong(_)) {
            return;
        }
        if self.packets.len() < Self::MAX {
            self.packets.push(packet);
        } else {
            self.dropped += 1;
        }
    }

    /// The kept packets, in arrival order.
    pub fn take(&mut self) -> Vec<Packet> {
        std::mem::take(&mut self.packets)
    }

    /// How many were dropped because [`SetAside::MAX`] was reached.
    pub fn dropped(&self) -> usize {
        self.dropped
    }
}

/// Syncs `sink` from `peer` until the peer has nothing new (a batch shorter than the maximum).
/// Proofs and pongs that arrive meanwhile go to `set_aside`; other unsolicited packets are
/// dropped (announcements are covered by the sync itself).
pub async fn sync_into(
    peer: &mut PeerConnection,
    sink: &mut impl HeaderSink,
    set_aside: &mut SetAside,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let started = tokio::time::Instant::now();
    let mut last_log = started;
    loop {
        if last_log.elapsed() >= PROGRESS_INTERVAL {
            last_log = tokio::time::Instant::now();
            let p = Progress::compute(
                sink.tip_height(),
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
        peer.send(&Packet::GetHeaders(GetHeaders {
            locator: sink.locator(),
            stop: BlockHash::ZERO,
        }))
        .await?;
        // hsd sends nothing at all when it has no headers past our locator. Peers handle
        // packets in order, so a PING right behind the request is a barrier: its PONG before
        // any HEADERS means "nothing new".
        let barrier = rand::random::<u64>();
        let headers = peer
            .request(
                &Packet::Ping(barrier),
                peer.response_timeout(),
                |p| match p {
                    Packet::Headers(h) => Some(h.clone()),
                    Packet::Pong(nonce) if *nonce == barrier => Some(Vec::new()),
                    _ => None,
                },
                |other| set_aside.keep(other),
            )
            .await?;
        if headers.len() > MAX_HEADERS {
            return Err(SyncError::OversizeBatch(headers.len()));
        }
        let batch = headers.len();
        let accepted = sink.accept(headers).map_err(SyncError::InvalidHeader)?;
        for reorg in &accepted.reorgs {
            tracing::info!(
                peer = %peer.addr(),
                depth = reorg.depth,
                fork_height = reorg.fork_height,
                "reorganized to a chain with more work"
            );
        }
        report.absorb(accepted);
        tracing::debug!(peer = %peer.addr(), height = sink.tip_height(), batch, "headers batch");
        if batch < MAX_HEADERS {
            return Ok(report);
        }
    }
}

/// Follows the peer's new-tip announcements after a sync: an unsolicited HEADERS (what hsd
/// sends after SENDHEADERS) is validated and inserted; a header whose parent is unknown, or an
/// INV of blocks (peers that ignore SENDHEADERS), triggers a [`sync_headers`] round. Returns
/// once `done` says so after an announcement, or fails when `wait` passes without one.
#[cfg(feature = "test-util")]
pub async fn follow_announcements(
    peer: &mut PeerConnection,
    chain: &mut HeaderChain,
    now: impl Fn() -> u64 + Copy,
    persist: impl FnMut(&Header, &InsertOutcome),
    wait: Duration,
    mut done: impl FnMut(&HeaderChain) -> bool,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let mut sink = LocalChain {
        chain,
        now,
        persist,
    };
    while !done(sink.chain) {
        let packet = peer.recv(wait).await?;
        let round = handle_announcement(peer, &mut sink, packet, &mut SetAside::default()).await?;
        report.received += round.received;
        report.reorgs.extend(round.reorgs);
    }
    Ok(report)
}

/// Handles one packet that arrived outside a request: HEADERS announcements are validated and
/// inserted (a gap triggers a sync round), a block INV triggers a sync round; anything else is
/// ignored. Proofs and pongs that arrive during the sync round go to `set_aside`.
pub async fn handle_announcement(
    peer: &mut PeerConnection,
    sink: &mut impl HeaderSink,
    packet: Packet,
    set_aside: &mut SetAside,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let resync = match packet {
        Packet::Headers(headers) => {
            if headers.len() > MAX_HEADERS {
                return Err(SyncError::OversizeBatch(headers.len()));
            }
            let accepted = sink.accept(headers).map_err(SyncError::InvalidHeader)?;
            let orphaned = accepted.orphaned;
            report.absorb(accepted);
            orphaned
        }
        Packet::Inv(items) => items.iter().any(|i| i.block_hash().is_some()),
        _ => false,
    };
    if resync {
        let round = sync_into(peer, sink, set_aside).await?;
        report.received += round.received;
        report.reorgs.extend(round.reorgs);
        report.last_on_best = round.last_on_best.or(report.last_on_best);
    }
    Ok(report)
}

impl SyncReport {
    fn absorb(&mut self, accepted: Accepted) {
        self.received += accepted.received;
        self.reorgs.extend(accepted.reorgs);
        if accepted.last_on_best.is_some() {
            self.last_on_best = accepted.last_on_best;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn set_aside_keeps_answers_in_order_and_is_bounded() {
        use hnsfleet_hns::p2p::Proof;
        use hnsfleet_hns::types::{NameHash, TreeRoot};
        let proof = |n: u8| {
            Packet::Proof(Proof {
                root: TreeRoot([n; 32]),
                key: NameHash([n; 32]),
                proof: vec![n],
            })
        };
        let mut kept = SetAside::default();
        kept.keep(proof(1));
        kept.keep(Packet::Headers(Vec::new()));
        kept.keep(Packet::Pong(7));
        kept.keep(Packet::Verack);
        kept.keep(proof(2));
        assert_eq!(kept.take(), vec![proof(1), Packet::Pong(7), proof(2)]);
        assert!(kept.take().is_empty());
        for _ in 0..SetAside::MAX + 3 {
            kept.keep(Packet::Pong(1));
        }
        assert_eq!((kept.take().len(), kept.dropped()), (SetAside::MAX, 3));
    }

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
