//! `hnsfleet-proof-cache`: the proof-cache service as its own binary (the container image's
//! entry point). Same flags as `hnsfleet proof-cache`; all logic is in the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use hnsfleet_proof_cache::cli::{CacheArgs, main_with};

/// Handshake proof-cache: verified name look-ups shared across the fleet, re-verified against
/// the root a quorum of chain-followers agree on.
#[derive(Debug, Parser)]
#[command(name = "hnsfleet-proof-cache", version)]
struct Args {
    #[command(flatten)]
    cache: CacheArgs,
}

fn main() -> ExitCode {
    match hnsfleet_service_kit::cli::parse::<Args>() {
        Ok(args) => main_with(args.cache),
        Err(code) => code,
    }
}
