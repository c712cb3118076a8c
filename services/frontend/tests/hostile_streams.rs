//! Hostile stream clients against the `hnsfleet-frontend` binary: a TCP client that pipelines
//! queries and never reads its answers, clients stalled half-way through a length-prefixed
//! message (TCP and DoT), an HTTP/2 client that answers pings but never asks anything (and
//! HTTP/1.1 ones that go quiet), and DoH connections beyond `max_connections`. Each must cost
//! the server a bounded time, while other clients keep being answered.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::secure::{certificate, connector, tls_connect};
use common::{Tier, frontend, query, tcp};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use hnsfleet_frontend::metrics as m;
use hnsfleet_testkit::service::ServiceProcess;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;
use tokio_rustls::client::TlsStream;

/// The idle timeout every test here runs with.
const IDLE: Duration = Duration::from_secs(1);
/// A root SOA query, base64url (RFC 8484 GET).
const SOA_GET: &str = "/dns-query?dns=AAABAAABAAAAAAAAAAAGAAE";

/// Reads (and discards) until the server closes the stream or `within` passes; when it was
/// closed, or `None` if it stayed open.
async fn closed_within<S: AsyncRead + Unpin>(stream: &mut S, within: Duration) -> Option<Instant> {
    let mut buffer = vec![0u8; 64 * 1024];
    let drained = async {
        loop {
            match stream.read(&mut buffer).await {
                Ok(0) | Err(_) => return,
                Ok(_) => {}
            }
        }
    };
    tokio::time::timeout(within, drained)
        .await
        .ok()
        .map(|()| Instant::now())
}

/// A frontend with `idle` as its idle timeout, a certificate from `dir` and `flags`.
async fn frontend_with_tls(
    tier: &Tier,
    dir: &Path,
    idle: Duration,
    flags: &[&str],
    log: &str,
) -> (ServiceProcess, CertificateDer<'static>) {
    let (cert, key, der) = certificate(dir);
    let idle = format!("{}ms", idle.as_millis());
    let mut all = vec![
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
        "--idle-timeout",
        &idle,
    ];
    all.extend_from_slice(flags);
    let service = frontend(&tier.cache_url, &all, log).await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    (service, der)
}

/// Polls `metric{labels}` until it reaches `at_least`.
async fn metric_reaches(
    service: &ServiceProcess,
    name: &str,
    labels: &[(&str, &str)],
    at_least: f64,
) {
    service
        .poll(Duration::from_secs(10), name, async |s| {
            let value = s.metric(name, labels).await.ok().flatten()?;
            (value >= at_least).then_some(value)
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn a_tcp_client_that_never_reads_is_closed_and_others_are_still_answered() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (service, _) =
        frontend_with_tls(&tier, dir.path(), IDLE, &[], "frontend-never-reads").await;
    let root = service.addr("root").unwrap();
    let question = query(".", RecordType::DNSKEY, true);
    let size = tcp(root, &question).await.to_vec().unwrap().len();
    // Far more answers than the socket buffers on both sides hold.
    let count = (16 * 1024 * 1024 / size).max(4_000);
    let wire = question.to_vec().unwrap();
    let mut batch = Vec::with_capacity(count * (wire.len() + 2));
    for _ in 0..count {
        batch.extend_from_slice(&(wire.len() as u16).to_be_bytes());
        batch.extend_from_slice(&wire);
    }
    let socket = TcpSocket::new_v4().unwrap();
    socket.set_recv_buffer_size(4096).unwrap();
    let stream = socket.connect(root).await.unwrap();
    let (mut unread, mut writer) = stream.into_split();
    let started = Instant::now();
    // The writes stall too once the server stops reading; they end when it closes.
    let flood = tokio::spawn(async move {
        let _ = writer.write_all(&batch).await;
        writer
    });

    // Other clients are answered all the while the flood is held, until it is dropped.
    let mut answered = 0;
    service
        .poll(Duration::from_secs(10), "write timeout", async |s| {
            let answer = tcp(root, &query(".", RecordType::SOA, false)).await;
            assert_eq!(answer.response_code, ResponseCode::NoError);
            answered += 1;
            let dropped = s.metric(m::DROPPED, &[("reason", "write_timeout")]);
            dropped.await.ok().flatten().filter(|d| *d >= 1.0)
        })
        .await
        .unwrap();
    assert!(answered >= 5, "{answered} answers while the flood was held");
    assert!(
        started.elapsed() < Duration::from_secs(8),
        "write timeout took {:?}",
        started.elapsed()
    );
    // The connection is closed: what was sent can be read, then the stream ends.
    assert!(
        closed_within(&mut unread, Duration::from_secs(5))
            .await
            .is_some(),
        "the server kept a client that does not read"
    );
    let _ = tokio::time::timeout(Duration::from_secs(5), flood).await;
    // Its permit is back, and the server still answers.
    service
        .poll(Duration::from_secs(5), "connection closed", async |s| {
            let open = s.metric(m::CONNECTIONS, &[]).await.ok().flatten()?;
            (open == 0.0).then_some(open)
        })
        .await
        .unwrap();
    let answer = tcp(root, &query(".", RecordType::SOA, false)).await;
    assert_eq!(answer.response_code, ResponseCode::NoError);
}

#[tokio::test]
async fn a_client_stalled_half_way_through_a_message_is_closed_after_the_idle_timeout() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (service, der) = frontend_with_tls(
        &tier,
        dir.path(),
        IDLE,
        &["--dot-listen", "127.0.0.1:0"],
        "frontend-half-message",
    )
    .await;
    let dns = service.addr("dns").unwrap();
    let dot = connector(&der, b"dot");
    let wire = query(".", RecordType::SOA, false).to_vec().unwrap();
    let mut whole = (wire.len() as u16).to_be_bytes().to_vec();
    whole.extend_from_slice(&wire);
    // Half the length prefix; the length and half the body.
    let partials = [whole[..1].to_vec(), whole[..2 + wire.len() / 2].to_vec()];
    let mut stalls = Vec::new();
    let dot_addr = service.addr("dot").unwrap();
    for partial in &partials {
        let (partial_tcp, partial_tls, dot) = (partial.clone(), partial.clone(), dot.clone());
        stalls.push(tokio::spawn(async move {
            let mut stream = TcpStream::connect(dns).await.unwrap();
            stream.write_all(&partial_tcp).await.unwrap();
            let sent = Instant::now();
            (
                sent,
                closed_within(&mut stream, Duration::from_secs(6)).await,
            )
        }));
        stalls.push(tokio::spawn(async move {
            let mut stream = tls_connect(dot_addr, &dot).await.unwrap();
            stream.write_all(&partial_tls).await.unwrap();
            stream.flush().await.unwrap();
            let sent = Instant::now();
            (
                sent,
                closed_within(&mut stream, Duration::from_secs(6)).await,
            )
        }));
    }
    // A whole query on a connection of its own is answered meanwhile.
    let answer = tcp(dns, &query(".", RecordType::SOA, false)).await;
    assert_eq!(answer.response_code, ResponseCode::NoError);
    for stall in stalls {
        let (sent, closed) = stall.await.unwrap();
        let took = closed.expect("a stalled message closes the connection") - sent;
        // Not before the idle timeout (the server waited for the rest), and not long after.
        assert!(
            took >= IDLE - Duration::from_millis(100),
            "closed after {took:?}"
        );
        assert!(took < IDLE * 4, "closed after {took:?}");
    }
    service
        .poll(Duration::from_secs(5), "connections closed", async |s| {
            let open = s.metric(m::CONNECTIONS, &[]).await.ok().flatten()?;
            (open == 0.0).then_some(open)
        })
        .await
        .unwrap();
}

/// An HTTP/2 connection over `tls`: the request sender, and a task driving the connection
/// (answering the server's pings) that ends when the server closes it.
async fn h2_client(
    tls: TlsStream<TcpStream>,
) -> (
    h2::client::SendRequest<bytes::Bytes>,
    tokio::task::JoinHandle<Instant>,
) {
    let (sender, connection) = h2::client::handshake(tls).await.unwrap();
    let driver = tokio::spawn(async move {
        let _ = connection.await;
        Instant::now()
    });
    (sender, driver)
}

/// A GET for the root SOA on `sender`; its status.
async fn h2_get(sender: &mut h2::client::SendRequest<bytes::Bytes>) -> u16 {
    let request = http::Request::get(format!("https://localhost{SOA_GET}"))
        .body(())
        .unwrap();
    let ready = sender.clone().ready().await.unwrap();
    *sender = ready;
    let (response, _) = sender.send_request(request, true).unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), response)
        .await
        .unwrap()
        .unwrap();
    response.status().as_u16()
}

#[tokio::test]
async fn doh_connections_without_requests_are_closed_after_the_idle_timeout() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (service, der) = frontend_with_tls(
        &tier,
        dir.path(),
        IDLE,
        &["--doh-listen", "127.0.0.1:0"],
        "frontend-doh-idle",
    )
    .await;
    let doh = service.addr("doh").unwrap();
    let h2 = connector(&der, b"h2");

    // An HTTP/2 client that answers pings and never asks anything.
    let started = Instant::now();
    let (_silent_sender, silent) = h2_client(tls_connect(doh, &h2).await.unwrap()).await;
    // An HTTP/2 client asking every 300 ms: its connection stays open past the idle timeout.
    let (mut busy_sender, busy) = h2_client(tls_connect(doh, &h2).await.unwrap()).await;
    let asking = tokio::spawn(async move {
        loop {
            assert_eq!(h2_get(&mut busy_sender).await, 200);
            let last = Instant::now();
            if started.elapsed() >= IDLE * 5 / 2 {
                // The sender is kept: without one, the client itself would close.
                return (busy_sender, last);
            }
            tokio::time::sleep(Duration::from_millis(300)).await;
        }
    });
    // HTTP/1.1 clients: one says nothing after the handshake, one goes quiet after a request.
    let http1 = connector(&der, b"http/1.1");
    let mut mute = tls_connect(doh, &http1).await.unwrap();
    let mute_connected = Instant::now();
    let mut quiet = tls_connect(doh, &http1).await.unwrap();
    quiet
        .write_all(format!("GET {SOA_GET} HTTP/1.1\r\nhost: localhost\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut head = [0u8; 12];
    quiet.read_exact(&mut head).await.unwrap();
    let answered = Instant::now();
    assert_eq!(&head, b"HTTP/1.1 200");
    let (mute_closed, quiet_closed) = tokio::join!(
        closed_within(&mut mute, Duration::from_secs(6)),
        closed_within(&mut quiet, Duration::from_secs(6)),
    );
    for (what, since, closed) in [
        ("mute", mute_connected, mute_closed),
        ("quiet", answered, quiet_closed),
    ] {
        let took = closed.unwrap_or_else(|| panic!("{what} HTTP/1.1 connection kept open")) - since;
        assert!(
            took >= IDLE - Duration::from_millis(200) && took < IDLE * 4,
            "{what}: closed after {took:?}"
        );
    }
    let (_busy_sender, last) = asking.await.unwrap();
    let closed_at = tokio::time::timeout(Duration::from_secs(5), silent)
        .await
        .expect("the silent HTTP/2 connection closed")
        .unwrap();
    let took = closed_at - started;
    assert!(
        took >= IDLE - Duration::from_millis(100) && took < IDLE * 4,
        "silent HTTP/2 connection closed after {took:?}"
    );
    assert!(!busy.is_finished(), "a connection in use was closed");
    // Once it stops asking, the busy one goes too.
    let closed_at = tokio::time::timeout(Duration::from_secs(6), busy)
        .await
        .expect("the HTTP/2 connection closed once idle")
        .unwrap();
    assert!(closed_at - last >= IDLE - Duration::from_millis(200));
    service
        .poll(Duration::from_secs(5), "connections closed", async |s| {
            let open = s.metric(m::CONNECTIONS, &[]).await.ok().flatten()?;
            (open == 0.0).then_some(open)
        })
        .await
        .unwrap();
}

#[tokio::test]
async fn max_connections_refuses_doh_connections_beyond_the_limit() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (service, der) = frontend_with_tls(
        &tier,
        dir.path(),
        // Long enough that the two held connections stay open through the test.
        Duration::from_secs(30),
        &["--doh-listen", "127.0.0.1:0", "--max-connections", "2"],
        "frontend-doh-max-connections",
    )
    .await;
    let doh = service.addr("doh").unwrap();
    let h2 = connector(&der, b"h2");
    let mut held = Vec::new();
    for _ in 0..2 {
        let (mut sender, driver) = h2_client(tls_connect(doh, &h2).await.unwrap()).await;
        assert_eq!(h2_get(&mut sender).await, 200);
        held.push((sender, driver));
    }
    // The third is closed at once: its handshake fails, and it is counted.
    assert!(tls_connect(doh, &h2).await.is_err());
    metric_reaches(&service, m::CONNECTIONS_REFUSED, &[], 1.0).await;
    assert_eq!(
        service.metric(m::CONNECTIONS, &[]).await.unwrap(),
        Some(2.0)
    );
    // One goes: a new connection gets its place.
    let (sender, driver) = held.pop().unwrap();
    drop(sender);
    driver.abort();
    service
        .poll(Duration::from_secs(5), "a place free", async |s| {
            let open = s.metric(m::CONNECTIONS, &[]).await.ok().flatten()?;
            (open == 1.0).then_some(open)
        })
        .await
        .unwrap();
    let (mut sender, _driver) = h2_client(tls_connect(doh, &h2).await.unwrap()).await;
    assert_eq!(h2_get(&mut sender).await, 200);
    assert_eq!(
        service.metric(m::CONNECTIONS_REFUSED, &[]).await.unwrap(),
        Some(1.0)
    );
}
