//! The reserved-name table (hsd `lib/covenants/names.db`, hns-chain.md §6.5): the ~90k names
//! held back for their existing owners at launch: ICANN root-zone TLDs (the *root* flag) and
//! Alexa top names, each with the DNS name that may claim it and its claim value.
//!
//! The resolver needs one fact from it: a TLD that is absent or empty on chain falls back to
//! ICANN only if it is reserved with the root flag ([`is_root_reserved`], hns-dns.md §3.1).
//!
//! The table is hsd's file, embedded byte for byte (`data/names.db`, provenance in
//! `data/README.md`) and read in place: the header is checked once, then every look-up is a
//! binary search on the SHA3-256 name hash (O(log n), no allocation).

use std::sync::LazyLock;

use crate::name::{MAX_NAME_SIZE, name_hash_bytes};
use crate::types::NameHash;

/// hsd's `names.db`, verbatim.
static NAMES_DB: &[u8] = include_bytes!("../data/names.db");

/// Header: u32 count, u64 name value, u64 root value, u64 top-100 value (little-endian).
const HEADER_SIZE: usize = 28;

/// Index entry: 32-byte name hash, u32 offset of the entry's record.
const ENTRY_SIZE: usize = 36;

const FLAG_ROOT: u8 = 1;
const FLAG_TOP100: u8 = 2;
const FLAG_CUSTOM: u8 = 4;
const FLAG_ZERO: u8 = 8;

/// One reserved name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Reserved {
    /// The reserved name (lower-case, no dot).
    pub name: &'static str,
    /// The DNS name whose owner may claim it, e.g. `com.` or `amazon.com.`.
    pub target: &'static str,
    /// An ICANN root-zone TLD at launch: eligible for ICANN fallback.
    pub root: bool,
    /// One of the Alexa top 100.
    pub top100: bool,
    /// The claim value in dollarydoos (1e-6 HNS), as hsd computes it from the header values
    /// and the entry's flags.
    pub value: u64,
}

/// The parsed header over the embedded bytes.
struct Table {
    data: &'static [u8],
    count: usize,
    name_value: u64,
    root_value: u64,
    top_value: u64,
}

static TABLE: LazyLock<Option<Table>> = LazyLock::new(|| Table::parse(NAMES_DB));

/// The entry for `label` (one label without a dot; ASCII case does not matter), if reserved.
/// Empty or over-long labels are never reserved.
pub fn lookup(label: &str) -> Option<Reserved> {
    let bytes = label.as_bytes();
    if bytes.is_empty() || bytes.len() > MAX_NAME_SIZE {
        return None;
    }
    let mut buf = [0u8; MAX_NAME_SIZE];
    let lower = &mut buf[..bytes.len()];
    lower.copy_from_slice(bytes);
    lower.make_ascii_lowercase();
    lookup_hash(&name_hash_bytes(lower))
}

/// The entry for a name hash (SHA3-256 of the lower-case name), if reserved.
pub fn lookup_hash(hash: &NameHash) -> Option<Reserved> {
    let table = TABLE.as_ref()?;
    let index = table.find(&hash.0)?;
    table.entry(index)
}

/// Whether `label` is reserved with the root flag (an ICANN TLD at launch): the only names
/// for which an absent or empty on-chain state falls back to ICANN.
pub fn is_root_reserved(label: &str) -> bool {
    lookup(label).is_some_and(|r| r.root)
}

/// Number of entries in the table (90043 for hsd 8.0.0's table).
pub fn len() -> usize {
    TABLE.as_ref().map_or(0, |t| t.count)
}

/// Every entry, in name-hash order (skipping any that cannot be read, which the tests rule
/// out for the embedded table).
pub fn entries() -> impl Iterator<Item = Reserved> {
    let table = TABLE.as_ref();
    (0..len()).filter_map(move |i| table.and_then(|t| t.entry(i)))
}

// === impl Table ===

impl Table {
    /// Checks that the header's count fits the bytes.
    fn parse(data: &'static [u8]) -> Option<Table> {
        let count = usize::try_from(read_u32(data, 0)?).ok()?;
        let index_end = count.checked_mul(ENTRY_SIZE)?.checked_add(HEADER_SIZE)?;
        if index_end > data.len() {
            return None;
        }
        Some(Table {
            data,
            count,
            name_value: read_u64(data, 4)?,
            root_value: read_u64(data, 12)?,
            top_value: read_u64(data, 20)?,
        })
    }

    /// The hash of index entry `i` (`i < count`).
    fn hash_at(&self, i: usize) -> Option<&'static [u8]> {
        let start = HEADER_SIZE + i * ENTRY_SIZE;
        self.data.get(start..start + 32)
    }

    /// Binary search of the hash-sorted index.
    fn find(&self, hash: &[u8; 32]) -> Option<usize> {
        let (mut low, mut high) = (0, self.count);
        while low < high {
            let mid = low + (high - low) / 2;
            match self.hash_at(mid)?.cmp(&hash[..]) {
                std::cmp::Ordering::Less => low = mid + 1,
                std::cmp::Ordering::Greater => high = mid,
                std::cmp::Ordering::Equal => return Some(mid),
            }
        }
        None
    }

    /// Decodes the record of index entry `i`: u8 length, target, u8 flags, u8 name length,
    /// u64 custom value when flagged.
    fn entry(&self, i: usize) -> Option<Reserved> {
        let offset =
            usize::try_from(read_u32(self.data, HEADER_SIZE + i * ENTRY_SIZE + 32)?).ok()?;
        let len = usize::from(*self.data.get(offset)?);
        let target = self.data.get(offset + 1..offset + 1 + len)?;
        let flags = *self.data.get(offset + 1 + len)?;
        let name_len = usize::from(*self.data.get(offset + 2 + len)?);
        let target = std::str::from_utf8(target).ok()?;
        let name = target.get(..name_len)?;
        let mut value = self.name_value;
        if flags & FLAG_ROOT != 0 {
            value = value.saturating_add(self.root_value);
        }
        if flags & FLAG_TOP100 != 0 {
            value = value.saturating_add(self.top_value);
        }
        if flags & FLAG_CUSTOM != 0 {
            value = value.saturating_add(read_u64(self.data, offset + 3 + len)?);
        }
        if flags & FLAG_ZERO != 0 {
            value = 0;
        }
        Some(Reserved {
            name,
            target,
            root: flags & FLAG_ROOT != 0,
            top100: flags & FLAG_TOP100 != 0,
            value,
        })
    }
}

fn read_u32(data: &[u8], at: usize) -> Option<u32> {
    Some(u32::from_le_bytes(data.get(at..at + 4)?.try_into().ok()?))
}

fn read_u64(data: &[u8], at: usize) -> Option<u64> {
    Some(u64::from_le_bytes(data.get(at..at + 8)?.try_into().ok()?))
}

#[cfg(test)]
mod tests;
