//! gRPC contracts between hnsfleet services, generated from `proto/hnsfleet/**.proto`, and the
//! validating conversions between their messages and domain types.
//!
//! The generated prost types stay at the edge of each service: services convert them into
//! domain types with the validating `TryFrom` impls of [`convert`] (lengths, enum values, name
//! syntax, agreement with signed bytes) and never pass them inward. Look-ups additionally go
//! through `hnsfleet-verify` before anything in them is believed. [`status`] holds the error
//! contract (`google.rpc.ErrorInfo` reasons). Compiled by `build.rs` with protox, so building
//! needs no `protoc`.
#![forbid(unsafe_code)]

pub mod convert;
pub mod status;

/// `hnsfleet.follower.v1`: the chain-follower API.
pub mod follower {
    /// Version 1 of the chain-follower API (frozen: only backwards-compatible changes).
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
        tonic::include_proto!("hnsfleet.follower.v1");
    }
}

/// `hnsfleet.cache.v1`: the proof-cache API.
pub mod cache {
    /// Version 1 of the proof-cache API.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
        tonic::include_proto!("hnsfleet.cache.v1");
    }
}

/// `hnsfleet.watchdog.v1`: the reorg-watchdog API.
pub mod watchdog {
    /// Version 1 of the reorg-watchdog API.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
        tonic::include_proto!("hnsfleet.watchdog.v1");
    }
}

/// Every service of every contract with its methods: `(package.Service, [Method, ...])`,
/// generated from the `.proto` files (metrics label calls with these names only).
pub const METHODS: &[(&str, &[&str])] = include!(concat!(env!("OUT_DIR"), "/methods.rs"));

#[cfg(test)]
mod tests;
