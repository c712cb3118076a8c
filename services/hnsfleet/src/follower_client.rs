//! `hnsfleet tip` and `hnsfleet lookup`: ask a chain-follower (or, for `lookup --cache`, a
//! proof-cache) over gRPC and print JSON.
//!
//! The CLI trusts nothing it is sent: a look-up is re-verified with `hnsfleet-verify` (the
//! proof against the returned root and the name's own hash, every claimed value against the
//! proof), and the name state and resource it prints are the ones inside that verified proof. The resource is printed in hsd's `getnameresource` form
//! (`null` when the name does not exist or has no resource), so operators can diff it with hsd.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, anyhow};
use hnsfleet_hns::name::Name;
use hnsfleet_hns::resource::Resource;
use hnsfleet_proto::cache::v1 as cache_pb;
use hnsfleet_proto::cache::v1::proof_cache_service_client::ProofCacheServiceClient;
use hnsfleet_proto::convert::ChainTip;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use hnsfleet_proto::status::reason_of;
use hnsfleet_verify::{LookupClaim, VerifiedLookup, verify_lookup};
use serde_json::{Value, json};
use tonic::transport::Channel;

/// Where the follower is and how long to wait for it.
#[derive(Debug, Clone, clap::Args)]
pub struct FollowerTarget {
    /// The follower's gRPC URL.
    #[arg(
        long,
        env = "HNSFLEET_FOLLOWER",
        default_value = "http://127.0.0.1:9530"
    )]
    pub follower: String,
    /// Deadline for the whole call, a human duration (`2s`, `500ms`).
    #[arg(long, default_value = "10s", value_parser = hnsfleet_service_kit::config::duration::parse)]
    pub timeout: Duration,
}

/// `hnsfleet tip`.
#[derive(Debug, Clone, clap::Args)]
pub struct TipArgs {
    /// The follower to ask.
    #[command(flatten)]
    pub target: FollowerTarget,
}

/// `hnsfleet lookup NAME`.
#[derive(Debug, Clone, clap::Args)]
pub struct LookupArgs {
    /// The top-level name (one label).
    pub name: String,
    /// The follower to ask.
    #[command(flatten)]
    pub target: FollowerTarget,
    /// Ask this proof-cache (gRPC URL) instead of the follower; the answer is re-verified the
    /// same way and printed the same.
    #[arg(long, value_name = "URL", env = "HNSFLEET_PROOF_CACHE")]
    pub cache: Option<String>,
}

/// Prints `{"height","hash","tree_root","chainwork","time","synced"}` of the follower's tip
/// (`synced`: whether the follower says it has caught up with the network, the condition for
/// proof-caches to trust its root).
pub fn run_tip(args: TipArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let response = call(
        &args.target,
        pb::GetTipRequest {},
        |mut client, request| async move { client.get_tip(request).await },
    )?;
    let wire = response
        .tip
        .ok_or_else(|| anyhow!("follower sent no tip"))?;
    let tip = ChainTip::try_from(&wire).map_err(|e| anyhow!("follower sent a bad tip: {e}"))?;
    let json = json!({
        "height": tip.height,
        "hash": tip.hash.to_hex(),
        "tree_root": tip.tree_root.to_hex(),
        "chainwork": hex::encode(tip.chainwork.to_be_bytes()),
        "time": tip.time_unix_secs,
        "synced": response.synced,
    });
    writeln!(out, "{json}")?;
    Ok(())
}

/// Prints `{"name","height","root","exists","resource","info"}` for a verified look-up.
pub fn run_lookup(args: LookupArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let name = Name::parse(&args.name).map_err(|e| anyhow!("invalid name {:?}: {e}", args.name))?;
    if let Some(cache) = &args.cache {
        let request = cache_pb::LookupNameRequest {
            name: name.as_str().to_string(),
        };
        let response = call_at(
            cache,
            "proof-cache",
            args.target.timeout,
            request,
            |channel, request| async move {
                ProofCacheServiceClient::new(channel)
                    .lookup_name(request)
                    .await
            },
        )?;
        let verified = verify_answer(
            &name,
            pb::LookupNameResponse {
                lookup: response.lookup,
            },
        )
        .map_err(|e| anyhow!("proof-cache returned an unverifiable answer: {e:#}"))?;
        writeln!(out, "{}", lookup_json(&verified)?)?;
        return Ok(());
    }
    let request = pb::LookupNameRequest {
        name: name.as_str().to_string(),
        root: None,
    };
    let response = call(&args.target, request, |mut client, request| async move {
        client.lookup_name(request).await
    })?;
    let verified = verify_answer(&name, response)
        .map_err(|e| anyhow!("follower returned an unverifiable answer: {e:#}"))?;
    writeln!(out, "{}", lookup_json(&verified)?)?;
    Ok(())
}

/// Checks the answer's shape and re-verifies it as the answer for `name` (crate
/// `hnsfleet-verify`); nothing from an answer that fails is used.
pub fn verify_answer(
    name: &Name,
    response: pb::LookupNameResponse,
) -> anyhow::Result<VerifiedLookup> {
    let wire = response.lookup.context("no look-up in the response")?;
    let claim = LookupClaim::try_from(&wire)?;
    Ok(verify_lookup(name, claim)?)
}

/// The printed JSON of a verified look-up, built from the verified values only.
pub fn lookup_json(verified: &VerifiedLookup) -> anyhow::Result<Value> {
    let data = verified.resource_data();
    // hsd's getnameresource: null without data, {} if the data does not decode.
    let resource = if data.is_empty() {
        Value::Null
    } else {
        match Resource::decode(data) {
            Ok(resource) => serde_json::from_str(&resource.to_json())?,
            Err(_) => json!({}),
        }
    };
    let mut json = json!({
        "name": verified.name().as_str(),
        "height": verified.height(),
        "root": verified.tree_root().to_hex(),
        "exists": verified.exists(),
        "resource": resource,
    });
    // hsd's getnameinfo `info` (without `stats`) for the proven state, its auction phase at
    // the follower's tip; null when the name is absent, left out by a follower that does not
    // say its network.
    if let Some(network) = verified.network() {
        let info = match verified.state() {
            Some(s) => serde_json::to_value(s.to_json(
                verified.name_hash(),
                verified.tip_height(),
                &network.params().names,
            ))?,
            None => Value::Null,
        };
        json["info"] = info;
    }
    Ok(json)
}

/// Connects and runs one call on a current-thread runtime within the target's deadline, which
/// is also sent as the call's `grpc-timeout` so the follower stops working when we stop
/// waiting. A failure's line names the status code and the follower's machine-readable reason.
fn call<Req, T, F, Fut>(target: &FollowerTarget, message: Req, f: F) -> anyhow::Result<T>
where
    F: FnOnce(ChainFollowerServiceClient<Channel>, tonic::Request<Req>) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    call_at(
        &target.follower,
        "follower",
        target.timeout,
        message,
        |channel, request| f(ChainFollowerServiceClient::new(channel), request),
    )
}

/// [`call`] against the service `what` at `url`.
pub(crate) fn call_at<Req, T, F, Fut>(
    url: &str,
    what: &str,
    deadline: Duration,
    message: Req,
    f: F,
) -> anyhow::Result<T>
where
    F: FnOnce(Channel, tonic::Request<Req>) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    runtime.block_on(async {
        let started = tokio::time::Instant::now();
        let work = async {
            let endpoint = tonic::transport::Endpoint::from_shared(url.to_string())
                .with_context(|| format!("bad {what} URL {url:?}"))?
                .connect_timeout(deadline);
            let channel = endpoint
                .connect()
                .await
                .with_context(|| format!("cannot reach {what} {url}"))?;
            let mut request = tonic::Request::new(message);
            request.set_timeout(deadline.saturating_sub(started.elapsed()));
            match f(channel, request).await {
                Ok(response) => Ok(response.into_inner()),
                Err(status) => Err(anyhow!("{}", status_line_of(what, &status))),
            }
        };
        tokio::time::timeout(deadline, work)
            .await
            .map_err(|_| anyhow!("{what} {url} did not answer within {deadline:?}"))?
    })
}

/// `follower error CODE REASON: message` (the reason when the status carries one).
pub fn status_line(status: &tonic::Status) -> String {
    status_line_of("follower", status)
}

/// `WHAT error CODE REASON: message` (the reason when the status carries one).
pub fn status_line_of(what: &str, status: &tonic::Status) -> String {
    let code = hnsfleet_service_kit::grpc::code_label(status.code());
    match reason_of(status) {
        Some(reason) => format!("{what} error {code} {reason}: {}", status.message()),
        None => format!("{what} error {code}: {}", status.message()),
    }
}

#[cfg(test)]
mod tests;
