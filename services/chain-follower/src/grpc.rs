//! The gRPC face of the follower (`proto/hnsfleet/follower/v1`). Prost types stay here: the
//! handlers build the messages from verified domain values through `hnsfleet_proto::convert`,
//! and every failure is an [`ApiError`] that one function, [`ApiError::classify`], maps to a
//! gRPC code and a machine-readable `ErrorInfo` reason ([`status_of`]).
//!
//! Server-wide limits (requests in flight, deadlines, call metrics) are the job of
//! `hnsfleet_service_kit::grpc::GrpcLayer`, wired in `service.rs`; the open `WatchTip` streams,
//! which that layer does not count, are bounded here.

use std::sync::Arc;

use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_hns::name::Name;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::ErrorReason;
use hnsfleet_proto::follower::v1::chain_follower_service_server::ChainFollowerService;
use thiserror::Error;
use tokio::sync::{Semaphore, broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Code, Request, Response, Status};
use tracing::Instrument;

use crate::follower::{Follower, KnownRoot, TipChange};
use crate::pool::{LookupFailure, NameAnswer, Pool};

/// Tip events buffered per watcher on the wire side.
const WATCH_BUFFER: usize = 16;

/// Why a call failed. [`ApiError::classify`] gives its code and reason.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum ApiError {
    /// The requested name is not a valid top-level name.
    #[error("invalid name {name:?}: {reason}")]
    InvalidName {
        /// The name as sent.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// The look-up failed (nothing unverified is returned instead).
    #[error(transparent)]
    Lookup(#[from] LookupFailure),
    /// All `WatchTip` slots are taken.
    #[error("too many open WatchTip streams (limit {0})")]
    TooManyWatchers(usize),
    /// The follower is shutting down.
    #[error("follower is shutting down")]
    Draining,
    /// The request named a root that is neither on the best chain nor on a recently
    /// disconnected header, within the served window.
    #[error("root {root} at height {height} is neither on this follower's best chain nor on a header it recently disconnected, within {window} tree intervals of its tip {tip_height}", window = crate::follower::ROOT_WINDOW_INTERVALS)]
    UnknownRoot {
        /// The root asked for (hex).
        root: String,
        /// Its claimed height.
        height: u32,
        /// The follower's tip height.
        tip_height: u32,
    },
    /// The request's root is malformed.
    #[error("invalid root: {0}")]
    InvalidRoot(String),
}

/// The `ChainFollowerService` implementation.
#[derive(Debug, Clone)]
pub struct FollowerApi {
    follower: Arc<Follower>,
    pool: Arc<Pool>,
    shutdown: CancellationToken,
    watchers: Arc<Semaphore>,
    max_watchers: usize,
}

/// The gRPC status of a failed call: the code and reason from [`ApiError::classify`], the
/// error's text as the message.
pub fn status_of(e: &ApiError) -> Status {
    let (code, reason) = e.classify();
    match e {
        ApiError::UnknownRoot { tip_height, .. } => reason.status_with(
            code,
            e.to_string(),
            [("tip_height".to_string(), tip_height.to_string())].into(),
        ),
        _ => reason.status(code, e.to_string()),
    }
}

// === impl ApiError ===

impl ApiError {
    /// The gRPC code and `ErrorInfo` reason of this error; the one place that decides them.
    pub fn classify(&self) -> (Code, ErrorReason) {
        match self {
            ApiError::InvalidName { .. } => (Code::InvalidArgument, ErrorReason::InvalidName),
            ApiError::Lookup(e) => match e {
                LookupFailure::NotSynced(_) => (Code::Unavailable, ErrorReason::NotSynced),
                LookupFailure::NoPeers(_) => (Code::Unavailable, ErrorReason::NoPeers),
                LookupFailure::Timeout(_) => (Code::Unavailable, ErrorReason::ProofTimeout),
                LookupFailure::AllFailed(_) => (Code::Unavailable, ErrorReason::AllPeersFailed),
            },
            ApiError::TooManyWatchers(_) => (Code::ResourceExhausted, ErrorReason::TooManyWatchers),
            ApiError::Draining => (Code::Unavailable, ErrorReason::Draining),
            ApiError::UnknownRoot { .. } => (Code::FailedPrecondition, ErrorReason::UnknownRoot),
            ApiError::InvalidRoot(_) => (Code::InvalidArgument, ErrorReason::InvalidRoot),
        }
    }
}

// === impl FollowerApi ===

impl FollowerApi {
    /// Serves `follower`'s chain and `pool`'s look-ups with at most `max_watchers` open
    /// `WatchTip` streams; on `shutdown`, streams end with `DRAINING` and new calls are refused.
    pub fn new(
        follower: Arc<Follower>,
        pool: Arc<Pool>,
        shutdown: CancellationToken,
        max_watchers: usize,
    ) -> Self {
        FollowerApi {
            follower,
            pool,
            shutdown,
            watchers: Arc::new(Semaphore::new(max_watchers)),
            max_watchers,
        }
    }

    fn network(&self) -> i32 {
        pb::Network::from(self.follower.params().network) as i32
    }

    fn refuse_if_draining(&self) -> Result<(), Status> {
        if self.shutdown.is_cancelled() {
            return Err(status_of(&ApiError::Draining));
        }
        Ok(())
    }
}

#[tonic::async_trait]
impl ChainFollowerService for FollowerApi {
    async fn get_tip(
        &self,
        _: Request<pb::GetTipRequest>,
    ) -> Result<Response<pb::GetTipResponse>, Status> {
        let now = self.follower.current();
        Ok(Response::new(pb::GetTipResponse {
            tip: Some(pb::Tip::from(&now.tip)),
            network: self.network(),
            safe_root: now.safe_root.as_ref().map(pb::SafeRoot::from),
            synced: now.synced,
        }))
    }

    type WatchTipStream = ReceiverStream<Result<pb::WatchTipResponse, Status>>;

    async fn watch_tip(
        &self,
        _: Request<pb::WatchTipRequest>,
    ) -> Result<Response<Self::WatchTipStream>, Status> {
        self.refuse_if_draining()?;
        let slot = Arc::clone(&self.watchers)
            .try_acquire_owned()
            .map_err(|_| status_of(&ApiError::TooManyWatchers(self.max_watchers)))?;
        // Subscribe before reading the tip so no change falls between the two.
        let mut changes = self.follower.subscribe();
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        let first = event_message(self.follower.current(), false);
        let follower = Arc::clone(&self.follower);
        let shutdown = self.shutdown.clone();
        tokio::spawn(
            async move {
                // The slot is held for the stream's life.
                let _slot = slot;
                if tx.send(Ok(first)).await.is_err() {
                    return;
                }
                loop {
                    let change = tokio::select! {
                        change = changes.recv() => change,
                        () = shutdown.cancelled() => {
                            // Tell the client why, so it reconnects elsewhere (best effort).
                            let _ = tx.try_send(Err(status_of(&ApiError::Draining)));
                            return;
                        }
                        () = tx.closed() => return,
                    };
                    let event = match change {
                        Ok(change) => event_message(change, false),
                        // A slow watcher missed events: give it the current tip, and say so.
                        Err(broadcast::error::RecvError::Lagged(_)) => {
                            event_message(follower.current(), true)
                        }
                        Err(broadcast::error::RecvError::Closed) => return,
                    };
                    if tx.send(Ok(event)).await.is_err() {
                        return;
                    }
                }
            }
            .instrument(tracing::debug_span!("watch_tip")),
        );
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn lookup_name(
        &self,
        request: Request<pb::LookupNameRequest>,
    ) -> Result<Response<pb::LookupNameResponse>, Status> {
        self.refuse_if_draining()?;
        let request = request.into_inner();
        let raw = request.name;
        let root = match &request.root {
            None => None,
            Some(wire) => {
                let asked = SafeRoot::try_from(wire)
                    .map_err(|e| status_of(&ApiError::InvalidRoot(e.to_string())))?;
                let root = self.follower.known_root(&asked).map_err(|tip_height| {
                    status_of(&ApiError::UnknownRoot {
                        root: asked.tree_root.to_hex(),
                        height: asked.height,
                        tip_height,
                    })
                })?;
                Some(root)
            }
        };
        let name = Name::parse(&raw).map_err(|e| {
            status_of(&ApiError::InvalidName {
                name: raw.clone(),
                reason: e.to_string(),
            })
        })?;
        let span = tracing::info_span!("lookup", name = name.as_str());
        let key = name.hash();
        let metrics = self.follower.metrics();
        let started = tokio::time::Instant::now();
        let disconnected = matches!(root, Some(KnownRoot::Disconnected(_)));
        let answer = self.pool.lookup(key, root).instrument(span).await;
        metrics
            .proof_latency
            .with_label_values(&[result_label(&answer)])
            .observe(started.elapsed().as_secs_f64());
        let count = |result: &str| {
            metrics.proofs_served.with_label_values(&[result]).inc();
            if disconnected {
                metrics
                    .disconnected_root_lookups
                    .with_label_values(&[result])
                    .inc();
            }
        };
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                count("error");
                return Err(status_of(&ApiError::Lookup(e)));
            }
        };
        let state = answer.verified.state();
        count(if state.is_some() { "exists" } else { "absent" });
        let lookup = hnsfleet_proto::convert::name_lookup(
            &name,
            answer.height,
            &answer.root,
            state,
            answer.proof.into(),
            Some(self.follower.params().network),
            self.follower.tip().height,
        );
        Ok(Response::new(pb::LookupNameResponse {
            lookup: Some(lookup),
        }))
    }

    async fn get_headers(
        &self,
        request: Request<pb::GetHeadersRequest>,
    ) -> Result<Response<pb::GetHeadersResponse>, Status> {
        self.refuse_if_draining()?;
        let wire = request
            .into_inner()
            .root
            .ok_or_else(|| status_of(&ApiError::InvalidRoot("no root given".into())))?;
        let asked = SafeRoot::try_from(&wire)
            .map_err(|e| status_of(&ApiError::InvalidRoot(e.to_string())))?;
        let (first_height, headers) = self.follower.root_headers(&asked).ok_or_else(|| {
            status_of(&ApiError::UnknownRoot {
                root: asked.tree_root.to_hex(),
                height: asked.height,
                tip_height: self.follower.tip().height,
            })
        })?;
        Ok(Response::new(pb::GetHeadersResponse {
            chain: Some(pb::HeaderChain {
                first_height,
                headers: headers.iter().map(|h| h.encode().to_vec()).collect(),
            }),
        }))
    }

    async fn get_attestation(
        &self,
        _: Request<pb::GetAttestationRequest>,
    ) -> Result<Response<pb::GetAttestationResponse>, Status> {
        let signed = self.follower.attest();
        Ok(Response::new(pb::GetAttestationResponse {
            attestation: Some(pb::Attestation::from(&signed)),
        }))
    }
}

fn event_message(change: TipChange, missed_changes: bool) -> pb::WatchTipResponse {
    pb::WatchTipResponse {
        tip: Some(pb::Tip::from(&change.tip)),
        reorg_depth: change.reorg_depth,
        missed_changes,
        safe_root: change.safe_root.as_ref().map(pb::SafeRoot::from),
        synced: change.synced,
    }
}

/// The `result` label of the proof latency histogram (one of
/// [`crate::metrics::LOOKUP_RESULTS`]).
pub fn result_label(answer: &Result<NameAnswer, LookupFailure>) -> &'static str {
    match answer {
        Ok(_) => "ok",
        Err(LookupFailure::NotSynced(_)) => "not_synced",
        Err(LookupFailure::NoPeers(_)) => "no_peers",
        Err(LookupFailure::Timeout(_)) => "timeout",
        Err(_) => "failed",
    }
}

#[cfg(test)]
mod tests;
