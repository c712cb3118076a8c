//! Validating conversions between the wire messages and domain types (STYLE 21).
//!
//! Wire → domain is a `TryFrom` that checks the shape of every field (32-byte hashes, known
//! enum values, a valid name, convenience fields agreeing with the signed bytes) and fails
//! with a [`ConvertError`] naming the field. It does not verify proofs or signatures: look-ups
//! go on to `hnsfleet_verify::verify_lookup`, attestations to `SignedAttestation::verify`.
//! Domain → wire is infallible and is the only way services build these messages.

use bytes::Bytes;
use hnsfleet_attestation::{AttestationError, SignedAttestation};
use hnsfleet_hns::chain::{ChainEntry, SafeRoot};
use hnsfleet_hns::name::Name;
use hnsfleet_hns::namestate::NameState;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::pow::Chainwork;
use hnsfleet_hns::types::{BlockHash, NameHash, TreeRoot};
use hnsfleet_verify::{LookupClaim, VerifiedLookup};
use thiserror::Error;

use crate::follower::v1 as pb;

/// A wire message that does not fit its domain type. Messages name the field.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum ConvertError {
    /// A fixed-size field has the wrong length.
    #[error("`{field}` is {len} bytes, expected {expected}")]
    Length {
        /// The field.
        field: &'static str,
        /// Its length.
        len: usize,
        /// The length it must have.
        expected: usize,
    },
    /// A required message field is absent.
    #[error("`{field}` is missing")]
    Missing {
        /// The field.
        field: &'static str,
    },
    /// An enum field holds a value this version does not know.
    #[error("`{field}` has unknown value {value}")]
    UnknownEnum {
        /// The field.
        field: &'static str,
        /// The value received.
        value: i32,
    },
    /// The name is not a valid top-level Handshake name.
    #[error("`name` {name:?} is not a valid name: {reason}")]
    InvalidName {
        /// The name received.
        name: String,
        /// Why it is invalid.
        reason: String,
    },
    /// A convenience field disagrees with the signed attestation bytes.
    #[error("`{field}` disagrees with `signed_attestation`")]
    Disagrees {
        /// The field.
        field: &'static str,
    },
    /// The signed attestation bytes do not decode.
    #[error("`signed_attestation`: {0}")]
    Attestation(#[from] AttestationError),
}

/// A tip as received: well-formed, not yet compared with anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct ChainTip {
    /// Block height.
    pub height: u32,
    /// Block hash.
    pub hash: BlockHash,
    /// Tree root committed by the header.
    pub tree_root: TreeRoot,
    /// Cumulative chainwork.
    pub chainwork: Chainwork,
    /// Header time, unix seconds.
    pub time_unix_secs: u64,
}

/// `field` as exactly 32 bytes.
fn bytes32(field: &'static str, bytes: &[u8]) -> Result<[u8; 32], ConvertError> {
    bytes.try_into().map_err(|_| ConvertError::Length {
        field,
        len: bytes.len(),
        expected: 32,
    })
}

/// A wire network: `None` when unspecified, an error when unknown.
pub fn network_from_wire(field: &'static str, value: i32) -> Result<Option<Network>, ConvertError> {
    match pb::Network::try_from(value) {
        Ok(pb::Network::Unspecified) => Ok(None),
        Ok(pb::Network::Main) => Ok(Some(Network::Main)),
        Ok(pb::Network::Testnet) => Ok(Some(Network::Testnet)),
        Ok(pb::Network::Regtest) => Ok(Some(Network::Regtest)),
        Ok(pb::Network::Simnet) => Ok(Some(Network::Simnet)),
        Err(_) => Err(ConvertError::UnknownEnum { field, value }),
    }
}

// === impl pb::Network ===

impl From<Network> for pb::Network {
    fn from(network: Network) -> Self {
        match network {
            Network::Main => pb::Network::Main,
            Network::Testnet => pb::Network::Testnet,
            Network::Regtest => pb::Network::Regtest,
            Network::Simnet => pb::Network::Simnet,
        }
    }
}

// === impl pb::Tip ===

impl From<&ChainEntry> for pb::Tip {
    fn from(tip: &ChainEntry) -> Self {
        pb::Tip {
            height: tip.height,
            hash: tip.hash.as_bytes().to_vec(),
            tree_root: tip.tree_root.as_bytes().to_vec(),
            chainwork_be: tip.chainwork.to_be_bytes().to_vec(),
            time_unix_secs: tip.time,
        }
    }
}

// === impl ChainTip ===

impl TryFrom<&pb::Tip> for ChainTip {
    type Error = ConvertError;

    fn try_from(tip: &pb::Tip) -> Result<Self, ConvertError> {
        Ok(ChainTip {
            height: tip.height,
            hash: BlockHash(bytes32("tip.hash", &tip.hash)?),
            tree_root: TreeRoot(bytes32("tip.tree_root", &tip.tree_root)?),
            chainwork: Chainwork::from_be_bytes(bytes32("tip.chainwork_be", &tip.chainwork_be)?),
            time_unix_secs: tip.time_unix_secs,
        })
    }
}

// === impl pb::SafeRoot ===

impl From<&SafeRoot> for pb::SafeRoot {
    fn from(root: &SafeRoot) -> Self {
        pb::SafeRoot {
            height: root.height,
            tree_root: root.tree_root.as_bytes().to_vec(),
        }
    }
}

impl TryFrom<&pb::SafeRoot> for SafeRoot {
    type Error = ConvertError;

    /// A well-formed root (32 bytes); not yet compared with any chain.
    fn try_from(root: &pb::SafeRoot) -> Result<Self, ConvertError> {
        Ok(SafeRoot {
            height: root.height,
            tree_root: TreeRoot(bytes32("safe_root.tree_root", &root.tree_root)?),
        })
    }
}

// === impl pb::NameLookup ===

impl From<&VerifiedLookup> for pb::NameLookup {
    /// The wire form of a verified look-up: every value from the verified proof.
    fn from(v: &VerifiedLookup) -> Self {
        name_lookup(
            v.name(),
            v.height(),
            v.tree_root(),
            v.state(),
            Bytes::copy_from_slice(v.proof()),
            v.network(),
            v.tip_height(),
        )
    }
}

/// The wire form of a look-up whose `proof` was verified against `root` for `name` and gave
/// `state`. The proof is held once: the name state and resource are views into it where they
/// appear in it verbatim (an existence proof ends with the raw name state), copies otherwise.
pub fn name_lookup(
    name: &Name,
    height: u32,
    root: &TreeRoot,
    state: Option<&NameState>,
    proof: Bytes,
    network: Option<Network>,
    tip_height: u32,
) -> pb::NameLookup {
    let name_state = state
        .map(|s| {
            let raw = s.encode();
            let at = proof.len().saturating_sub(raw.len());
            view_or_copy(&proof, &raw, at)
        })
        .unwrap_or_default();
    let resource = match state.and_then(NameState::resource_data) {
        // Name state layout: name length (1), name, data length (2), data, ...
        Some(data) => view_or_copy(&name_state, data, 1 + state.map_or(0, |s| s.name.len()) + 2),
        None => Bytes::new(),
    };
    pb::NameLookup {
        name: name.as_str().to_string(),
        name_hash: Bytes::copy_from_slice(name.hash().as_bytes()),
        height,
        tree_root: Bytes::copy_from_slice(root.as_bytes()),
        exists: state.is_some(),
        name_state,
        resource,
        proof,
        network: network.map_or(pb::Network::Unspecified, pb::Network::from) as i32,
        tip_height,
    }
}

impl TryFrom<&pb::NameLookup> for LookupClaim {
    type Error = ConvertError;

    /// The claim to verify with `hnsfleet_verify::verify_lookup` (shape checks only).
    fn try_from(m: &pb::NameLookup) -> Result<Self, ConvertError> {
        let name = Name::parse(&m.name).map_err(|e| ConvertError::InvalidName {
            name: m.name.clone(),
            reason: e.to_string(),
        })?;
        Ok(LookupClaim {
            name,
            name_hash: NameHash(bytes32("name_hash", &m.name_hash)?),
            tree_root: TreeRoot(bytes32("tree_root", &m.tree_root)?),
            height: m.height,
            exists: m.exists,
            name_state: m.name_state.to_vec(),
            resource: m.resource.to_vec(),
            proof: m.proof.to_vec(),
            network: network_from_wire("network", m.network)?,
            tip_height: m.tip_height,
        })
    }
}

/// `within[at..at + part.len()]` as a view when it equals `part`, else a copy of `part`.
fn view_or_copy(within: &Bytes, part: &[u8], at: usize) -> Bytes {
    match within.get(at..at + part.len()) {
        Some(slice) if slice == part => within.slice(at..at + part.len()),
        _ => Bytes::copy_from_slice(part),
    }
}

// === impl pb::Attestation ===

impl From<&SignedAttestation> for pb::Attestation {
    fn from(signed: &SignedAttestation) -> Self {
        let s = &signed.statement;
        let network = Network::from_magic(s.network_magic)
            .map_or(pb::Network::Unspecified, pb::Network::from);
        pb::Attestation {
            tip: Some(pb::Tip {
                height: s.height,
                hash: s.hash.as_bytes().to_vec(),
                tree_root: s.tree_root.as_bytes().to_vec(),
                chainwork_be: s.chainwork.to_vec(),
                time_unix_secs: s.time,
            }),
            network: network as i32,
            public_key: signed.public_key.to_vec(),
            signed_at_unix_secs: s.signed_at,
            signature: signed.signature.to_vec(),
            signed_attestation: signed.encode().to_vec(),
        }
    }
}

impl TryFrom<&pb::Attestation> for SignedAttestation {
    type Error = ConvertError;

    /// Decodes `signed_attestation` and checks that every convenience field agrees with it
    /// (the signature itself is checked by [`SignedAttestation::verify`]).
    fn try_from(m: &pb::Attestation) -> Result<Self, ConvertError> {
        let signed = SignedAttestation::decode(&m.signed_attestation)?;
        let s = &signed.statement;
        let tip = ChainTip::try_from(
            m.tip
                .as_ref()
                .ok_or(ConvertError::Missing { field: "tip" })?,
        )?;
        let disagrees = |field| Err(ConvertError::Disagrees { field });
        if tip.height != s.height {
            return disagrees("tip.height");
        }
        if tip.hash != s.hash {
            return disagrees("tip.hash");
        }
        if tip.tree_root != s.tree_root {
            return disagrees("tip.tree_root");
        }
        if tip.chainwork.to_be_bytes() != s.chainwork {
            return disagrees("tip.chainwork_be");
        }
        if tip.time_unix_secs != s.time {
            return disagrees("tip.time_unix_secs");
        }
        if network_from_wire("network", m.network)? != Network::from_magic(s.network_magic) {
            return disagrees("network");
        }
        if m.public_key != signed.public_key {
            return disagrees("public_key");
        }
        if m.signed_at_unix_secs != s.signed_at {
            return disagrees("signed_at_unix_secs");
        }
        if m.signature != signed.signature {
            return disagrees("signature");
        }
        Ok(signed)
    }
}
