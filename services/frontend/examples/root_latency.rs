//! Benchmark helper (not a test): latency of a DNS authority over UDP, one query at a time,
//! timed with `Instant` from just before the send to the matching reply. Used by
//! `loadtest/frontend-vs-hsd.sh` for the cold and proof-cache-hit root answers of the
//! frontend's root listener and for hsd's root server as the baseline.
//!
//! Run: `root_latency SERVER NAMES_FILE QTYPES [--do] [--pace-ms N] [--label TEXT]`
//!
//! - `SERVER`: `IP:PORT` of the authority.
//! - `NAMES_FILE`: one name a line (a trailing dot is optional).
//! - `QTYPES`: comma-separated, from A, NS, SOA, TXT, AAAA, DS, DNSKEY; the whole name list is
//!   asked once per type, types in the given order, so the first type finds every cache cold and
//!   the next ones find what the first left behind.
//! - `--do`: set EDNS0's DNSSEC OK bit (what a validating resolver sends).
//! - `--pace-ms N`: wait N ms between queries (default 25: below the 50 proofs/s a follower
//!   asks of one peer).
//!
//! Prints one JSON object per type: label, qtype, queries, answered, timeouts, p50/p99/max in
//! microseconds (nearest rank) and the response codes seen. No retries: a lost reply is a
//! timeout (2 s), not a sample.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]
// A plain blocking program (no async runtime): pacing with a thread sleep blocks nothing.
#![allow(clippy::disallowed_methods)]

use std::collections::BTreeMap;
use std::net::{SocketAddr, UdpSocket};
use std::time::{Duration, Instant};

/// How long one reply may take before it counts as lost.
const TIMEOUT: Duration = Duration::from_secs(2);

fn qtype_code(name: &str) -> u16 {
    match name.to_ascii_uppercase().as_str() {
        "A" => 1,
        "NS" => 2,
        "SOA" => 6,
        "TXT" => 16,
        "AAAA" => 28,
        "DS" => 43,
        "DNSKEY" => 48,
        other => panic!("unknown qtype {other}"),
    }
}

fn rcode_name(code: u8) -> String {
    match code {
        0 => "NOERROR".into(),
        1 => "FORMERR".into(),
        2 => "SERVFAIL".into(),
        3 => "NXDOMAIN".into(),
        4 => "NOTIMP".into(),
        5 => "REFUSED".into(),
        other => format!("RCODE{other}"),
    }
}

/// A query in wire form: no recursion desired (an authority is asked), EDNS0 with a 1232-byte
/// payload, DO as asked.
fn query(id: u16, name: &str, qtype: u16, dnssec_ok: bool) -> Vec<u8> {
    let mut wire = Vec::with_capacity(64);
    wire.extend_from_slice(&id.to_be_bytes());
    wire.extend_from_slice(&[0, 0, 0, 1, 0, 0, 0, 0, 0, 1]);
    for label in name
        .trim_end_matches('.')
        .split('.')
        .filter(|l| !l.is_empty())
    {
        wire.push(u8::try_from(label.len()).expect("label too long"));
        wire.extend_from_slice(label.as_bytes());
    }
    wire.push(0);
    wire.extend_from_slice(&qtype.to_be_bytes());
    wire.extend_from_slice(&1u16.to_be_bytes());
    // OPT: root owner, type 41, class = payload size, extended rcode 0, version 0, flags.
    wire.push(0);
    wire.extend_from_slice(&41u16.to_be_bytes());
    wire.extend_from_slice(&1232u16.to_be_bytes());
    wire.extend_from_slice(&[0, 0]);
    wire.extend_from_slice(&(if dnssec_ok { 0x8000u16 } else { 0 }).to_be_bytes());
    wire.extend_from_slice(&0u16.to_be_bytes());
    wire
}

/// Nearest-rank percentile of sorted `samples`, in microseconds.
fn percentile(sorted: &[Duration], p: f64) -> f64 {
    if sorted.is_empty() {
        return f64::NAN;
    }
    let rank = ((p / 100.0) * sorted.len() as f64).ceil() as usize;
    sorted[rank.clamp(1, sorted.len()) - 1].as_secs_f64() * 1e6
}

fn main() {
    let args: Vec<String> = std::env::args().skip(1).collect();
    let mut positional = Vec::new();
    let (mut dnssec_ok, mut pace_ms, mut label) = (false, 25u64, String::from("latency"));
    let mut it = args.into_iter();
    while let Some(arg) = it.next() {
        match arg.as_str() {
            "--do" => dnssec_ok = true,
            "--pace-ms" => pace_ms = it.next().expect("--pace-ms N").parse().expect("N"),
            "--label" => label = it.next().expect("--label TEXT"),
            _ => positional.push(arg),
        }
    }
    let [server, names_file, qtypes] = <[String; 3]>::try_from(positional)
        .expect("usage: root_latency SERVER NAMES_FILE QTYPES [--do] [--pace-ms N] [--label L]");
    let server: SocketAddr = server.parse().expect("SERVER is IP:PORT");
    let names: Vec<String> = std::fs::read_to_string(&names_file)
        .expect("names file")
        .lines()
        .map(str::trim)
        .filter(|l| !l.is_empty())
        .map(String::from)
        .collect();
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    socket.connect(server).unwrap();
    socket.set_read_timeout(Some(TIMEOUT)).unwrap();
    let mut id: u16 = std::process::id() as u16;
    let mut buf = [0u8; 65535];
    for qtype in qtypes.split(',') {
        let code = qtype_code(qtype);
        let mut samples = Vec::with_capacity(names.len());
        let mut rcodes: BTreeMap<String, u32> = BTreeMap::new();
        let mut timeouts = 0u32;
        for name in &names {
            id = id.wrapping_add(1);
            let wire = query(id, name, code, dnssec_ok);
            let start = Instant::now();
            socket.send(&wire).unwrap();
            let answered = loop {
                match socket.recv(&mut buf) {
                    // A late reply to an earlier (timed-out) query is skipped.
                    Ok(n) if n >= 12 && buf[..2] == id.to_be_bytes() && buf[2] & 0x80 != 0 => {
                        break Some(buf[3] & 0x0f);
                    }
                    Ok(_) => {
                        if start.elapsed() >= TIMEOUT {
                            break None;
                        }
                    }
                    Err(_) => break None,
                }
            };
            let elapsed = start.elapsed();
            match answered {
                Some(rcode) => {
                    samples.push(elapsed);
                    *rcodes.entry(rcode_name(rcode)).or_default() += 1;
                }
                None => timeouts += 1,
            }
            std::thread::sleep(Duration::from_millis(pace_ms));
        }
        samples.sort();
        let line = serde_json::json!({
            "label": label,
            "server": server.to_string(),
            "qtype": qtype,
            "dnssec_ok": dnssec_ok,
            "queries": names.len(),
            "answered": samples.len(),
            "timeouts": timeouts,
            "p50_us": (percentile(&samples, 50.0) * 10.0).round() / 10.0,
            "p99_us": (percentile(&samples, 99.0) * 10.0).round() / 10.0,
            "max_us": (percentile(&samples, 100.0) * 10.0).round() / 10.0,
            "rcodes": rcodes,
        });
        println!("{line}");
    }
}
