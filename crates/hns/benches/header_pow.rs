//! Header hashing and chain validation throughput on real data.
//!
//! (a) hash + PoW check of the 150 real mainnet headers from the hnsd checkpoint blob
//!     (target ≥ 50,000 headers/s on one core);
//! (b) `validate_next` over the 155 hsd-generated regtest headers, from genesis.

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hnsfleet_hns::chain::{ChainEntry, CheckpointBlob, SliceView, validate_next};
use hnsfleet_hns::header::{HEADER_SIZE, Header};
use hnsfleet_hns::params::Network;

const BLOB: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/hnsd-checkpoint-main-136000.bin"
));
const REGTEST_BIN: &[u8] = include_bytes!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/testdata/regtest/regtest-headers.bin"
));

fn header_pow(c: &mut Criterion) {
    let Ok(blob) = CheckpointBlob::decode(BLOB) else {
        return;
    };
    let headers = blob.headers;
    let mut group = c.benchmark_group("header");
    group.throughput(Throughput::Elements(1));
    let mut i = 0;
    group.bench_function("hash_and_verify_pow_mainnet", |b| {
        b.iter(|| {
            i = (i + 1) % headers.len();
            black_box(headers[i].verify_pow())
        })
    });
    group.bench_function("decode_hash_verify_pow_mainnet", |b| {
        b.iter(|| {
            i = (i + 1) % headers.len();
            let bytes = headers[i].encode();
            black_box(Header::decode(black_box(&bytes)).map(|h| h.verify_pow()))
        })
    });
    group.finish();
}

fn validate_chain(c: &mut Criterion) {
    let params = Network::Regtest.params();
    let headers: Vec<Header> = REGTEST_BIN
        .chunks(HEADER_SIZE)
        .filter_map(|c| Header::decode(c).ok())
        .collect();
    let now = headers.last().map_or(0, |h| h.time + 60);
    let mut group = c.benchmark_group("chain");
    // One element = one header validated (the genesis entry is built, not validated).
    group.throughput(Throughput::Elements(headers.len() as u64 - 1));
    let mut entries = Vec::with_capacity(headers.len());
    group.bench_function("validate_next_regtest_155", |b| {
        b.iter(|| {
            entries.clear();
            entries.push(ChainEntry::genesis(params));
            for header in &headers[1..] {
                let Some(parent) = entries.last().copied() else {
                    break;
                };
                let view = SliceView::new(0, &entries);
                match validate_next(params, &view, &parent, header, now) {
                    Ok(e) => entries.push(e),
                    Err(_) => break,
                }
            }
            black_box(entries.len())
        })
    });
    group.finish();
}

fn validate_mainnet(c: &mut Criterion) {
    // Full contextual validation (retarget included) of the three blob headers that have a
    // complete 147-block history inside the blob.
    let params = Network::Main.params();
    let Ok(blob) = CheckpointBlob::decode(BLOB) else {
        return;
    };
    let Ok(entries) = blob.verify(params) else {
        return;
    };
    let mut group = c.benchmark_group("chain");
    group.throughput(Throughput::Elements(1));
    let mut k = 0;
    group.bench_function("validate_next_mainnet_retarget", |b| {
        b.iter(|| {
            let i = 147 + k % 3;
            k += 1;
            let view = SliceView::new(136_000, &entries[..i]);
            let now = blob.headers[i].time + 60;
            black_box(validate_next(
                params,
                &view,
                &entries[i - 1],
                &blob.headers[i],
                now,
            ))
        })
    });
    group.finish();
}

criterion_group!(benches, header_pow, validate_chain, validate_mainnet);
criterion_main!(benches);
