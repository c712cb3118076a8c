//! `hnsfleet-chain-follower`: the follower service as its own binary (the container image's
//! entry point). Same flags as `hnsfleet follower`; all logic is in the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use hnsfleet_chain_follower::cli::{FollowerArgs, main_with};

/// Handshake chain follower: syncs and validates headers from peers, serves verified name
/// proofs over gRPC.
#[derive(Debug, Parser)]
#[command(name = "hnsfleet-chain-follower", version)]
struct Args {
    #[command(flatten)]
    follower: FollowerArgs,
}

fn main() -> ExitCode {
    match hnsfleet_service_kit::cli::parse::<Args>() {
        Ok(args) => main_with(args.follower),
        Err(code) => code,
    }
}
