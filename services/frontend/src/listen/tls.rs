//! TLS for DoT, DoH and (inside QUIC) DoQ and DoH over HTTP/3: rustls (ring provider, TLS 1.3 only), with the certificate from PEM
//! files or, for a local try, a throw-away self-signed one for `localhost`.

use std::path::Path;
use std::sync::Arc;

use anyhow::{Context, anyhow};
use rustls::ServerConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, PrivateKeyDer};

/// ALPN protocol of DNS over TLS (RFC 7858 §3.2, registered "dot").
pub const ALPN_DOT: &[u8] = b"dot";
/// ALPN protocol of HTTP/2.
pub const ALPN_H2: &[u8] = b"h2";
/// ALPN protocol of HTTP/3 (RFC 9114 §3.1).
pub const ALPN_H3: &[u8] = b"h3";
/// ALPN protocol of DNS over QUIC (RFC 9250 §4.1).
pub const ALPN_DOQ: &[u8] = b"doq";

/// A certificate chain and its key.
#[derive(Debug)]
pub struct Certificate {
    chain: Vec<CertificateDer<'static>>,
    key: PrivateKeyDer<'static>,
}

impl Clone for Certificate {
    fn clone(&self) -> Self {
        Certificate {
            chain: self.chain.clone(),
            key: self.key.clone_key(),
        }
    }
}

impl Certificate {
    /// Reads a PEM chain and a PEM private key.
    pub fn from_files(cert: &Path, key: &Path) -> anyhow::Result<Certificate> {
        let chain = CertificateDer::pem_file_iter(cert)
            .with_context(|| format!("tls_cert {}", cert.display()))?
            .collect::<Result<Vec<_>, _>>()
            .with_context(|| format!("tls_cert {}: not a PEM certificate chain", cert.display()))?;
        if chain.is_empty() {
            return Err(anyhow!("tls_cert {}: no certificate in it", cert.display()));
        }
        let key = PrivateKeyDer::from_pem_file(key)
            .with_context(|| format!("tls_key {}: not a PEM private key", key.display()))?;
        Ok(Certificate { chain, key })
    }

    /// A new self-signed certificate for `localhost`, 127.0.0.1 and ::1 (never for users:
    /// clients must be told to skip verification or to trust it explicitly).
    pub fn self_signed() -> anyhow::Result<Certificate> {
        let names = vec![
            "localhost".to_string(),
            "127.0.0.1".to_string(),
            "::1".to_string(),
        ];
        let certified =
            rcgen::generate_simple_self_signed(names).context("self-signed certificate")?;
        let key = PrivateKeyDer::try_from(certified.signing_key.serialize_der())
            .map_err(|e| anyhow!("self-signed key: {e}"))?;
        Ok(Certificate {
            chain: vec![certified.cert.der().clone()],
            key,
        })
    }

    /// The leaf certificate in PEM (to hand to a client that must trust it).
    pub fn leaf_pem(&self) -> String {
        let der = self.chain.first().map(|c| c.as_ref()).unwrap_or_default();
        let b64 = data_encoding::BASE64.encode(der);
        let mut pem = String::from("-----BEGIN CERTIFICATE-----\n");
        for line in b64.as_bytes().chunks(64) {
            pem.push_str(&String::from_utf8_lossy(line));
            pem.push('\n');
        }
        pem.push_str("-----END CERTIFICATE-----\n");
        pem
    }

    /// A TLS 1.3 server configuration offering `alpn`.
    pub fn server_config(&self, alpn: &[&[u8]]) -> anyhow::Result<Arc<ServerConfig>> {
        // ring, not aws-lc-rs: no C toolchain in the build, and one provider for everything.
        // rustls 0.23.48 deprecates ring's provider only for its lack of post-quantum key
        // exchange, which DNS clients do not negotiate yet.
        #[allow(deprecated)]
        let provider = Arc::new(rustls::crypto::ring::default_provider());
        let mut config = ServerConfig::builder_with_provider(provider)
            .with_protocol_versions(&[&rustls::version::TLS13])
            .context("TLS 1.3")?
            .with_no_client_auth()
            .with_single_cert(self.chain.clone(), self.key.clone_key())
            .context("certificate and key do not match")?;
        config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
        Ok(Arc::new(config))
    }
}
