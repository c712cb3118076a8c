//! Handshake peer-to-peer packets: framing, shared encodings and the messages a header/proof
//! follower sends and receives.
//!
//! Wire format (hns-chain.md §4.2–4.10): a 9-byte frame header (magic u32 LE, packet type u8,
//! payload length u32 LE ≤ 8,000,000, no checksum) then the payload. [`parse_frame`] works on a
//! growing receive buffer and tells "need more bytes" ([`FrameStatus::Incomplete`]) apart from a
//! broken stream (wrong magic, oversize length: an error as soon as the 9 header bytes are in, so
//! a peer cannot make us buffer more than the limit). [`Packet::decode`] turns a payload into a
//! typed packet; every payload must be consumed exactly, item counts are bounded before anything
//! is allocated, and unknown packet types are kept raw as [`Packet::Unknown`]. Decoding is exact:
//! re-encoding a decoded packet gives the same bytes.
//!
//! Not here: sockets, timers, the handshake state machine, brontide encryption, and the
//! interpretation of Urkel proof bytes (the [`crate::urkel`] module decodes `PROOF` bodies).
//!
//! Follows (facts only): hsd `lib/net/framer.js`, `lib/net/parser.js`, `lib/net/packets.js`,
//! `lib/net/netaddress.js`, `lib/primitives/invitem.js`; hnsd `src/msg.c`, `src/msg.h`.

use thiserror::Error;

use crate::encoding::DecodeError;

mod frame;
mod netaddr;
mod packet;

pub use frame::{FRAME_HEADER_SIZE, FrameHeader, FrameStatus, RawFrame, parse_frame};
pub use netaddr::{InvItem, NET_ADDRESS_SIZE, NetAddress};
pub use packet::{GetHeaders, GetProof, Packet, Proof, Reject, Version};

/// Largest payload a peer may send (hsd `MAX_MESSAGE`).
pub const MAX_MESSAGE: u32 = 8_000_000;
/// Most addresses in one `ADDR` (hnsd's limit).
pub const MAX_ADDRS: usize = 1000;
/// Most items in `INV`/`GETDATA`/`NOTFOUND` and locator hashes in `GETHEADERS` (hsd `MAX_INV`).
pub const MAX_INV: usize = 50_000;
/// Most headers in one `HEADERS`.
pub const MAX_HEADERS: usize = 2000;

/// Largest payload a well-formed packet of type `ty` can have: the exact bound for the
/// packets this crate decodes field by field (a HEADERS of [`MAX_HEADERS`], an ADDR of
/// [`MAX_ADDRS`], a PROOF of [`crate::urkel::MAX_PROOF_SIZE`], ...), [`MAX_MESSAGE`] for the
/// ones kept raw (blocks, transactions). A frame header announcing more can be refused before
/// its payload arrives.
pub fn max_payload(ty: u8) -> u32 {
    use packet_type as t;
    /// A varint count of up to `n` items (1, 3 or 5 bytes).
    const fn count_len(n: usize) -> usize {
        if n < 0xfd {
            1
        } else if n <= 0xffff {
            3
        } else {
            5
        }
    }
    let bound = match ty {
        t::VERACK | t::GETADDR | t::SENDHEADERS | t::MEMPOOL | t::FILTERCLEAR => 0,
        t::PING | t::PONG | t::FEEFILTER => 8,
        t::SENDCMPCT => 9,
        // version, services, time, remote, nonce, agent (1 + 255), height, no_relay.
        t::VERSION => 4 + 8 + 8 + NET_ADDRESS_SIZE + 8 + 1 + 255 + 4 + 1,
        t::ADDR => count_len(MAX_ADDRS) + MAX_ADDRS * NET_ADDRESS_SIZE,
        t::INV | t::GETDATA | t::NOTFOUND => count_len(MAX_INV) + MAX_INV * InvItem::SIZE,
        // Locator (up to MAX_INV hashes), stop hash.
        t::GETHEADERS => count_len(MAX_INV) + MAX_INV * 32 + 32,
        // Message type, code, reason (1 + 255), optional hash.
        t::REJECT => 1 + 1 + 1 + 255 + 32,
        t::HEADERS => count_len(MAX_HEADERS) + MAX_HEADERS * crate::header::HEADER_SIZE,
        t::GETPROOF => 64,
        // Root, key, the proof to the end of the payload.
        t::PROOF => 64 + crate::urkel::MAX_PROOF_SIZE,
        _ => MAX_MESSAGE as usize,
    };
    u32::try_from(bound).map_or(MAX_MESSAGE, |b| b.min(MAX_MESSAGE))
}

/// Packet type numbers (hsd `packets.js` `types`, hns-chain.md §4.4).
pub mod packet_type {
    /// Handshake: protocol version, services, height, user agent.
    pub const VERSION: u8 = 0;
    /// Acknowledges a `VERSION`.
    pub const VERACK: u8 = 1;
    /// Keep-alive request carrying a nonce.
    pub const PING: u8 = 2;
    /// Reply to `PING`, echoing its nonce.
    pub const PONG: u8 = 3;
    /// Asks for peer addresses.
    pub const GETADDR: u8 = 4;
    /// Peer addresses.
    pub const ADDR: u8 = 5;
    /// Inventory announcement.
    pub const INV: u8 = 6;
    /// Requests inventory items.
    pub const GETDATA: u8 = 7;
    /// Requested items that are not available.
    pub const NOTFOUND: u8 = 8;
    /// Block locator request for blocks (kept raw as `Unknown`).
    pub const GETBLOCKS: u8 = 9;
    /// Block locator request for headers.
    pub const GETHEADERS: u8 = 10;
    /// Up to 2000 headers.
    pub const HEADERS: u8 = 11;
    /// Asks to announce blocks with `HEADERS`.
    pub const SENDHEADERS: u8 = 12;
    /// A full block (kept raw as `Unknown`).
    pub const BLOCK: u8 = 13;
    /// A transaction (kept raw as `Unknown`).
    pub const TX: u8 = 14;
    /// Rejection notice.
    pub const REJECT: u8 = 15;
    /// Asks for the mempool (kept raw).
    pub const MEMPOOL: u8 = 16;
    /// Bloom filter load (kept raw).
    pub const FILTERLOAD: u8 = 17;
    /// Bloom filter add (kept raw).
    pub const FILTERADD: u8 = 18;
    /// Bloom filter clear (kept raw).
    pub const FILTERCLEAR: u8 = 19;
    /// Filtered block (kept raw).
    pub const MERKLEBLOCK: u8 = 20;
    /// Fee filter (kept raw).
    pub const FEEFILTER: u8 = 21;
    /// Compact-block negotiation (kept raw).
    pub const SENDCMPCT: u8 = 22;
    /// Compact block (kept raw).
    pub const CMPCTBLOCK: u8 = 23;
    /// Compact-block transaction request (kept raw).
    pub const GETBLOCKTXN: u8 = 24;
    /// Compact-block transactions (kept raw).
    pub const BLOCKTXN: u8 = 25;
    /// Asks for an Urkel proof of a name hash against a tree root.
    pub const GETPROOF: u8 = 26;
    /// An Urkel proof.
    pub const PROOF: u8 = 27;
    /// A reserved-name claim (kept raw).
    pub const CLAIM: u8 = 28;
    /// An airdrop proof (kept raw).
    pub const AIRDROP: u8 = 29;
}

/// Why a frame or packet was rejected (or could not be encoded).
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum P2pError {
    /// The frame is for another network (or the stream is out of sync).
    #[error("wrong network magic {found:#010x}, expected {expected:#010x}")]
    WrongMagic {
        /// Magic of our network.
        expected: u32,
        /// Magic in the frame.
        found: u32,
    },
    /// The payload length exceeds [`MAX_MESSAGE`].
    #[error("payload of {len} bytes exceeds the limit of 8000000")]
    PayloadTooLarge {
        /// Announced or actual payload length.
        len: usize,
    },
    /// A frame header announces more payload than any valid packet of its type has
    /// ([`max_payload`], or a receiver's own tighter cap).
    #[error("packet type {packet_type} payload of {len} bytes exceeds the limit of {max}")]
    TypeTooLarge {
        /// The packet type.
        packet_type: u8,
        /// Announced payload length.
        len: usize,
        /// The limit for the type.
        max: u32,
    },
    /// A list is longer than the protocol allows.
    #[error("{what} count {count} exceeds the limit of {max}")]
    TooManyItems {
        /// Which list.
        what: &'static str,
        /// Count found.
        count: u64,
        /// Limit.
        max: usize,
    },
    /// The payload does not match the packet layout (truncated, malformed or trailing bytes).
    #[error("{packet} payload: {source}")]
    Payload {
        /// Packet name.
        packet: &'static str,
        /// What went wrong where.
        #[source]
        source: DecodeError,
    },
    /// A text field is not ASCII.
    #[error("{what} is not ascii")]
    NotAscii {
        /// Which field.
        what: &'static str,
    },
    /// A length-prefixed text field is longer than 255 bytes (encoding only).
    #[error("{what} of {len} bytes does not fit a one-byte length")]
    FieldTooLong {
        /// Which field.
        what: &'static str,
        /// Its length.
        len: usize,
    },
    /// A `REJECT` carries a hash for a message type that has none, or lacks one (encoding only).
    #[error("reject for message type {message} has a hash where it must not, or lacks one")]
    RejectHash {
        /// The rejected message type.
        message: u8,
    },
}

#[cfg(test)]
mod tests;
