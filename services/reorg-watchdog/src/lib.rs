//! The reorg-watchdog service: compares signed tip attestations from this fleet's
//! chain-followers and from other operators' watchdogs, and publishes one verdict — OK, or
//! FROZEN on the last root a quorum agreed on after a deep reorganisation or a chain split —
//! that proof-caches and frontends follow. docs/watchdog.md has the rules and their reasons;
//! the judgement itself is the pure `hnsfleet-reorg-verdict` crate.
//!
//! Service: [`config`] (file + env + flags), [`sources`] (reading followers and attesters;
//! [`fetch`], the bounded HTTP(S) GET), [`watchdog`] (the judgement running, its outputs),
//! [`grpc`] (`hnsfleet.watchdog.v1`; [`unfreeze_auth`], who may lift a freeze), [`publish`]
//! (the HTTP(S) endpoint other operators poll), [`status`] (the verdict as protobuf and JSON),
//! [`metrics`], [`service`] (wiring and shutdown), [`cli`] (the entry point shared by both
//! binaries).
#![forbid(unsafe_code)]

pub mod cli;
pub mod config;
pub mod fetch;
pub mod grpc;
pub mod metrics;
pub mod publish;
pub mod service;
pub mod sources;
pub mod status;
pub mod unfreeze_auth;
pub mod watchdog;
