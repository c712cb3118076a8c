//! `hnsfleet query NAME [TYPE]`: ask a resolver like dig or kdig would, over Do53 (UDP, or
//! `--tcp`), DoT (`--dot`), DoH (`--doh`, or an `https://` server URL) or DoQ (`--doq`), print
//! the answer in dig's layout, and say whether its SIG(0) verified and with which key.
//!
//! The server is `--server`, else the first `nameserver` of the hns.conf (`--hns-conf FILE`,
//! else `HNS_CONF`, else `/etc/hns.conf` if it exists); there is no built-in list. The key is
//! `--key`, else the one the hns.conf lists for that server's IP and port. With a key, an
//! answer that is not signed with it is refused (no answer printed).
//!
//! Exit status: 0 an answer that passed every check asked for (whatever its rcode); 1 an
//! answer was refused (SIG(0) missing or wrong with a pinned key, not the answer to the query,
//! undecodable); 2 no usable answer (timeout, connection, TLS, HTTP); 64 a usage error (bad
//! flags, no server, unreadable hns.conf, bad key or CA file).

use std::io::Write;
use std::path::PathBuf;
use std::process::ExitCode;
use std::str::FromStr;
use std::time::Duration;

use hickory_proto::rr::{Name, RecordType};
use hnsfleet_client::conf::{self, KeySource, PinnedKey};
use hnsfleet_client::{Client, Config, ErrorKind, Request, Server, TlsOptions, Transport};
use hnsfleet_service_kit::config::duration;

pub mod chain;
mod render;

/// Exit status of an answer that was refused.
pub const EXIT_REJECTED: u8 = 1;
/// Exit status when no usable answer arrived.
pub const EXIT_TRANSPORT: u8 = 2;
/// Exit status of a usage error (as every hnsfleet command).
pub const EXIT_USAGE: u8 = 64;

/// Flags of `hnsfleet query`.
#[derive(Debug, Clone, clap::Args)]
pub struct QueryArgs {
    /// The name asked for.
    pub name: String,
    /// The record type (A, AAAA, TXT, DS, ... or TYPEnnn).
    #[arg(default_value = "A")]
    pub record_type: String,
    /// The server: IP, IP:PORT (an IPv6 address with a port in brackets), or an https:// URL
    /// (DoH). Default: the first nameserver of the hns.conf.
    #[arg(long, value_name = "IP[:PORT]|URL")]
    pub server: Option<String>,
    /// Do53 over TCP.
    #[arg(long, group = "transport")]
    pub tcp: bool,
    /// DNS over TLS (port 853 unless given).
    #[arg(long, group = "transport")]
    pub dot: bool,
    /// DNS over HTTPS (RFC 8484 POST; port 443 unless given, path /dns-query).
    #[arg(long, group = "transport")]
    pub doh: bool,
    /// DNS over QUIC (port 853 unless given).
    #[arg(long, group = "transport")]
    pub doq: bool,
    /// Pin this SIG(0) public key (hex or base32, as `hnsfleet sig0 pubkey` prints it).
    #[arg(long, value_name = "PUBKEY")]
    pub key: Option<String>,
    /// The hns.conf to read (default: HNS_CONF, else /etc/hns.conf if it exists).
    #[arg(long, value_name = "FILE")]
    pub hns_conf: Option<PathBuf>,
    /// Also trust this CA certificate (PEM) for DoT, DoH and DoQ; repeatable.
    #[arg(long, value_name = "FILE")]
    pub tls_ca: Vec<PathBuf>,
    /// Check the certificate against this name (and send it as SNI) instead of the server's
    /// host.
    #[arg(long, value_name = "NAME")]
    pub tls_name: Option<String>,
    /// Accept any TLS certificate (tests and local tries only; a pinned SIG(0) key still
    /// authenticates the answer).
    #[arg(long)]
    pub insecure_tls: bool,
    /// Deadline of the whole query.
    #[arg(long, value_name = "DURATION", default_value = "5s", value_parser = duration::parse)]
    pub timeout: Duration,
    /// Set the DO bit: ask for DNSSEC records.
    #[arg(long)]
    pub dnssec: bool,
    /// Print JSON instead of dig's layout.
    #[arg(long)]
    pub json: bool,
    /// Ask for a proof bundle (EDNS option 65400, or `hns-proof=1` over DoH) and check it
    /// step by step: proof of work, the root, the Urkel proof, the delegation, every DNSSEC
    /// signature down to the answer. Exit status 1 unless every step passes.
    #[arg(long)]
    pub verify_chain: bool,
    /// Write the response as received (DNS wire form) to FILE, e.g. to check its bundle later
    /// with `hnsfleet bundle verify FILE`.
    #[arg(long, value_name = "FILE")]
    pub save: Option<PathBuf>,
    /// How `--verify-chain` judges the bundle.
    #[command(flatten)]
    pub chain: chain::ChainArgs,
}

/// A refused or failed query: its message and exit status.
#[derive(Debug)]
pub struct QueryError {
    /// The exit status.
    pub status: u8,
    /// What went wrong.
    pub error: anyhow::Error,
}

/// Runs the query, printing to stdout and stderr; the exit status.
pub fn main_with(args: QueryArgs) -> ExitCode {
    let mut stdout = std::io::stdout().lock();
    match run(&args, &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(QueryError { status, error }) => {
            let _ = stdout.flush();
            eprintln!("error: {error:#}");
            ExitCode::from(status)
        }
    }
}

/// Resolves the server and key, asks, checks, prints.
pub fn run(args: &QueryArgs, out: &mut dyn Write) -> Result<(), QueryError> {
    let usage = |error: anyhow::Error| QueryError {
        status: EXIT_USAGE,
        error,
    };
    let request = request(args).map_err(usage)?;
    let (client, pinned) = client(args)?;
    let response = client.query(&request).map_err(|error| QueryError {
        status: match error.kind() {
            ErrorKind::Rejected => EXIT_REJECTED,
            ErrorKind::Transport => EXIT_TRANSPORT,
            _ => EXIT_USAGE,
        },
        // The client's messages name their causes already: no chain.
        error: anyhow::anyhow!("{} via {}: {error}", args.name, client.config().server),
    })?;
    if let Some(path) = &args.save {
        std::fs::write(path, response.raw()).map_err(|e| QueryError {
            status: EXIT_USAGE,
            error: anyhow::anyhow!("cannot write {}: {e}", path.display()),
        })?;
    }
    let checked = if args.verify_chain {
        Some(chain::check(response.message(), &args.chain).map_err(usage)?)
    } else {
        None
    };
    let text = if args.json {
        let mut value = render::json(&response, client.config(), pinned.as_ref());
        if let Some(checked) = &checked {
            value["bundle"] = chain::json(checked);
        }
        value.to_string() + "\n"
    } else {
        let mut text = render::text(&response, client.config(), pinned.as_ref(), args);
        if let Some(checked) = &checked {
            text.push_str(&chain::text(checked));
        }
        text
    };
    out.write_all(text.as_bytes()).map_err(|e| QueryError {
        status: EXIT_TRANSPORT,
        error: e.into(),
    })?;
    match checked.as_ref().and_then(|c| c.report.failure()) {
        None => Ok(()),
        Some((step, error)) => Err(QueryError {
            status: EXIT_REJECTED,
            error: anyhow::anyhow!("proof bundle not verified: step {step} failed: {error}"),
        }),
    }
}

/// The request the flags ask for.
fn request(args: &QueryArgs) -> anyhow::Result<Request> {
    let mut name = Name::from_utf8(&args.name)
        .map_err(|e| anyhow::anyhow!("bad name {:?}: {e}", args.name))?;
    name.set_fqdn(true);
    let record_type = record_type(&args.record_type)?;
    let request = Request::new(name, record_type).with_dnssec_ok(args.dnssec || args.verify_chain);
    Ok(if args.verify_chain {
        request.with_proof_bundle()
    } else {
        request
    })
}

/// `A`, `txt`, `TYPE65`.
fn record_type(text: &str) -> anyhow::Result<RecordType> {
    let upper = text.to_ascii_uppercase();
    if let Some(number) = upper.strip_prefix("TYPE")
        && let Ok(number) = number.parse::<u16>()
    {
        return Ok(RecordType::from(number));
    }
    RecordType::from_str(&upper).map_err(|_| anyhow::anyhow!("unknown record type {text:?}"))
}

/// The client for the flags (server, key, TLS trust) and the pinned key with its origin.
fn client(args: &QueryArgs) -> Result<(Client, Option<PinnedKey>), QueryError> {
    let usage = |error: hnsfleet_client::Error| QueryError {
        status: EXIT_USAGE,
        error: anyhow::anyhow!("{error}"),
    };
    let transport = if args.tcp {
        Transport::Tcp
    } else if args.dot {
        Transport::Tls
    } else if args.doh {
        Transport::Https
    } else if args.doq {
        Transport::Quic
    } else {
        Transport::Udp
    };
    let server = match &args.server {
        Some(text) => {
            let server = Server::parse(text, transport).map_err(usage)?;
            if server.transport != transport && (args.tcp || args.dot || args.doq) {
                return Err(QueryError {
                    status: EXIT_USAGE,
                    error: anyhow::anyhow!("an https:// server is DoH: drop --tcp/--dot/--doq"),
                });
            }
            Some(server)
        }
        None => None,
    };
    let key = args
        .key
        .as_deref()
        .map(conf::parse_key)
        .transpose()
        .map_err(usage)?;
    let hns_conf = conf::load_conf(args.hns_conf.as_deref()).map_err(usage)?;
    let selection = conf::select(server, key, hns_conf.as_ref(), transport).map_err(usage)?;
    let mut server = selection.server;
    if let Some(name) = &args.tls_name {
        server = server.with_tls_name(name.clone());
    }
    let mut tls = TlsOptions {
        danger_accept_any_certificate: args.insecure_tls,
        ..TlsOptions::default()
    };
    for path in &args.tls_ca {
        tls.add_ca_file(path).map_err(usage)?;
    }
    let config = Config::new(server)
        .with_key(selection.pinned.as_ref().map(|p| p.key))
        .with_timeout(args.timeout)
        .with_tls(tls);
    let client = Client::new(config).map_err(usage)?;
    Ok((client, selection.pinned))
}

/// How a pinned key is named in the output.
fn key_origin(pinned: &PinnedKey) -> String {
    match &pinned.source {
        KeySource::Given => "given with --key".to_string(),
        KeySource::HnsConf(path) => format!("pinned by hns.conf {}", path.display()),
    }
}
