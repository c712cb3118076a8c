//! One bounded HTTP(S) GET of an attester's publish endpoint: hyper's HTTP/1.1 client over a
//! TCP connection, TLS (rustls with ring, the system's CA certificates and `attester_ca_file`)
//! for `https://`. The
//! whole exchange has a deadline, redirects are not followed, and at most `limit` body bytes
//! are read.

use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http_body_util::{BodyExt, Empty, Limited};
use hyper_util::rt::TokioIo;
use rustls::ClientConfig;
use rustls_pki_types::pem::PemObject;
use rustls_pki_types::{CertificateDer, ServerName};
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;

/// What an attester fetch needs, made once per attester.
#[derive(Clone)]
pub struct Fetcher {
    tls: Option<TlsConnector>,
    timeout: Duration,
    limit: usize,
}

/// The TLS client for `https://` attesters: the system's CA certificates and those in
/// `extra_ca` (PEM), TLS 1.2 and 1.3.
pub fn https_connector(extra_ca: Option<&Path>) -> Result<TlsConnector, String> {
    let mut roots = rustls::RootCertStore::empty();
    let found = rustls_native_certs::load_native_certs();
    for certificate in found.certs {
        let _ = roots.add(certificate);
    }
    if let Some(path) = extra_ca {
        let fail = |e: &dyn std::fmt::Display| format!("attester_ca_file {}: {e}", path.display());
        let mut added = 0;
        for certificate in CertificateDer::pem_file_iter(path).map_err(|e| fail(&e))? {
            roots
                .add(certificate.map_err(|e| fail(&e))?)
                .map_err(|e| fail(&e))?;
            added += 1;
        }
        if added == 0 {
            return Err(fail(&"no certificate in it"));
        }
    }
    if roots.is_empty() {
        return Err("no CA certificates for https attesters (system store empty)".to_owned());
    }
    // ring, as every TLS configuration here (deprecated only for lacking post-quantum key
    // exchange).
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .map_err(|e| format!("tls: {e}"))?
        .with_root_certificates(roots)
        .with_no_client_auth();
    Ok(TlsConnector::from(Arc::new(config)))
}

impl Fetcher {
    /// A fetcher for `https` URLs (with `tls`) or plain HTTP ones (without), each fetch
    /// bounded by `timeout` and `limit` body bytes.
    pub fn new(tls: Option<TlsConnector>, timeout: Duration, limit: usize) -> Fetcher {
        Fetcher {
            tls,
            timeout,
            limit,
        }
    }

    /// GETs `url` (`http://` or `https://HOST[:PORT]/PATH`): the body of a 2xx answer.
    pub async fn get(&self, url: &str) -> Result<Vec<u8>, String> {
        tokio::time::timeout(self.timeout, self.exchange(url))
            .await
            .unwrap_or_else(|_| Err(format!("GET {url}: no answer within {:?}", self.timeout)))
    }

    async fn exchange(&self, url: &str) -> Result<Vec<u8>, String> {
        let fail = |e: &dyn std::fmt::Display| format!("GET {url}: {e}");
        let uri: http::Uri = url.parse().map_err(|e| fail(&e))?;
        let host = uri.host().ok_or_else(|| fail(&"no host"))?.to_owned();
        let https = uri.scheme_str() == Some("https");
        let port = uri.port_u16().unwrap_or(if https { 443 } else { 80 });
        let tcp = TcpStream::connect((host.as_str(), port))
            .await
            .map_err(|e| fail(&e))?;
        let request = http::Request::get(uri.path_and_query().map_or("/", |p| p.as_str()))
            .header(
                http::header::HOST,
                uri.authority().map_or(host.as_str(), |a| a.as_str()),
            )
            .body(Empty::<Bytes>::new())
            .map_err(|e| fail(&e))?;
        let response = match (&self.tls, https) {
            (Some(tls), true) => {
                let name = ServerName::try_from(host.clone()).map_err(|e| fail(&e))?;
                let stream = tls.connect(name, tcp).await.map_err(|e| fail(&e))?;
                send(TokioIo::new(stream), request).await
            }
            (None, false) => send(TokioIo::new(tcp), request).await,
            _ => Err("scheme does not match the fetcher".to_owned()),
        }
        .map_err(|e| fail(&e))?;
        if !response.status().is_success() {
            return Err(fail(&response.status()));
        }
        let body = Limited::new(response.into_body(), self.limit)
            .collect()
            .await
            .map_err(|e| fail(&e))?;
        Ok(body.to_bytes().to_vec())
    }
}

/// One request on a new HTTP/1.1 connection over `io`.
async fn send<I>(
    io: I,
    request: http::Request<Empty<Bytes>>,
) -> Result<http::Response<hyper::body::Incoming>, String>
where
    I: hyper::rt::Read + hyper::rt::Write + Unpin + Send + 'static,
{
    let (mut sender, connection) = hyper::client::conn::http1::handshake(io)
        .await
        .map_err(|e| e.to_string())?;
    tokio::spawn(async move {
        let _ = connection.await;
    });
    sender
        .send_request(request)
        .await
        .map_err(|e| e.to_string())
}
