//! The last step: the answer's records (or the denial) signed by validated zone keys.

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hnsfleet_dnssec::{nsec_covers, rrsigs, verify_set};

use super::{StepError, ZoneKeys};

/// [`super::Step::Answer`]: every answer RRset (or the denial) signed by a validated zone
/// key, answering the question.
pub(super) fn check_answer(
    response: &Message,
    qname: &Name,
    keys: &ZoneKeys,
    now: u64,
) -> Result<((), String), StepError> {
    let qtype = response
        .queries
        .first()
        .map(|q| q.query_type())
        .unwrap_or(RecordType::A);
    if keys.is_empty() {
        // The TLD is proven absent.
        if response.metadata.response_code != ResponseCode::NXDomain || !response.answers.is_empty()
        {
            return Err(StepError::Answer(format!(
                "the TLD is proven absent but the response is {} with {} answers",
                response.metadata.response_code,
                response.answers.len()
            )));
        }
        return Ok((
            (),
            format!("NXDOMAIN for {qname}, proven by the absence proof"),
        ));
    }
    let section = if response.answers.is_empty() {
        &response.authorities
    } else {
        &response.answers
    };
    let sets = sets_of(section);
    if sets.is_empty() {
        return Err(StepError::Answer(
            "the response has no records to verify".into(),
        ));
    }
    for (owner, rtype) in &sets {
        verify_in_zone(section, owner, *rtype, keys, now)?;
    }
    if !response.answers.is_empty() {
        let answers_question = sets
            .iter()
            .any(|(o, t)| o == qname && (*t == qtype || *t == RecordType::CNAME));
        if !answers_question {
            return Err(StepError::Answer(format!(
                "no record answers {qname} {qtype}"
            )));
        }
        if let Some(labels) = wildcard_labels(section, qname) {
            deny_closer_match(&response.authorities, qname, labels, keys, now)?;
        }
        return Ok((
            (),
            format!("{} answer set(s) signed by validated zone keys", sets.len()),
        ));
    }
    // A negative answer: an NSEC must prove it.
    let nsecs: Vec<(Name, NSEC)> = nsec_records(&response.authorities);
    match response.metadata.response_code {
        ResponseCode::NoError => {
            let proven = nsecs.iter().any(|(owner, nsec)| {
                *owner == *qname
                    && !nsec
                        .type_bit_maps()
                        .any(|t| t == qtype || t == RecordType::CNAME)
            });
            if !proven {
                return Err(StepError::Answer(format!(
                    "no NSEC proves that {qname} has no {qtype}"
                )));
            }
            Ok((
                (),
                format!("NODATA for {qname} {qtype}, proven by a signed NSEC"),
            ))
        }
        ResponseCode::NXDomain => {
            let cover = nsecs
                .iter()
                .find(|(owner, nsec)| nsec_covers(owner, nsec.next_domain_name(), qname));
            let Some((owner, nsec)) = cover else {
                return Err(StepError::Answer(format!("no NSEC covers {qname}")));
            };
            let encloser = closest_encloser(qname, owner, nsec.next_domain_name());
            let wildcard = encloser
                .prepend_label("*")
                .map_err(|e| StepError::Answer(format!("wildcard name: {e}")))?;
            let denied = nsecs
                .iter()
                .any(|(o, n)| nsec_covers(o, n.next_domain_name(), &wildcard));
            if !denied {
                return Err(StepError::Answer(format!(
                    "no NSEC denies the wildcard {wildcard}"
                )));
            }
            Ok(((), format!("NXDOMAIN for {qname}, proven by signed NSECs")))
        }
        other => Err(StepError::Answer(format!(
            "response code {other} cannot be verified"
        ))),
    }
}

/// The distinct (owner, type) sets of a section, RRSIGs and OPT aside.
pub(super) fn sets_of(section: &[Record]) -> Vec<(Name, RecordType)> {
    let mut sets: Vec<(Name, RecordType)> = section
        .iter()
        .filter(|r| {
            !matches!(
                r.record_type(),
                RecordType::RRSIG | RecordType::OPT | RecordType::SIG
            )
        })
        .map(|r| (r.name.to_lowercase(), r.record_type()))
        .collect();
    sets.sort();
    sets.dedup();
    sets
}

/// Verifies the set with a key of the zone its RRSIG names, which must be validated and
/// enclose the owner.
pub(super) fn verify_in_zone(
    section: &[Record],
    owner: &Name,
    rtype: RecordType,
    keys: &ZoneKeys,
    now: u64,
) -> Result<(), StepError> {
    let signers: Vec<Name> = rrsigs(section, owner, rtype)
        .iter()
        .map(|s| s.input().signer_name.to_lowercase())
        .filter(|signer| signer.zone_of(owner))
        .collect();
    let Some(signer) = signers.iter().find(|s| keys.contains_key(*s)) else {
        return Err(StepError::Answer(format!(
            "{owner} {rtype}: no RRSIG by a validated zone"
        )));
    };
    let zone_keys = keys.get(signer).map(Vec::as_slice).unwrap_or_default();
    verify_set(section, owner, rtype, signer, zone_keys, now)
        .map(|_| ())
        .map_err(|e| StepError::Answer(format!("{owner} {rtype}: {e}")))
}

/// For an answer expanded from a wildcard (its RRSIG's label count below the owner's), that
/// label count.
pub(super) fn wildcard_labels(section: &[Record], qname: &Name) -> Option<u8> {
    section.iter().find_map(|r| match &r.data {
        RData::DNSSEC(DNSSECRData::RRSIG(sig))
            if r.name == *qname && sig.input().num_labels < qname.num_labels() =>
        {
            Some(sig.input().num_labels)
        }
        _ => None,
    })
}

/// A wildcard answer needs a signed NSEC covering the name asked (no closer match).
pub(super) fn deny_closer_match(
    authorities: &[Record],
    qname: &Name,
    _labels: u8,
    keys: &ZoneKeys,
    now: u64,
) -> Result<(), StepError> {
    for (owner, rtype) in sets_of(authorities) {
        verify_in_zone(authorities, &owner, rtype, keys, now)?;
    }
    let covered = nsec_records(authorities)
        .iter()
        .any(|(owner, nsec)| nsec_covers(owner, nsec.next_domain_name(), qname));
    if covered {
        Ok(())
    } else {
        Err(StepError::Answer(format!(
            "a wildcard answer without an NSEC proving {qname} itself does not exist"
        )))
    }
}

pub(super) fn nsec_records(section: &[Record]) -> Vec<(Name, NSEC)> {
    section
        .iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC(nsec)) => Some((r.name.to_lowercase(), nsec.clone())),
            _ => None,
        })
        .collect()
}

/// The closest encloser of `qname` that an NSEC (`owner` → `next`) covering it implies: the
/// longer of its common ancestors with `owner` and with `next`.
pub(super) fn closest_encloser(qname: &Name, owner: &Name, next: &Name) -> Name {
    let common = |other: &Name| {
        let mut name = qname.clone();
        while !name.zone_of(other) && !name.is_root() {
            name = name.base_name();
        }
        name
    };
    let (a, b) = (common(owner), common(next));
    if a.num_labels() >= b.num_labels() {
        a
    } else {
        b
    }
}
