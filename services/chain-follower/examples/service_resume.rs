//! Benchmark (not a test): the follower *service* resuming from a 300,000-header file — wall
//! time from process start to "opened header store" (re-checking every record's checksum,
//! linkage and proof of work), and the resident memory of the running service holding that
//! chain (pool, gRPC and admin servers included; no peer reachable, so nothing else grows).
//!
//! Run: `cargo build --release -p hnsfleet-chain-follower --bins --examples &&
//! target/release/examples/service_resume`
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::{BufRead, BufReader};
use std::process::{Command, Stdio};
use std::time::{Duration, Instant};

const HEADERS: usize = 300_000;

/// A `/proc/PID/status` field in KiB (`VmRSS`, `RssAnon`, `RssFile`).
fn status_kib(pid: u32, field: &str) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .unwrap()
        .lines()
        .find_map(|l| l.strip_prefix(field)?.strip_prefix(':'))
        .and_then(|v| v.split_whitespace().next()?.parse().ok())
        .unwrap()
}

fn rss_kib(pid: u32) -> u64 {
    status_kib(pid, "VmRSS")
}

fn main() {
    let exe = std::env::current_exe().unwrap();
    let binary = exe
        .parent()
        .and_then(|examples| examples.parent())
        .unwrap()
        .join("hnsfleet-chain-follower");
    assert!(
        binary.exists(),
        "build the binary first: {}",
        binary.display()
    );
    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    let file = dir.join("headers.dat");
    let t = Instant::now();
    hnsfleet_chain_follower::synthetic::write_store(&file, HEADERS).unwrap();
    println!(
        "wrote {HEADERS} synthetic headers ({:.1} MB) in {:.1?}",
        std::fs::metadata(&file).unwrap().len() as f64 / 1e6,
        t.elapsed()
    );

    for round in 1..=3 {
        let started = Instant::now();
        let mut child = Command::new(&binary)
            .args([
                "--network",
                "regtest",
                "--peer",
                "127.0.0.1:1",
                "--checkpoint",
                "false",
            ])
            .args([
                "--grpc-listen",
                "127.0.0.1:0",
                "--admin-listen",
                "127.0.0.1:0",
            ])
            .args(["--log-format", "json", "--data-dir"])
            .arg(dir)
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .unwrap();
        let stderr = BufReader::new(child.stderr.take().unwrap());
        for line in stderr.lines() {
            let line = line.unwrap();
            if line.contains("opened header store") {
                break;
            }
        }
        let resume = started.elapsed();
        // A plain (non-async) program: let the service's RSS settle after opening the store.
        #[allow(clippy::disallowed_methods)]
        std::thread::sleep(Duration::from_secs(2));
        let rss = rss_kib(child.id());
        let (anon, file) = (
            status_kib(child.id(), "RssAnon"),
            status_kib(child.id(), "RssFile"),
        );
        let mb = |kib: u64| kib as f64 * 1024.0 / 1e6;
        println!(
            "round {round}: process start -> store opened (height {HEADERS}): {resume:.2?}; \
             RSS of the running service: {:.1} MB (anonymous {:.1} MB, file-backed {:.1} MB)",
            mb(rss),
            mb(anon),
            mb(file)
        );
        child.kill().unwrap();
        child.wait().unwrap();
    }
}
