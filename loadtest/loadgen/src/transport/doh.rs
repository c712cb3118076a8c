//! DoH (RFC 8484) over HTTP/2 with the `h2` crate: one connection, one stream per query, a
//! small task per stream that reads the response and hands its body to the in-flight table.

use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Bytes, BytesMut};
use data_encoding::BASE64URL_NOPAD;
use h2::client::SendRequest;
use http::{Method, Request, StatusCode};
use tokio::net::TcpStream;
use tokio::time::Instant;
use tokio_util::sync::CancellationToken;

use super::MAX_MESSAGE;
use super::tls::Tls;
use crate::stats::{ErrorKind, Shared};

/// The DoH client settings.
#[derive(Debug, Clone)]
pub struct Doh {
    tls: Tls,
    post: bool,
    path: String,
    timeout: Duration,
}

/// One HTTP/2 connection's sending side.
pub(crate) struct DohSender {
    send: SendRequest<Bytes>,
    shared: Arc<Shared>,
    post: bool,
    /// `https://authority/path` (GET appends `?dns=`).
    base: String,
    timeout: Duration,
}

// === impl Doh ===

impl Doh {
    pub(crate) fn new(tls: Tls, post: bool, path: String, timeout: Duration) -> Doh {
        Doh {
            tls,
            post,
            path,
            timeout,
        }
    }

    /// TLS (ALPN h2) and the HTTP/2 handshake; the connection is driven by a task until
    /// `cancel`.
    pub(crate) async fn connect(
        &self,
        target: SocketAddr,
        shared: Arc<Shared>,
        cancel: CancellationToken,
    ) -> Result<DohSender, String> {
        let tcp = TcpStream::connect(target)
            .await
            .map_err(|e| e.to_string())?;
        let _ = tcp.set_nodelay(true);
        let tls = self.tls.connect(tcp).await?;
        let (send, connection) = h2::client::Builder::new()
            .initial_window_size(1 << 20)
            .initial_connection_window_size(4 << 20)
            .handshake::<_, Bytes>(tls)
            .await
            .map_err(|e| format!("http/2: {e}"))?;
        let driver_shared = shared.clone();
        tokio::spawn(async move {
            tokio::select! {
                () = cancel.cancelled() => {}
                result = connection => {
                    if result.is_err() {
                        driver_shared.on_error(None, ErrorKind::Receive);
                    }
                }
            }
        });
        let authority = match target {
            SocketAddr::V4(v4) => v4.to_string(),
            SocketAddr::V6(v6) => format!("[{}]:{}", v6.ip(), v6.port()),
        };
        Ok(DohSender {
            send,
            shared,
            post: self.post,
            base: format!("https://{authority}{}", self.path),
            timeout: self.timeout,
        })
    }
}

// === impl DohSender ===

impl DohSender {
    /// Opens a stream for query `id` (waiting for the server's stream limit) and spawns the
    /// task that waits for its answer.
    pub(crate) async fn send(
        &mut self,
        id: u16,
        start: Instant,
        query: &[u8],
    ) -> Result<(), ErrorKind> {
        let send = self
            .send
            .clone()
            .ready()
            .await
            .map_err(|_| ErrorKind::Send)?;
        self.send = send;
        let request = request(&self.base, query, self.post)?;
        let (response, mut body) = self
            .send
            .send_request(request, !self.post)
            .map_err(|_| ErrorKind::Send)?;
        if self.post {
            body.send_data(Bytes::copy_from_slice(query), true)
                .map_err(|_| ErrorKind::Send)?;
        }
        let shared = self.shared.clone();
        // Past the query's timeout the monitor has counted it; the task just ends.
        let limit = self.timeout + Duration::from_millis(500);
        tokio::spawn(async move {
            match tokio::time::timeout(limit, read_response(response)).await {
                Ok(Ok(answer)) => shared.on_answer(&answer),
                Ok(Err(kind)) => shared.on_error(Some((id, start)), kind),
                Err(_) => {}
            }
        });
        Ok(())
    }
}

/// The body of a 200 response, at most [`MAX_MESSAGE`] bytes.
async fn read_response(response: h2::client::ResponseFuture) -> Result<Bytes, ErrorKind> {
    let response = response.await.map_err(|_| ErrorKind::Receive)?;
    if response.status() != StatusCode::OK {
        return Err(ErrorKind::HttpStatus);
    }
    let mut body = response.into_body();
    let mut answer = BytesMut::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.map_err(|_| ErrorKind::Receive)?;
        let _ = body.flow_control().release_capacity(chunk.len());
        if answer.len() + chunk.len() > MAX_MESSAGE {
            return Err(ErrorKind::Malformed);
        }
        answer.extend_from_slice(&chunk);
    }
    Ok(answer.freeze())
}

/// The RFC 8484 request for `query` at `base` (`https://host:port/path`): a POST whose body
/// the caller sends, or a GET with the query in `?dns=` (HTTP/2 and HTTP/3 alike).
pub(crate) fn request(base: &str, query: &[u8], post: bool) -> Result<Request<()>, ErrorKind> {
    if post {
        Request::builder()
            .method(Method::POST)
            .uri(base)
            .header("content-type", "application/dns-message")
            .header("accept", "application/dns-message")
            .body(())
    } else {
        Request::builder()
            .method(Method::GET)
            .uri(format!("{base}?dns={}", BASE64URL_NOPAD.encode(query)))
            .header("accept", "application/dns-message")
            .body(())
    }
    .map_err(|_| ErrorKind::Send)
}
