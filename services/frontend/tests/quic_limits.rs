//! The QUIC listeners' limits and RFC 9250's rules, against the `hnsfleet-frontend` binary: a
//! prefix over `max_connections_per_prefix` is refused DoQ connections while another prefix is
//! served (after a Retry that proves each address), a DoQ connection has at most
//! `max_pipelined` queries (streams) open, a nonzero message ID closes the connection with
//! DOQ_PROTOCOL_ERROR, a query that does not arrive whole within `idle_timeout` has its stream reset, and an idle
//! connection is closed with DOQ_NO_ERROR. All of 127/8 is
//! loopback on Linux: 127.0.0.x is one /24, 127.0.1.1 another network.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::{IpAddr, Ipv4Addr};
use std::time::Duration;

use common::certificate;
use common::secure::{doq_exchange, quic_connect};
use common::{Tier, frontend, query};
use hickory_proto::op::ResponseCode;
use hickory_proto::rr::RecordType;
use hnsfleet_frontend::listen::doq::{DOQ_NO_ERROR, DOQ_PROTOCOL_ERROR, DOQ_REQUEST_CANCELLED};
use hnsfleet_frontend::metrics as m;
use hnsfleet_testkit::service::ServiceProcess;
use quinn::{ConnectionError, VarInt};
use rustls::pki_types::CertificateDer;

/// A host of the "attacking" /24.
fn attacker(host: u8) -> IpAddr {
    IpAddr::V4(Ipv4Addr::new(127, 0, 0, host))
}

/// A client on another /24.
const OTHER: IpAddr = IpAddr::V4(Ipv4Addr::new(127, 0, 1, 1));

/// A frontend serving DoQ with a certificate of its own, and `flags`.
async fn doq_frontend(
    tier: &Tier,
    dir: &std::path::Path,
    flags: &[&str],
    log: &str,
) -> (ServiceProcess, CertificateDer<'static>) {
    let (cert, key, trusted) = certificate(dir);
    let mut all = vec![
        "--doq-listen",
        "127.0.0.1:0",
        "--tls-cert",
        &cert,
        "--tls-key",
        &key,
    ];
    all.extend_from_slice(flags);
    let service = frontend(&tier.cache_url, &all, log).await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    (service, trusted)
}

/// The application error code a connection was closed with, once it is.
async fn close_code(connection: &quinn::Connection) -> Option<VarInt> {
    match tokio::time::timeout(Duration::from_secs(10), connection.closed()).await {
        Ok(ConnectionError::ApplicationClosed(close)) => Some(close.error_code),
        Ok(other) => panic!("closed otherwise: {other:?}"),
        Err(_) => None,
    }
}

#[tokio::test]
async fn a_prefix_over_its_quic_connection_limit_is_refused_while_another_is_served() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (service, trusted) = doq_frontend(
        &tier,
        dir.path(),
        &["--max-connections-per-prefix", "2"],
        "frontend-quic-prefix",
    )
    .await;
    let doq = service.addr("doq").unwrap();
    let question = query(".", RecordType::SOA, false);
    // Two connections from the /24 (different hosts), each answered and held open.
    let mut held = Vec::new();
    for host in 2..=3u8 {
        let (endpoint, connection) = quic_connect(attacker(host), doq, &trusted, b"doq")
            .await
            .unwrap();
        let answer = doq_exchange(&connection, &question, false).await.unwrap();
        assert_eq!(answer.response_code, ResponseCode::NoError);
        assert_eq!(answer.id, 0, "DoQ answers carry ID 0");
        held.push((endpoint, connection));
    }
    // A third from the same /24 is refused before its handshake.
    let third = quic_connect(attacker(4), doq, &trusted, b"doq").await;
    assert!(
        matches!(third, Err(ConnectionError::ConnectionClosed(_))),
        "{:?}",
        third.map(|_| ())
    );
    let refused = service
        .metric(m::CONNECTIONS_REFUSED, &[("reason", "prefix_connections")])
        .await
        .unwrap();
    assert_eq!(refused, Some(1.0));
    // Another network connects and is answered meanwhile.
    let (_endpoint, other) = quic_connect(OTHER, doq, &trusted, b"doq").await.unwrap();
    let answer = doq_exchange(&other, &question, false).await.unwrap();
    assert_eq!(answer.response_code, ResponseCode::NoError);
    // Every new address proved itself through a Retry first.
    let retries = service.metric(m::QUIC_RETRIES, &[]).await.unwrap();
    assert!(retries >= Some(4.0), "{retries:?}");
    // One of the two goes: the prefix may connect again.
    let (_gone_endpoint, gone) = held.pop().unwrap();
    gone.close(VarInt::from_u32(0), b"");
    let answered = service
        .poll(Duration::from_secs(5), "a slot given back", async |_| {
            let (_endpoint, connection) = quic_connect(attacker(5), doq, &trusted, b"doq")
                .await
                .ok()?;
            doq_exchange(&connection, &question, false).await.ok()
        })
        .await
        .unwrap();
    assert_eq!(answered.response_code, ResponseCode::NoError);
}

#[tokio::test]
async fn doq_streams_are_capped_and_protocol_errors_and_idleness_close_the_connection() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (service, trusted) = doq_frontend(
        &tier,
        dir.path(),
        &["--max-pipelined", "2", "--idle-timeout", "2s"],
        "frontend-doq-streams",
    )
    .await;
    let doq = service.addr("doq").unwrap();
    let question = query(".", RecordType::SOA, false);
    let local = IpAddr::V4(Ipv4Addr::LOCALHOST);

    // Two streams open with half a query each: the server granted two, so a third waits.
    let (_endpoint, connection) = quic_connect(local, doq, &trusted, b"doq").await.unwrap();
    let mut bytes = question.to_vec().unwrap();
    bytes[..2].copy_from_slice(&[0, 0]);
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    let mut open = Vec::new();
    for _ in 0..2 {
        let (mut send, recv) = connection.open_bi().await.unwrap();
        send.write_all(&framed[..4]).await.unwrap();
        open.push((send, recv));
    }
    let third = tokio::time::timeout(Duration::from_millis(300), connection.open_bi()).await;
    assert!(third.is_err(), "a third stream opened beyond max_pipelined");
    // The first query completes and is answered; its stream's credit comes back.
    let (mut send, mut recv) = open.remove(0);
    send.write_all(&framed[4..]).await.unwrap();
    send.finish().unwrap();
    let answer = recv.read_to_end(65_537).await.unwrap();
    assert_eq!(&answer[2..4], &[0, 0], "ID 0");
    let (mut send, mut recv) = tokio::time::timeout(Duration::from_secs(5), connection.open_bi())
        .await
        .expect("a stream once one is done")
        .unwrap();
    send.write_all(&framed).await.unwrap();
    send.finish().unwrap();
    let answer = recv.read_to_end(65_537).await.unwrap();
    let answer = hickory_proto::op::Message::from_vec(&answer[2..]).unwrap();
    assert_eq!(answer.response_code, ResponseCode::NoError);

    // A nonzero message ID: the whole connection is closed with DOQ_PROTOCOL_ERROR.
    let (_endpoint, bad) = quic_connect(local, doq, &trusted, b"doq").await.unwrap();
    let mut with_id = question.clone();
    with_id.metadata.id = 4242;
    assert!(doq_exchange(&bad, &with_id, true).await.is_err());
    assert_eq!(
        close_code(&bad).await,
        Some(VarInt::from_u32(DOQ_PROTOCOL_ERROR))
    );
    let dropped = service
        .metric(m::DROPPED, &[("reason", "doq_protocol")])
        .await
        .unwrap();
    assert_eq!(dropped, Some(1.0));

    // A connection that asks nothing is closed after the idle timeout, with DOQ_NO_ERROR.
    let (_endpoint, quiet) = quic_connect(local, doq, &trusted, b"doq").await.unwrap();
    assert_eq!(
        close_code(&quiet).await,
        Some(VarInt::from_u32(DOQ_NO_ERROR))
    );
    // The second half-sent query never completed: its stream was reset after the idle timeout.
    let (_send, mut recv) = open.remove(0);
    let read = tokio::time::timeout(Duration::from_secs(10), recv.read_to_end(65_537))
        .await
        .unwrap();
    assert!(
        matches!(
            read,
            Err(quinn::ReadToEndError::Read(quinn::ReadError::Reset(code)))
                if code == VarInt::from_u32(DOQ_REQUEST_CANCELLED)
        ),
        "{read:?}"
    );
}
