//! Negative tests: framing errors, truncation, flipped bytes, limits, text and REJECT rules.

use std::net::{Ipv4Addr, SocketAddr};

use hnsfleet_fuzz_bodies as fuzz;

use super::{HEADERS_BIN, REGTEST_MAGIC, decode_frame, frames, packets};
use crate::encoding::DecodeError;
use crate::header::{HEADER_SIZE, Header};
use crate::p2p::*;
use crate::types::Hash256;

#[test]
fn framing_errors_are_typed() {
    let ping = hex::decode("cf9538ae02080000004d10c577d7ab81c2").unwrap();
    assert_eq!(
        parse_frame(&ping, 0x5b6e_f2d3),
        Err(P2pError::WrongMagic {
            expected: 0x5b6e_f2d3,
            found: REGTEST_MAGIC
        })
    );
    // Detected from the first 4 bytes, before the rest arrives.
    assert!(matches!(
        parse_frame(&ping[..4], 0x5b6e_f2d3),
        Err(P2pError::WrongMagic { .. })
    ));
    let mut big = ping[..9].to_vec();
    big[5..9].copy_from_slice(&8_000_001u32.to_le_bytes());
    assert_eq!(
        parse_frame(&big, REGTEST_MAGIC),
        Err(P2pError::PayloadTooLarge { len: 8_000_001 })
    );
    assert_eq!(
        FrameHeader::decode(&big.clone().try_into().unwrap()),
        Err(P2pError::PayloadTooLarge { len: 8_000_001 })
    );
    big[5..9].copy_from_slice(&8_000_000u32.to_le_bytes());
    assert_eq!(
        parse_frame(&big, REGTEST_MAGIC),
        Ok(FrameStatus::Incomplete { needed: 8_000_000 })
    );
    let header = FrameHeader::decode(&ping[..9].try_into().unwrap()).unwrap();
    assert_eq!(
        header,
        FrameHeader {
            magic: REGTEST_MAGIC,
            packet_type: packet_type::PING,
            len: 8
        }
    );
    assert_eq!(header.encode()[..], ping[..9]);
}

#[test]
fn truncated_and_extended_payloads_are_rejected() {
    for f in frames() {
        let payload = &f.bytes[FRAME_HEADER_SIZE..];
        let full = Packet::decode(f.ty, payload).unwrap();
        // Raw-tailed payloads (PROOF after 64 bytes, unknown types) legally shrink or grow.
        let raw_tail = |len: usize| match f.ty {
            packet_type::PROOF => len >= 64,
            packet_type::SENDCMPCT => true,
            _ => false,
        };
        for len in 0..payload.len() {
            let r = Packet::decode(f.ty, &payload[..len]);
            if raw_tail(len) {
                assert_ne!(r.unwrap(), full);
            } else {
                assert!(
                    matches!(
                        r,
                        Err(P2pError::Payload {
                            source: DecodeError::Eof { .. },
                            ..
                        })
                    ),
                    "{} truncated to {len}: {r:?}",
                    f.name
                );
            }
        }
        let longer = [payload, &[0u8]].concat();
        let r = Packet::decode(f.ty, &longer);
        if raw_tail(longer.len()) {
            assert_ne!(r.unwrap(), full);
        } else {
            assert_eq!(
                r,
                Err(P2pError::Payload {
                    packet: packet_name_of(f.ty),
                    source: DecodeError::TrailingBytes { count: 1 }
                }),
                "{}",
                f.name
            );
        }
    }
}

fn packet_name_of(ty: u8) -> &'static str {
    super::packet::packet_name(ty)
}

#[test]
fn flipped_bytes_never_panic_and_never_decode_to_the_same_value() {
    for f in frames().iter().filter(|f| f.bytes.len() < 400) {
        let original = decode_frame(&f.bytes);
        for i in 0..f.bytes.len() {
            for mask in [0x01, 0x80, 0xff] {
                let mut m = f.bytes.clone();
                m[i] ^= mask;
                fuzz::p2p_frame(&m);
                fuzz::p2p_packet(&m[4..]);
                if let Ok(FrameStatus::Complete(frame)) = parse_frame(&m, REGTEST_MAGIC)
                    && frame.wire_len() == m.len()
                    && let Ok(p) = frame.packet()
                {
                    assert_ne!(p, original, "{} byte {i}", f.name);
                }
            }
        }
    }
    // The large HEADERS frame: a sample of positions.
    let headers = frames()
        .into_iter()
        .find(|f| f.bytes.len() > 30_000)
        .unwrap();
    for i in (0..headers.bytes.len()).step_by(211) {
        let mut m = headers.bytes.clone();
        m[i] ^= 0x5a;
        fuzz::p2p_frame(&m);
        fuzz::p2p_frame(&m[..i]);
    }
}

#[test]
fn item_limits_are_enforced_before_allocation() {
    let count = |n: u64| {
        let mut out = Vec::new();
        crate::encoding::write_varint(&mut out, n);
        out
    };
    let cases: [(u8, u64, &str, usize); 6] = [
        (packet_type::HEADERS, 2001, "headers", MAX_HEADERS),
        (packet_type::ADDR, 1001, "addr", MAX_ADDRS),
        (packet_type::INV, 50_001, "inventory", MAX_INV),
        (packet_type::GETDATA, u64::MAX, "inventory", MAX_INV),
        (packet_type::NOTFOUND, 50_001, "inventory", MAX_INV),
        (packet_type::GETHEADERS, 50_001, "locator", MAX_INV),
    ];
    for (ty, n, what, max) in cases {
        assert_eq!(
            Packet::decode(ty, &count(n)),
            Err(P2pError::TooManyItems {
                what,
                count: n,
                max
            }),
            "{what}"
        );
    }
    // Within the limit but lying about the bytes that follow: truncated, nothing allocated.
    assert!(matches!(
        Packet::decode(packet_type::HEADERS, &count(2000)),
        Err(P2pError::Payload {
            source: DecodeError::Eof { .. },
            ..
        })
    ));
    // Non-canonical count.
    assert!(matches!(
        Packet::decode(packet_type::INV, &[0xfd, 0x01, 0x00]),
        Err(P2pError::Payload {
            source: DecodeError::Malformed { .. },
            ..
        })
    ));
    assert_eq!(
        Packet::decode(0xff, &vec![0; MAX_MESSAGE as usize + 1]),
        Err(P2pError::PayloadTooLarge {
            len: MAX_MESSAGE as usize + 1
        })
    );
}

#[test]
fn version_text_and_flag_rules() {
    let Packet::Version(v) = packets("VERSION").remove(0) else {
        panic!("not version")
    };
    let mut payload = Packet::Version(v.clone()).encode_payload().unwrap();
    let last = payload.len() - 1;
    payload[last] = 2;
    assert!(matches!(
        Packet::decode(packet_type::VERSION, &payload),
        Err(P2pError::Payload {
            source: DecodeError::Malformed { .. },
            ..
        })
    ));
    // The user agent's bytes start at 117 (after its length byte at 116).
    payload[last] = 0;
    payload[117] = 0xc3;
    assert_eq!(
        Packet::decode(packet_type::VERSION, &payload),
        Err(P2pError::NotAscii { what: "user agent" })
    );
    let mut long = v.clone();
    long.agent = "a".repeat(256);
    assert_eq!(
        Packet::Version(long).encode_payload(),
        Err(P2pError::FieldTooLong {
            what: "user agent",
            len: 256
        })
    );
    let mut utf8 = v;
    utf8.agent = "é".into();
    assert_eq!(
        Packet::Version(utf8).encode_payload(),
        Err(P2pError::NotAscii { what: "user agent" })
    );
}

#[test]
fn reject_hash_follows_the_message_type() {
    let with_hash = Reject {
        message: packet_type::TX,
        code: 0x10,
        reason: "bad-txns".into(),
        hash: Some(Hash256([7; 32])),
    };
    let bytes = Packet::Reject(with_hash.clone()).encode_payload().unwrap();
    assert_eq!(bytes.len(), 3 + 8 + 32);
    assert_eq!(
        Packet::decode(packet_type::REJECT, &bytes),
        Ok(Packet::Reject(with_hash.clone()))
    );
    let no_hash = Reject {
        message: packet_type::HEADERS,
        hash: None,
        ..with_hash.clone()
    };
    let bytes = Packet::Reject(no_hash.clone()).encode_payload().unwrap();
    assert_eq!(bytes.len(), 3 + 8);
    assert_eq!(
        Packet::decode(packet_type::REJECT, &bytes),
        Ok(Packet::Reject(no_hash))
    );
    for (message, hash) in [
        (packet_type::BLOCK, None),
        (packet_type::PING, Some(Hash256([1; 32]))),
    ] {
        assert_eq!(
            Packet::Reject(Reject {
                message,
                hash,
                ..with_hash.clone()
            })
            .encode_payload(),
            Err(P2pError::RejectHash { message })
        );
    }
}

#[test]
fn encoder_enforces_the_decoder_limits() {
    let headers = vec![Header::decode(&HEADERS_BIN[..HEADER_SIZE]).unwrap(); MAX_HEADERS + 1];
    assert_eq!(
        Packet::Headers(headers).encode_payload(),
        Err(P2pError::TooManyItems {
            what: "headers",
            count: 2001,
            max: MAX_HEADERS
        })
    );
    let big = Packet::Unknown {
        ty: 13,
        payload: vec![0; MAX_MESSAGE as usize + 1],
    };
    assert_eq!(
        big.encode_frame(REGTEST_MAGIC),
        Err(P2pError::PayloadTooLarge {
            len: MAX_MESSAGE as usize + 1
        })
    );
    let addr = NetAddress::from_socket_addr(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)), 1, 2);
    assert!(
        Packet::Addr(vec![addr; MAX_ADDRS + 1])
            .encode_payload()
            .is_err()
    );
    assert!(Packet::Addr(vec![addr; MAX_ADDRS]).encode_payload().is_ok());
}
