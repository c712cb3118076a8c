//! `hnsfleet-frontend`: the frontend as its own binary (the container image's entry point).
//! Same flags as `hnsfleet frontend`; all logic is in the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use hnsfleet_frontend::cli::{FrontendArgs, main_with};

/// Handshake resolver frontend: the HNS root from verified proofs, DNSSEC-validating
/// recursion and ICANN fallback, over Do53, DoT and DoH, optionally SIG(0)-signed.
#[derive(Debug, Parser)]
#[command(name = "hnsfleet-frontend", version)]
struct Args {
    #[command(flatten)]
    frontend: FrontendArgs,
}

fn main() -> ExitCode {
    match hnsfleet_service_kit::cli::parse::<Args>() {
        Ok(args) => main_with(args.frontend),
        Err(code) => code,
    }
}
