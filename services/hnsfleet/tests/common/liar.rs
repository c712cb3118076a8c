//! A lying chain-follower for tests: a gRPC server that passes everything through to a real
//! follower except that it tampers with every `LookupName` answer, in one of the ways a
//! compromised or buggy follower could. Its tip stream stays honest, so it counts towards the
//! quorum until it is caught.

use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};

use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use hnsfleet_proto::follower::v1::chain_follower_service_server::{
    ChainFollowerService, ChainFollowerServiceServer,
};
use tokio::net::TcpListener;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

/// How the liar tampers with look-ups.
#[derive(Debug, Clone)]
pub(crate) enum Lie {
    /// Flips one byte in the middle of the proof.
    FlipProofByte,
    /// Answers with a genuine proof against this other root of the chain.
    OtherRoot(pb::SafeRoot),
}

/// A running liar.
#[derive(Debug)]
pub(crate) struct Liar {
    /// Its gRPC URL.
    pub(crate) url: String,
    /// `LookupName` requests it received.
    pub(crate) asked: Arc<AtomicUsize>,
    server: tokio::task::JoinHandle<()>,
}

#[derive(Debug, Clone)]
struct Service {
    inner: ChainFollowerServiceClient<Channel>,
    lie: Lie,
    asked: Arc<AtomicUsize>,
}

impl Liar {
    /// Starts a liar in front of the follower at `follower_url`.
    pub(crate) async fn start(follower_url: &str, lie: Lie) -> Liar {
        let inner = ChainFollowerServiceClient::connect(follower_url.to_string())
            .await
            .unwrap();
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let asked = Arc::new(AtomicUsize::new(0));
        let service = Service {
            inner,
            lie,
            asked: Arc::clone(&asked),
        };
        let server = tokio::spawn(async move {
            let _ = tonic::transport::Server::builder()
                .add_service(ChainFollowerServiceServer::new(service))
                .serve_with_incoming(hnsfleet_service_kit::grpc::incoming(listener))
                .await;
        });
        Liar { url, asked, server }
    }

    /// Look-ups received so far.
    pub(crate) fn asked(&self) -> usize {
        self.asked.load(Ordering::SeqCst)
    }
}

impl Drop for Liar {
    fn drop(&mut self) {
        self.server.abort();
    }
}

#[tonic::async_trait]
impl ChainFollowerService for Service {
    async fn get_tip(
        &self,
        request: Request<pb::GetTipRequest>,
    ) -> Result<Response<pb::GetTipResponse>, Status> {
        self.inner.clone().get_tip(request.into_inner()).await
    }

    type WatchTipStream = std::pin::Pin<
        Box<dyn tokio_stream::Stream<Item = Result<pb::WatchTipResponse, Status>> + Send>,
    >;

    async fn watch_tip(
        &self,
        request: Request<pb::WatchTipRequest>,
    ) -> Result<Response<Self::WatchTipStream>, Status> {
        let stream = self
            .inner
            .clone()
            .watch_tip(request.into_inner())
            .await?
            .into_inner();
        Ok(Response::new(Box::pin(stream.map(|event| event))))
    }

    async fn lookup_name(
        &self,
        request: Request<pb::LookupNameRequest>,
    ) -> Result<Response<pb::LookupNameResponse>, Status> {
        self.asked.fetch_add(1, Ordering::SeqCst);
        let mut request = request.into_inner();
        if let Lie::OtherRoot(root) = &self.lie {
            request.root = Some(root.clone());
        }
        let mut response = self.inner.clone().lookup_name(request).await?.into_inner();
        if let (Lie::FlipProofByte, Some(lookup)) = (&self.lie, response.lookup.as_mut()) {
            let mut proof = lookup.proof.to_vec();
            let middle = proof.len() / 2;
            proof[middle] ^= 0x01;
            lookup.proof = proof.into();
        }
        Ok(Response::new(response))
    }

    async fn get_attestation(
        &self,
        request: Request<pb::GetAttestationRequest>,
    ) -> Result<Response<pb::GetAttestationResponse>, Status> {
        self.inner
            .clone()
            .get_attestation(request.into_inner())
            .await
    }

    async fn get_headers(
        &self,
        request: Request<pb::GetHeadersRequest>,
    ) -> Result<Response<pb::GetHeadersResponse>, Status> {
        self.inner.clone().get_headers(request.into_inner()).await
    }
}
