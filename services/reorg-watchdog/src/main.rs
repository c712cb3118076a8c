//! `hnsfleet-reorg-watchdog`: the watchdog as its own binary (the container image's entry
//! point). Same flags as `hnsfleet watchdog`; all logic is in the library.
#![forbid(unsafe_code)]

use std::process::ExitCode;

use clap::Parser;
use hnsfleet_reorg_watchdog::cli::{WatchdogArgs, main_with};

/// Handshake reorg-watchdog: compares signed tip attestations from the fleet's followers and
/// other operators' watchdogs, and freezes the fleet on a deep reorganisation.
#[derive(Debug, Parser)]
#[command(name = "hnsfleet-reorg-watchdog", version)]
struct Args {
    #[command(flatten)]
    watchdog: WatchdogArgs,
}

fn main() -> ExitCode {
    match hnsfleet_service_kit::cli::parse::<Args>() {
        Ok(args) => main_with(args.watchdog),
        Err(code) => code,
    }
}
