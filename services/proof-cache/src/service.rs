//! The running proof-cache: binds its listeners, starts following the followers, serves the
//! gRPC API and the admin endpoints, and stops through the service kit's shutdown sequence
//! ([`Lifecycle`]): not ready at once, listeners close after the drain window, in-flight
//! requests get the grace period.

use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hnsfleet_proto::cache::v1::proof_cache_service_server::ProofCacheServiceServer;
use hnsfleet_service_kit::grpc::{GrpcLayer, GrpcLimits, GrpcMetrics};
use hnsfleet_service_kit::shutdown::Ending;
use hnsfleet_service_kit::{Check, Lifecycle, admin, cli, metrics as kit_metrics};
use hnsfleet_verdict_follower::VerdictFollower;
use prometheus::Registry;
use tokio::task::JoinSet;

use crate::cache::{ProofCache, Store};
use crate::config::CacheConfig;
use crate::followers::{Followers, FollowersConfig};
use crate::grpc::CacheApi;
use crate::metrics::Metrics;

/// How often trust (stale, expiry), readiness and the size gauges are re-evaluated without
/// events.
const TICK: Duration = Duration::from_secs(1);
/// gRPC: a call may run this much longer than a miss's own bound (follower timeout + hedge).
const GRPC_TIMEOUT_SLACK: Duration = Duration::from_secs(1);
/// gRPC: requests one connection may have handled at once (more wait in its HTTP/2 streams).
const GRPC_PER_CONNECTION: usize = 1024;
/// How often the watchdog's liveness is re-checked without news.
const WATCHDOG_TICK: Duration = Duration::from_millis(500);
/// gRPC: HTTP/2 streams per connection.
const GRPC_STREAMS_PER_CONNECTION: u32 = 1024;

/// The bound sockets a service serves on.
pub use hnsfleet_service_kit::cli::Listeners;

/// Binds the configured listeners, watches SIGTERM/SIGINT, prints
/// `{"event":"listening","grpc":..,"admin":..}` on stdout, and runs until a signal and the
/// shutdown sequence end it.
pub async fn run_until_signal(config: CacheConfig) -> anyhow::Result<()> {
    let (listeners, lifecycle) =
        cli::listen(config.grpc_listen, config.admin_listen, &config.service).await?;
    run(config, listeners, lifecycle).await
}

/// Runs the proof-cache on bound `listeners` until `lifecycle`'s shutdown sequence ends.
pub async fn run(
    config: CacheConfig,
    listeners: Listeners,
    lifecycle: Lifecycle,
) -> anyhow::Result<()> {
    let registry = Registry::new();
    kit_metrics::register_service(&registry, "proof-cache")?;
    let metrics = Metrics::register(&registry)?;
    let grpc_metrics = GrpcMetrics::register(&registry)?;
    let readiness = lifecycle.readiness().clone();
    let followers = Followers::new(
        &config.followers,
        FollowersConfig {
            network: config.network,
            quorum: config.effective_quorum(),
            serve_stale: config.serve_stale,
            timeout: config.follower_timeout,
            hedge_after: config.hedge_after,
            quarantine: config.quarantine,
        },
        metrics.clone(),
        readiness.clone(),
    )?;
    let cache = Arc::new(ProofCache::new(
        Arc::clone(&followers),
        Store::new(config.cache_capacity.as_u64(), config.cache_ttl),
        metrics,
    ));

    let stopped = lifecycle.stopped();
    let mut tasks = JoinSet::new();
    tasks.spawn(Arc::clone(&followers).run(stopped.clone()));
    {
        let (followers, cache, stopped) =
            (Arc::clone(&followers), Arc::clone(&cache), stopped.clone());
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            loop {
                tokio::select! {
                    _ = tick.tick() => {
                        followers.recompute();
                        cache.publish_size().await;
                    }
                    () = stopped.cancelled() => return,
                }
            }
        });
    }
    if let Some(url) = &config.watchdog {
        tasks.spawn(follow_watchdog(
            Arc::clone(&followers),
            url.as_str().to_owned(),
            config.watchdog_grace,
            stopped.clone(),
        ));
    }
    let stop_accepting = lifecycle.stop_accepting();
    let admin_server = admin::serve(listeners.admin, registry, readiness, stop_accepting.clone());
    let api = CacheApi::new(Arc::clone(&cache), stop_accepting.clone());
    let grpc_layer = GrpcLayer::new(
        grpc_metrics,
        GrpcLimits {
            max_in_flight: config.grpc_max_in_flight,
            request_timeout: config.follower_timeout + config.hedge_after + GRPC_TIMEOUT_SLACK,
            error_domain: hnsfleet_proto::status::CACHE_ERROR_DOMAIN,
        },
        hnsfleet_proto::METHODS,
    );
    let grpc_server = tonic::transport::Server::builder()
        .concurrency_limit_per_connection(GRPC_PER_CONNECTION)
        .max_concurrent_streams(GRPC_STREAMS_PER_CONNECTION)
        .layer(grpc_layer)
        .add_service(ProofCacheServiceServer::new(api))
        .serve_with_incoming_shutdown(
            hnsfleet_service_kit::grpc::incoming(listeners.grpc),
            async move {
                stop_accepting.cancelled().await;
            },
        );
    let ending = lifecycle
        .serve(async { tokio::join!(grpc_server, admin_server) })
        .await;
    tasks.shutdown().await;
    match ending {
        Ending::Served((grpc, admin)) => {
            grpc.context("grpc server")?;
            admin.context("admin server")?;
        }
        Ending::GraceExpired | Ending::Forced => {}
    }
    tracing::info!("stopped");
    Ok(())
}

/// Follows the reorg-watchdog at `url` until `stopped`: its frozen root is trusted while it
/// says FROZEN, and the cache is not ready while it has been silent for longer than `grace`
/// (the last verdict is kept meanwhile).
async fn follow_watchdog(
    followers: Arc<Followers>,
    url: String,
    grace: Duration,
    stopped: tokio_util::sync::CancellationToken,
) {
    let follower = Arc::new(VerdictFollower::new(&url, Duration::from_secs(5)));
    let mut heard = follower.subscribe();
    let run = {
        let (follower, stopped) = (Arc::clone(&follower), stopped.clone());
        tokio::spawn(async move { follower.run(stopped).await })
    };
    let mut tick = tokio::time::interval(WATCHDOG_TICK);
    loop {
        tokio::select! {
            _ = tick.tick() => {}
            changed = heard.changed() => if changed.is_err() { break },
            () = stopped.cancelled() => break,
        }
        let followed = follower.current();
        let (live, detail) = followed.readiness(tokio::time::Instant::now(), grace);
        followers.follow_verdict(followed.frozen_root(), Check::new("watchdog", live, detail));
    }
    run.abort();
}
