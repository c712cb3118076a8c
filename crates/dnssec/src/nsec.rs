//! Authenticated denial with NSEC (RFC 4035 §5.4): no data at a name or at the wildcard that
//! would have answered, name errors, and wildcard answers.
//!
//! The records given must already be authentic (their RRSIGs checked with
//! [`crate::verify_set`]); this module only decides what they prove. A record from the parent
//! side of a zone cut (NS without SOA, or DNAME, at an ancestor of the name) proves nothing
//! about names below the cut (RFC 6840 §4.1): a parent's NSEC at a delegation sorts just
//! before every name of the child zone, and would otherwise "cover" all of them.

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use thiserror::Error;

use crate::nsec_covers;

/// Why NSEC records do not prove a denial.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum NsecError {
    /// No usable NSEC covers the name.
    #[error("no NSEC covers {0}")]
    NotCovered(Name),
    /// No NSEC covers the wildcard that could have answered.
    #[error("no NSEC denies the wildcard {0}")]
    WildcardNotDenied(Name),
    /// No NSEC shows the name (or the wildcard that answers for it) without the type.
    #[error("no NSEC proves that {0} has no {1}")]
    TypeNotDenied(Name, RecordType),
    /// The NSEC at the name is the parent side of a zone cut: the data is in the child.
    #[error("the NSEC at {0} is from the parent side of a zone cut")]
    AncestorDelegation(Name),
}

/// The NSEC records of a response's authority section.
#[derive(Debug, Clone, Default)]
pub struct NsecSet {
    /// (owner, lowercased; record).
    records: Vec<(Name, NSEC)>,
}

impl NsecSet {
    /// The NSEC records of `section`.
    pub fn from_section(section: &[Record]) -> NsecSet {
        let records = section
            .iter()
            .filter_map(|r| match &r.data {
                RData::DNSSEC(DNSSECRData::NSEC(nsec)) => {
                    Some((r.name.to_lowercase(), nsec.clone()))
                }
                _ => None,
            })
            .collect();
        NsecSet { records }
    }

    /// Whether there are none.
    pub fn is_empty(&self) -> bool {
        self.records.is_empty()
    }

    /// Proves `qname` exists without `qtype` or a CNAME (an NSEC at `qname`), or that it does
    /// not exist and the wildcard that would answer for it has neither.
    pub fn prove_no_data(&self, qname: &Name, qtype: RecordType) -> Result<(), NsecError> {
        let qname = qname.to_lowercase();
        if let Some((_, nsec)) = self.records.iter().find(|(owner, _)| *owner == qname) {
            if has_type(nsec, qtype) || has_type(nsec, RecordType::CNAME) {
                return Err(NsecError::TypeNotDenied(qname, qtype));
            }
            if qtype != RecordType::DS && is_ancestor_delegation(nsec) {
                return Err(NsecError::AncestorDelegation(qname));
            }
            return Ok(());
        }
        let encloser = self.cover(&qname)?;
        let wildcard = wildcard_at(&encloser)?;
        match self.records.iter().find(|(owner, _)| *owner == wildcard) {
            Some((_, nsec)) if !has_type(nsec, qtype) && !has_type(nsec, RecordType::CNAME) => {
                Ok(())
            }
            _ => Err(NsecError::TypeNotDenied(qname, qtype)),
        }
    }

    /// Proves `qname` does not exist: an NSEC covers it and one covers the wildcard at its
    /// closest encloser. Returns that encloser.
    pub fn prove_name_error(&self, qname: &Name) -> Result<Name, NsecError> {
        let qname = qname.to_lowercase();
        let encloser = self.cover(&qname)?;
        let wildcard = wildcard_at(&encloser)?;
        if self.cover(&wildcard).is_err() {
            return Err(NsecError::WildcardNotDenied(wildcard));
        }
        Ok(encloser)
    }

    /// Proves a wildcard answer is the right one: `qname` itself does not exist.
    pub fn prove_no_closer_match(&self, qname: &Name) -> Result<(), NsecError> {
        self.cover(&qname.to_lowercase()).map(|_| ())
    }

    /// The closest encloser of `qname` implied by a usable NSEC covering it.
    fn cover(&self, qname: &Name) -> Result<Name, NsecError> {
        self.records
            .iter()
            .filter(|(owner, nsec)| {
                !(owner.zone_of(qname) && owner != qname && is_ancestor_delegation(nsec))
            })
            .find(|(owner, nsec)| nsec_covers(owner, nsec.next_domain_name(), qname))
            .map(|(owner, nsec)| closest_encloser(qname, owner, nsec.next_domain_name()))
            .ok_or_else(|| NsecError::NotCovered(qname.clone()))
    }
}

fn has_type(nsec: &NSEC, rtype: RecordType) -> bool {
    nsec.type_bit_maps().any(|t| t == rtype)
}

/// NS without SOA (a delegation seen from the parent), or a DNAME.
fn is_ancestor_delegation(nsec: &NSEC) -> bool {
    has_type(nsec, RecordType::DNAME)
        || (has_type(nsec, RecordType::NS) && !has_type(nsec, RecordType::SOA))
}

/// `*.encloser`.
fn wildcard_at(encloser: &Name) -> Result<Name, NsecError> {
    encloser
        .prepend_label("*")
        .map_err(|_| NsecError::WildcardNotDenied(encloser.clone()))
}

/// The closest encloser of `qname` that an NSEC (`owner` → `next`) covering it implies: the
/// longer of its common ancestors with `owner` and with `next`.
fn closest_encloser(qname: &Name, owner: &Name, next: &Name) -> Name {
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
