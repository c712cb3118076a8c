//! Hashed denial of existence (NSEC3, RFC 5155 §8): the closest encloser proof, and with it
//! name errors, no-data answers (also at a wildcard) and wildcard answers.
//!
//! The records given must already be authentic (their RRSIGs checked with [`crate::verify_set`]);
//! this module only decides what they prove. It refuses, rather than calls insecure, what a
//! bundle cannot prove: an opt-out span over the name (an unsigned delegation may hide there,
//! RFC 5155 §6), a hash other than SHA-1, more than [`MAX_ITERATIONS`] extra iterations
//! (RFC 9276 §3.2), a parent-side record used for data below a cut (RFC 5155 §8.3).
//!
//! Cost: at most one hash per ancestor of the name asked plus one for a wildcard, each of at
//! most `MAX_ITERATIONS + 1` SHA-1 rounds, whatever the number of records.

use data_encoding::BASE32HEX_NOPAD;
use hickory_proto::dnssec::Nsec3HashAlgorithm;
use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC3};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use thiserror::Error;

/// The most extra hash iterations accepted (validators commonly stop at 150; RFC 9276 asks
/// signers for 0).
pub const MAX_ITERATIONS: u16 = 150;

/// Why NSEC3 records do not prove a denial.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
pub enum Nsec3Error {
    /// No NSEC3 record of the zone enclosing the name.
    #[error("no NSEC3 record of a zone enclosing {0}")]
    NoRecords(Name),
    /// The records' hash algorithm is not SHA-1 (the only one defined).
    #[error("NSEC3 hash algorithm other than SHA-1")]
    UnknownHash,
    /// The records ask for more iterations than [`MAX_ITERATIONS`].
    #[error("NSEC3 with {0} iterations (at most {MAX_ITERATIONS} accepted)")]
    TooManyIterations(u16),
    /// An owner name whose first label is not a base32hex hash of the right length.
    #[error("NSEC3 owner {0} is not a hashed name")]
    BadOwner(Name),
    /// The name asked for exists: an NSEC3 matches it.
    #[error("an NSEC3 matches {0}: the name exists")]
    NameExists(Name),
    /// No ancestor of the name is proven to exist with its next closer name covered.
    #[error("no closest encloser proof for {0}")]
    NoClosestEncloser(Name),
    /// The wildcard at the closest encloser is not proven absent.
    #[error("no NSEC3 covers the wildcard {0}")]
    WildcardNotDenied(Name),
    /// The name's span is opt-out: an unsigned delegation may exist there.
    #[error("the NSEC3 covering {0} is opt-out: an unsigned delegation may exist there")]
    OptOut(Name),
    /// No NSEC3 matches the name (or its wildcard) without the type asked.
    #[error("no NSEC3 proves that {0} has no {1}")]
    TypeNotDenied(Name, RecordType),
    /// The matching record is the parent side of a zone cut: it proves nothing below it.
    #[error("the NSEC3 matching {0} is from the parent side of a zone cut")]
    AncestorDelegation(Name),
    /// The name asked for is not below the zone of the records.
    #[error("{0} is not in the zone of the NSEC3 records")]
    OutOfZone(Name),
}

/// The NSEC3 records of one zone, with the parameters every proof hashes with.
#[derive(Debug, Clone)]
pub struct Nsec3Chain {
    zone: Name,
    salt: Vec<u8>,
    iterations: u16,
    /// (owner hash, record) of each record with the chain's parameters.
    records: Vec<(Vec<u8>, NSEC3)>,
}

/// Which records match and cover a hashed name.
struct Lookup<'a> {
    matching: Option<&'a NSEC3>,
    covering: Option<&'a NSEC3>,
}

impl Nsec3Chain {
    /// The NSEC3 records of `section` owned by hashed names of the zone of the first one, with
    /// its parameters (records with other parameters are ignored, RFC 5155 §8.2). `qname`
    /// must be in that zone.
    pub fn from_section(section: &[Record], qname: &Name) -> Result<Nsec3Chain, Nsec3Error> {
        let mut all = section.iter().filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::NSEC3(nsec3)) => Some((r.name.to_lowercase(), nsec3)),
            _ => None,
        });
        let Some((first_owner, first)) = all.next() else {
            return Err(Nsec3Error::NoRecords(qname.clone()));
        };
        let zone = first_owner.base_name();
        if !zone.zone_of(qname) {
            return Err(Nsec3Error::OutOfZone(qname.clone()));
        }
        if first.hash_algorithm() != Nsec3HashAlgorithm::SHA1 {
            return Err(Nsec3Error::UnknownHash);
        }
        if first.iterations() > MAX_ITERATIONS {
            return Err(Nsec3Error::TooManyIterations(first.iterations()));
        }
        let mut chain = Nsec3Chain {
            zone,
            salt: first.salt().to_vec(),
            iterations: first.iterations(),
            records: Vec::new(),
        };
        for (owner, nsec3) in std::iter::once((first_owner, first)).chain(all) {
            if owner.base_name() != chain.zone
                || nsec3.salt() != chain.salt.as_slice()
                || nsec3.iterations() != chain.iterations
            {
                continue;
            }
            let hash = owner_hash(&owner)?;
            if nsec3.next_hashed_owner_name().len() != hash.len() {
                return Err(Nsec3Error::BadOwner(owner));
            }
            chain.records.push((hash, nsec3.clone()));
        }
        Ok(chain)
    }

    /// The zone the records belong to.
    pub fn zone(&self) -> &Name {
        &self.zone
    }

    /// Proves `qname` does not exist (NXDOMAIN, RFC 5155 §8.4): a closest encloser proof and
    /// the wildcard at that encloser covered. Returns the closest encloser.
    pub fn prove_name_error(&self, qname: &Name) -> Result<Name, Nsec3Error> {
        let encloser = self.closest_encloser(qname)?;
        let wildcard = wildcard_at(&encloser)?;
        let found = self.lookup(&wildcard)?;
        if found.covering.is_none() {
            return Err(Nsec3Error::WildcardNotDenied(wildcard));
        }
        Ok(encloser)
    }

    /// Proves `qname` exists without `qtype` or a CNAME (NODATA, RFC 5155 §8.5), or, when no
    /// record matches `qname`, that it is synthesised from a wildcard that has neither
    /// (§8.7).
    pub fn prove_no_data(&self, qname: &Name, qtype: RecordType) -> Result<(), Nsec3Error> {
        let found = self.lookup(qname)?;
        if let Some(nsec3) = found.matching {
            return no_type(nsec3, qname, qtype);
        }
        let encloser = self.closest_encloser(qname)?;
        let wildcard = wildcard_at(&encloser)?;
        match self.lookup(&wildcard)?.matching {
            Some(nsec3) => no_type(nsec3, &wildcard, qtype),
            None => Err(Nsec3Error::TypeNotDenied(qname.clone(), qtype)),
        }
    }

    /// Proves a wildcard answer to `qname` is the right one (RFC 5155 §8.8): its RRSIG has
    /// `labels` labels, so the next closer name (`qname` cut to `labels + 1` labels) must be
    /// covered.
    pub fn prove_no_closer_match(&self, qname: &Name, labels: u8) -> Result<(), Nsec3Error> {
        if labels >= qname.num_labels() {
            return Err(Nsec3Error::NoClosestEncloser(qname.clone()));
        }
        let next_closer = qname.trim_to(usize::from(labels) + 1);
        let found = self.lookup(&next_closer)?;
        match found.covering {
            Some(nsec3) if nsec3.opt_out() => Err(Nsec3Error::OptOut(next_closer)),
            Some(_) => Ok(()),
            None => Err(Nsec3Error::NoClosestEncloser(qname.clone())),
        }
    }

    /// The closest provable encloser of `qname` (RFC 5155 §8.3): the longest ancestor an
    /// NSEC3 matches, whose next closer name an NSEC3 covers without opt-out.
    fn closest_encloser(&self, qname: &Name) -> Result<Name, Nsec3Error> {
        let mut candidate = qname.clone();
        // The next closer name (the candidate before this one) and the record covering it,
        // from the previous round's look-up: each name is hashed once.
        let mut next_closer: Option<(Name, Option<&NSEC3>)> = None;
        loop {
            let found = self.lookup(&candidate)?;
            if let Some(nsec3) = found.matching {
                let Some((next_closer, covering)) = next_closer else {
                    return Err(Nsec3Error::NameExists(qname.clone()));
                };
                if nsec3.is_ancestor_delegation() {
                    return Err(Nsec3Error::AncestorDelegation(candidate));
                }
                return match covering {
                    Some(nsec3) if nsec3.opt_out() => Err(Nsec3Error::OptOut(next_closer)),
                    Some(_) => Ok(candidate),
                    None => Err(Nsec3Error::NoClosestEncloser(qname.clone())),
                };
            }
            if candidate == self.zone || candidate.is_root() {
                return Err(Nsec3Error::NoClosestEncloser(qname.clone()));
            }
            let parent = candidate.base_name();
            next_closer = Some((candidate, found.covering));
            candidate = parent;
        }
    }

    /// The records matching and covering `name`'s hash.
    fn lookup(&self, name: &Name) -> Result<Lookup<'_>, Nsec3Error> {
        let digest = Nsec3HashAlgorithm::SHA1
            .hash(&self.salt, &name.to_lowercase(), self.iterations)
            .map_err(|_| Nsec3Error::BadOwner(name.clone()))?;
        let hash = digest.as_ref();
        let mut found = Lookup {
            matching: None,
            covering: None,
        };
        for (owner, nsec3) in &self.records {
            let next = nsec3.next_hashed_owner_name();
            if owner.as_slice() == hash {
                found.matching = Some(nsec3);
            } else if covers(owner, next, hash) {
                found.covering = Some(nsec3);
            }
        }
        Ok(found)
    }
}

/// Whether the span `owner` → `next` holds `hash` strictly inside (the last record's span
/// wraps around to the first).
fn covers(owner: &[u8], next: &[u8], hash: &[u8]) -> bool {
    if owner < next {
        owner < hash && hash < next
    } else {
        hash > owner || hash < next
    }
}

/// The hash in an NSEC3 owner's first label.
fn owner_hash(owner: &Name) -> Result<Vec<u8>, Nsec3Error> {
    let bad = || Nsec3Error::BadOwner(owner.clone());
    let label = owner.iter().next().ok_or_else(bad)?;
    let upper = label.to_ascii_uppercase();
    let hash = BASE32HEX_NOPAD.decode(&upper).map_err(|_| bad())?;
    if hash.len() != 20 {
        return Err(bad());
    }
    Ok(hash)
}

/// `*.encloser`.
fn wildcard_at(encloser: &Name) -> Result<Name, Nsec3Error> {
    encloser
        .prepend_label("*")
        .map_err(|_| Nsec3Error::NoClosestEncloser(encloser.clone()))
}

/// The matching record `nsec3` of `name` lists neither `qtype` nor CNAME, and (but for DS) is
/// not the parent side of a cut.
fn no_type(nsec3: &NSEC3, name: &Name, qtype: RecordType) -> Result<(), Nsec3Error> {
    if nsec3
        .type_bit_maps()
        .any(|t| t == qtype || t == RecordType::CNAME)
    {
        return Err(Nsec3Error::TypeNotDenied(name.clone(), qtype));
    }
    if qtype != RecordType::DS && nsec3.is_ancestor_delegation() {
        return Err(Nsec3Error::AncestorDelegation(name.clone()));
    }
    Ok(())
}
