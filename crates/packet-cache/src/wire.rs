//! Just enough DNS wire reading for the cache: where the question ends, and where each
//! record's TTL is. Every offset is bounds-checked; anything unexpected gives `None`.

/// Header length.
pub(crate) const HEADER: usize = 12;
/// Record type of the EDNS0 pseudo-record, whose "TTL" holds flags, not a lifetime.
const OPT: u16 = 41;
/// Record type of SIG, whose "TTL" is fixed at 0 (RFC 2931).
const SIG: u16 = 24;

/// Reads a big-endian u16 at `at`.
pub(crate) fn u16_at(bytes: &[u8], at: usize) -> Option<u16> {
    Some(u16::from_be_bytes([*bytes.get(at)?, *bytes.get(at + 1)?]))
}

/// Reads a big-endian u32 at `at`.
pub(crate) fn u32_at(bytes: &[u8], at: usize) -> Option<u32> {
    let b = bytes.get(at..at + 4)?;
    Some(u32::from_be_bytes([b[0], b[1], b[2], b[3]]))
}

/// The offset just past the (uncompressed) name starting at `at`, which must be a query name:
/// labels only, no compression pointer, at most 255 bytes.
pub(crate) fn uncompressed_name_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    let start = at;
    loop {
        let len = usize::from(*bytes.get(at)?);
        if len == 0 {
            return (at + 1 - start <= 255).then_some(at + 1);
        }
        if len > 63 {
            return None;
        }
        at += 1 + len;
    }
}

/// The offset just past the possibly compressed name at `at` (a pointer ends the name).
fn name_end(bytes: &[u8], mut at: usize) -> Option<usize> {
    loop {
        let len = *bytes.get(at)?;
        match len {
            0 => return Some(at + 1),
            1..=63 => at += 1 + usize::from(len),
            0xC0..=0xFF => {
                bytes.get(at + 1)?;
                return Some(at + 2);
            }
            _ => return None,
        }
    }
}

/// The end of a one-question message's question section (name, type, class), if the header
/// says exactly one question and the name is uncompressed.
pub(crate) fn question_end(bytes: &[u8]) -> Option<usize> {
    if u16_at(bytes, 4)? != 1 {
        return None;
    }
    let end = uncompressed_name_end(bytes, HEADER)? + 4;
    (end <= bytes.len()).then_some(end)
}

/// The offset of every record's TTL (OPT and SIG excluded) and the smallest of those TTLs.
/// `None` when the message does not parse to its exact end.
pub(crate) fn record_ttls(bytes: &[u8], question_end: usize) -> Option<(Vec<u16>, Option<u32>)> {
    let records = usize::from(u16_at(bytes, 6)?)
        + usize::from(u16_at(bytes, 8)?)
        + usize::from(u16_at(bytes, 10)?);
    let mut at = question_end;
    let mut offsets = Vec::with_capacity(records);
    let mut min_ttl: Option<u32> = None;
    for _ in 0..records {
        at = name_end(bytes, at)?;
        let rtype = u16_at(bytes, at)?;
        let ttl = u32_at(bytes, at + 4)?;
        let rdlength = usize::from(u16_at(bytes, at + 8)?);
        if rtype != OPT && rtype != SIG {
            offsets.push(u16::try_from(at + 4).ok()?);
            min_ttl = Some(min_ttl.map_or(ttl, |m| m.min(ttl)));
        }
        at += 10 + rdlength;
    }
    (at == bytes.len()).then_some((offsets, min_ttl))
}

/// The smallest TTL of the answer and authority records (OPT and SIG excluded) of a
/// one-question message, `None` without such records or when those sections do not parse.
pub(crate) fn answer_min_ttl(bytes: &[u8]) -> Option<u32> {
    let records = usize::from(u16_at(bytes, 6)?) + usize::from(u16_at(bytes, 8)?);
    let mut at = question_end(bytes)?;
    let mut min_ttl: Option<u32> = None;
    for _ in 0..records {
        at = name_end(bytes, at)?;
        let rtype = u16_at(bytes, at)?;
        let ttl = u32_at(bytes, at + 4)?;
        let rdlength = usize::from(u16_at(bytes, at + 8)?);
        if rtype != OPT && rtype != SIG {
            min_ttl = Some(min_ttl.map_or(ttl, |m| m.min(ttl)));
        }
        at += 10 + rdlength;
        if at > bytes.len() {
            return None;
        }
    }
    min_ttl
}
