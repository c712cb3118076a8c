//! The `_synth` pseudo-TLD (hns-dns.md §2.5): `_<base32hex>._synth.` names answer the address
//! they encode, `_synth.` itself is an empty non-terminal. Never cached by hsd.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use hnsfleet_hns_dns::{DnsError, RESOURCE_TTL, parse_synth_label};

use crate::nsec::{self, TypeMap};
use crate::{Answer, KeyRole, RecordSet, RootError};

/// The answer for a lower-case `name` routed to `_synth` (one or two labels, the last
/// `_synth`, the first starting with `_`). A malformed address label is an error (SERVFAIL,
/// as in hsd). The caller appends the SOA to NoData.
pub(crate) fn answer(name: &Name, qtype: RecordType) -> Result<Answer, RootError> {
    let mut out = Answer {
        rcode: ResponseCode::NoError,
        authoritative: true,
        answer: Vec::new(),
        authority: Vec::new(),
        additional: Vec::new(),
    };
    let next = name.prepend_label(&[0u8][..]).map_err(|_| too_long(name))?;
    if name.num_labels() < 2 {
        out.authority
            .push(nsec::nsec_set(name.clone(), next, TypeMap::Empty));
        return Ok(out);
    }
    let label = name.iter().next().unwrap_or_default();
    let label = std::str::from_utf8(label).map_err(|_| DnsError::InvalidSynth {
        reason: "character outside base32hex",
    })?;
    let (rdata, map, rtype) = match parse_synth_label(label)? {
        IpAddr::V4(v4) => (RData::A(A(v4)), TypeMap::A, RecordType::A),
        IpAddr::V6(v6) => (RData::AAAA(AAAA(v6)), TypeMap::Aaaa, RecordType::AAAA),
    };
    if qtype == rtype {
        let record = Record::from_rdata(name.clone(), RESOURCE_TTL, rdata);
        out.answer
            .push(RecordSet::signed(vec![record], KeyRole::Zsk));
    } else {
        out.authority.push(nsec::nsec_set(name.clone(), next, map));
    }
    Ok(out)
}

fn too_long(name: &Name) -> DnsError {
    DnsError::NameTooLong {
        name: name.to_ascii(),
    }
}

#[cfg(test)]
mod tests;
