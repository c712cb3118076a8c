//! Reading the sources. A follower is polled (`GetAttestation` every `poll_interval`) and
//! followed (`WatchTip`: every tip change is passed on with its reorg depth and safe root, and
//! a fresh attestation is read at once). An attester is polled: its publish endpoint's
//! canonical bytes (`GET /v1/attestation.bin`, at most [`MAX_BODY`] bytes read), or its gRPC
//! `GetAttestation`. Every read has a deadline; a failed read marks the source unreachable
//! until its next good attestation; nothing a source sends is believed before the judgement
//! verified it.

use std::sync::Arc;
use std::time::Duration;

use hnsfleet_hns::types::BlockHash;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use hnsfleet_proto::watchdog::v1 as wpb;
use hnsfleet_proto::watchdog::v1::reorg_watchdog_service_client::ReorgWatchdogServiceClient;
use hnsfleet_reorg_verdict::FollowerTip;
use tokio::sync::Notify;
use tokio_rustls::TlsConnector;
use tokio_util::sync::CancellationToken;
use tonic::transport::{Channel, Endpoint};

use crate::config::{Scheme, SourceSpec, WatchdogConfig};
use crate::fetch::Fetcher;
use crate::watchdog::Watchdog;

/// Largest publish-endpoint body read (an attestation is 217 bytes).
pub const MAX_BODY: usize = 1024;
/// Reconnection back-off of a follower's tip stream.
const MIN_BACKOFF: Duration = Duration::from_millis(200);
const MAX_BACKOFF: Duration = Duration::from_secs(10);
/// Least time between the starts of two reads of one follower.
pub const MIN_READ_SPACING: Duration = Duration::from_millis(100);

/// How every source is read.
#[derive(Debug, Clone, Copy)]
pub struct ReadSettings {
    /// Between two polls.
    pub poll_interval: Duration,
    /// Deadline of one read.
    pub timeout: Duration,
}

impl ReadSettings {
    /// From the configuration.
    pub fn of(config: &WatchdogConfig) -> ReadSettings {
        ReadSettings {
            poll_interval: config.poll_interval,
            timeout: config.source_timeout,
        }
    }
}

/// Reads follower `index` (at `spec`) until `stop`.
pub async fn follow(
    watchdog: Arc<Watchdog>,
    index: usize,
    spec: SourceSpec,
    settings: ReadSettings,
    stop: CancellationToken,
) {
    let endpoint = match Endpoint::from_shared(spec.grpc_endpoint()) {
        Ok(endpoint) => endpoint.connect_timeout(settings.timeout),
        Err(error) => {
            watchdog.unreachable(index, &format!("bad endpoint: {error}"));
            return;
        }
    };
    let client = ChainFollowerServiceClient::new(endpoint.connect_lazy());
    let news = Notify::new();
    let read = read_follower_loop(&watchdog, index, client.clone(), settings, &news);
    let watch = watch_follower(&watchdog, index, client, &news);
    tokio::select! {
        () = read => {}
        () = watch => {}
        () = stop.cancelled() => {}
    }
}

/// Reads attester `index` (at `spec`) every poll interval until `stop`; `https` is the TLS
/// client of `https://` attesters (made when one is configured).
pub async fn attest(
    watchdog: Arc<Watchdog>,
    index: usize,
    spec: SourceSpec,
    settings: ReadSettings,
    https: Option<TlsConnector>,
    stop: CancellationToken,
) {
    let reader = match Reader::new(&spec, settings, https) {
        Ok(reader) => reader,
        Err(why) => {
            watchdog.unreachable(index, &why);
            return;
        }
    };
    let mut tick = tokio::time::interval(settings.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = stop.cancelled() => return,
        }
        match reader.read().await {
            Ok(bytes) => watchdog.offer(index, &bytes),
            Err(why) => watchdog.unreachable(index, &why),
        }
    }
}

/// `GetAttestation` every poll interval, and soon after a tip change (`news`). One read at a
/// time, and at least [`MIN_READ_SPACING`] between two: tip changes arriving during a read
/// or within the spacing are answered by one read, so a follower streaming events as fast as
/// it can gets a few reads a second, not one per event.
async fn read_follower_loop(
    watchdog: &Watchdog,
    index: usize,
    client: ChainFollowerServiceClient<Channel>,
    settings: ReadSettings,
    news: &Notify,
) {
    let mut tick = tokio::time::interval(settings.poll_interval);
    tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            () = news.notified() => {}
        }
        let started = tokio::time::Instant::now();
        read_follower(watchdog, index, client.clone(), settings.timeout).await;
        tokio::time::sleep_until(started + MIN_READ_SPACING).await;
    }
}

/// One `GetAttestation`, offered to the judgement.
async fn read_follower(
    watchdog: &Watchdog,
    index: usize,
    mut client: ChainFollowerServiceClient<Channel>,
    timeout: Duration,
) {
    let call = client.get_attestation(pb::GetAttestationRequest {});
    match tokio::time::timeout(timeout, call).await {
        Ok(Ok(response)) => match response.into_inner().attestation {
            Some(attestation) => watchdog.offer(index, &attestation.signed_attestation),
            None => watchdog.unreachable(index, "GetAttestation returned no attestation"),
        },
        Ok(Err(status)) => watchdog.unreachable(index, &format!("GetAttestation: {status}")),
        Err(_) => watchdog.unreachable(index, "GetAttestation timed out"),
    }
}

/// `WatchTip`, reconnecting with back-off: each event goes to the judgement at once (its
/// reorg depth counts even if the next event follows immediately), and asks for a fresh
/// attestation (`news`).
async fn watch_follower(
    watchdog: &Watchdog,
    index: usize,
    client: ChainFollowerServiceClient<Channel>,
    news: &Notify,
) {
    let mut backoff = MIN_BACKOFF;
    loop {
        let mut watcher = client.clone();
        match watcher.watch_tip(pb::WatchTipRequest {}).await {
            Ok(stream) => {
                let mut stream = stream.into_inner();
                backoff = MIN_BACKOFF;
                loop {
                    match stream.message().await {
                        Ok(Some(event)) => {
                            if let Some(tip) = follower_tip(&event) {
                                watchdog.follower_tip(index, tip);
                            }
                            news.notify_one();
                        }
                        Ok(None) => break,
                        Err(status) => {
                            tracing::debug!(%status, "follower tip stream ended");
                            break;
                        }
                    }
                }
            }
            Err(status) => tracing::debug!(%status, "follower tip stream refused"),
        }
        tokio::time::sleep(backoff).await;
        backoff = (backoff * 2).min(MAX_BACKOFF);
    }
}

/// A `WatchTip` event as the judgement takes it; `None` when malformed.
fn follower_tip(event: &pb::WatchTipResponse) -> Option<FollowerTip> {
    let tip = event.tip.as_ref()?;
    let hash: [u8; 32] = tip.hash.as_slice().try_into().ok()?;
    Some(FollowerTip {
        height: tip.height,
        hash: BlockHash(hash),
        reorg_depth: event.reorg_depth,
        missed_changes: event.missed_changes,
        safe_root: event
            .safe_root
            .as_ref()
            .and_then(|root| root.try_into().ok()),
    })
}

/// How an attester is read.
enum Reader {
    Http {
        fetcher: Fetcher,
        url: String,
    },
    Grpc {
        client: ReorgWatchdogServiceClient<Channel>,
        timeout: Duration,
    },
}

impl Reader {
    fn new(
        spec: &SourceSpec,
        settings: ReadSettings,
        https: Option<TlsConnector>,
    ) -> Result<Reader, String> {
        match spec.scheme() {
            Scheme::Grpc => {
                let endpoint = Endpoint::from_shared(spec.grpc_endpoint())
                    .map_err(|e| format!("bad endpoint: {e}"))?
                    .connect_timeout(settings.timeout);
                Ok(Reader::Grpc {
                    client: ReorgWatchdogServiceClient::new(endpoint.connect_lazy()),
                    timeout: settings.timeout,
                })
            }
            Scheme::Http | Scheme::Https => Ok(Reader::Http {
                fetcher: Fetcher::new(
                    match spec.scheme() {
                        Scheme::Https => Some(https.ok_or("no TLS client for https")?),
                        _ => None,
                    },
                    settings.timeout,
                    MAX_BODY,
                ),
                url: format!("{}/v1/attestation.bin", spec.url()),
            }),
        }
    }

    /// One attestation's canonical bytes.
    async fn read(&self) -> Result<Vec<u8>, String> {
        match self {
            Reader::Grpc { client, timeout } => {
                let mut client = client.clone();
                let call = client.get_attestation(wpb::GetAttestationRequest {});
                match tokio::time::timeout(*timeout, call).await {
                    Ok(Ok(response)) => response
                        .into_inner()
                        .attestation
                        .map(|a| a.signed_attestation)
                        .ok_or_else(|| "GetAttestation returned no attestation".to_owned()),
                    Ok(Err(status)) => Err(format!("GetAttestation: {status}")),
                    Err(_) => Err("GetAttestation timed out".to_owned()),
                }
            }
            Reader::Http { fetcher, url } => fetcher.get(url).await,
        }
    }
}
