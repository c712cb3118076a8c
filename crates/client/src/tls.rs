//! The TLS client configuration of DoT, DoH and DoQ: rustls on ring, TLS 1.2 and 1.3 (DoQ:
//! 1.3 only, as QUIC requires), the system's CA certificates plus any given, and an explicitly
//! named mode that checks nothing (tests and local tries only).

use std::path::Path;
use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::CryptoProvider;
use rustls::pki_types::pem::PemObject;
use rustls::pki_types::{CertificateDer, ServerName, UnixTime};
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};

use crate::error::Error;

/// Which certificates a TLS server may present.
#[derive(Debug, Clone)]
pub struct TlsOptions {
    /// Trust the system's CA certificates (rustls-native-certs).
    pub system_roots: bool,
    /// More trusted CA certificates (DER), e.g. from [`TlsOptions::add_ca_file`].
    pub extra_roots: Vec<CertificateDer<'static>>,
    /// Accept any certificate for any name: no authentication at all. Only for tests and
    /// local tries; SIG(0) with a pinned key still authenticates the answers.
    pub danger_accept_any_certificate: bool,
}

// === impl TlsOptions ===

impl Default for TlsOptions {
    fn default() -> Self {
        TlsOptions {
            system_roots: true,
            extra_roots: Vec::new(),
            danger_accept_any_certificate: false,
        }
    }
}

impl TlsOptions {
    /// Adds every certificate of the PEM file at `path` to the trusted roots (at least one).
    pub fn add_ca_file(&mut self, path: &Path) -> Result<(), Error> {
        let bad = |reason: String| Error::CaFile {
            path: path.to_path_buf(),
            reason,
        };
        let bytes = std::fs::read(path).map_err(|source| Error::ReadFile {
            path: path.to_path_buf(),
            source,
        })?;
        let mut added = 0;
        for certificate in CertificateDer::pem_slice_iter(&bytes) {
            self.extra_roots
                .push(certificate.map_err(|e| bad(e.to_string()))?);
            added += 1;
        }
        if added == 0 {
            return Err(bad("no certificate in it".to_string()));
        }
        Ok(())
    }

    /// A rustls client configuration offering `alpn`, TLS 1.3 only when `tls13_only`.
    pub fn client_config(&self, alpn: &[u8], tls13_only: bool) -> Result<ClientConfig, Error> {
        let provider = Arc::new(provider());
        let versions: &[&rustls::SupportedProtocolVersion] = if tls13_only {
            &[&rustls::version::TLS13]
        } else {
            rustls::DEFAULT_VERSIONS
        };
        let builder = ClientConfig::builder_with_provider(Arc::clone(&provider))
            .with_protocol_versions(versions)
            .map_err(|e| Error::Tls {
                transport: crate::Transport::Tls,
                source: e,
            })?;
        let mut config = if self.danger_accept_any_certificate {
            builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAnyCertificate(provider)))
                .with_no_client_auth()
        } else {
            builder
                .with_root_certificates(self.roots()?)
                .with_no_client_auth()
        };
        config.alpn_protocols = vec![alpn.to_vec()];
        Ok(config)
    }

    /// The trusted roots: the system's (unreadable ones skipped) and the extra ones.
    fn roots(&self) -> Result<RootCertStore, Error> {
        let mut roots = RootCertStore::empty();
        if self.system_roots {
            for certificate in rustls_native_certs::load_native_certs().certs {
                let _ = roots.add(certificate);
            }
        }
        for certificate in &self.extra_roots {
            roots.add(certificate.clone()).map_err(|e| Error::CaFile {
                path: "(extra root)".into(),
                reason: e.to_string(),
            })?;
        }
        if roots.is_empty() {
            return Err(Error::NoRoots);
        }
        Ok(roots)
    }
}

/// `name` as a rustls server name (a DNS name or an IP address).
pub(crate) fn server_name(name: &str) -> Result<ServerName<'static>, Error> {
    ServerName::try_from(name.to_string()).map_err(|_| Error::TlsName(name.to_string()))
}

/// ring, as every TLS configuration of the workspace (deprecated only for lacking
/// post-quantum key exchange).
#[allow(deprecated)]
fn provider() -> CryptoProvider {
    rustls::crypto::ring::default_provider()
}

/// Accepts every certificate (but still checks the handshake signatures, so the session key
/// is the presenter's).
#[derive(Debug)]
struct AcceptAnyCertificate(Arc<CryptoProvider>);

impl ServerCertVerifier for AcceptAnyCertificate {
    fn verify_server_cert(
        &self,
        _end_entity: &CertificateDer<'_>,
        _intermediates: &[CertificateDer<'_>],
        _server_name: &ServerName<'_>,
        _ocsp_response: &[u8],
        _now: UnixTime,
    ) -> Result<ServerCertVerified, rustls::Error> {
        Ok(ServerCertVerified::assertion())
    }

    fn verify_tls12_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls12_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(
            message,
            cert,
            dss,
            &self.0.signature_verification_algorithms,
        )
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.signature_verification_algorithms.supported_schemes()
    }
}
