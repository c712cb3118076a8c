//! Answers for the root name itself (hns-dns.md §2.2): NS and glue of the configured public
//! host, the SOA with an hourly serial, the DNSKEY set, and NoData with the apex NSEC.

use std::net::IpAddr;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::rdata::{A, AAAA, NS, SOA};
use hickory_proto::rr::{Name, RData, Record, RecordType};

use hnsfleet_hns_dns::synth_name;

use crate::keys::dnskey_set;
use crate::nsec::{self, TypeMap};
use crate::{Answer, KeyRole, RecordSet};

/// TTL of the apex NS set and its glue.
pub const APEX_NS_TTL: u32 = 518400;

/// TTL of the root SOA.
pub const SOA_TTL: u32 = 86400;

/// SOA timers: refresh, retry, expire, minimum (the negative-caching TTL).
const SOA_REFRESH: i32 = 1800;
const SOA_RETRY: i32 = 900;
const SOA_EXPIRE: i32 = 604800;
const SOA_MINIMUM: u32 = 21600;

/// The apex answer for `qtype` (always AA, NOERROR; the caller appends the SOA to NoData).
pub(crate) fn answer(public_host: IpAddr, qtype: RecordType, now: u64) -> Answer {
    let mut out = Answer {
        rcode: ResponseCode::NoError,
        authoritative: true,
        answer: Vec::new(),
        authority: Vec::new(),
        additional: Vec::new(),
    };
    match qtype {
        RecordType::NS | RecordType::ANY => {
            out.answer.push(ns_set(public_host));
            out.additional.push(glue_set(public_host));
        }
        RecordType::SOA => {
            out.answer.push(soa_set(now));
            out.authority.push(ns_set(public_host));
            out.additional.push(glue_set(public_host));
        }
        RecordType::DNSKEY => out.answer.push(dnskey_set()),
        _ => out
            .authority
            .push(nsec::nsec_set(Name::root(), apex_next(), TypeMap::Root)),
    }
    out
}

/// The root SOA, signed by the ZSK.
pub(crate) fn soa_set(now: u64) -> RecordSet {
    let soa = SOA::new(
        Name::root(),
        Name::root(),
        soa_serial(now),
        SOA_REFRESH,
        SOA_RETRY,
        SOA_EXPIRE,
        SOA_MINIMUM,
    );
    let record = Record::from_rdata(Name::root(), SOA_TTL, RData::SOA(soa));
    RecordSet::signed(vec![record], KeyRole::Zsk)
}

/// The SOA serial for `now` (Unix seconds): the UTC hour as the decimal `YYYYMMDDHH`
/// (saturating at `u32::MAX` after year 4294).
pub fn soa_serial(now: u64) -> u32 {
    let days = now / 86400;
    let hour = (now % 86400) / 3600;
    let (year, month, day) = civil_from_days(days);
    let serial = year
        .saturating_mul(1_000_000)
        .saturating_add(month * 10_000 + day * 100 + hour);
    u32::try_from(serial).unwrap_or(u32::MAX)
}

/// `. 518400 NS <synth name of the public host>`, signed by the ZSK.
fn ns_set(public_host: IpAddr) -> RecordSet {
    let rdata = RData::NS(NS(synth_name(public_host)));
    let record = Record::from_rdata(Name::root(), APEX_NS_TTL, rdata);
    RecordSet::signed(vec![record], KeyRole::Zsk)
}

/// The A or AAAA record of the apex name server, signed by the ZSK.
fn glue_set(public_host: IpAddr) -> RecordSet {
    let rdata = match public_host {
        IpAddr::V4(v4) => RData::A(A(v4)),
        IpAddr::V6(v6) => RData::AAAA(AAAA(v6)),
    };
    let record = Record::from_rdata(synth_name(public_host), APEX_NS_TTL, rdata);
    RecordSet::signed(vec![record], KeyRole::Zsk)
}

/// `\000.`: the name right after the apex in canonical order.
fn apex_next() -> Name {
    Name::from_labels([&[0u8][..]]).unwrap_or_else(|_| Name::root())
}

/// Year, month (1..=12) and day (1..=31) of the proleptic Gregorian calendar for a count of
/// days since 1970-01-01 (the era-based conversion: 400-year eras of 146097 days, years
/// counted from March so the leap day falls last).
fn civil_from_days(days: u64) -> (u64, u64, u64) {
    // Shift the epoch to 0000-03-01.
    let z = days + 719_468;
    let era = z / 146_097;
    let day_of_era = z % 146_097;
    let year_of_era =
        (day_of_era - day_of_era / 1460 + day_of_era / 36_524 - day_of_era / 146_096) / 365;
    let day_of_year = day_of_era - (365 * year_of_era + year_of_era / 4 - year_of_era / 100);
    let month_from_march = (5 * day_of_year + 2) / 153;
    let day = day_of_year - (153 * month_from_march + 2) / 5 + 1;
    let month = if month_from_march < 10 {
        month_from_march + 3
    } else {
        month_from_march - 9
    };
    let year = era * 400 + year_of_era + u64::from(month <= 2);
    (year, month, day)
}

#[cfg(test)]
mod tests;
