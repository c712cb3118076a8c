//! DNS over HTTPS (RFC 8484): `GET /dns-query?dns=<base64url>` and `POST /dns-query` with
//! `content-type: application/dns-message`, over HTTP/2 on TLS (HTTP/1.1 is accepted too); and
//! the JSON form (`GET /dns-query?name=..&type=..` with `accept: application/dns-json`, or
//! `GET /resolve?name=..`), rendered by [`super::doh_json`]. `respond` turns one request into
//! its response whatever HTTP version carried it: HTTP/3 ([`super::doh3`]) calls it too. When
//! HTTP/3 is on, every HTTP/2 and HTTP/1.1 response advertises it (`alt-svc: h3=":PORT"`).
//!
//! Errors are HTTP statuses: 404 for another path, 405 for another method, 415 for another
//! content type, 413 for a body over 65,535 bytes, 408 for a body that does not arrive within
//! `idle_timeout`, 400 for a missing or undecodable `dns` parameter or a message the resolver
//! drops. Answers carry `cache-control: max-age` = the smallest TTL in them (RFC 8484 §5.1).
//!
//! Connections come through [`accept_loop`], so `max_connections`, the per-prefix limits and
//! the handshake budget count them with the TCP and DoT ones; each may have `doh_max_streams`
//! HTTP/2 streams open. A connection that has had no request for `idle_timeout` (HTTP/2,
//! HTTP/1.1, or a client that never said which) is shut down gracefully and dropped if it has
//! not closed `idle_timeout` later. HTTP/2 chosen by ALPN (what clients do) is served by
//! `doh2` straight from `h2`; hyper serves HTTP/1.1 (and answers keep-alive pings on
//! HTTP/2 without ALPN, which do not keep a connection either).

use std::convert::Infallible;
use std::future::Future;
use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::time::Duration;

use bytes::Bytes;
use http::header::HeaderValue;
use http::{Method, Response, StatusCode, header};
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper_util::rt::{TokioExecutor, TokioIo, TokioTimer};
use hyper_util::server::conn::auto;
use tokio::net::TcpListener;
use tokio::time::Instant;
use tokio_rustls::TlsAcceptor;
use tokio_util::sync::CancellationToken;

use crate::frontend::{Frontend, Service};
use crate::listen::accept::{Connection, StreamLimits, accept_loop};
use crate::listen::doh_json;
use crate::wire::{STREAM_LIMIT, Transport};

/// The DoH path (RFC 8484 §6 example; what every client defaults to).
pub const PATH: &str = "/dns-query";
/// The DNS wire-format media type.
pub const DNS_MESSAGE: &str = "application/dns-message";

/// How long a client may remember that HTTP/3 is offered (`ma` of `alt-svc`, RFC 7838): one
/// day, as browsers' defaults and large resolvers use.
pub const ALT_SVC_MAX_AGE: u32 = 86_400;

/// A connection's requests: how many started or finished so far, and how many it is serving.
/// Counters, not timestamps, so a request costs no clock reading: the idle watch
/// ([`Activity::idle_for`]) looks at them a few times per idle period.
#[derive(Debug, Default)]
pub(crate) struct Activity {
    events: AtomicU64,
    serving: AtomicUsize,
}

/// A request being served; its end is activity too.
pub(crate) struct Busy(Arc<Activity>);

/// A request body, read chunk by chunk (HTTP/2 and HTTP/1.1 bodies, HTTP/3 request streams).
pub(crate) trait Body: Send {
    /// The next chunk of data; `None` at the end, an error when the stream broke.
    fn chunk(&mut self) -> impl Future<Output = Option<Result<Bytes, ()>>> + Send;
}

/// The `alt-svc` value advertising HTTP/3 on `port`.
pub fn alt_svc(port: u16) -> Option<HeaderValue> {
    HeaderValue::from_str(&format!("h3=\":{port}\"; ma={ALT_SVC_MAX_AGE}")).ok()
}

/// Serves DoH on `listener` until `stop`; `alt_svc` (see [`alt_svc`]) goes on every response
/// when HTTP/3 is served too.
pub async fn serve(
    listener: TcpListener,
    tls: TlsAcceptor,
    frontend: Arc<Frontend>,
    limits: StreamLimits,
    alt_svc: Option<HeaderValue>,
    stop: CancellationToken,
) -> std::io::Result<()> {
    let metrics = frontend.metrics().clone();
    let (idle, streams) = (limits.idle_timeout, limits.doh_max_streams);
    let serve_stop = stop.clone();
    accept_loop(
        listener,
        Some(tls),
        metrics,
        &limits,
        serve_stop,
        move |stream, peer| {
            let (frontend, stop, alt_svc) = (Arc::clone(&frontend), stop.clone(), alt_svc.clone());
            async move {
                connection(stream, peer.ip(), frontend, (idle, streams), alt_svc, stop).await;
            }
        },
    )
    .await
}

/// One HTTP/2 or HTTP/1.1 connection with at most `streams` HTTP/2 streams open, until the
/// client closes it, `stop`, or `idle` without a request (then it is shut down gracefully:
/// GOAWAY, or no more keep-alive, within `idle`). A connection that chose HTTP/2 by ALPN is
/// served by `doh2`; hyper serves HTTP/1.1, and HTTP/2 from a client that named no
/// protocol.
async fn connection(
    stream: Connection,
    client: IpAddr,
    frontend: Arc<Frontend>,
    (idle, streams): (Duration, u32),
    alt_svc: Option<HeaderValue>,
    stop: CancellationToken,
) {
    if let tokio_util::either::Either::Right(tls) = &stream
        && tls.get_ref().1.alpn_protocol() == Some(b"h2")
    {
        let limits = (idle, streams);
        return super::doh2::connection(stream, client, frontend, limits, alt_svc, stop).await;
    }
    let activity = Arc::new(Activity::new());
    let service = {
        let activity = Arc::clone(&activity);
        hyper::service::service_fn(move |request: http::Request<Incoming>| {
            let (frontend, busy, alt_svc) =
                (Arc::clone(&frontend), activity.begin(), alt_svc.clone());
            // Boxed: hyper moves every stream's future into a task of its own, and a pointer
            // moves cheaper than the request and its answer's state.
            Box::pin(async move {
                let (head, body) = request.into_parts();
                let response =
                    respond(&frontend, client, &head, body, idle, Transport::Https).await;
                drop(busy);
                let mut response = response.map(Full::new);
                if let Some(alt_svc) = alt_svc {
                    response.headers_mut().insert(header::ALT_SVC, alt_svc);
                }
                Ok::<_, Infallible>(response)
            })
        })
    };
    let mut builder = auto::Builder::new(TokioExecutor::new());
    builder
        .http2()
        .max_concurrent_streams(streams)
        .keep_alive_interval(Some(idle))
        .keep_alive_timeout(idle)
        .timer(TokioTimer::new());
    builder
        .http1()
        .header_read_timeout(idle)
        .timer(TokioTimer::new());
    let connection = builder.serve_connection(TokioIo::new(stream), service);
    tokio::pin!(connection);
    // Keep-alive pings only prove the client is there; a connection is kept for requests.
    tokio::select! {
        result = connection.as_mut() => {
            if let Err(error) = result {
                tracing::debug!(%error, "doh connection");
            }
            return;
        }
        () = stop.cancelled() => {}
        () = activity.idle_for(idle) => tracing::debug!(%client, "doh connection idle"),
    }
    connection.as_mut().graceful_shutdown();
    let _ = tokio::time::timeout(idle, connection).await;
}

/// What a request needs after [`first_step`], which never waits.
pub(crate) enum FirstStep {
    /// Its response: a packet-cache hit, or a refusal.
    Done(Response<Bytes>),
    /// A wire-format query the packet cache could not answer: [`resolve`] it.
    Resolve(Vec<u8>),
    /// Anything else (a POST, JSON, a wrong path or method): [`respond`] reads and answers it.
    Later,
}

/// The part of a request that needs no waiting: a `GET /dns-query?dns=` is decoded and
/// answered from the packet cache when it holds the answer (most of a busy resolver's
/// traffic), so an HTTP/2 connection can answer it without a task.
pub(crate) fn first_step(
    frontend: &Frontend,
    client: IpAddr,
    request: &http::request::Parts,
    transport: Transport,
) -> FirstStep {
    let path = request.uri.path();
    if request.method != Method::GET || path != PATH {
        return FirstStep::Later;
    }
    let accept = request
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    if doh_json::wants_json(path, request.uri.query(), accept) {
        return FirstStep::Later;
    }
    let Some(encoded) = request.uri.query().and_then(dns_parameter) else {
        return FirstStep::Done(status(StatusCode::BAD_REQUEST));
    };
    let query =
        match data_encoding::BASE64URL_NOPAD.decode(encoded.trim_end_matches('=').as_bytes()) {
            Ok(query) if query.len() <= STREAM_LIMIT => query,
            _ => return FirstStep::Done(status(StatusCode::BAD_REQUEST)),
        };
    let Some(query) = with_proof_request(request.uri.query(), query) else {
        return FirstStep::Done(status(StatusCode::BAD_REQUEST));
    };
    match frontend.answer_cached(&query, transport, client, Service::Resolver) {
        Some(answer) => FirstStep::Done(answer_response(answer)),
        None => FirstStep::Resolve(query),
    }
}

/// One DoH request (its head and its body) and its response, over any HTTP version; the query
/// is answered as `transport`.
pub(crate) async fn respond<B: Body>(
    frontend: &Frontend,
    client: IpAddr,
    request: &http::request::Parts,
    body: B,
    body_timeout: Duration,
    transport: Transport,
) -> Response<Bytes> {
    match first_step(frontend, client, request, transport) {
        FirstStep::Done(response) => return response,
        FirstStep::Resolve(query) => return resolve(frontend, client, query, transport).await,
        FirstStep::Later => {}
    }
    let path = request.uri.path();
    let accept = request
        .headers
        .get(header::ACCEPT)
        .and_then(|v| v.to_str().ok());
    if doh_json::wants_json(path, request.uri.query(), accept) {
        let json_type = if path == doh_json::RESOLVE_PATH {
            "application/json"
        } else {
            doh_json::DNS_JSON
        };
        if request.method != Method::GET {
            // Read (bounded) what the client sends before refusing: see the POST case below.
            let _ = Box::pin(read_body(body, body_timeout)).await;
            return status(StatusCode::METHOD_NOT_ALLOWED);
        }
        return Box::pin(json_answer(
            frontend,
            client,
            request.uri.query(),
            json_type,
            transport,
        ))
        .await;
    }
    if path != PATH {
        return status(StatusCode::NOT_FOUND);
    }
    if request.method != Method::POST {
        return status(StatusCode::METHOD_NOT_ALLOWED);
    }
    let content_type = request
        .headers
        .get(header::CONTENT_TYPE)
        .and_then(|v| v.to_str().ok())
        .unwrap_or_default();
    let wrong_type = content_type != DNS_MESSAGE;
    // The body is read (bounded) before any answer, even a refusal: answering while the
    // client still sends makes the server reset the stream, and some clients then report
    // a transport error instead of the status.
    // A body that stalls may not hold the connection open past the idle timeout.
    let query = match Box::pin(read_body(body, body_timeout)).await {
        Ok(body) => body,
        Err(BodyError::TooLarge) => return status(StatusCode::PAYLOAD_TOO_LARGE),
        Err(BodyError::Timeout) => return status(StatusCode::REQUEST_TIMEOUT),
        Err(BodyError::Incomplete) => return status(StatusCode::BAD_REQUEST),
    };
    if wrong_type {
        return status(StatusCode::UNSUPPORTED_MEDIA_TYPE);
    }
    let Some(query) = with_proof_request(request.uri.query(), query) else {
        return status(StatusCode::BAD_REQUEST);
    };
    match frontend.answer_cached(&query, transport, client, Service::Resolver) {
        Some(answer) => answer_response(answer),
        None => resolve(frontend, client, query, transport).await,
    }
}

/// The response to a wire-format `query` the packet cache did not answer. Boxed: the
/// resolution's state is large, and the future of every request (one task per HTTP/2 stream)
/// stays small.
pub(crate) async fn resolve(
    frontend: &Frontend,
    client: IpAddr,
    query: Vec<u8>,
    transport: Transport,
) -> Response<Bytes> {
    let answer =
        Box::pin(frontend.handle_uncached(&query, transport, client, Service::Resolver)).await;
    match answer {
        Some(answer) => answer_response(answer),
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

/// A `200` carrying `answer`, with `cache-control: max-age` = its smallest TTL.
fn answer_response(answer: Vec<u8>) -> Response<Bytes> {
    let max_age = min_ttl(&answer);
    let mut response = Response::new(Bytes::from(answer));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(DNS_MESSAGE),
    );
    headers.insert(header::CACHE_CONTROL, max_age_value(max_age));
    response
}

/// `max-age=SECONDS`.
fn max_age_value(seconds: u32) -> HeaderValue {
    HeaderValue::from_str(&format!("max-age={seconds}"))
        .unwrap_or_else(|_| HeaderValue::from_static("max-age=0"))
}

/// A JSON request: the parameters become a wire query through the one pipeline, and its answer
/// is rendered as JSON; bad parameters get 400 with the reason as text.
async fn json_answer(
    frontend: &Frontend,
    client: IpAddr,
    query: Option<&str>,
    json_type: &'static str,
    transport: Transport,
) -> Response<Bytes> {
    let wire = match doh_json::query_from_params(query.unwrap_or_default()) {
        Ok(wire) => wire,
        Err(error) => {
            let mut response = Response::new(Bytes::from(error.to_string()));
            *response.status_mut() = StatusCode::BAD_REQUEST;
            return response;
        }
    };
    let answer = frontend
        .handle(&wire, transport, client, Service::Resolver)
        .await;
    let Some(json) = answer.as_deref().and_then(doh_json::response_json) else {
        return status(StatusCode::BAD_REQUEST);
    };
    let max_age = answer.as_deref().map_or(0, min_ttl);
    let mut response = Response::new(Bytes::from(json.to_string()));
    let headers = response.headers_mut();
    headers.insert(
        header::CONTENT_TYPE,
        header::HeaderValue::from_static(json_type),
    );
    headers.insert(header::CACHE_CONTROL, max_age_value(max_age));
    response
}

/// Bytes of a body read and thrown away past [`STREAM_LIMIT`] before answering 413: a client
/// whose upload is cut short by an early answer sees a reset stream instead of the status, so a
/// modestly oversized body is drained; a bigger one is cut off (its sender gets the reset).
const DRAIN_LIMIT: usize = 4 * STREAM_LIMIT;

/// Why a request body was not read.
enum BodyError {
    /// Longer than [`STREAM_LIMIT`].
    TooLarge,
    /// Not all there within the timeout.
    Timeout,
    /// The stream broke before the body ended.
    Incomplete,
}

/// Reads a request body of at most [`STREAM_LIMIT`] bytes within `timeout`. A longer one is
/// drained up to [`DRAIN_LIMIT`] (never kept) and refused.
async fn read_body<B: Body>(mut body: B, timeout: Duration) -> Result<Vec<u8>, BodyError> {
    let read = async {
        let mut kept = Vec::new();
        let mut seen = 0usize;
        while let Some(data) = body.chunk().await {
            let Ok(data) = data else {
                return Err(BodyError::Incomplete);
            };
            seen = seen.saturating_add(data.len());
            if seen <= STREAM_LIMIT {
                kept.extend_from_slice(&data);
            } else if seen > DRAIN_LIMIT {
                break;
            }
        }
        if seen > STREAM_LIMIT {
            Err(BodyError::TooLarge)
        } else {
            Ok(kept)
        }
    };
    tokio::time::timeout(timeout, read)
        .await
        .unwrap_or(Err(BodyError::Timeout))
}

/// The query, asking for a proof bundle (the EDNS0 option, DO set) when the URL says
/// `hns-proof=1`; unchanged otherwise. `None`: the parameter is there but the query does not
/// parse, so it cannot carry the option.
fn with_proof_request(url_query: Option<&str>, query: Vec<u8>) -> Option<Vec<u8>> {
    let asked = url_query.is_some_and(|q| {
        q.split('&')
            .any(|pair| pair == format!("{}=1", hnsfleet_proof_bundle::DOH_PARAMETER))
    });
    if !asked {
        return Some(query);
    }
    let mut message = hickory_proto::op::Message::from_vec(&query).ok()?;
    let edns = message
        .edns
        .get_or_insert_with(hickory_proto::op::Edns::new);
    edns.set_dnssec_ok(true);
    let code = hickory_proto::rr::rdata::opt::EdnsCode::Unknown(hnsfleet_proof_bundle::OPTION_CODE);
    if edns.options().get(code).is_none() {
        edns.options_mut()
            .insert(hickory_proto::rr::rdata::opt::EdnsOption::Unknown(
                hnsfleet_proof_bundle::OPTION_CODE,
                Vec::new(),
            ));
    }
    message.to_vec().ok().filter(|q| q.len() <= STREAM_LIMIT)
}

/// The `dns` parameter of a query string.
fn dns_parameter(query: &str) -> Option<&str> {
    query
        .split('&')
        .find_map(|pair| pair.strip_prefix("dns="))
        .filter(|v| !v.is_empty())
}

/// The smallest TTL of the answer's answer and authority records (0 when it has none), read
/// from the wire.
fn min_ttl(answer: &[u8]) -> u32 {
    hnsfleet_packet_cache::answer_min_ttl(answer).unwrap_or(0)
}

fn status(code: StatusCode) -> Response<Bytes> {
    let mut response = Response::new(Bytes::new());
    *response.status_mut() = code;
    response
}

// === impl Body ===

impl Body for Incoming {
    async fn chunk(&mut self) -> Option<Result<Bytes, ()>> {
        loop {
            match self.frame().await? {
                // Trailers carry no data.
                Ok(frame) => match frame.into_data() {
                    Ok(data) => return Some(Ok(data)),
                    Err(_) => continue,
                },
                Err(_) => return Some(Err(())),
            }
        }
    }
}

// === impl Activity ===

/// Shortest pause between two looks of the idle watch.
const IDLE_STEP_MIN: Duration = Duration::from_millis(10);

impl Activity {
    pub(crate) fn new() -> Activity {
        Activity::default()
    }

    /// A request starts.
    pub(crate) fn begin(self: &Arc<Self>) -> Busy {
        self.serving.fetch_add(1, Ordering::Relaxed);
        self.events.fetch_add(1, Ordering::Relaxed);
        Busy(Arc::clone(self))
    }

    /// Returns once no request has started or finished for `idle` and none is being served
    /// (looking every quarter of `idle`, so at most a quarter late).
    pub(crate) async fn idle_for(&self, idle: Duration) {
        let step = (idle / 4).max(IDLE_STEP_MIN);
        let mut seen = self.events.load(Ordering::Relaxed);
        let mut quiet_since = Instant::now();
        loop {
            let quiet_for = quiet_since.elapsed();
            if quiet_for >= idle && self.serving.load(Ordering::Relaxed) == 0 {
                return;
            }
            tokio::time::sleep(step.min(idle.saturating_sub(quiet_for)).max(IDLE_STEP_MIN)).await;
            let events = self.events.load(Ordering::Relaxed);
            if events != seen || self.serving.load(Ordering::Relaxed) > 0 {
                seen = events;
                quiet_since = Instant::now();
            }
        }
    }
}

// === impl Busy ===

impl Drop for Busy {
    fn drop(&mut self) {
        self.0.serving.fetch_sub(1, Ordering::Relaxed);
        self.0.events.fetch_add(1, Ordering::Relaxed);
    }
}

#[cfg(test)]
mod tests {
    #![allow(clippy::unwrap_used)]

    use hickory_proto::op::{Message, Query};
    use hickory_proto::rr::rdata::opt::EdnsCode;
    use hickory_proto::rr::{Name, RecordType};

    use super::with_proof_request;

    fn query() -> Vec<u8> {
        let mut message = Message::query();
        message.add_query(Query::query(
            Name::from_ascii("www.example.").unwrap(),
            RecordType::A,
        ));
        message.to_vec().unwrap()
    }

    fn bundle_options(bytes: &[u8]) -> usize {
        let message = Message::from_vec(bytes).unwrap();
        message.edns.map_or(0, |e| {
            e.options()
                .get_all(EdnsCode::Unknown(hnsfleet_proof_bundle::OPTION_CODE))
                .len()
        })
    }

    #[test]
    fn hns_proof_1_adds_the_option_once_and_nothing_else_changes_the_query() {
        let plain = query();
        assert_eq!(with_proof_request(None, plain.clone()), Some(plain.clone()));
        for other in [
            "dns=x",
            "hns-proof=0",
            "hns-proof=",
            "hns-proofs=1",
            "xhns-proof=1",
        ] {
            assert_eq!(
                with_proof_request(Some(other), plain.clone()),
                Some(plain.clone())
            );
        }
        let asked = with_proof_request(Some("dns=x&hns-proof=1"), plain.clone()).unwrap();
        assert_eq!(bundle_options(&asked), 1);
        assert!(
            Message::from_vec(&asked)
                .unwrap()
                .edns
                .unwrap()
                .flags()
                .dnssec_ok
        );
        // Asked twice (option and parameter): still one option.
        let again = with_proof_request(Some("hns-proof=1"), asked.clone()).unwrap();
        assert_eq!(bundle_options(&again), 1);
    }

    #[test]
    fn hns_proof_1_with_bytes_that_are_no_query_is_refused() {
        assert_eq!(with_proof_request(Some("hns-proof=1"), vec![1, 2, 3]), None);
        assert_eq!(with_proof_request(Some("hns-proof=1"), Vec::new()), None);
    }
}
