//! Scripted sources and a watchdog run in process: chain-followers whose tip a test moves
//! (real gRPC servers signing real attestations), an outside attester whose answer a test
//! sets, and reading the verdict stream and the metrics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use hnsfleet_attestation::TipStatement;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::{BlockHash, TreeRoot};
use hnsfleet_proto::follower::v1 as fpb;
use hnsfleet_proto::follower::v1::chain_follower_service_server::{
    ChainFollowerService, ChainFollowerServiceServer,
};
use hnsfleet_proto::watchdog::v1 as pb;
use hnsfleet_proto::watchdog::v1::reorg_watchdog_service_client::ReorgWatchdogServiceClient;
use hnsfleet_reorg_watchdog::config::WatchdogConfig;
use hnsfleet_reorg_watchdog::service::{WatchdogListeners, run};
use hnsfleet_service_kit::Lifecycle;
use hnsfleet_service_kit::cli::Listeners;
use parking_lot::Mutex;
use secp256k1::SecretKey;
use tokio::net::TcpListener;
use tokio::sync::broadcast;
use tokio_stream::Stream;
use tokio_stream::StreamExt;
use tonic::transport::Channel;
use tonic::{Request, Response, Status};

pub fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

pub fn key(n: u8) -> SecretKey {
    SecretKey::from_byte_array([n; 32]).unwrap()
}

pub fn block(chain: u8, height: u32) -> BlockHash {
    let mut bytes = [chain; 32];
    bytes[..4].copy_from_slice(&height.to_be_bytes());
    BlockHash(bytes)
}

pub fn statement(magic: u32, chain: u8, height: u32, signed_at: u64) -> TipStatement {
    let mut chainwork = [0u8; 32];
    chainwork[28..].copy_from_slice(&height.to_be_bytes());
    TipStatement {
        network_magic: magic,
        height,
        hash: block(chain, height),
        tree_root: TreeRoot([chain; 32]),
        chainwork,
        time: signed_at,
        signed_at,
    }
}

pub fn regtest() -> u32 {
    Network::Regtest.params().magic
}

/// A chain-follower whose tip the test moves.
#[derive(Clone)]
pub struct ScriptedFollower {
    key: SecretKey,
    tip: Arc<Mutex<(u8, u32)>>,
    events: broadcast::Sender<fpb::WatchTipResponse>,
    /// `GetAttestation` calls answered.
    pub reads: Arc<AtomicUsize>,
    /// Events the next `WatchTip` sends straight after its first, as fast as it is read.
    pub flood: Arc<AtomicUsize>,
    /// Flood events handed to the stream so far.
    pub served: Arc<AtomicUsize>,
}

impl ScriptedFollower {
    pub async fn start(key: SecretKey, chain: u8, height: u32) -> (ScriptedFollower, String) {
        let (events, _) = broadcast::channel(16);
        let follower = ScriptedFollower {
            key,
            tip: Arc::new(Mutex::new((chain, height))),
            events,
            reads: Arc::new(AtomicUsize::new(0)),
            flood: Arc::new(AtomicUsize::new(0)),
            served: Arc::new(AtomicUsize::new(0)),
        };
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let server = ChainFollowerServiceServer::new(follower.clone());
        tokio::spawn(
            tonic::transport::Server::builder()
                .add_service(server)
                .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
        );
        (follower, url)
    }

    pub fn event(&self, reorg_depth: u32) -> fpb::WatchTipResponse {
        let (chain, height) = *self.tip.lock();
        fpb::WatchTipResponse {
            tip: Some(fpb::Tip {
                height,
                hash: block(chain, height).as_bytes().to_vec(),
                tree_root: vec![chain; 32],
                chainwork_be: vec![0; 32],
                time_unix_secs: now(),
            }),
            reorg_depth,
            missed_changes: false,
            safe_root: Some(fpb::SafeRoot {
                height: height - 2,
                tree_root: vec![chain; 32],
            }),
            synced: true,
        }
    }

    /// Moves to `height` on `chain`, having disconnected `reorg_depth` blocks.
    pub fn move_to(&self, chain: u8, height: u32, reorg_depth: u32) {
        *self.tip.lock() = (chain, height);
        let _ = self.events.send(self.event(reorg_depth));
    }
}

pub type TipStream = Pin<Box<dyn Stream<Item = Result<fpb::WatchTipResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ChainFollowerService for ScriptedFollower {
    async fn get_tip(
        &self,
        _: Request<fpb::GetTipRequest>,
    ) -> Result<Response<fpb::GetTipResponse>, Status> {
        Err(Status::unimplemented("not scripted"))
    }

    type WatchTipStream = TipStream;

    async fn watch_tip(
        &self,
        _: Request<fpb::WatchTipRequest>,
    ) -> Result<Response<Self::WatchTipStream>, Status> {
        let first = self.event(0);
        let flood = self.flood.swap(0, Ordering::Relaxed);
        let (event, served) = (self.event(0), Arc::clone(&self.served));
        let flood = tokio_stream::iter(0..flood).map(move |_| {
            served.fetch_add(1, Ordering::Relaxed);
            Ok(event.clone())
        });
        let rest = tokio_stream::wrappers::BroadcastStream::new(self.events.subscribe())
            .filter_map(|event| event.ok().map(Ok));
        Ok(Response::new(Box::pin(
            tokio_stream::once(Ok(first)).chain(flood).chain(rest),
        )))
    }

    async fn lookup_name(
        &self,
        _: Request<fpb::LookupNameRequest>,
    ) -> Result<Response<fpb::LookupNameResponse>, Status> {
        Err(Status::unimplemented("not scripted"))
    }

    async fn get_attestation(
        &self,
        _: Request<fpb::GetAttestationRequest>,
    ) -> Result<Response<fpb::GetAttestationResponse>, Status> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        let (chain, height) = *self.tip.lock();
        let signed = statement(regtest(), chain, height, now()).sign(&self.key);
        Ok(Response::new(fpb::GetAttestationResponse {
            attestation: Some(fpb::Attestation::from(&signed)),
        }))
    }

    async fn get_headers(
        &self,
        _: Request<fpb::GetHeadersRequest>,
    ) -> Result<Response<fpb::GetHeadersResponse>, Status> {
        Err(Status::unimplemented("not scripted"))
    }
}

/// An outside attester whose answer the test sets.
pub async fn attester() -> (Arc<Mutex<Vec<u8>>>, String) {
    let body = Arc::new(Mutex::new(Vec::new()));
    let served = Arc::clone(&body);
    let app = Router::new().route(
        "/v1/attestation.bin",
        get(move || {
            let served = Arc::clone(&served);
            async move { served.lock().clone() }
        }),
    );
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(async move { axum::serve(listener, app).await });
    (body, url)
}

pub struct Running {
    pub client: ReorgWatchdogServiceClient<Channel>,
    pub grpc: SocketAddr,
    pub admin: SocketAddr,
    pub publish: SocketAddr,
    pub lifecycle: Lifecycle,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.lifecycle.force();
    }
}

pub async fn watchdog(toml: &str) -> Running {
    let config = WatchdogConfig::from_toml(toml).unwrap();
    let grpc = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let admin = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let publish = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let (grpc_addr, admin_addr, publish_addr) = (
        grpc.local_addr().unwrap(),
        admin.local_addr().unwrap(),
        publish.local_addr().unwrap(),
    );
    let lifecycle = Lifecycle::new(Duration::ZERO, Duration::from_secs(1));
    let listeners = WatchdogListeners {
        service: Listeners { grpc, admin },
        publish: Some(publish),
    };
    tokio::spawn(run(config, listeners, lifecycle.clone()));
    let client = ReorgWatchdogServiceClient::connect(format!("http://{grpc_addr}"))
        .await
        .unwrap();
    Running {
        client,
        grpc: grpc_addr,
        admin: admin_addr,
        publish: publish_addr,
        lifecycle,
    }
}

/// Reads the verdict stream until `done` holds (at most 10 s); that verdict.
pub async fn wait_for(
    stream: &mut tonic::Streaming<pb::WatchVerdictsResponse>,
    what: &str,
    done: impl Fn(&pb::Verdict) -> bool,
) -> pb::Verdict {
    let last = Mutex::new(None);
    let read = async {
        loop {
            let message = stream.message().await.unwrap().expect("stream open");
            let verdict = message.verdict.unwrap();
            if done(&verdict) {
                return verdict;
            }
            *last.lock() = Some(verdict);
        }
    };
    let result = tokio::time::timeout(Duration::from_secs(10), read).await;
    result.unwrap_or_else(|_| {
        panic!(
            "no verdict with {what} within 10 s; last: {:?}",
            last.lock()
        )
    })
}

/// The value of the metric line starting with `series` (name and labels as exported).
pub async fn metric(admin: SocketAddr, series: &str) -> f64 {
    let text = reqwest::get(format!("http://{admin}/metrics"))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    text.lines()
        .find_map(|line| line.strip_prefix(series))
        .and_then(|rest| rest.trim().parse().ok())
        .unwrap_or(0.0)
}

pub async fn metric_reaches(admin: SocketAddr, series: &str, at_least: f64) {
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    loop {
        let value = metric(admin, series).await;
        if value >= at_least {
            return;
        }
        assert!(
            tokio::time::Instant::now() < deadline,
            "{series} is {value}, expected at least {at_least}"
        );
        tokio::time::sleep(Duration::from_millis(100)).await;
    }
}

pub fn state(verdict: &pb::Verdict) -> pb::State {
    pb::State::try_from(verdict.state).unwrap()
}
