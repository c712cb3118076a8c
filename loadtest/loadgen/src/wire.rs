//! Just enough DNS wire format for a load generator: a query written straight into a buffer
//! (no message object per query) and the three header fields an answer is judged by.

use crate::LoadgenError;

/// Longest name in wire form (RFC 1035).
const MAX_NAME: usize = 255;
/// EDNS UDP payload size advertised (the DNS flag day 2020 value).
const EDNS_PAYLOAD: u16 = 1232;

/// What a response says, from its header alone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ResponseHead {
    /// The message ID.
    pub id: u16,
    /// The 4-bit header rcode.
    pub rcode: u8,
    /// TC: the answer did not fit (UDP).
    pub truncated: bool,
}

/// Encodes a presentation name (`www.example.`, trailing dot optional, `.` for the root) in
/// wire form: lowercase kept as given, labels 1..=63 bytes, the whole at most 255.
pub fn encode_name(name: &str) -> Result<Vec<u8>, LoadgenError> {
    let bad = |why: &str| LoadgenError::Config(format!("name {name:?}: {why}"));
    let trimmed = name.trim().trim_end_matches('.');
    let mut out = Vec::with_capacity(trimmed.len() + 2);
    if !trimmed.is_empty() {
        for label in trimmed.split('.') {
            if label.is_empty() || label.len() > 63 {
                return Err(bad("labels must be 1..=63 bytes"));
            }
            if !label.bytes().all(|b| b.is_ascii_graphic() && b != b'\\') {
                return Err(bad("only printable ASCII without escapes"));
            }
            out.push(label.len() as u8);
            out.extend_from_slice(label.as_bytes());
        }
    }
    out.push(0);
    if out.len() > MAX_NAME {
        return Err(bad("longer than 255 bytes"));
    }
    Ok(out)
}

/// Appends a query to `out`: header (ID, RD), one question of `prefix` labels (already in
/// wire form, no terminating zero) followed by `name` (wire form), and an EDNS OPT record
/// with the DO bit as asked. `prefix` plus `name` must stay within 255 bytes (the mix makes
/// sure; a longer one is cut at the prefix).
pub fn write_query(
    out: &mut Vec<u8>,
    id: u16,
    prefix: &[u8],
    name: &[u8],
    qtype: u16,
    dnssec_ok: bool,
) {
    out.extend_from_slice(&id.to_be_bytes());
    // Flags: RD; QDCOUNT 1, ANCOUNT 0, NSCOUNT 0, ARCOUNT 1 (OPT).
    out.extend_from_slice(&[0x01, 0x00, 0, 1, 0, 0, 0, 0, 0, 1]);
    if prefix.len() + name.len() <= MAX_NAME {
        out.extend_from_slice(prefix);
    }
    out.extend_from_slice(name);
    out.extend_from_slice(&qtype.to_be_bytes());
    out.extend_from_slice(&1u16.to_be_bytes()); // IN
    // OPT: root owner, type 41, class = payload, TTL = ext-rcode 0, version 0, DO flag.
    out.push(0);
    out.extend_from_slice(&41u16.to_be_bytes());
    out.extend_from_slice(&EDNS_PAYLOAD.to_be_bytes());
    out.extend_from_slice(&[0, 0, if dnssec_ok { 0x80 } else { 0 }, 0]);
    out.extend_from_slice(&0u16.to_be_bytes());
}

/// The header of a response, or `None` when `bytes` is too short or is not a response.
pub fn parse_response(bytes: &[u8]) -> Option<ResponseHead> {
    if bytes.len() < 12 || bytes[2] & 0x80 == 0 {
        return None;
    }
    Some(ResponseHead {
        id: u16::from_be_bytes([bytes[0], bytes[1]]),
        rcode: bytes[3] & 0x0f,
        truncated: bytes[2] & 0x02 != 0,
    })
}

/// The mnemonic of a header rcode (RFC 6895), `RCODE<n>` for the unassigned ones.
pub fn rcode_name(rcode: u8) -> String {
    match rcode {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        6 => "YXDOMAIN".into(),
        7 => "YXRRSET".into(),
        8 => "NXRRSET".into(),
        9 => "NOTAUTH".into(),
        10 => "NOTZONE".into(),
        n => format!("RCODE{n}"),
    }
}

/// The type code of a mnemonic (`A`, `AAAA`, `TXT`, ..., or `TYPE<n>`).
pub fn qtype_code(name: &str) -> Option<u16> {
    let code = match name.to_ascii_uppercase().as_str() {
        "A" => 1,
        "NS" => 2,
        "CNAME" => 5,
        "SOA" => 6,
        "PTR" => 12,
        "MX" => 15,
        "TXT" => 16,
        "AAAA" => 28,
        "SRV" => 33,
        "DS" => 43,
        "RRSIG" => 46,
        "NSEC" => 47,
        "DNSKEY" => 48,
        "SVCB" => 64,
        "HTTPS" => 65,
        "CAA" => 257,
        other => return other.strip_prefix("TYPE")?.parse().ok(),
    };
    Some(code)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn a_query_has_the_layout_rfc_1035_and_6891_give() {
        let name = encode_name("www.Example.").unwrap();
        assert_eq!(name, b"\x03www\x07Example\x00");
        let mut out = Vec::new();
        write_query(&mut out, 0xbeef, b"\x01x", &name, 28, true);
        assert_eq!(&out[..12], &[0xbe, 0xef, 1, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
        assert_eq!(&out[12..27], b"\x01x\x03www\x07Example\x00");
        assert_eq!(&out[27..31], &[0, 28, 0, 1]);
        assert_eq!(&out[31..], &[0, 0, 41, 0x04, 0xd0, 0, 0, 0x80, 0, 0, 0]);
        assert_eq!(encode_name(".").unwrap(), vec![0]);
        assert!(encode_name("a..b").is_err());
        assert!(encode_name(&"a".repeat(64)).is_err());
        assert!(encode_name(&vec!["abcdefg"; 40].join(".")).is_err());
    }

    #[test]
    fn responses_are_judged_by_their_header() {
        assert_eq!(parse_response(&[0; 11]), None);
        assert_eq!(parse_response(&[0; 12]), None, "QR clear: a query");
        let head = parse_response(&[0x12, 0x34, 0x82, 0x03, 0, 0, 0, 0, 0, 0, 0, 0]).unwrap();
        assert_eq!(
            head,
            ResponseHead {
                id: 0x1234,
                rcode: 3,
                truncated: true
            }
        );
        assert_eq!(rcode_name(3), "NXDOMAIN");
        assert_eq!(rcode_name(12), "RCODE12");
        assert_eq!(qtype_code("aaaa"), Some(28));
        assert_eq!(qtype_code("TYPE65280"), Some(65280));
        assert_eq!(qtype_code("BOGUS"), None);
    }
}
