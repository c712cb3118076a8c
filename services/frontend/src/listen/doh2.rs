//! DoH over HTTP/2, driven straight from `h2` in the connection's task (ALPN `h2`).
//!
//! hyper would give every stream a task of its own; here the connection's task takes every
//! request already received (up to 64), then answers the packet-cache hits among them on the
//! spot ([`doh::first_step`]): no task, no channel, and the answers leave together in one
//! write (one TLS record, one system call) when the task next looks for requests. Only a
//! request that must wait (a resolution, a POST body, JSON) gets a task. `alt-svc` goes on
//! the first response of a connection (clients remember it, RFC 7838).
//!
//! The limits are hyper's, set explicitly: `doh_max_streams` concurrent streams, 16 KiB of
//! request headers, h2's defaults against reset floods (streams reset before they are
//! accepted, and errors the client provokes, are bounded; past them the connection gets
//! GOAWAY). A client has `idle_timeout` to send the connection preface. A connection that has
//! had no request for `idle_timeout`, or the service stopping, starts a graceful shutdown
//! (GOAWAY; open streams finish), and the connection is dropped if it has not closed
//! `idle_timeout` later. There are no keep-alive pings: a dead peer is found by the same idle
//! timeout, as pings would not keep a connection without requests anyway.

use std::net::IpAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, Ordering};
use std::time::Duration;

use bytes::Bytes;
use futures_util::FutureExt;
use h2::server::SendResponse;
use http::header::{self, HeaderValue};
use http::{Request, Response};
use tokio_util::sync::CancellationToken;

use super::doh::{self, Activity, Body, FirstStep};
use crate::frontend::Frontend;
use crate::listen::accept::Connection;
use crate::wire::Transport;

/// Request headers (HPACK-decoded) a client may send on one stream: hyper's default.
const MAX_HEADER_LIST: u32 = 16 * 1024;
/// Requests taken from a connection before they are answered together.
const BATCH: usize = 64;

/// Serves one HTTP/2 connection (TLS with ALPN `h2`) until the client closes it, `stop`, or
/// `idle` without a request.
pub(crate) async fn connection(
    stream: Connection,
    client: IpAddr,
    frontend: Arc<Frontend>,
    (idle, streams): (Duration, u32),
    alt_svc: Option<HeaderValue>,
    stop: CancellationToken,
) {
    let handshake = h2::server::Builder::new()
        .max_concurrent_streams(streams)
        .max_header_list_size(MAX_HEADER_LIST)
        .handshake::<_, Bytes>(stream);
    let mut connection = match tokio::time::timeout(idle, handshake).await {
        Ok(Ok(connection)) => connection,
        Ok(Err(error)) => {
            tracing::debug!(%error, %client, "doh http/2 handshake");
            return;
        }
        Err(_) => {
            tracing::debug!(%client, "doh http/2 preface timed out");
            return;
        }
    };
    let activity = Arc::new(Activity::new());
    let requests = Requests {
        client,
        frontend,
        idle,
        alt_svc: AltSvc(alt_svc.map(|value| Arc::new((value, AtomicBool::new(false))))),
        activity: Arc::clone(&activity),
    };
    // Serving: until the client leaves, or the service stops, or no request for `idle`.
    let idle_watch = activity.idle_for(idle);
    tokio::pin!(idle_watch);
    let mut batch = Vec::with_capacity(BATCH);
    loop {
        let first = tokio::select! {
            next = connection.accept() => next,
            () = stop.cancelled() => break,
            () = &mut idle_watch => {
                tracing::debug!(%client, "doh connection idle");
                break;
            }
        };
        // Every request already received is taken before any is answered: each look for the
        // next request writes what is queued, so answering between looks would cost a write
        // (a TLS record, a system call) per answer. Answered together, they leave together
        // on the next look.
        let mut next = first;
        loop {
            match next {
                Some(Ok(request)) => batch.push(request),
                Some(Err(error)) => {
                    tracing::debug!(%error, %client, "doh http/2 connection");
                    return;
                }
                None => {
                    requests.take_all(&mut batch);
                    return;
                }
            }
            if batch.len() == BATCH {
                break;
            }
            match connection.accept().now_or_never() {
                Some(more) => next = more,
                None => break,
            }
        }
        let full = batch.len() == BATCH;
        requests.take_all(&mut batch);
        if full {
            // More may be waiting: let the other connections have their turn first.
            tokio::task::yield_now().await;
        }
    }
    // Closing: GOAWAY, the open streams finish, at most `idle` more.
    connection.graceful_shutdown();
    let _ = tokio::time::timeout(idle, async {
        while let Some(next) = connection.accept().await {
            match next {
                Ok((request, respond)) => requests.take(request, respond),
                Err(_) => break,
            }
        }
    })
    .await;
}

/// What every request of a connection is answered with.
struct Requests {
    client: IpAddr,
    frontend: Arc<Frontend>,
    idle: Duration,
    /// `alt-svc`, until it has been sent once on this connection.
    alt_svc: AltSvc,
    activity: Arc<Activity>,
}

/// `alt-svc` for the first response of a connection: a client remembers it for its max-age
/// (RFC 7838 §3.1), so repeating it on every response would only cost header encoding.
#[derive(Clone)]
struct AltSvc(Option<Arc<(HeaderValue, AtomicBool)>>);

impl AltSvc {
    /// The value, the first time only.
    fn take(&self) -> Option<&HeaderValue> {
        let (value, sent) = self.0.as_deref()?;
        (!sent.swap(true, Ordering::Relaxed)).then_some(value)
    }
}

impl Requests {
    /// [`Requests::take`] for each of `batch`, emptying it.
    fn take_all(&self, batch: &mut Vec<(Request<h2::RecvStream>, SendResponse<Bytes>)>) {
        for (request, respond) in batch.drain(..) {
            self.take(request, respond);
        }
    }

    /// Answers `request` now when nothing needs waiting for, or starts a task that does.
    fn take(&self, request: Request<h2::RecvStream>, respond: SendResponse<Bytes>) {
        let busy = self.activity.begin();
        let (head, body) = request.into_parts();
        let query = match doh::first_step(&self.frontend, self.client, &head, Transport::Https) {
            FirstStep::Done(response) => {
                send(respond, response, self.alt_svc.take());
                return;
            }
            FirstStep::Resolve(query) => Some(query),
            FirstStep::Later => None,
        };
        let (frontend, client, idle) = (Arc::clone(&self.frontend), self.client, self.idle);
        let alt_svc = self.alt_svc.clone();
        tokio::spawn(Box::pin(async move {
            let response = match query {
                Some(query) => doh::resolve(&frontend, client, query, Transport::Https).await,
                None => {
                    let body = H2Body(body);
                    doh::respond(&frontend, client, &head, body, idle, Transport::Https).await
                }
            };
            send(respond, response, alt_svc.take());
            drop(busy);
        }));
    }
}

/// Sends `response` on its stream, with `alt_svc` if given, and its `content-length`: HTTP/2
/// ends a body with its stream (RFC 9113 §8.1.1), but some clients size their buffer from
/// it (BIND's `dig +https` reports "short message" without it). A stream the client has reset
/// meanwhile is simply gone.
fn send(
    mut respond: SendResponse<Bytes>,
    response: Response<Bytes>,
    alt_svc: Option<&HeaderValue>,
) {
    let (mut head, body) = response.into_parts();
    if let Some(alt_svc) = alt_svc {
        head.headers.insert(header::ALT_SVC, alt_svc.clone());
    }
    head.headers
        .insert(header::CONTENT_LENGTH, HeaderValue::from(body.len()));
    let end = body.is_empty();
    match respond.send_response(Response::from_parts(head, ()), end) {
        Ok(mut stream) if !end => {
            if let Err(error) = stream.send_data(body, true) {
                tracing::debug!(%error, "doh http/2 body");
            }
        }
        Ok(_) => {}
        Err(error) => tracing::debug!(%error, "doh http/2 response"),
    }
}

/// A request body arriving on an HTTP/2 stream; each chunk read gives its flow-control
/// credit back, so a client can send the next.
struct H2Body(h2::RecvStream);

impl Body for H2Body {
    async fn chunk(&mut self) -> Option<Result<Bytes, ()>> {
        match self.0.data().await? {
            Ok(data) => {
                // Only fails when the stream is already gone; the next read says so.
                let _ = self.0.flow_control().release_capacity(data.len());
                Some(Ok(data))
            }
            Err(_) => Some(Err(())),
        }
    }
}
