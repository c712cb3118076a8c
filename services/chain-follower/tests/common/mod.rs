//! Shared by the end-to-end tests (and the latency example): the clock and the peer settings
//! used against regtest hsd nodes.
#![allow(dead_code)]

pub(crate) mod fake_peer;

use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hnsfleet_chain_follower::peer::PeerConfig;
use hnsfleet_hns::params::Network;

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
