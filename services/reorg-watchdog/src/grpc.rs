//! `hnsfleet.watchdog.v1.ReorgWatchdogService`: the verdict (one read, or a stream with
//! heartbeats), the watchdog's own signed view, and the operator's unfreeze. At most
//! [`MAX_WATCHERS`] verdict streams are open at once.

use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hnsfleet_proto::follower::v1 as fpb;
use hnsfleet_proto::watchdog::v1 as pb;
use hnsfleet_proto::watchdog::v1::reorg_watchdog_service_server::ReorgWatchdogService;
use tokio_stream::Stream;
use tokio_stream::wrappers::ReceiverStream;
use tokio_util::sync::CancellationToken;
use tonic::{Request, Response, Status};

use crate::status::to_pb;
use crate::unfreeze_auth::{Denied, UnfreezeAuth};
use crate::watchdog::Watchdog;

/// Verdict streams open at once (proof-caches and frontends: one each).
pub const MAX_WATCHERS: usize = 4096;

/// The API over a running watchdog.
pub struct WatchdogApi {
    watchdog: Arc<Watchdog>,
    auth: UnfreezeAuth,
    heartbeat: Duration,
    watchers: Arc<AtomicUsize>,
    max_watchers: usize,
    stop: CancellationToken,
}

impl WatchdogApi {
    /// Serves `watchdog`; streams repeat the verdict every `heartbeat` and end at `stop`;
    /// `Unfreeze` callers are held to `auth`.
    pub fn new(
        watchdog: Arc<Watchdog>,
        auth: UnfreezeAuth,
        heartbeat: Duration,
        stop: CancellationToken,
    ) -> Self {
        WatchdogApi {
            watchdog,
            auth,
            heartbeat,
            watchers: Arc::new(AtomicUsize::new(0)),
            max_watchers: MAX_WATCHERS,
            stop,
        }
    }

    /// The same API with at most `max` verdict streams (tests; the service uses
    /// [`MAX_WATCHERS`]).
    pub fn with_max_watchers(self, max: usize) -> Self {
        WatchdogApi {
            max_watchers: max,
            ..self
        }
    }

    /// Verdict streams open now.
    pub fn watchers(&self) -> usize {
        self.watchers.load(Ordering::Relaxed)
    }

    fn verdict(&self) -> pb::Verdict {
        to_pb(&self.watchdog.verdict(), self.watchdog.network())
    }
}

/// A verdict stream's messages.
type VerdictStream = Pin<Box<dyn Stream<Item = Result<pb::WatchVerdictsResponse, Status>> + Send>>;

#[tonic::async_trait]
impl ReorgWatchdogService for WatchdogApi {
    async fn get_verdict(
        &self,
        _: Request<pb::GetVerdictRequest>,
    ) -> Result<Response<pb::GetVerdictResponse>, Status> {
        Ok(Response::new(pb::GetVerdictResponse {
            verdict: Some(self.verdict()),
        }))
    }

    type WatchVerdictsStream = VerdictStream;

    async fn watch_verdicts(
        &self,
        _: Request<pb::WatchVerdictsRequest>,
    ) -> Result<Response<Self::WatchVerdictsStream>, Status> {
        if self.watchers.fetch_add(1, Ordering::Relaxed) >= self.max_watchers {
            self.watchers.fetch_sub(1, Ordering::Relaxed);
            return Err(Status::resource_exhausted("too many verdict streams"));
        }
        let (send, receive) = tokio::sync::mpsc::channel(4);
        let (watchdog, heartbeat, stop) = (
            Arc::clone(&self.watchdog),
            self.heartbeat,
            self.stop.clone(),
        );
        let watchers = Arc::clone(&self.watchers);
        tokio::spawn(async move {
            let mut verdicts = watchdog.subscribe();
            let mut beat = tokio::time::interval(heartbeat);
            beat.reset();
            let mut heartbeat_next = false;
            loop {
                let verdict = to_pb(&verdicts.borrow_and_update(), watchdog.network());
                let message = pb::WatchVerdictsResponse {
                    verdict: Some(verdict),
                    heartbeat: heartbeat_next,
                };
                // A client that does not read within a heartbeat is dropped.
                match tokio::time::timeout(heartbeat, send.send(Ok(message))).await {
                    Ok(Ok(())) => {}
                    _ => break,
                }
                tokio::select! {
                    changed = verdicts.changed() => {
                        if changed.is_err() {
                            break;
                        }
                        heartbeat_next = false;
                        beat.reset();
                    }
                    _ = beat.tick() => heartbeat_next = true,
                    () = stop.cancelled() => break,
                    () = send.closed() => break,
                }
            }
            watchers.fetch_sub(1, Ordering::Relaxed);
        });
        Ok(Response::new(Box::pin(ReceiverStream::new(receive))))
    }

    async fn get_attestation(
        &self,
        _: Request<pb::GetAttestationRequest>,
    ) -> Result<Response<pb::GetAttestationResponse>, Status> {
        let signed = self
            .watchdog
            .attestation()
            .ok_or_else(|| Status::unavailable("no quorum agrees on a tip yet"))?;
        Ok(Response::new(pb::GetAttestationResponse {
            attestation: Some(fpb::Attestation::from(&signed)),
        }))
    }

    async fn unfreeze(
        &self,
        request: Request<pb::UnfreezeRequest>,
    ) -> Result<Response<pb::UnfreezeResponse>, Status> {
        let results = &self.watchdog.metrics().unfreeze_requests;
        let authorization = request
            .metadata()
            .get("authorization")
            .and_then(|value| value.to_str().ok());
        if let Err(denied) = self.auth.check(request.remote_addr(), authorization).await {
            results.with_label_values(&["denied"]).inc();
            tracing::warn!(peer = ?request.remote_addr(), %denied, "unfreeze refused");
            return Err(match denied {
                Denied::NotLoopback => Status::permission_denied(denied.to_string()),
                Denied::TokenFile(_) => Status::unavailable("unfreeze is not available"),
                Denied::NoToken | Denied::WrongToken => Status::unauthenticated(denied.to_string()),
            });
        }
        let why: String = request.into_inner().reason.chars().take(200).collect();
        match self.watchdog.unfreeze(&why) {
            Ok((verdict, lifted)) => {
                let result = if lifted { "ok" } else { "not_frozen" };
                results.with_label_values(&[result]).inc();
                Ok(Response::new(pb::UnfreezeResponse {
                    verdict: Some(to_pb(&verdict, self.watchdog.network())),
                }))
            }
            Err(error) => {
                results.with_label_values(&["no_quorum"]).inc();
                Err(Status::failed_precondition(error.to_string()))
            }
        }
    }
}

#[cfg(test)]
mod tests;
