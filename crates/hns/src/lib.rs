//! The Handshake protocol, pure: wire formats, consensus rules, proofs, resources, SIG(0).
//!
//! This crate is shared by every hnsfleet service. It performs **no I/O**: no sockets, no files,
//! no clocks, no async. Time is always passed in as a parameter (`now` in unix seconds), bytes
//! come in as slices and go out as `Vec<u8>`. Everything that decodes untrusted bytes returns a
//! typed error and never panics; only `verify` functions produce the `Verified*` values that the
//! services are allowed to serve.
//!
//! Map of the crate (upstream references in `docs/spec-map.md`):
//! - [`encoding`]: bounded reader, Bitcoin-style varints.
//! - [`hash`], [`types`]: BLAKE2b / SHA3 helpers and the domain newtypes.
//! - [`params`]: per-network constants (mainnet, testnet, regtest, simnet) as data.
//! - [`header`], [`pow`], [`chain`]: block headers, proof of work, retargeting, header-chain rules.
//! - [`name`], [`namestate`]: name rules, name hashes, the name state stored in the tree.
//! - [`reserved`]: hsd's reserved-name table (`names.db`): which TLDs fall back to ICANN.
//! - [`urkel`]: Urkel tree proofs and their verification against a tree root.
//! - [`resource`]: on-chain name resources (their conversion to DNS records is the
//!   `hnsfleet-hns-dns` crate, so users of this crate do not link a DNS library).
//! - [`sig0`], [`hnsconf`]: SIG(0) over secp256k1 and the `hns.conf` client file.
//! - [`p2p`]: Handshake peer-to-peer packet framing and messages.
#![forbid(unsafe_code)]

pub mod chain;
pub mod encoding;
pub mod hash;
pub mod header;
pub mod hnsconf;
pub mod name;
pub mod namestate;
pub mod p2p;
pub mod params;
pub mod pow;
pub mod reserved;
pub mod resource;
pub mod sig0;
pub mod types;
pub mod urkel;

pub use types::{BlockHash, Hash256, Height, NameHash, TreeRoot};
