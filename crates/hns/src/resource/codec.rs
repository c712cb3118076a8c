//! Binary form of a resource: hsd `Resource.read`/`write` and the record bodies
//! (hsd `lib/dns/resource.js`, hns-dns.md §1.1–1.3).

use std::net::{Ipv4Addr, Ipv6Addr};

use crate::encoding::Reader;

use super::name::{Compressor, read_name};
use super::{
    MAX_RESOURCE_SIZE, MAX_U8_LEN, RESOURCE_VERSION, Record, Resource, ResourceError, WireName,
};

/// Decodes a whole blob (see [`Resource::decode`]).
pub(super) fn decode(data: &[u8]) -> Result<Resource, ResourceError> {
    let mut r = Reader::new(data);
    let version = r.u8()?;
    if version != RESOURCE_VERSION {
        return Err(ResourceError::UnsupportedVersion(version));
    }
    let mut records = Vec::new();
    let mut truncated_at = None;
    while r.remaining() > 0 {
        let at = r.position();
        let record = match r.u8()? {
            0 => {
                let key_tag = r.u16_be()?;
                let algorithm = r.u8()?;
                let digest_type = r.u8()?;
                let len = r.u8()?;
                let digest = r.bytes(usize::from(len))?.to_vec();
                Record::DS {
                    key_tag,
                    algorithm,
                    digest_type,
                    digest,
                }
            }
            1 => Record::NS {
                name: name(&mut r)?,
            },
            2 => Record::GLUE4 {
                name: name(&mut r)?,
                addr: Ipv4Addr::from(r.array::<4>()?),
            },
            3 => Record::GLUE6 {
                name: name(&mut r)?,
                addr: Ipv6Addr::from(r.array::<16>()?),
            },
            4 => Record::SYNTH4 {
                addr: Ipv4Addr::from(r.array::<4>()?),
            },
            5 => Record::SYNTH6 {
                addr: Ipv6Addr::from(r.array::<16>()?),
            },
            6 => {
                let count = r.u8()?;
                let mut strings = Vec::with_capacity(usize::from(count));
                for _ in 0..count {
                    let len = r.u8()?;
                    strings.push(r.bytes(usize::from(len))?.to_vec());
                }
                Record::TXT { strings }
            }
            // hsd stops at the first unknown type and keeps what it has.
            _ => {
                truncated_at = Some(at);
                break;
            }
        };
        records.push(record);
    }
    Ok(Resource {
        records,
        truncated_at,
    })
}

/// Reads a name at the reader's position, resolving pointers against the whole blob.
fn name(r: &mut Reader<'_>) -> Result<WireName, ResourceError> {
    let start = r.position();
    let (name, end) = read_name(r.data(), start)?;
    r.bytes(end - start)?;
    Ok(name)
}

/// Encodes records after the version byte (see [`Resource::encode`]).
pub(super) fn encode(records: &[Record]) -> Result<Vec<u8>, ResourceError> {
    let mut out = Vec::with_capacity(MAX_RESOURCE_SIZE);
    out.push(RESOURCE_VERSION);
    let mut names = Compressor::default();
    for record in records {
        out.push(record.type_code());
        match record {
            Record::DS {
                key_tag,
                algorithm,
                digest_type,
                digest,
            } => {
                out.extend_from_slice(&key_tag.to_be_bytes());
                out.push(*algorithm);
                out.push(*digest_type);
                out.push(u8_len(digest.len(), "ds digest longer than 255 bytes")?);
                out.extend_from_slice(digest);
            }
            Record::NS { name } => names.write_name(&mut out, name),
            Record::GLUE4 { name, addr } => {
                names.write_name(&mut out, name);
                out.extend_from_slice(&addr.octets());
            }
            Record::GLUE6 { name, addr } => {
                names.write_name(&mut out, name);
                out.extend_from_slice(&addr.octets());
            }
            Record::SYNTH4 { addr } => out.extend_from_slice(&addr.octets()),
            Record::SYNTH6 { addr } => out.extend_from_slice(&addr.octets()),
            Record::TXT { strings } => {
                out.push(u8_len(strings.len(), "more than 255 txt strings")?);
                for s in strings {
                    out.push(u8_len(s.len(), "txt string longer than 255 bytes")?);
                    out.extend_from_slice(s);
                }
            }
        }
    }
    if out.len() > MAX_RESOURCE_SIZE {
        return Err(ResourceError::TooLarge { size: out.len() });
    }
    Ok(out)
}

/// A length that must fit the `u8` prefix it is stored behind.
fn u8_len(len: usize, reason: &'static str) -> Result<u8, ResourceError> {
    if len > MAX_U8_LEN {
        return Err(ResourceError::InvalidRecord { reason });
    }
    Ok(len as u8)
}
