//! The frontend: what users touch. It answers HNS and ICANN names over Do53 (UDP and TCP), DNS
//! over TLS, DNS over HTTPS (HTTP/2 and HTTP/3) and DNS over QUIC, with every HNS answer traced to a verified Urkel proof.
//!
//! A query goes through one pipeline ([`frontend`]): [`wire`] checks it, the answer cache
//! ([`answers`]) or recursion ([`recursion`], hickory's validating iterative resolver) answers
//! it, rooted at the fleet's own HNS root authority ([`root`]), which builds `.` from proofs
//! fetched through the proof-cache tier; responses are signed with SIG(0) ([`sig0`]) when a key
//! is configured. UDP datagrams pass response rate limiting ([`rrl`]) first. [`listen`] holds
//! the transports; [`service`] wires it all and runs it with
//! the service kit's admin endpoints and shutdown; [`config`] and [`cli`] are its typed
//! configuration and flags; [`metrics`] its Prometheus metrics.
#![forbid(unsafe_code)]

pub mod answers;
pub mod bundle;
pub mod cli;
pub mod config;
pub mod frontend;
pub mod listen;
pub mod metrics;
pub mod recursion;
pub mod root;
pub mod rrl;
pub mod service;
pub mod sig0;
/// DNS messages at the edge (the `hnsfleet-dns-wire` crate).
pub use hnsfleet_dns_wire as wire;
