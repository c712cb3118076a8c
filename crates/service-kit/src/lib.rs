//! What every hnsfleet service shares, so that each one behaves the same for an operator:
//! the admin HTTP endpoint (`/metrics`, `/healthz`, `/readyz`), the readiness latch behind
//! `/readyz`, the `hnsfleet_build_info` metric, the gRPC server layer (limits, deadlines,
//! metrics: [`grpc`]), tracing set-up and the shutdown token.
//!
//! Nothing here knows about Handshake or DNS. Services create one `prometheus::Registry` in
//! `main`, register their metrics into it (no global registry), and hand it to
//! [`admin::serve`] together with a bound listener, so tests can use port 0.
#![forbid(unsafe_code)]

pub mod admin;
pub mod grpc;
pub mod readiness;
pub mod telemetry;

pub use readiness::Readiness;
pub use tokio_util::sync::CancellationToken as Shutdown;
