//! The running watchdog: binds its listeners, reads every source, re-evaluates the verdict
//! once a second, serves the gRPC API, the publish endpoint and the admin endpoints, and stops
//! through the service kit's shutdown sequence ([`Lifecycle`]).

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hnsfleet_proto::watchdog::v1::reorg_watchdog_service_server::ReorgWatchdogServiceServer;
use hnsfleet_service_kit::grpc::{GrpcLayer, GrpcLimits, GrpcMetrics};
use hnsfleet_service_kit::shutdown::Ending;
use hnsfleet_service_kit::{Lifecycle, admin, cli, keyfile, metrics as kit_metrics};
use hnsfleet_tls_server::reload::{ReloadMetrics, Reloader};
use hnsfleet_tls_server::{ALPN_HTTP1, Certificate};
use prometheus::Registry;
use secp256k1::SecretKey;
use tokio::net::TcpListener;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::config::{Scheme, WatchdogConfig};
use crate::fetch;
use crate::grpc::WatchdogApi;
use crate::metrics::Metrics;
use crate::publish::PublishTransport;
use crate::sources::{self, ReadSettings};
use crate::unfreeze_auth::UnfreezeAuth;
use crate::watchdog::Watchdog;

/// How often the verdict is re-evaluated without news (sources go stale with time).
const TICK: Duration = Duration::from_secs(1);
/// How often the verdict is written to Kubernetes again without a change.
const KUBE_REFRESH: Duration = Duration::from_secs(5);
/// gRPC requests handled at once.
const GRPC_MAX_IN_FLIGHT: usize = 4096;
/// gRPC: longest unary call.
const GRPC_TIMEOUT: Duration = Duration::from_secs(10);

/// The bound sockets the watchdog serves on.
pub struct WatchdogListeners {
    /// gRPC and admin.
    pub service: cli::Listeners,
    /// The publish endpoint, when configured.
    pub publish: Option<TcpListener>,
}

/// Binds the configured listeners, watches SIGTERM/SIGINT, prints the listening line, and
/// runs until a signal and the shutdown sequence end it.
pub async fn run_until_signal(config: WatchdogConfig) -> anyhow::Result<()> {
    let publish = bind_publish(config.publish_listen).await?;
    let (service, lifecycle) =
        cli::listen(config.grpc_listen, config.admin_listen, &config.service).await?;
    if let Some(listener) = &publish {
        println!(
            "{}",
            serde_json::json!({"event": "listening", "publish": listener.local_addr()?})
        );
    }
    run(config, WatchdogListeners { service, publish }, lifecycle).await
}

/// Binds the publish listener, if configured.
pub async fn bind_publish(addr: Option<SocketAddr>) -> anyhow::Result<Option<TcpListener>> {
    match addr {
        Some(addr) => Ok(Some(
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("publish_listen {addr}"))?,
        )),
        None => Ok(None),
    }
}

/// Reads the signing key (64 hex digits) from `path`, or makes a new one for this run.
pub fn signing_key(path: Option<&Path>) -> anyhow::Result<SecretKey> {
    let valid = |bytes: &[u8; 32]| SecretKey::from_byte_array(*bytes).is_ok();
    let Some(path) = path else {
        let key = SecretKey::from_byte_array(keyfile::random(valid))?;
        tracing::warn!(
            public_key = %hex::encode(key.public_key(secp256k1::SECP256K1).serialize()),
            "no key_file: signing with a key made for this run (other operators cannot pin it)"
        );
        return Ok(key);
    };
    Ok(SecretKey::from_byte_array(keyfile::read(
        path, "key_file", valid,
    )?)?)
}

/// Runs the watchdog on bound `listeners` until `lifecycle`'s shutdown sequence ends.
pub async fn run(
    config: WatchdogConfig,
    listeners: WatchdogListeners,
    lifecycle: Lifecycle,
) -> anyhow::Result<()> {
    let registry = Registry::new();
    kit_metrics::register_service(&registry, "reorg-watchdog")?;
    let metrics = Metrics::register(&registry)?;
    let grpc_metrics = GrpcMetrics::register(&registry)?;
    let key = signing_key(config.key_file.as_deref())?;
    let watchdog = Arc::new(Watchdog::new(&config, key, metrics));
    let readiness = lifecycle.readiness().clone();

    let stopped = lifecycle.stopped();
    let settings = ReadSettings::of(&config);
    let mut tasks = JoinSet::new();
    for (index, spec) in config.followers.iter().enumerate() {
        tasks.spawn(sources::follow(
            Arc::clone(&watchdog),
            index,
            spec.clone(),
            settings,
            stopped.clone(),
        ));
    }
    let https = if config.attesters.iter().any(|a| a.scheme() == Scheme::Https) {
        Some(
            fetch::https_connector(config.attester_ca_file.as_deref())
                .map_err(anyhow::Error::msg)?,
        )
    } else {
        None
    };
    for (offset, spec) in config.attesters.iter().enumerate() {
        tasks.spawn(sources::attest(
            Arc::clone(&watchdog),
            config.followers.len() + offset,
            spec.clone(),
            settings,
            https.clone(),
            stopped.clone(),
        ));
    }
    let publish_transport = PublishTransport {
        tls: publish_tls(&config, &watchdog, &mut tasks, &stopped)?,
        handshake_failures: watchdog.metrics().publish_tls_handshake_failures.clone(),
    };
    {
        let (watchdog, stopped) = (Arc::clone(&watchdog), stopped.clone());
        tasks.spawn(async move {
            let mut tick = tokio::time::interval(TICK);
            loop {
                tokio::select! {
                    _ = tick.tick() => watchdog.evaluate(),
                    () = stopped.cancelled() => return,
                }
            }
        });
    }
    let kube = match config
        .kube
        .resolve(&hnsfleet_service_kit::config::ProcessEnv)?
    {
        Some(mut settings) => {
            settings.network = Some(config.network.to_string());
            let metrics = hnsfleet_watchdog_kube::KubeMetrics::register(&registry)?;
            let (publisher, elector) =
                hnsfleet_watchdog_kube::connect(settings, metrics, stopped.clone())
                    .await
                    .context("kubernetes")?;
            tasks.spawn(publish_to_kube(
                Arc::clone(&watchdog),
                publisher,
                stopped.clone(),
            ));
            Some(elector)
        }
        None => None,
    };
    let stop_accepting = lifecycle.stop_accepting();
    let admin_server = admin::serve(
        listeners.service.admin,
        registry,
        readiness,
        stop_accepting.clone(),
    );
    let publish_server = {
        let (watchdog, stop) = (Arc::clone(&watchdog), stop_accepting.clone());
        async move {
            match listeners.publish {
                Some(listener) => {
                    crate::publish::serve(listener, watchdog, publish_transport, stop).await
                }
                None => Ok(()),
            }
        }
    };
    let api = WatchdogApi::new(
        Arc::clone(&watchdog),
        UnfreezeAuth::new(config.unfreeze_token_file.clone()),
        config.heartbeat_interval,
        stop_accepting.clone(),
    );
    let grpc_layer = GrpcLayer::new(
        grpc_metrics,
        GrpcLimits {
            max_in_flight: GRPC_MAX_IN_FLIGHT,
            request_timeout: GRPC_TIMEOUT,
            error_domain: WATCHDOG_ERROR_DOMAIN,
        },
        hnsfleet_proto::METHODS,
    );
    let grpc_server = tonic::transport::Server::builder()
        .layer(grpc_layer)
        .add_service(ReorgWatchdogServiceServer::new(api))
        .serve_with_incoming_shutdown(
            hnsfleet_service_kit::grpc::incoming(listeners.service.grpc),
            async move {
                stop_accepting.cancelled().await;
            },
        );
    let ending = lifecycle
        .serve(async { tokio::join!(grpc_server, admin_server, publish_server) })
        .await;
    tasks.shutdown().await;
    if let Some(elector) = kube {
        // The elector releases the Lease on shutdown.
        let _ = tokio::time::timeout(Duration::from_secs(5), elector).await;
    }
    match ending {
        Ending::Served((grpc, admin, publish)) => {
            grpc.context("grpc server")?;
            admin.context("admin server")?;
            publish.context("publish server")?;
        }
        Ending::GraceExpired | Ending::Forced => {}
    }
    tracing::info!("stopped");
    Ok(())
}

/// The publish endpoint's TLS acceptor when `publish_tls_cert`/`publish_tls_key` are set,
/// with a task reloading the pair when the files change (and on SIGHUP).
fn publish_tls(
    config: &WatchdogConfig,
    watchdog: &Watchdog,
    tasks: &mut JoinSet<()>,
    stopped: &CancellationToken,
) -> anyhow::Result<Option<TlsAcceptor>> {
    let (Some(cert), Some(key)) = (&config.publish_tls_cert, &config.publish_tls_key) else {
        return Ok(None);
    };
    let certificate = Certificate::from_files(cert, key).context("publish_tls_cert")?;
    let metrics = watchdog.metrics();
    let reload_metrics = ReloadMetrics {
        ok: metrics.publish_tls_reloads.with_label_values(&["ok"]),
        error: metrics.publish_tls_reloads.with_label_values(&["error"]),
        expiry: metrics.publish_tls_cert_expiry.clone(),
    };
    if let Some(reloader) = Reloader::new(&certificate, reload_metrics) {
        tasks.spawn(reloader.run(config.publish_tls_reload_interval, stopped.clone()));
    }
    let server = certificate
        .server_config(&[ALPN_HTTP1])
        .context("publish_tls_cert")?;
    Ok(Some(TlsAcceptor::from(server)))
}

/// `google.rpc.ErrorInfo` domain of the watchdog's errors.
pub const WATCHDOG_ERROR_DOMAIN: &str = "hnsfleet.watchdog.v1";

/// Writes every verdict (and each transition as an Event) to Kubernetes while this replica
/// leads, and again every [`KUBE_REFRESH`] (a new leader writes at once; errors retry).
async fn publish_to_kube(
    watchdog: Arc<Watchdog>,
    mut publisher: hnsfleet_watchdog_kube::KubePublisher,
    stopped: tokio_util::sync::CancellationToken,
) {
    let mut verdicts = watchdog.subscribe();
    let mut transitions = watchdog.transitions();
    let mut refresh = tokio::time::interval(KUBE_REFRESH);
    loop {
        let transition = tokio::select! {
            _ = refresh.tick() => None,
            changed = verdicts.changed() => {
                if changed.is_err() {
                    return;
                }
                None
            }
            transition = transitions.recv() => transition.ok(),
            () = stopped.cancelled() => return,
        };
        let verdict = watchdog.verdict();
        if let Err(error) = publisher.publish(&verdict, transition).await {
            tracing::warn!(%error, "kubernetes publication failed (retried)");
        }
    }
}
