//! Dev-only: the fuzz bodies of every decoder of untrusted bytes, one function per cargo-fuzz
//! target in `/fuzz` (same name). Each takes arbitrary bytes, must never panic on them, and
//! panics only on a real bug: something that decodes but does not re-encode to the same bytes,
//! or does not decode again to an equal value.
//!
//! The decoders' crates run these bodies from their unit tests over their real vectors and
//! every mutation of them (a dev-dependency), and `tests/seeds.rs` runs them over the committed
//! seed corpus, so `cargo test` exercises exactly what the fuzzer does. Keeping the bodies here
//! keeps them out of the production crates' public API. Never used by a service.
//!
//! Every body returns whether the input was accepted by the decoder (so the round trip ran);
//! the fuzz targets ignore it, the seed test checks that real seeds get that far.
#![forbid(unsafe_code)]
// Panicking is how a fuzz body reports a bug to libFuzzer and to the test harness.
#![allow(clippy::panic, clippy::expect_used)]

use std::sync::OnceLock;

use hickory_proto::rr::Name;
use hnsfleet_attestation::SignedAttestation;
use hnsfleet_brontide::{Initiator, RecvCipher, Responder};
use hnsfleet_hns::chain::CheckpointBlob;
use hnsfleet_hns::header::{HashedHeader, Header};
use hnsfleet_hns::hnsconf::HnsConf;
use hnsfleet_hns::namestate::NameState;
use hnsfleet_hns::p2p::{FrameStatus, Packet, parse_frame};
use hnsfleet_hns::resource::{Resource, ResourceError};
use hnsfleet_hns::sig0::{self, REGTEST_KEY_HEX, Sig0Key};
use hnsfleet_hns::types::{NameHash, TreeRoot};
use hnsfleet_hns::urkel::{Proof, verify_name_proof};
use hnsfleet_hns_dns::{ResourceDns as _, to_zone_text};
use rand::SeedableRng as _;

/// A fuzz body: arbitrary bytes in, whether the decoder accepted them out.
pub type Body = fn(&[u8]) -> bool;

/// Every body, by its fuzz target's name (what `tests/seeds.rs` walks).
pub const BODIES: &[(&str, Body)] = &[
    ("attestation", attestation),
    ("brontide_recv", brontide_recv),
    ("checkpoint_blob", checkpoint_blob),
    ("dns_query", dns_query),
    ("header", header),
    ("hnsconf", hnsconf),
    ("http_response", http_response),
    ("namestate", namestate),
    ("p2p_frame", p2p_frame),
    ("p2p_packet", p2p_packet),
    ("packet_cache", packet_cache),
    ("proof", proof),
    ("proof_bundle", proof_bundle),
    ("resource", resource),
    ("sig0", sig0),
];

/// Client bytes through the frontend's packet cache: a key is built from them, the answer built
/// for them is stored and replayed for them with their ID and question; the bytes themselves,
/// stored as if they were a response, are refused or replayed without a panic.
pub fn packet_cache(data: &[u8]) -> bool {
    use hickory_proto::op::ResponseCode;
    use hickory_proto::rr::{RData, Record, rdata::A};
    use hnsfleet_dns_wire::{self as wire, Parsed};
    use hnsfleet_packet_cache::{Key, Limits, PacketCache};
    let cache = PacketCache::new(Limits {
        capacity_bytes: 1 << 16,
        max_lifetime: std::time::Duration::from_secs(60),
    });
    let Some(key) = Key::of(1, data) else {
        return false;
    };
    // Hostile bytes offered as the response.
    if cache.insert(&key, data, ()).is_ok() {
        let (replayed, ()) = cache.get(&key, data).expect("a stored entry is found");
        assert_eq!(replayed.len(), data.len());
    }
    let Parsed::Query(request) = wire::parse(data) else {
        return true;
    };
    let mut response = request.response(ResponseCode::NoError, 1232);
    response.add_answer(Record::from_rdata(
        request.query.name().clone(),
        300,
        RData::A(A::new(192, 0, 2, 1)),
    ));
    let Some(encoded) = wire::encode(&response, wire::STREAM_LIMIT) else {
        return true;
    };
    cache.clear();
    if cache.insert(&key, &encoded, ()).is_ok() {
        let (replayed, ()) = cache.get(&key, data).expect("a stored entry is found");
        assert_eq!(replayed[..2], data[..2], "the asker's ID");
        let back = hickory_proto::op::Message::from_vec(&replayed).expect("a replay parses");
        assert_eq!(back.answers.len(), 1);
    }
    true
}

/// Block header: decode; re-encode, decode again and compare; the hash and PoW check must not
/// panic on any header.
pub fn header(data: &[u8]) -> bool {
    let Ok(header) = Header::decode(data) else {
        return false;
    };
    let encoded = header.encode();
    assert_eq!(
        &encoded[..],
        data,
        "header re-encoding differs from its input"
    );
    let again = Header::decode(&encoded);
    assert_eq!(again.as_ref(), Ok(&header), "header decode is not stable");
    let hashed = HashedHeader::new(header.clone());
    assert_eq!(
        hashed.hash(),
        header.hash(),
        "header hash is not deterministic"
    );
    let _ = hashed.verify_pow();
    true
}

/// hnsd checkpoint blob: decode; re-encode, decode again and compare.
pub fn checkpoint_blob(data: &[u8]) -> bool {
    let Ok(blob) = CheckpointBlob::decode(data) else {
        return false;
    };
    let encoded = blob.encode();
    assert_eq!(
        encoded, data,
        "checkpoint blob re-encoding differs from its input"
    );
    let again = CheckpointBlob::decode(&encoded);
    assert_eq!(
        again.as_ref(),
        Ok(&blob),
        "checkpoint blob decode is not stable"
    );
    true
}

/// Name state: decode; encode to the same bytes and decode again to an equal value.
pub fn namestate(data: &[u8]) -> bool {
    let Ok(state) = NameState::decode(data) else {
        return false;
    };
    let bytes = state.encode();
    assert_eq!(bytes, data, "name state re-encodes to the same bytes");
    assert_eq!(NameState::decode(&bytes).as_ref(), Ok(&state));
    true
}

/// Urkel proof: decode; re-encode to the same bytes, decode to an equal proof, and verify
/// against a fixed root and key (which must not panic); the name-proof path must not panic
/// either.
pub fn proof(data: &[u8]) -> bool {
    let _ = verify_name_proof(&TreeRoot::ZERO, &NameHash([0x11; 32]), data);
    let Ok(proof) = Proof::decode(data) else {
        return false;
    };
    let bytes = proof.encode();
    assert_eq!(bytes, data, "proof re-encodes to the same bytes");
    assert_eq!(Proof::decode(&bytes).as_ref(), Ok(&proof));
    let _ = proof.verify(&TreeRoot([0x5a; 32]), &NameHash([0xa5; 32]));
    true
}

/// Name resource: decode; convert to DNS records (root and a non-root TLD) and JSON (must not
/// panic), re-import the JSON, and, when the blob was fully parsed, check that
/// decode(encode(r)) == r and that the encoding is a fixed point.
pub fn resource(data: &[u8]) -> bool {
    let Ok(resource) = Resource::decode(data) else {
        return false;
    };
    static TLDS: OnceLock<[Name; 2]> = OnceLock::new();
    let tlds = TLDS.get_or_init(|| {
        let fuzz = Name::from_ascii("fuzz.").unwrap_or_else(|_| Name::root());
        [Name::root(), fuzz]
    });
    for tld in tlds {
        let _ = resource.txt_records(tld);
        if let Ok(referral) = resource.referral(tld) {
            let _ = to_zone_text(&referral.ns);
            let _ = to_zone_text(&referral.glue);
        }
    }
    let json = resource.to_json();
    let reimported = Resource::from_json(&json);
    assert_eq!(
        reimported.as_ref().map(|r| &r.records),
        Ok(&resource.records),
        "json round trip: {json}"
    );
    let encoded = resource.encode();
    // The input may be larger than 512 bytes or compress better than hsd's encoder does.
    assert!(
        matches!(encoded, Ok(_) | Err(ResourceError::TooLarge { .. })),
        "decoded resource failed to encode: {encoded:?}"
    );
    if let Ok(bytes) = encoded {
        let again = Resource::decode(&bytes);
        assert_eq!(
            again.as_ref().map(|r| &r.records),
            Ok(&resource.records),
            "re-decode"
        );
        if resource.is_complete() {
            assert_eq!(again.as_ref(), Ok(&resource));
        }
        let twice = again.and_then(|r| r.encode());
        assert_eq!(twice.as_ref(), Ok(&bytes), "encoding is not a fixed point");
    }
    true
}

/// SIG(0): verifying arbitrary bytes must not panic; signing them, when it succeeds, must
/// produce a message that verifies (and still verifies after signing it again). Accepted means
/// the bytes verified or could be signed (they parse as a DNS message).
pub fn sig0(data: &[u8]) -> bool {
    let key = Sig0Key::from_hex(REGTEST_KEY_HEX).expect("the regtest key is valid");
    let public = key.public_key();
    let mut accepted = false;
    for now in [1_700_000_000, 0, u32::MAX] {
        accepted |= sig0::verify(data, &public, now).is_ok();
        if let Ok(signed) = sig0::sign(data, &key, now) {
            accepted = true;
            if let Err(e) = sig0::verify(&signed, &public, now) {
                panic!("signed message does not verify: {e}");
            }
            if let Ok(again) = sig0::sign(&signed, &key, now)
                && let Err(e) = sig0::verify(&again, &public, now)
            {
                panic!("re-signed message does not verify: {e}");
            }
        }
    }
    accepted
}

/// A DNS query as a resolver receives it (`hnsfleet-dns-wire`): deciding what to do never
/// panics; a reply or a response to an accepted query encodes, within the classic 512-byte UDP
/// limit too (truncated), and what it encodes to parses back with the request's ID. The rate
/// limiter's slip reply is never larger than the bytes and parses back as an empty TC=1
/// response with their ID. Padding (RFC 7830/8467) never panics on the bytes themselves, and a
/// stream response to an accepted query with EDNS0, padded, lands on the 468-octet block and
/// parses back. Accepted means the bytes were a query worth answering.
pub fn dns_query(data: &[u8]) -> bool {
    use hickory_proto::op::{Message, ResponseCode};
    use hnsfleet_dns_wire::{self as wire, Ede, Parsed};
    let check = |response: &Message, limit: usize| {
        if let Some(bytes) = wire::encode(response, limit) {
            assert!(bytes.len() <= limit, "encoded past the limit");
            let back = Message::from_vec(&bytes).expect("an encoded response parses");
            assert_eq!(back.id, response.id, "the ID survives encoding");
        }
    };
    let mut padded = data.to_vec();
    if wire::pad(&mut padded, 0, wire::STREAM_LIMIT) {
        assert!(padded.len() >= data.len() + 4, "padding shrank a message");
    }
    if let Some(slip) = wire::slip_reply(data) {
        assert!(slip.len() <= data.len(), "a slip reply amplifies");
        if let Ok(back) = Message::from_vec(&slip) {
            assert!(
                back.truncation && back.answers.is_empty(),
                "a slip is empty, TC=1"
            );
            assert_eq!(
                back.id,
                u16::from_be_bytes([data[0], data[1]]),
                "the slip keeps the ID"
            );
        }
    }
    match wire::parse(data) {
        Parsed::Drop => false,
        Parsed::Reply(reply) => {
            check(&reply, wire::CLASSIC_UDP_LIMIT);
            false
        }
        Parsed::Query(request) => {
            let mut response = request.response(ResponseCode::ServFail, 1232);
            wire::add_ede(&mut response, Ede::NotReady, "fuzz");
            check(&response, request.udp_limit(1232));
            check(&response, wire::STREAM_LIMIT);
            if let Some(mut bytes) = wire::encode(&response, wire::STREAM_LIMIT)
                && wire::pad(&mut bytes, 0, wire::STREAM_LIMIT)
            {
                assert_eq!(
                    bytes.len() % wire::RESPONSE_BLOCK,
                    0,
                    "padded off the block"
                );
                let back = Message::from_vec(&bytes).expect("a padded response parses");
                assert_eq!(back.id, response.id, "the ID survives padding");
            }
            true
        }
    }
}

/// `hns.conf`: parse `data` as UTF-8 text; a parsed file must print to a canonical text that
/// parses back to the same value and prints identically.
pub fn hnsconf(data: &[u8]) -> bool {
    let Ok(text) = std::str::from_utf8(data) else {
        return false;
    };
    let Ok(conf) = HnsConf::parse(text) else {
        return false;
    };
    let printed = conf.to_string();
    match HnsConf::parse(&printed) {
        Ok(again) if again == conf && again.to_string() == printed => true,
        other => panic!("hns.conf print/parse mismatch: {printed:?} -> {other:?}"),
    }
}

/// A DoH server's HTTP/1.1 response (`hnsfleet-client`): parse `data` as a whole response
/// (connection ended after it); one that parses must print canonically (content-length) and
/// parse back to the same value.
pub fn http_response(data: &[u8]) -> bool {
    use hnsfleet_client::http::{Parsed, encode_response, parse_response};
    let Ok(Parsed::Complete(response)) = parse_response(data, true) else {
        return false;
    };
    let printed = encode_response(&response);
    match parse_response(&printed, false) {
        Ok(Parsed::Complete(again)) if again == response => true,
        other => panic!("http response print/parse mismatch: {response:?} -> {other:?}"),
    }
}

/// p2p frames: `data` as a stream of frames (magic taken from its first 4 bytes); each frame
/// that decodes to a packet must re-encode to the same bytes and decode to the same packet.
/// Accepted means at least one complete frame.
pub fn p2p_frame(data: &[u8]) -> bool {
    let magic = match data.get(..4) {
        Some(&[a, b, c, d]) => u32::from_le_bytes([a, b, c, d]),
        _ => 0,
    };
    let mut rest = data;
    let mut frames = 0;
    while let Ok(FrameStatus::Complete(frame)) = parse_frame(rest, magic) {
        frames += 1;
        let wire = rest
            .get(..frame.wire_len())
            .expect("frame lies in the buffer");
        let mut header = frame.header.encode().to_vec();
        header.extend_from_slice(frame.payload);
        assert_eq!(header, wire, "frame header round trip");
        if let Ok(packet) = frame.packet() {
            let again = packet
                .encode_frame(magic)
                .expect("a decoded packet encodes");
            assert_eq!(again, wire, "packet frame round trip");
        }
        rest = rest
            .get(frame.wire_len()..)
            .expect("frame lies in the buffer");
    }
    if let Ok(FrameStatus::Incomplete { needed }) = parse_frame(rest, magic) {
        assert!(needed > 0, "incomplete frame needs bytes");
    }
    frames > 0
}

/// p2p packet: `data[0]` is the packet type, the rest the payload; a decoded packet must
/// re-encode to the same payload and decode to the same packet.
pub fn p2p_packet(data: &[u8]) -> bool {
    let Some((&ty, payload)) = data.split_first() else {
        return false;
    };
    let Ok(packet) = Packet::decode(ty, payload) else {
        return false;
    };
    assert_eq!(packet.packet_type(), ty, "packet type");
    let encoded = packet.encode_payload().expect("a decoded packet encodes");
    assert_eq!(encoded, payload, "payload round trip");
    assert_eq!(Packet::decode(ty, &encoded), Ok(packet), "decode again");
    true
}

/// Signed attestation: decoding never panics, re-encoding is exact, verification never panics.
pub fn attestation(data: &[u8]) -> bool {
    let Ok(att) = SignedAttestation::decode(data) else {
        return false;
    };
    assert_eq!(&att.encode()[..], data, "attestation re-encodes exactly");
    let _ = att.verify();
    true
}

/// A proof bundle as a client receives it in a response's EDNS option: decoding never panics,
/// whatever decodes encodes and decodes again to an equal bundle, and verifying a response
/// that carries it never panics.
pub fn proof_bundle(data: &[u8]) -> bool {
    use hnsfleet_proof_bundle::{Bundle, Policy, encode_into, verify};
    let Ok(bundle) = Bundle::decode(data) else {
        return false;
    };
    let encoded = bundle.encode().expect("a decoded bundle encodes");
    assert_eq!(
        Bundle::decode(&encoded).expect("an encoded bundle decodes"),
        bundle,
        "bundle round trip"
    );
    let mut response = hickory_proto::op::Message::query();
    let name = format!("www.{}.", bundle.tld);
    if let Ok(qname) = Name::from_ascii(&name) {
        response.add_query(hickory_proto::op::Query::query(
            qname,
            hickory_proto::rr::RecordType::A,
        ));
    }
    encode_into(&mut response, &bundle).expect("a decoded bundle encodes");
    let _ = verify(
        &response,
        &Policy::for_network(bundle.network),
        1_800_000_000,
        None,
    );
    true
}

/// Brontide: feeds `data` to the receiving side of a session with fixed keys (those of hsd's
/// transcript in `crates/brontide/testdata/vectors.json`). Must never panic; anything it yields
/// passed authentication, which random bytes never do. Accepted means a message authenticated.
pub fn brontide_recv(data: &[u8]) -> bool {
    static SESSION: OnceLock<Option<RecvCipher>> = OnceLock::new();
    let Some(recv) = SESSION.get_or_init(fixed_session) else {
        return false;
    };
    let mut recv = recv.clone();
    recv.feed(data);
    let mut messages = 0;
    while let Ok(Some(_)) = recv.next_message() {
        messages += 1;
    }
    messages > 0
}

/// The responder's receiving side of a handshake with fixed keys.
fn fixed_session() -> Option<RecvCipher> {
    use secp256k1::SecretKey;
    let key = |b: u8| SecretKey::from_byte_array([b; 32]).ok();
    let (initiator_static, initiator_eph) = (key(0x11)?, key(0x12)?);
    let (responder_static, responder_eph) = (key(0x21)?, key(0x22)?);
    let mut rng = rand::rngs::StdRng::from_seed([3; 32]);
    let responder_public = responder_static.public_key(secp256k1::SECP256K1);
    let mut initiator = Initiator::new(initiator_static, responder_public, initiator_eph);
    let mut responder = Responder::new(responder_static, responder_eph);
    let one = initiator.act_one(&mut rng).ok()?;
    responder.read_act_one(&one).ok()?;
    let two = responder.act_two(&mut rng).ok()?;
    let (three, _) = initiator.act_three(&two).ok()?;
    let (_, session) = responder.read_act_three(&three).ok()?;
    Some(session.split().1)
}
