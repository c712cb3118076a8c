//! `hnsfleet tip` and `hnsfleet lookup`: ask a chain-follower over gRPC and print JSON.
//!
//! The CLI trusts nothing it is sent: a look-up's proof is verified again here against the
//! returned root and the name's own hash, and the name state and resource it prints are the
//! ones inside that verified proof. The resource is printed in hsd's `getnameresource` form
//! (`null` when the name does not exist or has no resource), so operators can diff it with hsd.

use std::io::Write;
use std::time::Duration;

use anyhow::{Context, anyhow, bail};
use hnsfleet_hns::name::Name;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::resource::Resource;
use hnsfleet_hns::types::{NameHash, TreeRoot};
use hnsfleet_hns::urkel::verify_name_proof;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_client::ChainFollowerClient;
use serde_json::{Value, json};

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
    /// Deadline for the whole call, milliseconds.
    #[arg(long, default_value_t = 10_000)]
    pub timeout_ms: u64,
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
}

/// Prints `{"height","hash","tree_root","chainwork","time"}` of the follower's tip.
pub fn run_tip(args: TipArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let tip = call(&args.target, |mut client| async move {
        client.get_tip(pb::GetTipRequest {}).await
    })?;
    let json = json!({
        "height": tip.height,
        "hash": hex32("hash", &tip.hash)?,
        "tree_root": hex32("tree_root", &tip.tree_root)?,
        "chainwork": hex32("chainwork", &tip.chainwork)?,
        "time": tip.time,
    });
    writeln!(out, "{json}")?;
    Ok(())
}

/// Prints `{"name","height","root","exists","resource","info"}` for a verified look-up.
pub fn run_lookup(args: LookupArgs, out: &mut dyn Write) -> anyhow::Result<()> {
    let name = Name::parse(&args.name).map_err(|e| anyhow!("invalid name {:?}: {e}", args.name))?;
    let request = pb::LookupNameRequest {
        name: name.as_str().to_string(),
    };
    let answer = call(&args.target, |mut client| async move {
        client.lookup_name(request).await
    })?;
    let json = verified_json(&name, &answer)
        .map_err(|e| anyhow!("follower returned an unverifiable answer: {e:#}"))?;
    writeln!(out, "{json}")?;
    Ok(())
}

/// Re-verifies `answer` for `name` and builds the printed JSON from the verified values only.
pub fn verified_json(name: &Name, answer: &pb::NameLookup) -> anyhow::Result<Value> {
    if answer.name != name.as_str() {
        bail!("answer is for {:?}, not {:?}", answer.name, name.as_str());
    }
    let key = name.hash();
    if answer.name_hash != key.as_bytes() {
        bail!("name hash is not SHA3-256 of the name");
    }
    let root = TreeRoot(
        answer
            .root
            .as_slice()
            .try_into()
            .context("root is not 32 bytes")?,
    );
    let verified = verify_name_proof(&root, &NameHash(*key.as_bytes()), &answer.proof)
        .context("proof does not verify against the returned root")?;
    let state = verified.state();
    if answer.exists != state.is_some() {
        bail!("`exists` contradicts the proof");
    }
    let state_bytes = state.map(|s| s.encode()).unwrap_or_default();
    if answer.name_state != state_bytes {
        bail!("name state differs from the one in the proof");
    }
    let data = state.and_then(|s| s.resource_data()).unwrap_or_default();
    if answer.resource != data {
        bail!("resource differs from the one in the proof");
    }
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
        "name": name.as_str(),
        "height": answer.height,
        "root": root.to_hex(),
        "exists": state.is_some(),
        "resource": resource,
    });
    // hsd's getnameinfo `info` (without `stats`) for the proven state, its auction phase at
    // the follower's tip; null when the name is absent, left out by a follower that does not
    // say its network.
    if !answer.network.is_empty() {
        let network: Network = answer
            .network
            .parse()
            .map_err(|e| anyhow!("follower reports {e}"))?;
        let info = match state {
            Some(s) => serde_json::to_value(s.to_json(
                &NameHash(*key.as_bytes()),
                answer.tip_height,
                &network.params().names,
            ))?,
            None => Value::Null,
        };
        json["info"] = info;
    }
    Ok(json)
}

/// Connects and runs one call on a current-thread runtime within the target's deadline.
fn call<T, F, Fut>(target: &FollowerTarget, f: F) -> anyhow::Result<T>
where
    F: FnOnce(ChainFollowerClient<tonic::transport::Channel>) -> Fut,
    Fut: std::future::Future<Output = Result<tonic::Response<T>, tonic::Status>>,
{
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()?;
    let deadline = Duration::from_millis(target.timeout_ms);
    runtime.block_on(async {
        let work = async {
            let endpoint = tonic::transport::Endpoint::from_shared(target.follower.clone())
                .with_context(|| format!("bad follower URL {:?}", target.follower))?
                .connect_timeout(deadline);
            let channel = endpoint
                .connect()
                .await
                .with_context(|| format!("cannot reach follower {}", target.follower))?;
            match f(ChainFollowerClient::new(channel)).await {
                Ok(response) => Ok(response.into_inner()),
                Err(status) => Err(anyhow!("{:?}: {}", status.code(), status.message())),
            }
        };
        tokio::time::timeout(deadline, work).await.map_err(|_| {
            anyhow!(
                "follower {} did not answer within {deadline:?}",
                target.follower
            )
        })?
    })
}

fn hex32(field: &str, bytes: &[u8]) -> anyhow::Result<String> {
    if bytes.len() != 32 {
        bail!("follower sent a {}-byte {field}", bytes.len());
    }
    Ok(hex::encode(bytes))
}

#[cfg(test)]
mod tests;
