//! `hnsfleet`: the command line of the fleet. All logic lives in the library; this file only
//! wires the process's arguments and standard streams to it.
#![forbid(unsafe_code)]

use std::io::Write;
use std::process::ExitCode;

fn main() -> ExitCode {
    // A usage error exits 64 (EX_USAGE), as a bad service configuration does.
    let cli = match hnsfleet_service_kit::cli::parse::<hnsfleet::Cli>() {
        Ok(cli) => cli,
        Err(code) => return code,
    };
    let cli = match cli.command {
        hnsfleet::Command::Follower(args) => {
            return hnsfleet_chain_follower::cli::main_with(*args);
        }
        hnsfleet::Command::ProofCache(args) => return hnsfleet_proof_cache::cli::main_with(*args),
        hnsfleet::Command::Frontend(args) => return hnsfleet_frontend::cli::main_with(*args),
        hnsfleet::Command::Up(args) => return hnsfleet::up::main_with(*args),
        hnsfleet::Command::Query(args) => return hnsfleet::query::main_with(*args),
        hnsfleet::Command::Bundle(hnsfleet::query::chain::BundleCommand::Verify(args)) => {
            return hnsfleet::query::chain::main_verify(&args);
        }
        hnsfleet::Command::Watchdog(command) if command.action.is_none() => {
            return hnsfleet_reorg_watchdog::cli::main_with(*command.run);
        }
        command => hnsfleet::Cli { command },
    };
    let stdin = std::io::stdin();
    let mut stdout = std::io::stdout().lock();
    match hnsfleet::run(cli, &mut stdin.lock(), &mut stdout) {
        Ok(()) => ExitCode::SUCCESS,
        Err(err) => {
            let _ = stdout.flush();
            // One line naming the cause, as scripts expect.
            eprintln!("error: {err:#}");
            ExitCode::FAILURE
        }
    }
}
