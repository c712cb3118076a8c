//! The watchdog service in process, against two scripted chain-followers (real gRPC servers
//! speaking `hnsfleet.follower.v1`, signing real attestations) and a lying outside attester
//! (an HTTP publish endpoint serving a wrong chain, then forged, other-network and replayed
//! attestations). Checks what a proof-cache or an operator sees: the verdict stream (with its
//! heartbeats), `GetAttestation`, `Unfreeze`, `/v1/verdict` and the metrics.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use axum::Router;
use axum::routing::get;
use hnsfleet_attestation::{SignedAttestation, TipStatement};
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

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

fn key(n: u8) -> SecretKey {
    SecretKey::from_byte_array([n; 32]).unwrap()
}

fn block(chain: u8, height: u32) -> BlockHash {
    let mut bytes = [chain; 32];
    bytes[..4].copy_from_slice(&height.to_be_bytes());
    BlockHash(bytes)
}

fn statement(magic: u32, chain: u8, height: u32, signed_at: u64) -> TipStatement {
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

fn regtest() -> u32 {
    Network::Regtest.params().magic
}

/// A chain-follower whose tip the test moves.
#[derive(Clone)]
struct ScriptedFollower {
    key: SecretKey,
    tip: Arc<Mutex<(u8, u32)>>,
    events: broadcast::Sender<fpb::WatchTipResponse>,
}

impl ScriptedFollower {
    async fn start(key: SecretKey, chain: u8, height: u32) -> (ScriptedFollower, String) {
        let (events, _) = broadcast::channel(16);
        let follower = ScriptedFollower {
            key,
            tip: Arc::new(Mutex::new((chain, height))),
            events,
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

    fn event(&self, reorg_depth: u32) -> fpb::WatchTipResponse {
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
    fn move_to(&self, chain: u8, height: u32, reorg_depth: u32) {
        *self.tip.lock() = (chain, height);
        let _ = self.events.send(self.event(reorg_depth));
    }
}

type TipStream = Pin<Box<dyn Stream<Item = Result<fpb::WatchTipResponse, Status>> + Send>>;

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
        let rest = tokio_stream::wrappers::BroadcastStream::new(self.events.subscribe())
            .filter_map(|event| event.ok().map(Ok));
        Ok(Response::new(Box::pin(
            tokio_stream::once(Ok(first)).chain(rest),
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
        let (chain, height) = *self.tip.lock();
        let signed = statement(regtest(), chain, height, now()).sign(&self.key);
        Ok(Response::new(fpb::GetAttestationResponse {
            attestation: Some(fpb::Attestation::from(&signed)),
        }))
    }
}

/// An outside attester whose answer the test sets.
async fn attester() -> (Arc<Mutex<Vec<u8>>>, String) {
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

struct Running {
    client: ReorgWatchdogServiceClient<Channel>,
    admin: SocketAddr,
    publish: SocketAddr,
    lifecycle: Lifecycle,
}

impl Drop for Running {
    fn drop(&mut self) {
        self.lifecycle.force();
    }
}

async fn watchdog(toml: &str) -> Running {
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
        admin: admin_addr,
        publish: publish_addr,
        lifecycle,
    }
}

/// Reads the verdict stream until `done` holds (at most 10 s); that verdict.
async fn wait_for(
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
async fn metric(admin: SocketAddr, series: &str) -> f64 {
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

async fn metric_reaches(admin: SocketAddr, series: &str, at_least: f64) {
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

fn state(verdict: &pb::Verdict) -> pb::State {
    pb::State::try_from(verdict.state).unwrap()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_fleet_freezes_on_a_deep_reorg_ignores_a_liar_and_thaws_on_agreement() {
    let (one, one_url) = ScriptedFollower::start(key(1), 1, 20).await;
    let (two, two_url) = ScriptedFollower::start(key(2), 1, 20).await;
    let (liar, liar_url) = attester().await;
    let liar_key = key(9);
    let liar_public = hex::encode(liar_key.public_key(secp256k1::SECP256K1).serialize());
    let running = watchdog(&format!(
        "network = \"regtest\"\n\
         followers = [\"{one_url}\", \"{two_url}\"]\n\
         attesters = [\"{liar_url}={liar_public}\"]\n\
         quorum = 2\nfreeze_depth = 3\nunfreeze_after = 2\n\
         poll_interval = \"200ms\"\nheartbeat_interval = \"300ms\"\n\
         max_attestation_age = \"20s\"\n"
    ))
    .await;
    let mut client = running.client.clone();
    let mut stream = client
        .watch_verdicts(pb::WatchVerdictsRequest {})
        .await
        .unwrap()
        .into_inner();

    // The liar attests another chain at the same height, signed with its pinned key.
    *liar.lock() = statement(regtest(), 9, 20, now())
        .sign(&liar_key)
        .encode()
        .to_vec();
    let ok = wait_for(&mut stream, "OK on chain 1 with the liar out", |v| {
        v.root.as_ref().is_some_and(|r| r.height == 18)
            && v.sources
                .get(2)
                .is_some_and(|s| s.health == pb::Health::MinorityFork as i32)
    })
    .await;
    assert_eq!(state(&ok), pb::State::Ok);
    assert_eq!(ok.root.as_ref().unwrap().tree_root, vec![1; 32]);
    assert_eq!(ok.agreed_tip.as_ref().unwrap().height, 20);
    let liar_series = format!(
        "hnsfleet_watchdog_ignored_attestations_total{{reason=\"REASON\",source=\"{liar_url}\"}}"
    );
    metric_reaches(
        running.admin,
        &liar_series.replace("REASON", "conflicting"),
        1.0,
    )
    .await;

    // Then forged, other-network and replayed attestations: each ignored and counted.
    let mut forged = statement(regtest(), 1, 20, now())
        .sign(&liar_key)
        .encode()
        .to_vec();
    forged[200] ^= 1;
    *liar.lock() = forged;
    metric_reaches(
        running.admin,
        &liar_series.replace("REASON", "bad_signature"),
        1.0,
    )
    .await;
    let other_network = Network::Main.params().magic;
    *liar.lock() = statement(other_network, 1, 20, now())
        .sign(&liar_key)
        .encode()
        .to_vec();
    metric_reaches(
        running.admin,
        &liar_series.replace("REASON", "wrong_network"),
        1.0,
    )
    .await;
    *liar.lock() = statement(regtest(), 9, 20, now() - 10)
        .sign(&liar_key)
        .encode()
        .to_vec();
    metric_reaches(
        running.admin,
        &liar_series.replace("REASON", "replayed"),
        1.0,
    )
    .await;
    let wrong_key = key(8);
    *liar.lock() = statement(regtest(), 1, 20, now())
        .sign(&wrong_key)
        .encode()
        .to_vec();
    metric_reaches(
        running.admin,
        &liar_series.replace("REASON", "wrong_key"),
        1.0,
    )
    .await;

    // A shallow reorganisation (2 ≤ K = 3): still OK, on the new chain's root.
    one.move_to(2, 21, 2);
    two.move_to(2, 21, 2);
    let moved = wait_for(&mut stream, "OK on chain 2", |v| {
        v.root.as_ref().is_some_and(|r| r.tree_root == vec![2; 32])
    })
    .await;
    assert_eq!(state(&moved), pb::State::Ok);

    // A deep one (5 > K): FROZEN on chain 2's root, whatever the new chain says.
    one.move_to(3, 23, 5);
    two.move_to(3, 23, 5);
    let frozen = wait_for(&mut stream, "FROZEN", |v| state(v) == pb::State::Frozen).await;
    assert_eq!(frozen.root.as_ref().unwrap().tree_root, vec![2; 32]);
    assert_eq!(frozen.depth, 5);
    assert_eq!(metric(running.admin, "hnsfleet_watchdog_frozen").await, 1.0);
    // The status JSON says the same.
    let status = reqwest::get(format!("http://{}/v1/verdict", running.publish))
        .await
        .unwrap()
        .text()
        .await
        .unwrap();
    let status: serde_json::Value = serde_json::from_str(&status).unwrap();
    assert_eq!(status["state"], "FROZEN");
    assert_eq!(status["root"], hex::encode([2u8; 32]));
    assert_eq!(status["sources"].as_array().unwrap().len(), 3);
    // Unchanged verdicts come back as heartbeats.
    let beat = tokio::time::timeout(Duration::from_secs(5), async {
        loop {
            let message = stream.message().await.unwrap().unwrap();
            if message.heartbeat {
                return message.verdict.unwrap();
            }
        }
    })
    .await
    .expect("a heartbeat within 5 s");
    assert_eq!(state(&beat), pb::State::Frozen);

    // Two blocks of agreement on chain 3 (M = 2) thaw it onto chain 3's root.
    one.move_to(3, 25, 0);
    two.move_to(3, 25, 0);
    let thawed = wait_for(&mut stream, "OK on chain 3", |v| state(v) == pb::State::Ok).await;
    assert_eq!(thawed.root.as_ref().unwrap().tree_root, vec![3; 32]);

    // Its own view, signed with its key, for other operators.
    let attestation = client
        .get_attestation(pb::GetAttestationRequest {})
        .await
        .unwrap()
        .into_inner()
        .attestation
        .unwrap();
    let signed = SignedAttestation::decode(&attestation.signed_attestation).unwrap();
    let verified = signed.verify().unwrap();
    assert_eq!(verified.statement().hash, block(3, 25));
    let published = reqwest::get(format!("http://{}/v1/attestation.bin", running.publish))
        .await
        .unwrap()
        .bytes()
        .await
        .unwrap();
    let published = SignedAttestation::decode(&published).unwrap();
    assert_eq!(published.public_key, signed.public_key);
    assert!(published.verify().is_ok());

    // Another deep reorganisation, lifted by an operator.
    one.move_to(4, 26, 6);
    two.move_to(4, 26, 6);
    // (Once both followers' attestations of the new tip are in: without a quorum to thaw onto,
    // an operator's unfreeze is refused.)
    wait_for(&mut stream, "FROZEN again, a quorum on chain 4", |v| {
        state(v) == pb::State::Frozen && v.agreed_tip.as_ref().is_some_and(|t| t.height == 26)
    })
    .await;
    let lifted = client
        .unfreeze(pb::UnfreezeRequest {
            reason: "test".to_owned(),
        })
        .await
        .unwrap()
        .into_inner()
        .verdict
        .unwrap();
    assert_eq!(state(&lifted), pb::State::Ok);
    assert_eq!(lifted.root.as_ref().unwrap().tree_root, vec![4; 32]);
    metric_reaches(
        running.admin,
        "hnsfleet_watchdog_transitions_total{reason=\"operator\",state=\"ok\"}",
        1.0,
    )
    .await;
}
