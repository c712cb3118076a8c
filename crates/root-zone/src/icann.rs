//! Answers for a TLD served from the ICANN root (hns-dns.md §3.1, "If validated…"): the name is
//! reserved with the root flag, absent or empty on chain, and a separate component has fetched
//! and DNSSEC-validated its ICANN delegation. This module only renders that delegation the way
//! hsd does: ICANN NS and glue passed through unsigned, the DS set (or the insecure-delegation
//! NSEC) signed by the HNS ZSK.

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, Record, RecordType};

use hnsfleet_hns::name::Name as HnsName;

use crate::nsec::{self, TypeMap};
use crate::{Answer, KeyRole, RecordSet, RootError, apex};

/// A TLD's delegation as the ICANN root gave it, already validated, without ICANN's RRSIGs and
/// NSEC/NSEC3 records. TTLs are kept as received.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct IcannDelegation {
    /// The NS records (owner = the TLD), in the order received; at least one.
    pub ns: Vec<Record>,
    /// The DS records (owner = the TLD), in the order received; empty for an insecure TLD.
    pub ds: Vec<Record>,
    /// Glue A/AAAA records from the additional section, in the order received.
    pub glue: Vec<Record>,
}

/// The answer for `T` (or a name below it when `below`) from T's ICANN delegation, complete
/// (the caller must not append the SOA again).
pub(crate) fn answer(
    tld: &HnsName,
    below: bool,
    delegation: &IcannDelegation,
    qtype: RecordType,
    now: u64,
) -> Result<Answer, RootError> {
    check(tld, delegation)?;
    let mut out = Answer {
        rcode: ResponseCode::NoError,
        authoritative: false,
        answer: Vec::new(),
        authority: Vec::new(),
        additional: Vec::new(),
    };
    if qtype == RecordType::DS && !below {
        // The root is authoritative for the DS set: answer it, re-signed by the HNS ZSK, or
        // deny it with the SOA and then the insecure-delegation NSEC (hsd's order).
        out.authoritative = true;
        if delegation.ds.is_empty() {
            out.authority.push(apex::soa_set(now));
            out.authority.push(nsec::tld_nsec(tld, TypeMap::Ns)?);
        } else {
            out.answer
                .push(RecordSet::signed(delegation.ds.clone(), KeyRole::Zsk));
        }
        return Ok(out);
    }
    out.authority
        .push(RecordSet::unsigned(delegation.ns.clone()));
    if delegation.ds.is_empty() {
        out.authority.push(nsec::tld_nsec(tld, TypeMap::Ns)?);
    } else {
        out.authority
            .push(RecordSet::signed(delegation.ds.clone(), KeyRole::Zsk));
    }
    if !delegation.glue.is_empty() {
        out.additional
            .push(RecordSet::unsigned(delegation.glue.clone()));
    }
    Ok(out)
}

/// hsd's assertions on an ICANN referral before serving it: NS present, every NS and DS record
/// owned by the TLD and of its section's type, glue only A/AAAA. A failure is SERVFAIL.
fn check(tld: &HnsName, delegation: &IcannDelegation) -> Result<(), RootError> {
    let fail = |reason: &'static str| RootError::Icann {
        tld: tld.clone(),
        reason,
    };
    let owner = Name::from_labels([tld.as_str().as_bytes()]).map_err(|_| fail("bad TLD"))?;
    if delegation.ns.is_empty() {
        return Err(fail("no NS records"));
    }
    let owned = |records: &[Record], rtype: RecordType| {
        records
            .iter()
            .all(|r| r.record_type() == rtype && r.name == owner)
    };
    if !owned(&delegation.ns, RecordType::NS) {
        return Err(fail("an NS record is not an NS record of the TLD"));
    }
    if !owned(&delegation.ds, RecordType::DS) {
        return Err(fail("a DS record is not a DS record of the TLD"));
    }
    let is_address = |r: &Record| matches!(r.record_type(), RecordType::A | RecordType::AAAA);
    if !delegation.glue.iter().all(is_address) {
        return Err(fail("glue that is not A or AAAA"));
    }
    // Records of one signed set must share the class (the DS set is signed as one RRset).
    if let Some(first) = delegation.ds.first()
        && delegation.ds.iter().any(|r| r.dns_class != first.dns_class)
    {
        return Err(fail("DS records of different classes"));
    }
    Ok(())
}

#[cfg(test)]
pub(crate) mod tests;
