//! The 9-byte frame header and incremental frame splitting (hns-chain.md §4.2).

use super::{MAX_MESSAGE, P2pError, Packet};

/// Size of the frame header: magic u32 LE, packet type u8, payload length u32 LE.
pub const FRAME_HEADER_SIZE: usize = 9;

/// A decoded frame header.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct FrameHeader {
    /// Network magic.
    pub magic: u32,
    /// Packet type (see [`super::packet_type`]).
    pub packet_type: u8,
    /// Payload length in bytes (≤ [`MAX_MESSAGE`] once decoded).
    pub len: u32,
}

/// What [`parse_frame`] found at the start of a buffer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum FrameStatus<'a> {
    /// The buffer holds no complete frame yet; at least `needed` more bytes are required.
    Incomplete {
        /// Bytes missing before anything more can be decided.
        needed: usize,
    },
    /// A complete frame starts the buffer.
    Complete(RawFrame<'a>),
}

/// A complete frame borrowed from the receive buffer.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct RawFrame<'a> {
    /// The header.
    pub header: FrameHeader,
    /// Exactly `header.len` payload bytes.
    pub payload: &'a [u8],
}

// === impl FrameHeader ===

impl FrameHeader {
    /// Decodes the 9 header bytes and rejects a length above [`MAX_MESSAGE`]. The magic is
    /// returned as found; [`parse_frame`] compares it with the network's.
    pub fn decode(bytes: &[u8; FRAME_HEADER_SIZE]) -> Result<FrameHeader, P2pError> {
        let [m0, m1, m2, m3, packet_type, l0, l1, l2, l3] = *bytes;
        let len = u32::from_le_bytes([l0, l1, l2, l3]);
        if len > MAX_MESSAGE {
            return Err(P2pError::PayloadTooLarge { len: len as usize });
        }
        Ok(FrameHeader {
            magic: u32::from_le_bytes([m0, m1, m2, m3]),
            packet_type,
            len,
        })
    }

    /// Encodes the 9 header bytes.
    pub fn encode(&self) -> [u8; FRAME_HEADER_SIZE] {
        let mut out = [0u8; FRAME_HEADER_SIZE];
        out[..4].copy_from_slice(&self.magic.to_le_bytes());
        out[4] = self.packet_type;
        out[5..].copy_from_slice(&self.len.to_le_bytes());
        out
    }
}

// === impl RawFrame ===

impl RawFrame<'_> {
    /// Bytes the frame occupies on the wire (header + payload): how far to advance the buffer.
    pub fn wire_len(&self) -> usize {
        FRAME_HEADER_SIZE + self.payload.len()
    }

    /// Decodes the payload according to the packet type.
    pub fn packet(&self) -> Result<Packet, P2pError> {
        Packet::decode(self.header.packet_type, self.payload)
    }
}

/// Looks for one frame at the start of `buf` for the network with `magic`.
///
/// Returns [`FrameStatus::Incomplete`] while bytes are missing, an error as soon as the bytes
/// present prove the stream broken (wrong magic once 4 bytes are in, oversize length once 9 are
/// in), and otherwise the complete frame.
pub fn parse_frame(buf: &[u8], magic: u32) -> Result<FrameStatus<'_>, P2pError> {
    if let Some(&[a, b, c, d]) = buf.get(..4) {
        let found = u32::from_le_bytes([a, b, c, d]);
        if found != magic {
            return Err(P2pError::WrongMagic {
                expected: magic,
                found,
            });
        }
    }
    let Some((head, rest)) = buf.split_first_chunk::<FRAME_HEADER_SIZE>() else {
        return Ok(FrameStatus::Incomplete {
            needed: FRAME_HEADER_SIZE - buf.len(),
        });
    };
    let header = FrameHeader::decode(head)?;
    let len = header.len as usize;
    match rest.get(..len) {
        Some(payload) => Ok(FrameStatus::Complete(RawFrame { header, payload })),
        None => Ok(FrameStatus::Incomplete {
            needed: len - rest.len(),
        }),
    }
}
