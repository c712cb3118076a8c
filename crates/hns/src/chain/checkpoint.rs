//! hnsd's checkpoint blob: a trusted starting point for a header chain that does not begin at
//! genesis (hns-chain.md §2.4; hnsd `src/checkpoints.h` `HSK_CHECKPOINT_MAIN`, `src/store.c`).
//!
//! Layout: u32 **BE** start height ‖ 32-byte **BE** chainwork of block start−1 ‖ N consecutive
//! 236-byte headers (heights start … start+N−1). hnsd's on-disk variant, which prefixes a magic
//! and a version byte, is not handled here.

use super::retarget::{expected_bits, median_time_past};
use super::{ChainEntry, ChainError, SliceView, check_checkpoint, check_link_pow_checkpoint};
use crate::encoding::{DecodeError, Reader};
use crate::header::{HEADER_SIZE, HashedHeader, Header};
use crate::params::NetworkParams;
use crate::pow::Chainwork;

/// Most headers a blob may carry (hnsd ships 150; one retarget window plus margin is enough).
pub const MAX_CHECKPOINT_HEADERS: usize = 10_000;

/// Bytes before the first header.
const PREFIX_SIZE: usize = 4 + 32;

/// A decoded (not yet verified) checkpoint blob.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CheckpointBlob {
    /// Height of the first header; at least 1.
    pub start_height: u32,
    /// Chainwork of the block just below `start_height`.
    pub prev_chainwork: Chainwork,
    /// Consecutive headers from `start_height` upward; 1 ..= [`MAX_CHECKPOINT_HEADERS`].
    pub headers: Vec<Header>,
}

// === impl CheckpointBlob ===

impl CheckpointBlob {
    /// Decodes a blob; the whole input must be consumed.
    pub fn decode(bytes: &[u8]) -> Result<CheckpointBlob, ChainError> {
        Self::read(bytes).map_err(ChainError::BlobDecode)
    }

    fn read(bytes: &[u8]) -> Result<CheckpointBlob, DecodeError> {
        let mut r = Reader::new(bytes);
        let start_height = r.u32_be()?;
        if start_height == 0 {
            return Err(DecodeError::Malformed {
                offset: 0,
                reason: "checkpoint start height 0 has no previous chainwork",
            });
        }
        let prev_chainwork = Chainwork::from_be_bytes(r.array()?);
        let body = r.remaining();
        let count = body / HEADER_SIZE;
        if !body.is_multiple_of(HEADER_SIZE) {
            // A partial trailing header: more bytes would complete it.
            return Err(DecodeError::Eof {
                offset: PREFIX_SIZE + count * HEADER_SIZE,
                needed: HEADER_SIZE - body % HEADER_SIZE,
            });
        }
        if count == 0 {
            return Err(r.malformed("checkpoint blob has no headers"));
        }
        if count > MAX_CHECKPOINT_HEADERS {
            return Err(r.malformed("checkpoint blob has too many headers"));
        }
        if u32::try_from(count - 1)
            .ok()
            .and_then(|n| start_height.checked_add(n))
            .is_none()
        {
            return Err(r.malformed("checkpoint blob heights overflow u32"));
        }
        let mut headers = Vec::with_capacity(count);
        for _ in 0..count {
            headers.push(Header::read(&mut r)?);
        }
        r.finish()?;
        Ok(CheckpointBlob {
            start_height,
            prev_chainwork,
            headers,
        })
    }

    /// Encodes to the blob layout.
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(PREFIX_SIZE + self.headers.len() * HEADER_SIZE);
        out.extend_from_slice(&self.start_height.to_be_bytes());
        out.extend_from_slice(&self.prev_chainwork.to_be_bytes());
        for h in &self.headers {
            h.write(&mut out);
        }
        out
    }

    /// Checks the blob against `params` and returns one entry per header with cumulative
    /// chainwork seeded from `prev_chainwork`. Checked: linkage, proof of work, hard-coded
    /// checkpoints, and — for headers whose ancestors are inside the blob — difficulty bits and
    /// median time past. Not checked: anything about the first header's parent (the blob is
    /// trusted configuration) and time-too-new (no clock).
    pub fn verify(&self, params: &NetworkParams) -> Result<Vec<ChainEntry>, ChainError> {
        let mut entries: Vec<ChainEntry> = Vec::with_capacity(self.headers.len());
        let mut height = self.start_height;
        for header in &self.headers {
            let hashed = HashedHeader::new(header.clone());
            let entry = match entries.last() {
                None => {
                    let hash = hashed.verify_pow().map_err(ChainError::InvalidPow)?;
                    check_checkpoint(params, height, &hash)?;
                    ChainEntry::from_header(&hashed, height, self.prev_chainwork)
                }
                Some(parent) => {
                    let view = SliceView::new(self.start_height, &entries);
                    verify_inside(params, &view, parent, &hashed)?
                }
            };
            entries.push(entry);
            height = height.saturating_add(1);
        }
        Ok(entries)
    }
}

/// Like `validate_next_hashed` without the clock, skipping rules whose ancestors are missing.
fn verify_inside(
    params: &NetworkParams,
    view: &SliceView<'_>,
    parent: &ChainEntry,
    header: &HashedHeader,
) -> Result<ChainEntry, ChainError> {
    let h = header.header();
    let (height, _) = check_link_pow_checkpoint(params, parent, header)?;
    match expected_bits(params, view, parent, h.time) {
        Ok(expected) if expected != h.bits => {
            return Err(ChainError::BadDiffBits {
                expected,
                got: h.bits,
            });
        }
        Ok(_) | Err(ChainError::MissingAncestor { .. }) => {}
        Err(e) => return Err(e),
    }
    match median_time_past(view, parent) {
        Ok(median) if h.time <= median => {
            return Err(ChainError::TimeTooOld {
                time: h.time,
                median,
            });
        }
        Ok(_) | Err(ChainError::MissingAncestor { .. }) => {}
        Err(e) => return Err(e),
    }
    Ok(ChainEntry::from_header(header, height, parent.chainwork))
}
