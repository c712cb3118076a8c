//! Shared fixtures: a real Knot stand-in for the ICANN root (signed `.` with a secure `com.`
//! delegation, an insecure `net.` one) and a scriptable fake root server on loopback that can
//! relay to it, lie, or stay silent.
#![allow(
    clippy::expect_used,
    clippy::unwrap_used,
    clippy::panic,
    dead_code,
    unreachable_pub
)]

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicU8, Ordering};
use std::time::Duration;

use hickory_proto::op::Message;
use hickory_proto::rr::{Name, RecordType};
use hnsfleet_icann::{IcannConfig, IcannRoot};
use hnsfleet_testkit::knot::{KeyModel, Knot, Signing, ZoneSpec};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream, UdpSocket};
use tokio::task::JoinHandle;

/// 127.0.0.`last`:53.
pub fn addr(last: u8) -> SocketAddr {
    SocketAddr::from(([127, 0, 0, last], 53))
}

pub fn name(s: &str) -> Name {
    Name::from_ascii(s).unwrap()
}

/// A signed `com.` zone (only its DS matters) and the root zone delegating to it.
pub struct StandIn {
    pub root: Knot,
    pub com: Knot,
}

/// Starts `com.` on `com_ip` and the root on `root_ip` (KSK/ZSK like ICANN, or as `signing`).
pub async fn stand_in(root_ip: u8, com_ip: u8, signing: Signing) -> StandIn {
    let com_text = format!(
        "$ORIGIN com.\n$TTL 3600\n@ SOA ns.com. host.com. 1 3600 900 604800 300\n@ NS ns.com.\n\
         ns A 127.0.0.{com_ip}\n"
    );
    let com = Knot::start(
        addr(com_ip),
        vec![ZoneSpec::signed("com.", &com_text).unwrap()],
    )
    .await
    .expect("com starts");
    let ds: Vec<String> = com
        .keys(&name("com."))
        .unwrap()
        .ds_text
        .iter()
        .filter(|l| l.contains(" DS ") && l.split_whitespace().nth(4) == Some("2"))
        .cloned()
        .collect();
    assert!(!ds.is_empty());
    let root_text = format!(
        "$ORIGIN .\n$TTL 86400\n. SOA ns.root. host.root. 1 1800 900 604800 86400\n\
         . NS ns.root.\nns.root. A 127.0.0.{root_ip}\n\
         com. 172800 NS ns.com.\nns.com. 172800 A 127.0.0.{com_ip}\n{ds}\n\
         net. 172800 NS ns.net.\nns.net. 172800 A 127.0.0.99\n",
        ds = ds.join("\n")
    );
    let root = Knot::start(
        addr(root_ip),
        vec![ZoneSpec::new(".", &root_text, signing).unwrap()],
    )
    .await
    .expect("root starts");
    StandIn { root, com }
}

/// The KSK/ZSK signing ICANN uses.
pub const ICANN_LIKE: Signing = Signing::Signed(KeyModel::KskZsk);

/// A client of `servers` trusting `anchor_of`'s root DS, with short timeouts for tests.
pub fn client(servers: Vec<SocketAddr>, anchor_of: &Knot) -> IcannRoot {
    let anchors = anchor_of.keys(&Name::root()).unwrap().ds.clone();
    let mut config = IcannConfig::new(servers, anchors);
    config.timeout = Duration::from_millis(400);
    config.attempts = 2;
    config.negative_ttl = Duration::from_millis(300);
    IcannRoot::new(config).unwrap()
}

/// What the fake server does with one query.
pub enum Reply {
    /// Forward to this server (UDP) and return its answer as is.
    Relay(SocketAddr),
    /// Forward, then rewrite the answer bytes.
    RelayEdit(SocketAddr, fn(Vec<u8>) -> Vec<u8>),
    /// Answer these bytes.
    Bytes(Vec<u8>),
    /// Say nothing.
    Silent,
}

pub type Script = Arc<dyn Fn(&Message, &[u8], u8) -> Reply + Send + Sync>;

/// A fake root server on UDP and TCP; `mode` is passed to the script, so a test can change
/// behaviour while it runs. TCP always relays to `tcp_upstream`.
pub struct Fake {
    pub mode: Arc<AtomicU8>,
    tasks: Vec<JoinHandle<()>>,
}

impl Drop for Fake {
    fn drop(&mut self) {
        for t in &self.tasks {
            t.abort();
        }
    }
}

pub async fn relay_udp(upstream: SocketAddr, query: &[u8]) -> Vec<u8> {
    let sock = UdpSocket::bind("127.0.0.1:0").await.unwrap();
    sock.send_to(query, upstream).await.unwrap();
    let mut buf = vec![0u8; 65535];
    let (n, _) = tokio::time::timeout(Duration::from_secs(2), sock.recv_from(&mut buf))
        .await
        .expect("upstream answers")
        .unwrap();
    buf.truncate(n);
    buf
}

pub async fn fake(at: SocketAddr, tcp_upstream: SocketAddr, script: Script) -> Fake {
    let mode = Arc::new(AtomicU8::new(0));
    let udp = UdpSocket::bind(at).await.expect("bind fake udp");
    let tcp = TcpListener::bind(at).await.expect("bind fake tcp");
    let m = mode.clone();
    let udp_task = tokio::spawn(async move {
        let mut buf = vec![0u8; 4096];
        loop {
            let Ok((n, from)) = udp.recv_from(&mut buf).await else {
                return;
            };
            let query = buf[..n].to_vec();
            let Ok(msg) = Message::from_vec(&query) else {
                continue;
            };
            let reply = match script(&msg, &query, m.load(Ordering::SeqCst)) {
                Reply::Relay(up) => relay_udp(up, &query).await,
                Reply::RelayEdit(up, edit) => edit(relay_udp(up, &query).await),
                Reply::Bytes(b) => b,
                Reply::Silent => continue,
            };
            let _ = udp.send_to(&reply, from).await;
        }
    });
    let tcp_task = tokio::spawn(async move {
        loop {
            let Ok((mut conn, _)) = tcp.accept().await else {
                return;
            };
            tokio::spawn(async move {
                let len = conn.read_u16().await.unwrap();
                let mut q = vec![0u8; usize::from(len)];
                conn.read_exact(&mut q).await.unwrap();
                let mut up = TcpStream::connect(tcp_upstream).await.unwrap();
                up.write_u16(len).await.unwrap();
                up.write_all(&q).await.unwrap();
                let rlen = up.read_u16().await.unwrap();
                let mut r = vec![0u8; usize::from(rlen)];
                up.read_exact(&mut r).await.unwrap();
                conn.write_u16(rlen).await.unwrap();
                conn.write_all(&r).await.unwrap();
            });
        }
    });
    Fake {
        mode,
        tasks: vec![udp_task, tcp_task],
    }
}

/// Whether a query asks for `. DNSKEY`.
pub fn is_dnskey(msg: &Message) -> bool {
    msg.queries
        .first()
        .is_some_and(|q| q.query_type() == RecordType::DNSKEY)
}
