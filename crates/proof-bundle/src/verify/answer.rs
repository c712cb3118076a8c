//! The last step: the answer's records (or the denial, by NSEC or NSEC3) signed by validated
//! zone keys.

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hnsfleet_dnssec::{Nsec3Chain, Nsec3Error, NsecError, NsecSet, rrsigs, verify_set};

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
    // A negative answer: NSEC records must prove it, or, in a zone without them, NSEC3.
    let nsecs = NsecSet::from_section(&response.authorities);
    if nsecs.is_empty() && has_nsec3(&response.authorities) {
        return nsec3_denial(response, qname, qtype);
    }
    let failed = |e: NsecError| StepError::Answer(e.to_string());
    match response.metadata.response_code {
        ResponseCode::NoError => {
            nsecs.prove_no_data(qname, qtype).map_err(failed)?;
            Ok((
                (),
                format!("NODATA for {qname} {qtype}, proven by signed NSECs"),
            ))
        }
        ResponseCode::NXDomain => {
            let encloser = nsecs.prove_name_error(qname).map_err(failed)?;
            Ok((
                (),
                format!(
                    "NXDOMAIN for {qname}, proven by signed NSECs (closest encloser {encloser})"
                ),
            ))
        }
        other => Err(StepError::Answer(format!(
            "response code {other} cannot be verified"
        ))),
    }
}

/// A negative answer proven by the (already verified) NSEC3 records of the authority section.
fn nsec3_denial(
    response: &Message,
    qname: &Name,
    qtype: RecordType,
) -> Result<((), String), StepError> {
    let failed = |e: Nsec3Error| StepError::Answer(format!("NSEC3: {e}"));
    let chain = Nsec3Chain::from_section(&response.authorities, qname).map_err(failed)?;
    match response.metadata.response_code {
        ResponseCode::NoError => {
            chain.prove_no_data(qname, qtype).map_err(failed)?;
            Ok((
                (),
                format!("NODATA for {qname} {qtype}, proven by signed NSEC3s"),
            ))
        }
        ResponseCode::NXDomain => {
            let encloser = chain.prove_name_error(qname).map_err(failed)?;
            Ok((
                (),
                format!(
                    "NXDOMAIN for {qname}, proven by signed NSEC3s (closest encloser {encloser})"
                ),
            ))
        }
        other => Err(StepError::Answer(format!(
            "response code {other} cannot be verified"
        ))),
    }
}

fn has_nsec3(section: &[Record]) -> bool {
    section.iter().any(|r| r.record_type() == RecordType::NSEC3)
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

/// A wildcard answer needs a signed NSEC covering the name asked, or a signed NSEC3 covering
/// its next closer name (no closer match).
pub(super) fn deny_closer_match(
    authorities: &[Record],
    qname: &Name,
    labels: u8,
    keys: &ZoneKeys,
    now: u64,
) -> Result<(), StepError> {
    for (owner, rtype) in sets_of(authorities) {
        verify_in_zone(authorities, &owner, rtype, keys, now)?;
    }
    let nsecs = NsecSet::from_section(authorities);
    if nsecs.is_empty() && has_nsec3(authorities) {
        return Nsec3Chain::from_section(authorities, qname)
            .and_then(|chain| chain.prove_no_closer_match(qname, labels))
            .map_err(|e| StepError::Answer(format!("wildcard answer: NSEC3: {e}")));
    }
    nsecs
        .prove_no_closer_match(qname)
        .map_err(|e| StepError::Answer(format!("wildcard answer: {e}")))
}
