//! Abuse limits of the `hnsfleet-frontend` binary, each with a second client that must stay
//! served: a spoofed-source UDP flood from one /24 (response rate limiting: TC slips and drops),
//! a flood of new TLS connections from one /24 (the handshake budget), a prefix over its
//! connection limit, and ANY answered as RFC 8482 says. All of 127/8 is loopback on Linux, so
//! 127.0.0.x is "the attacking /24" and 127.0.1.1 "another network". The floods print what
//! they measured; assertions are on counts, not on timing.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr, SocketAddr};
use std::sync::Arc;
use std::sync::atomic::{AtomicBool, AtomicU64, Ordering};
use std::time::Duration;

use common::secure::{certificate, connector};
use common::{Tier, frontend, query};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{RData, RecordType};
use hnsfleet_frontend::metrics as m;
use hnsfleet_testkit::service::ServiceProcess;
use rustls::pki_types::ServerName;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream, UdpSocket};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;

/// The attackers' /24.
fn attacker(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
}

/// The well-behaved client, on another /24.
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1));

/// A TCP connection to `server` from `local`.
async fn connect_from(local: IpAddr, server: SocketAddr) -> std::io::Result<TcpStream> {
    let socket = TcpSocket::new_v4()?;
    socket.bind(SocketAddr::new(local, 0))?;
    socket.connect(server).await
}

/// Sends `message` length-prefixed on `stream` and reads one answer within 5 s.
async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    message: &Message,
) -> std::io::Result<Message> {
    let bytes = message.to_vec().unwrap();
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    stream.write_all(&framed).await?;
    let read = async {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .map_err(|_| std::io::Error::other("no answer within 5 s"))??;
    Message::from_vec(&answer).map_err(std::io::Error::other)
}

/// One DoT query on a new connection from `local`: the answer, or why there was none.
async fn dot_once(
    local: IpAddr,
    server: SocketAddr,
    connector: &TlsConnector,
    message: &Message,
) -> std::io::Result<Message> {
    let tcp = connect_from(local, server).await?;
    let name = ServerName::try_from("localhost").unwrap();
    let mut tls = tokio::time::timeout(Duration::from_secs(5), connector.connect(name, tcp))
        .await
        .map_err(|_| std::io::Error::other("tls handshake timed out"))??;
    let answer = exchange(&mut tls, message).await;
    let _ = tls.shutdown().await;
    answer
}

/// Polls `metric{labels}` until it reaches `at_least`; its value then.
async fn metric_reaches(
    service: &ServiceProcess,
    name: &str,
    labels: &[(&str, &str)],
    at_least: f64,
) -> f64 {
    service
        .poll(Duration::from_secs(5), name, async |s| {
            let value = s.metric(name, labels).await.ok().flatten()?;
            (value >= at_least).then_some(value)
        })
        .await
        .unwrap()
}

/// The value of `metric{labels}` (0 when absent).
async fn metric(service: &ServiceProcess, name: &str, labels: &[(&str, &str)]) -> f64 {
    service
        .metric(name, labels)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// The well-behaved UDP client: `count` queries in turn from `OTHER`, each retried up to 3
/// times (1 s apart) as a stub resolver does; (answered with data, truncated, retries needed).
async fn udp_client(server: SocketAddr, count: u16) -> (u32, u32, u32) {
    let socket = UdpSocket::bind(SocketAddr::new(OTHER, 0)).await.unwrap();
    let mut buffer = vec![0u8; 65_535];
    let (mut answered, mut truncated, mut retries) = (0, 0, 0);
    for id in 1..=count {
        let mut q = query(".", RecordType::NS, false);
        q.metadata.id = id;
        let bytes = q.to_vec().unwrap();
        for attempt in 0..3 {
            socket.send_to(&bytes, server).await.unwrap();
            let got = tokio::time::timeout(Duration::from_secs(1), async {
                loop {
                    let (len, _) = socket.recv_from(&mut buffer).await.unwrap();
                    let answer = Message::from_vec(&buffer[..len]).unwrap();
                    if answer.id == id {
                        return answer;
                    }
                }
            })
            .await;
            if let Ok(answer) = got {
                retries += attempt;
                if answer.truncation {
                    truncated += 1;
                } else if answer.response_code == ResponseCode::NoError
                    && !answer.answers.is_empty()
                {
                    answered += 1;
                }
                break;
            }
        }
    }
    (answered, truncated, retries)
}

#[tokio::test]
async fn a_spoofed_udp_flood_from_one_prefix_gets_slips_and_drops_while_another_is_answered() {
    const RATE: f64 = 200.0;
    let tier = Tier::start(5).await;
    let service = frontend(
        &tier.cache_url,
        // The other client's 100 queries fit in the burst: it is never over the limit.
        &["--rrl-rate", "200", "--rrl-burst", "200", "--rrl-slip", "2"],
        "frontend-rrl-flood",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let dns = service.addr("dns").unwrap();

    // The flood: 19 sources in 127.0.0.0/24 (what spoofing one victim network looks like),
    // each sending 10 queries every 5 ms until the other client is done (at most 20,000).
    let done = Arc::new(AtomicBool::new(false));
    let (sent, full, slips) = (
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
        Arc::new(AtomicU64::new(0)),
    );
    let started = Instant::now();
    let mut flooders = Vec::new();
    for host in 2..=20u8 {
        let socket = Arc::new(
            UdpSocket::bind(SocketAddr::new(attacker(host), 0))
                .await
                .unwrap(),
        );
        let receiver = {
            let (socket, full, slips) =
                (Arc::clone(&socket), Arc::clone(&full), Arc::clone(&slips));
            tokio::spawn(async move {
                let mut buffer = vec![0u8; 65_535];
                while let Ok((len, _)) = socket.recv_from(&mut buffer).await {
                    let answer = Message::from_vec(&buffer[..len]).unwrap();
                    if answer.truncation {
                        assert!(answer.answers.is_empty() && answer.authorities.is_empty());
                        assert!(
                            len <= 40,
                            "a slip is no larger than the query ({len} bytes)"
                        );
                        slips.fetch_add(1, Ordering::Relaxed);
                    } else {
                        full.fetch_add(1, Ordering::Relaxed);
                    }
                }
            })
        };
        let (done, sent) = (Arc::clone(&done), Arc::clone(&sent));
        let sender = tokio::spawn(async move {
            let bytes = query(".", RecordType::NS, false).to_vec().unwrap();
            let mut tick = tokio::time::interval(Duration::from_millis(5));
            while !done.load(Ordering::Relaxed) && sent.load(Ordering::Relaxed) < 20_000 {
                tick.tick().await;
                for _ in 0..10 {
                    socket.send_to(&bytes, dns).await.unwrap();
                    sent.fetch_add(1, Ordering::Relaxed);
                }
            }
        });
        flooders.push((sender, receiver));
    }
    // Let the flood spend its burst first, then the other client asks 100 questions.
    metric_reaches(&service, m::RRL, &[("action", "drop")], 1.0).await;
    let (answered, truncated, retries) = udp_client(dns, 100).await;
    done.store(true, Ordering::Relaxed);
    let elapsed = started.elapsed();
    for (sender, _) in &mut flooders {
        sender.await.unwrap();
    }
    let sent = sent.load(Ordering::Relaxed);
    // The server has seen every datagram the kernel delivered once its counts stand still.
    let mut last = None;
    let counted = service
        .poll(
            Duration::from_secs(5),
            "the flood's counts settle",
            async |s| {
                let slip = s.metric(m::RRL, &[("action", "slip")]).await.ok()??;
                let drop = s.metric(m::RRL, &[("action", "drop")]).await.ok()??;
                let udp = s.metric(m::QUERIES, &[("transport", "udp")]).await.ok()??;
                let now = (slip, drop, udp);
                (last.replace(now) == Some(now)).then_some(now)
            },
        )
        .await
        .unwrap();
    let (slip, drop, udp_queries) = counted;
    let (full, slips) = (full.load(Ordering::Relaxed), slips.load(Ordering::Relaxed));
    for (_, receiver) in flooders {
        receiver.abort();
    }
    println!(
        "RRL flood: {sent} datagrams from 19 sources in 127.0.0.0/24 in {:.2} s \
         ({:.0}/s); server: {slip} slipped (TC=1), {drop} dropped, {} answered; \
         flooders received {full} answers and {slips} slips. Other client (127.0.1.1): \
         {answered}/100 answered, {truncated} truncated, {retries} retries",
        elapsed.as_secs_f64(),
        sent as f64 / elapsed.as_secs_f64(),
        udp_queries - f64::from(answered),
    );
    assert_eq!(answered, 100, "the other network gets every answer");
    assert_eq!(truncated, 0, "the other network is never sent to TCP");
    assert!(slip >= 1.0 && drop >= 1.0, "slip {slip}, drop {drop}");
    // slip 2: every second over-limit datagram slips (the first one drops).
    assert!(
        drop - slip == 0.0 || drop - slip == 1.0,
        "slip {slip}, drop {drop}"
    );
    // The flood got no more real answers than its burst and rate allow.
    let allowed = 200.0 + RATE * elapsed.as_secs_f64() + 1.0 + f64::from(retries);
    let flood_answered = udp_queries - 100.0;
    assert!(
        flood_answered <= allowed,
        "flood answered {flood_answered} > {allowed}"
    );
    assert!(full as f64 <= flood_answered && slips as f64 <= slip);
}

#[tokio::test]
async fn a_tls_handshake_flood_from_one_prefix_leaves_another_prefix_served() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der) = certificate(dir.path());
    let service = frontend(
        &tier.cache_url,
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
            "--tls-handshake-rate",
            "20",
            // The other client's 30 connections fit in the burst.
            "--tls-handshake-burst",
            "40",
        ],
        "frontend-handshake-flood",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let dot = service.addr("dot").unwrap();
    let connector = connector(&der, b"dot");
    let question = query(".", RecordType::SOA, false);

    // The other network's latency without a flood, for comparison (5 connections: with the
    // 30 below, within its burst of 40).
    let mut quiet = Vec::new();
    for _ in 0..5 {
        let asked = Instant::now();
        dot_once(OTHER, dot, &connector, &question).await.unwrap();
        quiet.push(asked.elapsed());
    }
    quiet.sort();

    // The flood: 16 workers from 127.0.0.2..=17, each opening a new connection for one query,
    // again and again, until the other client is done (at most 20,000 attempts).
    let done = Arc::new(AtomicBool::new(false));
    let (attempts, served) = (Arc::new(AtomicU64::new(0)), Arc::new(AtomicU64::new(0)));
    let started = Instant::now();
    let mut workers = Vec::new();
    for host in 2..=17u8 {
        let (done, attempts, served) = (done.clone(), attempts.clone(), served.clone());
        let (connector, question) = (connector.clone(), question.clone());
        workers.push(tokio::spawn(async move {
            while !done.load(Ordering::Relaxed) && attempts.load(Ordering::Relaxed) < 20_000 {
                attempts.fetch_add(1, Ordering::Relaxed);
                if dot_once(attacker(host), dot, &connector, &question)
                    .await
                    .is_ok()
                {
                    served.fetch_add(1, Ordering::Relaxed);
                }
            }
        }));
    }
    metric_reaches(
        &service,
        m::CONNECTIONS_REFUSED,
        &[("reason", "handshake_rate")],
        1.0,
    )
    .await;
    // The other network: 30 queries, each on a new connection, timed; on a runtime of its own,
    // so its latency is not the flooders' turn on this test's thread.
    let (mut latencies, failures) = {
        let (connector, question) = (connector.clone(), question.clone());
        tokio::task::spawn_blocking(move || {
            let runtime = tokio::runtime::Builder::new_current_thread()
                .enable_all()
                .build()
                .unwrap();
            runtime.block_on(async {
                let (mut latencies, mut failures) = (Vec::new(), Vec::new());
                for _ in 0..30 {
                    let asked = Instant::now();
                    match dot_once(OTHER, dot, &connector, &question).await {
                        Ok(answer) if answer.response_code == ResponseCode::NoError => {
                            latencies.push(asked.elapsed());
                        }
                        Ok(answer) => failures.push(format!("{:?}", answer.response_code)),
                        Err(error) => failures.push(error.to_string()),
                    }
                }
                (latencies, failures)
            })
        })
        .await
        .unwrap()
    };
    done.store(true, Ordering::Relaxed);
    for worker in workers {
        worker.await.unwrap();
    }
    let elapsed = started.elapsed();
    let refused = metric(
        &service,
        m::CONNECTIONS_REFUSED,
        &[("reason", "handshake_rate")],
    )
    .await;
    latencies.sort();
    let ms = |d: Duration| d.as_secs_f64() * 1000.0;
    let (attempts, served) = (
        attempts.load(Ordering::Relaxed),
        served.load(Ordering::Relaxed),
    );
    println!(
        "TLS handshake flood: {attempts} new connections from 127.0.0.0/24 in {:.2} s \
         ({:.0}/s), {served} served, {refused} refused before the handshake. Other client \
         (127.0.1.1): {}/30 served, latency p50 {:.1} ms, max {:.1} ms (without the flood: \
         p50 {:.1} ms)",
        elapsed.as_secs_f64(),
        attempts as f64 / elapsed.as_secs_f64(),
        latencies.len(),
        latencies.get(latencies.len() / 2).copied().map_or(0.0, ms),
        latencies.last().copied().map_or(0.0, ms),
        ms(quiet[quiet.len() / 2]),
    );
    assert!(
        failures.is_empty(),
        "the other network failed: {failures:?}"
    );
    assert!(refused >= 1.0);
    // The flooding prefix got no more handshakes than its burst and rate allow.
    let allowed = 40.0 + 20.0 * elapsed.as_secs_f64() + 1.0;
    assert!((served as f64) <= allowed, "{served} served > {allowed}");
}

#[tokio::test]
async fn a_prefix_over_its_connection_limit_is_refused_while_another_connects() {
    let tier = Tier::start(5).await;
    let service = frontend(
        &tier.cache_url,
        &["--max-connections-per-prefix", "3"],
        "frontend-prefix-connections",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let dns = service.addr("dns").unwrap();
    let question = query(".", RecordType::SOA, false);
    // Three connections from the /24 (different hosts), each answered and held open.
    let mut held = Vec::new();
    for host in 2..=4u8 {
        let mut stream = connect_from(attacker(host), dns).await.unwrap();
        exchange(&mut stream, &question).await.unwrap();
        held.push(stream);
    }
    // A fourth from the same /24 is closed unanswered.
    let mut fourth = connect_from(attacker(5), dns).await.unwrap();
    assert!(exchange(&mut fourth, &question).await.is_err());
    let refused = metric_reaches(
        &service,
        m::CONNECTIONS_REFUSED,
        &[("reason", "prefix_connections")],
        1.0,
    )
    .await;
    assert_eq!(refused, 1.0);
    // Another network connects and is answered meanwhile.
    let mut other = connect_from(OTHER, dns).await.unwrap();
    assert_eq!(
        exchange(&mut other, &question).await.unwrap().response_code,
        ResponseCode::NoError
    );
    // One of the three goes: the prefix may connect again.
    drop(held.pop());
    let answered = service
        .poll(Duration::from_secs(5), "a slot given back", async |_| {
            let mut stream = connect_from(attacker(6), dns).await.ok()?;
            exchange(&mut stream, &question).await.ok()
        })
        .await
        .unwrap();
    assert_eq!(answered.response_code, ResponseCode::NoError);
    assert_eq!(
        metric(
            &service,
            m::CONNECTIONS_REFUSED,
            &[("reason", "max_connections")]
        )
        .await,
        0.0
    );
}

#[tokio::test]
async fn any_gets_the_rfc8482_answer_over_udp_and_tcp_and_the_root_answers_as_hsd() {
    let tier = Tier::start(5).await;
    let service = frontend(&tier.cache_url, &[], "frontend-any").await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let dns = service.addr("dns").unwrap();
    for dnssec_ok in [false, true] {
        let question = query("bench1.", RecordType::ANY, dnssec_ok);
        for answer in [
            common::udp(dns, &question).await,
            common::tcp(dns, &question).await,
        ] {
            assert_eq!(answer.response_code, ResponseCode::NoError);
            assert!(answer.recursion_available);
            assert_eq!(answer.answers.len(), 1, "{:?}", answer.answers);
            assert!(answer.authorities.is_empty());
            let record = &answer.answers[0];
            assert_eq!(record.name.to_ascii(), "bench1.");
            let RData::HINFO(hinfo) = &record.data else {
                panic!("not HINFO: {record:?}")
            };
            assert_eq!(&*hinfo.cpu, b"RFC8482");
            assert!(hinfo.os.is_empty());
        }
    }
    // The root authority answers `. ANY` as hsd's root does: the apex NS set, no HINFO.
    let root = service.addr("root").unwrap();
    let answer = common::udp(root, &query(".", RecordType::ANY, false)).await;
    assert_eq!(answer.response_code, ResponseCode::NoError);
    assert!(!answer.answers.is_empty());
    assert!(
        answer
            .answers
            .iter()
            .all(|r| r.record_type() == RecordType::NS),
        "{:?}",
        answer.answers
    );
}
