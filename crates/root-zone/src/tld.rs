//! Answers for a TLD that has a resource (hns-dns.md §2.3–2.4): referrals with glue, DS and TXT
//! answers, NoData with the TLD's NSEC, and NXDOMAIN below a TLD without name servers (the
//! fleet's deviation from hsd's NOERROR, §8).

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RecordType};

use hnsfleet_hns::name::Name as HnsName;
use hnsfleet_hns::resource::Resource;
use hnsfleet_hns_dns::ResourceDns;

use crate::nsec::{self, TypeMap};
use crate::{Answer, KeyRole, RecordSet, RootError};

/// The answer for `T` (or a name below it when `below`) from T's non-empty resource bytes. The
/// caller appends the SOA to authoritative answers without answer records.
pub(crate) fn answer(
    tld: &HnsName,
    below: bool,
    data: &[u8],
    qtype: RecordType,
) -> Result<Answer, RootError> {
    let resource = Resource::decode(data).map_err(|source| RootError::Resource {
        tld: tld.clone(),
        source,
    })?;
    let owner = tld_name(tld)?;
    let map = TypeMap::for_resource(&resource);
    if below {
        if resource.has_ns() {
            return referral(tld, &owner, &resource);
        }
        // hsd answers NOERROR with an NSEC that denies the name: validators reject that, so
        // the fleet says NXDOMAIN with the same proof (it also covers `*.T`).
        return Ok(authoritative(
            ResponseCode::NXDomain,
            Vec::new(),
            vec![nsec::tld_nsec(tld, map)?],
        ));
    }
    match qtype {
        // The root is authoritative for the DS set, so it never refers for it.
        RecordType::DS if resource.has_ds() => Ok(authoritative(
            ResponseCode::NoError,
            vec![RecordSet::signed(resource.ds_records(&owner), KeyRole::Zsk)],
            Vec::new(),
        )),
        RecordType::DS => no_data(tld, map),
        _ if resource.has_ns() => referral(tld, &owner, &resource),
        RecordType::TXT if resource.has_txt() => Ok(authoritative(
            ResponseCode::NoError,
            vec![RecordSet::signed(
                resource.txt_records(&owner),
                KeyRole::Zsk,
            )],
            Vec::new(),
        )),
        _ => no_data(tld, map),
    }
}

/// AA=0; authority: NS (unsigned), then DS (signed) or the insecure-delegation NSEC; additional:
/// glue (unsigned).
fn referral(tld: &HnsName, owner: &Name, resource: &Resource) -> Result<Answer, RootError> {
    let referral = resource.referral(owner)?;
    let mut authority = vec![RecordSet::unsigned(referral.ns)];
    if referral.ds.is_empty() {
        authority.push(nsec::tld_nsec(tld, TypeMap::Ns)?);
    } else {
        authority.push(RecordSet::signed(referral.ds, KeyRole::Zsk));
    }
    let additional = if referral.glue.is_empty() {
        Vec::new()
    } else {
        vec![RecordSet::unsigned(referral.glue)]
    };
    Ok(Answer {
        rcode: ResponseCode::NoError,
        authoritative: false,
        answer: Vec::new(),
        authority,
        additional,
    })
}

/// AA=1, NOERROR, authority: `T NSEC T\000. <map>`.
fn no_data(tld: &HnsName, map: TypeMap) -> Result<Answer, RootError> {
    Ok(authoritative(
        ResponseCode::NoError,
        Vec::new(),
        vec![nsec::tld_nsec(tld, map)?],
    ))
}

fn authoritative(rcode: ResponseCode, answer: Vec<RecordSet>, authority: Vec<RecordSet>) -> Answer {
    Answer {
        rcode,
        authoritative: true,
        answer,
        authority,
        additional: Vec::new(),
    }
}

/// The TLD as a one-label DNS name (lower-case: owners derived from the query are).
fn tld_name(tld: &HnsName) -> Result<Name, RootError> {
    Name::from_labels([tld.as_str().as_bytes()]).map_err(|_| {
        RootError::Dns(hnsfleet_hns_dns::DnsError::NameTooLong {
            name: tld.as_str().to_string(),
        })
    })
}

#[cfg(test)]
mod tests;
