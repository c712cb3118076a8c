//! The storage and best-chain core of the chain-follower service.
//!
//! - [`header_chain`]: an in-memory header tree, pure (no I/O, no clock: `now` is a parameter).
//!   It validates every header with the protocol crate's rules, follows the chain with the
//!   most work, keeps bounded side branches and orphans, and reports reorganizations.
//! - [`store`]: the append-only header file (std::fs only) that lets a restart resume in
//!   seconds; a torn tail is detected and cut. Deleting the file is always safe: the follower
//!   re-syncs.
//! - [`synthetic`]: mined regtest headers for tests and benches.
//! - [`peer`]: one p2p connection over plain TCP (handshake, keep-alive, typed packets, a
//!   bound on every wait and buffer); [`lookup`]: GETPROOF over a peer, verified before use.
//! - [`sync`]: header sync over one peer into the header chain.
//!
//! Not yet here (issue 4, in progress): the multi-peer pool with scoring and bans, brontide,
//! the gRPC API, metrics, config and the service binary.
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod follower;
pub mod grpc;
pub mod header_chain;
pub mod lookup;
pub mod metrics;
pub mod peer;
pub mod pool;
pub mod service;
pub mod store;
pub mod sync;
pub mod synthetic;

pub use header_chain::{HeaderChain, InsertOutcome, Limits, Reorg};
pub use store::{Recovery, Start, Store, StoreError};
