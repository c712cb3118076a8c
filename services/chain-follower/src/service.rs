//! The running follower: binds its listeners, opens the header store, starts the peer pool,
//! the gRPC API and the admin endpoints, and stops them all on one shutdown token.

use crate::config::FollowerConfig;

/// Binds the configured listeners, prints `{"event":"listening","grpc":..,"admin":..}` on
/// stdout, and runs until SIGINT or SIGTERM.
pub async fn run_until_signal(config: FollowerConfig) -> anyhow::Result<()> {
    let _ = config;
    anyhow::bail!("the follower service is not wired yet")
}
