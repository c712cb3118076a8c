//! A reorg-watchdog whose verdict stream a test scripts (feature `test-util`): every open
//! stream sends the scripted verdict every `every` (as heartbeats) while the script holds one,
//! and nothing while it holds `None` (a silent watchdog). The other methods are unimplemented.

use std::pin::Pin;
use std::time::Duration;

use hnsfleet_proto::watchdog::v1 as pb;
use hnsfleet_proto::watchdog::v1::reorg_watchdog_service_server::{
    ReorgWatchdogService, ReorgWatchdogServiceServer,
};
use tokio::net::TcpListener;
use tokio::sync::watch;
use tokio_stream::Stream;
use tonic::{Request, Response, Status};

/// The script: `Some(verdict)` is sent on every stream, `None` silences them.
pub type Script = watch::Sender<Option<pb::Verdict>>;

/// Starts a scripted watchdog on loopback, repeating its verdict every `every`: its gRPC URL
/// and its script.
pub async fn start(every: Duration) -> std::io::Result<(String, Script)> {
    let (script, receiver) = watch::channel(None);
    let listener = TcpListener::bind("127.0.0.1:0").await?;
    let url = format!("http://{}", listener.local_addr()?);
    tokio::spawn(
        tonic::transport::Server::builder()
            .add_service(ReorgWatchdogServiceServer::new(Scripted {
                script: receiver,
                every,
            }))
            .serve_with_incoming(tokio_stream::wrappers::TcpListenerStream::new(listener)),
    );
    Ok((url, script))
}

struct Scripted {
    script: watch::Receiver<Option<pb::Verdict>>,
    every: Duration,
}

type Verdicts = Pin<Box<dyn Stream<Item = Result<pb::WatchVerdictsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ReorgWatchdogService for Scripted {
    async fn get_verdict(
        &self,
        _: Request<pb::GetVerdictRequest>,
    ) -> Result<Response<pb::GetVerdictResponse>, Status> {
        Err(Status::unimplemented("scripted watchdog"))
    }

    type WatchVerdictsStream = Verdicts;

    async fn watch_verdicts(
        &self,
        _: Request<pb::WatchVerdictsRequest>,
    ) -> Result<Response<Self::WatchVerdictsStream>, Status> {
        let (send, receive) = tokio::sync::mpsc::channel(4);
        let (script, every) = (self.script.clone(), self.every);
        tokio::spawn(async move {
            loop {
                let verdict = script.borrow().clone();
                if let Some(verdict) = verdict {
                    let message = pb::WatchVerdictsResponse {
                        verdict: Some(verdict),
                        heartbeat: true,
                    };
                    if send.send(Ok(message)).await.is_err() {
                        return;
                    }
                }
                tokio::time::sleep(every).await;
            }
        });
        Ok(Response::new(Box::pin(
            tokio_stream::wrappers::ReceiverStream::new(receive),
        )))
    }

    async fn get_attestation(
        &self,
        _: Request<pb::GetAttestationRequest>,
    ) -> Result<Response<pb::GetAttestationResponse>, Status> {
        Err(Status::unimplemented("scripted watchdog"))
    }

    async fn unfreeze(
        &self,
        _: Request<pb::UnfreezeRequest>,
    ) -> Result<Response<pb::UnfreezeResponse>, Status> {
        Err(Status::unimplemented("scripted watchdog"))
    }
}
