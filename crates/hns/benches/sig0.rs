//! Throughput of the sig0 helper's modules on real vectors: SIG(0) signing and verification on
//! the hns-dns.md §5.6 message, p2p frame + packet decoding on the hsd regtest transcript, and
//! parsing the hns.conf example line.
#![allow(missing_docs, clippy::unwrap_used, clippy::unreachable)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hnsfleet_hns::hnsconf::HnsConf;
use hnsfleet_hns::p2p::{FrameStatus, parse_frame};
use hnsfleet_hns::sig0::{REGTEST_KEY_HEX, Sig0Key, sign, verify};

const NOW: u32 = 1_700_000_000;
const UNSIGNED_HEX: &str = "123484000001000100000000076578616d706c650000100001c00c0010000100005460000c0b68656c6c6f20776f726c64";

fn bench_sig0(c: &mut Criterion) {
    let key = Sig0Key::from_hex(REGTEST_KEY_HEX).unwrap();
    let public = key.public_key();
    let unsigned = hex::decode(UNSIGNED_HEX).unwrap();
    let signed = sign(&unsigned, &key, NOW).unwrap();

    let mut group = c.benchmark_group("sig0");
    group.throughput(Throughput::Elements(1));
    group.bench_function("sign", |b| {
        b.iter(|| sign(black_box(&unsigned), &key, NOW).unwrap())
    });
    group.bench_function("verify", |b| {
        b.iter(|| verify(black_box(&signed), &public, NOW).unwrap())
    });
    group.finish();
}

const TRANSCRIPT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/regtest/regtest-p2p-transcript.json"
));
const REGTEST_MAGIC: u32 = 0xae38_95cf;

/// The first transcript frame with this packet name.
fn frame(name: &str) -> Vec<u8> {
    let json: serde_json::Value = serde_json::from_str(TRANSCRIPT).unwrap();
    let f = json["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .find(|f| f["name"] == name)
        .unwrap();
    hex::decode(f["frame"].as_str().unwrap()).unwrap()
}

fn bench_p2p(c: &mut Criterion) {
    let mut group = c.benchmark_group("p2p");
    group.throughput(Throughput::Elements(1));
    for name in ["VERSION", "HEADERS", "PROOF"] {
        let bytes = frame(name);
        group.bench_function(format!("decode_{name}_frame"), |b| {
            b.iter(
                || match parse_frame(black_box(&bytes), REGTEST_MAGIC).unwrap() {
                    FrameStatus::Complete(f) => f.packet().unwrap(),
                    FrameStatus::Incomplete { .. } => unreachable!(),
                },
            )
        });
    }
    group.finish();
}

fn bench_hnsconf(c: &mut Criterion) {
    let line = "nameserver aorsxa4ylaacshipyjkfbvzfkh3jhh4yowtoqdt64nzemqtiw2whk@127.0.0.1:25350";
    let mut group = c.benchmark_group("hnsconf");
    group.throughput(Throughput::Elements(1));
    group.bench_function("parse_line", |b| {
        b.iter(|| HnsConf::parse(black_box(line)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_sig0, bench_p2p, bench_hnsconf);
criterion_main!(benches);
