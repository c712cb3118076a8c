//! A blocking stub resolver for Rust programs that ask an hnsfleet frontend (or any DNS
//! server): Do53 over UDP and TCP, DNS over TLS, DNS over HTTPS (RFC 8484 POST over
//! HTTP/1.1) and, with the cargo feature `doq`, DNS over QUIC; every answer checked to be the
//! answer to the query and, with a pinned key, its SIG(0) signature (secp256k1, as hsd and
//! hnsd sign) verified over the bytes as received.
//!
//! No async runtime is needed (DoQ alone runs a small one inside each query). Every exchange
//! has a deadline and reads at most one DNS message (65,535 bytes). A response that fails a
//! check is an [`Error`], never a [`Response`]: a `Response` with a pinned key is always
//! [`Sig0Verdict::Verified`].
//!
//! Which server and key: [`conf`] (the caller's choice, else an hns.conf's `nameserver`
//! lines; no built-in server list). The caller may add EDNS0 options and DoH URL parameters
//! to a [`Request`]; the client gives them no meaning. With the cargo feature `proof-bundle`
//! (on by default) it also asks for and checks a proof bundle: [`Request::with_proof_bundle`],
//! [`Response::verify_bundle`], and the typed result per step of [`proof_bundle`].
//!
//! ```no_run
//! use hnsfleet_client::{Client, Config, Request, Server, Transport};
//! use hickory_proto::rr::{Name, RecordType};
//!
//! let server = Server::parse("127.0.0.1:5350", Transport::Udp)?;
//! let key = hnsfleet_client::conf::parse_key(
//!     "02a4ec58b4c2e1d48ab8a5c59b3d6d0ae5f2f8bb4b3e0a7c3a0e7d0f0c1b2a3b4c",
//! )?;
//! let client = Client::new(Config::new(server).with_key(Some(key)))?;
//! let request = Request::new(Name::from_ascii("www.example.")?, RecordType::A);
//! let response = client.query(&request)?;
//! println!("{:?} {:?}", response.message().answers, response.sig0());
//! # Ok::<(), Box<dyn std::error::Error>>(())
//! ```
#![forbid(unsafe_code)]

use std::sync::Arc;
use std::time::{Duration, Instant, SystemTime, UNIX_EPOCH};

use hickory_proto::op::Message;
use hnsfleet_hns::sig0::Sig0PublicKey;

#[cfg(feature = "proof-bundle")]
mod bundle;
pub mod conf;
#[cfg(feature = "doq")]
mod doq;
mod error;
pub mod http;
mod message;
mod net;
mod server;
mod tls;

pub use error::{Error, ErrorKind};
pub use message::{
    EDNS_PAYLOAD, MAX_MESSAGE, Request, Sig0Verdict, check_response, check_sig0, header_matches,
};
pub use server::{Server, Transport, parse_addr};
pub use tls::TlsOptions;

/// The proof-bundle format, its policy and its typed per-step report (`hnsfleet-proof-bundle`).
#[cfg(feature = "proof-bundle")]
pub use hnsfleet_proof_bundle as proof_bundle;

/// What a [`Client`] needs: the server, the key to pin, the deadline, TLS trust.
#[derive(Debug, Clone)]
pub struct Config {
    /// The server asked.
    pub server: Server,
    /// With a key, every response must be SIG(0)-signed with it.
    pub key: Option<Sig0PublicKey>,
    /// Deadline of one query (all of it: connect, handshake, retries over TCP).
    pub timeout: Duration,
    /// TLS trust for DoT, DoH and DoQ.
    pub tls: TlsOptions,
}

/// A client of one server. Cheap to share: it holds its TLS configuration, made once.
#[derive(Debug, Clone)]
pub struct Client {
    config: Config,
    tls: Option<Arc<rustls::ClientConfig>>,
}

/// A checked answer: the bytes as received, the decoded message, the SIG(0) verdict, and how
/// it came. Only the client makes one, after every check passed.
#[derive(Debug, Clone)]
pub struct Response {
    raw: Vec<u8>,
    message: Message,
    sig0: Sig0Verdict,
    transport: Transport,
    elapsed: Duration,
}

// === impl Config ===

impl Config {
    /// `server`, no key, a 5-second deadline, the system's CA certificates.
    pub fn new(server: Server) -> Config {
        Config {
            server,
            key: None,
            timeout: Duration::from_secs(5),
            tls: TlsOptions::default(),
        }
    }

    /// The same configuration with `key` pinned (or none).
    pub fn with_key(mut self, key: Option<Sig0PublicKey>) -> Config {
        self.key = key;
        self
    }

    /// The same configuration with another deadline.
    pub fn with_timeout(mut self, timeout: Duration) -> Config {
        self.timeout = timeout;
        self
    }

    /// The same configuration with other TLS trust.
    pub fn with_tls(mut self, tls: TlsOptions) -> Config {
        self.tls = tls;
        self
    }
}

// === impl Client ===

impl Client {
    /// A client for `config` (loads the CA certificates for a TLS transport).
    pub fn new(config: Config) -> Result<Client, Error> {
        let tls = match config.server.transport {
            Transport::Udp | Transport::Tcp => None,
            Transport::Tls => Some(config.tls.client_config(b"dot", false)?),
            Transport::Https => Some(config.tls.client_config(b"http/1.1", false)?),
            Transport::Quic => Some(config.tls.client_config(b"doq", true)?),
        };
        if tls.is_some() {
            tls::server_name(&config.server.tls_name)?;
        }
        Ok(Client {
            config,
            tls: tls.map(Arc::new),
        })
    }

    /// Its configuration.
    pub fn config(&self) -> &Config {
        &self.config
    }

    /// Asks `request` and checks the answer: it is the answer to this query (ID, QR, opcode,
    /// question) and, with a pinned key, SIG(0)-signed with it. Over UDP a truncated answer
    /// (TC=1) is asked again over TCP within the same deadline.
    pub fn query(&self, request: &Request) -> Result<Response, Error> {
        let started = Instant::now();
        let deadline = net::Deadline::after(self.config.timeout);
        let server = &self.config.server;
        // DoQ requires ID 0 (RFC 9250 §4.2.1); the others get a random one.
        let id = match server.transport {
            Transport::Quic => 0,
            _ => rand::random(),
        };
        let query = request.encode(id)?;
        let key = self.config.key.as_ref();
        let check = |raw: &[u8]| check_response(raw, id, request, key, unix_now());
        let (raw, transport) = match server.transport {
            Transport::Udp => {
                let checked = |raw: &[u8]| check(raw).map(|ok| (raw.to_vec(), ok));
                match net::udp(server.addr, &query, id, deadline, checked)? {
                    net::UdpOutcome::Answer((raw, (message, sig0))) => {
                        return Ok(self.response(raw, message, sig0, Transport::Udp, started));
                    }
                    net::UdpOutcome::Truncated => {
                        (net::tcp(server.addr, &query, deadline)?, Transport::Tcp)
                    }
                }
            }
            Transport::Tcp => (net::tcp(server.addr, &query, deadline)?, Transport::Tcp),
            Transport::Tls => (
                net::dot(server, self.tls_config()?, &query, deadline)?,
                Transport::Tls,
            ),
            Transport::Https => (
                net::doh(
                    server,
                    self.tls_config()?,
                    &query,
                    &request.doh_params,
                    deadline,
                )?,
                Transport::Https,
            ),
            Transport::Quic => (self.doq(&query, deadline)?, Transport::Quic),
        };
        let (message, sig0) = check(&raw)?;
        Ok(self.response(raw, message, sig0, transport, started))
    }

    /// A checked response.
    fn response(
        &self,
        raw: Vec<u8>,
        message: Message,
        sig0: Sig0Verdict,
        transport: Transport,
        started: Instant,
    ) -> Response {
        Response {
            raw,
            message,
            sig0,
            transport,
            elapsed: started.elapsed(),
        }
    }

    /// The TLS configuration of a TLS transport.
    fn tls_config(&self) -> Result<&Arc<rustls::ClientConfig>, Error> {
        self.tls
            .as_ref()
            .ok_or(Error::Unsupported(self.config.server.transport))
    }

    #[cfg(feature = "doq")]
    fn doq(&self, query: &[u8], deadline: net::Deadline) -> Result<Vec<u8>, Error> {
        doq::doq(&self.config.server, self.tls_config()?, query, deadline)
    }

    #[cfg(not(feature = "doq"))]
    fn doq(&self, _query: &[u8], _deadline: net::Deadline) -> Result<Vec<u8>, Error> {
        Err(Error::Unsupported(Transport::Quic))
    }
}

// === impl Response ===

impl Response {
    /// The response bytes exactly as received (what the SIG(0) covers).
    pub fn raw(&self) -> &[u8] {
        &self.raw
    }

    /// The decoded message.
    pub fn message(&self) -> &Message {
        &self.message
    }

    /// The SIG(0) verdict: [`Sig0Verdict::Verified`] with a pinned key,
    /// [`Sig0Verdict::NotChecked`] without.
    pub fn sig0(&self) -> &Sig0Verdict {
        &self.sig0
    }

    /// The transport the answer came over (TCP after a truncated UDP answer).
    pub fn transport(&self) -> Transport {
        self.transport
    }

    /// How long the query took.
    pub fn elapsed(&self) -> Duration {
        self.elapsed
    }

    /// The bytes, the message and the verdict.
    pub fn into_parts(self) -> (Vec<u8>, Message, Sig0Verdict) {
        (self.raw, self.message, self.sig0)
    }
}

/// The current time as SIG(0) validity windows count it (unix seconds, u32).
fn unix_now() -> u32 {
    let secs = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map(|d| d.as_secs())
        .unwrap_or(0);
    u32::try_from(secs).unwrap_or(u32::MAX)
}

#[cfg(test)]
mod tests;
