//! Header sync figures for the chain-follower targets: 300,000 headers validated in under
//! 10 s of CPU, a follower holding them at or under 64 MB RSS, restart in seconds.
//!
//! Setup (once, not measured): mine a synthetic regtest chain of 300,000 headers straight into
//! a header store in a temp directory, in batches, so the generator never holds them all.
//! Then, printed once: RSS before/after reopening the store into a `HeaderChain` (the
//! follower's resident state), the reopen wall time, and the CPU seconds of a full
//! `HeaderChain::insert` pass. Criterion then measures the insert pass and the reopen.
#![allow(missing_docs, clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::hint::black_box;
use std::path::Path;
use std::time::Instant;

use criterion::{Criterion, Throughput, criterion_group, criterion_main};
use hnsfleet_chain_follower::{HeaderChain, Start, Store};
use hnsfleet_hns::header::{HEADER_SIZE, Header};
use hnsfleet_hns::params::Network;

const HEADERS: usize = 300_000;
const NOW: u64 = 4_000_000_000;

/// Resident set size in bytes (Linux `/proc/self/statm`, 4 KiB pages).
fn rss_bytes() -> u64 {
    std::fs::read_to_string("/proc/self/statm")
        .ok()
        .and_then(|s| s.split_whitespace().nth(1)?.parse::<u64>().ok())
        .map_or(0, |pages| pages * 4096)
}

/// User + system CPU seconds of this process (`/proc/self/stat`, 100 ticks/s).
fn cpu_seconds() -> f64 {
    let stat = std::fs::read_to_string("/proc/self/stat").unwrap_or_default();
    let after = stat.rsplit_once(')').map_or("", |(_, rest)| rest);
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks = |i: usize| {
        fields
            .get(i)
            .and_then(|f| f.parse::<u64>().ok())
            .unwrap_or(0)
    };
    // Fields 14 and 15 of stat are utime and stime; `after` starts at field 3.
    (ticks(11) + ticks(12)) as f64 / 100.0
}

fn build_store(path: &Path) {
    hnsfleet_chain_follower::synthetic::write_store(path, HEADERS).unwrap();
}

fn read_headers(path: &Path) -> Vec<Header> {
    let bytes = std::fs::read(path).unwrap();
    bytes[hnsfleet_chain_follower::store::FILE_HEADER_SIZE..]
        .chunks(hnsfleet_chain_follower::store::RECORD_SIZE)
        .map(|r| Header::decode(&r[..HEADER_SIZE]).unwrap())
        .collect()
}

fn insert_all(headers: &[Header]) -> HeaderChain {
    let mut chain = HeaderChain::from_genesis(Network::Regtest.params());
    for h in headers {
        chain.insert(h.clone(), NOW).unwrap();
    }
    chain
}

fn sync(c: &mut Criterion) {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("headers.dat");
    build_store(&path);
    let params = Network::Regtest.params();

    let rss_before = rss_bytes();
    let start = Instant::now();
    let (store, chain, rec) = Store::open(&path, params, &Start::Genesis).unwrap();
    let reopen = start.elapsed();
    let rss_after = rss_bytes();
    println!(
        "reopen {} records: {:.3} s wall; RSS {:.1} MB before, {:.1} MB holding the chain (+{:.1} MB)",
        rec.records,
        reopen.as_secs_f64(),
        rss_before as f64 / 1e6,
        rss_after as f64 / 1e6,
        (rss_after.saturating_sub(rss_before)) as f64 / 1e6,
    );
    assert_eq!(chain.tip().height as usize, HEADERS);
    drop((store, chain));

    let headers = read_headers(&path);
    let cpu0 = cpu_seconds();
    let wall0 = Instant::now();
    let chain = insert_all(&headers);
    let cpu = cpu_seconds() - cpu0;
    let wall = wall0.elapsed().as_secs_f64();
    println!(
        "insert+validate {HEADERS} headers: {cpu:.2} s CPU, {wall:.2} s wall, {:.0} headers/s",
        HEADERS as f64 / wall
    );
    assert_eq!(chain.tip().height as usize, HEADERS);
    drop(chain);

    let mut group = c.benchmark_group("sync");
    group.sample_size(10);
    group.throughput(Throughput::Elements(HEADERS as u64));
    group.bench_function("insert_validate_300k_regtest", |b| {
        b.iter(|| black_box(insert_all(&headers).tip()))
    });
    group.bench_function("reopen_store_300k", |b| {
        b.iter(|| {
            let (_, chain, _) = Store::open(&path, params, &Start::Genesis).unwrap();
            black_box(chain.tip())
        })
    });
    group.finish();
    let _ = std::fs::remove_dir_all(path.parent().unwrap());
}

criterion_group!(benches, sync);
criterion_main!(benches);
