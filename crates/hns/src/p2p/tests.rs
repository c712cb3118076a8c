#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::net::{Ipv4Addr, SocketAddr};

use hnsfleet_fuzz_bodies as fuzz;
use proptest::prelude::*;
use serde_json::Value;

use super::*;
use strategies::arb_packet;

mod negative;
mod strategies;
use crate::hash::{blake2b256, blake2b512, sha3_256};
use crate::header::{HEADER_SIZE, Header};
use crate::types::BlockHash;

const TRANSCRIPT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/regtest/regtest-p2p-transcript.json"
));
const PROOFS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/regtest/regtest-names-proofs.json"
));
const HEADERS_BIN: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/regtest/regtest-headers.bin"
));
const REGTEST_MAGIC: u32 = 0xae38_95cf;
const REGTEST_GENESIS: &str = "ae3895cf597eff05b19e02a70ceeeecb9dc72dbfe6504a50e9343a72f06a87c5";

/// One frame of the transcript.
struct Frame {
    dir: String,
    name: String,
    ty: u8,
    bytes: Vec<u8>,
}

fn frames() -> Vec<Frame> {
    let json: Value = serde_json::from_str(TRANSCRIPT).unwrap();
    json["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter_map(|f| {
            Some(Frame {
                dir: f.get("dir")?.as_str()?.to_string(),
                name: f["name"].as_str().unwrap().to_string(),
                ty: f["type"].as_u64().unwrap() as u8,
                bytes: hex::decode(f["frame"].as_str().unwrap()).unwrap(),
            })
        })
        .collect()
}

fn decode_frame(bytes: &[u8]) -> Packet {
    match parse_frame(bytes, REGTEST_MAGIC).unwrap() {
        FrameStatus::Complete(f) => {
            assert_eq!(f.wire_len(), bytes.len());
            f.packet().unwrap()
        }
        other => panic!("incomplete: {other:?}"),
    }
}

fn packets(name: &str) -> Vec<Packet> {
    frames()
        .iter()
        .filter(|f| f.name == name)
        .map(|f| decode_frame(&f.bytes))
        .collect()
}

/// Block hash per hns-chain.md §1.2 (test-only; the pow module owns the real one).
fn header_hash(h: &Header) -> BlockHash {
    let raw = h.encode();
    let pad = |n: usize| -> Vec<u8> {
        (0..n)
            .map(|i| h.prev_block.0[i % 32] ^ h.tree_root.0[i % 32])
            .collect()
    };
    let sub_hash = blake2b256(&[&raw[76..204]]);
    let mask_hash = blake2b256(&[&h.prev_block.0, &h.mask]);
    let commit = blake2b256(&[&sub_hash, &mask_hash]);
    let pre = [
        &raw[0..12],
        &pad(20)[..],
        &h.prev_block.0,
        &h.tree_root.0,
        &commit,
    ]
    .concat();
    let left = blake2b512(&[&pre]);
    let right = sha3_256(&[&pre, &pad(8)]);
    let mut out = blake2b256(&[&left, &pad(32), &right]);
    for (o, m) in out.iter_mut().zip(h.mask) {
        *o ^= m;
    }
    BlockHash(out)
}

#[test]
fn every_transcript_frame_decodes_and_re_encodes() {
    let json: Value = serde_json::from_str(TRANSCRIPT).unwrap();
    let all = frames();
    assert_eq!(all.len(), 28);
    for f in &all {
        let packet = decode_frame(&f.bytes);
        assert_eq!(packet.packet_type(), f.ty, "{}", f.name);
        assert_eq!(
            packet.encode_frame(REGTEST_MAGIC).unwrap(),
            f.bytes,
            "{}",
            f.name
        );
        let known = !matches!(packet, Packet::Unknown { .. });
        assert_eq!(known, f.name != "SENDCMPCT", "{}", f.name);
        assert!(fuzz::p2p_frame(&f.bytes));
        assert!(fuzz::p2p_packet(
            &[&[f.ty][..], &f.bytes[FRAME_HEADER_SIZE..]].concat()
        ));
    }
    // Documented payload lengths match.
    for f in json["transcript"].as_array().unwrap() {
        if let (Some(len), Some(hex)) = (f.get("len"), f.get("frame")) {
            let bytes = hex::decode(hex.as_str().unwrap()).unwrap();
            assert_eq!(
                bytes.len() - FRAME_HEADER_SIZE,
                len.as_u64().unwrap() as usize
            );
        }
    }
    assert!(all.iter().any(|f| f.dir == "node->client"));
    assert!(all.iter().any(|f| f.dir == "client->node"));
}

#[test]
fn both_directions_stream_through_parse_frame() {
    for dir in ["client->node", "node->client"] {
        let wanted: Vec<Frame> = frames().into_iter().filter(|f| f.dir == dir).collect();
        let stream: Vec<u8> = wanted.iter().flat_map(|f| f.bytes.clone()).collect();
        // Feed the stream in growing chunks, as a socket would.
        let mut buf = Vec::new();
        let mut got = Vec::new();
        for chunk in stream.chunks(97) {
            buf.extend_from_slice(chunk);
            loop {
                match parse_frame(&buf, REGTEST_MAGIC).unwrap() {
                    FrameStatus::Complete(f) => {
                        let n = f.wire_len();
                        got.push(buf[..n].to_vec());
                        buf.drain(..n);
                    }
                    FrameStatus::Incomplete { needed } => {
                        assert!(needed > 0);
                        break;
                    }
                }
            }
        }
        assert!(buf.is_empty());
        let want: Vec<Vec<u8>> = wanted.into_iter().map(|f| f.bytes).collect();
        assert_eq!(got, want, "{dir}");
    }
}

#[test]
fn incomplete_reports_the_missing_bytes() {
    let verack = hex::decode("cf9538ae0100000000").unwrap();
    for n in 0..9 {
        assert_eq!(
            parse_frame(&verack[..n], REGTEST_MAGIC),
            Ok(FrameStatus::Incomplete { needed: 9 - n })
        );
    }
    let ping = hex::decode("cf9538ae02080000004d10c577d7ab81c2").unwrap();
    assert_eq!(
        parse_frame(&ping[..12], REGTEST_MAGIC),
        Ok(FrameStatus::Incomplete { needed: 5 })
    );
    // A following frame's bytes are not consumed.
    let two = [&verack[..], &ping[..3]].concat();
    match parse_frame(&two, REGTEST_MAGIC).unwrap() {
        FrameStatus::Complete(f) => {
            assert_eq!(f.wire_len(), 9);
            assert_eq!(f.packet(), Ok(Packet::Verack));
        }
        other => panic!("{other:?}"),
    }
}

#[test]
fn version_fields_match_the_documented_values() {
    let versions = packets("VERSION");
    let hsd: Vec<&Version> = versions
        .iter()
        .filter_map(|p| match p {
            Packet::Version(v) if v.agent == "/hsd:8.0.0/" => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(hsd.len(), 2);
    let v = hsd[0];
    assert_eq!(v.version, 3);
    assert_eq!(v.services, 1);
    assert_eq!(v.height, 154);
    assert!(!v.no_relay);
    assert_eq!(v.remote.port, 54106);
    assert_eq!(v.remote.addr_type, 0);
    assert_eq!(
        v.remote.socket_addr(),
        Some(SocketAddr::from((Ipv4Addr::LOCALHOST, 54106)))
    );
    assert_eq!(v.remote.brontide_key(), None);
    assert_eq!(v.remote.reserved, [0; 20]);
    assert_eq!(hsd[1].height, 155);
    let client: Vec<&Version> = versions
        .iter()
        .filter_map(|p| match p {
            Packet::Version(v) if v.agent != "/hsd:8.0.0/" => Some(v),
            _ => None,
        })
        .collect();
    assert_eq!(client[0].agent, "/vectorclient:0.0.1/");
    assert!(client[0].no_relay);
    assert_eq!(client[0].services, 0);
}

#[test]
fn headers_chain_by_prev_block_and_match_the_header_file() {
    let json: Value = serde_json::from_str(PROOFS).unwrap();
    let hashes: Vec<String> = json["headers"]
        .as_array()
        .unwrap()
        .iter()
        .map(|h| h["hash"].as_str().unwrap().to_string())
        .collect();
    let all = packets("HEADERS");
    let Packet::Headers(headers) = &all[0] else {
        panic!("not headers")
    };
    assert_eq!(headers.len(), 154);
    assert_eq!(headers[0].prev_block.to_hex(), REGTEST_GENESIS);
    let genesis = Header::decode(&HEADERS_BIN[..HEADER_SIZE]).unwrap();
    assert_eq!(header_hash(&genesis).to_hex(), REGTEST_GENESIS);
    let mut prev = header_hash(&genesis);
    for (i, h) in headers.iter().enumerate() {
        assert_eq!(h.prev_block, prev, "header {}", i + 1);
        let from_file = &HEADERS_BIN[(i + 1) * HEADER_SIZE..(i + 2) * HEADER_SIZE];
        assert_eq!(&h.encode()[..], from_file);
        prev = header_hash(h);
        assert_eq!(prev.to_hex(), hashes[i + 1]);
    }
    // The unsolicited HEADERS(1) after SENDHEADERS extends the tip.
    let Packet::Headers(next) = &all[1] else {
        panic!("not headers")
    };
    assert_eq!(next.len(), 1);
    assert_eq!(next[0].prev_block, prev);
    // Second session: INV(BLOCK) announces the block HEADERS(1) then delivers.
    let Packet::Inv(inv) = &packets("INV")[0] else {
        panic!("not inv")
    };
    let Packet::Headers(last) = &all[2] else {
        panic!("not headers")
    };
    assert_eq!(inv.len(), 1);
    assert_eq!(inv[0].ty, InvItem::BLOCK);
    assert_eq!(inv[0].block_hash(), Some(header_hash(&last[0])));
    let Packet::GetHeaders(gh) = &packets("GETHEADERS")[1] else {
        panic!("not getheaders")
    };
    assert_eq!(gh.locator, vec![last[0].prev_block]);
    assert_eq!(gh.stop, BlockHash::ZERO);
}

#[test]
fn proofs_split_into_root_key_and_proof_bytes() {
    let json: Value = serde_json::from_str(PROOFS).unwrap();
    let proof_root = json["proofRoot"].as_str().unwrap();
    let mut expected = std::collections::HashMap::new();
    for entry in json["names"]
        .as_array()
        .unwrap()
        .iter()
        .chain(json["absent"].as_array().unwrap())
    {
        let root = entry
            .get("root")
            .and_then(Value::as_str)
            .unwrap_or(proof_root);
        expected.insert(
            (
                root.to_string(),
                entry["nameHash"].as_str().unwrap().to_string(),
            ),
            entry["proof"].as_str().unwrap().to_string(),
        );
    }
    let requests = packets("GETPROOF");
    let proofs = packets("PROOF");
    assert_eq!(proofs.len(), 4);
    for (req, resp) in requests.iter().zip(&proofs) {
        let (Packet::GetProof(req), Packet::Proof(resp)) = (req, resp) else {
            panic!("not a proof pair")
        };
        assert_eq!((req.root, req.key), (resp.root, resp.key));
        let want = &expected[&(resp.root.to_hex(), resp.key.to_hex())];
        assert_eq!(&hex::encode(&resp.proof), want);
    }
}

proptest! {
    #[test]
    fn every_packet_type_round_trips(packet in arb_packet()) {
        let frame = packet.encode_frame(REGTEST_MAGIC).unwrap();
        match parse_frame(&frame, REGTEST_MAGIC).unwrap() {
            FrameStatus::Complete(f) => {
                prop_assert_eq!(f.wire_len(), frame.len());
                prop_assert_eq!(f.packet(), Ok(packet.clone()));
            }
            other => prop_assert!(false, "incomplete {:?}", other),
        }
        let payload = packet.encode_payload().unwrap();
        prop_assert_eq!(Packet::decode(packet.packet_type(), &payload), Ok(packet));
        prop_assert!(fuzz::p2p_frame(&frame));
        prop_assert!(fuzz::p2p_packet(&[&frame[4..5], &payload[..]].concat()));
    }

    #[test]
    fn arbitrary_bytes_never_panic(ty in any::<u8>(), data in proptest::collection::vec(any::<u8>(), 0..600)) {
        let _ = Packet::decode(ty, &data);
        fuzz::p2p_packet(&[&[ty][..], &data[..]].concat());
        fuzz::p2p_frame(&data);
        let framed = [&REGTEST_MAGIC.to_le_bytes()[..], &[ty], &(data.len() as u32).to_le_bytes(), &data].concat();
        fuzz::p2p_frame(&framed);
    }
}

/// The largest packet of each bounded type fits [`max_payload`] exactly, so a frame header
/// announcing one byte more can be refused before the payload arrives.
#[test]
fn max_payload_is_the_largest_well_formed_packet() {
    use crate::urkel::{Bits, MAX_NODES, MAX_PROOF_SIZE, Proof as UrkelProof, ProofNode, Terminal};
    let header = Header::decode(&HEADERS_BIN[..HEADER_SIZE]).unwrap();
    let addr = NetAddress::from_socket_addr(SocketAddr::from((Ipv4Addr::LOCALHOST, 1)), 1, 0);
    let full_prefix = Bits::new(256, &[0xab; 32]).unwrap();
    let largest_proof = UrkelProof {
        depth: 256,
        nodes: vec![
            ProofNode {
                prefix: Some(full_prefix),
                sibling: [7; 32],
            };
            usize::from(MAX_NODES)
        ],
        terminal: Terminal::Exists {
            value: vec![0; crate::urkel::MAX_VALUE_SIZE],
        },
    }
    .encode();
    assert_eq!(largest_proof.len(), MAX_PROOF_SIZE);
    assert!(UrkelProof::decode(&largest_proof).is_ok());
    let largest = [
        Packet::Headers(vec![header; MAX_HEADERS]),
        Packet::Addr(vec![addr; MAX_ADDRS]),
        Packet::Proof(Proof {
            root: crate::types::TreeRoot([1; 32]),
            key: crate::types::NameHash([2; 32]),
            proof: largest_proof,
        }),
        Packet::Ping(u64::MAX),
        Packet::Verack,
    ];
    for packet in largest {
        let payload = packet.encode_payload().unwrap();
        let ty = packet.packet_type();
        assert_eq!(payload.len() as u32, max_payload(ty), "type {ty}");
    }
    // Raw (undecoded) types are bounded by the message limit only.
    assert_eq!(max_payload(packet_type::BLOCK), MAX_MESSAGE);
    assert_eq!(max_payload(250), MAX_MESSAGE);
    for ty in 0..=u8::MAX {
        assert!(max_payload(ty) <= MAX_MESSAGE);
    }
}
