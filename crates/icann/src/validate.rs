//! Pure DNSSEC validation of root responses: the root key set from trust anchors, then a TLD's
//! referral or NXDOMAIN with those keys. No I/O; `now` (Unix seconds) is a parameter.

use std::time::Duration;

use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, NSEC};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use crate::{Bogus, Fallback, IcannDelegation};

/// Most records accepted in one section of a root response (a real referral has ~40).
pub(crate) const MAX_SECTION: usize = 128;
/// Most DNSKEYs accepted in the root key set (the real one has 2–4).
const MAX_KEYS: usize = 16;

/// The root's validated zone keys and how long they may be trusted.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct RootKeys {
    keys: Vec<DNSKEY>,
    ttl: u32,
    signed: Vec<Record>,
}

// === impl RootKeys ===

impl RootKeys {
    /// The zone keys (ZONE flag, not revoked) of the validated `. DNSKEY` set.
    pub fn keys(&self) -> &[DNSKEY] {
        &self.keys
    }

    /// The `. DNSKEY` set as received with its RRSIGs (for proof bundles).
    pub fn signed(&self) -> &[Record] {
        &self.signed
    }

    /// How long they may be cached: the shortest of the set's TTL, the RRSIG's original TTL, its
    /// remaining validity and the caller's cap.
    pub fn ttl(&self) -> Duration {
        Duration::from_secs(u64::from(self.ttl))
    }
}

/// Validates a `. DNSKEY` response against `anchors` (DS records owned by `.`) at `now`.
pub fn validate_root_keys(
    msg: &Message,
    anchors: &[Record],
    now: u64,
    max_ttl: Duration,
) -> Result<RootKeys, Bogus> {
    if msg.metadata.response_code != ResponseCode::NoError {
        return Err(Bogus::Shape("DNSKEY query not answered with NOERROR"));
    }
    if msg.answers.len() > MAX_SECTION {
        return Err(Bogus::TooManyRecords);
    }
    let root = Name::root();
    let dnskeys: Vec<(&Record, &DNSKEY)> = msg
        .answers
        .iter()
        .filter(|r| r.name.is_root())
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) => Some((r, k)),
            _ => None,
        })
        .collect();
    if dnskeys.len() > MAX_KEYS {
        return Err(Bogus::TooManyRecords);
    }
    let anchored: Vec<DNSKEY> = dnskeys
        .iter()
        .map(|(_, k)| *k)
        .filter(|k| k.zone_key() && !k.revoke())
        .filter(|k| {
            anchors.iter().any(|a| match &a.data {
                RData::DNSSEC(DNSSECRData::DS(ds)) => ds.covers(&root, k).unwrap_or(false),
                _ => false,
            })
        })
        .cloned()
        .collect();
    if anchored.is_empty() {
        return Err(Bogus::NoAnchoredKey);
    }
    let sig_ttl = signed_set(&root, RecordType::DNSKEY, &msg.answers, &anchored, now)?;
    let set_ttl = dnskeys.iter().map(|(r, _)| r.ttl).min().unwrap_or(0);
    let keys = dnskeys
        .iter()
        .map(|(_, k)| *k)
        .filter(|k| k.zone_key() && !k.revoke())
        .cloned()
        .collect();
    let signed = msg
        .answers
        .iter()
        .filter(|r| r.name.is_root())
        .filter(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(_)) => true,
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) => {
                sig.input().type_covered == RecordType::DNSKEY
            }
            _ => false,
        })
        .cloned()
        .collect();
    Ok(RootKeys {
        keys,
        ttl: cap(set_ttl.min(sig_ttl), max_ttl),
        signed,
    })
}

/// Validates the root's response to `<tld>. NS` with the root's zone keys at `now`. Returns what
/// it proves and how long that may be cached (seconds, capped by `max_ttl`).
pub fn validate_referral(
    tld: &Name,
    msg: &Message,
    keys: &RootKeys,
    now: u64,
    max_ttl: Duration,
) -> Result<(Fallback, Duration), Bogus> {
    if [&msg.answers, &msg.authorities, &msg.additionals]
        .iter()
        .any(|s| s.len() > MAX_SECTION)
    {
        return Err(Bogus::TooManyRecords);
    }
    let keys = keys.keys();
    match msg.metadata.response_code {
        ResponseCode::NXDomain => {
            let ttl = prove_nxdomain(tld, &msg.authorities, keys, now)?;
            Ok((Fallback::NxDomain, secs(cap(ttl, max_ttl))))
        }
        ResponseCode::NoError => {
            let (delegation, ttl) = referral(tld, msg, keys, now)?;
            Ok((Fallback::Delegation(delegation), secs(cap(ttl, max_ttl))))
        }
        _ => Err(Bogus::Shape("rcode is neither NOERROR nor NXDOMAIN")),
    }
}

fn referral(
    tld: &Name,
    msg: &Message,
    keys: &[DNSKEY],
    now: u64,
) -> Result<(IcannDelegation, u32), Bogus> {
    if !msg.answers.is_empty() {
        return Err(Bogus::Shape(
            "answer section in a referral (authoritative for the TLD?)",
        ));
    }
    let of_type = |t: RecordType| -> Vec<Record> {
        msg.authorities
            .iter()
            .filter(|r| r.record_type() == t)
            .cloned()
            .collect()
    };
    let ns = of_type(RecordType::NS);
    if ns.is_empty() {
        return Err(Bogus::Shape("no NS set in the referral"));
    }
    if ns.iter().any(|r| r.name != *tld) {
        return Err(Bogus::Shape("NS owned by another name than the TLD"));
    }
    let ds = of_type(RecordType::DS);
    if ds.iter().any(|r| r.name != *tld) {
        return Err(Bogus::Shape("DS owned by another name than the TLD"));
    }
    let mut ttl = ns.iter().map(|r| r.ttl).min().unwrap_or(0);
    if ds.is_empty() {
        // Insecure delegation: a signed NSEC at the TLD with NS and neither DS nor SOA.
        let proof = msg.authorities.iter().find_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(n)) if r.name == *tld => Some((r, n)),
            _ => None,
        });
        let Some((record, nsec)) = proof else {
            return Err(Bogus::UnprovenInsecure);
        };
        let types = nsec.type_set();
        if !types.contains(RecordType::NS)
            || types.contains(RecordType::DS)
            || types.contains(RecordType::SOA)
        {
            return Err(Bogus::UnprovenInsecure);
        }
        let sig = signed_set(tld, RecordType::NSEC, &msg.authorities, keys, now)?;
        ttl = ttl.min(record.ttl).min(sig);
    } else {
        let sig = signed_set(tld, RecordType::DS, &msg.authorities, keys, now)?;
        ttl = ttl
            .min(ds.iter().map(|r| r.ttl).min().unwrap_or(0))
            .min(sig);
    }
    let targets: Vec<&Name> = ns
        .iter()
        .filter_map(|r| match &r.data {
            RData::NS(n) => Some(&n.0),
            _ => None,
        })
        .collect();
    let glue = msg
        .additionals
        .iter()
        .filter(|r| matches!(r.record_type(), RecordType::A | RecordType::AAAA))
        .filter(|r| targets.iter().any(|t| **t == r.name))
        .cloned()
        .collect();
    let proves = |r: &&Record| {
        r.name == *tld
            && match &r.data {
                RData::DNSSEC(DNSSECRData::DS(_) | DNSSECRData::NSEC(_)) => true,
                RData::DNSSEC(DNSSECRData::RRSIG(sig)) => {
                    matches!(sig.input().type_covered, RecordType::DS | RecordType::NSEC)
                }
                _ => false,
            }
    };
    let signed = msg.authorities.iter().filter(proves).cloned().collect();
    Ok((
        IcannDelegation {
            ns,
            ds,
            glue,
            signed,
        },
        ttl,
    ))
}

/// NXDOMAIN for a TLD: signed NSECs covering the TLD and the root wildcard `*.`.
fn prove_nxdomain(
    tld: &Name,
    authority: &[Record],
    keys: &[DNSKEY],
    now: u64,
) -> Result<u32, Bogus> {
    let wildcard = Name::from_ascii("*.").map_err(|_| Bogus::UnprovenNxDomain)?;
    let mut covered_tld = None;
    let mut covered_wild = None;
    for record in authority {
        let RData::DNSSEC(DNSSECRData::NSEC(nsec)) = &record.data else {
            continue;
        };
        let for_tld = covers(&record.name, nsec, tld);
        let for_wild = covers(&record.name, nsec, &wildcard);
        if !for_tld && !for_wild {
            continue;
        }
        let Ok(sig) = signed_set(&record.name, RecordType::NSEC, authority, keys, now) else {
            continue;
        };
        let ttl = record.ttl.min(sig);
        if for_tld {
            covered_tld = Some(ttl);
        }
        if for_wild {
            covered_wild = Some(ttl);
        }
    }
    match (covered_tld, covered_wild) {
        (Some(a), Some(b)) => Ok(a.min(b)),
        _ => Err(Bogus::UnprovenNxDomain),
    }
}

/// Whether the NSEC at `owner` proves `name` absent ([`hnsfleet_dnssec::nsec_covers`]).
pub(crate) fn covers(owner: &Name, nsec: &NSEC, name: &Name) -> bool {
    hnsfleet_dnssec::nsec_covers(owner, nsec.next_domain_name(), name)
}

/// Finds a valid RRSIG by the root's `keys` over the (`owner`, `rtype`) set in `section` and
/// returns the TTL bound it sets (its original TTL and remaining validity).
fn signed_set(
    owner: &Name,
    rtype: RecordType,
    section: &[Record],
    keys: &[DNSKEY],
    now: u64,
) -> Result<u32, Bogus> {
    hnsfleet_dnssec::verify_set(section, owner, rtype, &Name::root(), keys, now)
        .map_err(|_| Bogus::NoValidSignature(rtype))
}

fn cap(ttl: u32, max: Duration) -> u32 {
    let max = u32::try_from(max.as_secs()).unwrap_or(u32::MAX);
    ttl.min(max)
}

fn secs(ttl: u32) -> Duration {
    Duration::from_secs(u64::from(ttl))
}
