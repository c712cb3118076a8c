//! What a client pays to check a proof bundle, and how large one is.
//!
//! - `verify/regtest`: decode and verify the real response in `testdata/` (8 headers, the
//!   Urkel proof of `fleetns`, the HNS root's and the zone's keys, the answer's RRSIG).
//! - `verify/mainnet_depth`: the same response with its bundle grown to 48 headers, the most a
//!   mainnet bundle carries at the safe-root depth (a 36-block tree interval + 12
//!   confirmations). The extra headers are mined here on regtest's limit; checking a header's
//!   proof of work costs the same hashing whatever its target.
//! - `decode/bundle_48_headers`: decoding that bundle alone.
//!
//! Sizes are printed once (stderr): the real bundle, and the 48-header one.
#![allow(missing_docs, clippy::unwrap_used, clippy::expect_used)]

use std::hint::black_box;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hickory_proto::op::Message;
use hnsfleet_hns::header::Header;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::pow::Target;
use hnsfleet_proof_bundle::{Bundle, Policy, bundle_of, encode_into, verify};

const RESPONSE: &[u8] = include_bytes!("../testdata/www-fleetns-response.bin");

/// Extends `bundle` to `count` headers, mining each on top of the last at regtest's limit.
fn grown(bundle: &Bundle, count: usize) -> Bundle {
    let mut out = bundle.clone();
    let limit = Target::from_bits(Network::Regtest.params().pow.limit_bits).unwrap();
    while out.headers.len() < count {
        let last = out.headers.last().unwrap();
        let mut next: Header = last.clone();
        next.prev_block = last.hash();
        next.time = last.time;
        next.nonce = 0;
        while !limit.is_met_by(&next.hash()) {
            next.nonce += 1;
        }
        out.headers.push(next);
    }
    out
}

fn bench_verify(c: &mut Criterion) {
    let response = Message::from_vec(RESPONSE).unwrap();
    let bundle = bundle_of(&response).unwrap();
    let now = bundle.headers.last().unwrap().time;
    let policy = Policy::for_network(Network::Regtest);
    let deep = grown(&bundle, 48);
    let mut deep_response = response.clone();
    encode_into(&mut deep_response, &deep).unwrap();
    let deep_bytes = deep_response.to_vec().unwrap();
    assert!(verify(&deep_response, &policy, now, None).is_verified());
    eprintln!(
        "bundle sizes: regtest {} B ({} headers, {} B proof, {} records; response {} B); \
         48 headers {} B (response {} B)",
        bundle.encode().unwrap().len(),
        bundle.headers.len(),
        bundle.proof.len(),
        bundle.records.len(),
        RESPONSE.len(),
        deep.encode().unwrap().len(),
        deep_bytes.len(),
    );

    let mut group = c.benchmark_group("verify");
    group.throughput(Throughput::Elements(1));
    group.bench_function("regtest", |b| {
        b.iter(|| {
            let message = Message::from_vec(black_box(RESPONSE)).unwrap();
            assert!(verify(&message, &policy, now, None).is_verified());
        })
    });
    group.bench_function("mainnet_depth", |b| {
        b.iter(|| {
            let message = Message::from_vec(black_box(&deep_bytes)).unwrap();
            assert!(verify(&message, &policy, now, None).is_verified());
        })
    });
    group.finish();

    let mut group = c.benchmark_group("decode");
    group.throughput(Throughput::Elements(1));
    group.bench_function("bundle_48_headers", |b| {
        let encoded = deep.encode().unwrap();
        b.iter(|| Bundle::decode(black_box(&encoded)).unwrap())
    });
    group.finish();
}

criterion_group!(benches, bench_verify);
criterion_main!(benches);
