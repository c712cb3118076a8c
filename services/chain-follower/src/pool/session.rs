//! One peer session: the first header sync, then a loop over proof jobs, the peer's packets
//! (proofs, announcements, pings) and a timer for deadlines and keep-alive. Ends with the
//! reason the pool acts on (ban, redial later, stop).

use std::collections::{HashMap, VecDeque};
use std::sync::atomic::Ordering;
use std::time::Duration;

use hnsfleet_hns::p2p::{GetProof, MAX_HEADERS, Packet, Proof};
use hnsfleet_hns::types::{NameHash, TreeRoot};
use hnsfleet_hns::urkel::verify_name_proof;
use tokio::sync::{mpsc, oneshot};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::{
    BanReason, IDLE_PING, JOB_QUEUE, JobResult, LOADER_WAIT, MAX_IN_FLIGHT, PING_TIMEOUT, Pool,
    ProofJob, SessionInfo,
};
use crate::peer::{PeerConnection, PeerError};
use crate::sync::{SetAside, SyncError, handle_announcement, sync_into};

struct InFlight {
    deadline: Instant,
    replies: Vec<oneshot::Sender<JobResult>>,
}

/// Proofs asked of this peer and not yet answered, by (root, name hash).
type InFlightMap = HashMap<(TreeRoot, NameHash), InFlight>;

/// Hands a PROOF to the look-ups waiting for it. A proof nobody asked for (or asked and
/// already answered) ends the session with a ban, so a peer cannot make us verify proofs at
/// will; one that does not verify fails its look-ups and ends the session with a ban.
fn deliver_proof(in_flight: &mut InFlightMap, p: Proof) -> Result<(), SessionEnd> {
    let Some(flight) = in_flight.remove(&(p.root, p.key)) else {
        return Err(SessionEnd::Ban(
            BanReason::Protocol,
            "unsolicited proof".into(),
        ));
    };
    match verify_name_proof(&p.root, &p.key, &p.proof) {
        Ok(verified) => {
            for reply in flight.replies {
                let _ = reply.send(Ok((verified.clone(), p.proof.clone())));
            }
            Ok(())
        }
        Err(e) => {
            for reply in flight.replies {
                let _ = reply.send(Err("peer sent a bad proof".into()));
            }
            Err(SessionEnd::Ban(BanReason::BadProof, e.to_string()))
        }
    }
}

/// Handles a packet that answers something this session asked: a PROOF goes to the look-ups
/// waiting for it ([`deliver_proof`]), a PONG clears our outstanding keep-alive PING. Any
/// other packet is ignored.
fn on_answer(
    in_flight: &mut InFlightMap,
    ping: &mut Option<(u64, Instant)>,
    packet: Packet,
) -> Result<(), SessionEnd> {
    match packet {
        Packet::Proof(p) => deliver_proof(in_flight, p),
        Packet::Pong(nonce) => {
            if ping.is_some_and(|(n, _)| n == nonce) {
                *ping = None;
            }
            Ok(())
        }
        _ => Ok(()),
    }
}

#[derive(Debug)]
pub(super) enum SessionEnd {
    Shutdown,
    Closed,
    Timeout(&'static str),
    /// The peer flooded us or stopped reading: dropped (and redialled with backoff).
    Dropped(String),
    Error(String),
    Ban(BanReason, String),
}

// === impl SessionEnd ===

impl SessionEnd {
    pub(super) fn label(&self) -> &'static str {
        match self {
            SessionEnd::Shutdown | SessionEnd::Closed => "closed",
            SessionEnd::Timeout(_) => "timeout",
            SessionEnd::Dropped(_) => "dropped",
            SessionEnd::Error(_) => "error",
            SessionEnd::Ban(..) => "banned",
        }
    }

    fn from_peer(e: PeerError) -> SessionEnd {
        match e {
            PeerError::Closed => SessionEnd::Closed,
            PeerError::Timeout(what) => SessionEnd::Timeout(what),
            e @ (PeerError::Flood(_) | PeerError::NotReading(_)) => {
                SessionEnd::Dropped(e.to_string())
            }
            PeerError::Protocol(e) => SessionEnd::Ban(BanReason::Protocol, e.to_string()),
            PeerError::Brontide(e) if e.is_protocol_violation() => {
                SessionEnd::Ban(BanReason::Protocol, e.to_string())
            }
            other => SessionEnd::Error(other.to_string()),
        }
    }

    fn from_sync(e: SyncError) -> SessionEnd {
        match e {
            SyncError::Peer(e) => SessionEnd::from_peer(e),
            SyncError::InvalidHeader(e) if e.ban_worthy() => {
                SessionEnd::Ban(BanReason::InvalidHeader, e.to_string())
            }
            SyncError::InvalidHeader(e) => SessionEnd::Error(e.to_string()),
            other => SessionEnd::Ban(BanReason::Protocol, other.to_string()),
        }
    }
}

/// Limits GETPROOF requests per peer to [`ProofBudget::PER_SECOND`] in any one-second
/// interval. hsd bans a peer whose proof score — last window's count weighted by the part of
/// it still "visible", plus this window's count — reaches 100 (`maxProofRPS`, hsd
/// `lib/net/slidingwindow.js`). With at most 50 sends in every one-second interval that score
/// stays below 100 however hsd's windows are aligned; look-ups over the budget wait here and
/// spill to other peers through hedging.
struct ProofBudget {
    sent: VecDeque<Instant>,
}

impl ProofBudget {
    /// Most requests in any one-second interval.
    const PER_SECOND: usize = 50;

    fn new() -> ProofBudget {
        ProofBudget {
            sent: VecDeque::with_capacity(Self::PER_SECOND),
        }
    }

    fn take(&mut self, now: Instant) -> bool {
        while self
            .sent
            .front()
            .is_some_and(|t| now.duration_since(*t) >= Duration::from_secs(1))
        {
            self.sent.pop_front();
        }
        if self.sent.len() < Self::PER_SECOND {
            self.sent.push_back(now);
            true
        } else {
            false
        }
    }
}

// === impl Pool (sessions) ===

impl Pool {
    /// Waits for this session's turn to download a long stretch of headers: returns at once
    /// (`None`) when the peer claims at most one batch past our tip; otherwise the loader lock,
    /// or `None` once another peer's sync brought the chain within a batch of the claim, or
    /// after [`LOADER_WAIT`] (then it syncs alongside the loader).
    async fn loader_turn(&self, claimed: u32) -> Option<tokio::sync::MutexGuard<'_, ()>> {
        let give_up = Instant::now() + LOADER_WAIT;
        let batch = u32::try_from(MAX_HEADERS).unwrap_or(u32::MAX);
        loop {
            let caught_up = claimed <= self.follower.tip().height.saturating_add(batch);
            if caught_up || Instant::now() >= give_up {
                return None;
            }
            tokio::select! {
                guard = self.loader.lock() => return Some(guard),
                () = tokio::time::sleep(Duration::from_secs(1)) => {}
            }
        }
    }

    /// Sends GETPROOF for waiting jobs while the peer's budget and in-flight bound allow.
    /// Jobs whose look-up already finished elsewhere are dropped unsent.
    async fn send_waiting(
        &self,
        conn: &mut PeerConnection,
        waiting: &mut VecDeque<ProofJob>,
        in_flight: &mut InFlightMap,
        budget: &mut ProofBudget,
    ) -> Result<(), PeerError> {
        while let Some(job) = waiting.pop_front() {
            if job.reply.is_closed() {
                continue;
            }
            let k = (job.root, job.key);
            if let Some(flight) = in_flight.get_mut(&k) {
                flight.replies.push(job.reply);
                continue;
            }
            if in_flight.len() >= MAX_IN_FLIGHT || !budget.take(Instant::now()) {
                waiting.push_front(job);
                return Ok(());
            }
            conn.send(&Packet::GetProof(GetProof {
                root: job.root,
                key: job.key,
            }))
            .await?;
            in_flight.insert(
                k,
                InFlight {
                    deadline: Instant::now() + self.config.proof_timeout,
                    replies: vec![job.reply],
                },
            );
        }
        Ok(())
    }

    pub(super) async fn run_session(
        &self,
        mut conn: PeerConnection,
        key: &str,
        shutdown: &CancellationToken,
    ) -> SessionEnd {
        let id = self.next_id.fetch_add(1, Ordering::Relaxed);
        let (jobs_tx, mut jobs) = mpsc::channel(JOB_QUEUE);
        let claimed = conn.version().height;
        tracing::info!(height = claimed, agent = %conn.version().agent, "peer connected");
        self.sessions.lock().insert(
            id,
            SessionInfo {
                addr: key.to_string(),
                jobs: jobs_tx,
                height: claimed,
                tip: None,
                abandoned: VecDeque::new(),
                synced: false,
                score: None,
            },
        );
        self.publish_peer_stats(false);
        let end = tokio::select! {
            end = self.session(&mut conn, id, key, &mut jobs) => end,
            () = shutdown.cancelled() => SessionEnd::Shutdown,
        };
        self.sessions.lock().remove(&id);
        self.follower.forget_origin(id);
        self.publish_peer_stats(false);
        end
    }

    async fn session(
        &self,
        conn: &mut PeerConnection,
        id: u64,
        key: &str,
        jobs: &mut mpsc::Receiver<ProofJob>,
    ) -> SessionEnd {
        let claimed = conn.version().height;
        let loader = self.loader_turn(claimed).await;
        // Nothing is in flight yet: any PROOF now is unsolicited and ends the sync.
        let mut unconnecting = 0u32;
        let sink = &mut self.follower.sink(id);
        let synced = sync_into(conn, sink, &mut SetAside::default(), &mut unconnecting).await;
        drop(loader);
        match synced {
            Ok(report) => {
                let tip = self.follower.tip().height;
                self.update_session(id, |s| {
                    s.synced = true;
                    match report.last_on_best {
                        Some((hash, height)) => {
                            s.prove_tip((hash, height), |t| {
                                !self.follower.is_on_best_chain(&t.0, t.1)
                            });
                            s.height = height;
                        }
                        // The peer had nothing past our chain: its claim is at most our tip.
                        None => s.height = s.height.min(tip),
                    }
                });
                self.publish_peer_stats(true);
            }
            Err(e) => return SessionEnd::from_sync(e),
        }
        if self.config.discover
            && let Err(e) = conn.send(&Packet::GetAddr).await
        {
            return SessionEnd::from_peer(e);
        }
        let mut in_flight = InFlightMap::new();
        let mut tick = tokio::time::interval(Duration::from_millis(100));
        let mut last_packet = Instant::now();
        let mut ping: Option<(u64, Instant)> = None;
        let mut budget = ProofBudget::new();
        let mut waiting: VecDeque<ProofJob> = VecDeque::new();
        loop {
            tokio::select! {
                job = jobs.recv() => {
                    let Some(job) = job else { return SessionEnd::Closed };
                    if let Some(flight) = in_flight.get_mut(&(job.root, job.key)) {
                        flight.replies.push(job.reply);
                        continue;
                    }
                    if waiting.len() >= JOB_QUEUE {
                        // The look-up moves on to another peer.
                        let _ = job.reply.send(Err("peer busy".into()));
                        continue;
                    }
                    waiting.push_back(job);
                    if let Err(e) = self.send_waiting(conn, &mut waiting, &mut in_flight, &mut budget).await {
                        return SessionEnd::from_peer(e);
                    }
                }
                packet = conn.next_packet() => {
                    let packet = match packet {
                        Ok(p) => p,
                        Err(e) => return SessionEnd::from_peer(e),
                    };
                    last_packet = Instant::now();
                    let packet = match conn.handle_keepalive(packet).await {
                        Ok(Some(p)) => p,
                        Ok(None) => continue,
                        Err(e) => return SessionEnd::from_peer(e),
                    };
                    match packet {
                        answer @ (Packet::Proof(_) | Packet::Pong(_)) => {
                            if let Err(end) = on_answer(&mut in_flight, &mut ping, answer) {
                                return end;
                            }
                        }
                        Packet::Addr(entries) if self.config.discover => {
                            self.learn_gossip(key, &entries);
                        }
                        packet @ (Packet::Headers(_) | Packet::Inv(_)) => {
                            let mut set_aside = SetAside::awaiting(in_flight.keys().copied());
                            let sink = &mut self.follower.sink(id);
                            let handled = handle_announcement(
                                conn, sink, packet, &mut set_aside, &mut unconnecting,
                            )
                            .await;
                            match handled {
                                Ok(report) => {
                                    if let Some((hash, height)) = report.last_on_best {
                                        self.update_session(id, |s| {
                                            s.prove_tip((hash, height), |t| !self.follower.is_on_best_chain(&t.0, t.1));
                                            s.height = s.height.max(height);
                                        });
                                        self.publish_peer_stats(false);
                                    }
                                }
                                Err(e) => return SessionEnd::from_sync(e),
                            }
                            // Answers that came in while the announcement was being synced.
                            if set_aside.dropped() > 0 {
                                tracing::debug!(dropped = set_aside.dropped(), "pongs dropped during a sync");
                            }
                            for answer in set_aside.take() {
                                if let Err(end) = on_answer(&mut in_flight, &mut ping, answer) {
                                    return end;
                                }
                            }
                        }
                        _ => {}
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = self.send_waiting(conn, &mut waiting, &mut in_flight, &mut budget).await {
                        return SessionEnd::from_peer(e);
                    }
                    let now = Instant::now();
                    if in_flight.values().any(|f| f.deadline <= now) {
                        return SessionEnd::Timeout("a proof");
                    }
                    match ping {
                        Some((_, sent)) if now.duration_since(sent) >= PING_TIMEOUT => {
                            return SessionEnd::Timeout("pong");
                        }
                        None if now.duration_since(last_packet) >= IDLE_PING => {
                            let nonce = rand::random::<u64>();
                            if let Err(e) = conn.send(&Packet::Ping(nonce)).await {
                                return SessionEnd::from_peer(e);
                            }
                            ping = Some((nonce, now));
                        }
                        _ => {}
                    }
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn proof_budget_allows_fifty_in_any_second() {
        let start = Instant::now();
        let mut budget = ProofBudget::new();
        assert_eq!((0..200).filter(|_| budget.take(start)).count(), 50);
        // Still within the same second: nothing.
        let late = start + Duration::from_millis(999);
        assert_eq!((0..200).filter(|_| budget.take(late)).count(), 0);
        // A second after the burst: 50 more, and again none right after.
        let next = start + Duration::from_secs(1);
        assert_eq!((0..200).filter(|_| budget.take(next)).count(), 50);
        assert_eq!((0..200).filter(|_| budget.take(next)).count(), 0);
    }
}
