//! The running follower: binds its listeners, opens the header store, starts the peer pool,
//! the gRPC API and the admin endpoints, and stops them through the service kit's shutdown
//! sequence ([`Lifecycle`]): not ready at once, listeners close after the drain window,
//! in-flight requests get the grace period, then the pool stops.

use std::path::Path;
use std::sync::Arc;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use anyhow::Context;
use hnsfleet_hns::chain::CheckpointBlob;
use hnsfleet_hns::params::Network;
use hnsfleet_proto::follower::v1::chain_follower_service_server::ChainFollowerServiceServer;
use hnsfleet_service_kit::grpc::{GrpcLayer, GrpcLimits, GrpcMetrics};
use hnsfleet_service_kit::shutdown::Ending;
use hnsfleet_service_kit::{Lifecycle, admin, cli, keyfile, metrics as kit_metrics};
use prometheus::Registry;
use secp256k1::SecretKey;
use tokio::task::JoinSet;

use crate::config::FollowerConfig;
use crate::follower::{Follower, ReadyRules};
use crate::grpc::FollowerApi;
use crate::metrics::Metrics;
use crate::pool::{Pool, PoolConfig};
use crate::store::{Start, Store};

/// hnsd's mainnet checkpoint (height 136000, 150 headers); see `data/README.md`.
const MAIN_CHECKPOINT: &[u8] = include_bytes!("../data/checkpoint-main-136000.bin");
/// Name of the header file inside the data directory.
pub const HEADER_FILE: &str = "headers.dat";
/// How often readiness is re-evaluated even without events (the tip ages).
const READINESS_INTERVAL: Duration = Duration::from_secs(5);
/// gRPC: a request may run this much longer than the look-up's own proof timeout (which
/// answers `PROOF_TIMEOUT` first); the server-side bound of every call.
const GRPC_TIMEOUT_SLACK: Duration = Duration::from_secs(1);
/// gRPC: requests one connection may have handled at once (more wait in its HTTP/2 streams),
/// so a single client cannot take every server-wide slot.
const GRPC_PER_CONNECTION: usize = 128;
/// gRPC: HTTP/2 streams per connection (bounds what one connection can queue).
const GRPC_STREAMS_PER_CONNECTION: u32 = 256;

/// The bound sockets a service serves on.
pub use hnsfleet_service_kit::cli::Listeners;

/// Binds the configured listeners, watches SIGTERM/SIGINT, prints
/// `{"event":"listening","grpc":..,"admin":..}` on stdout, and runs until a signal and the
/// shutdown sequence end it.
pub async fn run_until_signal(config: FollowerConfig) -> anyhow::Result<()> {
    let (listeners, lifecycle) =
        cli::listen(config.grpc_listen, config.admin_listen, &config.service).await?;
    run(config, listeners, lifecycle).await
}

/// Runs the follower on bound `listeners` until `lifecycle`'s shutdown sequence ends
/// ([`Lifecycle::begin_shutdown`] starts it; SIGTERM does when
/// [`Lifecycle::watch_signals`] was called).
pub async fn run(
    config: FollowerConfig,
    listeners: Listeners,
    lifecycle: Lifecycle,
) -> anyhow::Result<()> {
    let registry = Registry::new();
    kit_metrics::register_service(&registry, "chain-follower")?;
    let metrics = Metrics::register(&registry)?;
    let grpc_metrics = GrpcMetrics::register(&registry)?;
    let params = config.params();

    std::fs::create_dir_all(&config.data_dir)
        .with_context(|| format!("data_dir {}", config.data_dir.display()))?;
    let key = load_or_create_key(&config.effective_key_file())?;
    let start = if config.checkpoint && config.network == Network::Main {
        Start::Checkpoint(CheckpointBlob::decode(MAIN_CHECKPOINT)?)
    } else {
        Start::Genesis
    };
    let path = config.data_dir.join(HEADER_FILE);
    let open_path = path.clone();
    let (store, chain, recovery) =
        tokio::task::spawn_blocking(move || Store::open(&open_path, params, &start))
            .await?
            .with_context(|| format!("header file {}", path.display()))?;
    tracing::info!(
        path = %path.display(),
        height = chain.tip().height,
        records = recovery.records,
        truncated_bytes = recovery.truncated_bytes,
        created = recovery.created,
        "opened header store"
    );

    let readiness = lifecycle.readiness().clone();
    let follower = Follower::new(
        params,
        chain,
        Some(store),
        metrics,
        readiness.clone(),
        ReadyRules {
            min_peers: config.effective_min_peers(),
            within: config.ready_within,
        },
        key,
        unix_now,
    );
    let pool = Pool::new(
        Arc::clone(&follower),
        PoolConfig {
            peers: config.effective_peers(),
            dns_seeds: config.effective_dns_seeds(),
            discover: config.effective_discover_peers(),
            max_peers: config.max_peers,
            ban: config.ban_time,
            proof_timeout: config.proof_timeout,
            hedge_after: config.hedge_after,
            user_agent: format!("/hnsfleet-follower:{}/", env!("CARGO_PKG_VERSION")),
            response_timeout: config.response_timeout,
        },
    );

    // Background work runs until the servers are done (in-flight look-ups need the peers).
    let stopped = lifecycle.stopped();
    let mut tasks = JoinSet::new();
    pool.start(&stopped, &mut tasks);
    {
        let follower = Arc::clone(&follower);
        let stopped = stopped.clone();
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(READINESS_INTERVAL);
            loop {
                tokio::select! {
                    _ = tick.tick() => follower.refresh_readiness(),
                    () = stopped.cancelled() => return,
                }
            }
        });
    }
    // Listeners (and WatchTip streams) stop when the drain window is over.
    let stop_accepting = lifecycle.stop_accepting();
    let admin_server = admin::serve(listeners.admin, registry, readiness, stop_accepting.clone());
    // New calls are refused with DRAINING only once the drain window is over: during it the
    // node still serves while load balancers and BGP withdraw it.
    let api = FollowerApi::new(
        Arc::clone(&follower),
        Arc::clone(&pool),
        stop_accepting.clone(),
        config.grpc_max_watchers,
    );
    // Limits (see hnsfleet_service_kit::grpc): server-wide, requests above
    // `grpc_max_in_flight` are refused at once (OVERLOADED) rather than queued; per
    // connection, at most GRPC_PER_CONNECTION are handled at once and the rest wait in the
    // connection's bounded HTTP/2 streams; every call stops at the client's deadline or
    // proof_timeout + GRPC_TIMEOUT_SLACK (DEADLINE_EXCEEDED).
    let grpc_layer = GrpcLayer::new(
        grpc_metrics,
        GrpcLimits {
            max_in_flight: config.grpc_max_in_flight,
            request_timeout: config.proof_timeout + GRPC_TIMEOUT_SLACK,
            error_domain: hnsfleet_proto::status::ERROR_DOMAIN,
        },
        hnsfleet_proto::METHODS,
    );
    let grpc_server = tonic::transport::Server::builder()
        .concurrency_limit_per_connection(GRPC_PER_CONNECTION)
        .max_concurrent_streams(GRPC_STREAMS_PER_CONNECTION)
        .layer(grpc_layer)
        .add_service(ChainFollowerServiceServer::new(api))
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
    // Everything accepted is on disk before the process exits.
    let closing = Arc::clone(&follower);
    tokio::task::spawn_blocking(move || closing.close_store()).await?;
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

/// Reads the attestation key (64 hex digits), or creates one (mode 0600) if the file is absent.
pub fn load_or_create_key(path: &Path) -> anyhow::Result<SecretKey> {
    let valid = |bytes: &[u8; 32]| SecretKey::from_byte_array(*bytes).is_ok();
    let (bytes, created) = keyfile::read_or_create(path, "key_file", valid)?;
    if created {
        tracing::info!(path = %path.display(), "created attestation key");
    }
    Ok(SecretKey::from_byte_array(bytes)?)
}

fn unix_now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::header_chain::HeaderChain;

    #[test]
    fn built_in_mainnet_checkpoint_is_the_start_of_a_new_mainnet_follower() {
        let blob = CheckpointBlob::decode(MAIN_CHECKPOINT).unwrap();
        let chain = HeaderChain::from_checkpoint(Network::Main.params(), &blob).unwrap();
        // hnsd's HSK_CHECKPOINT_MAIN: 150 headers 136000..=136149.
        assert_eq!(chain.tip().height, 136_149);
        assert_eq!(chain.base_height(), 136_000);
        assert_eq!(
            chain.tip().hash.to_hex(),
            "0000000000000000909f1e5016c697a6e447353c96e5049b34e3989f6fdc8e47"
        );
    }

    #[test]
    fn attestation_key_is_created_once_and_bad_keys_are_refused() {
        let dir = tempfile::tempdir().unwrap();
        let path = dir.path().join("follower.key");
        let first = load_or_create_key(&path).unwrap();
        assert_eq!(load_or_create_key(&path).unwrap(), first);
        std::fs::write(&path, "not hex\n").unwrap();
        let err = load_or_create_key(&path).unwrap_err().to_string();
        assert!(err.contains("key_file"), "{err}");
        std::fs::write(&path, format!("{}\n", "00".repeat(32))).unwrap();
        assert!(
            load_or_create_key(&path).is_err(),
            "zero is not a secp256k1 key"
        );
    }
}
