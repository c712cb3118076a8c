//! A small fleet for the frontend's hsd-free tests: a synthetic follower (a real gRPC follower
//! API over an in-memory Urkel tree of `bench0`..), a real proof-cache in process, and the
//! `hnsfleet-frontend` binary in front; plus DNS query helpers over UDP, TCP and TLS, TLS
//! certificates and clients, an HTTP/2 client for DoH, and one-query clients of every
//! encrypted transport in [`secure`].
#![allow(
    dead_code,
    unreachable_pub,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::path::Path;
use std::sync::Arc;
use std::time::Duration;

use hickory_proto::op::{Edns, Message, Query};
use hickory_proto::rr::{Name, RecordType};
use hnsfleet_proof_cache::config::CacheConfig;
use hnsfleet_proof_cache::synthetic::SyntheticFollower;
use hnsfleet_service_kit::Lifecycle;
use hnsfleet_service_kit::cli::Listeners;
use hnsfleet_testkit::service::ServiceProcess;
use rustls::ClientConfig;
use rustls::pki_types::{CertificateDer, ServerName};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::time::Instant;
use tokio_rustls::TlsConnector;
use tokio_rustls::client::TlsStream;

pub mod secure;

pub const BIN: &str = env!("CARGO_BIN_EXE_hnsfleet-frontend");

/// A synthetic follower and a proof-cache in process.
pub struct Tier {
    pub follower: SyntheticFollower,
    pub cache_url: String,
    lifecycle: Lifecycle,
}

impl Tier {
    /// A follower with `names` names and a cache trusting it.
    pub async fn start(names: usize) -> Tier {
        Tier::start_slow(names, Duration::ZERO).await
    }

    /// [`Tier::start`] with a follower answering every look-up only after `delay`.
    pub async fn start_slow(names: usize, delay: Duration) -> Tier {
        let follower = SyntheticFollower::start_slow(names, delay).await.unwrap();
        let listeners = Listeners {
            grpc: TcpListener::bind("127.0.0.1:0").await.unwrap(),
            admin: TcpListener::bind("127.0.0.1:0").await.unwrap(),
        };
        let cache_url = format!("http://{}", listeners.grpc.local_addr().unwrap());
        let config = CacheConfig::from_toml(&format!(
            "network = \"regtest\"\nfollowers = [\"{}\"]\nquorum = 1\n",
            follower.url
        ))
        .unwrap();
        let lifecycle = Lifecycle::new(Duration::ZERO, Duration::from_secs(1));
        tokio::spawn(hnsfleet_proof_cache::service::run(
            config,
            listeners,
            lifecycle.clone(),
        ));
        Tier {
            follower,
            cache_url,
            lifecycle,
        }
    }
}

impl Drop for Tier {
    fn drop(&mut self) {
        self.lifecycle.force();
    }
}

/// A root hints file naming only 127.0.0.1:9 (nothing listens): the tests never let the ICANN
/// fallback reach a real root server. Written once per test process, to a file of its own:
/// rewriting one shared file while another test's frontend read it let that frontend see it
/// empty.
pub fn loopback_hints() -> String {
    static HINTS: std::sync::OnceLock<String> = std::sync::OnceLock::new();
    HINTS
        .get_or_init(|| {
            let name = format!("hnsfleet-frontend-test-hints-{}", std::process::id());
            let path = std::env::temp_dir().join(name);
            std::fs::write(&path, "127.0.0.1:9\n").unwrap();
            path.display().to_string()
        })
        .clone()
}

/// Starts the frontend binary against `cache_url` with Do53 and root listeners on loopback.
pub async fn frontend(cache_url: &str, flags: &[&str], log: &str) -> ServiceProcess {
    frontend_with_hints(cache_url, &loopback_hints(), flags, log).await
}

/// [`frontend`] with the ICANN root hints file `hints`.
pub async fn frontend_with_hints(
    cache_url: &str,
    hints: &str,
    flags: &[&str],
    log: &str,
) -> ServiceProcess {
    let mut args: Vec<String> = [
        "--icann-root-hints",
        hints,
        "--network",
        "regtest",
        "--cache",
        cache_url,
        "--dns-listen",
        "127.0.0.1:0",
        "--root-listen",
        "127.0.0.1:0",
        "--admin-listen",
        "127.0.0.1:0",
        "--log-format",
        "json",
    ]
    .iter()
    .chain(flags)
    .map(|s| s.to_string())
    .collect();
    args.shrink_to_fit();
    ServiceProcess::spawn(Path::new(BIN), &args, log)
        .await
        .unwrap()
}

/// A query for `name`/`qtype` with EDNS0 (DO as given).
pub fn query(name: &str, qtype: RecordType, dnssec_ok: bool) -> Message {
    let mut message = Message::query();
    message.add_query(Query::query(Name::from_ascii(name).unwrap(), qtype));
    let mut edns = Edns::new();
    edns.set_max_payload(1232);
    edns.set_dnssec_ok(dnssec_ok);
    message.set_edns(edns);
    message.metadata.recursion_desired = true;
    message
}

/// Sends `bytes` over UDP to `server`; the raw answer, if one comes within 5 s.
pub async fn udp_raw(server: SocketAddr, bytes: &[u8]) -> Option<Vec<u8>> {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    socket.send_to(bytes, server).await.unwrap();
    let mut buffer = vec![0u8; 65_535];
    match tokio::time::timeout(Duration::from_secs(5), socket.recv_from(&mut buffer)).await {
        Ok(Ok((len, _))) => Some(buffer[..len].to_vec()),
        _ => None,
    }
}

/// Sends `message` over UDP; the parsed answer.
pub async fn udp(server: SocketAddr, message: &Message) -> Message {
    let raw = udp_raw(server, &message.to_vec().unwrap())
        .await
        .expect("an answer over UDP");
    Message::from_vec(&raw).unwrap()
}

/// Sends `message` over a new TCP connection; the parsed answer.
pub async fn tcp(server: SocketAddr, message: &Message) -> Message {
    let mut stream = TcpStream::connect(server).await.unwrap();
    let bytes = message.to_vec().unwrap();
    stream
        .write_all(&(bytes.len() as u16).to_be_bytes())
        .await
        .unwrap();
    stream.write_all(&bytes).await.unwrap();
    let mut len = [0u8; 2];
    tokio::time::timeout(Duration::from_secs(5), stream.read_exact(&mut len))
        .await
        .expect("an answer over TCP")
        .unwrap();
    let mut answer = vec![0u8; u16::from_be_bytes(len) as usize];
    stream.read_exact(&mut answer).await.unwrap();
    Message::from_vec(&answer).unwrap()
}

/// Runs a command-line client (dig, kdig, curl) with a deadline; its stdout.
pub async fn run_client(program: &str, args: &[&str]) -> String {
    let output = tokio::time::timeout(
        Duration::from_secs(30),
        tokio::process::Command::new(program).args(args).output(),
    )
    .await
    .unwrap_or_else(|_| panic!("{program} {args:?} did not finish"))
    .unwrap_or_else(|e| panic!("{program}: {e}"));
    String::from_utf8_lossy(&output.stdout).into_owned()
}

/// A root SOA query, base64url (RFC 8484 GET).
pub const SOA_GET: &str = "/dns-query?dns=AAABAAABAAAAAAAAAAAGAAE";

/// A new certificate for `localhost`: its PEM, its key's PEM and its DER.
pub fn certificate_pem() -> (String, String, CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    (
        certified.cert.pem(),
        certified.signing_key.serialize_pem(),
        certified.cert.der().clone(),
    )
}

/// A certificate for `localhost` written to `dir` (`cert.pem`, `key.pem`): the two paths, and
/// its DER for clients to trust.
pub fn certificate(dir: &Path) -> (String, String, CertificateDer<'static>) {
    let (cert_pem, key_pem, der) = certificate_pem();
    let (cert, key) = (dir.join("cert.pem"), dir.join("key.pem"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    (cert.display().to_string(), key.display().to_string(), der)
}

/// A TLS 1.3 client configuration trusting `trusted`, offering `alpn` (none when empty), with
/// rustls' default in-memory session store (it resumes).
pub fn tls_client(trusted: &[&CertificateDer<'static>], alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in trusted {
        roots.add((*cert).clone()).unwrap();
    }
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = ClientConfig::builder_with_provider(provider)
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    Arc::new(config)
}

/// A TLS client trusting `trusted` only, offering `alpn`.
pub fn connector(trusted: &CertificateDer<'static>, alpn: &[u8]) -> TlsConnector {
    TlsConnector::from(tls_client(&[trusted], &[alpn]))
}

/// A TLS connection to `server` as `localhost`.
pub async fn tls_connect(
    server: SocketAddr,
    connector: &TlsConnector,
) -> std::io::Result<TlsStream<TcpStream>> {
    let socket = TcpStream::connect(server).await?;
    let name = ServerName::try_from("localhost").unwrap();
    tokio::time::timeout(Duration::from_secs(5), connector.connect(name, socket))
        .await
        .map_err(|_| std::io::Error::other("tls handshake timed out"))?
}

/// Sends `bytes` length-prefixed on `stream` and reads one answer within 5 s: its bytes.
pub async fn exchange_raw<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    bytes: &[u8],
) -> std::io::Result<Vec<u8>> {
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(bytes);
    stream.write_all(&framed).await?;
    let read = async {
        let mut len = [0u8; 2];
        stream.read_exact(&mut len).await?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
        stream.read_exact(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    tokio::time::timeout(Duration::from_secs(5), read)
        .await
        .map_err(|_| std::io::Error::other("no answer within 5 s"))?
}

/// Sends `message` length-prefixed on `stream` and reads one answer within 5 s.
pub async fn exchange<S: AsyncRead + AsyncWrite + Unpin>(
    stream: &mut S,
    message: &Message,
) -> std::io::Result<Message> {
    let answer = exchange_raw(stream, &message.to_vec().unwrap()).await?;
    Message::from_vec(&answer).map_err(std::io::Error::other)
}

/// Polls `metric{labels}` until it reaches `at_least` (within 10 s); its value then.
pub async fn metric_reaches(
    service: &ServiceProcess,
    name: &str,
    labels: &[(&str, &str)],
    at_least: f64,
) -> f64 {
    service
        .poll(Duration::from_secs(10), name, async |s| {
            let value = s.metric(name, labels).await.ok().flatten()?;
            (value >= at_least).then_some(value)
        })
        .await
        .unwrap()
}

/// An HTTP/2 connection over `tls`: the request sender, and a task driving the connection
/// (answering the server's pings) that ends when the server closes it.
pub async fn h2_client(
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
pub async fn h2_get(sender: &mut h2::client::SendRequest<bytes::Bytes>) -> u16 {
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
