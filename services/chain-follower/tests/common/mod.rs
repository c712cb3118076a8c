//! Shared by the end-to-end tests (and the latency example): the clock, the peer settings used
//! against regtest hsd nodes, and the steps the service tests repeat (start a prepared hsd,
//! talk to the follower over gRPC, compare its answers with hsd's).
#![allow(dead_code)]

pub(crate) mod fake_peer;

#[cfg(test)]
use std::path::Path;
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hnsfleet_chain_follower::peer::PeerConfig;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::resource::Resource;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use hnsfleet_testkit::Hsd;
#[cfg(test)]
use hnsfleet_testkit::service::FollowerCommand;
use hnsfleet_testkit::service::ServiceProcess;
use serde_json::Value;
use tonic::transport::Channel;

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

/// A gRPC client of the follower's API.
pub(crate) type Api = ChainFollowerServiceClient<Channel>;

/// Starts an hsd regtest node on the prepared chain (names registered through real auctions,
/// `scripts/hsd/prepare-chain.sh`) at `port_offset`, off the async threads; returns it with
/// the chain's manifest.
pub(crate) async fn start_prepared_hsd(name: &'static str, port_offset: u16) -> (Hsd, Value) {
    tokio::task::spawn_blocking(move || Hsd::start_prepared(name, port_offset).expect("hsd"))
        .await
        .expect("hsd start task")
}

/// Connects to a running follower's gRPC API.
pub(crate) async fn connect_api(follower: &ServiceProcess) -> Api {
    ChainFollowerServiceClient::connect(follower.grpc_url().expect("grpc address"))
        .await
        .expect("grpc connect")
}

/// The follower's tip.
pub(crate) async fn get_tip(api: &mut Api) -> pb::Tip {
    api.get_tip(pb::GetTipRequest {})
        .await
        .expect("GetTip")
        .into_inner()
        .tip
        .expect("a tip")
}

/// Waits until the follower's tip is hsd's best block. On regtest, where no tip is ever too
/// old, a peer that finishes its first round with nothing to send may make the follower ready
/// before hsd's headers are in: tests wait for them rather than race them.
pub(crate) async fn wait_for_hsds_tip(follower: &ServiceProcess, hsd: &Hsd) {
    let best = hsd.rpc("getbestblockhash", &[]).unwrap();
    follower
        .poll(Duration::from_secs(30), "hsd's tip", async |_| {
            let tip = get_tip(&mut connect_api(follower).await).await;
            (best == hex::encode(&tip.hash)).then_some(())
        })
        .await
        .unwrap();
}

/// Asserts that the follower's tip is hsd's best block; returns it.
pub(crate) async fn assert_tip_is_hsds(api: &mut Api, hsd: &Hsd) -> pb::Tip {
    let tip = get_tip(api).await;
    assert_eq!(
        Value::from(hex::encode(&tip.hash)),
        hsd.rpc("getbestblockhash", &[]).expect("getbestblockhash"),
        "tip is not hsd's"
    );
    tip
}

/// Looks `name` up: the look-up, or the gRPC status.
pub(crate) async fn try_lookup(api: &mut Api, name: &str) -> Result<pb::NameLookup, tonic::Status> {
    let response = api
        .lookup_name(pb::LookupNameRequest {
            name: name.into(),
            root: None,
        })
        .await?
        .into_inner();
    Ok(response.lookup.expect("a look-up in the response"))
}

/// Looks `name` up; panics with the gRPC status if that fails.
pub(crate) async fn lookup(api: &mut Api, name: &str) -> pb::NameLookup {
    try_lookup(api, name)
        .await
        .unwrap_or_else(|e| panic!("{name}: {e}"))
}

/// The looked-up resource in hsd's `getnameresource` form (`null` without one).
pub(crate) fn resource_json(answer: &pb::NameLookup) -> Value {
    if answer.resource.is_empty() {
        return Value::Null;
    }
    let resource = Resource::decode(&answer.resource).expect("resource decodes");
    serde_json::from_str(&resource.to_json()).expect("resource JSON")
}

/// Asserts that `answer` carries exactly hsd's `getnameresource` for its name.
pub(crate) fn assert_resource_is_hsds(answer: &pb::NameLookup, hsd: &Hsd) {
    let name = answer.name.as_str();
    assert_eq!(
        resource_json(answer),
        hsd.rpc("getnameresource", &[name.into()])
            .expect("getnameresource"),
        "{name}: resource is not hsd's"
    );
}

/// The names the prepared chain registered (its manifest's `names`).
pub(crate) fn registered_names(manifest: &Value) -> Vec<String> {
    manifest["names"]
        .as_object()
        .expect("manifest names")
        .keys()
        .cloned()
        .collect()
}

/// Waits until the dial loop of every peer in `banned` has come round to it after its ban (and
/// logged that it is not dialling it), so "never dialled again" is checked after the chance.
pub(crate) async fn wait_banned_peers_skipped(
    follower: &ServiceProcess,
    banned: &[&fake_peer::FakePeer],
    within: Duration,
) {
    follower
        .poll(within, "dial loops skipping the banned peers", async |f| {
            banned
                .iter()
                .all(|p| !peer_log_events(f, &p.addr.to_string(), BANNED_NOT_DIALLED).is_empty())
                .then_some(())
        })
        .await
        .expect("banned peers skipped");
}

/// The `fields` of the first JSON log line of `follower` that contains `needle` (a message),
/// waiting up to `within` for it to be written.
pub(crate) async fn log_event_fields(
    follower: &ServiceProcess,
    needle: &str,
    within: Duration,
) -> Value {
    let line = follower
        .poll(within, needle, async |p| {
            p.log()
                .lines()
                .find(|l| l.contains(needle))
                .map(str::to_string)
        })
        .await
        .expect("log line");
    serde_json::from_str::<Value>(&line).expect("JSON log line")["fields"].clone()
}

/// The JSON log lines of `follower` whose message is `message`, logged inside the span of
/// `peer` (as the follower prints the peer: `HOST:PORT` or `KEY@HOST:PORT`).
pub(crate) fn peer_log_events(follower: &ServiceProcess, peer: &str, message: &str) -> Vec<Value> {
    follower
        .log()
        .lines()
        .filter_map(|line| serde_json::from_str::<Value>(line).ok())
        .filter(|line| line["fields"]["message"] == message && line["span"]["peer"] == peer)
        .collect()
}

/// What a peer's dial loop logs (at debug level) each time it finds its peer banned: the loop
/// came round to the peer and did not dial it.
pub(crate) const BANNED_NOT_DIALLED: &str = "peer is banned; not dialling it before the ban ends";

/// What a dial loop logs (at debug level) when a dial or handshake fails.
pub(crate) const CONNECT_FAILED: &str = "connect failed";

/// The `--log` filter that writes the pool's debug events (failed dials, banned peers skipped).
pub(crate) const POOL_DEBUG_LOG: &str = "info,hnsfleet_chain_follower::pool=debug";
