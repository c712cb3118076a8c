//! What every hnsfleet gRPC server shares: [`GrpcLayer`], one tower layer around a tonic
//! server's routes that
//!
//! - **limits** the requests being handled at once, over all connections, to
//!   [`GrpcLimits::max_in_flight`]: a request above the limit is refused at once with
//!   `RESOURCE_EXHAUSTED` (reason [`REASON_OVERLOADED`]) instead of queueing, so a flood cannot
//!   grow memory or latency (load shedding; clients retry elsewhere). A request counts from
//!   admission until its handler returned the response head, so open streams do not hold a
//!   slot (services bound those themselves);
//! - **bounds time**: a handler is stopped at the client's deadline (`grpc-timeout`) or
//!   [`GrpcLimits::request_timeout`], whichever is sooner, and the call fails with
//!   `DEADLINE_EXCEEDED` (reason [`REASON_DEADLINE_EXCEEDED`], metadata `source` = `client` or
//!   `server` and `timeout_ms`). The client's deadline is cut by [`DEADLINE_MARGIN`] so this
//!   answer, which says why, is sent before tonic's own timer would cancel the call bare;
//! - **measures** every call: `hnsfleet_grpc_server_requests_total` and
//!   `hnsfleet_grpc_server_request_duration_seconds` by `service`, `method` and `code` (the
//!   final gRPC status, read from the response head or trailers, so failures are timed too;
//!   a streaming call is timed until its stream ends), and `hnsfleet_grpc_server_in_flight`.
//!   Only the methods the layer is given become labels (others are `unknown`), so a client
//!   cannot create series.
//!
//! Every status this layer creates carries a `google.rpc.ErrorInfo` in the service's domain.

use std::collections::HashMap;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use bytes::Bytes;
use http_body::Frame;
use prometheus::{HistogramOpts, HistogramVec, IntCounterVec, IntGauge, Opts, Registry};
use tokio::sync::Semaphore;
use tokio::time::Instant;
use tonic::body::Body;
use tonic::{Code, Status};
use tonic_types::{ErrorDetails, StatusExt};
use tower_layer::Layer;
use tower_service::Service;

/// Calls by `service`, `method` and final `code`.
pub const REQUESTS_TOTAL: &str = "hnsfleet_grpc_server_requests_total";
/// Call duration by `service`, `method` and final `code`, seconds.
pub const REQUEST_DURATION: &str = "hnsfleet_grpc_server_request_duration_seconds";
/// Requests being handled (admitted, response head not yet produced).
pub const IN_FLIGHT: &str = "hnsfleet_grpc_server_in_flight";
/// `ErrorInfo.reason` of a request refused because the server is at its concurrency limit.
pub const REASON_OVERLOADED: &str = "OVERLOADED";
/// `ErrorInfo.reason` of a request stopped at its deadline.
pub const REASON_DEADLINE_EXCEEDED: &str = "DEADLINE_EXCEEDED";
/// Taken off a client's deadline so the explained `DEADLINE_EXCEEDED` wins the race against
/// tonic's own timer (which answers a bare `CANCELLED`): the server's timer tick (1 ms), its
/// scheduling on a busy host and the answer's way back within a data centre fit in 20 ms
/// (5 ms proved too little on a loaded 2-core host: answers arrived 4.4 ms after the timer).
pub const DEADLINE_MARGIN: Duration = Duration::from_millis(20);
/// Label value for a path that is not one of the served methods.
const UNKNOWN: &str = "unknown";

/// The server-wide limits [`GrpcLayer`] enforces.
#[derive(Debug, Clone)]
pub struct GrpcLimits {
    /// Requests handled at once over all connections; more are refused (`OVERLOADED`).
    pub max_in_flight: usize,
    /// Longest a handler may run (a client's shorter deadline wins).
    pub request_timeout: Duration,
    /// `ErrorInfo.domain` of the statuses the layer creates (the API's package name).
    pub error_domain: &'static str,
}

/// The gRPC server metrics (see the module docs), registered once per process.
#[derive(Debug, Clone)]
pub struct GrpcMetrics {
    requests: IntCounterVec,
    duration: HistogramVec,
    in_flight: IntGauge,
}

/// The layer (see the module docs). Cloning shares the limit and metrics.
#[derive(Debug, Clone)]
pub struct GrpcLayer {
    shared: Arc<Shared>,
}

/// [`GrpcLayer`]'s service around `S`.
#[derive(Debug, Clone)]
pub struct GrpcService<S> {
    inner: S,
    shared: Arc<Shared>,
}

#[derive(Debug)]
struct Shared {
    metrics: GrpcMetrics,
    limits: GrpcLimits,
    permits: Arc<Semaphore>,
    /// `/package.Service/Method` → (service, method) labels.
    methods: HashMap<String, (&'static str, &'static str)>,
}

/// One call being measured: recorded exactly once, with its final code.
#[derive(Debug)]
struct Call {
    shared: Arc<Shared>,
    labels: (&'static str, &'static str),
    started: Instant,
}

/// A response body that records its call when the status arrives in the trailers (or, if the
/// client goes away first, as `CANCELLED`).
struct MeteredBody {
    inner: Body,
    call: Option<Call>,
}

/// Decrements the in-flight gauge when the handler is done (or dropped).
struct InFlight(IntGauge);

type BoxFuture<T> = Pin<Box<dyn Future<Output = T> + Send>>;

/// A status with `code`, `message` and an ErrorInfo (`reason`, `domain`, `metadata`).
pub fn error_status(
    code: Code,
    message: impl Into<String>,
    domain: &str,
    reason: &str,
    metadata: HashMap<String, String>,
) -> Status {
    Status::with_error_details(
        code,
        message,
        ErrorDetails::with_error_info(reason, domain, metadata),
    )
}

/// The `code` label of a status code: its canonical name (`OK`, `DEADLINE_EXCEEDED`, ...).
pub fn code_label(code: Code) -> &'static str {
    match code {
        Code::Ok => "OK",
        Code::Cancelled => "CANCELLED",
        Code::Unknown => "UNKNOWN",
        Code::InvalidArgument => "INVALID_ARGUMENT",
        Code::DeadlineExceeded => "DEADLINE_EXCEEDED",
        Code::NotFound => "NOT_FOUND",
        Code::AlreadyExists => "ALREADY_EXISTS",
        Code::PermissionDenied => "PERMISSION_DENIED",
        Code::ResourceExhausted => "RESOURCE_EXHAUSTED",
        Code::FailedPrecondition => "FAILED_PRECONDITION",
        Code::Aborted => "ABORTED",
        Code::OutOfRange => "OUT_OF_RANGE",
        Code::Unimplemented => "UNIMPLEMENTED",
        Code::Internal => "INTERNAL",
        Code::Unavailable => "UNAVAILABLE",
        Code::DataLoss => "DATA_LOSS",
        Code::Unauthenticated => "UNAUTHENTICATED",
    }
}

/// A `grpc-timeout` header value (1 to 8 digits and a unit `H`, `M`, `S`, `m`, `u`, `n`).
pub fn parse_grpc_timeout(value: &[u8]) -> Option<Duration> {
    let (digits, unit) = value.split_at_checked(value.len().checked_sub(1)?)?;
    if digits.is_empty() || digits.len() > 8 || !digits.iter().all(u8::is_ascii_digit) {
        return None;
    }
    let n: u64 = std::str::from_utf8(digits).ok()?.parse().ok()?;
    Some(match unit {
        b"H" => Duration::from_secs(n * 3600),
        b"M" => Duration::from_secs(n * 60),
        b"S" => Duration::from_secs(n),
        b"m" => Duration::from_millis(n),
        b"u" => Duration::from_micros(n),
        b"n" => Duration::from_nanos(n),
        _ => return None,
    })
}

/// The code a response head states (`grpc-status`), if it is a trailers-only response.
fn head_code(headers: &http::HeaderMap) -> Option<Code> {
    let value = headers.get("grpc-status")?;
    let n: i32 = value.to_str().ok()?.parse().ok()?;
    Some(Code::from_i32(n))
}

// === impl GrpcMetrics ===

impl GrpcMetrics {
    /// Creates the metrics and registers them into `registry`.
    pub fn register(registry: &Registry) -> prometheus::Result<GrpcMetrics> {
        let labels = &["service", "method", "code"];
        let requests = IntCounterVec::new(
            Opts::new(
                REQUESTS_TOTAL,
                "gRPC calls by service, method and final status code.",
            ),
            labels,
        )?;
        let duration = HistogramVec::new(
            HistogramOpts::new(
                REQUEST_DURATION,
                "gRPC call duration by service, method and final status code (failures too; streams until they end), seconds.",
            )
            .buckets(vec![
                0.0005, 0.001, 0.0025, 0.005, 0.01, 0.025, 0.05, 0.1, 0.25, 0.5, 1.0, 2.5, 5.0,
                10.0, 30.0,
            ]),
            labels,
        )?;
        let in_flight = IntGauge::new(
            IN_FLIGHT,
            "gRPC requests being handled (admitted, response not yet started).",
        )?;
        registry.register(Box::new(requests.clone()))?;
        registry.register(Box::new(duration.clone()))?;
        registry.register(Box::new(in_flight.clone()))?;
        Ok(GrpcMetrics {
            requests,
            duration,
            in_flight,
        })
    }

    /// Creates the `code="OK"` series of every method at zero, so the families are exported
    /// (and dashboards see them) before the first call. [`GrpcLayer::new`] does it.
    pub fn with_methods(self, methods: &[(&'static str, &'static [&'static str])]) -> Self {
        for (service, names) in methods {
            for method in *names {
                self.requests.with_label_values(&[service, method, "OK"]);
                self.duration.with_label_values(&[service, method, "OK"]);
            }
        }
        self
    }
}

// === impl GrpcLayer ===

impl GrpcLayer {
    /// A layer enforcing `limits` and recording into `metrics`, for the services and methods
    /// in `methods` (`("package.Service", &["Method", ...])`, e.g. `hnsfleet_proto::METHODS`).
    pub fn new(
        metrics: GrpcMetrics,
        limits: GrpcLimits,
        methods: &[(&'static str, &'static [&'static str])],
    ) -> GrpcLayer {
        let metrics = metrics.with_methods(methods);
        let methods = methods
            .iter()
            .flat_map(|(service, names)| {
                names
                    .iter()
                    .map(move |m| (format!("/{service}/{m}"), (*service, *m)))
            })
            .collect();
        GrpcLayer {
            shared: Arc::new(Shared {
                metrics,
                permits: Arc::new(Semaphore::new(limits.max_in_flight)),
                limits,
                methods,
            }),
        }
    }
}

impl<S> Layer<S> for GrpcLayer {
    type Service = GrpcService<S>;

    fn layer(&self, inner: S) -> GrpcService<S> {
        GrpcService {
            inner,
            shared: Arc::clone(&self.shared),
        }
    }
}

// === impl GrpcService ===

impl<S, B> Service<http::Request<B>> for GrpcService<S>
where
    S: Service<http::Request<B>, Response = http::Response<Body>> + Clone + Send + 'static,
    S::Future: Send + 'static,
    S::Error: Send + 'static,
    B: Send + 'static,
{
    type Response = http::Response<Body>;
    type Error = S::Error;
    type Future = BoxFuture<Result<http::Response<Body>, S::Error>>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), S::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, request: http::Request<B>) -> Self::Future {
        let shared = Arc::clone(&self.shared);
        let call = Call {
            labels: shared.labels(request.uri().path()),
            shared: Arc::clone(&shared),
            started: Instant::now(),
        };
        let Ok(permit) = Arc::clone(&shared.permits).try_acquire_owned() else {
            let status = shared.refusal(
                Code::ResourceExhausted,
                format!(
                    "server busy: {} requests in flight",
                    shared.limits.max_in_flight
                ),
                REASON_OVERLOADED,
                [("max_in_flight", shared.limits.max_in_flight.to_string())],
            );
            call.record(Code::ResourceExhausted);
            return Box::pin(std::future::ready(Ok(status.into_http())));
        };
        let (timeout, source) = shared.deadline(request.headers());
        let guard = InFlight::enter(&shared.metrics.in_flight);
        // The service that was polled ready handles this call; a clone takes its place.
        let clone = self.inner.clone();
        let mut inner = std::mem::replace(&mut self.inner, clone);
        Box::pin(async move {
            let outcome = tokio::time::timeout(timeout, inner.call(request)).await;
            drop(guard);
            drop(permit);
            let response = match outcome {
                Ok(Ok(response)) => response,
                Ok(Err(e)) => {
                    call.record(Code::Unknown);
                    return Err(e);
                }
                Err(_elapsed) => {
                    let status = shared.refusal(
                        Code::DeadlineExceeded,
                        format!("deadline of {} ms ({source}) exceeded", timeout.as_millis()),
                        REASON_DEADLINE_EXCEEDED,
                        [
                            ("source", source.to_string()),
                            ("timeout_ms", timeout.as_millis().to_string()),
                        ],
                    );
                    call.record(Code::DeadlineExceeded);
                    return Ok(status.into_http());
                }
            };
            if let Some(code) = head_code(response.headers()) {
                call.record(code);
                return Ok(response);
            }
            Ok(response.map(|inner| {
                Body::new(MeteredBody {
                    inner,
                    call: Some(call),
                })
            }))
        })
    }
}

// === impl Shared ===

impl Shared {
    fn labels(&self, path: &str) -> (&'static str, &'static str) {
        self.methods
            .get(path)
            .copied()
            .unwrap_or((UNKNOWN, UNKNOWN))
    }

    /// The time this call may take, and who set it (`client` or `server`).
    fn deadline(&self, headers: &http::HeaderMap) -> (Duration, &'static str) {
        let server = self.limits.request_timeout;
        let client = headers
            .get("grpc-timeout")
            .and_then(|v| parse_grpc_timeout(v.as_bytes()))
            .map(|d| d.saturating_sub(DEADLINE_MARGIN));
        match client {
            Some(client) if client < server => (client, "client"),
            _ => (server, "server"),
        }
    }

    fn refusal<const N: usize>(
        &self,
        code: Code,
        message: String,
        reason: &str,
        metadata: [(&str, String); N],
    ) -> Status {
        let metadata = metadata
            .into_iter()
            .map(|(k, v)| (k.to_string(), v))
            .collect();
        error_status(code, message, self.limits.error_domain, reason, metadata)
    }
}

// === impl Call ===

impl Call {
    fn record(self, code: Code) {
        let (service, method) = self.labels;
        let labels = [service, method, code_label(code)];
        let metrics = &self.shared.metrics;
        metrics.requests.with_label_values(&labels).inc();
        metrics
            .duration
            .with_label_values(&labels)
            .observe(self.started.elapsed().as_secs_f64());
    }
}

// === impl MeteredBody ===

impl http_body::Body for MeteredBody {
    type Data = Bytes;
    type Error = Status;

    fn poll_frame(
        mut self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<Frame<Bytes>, Status>>> {
        let polled = Pin::new(&mut self.inner).poll_frame(cx);
        let code = match &polled {
            Poll::Ready(Some(Ok(frame))) => frame.trailers_ref().map(|t| {
                // Trailers without a status are a broken response.
                head_code(t).unwrap_or(Code::Unknown)
            }),
            Poll::Ready(Some(Err(status))) => Some(status.code()),
            // Ended without trailers: not a complete gRPC response.
            Poll::Ready(None) => Some(Code::Unknown),
            Poll::Pending => None,
        };
        if let Some(code) = code
            && let Some(call) = self.call.take()
        {
            call.record(code);
        }
        polled
    }

    fn is_end_stream(&self) -> bool {
        self.inner.is_end_stream()
    }

    fn size_hint(&self) -> http_body::SizeHint {
        self.inner.size_hint()
    }
}

impl Drop for MeteredBody {
    fn drop(&mut self) {
        if let Some(call) = self.call.take() {
            call.record(Code::Cancelled);
        }
    }
}

// === impl InFlight ===

impl InFlight {
    fn enter(gauge: &IntGauge) -> InFlight {
        gauge.inc();
        InFlight(gauge.clone())
    }
}

impl Drop for InFlight {
    fn drop(&mut self) {
        self.0.dec();
    }
}

#[cfg(test)]
mod tests;

/// TCP keep-alive probes on accepted gRPC connections, so dead clients are noticed.
pub const TCP_KEEPALIVE: std::time::Duration = std::time::Duration::from_secs(60);

/// The accepted connections of a bound gRPC listener, each with `TCP_NODELAY` (a gRPC answer
/// is several small writes; without it Nagle's algorithm waits for the client's delayed ACK,
/// about 40 ms per call) and TCP keep-alive. Every service serves its gRPC listener through it.
pub fn incoming(listener: tokio::net::TcpListener) -> tonic::transport::server::TcpIncoming {
    tonic::transport::server::TcpIncoming::from(listener)
        .with_nodelay(Some(true))
        .with_keepalive(Some(TCP_KEEPALIVE))
}
