//! The TLS edge of the `hnsfleet-frontend` binary: certificate hot reload (file change and
//! SIGHUP) under a long-lived DoT connection, a bad pair kept out, session resumption on DoT
//! and DoH, ALPN, and EDNS padding (RFC 8467) on DoT, DoH and DoQ only, SIG(0) included.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::time::Duration;

use common::{
    Tier, certificate, certificate_pem, connector, exchange, exchange_raw, frontend, h2_client,
    h2_get, metric_reaches, query, run_client, tls_client, tls_connect, udp_raw,
};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::RecordType;
use hickory_proto::rr::rdata::opt::{EdnsCode, EdnsOption};
use hnsfleet_frontend::metrics as m;
use hnsfleet_frontend::wire::{PADDING_OPTION, RESPONSE_BLOCK};
use hnsfleet_testkit::service::ServiceProcess;
use rustls::HandshakeKind;
use rustls::pki_types::CertificateDer;
use tokio::io::AsyncWriteExt;
use tokio::net::TcpStream;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

/// The certificate a TLS connection was shown.
fn shown(stream: &TlsStream<TcpStream>) -> CertificateDer<'static> {
    stream.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}

/// The certificate the DoT server at `dot` presents to a new client trusting `trusted` (a new
/// client: one with a session would resume, and a resumed session shows the certificate of
/// the handshake it resumes).
async fn presented(
    dot: SocketAddr,
    trusted: &[&CertificateDer<'static>],
) -> CertificateDer<'static> {
    let client = TlsConnector::from(tls_client(trusted, &[b"dot"]));
    let stream = tls_connect(dot, &client).await.unwrap();
    assert_eq!(
        stream.get_ref().1.handshake_kind(),
        Some(HandshakeKind::Full)
    );
    shown(&stream)
}

/// Replaces the pair in `dir` (each file renamed into place, one after the other, as a
/// renewal tool does).
fn replace(dir: &Path, cert_pem: &str, key_pem: &str) {
    for (name, text) in [("cert.pem", cert_pem), ("key.pem", key_pem)] {
        let staged = dir.join(format!("{name}.new"));
        std::fs::write(&staged, text).unwrap();
        std::fs::rename(&staged, dir.join(name)).unwrap();
    }
}

/// The value of `metric{labels}` (0 when absent).
async fn metric(service: &ServiceProcess, name: &str, labels: &[(&str, &str)]) -> f64 {
    service
        .metric(name, labels)
        .await
        .unwrap()
        .unwrap_or_default()
}

/// A frontend with the certificate in `dir` and `flags`, ready.
async fn frontend_with(
    tier: &Tier,
    cert: &str,
    key: &str,
    flags: &[&str],
    log: &str,
) -> ServiceProcess {
    let mut all = vec!["--tls-cert", cert, "--tls-key", key];
    all.extend_from_slice(flags);
    let service = frontend(&tier.cache_url, &all, log).await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    service
}

/// A root SOA query that SOA answers without recursion.
fn soa() -> Message {
    query(".", RecordType::SOA, false)
}

#[tokio::test]
async fn cert_hot_reload_keeps_a_long_lived_dot_connection_working() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der_a) = certificate(dir.path());
    let (cert_a_pem, key_a_pem) = (
        std::fs::read_to_string(&cert).unwrap(),
        std::fs::read_to_string(&key).unwrap(),
    );
    let (cert_b_pem, key_b_pem, der_b) = certificate_pem();
    let service = frontend_with(
        &tier,
        &cert,
        &key,
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--tls-reload-interval",
            "100ms",
        ],
        "frontend-tls-reload",
    )
    .await;
    let dot = service.addr("dot").unwrap();
    let trusting_both = TlsConnector::from(tls_client(&[&der_a, &der_b], &[b"dot"]));
    let mut long = tls_connect(dot, &trusting_both).await.unwrap();
    assert_eq!(shown(&long), der_a);
    assert_eq!(
        exchange(&mut long, &soa()).await.unwrap().response_code,
        ResponseCode::NoError
    );
    let expiry_a = metric(&service, m::TLS_CERT_EXPIRY, &[]).await;
    assert!(expiry_a > 1e9, "{expiry_a}");

    // The renewal: B in place of A. The poller presents it from the next handshake on.
    replace(dir.path(), &cert_b_pem, &key_b_pem);
    metric_reaches(&service, m::TLS_RELOADS, &[("result", "ok")], 1.0).await;
    assert_eq!(presented(dot, &[&der_a, &der_b]).await, der_b);
    // The client that connected under A resumes its session across the reload.
    let resumed = tls_connect(dot, &trusting_both).await.unwrap();
    assert_eq!(
        resumed.get_ref().1.handshake_kind(),
        Some(HandshakeKind::Resumed)
    );
    assert!(
        tls_connect(dot, &connector(&der_a, b"dot")).await.is_err(),
        "a client trusting only A no longer connects"
    );
    // The connection opened under A is still answered, again and again.
    for _ in 0..3 {
        let answer = exchange(&mut long, &soa()).await.unwrap();
        assert_eq!(answer.response_code, ResponseCode::NoError);
    }

    // A bad pair (A's certificate, B's key): refused, counted, B still presented.
    let errors = metric(&service, m::TLS_RELOADS, &[("result", "error")]).await;
    replace(dir.path(), &cert_a_pem, &key_b_pem);
    metric_reaches(
        &service,
        m::TLS_RELOADS,
        &[("result", "error")],
        errors + 1.0,
    )
    .await;
    assert_eq!(presented(dot, &[&der_a, &der_b]).await, der_b);
    assert_eq!(
        exchange(&mut long, &soa()).await.unwrap().response_code,
        ResponseCode::NoError
    );
    assert_eq!(
        metric(&service, m::TLS_RELOADS, &[("result", "ok")]).await,
        1.0
    );
    // The key back in step with A's certificate: A again.
    replace(dir.path(), &cert_a_pem, &key_a_pem);
    metric_reaches(&service, m::TLS_RELOADS, &[("result", "ok")], 2.0).await;
    assert_eq!(presented(dot, &[&der_a, &der_b]).await, der_a);
    assert_eq!(
        exchange(&mut long, &soa()).await.unwrap().response_code,
        ResponseCode::NoError
    );
}

#[tokio::test]
async fn sighup_reloads_the_certificate_and_a_bad_pair_is_kept_out() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der_a) = certificate(dir.path());
    let (cert_b_pem, key_b_pem, der_b) = certificate_pem();
    // No polling: only the signal reloads.
    let mut service = frontend_with(
        &tier,
        &cert,
        &key,
        &["--dot-listen", "127.0.0.1:0", "--tls-reload-interval", "0s"],
        "frontend-tls-sighup",
    )
    .await;
    let dot = service.addr("dot").unwrap();
    let trusting_both = TlsConnector::from(tls_client(&[&der_a, &der_b], &[b"dot"]));
    let mut long = tls_connect(dot, &trusting_both).await.unwrap();
    assert_eq!(
        exchange(&mut long, &soa()).await.unwrap().response_code,
        ResponseCode::NoError
    );
    let hangup = || async {
        let status = tokio::process::Command::new("kill")
            .args(["-HUP", &service.pid().to_string()])
            .status()
            .await
            .unwrap();
        assert!(status.success());
    };

    replace(dir.path(), &cert_b_pem, &key_b_pem);
    hangup().await;
    metric_reaches(&service, m::TLS_RELOADS, &[("result", "ok")], 1.0).await;
    assert_eq!(presented(dot, &[&der_a, &der_b]).await, der_b);
    assert_eq!(
        exchange(&mut long, &soa()).await.unwrap().response_code,
        ResponseCode::NoError
    );

    std::fs::write(dir.path().join("cert.pem"), "not a certificate").unwrap();
    hangup().await;
    metric_reaches(&service, m::TLS_RELOADS, &[("result", "error")], 1.0).await;
    assert_eq!(presented(dot, &[&der_a, &der_b]).await, der_b);
    assert_eq!(
        exchange(&mut long, &soa()).await.unwrap().response_code,
        ResponseCode::NoError
    );
    assert_eq!(
        metric(&service, m::TLS_RELOADS, &[("result", "ok")]).await,
        1.0
    );
    assert!(
        service.try_exit_status().is_none(),
        "SIGHUP must not stop the service"
    );
}

/// A DoT connection, one query answered (so the client has read the server's tickets), then
/// closed; how its handshake went.
async fn dot_session(dot: SocketAddr, connector: &TlsConnector) -> Option<HandshakeKind> {
    let mut stream = tls_connect(dot, connector).await.unwrap();
    assert_eq!(
        exchange(&mut stream, &soa()).await.unwrap().response_code,
        ResponseCode::NoError
    );
    let kind = stream.get_ref().1.handshake_kind();
    let _ = stream.shutdown().await;
    kind
}

/// The same for DoH over HTTP/2.
async fn doh_session(doh: SocketAddr, connector: &TlsConnector) -> Option<HandshakeKind> {
    let stream = tls_connect(doh, connector).await.unwrap();
    let kind = stream.get_ref().1.handshake_kind();
    let (mut sender, _driver) = h2_client(stream).await;
    assert_eq!(h2_get(&mut sender).await, 200);
    kind
}

#[tokio::test]
async fn dot_and_doh_sessions_resume_and_alpn_is_checked() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der) = certificate(dir.path());
    let service = frontend_with(
        &tier,
        &cert,
        &key,
        &["--dot-listen", "127.0.0.1:0", "--doh-listen", "127.0.0.1:0"],
        "frontend-tls-resume",
    )
    .await;
    let (dot, doh) = (service.addr("dot").unwrap(), service.addr("doh").unwrap());
    let dot_client = TlsConnector::from(tls_client(&[&der], &[b"dot"]));
    assert_eq!(
        dot_session(dot, &dot_client).await,
        Some(HandshakeKind::Full)
    );
    assert_eq!(
        dot_session(dot, &dot_client).await,
        Some(HandshakeKind::Resumed)
    );
    let doh_client = TlsConnector::from(tls_client(&[&der], &[b"h2"]));
    assert_eq!(
        doh_session(doh, &doh_client).await,
        Some(HandshakeKind::Full)
    );
    assert_eq!(
        doh_session(doh, &doh_client).await,
        Some(HandshakeKind::Resumed)
    );

    // ALPN: a DoT client offering none is served (RFC 7858 stubs); one offering only h2 is
    // refused in the handshake, and so is a DoH client offering only dot.
    let silent = TlsConnector::from(tls_client(&[&der], &[]));
    let mut stream = tls_connect(dot, &silent).await.unwrap();
    assert_eq!(stream.get_ref().1.alpn_protocol(), None);
    assert_eq!(
        exchange(&mut stream, &soa()).await.unwrap().response_code,
        ResponseCode::NoError
    );
    let error = tls_connect(dot, &connector(&der, b"h2")).await.unwrap_err();
    assert!(
        error.to_string().contains("NoApplicationProtocol"),
        "{error}"
    );
    let error = tls_connect(doh, &connector(&der, b"dot"))
        .await
        .unwrap_err();
    assert!(
        error.to_string().contains("NoApplicationProtocol"),
        "{error}"
    );
}

#[tokio::test]
async fn without_tickets_or_a_session_cache_nothing_resumes() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der) = certificate(dir.path());
    let service = frontend_with(
        &tier,
        &cert,
        &key,
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--tls-tickets",
            "false",
            "--tls-session-cache",
            "0",
        ],
        "frontend-tls-no-resume",
    )
    .await;
    let dot = service.addr("dot").unwrap();
    let client = TlsConnector::from(tls_client(&[&der], &[b"dot"]));
    assert_eq!(dot_session(dot, &client).await, Some(HandshakeKind::Full));
    assert_eq!(dot_session(dot, &client).await, Some(HandshakeKind::Full));
}

/// `message` with an EDNS Padding option of `len` zero octets.
fn padded(mut message: Message, len: usize) -> Message {
    let mut edns = message.edns.take().unwrap_or_default();
    edns.options_mut()
        .insert(EdnsOption::Unknown(PADDING_OPTION, vec![0; len]));
    message.set_edns(edns);
    message
}

/// The Padding option's length in `bytes`, if it has one.
fn padding_of(bytes: &[u8]) -> Option<usize> {
    let message = Message::from_vec(bytes).unwrap();
    match message.edns?.options().get(EdnsCode::Padding)? {
        EdnsOption::Unknown(_, data) => {
            assert!(data.iter().all(|b| *b == 0), "padding is zeros");
            Some(data.len())
        }
        other => panic!("{other:?}"),
    }
}

/// A DoH POST of `query` on `sender`: the response body.
async fn doh_post(sender: &mut h2::client::SendRequest<bytes::Bytes>, query: &[u8]) -> Vec<u8> {
    let request = http::Request::post("https://localhost/dns-query")
        .header("content-type", "application/dns-message")
        .header("accept", "application/dns-message")
        .body(())
        .unwrap();
    let ready = sender.clone().ready().await.unwrap();
    *sender = ready;
    let (response, mut body) = sender.send_request(request, false).unwrap();
    body.send_data(bytes::Bytes::copy_from_slice(query), true)
        .unwrap();
    let response = tokio::time::timeout(Duration::from_secs(5), response)
        .await
        .unwrap()
        .unwrap();
    assert_eq!(response.status(), 200);
    let mut body = response.into_body();
    let mut out = Vec::new();
    while let Some(chunk) = body.data().await {
        let chunk = chunk.unwrap();
        let _ = body.flow_control().release_capacity(chunk.len());
        out.extend_from_slice(&chunk);
    }
    out
}

#[tokio::test]
async fn padded_queries_get_468_octet_blocks_on_encrypted_transports_only() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, der) = certificate(dir.path());
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
    // DoT signed (the SIG(0) record is inside the block), DoH not.
    let service = frontend_with(
        &tier,
        &cert,
        &key,
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--doh-listen",
            "127.0.0.1:0",
            "--doq-listen",
            "127.0.0.1:0",
            "--sig0-key",
            key_path.to_str().unwrap(),
            "--sig0-dot",
            "true",
        ],
        "frontend-tls-padding",
    )
    .await;
    let now = std::time::SystemTime::now()
        .duration_since(std::time::UNIX_EPOCH)
        .unwrap()
        .as_secs() as u32;
    let (dot, doh, dns) = (
        service.addr("dot").unwrap(),
        service.addr("doh").unwrap(),
        service.addr("dns").unwrap(),
    );
    let padded_soa = padded(soa(), 60).to_vec().unwrap();
    let plain_soa = soa().to_vec().unwrap();

    // DoT: padded, signed, the signature over the padding; twice (the second from the packet
    // cache, signed afresh); an unpadded query on the same connection is not padded.
    let mut stream = tls_connect(dot, &connector(&der, b"dot")).await.unwrap();
    for _ in 0..2 {
        let raw = exchange_raw(&mut stream, &padded_soa).await.unwrap();
        assert_eq!(raw.len() % RESPONSE_BLOCK, 0, "{} octets", raw.len());
        assert!(padding_of(&raw).is_some());
        hnsfleet_hns::sig0::verify(&raw, &public, now).expect("padded DoT answer signed");
    }
    let raw = exchange_raw(&mut stream, &plain_soa).await.unwrap();
    assert_eq!(padding_of(&raw), None);
    hnsfleet_hns::sig0::verify(&raw, &public, now).expect("DoT answer signed");

    // DoH (POST over HTTP/2): padded, unsigned.
    let (mut sender, _driver) =
        h2_client(tls_connect(doh, &connector(&der, b"h2")).await.unwrap()).await;
    let raw = doh_post(&mut sender, &padded_soa).await;
    assert_eq!(raw.len() % RESPONSE_BLOCK, 0, "{} octets", raw.len());
    assert!(padding_of(&raw).is_some());
    let raw = doh_post(&mut sender, &plain_soa).await;
    assert_eq!(padding_of(&raw), None);

    // DoQ: padded like DoT, and signed with it (`sig0_dot` covers DoQ); message ID 0.
    let (_endpoint, connection) = common::secure::quic_connect(
        [127, 0, 0, 1].into(),
        service.addr("doq").unwrap(),
        &der,
        b"doq",
    )
    .await
    .unwrap();
    let mut doq_query = padded_soa.clone();
    doq_query[..2].copy_from_slice(&[0, 0]);
    let (mut send, mut recv) = connection.open_bi().await.unwrap();
    let mut framed = u16::try_from(doq_query.len())
        .unwrap()
        .to_be_bytes()
        .to_vec();
    framed.extend_from_slice(&doq_query);
    send.write_all(&framed).await.unwrap();
    send.finish().unwrap();
    let answer = tokio::time::timeout(Duration::from_secs(5), recv.read_to_end(65_537))
        .await
        .unwrap()
        .unwrap();
    let raw = &answer[2..];
    assert_eq!(raw.len() % RESPONSE_BLOCK, 0, "{} octets", raw.len());
    assert!(padding_of(raw).is_some());
    hnsfleet_hns::sig0::verify(raw, &public, now).expect("padded DoQ answer signed");
    connection.close(0u32.into(), b"");

    // Do53: never padded, over UDP or TCP, even when asked.
    let raw = udp_raw(dns, &padded_soa).await.unwrap();
    assert_eq!(padding_of(&raw), None);
    let mut tcp = TcpStream::connect(dns).await.unwrap();
    let raw = exchange_raw(&mut tcp, &padded_soa).await.unwrap();
    assert_eq!(padding_of(&raw), None);

    // kdig pads its query with +padding and shows the response's padding.
    let out = run_client(
        "kdig",
        &[
            "@127.0.0.1",
            "-p",
            &dot.port().to_string(),
            "+tls",
            "+padding",
            ".",
            "SOA",
        ],
    )
    .await;
    assert!(out.contains("NOERROR") && out.contains("PADDING"), "{out}");
    let received: usize = out
        .lines()
        .find_map(|l| l.strip_prefix(";; Received "))
        .and_then(|l| l.split(' ').next())
        .and_then(|n| n.parse().ok())
        .unwrap_or_else(|| panic!("no size in {out}"));
    assert_eq!(received % RESPONSE_BLOCK, 0, "{out}");
}
