//! The `hnsfleet-frontend` binary without hsd, in front of a real proof-cache and a synthetic
//! follower: configuration errors, not-ready answers, the root authority over UDP and TCP,
//! DoT and DoH with real clients (kdig, dig, curl), SIG(0) and its budget, and garbage that
//! must leave the server answering.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{Tier, frontend, query, run_client, tcp, udp, udp_raw};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use hnsfleet_frontend::metrics as m;
use hnsfleet_frontend::wire::ede_of;
use hnsfleet_testkit::service::ServiceProcess;
use rand::Rng;
use tokio::io::AsyncWriteExt;

#[tokio::test]
async fn bad_configuration_exits_64_naming_the_key() {
    for (args, key) in [
        (vec!["--dns-listen", "127.0.0.1:0"], "caches"),
        (
            vec![
                "--cache",
                "http://127.0.0.1:1",
                "--dot-listen",
                "127.0.0.1:0",
            ],
            "tls_cert",
        ),
        (vec!["--cache", "ftp://127.0.0.1:1"], "cache"),
        (
            vec!["--cache", "http://127.0.0.1:1", "--udp-payload", "100"],
            "udp_payload",
        ),
    ] {
        let output = tokio::process::Command::new(common::BIN)
            .args(&args)
            .output()
            .await
            .unwrap();
        assert_eq!(output.status.code(), Some(64), "{args:?}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(stderr.contains(key), "{args:?}: {stderr}");
    }
}

#[tokio::test]
async fn not_ready_without_a_trusted_root_answers_servfail_not_ready() {
    // A cache address where nothing listens: no trusted root can ever be known.
    let dead = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}", dead.local_addr().unwrap());
    drop(dead);
    let service = frontend(&url, &[], "frontend-not-ready").await;
    let dns = service.addr("dns").unwrap();
    let answer = udp(dns, &query("bench0.", RecordType::A, true)).await;
    assert_eq!(answer.response_code, ResponseCode::ServFail);
    assert_eq!(
        ede_of(&answer).map(|(code, _)| code),
        Some(14),
        "{answer:?}"
    );
    assert!(answer.answers.is_empty());
    let (status, body) = service.admin_get("/readyz").await.unwrap();
    assert_eq!(status, 503, "{body}");
    // The root listener has no verified data either.
    let root = service.addr("root").unwrap();
    let answer = udp(root, &query("bench0.", RecordType::NS, true)).await;
    assert_eq!(answer.response_code, ResponseCode::ServFail);
    assert!(ede_of(&answer).is_some());
}

#[tokio::test]
async fn the_root_answers_from_verified_proofs_over_udp_and_tcp() {
    let tier = Tier::start(20).await;
    let service = frontend(&tier.cache_url, &[], "frontend-root").await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let root = service.addr("root").unwrap();

    let apex = udp(root, &query(".", RecordType::SOA, false)).await;
    assert_eq!(apex.response_code, ResponseCode::NoError);
    assert!(apex.authoritative);
    assert_eq!(apex.answers[0].record_type(), RecordType::SOA);

    // bench3 exists in the tree: not NXDOMAIN, and the same answer over TCP.
    let over_udp = udp(root, &query("bench3.", RecordType::NS, true)).await;
    assert_ne!(
        over_udp.response_code,
        ResponseCode::NXDomain,
        "{over_udp:?}"
    );
    assert_ne!(
        over_udp.response_code,
        ResponseCode::ServFail,
        "{over_udp:?}"
    );
    let over_tcp = tcp(root, &query("bench3.", RecordType::NS, true)).await;
    assert_eq!(over_tcp.answers, over_udp.answers);
    assert_eq!(over_tcp.authorities, over_udp.authorities);

    // An absent name: NXDOMAIN with the NSEC denial.
    let absent = udp(root, &query("nosuchname.", RecordType::A, true)).await;
    assert_eq!(absent.response_code, ResponseCode::NXDomain);
    assert!(
        absent
            .authorities
            .iter()
            .any(|r| r.record_type() == RecordType::NSEC)
    );
    // The ID and the question as sent come back; RA is not set by the root.
    let mut asked = query("BeNcH3.", RecordType::NS, false);
    asked.metadata.id = 4242;
    let answer = udp(root, &asked).await;
    assert_eq!(answer.id, 4242);
    assert_eq!(answer.queries[0].name().to_ascii(), "BeNcH3.");
    assert!(!answer.recursion_available);

    // Metrics: queries by transport, service, qtype and rcode.
    let nx = service
        .metric(
            m::QUERIES,
            &[
                ("transport", "udp"),
                ("service", "root"),
                ("qtype", "A"),
                ("rcode", "NXDOMAIN"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(nx, Some(1.0));
}

#[tokio::test]
async fn dot_and_doh_answer_real_clients() {
    let tier = Tier::start(5).await;
    let service = frontend(
        &tier.cache_url,
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--doh-listen",
            "127.0.0.1:0",
            "--self-signed",
        ],
        "frontend-tls",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let dot = service.addr("dot").unwrap();
    let doh = service.addr("doh").unwrap();
    // The resolver's answer for the apex (no recursion below the root needed).
    let out = run_client(
        "kdig",
        &[
            &format!("@{}", dot.ip()),
            "-p",
            &dot.port().to_string(),
            "+tls",
            ".",
            "SOA",
        ],
    )
    .await;
    assert!(out.contains("NOERROR") && out.contains("SOA"), "{out}");
    for method in ["+https", "+https-get"] {
        let out = run_client(
            "kdig",
            &[
                &format!("@{}", doh.ip()),
                "-p",
                &doh.port().to_string(),
                method,
                ".",
                "NS",
            ],
        )
        .await;
        assert!(
            out.contains("NOERROR") && out.contains("_synth"),
            "{method}: {out}"
        );
    }
    // curl speaks RFC 8484 too: wrong paths and methods get HTTP errors.
    let status = |args: Vec<String>| async move {
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        run_client("curl", &args).await
    };
    let base = format!("https://127.0.0.1:{}", doh.port());
    let code = status(vec![
        "-sk".into(),
        "-o/dev/null".into(),
        "-w%{http_code}".into(),
        format!("{base}/elsewhere"),
    ])
    .await;
    assert_eq!(code, "404");
    let code = status(vec![
        "-sk".into(),
        "-o/dev/null".into(),
        "-w%{http_code}".into(),
        "-XPOST".into(),
        "-Hcontent-type: text/plain".into(),
        "--data-binary".into(),
        "x".into(),
        format!("{base}/dns-query"),
    ])
    .await;
    assert_eq!(code, "415");
    let code = status(vec![
        "-sk".into(),
        "-o/dev/null".into(),
        "-w%{http_code} %{http_version}".into(),
        format!("{base}/dns-query?dns=AAABAAABAAAAAAAAAAAGAAE"),
    ])
    .await;
    assert_eq!(code, "200 2", "HTTP/2 and 200 for a root SOA query");
    // Hostile requests: undecodable base64, a missing parameter, an oversized body.
    for (args, want) in [
        (vec![format!("{base}/dns-query?dns=%%%%")], "400"),
        (vec![format!("{base}/dns-query")], "400"),
        (
            vec![
                "-XPOST".into(),
                "-Hcontent-type: application/dns-message".into(),
                "--data-binary".into(),
                format!("@{}", big_body().display()),
                format!("{base}/dns-query"),
            ],
            "413",
        ),
    ] {
        let mut all = vec!["-sk".into(), "-o/dev/null".into(), "-w%{http_code}".into()];
        all.extend(args);
        assert_eq!(status(all).await, want);
    }
    let tls = service
        .metric(m::QUERIES, &[("transport", "tls"), ("qtype", "SOA")])
        .await
        .unwrap();
    assert_eq!(tls, Some(1.0));
}

#[tokio::test]
async fn sig0_signs_do53_within_the_budget_and_sends_udp_clients_to_tcp_beyond_it() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("sig0.key");
    let secret = "2c0f7b5f4bd8e1f0b2a9f1c7d6e5a4b3c2d1e0f9a8b7c6d5e4f3a2b1c0d9e8f7";
    let key = hnsfleet_hns::sig0::Sig0Key::from_hex(secret).unwrap();
    std::fs::write(&key_path, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(
        &key_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let service = frontend(
        &tier.cache_url,
        &[
            "--sig0-key",
            key_path.to_str().unwrap(),
            "--sig0-client-rate",
            "1",
            "--sig0-client-burst",
            "2",
        ],
        "frontend-sig0",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let dns = service.addr("dns").unwrap();
    let public = key.public_key();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as u32
    };
    let wire = query(".", RecordType::SOA, false).to_vec().unwrap();
    // The burst: two signed answers that verify; a flipped byte does not.
    for _ in 0..2 {
        let raw = udp_raw(dns, &wire).await.unwrap();
        hnsfleet_hns::sig0::verify(&raw, &public, now()).expect("signed within the budget");
        let mut flipped = raw.clone();
        flipped[20] ^= 0x01;
        assert!(hnsfleet_hns::sig0::verify(&flipped, &public, now()).is_err());
    }
    // Beyond it over UDP: TC=1, unsigned, no records.
    let raw = udp_raw(dns, &wire).await.unwrap();
    assert!(hnsfleet_hns::sig0::verify(&raw, &public, now()).is_err());
    let message = hickory_proto::op::Message::from_vec(&raw).unwrap();
    assert!(message.truncation);
    assert!(message.answers.is_empty());
    let over = service
        .metric(m::SIG0_OVER_BUDGET, &[("scope", "client")])
        .await
        .unwrap();
    assert!(over >= Some(1.0), "{over:?}");
    let signed = service.metric(m::SIG0_SIGNED, &[]).await.unwrap();
    assert_eq!(signed, Some(2.0));
    drop(key_path);
}

#[tokio::test]
async fn garbage_and_half_open_connections_leave_the_server_answering() {
    let tier = Tier::start(5).await;
    let service = frontend(
        &tier.cache_url,
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--self-signed",
            "--idle-timeout",
            "1s",
        ],
        "frontend-garbage",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let dns = service.addr("dns").unwrap();
    let dot = service.addr("dot").unwrap();
    // Random datagrams of every size: dropped or answered with an error, never a crash.
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let mut rng = rand::rng();
    for len in 0..600 {
        let mut bytes = vec![0u8; len % 300];
        rng.fill(&mut bytes[..]);
        if bytes.len() > 2 {
            bytes[2] &= 0x7f; // a "query", so it goes past the first check
        }
        socket.send_to(&bytes, dns).await.unwrap();
    }
    // Half-open TCP and TLS connections: a length prefix and nothing more, or no handshake.
    let mut held = Vec::new();
    for target in [dns, dot] {
        for _ in 0..20 {
            let mut stream = tokio::net::TcpStream::connect(target).await.unwrap();
            let _ = stream.write_all(&[0x00, 0x40, 0x12]).await;
            held.push(stream);
        }
    }
    // The garbage spent this prefix's response-rate budget: an answer may take a retry or two,
    // as a real client's would, until the budget refills.
    let bytes = query(".", RecordType::NS, false).to_vec().unwrap();
    let raw = service
        .poll(Duration::from_secs(20), "an answer over UDP", async |_| {
            udp_raw(dns, &bytes).await
        })
        .await
        .unwrap();
    let answer = hickory_proto::op::Message::from_vec(&raw).unwrap();
    assert_eq!(answer.response_code, ResponseCode::NoError);
    let answer = tcp(dns, &query(".", RecordType::NS, false)).await;
    assert_eq!(answer.response_code, ResponseCode::NoError);
    // Idle connections are closed after the idle timeout: the count falls back.
    service
        .poll(
            Duration::from_secs(10),
            "idle connections closed",
            async |s| {
                let open = s.metric(m::CONNECTIONS, &[]).await.ok().flatten()?;
                (open == 0.0).then_some(open)
            },
        )
        .await
        .unwrap();
    let malformed = service
        .metric(m::DROPPED, &[("reason", "malformed")])
        .await
        .unwrap();
    assert!(malformed > Some(0.0));
    assert!(service_alive(&service));
    drop(held);
}

/// A 70,000-byte file (over the 65,535-byte DoH body limit).
fn big_body() -> std::path::PathBuf {
    let path = std::env::temp_dir().join("hnsfleet-doh-big-body");
    std::fs::write(&path, vec![0u8; 70_000]).unwrap();
    path
}

fn service_alive(service: &ServiceProcess) -> bool {
    Path::new(&format!("/proc/{}", service.pid())).exists()
}

#[tokio::test]
async fn a_flood_beyond_max_in_flight_gets_servfail_at_once_not_a_queue() {
    // Every proof takes 3 s: queries for distinct names pile up behind the in-flight limit.
    let tier = Tier::start_slow(50, Duration::from_secs(3)).await;
    let service = frontend(&tier.cache_url, &["--max-in-flight", "4"], "frontend-flood").await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let root = service.addr("root").unwrap();
    let started = std::time::Instant::now();
    let mut asks = Vec::new();
    for i in 0..12 {
        asks.push(tokio::spawn(async move {
            udp(root, &query(&format!("bench{i}."), RecordType::NS, false)).await
        }));
    }
    let mut overloaded = 0;
    for ask in asks {
        let answer = ask.await.unwrap();
        if answer.response_code == ResponseCode::ServFail
            && ede_of(&answer).is_some_and(|(_, text)| text.contains("overloaded"))
        {
            overloaded += 1;
        }
    }
    assert!(
        overloaded >= 8,
        "only {overloaded} of 12 refused at the limit of 4"
    );
    assert!(started.elapsed() < Duration::from_secs(15));
    let counted = service.metric(m::OVERLOADED, &[]).await.unwrap();
    assert_eq!(counted, Some(overloaded as f64));
}

#[tokio::test]
async fn sig0_on_doh_when_configured_and_not_on_dot_by_default() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let key_path = dir.path().join("sig0.key");
    let secret = "4b5f8d1c2e3a49f7b6c0d1e2f3a4b5c6d7e8f90112233445566778899aabbccd";
    std::fs::write(&key_path, format!("{secret}\n")).unwrap();
    std::fs::set_permissions(
        &key_path,
        std::os::unix::fs::PermissionsExt::from_mode(0o600),
    )
    .unwrap();
    let public = hnsfleet_hns::sig0::Sig0Key::from_hex(secret)
        .unwrap()
        .public_key();
    let service = frontend(
        &tier.cache_url,
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--doh-listen",
            "127.0.0.1:0",
            "--self-signed",
            "--sig0-key",
            key_path.to_str().unwrap(),
            "--sig0-doh",
            "true",
        ],
        "frontend-sig0-tls",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    // DoH (POST with curl, raw bytes out): signed.
    let query_file = dir.path().join("q.bin");
    let answer_file = dir.path().join("a.bin");
    std::fs::write(
        &query_file,
        query(".", RecordType::SOA, false).to_vec().unwrap(),
    )
    .unwrap();
    let doh = service.addr("doh").unwrap();
    run_client(
        "curl",
        &[
            "-sk",
            "-Hcontent-type: application/dns-message",
            "--data-binary",
            &format!("@{}", query_file.display()),
            "-o",
            answer_file.to_str().unwrap(),
            &format!("https://127.0.0.1:{}/dns-query", doh.port()),
        ],
    )
    .await;
    let raw = std::fs::read(&answer_file).unwrap();
    hnsfleet_hns::sig0::verify(&raw, &public, now).expect("DoH answer signed");
    // Do53 is always signed: kdig prints the SIG record...
    let dns = service.addr("dns").unwrap();
    let out = run_client(
        "kdig",
        &["@127.0.0.1", "-p", &dns.port().to_string(), ".", "SOA"],
    )
    .await;
    assert!(out.contains("SIG"), "{out}");
    // ...and DoT (sig0_dot off by default) is not.
    let dot = service.addr("dot").unwrap();
    let out = run_client(
        "kdig",
        &[
            "@127.0.0.1",
            "-p",
            &dot.port().to_string(),
            "+tls",
            ".",
            "SOA",
        ],
    )
    .await;
    assert!(out.contains("NOERROR") && !out.contains("SIG"), "{out}");
}

#[tokio::test]
async fn tcp_queries_are_pipelined_on_one_connection() {
    use tokio::io::AsyncReadExt;
    let tier = Tier::start(10).await;
    let service = frontend(&tier.cache_url, &[], "frontend-pipelined").await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let root = service.addr("root").unwrap();
    let mut stream = tokio::net::TcpStream::connect(root).await.unwrap();
    // Three queries written at once, before reading anything.
    let mut ids = Vec::new();
    let mut batch = Vec::new();
    for (i, name) in ["bench1.", ".", "nosuchname."].iter().enumerate() {
        let mut message = query(name, RecordType::NS, false);
        message.metadata.id = 100 + i as u16;
        ids.push(100 + i as u16);
        let bytes = message.to_vec().unwrap();
        batch.extend_from_slice(&(bytes.len() as u16).to_be_bytes());
        batch.extend_from_slice(&bytes);
    }
    stream.write_all(&batch).await.unwrap();
    let mut seen = Vec::new();
    for _ in 0..3 {
        let mut len = [0u8; 2];
        tokio::time::timeout(Duration::from_secs(10), stream.read_exact(&mut len))
            .await
            .unwrap()
            .unwrap();
        let mut answer = vec![0u8; u16::from_be_bytes(len) as usize];
        stream.read_exact(&mut answer).await.unwrap();
        seen.push(hickory_proto::op::Message::from_vec(&answer).unwrap().id);
    }
    seen.sort();
    assert_eq!(
        seen, ids,
        "every pipelined query answered on the same connection"
    );
}

#[tokio::test]
async fn repeated_queries_are_answered_from_the_packet_cache_with_the_id_patched() {
    let tier = Tier::start(5).await;
    let service = frontend(&tier.cache_url, &[], "frontend-packet-cache").await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let root = service.addr("root").unwrap();
    let packets = |result: &'static str| {
        let service = &service;
        async move {
            service
                .metric(m::PACKET_CACHE, &[("result", result)])
                .await
                .unwrap()
                .unwrap_or(0.0)
        }
    };

    let first = udp(root, &query("bench3.", RecordType::NS, true)).await;
    assert_eq!(first.response_code, ResponseCode::NoError, "{first:?}");
    assert_eq!(packets("miss").await, 1.0);
    assert_eq!(packets("hit").await, 0.0);
    let lookups = tier.follower.lookups();

    let mut again = query("bench3.", RecordType::NS, true);
    again.metadata.id = 31_337;
    let second = udp(root, &again).await;
    assert_eq!(packets("hit").await, 1.0, "the same question, another ID");
    assert_eq!(second.id, 31_337);
    assert_eq!(second.answers, first.answers);
    assert_eq!(second.authorities, first.authorities);
    assert_eq!(second.additionals, first.additionals);
    assert_eq!(tier.follower.lookups(), lookups, "no look-up behind a hit");
    // Counted like any other answer.
    let counted = service
        .metric(
            m::QUERIES,
            &[
                ("transport", "udp"),
                ("service", "root"),
                ("qtype", "NS"),
                ("rcode", "NOERROR"),
            ],
        )
        .await
        .unwrap();
    assert_eq!(counted, Some(2.0));

    // The spelling is part of the key (the root echoes it in record data, as hsd does).
    let cased = udp(root, &query("BeNcH3.", RecordType::NS, true)).await;
    assert_eq!(cased.queries[0].name().to_ascii(), "BeNcH3.");
    assert_eq!(packets("miss").await, 2.0);
    // DO is part of the key: without it the answer has no RRSIGs (a miss, then built anew).
    let plain = udp(root, &query("bench3.", RecordType::NS, false)).await;
    assert_eq!(packets("miss").await, 3.0);
    assert!(
        plain
            .answers
            .iter()
            .chain(&plain.authorities)
            .all(|r| r.record_type() != RecordType::RRSIG)
    );
    // Over TCP the same question is another entry (its size limit differs).
    let over_tcp = tcp(root, &query("bench3.", RecordType::NS, true)).await;
    assert_eq!(over_tcp.authorities, first.authorities);
    assert_eq!(packets("miss").await, 4.0);

    // Failures are never stored: a query the frontend refuses stays a miss each time.
    let chaos = udp_raw(root, &{
        let mut q = query("bench3.", RecordType::NS, false).to_vec().unwrap();
        // QCLASS CH instead of IN.
        let at = q.len() - 11 - 2;
        q[at..at + 2].copy_from_slice(&3u16.to_be_bytes());
        q
    })
    .await;
    assert!(chaos.is_some());
    assert_eq!(packets("hit").await, 1.0);
}

#[tokio::test]
async fn a_zero_packet_cache_capacity_turns_the_packet_cache_off() {
    let tier = Tier::start(5).await;
    let service = frontend(
        &tier.cache_url,
        &["--packet-cache-capacity", "0 B"],
        "frontend-no-packet-cache",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let root = service.addr("root").unwrap();
    for _ in 0..3 {
        let answer = udp(root, &query("bench3.", RecordType::NS, true)).await;
        assert_eq!(answer.response_code, ResponseCode::NoError);
    }
    let misses = service
        .metric(m::PACKET_CACHE, &[("result", "miss")])
        .await
        .unwrap();
    let hits = service
        .metric(m::PACKET_CACHE, &[("result", "hit")])
        .await
        .unwrap();
    assert_eq!((misses, hits), (Some(0.0), Some(0.0)));
    let root_answers = service
        .metric(m::ROOT_ANSWERS, &[("result", "hit")])
        .await
        .unwrap();
    assert_eq!(
        root_answers,
        Some(2.0),
        "every query reached the root authority"
    );
}

#[tokio::test]
async fn a_burst_of_datagrams_gets_every_answer_and_oversized_ones_are_dropped() {
    let tier = Tier::start(5).await;
    let service = frontend(&tier.cache_url, &[], "frontend-udp-burst").await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let dns = service.addr("dns").unwrap();
    let socket = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
    // Longer than the largest datagram read: dropped whole, never answered as a cut-off query.
    let mut oversized = query(".", RecordType::NS, false);
    oversized.metadata.id = 0;
    let mut oversized = oversized.to_vec().unwrap();
    oversized.resize(5000, 0);
    socket.send_to(&oversized, dns).await.unwrap();
    // 200 queries sent back to back (read in batches), half of them repeats (packet-cache
    // hits answered inline, the others resolved in tasks): one answer per ID.
    let mut sent = std::collections::BTreeSet::new();
    for id in 1..=200u16 {
        let mut q = if id % 2 == 0 {
            query(".", RecordType::NS, false)
        } else {
            query(&format!("bench{}.", id % 5), RecordType::NS, false)
        };
        q.metadata.id = id;
        socket.send_to(&q.to_vec().unwrap(), dns).await.unwrap();
        sent.insert(id);
    }
    let mut answered = std::collections::BTreeSet::new();
    let mut buffer = vec![0u8; 65_535];
    while answered.len() < sent.len() {
        let (len, _) = tokio::time::timeout(Duration::from_secs(10), socket.recv_from(&mut buffer))
            .await
            .expect("every query is answered")
            .unwrap();
        let answer = hickory_proto::op::Message::from_vec(&buffer[..len]).unwrap();
        assert!(
            answer.id != 0,
            "the oversized datagram (ID 0) got an answer"
        );
        assert!(
            answered.insert(answer.id),
            "ID {} answered twice",
            answer.id
        );
    }
    assert_eq!(answered, sent);
    let counted = service
        .metric(m::QUERIES, &[("transport", "udp"), ("qtype", "NS")])
        .await
        .unwrap();
    assert_eq!(counted, Some(200.0));
}

#[tokio::test]
async fn doh_json_answers_like_the_public_json_apis() {
    let tier = Tier::start(5).await;
    let service = frontend(
        &tier.cache_url,
        &["--doh-listen", "127.0.0.1:0", "--self-signed"],
        "frontend-doh-json",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let base = format!("https://127.0.0.1:{}", service.addr("doh").unwrap().port());
    let curl = |extra: Vec<String>| async move {
        let mut args: Vec<String> = vec!["-sk".into(), "-w\n%{http_code} %{content_type}".into()];
        args.extend(extra);
        let args: Vec<&str> = args.iter().map(String::as_str).collect();
        let out = run_client("curl", &args).await;
        let (body, status) = out.rsplit_once('\n').unwrap();
        (body.to_string(), status.to_string())
    };
    // Cloudflare's form: /dns-query with accept: application/dns-json.
    let (body, status) = curl(vec![
        "-Haccept: application/dns-json".into(),
        format!("{base}/dns-query?name=.&type=SOA"),
    ])
    .await;
    assert_eq!(status, "200 application/dns-json");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["Status"], 0, "{json}");
    assert_eq!(json["RA"], true);
    assert_eq!(json["Question"][0]["name"], ".");
    assert_eq!(json["Answer"][0]["type"], 6, "{json}");
    // The same over HTTP/1.1, and the wire form too.
    let (body, status) = curl(vec![
        "--http1.1".into(),
        "-Haccept: application/dns-json".into(),
        format!("{base}/dns-query?name=.&type=SOA"),
    ])
    .await;
    assert_eq!(status, "200 application/dns-json");
    assert!(body.contains("\"Status\":0"), "{body}");
    let (_, status) = curl(vec![
        "--http1.1".into(),
        "-o/dev/null".into(),
        format!("{base}/dns-query?dns=AAABAAABAAAAAAAAAAAGAAE"),
    ])
    .await;
    assert_eq!(status, "200 application/dns-message");
    // Google's form: /resolve; an absent name is NXDOMAIN (Status 3).
    let (body, status) = curl(vec![format!("{base}/resolve?name=nosuchname&type=A")]).await;
    assert_eq!(status, "200 application/json");
    let json: serde_json::Value = serde_json::from_str(&body).unwrap();
    assert_eq!(json["Status"], 3, "{json}");
    assert_eq!(json["Question"][0]["type"], 1);
    // Bad parameters: 400 with the reason; another method on /resolve: 405.
    let (body, status) = curl(vec![format!("{base}/resolve?name=fleet&type=NOPE")]).await;
    assert!(status.starts_with("400"), "{status}");
    assert!(body.contains("type"), "{body}");
    let (_, status) = curl(vec![format!("{base}/resolve?type=A")]).await;
    assert!(status.starts_with("400"), "{status}");
    let (_, status) = curl(vec![
        "-XPOST".into(),
        "--data-binary".into(),
        "x".into(),
        format!("{base}/resolve?name=fleet"),
    ])
    .await;
    assert!(status.starts_with("405"), "{status}");
    // JSON queries are counted like wire ones.
    let https = service
        .metric(m::QUERIES, &[("transport", "https")])
        .await
        .unwrap();
    assert_eq!(
        https,
        Some(4.0),
        "the three valid JSON queries and the wire one went through the pipeline"
    );
}
