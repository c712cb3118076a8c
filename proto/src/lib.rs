//! gRPC contracts between hnsfleet services, generated from `proto/hnsfleet/**.proto`.
//!
//! The generated prost types stay at the edge of each service: services convert them into
//! domain types with validating `TryFrom` impls and never pass them inward. Compiled by
//! `build.rs` with protox, so building needs no `protoc`.
#![forbid(unsafe_code)]

/// `hnsfleet.follower.v1`: the chain-follower API.
pub mod follower {
    /// Version 1 of the chain-follower API.
    pub mod v1 {
        #![allow(missing_docs, unreachable_pub, clippy::all, clippy::pedantic)]
        tonic::include_proto!("hnsfleet.follower.v1");
    }
}
