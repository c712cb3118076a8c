//! The name state stored as the value of a name's leaf in the Urkel tree.
//!
//! Follows hsd `lib/covenants/namestate.js` (read/write, `state`, `isExpired`, `getJSON`) as in
//! hns-chain.md §6.1 and §6.3, and the resolution rule of hsd's root server (§6.4): a name
//! resolves from its data when that data is non-empty, whatever its auction state or expiry.

use serde::Serialize;
use thiserror::Error;

use crate::encoding::{DecodeError, Reader, write_varint};
use crate::params::NameRules;
use crate::types::NameHash;

/// Largest serialized name state hsd accepts as a tree value.
pub const MAX_NAME_STATE_SIZE: usize = 668;
/// Largest resource blob a name can carry (hsd `rules.MAX_RESOURCE_SIZE`).
pub const MAX_DATA_SIZE: usize = 512;
/// Longest name inside a name state.
const MAX_NAME_SIZE: usize = 63;

const FIELD_OWNER: u16 = 1 << 0;
const FIELD_VALUE: u16 = 1 << 1;
const FIELD_HIGHEST: u16 = 1 << 2;
const FIELD_TRANSFER: u16 = 1 << 3;
const FIELD_REVOKED: u16 = 1 << 4;
const FIELD_CLAIMED: u16 = 1 << 5;
const FIELD_RENEWALS: u16 = 1 << 6;
const FIELD_REGISTERED: u16 = 1 << 7;
const FIELD_EXPIRED: u16 = 1 << 8;
const FIELD_WEAK: u16 = 1 << 9;
const FIELD_KNOWN: u16 = (1 << 10) - 1;

/// Why bytes are not a name state.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NameStateError {
    /// The bytes ended early, or a field is malformed.
    #[error("name state decode: {0}")]
    Decode(#[from] DecodeError),
    /// Larger than [`MAX_NAME_STATE_SIZE`].
    #[error("name state is {0} bytes, the limit is 668")]
    TooLarge(usize),
    /// A name longer than 63 bytes.
    #[error("name state name is {0} bytes, the limit is 63")]
    NameTooLong(usize),
    /// Resource data longer than 512 bytes.
    #[error("name state data is {0} bytes, the limit is 512")]
    DataTooLarge(usize),
    /// Flag bits hsd never writes are set.
    #[error("name state has unknown flag bits {0:#06x}")]
    UnknownFlags(u16),
    /// A field flagged present holds its default value (hsd never writes those).
    #[error("name state field {0} is flagged present but empty")]
    NonCanonical(&'static str),
}

/// An output reference: the owner of a name.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct Outpoint {
    /// Transaction id.
    pub txid: [u8; 32],
    /// Output index.
    pub index: u32,
}

/// The auction state of a name at some height (hsd `NameState.state`).
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "SCREAMING_SNAKE_CASE")]
pub enum AuctionState {
    /// Opened, bids not yet accepted.
    Opening,
    /// Claimed reserved name in its lockup.
    Locked,
    /// Accepting bids.
    Bidding,
    /// Accepting reveals.
    Reveal,
    /// Auction over (registered or registrable).
    Closed,
    /// Revoked by its owner.
    Revoked,
}

/// A decoded name state. Absent optional fields are zero / `None`, as in hsd.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct NameState {
    /// The name (raw bytes; valid names are lower-case ASCII).
    pub name: Vec<u8>,
    /// Resource data; empty means "no resource".
    pub data: Vec<u8>,
    /// Height of the current auction's OPEN (or of the CLAIM).
    pub height: u32,
    /// Height of the last register/renew/finalize.
    pub renewal: u32,
    /// Current owner output.
    pub owner: Option<Outpoint>,
    /// Price paid (second-highest bid).
    pub value: u64,
    /// Highest bid.
    pub highest: u64,
    /// Height of a pending TRANSFER.
    pub transfer: u32,
    /// Height of the REVOKE.
    pub revoked: u32,
    /// Claim commitment height.
    pub claimed: u32,
    /// Number of renewals.
    pub renewals: u64,
    /// Whether the name was registered.
    pub registered: bool,
    /// Whether the name was reset by expiry.
    pub expired: bool,
    /// Whether the claim was weak (RSA-1024).
    pub weak: bool,
}

/// hsd's `getnameinfo` `info` object for a name state at a height (without `stats`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
#[serde(rename_all = "camelCase")]
pub struct NameStateJson {
    /// Name.
    pub name: String,
    /// Tree key, hex.
    pub name_hash: String,
    /// Auction state at the height asked.
    pub state: AuctionState,
    /// Auction height.
    pub height: u32,
    /// Last renewal height.
    pub renewal: u32,
    /// Owner outpoint (`{"hash":..., "index":...}`; the null outpoint when there is none).
    pub owner: OwnerJson,
    /// Price paid.
    pub value: u64,
    /// Highest bid.
    pub highest: u64,
    /// Resource data, hex.
    pub data: String,
    /// Pending transfer height.
    pub transfer: u32,
    /// Revocation height.
    pub revoked: u32,
    /// Claim height.
    pub claimed: u32,
    /// Renewal count.
    pub renewals: u64,
    /// Registered flag.
    pub registered: bool,
    /// Expired flag (as stored; see [`NameState::is_expired`] for the computed rule).
    pub expired: bool,
    /// Weak-claim flag.
    pub weak: bool,
}

/// Owner outpoint in hsd's JSON form.
#[derive(Debug, Clone, PartialEq, Eq, Serialize)]
pub struct OwnerJson {
    /// Transaction id, hex.
    pub hash: String,
    /// Output index (`4294967295` for the null outpoint).
    pub index: u32,
}

// === impl NameState ===

impl NameState {
    /// Decodes a tree value. The whole input must be one name state.
    pub fn decode(bytes: &[u8]) -> Result<NameState, NameStateError> {
        if bytes.len() > MAX_NAME_STATE_SIZE {
            return Err(NameStateError::TooLarge(bytes.len()));
        }
        let mut r = Reader::new(bytes);
        let name_len = usize::from(r.u8()?);
        if name_len > MAX_NAME_SIZE {
            return Err(NameStateError::NameTooLong(name_len));
        }
        let name = r.bytes(name_len)?.to_vec();
        let data_len = usize::from(r.u16_le()?);
        if data_len > MAX_DATA_SIZE {
            return Err(NameStateError::DataTooLarge(data_len));
        }
        let data = r.bytes(data_len)?.to_vec();
        let height = r.u32_le()?;
        let renewal = r.u32_le()?;
        let field = r.u16_le()?;
        if field & !FIELD_KNOWN != 0 {
            return Err(NameStateError::UnknownFlags(field & !FIELD_KNOWN));
        }
        let has = |bit: u16| field & bit != 0;
        let owner = if has(FIELD_OWNER) {
            let txid = r.array()?;
            let at = r.position();
            let index = u32::try_from(r.varint()?).map_err(|_| DecodeError::Malformed {
                offset: at,
                reason: "owner index above u32",
            })?;
            let owner = Outpoint { txid, index };
            if owner.is_null() {
                return Err(NameStateError::NonCanonical("owner"));
            }
            Some(owner)
        } else {
            None
        };
        let value = optional(has(FIELD_VALUE), "value", || r.varint())?;
        let highest = optional(has(FIELD_HIGHEST), "highest", || r.varint())?;
        let transfer = optional(has(FIELD_TRANSFER), "transfer", || r.u32_le())?;
        let revoked = optional(has(FIELD_REVOKED), "revoked", || r.u32_le())?;
        let claimed = optional(has(FIELD_CLAIMED), "claimed", || r.u32_le())?;
        let renewals = optional(has(FIELD_RENEWALS), "renewals", || r.varint())?;
        r.finish()?;
        Ok(NameState {
            name,
            data,
            height,
            renewal,
            owner,
            value,
            highest,
            transfer,
            revoked,
            claimed,
            renewals,
            registered: has(FIELD_REGISTERED),
            expired: has(FIELD_EXPIRED),
            weak: has(FIELD_WEAK),
        })
    }

    /// Encodes exactly as hsd writes it (optional fields only when non-zero).
    pub fn encode(&self) -> Vec<u8> {
        let mut out = Vec::with_capacity(64 + self.name.len() + self.data.len());
        out.push(self.name.len() as u8);
        out.extend_from_slice(&self.name);
        out.extend_from_slice(&(self.data.len() as u16).to_le_bytes());
        out.extend_from_slice(&self.data);
        out.extend_from_slice(&self.height.to_le_bytes());
        out.extend_from_slice(&self.renewal.to_le_bytes());
        out.extend_from_slice(&self.field().to_le_bytes());
        if let Some(owner) = self.owner.filter(|o| !o.is_null()) {
            out.extend_from_slice(&owner.txid);
            write_varint(&mut out, u64::from(owner.index));
        }
        if self.value != 0 {
            write_varint(&mut out, self.value);
        }
        if self.highest != 0 {
            write_varint(&mut out, self.highest);
        }
        for v in [self.transfer, self.revoked, self.claimed] {
            if v != 0 {
                out.extend_from_slice(&v.to_le_bytes());
            }
        }
        if self.renewals != 0 {
            write_varint(&mut out, self.renewals);
        }
        out
    }

    fn field(&self) -> u16 {
        let mut field = 0;
        let mut set = |bit: u16, on: bool| {
            if on {
                field |= bit;
            }
        };
        set(FIELD_OWNER, self.owner.is_some_and(|o| !o.is_null()));
        set(FIELD_VALUE, self.value != 0);
        set(FIELD_HIGHEST, self.highest != 0);
        set(FIELD_TRANSFER, self.transfer != 0);
        set(FIELD_REVOKED, self.revoked != 0);
        set(FIELD_CLAIMED, self.claimed != 0);
        set(FIELD_RENEWALS, self.renewals != 0);
        set(FIELD_REGISTERED, self.registered);
        set(FIELD_EXPIRED, self.expired);
        set(FIELD_WEAK, self.weak);
        field
    }

    /// The resource data a resolver serves, or `None` when the name does not resolve.
    ///
    /// This is the reference rule of hsd's and hnsd's root servers: non-empty data resolves,
    /// regardless of auction state or expiry (an expired name keeps its data until a new
    /// REGISTER/UPDATE replaces it; REVOKE empties it).
    pub fn resource_data(&self) -> Option<&[u8]> {
        (!self.data.is_empty()).then_some(self.data.as_slice())
    }

    /// The auction state at `height` (hsd `NameState.state`).
    pub fn state(&self, height: u32, rules: &NameRules) -> AuctionState {
        let open_period = u64::from(rules.tree_interval) + 1;
        let h = u64::from(height);
        let start = u64::from(self.height);
        if self.revoked != 0 {
            return AuctionState::Revoked;
        }
        if self.claimed != 0 {
            return if h < start + u64::from(rules.lockup_period) {
                AuctionState::Locked
            } else {
                AuctionState::Closed
            };
        }
        let bidding_end = start + open_period + u64::from(rules.bidding_period);
        if h < start + open_period {
            AuctionState::Opening
        } else if h < bidding_end {
            AuctionState::Bidding
        } else if h < bidding_end + u64::from(rules.reveal_period) {
            AuctionState::Reveal
        } else {
            AuctionState::Closed
        }
    }

    /// Whether the name has expired at `height` (hsd `NameState.isExpired`).
    pub fn is_expired(&self, height: u32, rules: &NameRules) -> bool {
        let h = u64::from(height);
        if self.revoked != 0 {
            return h >= u64::from(self.revoked) + u64::from(rules.auction_maturity);
        }
        if self.state(height, rules) != AuctionState::Closed {
            return false;
        }
        let claimable = self.claimed != 0 && !rules.no_reserved && height < rules.claim_period;
        if claimable {
            return false;
        }
        if h >= u64::from(self.renewal) + u64::from(rules.renewal_window) {
            return true;
        }
        self.owner.is_none()
    }

    /// hsd's `getnameinfo` JSON for this state at `height`.
    pub fn to_json(&self, name_hash: &NameHash, height: u32, rules: &NameRules) -> NameStateJson {
        let owner = self.owner.unwrap_or(Outpoint::NULL);
        NameStateJson {
            name: self.name.iter().map(|&b| char::from(b)).collect(),
            name_hash: name_hash.to_hex(),
            state: self.state(height, rules),
            height: self.height,
            renewal: self.renewal,
            owner: OwnerJson {
                hash: hex::encode(owner.txid),
                index: owner.index,
            },
            value: self.value,
            highest: self.highest,
            data: hex::encode(&self.data),
            transfer: self.transfer,
            revoked: self.revoked,
            claimed: self.claimed,
            renewals: self.renewals,
            registered: self.registered,
            expired: self.expired,
            weak: self.weak,
        }
    }
}

/// Reads an optional field flagged present, rejecting a present field holding zero.
fn optional<T: Default + PartialEq>(
    present: bool,
    what: &'static str,
    read: impl FnOnce() -> Result<T, DecodeError>,
) -> Result<T, NameStateError> {
    if !present {
        return Ok(T::default());
    }
    let value = read()?;
    if value == T::default() {
        return Err(NameStateError::NonCanonical(what));
    }
    Ok(value)
}

// === impl Outpoint ===

impl Outpoint {
    /// hsd's null outpoint (zero txid, index `u32::MAX`): "no owner".
    pub const NULL: Outpoint = Outpoint {
        txid: [0; 32],
        index: u32::MAX,
    };

    /// Whether this is the null outpoint.
    pub fn is_null(&self) -> bool {
        *self == Outpoint::NULL
    }
}

#[cfg(test)]
mod tests;
