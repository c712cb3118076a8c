//! The TLS client of DoT and DoH (and the rustls side of DoQ and DoH over HTTP/3): rustls with ring, trusting a CA file or (`--insecure`) any
//! certificate whose handshake signatures check out.

use std::sync::Arc;

use rustls::client::danger::{HandshakeSignatureValid, ServerCertVerified, ServerCertVerifier};
use rustls::crypto::WebPkiSupportedAlgorithms;
use rustls::{ClientConfig, DigitallySignedStruct, RootCertStore, SignatureScheme};
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName, UnixTime};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

use crate::LoadgenError;
use crate::config::{Config, Trust};

/// A connector and the name it checks.
#[derive(Clone)]
pub struct Tls {
    connector: TlsConnector,
    name: ServerName<'static>,
}

/// Accepts any certificate; still checks the handshake signatures with the provider's
/// algorithms, so the connection is real TLS, just not authenticated.
#[derive(Debug)]
struct AcceptAny(WebPkiSupportedAlgorithms);

// === impl Tls ===

impl Tls {
    /// A client for `config`'s trust and server name, offering `alpn`.
    pub(crate) fn new(config: &Config, alpn: &[u8]) -> Result<Tls, LoadgenError> {
        let (client, name) = Tls::client_config(config, alpn)?;
        Ok(Tls {
            connector: TlsConnector::from(client),
            name,
        })
    }

    /// The rustls client configuration for `config`'s trust offering `alpn`, and the server
    /// name it checks (QUIC builds its client from these too).
    pub(crate) fn client_config(
        config: &Config,
        alpn: &[u8],
    ) -> Result<(Arc<ClientConfig>, ServerName<'static>), LoadgenError> {
        let tls_err = |e: &dyn std::fmt::Display| LoadgenError::Tls(e.to_string());
        // ring, as the frontend uses (no C toolchain); its provider is deprecated only for
        // lacking post-quantum key exchange.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let algorithms = provider.signature_verification_algorithms;
        let builder = ClientConfig::builder_with_provider(provider)
            .with_safe_default_protocol_versions()
            .map_err(|e| tls_err(&e))?;
        let mut client = match &config.trust {
            Some(Trust::Ca(path)) => {
                let mut roots = RootCertStore::empty();
                let certs = CertificateDer::pem_file_iter(path)
                    .map_err(|e| tls_err(&format!("{}: {e}", path.display())))?;
                for cert in certs {
                    let cert = cert.map_err(|e| tls_err(&format!("{}: {e}", path.display())))?;
                    roots.add(cert).map_err(|e| tls_err(&e))?;
                }
                if roots.is_empty() {
                    return Err(tls_err(&format!("{}: no certificate", path.display())));
                }
                builder.with_root_certificates(roots).with_no_client_auth()
            }
            Some(Trust::Insecure) | None => builder
                .dangerous()
                .with_custom_certificate_verifier(Arc::new(AcceptAny(algorithms)))
                .with_no_client_auth(),
        };
        client.alpn_protocols = vec![alpn.to_vec()];
        let name = ServerName::try_from(config.tls_name.clone())
            .map_err(|e| tls_err(&format!("--tls-name {}: {e}", config.tls_name)))?;
        Ok((Arc::new(client), name))
    }

    /// The TLS handshake over `tcp`.
    pub(crate) async fn connect(&self, tcp: TcpStream) -> Result<TlsStream<TcpStream>, String> {
        self.connector
            .connect(self.name.clone(), tcp)
            .await
            .map_err(|e| format!("tls: {e}"))
    }
}

impl std::fmt::Debug for Tls {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Tls").field("name", &self.name).finish()
    }
}

// === impl AcceptAny ===

impl ServerCertVerifier for AcceptAny {
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
        rustls::crypto::verify_tls12_signature(message, cert, dss, &self.0)
    }

    fn verify_tls13_signature(
        &self,
        message: &[u8],
        cert: &CertificateDer<'_>,
        dss: &DigitallySignedStruct,
    ) -> Result<HandshakeSignatureValid, rustls::Error> {
        rustls::crypto::verify_tls13_signature(message, cert, dss, &self.0)
    }

    fn supported_verify_schemes(&self) -> Vec<SignatureScheme> {
        self.0.supported_schemes()
    }
}
