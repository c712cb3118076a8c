//! An in-memory Urkel radix tree for tests and benches (hns-chain.md §5.2 shape): builds the
//! tree over a set of keys and proves keys in it, so verification is checked on trees of any
//! shape, not just the vectors, and benches can serve real proofs for thousands of names. It is
//! itself checked against hsd: rebuilding the real regtest tree gives hsd's root and
//! byte-identical proofs. Node hashes are computed once, at build time.
//!
//! Not for production: the whole tree is held in memory and built in one go (feature
//! `test-util`).

use blake2::Digest;

use super::bits::bit_at;
use super::{Bits, Proof, ProofNode, Terminal, hash_internal, hash_leaf};
use crate::hash::Blake2b256;
use crate::types::{NameHash, TreeRoot};

/// A tree built over a set of (key, value) entries.
#[derive(Debug)]
pub struct TestTree {
    root: Node,
}

impl TestTree {
    /// The tree of `entries` (keys must be distinct).
    pub fn build(mut entries: Vec<([u8; 32], Vec<u8>)>) -> TestTree {
        entries.sort_by_key(|e| e.0);
        TestTree {
            root: Node::build(&entries, 0),
        }
    }

    /// The tree root.
    pub fn root(&self) -> TreeRoot {
        self.root.root()
    }

    /// The proof for `key`: of its value if present, of its absence otherwise.
    pub fn prove(&self, key: &NameHash) -> Proof {
        self.root.prove(key)
    }
}

#[derive(Debug)]
pub(super) enum Node {
    Null,
    Leaf {
        key: [u8; 32],
        value: Vec<u8>,
        hash: [u8; 32],
    },
    Internal {
        prefix: Option<Bits>,
        left: Box<Node>,
        right: Box<Node>,
        hash: [u8; 32],
    },
}

impl Node {
    /// The radix tree of `entries` (distinct keys) whose paths start at bit `depth`.
    pub(super) fn build(entries: &[([u8; 32], Vec<u8>)], depth: u16) -> Node {
        match entries {
            [] => Node::Null,
            [(key, value)] => Node::Leaf {
                key: *key,
                value: value.clone(),
                hash: hash_leaf(key, &Blake2b256::digest(value).into()),
            },
            [(first, _), rest @ ..] => {
                let mut split = depth;
                while rest
                    .iter()
                    .all(|(k, _)| bit_at(k, split) == bit_at(first, split))
                {
                    split += 1;
                }
                let (zeros, ones): (Vec<_>, Vec<_>) = entries
                    .iter()
                    .cloned()
                    .partition(|(k, _)| !bit_at(k, split));
                let prefix = key_bits(first, depth, split - depth);
                let left = Box::new(Node::build(&zeros, split + 1));
                let right = Box::new(Node::build(&ones, split + 1));
                let hash = hash_internal(prefix.as_ref(), &left.hash(), &right.hash());
                Node::Internal {
                    prefix,
                    left,
                    right,
                    hash,
                }
            }
        }
    }

    pub(super) fn hash(&self) -> [u8; 32] {
        match self {
            Node::Null => [0; 32],
            Node::Leaf { hash, .. } | Node::Internal { hash, .. } => *hash,
        }
    }

    pub(super) fn root(&self) -> TreeRoot {
        TreeRoot(self.hash())
    }

    /// The proof for `key`, walking down as urkel's `_prove` does.
    pub(super) fn prove(&self, key: &NameHash) -> Proof {
        let k = &key.0;
        let mut node = self;
        let mut depth = 0u16;
        let mut nodes = Vec::new();
        let terminal = loop {
            match node {
                Node::Null => break Terminal::DeadEnd,
                Node::Leaf {
                    key: other, value, ..
                } if other == k => {
                    break Terminal::Exists {
                        value: value.clone(),
                    };
                }
                Node::Leaf {
                    key: other, value, ..
                } => {
                    break Terminal::Collision {
                        key: NameHash(*other),
                        value_hash: Blake2b256::digest(value).into(),
                    };
                }
                Node::Internal {
                    prefix,
                    left,
                    right,
                    ..
                } => {
                    if let Some(p) = prefix
                        && !p.matches_key(k, depth)
                    {
                        break Terminal::Short {
                            prefix: *p,
                            left: left.hash(),
                            right: right.hash(),
                        };
                    }
                    let branch = depth + prefix.map_or(0, |p| p.size());
                    let (next, sibling) = if bit_at(k, branch) {
                        (right, left)
                    } else {
                        (left, right)
                    };
                    nodes.push(ProofNode {
                        prefix: *prefix,
                        sibling: sibling.hash(),
                    });
                    depth = branch + 1;
                    node = next;
                }
            }
        };
        Proof {
            depth,
            nodes,
            terminal,
        }
    }
}

/// Bits `start..start + len` of `key` as a prefix (`None` if empty).
fn key_bits(key: &[u8; 32], start: u16, len: u16) -> Option<Bits> {
    if len == 0 {
        return None;
    }
    let mut bytes = vec![0u8; usize::from(len).div_ceil(8)];
    for i in 0..len {
        if bit_at(key, start + i) {
            bytes[usize::from(i) >> 3] |= 0x80 >> (i & 7);
        }
    }
    Bits::new(len, &bytes)
}
