//! Synthetic regtest headers for tests and benches: regtest's limit target (bits 0x207fffff)
//! is met by about half of all hashes, so mining a header takes a couple of hash attempts.
//! Never used on a real network.

use std::path::Path;

use hnsfleet_hns::chain::ChainEntry;
use hnsfleet_hns::header::Header;
use hnsfleet_hns::params::NetworkParams;

/// A valid regtest child of `parent` with time `time`; `salt` goes into the extra nonce so
/// that siblings with the same time differ (distinct branches).
pub fn mine_child(params: &NetworkParams, parent: &ChainEntry, time: u64, salt: u64) -> Header {
    let mut extra_nonce = [0u8; 24];
    extra_nonce[..8].copy_from_slice(&salt.to_le_bytes());
    let mut header = Header {
        nonce: 0,
        time,
        prev_block: parent.hash,
        tree_root: parent.tree_root,
        extra_nonce,
        reserved_root: [0; 32],
        witness_root: [0; 32],
        merkle_root: [0; 32],
        version: 0,
        bits: params.pow.limit_bits,
        mask: [0; 32],
    };
    while header.verify_pow().is_err() {
        header.nonce = header.nonce.wrapping_add(1);
    }
    header
}

/// `count` headers extending `parent`, one every `spacing` seconds.
pub fn mine_chain(
    params: &NetworkParams,
    parent: &ChainEntry,
    count: usize,
    spacing: u64,
    salt: u64,
) -> Vec<Header> {
    let mut out = Vec::with_capacity(count);
    let mut tip = *parent;
    for _ in 0..count {
        let header = mine_child(params, &tip, tip.time + spacing, salt);
        tip = ChainEntry::from_header(&header.clone().into(), tip.height + 1, tip.chainwork);
        out.push(header);
    }
    out
}

/// Writes a header file at `path` holding `count` synthetic regtest headers (mined in batches
/// of 2,000 so the generator never holds them all), for benches that need a long stored chain.
pub fn write_store(path: &Path, count: usize) -> Result<(), crate::StoreError> {
    let params = hnsfleet_hns::params::Network::Regtest.params();
    let (mut store, _, _) = crate::Store::open(path, params, &crate::Start::Genesis)?;
    let mut tip = ChainEntry::genesis(params);
    while (tip.height as usize) < count {
        let batch = mine_chain(params, &tip, 2_000.min(count - tip.height as usize), 600, 0);
        store.append(tip.height + 1, &batch)?;
        for h in &batch {
            tip = ChainEntry::from_header(&h.clone().into(), tip.height + 1, tip.chainwork);
        }
    }
    Ok(())
}
