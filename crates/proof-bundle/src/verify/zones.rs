//! The steps from the proof to the answer's signer: the delegation (the TLD's DS, or ICANN's)
//! and each zone's DS and DNSKEY below.

use hickory_proto::dnssec::rdata::DS;
use hickory_proto::rr::{Name, RecordType};
use hnsfleet_dnssec::{
    HNS_ROOT_ANCHOR, ds_of, parse_anchors, rrset, rrsigs, validate_keys, verify_set,
};
use hnsfleet_hns_dns::ResourceDns;

use super::{MAX_ZONES, Policy, StepError, Tld, ZoneKeys};
use crate::format::Bundle;

/// Where the DNSSEC chain below the root starts.
pub(super) enum Anchor {
    /// Validated DS records of `zone` (the TLD).
    Ds { zone: Name, ds: Vec<DS> },
    /// The TLD is proven absent: the answer must be NXDOMAIN.
    NxDomain,
}

/// [`super::Step::Delegation`]: the TLD's DS set as the proof says (HNS), or ICANN's under
/// its anchors, or a proven NXDOMAIN.
pub(super) fn check_delegation(
    bundle: &Bundle,
    tld: &Tld,
    policy: &Policy,
    now: u64,
) -> Result<(Anchor, String), StepError> {
    let zone = Name::from_ascii(format!("{}.", bundle.tld))
        .map_err(|e| StepError::Delegation(format!("TLD name: {e}")))?;
    let root = Name::root();
    let signed_ds = rrset(&bundle.records, &zone, RecordType::DS);
    match tld {
        Tld::Exists(resource) => {
            let proven: Vec<DS> = ds_of(&resource.ds_records(&zone));
            if proven.is_empty() {
                return Err(StepError::Insecure(format!(
                    "{zone} has no DS on chain: its zone's answers cannot be verified"
                )));
            }
            // RFC 9102's chain from the HNS root key: its DNSKEY set under the anchor, then
            // the DS set under the root's zone keys. (Those keys' private halves are public:
            // what makes the DS trustworthy is that it is the proof's.)
            let anchors =
                parse_anchors(HNS_ROOT_ANCHOR).map_err(|e| StepError::Delegation(e.to_string()))?;
            let root_keys = validate_keys(&bundle.records, &root, &ds_of(&anchors), now)
                .map_err(|e| StepError::Delegation(format!("HNS root: {e}")))?;
            verify_set(
                &bundle.records,
                &zone,
                RecordType::DS,
                &root,
                &root_keys,
                now,
            )
            .map_err(|e| StepError::Delegation(format!("DS of {zone} under the HNS root: {e}")))?;
            let served = ds_of(signed_ds.iter().copied());
            if !same_set(&served, &proven) {
                return Err(StepError::Delegation(format!(
                    "the DS set of {zone} in the bundle ({} records) is not the one the proof holds ({} records)",
                    served.len(),
                    proven.len()
                )));
            }
            Ok((
                Anchor::Ds {
                    zone: zone.clone(),
                    ds: proven,
                },
                format!("the DS set of {zone} is the proof's, signed by the HNS root key"),
            ))
        }
        Tld::Absent if hnsfleet_hns::reserved::is_root_reserved(&bundle.tld) => {
            let anchors = ds_of(&policy.icann_anchors);
            let root_keys = validate_keys(&bundle.records, &root, &anchors, now)
                .map_err(|e| StepError::Delegation(format!("ICANN root: {e}")))?;
            if signed_ds.is_empty() {
                return Err(StepError::Insecure(format!(
                    "no DS for {zone} under the ICANN root in the bundle"
                )));
            }
            verify_set(
                &bundle.records,
                &zone,
                RecordType::DS,
                &root,
                &root_keys,
                now,
            )
            .map_err(|e| {
                StepError::Delegation(format!("DS of {zone} under the ICANN root: {e}"))
            })?;
            Ok((
                Anchor::Ds {
                    zone: zone.clone(),
                    ds: ds_of(signed_ds.iter().copied()),
                },
                format!(
                    "{zone} is proven absent from HNS and reserved: its DS is signed by ICANN's root key"
                ),
            ))
        }
        Tld::Absent => Ok((
            Anchor::NxDomain,
            format!("{zone} is proven absent and not reserved: the name does not exist"),
        )),
    }
}

pub(super) fn same_set(a: &[DS], b: &[DS]) -> bool {
    a.len() == b.len() && a.iter().all(|x| b.contains(x)) && b.iter().all(|x| a.contains(x))
}

/// [`super::Step::Dnssec`]: each zone's DS and DNSKEY down to the answer's signer.
pub(super) fn check_zones(
    bundle: &Bundle,
    anchor: Anchor,
    now: u64,
) -> Result<(ZoneKeys, String), StepError> {
    let mut keys = ZoneKeys::new();
    let (tld, ds) = match anchor {
        Anchor::NxDomain => return Ok((keys, "no zone below the root to check".into())),
        Anchor::Ds { zone, ds } => (zone, ds),
    };
    let tld_keys = validate_keys(&bundle.records, &tld, &ds, now).map_err(StepError::Dnssec)?;
    keys.insert(tld.clone(), tld_keys);
    // Zones below the TLD: each DNSKEY owner in the bundle other than the root and the TLD,
    // shallowest first, needs its DS signed by its parent's validated keys.
    let mut zones: Vec<Name> = bundle
        .records
        .iter()
        .filter(|r| r.record_type() == RecordType::DNSKEY)
        .map(|r| r.name.to_lowercase())
        .filter(|n| !n.is_root() && *n != tld && tld.zone_of(n))
        .collect();
    zones.sort_by_key(Name::num_labels);
    zones.dedup();
    if zones.len() > MAX_ZONES {
        return Err(StepError::Dnssec(format!("more than {MAX_ZONES} zones")));
    }
    for zone in &zones {
        let sig = rrsigs(&bundle.records, zone, RecordType::DS)
            .into_iter()
            .find(|s| keys.contains_key(&s.input().signer_name.to_lowercase()));
        let Some(sig) = sig else {
            return Err(StepError::Dnssec(format!(
                "no DS for {zone} signed by a validated parent zone"
            )));
        };
        let parent = sig.input().signer_name.to_lowercase();
        let parent_keys = keys.get(&parent).cloned().unwrap_or_default();
        verify_set(
            &bundle.records,
            zone,
            RecordType::DS,
            &parent,
            &parent_keys,
            now,
        )
        .map_err(|e| StepError::Dnssec(format!("DS of {zone} under {parent}: {e}")))?;
        let ds = ds_of(rrset(&bundle.records, zone, RecordType::DS));
        let zone_keys =
            validate_keys(&bundle.records, zone, &ds, now).map_err(StepError::Dnssec)?;
        keys.insert(zone.clone(), zone_keys);
    }
    let names: Vec<String> = keys.keys().map(ToString::to_string).collect();
    Ok((keys, format!("validated zone keys of {}", names.join(", "))))
}
