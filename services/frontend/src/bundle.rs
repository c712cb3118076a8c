//! Proof bundles (`hnsfleet-proof-bundle`): on request only, the frontend adds to an answer
//! what lets the client check it without trusting the fleet — the TLD's Urkel proof against
//! the trusted root, the headers from the one carrying that root to a follower's tip, and the
//! DNSSEC chain down to the answer's signer.
//!
//! A query asks with the EDNS0 option [`hnsfleet_proof_bundle::OPTION_CODE`] (DoH clients may
//! send `hns-proof=1` instead; the DoH listener turns it into the option). Building a bundle
//! costs a few look-ups that caches mostly answer: the TLD's verified look-up (proof-cache),
//! the headers (proof-cache → follower, reused for a few seconds per root), the root's DNSKEY
//! and DS answers (root answer reuse), and each zone's DNSKEY and DS below (the recursion's
//! caches). None of it runs for a query without the option, nor over UDP (a bundle never fits:
//! such a query gets an empty TC=1 reply at once).

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::Message;
use hickory_proto::rr::rdata::opt::EdnsCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hnsfleet_dns_wire::Request;
use hnsfleet_hns::chain::SafeRoot;
use hnsfleet_proof_bundle::{Bundle, OPTION_CODE};

use crate::recursion::Recursion;
use crate::root::RootAuthority;

/// Most zone cuts followed from the answer's signer up to the TLD.
const MAX_ZONE_CUTS: usize = 8;

/// Whether `request` asks for a proof bundle.
pub fn wants_bundle(request: &Request) -> bool {
    request
        .message
        .edns
        .as_ref()
        .is_some_and(|e| e.options().get(EdnsCode::Unknown(OPTION_CODE)).is_some())
}

/// The bundle for `response` (the answer to `qname`), or why there is none.
pub async fn build(
    root: &RootAuthority,
    recursion: &Recursion,
    qname: &Name,
    response: &Message,
) -> Result<Bundle, String> {
    let label = qname
        .iter()
        .next_back()
        .ok_or_else(|| "the root itself has no TLD to prove".to_string())?;
    let tld_text = String::from_utf8_lossy(label).to_ascii_lowercase();
    let tld = hnsfleet_hns::name::Name::parse(&tld_text)
        .map_err(|e| format!("{tld_text:?} is not an HNS name: {e}"))?;
    let found = root.tld_lookup(&tld).await.map_err(|e| e.to_string())?;
    let lookup = &found.lookup;
    let safe = SafeRoot {
        height: lookup.height(),
        tree_root: *lookup.tree_root(),
    };
    let headers = root.root_headers(safe).await?;
    let (first_height, headers) = (headers.0, headers.1.clone());
    let tld_name =
        Name::from_ascii(format!("{tld_text}.")).map_err(|e| format!("TLD {tld_text}: {e}"))?;
    let absent = lookup.resource_data().is_empty();
    let icann = absent && hnsfleet_hns::reserved::is_root_reserved(&tld_text);
    let mut records: Vec<Record> = Vec::new();
    if icann {
        let chain = root.icann_chain(&tld_name).await;
        records.extend(chain.map_err(|e| e.to_string())?);
    } else if !absent {
        records.extend(root.signed_set(&Name::root(), RecordType::DNSKEY).await?);
        records.extend(root.signed_set(&tld_name, RecordType::DS).await?);
    }
    // A TLD proven absent and not reserved: the absence proof is the whole answer.
    if icann || !absent {
        for signer in signers(response) {
            chain_up(recursion, &signer, &tld_name, &mut records).await?;
        }
    }
    dedup(&mut records);
    Ok(Bundle {
        network: root.network(),
        tld: tld_text,
        tree_root: safe.tree_root,
        first_height,
        headers,
        proof: lookup.proof().to_vec(),
        records,
    })
}

/// The zones whose keys signed the response's records (the root aside).
fn signers(response: &Message) -> Vec<Name> {
    let mut out: Vec<Name> = response
        .answers
        .iter()
        .chain(response.authorities.iter())
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig.input().signer_name.to_lowercase()),
            _ => None,
        })
        .filter(|n| !n.is_root())
        .collect();
    out.sort();
    out.dedup();
    out
}

/// Adds the DNSKEY set of `zone` and, up to the TLD, each zone's DS set (signed by its
/// parent, whose keys follow), with their RRSIGs.
async fn chain_up(
    recursion: &Recursion,
    signer: &Name,
    tld: &Name,
    records: &mut Vec<Record>,
) -> Result<(), String> {
    if !tld.zone_of(signer) {
        return Err(format!("the answer is signed by {signer}, outside {tld}"));
    }
    let mut zone = signer.clone();
    for _ in 0..MAX_ZONE_CUTS {
        records.extend(resolved(recursion, &zone, RecordType::DNSKEY).await?);
        if zone == *tld {
            return Ok(());
        }
        let ds = resolved(recursion, &zone, RecordType::DS).await?;
        let parent = ds.iter().find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => Some(sig.input().signer_name.to_lowercase()),
            _ => None,
        });
        records.extend(ds);
        match parent {
            Some(parent) if parent.zone_of(&zone) && parent != zone => zone = parent,
            _ => return Err(format!("no signed DS for {zone}")),
        }
    }
    Err(format!("more than {MAX_ZONE_CUTS} zone cuts below {tld}"))
}

/// The validated answer (records and RRSIGs) to `name`/`rtype` through the recursion.
async fn resolved(
    recursion: &Recursion,
    name: &Name,
    rtype: RecordType,
) -> Result<Vec<Record>, String> {
    let answer = recursion
        .resolve(name, rtype)
        .await
        .map_err(|e| format!("{name} {rtype}: {e}"))?;
    if !answer.secure || answer.answers.is_empty() {
        return Err(format!("{name} {rtype}: no validated answer"));
    }
    Ok(answer.answers)
}

fn dedup(records: &mut Vec<Record>) {
    let mut seen: Vec<Record> = Vec::with_capacity(records.len());
    for record in records.drain(..) {
        if !seen.contains(&record) {
            seen.push(record);
        }
    }
    *records = seen;
}
