//! The resolver end to end with real parts only: a real hsd regtest chain (names registered
//! through real auctions, then UPDATEd to point at child zones with their DS on chain), real
//! Knot DNS servers on 127.0.0.x serving DNSSEC-signed child zones and a stand-in ICANN root,
//! `hnsfleet up` in front, and real clients: dig and kdig over UDP, TCP, TLS and HTTPS, curl
//! `--doh-url`, a real Unbound using the fleet's root as its root, and bns checking SIG(0).
//!
//! Addresses: Knot on 127.0.0.81–84, the web server curl reaches on 127.0.0.90, Unbound on
//! 127.0.0.86; hsd at port offset 930. Nothing leaves loopback: the ICANN root hints name the
//! Knot stand-in only.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::dns::{query, tcp, udp};
use common::*;

use std::io::Write;
use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use hickory_proto::op::ResponseCode;
use hickory_proto::rr::{Name, RData, RecordType};
use hnsfleet_frontend::metrics as fm;
use hnsfleet_frontend::wire::ede_of;
use hnsfleet_testkit::knot::{KeyModel, Knot, Signing, ZoneSpec, ds_update_json, icann_stand_in};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn at(last: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, last], 53))
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A child zone served by Knot at 127.0.0.`ip`, with `www` at 127.0.0.90.
fn child_zone(origin: &str, ip: u8) -> String {
    format!(
        "$ORIGIN {origin}\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 300\n@ NS ns1\n\
         ns1 A 127.0.0.{ip}\nwww A 127.0.0.90\nwww TXT \"hello from knot\"\n"
    )
}

/// A one-page web server on 127.0.0.90 (what curl reaches after resolving through DoH).
async fn web_server() -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.90:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut stream, _)) = listener.accept().await {
            tokio::spawn(async move {
                let mut buf = [0u8; 1024];
                let _ = stream.read(&mut buf).await;
                let _ = stream
                    .write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 13\r\nconnection: close\r\n\r\nhello via hns")
                    .await;
            });
        }
    });
    addr
}

async fn run(program: &str, args: &[&str]) -> (bool, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(program).args(args).output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{program} {args:?} hung"))
    .unwrap_or_else(|e| panic!("{program}: {e}"));
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// A real Unbound on 127.0.0.86:53 whose root is the fleet's root listener, with the HNS
/// trust anchor.
struct Unbound {
    child: tokio::process::Child,
    _dir: tempfile::TempDir,
}

impl Unbound {
    async fn start(root: SocketAddr) -> Unbound {
        let dir = tempfile::tempdir().unwrap();
        let conf = dir.path().join("unbound.conf");
        let mut file = std::fs::File::create(&conf).unwrap();
        write!(
            file,
            "server:\n  interface: 127.0.0.86\n  port: 53\n  do-daemonize: no\n  username: \"\"\n\
             chroot: \"\"\n  directory: \"{dir}\"\n  pidfile: \"{dir}/unbound.pid\"\n\
             use-syslog: no\n  logfile: \"\"\n  verbosity: 1\n  do-ip6: no\n\
             do-not-query-localhost: no\n  access-control: 127.0.0.0/8 allow\n\
             qname-minimisation: yes\n  module-config: \"validator iterator\"\n\
             trust-anchor-signaling: no\n  root-key-sentinel: no\n\
             trust-anchor: \". DS 35215 13 2 7C50EA94A63AEECB65B510D1EAC1846C973A89D4AB292287D5A4D715136B57A3\"\n\
             local-zone: \".\" transparent\n\
             stub-zone:\n  name: \".\"\n  stub-addr: {ip}@{port}\n  stub-prime: no\n",
            dir = dir.path().display(),
            ip = root.ip(),
            port = root.port()
        )
        .unwrap();
        let (ok, out) = run("unbound-checkconf", &[conf.to_str().unwrap()]).await;
        assert!(ok, "unbound-checkconf: {out}");
        let child = tokio::process::Command::new("unbound")
            .args(["-d", "-c", conf.to_str().unwrap()])
            .kill_on_drop(true)
            .stdout(std::process::Stdio::null())
            .stderr(std::process::Stdio::null())
            .spawn()
            .expect("unbound (installed by scripts/setup.sh)");
        // Wait until it answers.
        for _ in 0..100 {
            let (ok, out) = run("dig", &["@127.0.0.86", "+time=1", "+tries=1", ".", "SOA"]).await;
            if ok && out.contains("status:") {
                return Unbound { child, _dir: dir };
            }
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
        panic!("unbound did not start");
    }
}

impl Drop for Unbound {
    fn drop(&mut self) {
        let _ = self.child.start_kill();
    }
}

/// Checks SIG(0) with bns (tests/interop/sig0.js): whether each response verifies.
fn bns_verifies(public_hex: &str, responses: &[Vec<u8>]) -> Vec<bool> {
    let dir = Path::new(env!("CARGO_MANIFEST_DIR")).join("../../tests/interop");
    let mut child = std::process::Command::new("node")
        .arg("sig0.js")
        .current_dir(&dir)
        .stdin(std::process::Stdio::piped())
        .stdout(std::process::Stdio::piped())
        .spawn()
        .expect("node (installed by scripts/setup.sh)");
    let input = json!({
        "pub": public_hex,
        "priv": "00".repeat(31) + "01",
        "signedByUs": responses.iter().map(hex::encode).collect::<Vec<_>>(),
        "toSign": [],
    });
    child
        .stdin
        .take()
        .unwrap()
        .write_all(input.to_string().as_bytes())
        .unwrap();
    let out = child.wait_with_output().unwrap();
    assert!(out.status.success());
    let v: Value = serde_json::from_slice(&out.stdout).unwrap();
    v["bnsVerifies"]
        .as_array()
        .unwrap()
        .iter()
        .map(|b| b.as_bool().unwrap())
        .collect()
}

async fn cli_json(args: &[&str]) -> Value {
    let out = tokio::process::Command::new(BIN)
        .args(args)
        .output()
        .await
        .unwrap();
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[tokio::test]
async fn hns_and_icann_names_resolve_validated_over_every_transport() {
    let (hsd, _manifest) = prepared_hsd("frontend-e2e", 930).await;
    let (icann_root, _com) =
        icann_stand_in(Ipv4Addr::new(127, 0, 0, 81), Ipv4Addr::new(127, 0, 0, 82))
            .await
            .unwrap();
    let good = Knot::start(
        at(83),
        vec![ZoneSpec::signed("fleetns.", &child_zone("fleetns.", 83)).unwrap()],
    )
    .await
    .unwrap();
    let bogus = Knot::start(
        at(84),
        vec![
            ZoneSpec::new(
                "fleetglue.",
                &child_zone("fleetglue.", 84),
                Signing::Bogus {
                    model: KeyModel::Csk,
                    corrupt: RecordType::A,
                },
            )
            .unwrap(),
        ],
    )
    .await
    .unwrap();

    // Point two registered names at the child zones, DS on chain, and commit it under the
    // safe root.
    for (tld, knot, ip) in [
        ("fleetns", &good, "127.0.0.83"),
        ("fleetglue", &bogus, "127.0.0.84"),
    ] {
        let mut records =
            vec![json!({"type": "GLUE4", "ns": format!("ns1.{tld}."), "address": ip})];
        records.extend(ds_update_json(
            &knot.keys(&name(&format!("{tld}."))).unwrap().ds,
        ));
        assert!(records.len() >= 2, "{tld}: no DS");
        hsd.wallet("sendupdate", &[tld.into(), json!({ "records": records })])
            .unwrap();
    }
    // And one delegated to a loopback address where nothing listens (unsigned: no DS).
    hsd.wallet(
        "sendupdate",
        &[
            "fleettxt".into(),
            json!({"records": [{"type": "GLUE4", "ns": "ns1.fleettxt.", "address": "127.0.0.87"}]}),
        ],
    )
    .unwrap();
    hsd.mine(12).unwrap();

    // The fleet, with SIG(0), TLS and the stand-in ICANN root.
    let dir = tempfile::tempdir().unwrap();
    let key = dir.path().join("sig0.key");
    cli_json(&["sig0", "keygen", key.to_str().unwrap()]).await;
    let hints = dir.path().join("root.hints");
    std::fs::write(&hints, ". NS ns.root.\nns.root. A 127.0.0.81\n").unwrap();
    let anchors = dir.path().join("anchors.ds");
    let root_ds = icann_root.keys(&Name::root()).unwrap().ds_text.join("\n");
    std::fs::write(&anchors, format!("{root_ds}\n")).unwrap();
    let data = dir.path().join("data");
    let fleet = fleet_up(
        hsd.p2p_addr().unwrap(),
        &data,
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--doh-listen",
            "127.0.0.1:0",
            "--doq-listen",
            "127.0.0.1:0",
            "--self-signed",
            "--sig0-key",
            key.to_str().unwrap(),
            "--icann-root-hints",
            hints.to_str().unwrap(),
            "--icann-trust-anchors",
            anchors.to_str().unwrap(),
            "--allow-private-upstreams",
            "true",
            "--resolve-timeout",
            "3s",
        ],
        "frontend-e2e-up",
    )
    .await;
    let dns = fleet.addr("dns").unwrap();
    let root = fleet.addr("root").unwrap();
    // Wait until the trusted root has the UPDATEs (the referral names the Knot address).
    fleet
        .poll(
            Duration::from_secs(60),
            "update under the trusted root",
            async |_| {
                let answer = tcp(root, &query("fleetns.", RecordType::NS, false, false)).await;
                answer
                    .additionals
                    .iter()
                    .any(|r| r.data == RData::A("127.0.0.83".parse().unwrap()))
                    .then_some(())
            },
        )
        .await
        .unwrap();

    // 1. dig over UDP and TCP, kdig over TLS and HTTPS: www.fleetns validated (AD).
    let port = dns.port().to_string();
    for transport in ["+notcp", "+tcp"] {
        let (ok, out) = run(
            "dig",
            &[
                "@127.0.0.1",
                "-p",
                &port,
                transport,
                "+dnssec",
                "www.fleetns",
                "A",
            ],
        )
        .await;
        assert!(ok, "{out}");
        assert!(out.contains("status: NOERROR"), "{transport}: {out}");
        assert!(out.contains(" ad"), "{transport}: no AD: {out}");
        assert!(out.contains("127.0.0.90"), "{transport}: {out}");
    }
    let dot = fleet.addr("dot").unwrap().port().to_string();
    let doh = fleet.addr("doh").unwrap().port().to_string();
    for (p, mode) in [(&dot, "+tls"), (&doh, "+https"), (&doh, "+https-get")] {
        let (ok, out) = run(
            "kdig",
            &["@127.0.0.1", "-p", p, mode, "+dnssec", "www.fleetns", "A"],
        )
        .await;
        assert!(ok, "{out}");
        assert!(
            out.contains("NOERROR") && out.contains("127.0.0.90"),
            "{mode}: {out}"
        );
        assert!(out.contains(" ad"), "{mode}: no AD: {out}");
    }
    // dig's own DoH client too.
    let (_, out) = run(
        "dig",
        &[
            "@127.0.0.1",
            "-p",
            &doh,
            "+https",
            "+dnssec",
            "www.fleetns",
            "TXT",
        ],
    )
    .await;
    assert!(
        out.contains("hello from knot") && out.contains(" ad"),
        "{out}"
    );

    // 2. curl resolves through DoH and fetches from the address it got.
    let web = web_server().await;
    let (ok, out) = run(
        "curl",
        &[
            "-s",
            "--max-time",
            "20",
            "--doh-insecure",
            "--doh-url",
            &format!("https://127.0.0.1:{doh}/dns-query"),
            &format!("http://www.fleetns:{}/", web.port()),
        ],
    )
    .await;
    assert!(ok && out.contains("hello via hns"), "curl: {out}");

    // 3. A bogus signature in a child zone: SERVFAIL with EDE 6 (DNSSEC Bogus).
    let answer = udp(dns, &query("www.fleetglue.", RecordType::A, true, true)).await;
    assert_eq!(answer.response_code, ResponseCode::ServFail, "{answer:?}");
    assert_eq!(ede_of(&answer).map(|(code, _)| code), Some(6), "{answer:?}");
    assert!(answer.answers.is_empty());

    //    A delegation to a server that never answers: SERVFAIL with EDE 22 (No Reachable
    //    Authority), within the resolve timeout.
    let started = std::time::Instant::now();
    let answer = udp(dns, &query("www.fleettxt.", RecordType::A, true, true)).await;
    assert_eq!(answer.response_code, ResponseCode::ServFail, "{answer:?}");
    assert_eq!(
        ede_of(&answer).map(|(code, _)| code),
        Some(22),
        "{answer:?}"
    );
    assert!(started.elapsed() < Duration::from_secs(8));

    // 4. ICANN names through the loopback stand-in root, validated from its anchor and re-signed
    //    by the HNS root: com is reserved (root flag) and absent on chain.
    let answer = udp(dns, &query("www.example.com.", RecordType::A, true, true)).await;
    assert_eq!(answer.response_code, ResponseCode::NoError, "{answer:?}");
    assert!(answer.authentic_data, "{answer:?}");
    assert!(
        answer
            .answers
            .iter()
            .any(|r| r.data == RData::A("127.0.0.90".parse().unwrap()))
    );
    let fallbacks = fleet
        .metric(fm::ICANN_FALLBACKS, &[("result", "delegation")])
        .await
        .unwrap();
    assert!(fallbacks >= Some(1.0), "{fallbacks:?}");
    //    An unreserved absent name never goes to ICANN: NXDOMAIN from the HNS proof.
    let icann_before = fleet
        .metric("hnsfleet_icann_upstream_queries_total", &[])
        .await
        .unwrap();
    let answer = udp(dns, &query("www.fleetabsent.", RecordType::A, true, true)).await;
    assert_eq!(answer.response_code, ResponseCode::NXDomain, "{answer:?}");
    assert!(
        answer.authentic_data,
        "the NSEC denial validates: {answer:?}"
    );
    let icann_after = fleet
        .metric("hnsfleet_icann_upstream_queries_total", &[])
        .await
        .unwrap();
    assert_eq!(icann_before, icann_after);

    // 5. SIG(0): bns verifies Do53 responses with the printed key, and no flipped byte passes.
    let pubkey = cli_json(&["sig0", "pubkey", key.to_str().unwrap()]).await;
    let public_hex = pubkey["public_key_hex"].as_str().unwrap();
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket
        .send_to(
            &query("www.fleetns.", RecordType::A, true, true)
                .to_vec()
                .unwrap(),
            dns,
        )
        .await
        .unwrap();
    let mut buffer = vec![0u8; 4096];
    let (len, _) = tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buffer))
        .await
        .unwrap()
        .unwrap();
    let signed = buffer[..len].to_vec();
    let mut variants = vec![signed.clone()];
    for i in 0..signed.len() {
        let mut flipped = signed.clone();
        flipped[i] ^= 0x01;
        variants.push(flipped);
    }
    let verdicts = bns_verifies(public_hex, &variants);
    assert!(verdicts[0], "bns rejects our SIG(0)");
    let passed: Vec<usize> = (1..verdicts.len()).filter(|&i| verdicts[i]).collect();
    assert!(
        passed.is_empty(),
        "flipped bytes that still verify: {passed:?}"
    );

    // 6. A real Unbound with the fleet's root as its root and the HNS trust anchor validates.
    let _unbound = Unbound::start(root).await;
    let (_, out) = run(
        "dig",
        &["@127.0.0.86", "+dnssec", "+time=5", "www.fleetns", "A"],
    )
    .await;
    assert!(
        out.contains("status: NOERROR") && out.contains(" ad"),
        "unbound: {out}"
    );
    let (_, out) = run(
        "dig",
        &["@127.0.0.86", "+dnssec", "+time=5", "www.fleetglue", "A"],
    )
    .await;
    assert!(
        out.contains("status: SERVFAIL"),
        "unbound on the bogus zone: {out}"
    );

    // Metrics: queries by transport.
    for transport in ["udp", "tcp", "tls", "https"] {
        let n = fleet
            .metric(
                fm::QUERIES,
                &[("transport", transport), ("service", "resolver")],
            )
            .await
            .unwrap();
        assert!(n >= Some(1.0), "{transport}: {n:?}");
    }
    drop((good, bogus));
}
