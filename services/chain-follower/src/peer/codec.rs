//! The inbound frame decoder (a [`tokio_util::codec::Decoder`]): one Handshake p2p frame at a
//! time, with a per-type payload cap checked from the 9-byte header before any payload is
//! buffered, and the payloads of packet types the follower never uses skipped as they arrive
//! (never buffered, whatever length they announce).

use bytes::{Buf, BytesMut};
use hnsfleet_hns::p2p::{
    FRAME_HEADER_SIZE, FrameHeader, InvItem, P2pError, Packet, max_payload, packet_type as t,
};
use tokio_util::codec::Decoder;

use super::PeerError;

/// Most inventory items the follower accepts in one INV: a header-only node with `no_relay`
/// set is only ever announced blocks, one or a few at a time (hsd sends up to 50,000 only in
/// answer to GETBLOCKS, which we never send).
pub const MAX_INV_ANNOUNCED: usize = 1000;

/// The payload cap of a packet type the follower decodes, or `None` for one it skips unread.
pub fn follower_cap(ty: u8) -> Option<u32> {
    match ty {
        t::VERSION | t::VERACK | t::PING | t::PONG | t::ADDR | t::HEADERS | t::PROOF => {
            Some(max_payload(ty))
        }
        // A varint count (3 bytes at most for 1000) and the items.
        t::INV => u32::try_from(3 + MAX_INV_ANNOUNCED * InvItem::SIZE).ok(),
        _ => None,
    }
}

/// Decodes frames for the network with `magic` (see the module docs).
#[derive(Debug)]
pub struct FrameDecoder {
    magic: u32,
    /// Payload bytes of a skipped frame still to discard.
    skipping: usize,
    /// Frames skipped so far (types we do not use).
    skipped: u64,
}

/// One decoded packet and the bytes its frame took on the wire.
#[derive(Debug)]
pub struct Decoded {
    /// The packet.
    pub packet: Packet,
    /// Header + payload bytes.
    pub wire_len: usize,
}

impl FrameDecoder {
    /// A decoder for `magic`.
    pub fn new(magic: u32) -> FrameDecoder {
        FrameDecoder {
            magic,
            skipping: 0,
            skipped: 0,
        }
    }

    /// Frames of unused types skipped so far.
    pub fn skipped(&self) -> u64 {
        self.skipped
    }
}

impl Decoder for FrameDecoder {
    type Item = Decoded;
    type Error = PeerError;

    fn decode(&mut self, src: &mut BytesMut) -> Result<Option<Decoded>, PeerError> {
        loop {
            if self.skipping > 0 {
                let n = self.skipping.min(src.len());
                src.advance(n);
                self.skipping -= n;
                if self.skipping > 0 {
                    return Ok(None);
                }
            }
            if let Some(&[a, b, c, d]) = src.get(..4) {
                let found = u32::from_le_bytes([a, b, c, d]);
                if found != self.magic {
                    return Err(PeerError::Protocol(P2pError::WrongMagic {
                        expected: self.magic,
                        found,
                    }));
                }
            }
            let Some(head) = src.first_chunk::<FRAME_HEADER_SIZE>() else {
                src.reserve(FRAME_HEADER_SIZE);
                return Ok(None);
            };
            let header = FrameHeader::decode(head)?;
            let len = header.len as usize;
            let Some(cap) = follower_cap(header.packet_type) else {
                // Not a packet we use: drop its payload as it streams in.
                src.advance(FRAME_HEADER_SIZE);
                self.skipping = len;
                self.skipped += 1;
                continue;
            };
            if header.len > cap {
                return Err(PeerError::Protocol(P2pError::TypeTooLarge {
                    packet_type: header.packet_type,
                    len,
                    max: cap,
                }));
            }
            let wire_len = FRAME_HEADER_SIZE + len;
            if src.len() < wire_len {
                // Only ever up to `cap` (checked above) is reserved.
                src.reserve(wire_len - src.len());
                return Ok(None);
            }
            let frame = src.split_to(wire_len);
            let packet = Packet::decode(header.packet_type, &frame[FRAME_HEADER_SIZE..])?;
            return Ok(Some(Decoded { packet, wire_len }));
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use hnsfleet_hns::params::Network;

    fn magic() -> u32 {
        Network::Regtest.params().magic
    }

    fn frame(ty: u8, payload: &[u8]) -> Vec<u8> {
        let mut out = magic().to_le_bytes().to_vec();
        out.push(ty);
        out.extend_from_slice(&(payload.len() as u32).to_le_bytes());
        out.extend_from_slice(payload);
        out
    }

    #[test]
    fn decodes_frames_split_anywhere() {
        let mut wire = Packet::Ping(7).encode_frame(magic()).unwrap();
        wire.extend(Packet::Pong(9).encode_frame(magic()).unwrap());
        for cut in 0..wire.len() {
            let mut decoder = FrameDecoder::new(magic());
            let mut buf = BytesMut::from(&wire[..cut]);
            let mut got = Vec::new();
            while let Some(d) = decoder.decode(&mut buf).unwrap() {
                got.push(d.packet);
            }
            buf.extend_from_slice(&wire[cut..]);
            while let Some(d) = decoder.decode(&mut buf).unwrap() {
                got.push(d.packet);
            }
            assert_eq!(got, vec![Packet::Ping(7), Packet::Pong(9)], "cut at {cut}");
            assert!(buf.is_empty());
        }
    }

    #[test]
    fn unused_types_are_skipped_without_buffering_their_payload() {
        let mut decoder = FrameDecoder::new(magic());
        // A BLOCK announcing 7 MB: only its header is ever looked at.
        let mut head = magic().to_le_bytes().to_vec();
        head.push(t::BLOCK);
        head.extend_from_slice(&7_000_000u32.to_le_bytes());
        let mut buf = BytesMut::from(&head[..]);
        assert!(decoder.decode(&mut buf).unwrap().is_none());
        let chunk = vec![0u8; 64 * 1024];
        let mut fed = 0;
        while fed < 7_000_000 {
            let n = chunk.len().min(7_000_000 - fed);
            buf.extend_from_slice(&chunk[..n]);
            fed += n;
            assert!(decoder.decode(&mut buf).unwrap().is_none());
            assert!(buf.is_empty(), "skipped payload was buffered");
            assert!(buf.capacity() < 1024 * 1024);
        }
        buf.extend_from_slice(&Packet::Pong(1).encode_frame(magic()).unwrap());
        assert_eq!(
            decoder.decode(&mut buf).unwrap().unwrap().packet,
            Packet::Pong(1)
        );
        assert_eq!(decoder.skipped(), 1);
    }

    #[test]
    fn per_type_caps_refuse_from_the_header() {
        for (ty, len) in [
            (t::PROOF, follower_cap(t::PROOF).unwrap() + 1),
            (t::HEADERS, follower_cap(t::HEADERS).unwrap() + 1),
            (t::ADDR, follower_cap(t::ADDR).unwrap() + 1),
            (t::INV, follower_cap(t::INV).unwrap() + 1),
            (t::PING, 9),
            (t::VERACK, 1),
        ] {
            let mut head = magic().to_le_bytes().to_vec();
            head.push(ty);
            head.extend_from_slice(&len.to_le_bytes());
            let mut buf = BytesMut::from(&head[..]);
            let err = FrameDecoder::new(magic()).decode(&mut buf).unwrap_err();
            assert!(
                matches!(err, PeerError::Protocol(P2pError::TypeTooLarge { .. })),
                "type {ty}: {err}"
            );
        }
        // At the cap, the frame waits for its payload.
        let mut head = magic().to_le_bytes().to_vec();
        head.push(t::PROOF);
        head.extend_from_slice(&follower_cap(t::PROOF).unwrap().to_le_bytes());
        let mut buf = BytesMut::from(&head[..]);
        assert!(
            FrameDecoder::new(magic())
                .decode(&mut buf)
                .unwrap()
                .is_none()
        );
    }

    #[test]
    fn wrong_magic_and_malformed_payloads_are_protocol_errors() {
        let mut buf = BytesMut::from(&[1u8, 2, 3, 4][..]);
        assert!(matches!(
            FrameDecoder::new(magic()).decode(&mut buf),
            Err(PeerError::Protocol(P2pError::WrongMagic { .. }))
        ));
        let mut buf = BytesMut::from(&frame(t::HEADERS, &[3, 1, 2, 3, 4, 5])[..]);
        assert!(matches!(
            FrameDecoder::new(magic()).decode(&mut buf),
            Err(PeerError::Protocol(_))
        ));
    }
}

#[cfg(test)]
mod properties {
    use super::*;
    use hnsfleet_hns::params::Network;
    use proptest::prelude::*;

    fn magic() -> u32 {
        Network::Regtest.params().magic
    }

    /// A frame header for `ty` announcing `len` bytes, followed by `payload`.
    fn frame(ty: u8, len: u32, payload: &[u8]) -> Vec<u8> {
        let mut out = magic().to_le_bytes().to_vec();
        out.push(ty);
        out.extend_from_slice(&len.to_le_bytes());
        out.extend_from_slice(payload);
        out
    }

    proptest! {
        /// Whatever bytes arrive, in whatever pieces: no panic, the buffer never holds more
        /// than one frame's cap plus what one read added, and once the decoder reports an
        /// error it is a protocol violation (never a panic or an allocation of a claimed size).
        #[test]
        fn any_stream_in_any_pieces_is_decoded_or_refused(
            frames in proptest::collection::vec(
                (any::<u8>(), 0u32..2_000, proptest::collection::vec(any::<u8>(), 0..300)),
                0..8,
            ),
            garbage in proptest::collection::vec(any::<u8>(), 0..64),
            cuts in proptest::collection::vec(1usize..512, 1..32),
        ) {
            let mut wire = Vec::new();
            for (ty, len, payload) in &frames {
                wire.extend(frame(*ty, *len, payload));
            }
            wire.extend(garbage);
            let mut decoder = FrameDecoder::new(magic());
            let mut buf = BytesMut::new();
            let mut at = 0;
            let mut cut = cuts.iter().cycle();
            'feed: while at < wire.len() {
                let n = (*cut.next().unwrap_or(&1)).min(wire.len() - at);
                buf.extend_from_slice(&wire[at..at + n]);
                at += n;
                loop {
                    match decoder.decode(&mut buf) {
                        Ok(Some(decoded)) => {
                            prop_assert!(decoded.wire_len >= FRAME_HEADER_SIZE);
                        }
                        Ok(None) => break,
                        Err(e) => {
                            prop_assert!(matches!(e, PeerError::Protocol(_)), "{e}");
                            break 'feed;
                        }
                    }
                    // Largest accepted frame (a full HEADERS) plus one piece.
                    prop_assert!(buf.len() <= 9 + 472_003 + 512);
                }
            }
        }

        /// Valid packets survive any split of the stream, in order.
        #[test]
        fn valid_packets_survive_any_split(
            nonces in proptest::collection::vec(any::<u64>(), 1..20),
            cuts in proptest::collection::vec(1usize..64, 1..16),
        ) {
            let packets: Vec<Packet> = nonces
                .iter()
                .enumerate()
                .map(|(i, n)| if i % 2 == 0 { Packet::Ping(*n) } else { Packet::Pong(*n) })
                .collect();
            let mut wire = Vec::new();
            for p in &packets {
                wire.extend(p.encode_frame(magic()).unwrap());
            }
            let mut decoder = FrameDecoder::new(magic());
            let mut buf = BytesMut::new();
            let mut got = Vec::new();
            let mut at = 0;
            let mut cut = cuts.iter().cycle();
            while at < wire.len() {
                let n = (*cut.next().unwrap_or(&1)).min(wire.len() - at);
                buf.extend_from_slice(&wire[at..at + n]);
                at += n;
                while let Some(d) = decoder.decode(&mut buf).unwrap() {
                    got.push(d.packet);
                }
            }
            prop_assert_eq!(got, packets);
        }
    }
}
