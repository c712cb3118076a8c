//! RRSIG interop with the signer hsd 8.0.0 uses: bns 0.15.0's `dnssec.sign` with the root keys
//! (installed by `scripts/setup.sh` into `tests/interop`, script `tests/interop/rrsig.js`).
//!
//! Every signed set of the root's answers (apex, `_synth`, NXDOMAIN, referrals, DS, TXT sets
//! with several records, DNSKEY) is signed by both at the same fixed second; RFC 6979 makes the
//! signatures deterministic, so the RRSIG records must be byte-identical.
//!
//! `HNSFLEET_WRITE_RRSIG_VECTORS=<path>` also writes the sets and bns's RRSIGs as JSON; that is
//! how `testdata/bns-rrsig-vectors.json` (checked by the unit tests, no node needed) was made.
// Test helpers outside #[test] fns may fail loudly: a panic is a test failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::PathBuf;
use std::process::{Command, Stdio};
use std::str::FromStr as _;

use hickory_proto::op::OpCode;
use hickory_proto::rr::{DNSClass, Name, RecordType};
use hickory_proto::serialize::binary::BinEncodable as _;
use hnsfleet_hns::resource::Resource;
use hnsfleet_root_zone::{IcannDelegation, KeyRole, Query, RootZone, TldState, rrsig};
use serde_json::{Value, json};

/// 2023-11-14 22:13:20 UTC.
const NOW: u64 = 1_700_000_000;

fn blob(json: &str) -> Vec<u8> {
    Resource::from_json(json).unwrap().encode().unwrap()
}

/// One record from zone-file text (owner, TTL, class, type, rdata).
fn record(text: &str) -> hickory_proto::rr::Record {
    let mut parts = text.splitn(5, ' ');
    let (Some(owner), Some(ttl), Some(_class), Some(rtype), Some(rdata)) = (
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
        parts.next(),
    ) else {
        panic!("bad record text {text}");
    };
    let rtype = RecordType::from_str(rtype).unwrap();
    let rdata = hickory_proto::rr::RData::try_from_str(rtype, rdata).unwrap();
    hickory_proto::rr::Record::from_rdata(
        Name::from_ascii(owner).unwrap(),
        ttl.parse().unwrap(),
        rdata,
    )
}

fn query(name: &str, qtype: RecordType) -> Query {
    Query {
        name: Name::from_ascii(name).unwrap(),
        qtype,
        qclass: DNSClass::IN,
        opcode: OpCode::Query,
        dnssec_ok: true,
    }
}

/// `(label, key, records)` of every signed set in a spread of root answers.
fn signed_sets() -> Vec<(String, KeyRole, Vec<hickory_proto::rr::Record>)> {
    let rich = blob(
        r#"{"records":[
        {"type":"DS","keyTag":57355,"algorithm":8,"digestType":2,"digest":"95a57c3bab7849dbcddf7c72ada71a88146b141110318ca5be672057e865c3e2"},
        {"type":"DS","keyTag":1,"algorithm":13,"digestType":2,"digest":"0000000000000000000000000000000000000000000000000000000000000001"},
        {"type":"NS","ns":"ns1.rich."},
        {"type":"GLUE4","ns":"ns2.rich.","address":"10.0.0.2"}]}"#,
    );
    let txt = blob(
        r#"{"records":[
        {"type":"TXT","txt":["zz"]},
        {"type":"TXT","txt":["a","bbbbbbbbbbbbbbbbbbbb"]},
        {"type":"TXT","txt":["m"]},
        {"type":"TXT","txt":["zz"]}]}"#,
    );
    let nods = blob(r#"{"records":[{"type":"NS","ns":"ns1.nods."}]}"#);
    // An ICANN delegation as received: upper-case owner, TTLs of the ICANN root, two DS.
    let icann = IcannDelegation {
        ns: vec![record("COM. 172800 IN NS A.GTLD-SERVERS.NET.")],
        ds: vec![
            record(
                "COM. 86400 IN DS 19718 13 2 E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766",
            ),
            record(
                "COM. 86400 IN DS 30909 8 2 E2D3C916F6DEEAC73294E8268FB5885044A833FC5459588F4A9184CFC41A5766",
            ),
        ],
        glue: Vec::new(),
    };
    let v4 = RootZone::new(IpAddr::V4(Ipv4Addr::new(192, 0, 2, 1)));
    let v6 = RootZone::new(IpAddr::V6(Ipv6Addr::LOCALHOST));
    let long = format!("{}.", "a".repeat(63));
    let cases: Vec<(&RootZone, &str, RecordType, TldState<'_>)> = vec![
        (&v4, ".", RecordType::SOA, TldState::NotLookedUp),
        (&v6, ".", RecordType::NS, TldState::NotLookedUp),
        (&v4, ".", RecordType::DNSKEY, TldState::NotLookedUp),
        (&v4, ".", RecordType::TXT, TldState::NotLookedUp),
        (&v4, "_synth.", RecordType::A, TldState::NotLookedUp),
        (
            &v4,
            "_fs0000g._synth.",
            RecordType::A,
            TldState::NotLookedUp,
        ),
        (
            &v4,
            "_fs0000g._synth.",
            RecordType::AAAA,
            TldState::NotLookedUp,
        ),
        (
            &v4,
            "_00000000000000000000000008._synth.",
            RecordType::AAAA,
            TldState::NotLookedUp,
        ),
        (&v4, "nosuchname.", RecordType::A, TldState::Absent),
        (&v4, &long, RecordType::A, TldState::Absent),
        (&v4, "rich.", RecordType::A, TldState::Exists(&rich)),
        (&v4, "rich.", RecordType::DS, TldState::Exists(&rich)),
        (&v4, "nods.", RecordType::A, TldState::Exists(&nods)),
        (&v4, "nods.", RecordType::DS, TldState::Exists(&nods)),
        (&v4, "txt.", RecordType::TXT, TldState::Exists(&txt)),
        (&v4, "www.txt.", RecordType::A, TldState::Exists(&txt)),
        (&v4, "com.", RecordType::DS, TldState::Icann(&icann)),
    ];
    let mut out = Vec::new();
    for (zone, name, qtype, state) in cases {
        let answer = zone.answer(&query(name, qtype), state, NOW).unwrap();
        for (i, (set, key)) in answer.to_sign().enumerate() {
            let rtype = set.record_type().unwrap();
            out.push((
                format!("{name} {qtype} #{i} {rtype}"),
                key,
                set.records.clone(),
            ));
        }
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
        .arg("rrsig.js")
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
    let output = child.wait_with_output().expect("node output");
    assert!(
        output.status.success(),
        "rrsig.js failed: {}",
        String::from_utf8_lossy(&output.stderr)
    );
    serde_json::from_slice(&output.stdout).expect("rrsig.js JSON")
}

#[test]
fn rrsigs_match_bns_byte_for_byte() {
    let sets = signed_sets();
    assert!(sets.len() >= 20, "only {} sets", sets.len());
    let request_sets: Vec<Value> = sets
        .iter()
        .map(|(label, key, records)| {
            let key = match key {
                KeyRole::Ksk => "ksk",
                KeyRole::Zsk => "zsk",
            };
            let records: Vec<String> = records
                .iter()
                .map(|r| hex::encode(r.to_bytes().unwrap()))
                .collect();
            json!({ "label": label, "key": key, "records": records })
        })
        .collect();
    let request = json!({ "now": NOW, "sets": request_sets });
    let response = run_bns(&request);
    let theirs = response["rrsigs"].as_array().expect("rrsigs");
    assert_eq!(theirs.len(), sets.len());
    for ((label, key, records), want) in sets.iter().zip(theirs) {
        let ours = hex::encode(rrsig(records, *key, NOW).unwrap().to_bytes().unwrap());
        assert_eq!(ours, want.as_str().unwrap(), "{label}");
    }
    if let Some(path) = std::env::var_os("HNSFLEET_WRITE_RRSIG_VECTORS") {
        let mut vectors = request;
        vectors["rrsigs"] = response["rrsigs"].clone();
        vectors["provenance"] = json!(
            "RRSIGs made by bns 0.15.0 (the DNS library of hsd 8.0.0) dnssec.sign with the HNS \
             root keys (hns-dns.md §2.7), clock fixed at `now`, via tests/interop/rrsig.js; sets \
             from crates/root-zone/tests/rrsig_bns.rs (HNSFLEET_WRITE_RRSIG_VECTORS)"
        );
        std::fs::write(path, serde_json::to_string_pretty(&vectors).unwrap()).unwrap();
    }
}
