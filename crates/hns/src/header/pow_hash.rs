//! The Handshake header hash (hns-chain.md §1.2; hsd `abstractblock.js` `powHash`, hnsd
//! `src/header.c` `hsk_header_hash`): six hash invocations over fixed-size stack buffers, no
//! allocation. It is both the block identifier and the value checked against the target.

use blake2::{Blake2b512, Digest};
use sha3::Sha3_256;

use super::Header;
use crate::hash::Blake2b256;
use crate::types::BlockHash;

/// Computes the block hash of `h`.
pub(super) fn header_hash(h: &Header) -> BlockHash {
    let prev = &h.prev_block.0;
    let tree = &h.tree_root.0;

    // The padding repeats prevBlock XOR treeRoot with period 32; every use below is ≤ 32 bytes.
    let mut pad = [0u8; 32];
    for (p, (a, b)) in pad.iter_mut().zip(prev.iter().zip(tree.iter())) {
        *p = a ^ b;
    }

    // Steps 1-2: the 128-byte subheader, in wire order.
    let mut sub_hasher = Blake2b256::new();
    sub_hasher.update(h.extra_nonce);
    sub_hasher.update(h.reserved_root);
    sub_hasher.update(h.witness_root);
    sub_hasher.update(h.merkle_root);
    sub_hasher.update(h.version.to_le_bytes());
    sub_hasher.update(h.bits.to_le_bytes());
    let sub_hash = sub_hasher.finalize();

    // Step 3.
    let mut mask_hasher = Blake2b256::new();
    mask_hasher.update(prev);
    mask_hasher.update(h.mask);
    let mask_hash = mask_hasher.finalize();

    // Step 4.
    let mut commit_hasher = Blake2b256::new();
    commit_hasher.update(sub_hash);
    commit_hasher.update(mask_hash);
    let commit_hash = commit_hasher.finalize();

    // Step 5: the 128-byte preheader.
    let mut pre = [0u8; 128];
    pre[0..4].copy_from_slice(&h.nonce.to_le_bytes());
    pre[4..12].copy_from_slice(&h.time.to_le_bytes());
    pre[12..32].copy_from_slice(&pad[..20]);
    pre[32..64].copy_from_slice(prev);
    pre[64..96].copy_from_slice(tree);
    pre[96..128].copy_from_slice(&commit_hash);

    // Steps 6-7.
    let left = Blake2b512::digest(pre);
    let mut right_hasher = Sha3_256::new();
    right_hasher.update(pre);
    right_hasher.update(&pad[..8]);
    let right = right_hasher.finalize();

    // Step 8.
    let mut final_hasher = Blake2b256::new();
    final_hasher.update(left);
    final_hasher.update(pad);
    final_hasher.update(right);
    let digest = final_hasher.finalize();

    // Step 9.
    let mut out = [0u8; 32];
    for (o, (d, m)) in out.iter_mut().zip(digest.iter().zip(h.mask.iter())) {
        *o = d ^ m;
    }
    BlockHash(out)
}
