//! The TLS client of DoT and DoH (and the rustls side of DoQ and DoH over HTTP/3): rustls with ring, trusting a CA file or (`--insecure`) any
//! certificate whose handshake signatures check out.

use std::sync::Arc;

use hnsfleet_client::TlsOptions;
use rustls::ClientConfig;
use rustls_pki_types::ServerName;
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
        // hnsfleet-client's TLS setup (ring, TLS 1.2 and 1.3): only the given CA file, or with
        // `--insecure` (the default without one) any certificate whose handshake signatures
        // check out.
        let mut options = TlsOptions {
            system_roots: false,
            extra_roots: Vec::new(),
            danger_accept_any_certificate: false,
        };
        match &config.trust {
            Some(Trust::Ca(path)) => options.add_ca_file(path).map_err(|e| tls_err(&e))?,
            Some(Trust::Insecure) | None => options.danger_accept_any_certificate = true,
        }
        let client = options
            .client_config(alpn, false)
            .map_err(|e| tls_err(&e))?;
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
