//! Names inside a resource: raw wire labels, hsd's presentation form, and the compressed
//! wire reading and writing rules of hsd/bns `lib/encoding.js` (`readName`, `writeName`, `isName`).
//!
//! A [`WireName`] keeps the labels exactly as stored on chain: any byte values, case preserved.
//! Only presentation (text) conversion escapes bytes; nothing here lower-cases or validates
//! hostnames, because hsd serves stored names verbatim (hns-dns.md §1.3).

use std::fmt;
use std::fmt::Write as _;
use std::str::FromStr;

use crate::encoding::DecodeError;

use super::ResourceError;

/// Longest label, in bytes.
pub const MAX_LABEL_LEN: usize = 63;

/// Bound on a name, counted as hsd does: the sum over labels of (label length + 1), i.e. the
/// uncompressed wire length without the terminating zero byte. hsd/bns allow 255 here, so a
/// decodable name may take 256 bytes on the DNS wire (one more than RFC 1035 allows).
pub const MAX_NAME_LEN: usize = 255;

/// Compression pointers followed per name before giving up (bns `readName`).
pub const MAX_POINTERS: usize = 10;

/// Compression pointers can only address the first 16 KiB; hsd only remembers suffixes there.
const MAX_POINTER_OFFSET: usize = 0x4000;

/// A domain name as raw wire labels (no compression, no terminating zero).
///
/// Invariants (upheld by every constructor): each label is 1..=63 bytes and the total
/// `sum(len + 1)` is at most [`MAX_NAME_LEN`]. Equality is exact (byte-wise, case-sensitive),
/// which is how hsd compares names for NS de-duplication and compression.
#[derive(Clone, PartialEq, Eq, Hash, Default)]
pub struct WireName {
    /// `len ‖ bytes` for each label, root label omitted.
    wire: Vec<u8>,
}

/// Iterator over the labels of a [`WireName`], leftmost first.
#[derive(Debug, Clone)]
pub struct Labels<'a> {
    rest: &'a [u8],
}

/// Suffixes already written into a blob, for hsd-style name compression.
///
/// Keyed by the exact uncompressed wire form of the suffix, which is equivalent to comparing
/// label sequences (length prefixes make the encoding unambiguous).
#[derive(Debug, Default)]
pub(crate) struct Compressor<'a> {
    suffixes: Vec<(&'a [u8], u16)>,
}

// === impl WireName ===

impl WireName {
    /// The root name `.`.
    pub fn root() -> Self {
        WireName { wire: Vec::new() }
    }

    /// Builds a name from raw labels (leftmost first). Labels may hold any bytes.
    pub fn from_labels<'l, I>(labels: I) -> Result<Self, ResourceError>
    where
        I: IntoIterator<Item = &'l [u8]>,
    {
        let mut wire = Vec::new();
        for label in labels {
            push_label(&mut wire, label)?;
        }
        Ok(WireName { wire })
    }

    /// Parses hsd's presentation form (`ns1.example.`, escapes `\.` and `\DDD`).
    ///
    /// Accepts exactly what hsd's `isName` accepts, except that it also rejects names hsd would
    /// encode wrongly: empty labels (`.a.`), a final dot that is escaped (`a\.`), `\DDD` above
    /// 255, and non-ASCII characters (hsd silently keeps only the low byte of each UTF-16 unit).
    pub fn from_presentation(s: &str) -> Result<Self, ResourceError> {
        let invalid = |reason| ResourceError::InvalidName { reason };
        if !s.is_ascii() {
            return Err(invalid("non-ascii character in name"));
        }
        if s == "." {
            return Ok(WireName::root());
        }
        let bytes = s.as_bytes();
        let mut wire = Vec::new();
        let mut label: Vec<u8> = Vec::new();
        let mut i = 0;
        let mut ended = false;
        while let Some(&c) = bytes.get(i) {
            ended = false;
            match c {
                b'\\' => {
                    let (byte, used) = unescape_at(bytes, i + 1)?;
                    if used == 3 && (0x20..=0x7e).contains(&byte) {
                        return Err(invalid("printable character written as \\DDD"));
                    }
                    if used == 1 && !is_name_special(byte) {
                        return Err(invalid("escape of a character that needs none"));
                    }
                    label.push(byte);
                    i += 1 + used;
                }
                b'.' => {
                    if label.is_empty() {
                        return Err(invalid("empty label"));
                    }
                    push_label(&mut wire, &label)?;
                    label.clear();
                    ended = true;
                    i += 1;
                }
                c if is_name_special(c) || !(0x20..=0x7e).contains(&c) => {
                    return Err(invalid("character must be escaped"));
                }
                c => {
                    label.push(c);
                    i += 1;
                }
            }
        }
        if !ended {
            return Err(invalid("name must end with an unescaped dot"));
        }
        Ok(WireName { wire })
    }

    /// hsd's presentation form: labels joined by `.`, trailing dot, `.()`;` space `@"\` as `\c`,
    /// bytes outside 0x20..=0x7e as `\DDD`; the root is `.`.
    pub fn to_presentation(&self) -> String {
        let mut out = String::with_capacity(self.wire.len() + 1);
        write_presentation(&mut out, self.labels());
        out
    }

    /// The labels, leftmost first.
    pub fn labels(&self) -> Labels<'_> {
        Labels { rest: &self.wire }
    }

    /// Number of labels (0 for the root).
    pub fn label_count(&self) -> usize {
        self.labels().count()
    }

    /// Whether this is the root name.
    pub fn is_root(&self) -> bool {
        self.wire.is_empty()
    }

    /// Uncompressed DNS wire form, including the terminating zero byte.
    pub fn to_wire(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(self.wire.len() + 1);
        out.extend_from_slice(&self.wire);
        out.push(0);
        out
    }

    /// Length of [`WireName::to_wire`] (1 for the root, at most 256).
    pub fn wire_len(&self) -> usize {
        self.wire.len() + 1
    }

    /// Whether `self` equals `parent` or lies below it, comparing labels ASCII-case-insensitively
    /// (bns `util.isSubdomain`). Every name is below the root.
    pub fn is_subdomain_of(&self, parent: &WireName) -> bool {
        let mine: Vec<&[u8]> = self.labels().collect();
        let theirs: Vec<&[u8]> = parent.labels().collect();
        if theirs.len() > mine.len() {
            return false;
        }
        mine.iter()
            .rev()
            .zip(theirs.iter().rev())
            .all(|(a, b)| a.eq_ignore_ascii_case(b))
    }

    /// The uncompressed wire bytes starting at each label, paired with the label itself.
    fn suffixes(&self) -> impl Iterator<Item = (&[u8], &[u8])> {
        let mut pos = 0;
        std::iter::from_fn(move || {
            let suffix = self.wire.get(pos..)?;
            let (&len, rest) = suffix.split_first()?;
            let label = rest.get(..usize::from(len))?;
            pos += 1 + usize::from(len);
            Some((suffix, label))
        })
    }
}

impl fmt::Display for WireName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.to_presentation())
    }
}

impl fmt::Debug for WireName {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        write!(f, "WireName({})", self.to_presentation())
    }
}

impl FromStr for WireName {
    type Err = ResourceError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        WireName::from_presentation(s)
    }
}

// === impl Labels ===

impl<'a> Iterator for Labels<'a> {
    type Item = &'a [u8];

    fn next(&mut self) -> Option<&'a [u8]> {
        let (&len, rest) = self.rest.split_first()?;
        let len = usize::from(len);
        let label = rest.get(..len)?;
        self.rest = rest.get(len..).unwrap_or_default();
        Some(label)
    }
}

// === impl Compressor ===

impl<'a> Compressor<'a> {
    /// Appends `name` to `out` the way hsd's `writeName` does with a shared suffix map: for each
    /// label from the left, a suffix already written becomes a pointer (and ends the name);
    /// otherwise the suffix is remembered at its offset and the label is written. The root
    /// suffix is never compressed. Offsets count from the start of `out` (the version byte).
    pub(crate) fn write_name(&mut self, out: &mut Vec<u8>, name: &'a WireName) {
        for (suffix, label) in name.suffixes() {
            if let Some(&(_, ptr)) = self.suffixes.iter().find(|(s, _)| *s == suffix) {
                out.extend_from_slice(&(0xc000 | ptr).to_be_bytes());
                return;
            }
            if let Ok(offset) = u16::try_from(out.len())
                && usize::from(offset) < MAX_POINTER_OFFSET
            {
                self.suffixes.push((suffix, offset));
            }
            // Labels are at most 63 bytes (WireName invariant), so the cast is exact.
            out.push(label.len() as u8);
            out.extend_from_slice(label);
        }
        out.push(0);
    }
}

// === helpers ===

/// Reads a possibly compressed name at `start` of `data` (bns `readName` with the whole blob as
/// the message). Returns the name and the offset just after it (after the first pointer, if
/// any). Rules: at most 10 pointers, pointers may go anywhere inside `data` (loops end at the
/// pointer limit), label types `01`/`10` are rejected, the name bound is [`MAX_NAME_LEN`].
pub(crate) fn read_name(data: &[u8], start: usize) -> Result<(WireName, usize), DecodeError> {
    let mut wire = Vec::new();
    let mut off = start;
    let mut after: Option<usize> = None;
    let mut pointers = 0;
    loop {
        let Some(&c) = data.get(off) else {
            return Err(DecodeError::Eof {
                offset: off,
                needed: 1,
            });
        };
        match c & 0xc0 {
            0x00 if c == 0 => {
                off += 1;
                break;
            }
            0x00 => {
                let len = usize::from(c);
                let Some(label) = data.get(off + 1..off + 1 + len) else {
                    return Err(DecodeError::Eof {
                        offset: off + 1,
                        needed: off + 1 + len - data.len(),
                    });
                };
                if wire.len() + len + 1 > MAX_NAME_LEN {
                    return Err(DecodeError::Malformed {
                        offset: off,
                        reason: "name longer than 255 bytes",
                    });
                }
                wire.push(c);
                wire.extend_from_slice(label);
                off += 1 + len;
            }
            0xc0 => {
                let Some(&low) = data.get(off + 1) else {
                    return Err(DecodeError::Eof {
                        offset: off + 1,
                        needed: 1,
                    });
                };
                pointers += 1;
                if pointers > MAX_POINTERS {
                    return Err(DecodeError::Malformed {
                        offset: off,
                        reason: "more than 10 compression pointers in a name",
                    });
                }
                after.get_or_insert(off + 2);
                let target = (usize::from(c & 0x3f) << 8) | usize::from(low);
                if target >= data.len() {
                    return Err(DecodeError::Malformed {
                        offset: off,
                        reason: "compression pointer beyond the end of the resource",
                    });
                }
                off = target;
            }
            _ => {
                return Err(DecodeError::Malformed {
                    offset: off,
                    reason: "reserved label type (01 or 10)",
                });
            }
        }
    }
    Ok((WireName { wire }, after.unwrap_or(off)))
}

/// Appends one label to an uncompressed wire buffer, enforcing the label and name bounds.
fn push_label(wire: &mut Vec<u8>, label: &[u8]) -> Result<(), ResourceError> {
    let invalid = |reason| ResourceError::InvalidName { reason };
    if label.is_empty() {
        return Err(invalid("empty label"));
    }
    if label.len() > MAX_LABEL_LEN {
        return Err(invalid("label longer than 63 bytes"));
    }
    if wire.len() + label.len() + 1 > MAX_NAME_LEN {
        return Err(invalid("name longer than 255 bytes"));
    }
    wire.push(label.len() as u8);
    wire.extend_from_slice(label);
    Ok(())
}

/// Characters hsd escapes as `\c` inside a name label.
fn is_name_special(b: u8) -> bool {
    matches!(b, b'.' | b'(' | b')' | b';' | b' ' | b'@' | b'"' | b'\\')
}

/// Writes labels in hsd's presentation form (see [`WireName::to_presentation`]): special
/// characters escaped as `\c`, bytes outside printable ASCII as `\DDD`, a dot after every
/// label, `.` alone for the root.
pub fn write_presentation<'l>(out: &mut String, labels: impl Iterator<Item = &'l [u8]>) {
    let mut any = false;
    for label in labels {
        any = true;
        for &b in label {
            if is_name_special(b) {
                out.push('\\');
                out.push(char::from(b));
            } else if (0x20..=0x7e).contains(&b) {
                out.push(char::from(b));
            } else {
                // Writing into a String cannot fail.
                let _ = write!(out, "\\{b:03}");
            }
        }
        out.push('.');
    }
    if !any {
        out.push('.');
    }
}

/// Decodes the escape whose body starts at `bytes[at]` (just after the backslash): three
/// decimal digits give a byte value, anything else is taken literally. Returns the byte and the
/// number of characters consumed after the backslash.
fn unescape_at(bytes: &[u8], at: usize) -> Result<(u8, usize), ResourceError> {
    let invalid = |reason| ResourceError::InvalidName { reason };
    match bytes.get(at..at + 3) {
        Some(&[a, b, c]) if a.is_ascii_digit() && b.is_ascii_digit() && c.is_ascii_digit() => {
            let value = u32::from(a - b'0') * 100 + u32::from(b - b'0') * 10 + u32::from(c - b'0');
            u8::try_from(value)
                .map(|v| (v, 3))
                .map_err(|_| invalid("\\DDD escape above 255"))
        }
        _ => match bytes.get(at) {
            Some(&c) => Ok((c, 1)),
            None => Err(invalid("name must end with an unescaped dot")),
        },
    }
}
