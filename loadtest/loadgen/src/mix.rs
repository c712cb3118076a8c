//! The query mix: name categories with weights, hot and cold names, query types, DO bit.
//!
//! Categories: `hns` (an HNS TLD, `name.`), `below` (a name below an HNS TLD), `icann` (an
//! ICANN name) and `nx` (a random 12-character TLD: NXDOMAIN at any root, never cached).
//! A query is *hot* with probability `--hot-fraction`: it repeats one of `--hot-set` (name,
//! type) pairs drawn from the mix once at the start, so caches answer it. Otherwise it is
//! *cold*: the category by weight, a name drawn uniformly from that category's list, a type
//! by weight — and for `below` and `icann` a random first label prepended, so that no cache
//! below the root can have it. Every choice comes from a seeded generator
//! ([`Generator::new`]): the same flags and seed send the same queries.

use std::path::Path;
use std::sync::Arc;

use rand::rngs::StdRng;
use rand::{Rng, SeedableRng};

use crate::LoadgenError;
use crate::config::Args;
use crate::wire::{encode_name, qtype_code, write_query};

/// Most names one list may hold.
pub const MAX_NAMES: usize = 1_000_000;
/// Largest name file read.
const MAX_FILE_BYTES: u64 = 64 << 20;
/// HNS TLDs used when none are given.
const DEFAULT_HNS: &[&str] = &["shakestation", "nb", "forever", "hns", "proofofconcept"];
/// ICANN names used when none are given.
const DEFAULT_ICANN: &[&str] = &["example.com", "example.net", "example.org", "iana.org"];
/// Letters of random labels.
const LABEL_CHARS: &[u8] = b"abcdefghijklmnopqrstuvwxyz0123456789";

/// A name category.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Category {
    /// An HNS TLD.
    Hns,
    /// A name below an HNS TLD.
    Below,
    /// An ICANN name.
    Icann,
    /// A random TLD (NXDOMAIN).
    Nx,
}

/// Weights of the categories (`--mix hns=40,below=30,icann=20,nx=10`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize, serde::Deserialize)]
pub struct MixSpec {
    /// HNS TLDs.
    pub hns: u32,
    /// Names below HNS TLDs.
    pub below: u32,
    /// ICANN names.
    pub icann: u32,
    /// NXDOMAIN names.
    pub nx: u32,
}

/// The names of each category, in wire form.
#[derive(Debug, Clone, Default)]
pub struct NameLists {
    /// HNS TLDs.
    pub hns: Vec<Vec<u8>>,
    /// Names below HNS TLDs.
    pub below: Vec<Vec<u8>>,
    /// ICANN names.
    pub icann: Vec<Vec<u8>>,
}

/// Query types and their weights.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct QtypeMix {
    /// (mnemonic as given, code, weight).
    pub entries: Vec<(String, u16, u32)>,
}

/// One fixed (name, type) pair of the hot set.
#[derive(Debug, Clone)]
struct HotEntry {
    category: Category,
    name: Vec<u8>,
    qtype: u16,
}

/// What every generator shares: lists, weights and the hot set.
#[derive(Debug)]
pub struct MixTables {
    spec: MixSpec,
    lists: NameLists,
    qtypes: QtypeMix,
    hot: Vec<HotEntry>,
    hot_fraction: f64,
    dnssec_ok: bool,
}

/// A seeded stream of queries.
#[derive(Debug)]
pub struct Generator {
    rng: StdRng,
    tables: Arc<MixTables>,
    prefix: Vec<u8>,
    name: Vec<u8>,
}

// === impl MixSpec ===

impl MixSpec {
    /// Parses `key=weight` pairs; keys `hns`, `below`, `icann`, `nx`; missing keys weigh 0.
    pub fn parse(text: &str) -> Result<MixSpec, LoadgenError> {
        let mut spec = MixSpec {
            hns: 0,
            below: 0,
            icann: 0,
            nx: 0,
        };
        for (key, weight) in pairs(text, "--mix")? {
            let slot = match key.to_ascii_lowercase().as_str() {
                "hns" => &mut spec.hns,
                "below" => &mut spec.below,
                "icann" => &mut spec.icann,
                "nx" => &mut spec.nx,
                other => {
                    return Err(LoadgenError::Config(format!(
                        "--mix: unknown category {other:?} (hns, below, icann, nx)"
                    )));
                }
            };
            *slot = weight;
        }
        if spec
            .weights()
            .iter()
            .map(|(_, w)| u64::from(*w))
            .sum::<u64>()
            == 0
        {
            return Err(LoadgenError::Config("--mix: all weights are 0".into()));
        }
        Ok(spec)
    }

    fn weights(&self) -> [(Category, u32); 4] {
        [
            (Category::Hns, self.hns),
            (Category::Below, self.below),
            (Category::Icann, self.icann),
            (Category::Nx, self.nx),
        ]
    }
}

// === impl NameLists ===

impl NameLists {
    /// The lists the flags give (flag names and files together), defaults where none.
    pub fn from_args(args: &Args) -> Result<NameLists, LoadgenError> {
        let mut hns = gather(args.hns_names.as_deref(), args.hns_file.as_deref())?;
        if hns.is_empty() {
            hns = DEFAULT_HNS.iter().map(|s| s.to_string()).collect();
        }
        let mut below = gather(args.below_names.as_deref(), args.below_file.as_deref())?;
        if below.is_empty() {
            below = hns
                .iter()
                .map(|tld| format!("www.{}", tld.trim_end_matches('.')))
                .collect();
        }
        let mut icann = gather(args.icann_names.as_deref(), args.icann_file.as_deref())?;
        if icann.is_empty() {
            icann = DEFAULT_ICANN.iter().map(|s| s.to_string()).collect();
        }
        let encode = |names: Vec<String>| -> Result<Vec<Vec<u8>>, LoadgenError> {
            names.iter().map(|n| encode_name(n)).collect()
        };
        Ok(NameLists {
            hns: encode(hns)?,
            below: encode(below)?,
            icann: encode(icann)?,
        })
    }

    /// Every category with a weight has names.
    pub fn check_against(&self, spec: &MixSpec) -> Result<(), LoadgenError> {
        for (category, weight) in spec.weights() {
            if weight > 0 && category != Category::Nx && self.list(category).is_empty() {
                return Err(LoadgenError::Config(format!(
                    "--mix weighs {category:?} but its name list is empty"
                )));
            }
        }
        Ok(())
    }

    fn list(&self, category: Category) -> &[Vec<u8>] {
        match category {
            Category::Hns => &self.hns,
            Category::Below => &self.below,
            Category::Icann => &self.icann,
            Category::Nx => &[],
        }
    }
}

// === impl QtypeMix ===

impl QtypeMix {
    /// Parses `TYPE=weight` pairs (`A=60,AAAA=25`).
    pub fn parse(text: &str) -> Result<QtypeMix, LoadgenError> {
        let mut entries = Vec::new();
        for (key, weight) in pairs(text, "--qtypes")? {
            let code = qtype_code(&key)
                .ok_or_else(|| LoadgenError::Config(format!("--qtypes: unknown type {key:?}")))?;
            if weight > 0 {
                entries.push((key.to_ascii_uppercase(), code, weight));
            }
        }
        if entries.is_empty() {
            return Err(LoadgenError::Config("--qtypes: all weights are 0".into()));
        }
        Ok(QtypeMix { entries })
    }
}

// === impl MixTables ===

impl MixTables {
    /// The shared tables; the hot set is drawn here, from `seed`.
    pub fn new(
        spec: MixSpec,
        lists: NameLists,
        qtypes: QtypeMix,
        hot_set: usize,
        hot_fraction: f64,
        dnssec_ok: bool,
        seed: u64,
    ) -> Arc<MixTables> {
        let mut tables = MixTables {
            spec,
            lists,
            qtypes,
            hot: Vec::new(),
            hot_fraction,
            dnssec_ok,
        };
        if hot_fraction > 0.0 {
            let mut rng = StdRng::seed_from_u64(seed ^ 0x686f_7473_6574); // "hotset"
            let mut prefix = Vec::new();
            let mut name = Vec::new();
            tables.hot = (0..hot_set)
                .map(|_| {
                    let (category, qtype) = tables.cold(&mut rng, &mut prefix, &mut name);
                    let mut full = prefix.clone();
                    full.extend_from_slice(&name);
                    HotEntry {
                        category,
                        name: full,
                        qtype,
                    }
                })
                .collect();
        }
        Arc::new(tables)
    }

    /// A cold draw into `prefix` (labels, no terminator) and `name` (wire form).
    fn cold(&self, rng: &mut StdRng, prefix: &mut Vec<u8>, name: &mut Vec<u8>) -> (Category, u16) {
        prefix.clear();
        name.clear();
        let category = pick(rng, &self.spec.weights(), |(_, w)| *w).map_or(Category::Nx, |c| c.0);
        match category {
            Category::Nx => {
                random_label(rng, 12, name);
                name.push(0);
            }
            Category::Hns => name.extend_from_slice(choose(rng, &self.lists.hns)),
            Category::Below | Category::Icann => {
                random_label(rng, 8, prefix);
                name.extend_from_slice(choose(rng, self.lists.list(category)));
            }
        }
        let qtype = pick(rng, &self.qtypes.entries, |e| e.2).map_or(1, |e| e.1);
        (category, qtype)
    }
}

// === impl Generator ===

impl Generator {
    /// The stream of worker `stream` (each worker has its own, all derived from `seed`).
    pub fn new(tables: Arc<MixTables>, seed: u64, stream: u64) -> Generator {
        Generator {
            rng: StdRng::seed_from_u64(seed.wrapping_mul(0x9e37_79b9_7f4a_7c15) ^ stream),
            tables,
            prefix: Vec::with_capacity(64),
            name: Vec::with_capacity(256),
        }
    }

    /// Appends the next query, with `id`, to `out`; its category.
    pub fn next_query(&mut self, id: u16, out: &mut Vec<u8>) -> Category {
        let tables = &*self.tables;
        if !tables.hot.is_empty() && self.rng.random::<f64>() < tables.hot_fraction {
            let entry = choose_hot(&mut self.rng, &tables.hot);
            write_query(out, id, &[], &entry.name, entry.qtype, tables.dnssec_ok);
            return entry.category;
        }
        let (category, qtype) = tables.cold(&mut self.rng, &mut self.prefix, &mut self.name);
        write_query(out, id, &self.prefix, &self.name, qtype, tables.dnssec_ok);
        category
    }
}

/// `key=u32` pairs separated by commas.
fn pairs(text: &str, flag: &str) -> Result<Vec<(String, u32)>, LoadgenError> {
    text.split(',')
        .filter(|p| !p.trim().is_empty())
        .map(|pair| {
            let (key, value) = pair.split_once('=').ok_or_else(|| {
                LoadgenError::Config(format!("{flag}: {pair:?} is not key=weight"))
            })?;
            let weight = value
                .trim()
                .parse::<u32>()
                .map_err(|_| LoadgenError::Config(format!("{flag}: bad weight in {pair:?}")))?;
            Ok((key.trim().to_string(), weight))
        })
        .collect()
}

/// Names from a comma list and a file (one per line, `#` comments), at most [`MAX_NAMES`].
fn gather(list: Option<&str>, file: Option<&Path>) -> Result<Vec<String>, LoadgenError> {
    let mut names: Vec<String> = list
        .unwrap_or("")
        .split(',')
        .map(str::trim)
        .filter(|s| !s.is_empty())
        .map(str::to_string)
        .collect();
    if let Some(path) = file {
        let read_err = |source| LoadgenError::Read {
            path: path.display().to_string(),
            source,
        };
        let len = std::fs::metadata(path).map_err(read_err)?.len();
        if len > MAX_FILE_BYTES {
            return Err(LoadgenError::Config(format!(
                "{}: larger than 64 MiB",
                path.display()
            )));
        }
        let text = std::fs::read_to_string(path).map_err(read_err)?;
        names.extend(
            text.lines()
                .map(|l| l.split('#').next().unwrap_or("").trim())
                .filter(|l| !l.is_empty())
                .map(str::to_string),
        );
    }
    if names.len() > MAX_NAMES {
        return Err(LoadgenError::Config(format!(
            "more than {MAX_NAMES} names in one list"
        )));
    }
    Ok(names)
}

/// A weighted choice; `None` only when every weight is 0.
fn pick<'a, T>(rng: &mut StdRng, items: &'a [T], weight: impl Fn(&T) -> u32) -> Option<&'a T> {
    let total: u64 = items.iter().map(|i| u64::from(weight(i))).sum();
    if total == 0 {
        return None;
    }
    let mut at = rng.random_range(0..total);
    for item in items {
        let w = u64::from(weight(item));
        if at < w {
            return Some(item);
        }
        at -= w;
    }
    None
}

/// A uniform choice from a non-empty list (checked by [`NameLists::check_against`]); the root
/// name if empty.
fn choose<'a>(rng: &mut StdRng, list: &'a [Vec<u8>]) -> &'a [u8] {
    if list.is_empty() {
        return &[0];
    }
    &list[rng.random_range(0..list.len())]
}

fn choose_hot<'a>(rng: &mut StdRng, hot: &'a [HotEntry]) -> &'a HotEntry {
    &hot[rng.random_range(0..hot.len())]
}

/// Appends a random label of `len` letters and digits (length byte first).
fn random_label(rng: &mut StdRng, len: u8, out: &mut Vec<u8>) {
    out.push(len);
    for _ in 0..len {
        out.push(LABEL_CHARS[rng.random_range(0..LABEL_CHARS.len())]);
    }
}

#[cfg(test)]
mod tests;
