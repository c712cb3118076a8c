#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::pin::Pin;

use hnsfleet_hns::types::TreeRoot;
use hnsfleet_proto::follower::v1 as fpb;
use hnsfleet_proto::watchdog::v1::reorg_watchdog_service_server::{
    ReorgWatchdogService, ReorgWatchdogServiceServer,
};
use tokio::net::TcpListener;
use tokio::sync::mpsc;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

use super::*;

fn frozen(height: u32, root: u8, sequence: u64) -> pb::Verdict {
    pb::Verdict {
        state: pb::State::Frozen as i32,
        root: Some(fpb::SafeRoot {
            height,
            tree_root: vec![root; 32],
        }),
        sequence,
        ..pb::Verdict::default()
    }
}

#[test]
fn verdicts_decide_what_to_resolve_against() {
    assert_eq!(
        decide(&pb::Verdict {
            state: pb::State::Ok as i32,
            ..pb::Verdict::default()
        }),
        Some(Verdict::Ok)
    );
    assert_eq!(
        decide(&frozen(7, 3, 1)),
        Some(Verdict::Frozen(SafeRoot {
            height: 7,
            tree_root: TreeRoot([3; 32]),
        }))
    );
    // A freeze without a usable root, or no state: not acted on.
    let mut no_root = frozen(7, 3, 1);
    no_root.root = None;
    assert_eq!(decide(&no_root), None);
    let mut short = frozen(7, 3, 1);
    short.root.as_mut().unwrap().tree_root = vec![3; 31];
    assert_eq!(decide(&short), None);
    assert_eq!(decide(&pb::Verdict::default()), None);
}

/// A watchdog whose verdict stream the test feeds (one stream at a time).
struct Scripted {
    streams: parking_lot::Mutex<Option<mpsc::Receiver<pb::WatchVerdictsResponse>>>,
}

type Verdicts = Pin<Box<dyn Stream<Item = Result<pb::WatchVerdictsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ReorgWatchdogService for Scripted {
    async fn get_verdict(
        &self,
        _: Request<pb::GetVerdictRequest>,
    ) -> Result<Response<pb::GetVerdictResponse>, Status> {
        Err(Status::unimplemented(""))
    }

    type WatchVerdictsStream = Verdicts;

    async fn watch_verdicts(
        &self,
        _: Request<pb::WatchVerdictsRequest>,
    ) -> Result<Response<Self::WatchVerdictsStream>, Status> {
        let receiver = self
            .streams
            .lock()
            .take()
            .ok_or_else(|| Status::unavailable("one stream only"))?;
        let stream = tokio_stream::wrappers::ReceiverStream::new(receiver);
        Ok(Response::new(Box::pin(tokio_stream::StreamExt::map(
            stream, Ok,
        ))))
    }

    async fn get_attestation(
        &self,
        _: Request<pb::GetAttestationRequest>,
    ) -> Result<Response<pb::GetAttestationResponse>, Status> {
        Err(Status::unimplemented(""))
    }

    async fn unfreeze(
        &self,
        _: Request<pb::UnfreezeRequest>,
    ) -> Result<Response<pb::UnfreezeResponse>, Status> {
        Err(Status::unimplemented(""))
    }
}

#[tokio::test]
async fn a_follower_keeps_the_last_verdict_and_knows_when_the_watchdog_went_silent() {
    let (feed, receiver) = mpsc::channel(4);
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let url = format!("http://{}", listener.local_addr().unwrap());
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ReorgWatchdogServiceServer::new(Scripted {
                streams: parking_lot::Mutex::new(Some(receiver)),
            }))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    let follower = std::sync::Arc::new(VerdictFollower::new(&url, Duration::from_secs(2)));
    let mut followed = follower.subscribe();
    let stop = CancellationToken::new();
    tokio::spawn({
        let (follower, stop) = (std::sync::Arc::clone(&follower), stop.clone());
        async move { follower.run(stop).await }
    });
    assert_eq!(follower.current().verdict, Verdict::Unknown);
    assert!(
        !follower
            .current()
            .live(Instant::now(), Duration::from_secs(60))
    );

    feed.send(pb::WatchVerdictsResponse {
        verdict: Some(frozen(40, 9, 3)),
        heartbeat: false,
    })
    .await
    .unwrap();
    tokio::time::timeout(Duration::from_secs(5), followed.changed())
        .await
        .unwrap()
        .unwrap();
    let now = follower.current();
    assert_eq!(
        now.frozen_root(),
        Some(SafeRoot {
            height: 40,
            tree_root: TreeRoot([9; 32]),
        })
    );
    assert_eq!(now.sequence, 3);
    assert!(now.live(Instant::now(), Duration::from_secs(1)));

    // Silence: the freeze is kept, but it is no longer live after the grace.
    let heard = now.heard_at.unwrap();
    let later = heard + Duration::from_secs(31);
    assert!(!follower.current().live(later, Duration::from_secs(30)));
    assert_eq!(follower.current().frozen_root().map(|r| r.height), Some(40));
    stop.cancel();
}
