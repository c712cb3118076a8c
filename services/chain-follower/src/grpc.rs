//! The gRPC face of the follower (`proto/hnsfleet/follower/v1`). Prost types stay here: the
//! handlers convert domain values into them and map every failure to one status code
//! ([`status_of`]).

use std::sync::Arc;

use hnsfleet_hns::chain::ChainEntry;
use hnsfleet_hns::name::Name;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_server::ChainFollower;
use tokio::sync::{broadcast, mpsc};
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};
use tracing::Instrument;

use crate::follower::{Follower, TipChange};
use crate::pool::{LookupFailure, NameAnswer, Pool};

/// Tip events buffered per watcher on the wire side.
const WATCH_BUFFER: usize = 16;

/// The `ChainFollower` service implementation.
#[derive(Debug, Clone)]
pub struct FollowerApi {
    follower: Arc<Follower>,
    pool: Arc<Pool>,
    shutdown: CancellationToken,
}

// === impl FollowerApi ===

impl FollowerApi {
    /// Serves `follower`'s chain and `pool`'s look-ups; watch streams end on `shutdown`.
    pub fn new(follower: Arc<Follower>, pool: Arc<Pool>, shutdown: CancellationToken) -> Self {
        FollowerApi {
            follower,
            pool,
            shutdown,
        }
    }
}

#[tonic::async_trait]
impl ChainFollower for FollowerApi {
    async fn get_tip(&self, _: Request<pb::GetTipRequest>) -> Result<Response<pb::Tip>, Status> {
        Ok(Response::new(tip_message(&self.follower.tip())))
    }

    type WatchTipStream = ReceiverStream<Result<pb::TipEvent, Status>>;

    async fn watch_tip(
        &self,
        _: Request<pb::WatchTipRequest>,
    ) -> Result<Response<Self::WatchTipStream>, Status> {
        // Subscribe before reading the tip so no change falls between the two.
        let mut changes = self.follower.subscribe();
        let (tx, rx) = mpsc::channel(WATCH_BUFFER);
        let first = TipChange {
            tip: self.follower.tip(),
            reorg_depth: 0,
        };
        let follower = Arc::clone(&self.follower);
        let shutdown = self.shutdown.clone();
        tokio::spawn(
            async move {
                if tx.send(Ok(event_message(&first))).await.is_err() {
                    return;
                }
                loop {
                    let change = tokio::select! {
                        change = changes.recv() => change,
                        () = shutdown.cancelled() => return,
                        () = tx.closed() => return,
                    };
                    let event = match change {
                        Ok(change) => event_message(&change),
                        // A slow watcher missed events: give it the current tip.
                        Err(broadcast::error::RecvError::Lagged(_)) => event_message(&TipChange {
                            tip: follower.tip(),
                            reorg_depth: 0,
                        }),
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
    ) -> Result<Response<pb::NameLookup>, Status> {
        let raw = request.into_inner().name;
        let name = Name::parse(&raw)
            .map_err(|e| Status::invalid_argument(format!("invalid name {raw:?}: {e}")))?;
        let span = tracing::info_span!("lookup", name = name.as_str());
        let key = name.hash();
        let metrics = self.follower.metrics();
        let started = tokio::time::Instant::now();
        let answer = self.pool.lookup(key).instrument(span).await;
        metrics
            .proof_latency
            .with_label_values(&[result_label(&answer)])
            .observe(started.elapsed().as_secs_f64());
        let answer = match answer {
            Ok(answer) => answer,
            Err(e) => {
                metrics.proofs_served.with_label_values(&["error"]).inc();
                return Err(status_of(&e));
            }
        };
        let state = answer.verified.state();
        let result = if state.is_some() { "exists" } else { "absent" };
        metrics.proofs_served.with_label_values(&[result]).inc();
        Ok(Response::new(pb::NameLookup {
            name: name.as_str().to_string(),
            name_hash: key.as_bytes().to_vec(),
            height: answer.height,
            root: answer.root.as_bytes().to_vec(),
            exists: state.is_some(),
            name_state: state.map(|s| s.encode()).unwrap_or_default(),
            resource: state
                .and_then(|s| s.resource_data())
                .map(<[u8]>::to_vec)
                .unwrap_or_default(),
            proof: answer.proof,
            network: self.follower.params().network.to_string(),
            tip_height: self.follower.tip().height,
        }))
    }

    async fn get_attestation(
        &self,
        _: Request<pb::GetAttestationRequest>,
    ) -> Result<Response<pb::Attestation>, Status> {
        let signed = self.follower.attest();
        let s = &signed.statement;
        let tip = pb::Tip {
            height: s.height,
            hash: s.hash.as_bytes().to_vec(),
            tree_root: s.tree_root.as_bytes().to_vec(),
            chainwork: s.chainwork.to_vec(),
            time: s.time,
        };
        Ok(Response::new(pb::Attestation {
            tip: Some(tip),
            public_key: signed.public_key.to_vec(),
            signed_at: s.signed_at,
            signature: signed.signature.to_vec(),
            signed: signed.encode().to_vec(),
        }))
    }
}

/// The gRPC status for a failed look-up.
pub fn status_of(e: &LookupFailure) -> Status {
    match e {
        LookupFailure::Timeout(_) => Status::deadline_exceeded(e.to_string()),
        _ => Status::unavailable(e.to_string()),
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

fn tip_message(tip: &ChainEntry) -> pb::Tip {
    pb::Tip {
        height: tip.height,
        hash: tip.hash.as_bytes().to_vec(),
        tree_root: tip.tree_root.as_bytes().to_vec(),
        chainwork: tip.chainwork.to_be_bytes().to_vec(),
        time: tip.time,
    }
}

fn event_message(change: &TipChange) -> pb::TipEvent {
    pb::TipEvent {
        tip: Some(tip_message(&change.tip)),
        reorg_depth: change.reorg_depth,
    }
}
