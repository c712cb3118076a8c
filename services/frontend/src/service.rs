//! The running frontend: binds its listeners, builds the pipeline (root authority, recursion,
//! answer cache, signer), keeps readiness current from the proof-caches' trusted root, and
//! stops through the service kit's shutdown sequence (not ready at once, listeners close after
//! the drain window, in-flight queries get the grace period).

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use anyhow::Context;
use hnsfleet_cache_client::{CacheClient, CacheClientMetrics, ClientOptions};
use hnsfleet_icann::{IcannConfig, IcannMetrics, IcannRoot};
use hnsfleet_ratelimit::{Budget, Limits as RateLimits, PrefixLimiter, PrefixSlots};
use hnsfleet_service_kit::readiness::Check;
use hnsfleet_service_kit::shutdown::Ending;
use hnsfleet_service_kit::{Lifecycle, admin, cli, metrics as kit_metrics};
use hnsfleet_upstream::{DnsTarget, ReplicaSet, ReplicaSource, ReplicaWatcher, WatchOptions};
use hnsfleet_verdict_follower::VerdictFollower;
use prometheus::Registry;
use tokio::net::{TcpListener, UdpSocket};
use tokio::sync::Semaphore;
use tokio::task::JoinSet;
use tokio_rustls::TlsAcceptor;

use crate::answers::AnswerCache;
use crate::config::FrontendConfig;
use crate::frontend::{Frontend, Parts, Service, SignOn};
use crate::listen::accept::StreamLimits;
use crate::listen::quic::{self, QuicLimits};
use crate::listen::tls::reload::{ReloadMetrics, Reloader};
use crate::listen::tls::{
    ALPN_DOQ, ALPN_DOT, ALPN_H2, ALPN_H3, ALPN_HTTP1, Certificate, Resumption,
};
use crate::listen::{doh, doh3, doq, stream, udp};
use crate::metrics::Metrics;
use crate::recursion::Recursion;
use crate::root::RootAuthority;
use crate::rrl::{Rrl, RrlLimits};
use crate::sig0::{Signer, read_key};

/// How often the proof-caches are asked for their trusted root (readiness).
const ROOT_PROBE: Duration = Duration::from_secs(1);
/// How long a root seen by a probe keeps the frontend ready when later probes fail.
const PROBE_GRACE: Duration = Duration::from_secs(10);
/// Unidirectional streams an HTTP/3 client may open: its control stream and the two QPACK
/// streams (RFC 9114 §6.2, RFC 9204 §4.2), with room for reserved "grease" ones.
const H3_UNI_STREAMS: u32 = 8;

/// Every socket the frontend serves on, bound.
#[derive(Debug)]
pub struct Listeners {
    /// Do53 UDP (`udp_sockets` sockets sharing the port) and TCP of the resolver.
    pub dns: Option<(Vec<std::net::UdpSocket>, TcpListener)>,
    /// Do53 UDP and TCP of the root authority alone.
    pub root: Option<(Vec<std::net::UdpSocket>, TcpListener)>,
    /// DoT.
    pub dot: Option<TcpListener>,
    /// DoH (HTTP/2 and HTTP/1.1).
    pub doh: Option<TcpListener>,
    /// DoH over HTTP/3: UDP, on the DoH listener's port.
    pub doh3: Option<std::net::UdpSocket>,
    /// DoQ (UDP).
    pub doq: Option<std::net::UdpSocket>,
    /// Admin HTTP.
    pub admin: TcpListener,
}

impl Listeners {
    /// Binds every configured listener (UDP sockets and a TCP socket on the same port for
    /// Do53: with port 0 the TCP port picked is then also bound for UDP).
    pub async fn bind(config: &FrontendConfig) -> anyhow::Result<Listeners> {
        async fn tcp(key: &str, addr: SocketAddr) -> anyhow::Result<TcpListener> {
            TcpListener::bind(addr)
                .await
                .with_context(|| format!("{key} {addr}"))
        }
        let udp_sockets = config.udp_socket_count();
        let both = async |key: &str, addr: SocketAddr| {
            let tcp = tcp(key, addr).await?;
            let port = tcp.local_addr()?.port();
            let udp = udp::bind(
                SocketAddr::new(addr.ip(), port),
                udp_sockets,
                config.udp_dont_fragment,
            )
            .with_context(|| format!("{key} {addr} (udp)"))?;
            anyhow::Ok((udp, tcp))
        };
        fn udp(key: &str, addr: SocketAddr) -> anyhow::Result<std::net::UdpSocket> {
            std::net::UdpSocket::bind(addr).with_context(|| format!("{key} {addr} (udp)"))
        }
        let doh = match config.doh_listen {
            Some(addr) => Some(tcp("doh_listen", addr).await?),
            None => None,
        };
        let doh3 = match (&doh, config.doh_listen) {
            (Some(listener), Some(addr)) if config.doh3 => {
                let port = listener.local_addr()?.port();
                Some(udp("doh_listen", SocketAddr::new(addr.ip(), port))?)
            }
            _ => None,
        };
        Ok(Listeners {
            dns: match config.dns_listen {
                Some(addr) => Some(both("dns_listen", addr).await?),
                None => None,
            },
            root: match config.root_listen {
                Some(addr) => Some(both("root_listen", addr).await?),
                None => None,
            },
            dot: match config.dot_listen {
                Some(addr) => Some(tcp("dot_listen", addr).await?),
                None => None,
            },
            doh,
            doh3,
            doq: match config.doq_listen {
                Some(addr) => Some(udp("doq_listen", addr)?),
                None => None,
            },
            admin: tcp("admin_listen", config.admin_listen).await?,
        })
    }

    /// `(name, address)` of every bound listener, for the listening line.
    pub fn addresses(&self) -> std::io::Result<Vec<(&'static str, SocketAddr)>> {
        let mut out = Vec::new();
        if let Some((_, tcp)) = &self.dns {
            out.push(("dns", tcp.local_addr()?));
        }
        if let Some((_, tcp)) = &self.root {
            out.push(("root", tcp.local_addr()?));
        }
        if let Some(dot) = &self.dot {
            out.push(("dot", dot.local_addr()?));
        }
        if let Some(doh) = &self.doh {
            out.push(("doh", doh.local_addr()?));
        }
        if let Some(doq) = &self.doq {
            out.push(("doq", doq.local_addr()?));
        }
        out.push(("admin", self.admin.local_addr()?));
        Ok(out)
    }
}

/// Binds the configured listeners, watches SIGTERM/SIGINT, prints
/// `{"event":"listening","dns":..,"root":..,"dot":..,"doh":..,"doq":..,"admin":..}` on stdout
/// (DoH over HTTP/3 is on the `doh` port, over UDP), and runs
/// until a signal and the shutdown sequence end it.
pub async fn run_until_signal(config: FrontendConfig) -> anyhow::Result<()> {
    let listeners = Listeners::bind(&config).await?;
    let lifecycle = Lifecycle::from_settings(&config.service);
    lifecycle.watch_signals().context("signal handlers")?;
    cli::announce_listening(&listeners.addresses()?).context("listening line")?;
    run(config, listeners, lifecycle).await
}

/// The proof-cache replica source of the configured URLs.
fn replica_source(config: &FrontendConfig) -> anyhow::Result<ReplicaSource> {
    let fixed: Option<Vec<SocketAddr>> = config.caches.iter().map(|c| c.socket_addr()).collect();
    match fixed {
        Some(addrs) => Ok(ReplicaSource::Static(
            addrs.into_iter().collect::<ReplicaSet>(),
        )),
        None => {
            let url = config.caches.first().context("no proof-cache")?;
            let target = DnsTarget::parse(&format!("{}:{}", url.host(), url.port()))
                .map_err(|e| anyhow::anyhow!("caches: {e}"))?;
            Ok(ReplicaSource::Dns(target))
        }
    }
}

/// The ICANN side of the fallback: the configured root hints (or IANA's) and trust anchors (or
/// the built-in KSK-2017 and KSK-2024).
fn icann_root(config: &FrontendConfig, registry: &Registry) -> anyhow::Result<IcannRoot> {
    let icann_config = match &config.icann_root_hints {
        Some(hints) => IcannConfig::from_files(hints, config.icann_trust_anchors.as_deref()),
        None => {
            let servers = hnsfleet_icann::parse_root_hints(hnsfleet_icann::IANA_ROOT_HINTS)
                .map_err(|e| anyhow::anyhow!("built-in root hints: {e}"))?;
            let anchors = match &config.icann_trust_anchors {
                Some(path) => {
                    let text = std::fs::read_to_string(path)
                        .with_context(|| format!("icann_trust_anchors {}", path.display()))?;
                    hnsfleet_icann::parse_anchors(&text)
                        .map_err(|e| anyhow::anyhow!("icann_trust_anchors: {e}"))?
                }
                None => hnsfleet_icann::default_anchors(),
            };
            Ok(IcannConfig::new(servers, anchors))
        }
    }
    .map_err(|e| anyhow::anyhow!("icann_root_hints: {e}"))?;
    Ok(IcannRoot::new(icann_config)
        .map_err(|e| anyhow::anyhow!("icann: {e}"))?
        .with_metrics(IcannMetrics::register(registry)?))
}

/// Response rate limiting as configured (`None` when `rrl_rate` is 0).
fn rrl(config: &FrontendConfig, metrics: &Metrics) -> anyhow::Result<Option<Rrl>> {
    if config.rrl_rate == 0 {
        return Ok(None);
    }
    let limits = RrlLimits {
        rate: config.rrl_rate,
        burst: config.rrl_burst,
        slip: config.rrl_slip,
    };
    Ok(Some(Rrl::new(limits, metrics).context("rrl_rate")?))
}

/// The limits of the connection-oriented listeners as configured.
fn stream_limits(config: &FrontendConfig) -> anyhow::Result<StreamLimits> {
    let handshakes = match config.tls_handshake_rate {
        0 => None,
        rate => Some(Arc::new(
            PrefixLimiter::new(RateLimits {
                per_prefix: Budget {
                    per_second: rate,
                    burst: config.tls_handshake_burst,
                },
                // Per prefix only: the global bound on connections is max_connections.
                global: Budget {
                    per_second: crate::rrl::UNLIMITED,
                    burst: crate::rrl::UNLIMITED,
                },
                ipv4_prefix: 24,
                ipv6_prefix: 56,
                max_prefixes: crate::rrl::MAX_PREFIXES,
            })
            .context("tls_handshake_rate")?,
        )),
    };
    Ok(StreamLimits {
        connections: Arc::new(Semaphore::new(config.max_connections)),
        per_prefix: PrefixSlots::new(config.max_connections_per_prefix, 24, 56)
            .context("max_connections_per_prefix")?,
        handshakes,
        idle_timeout: config.idle_timeout,
        max_pipelined: config.max_pipelined,
        doh_max_streams: config.doh_max_streams,
    })
}

/// Runs the frontend on bound `listeners` until `lifecycle`'s shutdown sequence ends.
pub async fn run(
    config: FrontendConfig,
    listeners: Listeners,
    lifecycle: Lifecycle,
) -> anyhow::Result<()> {
    let registry = Registry::new();
    kit_metrics::register_service(&registry, "frontend")?;
    let metrics = Metrics::register(&registry)?;
    let stopped = lifecycle.stopped();
    let mut tasks = JoinSet::new();

    let watcher = ReplicaWatcher::new(replica_source(&config)?, WatchOptions::default())
        .map_err(|e| anyhow::anyhow!("caches: {e}"))?;
    let replicas = watcher.subscribe();
    tasks.spawn(watcher.run(stopped.clone()));
    let cache = CacheClient::new(replicas, ClientOptions::default())
        .map_err(|e| anyhow::anyhow!("cache client: {e}"))?
        .with_metrics(CacheClientMetrics::register(&registry)?);

    let icann = icann_root(&config, &registry)?;
    let root = Arc::new(RootAuthority::new(
        config.effective_public_host(),
        cache.clone(),
        icann,
        config.network,
        metrics.clone(),
    ));
    let recursion = Arc::new(Recursion::new(
        Arc::clone(&root),
        config.allow_private_upstreams,
        config.resolve_timeout,
    )?);
    let signer = match &config.sig0_key {
        Some(path) => Some(Signer::new(
            read_key(path)?,
            Budget {
                per_second: config.sig0_client_rate,
                burst: config.sig0_client_burst,
            },
            Budget {
                per_second: config.sig0_global_rate,
                burst: config.sig0_global_rate,
            },
            metrics.clone(),
        )?),
        None => None,
    };
    let frontend = Arc::new(Frontend::new(Parts {
        root: Arc::clone(&root),
        recursion,
        answers: AnswerCache::new(
            config.answer_cache_capacity.as_u64(),
            config.serve_stale,
            config.prefetch,
            metrics.clone(),
        ),
        signer,
        sign_on: SignOn {
            tls: config.sig0_dot,
            https: config.sig0_doh,
        },
        udp_payload: config.udp_payload,
        max_in_flight: config.max_in_flight,
        packet_cache_capacity: config.packet_cache_capacity.as_u64(),
        rrl: rrl(&config, &metrics)?,
        metrics: metrics.clone(),
    }));

    // Readiness: a proof-cache reports a trusted root.
    let readiness = lifecycle.readiness().clone();
    {
        let (frontend, cache, stopped, readiness) = (
            Arc::clone(&frontend),
            cache.clone(),
            stopped.clone(),
            readiness.clone(),
        );
        let watchdog = config.watchdog.as_ref().map(|url| {
            let follower = Arc::new(VerdictFollower::new(
                &url.to_string(),
                Duration::from_secs(5),
            ));
            let (run, stopped) = (Arc::clone(&follower), stopped.clone());
            tasks.spawn(async move { run.run(stopped).await });
            follower
        });
        let watchdog_grace = config.watchdog_grace;
        tasks.spawn(async move {
            let mut last_root = None;
            // The last probe that found a root: one failed or slow probe does not make the
            // frontend unready (the caches report a lost quorum on look-ups themselves).
            let mut last_seen: Option<(tokio::time::Instant, u32)> = None;
            let mut tick = tokio::time::interval(ROOT_PROBE);
            loop {
                tokio::select! {
                    _ = tick.tick() => {}
                    () = stopped.cancelled() => return,
                }
                let roots = cache.trusted_roots().await;
                // While the watchdog has frozen the fleet, only its root counts.
                let followed = watchdog.as_ref().map(|w| w.current());
                let frozen = followed.and_then(|f| f.frozen_root());
                let counted: Vec<_> = roots
                    .iter()
                    .map(|(_, r)| r)
                    .filter(|r| {
                        frozen.is_none_or(|root| {
                            r.root.as_ref().is_some_and(|seen| {
                                seen.height == root.height
                                    && seen.tree_root.as_slice() == root.tree_root.as_bytes()
                            })
                        })
                    })
                    .collect();
                let best = counted
                    .iter()
                    .filter(|r| !r.stale)
                    .filter_map(|r| r.root.as_ref())
                    .max_by_key(|r| r.height)
                    .or_else(|| {
                        counted
                            .iter()
                            .filter_map(|r| r.root.as_ref())
                            .max_by_key(|r| r.height)
                    });
                if let Some(root) = best {
                    last_seen = Some((tokio::time::Instant::now(), root.height));
                } else if frozen.is_some() {
                    // Frozen on a root no cache serves: no grace on the roots seen before.
                    last_seen = None;
                }
                let recent = last_seen.filter(|(at, _)| at.elapsed() < PROBE_GRACE);
                let watchdog_live =
                    followed.is_none_or(|f| f.live(tokio::time::Instant::now(), watchdog_grace));
                let ready = recent.is_some() && watchdog_live;
                frontend.set_ready(ready);
                let metrics = frontend.metrics();
                metrics.trusted_root.set(i64::from(ready));
                metrics
                    .trusted_root_height
                    .set(recent.map_or(0, |(_, height)| i64::from(height)));
                let root_now = best.map(|r| r.tree_root.clone());
                if root_now.is_some() && root_now != last_root {
                    frontend.root_changed();
                    last_root = root_now;
                }
                let detail = match (best, recent) {
                    (Some(r), _) => format!("trusted root at height {}", r.height),
                    (None, Some((_, height))) => {
                        format!("trusted root at height {height} (last probe failed)")
                    }
                    (None, None) => "no proof-cache reports a trusted root".to_string(),
                };
                let mut checks = vec![Check::new("trusted_root", recent.is_some(), detail)];
                if let Some(followed) = followed {
                    let (live, detail) =
                        followed.readiness(tokio::time::Instant::now(), watchdog_grace);
                    checks.push(Check::new("watchdog", live, detail));
                }
                readiness.report(checks);
            }
        });
    }

    let stop_accepting = lifecycle.stop_accepting();
    let limits = stream_limits(&config)?;
    let certificate = if config.needs_tls() {
        let certificate = match (&config.tls_cert, &config.tls_key) {
            (Some(cert), Some(key)) => Certificate::from_files(cert, key)?,
            _ => Certificate::self_signed()?,
        }
        .with_resumption(Resumption {
            tickets: config.tls_tickets,
            session_cache: config.tls_session_cache,
        })?;
        // Self-signed: nothing to reload (the gauge is set all the same).
        if let Some(reloader) = Reloader::new(
            &certificate,
            ReloadMetrics {
                ok: metrics.tls_reloads.with_label_values(&["ok"]),
                error: metrics.tls_reloads.with_label_values(&["error"]),
                expiry: metrics.tls_cert_expiry.clone(),
            },
        ) {
            tasks.spawn(reloader.run(config.tls_reload_interval, stopped.clone()));
        }
        Some(certificate)
    } else {
        None
    };
    let mut servers: JoinSet<std::io::Result<()>> = JoinSet::new();
    for (sockets, service) in [
        (listeners.dns, Service::Resolver),
        (listeners.root, Service::Root),
    ] {
        if let Some((udp_sockets, tcp_listener)) = sockets {
            for udp_socket in udp_sockets {
                servers.spawn(udp::serve(
                    UdpSocket::from_std(udp_socket)?,
                    Arc::clone(&frontend),
                    service,
                    stop_accepting.clone(),
                ));
            }
            servers.spawn(stream::serve(
                tcp_listener,
                None,
                Arc::clone(&frontend),
                service,
                limits.clone(),
                stop_accepting.clone(),
            ));
        }
    }
    if let (Some(listener), Some(certificate)) = (listeners.dot, &certificate) {
        let acceptor = TlsAcceptor::from(certificate.server_config(&[ALPN_DOT])?);
        servers.spawn(stream::serve(
            listener,
            Some(acceptor),
            Arc::clone(&frontend),
            Service::Resolver,
            limits.clone(),
            stop_accepting.clone(),
        ));
    }
    if let (Some(listener), Some(certificate)) = (listeners.doh, &certificate) {
        let acceptor = TlsAcceptor::from(certificate.server_config(&[ALPN_H2, ALPN_HTTP1])?);
        let mut alt_svc = None;
        if let Some(socket) = listeners.doh3 {
            alt_svc = doh::alt_svc(socket.local_addr()?.port());
            let quic_limits = QuicLimits {
                streams: config.doh_max_streams,
                uni_streams: H3_UNI_STREAMS,
                idle_timeout: config.idle_timeout,
            };
            let tls = certificate.server_config(&[ALPN_H3])?;
            let endpoint = quic::endpoint(socket, tls, quic_limits).context("doh_listen (h3)")?;
            servers.spawn(doh3::serve(
                endpoint,
                Arc::clone(&frontend),
                limits.clone(),
                stop_accepting.clone(),
            ));
        }
        servers.spawn(doh::serve(
            listener,
            acceptor,
            Arc::clone(&frontend),
            limits.clone(),
            alt_svc,
            stop_accepting.clone(),
        ));
    }
    if let (Some(socket), Some(certificate)) = (listeners.doq, &certificate) {
        let quic_limits = QuicLimits {
            streams: u32::try_from(config.max_pipelined).unwrap_or(u32::MAX),
            uni_streams: 0,
            idle_timeout: config.idle_timeout,
        };
        let tls = certificate.server_config(&[ALPN_DOQ])?;
        let endpoint = quic::endpoint(socket, tls, quic_limits).context("doq_listen")?;
        servers.spawn(doq::serve(
            endpoint,
            Arc::clone(&frontend),
            limits.clone(),
            stop_accepting.clone(),
        ));
    }
    let admin_server = admin::serve(listeners.admin, registry, readiness, stop_accepting.clone());
    let dns_servers = async {
        let mut first_error = None;
        while let Some(joined) = servers.join_next().await {
            if let Ok(Err(error)) = joined {
                first_error.get_or_insert(error);
            }
        }
        first_error.map_or(Ok(()), Err)
    };
    let ending = lifecycle
        .serve(async { tokio::join!(dns_servers, admin_server) })
        .await;
    tasks.shutdown().await;
    match ending {
        Ending::Served((dns, admin)) => {
            dns.context("dns listeners")?;
            admin.context("admin server")?;
        }
        Ending::GraceExpired | Ending::Forced => {}
    }
    tracing::info!("stopped");
    Ok(())
}
