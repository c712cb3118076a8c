//! `hnsfleet query` and the `hnsfleet-client` library against a running `hnsfleet up` on a
//! real hsd regtest chain: an HNS name (a DNSSEC-signed Knot child zone with its DS on chain)
//! and an ICANN name (a Knot stand-in root and `com.`) answered over UDP, TCP, DoT, DoH and
//! DoQ with SIG(0) verified with the key `hnsfleet sig0 pubkey` prints, pinned by `--key`, by
//! an hns.conf (`--hns-conf`, `HNS_CONF`, both line forms); a wrong key refused; and proxies
//! between the client and the frontend that flip each byte of a response in turn (UDP and
//! TCP) or strip its SIG(0): every altered response is refused.
//!
//! Addresses: Knot on 127.0.0.70–72, the proxies on 127.0.0.73–74; hsd at port offset 1020.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;
use common::*;

use std::net::{Ipv4Addr, SocketAddr};
use std::path::Path;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hickory_proto::rr::{Name, RData, RecordType};
use hnsfleet_client::{
    Client, Config, Error, Request, Response, Server, Sig0Verdict, Transport, check_sig0,
};
use hnsfleet_hns::sig0::{SIG_RR_SIZE, Sig0PublicKey};
use hnsfleet_testkit::knot::{Knot, ZoneSpec, ds_update_json, icann_stand_in};
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};

fn at(last: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, last], 53))
}

fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A CA and a certificate it issued for `localhost` and 127.0.0.1, written to `dir`:
/// (ca.pem, cert.pem, key.pem).
fn tls_files(dir: &Path) -> (String, String, String) {
    use rcgen::{BasicConstraints, CertificateParams, IsCa, Issuer, KeyPair};
    let ca_key = KeyPair::generate().unwrap();
    let mut ca_params = CertificateParams::new(Vec::<String>::new()).unwrap();
    ca_params.is_ca = IsCa::Ca(BasicConstraints::Unconstrained);
    let ca = ca_params.self_signed(&ca_key).unwrap();
    let issuer = Issuer::from_params(&ca_params, &ca_key);
    let key = KeyPair::generate().unwrap();
    let cert = CertificateParams::new(vec!["localhost".to_string(), "127.0.0.1".to_string()])
        .unwrap()
        .signed_by(&key, &issuer)
        .unwrap();
    let write = |file: &str, text: String| {
        let path = dir.join(file);
        std::fs::write(&path, text).unwrap();
        path.display().to_string()
    };
    (
        write("ca.pem", ca.pem()),
        write("cert.pem", cert.pem()),
        write("key.pem", key.serialize_pem()),
    )
}

/// Runs the real binary: (exit code, stdout, stderr).
async fn hnsfleet(args: &[&str], env: &[(&str, &str)]) -> (i32, String, String) {
    let mut command = tokio::process::Command::new(BIN);
    command.args(args).env_remove("HNS_CONF");
    for (key, value) in env {
        command.env(key, value);
    }
    let out = tokio::time::timeout(Duration::from_secs(30), command.output())
        .await
        .unwrap_or_else(|_| panic!("hnsfleet {args:?} hung"))
        .unwrap();
    (
        out.status.code().unwrap_or(-1),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

/// Asserts a verified NOERROR answer naming `address` and the key's origin.
fn assert_verified(
    what: &str,
    (code, out, err): &(i32, String, String),
    address: &str,
    key: &str,
    origin: &str,
) {
    assert_eq!(*code, 0, "{what}: {out}{err}");
    assert!(out.contains("status: NOERROR"), "{what}: {out}");
    assert!(out.contains(address), "{what}: {out}");
    let line = format!(";; SIG(0): verified with key {key} ({origin})");
    assert!(out.contains(&line), "{what}: no {line:?} in {out}");
}

/// What a proxy does to the response bytes it relays.
#[derive(Clone, Default)]
struct Tamper {
    /// Flip (xor 1) the byte at this position; `usize::MAX`: relay as is.
    flip: Arc<AtomicUsize>,
    /// Cut the SIG(0) record off (and count it out of ARCOUNT).
    strip: Arc<std::sync::atomic::AtomicBool>,
    /// The last response as the frontend sent it.
    original: Arc<std::sync::Mutex<Vec<u8>>>,
}

impl Tamper {
    fn apply(&self, response: &[u8]) -> Vec<u8> {
        *self.original.lock().unwrap() = response.to_vec();
        let mut out = response.to_vec();
        if self.strip.load(Ordering::SeqCst) && out.len() > 12 + SIG_RR_SIZE {
            out.truncate(out.len() - SIG_RR_SIZE);
            let arcount = u16::from_be_bytes([out[10], out[11]]).saturating_sub(1);
            out[10..12].copy_from_slice(&arcount.to_be_bytes());
        }
        if let Some(byte) = out.get_mut(self.flip.load(Ordering::SeqCst)) {
            *byte ^= 1;
        }
        out
    }
}

/// A UDP proxy on 127.0.0.73 to `upstream`, tampering as told.
async fn udp_proxy(upstream: SocketAddr, tamper: Tamper) -> SocketAddr {
    let socket = tokio::net::UdpSocket::bind("127.0.0.73:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    tokio::spawn(async move {
        let mut buf = vec![0u8; 65_535];
        while let Ok((len, client)) = socket.recv_from(&mut buf).await {
            let out = tokio::net::UdpSocket::bind("127.0.0.1:0").await.unwrap();
            out.send_to(&buf[..len], upstream).await.unwrap();
            let mut answer = vec![0u8; 65_535];
            let Ok(Ok(n)) =
                tokio::time::timeout(Duration::from_secs(5), out.recv(&mut answer)).await
            else {
                continue;
            };
            let _ = socket.send_to(&tamper.apply(&answer[..n]), client).await;
        }
    });
    addr
}

/// A TCP proxy on 127.0.0.74 to `upstream`, one query per connection, tampering as told.
async fn tcp_proxy(upstream: SocketAddr, tamper: Tamper) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.74:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        while let Ok((mut client, _)) = listener.accept().await {
            let tamper = tamper.clone();
            tokio::spawn(async move {
                let mut len = [0u8; 2];
                client.read_exact(&mut len).await?;
                let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
                client.read_exact(&mut query).await?;
                let mut server = tokio::net::TcpStream::connect(upstream).await?;
                server.write_all(&len).await?;
                server.write_all(&query).await?;
                server.read_exact(&mut len).await?;
                let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
                server.read_exact(&mut answer).await?;
                let out = tamper.apply(&answer);
                client.write_all(&(out.len() as u16).to_be_bytes()).await?;
                client.write_all(&out).await?;
                Ok::<_, std::io::Error>(())
            });
        }
    });
    addr
}

/// The library's query through `client`, off the runtime.
async fn ask(client: &Client, request: &Request) -> Result<Response, Error> {
    let (client, request) = (client.clone(), request.clone());
    tokio::task::spawn_blocking(move || client.query(&request))
        .await
        .unwrap()
}

/// Flips each byte of the response in turn: every altered answer is refused. A position whose
/// relayed original was not signed (the frontend's signing budget ran out) is asked again.
async fn every_flip_is_refused(
    client: &Client,
    request: &Request,
    tamper: &Tamper,
    key: &Sig0PublicKey,
) {
    tamper.flip.store(usize::MAX, Ordering::SeqCst);
    let control = ask(client, request).await.expect("unaltered answer");
    assert!(matches!(control.sig0(), Sig0Verdict::Verified { .. }));
    let len = control.raw().len();
    let now = || {
        std::time::SystemTime::now()
            .duration_since(std::time::UNIX_EPOCH)
            .unwrap()
            .as_secs() as u32
    };
    for position in 0..len {
        tamper.flip.store(position, Ordering::SeqCst);
        let mut tries = 0;
        loop {
            let transport = client.config().server.transport;
            let Err(err) = ask(client, request).await else {
                panic!("{transport:?}: byte {position} flipped and still accepted");
            };
            // The ID (bytes 0-1): over UDP another datagram, ignored until the deadline; over
            // TCP a mismatch. Anything else: the signature check refuses it.
            let expected = match (position, transport) {
                (0 | 1, Transport::Udp) => matches!(err, Error::Timeout { .. }),
                (0 | 1, _) => matches!(err, Error::Mismatch(_)),
                _ => matches!(err, Error::BadSignature { .. } | Error::Unsigned { .. }),
            };
            assert!(expected, "{transport:?}: byte {position} flipped: {err}");
            let original = tamper.original.lock().unwrap().clone();
            if matches!(
                check_sig0(&original, key, now()),
                Sig0Verdict::Verified { .. }
            ) {
                break;
            }
            tries += 1;
            assert!(
                tries < 50,
                "the frontend stopped signing at byte {position}"
            );
            tokio::time::sleep(Duration::from_millis(100)).await;
        }
    }
    tamper.flip.store(usize::MAX, Ordering::SeqCst);
    assert!(ask(client, request).await.is_ok());
    eprintln!(
        "{:?}: all {len} flipped positions refused",
        client.config().server.transport
    );
}

#[tokio::test]
async fn query_verifies_sig0_on_every_transport_and_refuses_altered_answers() {
    let (hsd, _manifest) = prepared_hsd("query-e2e", 1020).await;
    let (icann_root, _com) =
        icann_stand_in(Ipv4Addr::new(127, 0, 0, 70), Ipv4Addr::new(127, 0, 0, 71))
            .await
            .unwrap();
    let child = Knot::start(
        at(72),
        vec![
            ZoneSpec::signed(
                "fleetns.",
                "$ORIGIN fleetns.\n$TTL 300\n@ SOA ns1 host 1 3600 900 604800 300\n@ NS ns1\n\
                 ns1 A 127.0.0.72\nwww A 127.0.0.79\n",
            )
            .unwrap(),
        ],
    )
    .await
    .unwrap();
    let mut records = vec![json!({"type": "GLUE4", "ns": "ns1.fleetns.", "address": "127.0.0.72"})];
    records.extend(ds_update_json(&child.keys(&name("fleetns.")).unwrap().ds));
    assert!(records.len() >= 2, "no DS");
    hsd.wallet(
        "sendupdate",
        &["fleetns".into(), json!({ "records": records })],
    )
    .unwrap();
    hsd.mine(12).unwrap();

    // The fleet: SIG(0) on every transport, TLS with our own CA, the stand-in ICANN root.
    let dir = tempfile::tempdir().unwrap();
    let key_file = dir.path().join("sig0.key");
    let (code, _, err) = hnsfleet(&["sig0", "keygen", key_file.to_str().unwrap()], &[]).await;
    assert_eq!(code, 0, "{err}");
    let (ca, cert, tls_key) = tls_files(dir.path());
    let hints = dir.path().join("root.hints");
    std::fs::write(&hints, ". NS ns.root.\nns.root. A 127.0.0.70\n").unwrap();
    let anchors = dir.path().join("anchors.ds");
    let root_ds = icann_root.keys(&Name::root()).unwrap().ds_text.join("\n");
    std::fs::write(&anchors, format!("{root_ds}\n")).unwrap();
    let fleet = fleet_up(
        hsd.p2p_addr().unwrap(),
        &dir.path().join("data"),
        &[
            "--dot-listen",
            "127.0.0.1:0",
            "--doh-listen",
            "127.0.0.1:0",
            "--doq-listen",
            "127.0.0.1:0",
            "--tls-cert",
            &cert,
            "--tls-key",
            &tls_key,
            "--sig0-key",
            key_file.to_str().unwrap(),
            "--sig0-dot",
            "true",
            "--sig0-doh",
            "true",
            "--icann-root-hints",
            hints.to_str().unwrap(),
            "--icann-trust-anchors",
            anchors.to_str().unwrap(),
            "--allow-private-upstreams",
            "true",
            "--resolve-timeout",
            "3s",
            "--rrl-rate",
            "0",
        ],
        "query-e2e-up",
    )
    .await;
    let dns = fleet.addr("dns").unwrap();
    let (dot, doh, doq) = (
        fleet.addr("dot").unwrap(),
        fleet.addr("doh").unwrap(),
        fleet.addr("doq").unwrap(),
    );
    let (code, out, err) = hnsfleet(&["sig0", "pubkey", key_file.to_str().unwrap()], &[]).await;
    assert_eq!(code, 0, "{err}");
    let pubkey: Value = serde_json::from_str(&out).unwrap();
    let key_hex = pubkey["public_key_hex"].as_str().unwrap().to_string();
    let key_b32 = pubkey["public_key"].as_str().unwrap().to_string();
    let key = Sig0PublicKey::from_hex(&key_hex).unwrap();

    // Wait until the fleet answers www.fleetns from the UPDATE (the library, key pinned).
    let udp =
        Client::new(Config::new(Server::new(Transport::Udp, dns)).with_key(Some(key))).unwrap();
    let www = Request::new(name("www.fleetns."), RecordType::A);
    fleet
        .poll(
            Duration::from_secs(60),
            "www.fleetns answered",
            async |_| {
                let response = ask(&udp, &www).await.ok()?;
                response
                    .message()
                    .answers
                    .iter()
                    .any(|r| r.data == RData::A("127.0.0.79".parse().unwrap()))
                    .then_some(())
            },
        )
        .await
        .unwrap();

    // 1. The binary over every transport, for the HNS name and the ICANN one, key given.
    let (dns_s, dot_s, doh_s, doq_s) = (
        dns.to_string(),
        dot.to_string(),
        format!("https://127.0.0.1:{}/dns-query", doh.port()),
        doq.to_string(),
    );
    let transports: [(&str, Vec<&str>); 6] = [
        ("udp", vec!["--server", &dns_s]),
        ("tcp", vec!["--server", &dns_s, "--tcp"]),
        ("dot", vec!["--server", &dot_s, "--dot", "--tls-ca", &ca]),
        (
            "dot by name",
            vec![
                "--server",
                &dot_s,
                "--dot",
                "--tls-ca",
                &ca,
                "--tls-name",
                "localhost",
            ],
        ),
        ("doh", vec!["--server", &doh_s, "--tls-ca", &ca]),
        ("doq", vec!["--server", &doq_s, "--doq", "--tls-ca", &ca]),
    ];
    for (qname, address) in [
        ("www.fleetns", "127.0.0.79"),
        ("www.example.com", "127.0.0.90"),
    ] {
        for (what, flags) in &transports {
            let mut args = vec!["query", qname, "A", "--key", &key_hex];
            args.extend(flags.iter().copied());
            let result = hnsfleet(&args, &[]).await;
            assert_verified(
                &format!("{qname} {what}"),
                &result,
                address,
                &key_hex,
                "given with --key",
            );
        }
    }
    //    DoH named by flag, DNSSEC records asked for, the base32 key, JSON out.
    let doh_addr = doh.to_string();
    let (code, out, err) = hnsfleet(
        &[
            "query",
            "www.fleetns",
            "A",
            "--doh",
            "--server",
            &doh_addr,
            "--tls-ca",
            &ca,
            "--key",
            &key_b32,
            "--dnssec",
            "--json",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 0, "{out}{err}");
    let v: Value = serde_json::from_str(&out).unwrap();
    assert_eq!(v["status"], "NOERROR", "{v}");
    assert_eq!(v["transport"], "https");
    assert_eq!(v["sig0"]["verdict"], "verified");
    assert_eq!(v["sig0"]["key"], key_hex.as_str());
    let answers = v["answer"].as_array().unwrap();
    assert!(
        answers
            .iter()
            .any(|a| a.as_str().unwrap().contains("127.0.0.79")),
        "{v}"
    );
    assert!(
        answers
            .iter()
            .any(|a| a.as_str().unwrap().contains("RRSIG")),
        "DO: {v}"
    );
    assert!(v["flags"].as_array().unwrap().contains(&json!("ad")), "{v}");

    //    Keys pinned by hns.conf: libhns' form through --hns-conf (no --server: its first
    //    nameserver), the whitepaper's form (hex and base32) through HNS_CONF.
    let libhns = dir.path().join("libhns.conf");
    std::fs::write(
        &libhns,
        format!("# the fleet\nnameserver {key_b32}@{dns}\n"),
    )
    .unwrap();
    let libhns_s = libhns.to_str().unwrap();
    let result = hnsfleet(&["query", "www.fleetns", "--hns-conf", libhns_s], &[]).await;
    assert_verified(
        "--hns-conf libhns form",
        &result,
        "127.0.0.79",
        &key_hex,
        &format!("pinned by hns.conf {libhns_s}"),
    );
    let whitepaper = dir.path().join("whitepaper.conf");
    std::fs::write(
        &whitepaper,
        format!(
            "nameserver {dns} {key_hex}\nnameserver {dot} {key_b32}\nnameserver {doq} {key_hex}\n"
        ),
    )
    .unwrap();
    let wp = whitepaper.to_str().unwrap();
    let origin = format!("pinned by hns.conf {wp}");
    for (what, args) in [
        ("HNS_CONF udp", vec!["query", "www.example.com"]),
        (
            "HNS_CONF tcp",
            vec!["query", "www.fleetns", "--server", &dns_s, "--tcp"],
        ),
        (
            "HNS_CONF dot",
            vec![
                "query",
                "www.fleetns",
                "--server",
                &dot_s,
                "--dot",
                "--tls-ca",
                &ca,
            ],
        ),
        (
            "HNS_CONF doq",
            vec![
                "query",
                "www.example.com",
                "--server",
                &doq_s,
                "--doq",
                "--tls-ca",
                &ca,
            ],
        ),
    ] {
        let address = if args[1] == "www.fleetns" {
            "127.0.0.79"
        } else {
            "127.0.0.90"
        };
        let result = hnsfleet(&args, &[("HNS_CONF", wp)]).await;
        assert_verified(what, &result, address, &key_hex, &origin);
    }
    //    --hns-conf wins over HNS_CONF.
    let result = hnsfleet(
        &["query", "www.fleetns", "--hns-conf", libhns_s],
        &[("HNS_CONF", "/nonexistent")],
    )
    .await;
    assert_verified(
        "--hns-conf over HNS_CONF",
        &result,
        "127.0.0.79",
        &key_hex,
        &format!("pinned by hns.conf {libhns_s}"),
    );

    // 2. A wrong key, given or pinned by hns.conf: exit 1 naming the failure, no answer.
    let wrong = hnsfleet_hns::sig0::Sig0Key::from_bytes(&[7; 32])
        .unwrap()
        .public_key();
    let (code, out, err) = hnsfleet(
        &[
            "query",
            "www.fleetns",
            "--server",
            &dns_s,
            "--key",
            &wrong.to_hex(),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 1, "{out}{err}");
    assert!(
        err.contains("sig(0) verification failed") && err.contains(&wrong.to_hex()),
        "{err}"
    );
    assert!(!out.contains("127.0.0.79"), "{out}");
    let wrong_conf = dir.path().join("wrong.conf");
    std::fs::write(
        &wrong_conf,
        format!("nameserver {} {}\n", doh, wrong.to_base32()),
    )
    .unwrap();
    let (code, _, err) = hnsfleet(
        &[
            "query",
            "www.example.com",
            "--server",
            &doh_addr,
            "--doh",
            "--tls-ca",
            &ca,
            "--hns-conf",
            wrong_conf.to_str().unwrap(),
        ],
        &[],
    )
    .await;
    assert_eq!(code, 1, "{err}");
    assert!(err.contains("sig(0) verification failed"), "{err}");
    //    No key: answered, not checked. No server anywhere: a usage error. A dead server: 2.
    let (code, out, _) = hnsfleet(&["query", "www.fleetns", "--server", &dns_s], &[]).await;
    assert_eq!(code, 0);
    assert!(
        out.contains(";; SIG(0): not checked (no key pinned)"),
        "{out}"
    );
    let (code, _, err) =
        hnsfleet(&["query", "www.fleetns", "--hns-conf", "/nonexistent"], &[]).await;
    assert_eq!(code, 64, "{err}");
    let (code, _, err) = hnsfleet(
        &[
            "query",
            "www.fleetns",
            "--server",
            "127.0.0.1:9",
            "--tcp",
            "--timeout",
            "2s",
        ],
        &[],
    )
    .await;
    assert_eq!(code, 2, "{err}");
    //    A certificate for another name: refused before any DNS.
    let (code, _, err) = hnsfleet(
        &[
            "query",
            "www.fleetns",
            "--server",
            &dot_s,
            "--dot",
            "--tls-ca",
            &ca,
            "--tls-name",
            "other.example",
            "--key",
            &key_hex,
        ],
        &[],
    )
    .await;
    assert_eq!(code, 2, "{err}");
    assert!(err.contains("tls"), "{err}");

    // 3. Proxies that flip each byte of a response in turn (UDP, TCP), or strip the SIG(0).
    let tamper = Tamper::default();
    tamper.flip.store(usize::MAX, Ordering::SeqCst);
    let udp_via = udp_proxy(dns, tamper.clone()).await;
    let tcp_via = tcp_proxy(dns, tamper.clone()).await;
    let through = |transport: Transport, addr: SocketAddr, key: Option<Sig0PublicKey>| {
        Client::new(
            Config::new(Server::new(transport, addr))
                .with_key(key)
                .with_timeout(Duration::from_millis(700)),
        )
        .unwrap()
    };
    for (transport, addr) in [(Transport::Udp, udp_via), (Transport::Tcp, tcp_via)] {
        let client = through(transport, addr, Some(key));
        every_flip_is_refused(&client, &www, &tamper, &key).await;
        tamper.strip.store(true, Ordering::SeqCst);
        let err = ask(&client, &www).await.unwrap_err();
        assert!(
            matches!(err, Error::Unsigned { .. }),
            "{transport:?} stripped: {err}"
        );
        //    Without a pinned key the stripped answer passes, unchecked: why pinning matters.
        let unpinned = ask(&through(transport, addr, None), &www).await.unwrap();
        assert_eq!(unpinned.sig0(), &Sig0Verdict::NotChecked);
        tamper.strip.store(false, Ordering::SeqCst);
    }
    drop(child);
}
