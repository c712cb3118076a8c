//! Hostile stream clients against the `hnsfleet-frontend` binary: a TCP client that pipelines
//! queries and never reads its answers, clients stalled half-way through a length-prefixed
//! message (TCP and DoT), an HTTP/2 client that answers pings but never asks anything (and
//! HTTP/1.1 ones that go quiet), an HTTP/2 client opening more streams than the server allows,
//! and DoH connections beyond `max_connections`. Each must cost
//! the server a bounded time, while other clients keep being answered.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::path::Path;
use std::time::Duration;

use common::{
    SOA_GET, Tier, certificate, connector, frontend, h2_client, h2_get, metric_reaches, query, tcp,
    tls_connect,
};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use hnsfleet_frontend::metrics as m;
use hnsfleet_testkit::service::ServiceProcess;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpSocket, TcpStream};
use tokio::time::Instant;

/// The idle timeout every test here runs with.
const IDLE: Duration = Duration::from_secs(1);

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

/// An HTTP/2 frame header: length, type, flags, stream.
fn h2_frame(kind: u8, flags: u8, stream: u32, payload: &[u8]) -> Vec<u8> {
    let len = u32::try_from(payload.len()).unwrap().to_be_bytes();
    let mut frame = vec![len[1], len[2], len[3], kind, flags];
    frame.extend_from_slice(&stream.to_be_bytes());
    frame.extend_from_slice(payload);
    frame
}

/// Reads HTTP/2 frames until one of type `kind` on `stream` arrives (its payload), or the
/// connection ends or 5 s pass (`None`).
async fn h2_await_frame<S: AsyncRead + Unpin>(
    conn: &mut S,
    kind: u8,
    stream: u32,
) -> Option<Vec<u8>> {
    let read = async {
        loop {
            let mut head = [0u8; 9];
            conn.read_exact(&mut head).await.ok()?;
            let len = usize::from(head[0]) << 16 | usize::from(head[1]) << 8 | usize::from(head[2]);
            let mut payload = vec![0u8; len];
            conn.read_exact(&mut payload).await.ok()?;
            let id = u32::from_be_bytes([head[5], head[6], head[7], head[8]]) & 0x7fff_ffff;
            if head[3] == kind && id == stream {
                return Some(payload);
            }
        }
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .ok()
        .flatten()
}

#[tokio::test]
async fn an_http2_client_opening_more_streams_than_allowed_is_refused_them() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (service, der) = frontend_with_tls(
        &tier,
        dir.path(),
        Duration::from_secs(3),
        &["--doh-listen", "127.0.0.1:0", "--doh-max-streams", "4"],
        "frontend-h2-streams",
    )
    .await;
    let doh = service.addr("doh").unwrap();
    let h2 = connector(&der, b"h2");

    // A client that ignores the server's SETTINGS: five POSTs whose bodies never come, on
    // streams 1, 3, 5, 7 and 9, written by hand (HPACK without Huffman or indexing).
    let mut conn = tls_connect(doh, &h2).await.unwrap();
    let mut out = b"PRI * HTTP/2.0\r\n\r\nSM\r\n\r\n".to_vec();
    out.extend(h2_frame(0x4, 0, 0, &[]));
    let mut block = vec![0x83, 0x87]; // :method POST, :scheme https
    block.push(0x04); // :path, literal value
    block.push(10);
    block.extend_from_slice(b"/dns-query");
    block.push(0x01); // :authority, literal value
    block.push(9);
    block.extend_from_slice(b"localhost");
    for stream in [1, 3, 5, 7, 9] {
        // HEADERS with END_HEADERS and no END_STREAM: each stream stays open.
        out.extend(h2_frame(0x1, 0x4, stream, &block));
    }
    conn.write_all(&out).await.unwrap();
    // The fifth is refused: RST_STREAM with REFUSED_STREAM (7).
    let reset = h2_await_frame(&mut conn, 0x3, 9)
        .await
        .expect("stream 9 reset");
    assert_eq!(reset, 7u32.to_be_bytes());

    // The four admitted streams still hold their places, and other clients are answered.
    let (mut sender, _driver) = h2_client(tls_connect(doh, &h2).await.unwrap()).await;
    assert_eq!(h2_get(&mut sender).await, 200);
    // The admitted streams, whose bodies never came, get 408 after the idle timeout.
    let headers = h2_await_frame(&mut conn, 0x1, 1).await;
    assert!(headers.is_some(), "stream 1 answered");
}
