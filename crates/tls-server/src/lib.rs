//! The fleet's TLS server side: rustls (ring provider, TLS 1.3 only), with the certificate from
//! PEM files, reloaded when they change, or, for a local try, a throw-away self-signed one for
//! `localhost`. The frontend's DoT, DoH and (inside QUIC) DoQ and DoH over HTTP/3 listeners and
//! the reorg-watchdog's publish endpoint use it.
//!
//! [`Certificate::server_config`] is the one place a server configuration is built. Every
//! configuration built from one [`Certificate`] shares:
//! - its **certificate**, through a resolver ([`rustls::server::ResolvesServerCert`]) holding
//!   the current `Arc<CertifiedKey>`: [`Certificate::install_pem`] swaps it, and every
//!   handshake after that presents the new one. Connections already open are not touched
//!   (their keys were agreed at their handshake), so a reload drops nothing. [`reload`] calls
//!   it on SIGHUP and when the files change.
//! - its **session resumption** ([`Resumption`]): stateless TLS 1.3 tickets (`tls_tickets`,
//!   rustls' rotating ChaCha20-Poly1305 ticketer: a new key every 6 hours, tickets valid up to
//!   12) or, with tickets off, a server-side cache of `tls_session_cache` sessions. Ticket keys
//!   are random per process: a client resumes only with the instance that issued its ticket
//!   (behind anycast or a load balancer, it falls back to a full handshake elsewhere). Sharing
//!   keys across a fleet would need a key distribution and rotation service, a secret every
//!   instance holds (its leak lets a passive observer decrypt every resumed session's first
//!   flight), for a saving of one signature per new connection: left out.
//!
//! A reload keeps resumption working: tickets issued before it still resume after it. A
//! resumed session was authenticated by the certificate that was valid when it began, and a
//! ticket lives at most 12 hours; a certificate replaced because its key leaked needs a
//! restart, which forgets every ticket key.
//!
//! ALPN: DoT offers `dot` (RFC 7858 §3.2), DoH `h2` and `http/1.1`. A client offering no ALPN
//! is served (most DoT stubs send none); one offering only protocols the listener does not
//! speak (`h2` to DoT, `dot` to DoH) is refused in the handshake with the
//! `no_application_protocol` alert (RFC 7301 §3.2), before any DNS is read.
#![forbid(unsafe_code)]

use std::path::{Path, PathBuf};
use std::sync::Arc;

use parking_lot::RwLock;
use rustls::ServerConfig;
use rustls::crypto::CryptoProvider;
use rustls::server::{
    ClientHello, NoServerSessionStorage, ProducesTickets, ResolvesServerCert,
    ServerSessionMemoryCache, StoresServerSessions,
};
use rustls::sign::CertifiedKey;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};
use thiserror::Error;

pub mod expiry;
pub mod reload;

/// ALPN protocol of DNS over TLS (RFC 7858 §3.2, registered "dot").
pub const ALPN_DOT: &[u8] = b"dot";
/// ALPN protocol of HTTP/2.
pub const ALPN_H2: &[u8] = b"h2";
/// ALPN protocol of HTTP/1.1.
pub const ALPN_HTTP1: &[u8] = b"http/1.1";
/// ALPN protocol of HTTP/3 (RFC 9114 §3.1).
pub const ALPN_H3: &[u8] = b"h3";
/// ALPN protocol of DNS over QUIC (RFC 9250 §4.1).
pub const ALPN_DOQ: &[u8] = b"doq";

/// Why a certificate and key cannot be used.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum CertError {
    /// A file could not be read.
    #[error("{key} {}: {source}", path.display())]
    Read {
        /// The config key naming the file.
        key: &'static str,
        /// The file.
        path: PathBuf,
        /// Why.
        source: std::io::Error,
    },
    /// The certificate file is not a PEM chain.
    #[error("tls_cert: not a PEM certificate chain: {0}")]
    Chain(rustls_pki_types::pem::Error),
    /// The certificate file holds no certificate.
    #[error("tls_cert: no certificate in it")]
    NoCertificate,
    /// The key file is not a PEM private key.
    #[error("tls_key: not a PEM private key: {0}")]
    KeyPem(rustls_pki_types::pem::Error),
    /// The key is of a kind the provider cannot sign with.
    #[error("tls_key: unusable private key: {0}")]
    Key(rustls::Error),
    /// The key is not the certificate's.
    #[error("tls_cert and tls_key do not match: {0}")]
    Mismatch(rustls::Error),
    /// A self-signed certificate could not be made.
    #[error("self-signed certificate: {0}")]
    SelfSigned(String),
    /// The ticket keys could not be made (no randomness).
    #[error("session tickets: {0}")]
    Tickets(rustls::Error),
    /// rustls refused the configuration.
    #[error("tls configuration: {0}")]
    Config(rustls::Error),
}

/// How clients may resume sessions (RFC 8446 §2.2): fewer round trips and no signature.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Resumption {
    /// Stateless TLS 1.3 tickets, keys rotated every 6 hours (the server stores nothing).
    pub tickets: bool,
    /// With tickets off: sessions a server-side cache keeps (0: no resumption at all).
    pub session_cache: usize,
}

/// A certificate chain and its key, replaceable while configurations built from it serve.
/// Cheap to clone: clones share the certificate and the resumption state.
#[derive(Debug, Clone)]
pub struct Certificate {
    /// The PEM files it came from (`None`: self-signed, never reloaded).
    files: Option<(PathBuf, PathBuf)>,
    current: Arc<Current>,
    provider: Arc<CryptoProvider>,
    ticketer: Arc<dyn ProducesTickets>,
    sessions: Arc<dyn StoresServerSessions>,
    /// TLS 1.3 tickets sent after a full handshake (0 when nothing can be resumed).
    tickets_sent: usize,
}

/// The resolver every configuration of a [`Certificate`] asks, handshake by handshake.
#[derive(Debug)]
struct Current(RwLock<Arc<CertifiedKey>>);

// === impl Resumption ===

impl Default for Resumption {
    fn default() -> Self {
        Resumption {
            tickets: true,
            session_cache: 10_000,
        }
    }
}

// === impl Certificate ===

impl Certificate {
    /// Reads a PEM chain and a PEM private key (it must be the leaf's), with the default
    /// [`Resumption`].
    pub fn from_files(cert: &Path, key: &Path) -> Result<Certificate, CertError> {
        let (cert_pem, key_pem) = read_pair(cert, key)?;
        let provider = provider();
        let certified = parse_pem(&cert_pem, &key_pem, &provider)?;
        let mut certificate = Certificate::new(certified, provider, Resumption::default())?;
        certificate.files = Some((cert.to_path_buf(), key.to_path_buf()));
        Ok(certificate)
    }

    /// A new self-signed certificate for `localhost`, 127.0.0.1 and ::1 (never for users:
    /// clients must be told to skip verification or to trust it explicitly).
    pub fn self_signed() -> Result<Certificate, CertError> {
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let certified = rcgen::generate_simple_self_signed(names)
            .map_err(|e| CertError::SelfSigned(e.to_string()))?;
        let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der())
            .map_err(|e| CertError::SelfSigned(e.to_string()))?;
        let provider = provider();
        let certified = certified_key(vec![certified.cert.der().clone()], key, &provider)?;
        Certificate::new(certified, provider, Resumption::default())
    }

    fn new(
        certified: CertifiedKey,
        provider: Arc<CryptoProvider>,
        resumption: Resumption,
    ) -> Result<Certificate, CertError> {
        let mut certificate = Certificate {
            files: None,
            current: Arc::new(Current(RwLock::new(Arc::new(certified)))),
            provider,
            ticketer: Arc::new(NoTickets),
            sessions: Arc::new(NoServerSessionStorage {}),
            tickets_sent: 0,
        };
        certificate.set_resumption(resumption)?;
        Ok(certificate)
    }

    /// This certificate with `resumption` for every configuration built from it afterwards.
    pub fn with_resumption(mut self, resumption: Resumption) -> Result<Certificate, CertError> {
        self.set_resumption(resumption)?;
        Ok(self)
    }

    fn set_resumption(&mut self, resumption: Resumption) -> Result<(), CertError> {
        // ring's ticketer is the provider's; its deprecation is the provider's (see
        // `provider`).
        #[allow(deprecated)]
        let ticketer: Arc<dyn ProducesTickets> = if resumption.tickets {
            rustls::crypto::ring::Ticketer::new().map_err(CertError::Tickets)?
        } else {
            Arc::new(NoTickets)
        };
        let sessions: Arc<dyn StoresServerSessions> =
            if !resumption.tickets && resumption.session_cache > 0 {
                ServerSessionMemoryCache::new(resumption.session_cache)
            } else {
                Arc::new(NoServerSessionStorage {})
            };
        let resumable = resumption.tickets || resumption.session_cache > 0;
        self.ticketer = ticketer;
        self.sessions = sessions;
        // Two, as rustls does by default: a client may open two connections at once and
        // each ticket is for one use (RFC 8446 §C.4).
        self.tickets_sent = if resumable { 2 } else { 0 };
        Ok(())
    }

    /// The files the certificate and key are read from (`None`: self-signed).
    pub fn files(&self) -> Option<(&Path, &Path)> {
        self.files.as_ref().map(|(c, k)| (c.as_path(), k.as_path()))
    }

    /// The leaf certificate being presented now.
    pub fn leaf(&self) -> CertificateDer<'static> {
        let current = self.current.0.read();
        current
            .cert
            .first()
            .cloned()
            .unwrap_or_else(|| CertificateDer::from(Vec::new()))
    }

    /// Whether `chain` is the chain being presented now.
    pub fn presents(&self, chain: &[CertificateDer<'_>]) -> bool {
        self.current.0.read().cert.as_slice() == chain
    }

    /// The leaf certificate being presented now, in PEM (to hand to a client that must trust
    /// it).
    pub fn leaf_pem(&self) -> String {
        let der = self.leaf();
        let b64 = data_encoding::BASE64.encode(der.as_ref());
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// The leaf's notAfter in Unix seconds (`None` if its DER has no readable validity).
    pub fn not_after(&self) -> Option<i64> {
        expiry::not_after(self.leaf().as_ref())
    }

    /// Checks a new PEM chain and key (parsed, the key the leaf's) and, if they are good,
    /// presents them from the next handshake on, in every configuration built from this
    /// certificate. A bad pair changes nothing.
    pub fn install_pem(&self, cert_pem: &[u8], key_pem: &[u8]) -> Result<(), CertError> {
        let certified = parse_pem(cert_pem, key_pem, &self.provider)?;
        *self.current.0.write() = Arc::new(certified);
        Ok(())
    }

    /// A TLS 1.3 server configuration offering `alpn`: the one constructor of every TLS and
    /// QUIC server configuration, so every listener presents the current certificate and
    /// shares the resumption state.
    pub fn server_config(&self, alpn: &[&[u8]]) -> Result<Arc<ServerConfig>, CertError> {
        let mut config = ServerConfig::builder_with_provider(Arc::clone(&self.provider))
            .with_protocol_versions(&[&rustls::version::TLS13])
            .map_err(CertError::Config)?
            .with_no_client_auth()
            .with_cert_resolver(Arc::clone(&self.current) as Arc<dyn ResolvesServerCert>);
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        config.ticketer = Arc::clone(&self.ticketer);
        config.session_storage = Arc::clone(&self.sessions);
        config.send_tls13_tickets = self.tickets_sent;
        Ok(Arc::new(config))
    }
}

// === impl Current ===

impl ResolvesServerCert for Current {
    fn resolve(&self, _client_hello: ClientHello<'_>) -> Option<Arc<CertifiedKey>> {
        Some(Arc::clone(&self.0.read()))
    }
}

/// The ticketer of a configuration without tickets.
#[derive(Debug)]
struct NoTickets;

impl ProducesTickets for NoTickets {
    fn enabled(&self) -> bool {
        false
    }

    fn lifetime(&self) -> u32 {
        0
    }

    fn encrypt(&self, _plain: &[u8]) -> Option<Vec<u8>> {
        None
    }

    fn decrypt(&self, _cipher: &[u8]) -> Option<Vec<u8>> {
        None
    }
}

/// The crypto provider of every configuration.
fn provider() -> Arc<CryptoProvider> {
    // ring, not aws-lc-rs: no C toolchain in the build, and one provider for everything.
    // rustls 0.23.48 deprecates ring's provider only for its lack of post-quantum key
    // exchange, which DNS clients do not negotiate yet.
    #[allow(deprecated)]
    Arc::new(rustls::crypto::ring::default_provider())
}

/// The bytes of the certificate and key files.
pub(crate) fn read_pair(cert: &Path, key: &Path) -> Result<(Vec<u8>, Vec<u8>), CertError> {
    let read = |name, path: &Path| {
        std::fs::read(path).map_err(|source| CertError::Read {
            key: name,
            path: path.to_path_buf(),
            source,
        })
    };
    Ok((read("tls_cert", cert)?, read("tls_key", key)?))
}

/// A PEM chain and key, checked: at least one certificate, a usable key, the leaf's.
fn parse_pem(
    cert_pem: &[u8],
    key_pem: &[u8],
    provider: &CryptoProvider,
) -> Result<CertifiedKey, CertError> {
    let chain = CertificateDer::pem_slice_iter(cert_pem)
        .collect::<Result<Vec<_>, _>>()
        .map_err(CertError::Chain)?;
    if chain.is_empty() {
        return Err(CertError::NoCertificate);
    }
    let key = PrivateKeyDer::from_pem_slice(key_pem).map_err(CertError::KeyPem)?;
    certified_key(chain, key, provider)
}

/// `chain` and `key` as rustls serves them, after checking the key is the leaf's.
fn certified_key(
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
    provider: &CryptoProvider,
) -> Result<CertifiedKey, CertError> {
    let signing = provider
        .key_provider
        .load_private_key(key)
        .map_err(CertError::Key)?;
    let certified = CertifiedKey::new(chain, signing);
    match certified.keys_match() {
        // ring knows every key's public half; "unknown" cannot happen with it, and rustls
        // itself lets it pass.
        Ok(()) | Err(rustls::Error::InconsistentKeys(rustls::InconsistentKeys::Unknown)) => {
            Ok(certified)
        }
        Err(error) => Err(CertError::Mismatch(error)),
    }
}

#[cfg(test)]
pub(crate) mod tests;
