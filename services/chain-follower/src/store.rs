//! The append-only header file that lets a restarted follower resume in seconds.
//!
//! Layout (all integers little-endian unless noted):
//! - file header, [`FILE_HEADER_SIZE`] bytes: magic `HNSFHDRS` ‖ version u32 (1) ‖ network
//!   magic u32 ‖ height of the first record u32 ‖ 4 zero bytes ‖ chainwork of the block below
//!   the first record (32 bytes BE) ‖ BLAKE2b-64 of the preceding 56 bytes;
//! - then fixed-size records, [`RECORD_SIZE`] bytes each, heights ascending without gaps:
//!   236-byte header ‖ BLAKE2b-128 of (network magic ‖ height ‖ header).
//!
//! From genesis the first record is height 1 (genesis is a constant); from a checkpoint blob
//! the blob's headers are the first records.
//!
//! # Crash safety
//! The file always holds a gap-free prefix of a chain that was the validated best chain.
//! - Creation writes the file header to `<path>.tmp`, fsyncs, renames over `path` and fsyncs
//!   the directory: a crash leaves either no store or a complete file header.
//! - [`Store::append`] only writes at the end offset and calls `sync_data` before returning,
//!   so every record of an earlier successful append is durable and is never rewritten. A
//!   crash mid-append leaves a short or garbled tail; [`Store::open`] detects it (short read,
//!   checksum that binds height and network, then linkage and proof of work) and cuts the file
//!   at the first bad record, so every complete record before it is kept.
//! - A reorg is truncate-then-append ([`Store::apply`]): `set_len` to the fork height and
//!   `sync_data` first, then the new branch is appended and synced. A crash in between leaves
//!   the chain up to the fork point (valid, less work; peers re-send the branch); a crash
//!   during the append is the torn-tail case. Records below the fork are never touched. Even
//!   if a stale old-branch record survived past the new end, it would not link to its
//!   predecessor and would be cut on open.
//!
//! Deleting the file is always safe: the follower re-syncs from its start.

use std::fs::{self, File, OpenOptions};
use std::io::{self, BufReader, ErrorKind, Read, Seek, SeekFrom, Write};
use std::path::{Path, PathBuf};

use blake2::digest::consts::{U8, U16};
use blake2::{Blake2b, Digest};
use hnsfleet_hns::chain::{ChainEntry, ChainError, CheckpointBlob};
use hnsfleet_hns::header::{HEADER_SIZE, HashedHeader, Header};
use hnsfleet_hns::params::NetworkParams;
use hnsfleet_hns::pow::Chainwork;
use thiserror::Error;

use crate::header_chain::{HeaderChain, InsertOutcome};

/// Size of the file header.
pub const FILE_HEADER_SIZE: usize = 64;

/// Size of one record: a header and its 16-byte checksum.
pub const RECORD_SIZE: usize = HEADER_SIZE + CHECKSUM_SIZE;

const CHECKSUM_SIZE: usize = 16;
const MAGIC: &[u8; 8] = b"HNSFHDRS";
const VERSION: u32 = 1;
/// Read buffer for replay; large sequential reads keep a 70 MB file to well under a second.
const READ_BUFFER: usize = 1 << 20;

/// Where a chain starts: genesis, or a trusted checkpoint blob.
#[derive(Debug, Clone)]
pub enum Start {
    /// From the network's genesis header.
    Genesis,
    /// From an hnsd checkpoint blob (its headers become the first records).
    Checkpoint(CheckpointBlob),
}

/// Why the store cannot be opened or written.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum StoreError {
    /// Reading, writing, truncating or syncing failed.
    #[error("header store i/o: {0}")]
    Io(#[from] io::Error),
    /// The file does not start with the store magic: refuse to overwrite someone else's file.
    #[error("{path} is not a header store")]
    NotAStore {
        /// The file.
        path: PathBuf,
    },
    /// The file header's checksum does not match (not a crash artifact: creation is atomic).
    #[error("header store file header is corrupt")]
    CorruptFileHeader,
    /// Written by a different format version.
    #[error("header store version {0} is not supported")]
    UnsupportedVersion(u32),
    /// Written for another network.
    #[error("header store is for network magic {found:#010x}, expected {expected:#010x}")]
    WrongNetwork {
        /// This network's magic.
        expected: u32,
        /// The file's.
        found: u32,
    },
    /// The file starts elsewhere than the configured start (genesis vs checkpoint, or another
    /// checkpoint). Delete the file to re-sync from the configured start.
    #[error("header store starts at height {found}, configured start is {expected}")]
    StartMismatch {
        /// Configured first record height.
        expected: u32,
        /// The file's.
        found: u32,
    },
    /// The configured checkpoint blob is invalid.
    #[error("checkpoint: {0}")]
    Checkpoint(ChainError),
    /// An append does not continue the stored chain.
    #[error("append at height {got}, the store continues at {expected}")]
    HeightGap {
        /// Next height the store expects.
        expected: u32,
        /// Height of the first header handed in.
        got: u32,
    },
}

/// What [`Store::open`] found.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Recovery {
    /// Records loaded.
    pub records: u64,
    /// Bytes cut from the tail (a torn or corrupt record and everything after it).
    pub truncated_bytes: u64,
    /// Whether the file was created by this open.
    pub created: bool,
}

/// The open header file; see the module docs for layout and crash safety.
#[derive(Debug)]
pub struct Store {
    file: File,
    network_magic: u32,
    first_height: u32,
    /// Height the next appended record must have.
    next_height: u32,
}

// === impl Store ===

impl Store {
    /// Opens (or creates) the store at `path`, cuts a torn tail, and replays the records into
    /// a [`HeaderChain`] (linkage, proof of work and checkpoints re-checked).
    pub fn open(
        path: &Path,
        params: &NetworkParams,
        start: &Start,
    ) -> Result<(Store, HeaderChain, Recovery), StoreError> {
        let mut chain = match start {
            Start::Genesis => HeaderChain::from_genesis(params),
            Start::Checkpoint(blob) => {
                HeaderChain::from_checkpoint(params, blob).map_err(StoreError::Checkpoint)?
            }
        };
        let (first_height, prev_chainwork) = match start {
            Start::Genesis => (1, ChainEntry::genesis(params).chainwork),
            Start::Checkpoint(blob) => (blob.start_height, blob.prev_chainwork),
        };
        let created = match fs::metadata(path) {
            Ok(meta) if meta.len() > 0 => false,
            Ok(_) => true,
            Err(e) if e.kind() == ErrorKind::NotFound => true,
            Err(e) => return Err(e.into()),
        };
        if created {
            let header = encode_file_header(params.magic, first_height, prev_chainwork);
            create_atomically(path, &header)?;
        }

        let mut file = OpenOptions::new().read(true).write(true).open(path)?;
        let file_len = file.metadata()?.len();
        let mut head = [0u8; FILE_HEADER_SIZE];
        if file.read_exact(&mut head).is_err() || !head.starts_with(MAGIC) {
            return Err(StoreError::NotAStore {
                path: path.to_path_buf(),
            });
        }
        let (found_magic, found_first, found_work) = decode_file_header(&head)?;
        if found_magic != params.magic {
            return Err(StoreError::WrongNetwork {
                expected: params.magic,
                found: found_magic,
            });
        }
        if found_first != first_height || found_work != prev_chainwork {
            return Err(StoreError::StartMismatch {
                expected: first_height,
                found: found_first,
            });
        }

        let capacity = (file_len.saturating_sub(FILE_HEADER_SIZE as u64) / RECORD_SIZE as u64)
            .min(u64::from(u32::MAX));
        chain.reserve(usize::try_from(capacity).unwrap_or(0));
        let records = replay(&mut file, params.magic, first_height, &mut chain)?;

        let valid_len = FILE_HEADER_SIZE as u64 + records * RECORD_SIZE as u64;
        let truncated_bytes = file_len.saturating_sub(valid_len);
        if truncated_bytes > 0 {
            file.set_len(valid_len)?;
            file.sync_data()?;
        }
        let next_height = first_height.saturating_add(u32::try_from(records).unwrap_or(u32::MAX));
        let mut store = Store {
            file,
            network_magic: params.magic,
            first_height,
            next_height,
        };
        // A checkpoint chain whose blob records are missing (cut above): write them back.
        let tip = chain.tip().height;
        if next_height <= tip {
            let missing = blob_headers_from(start, next_height);
            store.append(next_height, &missing)?;
        }
        Ok((
            store,
            chain,
            Recovery {
                records,
                truncated_bytes,
                created,
            },
        ))
    }

    /// Height the next appended record must have.
    pub fn next_height(&self) -> u32 {
        self.next_height
    }

    /// Appends `headers` at heights `first_height ..` and syncs. They must have been validated
    /// (by [`HeaderChain`]) and must continue the stored chain.
    pub fn append(&mut self, first_height: u32, headers: &[Header]) -> Result<(), StoreError> {
        if first_height != self.next_height {
            return Err(StoreError::HeightGap {
                expected: self.next_height,
                got: first_height,
            });
        }
        if headers.is_empty() {
            return Ok(());
        }
        let mut buf = Vec::with_capacity(headers.len() * RECORD_SIZE);
        let mut height = first_height;
        for header in headers {
            buf.extend_from_slice(&encode_record(self.network_magic, height, header));
            height = height.saturating_add(1);
        }
        self.file
            .seek(SeekFrom::Start(self.offset_of(first_height)))?;
        self.file.write_all(&buf)?;
        self.file.sync_data()?;
        self.next_height = height;
        Ok(())
    }

    /// Drops every record above `tip_height` and syncs (the first half of a reorg).
    pub fn truncate_to(&mut self, tip_height: u32) -> Result<(), StoreError> {
        let next = tip_height.saturating_add(1).max(self.first_height);
        if next >= self.next_height {
            return Ok(());
        }
        self.file.set_len(self.offset_of(next))?;
        self.file.sync_data()?;
        self.next_height = next;
        Ok(())
    }

    /// Records what [`HeaderChain::insert`] did with `header`: append on `Extended`,
    /// truncate-then-append on `Reorg`, nothing otherwise.
    pub fn apply(&mut self, header: &Header, outcome: &InsertOutcome) -> Result<(), StoreError> {
        match outcome {
            InsertOutcome::Extended { entry } => {
                self.append(entry.height, std::slice::from_ref(header))
            }
            InsertOutcome::Reorg(reorg) => {
                self.truncate_to(reorg.fork_height)?;
                self.append(reorg.fork_height.saturating_add(1), &reorg.connected)
            }
            InsertOutcome::SideBranch { .. }
            | InsertOutcome::Duplicate
            | InsertOutcome::Orphan
            | InsertOutcome::Unplaced => Ok(()),
        }
    }

    /// Records a whole batch of [`HeaderChain::insert`] results with one sync per run of
    /// extensions (instead of one per header): runs of `Extended` are appended together, a
    /// `Reorg` truncates and appends its branch, the rest is skipped.
    pub fn apply_batch<'a>(
        &mut self,
        items: impl IntoIterator<Item = (&'a Header, &'a InsertOutcome)>,
    ) -> Result<(), StoreError> {
        let mut run: Vec<Header> = Vec::new();
        let mut run_start = 0;
        for (header, outcome) in items {
            match outcome {
                InsertOutcome::Extended { entry } => {
                    if run.is_empty() {
                        run_start = entry.height;
                    }
                    run.push(header.clone());
                }
                InsertOutcome::Reorg(_) => {
                    self.append(run_start, &run)?;
                    run.clear();
                    self.apply(header, outcome)?;
                }
                InsertOutcome::SideBranch { .. }
                | InsertOutcome::Duplicate
                | InsertOutcome::Orphan
                | InsertOutcome::Unplaced => {}
            }
        }
        if !run.is_empty() {
            self.append(run_start, &run)?;
        }
        Ok(())
    }

    fn offset_of(&self, height: u32) -> u64 {
        FILE_HEADER_SIZE as u64
            + u64::from(height.saturating_sub(self.first_height)) * RECORD_SIZE as u64
    }
}

/// Reads records until the end or the first bad one; returns how many were good.
fn replay(
    file: &mut File,
    network_magic: u32,
    first_height: u32,
    chain: &mut HeaderChain,
) -> Result<u64, StoreError> {
    let mut reader = BufReader::with_capacity(READ_BUFFER, file);
    let mut record = [0u8; RECORD_SIZE];
    let mut height = first_height;
    let mut count = 0u64;
    loop {
        match reader.read_exact(&mut record) {
            Ok(()) => {}
            Err(e) if e.kind() == ErrorKind::UnexpectedEof => break,
            Err(e) => return Err(e.into()),
        }
        let (body, sum) = record.split_at(HEADER_SIZE);
        if sum != record_checksum(network_magic, height, body) {
            break;
        }
        let Ok(header) = HashedHeader::decode(body) else {
            break;
        };
        let good = match chain.entry_at(height) {
            // Blob headers are already in the chain: the record must be the same header.
            Some(entry) => entry.hash == header.hash(),
            None => chain.extend_trusted(&header).is_ok(),
        };
        if !good {
            break;
        }
        count += 1;
        height = height.saturating_add(1);
    }
    Ok(count)
}

fn blob_headers_from(start: &Start, height: u32) -> Vec<Header> {
    match start {
        Start::Genesis => Vec::new(),
        Start::Checkpoint(blob) => {
            let skip = height.saturating_sub(blob.start_height) as usize;
            blob.headers.iter().skip(skip).cloned().collect()
        }
    }
}

fn encode_record(network_magic: u32, height: u32, header: &Header) -> [u8; RECORD_SIZE] {
    let mut out = [0u8; RECORD_SIZE];
    let body = header.encode();
    out[..HEADER_SIZE].copy_from_slice(&body);
    out[HEADER_SIZE..].copy_from_slice(&record_checksum(network_magic, height, &body));
    out
}

/// BLAKE2b-128 over the network, the height and the header: a record copied to another
/// height or file does not verify.
fn record_checksum(network_magic: u32, height: u32, body: &[u8]) -> [u8; CHECKSUM_SIZE] {
    let mut h = Blake2b::<U16>::new();
    h.update(network_magic.to_le_bytes());
    h.update(height.to_le_bytes());
    h.update(body);
    h.finalize().into()
}

fn encode_file_header(
    network_magic: u32,
    first_height: u32,
    prev_chainwork: Chainwork,
) -> [u8; FILE_HEADER_SIZE] {
    let mut out = [0u8; FILE_HEADER_SIZE];
    out[..8].copy_from_slice(MAGIC);
    out[8..12].copy_from_slice(&VERSION.to_le_bytes());
    out[12..16].copy_from_slice(&network_magic.to_le_bytes());
    out[16..20].copy_from_slice(&first_height.to_le_bytes());
    out[24..56].copy_from_slice(&prev_chainwork.to_be_bytes());
    let sum: [u8; 8] = Blake2b::<U8>::digest(&out[..56]).into();
    out[56..].copy_from_slice(&sum);
    out
}

/// (network magic, first height, previous chainwork) of a file header whose magic matched.
fn decode_file_header(head: &[u8; FILE_HEADER_SIZE]) -> Result<(u32, u32, Chainwork), StoreError> {
    let sum: [u8; 8] = Blake2b::<U8>::digest(&head[..56]).into();
    if head[56..] != sum {
        return Err(StoreError::CorruptFileHeader);
    }
    let u32_at = |i: usize| u32::from_le_bytes([head[i], head[i + 1], head[i + 2], head[i + 3]]);
    let version = u32_at(8);
    if version != VERSION {
        return Err(StoreError::UnsupportedVersion(version));
    }
    let mut work = [0u8; 32];
    work.copy_from_slice(&head[24..56]);
    Ok((u32_at(12), u32_at(16), Chainwork::from_be_bytes(work)))
}

/// Writes `contents` to `path` so that a crash leaves either no file or the whole file.
fn create_atomically(path: &Path, contents: &[u8]) -> Result<(), StoreError> {
    let mut tmp_name = path.as_os_str().to_owned();
    tmp_name.push(".tmp");
    let tmp = PathBuf::from(tmp_name);
    {
        let mut f = File::create(&tmp)?;
        f.write_all(contents)?;
        f.sync_all()?;
    }
    fs::rename(&tmp, path)?;
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        // Make the rename durable; directories cannot be opened for sync on every platform.
        if let Ok(d) = File::open(dir) {
            d.sync_all()?;
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests;
