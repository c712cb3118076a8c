//! Watchdogs of several operators, and strangers: one watchdog reads another's HTTPS publish
//! endpoint (a private CA given as `attester_ca_file`) and its gRPC API as outside attesters;
//! without the CA the HTTPS read fails and the attester is unreachable; the publish
//! certificate is replaced on disk and served without a restart; `Unfreeze` needs the operator
//! token; a follower flooding tip events gets a few reads, not one per event.
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::scripted::*;
use hnsfleet_proto::watchdog::v1 as pb;
use rcgen::{BasicConstraints, CertificateParams, CertifiedIssuer, IsCa, KeyPair};
use rustls_pki_types::{CertificateDer, ServerName};
use secp256k1::SecretKey;
use tokio::net::TcpStream;

/// A private CA, as two operators would share for their watchdogs.
fn private_ca() -> CertifiedIssuer<'static, KeyPair> {
    let mut params = CertificateParams::new(Vec::<String>::new()).unwrap();
    params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    CertifiedIssuer::self_signed(params, KeyPair::generate().unwrap()).unwrap()
}

/// A certificate for 127.0.0.1 signed by `ca`, written to `dir`/publish.{crt,key}; its DER.
fn issue(ca: &CertifiedIssuer<'static, KeyPair>, dir: &Path) -> CertificateDer<'static> {
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["127.0.0.1".to_owned()])
        .unwrap()
        .signed_by(&key, ca)
        .unwrap();
    // Key first: the watchdog's reloader must cope with a half-written pair either way.
    std::fs::write(dir.join("publish.key"), key.serialize_pem()).unwrap();
    std::fs::write(dir.join("publish.crt"), cert.pem()).unwrap();
    cert.der().clone()
}

fn public_hex(key: &SecretKey) -> String {
    hex::encode(key.public_key(secp256k1::SECP256K1).serialize())
}

/// The certificate the endpoint at `addr` presents to a client trusting `ca`.
async fn presented(
    addr: SocketAddr,
    ca: &CertifiedIssuer<'static, KeyPair>,
) -> CertificateDer<'static> {
    let mut roots = rustls::RootCertStore::empty();
    roots.add(ca.der().clone()).unwrap();
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    let connector = tokio_rustls::TlsConnector::from(Arc::new(config));
    let tcp = TcpStream::connect(addr).await.unwrap();
    let name = ServerName::try_from("127.0.0.1").unwrap();
    let tls = connector.connect(name, tcp).await.unwrap();
    tls.get_ref().1.peer_certificates().unwrap()[0]
        .clone()
        .into_owned()
}

fn source<'a>(verdict: &'a pb::Verdict, name: &str) -> &'a pb::SourceStatus {
    verdict
        .sources
        .iter()
        .find(|s| s.name == name)
        .unwrap_or_else(|| panic!("no source {name} in {verdict:?}"))
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn operators_read_each_other_over_https_and_grpc_and_certificates_reload_in_place() {
    let dir = tempfile::tempdir().unwrap();
    let ca = private_ca();
    std::fs::write(dir.path().join("ca.pem"), ca.pem()).unwrap();
    let first = issue(&ca, dir.path());
    let (_one, one_url) = ScriptedFollower::start(key(1), 1, 20).await;
    let (_two, two_url) = ScriptedFollower::start(key(2), 1, 20).await;

    // Operator A: HTTPS publish endpoint, a pinned signing key.
    let a_key = key(5);
    std::fs::write(dir.path().join("a.key"), hex::encode(a_key.secret_bytes())).unwrap();
    let d = dir.path().display();
    let a = watchdog(&format!(
        "network = \"regtest\"\nfollowers = [\"{one_url}\", \"{two_url}\"]\n\
         key_file = \"{d}/a.key\"\npublish_listen = \"127.0.0.1:0\"\n\
         publish_tls_cert = \"{d}/publish.crt\"\npublish_tls_key = \"{d}/publish.key\"\n\
         publish_tls_reload_interval = \"200ms\"\n\
         poll_interval = \"200ms\"\n"
    ))
    .await;
    let a_public = public_hex(&a_key);
    let a_https = format!("https://127.0.0.1:{}", a.publish.port());
    let a_grpc = format!("grpc://127.0.0.1:{}", a.grpc.port());

    // Operator B reads A both ways, trusting the private CA.
    let b = watchdog(&format!(
        "network = \"regtest\"\nfollowers = [\"{one_url}\"]\n\
         attesters = [\"{a_https}={a_public}\", \"{a_grpc}={a_public}\"]\n\
         attester_ca_file = \"{d}/ca.pem\"\npoll_interval = \"200ms\"\n"
    ))
    .await;
    let mut b_client = b.client.clone();
    let mut stream = b_client
        .watch_verdicts(pb::WatchVerdictsRequest {})
        .await
        .unwrap()
        .into_inner();
    let healthy = pb::Health::Healthy as i32;
    let both = wait_for(&mut stream, "A healthy over https and grpc", |v| {
        [&a_https, &a_grpc].iter().all(|name| {
            v.sources.iter().any(|s| {
                &&s.name == name
                    && s.health == healthy
                    && s.tip.as_ref().is_some_and(|t| t.height == 20)
            })
        })
    })
    .await;
    assert_eq!(state(&both), pb::State::Ok);
    assert_eq!(
        source(&both, &a_https).public_key,
        hex::decode(&a_public).unwrap()
    );

    // Operator C has not been given the CA: the HTTPS read fails (unknown issuer), A is
    // unreachable to it and the failures are counted.
    let c = watchdog(&format!(
        "network = \"regtest\"\nfollowers = [\"{two_url}\"]\nquorum = 1\n\
         attesters = [\"{a_https}={a_public}\"]\npoll_interval = \"200ms\"\n"
    ))
    .await;
    metric_reaches(
        c.admin,
        &format!("hnsfleet_watchdog_source_errors_total{{source=\"{a_https}\"}}"),
        2.0,
    )
    .await;
    // The counter moves when a read fails; the verdict when the judgement next runs: wait for
    // it on C's verdict stream rather than reading one verdict at once.
    let mut c_stream = c
        .client
        .clone()
        .watch_verdicts(pb::WatchVerdictsRequest {})
        .await
        .unwrap()
        .into_inner();
    let unreachable = pb::Health::Unreachable as i32;
    wait_for(&mut c_stream, "A unreachable to C", |v| {
        v.sources
            .iter()
            .any(|s| s.name == a_https && s.health == unreachable)
    })
    .await;
    assert!(
        metric(
            a.admin,
            "hnsfleet_watchdog_publish_tls_handshake_failures_total"
        )
        .await
            >= 1.0,
        "C's refused handshakes are counted by A"
    );

    // A's certificate is replaced on disk: new handshakes present the new one, no restart,
    // and B keeps reading A.
    assert_eq!(presented(a.publish, &ca).await, first);
    let expiry = metric(a.admin, "hnsfleet_watchdog_publish_tls_cert_expiry_seconds").await;
    assert!(
        expiry > 1.7e9,
        "the expiry gauge holds the certificate's notAfter"
    );
    let second = issue(&ca, dir.path());
    metric_reaches(
        a.admin,
        "hnsfleet_watchdog_publish_tls_reloads_total{result=\"ok\"}",
        1.0,
    )
    .await;
    assert_eq!(presented(a.publish, &ca).await, second);
    let errors_before = metric(
        b.admin,
        &format!("hnsfleet_watchdog_source_errors_total{{source=\"{a_https}\"}}"),
    )
    .await;
    // A few more reads of A by B, all good.
    tokio::time::sleep(Duration::from_millis(800)).await;
    let errors_after = metric(
        b.admin,
        &format!("hnsfleet_watchdog_source_errors_total{{source=\"{a_https}\"}}"),
    )
    .await;
    assert_eq!(
        errors_before, errors_after,
        "B reads A across the certificate change"
    );

    // Plain HTTP to the HTTPS endpoint gets no answer.
    assert!(
        reqwest::get(format!("http://{}/v1/verdict", a.publish))
            .await
            .is_err()
    );
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn unfreeze_needs_the_operator_token_when_one_is_configured() {
    let dir = tempfile::tempdir().unwrap();
    let token_file = dir.path().join("unfreeze.token");
    std::fs::write(&token_file, "operator-token-0123456789\n").unwrap();
    let (_one, one_url) = ScriptedFollower::start(key(1), 1, 20).await;
    let running = watchdog(&format!(
        "network = \"regtest\"\nfollowers = [\"{one_url}\"]\n\
         unfreeze_token_file = \"{}\"\npoll_interval = \"200ms\"\n",
        token_file.display()
    ))
    .await;
    let mut client = running.client.clone();
    let call = |token: Option<&str>| {
        let mut request = tonic::Request::new(pb::UnfreezeRequest {
            reason: "test".to_owned(),
        });
        if let Some(token) = token {
            request
                .metadata_mut()
                .insert("authorization", token.parse().unwrap());
        }
        request
    };
    // Loopback does not excuse a missing or wrong token.
    let refused = client.unfreeze(call(None)).await.unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    let refused = client
        .unfreeze(call(Some("Bearer operator-token-0123456780")))
        .await
        .unwrap_err();
    assert_eq!(refused.code(), tonic::Code::Unauthenticated);
    assert!(
        !refused.message().contains("0123456789"),
        "no hint of the token"
    );
    metric_reaches(
        running.admin,
        "hnsfleet_watchdog_unfreeze_requests_total{result=\"denied\"}",
        2.0,
    )
    .await;
    // The right token: accepted (nothing was frozen, so nothing lifted).
    let verdict = client
        .unfreeze(call(Some("Bearer operator-token-0123456789")))
        .await
        .unwrap()
        .into_inner()
        .verdict
        .unwrap();
    assert_eq!(state(&verdict), pb::State::Ok);
    metric_reaches(
        running.admin,
        "hnsfleet_watchdog_unfreeze_requests_total{result=\"not_frozen\"}",
        1.0,
    )
    .await;
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_follower_flooding_tip_events_gets_a_few_reads_not_one_per_event() {
    const FLOOD: usize = 20_000;
    let (follower, url) = ScriptedFollower::start(key(1), 1, 20).await;
    follower.flood.store(FLOOD, Ordering::Relaxed);
    let started = tokio::time::Instant::now();
    let running = watchdog(&format!(
        "network = \"regtest\"\nfollowers = [\"{url}\"]\npoll_interval = \"30s\"\n\
         max_attestation_age = \"1m\"\n"
    ))
    .await;
    // The whole flood is taken off the stream.
    let deadline = started + Duration::from_secs(30);
    while follower.served.load(Ordering::Relaxed) < FLOOD {
        assert!(tokio::time::Instant::now() < deadline, "flood not consumed");
        tokio::time::sleep(Duration::from_millis(20)).await;
    }
    let took = started.elapsed();
    // The last event's read happens within the spacing after it.
    tokio::time::sleep(Duration::from_millis(300)).await;
    let reads = follower.reads.load(Ordering::Relaxed);
    // One read per 100 ms of flood (plus the first poll and the read after the end), where
    // one read per event would be 20 000.
    let bound = usize::try_from(took.as_millis() / 100).unwrap() + 4;
    assert!(
        (1..=bound).contains(&reads),
        "{reads} reads for {FLOOD} events over {took:?} (bound {bound})"
    );
    // And the watchdog kept judging: the follower is healthy, the verdict OK.
    let verdict = running
        .client
        .clone()
        .get_verdict(pb::GetVerdictRequest {})
        .await
        .unwrap()
        .into_inner()
        .verdict
        .unwrap();
    assert_eq!(state(&verdict), pb::State::Ok);
    assert_eq!(source(&verdict, &url).health, pb::Health::Healthy as i32);
}
