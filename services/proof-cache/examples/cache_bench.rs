//! Benchmark (not a test) of the proof-cache, every figure measured side by side in one run:
//!
//! 1. cached look-ups per second over gRPC with the server (the release `hnsfleet-proof-cache`
//!    binary) pinned to CPU 1 and the load (h2load, a C HTTP/2 client, if installed; else a
//!    tonic client) on CPU 0; the server's CPU time is read from `/proc`, so the figure per
//!    server-core-second holds even when the client is the bottleneck;
//! 2. cached look-ups per second in-process (`ProofCache::lookup`), on 2 worker threads and on
//!    one;
//! 3. the latency a miss adds over a direct follower call: p50/p99 of `LookupName` straight to
//!    the follower vs through the cache (each name once, so every call is a miss), one request
//!    at a time over loopback;
//! 4. bytes per cached entry at mainnet proof depth (24 levels: ~16 M leaves) and how many
//!    entries a 1 GiB cache holds: the weigher's charge, and the resident memory measured.
//!
//! The follower is the synthetic one (`hnsfleet_proof_cache::synthetic`): a real gRPC
//! `ChainFollowerService` proving names against an in-memory Urkel tree of 5,000 names, so a
//! miss costs what the cache does, not what hsd does (see the follower's own latency bench for
//! that).
//!
//! Run (2-core machine; `h2load` is Debian's `nghttp2-client`):
//! `cargo build --release -p hnsfleet-proof-cache --bins --examples &&
//!  taskset -c 0 target/release/examples/cache_bench`
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::path::{Path, PathBuf};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::{Duration, Instant};

use bytes::Bytes;
use hnsfleet_hns::name::Name;
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::TreeRoot;
use hnsfleet_hns::urkel::{Proof, ProofNode, Terminal};
use hnsfleet_proof_cache::cache::{Entry, Key, ProofCache, Store, weight};
use hnsfleet_proof_cache::followers::{Followers, FollowersConfig};
use hnsfleet_proof_cache::metrics::Metrics;
use hnsfleet_proof_cache::synthetic::{SyntheticFollower, name_state};
use hnsfleet_proto::cache::v1 as cache_pb;
use hnsfleet_proto::cache::v1::proof_cache_service_client::ProofCacheServiceClient;
use hnsfleet_proto::follower::v1 as pb;
use hnsfleet_proto::follower::v1::chain_follower_service_client::ChainFollowerServiceClient;
use hnsfleet_service_kit::Readiness;
use hnsfleet_testkit::service::ServiceProcess;
use prost::Message;

const NAMES: usize = 5_000;
const MAINNET_DEPTH: usize = 24;
const SIZE_ENTRIES: usize = 200_000;

fn main() {
    let runtime = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    runtime.block_on(run());
}

async fn run() {
    let follower = SyntheticFollower::start(NAMES).await.unwrap();
    let names: Vec<String> = (0..NAMES).map(|i| format!("bench{i}")).collect();
    println!(
        "synthetic follower: {NAMES} names, root {}",
        follower.root.to_hex()
    );
    // `cache_bench inproc`: only the in-process figures (for profiling).
    if std::env::args().any(|a| a == "inproc") {
        in_process(&follower, &names).await;
        return;
    }

    // 3. Miss latency added (first: nothing else running).
    let server = start_cache(&follower.url).await;
    let cache_url = server.grpc_url().unwrap();
    let mut direct = ChainFollowerServiceClient::connect(follower.url.clone())
        .await
        .unwrap();
    let mut via = ProofCacheServiceClient::connect(cache_url.clone())
        .await
        .unwrap();
    let (mut direct_ns, mut miss_ns, mut hit_ns) = (Vec::new(), Vec::new(), Vec::new());
    for name in names.iter().take(2_000) {
        let t = Instant::now();
        direct
            .lookup_name(pb::LookupNameRequest {
                name: name.clone(),
                root: None,
            })
            .await
            .unwrap();
        direct_ns.push(t.elapsed());
        let t = Instant::now();
        let answer = via
            .lookup_name(cache_pb::LookupNameRequest { name: name.clone() })
            .await
            .unwrap()
            .into_inner();
        miss_ns.push(t.elapsed());
        assert!(!answer.from_cache, "{name}: expected a miss");
        let t = Instant::now();
        let answer = via
            .lookup_name(cache_pb::LookupNameRequest { name: name.clone() })
            .await
            .unwrap()
            .into_inner();
        hit_ns.push(t.elapsed());
        assert!(answer.from_cache, "{name}: expected a hit");
    }
    let (d50, d99) = quantiles(&mut direct_ns);
    let (m50, m99) = quantiles(&mut miss_ns);
    let (h50, h99) = quantiles(&mut hit_ns);
    println!("\n## miss latency (one request at a time, 2,000 names)");
    println!(
        "direct follower LookupName   p50 {:>7.1} µs  p99 {:>7.1} µs",
        us(d50),
        us(d99)
    );
    println!(
        "cache miss (cache→follower)  p50 {:>7.1} µs  p99 {:>7.1} µs",
        us(m50),
        us(m99)
    );
    println!(
        "cache hit                    p50 {:>7.1} µs  p99 {:>7.1} µs",
        us(h50),
        us(h99)
    );
    println!(
        "added by a miss: p50 {:.1} µs (target < 300 µs)",
        us(m50.saturating_sub(d50))
    );

    // 1. Cached look-ups over gRPC, server on CPU 1.
    println!("\n## cached look-ups over gRPC (server on CPU 1)");
    let pid = server.pid();
    if let Some(h2load) = which("h2load") {
        let body = grpc_frame(&cache_pb::LookupNameRequest {
            name: "bench1".into(),
        });
        let body_file = std::env::temp_dir().join("hnsfleet-cache-bench-body.bin");
        std::fs::write(&body_file, body).unwrap();
        let url = format!("{cache_url}/hnsfleet.cache.v1.ProofCacheService/LookupName");
        for _ in 0..2 {
            let cpu0 = cpu_seconds(pid);
            let t = Instant::now();
            let out = tokio::process::Command::new("taskset")
                .args(["-c", "0"])
                .arg(&h2load)
                .args(["-n", "400000", "-c", "8", "-m", "64", "-t", "1"])
                .args(["-H", "content-type: application/grpc", "-H", "te: trailers"])
                .arg("-d")
                .arg(&body_file)
                .arg(&url)
                .output()
                .await
                .unwrap();
            let wall = t.elapsed().as_secs_f64();
            let cpu = cpu_seconds(pid) - cpu0;
            let text = String::from_utf8_lossy(&out.stdout);
            let done = h2load_succeeded(&text);
            println!(
                "h2load: {done} ok in {wall:.2} s = {:.0}/s; server CPU {:.2} s ({:.0} %) = {:.0} look-ups per server-core-second",
                done as f64 / wall,
                cpu,
                100.0 * cpu / wall,
                done as f64 / cpu
            );
        }
    } else {
        println!("(h2load not installed: apt-get install nghttp2-client)");
    }
    let (done, wall, cpu) = tonic_load(&cache_url, pid, Duration::from_secs(5)).await;
    println!(
        "tonic client (8 connections × 64 in flight): {:.0}/s; server CPU {:.0} % = {:.0} look-ups per server-core-second",
        done as f64 / wall,
        100.0 * cpu / wall,
        done as f64 / cpu
    );
    drop(server);

    // 2. In-process, on both cores now that the server is gone.
    in_process(&follower, &names).await;

    // 4. Bytes per entry at mainnet depth.
    println!("\n## memory per cached entry at mainnet proof depth ({MAINNET_DEPTH} levels)");
    let store = Store::new(u64::MAX / 2, Duration::from_secs(3600));
    let sample = mainnet_entry(0);
    let proof_len = sample.lookup.proof.len();
    let charged = weight(&sample);
    drop(sample);
    store.sync().await;
    // The entries first (what the cache holds per look-up), then moka's bookkeeping.
    let before = rss_bytes();
    let entries: Vec<(Key, Arc<Entry>)> = (0..SIZE_ENTRIES)
        .map(|i| {
            let name = Name::parse(&format!("bench{i}")).unwrap();
            ((name.hash(), TreeRoot([7; 32])), Arc::new(mainnet_entry(i)))
        })
        .collect();
    let built = rss_bytes();
    for (key, entry) in entries {
        store.insert(key, entry).await;
    }
    store.sync().await;
    let after = rss_bytes();
    let n = SIZE_ENTRIES as f64;
    let per_entry = (after - before) as f64 / n;
    let gib = 1024.0 * 1024.0 * 1024.0;
    println!(
        "proof {proof_len} B; weigher charges {charged} B/entry ({} entries held, {} B weighed)",
        store.entry_count(),
        store.weighted_size()
    );
    println!(
        "resident memory: {per_entry:.0} B/entry (target < 2048): the entry {:.0} B + moka and the key {:.0} B",
        (built - before) as f64 / n,
        (after - built) as f64 / n
    );
    println!(
        "a 1 GiB cache holds {:.0} entries by the weigher's charge, {:.0} by resident memory",
        gib / f64::from(charged),
        gib / per_entry
    );
}

/// Cached look-ups per second through `ProofCache::lookup`, on both cores.
async fn in_process(follower: &SyntheticFollower, names: &[String]) {
    println!("\n## cached look-ups in-process (ProofCache::lookup)");
    let _ = std::process::Command::new("taskset")
        .args(["-a", "-p", "-c", "0,1", &std::process::id().to_string()])
        .output();
    let cache = in_process_cache(&follower.url).await;
    let parsed: Arc<Vec<Name>> = Arc::new(names.iter().map(|n| Name::parse(n).unwrap()).collect());
    for name in parsed.iter() {
        cache.lookup(name).await.unwrap();
    }
    for (hashed, tasks) in [(false, 2usize), (false, 1), (true, 2), (true, 1)] {
        let rate = in_process_rate(&cache, &parsed, tasks, hashed, Duration::from_secs(3)).await;
        let how = if hashed {
            "name hash from the caller (lookup_hashed)"
        } else {
            "hashing each name (lookup)"
        };
        println!("{tasks} task(s), 2 worker threads on 2 cores, {how}: {rate:.0} look-ups/s");
    }
}

/// Starts the release server binary pinned to CPU 1, ready.
async fn start_cache(follower: &str) -> ServiceProcess {
    let binary = sibling_binary("hnsfleet-proof-cache");
    let args: Vec<String> = ["-c", "1"]
        .iter()
        .map(|s| s.to_string())
        .chain([binary.display().to_string()])
        .chain(
            [
                "--network",
                "regtest",
                "--follower",
                follower,
                "--grpc-listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
                "--log",
                "warn",
                "--grpc-max-in-flight",
                "65536",
            ]
            .iter()
            .map(|s| s.to_string()),
        )
        .collect();
    let server = ServiceProcess::spawn(Path::new("taskset"), &args, "cache-bench")
        .await
        .unwrap();
    server.wait_ready(Duration::from_secs(10)).await.unwrap();
    server
}

/// `target/<profile>/NAME`, next to this example's directory.
fn sibling_binary(name: &str) -> PathBuf {
    let exe = std::env::current_exe().unwrap();
    let profile_dir = exe.parent().unwrap().parent().unwrap();
    let path = profile_dir.join(name);
    assert!(
        path.exists(),
        "build it first: cargo build --release -p hnsfleet-proof-cache --bins"
    );
    path
}

async fn in_process_cache(follower: &str) -> Arc<ProofCache> {
    let metrics = Metrics::unregistered().unwrap();
    let followers = Followers::new(
        &[follower.parse().unwrap()],
        FollowersConfig {
            network: Network::Regtest,
            quorum: 1,
            serve_stale: Duration::from_secs(60),
            timeout: Duration::from_secs(5),
            hedge_after: Duration::from_millis(300),
            quarantine: Duration::from_secs(60),
        },
        metrics.clone(),
        Readiness::default(),
    )
    .unwrap();
    tokio::spawn(Arc::clone(&followers).run(tokio_util::sync::CancellationToken::new()));
    let deadline = Instant::now() + Duration::from_secs(10);
    while followers.snapshot().root.is_none() {
        assert!(Instant::now() < deadline, "no trusted root");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    Arc::new(ProofCache::new(
        followers,
        Store::new(1 << 30, Duration::from_secs(3600)),
        metrics,
    ))
}

async fn in_process_rate(
    cache: &Arc<ProofCache>,
    names: &Arc<Vec<Name>>,
    tasks: usize,
    hashed: bool,
    run_for: Duration,
) -> f64 {
    let stop = Arc::new(AtomicBool::new(false));
    let total = Arc::new(AtomicU64::new(0));
    let mut set = tokio::task::JoinSet::new();
    for t in 0..tasks {
        let (cache, names, stop, total) = (
            Arc::clone(cache),
            Arc::clone(names),
            Arc::clone(&stop),
            Arc::clone(&total),
        );
        set.spawn(async move {
            let mut i = t * 7919;
            let mut n = 0u64;
            let hashes: Vec<_> = names.iter().map(Name::hash).collect();
            while !stop.load(Ordering::Relaxed) {
                for _ in 0..256 {
                    let k = i % names.len();
                    let answer = if hashed {
                        cache.lookup_hashed(&names[k], hashes[k]).await.unwrap()
                    } else {
                        cache.lookup(&names[k]).await.unwrap()
                    };
                    debug_assert!(answer.from_cache);
                    i += 1;
                    n += 1;
                }
                // Hits never wait, so let the timer that ends the run in.
                tokio::task::yield_now().await;
            }
            total.fetch_add(n, Ordering::Relaxed);
        });
    }
    let t = Instant::now();
    tokio::time::sleep(run_for).await;
    stop.store(true, Ordering::Relaxed);
    while set.join_next().await.is_some() {}
    total.load(Ordering::Relaxed) as f64 / t.elapsed().as_secs_f64()
}

/// Closed-loop load from a tonic client: 8 connections × 64 requests in flight.
async fn tonic_load(url: &str, pid: u32, run_for: Duration) -> (u64, f64, f64) {
    let stop = Arc::new(AtomicBool::new(false));
    let done = Arc::new(AtomicU64::new(0));
    let mut set = tokio::task::JoinSet::new();
    for _ in 0..8 {
        let client = ProofCacheServiceClient::connect(url.to_string())
            .await
            .unwrap();
        for _ in 0..64 {
            let (mut client, stop, done) = (client.clone(), Arc::clone(&stop), Arc::clone(&done));
            set.spawn(async move {
                while !stop.load(Ordering::Relaxed) {
                    client
                        .lookup_name(cache_pb::LookupNameRequest {
                            name: "bench1".into(),
                        })
                        .await
                        .unwrap();
                    done.fetch_add(1, Ordering::Relaxed);
                }
            });
        }
    }
    let cpu0 = cpu_seconds(pid);
    let (n0, t) = (done.load(Ordering::Relaxed), Instant::now());
    tokio::time::sleep(run_for).await;
    let (n, wall, cpu) = (
        done.load(Ordering::Relaxed) - n0,
        t.elapsed().as_secs_f64(),
        cpu_seconds(pid) - cpu0,
    );
    stop.store(true, Ordering::Relaxed);
    while set.join_next().await.is_some() {}
    (n, wall, cpu)
}

/// A cached entry as it would be for a mainnet name: a proof of `MAINNET_DEPTH` sibling hashes
/// ending with the bench name state (with its resource).
fn mainnet_entry(i: usize) -> Entry {
    let state = name_state(i);
    let mut nodes = Vec::with_capacity(MAINNET_DEPTH);
    for level in 0..MAINNET_DEPTH {
        let mut sibling = [0u8; 32];
        sibling[..8].copy_from_slice(&((i * 64 + level) as u64).to_le_bytes());
        nodes.push(ProofNode {
            prefix: None,
            sibling,
        });
    }
    let proof = Proof {
        depth: MAINNET_DEPTH as u16,
        nodes,
        terminal: Terminal::Exists {
            value: state.encode(),
        },
    };
    let name = Name::parse(&format!("bench{i}")).unwrap();
    Entry {
        lookup: hnsfleet_proto::convert::name_lookup(
            &name,
            300_000,
            &TreeRoot([7; 32]),
            Some(&state),
            Bytes::copy_from_slice(&proof.encode()),
            Some(Network::Main),
            300_010,
        ),
        verified_at: tokio::time::Instant::now(),
    }
}

fn grpc_frame(message: &impl Message) -> Vec<u8> {
    let body = message.encode_to_vec();
    let mut frame = vec![0u8];
    frame.extend_from_slice(&(body.len() as u32).to_be_bytes());
    frame.extend_from_slice(&body);
    frame
}

/// Requests h2load reports as succeeded (`requests: N total, N started, N done, N succeeded`).
fn h2load_succeeded(text: &str) -> u64 {
    text.lines()
        .find(|l| l.starts_with("requests:"))
        .and_then(|l| l.split(',').find(|p| p.contains("succeeded")))
        .and_then(|p| p.split_whitespace().next())
        .and_then(|n| n.parse().ok())
        .unwrap_or(0)
}

/// utime + stime of `pid`, seconds.
fn cpu_seconds(pid: u32) -> f64 {
    let stat = std::fs::read_to_string(format!("/proc/{pid}/stat")).unwrap();
    let after = &stat[stat.rfind(')').unwrap() + 2..];
    let fields: Vec<&str> = after.split_whitespace().collect();
    let ticks: f64 = fields[11].parse::<f64>().unwrap() + fields[12].parse::<f64>().unwrap();
    ticks / 100.0
}

fn rss_bytes() -> u64 {
    let statm = std::fs::read_to_string("/proc/self/statm").unwrap();
    let pages: u64 = statm.split_whitespace().nth(1).unwrap().parse().unwrap();
    pages * 4096
}

fn which(program: &str) -> Option<PathBuf> {
    std::env::var_os("PATH").and_then(|paths| {
        std::env::split_paths(&paths)
            .map(|dir| dir.join(program))
            .find(|p| p.is_file())
    })
}

fn quantiles(samples: &mut [Duration]) -> (Duration, Duration) {
    samples.sort();
    let at = |q: f64| samples[((samples.len() as f64 - 1.0) * q) as usize];
    (at(0.5), at(0.99))
}

fn us(d: Duration) -> f64 {
    d.as_secs_f64() * 1e6
}
