//! A synthetic chain-follower for benches and hsd-free tests (feature `test-util`): a real
//! gRPC `ChainFollowerService` whose "chain" is an in-memory Urkel tree of `bench0` ..
//! `bench{n-1}` (each with a real name state and resource, taken from the regtest vectors and
//! renamed). It proves any name against that tree (existence or absence), so every answer
//! verifies like a real follower's; it announces one safe root and keeps its tip stream open.
//! It reports itself synced unless started with [`SyntheticFollower::start_syncing`]; a test
//! flips that with [`SyntheticFollower::set_synced`] (one tip event per change, as a real
//! follower sends). It is not a follower: no headers, no peers, no attestation.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use hnsfleet_hns::name::Name;
use hnsfleet_hns::namestate::NameState;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::TreeRoot;
use hnsfleet_hns::urkel::testtree::TestTree;
use hnsfleet_hns::urkel::verify_name_proof;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_server::{
    ChainFollowerService, ChainFollowerServiceServer,
};
use tokio::net::TcpListener;
use tokio::sync::{mpsc, watch};
use tokio_stream::wrappers::ReceiverStream;
use tonic::{Code, Request, Response, Status};

/// Height of the synthetic tip and of the header carrying the root.
pub const HEIGHT: u32 = 1000;

/// A raw regtest name state with a resource (the regtest vectors' first name, hsd 8.0.0).
const TEMPLATE_STATE: &str = include_str!("../data/bench-name-state.hex");

/// A running synthetic follower.
#[derive(Debug)]
pub struct SyntheticFollower {
    /// Its gRPC URL.
    pub url: String,
    /// The tree root it proves against.
    pub root: TreeRoot,
    lookups: Arc<AtomicU64>,
    synced: watch::Sender<bool>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Debug)]
struct Service {
    tree: TestTree,
    root: TreeRoot,
    lookups: Arc<AtomicU64>,
    delay: std::time::Duration,
    synced: watch::Receiver<bool>,
}

/// The name state of `bench{i}`: the template, renamed.
#[allow(clippy::expect_used)] // A constant, checked by this module's test.
pub fn name_state(i: usize) -> NameState {
    let raw = hex::decode(TEMPLATE_STATE.trim()).expect("the bench name state template is hex");
    let mut state = NameState::decode(&raw).expect("the bench name state template decodes");
    state.name = format!("bench{i}").into_bytes();
    state
}

// === impl SyntheticFollower ===

impl SyntheticFollower {
    /// Builds the tree of `names` names and serves it on `127.0.0.1:0`, synced.
    pub async fn start(names: usize) -> std::io::Result<SyntheticFollower> {
        Self::start_slow(names, std::time::Duration::ZERO).await
    }

    /// [`SyntheticFollower::start`], answering every look-up only after `delay` (a slow
    /// follower, for hedging).
    pub async fn start_slow(
        names: usize,
        delay: std::time::Duration,
    ) -> std::io::Result<SyntheticFollower> {
        Self::start_with(names, delay, true).await
    }

    /// [`SyntheticFollower::start`], but reporting itself not synced (a follower still in its
    /// header sync: it announces its root, which must not be trusted) until
    /// [`SyntheticFollower::set_synced`].
    pub async fn start_syncing(names: usize) -> std::io::Result<SyntheticFollower> {
        Self::start_with(names, std::time::Duration::ZERO, false).await
    }

    async fn start_with(
        names: usize,
        delay: std::time::Duration,
        synced: bool,
    ) -> std::io::Result<SyntheticFollower> {
        let entries = (0..names)
            .map(|i| {
                let state = name_state(i);
                let key = Name::parse(&format!("bench{i}"))
                    .map(|n| n.hash().0)
                    .unwrap_or_default();
                (key, state.encode())
            })
            .collect();
        let tree = TestTree::build(entries);
        let root = tree.root();
        let lookups = Arc::new(AtomicU64::new(0));
        let (synced, synced_rx) = watch::channel(synced);
        let listener = TcpListener::bind(SocketAddr::from(([127, 0, 0, 1], 0))).await?;
        let url = format!("http://{}", listener.local_addr()?);
        let service = Service {
            tree,
            root,
            lookups: Arc::clone(&lookups),
            delay,
            synced: synced_rx,
        };
        let server = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(ChainFollowerServiceServer::new(service))
                .serve_with_incoming(hnsfleet_service_kit::grpc::incoming(listener))
                .await;
        });
        Ok(SyntheticFollower {
            url,
            root,
            lookups,
            synced,
            server,
        })
    }

    /// Reports the chain synced (or not) from now on: `GetTip` says so, and every open
    /// `WatchTip` stream gets an event with the same tip when the state changes.
    pub fn set_synced(&self, synced: bool) {
        self.synced.send_replace(synced);
    }

    /// `LookupName` requests answered so far.
    pub fn lookups(&self) -> u64 {
        self.lookups.load(Ordering::SeqCst)
    }
}

impl Drop for SyntheticFollower {
    fn drop(&mut self) {
        self.server.abort();
    }
}

// === impl Service ===

impl Service {
    fn tip(&self) -> pb::Tip {
        pb::Tip {
            height: HEIGHT,
            hash: vec![0x11; 32],
            tree_root: self.root.as_bytes().to_vec(),
            chainwork_be: vec![0; 32],
            time_unix_secs: 0,
        }
    }

    fn safe_root(&self) -> pb::SafeRoot {
        pb::SafeRoot {
            height: HEIGHT,
            tree_root: self.root.as_bytes().to_vec(),
        }
    }

    fn event(&self, synced: bool) -> pb::WatchTipResponse {
        pb::WatchTipResponse {
            tip: Some(self.tip()),
            reorg_depth: 0,
            missed_changes: false,
            safe_root: Some(self.safe_root()),
            synced,
        }
    }
}

#[tonic::async_trait]
impl ChainFollowerService for Service {
    async fn get_tip(
        &self,
        _: Request<pb::GetTipRequest>,
    ) -> Result<Response<pb::GetTipResponse>, Status> {
        Ok(Response::new(pb::GetTipResponse {
            tip: Some(self.tip()),
            network: pb::Network::Regtest as i32,
            safe_root: Some(self.safe_root()),
            synced: *self.synced.borrow(),
        }))
    }

    type WatchTipStream = ReceiverStream<Result<pb::WatchTipResponse, Status>>;

    async fn watch_tip(
        &self,
        _: Request<pb::WatchTipRequest>,
    ) -> Result<Response<Self::WatchTipStream>, Status> {
        let (tx, rx) = mpsc::channel(1);
        let mut synced = self.synced.clone();
        let first = self.event(*synced.borrow_and_update());
        let (tip, root) = (self.tip(), self.safe_root());
        tokio::spawn(async move {
            if tx.send(Ok(first)).await.is_err() {
                return;
            }
            // The tip never changes; only the synced state does. Hold the stream open until
            // the client goes.
            loop {
                tokio::select! {
                    changed = synced.changed() => {
                        if changed.is_err() {
                            tx.closed().await;
                            return;
                        }
                        let event = pb::WatchTipResponse {
                            tip: Some(tip.clone()),
                            reorg_depth: 0,
                            missed_changes: false,
                            safe_root: Some(root.clone()),
                            synced: *synced.borrow_and_update(),
                        };
                        if tx.send(Ok(event)).await.is_err() {
                            return;
                        }
                    }
                    () = tx.closed() => return,
                }
            }
        });
        Ok(Response::new(ReceiverStream::new(rx)))
    }

    async fn lookup_name(
        &self,
        request: Request<pb::LookupNameRequest>,
    ) -> Result<Response<pb::LookupNameResponse>, Status> {
        self.lookups.fetch_add(1, Ordering::Relaxed);
        if !self.delay.is_zero() {
            tokio::time::sleep(self.delay).await;
        }
        let request = request.into_inner();
        if let Some(root) = &request.root
            && (root.height != HEIGHT || root.tree_root[..] != self.root.as_bytes()[..])
        {
            return Err(
                pb::ErrorReason::UnknownRoot.status(Code::FailedPrecondition, "not our root")
            );
        }
        let name = Name::parse(&request.name).map_err(|e| {
            pb::ErrorReason::InvalidName.status(Code::InvalidArgument, e.to_string())
        })?;
        let key = name.hash();
        let proof = self.tree.prove(&key).encode();
        let verified = verify_name_proof(&self.root, &key, &proof)
            .map_err(|e| Status::internal(e.to_string()))?;
        Ok(Response::new(pb::LookupNameResponse {
            lookup: Some(hnsfleet_proto::convert::name_lookup(
                &name,
                HEIGHT,
                &self.root,
                verified.state(),
                Bytes::from(proof),
                Some(Network::Regtest),
                HEIGHT,
            )),
        }))
    }

    async fn get_attestation(
        &self,
        _: Request<pb::GetAttestationRequest>,
    ) -> Result<Response<pb::GetAttestationResponse>, Status> {
        Err(Status::unimplemented(
            "a synthetic follower does not attest",
        ))
    }

    async fn get_headers(
        &self,
        _: Request<pb::GetHeadersRequest>,
    ) -> Result<Response<pb::GetHeadersResponse>, Status> {
        Err(Status::unimplemented("a synthetic follower has no headers"))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_template_is_a_name_state_with_a_resource() {
        let raw = hex::decode(TEMPLATE_STATE.trim()).unwrap();
        let state = NameState::decode(&raw).unwrap();
        assert!(state.resource_data().is_some());
        assert_eq!(name_state(7).name, b"bench7");
    }
}
