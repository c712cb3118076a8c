use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener, UdpSocket};
use std::thread::JoinHandle;

use hickory_proto::op::{Message, MessageType, ResponseCode};
use hickory_proto::rr::rdata::A;
use hickory_proto::rr::{Name, RData, Record, RecordType};
use hnsfleet_hns::sig0::{self, REGTEST_KEY_HEX, Sig0Error, Sig0Key};
use proptest::prelude::*;

use super::*;

const NOW: u32 = 1_700_000_000;

fn regtest() -> Sig0Key {
    Sig0Key::from_hex(REGTEST_KEY_HEX).unwrap()
}

fn request() -> Request {
    Request::new(Name::from_ascii("www.example.").unwrap(), RecordType::A)
}

/// The answer to `query` (bytes): its ID and question, one A record, optionally truncated.
fn answer(query: &[u8], truncated: bool) -> Vec<u8> {
    let query = Message::from_vec(query).unwrap();
    let mut response = Message::new(query.id, MessageType::Response, query.op_code);
    response.metadata.recursion_desired = query.recursion_desired;
    response.metadata.recursion_available = true;
    response.metadata.truncation = truncated;
    response.metadata.response_code = ResponseCode::NoError;
    response.add_queries(query.queries.clone());
    if !truncated {
        response.add_answer(Record::from_rdata(
            query.queries[0].name().clone(),
            300,
            RData::A(A::new(127, 0, 0, 90)),
        ));
    }
    response.to_vec().unwrap()
}

/// The EDNS0 option codes of `message`, in order.
fn option_codes(message: &Message) -> Vec<u16> {
    let edns = message.edns.as_ref().unwrap();
    edns.options()
        .options
        .iter()
        .map(|(c, _)| u16::from(*c))
        .collect()
}

fn signed(bytes: &[u8], now: u32) -> Vec<u8> {
    sig0::sign(bytes, &regtest(), now).unwrap()
}

#[test]
fn the_query_has_a_question_rd_edns_do_and_the_callers_options_in_order() {
    let request = self::request()
        .with_dnssec_ok(true)
        .with_edns_option(65001, vec![1])
        .with_edns_option(65002, Vec::new())
        .with_doh_param("hns-proof", "1");
    let bytes = request.encode(0xbeef).unwrap();
    let message = Message::from_vec(&bytes).unwrap();
    assert_eq!(message.id, 0xbeef);
    assert_eq!(message.message_type, MessageType::Query);
    assert!(message.recursion_desired);
    assert_eq!(message.queries.len(), 1);
    assert_eq!(message.queries[0].name(), &request.name);
    assert_eq!(message.queries[0].query_type(), RecordType::A);
    let edns = message.edns.as_ref().unwrap();
    assert_eq!(edns.max_payload(), EDNS_PAYLOAD);
    assert!(edns.flags().dnssec_ok);
    assert_eq!(option_codes(&message), [65001, 65002]);
    // The raw option bytes follow RFC 6891 §6.1.2: code, length, data.
    assert!(
        bytes
            .windows(5)
            .any(|w| w == [0xfd, 0xe9, 0x00, 0x01, 0x01])
    );
    let plain = Message::from_vec(&self::request().encode(1).unwrap()).unwrap();
    assert!(!plain.edns.as_ref().unwrap().flags().dnssec_ok);
}

#[test]
fn a_signed_answer_verifies_with_its_key_and_is_not_checked_without_one() {
    let query = request().encode(7).unwrap();
    let raw = signed(&answer(&query, false), NOW);
    let key = regtest().public_key();
    let (message, verdict) = check_response(&raw, 7, &request(), Some(&key), NOW).unwrap();
    assert_eq!(verdict, Sig0Verdict::Verified { key });
    assert_eq!(message.answers.len(), 1);
    let (_, verdict) = check_response(&raw, 7, &request(), None, NOW).unwrap();
    assert_eq!(verdict, Sig0Verdict::NotChecked);
    // Case does not matter in the question.
    let upper = Request::new(Name::from_ascii("WWW.Example").unwrap(), RecordType::A);
    assert!(check_response(&raw, 7, &upper, Some(&key), NOW).is_ok());
}

#[test]
fn a_pinned_key_rejects_unsigned_stripped_foreign_and_expired_answers() {
    let query = request().encode(7).unwrap();
    let unsigned = answer(&query, false);
    let key = regtest().public_key();
    let other = Sig0Key::from_bytes(&[9; 32]).unwrap().public_key();
    let err = check_response(&unsigned, 7, &request(), Some(&key), NOW).unwrap_err();
    assert!(matches!(err, Error::Unsigned { .. }), "{err}");
    assert_eq!(err.kind(), ErrorKind::Rejected);
    let raw = signed(&unsigned, NOW);
    // SIG(0) stripped: the record cut off and ARCOUNT restored.
    let mut stripped = raw[..raw.len() - sig0::SIG_RR_SIZE].to_vec();
    stripped[10..12].copy_from_slice(&0u16.to_be_bytes());
    assert_eq!(Message::from_vec(&stripped).unwrap().answers.len(), 1);
    let err = check_response(&stripped, 7, &request(), Some(&key), NOW).unwrap_err();
    assert!(matches!(err, Error::Unsigned { .. }), "{err}");
    let err = check_response(&raw, 7, &request(), Some(&other), NOW).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadSignature {
                reason: Sig0Error::BadSignature,
                ..
            }
        ),
        "{err}"
    );
    let later = NOW + 7 * 3600;
    let err = check_response(&raw, 7, &request(), Some(&key), later).unwrap_err();
    assert!(
        matches!(
            err,
            Error::BadSignature {
                reason: Sig0Error::Expired { .. },
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(
        check_sig0(&raw, &other, NOW),
        Sig0Verdict::Failed {
            reason: Sig0Error::BadSignature
        }
    );
    assert_eq!(check_sig0(&unsigned, &key, NOW), Sig0Verdict::NotSigned);
}

#[test]
fn another_id_direction_or_question_is_a_mismatch_even_when_signed() {
    let key = regtest().public_key();
    let query = request().encode(7).unwrap();
    let raw = signed(&answer(&query, false), NOW);
    let err = check_response(&raw, 8, &request(), Some(&key), NOW).unwrap_err();
    assert!(matches!(err, Error::Mismatch(_)), "{err}");
    let txt = Request::new(request().name, RecordType::TXT);
    let err = check_response(&raw, 7, &txt, Some(&key), NOW).unwrap_err();
    assert!(matches!(err, Error::Mismatch("another question")), "{err}");
    let err = check_response(&query, 7, &request(), None, NOW).unwrap_err();
    assert!(matches!(err, Error::Mismatch(_)), "{err}");
    assert!(matches!(
        check_response(&raw[..5], 7, &request(), None, NOW),
        Err(Error::Malformed(_))
    ));
}

#[test]
fn no_flipped_byte_of_a_signed_answer_passes() {
    let key = regtest().public_key();
    let query = request().with_dnssec_ok(true).encode(0x1234).unwrap();
    let raw = signed(&answer(&query, false), NOW);
    for i in 0..raw.len() {
        for flip in [0x01u8, 0x80, 0xff] {
            let mut altered = raw.clone();
            altered[i] ^= flip;
            let result = check_response(&altered, 0x1234, &request(), Some(&key), NOW);
            assert!(result.is_err(), "byte {i} ^ {flip:#x} passed");
        }
    }
}

proptest! {
    #[test]
    fn any_request_encodes_to_what_was_asked(
        labels in proptest::collection::vec("[a-z0-9]([a-z0-9-]{0,18}[a-z0-9])?", 1..5),
        qtype in prop_oneof![Just(RecordType::A), Just(RecordType::AAAA), Just(RecordType::TXT), Just(RecordType::DS)],
        id in any::<u16>(),
        dnssec_ok in any::<bool>(),
        options in proptest::collection::vec((65001u16..=65534, proptest::collection::vec(any::<u8>(), 0..40)), 0..4),
    ) {
        let name = Name::from_ascii(format!("{}.", labels.join("."))).unwrap();
        let mut request = Request::new(name.clone(), qtype).with_dnssec_ok(dnssec_ok);
        for (code, data) in &options {
            request = request.with_edns_option(*code, data.clone());
        }
        let message = Message::from_vec(&request.encode(id).unwrap()).unwrap();
        prop_assert_eq!(message.id, id);
        prop_assert_eq!(message.queries[0].name(), &name);
        prop_assert_eq!(message.queries[0].query_type(), qtype);
        let edns = message.edns.as_ref().unwrap();
        prop_assert_eq!(edns.flags().dnssec_ok, dnssec_ok);
        let got: Vec<(u16, Vec<u8>)> = edns.options().options.iter().map(|(code, option)| {
            let data = match option {
                hickory_proto::rr::rdata::opt::EdnsOption::Unknown(_, data) => data.clone(),
                other => panic!("{other:?}"),
            };
            (u16::from(*code), data)
        }).collect();
        prop_assert_eq!(got, options);
    }
}

// === exchanges with local servers ===

fn udp_client(addr: SocketAddr, key: Option<sig0::Sig0PublicKey>, millis: u64) -> Client {
    Client::new(
        Config::new(Server::new(Transport::Udp, addr))
            .with_key(key)
            .with_timeout(Duration::from_millis(millis)),
    )
    .unwrap()
}

/// A UDP server answering one query with `replies(query)`, in order.
fn udp_server(
    replies: impl FnOnce(&[u8]) -> Vec<Vec<u8>> + Send + 'static,
) -> (SocketAddr, JoinHandle<()>) {
    let socket = UdpSocket::bind("127.0.0.1:0").unwrap();
    let addr = socket.local_addr().unwrap();
    let handle = std::thread::spawn(move || {
        let mut buf = vec![0u8; 4096];
        let (len, from) = socket.recv_from(&mut buf).unwrap();
        for reply in replies(&buf[..len]) {
            socket.send_to(&reply, from).unwrap();
        }
    });
    (addr, handle)
}

#[test]
fn udp_ignores_other_ids_and_questions_and_takes_the_answer() {
    let (addr, server) = udp_server(|query| {
        let good = signed(&answer(query, false), unix_now());
        let mut wrong_id = good.clone();
        wrong_id[0] ^= 0xff;
        let other_question = signed(
            &answer(
                &request()
                    .encode(u16::from_be_bytes([query[0], query[1]]))
                    .map(|mut q| {
                        // Same ID, another name: www.exampld.
                        let at = q.windows(7).position(|w| w == b"example").unwrap();
                        q[at + 6] = b'd';
                        q
                    })
                    .unwrap(),
                false,
            ),
            unix_now(),
        );
        vec![b"junk".to_vec(), wrong_id, other_question, good]
    });
    let client = udp_client(addr, Some(regtest().public_key()), 3000);
    let response = client.query(&request()).unwrap();
    server.join().unwrap();
    assert_eq!(response.transport(), Transport::Udp);
    assert!(matches!(response.sig0(), Sig0Verdict::Verified { .. }));
    assert_eq!(
        response.message().answers[0].data,
        RData::A(A::new(127, 0, 0, 90))
    );
    assert_eq!(
        Message::from_vec(response.raw()).unwrap(),
        *response.message()
    );
}

#[test]
fn udp_with_a_pinned_key_rejects_a_badly_signed_answer() {
    let (addr, server) = udp_server(|query| {
        let mut altered = signed(&answer(query, false), unix_now());
        let last = altered.len() - 1;
        altered[last] ^= 1;
        vec![altered]
    });
    let err = udp_client(addr, Some(regtest().public_key()), 3000)
        .query(&request())
        .unwrap_err();
    server.join().unwrap();
    assert!(matches!(err, Error::BadSignature { .. }), "{err}");
}

#[test]
fn udp_times_out_without_an_answer() {
    let (addr, server) = udp_server(|_| Vec::new());
    let started = Instant::now();
    let err = udp_client(addr, None, 300).query(&request()).unwrap_err();
    server.join().unwrap();
    assert!(
        matches!(
            err,
            Error::Timeout {
                transport: Transport::Udp,
                ..
            }
        ),
        "{err}"
    );
    assert_eq!(err.kind(), ErrorKind::Transport);
    assert!(started.elapsed() >= Duration::from_millis(300));
    assert!(started.elapsed() < Duration::from_secs(3));
}

/// A TCP server on `listener` answering one framed query with `reply(query)` (raw bytes,
/// framing included), then closing.
fn tcp_server(
    listener: TcpListener,
    reply: impl FnOnce(&[u8]) -> Vec<u8> + Send + 'static,
) -> JoinHandle<()> {
    std::thread::spawn(move || {
        let (mut stream, _) = listener.accept().unwrap();
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).unwrap();
        let mut query = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut query).unwrap();
        let _ = stream.write_all(&reply(&query));
    })
}

/// A TCP listener and, on the same port, a UDP server answering one query with TC=1 after
/// `check(query)`.
fn truncating_udp_server(
    check: impl FnOnce(&[u8]) + Send + 'static,
) -> (TcpListener, JoinHandle<()>) {
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let socket = UdpSocket::bind(listener.local_addr().unwrap()).unwrap();
    let udp = std::thread::spawn(move || {
        let mut buf = vec![0u8; 4096];
        let (len, from) = socket.recv_from(&mut buf).unwrap();
        check(&buf[..len]);
        socket.send_to(&answer(&buf[..len], true), from).unwrap();
    });
    (listener, udp)
}

fn framed(bytes: &[u8]) -> Vec<u8> {
    let mut out = (bytes.len() as u16).to_be_bytes().to_vec();
    out.extend_from_slice(bytes);
    out
}

#[test]
fn a_truncated_udp_answer_is_asked_again_over_tcp() {
    let (listener, udp) = truncating_udp_server(|_| ());
    let addr = listener.local_addr().unwrap();
    let tcp = tcp_server(listener, |query| {
        framed(&signed(&answer(query, false), unix_now()))
    });
    let response = udp_client(addr, Some(regtest().public_key()), 3000)
        .query(&request())
        .unwrap();
    udp.join().unwrap();
    tcp.join().unwrap();
    assert_eq!(response.transport(), Transport::Tcp);
    assert!(matches!(response.sig0(), Sig0Verdict::Verified { .. }));
}

#[test]
fn tcp_rejects_another_id_and_a_short_stream() {
    let tcp_client = |addr| {
        Client::new(
            Config::new(Server::new(Transport::Tcp, addr)).with_timeout(Duration::from_secs(3)),
        )
        .unwrap()
    };
    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tcp_server(listener, |query| {
        let mut reply = answer(query, false);
        reply[1] ^= 1;
        framed(&reply)
    });
    let err = tcp_client(addr).query(&request()).unwrap_err();
    server.join().unwrap();
    assert!(matches!(err, Error::Mismatch(_)), "{err}");

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tcp_server(listener, |query| {
        let whole = framed(&answer(query, false));
        whole[..whole.len() - 3].to_vec()
    });
    let err = tcp_client(addr).query(&request()).unwrap_err();
    server.join().unwrap();
    assert!(
        matches!(
            err,
            Error::Closed {
                transport: Transport::Tcp
            }
        ),
        "{err}"
    );

    let listener = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tcp_server(listener, answer_ok_framed);
    let response = tcp_client(addr).query(&request()).unwrap();
    server.join().unwrap();
    assert_eq!(response.sig0(), &Sig0Verdict::NotChecked);
}

fn answer_ok_framed(query: &[u8]) -> Vec<u8> {
    framed(&answer(query, false))
}

#[test]
fn servers_parse_with_default_ports_and_urls_mean_doh() {
    let s = Server::parse("127.0.0.1", Transport::Tls).unwrap();
    assert_eq!(s.addr, "127.0.0.1:853".parse().unwrap());
    let s = Server::parse("[::1]", Transport::Udp).unwrap();
    assert_eq!(s.addr, "[::1]:53".parse().unwrap());
    let s = Server::parse("[::1]:5353", Transport::Quic).unwrap();
    assert_eq!(s.addr, "[::1]:5353".parse().unwrap());
    let s = Server::parse("https://127.0.0.1:8443/dns-query?x=1", Transport::Udp).unwrap();
    assert_eq!(s.transport, Transport::Https);
    assert_eq!(s.addr, "127.0.0.1:8443".parse().unwrap());
    assert_eq!(s.http_host, "127.0.0.1:8443");
    assert_eq!(s.http_path, "/dns-query?x=1");
    assert_eq!(s.tls_name, "127.0.0.1");
    let s = Server::parse("https://localhost/q", Transport::Udp).unwrap();
    assert_eq!(s.addr.port(), 443);
    assert_eq!(
        (s.tls_name.as_str(), s.http_host.as_str()),
        ("localhost", "localhost")
    );
    let s = Server::new(Transport::Https, "127.0.0.1:443".parse().unwrap());
    assert_eq!(s.http_host, "127.0.0.1");
    for bad in [
        "nowhere",
        "1.2.3.4:99999",
        "http://127.0.0.1/",
        "https://u:p@1.2.3.4/",
    ] {
        assert!(
            matches!(
                Server::parse(bad, Transport::Udp),
                Err(Error::BadServer { .. })
            ),
            "{bad}"
        );
    }
}

#[test]
fn tls_clients_need_a_valid_name_and_doq_needs_its_feature() {
    let server = Server::new(Transport::Tls, "127.0.0.1:853".parse().unwrap());
    let insecure = TlsOptions {
        danger_accept_any_certificate: true,
        ..TlsOptions::default()
    };
    assert!(Client::new(Config::new(server.clone()).with_tls(insecure.clone())).is_ok());
    let err =
        Client::new(Config::new(server.with_tls_name("not a name!")).with_tls(insecure.clone()))
            .unwrap_err();
    assert!(matches!(err, Error::TlsName(_)), "{err}");
    let no_roots = TlsOptions {
        system_roots: false,
        ..TlsOptions::default()
    };
    let server = Server::new(Transport::Https, "127.0.0.1:443".parse().unwrap());
    assert!(matches!(
        Client::new(Config::new(server).with_tls(no_roots)),
        Err(Error::NoRoots)
    ));
    let quic = Server::new(Transport::Quic, "127.0.0.1:853".parse().unwrap());
    let client = Client::new(Config::new(quic).with_tls(insecure)).unwrap();
    if cfg!(not(feature = "doq")) {
        let err = client.query(&request()).unwrap_err();
        assert!(matches!(err, Error::Unsupported(Transport::Quic)), "{err}");
    }
}

// === proof bundles ===

/// A real response to `www.fleetns. A` carrying a proof bundle, from `hnsfleet up` on an hsd
/// regtest chain (`crates/proof-bundle/testdata/README.md`).
#[cfg(feature = "proof-bundle")]
const BUNDLED: &[u8] = include_bytes!("../../proof-bundle/testdata/www-fleetns-response.bin");

#[cfg(feature = "proof-bundle")]
#[test]
fn a_bundle_is_asked_for_refetched_over_tcp_and_verified_step_by_step() {
    use crate::proof_bundle::{OPTION_CODE, Policy, Step, bundle_of};
    use hnsfleet_hns::params::Network;

    let fleetns = || Request::new(Name::from_ascii("www.fleetns.").unwrap(), RecordType::A);
    let request = fleetns().with_proof_bundle();
    assert!(
        request
            .doh_params
            .iter()
            .any(|(k, v)| k == "hns-proof" && v == "1")
    );
    // What a frontend does with a bundle query over UDP: TC=1 at once, the bundle over TCP.
    let (listener, udp) = truncating_udp_server(|query| {
        let query = Message::from_vec(query).unwrap();
        assert!(query.edns.as_ref().unwrap().flags().dnssec_ok);
        assert_eq!(option_codes(&query), [OPTION_CODE]);
    });
    let addr = listener.local_addr().unwrap();
    let tcp = tcp_server(listener, |query| {
        let mut reply = BUNDLED.to_vec();
        reply[..2].copy_from_slice(&query[..2]);
        framed(&reply)
    });
    let response = udp_client(addr, None, 3000).query(&request).unwrap();
    udp.join().unwrap();
    tcp.join().unwrap();
    assert_eq!(response.transport(), Transport::Tcp);

    let bundle = bundle_of(response.message()).unwrap();
    let made_at = bundle.headers.last().unwrap().time;
    let regtest = Policy::for_network(Network::Regtest);
    let report = response.verify_bundle(&regtest, made_at, None);
    assert!(report.is_verified(), "{:?}", report.failure());
    assert!(Step::ALL.iter().all(|step| report.verdict(*step).is_some()));
    // The same answer judged as mainnet's fails at once: the bundle is regtest's.
    let main = Policy::for_network(Network::Main);
    let failed = response
        .verify_bundle(&main, made_at, None)
        .failure()
        .map(|(s, _)| s);
    assert_eq!(failed, Some(Step::Bundle));
    // A month on, the signatures (14 days) have expired.
    let stale = response.verify_bundle(&regtest, made_at + 30 * 86_400, None);
    assert!(!stale.is_verified());
}

#[cfg(feature = "proof-bundle")]
#[test]
fn an_answer_without_a_bundle_fails_the_first_step() {
    use crate::proof_bundle::{Policy, Step};
    use hnsfleet_hns::params::Network;

    let (addr, server) = udp_server(|query| vec![answer(query, false)]);
    let response = udp_client(addr, None, 3000)
        .query(&request().with_proof_bundle())
        .unwrap();
    server.join().unwrap();
    let report =
        response.verify_bundle(&Policy::for_network(Network::Regtest), u64::from(NOW), None);
    assert_eq!(report.failure().map(|(s, _)| s), Some(Step::ALL[0]));
}
