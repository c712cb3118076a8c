//! The storage and best-chain core of the chain-follower service.
//!
//! - [`header_chain`]: an in-memory header tree, pure (no I/O, no clock: `now` is a parameter).
//!   It validates every header with the protocol crate's rules, follows the chain with the
//!   most work, keeps bounded side branches and orphans, and reports reorganizations.
//! - [`store`]: the append-only header file (std::fs only) that lets a restart resume in
//!   seconds; a torn tail is detected and cut. Deleting the file is always safe: the follower
//!   re-syncs.
//! - [`synthetic`]: mined regtest headers for tests and benches.
//!
//! This crate does not talk to peers, decide when to sync, or serve anything; the networking
//! layer of the service feeds it headers and reads the best tip back.
#![forbid(unsafe_code)]

pub mod header_chain;
pub mod store;
pub mod synthetic;

pub use header_chain::{HeaderChain, InsertOutcome, Limits, Reorg};
pub use store::{Recovery, Start, Store, StoreError};
