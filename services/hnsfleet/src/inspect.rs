//! `hnsfleet inspect`: offline decoding and verification of Handshake data.
//!
//! Every subcommand reads hex (or `-` for stdin), prints JSON (or zone text for
//! `resource --dns`) on stdout, and fails with one line naming the cause. Nothing here
//! touches the network or the disk.

use std::io::{BufRead, Write};

use anyhow::{Context, anyhow, bail};
use clap::{Args, Subcommand};
use hickory_proto::rr::Name;
use hnsfleet_hns::header::Header;
use hnsfleet_hns::name as hns_name;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::pow::Target;
use hnsfleet_hns::resource::Resource;
use hnsfleet_hns::types::TreeRoot;
use hnsfleet_hns::urkel::{AbsenceKind, verify_name_proof};
use hnsfleet_hns_dns::ResourceDns as _;
use serde_json::{Value, json};

/// Arguments of `hnsfleet inspect`.
#[derive(Debug, Args)]
pub struct InspectArgs {
    /// What to inspect.
    #[command(subcommand)]
    pub what: InspectCommand,
}

/// The things `inspect` can decode.
#[derive(Debug, Subcommand)]
pub enum InspectCommand {
    /// A 236-byte block header: hash, prev, tree root, bits, target, time, PoW validity.
    Header {
        /// Header bytes as hex, or `-` to read them from stdin.
        hex: String,
    },
    /// An Urkel proof for a name against a tree root: `exists` or `absent`; exits 1 if it does not verify.
    Proof {
        /// Tree root (64 hex characters) the proof must lead to.
        #[arg(long)]
        root: String,
        /// The top-level name the proof is about.
        #[arg(long, allow_hyphen_values = true)]
        name: String,
        /// Network whose auction rules give the name's state (with `--height`).
        #[arg(long, default_value = "main")]
        network: Network,
        /// Height at which to evaluate the auction state of an existing name.
        #[arg(long)]
        height: Option<u32>,
        /// Proof bytes as hex, or `-` to read them from stdin.
        hex: String,
    },
    /// A name resource: hsd's `getnameresource` JSON, or with `--dns` the root's DNS records.
    Resource {
        /// Print the records a root server serves for this TLD, as zone-file text.
        #[arg(long, value_name = "NAME")]
        dns: Option<String>,
        /// Resource bytes as hex, or `-` to read them from stdin.
        hex: String,
    },
}

/// Runs one `inspect` subcommand.
pub fn run(args: InspectArgs, input: &mut dyn BufRead, out: &mut dyn Write) -> anyhow::Result<()> {
    match args.what {
        InspectCommand::Header { hex } => {
            let bytes = read_hex(&hex, input)?;
            print_json(out, &header_json(&bytes)?)
        }
        InspectCommand::Proof {
            root,
            name,
            hex,
            network,
            height,
        } => {
            let bytes = read_hex(&hex, input)?;
            print_json(out, &proof_json(&root, &name, &bytes, network, height)?)
        }
        InspectCommand::Resource { dns, hex } => {
            let bytes = read_hex(&hex, input)?;
            let resource = decode_resource(&bytes)?;
            match dns {
                None => writeln!(out, "{}", resource.to_json())?,
                Some(name) => write!(out, "{}", resource_zone_text(&resource, &name)?)?,
            }
            Ok(())
        }
    }
}

/// Reads hex from the argument, or from `input` when the argument is `-`. Whitespace around
/// the hex (a trailing newline from a file) is ignored.
fn read_hex(arg: &str, input: &mut dyn BufRead) -> anyhow::Result<Vec<u8>> {
    let text = if arg == "-" {
        let mut s = String::new();
        input.read_to_string(&mut s).context("reading stdin")?;
        s
    } else {
        arg.to_string()
    };
    let text = text.trim();
    hex::decode(text).map_err(|e| anyhow!("invalid hex input: {e}"))
}

fn print_json(out: &mut dyn Write, value: &Value) -> anyhow::Result<()> {
    serde_json::to_writer(&mut *out, value)?;
    writeln!(out)?;
    Ok(())
}

fn decode_resource(bytes: &[u8]) -> anyhow::Result<Resource> {
    Resource::decode(bytes).map_err(|e| anyhow!("invalid resource: {e}"))
}

/// The records the HNS root serves for `name` from this resource: the referral (NS, DS),
/// TXT, then glue, each as zone-file lines.
fn resource_zone_text(resource: &Resource, name: &str) -> anyhow::Result<String> {
    // The root serves owners derived from the query name in lower case (hsd does the same).
    let mut tld = Name::from_ascii(name.to_ascii_lowercase())
        .map_err(|e| anyhow!("invalid name {name:?}: {e}"))?;
    tld.set_fqdn(true);
    if tld.num_labels() != 1 {
        bail!("invalid name {name:?}: expected a single top-level label");
    }
    let referral = resource
        .referral(&tld)
        .map_err(|e| anyhow!("cannot convert resource: {e}"))?;
    let mut records = Vec::new();
    records.extend(referral.ns);
    records.extend(referral.ds);
    records.extend(resource.txt_records(&tld));
    records.extend(referral.glue);
    Ok(hnsfleet_hns_dns::to_zone_text(&records))
}

/// Decodes a header and checks its proof of work against its own `bits`. A header whose PoW
/// fails is still shown (`powValid: false` and the reason); only undecodable input is an error.
fn header_json(bytes: &[u8]) -> anyhow::Result<Value> {
    let header = Header::decode(bytes).map_err(|e| anyhow!("invalid header: {e}"))?;
    let hash = header.hash();
    let target = Target::from_bits(header.bits);
    let pow = header.verify_pow();
    let mut out = json!({
        "hash": hash.to_hex(),
        "prev": header.prev_block.to_hex(),
        "treeRoot": header.tree_root.to_hex(),
        "reservedRoot": hex::encode(header.reserved_root),
        "witnessRoot": hex::encode(header.witness_root),
        "merkleRoot": hex::encode(header.merkle_root),
        "extraNonce": hex::encode(header.extra_nonce),
        "mask": hex::encode(header.mask),
        "version": header.version,
        "nonce": header.nonce,
        "time": header.time,
        "bits": header.bits,
        "target": target.as_ref().map(|t| hex::encode(t.to_be_bytes())).ok(),
        "work": target.as_ref().map(|t| hex::encode(t.work().to_be_bytes())).ok(),
        "powValid": pow.is_ok(),
    });
    if let (Err(e), Some(obj)) = (pow, out.as_object_mut()) {
        obj.insert("powError".into(), Value::String(e.to_string()));
    }
    Ok(out)
}

/// Verifies a proof for `name` against `root`. Existing names come with their name state (the
/// auction state is evaluated at `height` on `network` when a height is given) and decoded
/// resource; absent names with the kind of absence proof.
fn proof_json(
    root: &str,
    name: &str,
    bytes: &[u8],
    network: Network,
    height: Option<u32>,
) -> anyhow::Result<Value> {
    let root = TreeRoot::from_hex(root)
        .map_err(|_| anyhow!("invalid root: expected 64 hex characters, got {root:?}"))?;
    let name = hns_name::Name::parse(name).map_err(|e| anyhow!("invalid name {name:?}: {e}"))?;
    let key = name.hash();
    let verified = verify_name_proof(&root, &key, bytes)
        .map_err(|e| anyhow!("proof does not verify: {e} (urkel code {})", e.code()))?;
    let mut out = json!({
        "name": name.as_str(),
        "nameHash": key.to_hex(),
        "root": root.to_hex(),
    });
    let Some(obj) = out.as_object_mut() else {
        bail!("internal error: json object expected");
    };
    match (verified.state(), verified.absence()) {
        (Some(state), _) => {
            obj.insert("exists".into(), Value::Bool(true));
            let rules = network.params().names;
            let mut ns = serde_json::to_value(state.to_json(&key, height.unwrap_or(0), &rules))?;
            if height.is_none() {
                // Without a height there is no auction state to report (hsd omits it too).
                if let Some(ns) = ns.as_object_mut() {
                    ns.remove("state");
                }
            }
            obj.insert("nameState".into(), ns);
            let (resource, error) = match state.resource_data().map(Resource::decode) {
                None => (Value::Null, None),
                Some(Ok(r)) => (serde_json::to_value(&r)?, None),
                Some(Err(e)) => (Value::Null, Some(e.to_string())),
            };
            obj.insert("resource".into(), resource);
            if let Some(e) = error {
                obj.insert("resourceError".into(), Value::String(e));
            }
        }
        (None, kind) => {
            obj.insert("exists".into(), Value::Bool(false));
            let kind = match kind {
                Some(AbsenceKind::DeadEnd) => "deadend",
                Some(AbsenceKind::Short) => "short",
                Some(AbsenceKind::Collision) => "collision",
                None => bail!("internal error: verified proof with neither state nor absence"),
            };
            obj.insert("absence".into(), Value::String(kind.into()));
        }
    }
    Ok(out)
}
