//! The command-line edge every service shares: the flags all services take ([`ServiceArgs`]),
//! parsing with the exit codes operators script against (0 done, 1 runtime failure, 64 bad
//! command line or configuration), [`start`] (load, `--check-config`, telemetry) and the
//! `listening` line on stdout that tests and scripts read addresses from.

use std::io::Write;
use std::net::SocketAddr;
use std::path::PathBuf;
use std::process::ExitCode;
use std::time::Duration;

use serde::Serialize;

use crate::config::{self, EXIT_CONFIG, Env, Loader, ProcessEnv, ServiceConfig, duration};
use crate::telemetry::{self, LogFormat};

/// Flags every service takes; flatten it into the service's flags (`#[command(flatten)]` and
/// `#[serde(flatten)]`). Each config flag overrides its key only when given.
#[derive(Debug, Clone, Default, clap::Args, Serialize)]
pub struct ServiceArgs {
    /// TOML config file (keys as in the README's table; unknown keys are refused). Default:
    /// `HNSFLEET_CONFIG`.
    #[arg(long, value_name = "FILE")]
    #[serde(skip)]
    pub config: Option<PathBuf>,
    /// Print the effective configuration as TOML, defaults written out, and exit (64 if it is
    /// invalid).
    #[arg(long)]
    #[serde(skip)]
    pub check_config: bool,
    /// Tracing filter (`info`, `hnsfleet=debug,warn`, ...).
    #[arg(long, value_name = "FILTER")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log: Option<String>,
    /// Log format: text or json.
    #[arg(long, value_name = "FORMAT")]
    #[serde(skip_serializing_if = "Option::is_none")]
    pub log_format: Option<LogFormat>,
    /// After SIGTERM, how long /readyz says "draining" before listeners close (e.g. 5s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub shutdown_drain: Option<Duration>,
    /// How long in-flight requests may take once listeners closed (e.g. 10s).
    #[arg(long, value_name = "DURATION", value_parser = duration::parse)]
    #[serde(skip_serializing_if = "Option::is_none", with = "duration::option")]
    pub shutdown_grace: Option<Duration>,
}

/// Parses the process's command line. Help and version print to stdout and give exit status
/// 0; a usage error prints its first line to stderr and gives [`EXIT_CONFIG`].
pub fn parse<P: clap::Parser>() -> Result<P, ExitCode> {
    P::try_parse().map_err(|e| {
        if e.use_stderr() {
            let text = e.render().to_string();
            eprintln!(
                "{}",
                text.lines().next().unwrap_or("error: bad command line")
            );
            ExitCode::from(EXIT_CONFIG)
        } else {
            let _ = e.print();
            ExitCode::SUCCESS
        }
    })
}

/// What a service's `main` does before running: loads `C` from the defaults, the config file,
/// the process environment and `args` (an error: one line, exit 64); with `--check-config`
/// prints [`ServiceConfig::resolved`] as TOML and exits 0; else installs the tracing
/// subscriber and logs the loader's warnings. `Ok` is the configuration to run with.
pub fn start<C, A>(args: &A, service: &ServiceArgs) -> Result<C, ExitCode>
where
    C: ServiceConfig,
    A: clap::Args + Serialize,
{
    let loaded = match load::<C, A>(args, service, &ProcessEnv) {
        Ok(loaded) => loaded,
        Err(e) => {
            eprintln!("error: {e}");
            return Err(ExitCode::from(EXIT_CONFIG));
        }
    };
    if service.check_config {
        for warning in &loaded.warnings {
            eprintln!("warning: {warning}");
        }
        return Err(match toml::to_string(&loaded.config.resolved()) {
            Ok(text) => {
                print!("{text}");
                ExitCode::SUCCESS
            }
            Err(e) => {
                eprintln!("error: printing the configuration: {e}");
                ExitCode::FAILURE
            }
        });
    }
    let settings = loaded.config.settings();
    if let Err(e) = telemetry::init(&settings.log, settings.log_format) {
        eprintln!("error: {e}");
        return Err(ExitCode::from(EXIT_CONFIG));
    }
    for warning in &loaded.warnings {
        tracing::warn!("{warning}");
    }
    Ok(loaded.config)
}

/// [`Loader`] over `args` (the config file from `service.config`, else `HNSFLEET_CONFIG`) and
/// `env`.
pub fn load<C, A>(
    args: &A,
    service: &ServiceArgs,
    env: &impl Env,
) -> Result<config::Loaded<C>, config::ConfigError>
where
    C: ServiceConfig,
    A: clap::Args + Serialize,
{
    Loader::new()
        .file(service.config.as_deref())
        .env(env)
        .flags(args)
        .load()
}

/// Prints `{"event":"listening","grpc":"ADDR",...}` (one key per listener) on stdout and
/// flushes it: the contract tests and scripts rely on to learn the ports picked for port 0.
pub fn announce_listening(listeners: &[(&str, SocketAddr)]) -> std::io::Result<()> {
    let mut line = serde_json::Map::new();
    line.insert("event".into(), "listening".into());
    for (name, addr) in listeners {
        line.insert((*name).to_string(), addr.to_string().into());
    }
    let mut out = std::io::stdout().lock();
    writeln!(out, "{}", serde_json::Value::Object(line))?;
    out.flush()?;
    for (name, addr) in listeners {
        tracing::info!(listener = name, %addr, "listening");
    }
    Ok(())
}

/// The two sockets every service serves on.
#[derive(Debug)]
pub struct Listeners {
    /// gRPC.
    pub grpc: tokio::net::TcpListener,
    /// Admin HTTP (`/metrics`, `/healthz`, `/readyz`).
    pub admin: tokio::net::TcpListener,
}

/// Why a service could not start listening.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum ListenError {
    /// A listener could not be bound (the message names the config key and address).
    #[error("{key} {addr}: {source}")]
    Bind {
        /// The config key of the address.
        key: &'static str,
        /// The address.
        addr: SocketAddr,
        /// Why.
        #[source]
        source: std::io::Error,
    },
    /// The signal handlers or the listening line failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: &'static str,
        /// Why.
        #[source]
        source: std::io::Error,
    },
}

/// The first steps of every service's `run_until_signal`: binds `grpc_listen` and
/// `admin_listen`, builds the shutdown [`Lifecycle`](crate::Lifecycle) from `settings` and
/// watches SIGTERM/SIGINT (before the listening line, so a signal sent as soon as it is read is
/// not lost), then prints `{"event":"listening","grpc":..,"admin":..}`.
pub async fn listen(
    grpc_listen: SocketAddr,
    admin_listen: SocketAddr,
    settings: &crate::config::ServiceSettings,
) -> Result<(Listeners, crate::Lifecycle), ListenError> {
    let bind = |key, addr| async move {
        tokio::net::TcpListener::bind(addr)
            .await
            .map_err(|source| ListenError::Bind { key, addr, source })
    };
    let grpc = bind("grpc_listen", grpc_listen).await?;
    let admin = bind("admin_listen", admin_listen).await?;
    let lifecycle = crate::Lifecycle::from_settings(settings);
    let io = |what| move |source| ListenError::Io { what, source };
    lifecycle.watch_signals().map_err(io("signal handlers"))?;
    let addrs = [
        ("grpc", grpc.local_addr().map_err(io("grpc address"))?),
        ("admin", admin.local_addr().map_err(io("admin address"))?),
    ];
    announce_listening(&addrs).map_err(io("listening line"))?;
    Ok((Listeners { grpc, admin }, lifecycle))
}

/// A service's whole `main` after parsing: loads the configuration (exit 64 on a bad one;
/// `--check-config` prints it), starts telemetry and a multi-threaded runtime, and runs `serve`
/// until it returns (exit 0, or 1 with the error on stderr and in the log).
pub fn run_service<C, A, F, Fut>(args: &A, service: &ServiceArgs, name: &str, serve: F) -> ExitCode
where
    C: ServiceConfig,
    A: clap::Args + Serialize,
    F: FnOnce(C) -> Fut,
    Fut: std::future::Future<Output = anyhow::Result<()>>,
{
    let config: C = match start(args, service) {
        Ok(config) => config,
        Err(code) => return code,
    };
    let runtime = match tokio::runtime::Builder::new_multi_thread()
        .enable_all()
        .build()
    {
        Ok(rt) => rt,
        Err(e) => {
            eprintln!("error: tokio runtime: {e}");
            return ExitCode::FAILURE;
        }
    };
    match runtime.block_on(serve(config)) {
        Ok(()) => ExitCode::SUCCESS,
        Err(e) => {
            tracing::error!(error = %e, "{name} stopped");
            eprintln!("error: {e:#}");
            ExitCode::FAILURE
        }
    }
}
