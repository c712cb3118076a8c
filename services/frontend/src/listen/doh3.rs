//! DNS over HTTPS over HTTP/3 (RFC 8484 on RFC 9114), ALPN `h3`, on the UDP port of
//! `doh_listen`: the `h3` crate over quinn, accepted through [`super::quic::accept_loop`]
//! (address validation, then the limits TCP, DoT and DoH share). Every request goes through
//! `doh::respond`, the one request-to-response function of DoH, so paths, methods,
//! statuses, the JSON form and `cache-control` are the HTTP/2 ones.
//!
//! Limits: `doh_max_streams` requests open at once per connection (QUIC stream credit), a
//! request's head and body must arrive within `idle_timeout` and its response be sent within
//! it, and a connection without a request for `idle_timeout` gets a GOAWAY (the requests it
//! carries still finish, within `idle_timeout`).

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes};
use h3::server::RequestStream;
use http::Response;
use quinn::{Connection, Endpoint};
use tokio_util::sync::CancellationToken;

use crate::frontend::Frontend;
use crate::listen::accept::StreamLimits;
use crate::listen::doh::{Activity, Body, respond};
use crate::listen::quic;
use crate::wire::Transport;

/// Largest request head (QPACK-decoded field section) accepted: a GET's query string holds at
/// most a 64 KiB message in base64url, and headers beside it are few.
const MAX_FIELD_SECTION: u64 = 96 * 1024;

/// A request stream of the server.
type Stream = RequestStream<h3_quinn::BidiStream<Bytes>, Bytes>;

/// Serves DoH over HTTP/3 on `endpoint` until `stop`.
pub async fn serve(
    endpoint: Endpoint,
    frontend: Arc<Frontend>,
    limits: StreamLimits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    quic::serve(endpoint, frontend, limits, stop, serve_connection).await
}

/// One HTTP/3 connection: a task per request, until the client closes it, `stop`, or `idle`
/// without a request (then a GOAWAY, and the requests in progress finish within `idle`).
async fn serve_connection(
    connection: Connection,
    client: IpAddr,
    frontend: Arc<Frontend>,
    idle: Duration,
    stop: CancellationToken,
) {
    let mut builder = h3::server::builder();
    builder.max_field_section_size(MAX_FIELD_SECTION);
    let built = builder.build::<_, Bytes>(h3_quinn::Connection::new(connection));
    let mut h3 = match tokio::time::timeout(idle, built).await {
        Ok(Ok(h3)) => h3,
        _ => {
            frontend
                .metrics()
                .dropped
                .with_label_values(&["http"])
                .inc();
            return;
        }
    };
    let activity = Arc::new(Activity::new());
    let idle_watch = activity.idle_for(idle);
    tokio::pin!(idle_watch);
    loop {
        let resolver = tokio::select! {
            accepted = h3.accept() => match accepted {
                Ok(Some(resolver)) => resolver,
                Ok(None) => return,
                Err(error) => {
                    tracing::debug!(%error, %client, "doh3 connection");
                    return;
                }
            },
            () = stop.cancelled() => break,
            () = &mut idle_watch => {
                tracing::debug!(%client, "doh3 connection idle");
                break;
            }
        };
        let (busy, frontend) = (activity.begin(), Arc::clone(&frontend));
        tokio::spawn(async move {
            match tokio::time::timeout(idle, resolver.resolve_request()).await {
                Ok(Ok((request, stream))) => {
                    let (head, ()) = request.into_parts();
                    request_stream(&frontend, client, &head, stream, idle).await;
                }
                _ => frontend
                    .metrics()
                    .dropped
                    .with_label_values(&["http"])
                    .inc(),
            }
            drop(busy);
        });
    }
    // GOAWAY; the requests already accepted finish (or `idle` passes).
    let drained = async {
        if h3.shutdown(0).await.is_ok() {
            while let Ok(Some(_)) = h3.accept().await {}
        }
        activity.idle_for(Duration::ZERO).await;
    };
    let _ = tokio::time::timeout(idle, drained).await;
}

/// One request: answered through [`respond`], the response sent within `idle`.
async fn request_stream(
    frontend: &Frontend,
    client: IpAddr,
    head: &http::request::Parts,
    mut stream: Stream,
    idle: Duration,
) {
    let response = respond(
        frontend,
        client,
        head,
        RequestBody(&mut stream),
        idle,
        Transport::Https3,
    )
    .await;
    let (parts, body) = response.into_parts();
    let sent = async {
        stream
            .send_response(Response::from_parts(parts, ()))
            .await?;
        if !body.is_empty() {
            stream.send_data(body).await?;
        }
        stream.finish().await
    };
    match tokio::time::timeout(idle, sent).await {
        Ok(Ok(())) => {}
        Ok(Err(error)) => tracing::debug!(%error, %client, "doh3 response"),
        Err(_) => frontend
            .metrics()
            .dropped
            .with_label_values(&["write_timeout"])
            .inc(),
    }
}

/// The body of an HTTP/3 request, read from its stream.
struct RequestBody<'a>(&'a mut Stream);

// === impl RequestBody ===

impl Body for RequestBody<'_> {
    async fn chunk(&mut self) -> Option<Result<Bytes, ()>> {
        match self.0.recv_data().await {
            Ok(Some(mut data)) => Some(Ok(data.copy_to_bytes(data.remaining()))),
            Ok(None) => None,
            Err(_) => Some(Err(())),
        }
    }
}
