//! The frontend's one typed configuration, loaded by the service kit's layered loader
//! (defaults, then the TOML file, then `HNSFLEET_*` variables, then the flags given). Every key
//! is declared once, here, with its doc comment. [`FrontendConfig::validate`] checks the whole
//! result and names the bad key.

use std::fmt;
use std::net::{IpAddr, SocketAddr};
use std::path::PathBuf;
use std::str::FromStr;
use std::time::Duration;

use bytesize::ByteSize;
use hnsfleet_hns::params::Network;
pub use hnsfleet_service_kit::config::ConfigError;
use hnsfleet_service_kit::config::{Loader, ServiceConfig, ServiceSettings, duration, text};
use serde::{Deserialize, Serialize};
use thiserror::Error;

/// Most UDP sockets per Do53 address (`udp_sockets`): more queues than any host has cores.
const MAX_UDP_SOCKETS: usize = 256;

/// A proof-cache replica set: `http://HOST:PORT`. An IP literal is one replica; a host name is
/// resolved again and again, each of its addresses a replica (a Kubernetes headless Service).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct CacheUrl {
    host: String,
    port: u16,
}

/// A cache URL that does not parse.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("bad proof-cache URL {input:?}: {why} (expected http://HOST:PORT)")]
pub struct BadCacheUrl {
    input: String,
    why: &'static str,
}

/// Everything a frontend can be told: every key, once. The README's config table lists the
/// same keys, each with its flag `--key-name` (lists singular: `--cache`) and variable
/// `HNSFLEET_KEY_NAME`.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(default)]
pub struct FrontendConfig {
    /// The chain's network; a proof-cache answering for another network is not believed.
    #[serde(with = "text")]
    pub network: Network,
    /// The proof-cache replicas, each `http://HOST:PORT` (a host name is a replica set found
    /// through DNS). Names are sharded over them by rendezvous hashing.
    pub caches: Vec<CacheUrl>,
    /// The reorg-watchdog's gRPC URL (`http://HOST:PORT`): while it has frozen the fleet, only
    /// a proof-cache root equal to its frozen root counts; silent past `watchdog_grace`, the
    /// frontend reports not ready. Unset: no watchdog.
    pub watchdog: Option<CacheUrl>,
    /// How long the watchdog may be silent before the frontend reports not ready.
    #[serde(with = "duration")]
    pub watchdog_grace: Duration,
    /// Do53 (UDP and TCP) listen address of the full resolver; unset: none.
    pub dns_listen: Option<SocketAddr>,
    /// Listen address (UDP and TCP) of the HNS root authority alone, for validating resolvers
    /// that use the fleet as their root (Unbound's `stub-zone: "."`); unset: none.
    pub root_listen: Option<SocketAddr>,
    /// DNS over TLS (RFC 7858) listen address; needs a certificate; unset: none.
    pub dot_listen: Option<SocketAddr>,
    /// DNS over HTTPS (RFC 8484, HTTP/2 and HTTP/1.1 on TCP, path `/dns-query`; HTTP/3 on
    /// UDP at the same address unless `doh3` is off) listen address; needs a certificate;
    /// unset: none.
    pub doh_listen: Option<SocketAddr>,
    /// Also serve DoH over HTTP/3 (QUIC, ALPN `h3`) on the UDP port of `doh_listen`, advertised
    /// to HTTP/2 and HTTP/1.1 clients with `Alt-Svc`.
    pub doh3: bool,
    /// DNS over QUIC (RFC 9250, ALPN `doq`, UDP) listen address; needs a certificate; unset:
    /// none.
    pub doq_listen: Option<SocketAddr>,
    /// TLS certificate chain (PEM) for DoT, DoH and DoQ.
    pub tls_cert: Option<PathBuf>,
    /// TLS private key (PEM) for DoT, DoH and DoQ.
    pub tls_key: Option<PathBuf>,
    /// How often `tls_cert` and `tls_key` are read to see whether they changed (a changed,
    /// good pair is presented from the next handshake on; SIGHUP reloads at once too). 10 s:
    /// a renewed certificate is live well within a minute, for two small reads. 0 turns the
    /// polling off (SIGHUP only).
    #[serde(with = "duration")]
    pub tls_reload_interval: Duration,
    /// Stateless TLS 1.3 session tickets (RFC 8446 §4.6.1), keys per process rotated every 6
    /// hours: a returning client resumes without a signature or a certificate, and the
    /// server stores nothing. Off: resumption through `tls_session_cache`.
    pub tls_tickets: bool,
    /// With `tls_tickets` off: TLS sessions a server-side cache keeps for resumption (a few
    /// hundred bytes each); 0 with tickets off turns resumption off.
    pub tls_session_cache: usize,
    /// Make a throw-away self-signed certificate for `localhost` at start (a local try; never
    /// for users).
    pub self_signed: bool,
    /// SIG(0) secret key file (`hnsfleet sig0 keygen`); with it, Do53 responses are signed.
    pub sig0_key: Option<PathBuf>,
    /// Also sign DoT and DoQ responses with SIG(0).
    pub sig0_dot: bool,
    /// Also sign DoH responses (HTTP/2 and HTTP/3) with SIG(0).
    pub sig0_doh: bool,
    /// Signatures per second one client prefix (IPv4 /24, IPv6 /56) may cost.
    pub sig0_client_rate: u32,
    /// Signatures one client prefix may cost in a burst above its rate.
    pub sig0_client_burst: u32,
    /// Signatures per second for all clients together (bounds the CPU signing may take).
    pub sig0_global_rate: u32,
    /// The address advertised as the root's name server (`.` NS and its glue); default: the
    /// Do53 or root listener's address, or 127.0.0.1 when that is unspecified.
    pub public_host: Option<IpAddr>,
    /// ICANN root hints (named.root format); the ICANN side of the fallback asks these.
    /// Unset: the built-in IANA root servers.
    pub icann_root_hints: Option<PathBuf>,
    /// ICANN trust anchors (DS records, zone-file text). Unset: the built-in IANA root KSKs.
    pub icann_trust_anchors: Option<PathBuf>,
    /// Admin HTTP listen address (`/metrics`, `/healthz`, `/readyz`).
    pub admin_listen: SocketAddr,
    /// Memory the answer cache may take.
    pub answer_cache_capacity: ByteSize,
    /// Memory the packet cache (encoded responses answered with the ID patched) may take;
    /// `0 B` turns it off.
    pub packet_cache_capacity: ByteSize,
    /// How long an expired answer may still be served when its refresh fails (RFC 8767).
    #[serde(with = "duration")]
    pub serve_stale: Duration,
    /// Longest a recursive resolution may take before the client gets SERVFAIL (or a stale
    /// answer).
    #[serde(with = "duration")]
    pub resolve_timeout: Duration,
    /// Refresh popular answers in the background before they expire.
    pub prefetch: bool,
    /// Let recursion query name servers at loopback and private addresses (labs and tests);
    /// off for a public resolver, so a stranger's zone cannot point it at internal hosts.
    pub allow_private_upstreams: bool,
    /// UDP payload size the frontend offers and answers within (EDNS0); larger answers are
    /// truncated (TC=1) so the client retries over TCP.
    pub udp_payload: u16,
    /// UDP sockets bound to each Do53 address with `SO_REUSEPORT`, so the kernel spreads
    /// datagrams over that many receive queues and worker threads; `0` means one per CPU.
    pub udp_sockets: usize,
    /// Send Do53 UDP answers with the IPv4 Don't Fragment bit and never fragment them
    /// (`IP_PMTUDISC_PROBE`, RFC 9715): a forged ICMP "fragmentation needed" cannot shrink or
    /// split them, and the kernel skips choosing an IP ID. An answer larger than the link MTU
    /// is then not sent (keep `udp_payload` at or below the path MTU, as the default is).
    pub udp_dont_fragment: bool,
    /// TCP, DoT, DoH and QUIC (DoQ, DoH over HTTP/3) connections open at once; more are
    /// refused.
    pub max_connections: usize,
    /// A TCP, DoT, DoH or QUIC connection is closed after this long without a query or request
    /// (a TCP/DoT query, a DoQ stream's query, must arrive whole within it), or when an answer
    /// cannot be written within it (a client that does not read).
    #[serde(with = "duration")]
    pub idle_timeout: Duration,
    /// Queries being resolved at once (all transports); more get SERVFAIL at once.
    pub max_in_flight: usize,
    /// UDP responses per second one client prefix (IPv4 /24, IPv6 /56) may get (response rate
    /// limiting); beyond it, datagrams get a TC=1 slip or nothing. 0 turns RRL off.
    pub rrl_rate: u32,
    /// UDP responses one client prefix may get in a burst above `rrl_rate`.
    pub rrl_burst: u32,
    /// Every `rrl_slip`-th datagram over the limit gets an empty TC=1 reply (the client
    /// retries over TCP); the others are dropped. 0: all dropped; 1: all get TC=1.
    pub rrl_slip: u32,
    /// TCP, DoT, DoH and QUIC connections open at once from one client prefix (IPv4 /24, IPv6
    /// /56).
    pub max_connections_per_prefix: usize,
    /// New TLS handshakes (DoT, DoH, and QUIC after address validation) per second from one
    /// client prefix; more connections are closed before any cryptography. 0 turns the limit
    /// off.
    pub tls_handshake_rate: u32,
    /// New TLS handshakes one client prefix may start in a burst above `tls_handshake_rate`.
    pub tls_handshake_burst: u32,
    /// HTTP/2 or HTTP/3 streams (requests) one DoH connection may have open at once.
    pub doh_max_streams: u32,
    /// Queries one TCP or DoT connection may have in progress (pipelined); while that many
    /// are, no more are read from it. Also the QUIC streams (queries) one DoQ connection may
    /// have open at once.
    pub max_pipelined: usize,
    /// The keys every service shares: `log`, `log_format`, `shutdown_drain`, `shutdown_grace`.
    #[serde(flatten)]
    pub service: ServiceSettings,
}

// === impl CacheUrl ===

impl CacheUrl {
    /// The host (name or IP literal, without brackets).
    pub fn host(&self) -> &str {
        &self.host
    }

    /// The port.
    pub fn port(&self) -> u16 {
        self.port
    }

    /// The replica's address when the host is an IP literal.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        self.host
            .parse::<IpAddr>()
            .ok()
            .map(|ip| SocketAddr::new(ip, self.port))
    }
}

impl FromStr for CacheUrl {
    type Err = BadCacheUrl;

    fn from_str(input: &str) -> Result<Self, Self::Err> {
        let bad = |why| BadCacheUrl {
            input: input.to_string(),
            why,
        };
        let uri: http::Uri = input.parse().map_err(|_| bad("not a URL"))?;
        if uri.scheme_str() != Some("http") {
            return Err(bad("scheme must be http"));
        }
        let authority = uri.authority().ok_or_else(|| bad("no host"))?;
        let host = authority
            .host()
            .trim_start_matches('[')
            .trim_end_matches(']');
        if host.is_empty() {
            return Err(bad("no host"));
        }
        let port = match authority.port_u16() {
            Some(port) if port != 0 => port,
            _ => return Err(bad("no port")),
        };
        if !matches!(uri.path(), "" | "/") || uri.query().is_some() {
            return Err(bad("no path or query allowed"));
        }
        Ok(CacheUrl {
            host: host.to_string(),
            port,
        })
    }
}

impl fmt::Display for CacheUrl {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if self.host.contains(':') {
            write!(f, "http://[{}]:{}", self.host, self.port)
        } else {
            write!(f, "http://{}:{}", self.host, self.port)
        }
    }
}

hnsfleet_service_kit::serde_as_text!(CacheUrl);

// === impl FrontendConfig ===

impl Default for FrontendConfig {
    fn default() -> Self {
        FrontendConfig {
            network: Network::Main,
            caches: Vec::new(),
            dns_listen: Some(SocketAddr::from(([0, 0, 0, 0], 53))),
            root_listen: None,
            dot_listen: None,
            doh_listen: None,
            doh3: true,
            doq_listen: None,
            tls_cert: None,
            tls_key: None,
            self_signed: false,
            tls_reload_interval: Duration::from_secs(10),
            tls_tickets: true,
            tls_session_cache: 10_000,
            sig0_key: None,
            sig0_dot: false,
            sig0_doh: false,
            sig0_client_rate: 200,
            sig0_client_burst: 400,
            sig0_global_rate: 20_000,
            public_host: None,
            icann_root_hints: None,
            icann_trust_anchors: None,
            admin_listen: SocketAddr::from(([0, 0, 0, 0], 9551)),
            watchdog: None,
            watchdog_grace: Duration::from_secs(30),
            answer_cache_capacity: ByteSize::mib(256),
            packet_cache_capacity: ByteSize::mib(64),
            serve_stale: Duration::from_secs(24 * 60 * 60),
            resolve_timeout: Duration::from_secs(5),
            prefetch: true,
            allow_private_upstreams: false,
            udp_payload: 1232,
            udp_sockets: 0,
            udp_dont_fragment: true,
            max_connections: 10_000,
            idle_timeout: Duration::from_secs(10),
            max_in_flight: 10_000,
            rrl_rate: 1_000,
            rrl_burst: 2_000,
            rrl_slip: 2,
            max_connections_per_prefix: 1_000,
            tls_handshake_rate: 100,
            tls_handshake_burst: 200,
            doh_max_streams: 100,
            max_pipelined: 64,
            service: ServiceSettings::default(),
        }
    }
}

impl FrontendConfig {
    /// UDP sockets to bind per Do53 address: `udp_sockets`, or one per CPU when it is 0.
    pub fn udp_socket_count(&self) -> usize {
        match self.udp_sockets {
            0 => std::thread::available_parallelism().map_or(1, |n| n.get()),
            n => n,
        }
        .min(MAX_UDP_SOCKETS)
    }

    /// Defaults overlaid with TOML text, validated (tests; services load through the CLI).
    pub fn from_toml(text: &str) -> Result<FrontendConfig, ConfigError> {
        Ok(Loader::new().toml(text).load::<FrontendConfig>()?.config)
    }

    /// Whether DoT, DoH or DoQ is on, so a certificate is needed.
    pub fn needs_tls(&self) -> bool {
        self.dot_listen.is_some() || self.doh_listen.is_some() || self.doq_listen.is_some()
    }

    /// The root's advertised name server address: `public_host`, else the address of the Do53
    /// or root listener, else 127.0.0.1.
    pub fn effective_public_host(&self) -> IpAddr {
        self.public_host.unwrap_or_else(|| {
            [self.dns_listen, self.root_listen]
                .into_iter()
                .flatten()
                .map(|a| a.ip())
                .find(|ip| !ip.is_unspecified())
                .unwrap_or(IpAddr::from([127, 0, 0, 1]))
        })
    }

    /// Checks the values that types alone cannot.
    pub fn validate(&self) -> Result<(), ConfigError> {
        let invalid = |key, message: &str| Err(ConfigError::invalid(key, message));
        let ms = Duration::from_millis;
        if self.caches.is_empty() {
            return invalid("caches", "at least one proof-cache is required");
        }
        if self.caches.len() > 64 {
            return invalid("caches", "at most 64 proof-cache URLs");
        }
        let named = self
            .caches
            .iter()
            .filter(|c| c.socket_addr().is_none())
            .count();
        if named > 0 && self.caches.len() > 1 {
            return invalid(
                "caches",
                "give either IP:PORT replicas or one host name to resolve, not both",
            );
        }
        if self.dns_listen.is_none()
            && self.root_listen.is_none()
            && self.dot_listen.is_none()
            && self.doh_listen.is_none()
            && self.doq_listen.is_none()
        {
            return invalid(
                "dns_listen",
                "no listener: set dns_listen, root_listen, dot_listen, doh_listen or doq_listen",
            );
        }
        if self.needs_tls() {
            match (&self.tls_cert, &self.tls_key, self.self_signed) {
                (Some(_), Some(_), false) | (None, None, true) => {}
                (Some(_), None, _) | (None, Some(_), _) => {
                    return invalid("tls_cert", "tls_cert and tls_key go together");
                }
                (Some(_), Some(_), true) => {
                    return invalid("self_signed", "give a certificate or self_signed, not both");
                }
                (None, None, false) => {
                    return invalid(
                        "tls_cert",
                        "DoT/DoH/DoQ need a certificate: tls_cert and tls_key, or self_signed",
                    );
                }
            }
        }
        if !self.tls_reload_interval.is_zero() && self.tls_reload_interval < ms(100) {
            return invalid("tls_reload_interval", "must be 0 (off) or at least 100ms");
        }
        if self.tls_session_cache > 10_000_000 {
            return invalid("tls_session_cache", "must be at most 10000000");
        }
        if self.sig0_client_rate == 0 || self.sig0_global_rate == 0 {
            return invalid(
                "sig0_client_rate",
                "signing rates must be at least 1 per second",
            );
        }
        if self.sig0_client_burst < self.sig0_client_rate {
            return invalid("sig0_client_burst", "must be at least sig0_client_rate");
        }
        if !(Duration::from_secs(1)..=Duration::from_secs(3600)).contains(&self.watchdog_grace) {
            return invalid("watchdog_grace", "must be between 1s and 1h");
        }
        if !(512..=4096).contains(&self.udp_payload) {
            return invalid("udp_payload", "must be between 512 and 4096");
        }
        if self.udp_sockets > MAX_UDP_SOCKETS {
            return invalid("udp_sockets", "must be at most 256 (0: one per CPU)");
        }
        if self.answer_cache_capacity < ByteSize::mib(1) {
            return invalid("answer_cache_capacity", "must be at least 1 MiB");
        }
        if self.serve_stale > Duration::from_secs(7 * 24 * 60 * 60) {
            return invalid("serve_stale", "must be at most 7d");
        }
        if !(ms(100)..=ms(60_000)).contains(&self.resolve_timeout) {
            return invalid("resolve_timeout", "must be between 100ms and 1m");
        }
        if !(1..=1_000_000).contains(&self.max_connections) {
            return invalid("max_connections", "must be between 1 and 1000000");
        }
        if self.idle_timeout < ms(100) {
            return invalid("idle_timeout", "must be at least 100ms");
        }
        if !(1..=1_000_000).contains(&self.max_in_flight) {
            return invalid("max_in_flight", "must be between 1 and 1000000");
        }
        if self.rrl_rate > 0 && self.rrl_burst < self.rrl_rate {
            return invalid("rrl_burst", "must be at least rrl_rate");
        }
        if self.rrl_slip > 10 {
            return invalid("rrl_slip", "must be between 0 and 10");
        }
        if !(1..=1_000_000).contains(&self.max_connections_per_prefix) {
            return invalid(
                "max_connections_per_prefix",
                "must be between 1 and 1000000",
            );
        }
        if self.tls_handshake_rate > 0 && self.tls_handshake_burst < self.tls_handshake_rate {
            return invalid("tls_handshake_burst", "must be at least tls_handshake_rate");
        }
        if !(1..=10_000).contains(&self.doh_max_streams) {
            return invalid("doh_max_streams", "must be between 1 and 10000");
        }
        if !(1..=1_024).contains(&self.max_pipelined) {
            return invalid("max_pipelined", "must be between 1 and 1024");
        }
        self.service.validate()
    }
}

impl ServiceConfig for FrontendConfig {
    const LIST_KEYS: &'static [&'static str] = &["caches"];

    fn settings(&self) -> &ServiceSettings {
        &self.service
    }

    fn validate(&self) -> Result<(), ConfigError> {
        FrontendConfig::validate(self)
    }

    fn resolved(&self) -> Self {
        FrontendConfig {
            public_host: Some(self.effective_public_host()),
            ..self.clone()
        }
    }
}

#[cfg(test)]
mod tests;
