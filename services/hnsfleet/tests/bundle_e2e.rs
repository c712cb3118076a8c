//! Proof bundles end to end: `hnsfleet up` on a real hsd regtest chain, a DNSSEC-signed Knot
//! child zone whose DS is on chain, and a Knot stand-in for the ICANN root. Bundles for an HNS
//! name, an ICANN name and an absent TLD verify with `hnsfleet-proof-bundle` alone (offline,
//! from the response bytes); altering any part makes the step that checks it fail.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::dns::{tcp, udp};
use common::*;

use std::net::{Ipv4Addr, SocketAddr};
use std::time::{Duration, SystemTime, UNIX_EPOCH};

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::op::{Edns, Message, Query, ResponseCode};
use hickory_proto::rr::rdata::opt::EdnsOption;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hnsfleet_hns::params::Network;
use hnsfleet_proof_bundle::{OPTION_CODE, Policy, Step, Verdict, bundle_of, encode_into, verify};
use hnsfleet_testkit::knot::{KeyModel, Knot, Signing, ZoneSpec, ds_update_json, icann_stand_in};
use serde_json::{Value, json};

fn at(last: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, last], 53))
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

fn now() -> u64 {
    SystemTime::now()
        .duration_since(UNIX_EPOCH)
        .unwrap()
        .as_secs()
}

/// A recursive query asking for a proof bundle (DO set).
fn bundle_query(qname: &str, qtype: RecordType) -> Message {
    let mut message = Message::query();
    message.add_query(Query::query(name(qname), qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.set_dnssec_ok(true);
    edns.options_mut()
        .insert(EdnsOption::Unknown(OPTION_CODE, Vec::new()));
    message.set_edns(edns);
    message.metadata.recursion_desired = true;
    message
}

/// Runs the `hnsfleet` binary: its exit code and its stdout and stderr.
async fn cli(args: &[&str]) -> (i32, String) {
    let out = tokio::time::timeout(
        Duration::from_secs(60),
        tokio::process::Command::new(BIN).args(args).output(),
    )
    .await
    .unwrap_or_else(|_| panic!("hnsfleet {args:?} hung"))
    .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned() + &String::from_utf8_lossy(&out.stderr),
    )
}

/// Asserts that `report` fails first at `step`.
fn fails_at(report: &hnsfleet_proof_bundle::Report, step: Step, what: &str) {
    let failure = report.failure();
    assert_eq!(
        failure.map(|(s, _)| s),
        Some(step),
        "{what}: expected a failure at {step}, got {report:#?}"
    );
}

/// `response` with its bundle changed by `change`.
fn altered(response: &Message, change: impl FnOnce(&mut hnsfleet_proof_bundle::Bundle)) -> Message {
    let mut bundle = bundle_of(response).unwrap();
    change(&mut bundle);
    let mut out = response.clone();
    encode_into(&mut out, &bundle).unwrap();
    out
}

/// Flips the last byte of the signature of the first RRSIG covering `covered` at `owner`.
fn flip_rrsig(records: &mut [Record], owner: &Name, covered: RecordType) {
    let record = records
        .iter_mut()
        .find(|r| {
            r.name == *owner
                && matches!(&r.data, RData::DNSSEC(DNSSECRData::RRSIG(s)) if s.input().type_covered == covered)
        })
        .unwrap_or_else(|| panic!("no RRSIG over {owner} {covered}"));
    let RData::DNSSEC(DNSSECRData::RRSIG(sig)) = &record.data else {
        unreachable!()
    };
    let mut bytes = sig.sig().to_vec();
    let last = bytes.len() - 1;
    bytes[last] ^= 0x01;
    let changed = hickory_proto::dnssec::rdata::RRSIG::from_sig(sig.input().clone(), bytes);
    record.data = RData::DNSSEC(DNSSECRData::RRSIG(changed));
}

#[tokio::test]
async fn bundles_verify_offline_and_name_the_altered_part() {
    let (hsd, _manifest) = prepared_hsd("bundle-e2e", 1040).await;
    let (icann_root, _com) =
        icann_stand_in(Ipv4Addr::new(127, 0, 0, 92), Ipv4Addr::new(127, 0, 0, 93))
            .await
            .unwrap();
    // Below fleetns (NSEC), a second cut: n3.fleetns, signed with NSEC3 by its own knotd.
    let n3_zone = "$ORIGIN n3.fleetns.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 300\n\
                   @ NS ns1\nns1 A 127.0.0.94\nwww A 127.0.0.94\n";
    let n3_spec = ZoneSpec::new("n3.fleetns.", n3_zone, Signing::SignedNsec3(KeyModel::Csk));
    let n3 = Knot::start(at(94), vec![n3_spec.unwrap()]).await.unwrap();
    let n3_ds = n3.keys(&name("n3.fleetns.")).unwrap().ds_text.join("\n");
    let zone = format!(
        "$ORIGIN fleetns.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 300\n@ NS ns1\n\
         ns1 A 127.0.0.91\nwww A 127.0.0.90\nn3 NS ns1.n3\nns1.n3 A 127.0.0.94\n{n3_ds}\n"
    );
    let child = Knot::start(at(91), vec![ZoneSpec::signed("fleetns.", &zone).unwrap()])
        .await
        .unwrap();
    let mut records = vec![json!({"type": "GLUE4", "ns": "ns1.fleetns.", "address": "127.0.0.91"})];
    records.extend(ds_update_json(&child.keys(&name("fleetns.")).unwrap().ds));
    hsd.wallet(
        "sendupdate",
        &["fleetns".into(), json!({ "records": records })],
    )
    .unwrap();
    hsd.mine(12).unwrap();

    let dir = tempfile::tempdir().unwrap();
    let hints = dir.path().join("root.hints");
    std::fs::write(&hints, ". NS ns.root.\nns.root. A 127.0.0.92\n").unwrap();
    let anchors_text = icann_root.keys(&Name::root()).unwrap().ds_text.join("\n");
    let anchors = dir.path().join("anchors.ds");
    std::fs::write(&anchors, format!("{anchors_text}\n")).unwrap();
    let fleet = fleet_up(
        hsd.p2p_addr().unwrap(),
        &dir.path().join("data"),
        &[
            "--icann-root-hints",
            hints.to_str().unwrap(),
            "--icann-trust-anchors",
            anchors.to_str().unwrap(),
            "--allow-private-upstreams",
            "true",
            "--resolve-timeout",
            "3s",
            "--dot-listen",
            "127.0.0.1:0",
            "--doh-listen",
            "127.0.0.1:0",
            "--doq-listen",
            "127.0.0.1:0",
            "--self-signed",
        ],
        "bundle-e2e-up",
    )
    .await;
    let dns = fleet.addr("dns").unwrap();
    let mut policy = Policy::for_network(Network::Regtest);
    policy.icann_anchors = hnsfleet_proof_bundle::parse_anchors(&anchors_text).unwrap();

    // Wait until the trusted root holds the UPDATE and the answer validates with a bundle.
    let response = fleet
        .poll(
            Duration::from_secs(60),
            "a verified bundle for www.fleetns",
            async |_| {
                let response = tcp(dns, &bundle_query("www.fleetns.", RecordType::A)).await;
                verify(&response, &policy, now(), None)
                    .is_verified()
                    .then_some(response)
            },
        )
        .await
        .unwrap();
    let report = verify(&response, &policy, now(), None);
    for (step, verdict) in &report.steps {
        assert!(matches!(verdict, Verdict::Passed(_)), "{step}: {verdict:?}");
    }
    assert!(
        response
            .answers
            .iter()
            .any(|r| r.data == RData::A("127.0.0.90".parse().unwrap()))
    );

    // Offline: the bytes as fetched, parsed again later, still verify.
    let bytes = response.to_vec().unwrap();
    let stored = dir.path().join("www.fleetns.bundle");
    std::fs::write(&stored, &bytes).unwrap();
    let reread = Message::from_vec(&std::fs::read(&stored).unwrap()).unwrap();
    assert!(verify(&reread, &policy, now(), None).is_verified());

    // Each altered part fails at the step that checks it.
    let bundle = bundle_of(&response).unwrap();
    // `HNSFLEET_WRITE_VECTORS=1` refreshes the test vectors from this real bundle: the fuzz
    // seed (the bundle) and `crates/proof-bundle/testdata` (the whole response).
    if std::env::var_os("HNSFLEET_WRITE_VECTORS").is_some() {
        let repo = std::path::Path::new(env!("CARGO_MANIFEST_DIR")).join("../..");
        std::fs::write(
            repo.join("fuzz/seeds/proof_bundle/www-fleetns-regtest"),
            bundle.encode().unwrap(),
        )
        .unwrap();
        std::fs::write(
            repo.join("crates/proof-bundle/testdata/www-fleetns-response.bin"),
            &bytes,
        )
        .unwrap();
    }
    fails_at(
        &verify(
            &altered(&response, |b| {
                let mid = b.proof.len() / 2;
                b.proof[mid] ^= 0x01;
            }),
            &policy,
            now(),
            None,
        ),
        Step::Proof,
        "a proof byte",
    );
    fails_at(
        &verify(
            &altered(&response, |b| b.tree_root.0[0] ^= 0x01),
            &policy,
            now(),
            None,
        ),
        Step::Root,
        "the tree root",
    );
    fails_at(
        &verify(
            &altered(&response, |b| b.headers[0].nonce ^= 0x0102_0304),
            &policy,
            now(),
            None,
        ),
        Step::Headers,
        "a header's nonce",
    );
    fails_at(
        &verify(
            &altered(&response, |b| {
                flip_rrsig(&mut b.records, &name("fleetns."), RecordType::DNSKEY)
            }),
            &policy,
            now(),
            None,
        ),
        Step::Dnssec,
        "a DNSSEC signature",
    );
    let mut forged = response.clone();
    for record in &mut forged.answers {
        if record.record_type() == RecordType::A {
            record.data = RData::A("127.0.0.99".parse().unwrap());
        }
    }
    fails_at(
        &verify(&forged, &policy, now(), None),
        Step::Answer,
        "an answer record",
    );
    // Without the bundle: nothing to check.
    let mut stripped = response.clone();
    stripped.edns.as_mut().unwrap().options_mut().remove(
        hickory_proto::rr::rdata::opt::EdnsCode::Unknown(OPTION_CODE),
    );
    fails_at(
        &verify(&stripped, &policy, now(), None),
        Step::Bundle,
        "no bundle",
    );

    // Denials below the TLD, by NSEC (fleetns) and NSEC3 (n3.fleetns, one more zone cut), and
    // an answer two cuts down.
    for (qname, qtype, rcode, denial) in [
        ("www.n3.fleetns.", RecordType::A, ResponseCode::NoError, ""),
        ("nx.fleetns.", RecordType::A, ResponseCode::NXDomain, "NSEC"),
        (
            "www.fleetns.",
            RecordType::TXT,
            ResponseCode::NoError,
            "NSEC",
        ),
        (
            "nx.n3.fleetns.",
            RecordType::A,
            ResponseCode::NXDomain,
            "NSEC3",
        ),
        (
            "www.n3.fleetns.",
            RecordType::TXT,
            ResponseCode::NoError,
            "NSEC3",
        ),
    ] {
        let response = tcp(dns, &bundle_query(qname, qtype)).await;
        assert_eq!(response.metadata.response_code, rcode, "{qname} {qtype}");
        let records: Vec<String> = response.authorities.iter().map(|r| r.to_string()).collect();
        let unique: std::collections::BTreeSet<&String> = records.iter().collect();
        assert_eq!(
            unique.len(),
            records.len(),
            "a repeated record: {records:#?}"
        );
        let report = verify(&response, &policy, now(), None);
        if !report.is_verified() {
            eprintln!("DEBUG {qname}: {}", response);
        }
        assert!(report.is_verified(), "{qname} {qtype}: {report:#?}");
        let Some(Verdict::Passed(detail)) = report.verdict(Step::Answer) else {
            panic!("{qname} {qtype}: no answer verdict");
        };
        let proven_by = if detail.contains("NSEC3") {
            "NSEC3"
        } else if detail.contains("NSEC") {
            "NSEC"
        } else {
            ""
        };
        assert_eq!(proven_by, denial, "{qname} {qtype}: {detail}");
        if denial.is_empty() {
            continue;
        }
        // Any one denial record left out: the denial no longer holds.
        let denials: Vec<usize> = (0..response.authorities.len())
            .filter(|&i| response.authorities[i].record_type().to_string() == denial)
            .collect();
        assert!(!denials.is_empty(), "{qname} {qtype}: no {denial} records");
        for &i in &denials {
            let mut cut = response.clone();
            cut.authorities.remove(i);
            fails_at(
                &verify(&cut, &policy, now(), None),
                Step::Answer,
                &format!("{qname} {qtype} without one {denial}"),
            );
        }
    }

    // An ICANN name: the TLD proven absent and reserved, ICANN's chain from the anchors.
    let response = tcp(dns, &bundle_query("www.example.com.", RecordType::A)).await;
    let report = verify(&response, &policy, now(), None);
    assert!(report.is_verified(), "{report:#?}");
    // With the real ICANN anchors instead of the stand-in's, the ICANN chain does not verify.
    let real = Policy::for_network(Network::Regtest);
    fails_at(
        &verify(&response, &real, now(), None),
        Step::Delegation,
        "ICANN anchors",
    );

    // Below an ICANN TLD, a name its zone denies: NSECs signed under ICANN's chain.
    let response = tcp(dns, &bundle_query("nx.example.com.", RecordType::A)).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    let report = verify(&response, &policy, now(), None);
    assert!(report.is_verified(), "{report:#?}");

    // An absent, unreserved TLD: NXDOMAIN proven by the absence proof alone.
    let response = tcp(dns, &bundle_query("www.nosuchtldxyz.", RecordType::A)).await;
    assert_eq!(response.metadata.response_code, ResponseCode::NXDomain);
    let report = verify(&response, &policy, now(), None);
    assert!(report.is_verified(), "{report:#?}");

    // Over UDP the bundle does not fit a 1232-byte payload: TC=1 without it.
    let response = udp(dns, &bundle_query("www.fleetns.", RecordType::A)).await;
    assert!(response.metadata.truncation, "{response:?}");
    assert!(bundle_of(&response).is_err());

    // Without the option there is no bundle.
    let mut plain = bundle_query("www.fleetns.", RecordType::A);
    plain.edns.as_mut().unwrap().options_mut().remove(
        hickory_proto::rr::rdata::opt::EdnsCode::Unknown(OPTION_CODE),
    );
    let response = tcp(dns, &plain).await;
    assert!(bundle_of(&response).is_err());
    assert!(
        metric(
            &fleet,
            hnsfleet_frontend::metrics::PROOF_BUNDLES,
            &[("result", "built")]
        )
        .await
            >= 3.0
    );

    // A flood of bundle requests (one root) costs the proof-cache tier one `GetHeaders` per
    // root every few seconds, not one per request: the frontend reuses a root's headers.
    let cache_admin = fleet.addr("cache_admin").unwrap();
    let get_headers = async || {
        let page = reqwest::get(format!("http://{cache_admin}/metrics"))
            .await
            .unwrap()
            .text()
            .await
            .unwrap();
        hnsfleet_testkit::service::metric_value(
            &page,
            hnsfleet_service_kit::grpc::REQUESTS_TOTAL,
            &[("method", "GetHeaders")],
        )
        .unwrap()
        .unwrap_or(0.0)
    };
    let before = get_headers().await;
    assert!(before >= 1.0, "earlier bundles fetched headers: {before}");
    let flood: Vec<_> = (0..40)
        .map(|_| {
            tokio::spawn(
                async move { tcp(dns, &bundle_query("www.fleetns.", RecordType::A)).await },
            )
        })
        .collect();
    for answer in flood {
        let answer = answer.await.unwrap();
        assert!(verify(&answer, &policy, now(), None).is_verified());
    }
    let calls = get_headers().await - before;
    // At most two 5-second windows.
    assert!(calls <= 2.0, "{calls} GetHeaders calls for 40 bundles");

    // The CLI: `hnsfleet query --verify-chain` on every transport (UDP truncates and the
    // client retries over TCP; DoH asks with `hns-proof=1`), for an HNS and an ICANN name.
    let anchors_flag = anchors.to_str().unwrap();
    let servers = [
        ("udp", dns.to_string(), None),
        ("tcp", dns.to_string(), Some("--tcp")),
        ("dot", fleet.addr("dot").unwrap().to_string(), Some("--dot")),
        (
            "doh",
            format!("https://{}/dns-query", fleet.addr("doh").unwrap()),
            None,
        ),
        ("doq", fleet.addr("doq").unwrap().to_string(), Some("--doq")),
    ];
    for (transport, server, flag) in &servers {
        for qname in ["www.fleetns", "www.example.com"] {
            let mut args = vec![
                "query",
                qname,
                "A",
                "--server",
                server,
                "--insecure-tls",
                "--verify-chain",
                "--network",
                "regtest",
                "--icann-anchors",
                anchors_flag,
            ];
            args.extend(flag.iter());
            let (code, out) = cli(&args).await;
            assert_eq!(code, 0, "{transport} {qname}: {out}");
            assert!(out.contains("127.0.0.90"), "{transport} {qname}: {out}");
            assert!(
                out.contains(";; CHAIN: verified"),
                "{transport} {qname}: {out}"
            );
            for step in Step::ALL {
                assert!(
                    out.lines()
                        .any(|l| l.starts_with(&format!(";;   {step}")) && l.contains(" ok ")),
                    "{transport} {qname}: step {step}: {out}"
                );
            }
        }
    }

    // DoH with only the URL parameter (no EDNS option): the frontend adds the request itself.
    let doh_url = format!("https://{}/dns-query", fleet.addr("doh").unwrap());
    let response = tokio::task::spawn_blocking(move || {
        let server =
            hnsfleet_client::Server::parse(&doh_url, hnsfleet_client::Transport::Https).unwrap();
        let tls = hnsfleet_client::TlsOptions {
            danger_accept_any_certificate: true,
            ..hnsfleet_client::TlsOptions::default()
        };
        let client =
            hnsfleet_client::Client::new(hnsfleet_client::Config::new(server).with_tls(tls))
                .unwrap();
        let request = hnsfleet_client::Request::new(name("www.fleetns."), RecordType::A)
            .with_doh_param(hnsfleet_proof_bundle::DOH_PARAMETER, "1");
        client.query(&request).unwrap().message().clone()
    })
    .await
    .unwrap();
    let report = verify(&response, &policy, now(), None);
    assert!(report.is_verified(), "hns-proof=1: {report:#?}");

    // JSON, with the own-chain check against the fleet's follower, and the response saved.
    let follower = format!("http://{}", fleet.addr("follower_grpc").unwrap());
    let saved = dir.path().join("saved.bin");
    let (code, out) = cli(&[
        "query",
        "www.fleetns",
        "A",
        "--server",
        &dns.to_string(),
        "--tcp",
        "--verify-chain",
        "--network",
        "regtest",
        "--chain",
        &follower,
        "--json",
        "--save",
        saved.to_str().unwrap(),
    ])
    .await;
    assert_eq!(code, 0, "{out}");
    let v: Value = serde_json::from_str(out.lines().next().unwrap()).unwrap();
    assert_eq!(v["bundle"]["verified"], true, "{v}");
    let headers = v["bundle"]["steps"][1]["detail"].as_str().unwrap();
    assert!(headers.contains("our own chain"), "{headers}");

    // Offline, from the saved bytes: verifies, and each altered part fails at its step.
    let (code, out) = verify_file(&saved).await;
    assert_eq!(code, 0, "{out}");
    assert!(out.contains(";; CHAIN: verified"), "{out}");
    let response = Message::from_vec(&std::fs::read(&saved).unwrap()).unwrap();
    let mut cases: Vec<(&str, Step, Message)> = vec![
        (
            "a proof byte",
            Step::Proof,
            altered(&response, |b| {
                let at = b.proof.len() / 3;
                b.proof[at] ^= 0x10;
            }),
        ),
        (
            "the root",
            Step::Root,
            altered(&response, |b| b.tree_root.0[5] ^= 0x80),
        ),
        (
            "a header's nonce",
            Step::Headers,
            altered(&response, |b| {
                b.headers[0].nonce = b.headers[0].nonce.wrapping_add(1)
            }),
        ),
        (
            "a DNSSEC signature",
            Step::Dnssec,
            altered(&response, |b| {
                flip_rrsig(&mut b.records, &name("fleetns."), RecordType::DNSKEY)
            }),
        ),
    ];
    let mut record = response.clone();
    for answer in &mut record.answers {
        if answer.record_type() == RecordType::A {
            answer.data = RData::A("127.0.0.66".parse().unwrap());
        }
    }
    cases.push(("a record", Step::Answer, record));
    for (what, step, message) in cases {
        let path = dir.path().join("altered.bin");
        std::fs::write(&path, message.to_vec().unwrap()).unwrap();
        let (code, out) = verify_file(&path).await;
        assert_eq!(code, 1, "{what}: {out}");
        assert!(
            out.contains(&format!(";; CHAIN: NOT VERIFIED: step {step} failed")),
            "{what}: {out}"
        );
    }
}

/// `hnsfleet bundle verify FILE --network regtest`.
async fn verify_file(path: &std::path::Path) -> (i32, String) {
    cli(&[
        "bundle",
        "verify",
        path.to_str().unwrap(),
        "--network",
        "regtest",
    ])
    .await
}
