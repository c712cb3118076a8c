//! What every hnsfleet service shares, so that each one behaves the same for an operator:
//! the layered configuration loader ([`config`]), the admin HTTP endpoint (`/metrics`,
//! `/healthz`, `/readyz`), the readiness latch behind `/readyz`, the metrics every service
//! exports and the naming rules for the rest ([`metrics`]), the gRPC server layer (limits,
//! deadlines, metrics: [`grpc`]), tracing set-up, and the shutdown sequence
//! ([`shutdown::Lifecycle`]: drain, stop accepting, grace deadline), and secret key files
//! ([`keyfile`]).
//!
//! Nothing here knows about Handshake or DNS. Services create one `prometheus::Registry` in
//! `main`, register their metrics into it (no global registry), and hand it to
//! [`admin::serve`] together with a bound listener, so tests can use port 0.
#![forbid(unsafe_code)]

pub mod admin;
pub mod cli;
pub mod config;
pub mod grpc;
pub mod keyfile;
pub mod metrics;
pub mod readiness;
pub mod shutdown;
pub mod telemetry;

pub use readiness::{Check, Readiness};
pub use shutdown::Lifecycle;
pub use tokio_util::sync::CancellationToken as Shutdown;
