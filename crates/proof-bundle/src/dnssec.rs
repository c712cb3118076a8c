//! The DNSSEC checks a bundle needs, over hickory-proto's signature verification: an RRset
//! signed by one of a zone's validated keys at a time, a DNSKEY set validated by a DS set, and
//! NSEC denial of existence.

use hickory_proto::dnssec::Verifier;
use hickory_proto::dnssec::rdata::{DNSKEY, DNSSECRData, DS, RRSIG};
use hickory_proto::rr::{DNSClass, Name, RData, Record, RecordType};

/// The HNS root's KSK as a DS record (key tag 35215, ECDSA P-256, SHA-256): the trust anchor of
/// the HNS root zone, the same one hsd and hnsd publish.
pub const HNS_ROOT_ANCHOR: &str =
    ". IN DS 35215 13 2 7C50EA94A63AEECB65B510D1EAC1846C973A89D4AB292287D5A4D715136B57A3";

/// ICANN's root KSKs as DS records (KSK-2017, 20326, and KSK-2024, 38696), from IANA's
/// root-anchors.xml.
pub const ICANN_ROOT_ANCHORS: &str = "\
. IN DS 20326 8 2 E06D44B80B8F1D39A95C0B0D7C65D08458E880409BBC683457104237C7F8EC8D
. IN DS 38696 8 2 683D2D0ACB8C9B712A1948B27F741219298D0A450D612C483AF444A4C0FB2B16
";

/// Most records a whole chain may hold per set (a DNSKEY set has 2–4 in practice).
const MAX_SET: usize = 32;

/// Parses `<owner> [TTL] [IN] DS <tag> <alg> <digest-type> <hex>` lines (comments after `;`,
/// blank lines ignored) into DS records.
pub fn parse_anchors(text: &str) -> Result<Vec<Record>, String> {
    let mut out = Vec::new();
    for (n, line) in text.lines().enumerate() {
        let line = line.split(';').next().unwrap_or_default().trim();
        if line.is_empty() {
            continue;
        }
        let fields: Vec<&str> = line.split_whitespace().collect();
        let Some(at) = fields.iter().position(|f| f.eq_ignore_ascii_case("DS")) else {
            return Err(format!("line {}: not a DS record: {line}", n + 1));
        };
        let owner = Name::from_ascii(fields[0])
            .map_err(|e| format!("line {}: owner {}: {e}", n + 1, fields[0]))?;
        let rest = &fields[at + 1..];
        if rest.len() < 4 {
            return Err(format!(
                "line {}: DS needs tag, algorithm, digest type and digest",
                n + 1
            ));
        }
        let number = |s: &str| {
            s.parse::<u16>()
                .map_err(|_| format!("line {}: {s:?} is not a number", n + 1))
        };
        let tag = number(rest[0])?;
        let algorithm = u8::try_from(number(rest[1])?)
            .map_err(|_| format!("line {}: algorithm out of range", n + 1))?;
        let digest_type = u8::try_from(number(rest[2])?)
            .map_err(|_| format!("line {}: digest type out of range", n + 1))?;
        let digest = hex_decode(&rest[3..].concat())
            .ok_or_else(|| format!("line {}: digest is not hex", n + 1))?;
        let ds = DS::new(
            tag,
            hickory_proto::dnssec::Algorithm::from_u8(algorithm),
            hickory_proto::dnssec::DigestType::from(digest_type),
            digest,
        );
        out.push(Record::from_rdata(
            owner,
            0,
            RData::DNSSEC(DNSSECRData::DS(ds)),
        ));
    }
    Ok(out)
}

fn hex_decode(text: &str) -> Option<Vec<u8>> {
    if !text.len().is_multiple_of(2) {
        return None;
    }
    (0..text.len())
        .step_by(2)
        .map(|i| u8::from_str_radix(text.get(i..i + 2)?, 16).ok())
        .collect()
}

/// The records of `records` owned by `owner` (case-insensitively) of type `rtype`, class IN.
pub(crate) fn rrset<'a>(records: &'a [Record], owner: &Name, rtype: RecordType) -> Vec<&'a Record> {
    records
        .iter()
        .filter(|r| r.record_type() == rtype && r.dns_class == DNSClass::IN && r.name == *owner)
        .collect()
}

/// The RRSIGs in `records` owned by `owner` that cover `rtype`.
pub(crate) fn rrsigs<'a>(records: &'a [Record], owner: &Name, rtype: RecordType) -> Vec<&'a RRSIG> {
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

/// Why an RRset did not verify.
#[derive(Debug, Clone, PartialEq, Eq)]
pub(crate) enum SetError {
    /// No record of the set is present.
    Empty,
    /// The set is larger than any honest one.
    TooLarge,
    /// No RRSIG by one of the keys verifies at `now` (the signatures present, if any, are
    /// expired, not yet valid, by another key, or wrong).
    NoValidSignature {
        /// How many RRSIGs covered the set.
        signatures: usize,
    },
}

impl std::fmt::Display for SetError {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            SetError::Empty => f.write_str("no such records"),
            SetError::TooLarge => f.write_str("too many records"),
            SetError::NoValidSignature { signatures: 0 } => f.write_str("no RRSIG"),
            SetError::NoValidSignature { signatures } => {
                write!(f, "none of its {signatures} RRSIG(s) verifies")
            }
        }
    }
}

/// Verifies that the set (`owner`, `rtype`) in `records` is signed by one of `keys` (zone
/// `signer`) at `now`: an RRSIG naming `signer`, a key of matching tag and algorithm, within
/// its validity (serial arithmetic, RFC 4034 §3.1.5) and over exactly this set.
pub(crate) fn verify_set(
    records: &[Record],
    owner: &Name,
    rtype: RecordType,
    signer: &Name,
    keys: &[DNSKEY],
    now: u64,
) -> Result<(), SetError> {
    let set = rrset(records, owner, rtype);
    if set.is_empty() {
        return Err(SetError::Empty);
    }
    if set.len() > MAX_SET {
        return Err(SetError::TooLarge);
    }
    let sigs = rrsigs(records, owner, rtype);
    let now32 = now as u32;
    for sig in &sigs {
        let input = sig.input();
        if input.signer_name != *signer || usize::from(input.num_labels) > owner.num_labels().into()
        {
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
                return Ok(());
            }
        }
    }
    Err(SetError::NoValidSignature {
        signatures: sigs.len(),
    })
}

/// The DNSKEYs of `zone` in `records`, validated: a zone key matching one of `ds` signs the
/// DNSKEY set at `now`. Returns the set's zone keys.
pub(crate) fn validate_keys(
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
pub(crate) fn ds_of(records: &[&Record]) -> Vec<DS> {
    records
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(ds)) => Some(ds.clone()),
            _ => None,
        })
        .collect()
}

/// Whether the NSEC record (`owner` → `next`) covers `name` strictly: owner < name < next in
/// canonical order, or owner < name when `next` wraps to the zone apex.
pub(crate) fn nsec_covers(owner: &Name, next: &Name, name: &Name) -> bool {
    let (owner, next, name) = (
        owner.to_lowercase(),
        next.to_lowercase(),
        name.to_lowercase(),
    );
    if owner < next {
        owner < name && name < next
    } else {
        // The last NSEC of the zone: next is the apex.
        owner < name && next.zone_of(&name) && name != next
    }
}
