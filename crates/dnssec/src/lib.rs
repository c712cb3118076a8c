//! The DNSSEC checks that the ICANN fallback (`hnsfleet-icann`) and proof bundles
//! (`hnsfleet-proof-bundle`) share, over hickory-proto's signature verification:
//!
//! - trust anchors: the HNS root's KSK ([`HNS_ROOT_ANCHOR`]), ICANN's root KSKs
//!   ([`ICANN_ROOT_ANCHORS`]), and [`parse_anchors`] for DS lines in zone-file syntax;
//! - [`verify_set`]: an RRset signed by one of a zone's keys at a time;
//! - [`validate_keys`]: a zone's DNSKEY set signed by a key one of its DS records names;
//! - [`nsec_covers`]: whether an NSEC record's span holds a name, and [`NsecSet`]: what NSEC
//!   records prove (no data, also at a wildcard; name errors; wildcard answers);
//! - [`Nsec3Chain`]: what NSEC3 records prove (RFC 5155 §8: name errors, no data, wildcards).
//!
//! This crate must not: do I/O or read the clock (`now` is a parameter); accept a signature
//! outside its validity or by a key of another tag or algorithm.
#![forbid(unsafe_code)]

use hickory_proto::dnssec::Verifier;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, RRSIG};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;
use thiserror::Error;

mod nsec;
mod nsec3;
pub use nsec::{NsecError, NsecSet};
pub use nsec3::{MAX_ITERATIONS, Nsec3Chain, Nsec3Error};

/// The HNS root's KSK as a DS record (key tag 35215, ECDSA P-256, SHA-256): the trust anchor of
/// the HNS root zone, the one hsd and hnsd publish.
pub const HNS_ROOT_ANCHOR: &str =
    ". IN DS 35215 13 2 7C50EA94A63AEECB65B510D1EAC1846C973A89D4AB292287D5A4D715136B57A3";

/// ICANN's root KSKs as DS records: KSK-2017 (20326) and KSK-2024 (38696), from IANA's
/// `root-anchors.xml`.
pub const ICANN_ROOT_ANCHORS: &str = "\
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
";

/// Most trust anchors accepted from one text.
pub const MAX_ANCHORS: usize = 16;

/// Most records a set may hold to be checked (a DNSKEY set has 2–4 in practice).
const MAX_SET: usize = 32;

/// Trust anchors that cannot be used.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("trust anchors: {0}")]
pub struct AnchorError(pub String);

/// Why an RRset did not verify.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum SetError {
    /// No record of the set is present.
    #[error("no such records")]
    Empty,
    /// The set is larger than any honest one.
    #[error("too many records")]
    TooLarge,
    /// No RRSIG by one of the keys verifies at `now`: those present, if any, are expired, not
    /// yet valid, by another key or signer, or wrong.
    #[error("none of its {signatures} RRSIG(s) verifies")]
    NoValidSignature {
        /// How many RRSIGs covered the set.
        signatures: usize,
    },
}

/// Parses trust anchors: DS records in zone-file syntax (`. IN DS 20326 8 2 E06D…`, TTL and
/// class optional), e.g. the DS lines of IANA's `root-anchors.xml` or `keymgr . ds`. Other
/// record types are ignored; DS records not owned by `.` are an error, and so are none or
/// more than [`MAX_ANCHORS`].
pub fn parse_anchors(text: &str) -> Result<Vec<Record>, AnchorError> {
    let (_, sets) = Parser::new(format!("$TTL 0\n{text}\n"), None, Some(Name::root()))
        .parse()
        .map_err(|e| AnchorError(format!("zone text: {e}")))?;
    let ds: Vec<Record> = sets
        .into_values()
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
        .filter(|r| matches!(r.data, RData::DNSSEC(DNSSECRData::DS(_))))
        .collect();
    if ds.iter().any(|r| !r.name.is_root()) {
        return Err(AnchorError("a trust anchor is not owned by `.`".into()));
    }
    if ds.is_empty() || ds.len() > MAX_ANCHORS {
        return Err(AnchorError(format!(
            "{} DS trust anchors (want 1 to {MAX_ANCHORS})",
            ds.len()
        )));
    }
    Ok(ds)
}

/// The records of `records` owned by `owner` (case-insensitively) of type `rtype`, class IN.
pub fn rrset<'a>(records: &'a [Record], owner: &Name, rtype: RecordType) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.record_type() == rtype && r.dns_class == DNSClass::IN && r.name == *owner)
        .collect()
}

/// The RRSIGs in `records` owned by `owner` that cover `rtype`.
pub fn rrsigs<'a>(records: &'a [Record], owner: &Name, rtype: RecordType) -> Vec<&'a RRSIG> {
    records
        .iter()
        .filter(|r| r.name == *owner)
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::RRSIG(sig)) if sig.input().type_covered == rtype => {
                Some(sig)
            }
            _ => None,
        })
        .collect()
}

/// Verifies that the set (`owner`, `rtype`) in `records` is signed by one of `keys` of zone
/// `signer` at `now` (Unix seconds): an RRSIG naming `signer`, by a key of matching tag and
/// algorithm, within its validity (serial arithmetic, RFC 4034 §3.1.5), over exactly this
/// set. Returns how long the signature lets the set be trusted: its original TTL, capped by
/// the time left until it expires.
pub fn verify_set(
    records: &[Record],
    owner: &Name,
    rtype: RecordType,
    signer: &Name,
    keys: &[DNSKEY],
    now: u64,
) -> Result<u32, SetError> {
    let all = rrset(records, owner, rtype);
    if all.is_empty() {
        return Err(SetError::Empty);
    }
    if all.len() > MAX_SET {
        return Err(SetError::TooLarge);
    }
    // An RRset holds no duplicates (RFC 4034 §6.3): a repeated record is signed once.
    let mut set: Vec<&Record> = Vec::with_capacity(all.len());
    for record in all {
        if !set.iter().any(|r| r.data == record.data) {
            set.push(record);
        }
    }
    let sigs = rrsigs(records, owner, rtype);
    // RRSIG times are serial numbers modulo 2^32.
    let now32 = now as u32;
    for sig in &sigs {
        let input = sig.input();
        if input.signer_name != *signer || input.num_labels > owner.num_labels() {
            continue;
        }
        let started = (now32.wrapping_sub(input.sig_inception.get()) as i32) >= 0;
        let left = input.sig_expiration.get().wrapping_sub(now32) as i32;
        if !started || left < 0 {
            continue;
        }
        for key in keys {
            if key.algorithm() != input.algorithm
                || key.calculate_key_tag().ok() != Some(input.key_tag)
            {
                continue;
            }
            if key
                .verify_rrsig(owner, DNSClass::IN, sig, set.iter().copied())
                .is_ok()
            {
                return Ok(input.original_ttl.min(left as u32));
            }
        }
    }
    Err(SetError::NoValidSignature {
        signatures: sigs.len(),
    })
}

/// The zone keys of `zone` in `records`, validated: a zone key matching one of `ds` signs the
/// DNSKEY set at `now`. Returns every zone key (ZONE flag, not revoked) of the set.
pub fn validate_keys(
    records: &[Record],
    zone: &Name,
    ds: &[DS],
    now: u64,
) -> Result<Vec<DNSKEY>, String> {
    let keys: Vec<DNSKEY> = rrset(records, zone, RecordType::DNSKEY)
        .into_iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DNSKEY(k)) if k.zone_key() && !k.revoke() => Some(k.clone()),
            _ => None,
        })
        .collect();
    if keys.is_empty() {
        return Err(format!("no DNSKEY for {zone}"));
    }
    let anchored: Vec<DNSKEY> = keys
        .iter()
        .filter(|k| ds.iter().any(|d| d.covers(zone, k).unwrap_or(false)))
        .cloned()
        .collect();
    if anchored.is_empty() {
        return Err(format!("no DNSKEY of {zone} matches its DS"));
    }
    verify_set(records, zone, RecordType::DNSKEY, zone, &anchored, now)
        .map_err(|e| format!("DNSKEY set of {zone}: {e}"))?;
    Ok(keys)
}

/// The DS records among `records` (any owner).
pub fn ds_of<'a>(records: impl IntoIterator<Item = &'a Record>) -> Vec<DS> {
    records
        .into_iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds.clone()),
            _ => None,
        })
        .collect()
}

/// Whether the NSEC record `owner` → `next` proves `name` absent: owner < name < next in
/// canonical order, or, for the last NSEC of a zone (whose next name is the apex), owner <
/// name within that zone.
pub fn nsec_covers(owner: &Name, next: &Name, name: &Name) -> bool {
    let (owner, next, name) = (
        owner.to_lowercase(),
        next.to_lowercase(),
        name.to_lowercase(),
    );
    if owner < next {
        owner < name && name < next
    } else {
        owner < name && next.zone_of(&name) && name != next
    }
}

#[cfg(test)]
mod tests;
