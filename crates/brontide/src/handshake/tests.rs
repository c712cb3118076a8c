//! The handshake and transport against hsd's own brontide.js transcript (fixed keys, see
//! `testdata/make-vectors.js`), plus tampering, rotation and garbage.

use hnsfleet_fuzz_bodies as fuzz;
use proptest::prelude::*;
use rand::SeedableRng;
use serde_json::Value;

use super::*;

const VECTORS: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/vectors.json"
));

fn hs() -> Value {
    let v: Value = serde_json::from_str(VECTORS).unwrap();
    v["handshake"].clone()
}

fn bytes(v: &Value) -> Vec<u8> {
    hex::decode(v.as_str().unwrap()).unwrap()
}

fn secret(v: &Value) -> SecretKey {
    SecretKey::from_byte_array(bytes(v).try_into().unwrap()).unwrap()
}

fn public(s: &SecretKey) -> PublicKey {
    s.public_key(secp256k1::SECP256K1)
}

fn rng() -> rand::rngs::StdRng {
    rand::rngs::StdRng::seed_from_u64(1)
}

/// Our initiator with the transcript's keys, after act 3 (checked against hsd's bytes).
fn initiator_session() -> Session {
    let h = hs();
    let mut initiator = Initiator::new(
        secret(&h["initiatorStatic"]),
        public(&secret(&h["responderStatic"])),
        secret(&h["initiatorEphemeral"]),
    );
    let act_one = initiator.act_one(&mut rng()).unwrap();
    let theirs = bytes(&h["act1"]);
    // The uniform encoding is random; the key it encodes and the tag are not.
    assert_eq!(act_one[64..], theirs[64..]);
    let mut uniform = [0u8; 64];
    uniform.copy_from_slice(&act_one[..64]);
    assert_eq!(
        crate::svdw::public_key_from_hash(&uniform),
        Some(public(&secret(&h["initiatorEphemeral"])))
    );
    let act_two: [u8; ACT_TWO_SIZE] = bytes(&h["act2"]).try_into().unwrap();
    let (act_three, session) = initiator.act_three(&act_two).unwrap();
    assert_eq!(
        act_three.to_vec(),
        bytes(&h["act3"]),
        "act 3 differs from hsd's"
    );
    session
}

#[test]
fn initiator_reproduces_hsd_transcript_including_key_rotation() {
    let h = hs();
    let (mut send, mut recv) = initiator_session().split();
    let expected = h["initiatorToResponder"].as_array().unwrap();
    let mut next = expected.iter().peekable();
    for i in 0..1002u64 {
        match next.peek() {
            Some(m) if m["index"].as_u64() == Some(i) => {
                let wire = send.encrypt(&bytes(&m["payload"])).unwrap();
                assert_eq!(wire, bytes(&m["wire"]), "message {i}");
                next.next();
            }
            _ => {
                send.encrypt(b"filler").unwrap();
            }
        }
    }
    assert!(next.next().is_none());
    // hsd's responder answered once; we decrypt it.
    recv.feed(&bytes(&h["responderToInitiator"]["wire"]));
    let payload = recv.next_message().unwrap().unwrap();
    assert_eq!(payload, bytes(&h["responderToInitiator"]["payload"]));
    assert_eq!(recv.next_message().unwrap(), None);
}

#[test]
fn responder_accepts_hsd_initiator_and_reads_rotated_messages() {
    let h = hs();
    let mut responder = Responder::new(
        secret(&h["responderStatic"]),
        secret(&h["responderEphemeral"]),
    );
    let act_one: [u8; ACT_ONE_SIZE] = bytes(&h["act1"]).try_into().unwrap();
    responder.read_act_one(&act_one).unwrap();
    let act_two = responder.act_two(&mut rng()).unwrap();
    assert_eq!(act_two[64..], bytes(&h["act2"])[64..]);
    let act_three: [u8; ACT_THREE_SIZE] = bytes(&h["act3"]).try_into().unwrap();
    let (remote, session) = responder.read_act_three(&act_three).unwrap();
    assert_eq!(remote, public(&secret(&h["initiatorStatic"])));

    // 2,500 messages (two rotations) from our initiator, fed in odd-sized pieces.
    let (mut send, _) = initiator_session().split();
    let (_, mut recv) = session.split();
    let mut wire = Vec::new();
    let payloads: Vec<Vec<u8>> = (0..2500u32)
        .map(|i| i.to_le_bytes().repeat((i % 40) as usize))
        .collect();
    for p in &payloads {
        wire.extend(send.encrypt(p).unwrap());
    }
    let mut got = Vec::new();
    for piece in wire.chunks(997) {
        recv.feed(piece);
        while let Some(m) = recv.next_message().unwrap() {
            got.push(m);
        }
    }
    assert_eq!(got, payloads);
}

#[test]
fn tampered_acts_and_messages_fail_without_panicking() {
    let h = hs();
    let act_two = bytes(&h["act2"]);
    for i in 0..ACT_TWO_SIZE {
        let mut bad: [u8; ACT_TWO_SIZE] = act_two.clone().try_into().unwrap();
        bad[i] ^= 0x01;
        let mut initiator = Initiator::new(
            secret(&h["initiatorStatic"]),
            public(&secret(&h["responderStatic"])),
            secret(&h["initiatorEphemeral"]),
        );
        initiator.act_one(&mut rng()).unwrap();
        assert!(initiator.act_three(&bad).is_err(), "act 2 byte {i}");
    }
    let act_three = bytes(&h["act3"]);
    for i in 0..ACT_THREE_SIZE {
        let mut bad: [u8; ACT_THREE_SIZE] = act_three.clone().try_into().unwrap();
        bad[i] ^= 0x80;
        let mut responder = Responder::new(
            secret(&h["responderStatic"]),
            secret(&h["responderEphemeral"]),
        );
        responder
            .read_act_one(&bytes(&h["act1"]).try_into().unwrap())
            .unwrap();
        responder.act_two(&mut rng()).unwrap();
        assert!(responder.read_act_three(&bad).is_err(), "act 3 byte {i}");
    }
    // A responder expecting another static key rejects act 1.
    let mut wrong = Responder::new(
        SecretKey::from_byte_array([0x55; 32]).unwrap(),
        secret(&h["responderEphemeral"]),
    );
    assert!(matches!(
        wrong.read_act_one(&bytes(&h["act1"]).try_into().unwrap()),
        Err(BrontideError::BadTag)
    ));
    // Any flipped byte of a transport message is caught.
    let (mut send, _) = initiator_session().split();
    let wire = send.encrypt(b"hello brontide").unwrap();
    for i in 0..wire.len() {
        let (_, mut recv) = responder_session().split();
        let mut bad = wire.clone();
        bad[i] ^= 0x04;
        recv.feed(&bad);
        assert!(recv.next_message().is_err(), "message byte {i}");
    }
}

fn responder_session() -> Session {
    let h = hs();
    let mut responder = Responder::new(
        secret(&h["responderStatic"]),
        secret(&h["responderEphemeral"]),
    );
    responder
        .read_act_one(&bytes(&h["act1"]).try_into().unwrap())
        .unwrap();
    responder.act_two(&mut rng()).unwrap();
    responder
        .read_act_three(&bytes(&h["act3"]).try_into().unwrap())
        .unwrap()
        .1
}

#[test]
fn oversize_length_is_refused_before_buffering() {
    let (mut send, _) = initiator_session().split();
    let (_, mut recv) = responder_session().split();
    assert!(matches!(
        send.encrypt(&vec![0u8; MAX_MESSAGE + 1]),
        Err(BrontideError::TooLong(_))
    ));
    let ok = send.encrypt(&[7u8; 10]).unwrap();
    recv.feed(&ok);
    assert_eq!(recv.next_message().unwrap(), Some(vec![7u8; 10]));
}

/// Fuzz body: arbitrary bytes into a receiving session never panic; whatever decrypts was
/// authenticated.
#[test]
fn fuzz_recv_body_over_the_transcript() {
    let (mut send, _) = initiator_session().split();
    let wire = send.encrypt(b"abc").unwrap();
    assert!(fuzz::brontide_recv(&wire), "a real message authenticates");
    assert!(!fuzz::brontide_recv(&[]));
    assert!(!fuzz::brontide_recv(&[0xff; 100]));
}

proptest! {
    #[test]
    fn garbage_never_panics(data in proptest::collection::vec(any::<u8>(), 0..300)) {
        fuzz::brontide_recv(&data);
    }

    #[test]
    fn random_payload_sequences_round_trip(
        payloads in proptest::collection::vec(proptest::collection::vec(any::<u8>(), 0..200), 1..20),
        piece in 1usize..64,
    ) {
        let (mut send, _) = initiator_session().split();
        let (_, mut recv) = responder_session().split();
        let mut wire = Vec::new();
        for p in &payloads {
            wire.extend(send.encrypt(p).unwrap());
        }
        let mut got = Vec::new();
        for chunk in wire.chunks(piece) {
            recv.feed(chunk);
            while let Some(m) = recv.next_message().unwrap() {
                got.push(m);
            }
        }
        prop_assert_eq!(got, payloads);
    }
}
