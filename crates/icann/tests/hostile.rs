//! Hostile or broken root servers, played by a fake UDP/TCP server on loopback that relays
//! what it does not lie about to a real Knot stand-in root: every case ends in a typed error
//! and nothing is cached as valid.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{ICANN_LIKE, Reply, addr, client, fake, is_dnskey, name, stand_in};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use hnsfleet_icann::{AttemptError, Bogus, Fallback, IcannError};

fn flip_id(mut b: Vec<u8>) -> Vec<u8> {
    b[0] ^= 0xff;
    b
}

fn strip_rrsigs(b: Vec<u8>) -> Vec<u8> {
    let mut m = Message::from_vec(&b).unwrap();
    m.authorities
        .retain(|r| r.record_type() != RecordType::RRSIG);
    m.to_vec().unwrap()
}

fn truncated(b: Vec<u8>) -> Vec<u8> {
    let mut m = Message::from_vec(&b).unwrap();
    m.metadata.truncation = true;
    m.authorities.clear();
    m.additionals.clear();
    m.to_vec().unwrap()
}

/// A header copying the query's ID, then junk.
fn garbage(q: &[u8]) -> Vec<u8> {
    let mut b = q[..2].to_vec();
    b.extend_from_slice(&[0x81, 0x80, 0xff, 0xff, 0xff, 0xff, 1, 2, 3]);
    b
}

fn unsigned_nxdomain(q: &Message) -> Vec<u8> {
    let mut m = Message::response(q.metadata.id, q.metadata.op_code);
    m.metadata.response_code = ResponseCode::NXDomain;
    m.add_queries(q.queries.clone());
    m.to_vec().unwrap()
}

#[tokio::test]
async fn transport_level_lies_are_typed_errors() {
    let si = stand_in(61, 62, ICANN_LIKE).await;
    let root = si.root.addr();
    // Mode 0: honest relay; 1: wrong ID; 2: garbage; 3: oversized; 4: silent; 5: TC then TCP.
    let script: common::Script = Arc::new(move |q, raw, mode| match mode {
        0 => Reply::Relay(root),
        1 => Reply::RelayEdit(root, flip_id),
        2 => Reply::Bytes(garbage(raw)),
        3 => {
            let mut b = raw[..2].to_vec();
            b.resize(1300, 0);
            Reply::Bytes(b)
        }
        4 => Reply::Silent,
        _ if is_dnskey(q) => Reply::Relay(root),
        _ => Reply::RelayEdit(root, truncated),
    });
    let fake = fake(addr(63), root, script).await;
    let icann = client(vec![addr(63)], &si.root);
    let unreachable = |last| IcannError::Unreachable { attempts: 2, last };

    for (mode, want) in [
        (1, unreachable(AttemptError::Mismatch("id"))),
        // The receive buffer is one byte over the advertised 1232, so that is what is seen.
        (3, unreachable(AttemptError::Oversized(1233))),
        (4, unreachable(AttemptError::Timeout)),
    ] {
        fake.mode.store(mode, Ordering::SeqCst);
        icann.clear();
        assert_eq!(
            icann.delegation(&name("com.")).await.unwrap_err(),
            want,
            "mode {mode}"
        );
    }
    fake.mode.store(2, Ordering::SeqCst);
    icann.clear();
    assert!(matches!(
        icann.delegation(&name("com.")).await.unwrap_err(),
        IcannError::Unreachable {
            last: AttemptError::Malformed(_),
            ..
        }
    ));

    // The failure is cached for the negative TTL: an honest server is not asked meanwhile.
    fake.mode.store(0, Ordering::SeqCst);
    assert!(
        icann.delegation(&name("com.")).await.is_err(),
        "negative cache"
    );
    // Then it expires and the honest answer validates (polling to a deadline).
    let deadline = tokio::time::Instant::now() + Duration::from_secs(5);
    loop {
        match icann.delegation(&name("com.")).await {
            Ok(Fallback::Delegation(d)) => {
                assert_eq!(d.ds.len(), 1);
                break;
            }
            other => assert!(tokio::time::Instant::now() < deadline, "{other:?}"),
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    }

    // Truncated over UDP: the client retries over TCP and validates.
    fake.mode.store(5, Ordering::SeqCst);
    icann.clear();
    assert!(
        matches!(icann.delegation(&name("com.")).await, Ok(Fallback::Delegation(d)) if d.ds.len() == 1)
    );
}

#[tokio::test]
async fn dnssec_level_lies_are_bogus() {
    let si = stand_in(64, 65, ICANN_LIKE).await;
    // Another root with the same zone but its own keys: its DS signature is by a key the
    // anchored root never published.
    let other = stand_in(66, 67, ICANN_LIKE).await;
    let (root, other_root) = (si.root.addr(), other.root.addr());
    // Mode 0: unsigned DS (RRSIGs stripped); 1: DS signed by a non-anchored key; 2: unsigned
    // NXDOMAIN.
    let script: common::Script = Arc::new(move |q, _, mode| match mode {
        _ if is_dnskey(q) => Reply::Relay(root),
        0 => Reply::RelayEdit(root, strip_rrsigs),
        1 => Reply::Relay(other_root),
        _ => Reply::Bytes(unsigned_nxdomain(q)),
    });
    let fake = fake(addr(68), root, script).await;
    let icann = client(vec![addr(68)], &si.root);
    let bogus = |reason| IcannError::Bogus {
        qtype: RecordType::NS,
        reason,
    };

    assert_eq!(
        icann.delegation(&name("com.")).await.unwrap_err(),
        bogus(Bogus::NoValidSignature(RecordType::DS))
    );
    // Stripping the NSEC signature makes the insecure delegation unproven.
    assert_eq!(
        icann.delegation(&name("net.")).await.unwrap_err(),
        bogus(Bogus::NoValidSignature(RecordType::NSEC))
    );
    fake.mode.store(1, Ordering::SeqCst);
    icann.clear();
    assert_eq!(
        icann.delegation(&name("com.")).await.unwrap_err(),
        bogus(Bogus::NoValidSignature(RecordType::DS))
    );
    fake.mode.store(2, Ordering::SeqCst);
    icann.clear();
    assert_eq!(
        icann.delegation(&name("org.")).await.unwrap_err(),
        bogus(Bogus::UnprovenNxDomain)
    );
}
