//! Re-verification of a name look-up received from another service (a chain-follower or a
//! proof-cache), so that only verified values travel between services.
//!
//! A look-up arrives as a [`LookupClaim`]: the name, its hash, the tree root and height it was
//! answered against, the raw Urkel proof, and the values the sender decoded from it (existence,
//! name state, resource) plus context (network, tip height). [`verify_lookup`] re-verifies the
//! proof against the claimed root with [`hnsfleet_hns::urkel`], checks that the name hash is the
//! name's, and refuses any claimed value that differs from what the proof says. Only it builds
//! a [`VerifiedLookup`], whose every value comes from the proof, never from the claim.
//!
//! Pure: no I/O, no clock, no gRPC. The conversion from the wire message (a validating
//! `TryFrom` in `hnsfleet-proto`) checks the shape (lengths, enum values, name syntax); this
//! crate checks the meaning. It must not trust anything it has not verified.
#![forbid(unsafe_code)]

use hnsfleet_hns::name::Name;
use hnsfleet_hns::namestate::NameState;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::{NameHash, TreeRoot};
use hnsfleet_hns::urkel::{AbsenceKind, ProofError, VerifiedName, verify_name_proof};
use thiserror::Error;

/// A look-up as another service sent it: nothing here is trusted yet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct LookupClaim {
    /// The name the answer is for.
    pub name: Name,
    /// The claimed tree key (must be SHA3-256 of `name`).
    pub name_hash: NameHash,
    /// The tree root the proof is claimed to verify against.
    pub tree_root: TreeRoot,
    /// Height of the header committing `tree_root` (context: a root carries no height).
    pub height: u32,
    /// Claimed existence.
    pub exists: bool,
    /// Claimed raw name state (empty when absent).
    pub name_state: Vec<u8>,
    /// Claimed raw resource (empty without one).
    pub resource: Vec<u8>,
    /// The serialized Urkel proof.
    pub proof: Vec<u8>,
    /// The sender's network, if it said (context, not proven).
    pub network: Option<Network>,
    /// The sender's tip height when it answered (context, not proven).
    pub tip_height: u32,
}

/// Why a claimed look-up was refused. Each variant names the disagreement.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum VerifyError {
    /// The answer is for another name than the one asked.
    #[error("answer is for {answered:?}, not {asked:?}")]
    OtherName {
        /// The name asked for.
        asked: String,
        /// The name the answer is for.
        answered: String,
    },
    /// The name hash is not SHA3-256 of the name.
    #[error("name hash is not SHA3-256 of the name")]
    NameHash,
    /// The proof does not verify against the claimed root for the name's key.
    #[error("proof does not verify against the claimed root: {0}")]
    Proof(#[from] ProofError),
    /// The claimed existence contradicts the proof.
    #[error("`exists` contradicts the proof")]
    Exists,
    /// The claimed name state differs from the one in the proof.
    #[error("name state differs from the one in the proof")]
    NameState,
    /// The claimed resource differs from the one in the proof.
    #[error("resource differs from the one in the proof")]
    Resource,
}

/// A look-up whose values all come from a proof verified against its root. Only
/// [`verify_lookup`] builds one.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct VerifiedLookup {
    name: Name,
    height: u32,
    verified: VerifiedName,
    proof: Vec<u8>,
    network: Option<Network>,
    tip_height: u32,
}

/// Re-verifies `claim` as the answer for `asked`: the proof must verify against the claimed
/// root for SHA3-256 of the name, and every claimed value must equal what the proof says.
pub fn verify_lookup(asked: &Name, claim: LookupClaim) -> Result<VerifiedLookup, VerifyError> {
    if claim.name != *asked {
        return Err(VerifyError::OtherName {
            asked: asked.as_str().to_string(),
            answered: claim.name.as_str().to_string(),
        });
    }
    let key = asked.hash();
    if claim.name_hash != key {
        return Err(VerifyError::NameHash);
    }
    let verified = verify_name_proof(&claim.tree_root, &key, &claim.proof)?;
    let state = verified.state();
    if claim.exists != state.is_some() {
        return Err(VerifyError::Exists);
    }
    if claim.name_state != state.map(NameState::encode).unwrap_or_default() {
        return Err(VerifyError::NameState);
    }
    if claim.resource != state.and_then(NameState::resource_data).unwrap_or_default() {
        return Err(VerifyError::Resource);
    }
    Ok(VerifiedLookup {
        name: claim.name,
        height: claim.height,
        verified,
        proof: claim.proof,
        network: claim.network,
        tip_height: claim.tip_height,
    })
}

// === impl VerifiedLookup ===

impl VerifiedLookup {
    /// The name.
    pub fn name(&self) -> &Name {
        &self.name
    }

    /// The tree key (SHA3-256 of the name).
    pub fn name_hash(&self) -> &NameHash {
        self.verified.key()
    }

    /// The tree root the proof verified against.
    pub fn tree_root(&self) -> &TreeRoot {
        self.verified.root()
    }

    /// Height of the header committing the root, as the sender stated it.
    pub fn height(&self) -> u32 {
        self.height
    }

    /// Whether the name exists.
    pub fn exists(&self) -> bool {
        self.verified.state().is_some()
    }

    /// The proven name state, if the name exists.
    pub fn state(&self) -> Option<&NameState> {
        self.verified.state()
    }

    /// How absence was proven, if the name does not exist.
    pub fn absence(&self) -> Option<AbsenceKind> {
        self.verified.absence()
    }

    /// The proven resource bytes (empty without a resource).
    pub fn resource_data(&self) -> &[u8] {
        self.state()
            .and_then(NameState::resource_data)
            .unwrap_or_default()
    }

    /// The proof bytes, to pass on so the next service can verify them too.
    pub fn proof(&self) -> &[u8] {
        &self.proof
    }

    /// The sender's network, if it said (context, not proven).
    pub fn network(&self) -> Option<Network> {
        self.network
    }

    /// The sender's tip height when it answered (context, not proven).
    pub fn tip_height(&self) -> u32 {
        self.tip_height
    }
}

/// Most headers [`verify_header_chain`] accepts (a proof bundle's bound).
pub const MAX_CHAIN_HEADERS: usize = 200;

/// Why headers said to tie a tree root to proof of work do not.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum HeaderChainError {
    /// No headers, or more than [`MAX_CHAIN_HEADERS`].
    #[error("{0} headers (1 to {MAX_CHAIN_HEADERS} expected)")]
    Count(usize),
    /// The header at the root's height is not among them.
    #[error("the headers {first}..{end} do not include the root's height {height}")]
    Range {
        /// First height sent.
        first: u32,
        /// One past the last.
        end: u32,
        /// The root's height.
        height: u32,
    },
    /// A header does not carry the root where it must.
    #[error("the header at height {0} does not carry the root")]
    Root(u32),
    /// A header does not decode, meet its target or link to the previous one.
    #[error("header at height {height}: {reason}")]
    Header {
        /// Its height.
        height: u32,
        /// What is wrong.
        reason: String,
    },
}

/// Checks headers a follower (or cache) sent for a proof bundle: between 1 and
/// [`MAX_CHAIN_HEADERS`] consecutive headers from `first_height`, each decoding, meeting its
/// own target within the network's limit and linking to the previous one; the first and the
/// one at `root_height` carry `root`. Returns the decoded headers.
pub fn verify_header_chain(
    params: &hnsfleet_hns::params::NetworkParams,
    root: &TreeRoot,
    root_height: u32,
    first_height: u32,
    raw: &[impl AsRef<[u8]>],
) -> Result<Vec<hnsfleet_hns::header::Header>, HeaderChainError> {
    use hnsfleet_hns::header::HashedHeader;
    if raw.is_empty() || raw.len() > MAX_CHAIN_HEADERS {
        return Err(HeaderChainError::Count(raw.len()));
    }
    let end = first_height.saturating_add(raw.len() as u32);
    if root_height < first_height || root_height >= end {
        return Err(HeaderChainError::Range {
            first: first_height,
            end,
            height: root_height,
        });
    }
    let mut headers = Vec::with_capacity(raw.len());
    let mut prev: Option<hnsfleet_hns::types::BlockHash> = None;
    for (i, bytes) in raw.iter().enumerate() {
        let height = first_height + i as u32;
        let fail = |reason: String| HeaderChainError::Header { height, reason };
        let hashed = HashedHeader::decode(bytes.as_ref()).map_err(|e| fail(e.to_string()))?;
        hnsfleet_hns::chain::check_pow_within_limit(params, &hashed)
            .map_err(|e| fail(e.to_string()))?;
        if prev.is_some_and(|p| p != hashed.header().prev_block) {
            return Err(fail("does not link to the header before it".into()));
        }
        if (i == 0 || height == root_height) && hashed.header().tree_root != *root {
            return Err(HeaderChainError::Root(height));
        }
        prev = Some(hashed.hash());
        headers.push(hashed.into_header());
    }
    Ok(headers)
}

#[cfg(test)]
mod tests;
