//! The chain-follower service: the fleet's root of trust. It syncs and fully validates
//! Handshake headers from several peers, keeps them in a crash-safe file, and serves name
//! look-ups only from Urkel proofs it verified against its own safe tree root. It never serves
//! anything unverified and never takes the tip from a single peer's word.
//!
//! Core (pure or std-only):
//! - [`header_chain`]: the in-memory header tree (no I/O, no clock: `now` is a parameter): full
//!   validation, most-work chain, bounded side branches and orphans, reorganizations.
//! - [`store`]: the append-only header file; a torn tail is cut on open; deleting it is safe.
//! - `synthetic` (feature `test-util`): mined regtest headers for tests and benches.
//!
//! Network edge:
//! - [`peer`]: one p2p connection, plain TCP or brontide (handshake, keep-alive, typed packets,
//!   a reader task, a bound on every wait and buffer); [`lookup`]: GETPROOF over one peer.
//! - [`sync`]: header sync (GETHEADERS with a PING barrier, announcements) into a
//!   [`sync::HeaderSink`].
//! - [`pool`]: sessions with many peers, bans, backoff, scoring, hedged verified look-ups.
//! - [`follower`]: the shared chain + store, tip events, readiness, attestations.
//!
//! Service: [`config`] (file + env + flags), [`metrics`], [`grpc`], [`service`] (wiring and
//! shutdown), [`cli`] (the entry point shared by both binaries).
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
#[cfg(any(test, feature = "test-util"))]
pub mod synthetic;

pub use header_chain::{HeaderChain, InsertOutcome, Limits, Reorg};
pub use store::{Recovery, Start, Store, StoreError};
