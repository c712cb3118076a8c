//! `hnsfleet-loadgen`: the project's own DNS load generator.
//!
//! It sends a realistic mix of queries (HNS TLDs, names below them, ICANN names, NXDOMAINs,
//! hot and cold, several query types, DO bit) to one resolver over Do53 UDP, Do53 TCP
//! (pipelined over several connections), DoT (RFC 7858), DoH over HTTP/2 or HTTP/3 (RFC 8484,
//! GET or POST) or DoQ (RFC 9250), and measures what comes back:
//!
//! - **open loop** (`--rate QPS`): query *i* is due at `start + i / rate` whatever the server
//!   does, and its latency is measured from that *scheduled* time, so a stalled server shows
//!   up as latency instead of silently slowing the generator (no coordinated omission);
//! - **closed loop** (`--concurrency N`): N queries outstanding at all times, as fast as the
//!   server answers.
//!
//! Results: HDR latency histograms (`hdrhistogram`), a progress line per second on stderr, rcode
//! counts, timeouts and errors by kind, a JSON result ([`report::Report`]) and a PNG plot of
//! latency over time and by percentile ([`plot`], drawn without any system font).
//!
//! Transports are one enum ([`transport::Transport`]) whose connections hand every answer to
//! the same in-flight table; DoQ and DoH over HTTP/3 share one QUIC variant (one stream per
//! query, like the DoH variant's one HTTP/2 stream per query).
//!
//! What it must not do: send to anything but loopback (127.0.0.0/8, ::1) or the project's
//! test namespace range 198.18.0.0/15 ([`target::check_target`]); run without bounds — every
//! loop stops by count and by time, with hard caps ([`config`]) no flag can exceed.
#![forbid(unsafe_code)]

pub mod config;
mod engine;
pub mod mix;
pub mod plot;
pub mod report;
mod stats;
pub mod target;
pub mod transport;
pub mod wire;

pub use config::{Args, Config};
pub use engine::run;
pub use report::Report;

/// Why a load run could not start or finish.
#[derive(Debug, thiserror::Error)]
#[non_exhaustive]
pub enum LoadgenError {
    /// A flag or name list is invalid (the binary exits 64).
    #[error("invalid configuration: {0}")]
    Config(String),
    /// The target is neither loopback nor inside the test namespace range.
    #[error(
        "refusing target {0}: load is only ever sent to loopback (127.0.0.0/8, ::1) or the \
         project's test namespace range 198.18.0.0/15"
    )]
    TargetNotAllowed(std::net::IpAddr),
    /// A name list or CA file could not be read.
    #[error("reading {path}: {source}")]
    Read {
        /// The file.
        path: String,
        /// What went wrong.
        source: std::io::Error,
    },
    /// TLS client set-up failed (bad CA file, bad server name).
    #[error("tls: {0}")]
    Tls(String),
    /// No connection to the target could be opened at the start.
    #[error("connecting to {target}: {detail}")]
    Connect {
        /// The target.
        target: std::net::SocketAddr,
        /// What went wrong.
        detail: String,
    },
    /// Writing the JSON result or the plot failed.
    #[error("writing {path}: {detail}")]
    Output {
        /// The file.
        path: String,
        /// What went wrong.
        detail: String,
    },
}
