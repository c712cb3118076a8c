//! The `hnsfleet` command line.
//!
//! It carries the offline `inspect` tools over the protocol crate, the chain-follower service
//! (`follower`), the proof-cache service (`proof-cache`) and their clients (`tip`, `lookup`),
//! and the SIG(0) key tools (`sig0 keygen|pubkey`); later issues add the other services and the
//! all-in-one mode. Output meant for scripts is JSON on stdout; errors are one line on stderr
//! and exit status 1 (a service's bad configuration: 64).
#![forbid(unsafe_code)]

use std::io::{BufRead, Write};

use clap::{Parser, Subcommand};

pub mod follower_client;
pub mod inspect;
pub mod query;
pub mod sig0_keys;
pub mod up;
pub mod watchdog_client;

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
    /// Run the chain-follower service (same flags as `hnsfleet-chain-follower`).
    Follower(Box<hnsfleet_chain_follower::cli::FollowerArgs>),
    /// Print a follower's tip as JSON.
    Tip(follower_client::TipArgs),
    /// Look a name up through a follower (or `--cache`, a proof-cache), re-verify its proof,
    /// print JSON.
    Lookup(follower_client::LookupArgs),
    /// Run the proof-cache service (same flags as `hnsfleet-proof-cache`).
    ProofCache(Box<hnsfleet_proof_cache::cli::CacheArgs>),
    /// Run the frontend: Do53/DoT/DoH resolver and HNS root (same flags as
    /// `hnsfleet-frontend`).
    Frontend(Box<hnsfleet_frontend::cli::FrontendArgs>),
    /// Run follower, proof-cache and frontend in one process with one config.
    Up(Box<up::UpArgs>),
    /// Run the reorg-watchdog (same flags as `hnsfleet-reorg-watchdog`), or ask a running one
    /// (`status`, `unfreeze`).
    Watchdog(watchdog_client::WatchdogCommand),
    /// Ask a resolver (Do53, DoT, DoH, DoQ) like dig; check and report the answer's SIG(0).
    Query(Box<query::QueryArgs>),
    /// Proof bundles: check a saved response's bundle offline (`verify FILE`).
    #[command(subcommand)]
    Bundle(query::chain::BundleCommand),
    /// Make and inspect the SIG(0) key frontends sign responses with.
    #[command(subcommand)]
    Sig0(sig0_keys::Sig0Command),
}

/// Runs one command. `input` is standard input (read when an argument is `-`).
pub fn run(cli: Cli, input: &mut dyn BufRead, out: &mut dyn Write) -> anyhow::Result<()> {
    match cli.command {
        Command::Inspect(args) => inspect::run(args, input, out),
        Command::Tip(args) => follower_client::run_tip(args, out),
        Command::Lookup(args) => follower_client::run_lookup(args, out),
        Command::Sig0(command) => sig0_keys::run(command, out),
        Command::Watchdog(command) => match command.action {
            Some(action) => watchdog_client::run(action, out),
            None => anyhow::bail!("the watchdog service runs from `main`"),
        },
        Command::Follower(_)
        | Command::ProofCache(_)
        | Command::Frontend(_)
        | Command::Up(_)
        | Command::Query(_)
        | Command::Bundle(_) => {
            anyhow::bail!("services and query run from `main` (they have their own exit codes)")
        }
    }
}
