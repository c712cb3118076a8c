//! SIG(0) interop with an independent implementation: bns 0.15.0, the DNS library hsd 8.0.0
//! signs its answers with (installed by `scripts/setup.sh` into `tests/interop`).
//!
//! Both directions are checked on a set of real DNS messages built with hickory-proto: bns
//! verifies what we sign, we verify what bns signs, and for the same second both signers
//! produce the same bytes (RFC 6979 makes ECDSA deterministic).
// Test helpers outside #[test] fns may fail loudly: a panic is a test failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::net::Ipv4Addr;
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::time::{SystemTime, UNIX_EPOCH};

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::rdata::{A, TXT};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hnsfleet_hns::sig0::{self, Sig0Key};
use serde_json::{Value, json};

/// The fixed regtest identity key (hsd `networks.js` `regtest.identityKey`).
const REGTEST_KEY: &str = "104932181cfed7584105c728cdc0eb9af1e7ffdc4a00743fd45e5de66cac7668";

fn messages() -> Vec<Vec<u8>> {
    let mut out = Vec::new();
    for i in 0..24u16 {
        let name = Name::from_ascii(format!("name{i}.hnsvector.")).expect("name");
        let qtype = if i % 2 == 0 {
            RecordType::A
        } else {
            RecordType::TXT
        };
        let mut msg = Message::new(i.wrapping_mul(2654), MessageType::Response, OpCode::Query);
        msg.metadata.authoritative = i % 3 == 0;
        msg.metadata.response_code = if i % 5 == 0 {
            ResponseCode::NXDomain
        } else {
            ResponseCode::NoError
        };
        msg.add_query(Query::query(name.clone(), qtype));
        for j in 0..(i % 4) {
            let data = if qtype == RecordType::A {
                RData::A(A(Ipv4Addr::new(10, 0, j as u8, i as u8)))
            } else {
                RData::TXT(TXT::new(vec![format!("entry {j} of {i}")]))
            };
            msg.add_answer(Record::from_rdata(name.clone(), 21600, data));
        }
        if i % 2 == 1 {
            let mut edns = Edns::new();
            edns.set_max_payload(4096);
            edns.set_dnssec_ok(i % 4 == 1);
            msg.set_edns(edns);
        }
        out.push(msg.to_vec().expect("encode message"));
    }
    out
}

fn run_bns(request: &Value) -> Value {
    let dir = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    assert!(
        dir.join("node_modules/bns").is_dir(),
        "bns is not installed: run `bash scripts/setup.sh` first"
    );
    let mut child = Command::new("node")
        .arg("sig0.js")
        .current_dir(&dir)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start node (installed by scripts/setup.sh)");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(request.to_string().as_bytes())
        .expect("write request");
    let out = child.wait_with_output().expect("node finished");
    assert!(
        out.status.success(),
        "node failed: {}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("bns answer is JSON")
}

#[test]
fn bns_and_hnsfleet_agree_on_sig0_in_both_directions() {
    let key = Sig0Key::from_hex(REGTEST_KEY).expect("key");
    let public = key.public_key();
    let now = SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .expect("clock")
        .as_secs() as u32;
    let unsigned = messages();
    let ours: Vec<Vec<u8>> = unsigned
        .iter()
        .map(|m| sig0::sign(m, &key, now).expect("sign"))
        .collect();
    // A tampered copy of each must be rejected by bns too, or the check proves nothing.
    let tampered: Vec<Vec<u8>> = ours
        .iter()
        .map(|m| {
            let mut m = m.clone();
            m[12] ^= 0x01; // first byte of the question name's length
            m
        })
        .collect();
    let hexes = |v: &[Vec<u8>]| v.iter().map(hex::encode).collect::<Vec<_>>();
    let mut signed_by_us = hexes(&ours);
    signed_by_us.extend(hexes(&tampered));
    let answer = run_bns(&json!({
        "pub": hex::encode(public.as_bytes()),
        "priv": REGTEST_KEY,
        "signedByUs": signed_by_us,
        "toSign": hexes(&unsigned),
    }));

    let verdicts: Vec<bool> =
        serde_json::from_value(answer["bnsVerifies"].clone()).expect("verdicts");
    let (good, bad) = verdicts.split_at(ours.len());
    assert!(
        good.iter().all(|v| *v),
        "bns rejected some of our signatures: {good:?}"
    );
    assert!(
        bad.iter().all(|v| !*v),
        "bns accepted tampered messages: {bad:?}"
    );

    let signed_by_bns: Vec<String> =
        serde_json::from_value(answer["signedByBns"].clone()).expect("bns signatures");
    assert_eq!(signed_by_bns.len(), unsigned.len());
    for (unsigned, theirs) in unsigned.iter().zip(&signed_by_bns) {
        let theirs = hex::decode(theirs).expect("hex");
        // The SIG RR is the last 94 bytes; its expiration (= signing time + fudge) sits at
        // RR offset 19.
        let at = theirs.len() - sig0::SIG_RR_SIZE + 19;
        let expiration = u32::from_be_bytes(theirs[at..at + 4].try_into().expect("4 bytes"));
        let bns_now = expiration - sig0::FUDGE_SECONDS;
        // We verify bns's signature ...
        sig0::verify(&theirs, &public, bns_now).expect("bns signature verifies with hnsfleet");
        // ... and signing the same message at bns's second gives bns's exact bytes.
        assert_eq!(sig0::sign(unsigned, &key, bns_now).expect("sign"), theirs);
    }
}
