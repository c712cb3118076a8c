//! DNS over HTTPS (RFC 8484): `GET /dns-query?dns=<base64url>` and `POST /dns-query` with
//! `content-type: application/dns-message`, over HTTP/2 on TLS (HTTP/1.1 is accepted too).
//!
//! Errors are HTTP statuses: 404 for another path, 405 for another method, 415 for another
//! content type, 413 for a body over 65,535 bytes, 400 for a missing or undecodable `dns`
//! parameter or a message the resolver drops. Answers carry `cache-control: max-age` = the
//! smallest TTL in them (RFC 8484 §5.1).

use std::convert::Infallible;
use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::Bytes;
use http::{Method, Request, Response, StatusCode, header};
use http_body_util::{BodyExt, Full, Limited};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::frontend::{Frontend, Service};
use crate::listen::stream::StreamLimits;
use crate::wire::{STREAM_LIMIT, Transport};

/// The DoH path (RFC 8484 §6 example; what every client defaults to).
pub const PATH: &str = "/dns-query";
/// The DNS wire-format media type.
pub const DNS_MESSAGE: &str = "application/dns-message";
/// Longest time a TLS handshake may take.
const HANDSHAKE_TIMEOUT: Duration = Duration::from_secs(5);
/// HTTP/2 streams one connection may have open.
const MAX_STREAMS: u32 = 100;

/// Serves DoH on `listener` until `stop`.
pub async fn serve(
    listener: TcpListener,
    tls: TlsAcceptor,
    frontend: Arc<Frontend>,
    limits: StreamLimits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    loop {
        let (socket, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(accepted) => accepted,
                Err(error) => {
                    tracing::warn!(%error, "accept");
                    tokio::time::sleep(Duration::from_millis(10)).await;
                    continue;
                }
            },
            () = stop.cancelled() => return Ok(()),
        };
        let Ok(permit) = Arc::clone(&limits.connections).try_acquire_owned() else {
            frontend.metrics().connections_refused.inc();
            continue;
        };
        let _ = socket.set_nodelay(true);
        let (frontend, tls, stop, idle) = (
            Arc::clone(&frontend),
            tls.clone(),
            stop.clone(),
            limits.idle_timeout,
        );
        tokio::spawn(async move {
            let _permit = permit;
            frontend.metrics().connections.inc();
            let stream = match tokio::time::timeout(HANDSHAKE_TIMEOUT, tls.accept(socket)).await {
                Ok(Ok(stream)) => stream,
                _ => {
                    frontend
                        .metrics()
                        .dropped
                        .with_label_values(&["tls_handshake"])
                        .inc();
                    frontend.metrics().connections.dec();
                    return;
                }
            };
            let client = peer.ip();
            let service = {
                let frontend = Arc::clone(&frontend);
                hyper::service::service_fn(move |request| {
                    let frontend = Arc::clone(&frontend);
                    async move { Ok::<_, Infallible>(answer(&frontend, client, request).await) }
                })
            };
            let mut builder = auto::Builder::new(TokioExecutor::new());
            builder
                .http2()
                .max_concurrent_streams(MAX_STREAMS)
                .keep_alive_interval(Some(idle))
                .keep_alive_timeout(idle);
            builder
                .http1()
                .header_read_timeout(idle)
                .timer(hyper_util::rt::TokioTimer::new());
            builder.http2().timer(hyper_util::rt::TokioTimer::new());
            let connection = builder.serve_connection(TokioIo::new(stream), service);
            tokio::pin!(connection);
            tokio::select! {
                result = connection.as_mut() => {
                    if let Err(error) = result {
                        tracing::debug!(%error, "doh connection");
                    }
                }
                () = stop.cancelled() => {
                    connection.as_mut().graceful_shutdown();
                    let _ = tokio::time::timeout(idle, connection).await;
                }
            }
            frontend.metrics().connections.dec();
        });
    }
}

/// One DoH request.
async fn answer(
    frontend: &Frontend,
    client: IpAddr,
    request: Request<Incoming>,
) -> Response<Full<Bytes>> {
    if request.uri().path() != PATH {
        return status(StatusCode::NOT_FOUND);
    }
    let query = match *request.method() {
        Method::GET => {
            let Some(encoded) = request.uri().query().and_then(dns_parameter) else {
                return status(StatusCode::BAD_REQUEST);
            };
            match data_encoding::BASE64URL_NOPAD.decode(encoded.trim_end_matches('=').as_bytes()) {
                Ok(query) if query.len() <= STREAM_LIMIT => query,
                _ => return status(StatusCode::BAD_REQUEST),
            }
        }
        Method::POST => {
            let content_type = request
                .headers()
                .get(header::CONTENT_TYPE)
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default();
            let wrong_type = content_type != DNS_MESSAGE;
            // The body is read (bounded) before any answer, even a refusal: answering while the
            // client still sends makes the server reset the stream, and some clients then report
            // a transport error instead of the status.
            let body = match Limited::new(request.into_body(), STREAM_LIMIT)
                .collect()
                .await
            {
                Ok(body) => body.to_bytes().to_vec(),
                Err(_) => return status(StatusCode::PAYLOAD_TOO_LARGE),
            };
            if wrong_type {
                return status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
            }
            body
        }
        _ => return status(StatusCode::METHOD_NOT_ALLOWED),
    };
    match frontend
        .handle(&query, Transport::Https, client, Service::Resolver)
        .await
    {
        Some(answer) => {
            let max_age = min_ttl(&answer);
            let mut response = Response::new(Full::new(Bytes::from(answer)));
            let headers = response.headers_mut();
            headers.insert(
                header::CONTENT_TYPE,
                header::HeaderValue::from_static(DNS_MESSAGE),
            );
            if let Ok(value) = header::HeaderValue::from_str(&format!("max-age={max_age}")) {
                headers.insert(header::CACHE_CONTROL, value);
            }
            response
        }
        None => {
            frontend
                .metrics()
                .dropped
                .with_label_values(&["http"])
                .inc();
            status(StatusCode::BAD_REQUEST)
        }
    }
}

/// The `dns` parameter of a query string.
fn dns_parameter(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("dns="))
        .filter(|v| !v.is_empty())
}

/// The smallest TTL of the answer's records (0 when it has none).
fn min_ttl(answer: &[u8]) -> u32 {
    hickory_proto::op::Message::from_vec(answer)
        .ok()
        .and_then(|m| {
            m.answers
                .iter()
                .chain(m.authorities.iter())
                .map(|r| r.ttl)
                .min()
        })
        .unwrap_or(0)
}

fn status(code: StatusCode) -> Response<Full<Bytes>> {
    let mut response = Response::new(Full::new(Bytes::new()));
    *response.status_mut() = code;
    response
}
