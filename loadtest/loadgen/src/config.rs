//! Flags, their validation into a [`Config`], and the hard caps no flag can exceed.

use std::net::SocketAddr;
use std::path::PathBuf;
use std::time::Duration;

use clap::{Parser, ValueEnum};
use serde::{Deserialize, Serialize};

use crate::LoadgenError;
use crate::mix::{MixSpec, NameLists, QtypeMix};
use crate::target::check_target;

/// Longest run, whatever `--duration` says.
pub const MAX_DURATION: Duration = Duration::from_secs(300);
/// Run length when neither `--duration` nor `--queries` is given.
pub const DEFAULT_DURATION: Duration = Duration::from_secs(10);
/// Most queries one run sends.
pub const MAX_QUERIES: u64 = 100_000_000;
/// Highest open-loop rate (queries per second).
pub const MAX_RATE: u64 = 2_000_000;
/// Most queries outstanding in closed loop.
pub const MAX_CONCURRENCY: usize = 10_000;
/// Most sockets or connections.
pub const MAX_CONNECTIONS: usize = 256;
/// Longest per-query timeout.
pub const MAX_TIMEOUT: Duration = Duration::from_secs(30);
/// Largest hot set.
pub const MAX_HOT_SET: usize = 1_000_000;

const SAFETY: &str = "Safety: the target must be loopback (127.0.0.0/8, ::1) or inside the \
project's test namespace range 198.18.0.0/15; any other address is refused. Every run is \
bounded: --duration at most 300 s (10 s if neither --duration nor --queries is given), \
--queries at most 100,000,000, then outstanding queries get at most --timeout (<= 30 s).";

/// Which protocol carries the queries.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TransportKind {
    /// Do53 over UDP, one connected socket per connection.
    Udp,
    /// Do53 over TCP, queries pipelined (RFC 7766).
    Tcp,
    /// DNS over TLS (RFC 7858), pipelined.
    Dot,
    /// DNS over HTTPS (RFC 8484) over HTTP/2, one stream per query.
    Doh,
    /// DNS over HTTPS over HTTP/3 (QUIC), one stream per query.
    Doh3,
    /// DNS over QUIC (RFC 9250), one stream per query.
    Doq,
}

/// How DoH queries are sent.
#[derive(Debug, Clone, Copy, PartialEq, Eq, ValueEnum, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum DohMethod {
    /// `GET /dns-query?dns=<base64url>`.
    Get,
    /// `POST /dns-query` with an `application/dns-message` body.
    Post,
}

/// The command line of `hnsfleet-loadgen`.
#[derive(Debug, Clone, Parser)]
#[command(
    name = "hnsfleet-loadgen",
    version,
    about = "DNS load generator: Do53 UDP/TCP, DoT, DoH (HTTP/2 and HTTP/3), DoQ; open loop (--rate) or closed loop \
             (--concurrency); HDR latency, JSON result, PNG plot",
    after_help = SAFETY
)]
pub struct Args {
    /// The server, `IP:PORT`: loopback or 198.18.0.0/15 only.
    #[arg(long, short = 's', value_name = "IP:PORT")]
    pub target: SocketAddr,
    /// Transport.
    #[arg(long, short = 't', value_enum, default_value = "udp")]
    pub transport: TransportKind,
    /// Open loop: queries per second, sent on schedule whatever the server does.
    #[arg(long, value_name = "QPS", conflicts_with = "concurrency")]
    pub rate: Option<u64>,
    /// Closed loop: queries outstanding at all times (default 100 when --rate is not given).
    #[arg(long, value_name = "N")]
    pub concurrency: Option<usize>,
    /// Sockets or connections the load is spread over.
    #[arg(long, value_name = "N", default_value_t = 4)]
    pub connections: usize,
    /// Run length (`10`, `10s`, `2m`); at most 300 s.
    #[arg(long, value_parser = parse_duration)]
    pub duration: Option<Duration>,
    /// Stop after this many queries (at most 100,000,000).
    #[arg(long, value_name = "N")]
    pub queries: Option<u64>,
    /// A query unanswered this long counts as a timeout (`500ms`, `2s`); at most 30 s.
    #[arg(long, value_parser = parse_duration, default_value = "2s")]
    pub timeout: Duration,
    /// Share of each name category, `hns=40,below=30,icann=20,nx=10`.
    #[arg(long, default_value = "hns=40,below=30,icann=20,nx=10")]
    pub mix: String,
    /// Share of queries drawn from the hot set (repeated names), 0..=1.
    #[arg(long, default_value_t = 0.8)]
    pub hot_fraction: f64,
    /// Size of the hot set: (name, type) pairs drawn once from the mix at the start.
    #[arg(long, value_name = "N", default_value_t = 100)]
    pub hot_set: usize,
    /// HNS TLDs, comma-separated (default: a few well-known ones).
    #[arg(long, value_name = "NAMES")]
    pub hns_names: Option<String>,
    /// HNS TLDs, one per line (`#` comments).
    #[arg(long, value_name = "FILE")]
    pub hns_file: Option<PathBuf>,
    /// Names below HNS TLDs (default: `www.` under each HNS TLD).
    #[arg(long, value_name = "NAMES")]
    pub below_names: Option<String>,
    /// Names below HNS TLDs, one per line.
    #[arg(long, value_name = "FILE")]
    pub below_file: Option<PathBuf>,
    /// ICANN names, comma-separated (default: example.com, example.net, example.org, iana.org).
    #[arg(long, value_name = "NAMES")]
    pub icann_names: Option<String>,
    /// ICANN names, one per line.
    #[arg(long, value_name = "FILE")]
    pub icann_file: Option<PathBuf>,
    /// Query types and weights, `A=60,AAAA=25,TXT=5,NS=5,DS=5`.
    #[arg(long, default_value = "A=60,AAAA=25,TXT=5,NS=5,DS=5")]
    pub qtypes: String,
    /// Set the EDNS DO bit (ask for DNSSEC records).
    #[arg(long = "dnssec-ok", visible_alias = "do")]
    pub dnssec_ok: bool,
    /// Seed of every random choice: the same flags and seed send the same queries.
    #[arg(long, default_value_t = 1)]
    pub seed: u64,
    /// DoH method.
    #[arg(long, value_enum, default_value = "get")]
    pub doh_method: DohMethod,
    /// DoH path.
    #[arg(long, default_value = "/dns-query")]
    pub doh_path: String,
    /// TLS server name (SNI, certificate check, DoH authority); default: the target's IP.
    #[arg(long, value_name = "NAME")]
    pub tls_name: Option<String>,
    /// Accept any server certificate (a self-signed test server).
    #[arg(long)]
    pub insecure: bool,
    /// Trust the CA certificates in this PEM file (instead of --insecure).
    #[arg(long, value_name = "FILE", conflicts_with = "insecure")]
    pub ca: Option<PathBuf>,
    /// Write the JSON result here.
    #[arg(long, value_name = "FILE")]
    pub json: Option<PathBuf>,
    /// Write a PNG plot (latency over time, latency by percentile) here.
    #[arg(long, value_name = "FILE")]
    pub plot: Option<PathBuf>,
    /// No progress line on stderr.
    #[arg(long, short = 'q')]
    pub quiet: bool,
}

/// Open or closed loop.
#[derive(Debug, Clone, Copy, PartialEq, Serialize, Deserialize)]
#[serde(tag = "mode", rename_all = "lowercase")]
pub enum Mode {
    /// Queries due at `i / rate` seconds.
    Open {
        /// Queries per second.
        rate: u64,
    },
    /// `concurrency` queries outstanding.
    Closed {
        /// Outstanding queries.
        concurrency: usize,
    },
}

/// TLS trust for DoT and DoH.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Trust {
    /// Any certificate (`--insecure`); signatures in the handshake are still checked.
    Insecure,
    /// The CA certificates of a PEM file.
    Ca(PathBuf),
}

/// A validated run.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server.
    pub target: SocketAddr,
    /// Transport.
    pub transport: TransportKind,
    /// Open or closed loop.
    pub mode: Mode,
    /// Sockets or connections.
    pub connections: usize,
    /// Sending stops at this time after the start.
    pub duration: Duration,
    /// Sending stops after this many queries.
    pub queries: Option<u64>,
    /// Per-query timeout.
    pub timeout: Duration,
    /// Name categories.
    pub mix: MixSpec,
    /// The names.
    pub names: NameLists,
    /// Hot share.
    pub hot_fraction: f64,
    /// Hot set size.
    pub hot_set: usize,
    /// Query types.
    pub qtypes: QtypeMix,
    /// EDNS DO bit.
    pub dnssec_ok: bool,
    /// Seed.
    pub seed: u64,
    /// DoH method.
    pub doh_method: DohMethod,
    /// DoH path.
    pub doh_path: String,
    /// TLS server name.
    pub tls_name: String,
    /// TLS trust (DoT, DoH); `None` for Do53.
    pub trust: Option<Trust>,
    /// Progress line on stderr.
    pub progress: bool,
}

// === impl Config ===

impl Config {
    /// Validates `args`: target allowed, caps respected, name lists read and encoded.
    pub fn from_args(args: &Args) -> Result<Config, LoadgenError> {
        check_target(args.target.ip())?;
        let bad = |msg: String| Err(LoadgenError::Config(msg));
        let mode = match (args.rate, args.concurrency) {
            (Some(rate), _) if rate == 0 || rate > MAX_RATE => {
                return bad(format!("--rate must be 1..={MAX_RATE}"));
            }
            (Some(rate), _) => Mode::Open { rate },
            (None, c) => {
                let concurrency = c.unwrap_or(100);
                if concurrency == 0 || concurrency > MAX_CONCURRENCY {
                    return bad(format!("--concurrency must be 1..={MAX_CONCURRENCY}"));
                }
                Mode::Closed { concurrency }
            }
        };
        if args.connections == 0 || args.connections > MAX_CONNECTIONS {
            return bad(format!("--connections must be 1..={MAX_CONNECTIONS}"));
        }
        // Closed loop: no connection without an outstanding query.
        let connections = match mode {
            Mode::Closed { concurrency } => args.connections.min(concurrency),
            Mode::Open { .. } => args.connections,
        };
        let duration = match (args.duration, args.queries) {
            (Some(d), _) if d.is_zero() || d > MAX_DURATION => {
                return bad("--duration must be above 0 and at most 300 s".into());
            }
            (Some(d), _) => d,
            (None, Some(_)) => MAX_DURATION,
            (None, None) => DEFAULT_DURATION,
        };
        if let Some(q) = args.queries
            && (q == 0 || q > MAX_QUERIES)
        {
            return bad(format!("--queries must be 1..={MAX_QUERIES}"));
        }
        if args.timeout.is_zero() || args.timeout > MAX_TIMEOUT {
            return bad("--timeout must be above 0 and at most 30 s".into());
        }
        if !(0.0..=1.0).contains(&args.hot_fraction) {
            return bad("--hot-fraction must be within 0..=1".into());
        }
        if args.hot_set == 0 || args.hot_set > MAX_HOT_SET {
            return bad(format!("--hot-set must be 1..={MAX_HOT_SET}"));
        }
        let mix = MixSpec::parse(&args.mix)?;
        let names = NameLists::from_args(args)?;
        names.check_against(&mix)?;
        let qtypes = QtypeMix::parse(&args.qtypes)?;
        if !args.doh_path.starts_with('/') {
            return bad("--doh-path must start with /".into());
        }
        let trust = match args.transport {
            TransportKind::Udp | TransportKind::Tcp => None,
            TransportKind::Dot | TransportKind::Doh | TransportKind::Doh3 | TransportKind::Doq => {
                match (&args.ca, args.insecure) {
                    (Some(path), _) => Some(Trust::Ca(path.clone())),
                    (None, true) => Some(Trust::Insecure),
                    (None, false) => {
                        return bad("DoT, DoH and DoQ need --insecure or --ca FILE".into());
                    }
                }
            }
        };
        Ok(Config {
            target: args.target,
            transport: args.transport,
            mode,
            connections,
            duration,
            queries: args.queries,
            timeout: args.timeout,
            mix,
            names,
            hot_fraction: args.hot_fraction,
            hot_set: args.hot_set,
            qtypes,
            dnssec_ok: args.dnssec_ok,
            seed: args.seed,
            doh_method: args.doh_method,
            doh_path: args.doh_path.clone(),
            tls_name: args
                .tls_name
                .clone()
                .unwrap_or_else(|| args.target.ip().to_string()),
            trust,
            progress: !args.quiet,
        })
    }
}

/// `10` (seconds), `1.5`, or a humantime span (`500ms`, `2m`).
fn parse_duration(text: &str) -> Result<Duration, String> {
    if let Ok(secs) = text.parse::<f64>() {
        return Duration::try_from_secs_f64(secs).map_err(|e| e.to_string());
    }
    humantime::parse_duration(text).map_err(|e| e.to_string())
}

#[cfg(test)]
mod tests;
