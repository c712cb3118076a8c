//! Tiny DNS responders for the load generator's tests: UDP, TCP, DoT (rustls) and DoH (h2
//! server over rustls), each answering every query NOERROR (the query echoed with QR and RA
//! set), optionally dropping every n-th query, and counting what they saw and when.
#![allow(
    dead_code,
    unreachable_pub,
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};

use bytes::Bytes;
use hnsfleet_loadgen::{Args, Config, Report};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};
use tokio::net::{TcpListener, UdpSocket};
use tokio::time::Instant;

/// What a responder saw.
#[derive(Default)]
pub struct Seen {
    /// Queries received.
    pub queries: AtomicU64,
    /// Queries dropped on purpose.
    pub dropped: AtomicU64,
    /// When each query arrived.
    pub times: parking_lot::Mutex<Vec<Instant>>,
}

/// A running responder.
pub struct Responder {
    pub addr: SocketAddr,
    pub seen: Arc<Seen>,
    /// PEM of its certificate (TLS responders).
    pub cert_pem: String,
}

impl Seen {
    /// Records a query; the answer, or `None` to drop it (every `drop_every`-th query).
    fn answer(&self, query: &[u8], drop_every: Option<u64>) -> Option<Vec<u8>> {
        let n = self.queries.fetch_add(1, Ordering::SeqCst) + 1;
        self.times.lock().push(Instant::now());
        if drop_every.is_some_and(|d| n.is_multiple_of(d)) {
            self.dropped.fetch_add(1, Ordering::SeqCst);
            return None;
        }
        if query.len() < 12 {
            return None;
        }
        let mut answer = query.to_vec();
        answer[2] |= 0x80; // QR
        answer[3] = 0x80; // RA, NOERROR
        Some(answer)
    }
}

/// A UDP responder on 127.0.0.1.
pub async fn udp(drop_every: Option<u64>) -> Responder {
    let socket = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    let addr = socket.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let task_seen = seen.clone();
    tokio::spawn(async move {
        let mut buffer = vec![0u8; 65_535];
        while let Ok((len, from)) = socket.recv_from(&mut buffer).await {
            if let Some(answer) = task_seen.answer(&buffer[..len], drop_every) {
                let _ = socket.send_to(&answer, from).await;
            }
        }
    });
    Responder {
        addr,
        seen,
        cert_pem: String::new(),
    }
}

async fn serve_stream<S: AsyncRead + AsyncWrite + Unpin>(
    stream: S,
    seen: Arc<Seen>,
    drop_every: Option<u64>,
) {
    let (mut reader, mut writer) = tokio::io::split(stream);
    let mut buffer = vec![0u8; 65_535];
    loop {
        let Ok(len) = reader.read_u16().await else {
            return;
        };
        let len = usize::from(len);
        if reader.read_exact(&mut buffer[..len]).await.is_err() {
            return;
        }
        if let Some(answer) = seen.answer(&buffer[..len], drop_every) {
            let mut framed = (answer.len() as u16).to_be_bytes().to_vec();
            framed.extend_from_slice(&answer);
            if writer.write_all(&framed).await.is_err() {
                return;
            }
        }
    }
}

/// A TCP responder (pipelined, any number of connections).
pub async fn tcp(drop_every: Option<u64>) -> Responder {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let task_seen = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            tokio::spawn(serve_stream(stream, task_seen.clone(), drop_every));
        }
    });
    Responder {
        addr,
        seen,
        cert_pem: String::new(),
    }
}

/// A self-signed certificate for `localhost` and 127.0.0.1, and a TLS acceptor with `alpn`.
fn acceptor(alpn: &[u8]) -> (tokio_rustls::TlsAcceptor, String) {
    let cert =
        rcgen::generate_simple_self_signed(vec!["localhost".into(), "127.0.0.1".into()]).unwrap();
    let pem = cert.cert.pem();
    let key = rustls_pki_types::PrivateKeyDer::Pkcs8(cert.signing_key.serialize_der().into());
    #[allow(deprecated)]
    let provider = Arc::new(rustls::crypto::ring::default_provider());
    let mut config = rustls::ServerConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .unwrap()
        .with_no_client_auth()
        .with_single_cert(vec![cert.cert.der().clone()], key)
        .unwrap();
    config.alpn_protocols = vec![alpn.to_vec()];
    (tokio_rustls::TlsAcceptor::from(Arc::new(config)), pem)
}

/// A DoT responder.
pub async fn dot() -> Responder {
    let (acceptor, cert_pem) = acceptor(b"dot");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let task_seen = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let seen = task_seen.clone();
            tokio::spawn(async move {
                if let Ok(tls) = acceptor.accept(stream).await {
                    serve_stream(tls, seen, None).await;
                }
            });
        }
    });
    Responder {
        addr,
        seen,
        cert_pem,
    }
}

/// A DoH responder (HTTP/2): GET `?dns=` and POST bodies on `/dns-query`.
pub async fn doh() -> Responder {
    let (acceptor, cert_pem) = acceptor(b"h2");
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let seen = Arc::new(Seen::default());
    let task_seen = seen.clone();
    tokio::spawn(async move {
        while let Ok((stream, _)) = listener.accept().await {
            let acceptor = acceptor.clone();
            let seen = task_seen.clone();
            tokio::spawn(async move {
                let Ok(tls) = acceptor.accept(stream).await else {
                    return;
                };
                let Ok(mut connection) = h2::server::handshake(tls).await else {
                    return;
                };
                while let Some(Ok((request, mut respond))) = connection.accept().await {
                    let seen = seen.clone();
                    tokio::spawn(async move {
                        let (parts, mut body) = request.into_parts();
                        assert_eq!(parts.uri.path(), "/dns-query");
                        let query = if parts.method == http::Method::GET {
                            let q = parts.uri.query().unwrap().strip_prefix("dns=").unwrap();
                            data_encoding::BASE64URL_NOPAD.decode(q.as_bytes()).unwrap()
                        } else {
                            assert_eq!(parts.headers["content-type"], "application/dns-message");
                            let mut all = Vec::new();
                            while let Some(chunk) = body.data().await {
                                let chunk = chunk.unwrap();
                                let _ = body.flow_control().release_capacity(chunk.len());
                                all.extend_from_slice(&chunk);
                            }
                            all
                        };
                        let answer = seen.answer(&query, None).unwrap();
                        let response = http::Response::builder()
                            .status(200)
                            .header("content-type", "application/dns-message")
                            .body(())
                            .unwrap();
                        if let Ok(mut stream) = respond.send_response(response, false) {
                            let _ = stream.send_data(Bytes::from(answer), true);
                        }
                    });
                }
            });
        }
    });
    Responder {
        addr,
        seen,
        cert_pem,
    }
}

/// Runs the load generator in process with `flags` against `target` (quiet).
pub async fn load(target: SocketAddr, flags: &[&str]) -> Report {
    let target = target.to_string();
    let mut all = vec!["hnsfleet-loadgen", "--quiet", "--target", &target];
    all.extend_from_slice(flags);
    let args = <Args as clap::Parser>::try_parse_from(all).unwrap();
    hnsfleet_loadgen::run(Config::from_args(&args).unwrap())
        .await
        .unwrap()
}
