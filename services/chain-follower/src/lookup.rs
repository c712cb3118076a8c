//! Name look-ups over one peer: GETPROOF for (root, name hash), then the Urkel proof is
//! verified before anything is returned. A peer that answers with a proof that does not verify
//! is misbehaving (hsd scores it 100): the error says so, and the caller bans it.

use std::time::Duration;

use hnsfleet_hns::p2p::{GetProof, Packet};
use hnsfleet_hns::types::{NameHash, TreeRoot};
use hnsfleet_hns::urkel::{ProofError, VerifiedName, verify_name_proof};
use thiserror::Error;

use crate::peer::{PeerConnection, PeerError};

/// How long a peer may take to answer GETPROOF (hsd `NAME_TIMEOUT`: 5 s).
pub const PROOF_TIMEOUT: Duration = Duration::from_secs(5);

/// Why a look-up over a peer failed.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum LookupError {
    /// The connection failed or timed out: try another peer.
    #[error(transparent)]
    Peer(#[from] PeerError),
    /// The peer's proof does not verify against the root we asked for: ban the peer.
    #[error("peer sent a proof that does not verify: {0}")]
    BadProof(#[from] ProofError),
}

impl LookupError {
    /// Whether the peer proved itself dishonest or broken (as opposed to slow or gone).
    pub fn ban_worthy(&self) -> bool {
        matches!(
            self,
            LookupError::BadProof(_) | LookupError::Peer(PeerError::Protocol(_))
        ) || matches!(self, LookupError::Peer(PeerError::Brontide(e)) if e.is_protocol_violation()
        )
    }
}

/// Asks `peer` for the proof of `key` under `root` and verifies it. Unrelated packets that
/// arrive meanwhile (announcements) are passed to `other`.
pub async fn lookup(
    peer: &mut PeerConnection,
    root: TreeRoot,
    key: NameHash,
    wait: Duration,
    other: impl FnMut(Packet),
) -> Result<(VerifiedName, Vec<u8>), LookupError> {
    let request = Packet::GetProof(GetProof { root, key });
    let proof = peer
        .request(
            &request,
            wait,
            |p| match p {
                // Only the answer to this request: same root and key (hsd answers in order,
                // but a proof for another key is not ours to interpret).
                Packet::Proof(p) if p.root == root && p.key == key => Some(p.proof.clone()),
                _ => None,
            },
            other,
        )
        .await?;
    let verified = verify_name_proof(&root, &key, &proof)?;
    Ok((verified, proof))
}
