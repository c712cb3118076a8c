//! The proof-cache service: the fleet's shared tier of verified name look-ups between the
//! chain-followers and the frontends.
//!
//! It trusts one tree root at a time, the safe root a quorum of *synced* followers announce on
//! their `WatchTip` streams ([`trust`]: a follower still syncing, or fallen behind, does not
//! vote, so during an initial sync nothing is trusted and look-ups fail with
//! `NO_TRUSTED_ROOT`), asks followers for proofs against exactly that root, and
//! re-verifies every answer before caching or serving it ([`followers`]): a follower that lies
//! is quarantined and its answer never served. Verified look-ups are cached by (name hash,
//! tree root) with one follower request per concurrent miss ([`cache`]). When the followers'
//! quorum is lost, entries of the last trusted root are served marked stale for a bounded time.
//!
//! Service: [`config`] (file + env + flags), [`metrics`], [`grpc`], [`service`] (wiring and
//! shutdown), [`cli`] (the entry point shared by both binaries).
#![forbid(unsafe_code)]

pub mod cache;
pub mod cli;
pub mod config;
pub mod followers;
pub mod grpc;
pub mod metrics;
pub mod service;
#[cfg(any(test, feature = "test-util"))]
pub mod synthetic;
pub mod trust;
