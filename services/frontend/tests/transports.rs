//! Every transport of the `hnsfleet-frontend` binary gives the same answers: Do53 over UDP and
//! TCP, DoT, DoH over HTTP/2 and HTTP/3, and DoQ, for the root apex, an HNS name of the
//! (synthetic, proof-verified) tree, an ICANN name (through a stand-in ICANN root served by
//! Knot on loopback, DNSSEC-validated) and an absent name. kdig checks DoT and DoH too; this
//! machine's kdig and curl have no QUIC, so DoQ and HTTP/3 use the clients in
//! `common::secure`. And DoH responses advertise HTTP/3 with `alt-svc` exactly when it is on.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::time::Duration;

use common::certificate;
use common::secure::{doh2, doh3, doq, dot};
use common::{Tier, frontend, frontend_with_hints, query, run_client, tcp, udp};
use hickory_proto::op::{Message, ResponseCode};
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hnsfleet_frontend::metrics as m;
use hnsfleet_testkit::knot::icann_stand_in;

/// The stand-in ICANN root's address (port 53: recursion follows NS records there).
const ICANN_ROOT: [u8; 4] = [127, 0, 0, 61];
/// The stand-in `com.`'s address.
const ICANN_COM: [u8; 4] = [127, 0, 0, 62];

/// A record as compared across transports: owner, type and data, without the TTL (caches count
/// it down) and, for RRSIGs, without the signature and validity (the root signs as it answers,
/// so two answers in different seconds differ there).
fn comparable(record: &Record) -> String {
    let data = match &record.data {
        RData::DNSSEC(hickory_proto::dnssec::rdata::DNSSECRData::RRSIG(sig)) => {
            format!("covers {}", sig.input().type_covered)
        }
        data => data.to_string(),
    };
    format!("{} {} {data}", record.name, record.record_type())
}

/// What must be equal across transports: the rcode and the answer and authority sections.
fn summary(message: &Message) -> (ResponseCode, Vec<String>, Vec<String>) {
    let sorted = |records: &[Record]| {
        let mut out: Vec<String> = records.iter().map(comparable).collect();
        out.sort();
        out
    };
    (
        message.response_code,
        sorted(&message.answers),
        sorted(&message.authorities),
    )
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn every_transport_answers_hns_and_icann_names_the_same() {
    let (icann_root, _com) = icann_stand_in(ICANN_ROOT.into(), ICANN_COM.into())
        .await
        .unwrap();
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let hints = dir.path().join("root.hints");
    std::fs::write(&hints, ". NS ns.root.\nns.root. A 127.0.0.61\n").unwrap();
    let anchors = dir.path().join("anchors.ds");
    let root_ds = icann_root.keys(&Name::root()).unwrap().ds_text.join("\n");
    std::fs::write(&anchors, format!("{root_ds}\n")).unwrap();
    let (cert, key, trusted) = certificate(dir.path());
    let service = frontend_with_hints(
        &tier.cache_url,
        hints.to_str().unwrap(),
        &[
            "--icann-trust-anchors",
            anchors.to_str().unwrap(),
            "--allow-private-upstreams",
            "true",
            "--dot-listen",
            "127.0.0.1:0",
            "--doh-listen",
            "127.0.0.1:0",
            "--doq-listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &key,
        ],
        "frontend-transports",
    )
    .await;
    service.wait_ready(Duration::from_secs(20)).await.unwrap();
    let (dns, dot_addr) = (service.addr("dns").unwrap(), service.addr("dot").unwrap());
    let (doh_addr, doq_addr) = (service.addr("doh").unwrap(), service.addr("doq").unwrap());

    let questions = [
        (".", RecordType::SOA),
        ("bench0.", RecordType::DS),
        ("www.example.com.", RecordType::A),
        ("nosuchname.", RecordType::A),
    ];
    for (name, qtype) in questions {
        let asked = query(name, qtype, true);
        let over_udp = udp(dns, &asked).await;
        let expected = summary(&over_udp);
        let answers = [
            ("tcp", tcp(dns, &asked).await),
            ("dot", dot(dot_addr, &trusted, &asked).await),
            ("doh", doh2(doh_addr, &trusted, &asked).await.0),
            ("doh3", doh3(doh_addr, &trusted, &asked).await.0),
            ("doq", doq(doq_addr, &trusted, &asked).await),
        ];
        for (transport, answer) in answers {
            assert_eq!(
                summary(&answer),
                expected,
                "{name} {qtype} over {transport}"
            );
        }
        // kdig over DoT and DoH (POST) reports the same status and answer count.
        let status = format!("status: {}", m::rcode_label(expected.0));
        let count = format!("ANSWER: {}", expected.1.len());
        for (addr, mode) in [(dot_addr, "+tls"), (doh_addr, "+https")] {
            let port = addr.port().to_string();
            let out = run_client(
                "kdig",
                &[
                    "@127.0.0.1",
                    "-p",
                    &port,
                    mode,
                    "+dnssec",
                    name,
                    &qtype.to_string(),
                ],
            )
            .await;
            assert!(
                out.contains(&status) && out.contains(&count),
                "kdig {mode} {name} {qtype}: {out}"
            );
        }
    }
    // The answers are what each question deserves, so the comparison compared something.
    let apex = udp(dns, &query(".", RecordType::SOA, true)).await;
    assert!(
        apex.answers
            .iter()
            .any(|r| r.record_type() == RecordType::SOA)
    );
    let icann = udp(dns, &query("www.example.com.", RecordType::A, true)).await;
    assert_eq!(icann.response_code, ResponseCode::NoError, "{icann:?}");
    assert!(icann.authentic_data, "{icann:?}");
    assert!(
        icann
            .answers
            .iter()
            .any(|r| r.data == RData::A("127.0.0.90".parse().unwrap()))
    );
    let absent = udp(dns, &query("nosuchname.", RecordType::A, true)).await;
    assert_eq!(absent.response_code, ResponseCode::NXDomain);
    let hns = udp(dns, &query("bench0.", RecordType::DS, true)).await;
    assert_eq!(hns.response_code, ResponseCode::NoError, "{hns:?}");
    // Counted under their own transport labels.
    for label in ["quic", "h3"] {
        let n = service
            .metric(m::QUERIES, &[("transport", label)])
            .await
            .unwrap();
        assert_eq!(n, Some(questions.len() as f64), "{label}");
    }
}

#[tokio::test]
async fn doh_over_http2_and_http11_advertises_http3_only_when_it_is_on() {
    let tier = Tier::start(5).await;
    let dir = tempfile::tempdir().unwrap();
    let (cert, key, trusted) = certificate(dir.path());
    let tls = ["--tls-cert", &cert, "--tls-key", &key];
    let with = frontend(
        &tier.cache_url,
        &[&["--doh-listen", "127.0.0.1:0"][..], &tls].concat(),
        "frontend-alt-svc",
    )
    .await;
    let without = frontend(
        &tier.cache_url,
        &[
            &["--doh-listen", "127.0.0.1:0", "--doh3", "false"][..],
            &tls,
        ]
        .concat(),
        "frontend-no-h3",
    )
    .await;
    with.wait_ready(Duration::from_secs(20)).await.unwrap();
    without.wait_ready(Duration::from_secs(20)).await.unwrap();
    let asked = query(".", RecordType::SOA, false);

    let doh = with.addr("doh").unwrap();
    let expected = format!("h3=\":{}\"; ma=86400", doh.port());
    let (answer, headers) = doh2(doh, &trusted, &asked).await;
    assert_eq!(answer.response_code, ResponseCode::NoError);
    assert_eq!(headers.get("alt-svc").unwrap(), expected.as_str());
    // HTTP/1.1 (curl) too.
    let url = format!(
        "https://127.0.0.1:{}/dns-query?dns=AAABAAABAAAAAAAAAAAGAAE",
        doh.port()
    );
    let out = run_client("curl", &["-sk", "--http1.1", "-o/dev/null", "-D-", &url]).await;
    assert!(out.starts_with("HTTP/1.1 200"), "{out}");
    assert!(
        out.to_ascii_lowercase()
            .contains(&format!("alt-svc: {expected}")),
        "{out}"
    );
    // And the advertised HTTP/3 answers the same question.
    let (over_h3, _) = doh3(doh, &trusted, &asked).await;
    assert_eq!(summary(&over_h3), summary(&answer));

    // With HTTP/3 off: no advertisement, and nothing answers QUIC on that port.
    let doh = without.addr("doh").unwrap();
    let (answer, headers) = doh2(doh, &trusted, &asked).await;
    assert_eq!(answer.response_code, ResponseCode::NoError);
    assert!(headers.get("alt-svc").is_none(), "{headers:?}");
    let refused = common::secure::quic_connect([127, 0, 0, 1].into(), doh, &trusted, b"h3").await;
    assert!(refused.is_err());
}
