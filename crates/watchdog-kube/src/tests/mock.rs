//! A scripted kube-apiserver: `kube::Client` over a `tower-test` mock service. Each test
//! takes the client's requests one by one, asserts method, path and body, and answers with
//! the JSON shapes a real apiserver sends (objects with `metadata.resourceVersion`, `Status`
//! objects for errors). [`LeaseStore`] plays the apiserver's optimistic concurrency on one
//! Lease, for replicas that race.

use std::sync::Arc;
use std::time::Duration;

use http::{Request, Response};
use k8s_openapi::jiff::{SignedDuration, Timestamp};
use kube::Client;
use kube::client::Body;
use serde_json::{Value, json};
use tokio::time::Instant;
use tower_test::mock::{Handle, SendResponse};

use crate::{Clock, KubeMetrics, KubeSettings};

/// The Lease's path in the default namespace.
pub(crate) const LEASE: &str =
    "/apis/coordination.k8s.io/v1/namespaces/default/leases/hnsfleet-watchdog";
/// Where Leases are created.
pub(crate) const LEASES: &str = "/apis/coordination.k8s.io/v1/namespaces/default/leases";

/// The wall clock of the tests: a fixed epoch plus tokio's (paused) time since the test began.
#[derive(Debug)]
pub(crate) struct TestClock {
    epoch: Timestamp,
    base: Instant,
}

/// One request the client made, and the way to answer it.
pub(crate) struct Call {
    pub(crate) method: String,
    pub(crate) path: String,
    pub(crate) query: String,
    pub(crate) content_type: String,
    pub(crate) body: Value,
    respond: SendResponse<Response<Body>>,
}

/// A request left unanswered (the client times out); answering nothing, ever.
#[allow(dead_code)]
pub(crate) struct Hung(SendResponse<Response<Body>>);

/// The scripted apiserver's side of one client.
pub(crate) struct ApiServer {
    handle: Handle<Request<Body>, Response<Body>>,
}

/// One Lease as an apiserver stores it: every write bumps its resourceVersion, and a replace
/// naming another resourceVersion is refused with 409 Conflict.
#[derive(Debug, Default)]
pub(crate) struct LeaseStore {
    pub(crate) lease: Option<Value>,
    pub(crate) version: u64,
    /// Holders written, in order.
    pub(crate) holders: Vec<Option<String>>,
}

/// A client over a fresh scripted apiserver (default namespace `default`).
pub(crate) fn client() -> (Client, ApiServer) {
    let (service, handle) = tower_test::mock::pair::<Request<Body>, Response<Body>>();
    (Client::new(service, "default"), ApiServer { handle })
}

/// Settings as a replica named `identity` gets them by default.
pub(crate) fn settings(identity: &str) -> KubeSettings {
    KubeSettings::with_identity(identity)
}

/// Metrics registered nowhere.
pub(crate) fn metrics() -> KubeMetrics {
    KubeMetrics::unregistered().unwrap()
}

/// A test clock starting at 2026-03-01T12:00:00Z now.
pub(crate) fn clock() -> Arc<TestClock> {
    Arc::new(TestClock {
        epoch: "2026-03-01T12:00:00Z".parse().unwrap(),
        base: Instant::now(),
    })
}

/// A Kubernetes MicroTime as the apiserver writes it.
pub(crate) fn micro(t: Timestamp) -> String {
    t.strftime("%Y-%m-%dT%H:%M:%S%.6fZ").to_string()
}

/// Reads a MicroTime/Time string.
pub(crate) fn parse_time(value: &Value) -> Timestamp {
    value
        .as_str()
        .unwrap_or_else(|| panic!("not a time: {value}"))
        .parse()
        .unwrap()
}

/// A Lease object as the apiserver returns it.
pub(crate) fn lease(
    holder: Option<&str>,
    renewed: Timestamp,
    version: u64,
    transitions: i32,
) -> Value {
    json!({
        "apiVersion": "coordination.k8s.io/v1",
        "kind": "Lease",
        "metadata": {
            "name": "hnsfleet-watchdog",
            "namespace": "default",
            "uid": "0f7c2a8e-6a55-4c1e-9f57-3d2b1c0a9e11",
            "resourceVersion": version.to_string(),
            "creationTimestamp": "2026-03-01T11:00:00Z",
            "managedFields": [],
        },
        "spec": {
            "holderIdentity": holder,
            "leaseDurationSeconds": 15,
            "acquireTime": micro(renewed),
            "renewTime": micro(renewed),
            "leaseTransitions": transitions,
        },
    })
}

/// A `Status` error object as the apiserver returns it.
pub(crate) fn status(code: u16, reason: &str, message: &str) -> Value {
    json!({
        "kind": "Status",
        "apiVersion": "v1",
        "metadata": {},
        "status": "Failure",
        "message": message,
        "reason": reason,
        "details": { "name": "hnsfleet-watchdog", "group": "coordination.k8s.io", "kind": "leases" },
        "code": code,
    })
}

/// The 409 a replace with a stale resourceVersion gets.
pub(crate) fn conflict() -> Value {
    status(
        409,
        "Conflict",
        "Operation cannot be fulfilled on leases.coordination.k8s.io \"hnsfleet-watchdog\": the object has been modified; please apply your changes to the latest version and try again",
    )
}

/// A 500 from a struggling apiserver.
pub(crate) fn internal_error() -> Value {
    status(
        500,
        "InternalError",
        "Internal error occurred: etcdserver: request timed out",
    )
}

/// The 404 of an absent object.
pub(crate) fn not_found(what: &str) -> Value {
    status(
        404,
        "NotFound",
        &format!("{what} \"hnsfleet-watchdog\" not found"),
    )
}

// === impl TestClock ===

impl TestClock {
    /// The clock's time `secs` seconds after its epoch.
    pub(crate) fn at(&self, secs: i64) -> Timestamp {
        self.epoch
            .checked_add(SignedDuration::from_secs(secs))
            .unwrap()
    }

    /// Seconds since the epoch (tokio time).
    pub(crate) fn elapsed(&self) -> Duration {
        Instant::now() - self.base
    }
}

impl Clock for TestClock {
    fn now(&self) -> Timestamp {
        let elapsed = SignedDuration::try_from(Instant::now() - self.base).unwrap();
        self.epoch.checked_add(elapsed).unwrap()
    }
}

// === impl Call ===

impl Call {
    /// Answers `code` with `body`.
    pub(crate) fn reply(self, code: u16, body: &Value) {
        let response = Response::builder()
            .status(code)
            .header("content-type", "application/json")
            .body(Body::from(serde_json::to_vec(body).unwrap()))
            .unwrap();
        self.respond.send_response(response);
    }

    /// Answers `code` with what `make` builds from the request's body.
    pub(crate) fn reply_from(self, code: u16, make: impl FnOnce(&Value) -> Value) {
        let body = make(&self.body);
        self.reply(code, &body);
    }

    /// Leaves the request unanswered until the returned value is dropped.
    pub(crate) fn hang(self) -> Hung {
        Hung(self.respond)
    }

    /// Asserts the method and the path.
    pub(crate) fn assert(&self, method: &str, path: &str) {
        assert_eq!(
            (self.method.as_str(), self.path.as_str()),
            (method, path),
            "unexpected request {} {}?{} {}",
            self.method,
            self.path,
            self.query,
            self.body
        );
    }

    /// The body's `metadata.resourceVersion`.
    pub(crate) fn resource_version(&self) -> Option<&str> {
        self.body["metadata"]["resourceVersion"].as_str()
    }
}

// === impl ApiServer ===

impl ApiServer {
    /// The next request, within a minute of (paused) time.
    pub(crate) async fn next(&mut self) -> Call {
        let (request, respond) =
            tokio::time::timeout(Duration::from_secs(60), self.handle.next_request())
                .await
                .expect("a request within a minute")
                .expect("the client is alive");
        let (parts, body) = request.into_parts();
        let bytes = body.collect_bytes().await.unwrap();
        let body = if bytes.is_empty() {
            Value::Null
        } else {
            serde_json::from_slice(&bytes).unwrap()
        };
        Call {
            method: parts.method.to_string(),
            path: parts.uri.path().to_owned(),
            query: parts.uri.query().unwrap_or_default().to_owned(),
            content_type: parts
                .headers
                .get("content-type")
                .and_then(|v| v.to_str().ok())
                .unwrap_or_default()
                .to_owned(),
            body,
            respond,
        }
    }

    /// The next request, asserting its method and path.
    pub(crate) async fn expect(&mut self, method: &str, path: &str) -> Call {
        let call = self.next().await;
        call.assert(method, path);
        call
    }

    /// Asserts that no request comes for `quiet`.
    pub(crate) async fn assert_quiet(&mut self, quiet: Duration) {
        if let Ok(Some((request, _))) =
            tokio::time::timeout(quiet, self.handle.next_request()).await
        {
            panic!("unexpected request {} {}", request.method(), request.uri());
        }
    }
}

// === impl LeaseStore ===

impl LeaseStore {
    /// A store holding `lease` (its resourceVersion is taken as the store's).
    pub(crate) fn holding(lease: Value) -> LeaseStore {
        let version = lease["metadata"]["resourceVersion"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap();
        LeaseStore {
            lease: Some(lease),
            version,
            holders: Vec::new(),
        }
    }

    /// Answers one Lease request as the apiserver would.
    pub(crate) fn serve(&mut self, call: Call) {
        match (call.method.as_str(), call.path.as_str()) {
            ("GET", LEASE) => match &self.lease {
                Some(lease) => call.reply(200, lease),
                None => call.reply(404, &not_found("leases.coordination.k8s.io")),
            },
            ("POST", LEASES) => {
                if self.lease.is_some() {
                    call.reply(
                        409,
                        &status(
                            409,
                            "AlreadyExists",
                            "leases.coordination.k8s.io \"hnsfleet-watchdog\" already exists",
                        ),
                    );
                } else {
                    let stored = self.store(call.body.clone());
                    call.reply(201, &stored);
                }
            }
            ("PUT", LEASE) => {
                let current = self.version.to_string();
                if self.lease.is_none() {
                    call.reply(404, &not_found("leases.coordination.k8s.io"));
                } else if call
                    .resource_version()
                    .is_some_and(|version| version != current)
                {
                    // Without a resourceVersion the apiserver updates unconditionally.
                    call.reply(409, &conflict());
                } else {
                    let stored = self.store(call.body.clone());
                    call.reply(200, &stored);
                }
            }
            _ => panic!("unexpected lease request {} {}", call.method, call.path),
        }
    }

    fn store(&mut self, mut lease: Value) -> Value {
        self.version += 1;
        lease["metadata"]["resourceVersion"] = json!(self.version.to_string());
        lease["metadata"]["namespace"] = json!("default");
        self.holders
            .push(lease["spec"]["holderIdentity"].as_str().map(str::to_owned));
        self.lease = Some(lease.clone());
        lease
    }
}
