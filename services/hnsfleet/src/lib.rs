//! The `hnsfleet` command line.
//!
//! Today it carries the offline `inspect` tools over the protocol crate; later issues add the
//! fleet services (`follower`, `frontend`, ...) and the all-in-one mode. Output meant for
//! scripts is JSON on stdout; errors are one line on stderr and exit status 1.
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};

use clap::{Parser, Subcommand};

pub mod inspect;

/// Command-line arguments.
#[derive(Debug, Parser)]
#[command(name = "hnsfleet", version, about = "Handshake resolver fleet", long_about = None)]
pub struct Cli {
    /// What to do.
    #[command(subcommand)]
    pub command: Command,
}

/// Top-level commands.
#[derive(Debug, Subcommand)]
pub enum Command {
    /// Decode and check Handshake data offline (headers, proofs, resources); JSON on stdout.
    Inspect(inspect::InspectArgs),
}

/// Runs one command. `input` is standard input (read when an argument is `-`).
pub fn run(cli: Cli, input: &mut dyn BufRead, out: &mut dyn Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(args) => inspect::run(args, input, out),
    }
}
