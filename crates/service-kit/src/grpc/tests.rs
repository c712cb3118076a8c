//! [`GrpcLayer`] around a scripted inner service: labels and codes as recorded after real
//! calls (answers in trailers, trailers-only failures, unknown paths, abandoned streams), a
//! flood above the limit refused at once with an explained status while the admitted calls
//! finish, and deadlines from the client and the server.

use std::convert::Infallible;
use std::sync::Arc;

use http_body_util::{BodyExt, StreamBody};
use tokio::sync::Semaphore;

use super::*;

const SERVICE: &str = "test.v1.TestService";
const METHODS: &[(&str, &[&str])] = &[(SERVICE, &["Answer", "Fail", "Gated", "Hang"])];
const DOMAIN: &str = "test.v1";

/// The inner service: `Answer` replies with a message and OK trailers, `Fail` with a
/// trailers-only NOT_FOUND, `Gated` answers once `gate` gives it a permit, `Hang` never.
#[derive(Clone)]
struct Scripted {
    gate: Arc<Semaphore>,
}

fn answer() -> http::Response<Body> {
    let mut trailers = http::HeaderMap::new();
    trailers.insert("grpc-status", http::HeaderValue::from_static("0"));
    let frames: Vec<Result<Frame<Bytes>, Status>> = vec![
        Ok(Frame::data(Bytes::from_static(b"\0\0\0\0\0"))),
        Ok(Frame::trailers(trailers)),
    ];
    http::Response::new(Body::new(StreamBody::new(tokio_stream::iter(frames))))
}

impl Service<http::Request<Body>> for Scripted {
    type Response = http::Response<Body>;
    type Error = Infallible;
    type Future = BoxFuture<Result<http::Response<Body>, Infallible>>;

    fn poll_ready(&mut self, _: &mut Context<'_>) -> Poll<Result<(), Infallible>> {
        Poll::Ready(Ok(()))
    }

    fn call(&mut self, request: http::Request<Body>) -> Self::Future {
        let gate = Arc::clone(&self.gate);
        let path = request.uri().path().to_string();
        Box::pin(async move {
            Ok(match path.rsplit('/').next() {
                Some("Fail") => Status::not_found("no such thing").into_http(),
                Some("Gated") => {
                    gate.acquire().await.unwrap().forget();
                    answer()
                }
                Some("Hang") => std::future::pending().await,
                _ => answer(),
            })
        })
    }
}

struct Harness {
    service: GrpcService<Scripted>,
    metrics: GrpcMetrics,
    gate: Arc<Semaphore>,
}

fn harness(max_in_flight: usize, request_timeout: Duration) -> Harness {
    let metrics = GrpcMetrics::register(&Registry::new()).unwrap();
    let limits = GrpcLimits {
        max_in_flight,
        request_timeout,
        error_domain: DOMAIN,
    };
    let gate = Arc::new(Semaphore::new(0));
    let layer = GrpcLayer::new(metrics.clone(), limits, METHODS);
    let service = layer.layer(Scripted {
        gate: Arc::clone(&gate),
    });
    Harness {
        service,
        metrics,
        gate,
    }
}

fn request(path: &str) -> http::Request<Body> {
    http::Request::builder()
        .uri(format!("http://test{path}"))
        .body(Body::empty())
        .unwrap()
}

impl Harness {
    fn call(
        &mut self,
        request: http::Request<Body>,
    ) -> BoxFuture<Result<http::Response<Body>, Infallible>> {
        self.service.call(request)
    }

    fn count(&self, method: &str, code: &str) -> u64 {
        let service = if method == UNKNOWN { UNKNOWN } else { SERVICE };
        self.metrics
            .requests
            .with_label_values(&[service, method, code])
            .get()
    }

    fn timed(&self, method: &str, code: &str) -> u64 {
        self.metrics
            .duration
            .with_label_values(&[SERVICE, method, code])
            .get_sample_count()
    }
}

/// The final status of a response: from the head, else from the trailers.
async fn final_status(response: http::Response<Body>) -> Status {
    if let Some(status) = Status::from_header_map(response.headers()) {
        return status;
    }
    let collected = response.into_body().collect().await.unwrap();
    Status::from_header_map(collected.trailers().unwrap()).unwrap()
}

fn reason(status: &Status) -> (String, String) {
    let info = status.get_details_error_info().expect("an ErrorInfo");
    (info.reason, info.domain)
}

#[tokio::test]
async fn calls_are_counted_and_timed_by_method_and_final_code() {
    let mut h = harness(8, Duration::from_secs(10));
    let ok = h
        .call(request("/test.v1.TestService/Answer"))
        .await
        .unwrap();
    // Counted when the status arrives in the trailers, not when the head is sent.
    assert_eq!(h.count("Answer", "OK"), 0);
    assert_eq!(final_status(ok).await.code(), Code::Ok);
    assert_eq!(h.count("Answer", "OK"), 1);
    assert_eq!(h.timed("Answer", "OK"), 1);

    let failed = h.call(request("/test.v1.TestService/Fail")).await.unwrap();
    assert_eq!(final_status(failed).await.code(), Code::NotFound);
    assert_eq!(h.count("Fail", "NOT_FOUND"), 1);
    assert_eq!(h.timed("Fail", "NOT_FOUND"), 1, "failures are timed too");

    // A path that is not a served method does not become a label.
    let odd = h.call(request("/evil.Service/x9f3")).await.unwrap();
    drop(final_status(odd).await);
    assert_eq!(h.count(UNKNOWN, "OK"), 1);

    // A client that goes away before the trailers: CANCELLED.
    let abandoned = h
        .call(request("/test.v1.TestService/Answer"))
        .await
        .unwrap();
    drop(abandoned);
    assert_eq!(h.count("Answer", "CANCELLED"), 1);
    assert_eq!(h.metrics.in_flight.get(), 0);
}

#[tokio::test]
async fn a_flood_above_the_limit_is_refused_at_once_and_the_admitted_calls_finish() {
    let mut h = harness(3, Duration::from_secs(10));
    // 10 calls at once: slots are taken in call order, so the first 3 are admitted (and wait
    // on the gate) and the other 7 are refused without waiting for anything.
    let calls: Vec<_> = (0..10)
        .map(|_| tokio::spawn(h.call(request("/test.v1.TestService/Gated"))))
        .collect();
    assert_eq!(h.metrics.in_flight.get(), 3);
    let mut calls = calls.into_iter();
    let admitted: Vec<_> = calls.by_ref().take(3).collect();
    for refused in calls {
        let status = final_status(refused.await.unwrap().unwrap()).await;
        assert_eq!(status.code(), Code::ResourceExhausted);
        assert_eq!(reason(&status), (REASON_OVERLOADED.into(), DOMAIN.into()));
    }
    assert_eq!(h.count("Gated", "RESOURCE_EXHAUSTED"), 7);
    assert!(
        admitted.iter().all(|c| !c.is_finished()),
        "admitted calls wait"
    );
    // Still full: a different method is refused too (the limit is server-wide).
    let more = h
        .call(request("/test.v1.TestService/Answer"))
        .await
        .unwrap();
    assert_eq!(final_status(more).await.code(), Code::ResourceExhausted);
    // Open the gate: the admitted three answer, and their slots are free again.
    h.gate.add_permits(3);
    for call in admitted {
        assert_eq!(
            final_status(call.await.unwrap().unwrap()).await.code(),
            Code::Ok
        );
    }
    assert_eq!(h.count("Gated", "OK"), 3);
    assert_eq!(h.metrics.in_flight.get(), 0);
    let after = h
        .call(request("/test.v1.TestService/Answer"))
        .await
        .unwrap();
    assert_eq!(final_status(after).await.code(), Code::Ok);
}

#[tokio::test]
async fn handlers_stop_at_the_sooner_of_the_client_deadline_and_the_server_timeout() {
    let mut h = harness(8, Duration::from_millis(200));
    // The client allows 50 ms: stopped then (minus the margin), explained as the client's.
    let mut asked = request("/test.v1.TestService/Hang");
    asked
        .headers_mut()
        .insert("grpc-timeout", http::HeaderValue::from_static("50m"));
    let started = Instant::now();
    let status = final_status(h.call(asked).await.unwrap()).await;
    let took = started.elapsed();
    assert_eq!(status.code(), Code::DeadlineExceeded);
    assert!(took < Duration::from_millis(150), "{took:?}");
    assert_eq!(
        reason(&status),
        (REASON_DEADLINE_EXCEEDED.into(), DOMAIN.into())
    );
    let info = status.get_details_error_info().unwrap();
    assert_eq!(info.metadata["source"], "client");
    assert_eq!(info.metadata["timeout_ms"], "30");
    // No client deadline (or a longer one): the server's timeout.
    let mut lax = request("/test.v1.TestService/Hang");
    lax.headers_mut()
        .insert("grpc-timeout", http::HeaderValue::from_static("1H"));
    let status = final_status(h.call(lax).await.unwrap()).await;
    assert_eq!(status.code(), Code::DeadlineExceeded);
    let info = status.get_details_error_info().unwrap();
    assert_eq!(info.metadata["source"], "server");
    assert_eq!(info.metadata["timeout_ms"], "200");
    assert_eq!(h.count("Hang", "DEADLINE_EXCEEDED"), 2);
    assert_eq!(h.timed("Hang", "DEADLINE_EXCEEDED"), 2);
    assert_eq!(h.metrics.in_flight.get(), 0, "the stopped handlers left");
}

#[test]
fn grpc_timeout_headers_parse_by_the_spec() {
    assert_eq!(parse_grpc_timeout(b"5S"), Some(Duration::from_secs(5)));
    assert_eq!(parse_grpc_timeout(b"2H"), Some(Duration::from_secs(7200)));
    assert_eq!(parse_grpc_timeout(b"3M"), Some(Duration::from_secs(180)));
    assert_eq!(
        parse_grpc_timeout(b"250m"),
        Some(Duration::from_millis(250))
    );
    assert_eq!(parse_grpc_timeout(b"7u"), Some(Duration::from_micros(7)));
    assert_eq!(
        parse_grpc_timeout(b"99999999n"),
        Some(Duration::from_nanos(99_999_999))
    );
    for bad in [
        &b""[..],
        b"S",
        b"5",
        b"5s",
        b"123456789S",
        b"-1S",
        b"1.5S",
        b"5SS",
    ] {
        assert_eq!(
            parse_grpc_timeout(bad),
            None,
            "{:?}",
            String::from_utf8_lossy(bad)
        );
    }
}
