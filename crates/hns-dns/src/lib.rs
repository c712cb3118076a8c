//! What the HNS root serves for a TLD, built from its on-chain [`Resource`]: referral NS, DS,
//! glue and TXT records as hickory-proto types, the `_synth` name codec, and zone-file text.
//!
//! This crate is the DNS side of the protocol core, split from `hnsfleet-hns` so that crates
//! which never build DNS messages (the chain-follower) do not link hickory-proto and ring. It is
//! pure like `hnsfleet-hns`: no I/O, no clock, no async. It must not sign, pick answers or
//! prove absence; that is the root zone's job.
//!
//! Follows hsd `lib/dns/resource.js` (`toNS`, `toGlue`, `toDS`, `toTXT`, `toReferral`) and the
//! SYNTH naming of hsd `lib/dns/server.js` (hns-dns.md §2.3–2.5, §2.9):
//! - NS RRs come from NS/GLUE4/GLUE6/SYNTH4/SYNTH6 in resource order, de-duplicated by exact
//!   (case-sensitive) target; glue A/AAAA only for GLUE names equal to or below the TLD
//!   (ASCII-case-insensitive test) and always for SYNTH names, in resource order, not
//!   de-duplicated; one TXT RR per TXT record; every TTL is [`RESOURCE_TTL`].
//! - Names keep the bytes and case stored on chain.
//!
//! Deliberate deviation (hns-dns.md §1.5, §8): an IPv4-mapped (or Tor-prefixed) IPv6 address in
//! SYNTH6 or in-bailiwick GLUE6 becomes an AAAA record with the 16 raw bytes; hsd throws while
//! building that glue and answers SERVFAIL. A name that hsd accepts but that needs 256 bytes on
//! the DNS wire cannot be served; conversion reports [`DnsError::NameTooLong`] (hsd would emit
//! an over-long name).
#![forbid(unsafe_code)]

use std::fmt::Write as _;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};

use data_encoding::BASE32HEX_NOPAD;
use hickory_proto::dnssec::rdata::{DNSSECRData, DS};
use hickory_proto::dnssec::{Algorithm, DigestType};
use hickory_proto::rr::rdata::{A, AAAA, NS, TXT};
use hickory_proto::rr::{Name, RData, Record};
use thiserror::Error;

use hnsfleet_hns::resource::{self, Resource, WireName, txt_to_presentation};

/// TTL of every record derived from a resource (hsd `DEFAULT_TTL`: one tree interval).
pub const RESOURCE_TTL: u32 = 21600;

/// The pseudo-TLD under which SYNTH name servers are named.
pub const SYNTH_TLD: &str = "_synth";

/// Why a resource could not be turned into DNS records, or a synth label into an address.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DnsError {
    /// A stored name needs more than 255 bytes on the DNS wire (hsd's bound allows 256).
    #[error("name {name} is longer than 255 bytes on the dns wire")]
    NameTooLong {
        /// The name in presentation form.
        name: String,
    },
    /// A `_synth` label is not `_` + strict base32hex of 4 or 16 bytes.
    #[error("invalid synth label: {reason}")]
    InvalidSynth {
        /// What is wrong with it.
        reason: &'static str,
    },
}

/// The delegation hsd builds for a TLD with name servers: authority = `ns` then `ds` (then the
/// caller's RRSIG(DS) or NSEC proof), additional = `glue`. NS and glue are never signed.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct Referral {
    /// NS RRs owned by the TLD, resource order, de-duplicated by exact target.
    pub ns: Vec<Record>,
    /// DS RRs owned by the TLD, resource order.
    pub ds: Vec<Record>,
    /// Glue A/AAAA RRs, resource order.
    pub glue: Vec<Record>,
}

/// The DNS records a root server serves for a TLD, built from its resource (implemented for
/// [`Resource`]; an extension trait because the resource type lives in `hnsfleet-hns`).
pub trait ResourceDns {
    /// NS RRs for `tld` (hsd `toNS`).
    fn ns_records(&self, tld: &Name) -> Result<Vec<Record>, DnsError>;

    /// Glue A/AAAA RRs for a referral to `tld` (hsd `toGlue`).
    fn glue_records(&self, tld: &Name) -> Result<Vec<Record>, DnsError>;

    /// DS RRs for `tld` (hsd `toDS`); algorithm and digest type values are kept verbatim.
    fn ds_records(&self, tld: &Name) -> Vec<Record>;

    /// TXT RRs for `tld`, one per TXT record (hsd `toTXT`).
    fn txt_records(&self, tld: &Name) -> Vec<Record>;

    /// The referral sections for `tld` (hsd `toReferral` before signing). Meaningful when
    /// [`Resource::has_ns`]; otherwise `ns` and `glue` are empty.
    fn referral(&self, tld: &Name) -> Result<Referral, DnsError>;
}

// === impl Referral ===

impl Referral {
    /// Authority records in hsd's order: NS, then DS.
    pub fn authority(&self) -> impl Iterator<Item = &Record> {
        self.ns.iter().chain(self.ds.iter())
    }
}

// === impl ResourceDns for Resource ===

impl ResourceDns for Resource {
    fn ns_records(&self, tld: &Name) -> Result<Vec<Record>, DnsError> {
        Ok(delegation(self, tld, true, false)?.0)
    }

    fn glue_records(&self, tld: &Name) -> Result<Vec<Record>, DnsError> {
        Ok(delegation(self, tld, false, true)?.1)
    }

    fn ds_records(&self, tld: &Name) -> Vec<Record> {
        self.records
            .iter()
            .filter_map(|record| match record {
                resource::Record::DS {
                    key_tag,
                    algorithm,
                    digest_type,
                    digest,
                } => {
                    let ds = DS::new(
                        *key_tag,
                        Algorithm::from_u8(*algorithm),
                        DigestType::from(*digest_type),
                        digest.clone(),
                    );
                    let rdata = RData::DNSSEC(DNSSECRData::DS(ds));
                    Some(Record::from_rdata(tld.clone(), RESOURCE_TTL, rdata))
                }
                _ => None,
            })
            .collect()
    }

    fn txt_records(&self, tld: &Name) -> Vec<Record> {
        self.records
            .iter()
            .filter_map(|record| match record {
                resource::Record::TXT { strings } => {
                    let txt = TXT::from_bytes(strings.iter().map(Vec::as_slice).collect());
                    Some(Record::from_rdata(
                        tld.clone(),
                        RESOURCE_TTL,
                        RData::TXT(txt),
                    ))
                }
                _ => None,
            })
            .collect()
    }

    fn referral(&self, tld: &Name) -> Result<Referral, DnsError> {
        let (ns, glue) = delegation(self, tld, true, true)?;
        Ok(Referral {
            ns,
            ds: self.ds_records(tld),
            glue,
        })
    }
}

// === name server targets ===

/// The name server host `record` delegates to: the stored name for NS/GLUE4/GLUE6, the
/// synthesized `_<base32hex>._synth.` name for SYNTH4/SYNTH6, `None` for DS/TXT.
pub fn ns_name(record: &resource::Record) -> Option<WireName> {
    match record {
        resource::Record::NS { name }
        | resource::Record::GLUE4 { name, .. }
        | resource::Record::GLUE6 { name, .. } => Some(name.clone()),
        resource::Record::SYNTH4 { addr } => Some(synth_wire_name(IpAddr::V4(*addr))),
        resource::Record::SYNTH6 { addr } => Some(synth_wire_name(IpAddr::V6(*addr))),
        resource::Record::DS { .. } | resource::Record::TXT { .. } => None,
    }
}

// === synth names ===

/// The synth label for an address: `_` + lower-case unpadded base32hex of its 4 (IPv4) or 16
/// (IPv6, including IPv4-mapped) bytes, e.g. `127.0.0.1` → `_fs00008`.
pub fn synth_label(addr: IpAddr) -> String {
    let encoded = match addr {
        IpAddr::V4(v4) => BASE32HEX_NOPAD.encode(&v4.octets()),
        IpAddr::V6(v6) => BASE32HEX_NOPAD.encode(&v6.octets()),
    };
    format!("_{}", encoded.to_ascii_lowercase())
}

/// `<synth_label>._synth.` as raw labels.
pub fn synth_wire_name(addr: IpAddr) -> WireName {
    let label = synth_label(addr);
    // At most 27 + 6 bytes of labels: always within the name bounds.
    WireName::from_labels([label.as_bytes(), SYNTH_TLD.as_bytes()]).unwrap_or_default()
}

/// `<synth_label>._synth.` as a DNS name, e.g. `2001:db8::1` → `_400gre00000000000000000004._synth.`.
pub fn synth_name(addr: IpAddr) -> Name {
    let label = synth_label(addr);
    // At most 27 + 6 bytes of labels: always a valid name.
    Name::from_labels([label.as_bytes(), SYNTH_TLD.as_bytes()]).unwrap_or_else(|_| Name::root())
}

/// Parses a synth label (`_fs00008`) strictly as hsd does: leading `_`, base32hex (either case)
/// with zero trailing bits and a valid unpadded length, decoding to 4 bytes (IPv4) or 16 bytes
/// (IPv6; an IPv4-mapped address is returned as IPv4, as the root answers it with A).
pub fn parse_synth_label(label: &str) -> Result<IpAddr, DnsError> {
    let invalid = |reason| DnsError::InvalidSynth { reason };
    let body = label
        .strip_prefix('_')
        .ok_or(invalid("missing leading underscore"))?;
    if body.is_empty() {
        return Err(invalid("empty label after the underscore"));
    }
    if !body.is_ascii() {
        return Err(invalid("character outside base32hex"));
    }
    let bytes = BASE32HEX_NOPAD
        .decode(body.to_ascii_uppercase().as_bytes())
        .map_err(|e| {
            invalid(match e.kind {
                data_encoding::DecodeKind::Trailing => "non-zero trailing bits",
                data_encoding::DecodeKind::Length => "invalid base32hex length",
                _ => "character outside base32hex",
            })
        })?;
    if let Ok(v4) = <[u8; 4]>::try_from(bytes.as_slice()) {
        return Ok(IpAddr::V4(Ipv4Addr::from(v4)));
    }
    if let Ok(v6) = <[u8; 16]>::try_from(bytes.as_slice()) {
        let v6 = Ipv6Addr::from(v6);
        return Ok(match v6.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(v6),
        });
    }
    Err(invalid("decodes to neither 4 nor 16 bytes"))
}

// === names and text ===

/// Converts stored labels to a hickory name (fully qualified, bytes and case kept).
pub fn to_dns_name(name: &WireName) -> Result<Name, DnsError> {
    Name::from_labels(name.labels()).map_err(|_| DnsError::NameTooLong {
        name: name.to_presentation(),
    })
}

/// Zone-file text, one line per record: `owner TTL CLASS TYPE rdata` separated by single
/// spaces. Names use hsd's presentation escapes, TXT strings are quoted with bns escapes, DS
/// digests are upper-case hex (`-` when empty); other types use hickory's rdata text.
pub fn to_zone_text(records: &[Record]) -> String {
    let mut out = String::new();
    for record in records {
        out.push_str(&dns_name_text(&record.name));
        let _ = write!(
            out,
            " {} {} {} ",
            record.ttl,
            record.dns_class,
            record.record_type()
        );
        match &record.data {
            RData::A(a) => {
                let _ = write!(out, "{}", a.0);
            }
            RData::AAAA(aaaa) => {
                let _ = write!(out, "{}", aaaa.0);
            }
            RData::NS(ns) => out.push_str(&dns_name_text(&ns.0)),
            RData::TXT(txt) => {
                let strings: Vec<String> = txt
                    .txt_data
                    .iter()
                    .map(|s| format!("\"{}\"", txt_to_presentation(s)))
                    .collect();
                out.push_str(&strings.join(" "));
            }
            RData::DNSSEC(DNSSECRData::DS(ds)) => {
                let digest = match ds.digest() {
                    [] => "-".to_string(),
                    d => hex::encode_upper(d),
                };
                let _ = write!(
                    out,
                    "{} {} {} {digest}",
                    ds.key_tag(),
                    u8::from(ds.algorithm()),
                    u8::from(ds.digest_type()),
                );
            }
            other => {
                let _ = write!(out, "{other}");
            }
        }
        out.push('\n');
    }
    out
}

// === private helpers ===

/// NS and glue in one pass over `res`'s records, converting each target name once.
fn delegation(
    res: &Resource,
    tld: &Name,
    want_ns: bool,
    want_glue: bool,
) -> Result<(Vec<Record>, Vec<Record>), DnsError> {
    let zone = tld_wire_name(tld)?;
    let mut seen: Vec<WireName> = Vec::new();
    let (mut ns, mut glue) = (Vec::new(), Vec::new());
    for record in &res.records {
        let Some(target) = ns_name(record) else {
            continue;
        };
        let glue_rdata = match record {
            resource::Record::GLUE4 { addr, .. } if target.is_subdomain_of(&zone) => {
                Some(RData::A(A(*addr)))
            }
            resource::Record::GLUE6 { addr, .. } if target.is_subdomain_of(&zone) => {
                Some(RData::AAAA(AAAA(*addr)))
            }
            resource::Record::SYNTH4 { addr } => Some(RData::A(A(*addr))),
            resource::Record::SYNTH6 { addr } => Some(RData::AAAA(AAAA(*addr))),
            _ => None,
        }
        .filter(|_| want_glue);
        let new_ns = want_ns && !seen.contains(&target);
        if !new_ns && glue_rdata.is_none() {
            continue;
        }
        let name = to_dns_name(&target)?;
        if let Some(rdata) = glue_rdata {
            glue.push(Record::from_rdata(name.clone(), RESOURCE_TTL, rdata));
        }
        if new_ns {
            let rdata = RData::NS(NS(name));
            ns.push(Record::from_rdata(tld.clone(), RESOURCE_TTL, rdata));
            seen.push(target);
        }
    }
    Ok((ns, glue))
}

/// A hickory name in hsd's presentation form.
fn dns_name_text(name: &Name) -> String {
    let mut out = String::new();
    resource::write_presentation(&mut out, name.iter());
    out
}

/// The TLD as raw labels, for the bailiwick test.
fn tld_wire_name(tld: &Name) -> Result<WireName, DnsError> {
    WireName::from_labels(tld.iter()).map_err(|_| DnsError::NameTooLong {
        name: dns_name_text(tld),
    })
}

#[cfg(test)]
mod tests;
