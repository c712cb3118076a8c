//! Header sync over one peer: GETHEADERS with our locator, check and insert every header,
//! repeat while the peer returns full batches. A batch first passes the context-free checks
//! ([`precheck_batch`]: proof of work, linkage inside the batch) without touching the shared
//! chain; then every header goes through the full contextual checks of the header chain. An
//! answer must connect to a hash of the locator we sent, and a full batch must move the peer's
//! position forward (hsd bans for both): otherwise the sync ends with an error that says
//! whether the peer should be banned. Headers are handed to the caller (with what the chain did
//! with them) so the caller can persist them.

use std::collections::HashSet;
use std::time::Duration;

use hnsfleet_hns::chain::{ChainError, precheck_batch};
use hnsfleet_hns::header::{HashedHeader, Header};
use hnsfleet_hns::p2p::{GetHeaders, MAX_HEADERS, Packet};
use hnsfleet_hns::params::NetworkParams;
use hnsfleet_hns::types::{BlockHash, NameHash, TreeRoot};
use thiserror::Error;

use crate::header_chain::{HeaderChain, InsertOutcome, Origin, Reorg};
use crate::peer::{PeerConnection, PeerError};

/// Announcements in a row that still do not connect after a GETHEADERS round before the peer
/// counts as misbehaving (Bitcoin Core's `MAX_NUM_UNCONNECTING_HEADERS_MSGS` is 10).
pub const MAX_UNCONNECTING: u32 = 10;

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
    /// An answer to GETHEADERS does not start at any hash of the locator we sent, or
    /// announcements keep not connecting to anything we know.
    #[error("peer sent headers that do not connect: {0}")]
    Unconnected(&'static str),
    /// A full batch added nothing and did not move the peer's position forward.
    #[error("peer sent a full batch of {0} headers that adds nothing")]
    NoProgress(usize),
    /// The peer sent a PROOF nobody asked it for.
    #[error("peer sent an unsolicited proof")]
    UnsolicitedProof,
}

impl SyncError {
    /// Whether the peer proved itself dishonest or broken (as opposed to slow or gone).
    pub fn ban_worthy(&self) -> bool {
        match self {
            SyncError::InvalidHeader(e) => e.ban_worthy(),
            SyncError::OversizeBatch(_)
            | SyncError::Unconnected(_)
            | SyncError::NoProgress(_)
            | SyncError::UnsolicitedProof => true,
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
    /// The network's parameters (for the context-free checks).
    fn params(&self) -> &NetworkParams;
    /// The block locator of the current best chain.
    fn locator(&mut self) -> Vec<BlockHash>;
    /// The current tip height.
    fn tip_height(&mut self) -> u32;
    /// Whether a validated header with this hash is held (active chain or side branch).
    fn knows(&mut self, hash: &BlockHash) -> bool;
    /// Validates and inserts `headers` (already through [`precheck_batch`]) in order, then any
    /// orphans they made ready. Stops at the first invalid header; the valid prefix stays
    /// inserted.
    fn accept(&mut self, headers: Vec<HashedHeader>) -> Result<Accepted, ChainError>;
}

/// What a [`HeaderSink`] did with one batch.
#[derive(Debug, Default)]
pub struct Accepted {
    /// Headers inserted (duplicates included).
    pub received: usize,
    /// Headers that were new: placed on the active chain or a side branch.
    pub new: usize,
    /// Reorganizations the batch caused, in order.
    pub reorgs: Vec<Reorg>,
    /// Whether some header's parent was unknown (ask the peer for the gap).
    pub orphaned: bool,
    /// The hash and active-chain height of the batch's last header, if it is on the best chain.
    pub last_on_best: Option<(BlockHash, u32)>,
    /// The hash of the batch's last header.
    pub last_hash: Option<BlockHash>,
    /// The height of the batch's last header wherever it was placed (active chain or side
    /// branch); `None` for an orphan.
    pub last_height: Option<u32>,
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
    fn params(&self) -> &NetworkParams {
        self.chain.params()
    }

    fn locator(&mut self) -> Vec<BlockHash> {
        self.chain.locator()
    }

    fn tip_height(&mut self) -> u32 {
        self.chain.tip().height
    }

    fn knows(&mut self, hash: &BlockHash) -> bool {
        self.chain.contains(hash)
    }

    fn accept(&mut self, headers: Vec<HashedHeader>) -> Result<Accepted, ChainError> {
        insert_batch(self.chain, headers, (self.now)(), 0, &mut self.persist)
    }
}

/// Inserts a checked batch from `origin` into `chain` (see [`HeaderSink::accept`]), calling
/// `persist` for every header the chain took, orphans included.
pub fn insert_batch(
    chain: &mut HeaderChain,
    headers: Vec<HashedHeader>,
    now: u64,
    origin: Origin,
    persist: &mut impl FnMut(&Header, &InsertOutcome),
) -> Result<Accepted, ChainError> {
    let mut accepted = Accepted::default();
    let last = headers.last().map(HashedHeader::hash);
    let count = |accepted: &mut Accepted, outcome: &InsertOutcome| match outcome {
        InsertOutcome::Orphan => accepted.orphaned = true,
        InsertOutcome::Duplicate | InsertOutcome::Unplaced => {}
        InsertOutcome::Reorg(reorg) => {
            accepted.new += 1;
            accepted.reorgs.push(reorg.clone());
        }
        InsertOutcome::Extended { .. } | InsertOutcome::SideBranch { .. } => accepted.new += 1,
    };
    for header in headers {
        let raw = header.header().clone();
        let outcome = chain.insert_hashed(header, now, origin)?;
        persist(&raw, &outcome);
        accepted.received += 1;
        count(&mut accepted, &outcome);
        while let Some((orphan, from)) = chain.pop_ready_orphan() {
            let raw = orphan.header().clone();
            let outcome = chain.insert_hashed(orphan, now, from)?;
            persist(&raw, &outcome);
            if !matches!(outcome, InsertOutcome::Orphan) {
                count(&mut accepted, &outcome);
            }
        }
    }
    accepted.last_on_best = last.and_then(|hash| chain.height_of(&hash).map(|h| (hash, h)));
    accepted.last_height = last.and_then(|hash| chain.height_anywhere(&hash));
    accepted.last_hash = last;
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
        &mut 0,
    )
    .await
}

/// Packets that arrive during a sync but answer something else the caller asked for: a PROOF
/// for a request in flight, the PONG of a keep-alive PING. Kept, in order, for the caller to
/// handle once the sync is over. Bounded: at most one proof per request in flight (so at most
/// that many times the largest proof) and [`SetAside::MAX_PONGS`] pongs; a PROOF nobody asked
/// for is counted, not kept, and ends the sync as misbehaviour.
#[derive(Debug, Default)]
pub struct SetAside {
    /// Proof requests in flight whose answer has not been set aside yet.
    awaited: HashSet<(TreeRoot, NameHash)>,
    packets: Vec<Packet>,
    pongs: usize,
    unsolicited: usize,
    dropped: usize,
}

impl SetAside {
    /// Most PONGs kept (one keep-alive PING is outstanding at a time).
    pub const MAX_PONGS: usize = 4;

    /// Set-aside room for the answers to these proof requests.
    pub fn awaiting(requests: impl IntoIterator<Item = (TreeRoot, NameHash)>) -> SetAside {
        SetAside {
            awaited: requests.into_iter().collect(),
            ..SetAside::default()
        }
    }

    fn keep(&mut self, packet: Packet) {
        match &packet {
            Packet::Proof(p) => {
                if self.awaited.remove(&(p.root, p.key)) {
                    self.packets.push(packet);
                } else {
                    self.unsolicited += 1;
                }
            }
            Packet::Pong(_) if self.pongs < Self::MAX_PONGS => {
                self.pongs += 1;
                self.packets.push(packet);
            }
            Packet::Pong(_) => self.dropped += 1,
            _ => {}
        }
    }

    /// The kept packets, in arrival order.
    pub fn take(&mut self) -> Vec<Packet> {
        self.pongs = 0;
        std::mem::take(&mut self.packets)
    }

    /// How many PONGs were dropped beyond [`SetAside::MAX_PONGS`].
    pub fn dropped(&self) -> usize {
        self.dropped
    }

    /// How many PROOFs arrived that no request in flight awaited.
    pub fn unsolicited(&self) -> usize {
        self.unsolicited
    }
}

/// Syncs `sink` from `peer` until the peer has nothing new (a batch shorter than the maximum).
/// Proofs and pongs that arrive meanwhile go to `set_aside`; other unsolicited packets are
/// dropped (announcements are covered by the sync itself).
///
/// Each GETHEADERS after the first puts the last header the peer sent at the front of the
/// locator, so a peer on another branch continues where it stopped. The answer is the HEADERS
/// whose first header links to a hash of the locator sent; other HEADERS that arrive before
/// the round's PING barrier are announcements that crossed the request, handled like
/// [`handle_announcement`] does (`unconnecting` counts the ones that never connect). A full
/// batch that adds no header and does not reach past the previous batch's end is refused
/// ([`SyncError::NoProgress`]): the loop always ends.
pub async fn sync_into(
    peer: &mut PeerConnection,
    sink: &mut impl HeaderSink,
    set_aside: &mut SetAside,
    unconnecting: &mut u32,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    let started = tokio::time::Instant::now();
    let mut last_log = started;
    // The last header of the previous batch and its height.
    let mut cursor: Option<(BlockHash, u32)> = None;
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
        let mut locator = sink.locator();
        if let Some((hash, _)) = cursor
            && locator.first() != Some(&hash)
        {
            locator.insert(0, hash);
        }
        peer.send(&Packet::GetHeaders(GetHeaders {
            locator: locator.clone(),
            stop: BlockHash::ZERO,
        }))
        .await?;
        let exchange = answer_to_getheaders(peer, &locator, set_aside).await?;
        let headers = exchange.answer;
        let batch = headers.len();
        if batch > MAX_HEADERS {
            return Err(SyncError::OversizeBatch(batch));
        }
        let accepted = if headers.is_empty() {
            Accepted::default()
        } else {
            let checked = precheck_batch(sink.params(), headers)
                .map_err(|(_, e)| SyncError::InvalidHeader(e))?;
            sink.accept(checked).map_err(SyncError::InvalidHeader)?
        };
        // Announcements that crossed the request, after the answer (which they may extend).
        for stray in exchange.announcements {
            let round = announce_headers(sink, stray)?;
            count_unconnecting(sink, round.last_hash.iter(), unconnecting)?;
            report.absorb(round);
        }
        if batch == 0 {
            return Ok(report);
        }
        for reorg in &accepted.reorgs {
            tracing::info!(
                peer = %peer.addr(),
                depth = reorg.depth,
                fork_height = reorg.fork_height,
                "reorganized to a chain with more work"
            );
        }
        let (new, last_height) = (accepted.new, accepted.last_height);
        let last_hash = accepted.last_hash;
        report.absorb(accepted);
        tracing::debug!(peer = %peer.addr(), height = sink.tip_height(), batch, new, "headers batch");
        if batch < MAX_HEADERS {
            return Ok(report);
        }
        let Some(height) = last_height else {
            // A full batch that linked to our locator cannot end in an orphan.
            return Err(SyncError::Unconnected("a full batch that ends nowhere"));
        };
        if new == 0 && cursor.is_some_and(|(_, previous)| height <= previous) {
            return Err(SyncError::NoProgress(batch));
        }
        cursor = last_hash.map(|hash| (hash, height));
    }
}

/// Most HEADERS packets other than the answer taken during one GETHEADERS round: an honest
/// peer announces one block at a time, a few blocks a round at most.
pub const MAX_CROSSING_ANNOUNCEMENTS: usize = 8;

/// Most headers in a HEADERS that does not start at our locator and still counts as an
/// announcement (hsd announces each new block with its one header).
pub const MAX_ANNOUNCED_HEADERS: usize = 16;

/// What one GETHEADERS round brought.
struct Exchange {
    /// The answer (empty when the peer had nothing past the locator).
    answer: Vec<Header>,
    /// HEADERS that did not start at the locator: announcements that crossed the request.
    announcements: Vec<Vec<Header>>,
}

/// Reads the answer to a GETHEADERS just sent with `locator`: the first HEADERS that starts at
/// a locator hash, or the PONG of a PING barrier sent right behind the request (hsd sends
/// nothing at all when it has no headers past the locator, and peers handle packets in order,
/// so a PONG first means "nothing new"). Small HEADERS that start elsewhere are announcements
/// that crossed the request; a large one is a batch that connects to nothing (misbehaviour).
async fn answer_to_getheaders(
    peer: &mut PeerConnection,
    locator: &[BlockHash],
    set_aside: &mut SetAside,
) -> Result<Exchange, SyncError> {
    let barrier = rand::random::<u64>();
    peer.send(&Packet::Ping(barrier)).await?;
    let deadline = tokio::time::Instant::now() + peer.response_timeout();
    let mut exchange = Exchange {
        answer: Vec::new(),
        announcements: Vec::new(),
    };
    loop {
        let remaining = deadline.saturating_duration_since(tokio::time::Instant::now());
        match peer.recv(remaining).await? {
            Packet::Pong(nonce) if nonce == barrier => break,
            Packet::Headers(headers) => {
                let Some(first) = headers.first() else {
                    continue;
                };
                if locator.contains(&first.prev_block) {
                    // The answer; the barrier's PONG that follows is ignored when it comes.
                    exchange.answer = headers;
                    break;
                } else if headers.len() > MAX_ANNOUNCED_HEADERS {
                    return Err(SyncError::Unconnected(
                        "a batch that connects to nothing we asked from",
                    ));
                } else if exchange.announcements.len() < MAX_CROSSING_ANNOUNCEMENTS {
                    exchange.announcements.push(headers);
                } else {
                    return Err(SyncError::Unconnected(
                        "headers that answer no request, in a flood",
                    ));
                }
            }
            other => set_aside.keep(other),
        }
        if set_aside.unsolicited() > 0 {
            return Err(SyncError::UnsolicitedProof);
        }
    }
    Ok(exchange)
}

/// Checks and inserts one unsolicited HEADERS. A large one that connects to nothing, or a full
/// batch that adds nothing, is misbehaviour.
fn announce_headers(
    sink: &mut impl HeaderSink,
    headers: Vec<Header>,
) -> Result<Accepted, SyncError> {
    let batch = headers.len();
    if batch > MAX_HEADERS {
        return Err(SyncError::OversizeBatch(batch));
    }
    let Some(first) = headers.first() else {
        return Ok(Accepted::default());
    };
    if batch > MAX_ANNOUNCED_HEADERS && !sink.knows(&first.prev_block) {
        return Err(SyncError::Unconnected(
            "a batch nobody asked for that connects to nothing",
        ));
    }
    let checked =
        precheck_batch(sink.params(), headers).map_err(|(_, e)| SyncError::InvalidHeader(e))?;
    let accepted = sink.accept(checked).map_err(SyncError::InvalidHeader)?;
    if batch == MAX_HEADERS && accepted.new == 0 && !accepted.orphaned {
        return Err(SyncError::NoProgress(batch));
    }
    Ok(accepted)
}

/// Updates the count of announcements in a row that named nothing we know.
fn count_unconnecting<'a>(
    sink: &mut impl HeaderSink,
    mut named: impl Iterator<Item = &'a BlockHash>,
    unconnecting: &mut u32,
) -> Result<(), SyncError> {
    if named.any(|hash| sink.knows(hash)) {
        *unconnecting = 0;
        return Ok(());
    }
    *unconnecting += 1;
    if *unconnecting > MAX_UNCONNECTING {
        return Err(SyncError::Unconnected(
            "announcements that never connect to the chain",
        ));
    }
    Ok(())
}

/// Follows the peer's new-tip announcements after a sync: an unsolicited HEADERS (what hsd
/// sends after SENDHEADERS) is checked and inserted; a header whose parent is unknown, or an
/// INV of unknown blocks (peers that ignore SENDHEADERS), triggers a [`sync_into`] round.
/// Returns once `done` says so after an announcement, or fails when `wait` passes without one.
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
    let mut unconnecting = 0;
    while !done(sink.chain) {
        let packet = peer.recv(wait).await?;
        let round = handle_announcement(
            peer,
            &mut sink,
            packet,
            &mut SetAside::default(),
            &mut unconnecting,
        )
        .await?;
        report.merge(round);
    }
    Ok(report)
}

/// Handles one packet that arrived outside a request: HEADERS announcements are checked and
/// inserted (a gap triggers a sync round), an INV naming a block we do not know triggers a sync
/// round; anything else is ignored. Proofs and pongs that arrive during the sync round go to
/// `set_aside`. `unconnecting` counts announcements in a row that still named nothing we know
/// after their sync round; past [`MAX_UNCONNECTING`] the peer is misbehaving. A full batch of
/// announced headers that adds nothing is misbehaviour too.
pub async fn handle_announcement(
    peer: &mut PeerConnection,
    sink: &mut impl HeaderSink,
    packet: Packet,
    set_aside: &mut SetAside,
    unconnecting: &mut u32,
) -> Result<SyncReport, SyncError> {
    let mut report = SyncReport::default();
    match packet {
        Packet::Headers(headers) => {
            let accepted = announce_headers(sink, headers)?;
            let (orphaned, last) = (accepted.orphaned, accepted.last_hash);
            report.absorb(accepted);
            if orphaned {
                let round = sync_into(peer, sink, set_aside, unconnecting).await?;
                report.merge(round);
                count_unconnecting(sink, last.iter(), unconnecting)?;
            } else if last.is_some_and(|hash| sink.knows(&hash)) {
                *unconnecting = 0;
            }
        }
        Packet::Inv(items) => {
            let unknown: Vec<BlockHash> = items
                .iter()
                .filter_map(|i| i.block_hash())
                .filter(|hash| !sink.knows(hash))
                .collect();
            if !unknown.is_empty() {
                let round = sync_into(peer, sink, set_aside, unconnecting).await?;
                report.merge(round);
                count_unconnecting(sink, unknown.iter(), unconnecting)?;
            }
        }
        _ => {}
    }
    Ok(report)
}

impl SyncReport {
    fn merge(&mut self, round: SyncReport) {
        self.received += round.received;
        self.reorgs.extend(round.reorgs);
        if round.last_on_best.is_some() {
            self.last_on_best = round.last_on_best;
        }
    }

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
    fn set_aside_keeps_awaited_answers_in_order_and_counts_the_rest() {
        use hnsfleet_hns::p2p::Proof;
        let proof = |n: u8| {
            Packet::Proof(Proof {
                root: TreeRoot([n; 32]),
                key: NameHash([n; 32]),
                proof: vec![n],
            })
        };
        let key = |n: u8| (TreeRoot([n; 32]), NameHash([n; 32]));
        let mut kept = SetAside::awaiting([key(1), key(2)]);
        kept.keep(proof(1));
        kept.keep(Packet::Headers(Vec::new()));
        kept.keep(Packet::Pong(7));
        kept.keep(Packet::Verack);
        kept.keep(proof(2));
        // Not asked for, or asked and already answered: counted, never kept.
        kept.keep(proof(3));
        kept.keep(proof(1));
        assert_eq!(kept.take(), vec![proof(1), Packet::Pong(7), proof(2)]);
        assert_eq!(kept.unsolicited(), 2);
        assert!(kept.take().is_empty());
        for _ in 0..SetAside::MAX_PONGS + 3 {
            kept.keep(Packet::Pong(1));
        }
        assert_eq!(
            (kept.take().len(), kept.dropped()),
            (SetAside::MAX_PONGS, 3)
        );
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
