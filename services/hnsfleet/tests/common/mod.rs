//! What the proof-cache end-to-end tests share: real followers (the `hnsfleet follower`
//! binary) syncing a real hsd regtest chain, a real proof-cache (`hnsfleet proof-cache`) in
//! front of them, gRPC clients, and the comparison with hsd's own answers.
#![allow(dead_code, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

pub(crate) mod dns;
pub(crate) mod liar;

use std::path::Path;
use std::time::Duration;

use hnsfleet_hns::name::Name;
use hnsfleet_hns::resource::Resource;
use hnsfleet_proto::cache::v1 as cache_pb;
use hnsfleet_proto::cache::v1::proof_cache_service_client::ProofCacheServiceClient;
use hnsfleet_testkit::Hsd;
use hnsfleet_testkit::service::{FollowerCommand, ServiceProcess};
use hnsfleet_verify::{LookupClaim, VerifiedLookup, verify_lookup};
use serde_json::Value;
use tonic::transport::Channel;

/// The CLI binary (it runs both services and the clients).
pub(crate) const BIN: &str = env!("CARGO_BIN_EXE_hnsfleet");

/// A proof-cache gRPC client.
pub(crate) type CacheApi = ProofCacheServiceClient<Channel>;

/// Starts an hsd node on the prepared chain (real auctions) at `port_offset`.
pub(crate) async fn prepared_hsd(name: &'static str, port_offset: u16) -> (Hsd, Value) {
    tokio::task::spawn_blocking(move || Hsd::start_prepared(name, port_offset).expect("hsd"))
        .await
        .expect("hsd start task")
}

/// Starts a follower (`hnsfleet follower`) syncing from `hsd`, ready.
pub(crate) async fn follower(hsd: &Hsd, data_dir: &Path, log: &str) -> ServiceProcess {
    let process = FollowerCommand::regtest(Path::new(BIN), &["follower"], data_dir)
        .peer(hsd.p2p_addr().unwrap())
        .spawn(log)
        .await
        .unwrap();
    process.wait_ready(Duration::from_secs(30)).await.unwrap();
    process
}

/// Starts `hnsfleet proof-cache` on regtest with `followers` (gRPC URLs) and `flags`.
pub(crate) async fn proof_cache(
    followers: &[String],
    flags: &[(&str, &str)],
    log: &str,
) -> ServiceProcess {
    let mut args: Vec<String> = ["proof-cache", "--network", "regtest"]
        .iter()
        .map(|s| s.to_string())
        .collect();
    for (flag, value) in [
        ("--grpc-listen", "127.0.0.1:0"),
        ("--admin-listen", "127.0.0.1:0"),
        ("--log-format", "json"),
    ]
    .into_iter()
    .chain(flags.iter().copied())
    {
        args.extend([flag.to_string(), value.to_string()]);
    }
    for url in followers {
        args.extend(["--follower".to_string(), url.clone()]);
    }
    ServiceProcess::spawn(Path::new(BIN), &args, log)
        .await
        .unwrap()
}

/// Connects to a running proof-cache.
pub(crate) async fn connect(cache: &ServiceProcess) -> CacheApi {
    ProofCacheServiceClient::connect(cache.grpc_url().unwrap())
        .await
        .unwrap()
}

/// Looks `name` up through the cache: the response, or the status.
pub(crate) async fn try_lookup(
    api: &mut CacheApi,
    name: &str,
) -> Result<cache_pb::LookupNameResponse, tonic::Status> {
    Ok(api
        .lookup_name(cache_pb::LookupNameRequest { name: name.into() })
        .await?
        .into_inner())
}

/// Re-verifies a cache answer for `name` as a client would; panics if it does not verify.
pub(crate) fn verified(name: &str, response: &cache_pb::LookupNameResponse) -> VerifiedLookup {
    let wire = response.lookup.as_ref().expect("a look-up");
    let claim = LookupClaim::try_from(wire).expect("well-formed");
    verify_lookup(&Name::parse(name).unwrap(), claim).expect("verifies")
}

/// The verified resource in hsd's `getnameresource` form (`null` without one).
pub(crate) fn resource_json(v: &VerifiedLookup) -> Value {
    let data = v.resource_data();
    if data.is_empty() {
        return Value::Null;
    }
    serde_json::from_str(&Resource::decode(data).unwrap().to_json()).unwrap()
}

/// hsd's tree root (hex) in its header at `height`.
pub(crate) fn hsd_root_at(hsd: &Hsd, height: u32) -> String {
    let hash = hsd.rpc("getblockhash", &[height.into()]).unwrap();
    hsd.rpc("getblockheader", &[hash]).unwrap()["treeroot"]
        .as_str()
        .unwrap()
        .to_string()
}

/// Asserts that the cache's verified answer for `name` is what `hsd` holds: its resource, and a
/// root that is hsd's at the answer's height.
pub(crate) fn assert_is_hsds(name: &str, response: &cache_pb::LookupNameResponse, hsd: &Hsd) {
    let v = verified(name, response);
    assert_eq!(
        v.tree_root().to_hex(),
        hsd_root_at(hsd, v.height()),
        "{name}: root is not hsd's"
    );
    assert_eq!(
        resource_json(&v),
        hsd.rpc("getnameresource", &[name.into()]).unwrap(),
        "{name}: resource is not hsd's"
    );
}

/// The names the prepared chain registered.
pub(crate) fn registered_names(manifest: &Value) -> Vec<String> {
    manifest["names"]
        .as_object()
        .unwrap()
        .keys()
        .cloned()
        .collect()
}

/// The names the prepared chain left unregistered.
pub(crate) fn absent_names(manifest: &Value) -> Vec<String> {
    manifest["absent"]
        .as_array()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap().to_string())
        .collect()
}

/// The sum of a metric's samples matching `labels` on `process` (0 when absent).
pub(crate) async fn metric(process: &ServiceProcess, name: &str, labels: &[(&str, &str)]) -> f64 {
    process.metric(name, labels).await.unwrap().unwrap_or(0.0)
}

/// Starts `hnsfleet up` on regtest against `peer` with every listener on loopback port 0 and,
/// unless `extra` names its own, ICANN root hints naming only a dead loopback port; ready.
pub(crate) async fn fleet_up(
    peer: std::net::SocketAddr,
    data_dir: &Path,
    extra: &[&str],
    log: &str,
) -> ServiceProcess {
    std::fs::create_dir_all(data_dir).unwrap();
    let mut args: Vec<String> = vec![
        "up".into(),
        "--network".into(),
        "regtest".into(),
        "--peer".into(),
        peer.to_string(),
        "--data-dir".into(),
        data_dir.display().to_string(),
    ];
    for (flag, value) in [
        ("--dns-listen", "127.0.0.1:0"),
        ("--root-listen", "127.0.0.1:0"),
        ("--admin-listen", "127.0.0.1:0"),
        ("--log-format", "json"),
    ] {
        args.extend([flag.to_string(), value.to_string()]);
    }
    // Never the real ICANN roots: a hints file naming only a dead loopback port, unless the
    // caller gives its own.
    if !extra.contains(&"--icann-root-hints") {
        let hints = data_dir.join("no-icann.hints");
        std::fs::write(&hints, "127.0.0.1:9\n").unwrap();
        args.extend([
            "--icann-root-hints".to_string(),
            hints.display().to_string(),
        ]);
    }
    args.extend(extra.iter().map(|s| s.to_string()));
    let process = ServiceProcess::spawn(Path::new(BIN), &args, log)
        .await
        .unwrap();
    process.wait_ready(Duration::from_secs(60)).await.unwrap();
    process
}
