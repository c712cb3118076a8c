//! hsd's resource JSON (`getnameresource`, `sendupdate`): hsd `lib/dns/resource.js`
//! `getJSON`/`fromJSON`, bns `lib/encoding.js` string escaping, binet `lib/ip.js` address text.
//!
//! Output matches hsd byte for byte: field order, names in presentation form, TXT strings in
//! bns presentation form (`"` and `\` escaped, other bytes outside 0x20..=0x7e as `\DDD`),
//! digests in lower-case hex, and addresses as binet prints them: an IPv4-mapped IPv6 address as
//! dotted IPv4, `fd87:d87e:eb43::/48` as a legacy `.onion` name, `::a.b.c.d` when the first six
//! groups are zero, otherwise RFC 5952 text.
//!
//! Input accepts everything hsd's output contains (so JSON round-trips) and hsd's escapes, with
//! these differences from hsd's `fromJSON`: non-ASCII text and `\DDD` above 255 are rejected
//! (hsd keeps low bytes), a TXT string is bounded by its unescaped length (255 bytes, hsd bounds
//! the escaped text by 255 characters), GLUE6/SYNTH6 also take the dotted and `.onion` forms hsd
//! prints, and addresses use standard text only (binet also takes `10`, `0x0a`, `/24` suffixes).

use std::fmt::Write as _;
use std::net::{Ipv4Addr, Ipv6Addr};

use data_encoding::BASE32_NOPAD;
use serde::{Deserialize, Deserializer, Serialize, Serializer};

use super::{MAX_U8_LEN, Record, Resource, ResourceError, WireName};

/// Prefix binet treats as a Tor (legacy onion) address.
const ONION_PREFIX: [u8; 6] = [0xfd, 0x87, 0xd8, 0x7e, 0xeb, 0x43];

#[derive(Serialize, Deserialize)]
struct JsonResource {
    records: Vec<JsonRecord>,
}

#[allow(clippy::upper_case_acronyms)] // Variant names are the JSON `type` tags.
#[derive(Serialize, Deserialize)]
#[serde(tag = "type")]
enum JsonRecord {
    DS {
        #[serde(rename = "keyTag")]
        key_tag: u16,
        algorithm: u8,
        #[serde(rename = "digestType")]
        digest_type: u8,
        digest: String,
    },
    NS {
        ns: String,
    },
    GLUE4 {
        ns: String,
        address: String,
    },
    GLUE6 {
        ns: String,
        address: String,
    },
    SYNTH4 {
        address: String,
    },
    SYNTH6 {
        address: String,
    },
    TXT {
        txt: Vec<String>,
    },
}

// === impl Resource (serde) ===

impl Serialize for Resource {
    fn serialize<S: Serializer>(&self, serializer: S) -> Result<S::Ok, S::Error> {
        JsonResource {
            records: self.records.iter().map(to_json_record).collect(),
        }
        .serialize(serializer)
    }
}

impl<'de> Deserialize<'de> for Resource {
    fn deserialize<D: Deserializer<'de>>(deserializer: D) -> Result<Self, D::Error> {
        let json = JsonResource::deserialize(deserializer)?;
        let records = json
            .records
            .into_iter()
            .map(from_json_record)
            .collect::<Result<Vec<_>, _>>()
            .map_err(serde::de::Error::custom)?;
        Ok(Resource::new(records))
    }
}

fn to_json_record(record: &Record) -> JsonRecord {
    match record {
        Record::DS {
            key_tag,
            algorithm,
            digest_type,
            digest,
        } => JsonRecord::DS {
            key_tag: *key_tag,
            algorithm: *algorithm,
            digest_type: *digest_type,
            digest: hex::encode(digest),
        },
        Record::NS { name } => JsonRecord::NS {
            ns: name.to_presentation(),
        },
        Record::GLUE4 { name, addr } => JsonRecord::GLUE4 {
            ns: name.to_presentation(),
            address: addr.to_string(),
        },
        Record::GLUE6 { name, addr } => JsonRecord::GLUE6 {
            ns: name.to_presentation(),
            address: ipv6_to_hsd_string(addr),
        },
        Record::SYNTH4 { addr } => JsonRecord::SYNTH4 {
            address: addr.to_string(),
        },
        Record::SYNTH6 { addr } => JsonRecord::SYNTH6 {
            address: ipv6_to_hsd_string(addr),
        },
        Record::TXT { strings } => JsonRecord::TXT {
            txt: strings.iter().map(|s| txt_to_presentation(s)).collect(),
        },
    }
}

fn from_json_record(record: JsonRecord) -> Result<Record, ResourceError> {
    Ok(match record {
        JsonRecord::DS {
            key_tag,
            algorithm,
            digest_type,
            digest,
        } => {
            let digest = hex::decode(&digest)
                .map_err(|_| ResourceError::Json("ds digest is not hex".into()))?;
            if digest.len() > MAX_U8_LEN {
                return Err(ResourceError::InvalidRecord {
                    reason: "ds digest longer than 255 bytes",
                });
            }
            Record::DS {
                key_tag,
                algorithm,
                digest_type,
                digest,
            }
        }
        JsonRecord::NS { ns } => Record::NS {
            name: WireName::from_presentation(&ns)?,
        },
        JsonRecord::GLUE4 { ns, address } => Record::GLUE4 {
            name: WireName::from_presentation(&ns)?,
            addr: parse_ipv4(&address)?,
        },
        JsonRecord::GLUE6 { ns, address } => Record::GLUE6 {
            name: WireName::from_presentation(&ns)?,
            addr: parse_ipv6(&address)?,
        },
        JsonRecord::SYNTH4 { address } => Record::SYNTH4 {
            addr: parse_ipv4(&address)?,
        },
        JsonRecord::SYNTH6 { address } => Record::SYNTH6 {
            addr: parse_ipv6(&address)?,
        },
        JsonRecord::TXT { txt } => {
            if txt.len() > MAX_U8_LEN {
                return Err(ResourceError::InvalidRecord {
                    reason: "more than 255 txt strings",
                });
            }
            let strings = txt
                .iter()
                .map(|s| txt_from_presentation(s))
                .collect::<Result<Vec<_>, _>>()?;
            Record::TXT { strings }
        }
    })
}

// === TXT strings ===

/// bns presentation form of a TXT character-string (without surrounding quotes): `"` → `\"`,
/// `\` → `\\`, bytes outside 0x20..=0x7e → `\DDD`; spaces stay as they are.
pub fn txt_to_presentation(bytes: &[u8]) -> String {
    let mut out = String::with_capacity(bytes.len());
    for &b in bytes {
        match b {
            b'"' | b'\\' => {
                out.push('\\');
                out.push(char::from(b));
            }
            0x20..=0x7e => out.push(char::from(b)),
            // Writing into a String cannot fail.
            _ => {
                let _ = write!(out, "\\{b:03}");
            }
        }
    }
    out
}

/// Parses a TXT string in bns presentation form: `\DDD` is a decimal byte, `\` followed by any
/// other character is that character, a lone trailing `\` is kept as a backslash (as bns
/// does). The result must be at most 255 bytes.
pub fn txt_from_presentation(s: &str) -> Result<Vec<u8>, ResourceError> {
    let invalid = |reason| ResourceError::InvalidRecord { reason };
    if !s.is_ascii() {
        return Err(invalid("non-ascii character in txt string"));
    }
    let bytes = s.as_bytes();
    let mut out = Vec::with_capacity(bytes.len());
    let mut i = 0;
    while let Some(&c) = bytes.get(i) {
        if c != b'\\' {
            out.push(c);
            i += 1;
            continue;
        }
        match bytes.get(i + 1..i + 4) {
            Some(&[a, b, c]) if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
                let value =
                    u32::from(a - b'0') * 100 + u32::from(b - b'0') * 10 + u32::from(c - b'0');
                let byte =
                    u8::try_from(value).map_err(|_| invalid("\\DDD escape above 255 in txt"))?;
                out.push(byte);
                i += 4;
            }
            _ => match bytes.get(i + 1) {
                Some(&next) => {
                    out.push(next);
                    i += 2;
                }
                None => {
                    out.push(b'\\');
                    i += 1;
                }
            },
        }
    }
    if out.len() > MAX_U8_LEN {
        return Err(invalid("txt string longer than 255 bytes"));
    }
    Ok(out)
}

// === addresses ===

/// An IPv6 address as binet (hsd's JSON) prints it; see the module docs.
pub fn ipv6_to_hsd_string(addr: &Ipv6Addr) -> String {
    let octets = addr.octets();
    if let Some(v4) = addr.to_ipv4_mapped() {
        return v4.to_string();
    }
    if octets.starts_with(&ONION_PREFIX) {
        let host = BASE32_NOPAD
            .encode(octets.get(6..).unwrap_or_default())
            .to_ascii_lowercase();
        return format!("{host}.onion");
    }
    let words = addr.segments();
    // Longest run of zero groups (first one on ties); runs of one are not compressed.
    let mut best: Option<(usize, usize)> = None;
    let mut i = 0;
    while i < words.len() {
        if words.get(i) == Some(&0) {
            let start = i;
            while words.get(i) == Some(&0) {
                i += 1;
            }
            let len = i - start;
            if len >= 2 && best.is_none_or(|(_, l)| len > l) {
                best = Some((start, len));
            }
        } else {
            i += 1;
        }
    }
    if best == Some((0, 6)) {
        // binet (BSD inet_ntop) prints an "IPv4-compatible" address in dotted form.
        let v4 = Ipv4Addr::new(octets[12], octets[13], octets[14], octets[15]);
        return format!("::{v4}");
    }
    let mut out = String::with_capacity(39);
    let mut i = 0;
    while i < words.len() {
        if let Some((start, len)) = best
            && i == start
        {
            out.push_str("::");
            i += len;
            continue;
        }
        if i > 0 && !out.ends_with(':') {
            out.push(':');
        }
        let _ = write!(out, "{:x}", words[i]);
        i += 1;
    }
    out
}

/// IPv4 text for GLUE4/SYNTH4: dotted quad, or an IPv4-mapped IPv6 address (binet accepts it).
fn parse_ipv4(s: &str) -> Result<Ipv4Addr, ResourceError> {
    if let Ok(v4) = s.parse::<Ipv4Addr>() {
        return Ok(v4);
    }
    s.parse::<Ipv6Addr>()
        .ok()
        .and_then(|v6| v6.to_ipv4_mapped())
        .ok_or_else(|| ResourceError::Json(format!("invalid ipv4 address {s:?}")))
}

/// IPv6 text for GLUE6/SYNTH6: standard IPv6 text, or the dotted and `.onion` forms that
/// [`ipv6_to_hsd_string`] produces for mapped and onion-prefixed addresses.
fn parse_ipv6(s: &str) -> Result<Ipv6Addr, ResourceError> {
    if let Ok(v6) = s.parse::<Ipv6Addr>() {
        return Ok(v6);
    }
    if let Ok(v4) = s.parse::<Ipv4Addr>() {
        return Ok(v4.to_ipv6_mapped());
    }
    let invalid = || ResourceError::Json(format!("invalid ipv6 address {s:?}"));
    let host = s
        .strip_suffix(".onion")
        .filter(|h| h.len() == 16)
        .ok_or_else(invalid)?;
    let data = BASE32_NOPAD
        .decode(host.to_ascii_uppercase().as_bytes())
        .map_err(|_| invalid())?;
    let mut octets = [0u8; 16];
    octets[..6].copy_from_slice(&ONION_PREFIX);
    octets
        .get_mut(6..)
        .filter(|rest| rest.len() == data.len())
        .ok_or_else(invalid)?
        .copy_from_slice(&data);
    Ok(Ipv6Addr::from(octets))
}
