//! QUIC transports with quinn: DNS over QUIC (RFC 9250, ALPN `doq`) and DoH over HTTP/3 (the
//! `h3` crate, ALPN `h3`). One QUIC connection (on its own client endpoint) per loadgen
//! connection, one stream per query, and a small task per stream that reads the answer and
//! hands it to the in-flight table, as the HTTP/2 transport does.
//!
//! DoQ sends every query with message ID 0 (RFC 9250 §4.2.1) and puts the worker's ID back
//! into the answer before the table sees it: the stream, not the ID, pairs them.

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use http::StatusCode;
use quinn::crypto::rustls::QuicClientConfig;
use quinn::{Connection, Endpoint, VarInt};
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::MAX_MESSAGE;
use super::tls::Tls;
use crate::LoadgenError;
use crate::config::{Config, DohMethod};
use crate::stats::{ErrorKind, Shared};

/// Which protocol a QUIC connection speaks.
#[derive(Debug, Clone)]
enum Protocol {
    /// DNS over QUIC.
    Doq,
    /// DoH over HTTP/3: POST or GET, and the path.
    Doh3 { post: bool, path: String },
}

/// The settings of a QUIC transport.
#[derive(Clone)]
pub struct Quic {
    client: quinn::ClientConfig,
    /// The TLS server name (SNI and certificate check).
    name: String,
    protocol: Protocol,
    timeout: Duration,
}

/// One QUIC connection's sending side.
pub(crate) struct QuicSender {
    /// Kept so the endpoint's driver lives as long as the connection.
    _endpoint: Endpoint,
    connection: Connection,
    h3: Option<h3::client::SendRequest<h3_quinn::OpenStreams, Bytes>>,
    shared: Arc<Shared>,
    protocol: Protocol,
    base: String,
    timeout: Duration,
}

// === impl Quic ===

impl Quic {
    /// DNS over QUIC for `config`'s trust and server name.
    pub(crate) fn doq(config: &Config) -> Result<Quic, LoadgenError> {
        Quic::new(config, b"doq", Protocol::Doq)
    }

    /// DoH over HTTP/3 for `config`'s trust, server name, method and path.
    pub(crate) fn doh3(config: &Config) -> Result<Quic, LoadgenError> {
        let protocol = Protocol::Doh3 {
            post: config.doh_method == DohMethod::Post,
            path: config.doh_path.clone(),
        };
        Quic::new(config, b"h3", protocol)
    }

    fn new(config: &Config, alpn: &[u8], protocol: Protocol) -> Result<Quic, LoadgenError> {
        let (tls, _) = Tls::client_config(config, alpn)?;
        let crypto =
            QuicClientConfig::try_from(tls).map_err(|e| LoadgenError::Tls(e.to_string()))?;
        let mut client = quinn::ClientConfig::new(Arc::new(crypto));
        let mut transport = quinn::TransportConfig::default();
        // Quiet connections between bursts must not time out on the client's side.
        transport.keep_alive_interval(Some(Duration::from_secs(2)));
        client.transport_config(Arc::new(transport));
        Ok(Quic {
            client,
            name: config.tls_name.clone(),
            protocol,
            timeout: config.timeout,
        })
    }

    /// A client endpoint and the QUIC handshake (and, for HTTP/3, its SETTINGS exchange); the
    /// connection's drivers run until `cancel`.
    pub(crate) async fn connect(
        &self,
        target: SocketAddr,
        shared: Arc<Shared>,
        cancel: CancellationToken,
    ) -> Result<QuicSender, String> {
        let local = match (target.is_ipv4(), target.ip().is_loopback()) {
            (true, true) => IpAddr::V4(Ipv4Addr::LOCALHOST),
            (true, false) => IpAddr::V4(Ipv4Addr::UNSPECIFIED),
            (false, true) => IpAddr::V6(Ipv6Addr::LOCALHOST),
            (false, false) => IpAddr::V6(Ipv6Addr::UNSPECIFIED),
        };
        let mut endpoint =
            Endpoint::client(SocketAddr::new(local, 0)).map_err(|e| format!("quic: {e}"))?;
        endpoint.set_default_client_config(self.client.clone());
        let connection = endpoint
            .connect(target, &self.name)
            .map_err(|e| format!("quic: {e}"))?
            .await
            .map_err(|e| format!("quic: {e}"))?;
        let h3 = match &self.protocol {
            Protocol::Doq => {
                let (connection, cancel) = (connection.clone(), cancel.clone());
                tokio::spawn(async move {
                    cancel.cancelled().await;
                    connection.close(VarInt::from_u32(0), b"");
                });
                None
            }
            Protocol::Doh3 { .. } => {
                let (mut driver, send) =
                    h3::client::new(h3_quinn::Connection::new(connection.clone()))
                        .await
                        .map_err(|e| format!("http/3: {e}"))?;
                let driver_shared = shared.clone();
                tokio::spawn(async move {
                    tokio::select! {
                        () = cancel.cancelled() => {}
                        error = driver.wait_idle() => {
                            if !error.is_h3_no_error() {
                                driver_shared.on_error(None, ErrorKind::Receive);
                            }
                        }
                    }
                });
                Some(send)
            }
        };
        let authority = match target {
            SocketAddr::V4(v4) => v4.to_string(),
            SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
        };
        let path = match &self.protocol {
            Protocol::Doq => "",
            Protocol::Doh3 { path, .. } => path,
        };
        Ok(QuicSender {
            _endpoint: endpoint,
            connection,
            h3,
            shared,
            protocol: self.protocol.clone(),
            base: format!("https://{authority}{path}"),
            timeout: self.timeout,
        })
    }
}

impl std::fmt::Debug for Quic {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Quic")
            .field("name", &self.name)
            .field("protocol", &self.protocol)
            .finish()
    }
}

// === impl QuicSender ===

impl QuicSender {
    /// Opens a stream for query `id` (waiting for the server's stream credit), sends the query
    /// and spawns the task that waits for its answer.
    pub(crate) async fn send(
        &mut self,
        id: u16,
        start: Instant,
        query: &[u8],
    ) -> Result<(), ErrorKind> {
        // Past the query's timeout the monitor has counted it; the task just ends.
        let limit = self.timeout + Duration::from_millis(500);
        let shared = self.shared.clone();
        match (&self.protocol, &mut self.h3) {
            (Protocol::Doq, _) => {
                let (mut send, mut recv) = self
                    .connection
                    .open_bi()
                    .await
                    .map_err(|_| ErrorKind::Send)?;
                let mut framed = Vec::with_capacity(query.len() + 2);
                framed.extend_from_slice(&(query.len() as u16).to_be_bytes());
                framed.extend_from_slice(query);
                if framed.len() >= 4 {
                    framed[2..4].copy_from_slice(&[0, 0]);
                }
                send.write_all(&framed).await.map_err(|_| ErrorKind::Send)?;
                send.finish().map_err(|_| ErrorKind::Send)?;
                tokio::spawn(async move {
                    let read = recv.read_to_end(MAX_MESSAGE + 2);
                    match tokio::time::timeout(limit, read).await {
                        Ok(Ok(bytes)) => match doq_answer(&bytes, id) {
                            Some(answer) => shared.on_answer(&answer),
                            None => shared.on_error(Some((id, start)), ErrorKind::Malformed),
                        },
                        Ok(Err(_)) => shared.on_error(Some((id, start)), ErrorKind::Receive),
                        Err(_) => {}
                    }
                });
                Ok(())
            }
            (Protocol::Doh3 { post, .. }, Some(h3)) => {
                let post = *post;
                let request = super::doh::request(&self.base, query, post)?;
                let mut stream = h3
                    .send_request(request)
                    .await
                    .map_err(|_| ErrorKind::Send)?;
                if post {
                    stream
                        .send_data(Bytes::copy_from_slice(query))
                        .await
                        .map_err(|_| ErrorKind::Send)?;
                }
                stream.finish().await.map_err(|_| ErrorKind::Send)?;
                tokio::spawn(async move {
                    let read = async {
                        let response = stream
                            .recv_response()
                            .await
                            .map_err(|_| ErrorKind::Receive)?;
                        if response.status() != StatusCode::OK {
                            return Err(ErrorKind::HttpStatus);
                        }
                        let mut answer = BytesMut::new();
                        while let Some(mut chunk) =
                            stream.recv_data().await.map_err(|_| ErrorKind::Receive)?
                        {
                            if answer.len() + chunk.remaining() > MAX_MESSAGE {
                                return Err(ErrorKind::Malformed);
                            }
                            answer.extend_from_slice(&chunk.copy_to_bytes(chunk.remaining()));
                        }
                        Ok(answer.freeze())
                    };
                    match tokio::time::timeout(limit, read).await {
                        Ok(Ok(answer)) => shared.on_answer(&answer),
                        Ok(Err(kind)) => shared.on_error(Some((id, start)), kind),
                        Err(_) => {}
                    }
                });
                Ok(())
            }
            (Protocol::Doh3 { .. }, None) => Err(ErrorKind::Send),
        }
    }
}

/// The answer on a DoQ stream (length prefix, message with ID 0) with `id` put back, or `None`
/// when the framing or the ID is wrong.
fn doq_answer(bytes: &[u8], id: u16) -> Option<Vec<u8>> {
    let (len, message) = bytes.split_first_chunk::<2>()?;
    if usize::from(u16::from_be_bytes(*len)) != message.len() || message.len() < 2 {
        return None;
    }
    if message[..2] != [0, 0] {
        return None;
    }
    let mut answer = message.to_vec();
    answer[..2].copy_from_slice(&id.to_be_bytes());
    Some(answer)
}

#[cfg(test)]
mod tests {
    use super::doq_answer;

    #[test]
    fn a_doq_answer_gets_the_workers_id_back_and_bad_framing_is_refused() {
        let framed = [0u8, 4, 0, 0, 0x81, 0x80];
        assert_eq!(
            doq_answer(&framed, 0x1234),
            Some(vec![0x12, 0x34, 0x81, 0x80])
        );
        assert_eq!(doq_answer(&framed[..5], 1), None);
        assert_eq!(doq_answer(&[0, 4, 0, 9, 0x81, 0x80], 1), None);
    }
}
