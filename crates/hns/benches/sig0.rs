//! SIG(0) signing and verification throughput on the hns-dns.md §5.6 vector message.
#![allow(missing_docs, clippy::unwrap_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
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

criterion_group!(benches, bench_sig0);
criterion_main!(benches);
