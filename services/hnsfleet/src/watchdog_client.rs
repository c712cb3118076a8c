//! `hnsfleet watchdog`: runs the reorg-watchdog service, or, with `status` / `unfreeze`, asks a
//! running one over gRPC. `status` prints the verdict as JSON
//! (`{"state":"OK"|"FROZEN", "height":..., "root":..., "sources":[...]}`, the same document as
//! the watchdog's `/v1/verdict`); `unfreeze` lifts a freeze and prints the verdict after it.

use std::io::Write;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::{Context, anyhow};
use hnsfleet_proto::watchdog::v1 as pb;
use hnsfleet_proto::watchdog::v1::reorg_watchdog_service_client::ReorgWatchdogServiceClient;
use hnsfleet_reorg_watchdog::cli::WatchdogArgs;
use hnsfleet_reorg_watchdog::status::json;
use tonic::metadata::MetadataValue;

use crate::follower_client::call_at;

/// `hnsfleet watchdog [FLAGS]` runs the service; `hnsfleet watchdog status|unfreeze` asks one.
#[derive(Debug, clap::Args)]
#[command(args_conflicts_with_subcommands = true)]
pub struct WatchdogCommand {
    /// Ask a running watchdog instead of running one.
    #[command(subcommand)]
    pub action: Option<WatchdogAction>,
    /// The service's flags (same as `hnsfleet-reorg-watchdog`).
    #[command(flatten)]
    pub run: Box<WatchdogArgs>,
}

/// What to ask a running watchdog.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum WatchdogAction {
    /// Print the verdict as JSON.
    Status(WatchdogTarget),
    /// Lift a freeze now (the quorum's root is trusted again); prints the verdict after it.
    Unfreeze(UnfreezeArgs),
}

/// Where the watchdog is and how long to wait for it.
#[derive(Debug, Clone, clap::Args)]
pub struct WatchdogTarget {
    /// The watchdog's gRPC URL.
    #[arg(
        long,
        env = "HNSFLEET_WATCHDOG",
        default_value = "http://127.0.0.1:9560"
    )]
    pub watchdog: String,
    /// Deadline for the whole call, a human duration (`2s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = hnsfleet_service_kit::config::duration::parse)]
    pub timeout: Duration,
}

/// `hnsfleet watchdog unfreeze`.
#[derive(Debug, Clone, clap::Args)]
pub struct UnfreezeArgs {
    /// The watchdog to ask.
    #[command(flatten)]
    pub target: WatchdogTarget,
    /// Why (logged by the watchdog, and in its Kubernetes Event).
    #[arg(long, default_value = "operator command")]
    pub reason: String,
    /// File holding the operator token the watchdog requires (sent as `authorization: Bearer
    /// TOKEN`). In the watchdog's own pod the variable already names its token file.
    #[arg(long, value_name = "FILE", env = "HNSFLEET_UNFREEZE_TOKEN_FILE")]
    pub token_file: Option<PathBuf>,
}

/// Runs `action` against a watchdog, printing JSON on `out`.
pub fn run(action: WatchdogAction, out: &mut dyn Write) -> anyhow::Result<()> {
    let verdict = match action {
        WatchdogAction::Status(target) => {
            call_at(
                &target.watchdog,
                "watchdog",
                target.timeout,
                pb::GetVerdictRequest {},
                |channel, request| async move {
                    ReorgWatchdogServiceClient::new(channel)
                        .get_verdict(request)
                        .await
                },
            )?
            .verdict
        }
        WatchdogAction::Unfreeze(args) => {
            let authorization = match &args.token_file {
                Some(path) => {
                    let token = std::fs::read_to_string(path)
                        .with_context(|| format!("--token-file {}", path.display()))?;
                    let value = MetadataValue::try_from(format!("Bearer {}", token.trim()))
                        .with_context(|| {
                            format!("--token-file {}: not a printable token", path.display())
                        })?;
                    Some(value)
                }
                None => None,
            };
            call_at(
                &args.target.watchdog,
                "watchdog",
                args.target.timeout,
                pb::UnfreezeRequest {
                    reason: args.reason,
                },
                |channel, mut request| async move {
                    if let Some(value) = authorization {
                        request.metadata_mut().insert("authorization", value);
                    }
                    ReorgWatchdogServiceClient::new(channel)
                        .unfreeze(request)
                        .await
                },
            )?
            .verdict
        }
    };
    let verdict = verdict.ok_or_else(|| anyhow!("watchdog sent no verdict"))?;
    writeln!(out, "{}", json(&verdict))?;
    Ok(())
}
