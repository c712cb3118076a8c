//! Shared by the end-to-end tests (and the latency example): the clock and the peer settings
//! used against regtest hsd nodes.
#![allow(dead_code)]

pub(crate) mod fake_peer;

#[cfg(test)]
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hnsfleet_chain_follower::peer::PeerConfig;
use hnsfleet_hns::params::Network;
#[cfg(test)]
use hnsfleet_testkit::service::FollowerCommand;

/// Current unix time in seconds.
pub(crate) fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .map_or(0, |d| d.as_secs())
}

/// Peer settings for a regtest hsd on loopback.
pub(crate) fn regtest_peer_config(user_agent: &str) -> PeerConfig {
    PeerConfig {
        params: Network::Regtest.params(),
        handshake_timeout: Duration::from_secs(5),
        user_agent: user_agent.into(),
        height: 0,
        send_headers: true,
        response_timeout: hnsfleet_chain_follower::sync::HEADERS_TIMEOUT,
    }
}

/// The service binary's regtest command line (integration tests only: Cargo tells just them
/// where the binary is).
#[cfg(test)]
pub(crate) fn follower_command(data_dir: &Path) -> FollowerCommand {
    FollowerCommand::regtest(
        Path::new(env!("CARGO_BIN_EXE_hnsfleet-chain-follower")),
        &[],
        data_dir,
    )
}
