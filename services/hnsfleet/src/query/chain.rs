//! `hnsfleet query --verify-chain` and `hnsfleet bundle verify FILE`: ask for a proof bundle
//! (`hnsfleet-proof-bundle`) with the answer, or read a saved response, and check it step by
//! step: headers and their proof of work, the root, the Urkel proof, the delegation, the DNSSEC
//! chain and the answer. Each step's verdict is printed; a failed step makes the exit status 1.
//!
//! With `--chain URL` (a follower the user runs), the first header must also be the one that
//! follower's validated chain holds at that height.

use std::collections::BTreeMap;
use std::fmt::Write as _;
use std::path::PathBuf;
use std::time::Duration;

use anyhow::Context as _;
use hickory_proto::op::Message;
use hnsfleet_hns::header::Header;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::pow::Target;
use hnsfleet_hns::types::BlockHash;
use hnsfleet_proof_bundle::{
    Bundle, KnownChain, Policy, Report, Verdict, bundle_of, parse_anchors, verify,
};
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use serde_json::{Value, json};

/// How a bundle is judged (flags shared by `query --verify-chain` and `bundle verify`).
#[derive(Debug, Clone, clap::Args)]
pub struct ChainArgs {
    /// The network the answer must come from (main, testnet, regtest, simnet).
    #[arg(long, default_value = "main")]
    pub network: Network,
    /// Fewest headers a bundle must carry (default: the safe-root depth, 12; on regtest the
    /// tree interval).
    #[arg(long, value_name = "N")]
    pub min_headers: Option<usize>,
    /// The easiest target a header may have, as compact bits (hex, e.g. 0x194783a0; default
    /// on mainnet: 1/16 of the difficulty at height 136,000).
    #[arg(long, value_name = "BITS", value_parser = parse_bits)]
    pub difficulty_floor: Option<u32>,
    /// Accept a last header of any age (checking an old saved bundle); by default it may be
    /// at most the network's maximum tip age (12 h on mainnet).
    #[arg(long)]
    pub any_tip_age: bool,
    /// ICANN trust anchors (DS lines owned by `.`) for ICANN names (default: IANA's KSK-2017
    /// and KSK-2024).
    #[arg(long, value_name = "FILE")]
    pub icann_anchors: Option<PathBuf>,
    /// A follower you run (gRPC URL): the first header must be the one its chain holds.
    #[arg(long, value_name = "URL")]
    pub chain: Option<String>,
    /// Check as of this time (Unix seconds) instead of now.
    #[arg(long, value_name = "UNIX_SECONDS")]
    pub at: Option<u64>,
}

/// Flags of `hnsfleet bundle verify`.
#[derive(Debug, Clone, clap::Args)]
pub struct VerifyArgs {
    /// A response saved with `hnsfleet query --verify-chain --save FILE` (DNS wire form).
    pub file: PathBuf,
    /// How to judge it.
    #[command(flatten)]
    pub chain: ChainArgs,
    /// Print JSON instead of text.
    #[arg(long)]
    pub json: bool,
}

/// `hnsfleet bundle ...`.
#[derive(Debug, Clone, clap::Subcommand)]
pub enum BundleCommand {
    /// Check a saved response and its proof bundle offline, step by step.
    Verify(VerifyArgs),
}

/// A verification and what it was made with.
#[derive(Debug)]
pub struct Checked {
    /// The verdict of each step.
    pub report: Report,
    /// The bundle's encoded size, if one decoded.
    pub bundle_bytes: Option<usize>,
    /// The network judged against.
    pub network: Network,
}

fn parse_bits(text: &str) -> Result<u32, String> {
    let digits = text.trim_start_matches("0x").trim_start_matches("0X");
    let bits = u32::from_str_radix(digits, 16).map_err(|e| format!("{text:?}: {e}"))?;
    Target::from_bits(bits).map_err(|e| format!("{text:?}: {e}"))?;
    Ok(bits)
}

/// The policy the flags describe.
pub fn policy(args: &ChainArgs) -> anyhow::Result<Policy> {
    let mut policy = Policy::for_network(args.network);
    if let Some(n) = args.min_headers {
        anyhow::ensure!(n >= 1, "--min-headers must be at least 1");
        policy.min_headers = n;
    }
    if let Some(bits) = args.difficulty_floor {
        policy.max_target = Target::from_bits(bits).ok();
    }
    if args.any_tip_age {
        policy.max_tip_age = None;
    }
    if let Some(path) = &args.icann_anchors {
        let text = std::fs::read_to_string(path)
            .with_context(|| format!("cannot read {}", path.display()))?;
        policy.icann_anchors =
            parse_anchors(&text).map_err(|e| anyhow::anyhow!("{}: {e}", path.display()))?;
    }
    Ok(policy)
}

/// Checks `response` under the flags (asking `--chain` for its headers when given).
pub fn check(response: &Message, args: &ChainArgs) -> anyhow::Result<Checked> {
    let policy = policy(args)?;
    let now = args.at.unwrap_or_else(|| {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .map_or(0, |d| d.as_secs())
    });
    let bundle = bundle_of(response).ok();
    let own = match (&args.chain, &bundle) {
        (Some(url), Some(bundle)) => Some(own_chain(url, bundle)?),
        _ => None,
    };
    let report = verify(
        response,
        &policy,
        now,
        own.as_ref().map(|c| c as &dyn KnownChain),
    );
    Ok(Checked {
        report,
        bundle_bytes: bundle.is_some().then(|| option_len(response)).flatten(),
        network: args.network,
    })
}

/// The size of the bundle as received: its EDNS option's data.
fn option_len(response: &Message) -> Option<usize> {
    let code = hickory_proto::rr::rdata::opt::EdnsCode::Unknown(hnsfleet_proof_bundle::OPTION_CODE);
    match response.edns.as_ref()?.options().get(code)? {
        hickory_proto::rr::rdata::opt::EdnsOption::Unknown(_, data) => Some(data.len()),
        _ => None,
    }
}

/// The hashes the user's own follower holds at the bundle's heights.
struct OwnChain(BTreeMap<u32, BlockHash>);

impl KnownChain for OwnChain {
    fn hash_at(&self, height: u32) -> Option<BlockHash> {
        self.0.get(&height).copied()
    }
}

/// Asks the follower at `url` for its headers from the one carrying the bundle's root; a
/// follower whose chain does not hold that root at that height holds none of them.
fn own_chain(url: &str, bundle: &Bundle) -> anyhow::Result<OwnChain> {
    let request = pb::GetHeadersRequest {
        root: Some(pb::SafeRoot {
            height: bundle.first_height,
            tree_root: bundle.tree_root.as_bytes().to_vec(),
        }),
    };
    let answer = crate::follower_client::call_at(
        url,
        "follower",
        Duration::from_secs(10),
        request,
        |channel, request| async move {
            ChainFollowerServiceClient::new(channel)
                .get_headers(request)
                .await
        },
    );
    let mut hashes = BTreeMap::new();
    match answer {
        Ok(response) => {
            let chain = response.chain.unwrap_or_default();
            for (i, raw) in chain.headers.iter().enumerate() {
                let header = Header::decode(raw).context("the follower sent a bad header")?;
                hashes.insert(chain.first_height + i as u32, header.hash());
            }
        }
        // Not on its chain: it holds nothing the bundle claims.
        Err(error) if error.to_string().contains("UNKNOWN_ROOT") => {}
        Err(error) => return Err(error),
    }
    Ok(OwnChain(hashes))
}

/// The text lines of a verification (after the answer).
pub fn text(checked: &Checked) -> String {
    let mut out = String::new();
    let size = checked
        .bundle_bytes
        .map_or("none".to_string(), |b| format!("{b} bytes"));
    let _ = writeln!(
        out,
        "\n;; PROOF BUNDLE ({size}, network {}):",
        checked.network
    );
    for (step, verdict) in &checked.report.steps {
        let (word, detail) = match verdict {
            Verdict::Passed(detail) => ("ok", detail.clone()),
            Verdict::Failed(error) => ("FAILED", error.to_string()),
            Verdict::NotRun => ("not run", String::new()),
        };
        let _ = writeln!(out, ";;   {:<11}{:<9}{detail}", step.name(), word);
    }
    match checked.report.failure() {
        None => {
            let _ = writeln!(
                out,
                ";; CHAIN: verified (proof of work, Urkel proof and DNSSEC down to the answer)"
            );
        }
        Some((step, error)) => {
            let _ = writeln!(out, ";; CHAIN: NOT VERIFIED: step {step} failed: {error}");
        }
    }
    out
}

/// The JSON form of a verification.
pub fn json(checked: &Checked) -> Value {
    let steps: Vec<Value> = checked
        .report
        .steps
        .iter()
        .map(|(step, verdict)| {
            let (word, detail) = match verdict {
                Verdict::Passed(detail) => ("passed", Some(detail.clone())),
                Verdict::Failed(error) => ("failed", Some(error.to_string())),
                Verdict::NotRun => ("not_run", None),
            };
            json!({"step": step.name(), "verdict": word, "detail": detail})
        })
        .collect();
    json!({
        "verified": checked.report.is_verified(),
        "failed_step": checked.report.failure().map(|(s, _)| s.name()),
        "network": checked.network.to_string(),
        "bundle_bytes": checked.bundle_bytes,
        "steps": steps,
    })
}

/// `hnsfleet bundle verify FILE`: prints the verdicts; exit status 0 when every step passed,
/// 1 when one failed, 64 when the file or the flags are unusable.
pub fn main_verify(args: &VerifyArgs) -> std::process::ExitCode {
    let mut stdout = std::io::stdout().lock();
    match run_verify(args, &mut stdout) {
        Ok(true) => std::process::ExitCode::SUCCESS,
        Ok(false) => std::process::ExitCode::from(super::EXIT_REJECTED),
        Err(error) => {
            eprintln!("error: {error:#}");
            std::process::ExitCode::from(super::EXIT_USAGE)
        }
    }
}

/// Checks the saved response of `args` and prints the verdicts; whether every step passed.
pub fn run_verify(args: &VerifyArgs, out: &mut dyn std::io::Write) -> anyhow::Result<bool> {
    let bytes = std::fs::read(&args.file)
        .with_context(|| format!("cannot read {}", args.file.display()))?;
    let response = Message::from_vec(&bytes)
        .map_err(|e| anyhow::anyhow!("{} is not a DNS message: {e}", args.file.display()))?;
    let checked = check(&response, &args.chain)?;
    let text = if args.json {
        json(&checked).to_string() + "\n"
    } else {
        let question = response
            .queries
            .first()
            .map(|q| format!("{} {}", q.name(), q.query_type()))
            .unwrap_or_default();
        format!(
            ";; {}: {question}{}",
            args.file.display(),
            self::text(&checked)
        )
    };
    out.write_all(text.as_bytes())?;
    Ok(checked.report.is_verified())
}
