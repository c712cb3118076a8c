//! Denial of existence as hsd builds it (hns-dns.md §2.6): "minimally covering" NSEC records
//! around one TLD label, the no-wildcard NSEC at the apex, and the fixed type bitmaps.

use hickory_proto::dnssec::rdata::{DNSSECRData, NSEC};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, Record, RecordType};

use hnsfleet_hns::name::{MAX_NAME_SIZE, Name as HnsName};
use hnsfleet_hns::resource::Resource;
use hnsfleet_hns_dns::DnsError;

use crate::{Answer, KeyRole, RecordSet};

/// TTL of every NSEC record.
pub const NSEC_TTL: u32 = 21600;

/// The type bitmaps the root uses in its NSEC records.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum TypeMap {
    /// The apex: NS SOA RRSIG NSEC DNSKEY.
    Root,
    /// Nothing but the proof itself: RRSIG NSEC.
    Empty,
    /// A delegation: NS RRSIG NSEC.
    Ns,
    /// A TLD with TXT but no name servers: TXT RRSIG NSEC.
    Txt,
    /// A synth name for an IPv4 address: A RRSIG NSEC.
    A,
    /// A synth name for an IPv6 address: AAAA RRSIG NSEC.
    Aaaa,
}

// === impl TypeMap ===

impl TypeMap {
    /// The types the map lists.
    pub fn types(self) -> &'static [RecordType] {
        use RecordType::{A, AAAA, DNSKEY, NS, NSEC, RRSIG, SOA, TXT};
        match self {
            TypeMap::Root => &[NS, SOA, RRSIG, NSEC, DNSKEY],
            TypeMap::Empty => &[RRSIG, NSEC],
            TypeMap::Ns => &[NS, RRSIG, NSEC],
            TypeMap::Txt => &[TXT, RRSIG, NSEC],
            TypeMap::A => &[A, RRSIG, NSEC],
            TypeMap::Aaaa => &[AAAA, RRSIG, NSEC],
        }
    }

    /// The map of a TLD's NoData proof: NS if it delegates, else TXT if it has TXT, else empty.
    /// (A DS without NS sets no bit, as in hsd.)
    pub fn for_resource(resource: &Resource) -> TypeMap {
        if resource.has_ns() {
            TypeMap::Ns
        } else if resource.has_txt() {
            TypeMap::Txt
        } else {
            TypeMap::Empty
        }
    }
}

/// The label right after `label` in canonical order, as hsd computes it: append a zero byte,
/// or, at the 63-byte limit, increment the last byte. `label` must be lower-case.
pub fn next_label(label: &[u8]) -> Vec<u8> {
    let mut out = label.to_vec();
    if out.len() >= MAX_NAME_SIZE {
        if let Some(last) = out.last_mut() {
            *last = last.wrapping_add(1);
        }
    } else {
        out.push(0);
    }
    out
}

/// A label just before `label` in canonical order, as hsd computes it: decrement the last byte,
/// then append `0xff` when under the 63-byte limit. `label` must be lower-case.
pub fn prev_label(label: &[u8]) -> Vec<u8> {
    let mut out = label.to_vec();
    if let Some(last) = out.last_mut() {
        *last = last.wrapping_sub(1);
    }
    if out.len() < MAX_NAME_SIZE {
        out.push(0xff);
    }
    out
}

/// `owner 21600 NSEC next <map>`, signed by the ZSK.
pub(crate) fn nsec_set(owner: Name, next: Name, map: TypeMap) -> RecordSet {
    let nsec = NSEC::new(next, map.types().iter().copied());
    let record = Record::from_rdata(owner, NSEC_TTL, RData::DNSSEC(DNSSECRData::NSEC(nsec)));
    RecordSet::signed(vec![record], KeyRole::Zsk)
}

/// `T NSEC T\000. <map>`: what exists at the TLD itself (NoData and insecure delegations).
pub(crate) fn tld_nsec(tld: &HnsName, map: TypeMap) -> Result<RecordSet, DnsError> {
    let label = tld.as_str().as_bytes();
    Ok(nsec_set(
        single_label(label)?,
        single_label(&next_label(label))?,
        map,
    ))
}

/// The NXDOMAIN proof for a TLD with no data (the caller appends the SOA): `prev(T) NSEC
/// next(T)` covering the TLD, then `!. NSEC +.` covering the wildcard `*.`, both with the empty
/// map, each signed on its own.
pub(crate) fn nxdomain(tld: &HnsName) -> Result<Answer, DnsError> {
    let label = tld.as_str().as_bytes();
    let cover = nsec_set(
        single_label(&prev_label(label))?,
        single_label(&next_label(label))?,
        TypeMap::Empty,
    );
    let wildcard = nsec_set(single_label(b"!")?, single_label(b"+")?, TypeMap::Empty);
    Ok(Answer {
        rcode: ResponseCode::NXDomain,
        authoritative: true,
        answer: Vec::new(),
        authority: vec![cover, wildcard],
        additional: Vec::new(),
    })
}

/// A one-label name from raw bytes (1..=63 bytes).
fn single_label(label: &[u8]) -> Result<Name, DnsError> {
    Name::from_labels([label]).map_err(|_| DnsError::NameTooLong {
        name: String::from_utf8_lossy(label).into_owned(),
    })
}

#[cfg(test)]
mod tests;
