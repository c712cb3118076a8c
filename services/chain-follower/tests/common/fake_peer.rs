//! Scripted p2p peers for behaviour no real hsd shows: hostile peers (bad proof of work, lying
//! proofs, garbage frames, stalling) and an honest peer serving a long synthetic chain slowly
//! (so a test can kill the follower mid-sync). Each plays hsd's side of the handshake (VERACK
//! before VERSION, NETWORK service bit, a chosen height) and counts the connections it accepts.

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use hnsfleet_hns::header::Header;
use hnsfleet_hns::p2p::{FrameStatus, NetAddress, Packet, Proof, Version, parse_frame};
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::BlockHash;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the peer does after the handshake.
#[derive(Debug, Clone)]
pub(crate) enum Behavior {
    /// Answers GETHEADERS with these headers (whose proof of work is broken).
    BadPow(Vec<Header>),
    /// Serves `chain` honestly (so it is on the best chain and gets asked for proofs) but
    /// answers GETPROOF with an empty dead-end proof, i.e. claims every name is absent (the
    /// proof cannot hash to a real root).
    LyingAbsence(Arc<Vec<Header>>),
    /// Serves `chain` honestly but never answers GETPROOF (a slow peer for proofs).
    ProofStaller(Arc<Vec<Header>>),
    /// Sends a frame whose length field is above the 8 MB limit.
    Oversize,
    /// Sends a HEADERS frame whose body does not decode.
    Malformed,
    /// Answers nothing after the handshake, not even PING.
    Staller,
    /// Has no headers past genesis, answers GETADDR with these addresses.
    Gossip(Vec<NetAddress>),
    /// Serves `chain` (extending genesis) like hsd, at most 2,000 headers per GETHEADERS,
    /// waiting `delay` before each batch.
    SlowChain {
        chain: Arc<Vec<Header>>,
        delay: Duration,
    },
}

/// A running scripted peer.
#[derive(Debug)]
pub(crate) struct FakePeer {
    pub(crate) addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    headers_sent: Arc<AtomicUsize>,
}

impl FakePeer {
    /// Starts a peer on 127.0.0.1 (a fresh port) that claims `height` in its VERSION.
    pub(crate) async fn start(behavior: Behavior, height: u32) -> FakePeer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let headers_sent = Arc::new(AtomicUsize::new(0));
        let (count, sent) = (Arc::clone(&accepted), Arc::clone(&headers_sent));
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                tokio::spawn(serve(stream, behavior.clone(), height, Arc::clone(&sent)));
            }
        });
        FakePeer {
            addr,
            accepted,
            headers_sent,
        }
    }

    /// Connections accepted so far.
    pub(crate) fn accepted(&self) -> usize {
        self.accepted.load(Ordering::SeqCst)
    }

    /// Headers sent so far, over all connections.
    pub(crate) fn headers_sent(&self) -> usize {
        self.headers_sent.load(Ordering::SeqCst)
    }
}

fn magic() -> u32 {
    Network::Regtest.params().magic
}

async fn send(s: &mut TcpStream, packet: &Packet) -> Option<()> {
    s.write_all(&packet.encode_frame(magic()).unwrap())
        .await
        .ok()
}

async fn read_packet(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Packet> {
    loop {
        if let Ok(FrameStatus::Complete(f)) = parse_frame(buf, magic()) {
            let (len, p) = (f.wire_len(), f.packet().ok()?);
            buf.drain(..len);
            return Some(p);
        }
        let mut chunk = [0u8; 8192];
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The headers after the first locator hash found in `chain` (or after genesis).
fn headers_after(chain: &[Header], locator: &[BlockHash]) -> Vec<Header> {
    let genesis = Network::Regtest.params().genesis_hash;
    let start = locator
        .iter()
        .find_map(|hash| {
            if *hash == genesis {
                return Some(0);
            }
            chain.iter().position(|h| h.hash() == *hash).map(|i| i + 1)
        })
        .unwrap_or(0);
    chain.iter().skip(start).take(2000).cloned().collect()
}

async fn serve(
    mut s: TcpStream,
    behavior: Behavior,
    height: u32,
    headers_sent: Arc<AtomicUsize>,
) -> Option<()> {
    let mut buf = Vec::new();
    let Packet::Version(theirs) = read_packet(&mut s, &mut buf).await? else {
        return None;
    };
    send(&mut s, &Packet::Verack).await?;
    let ours = Version {
        version: 3,
        services: 1,
        time: theirs.time,
        remote: theirs.remote,
        nonce: rand::random(),
        agent: "/fake-peer:0.0.0/".into(),
        height,
        no_relay: false,
    };
    send(&mut s, &Packet::Version(ours)).await?;
    match &behavior {
        Behavior::Oversize => {
            let mut frame = magic().to_le_bytes().to_vec();
            frame.push(11); // HEADERS
            frame.extend_from_slice(&(9u32 << 20).to_le_bytes());
            s.write_all(&frame).await.ok()?;
        }
        Behavior::Malformed => {
            let mut frame = magic().to_le_bytes().to_vec();
            frame.push(11); // HEADERS claiming 3 headers, carrying 5 bytes
            frame.extend_from_slice(&6u32.to_le_bytes());
            frame.extend_from_slice(&[3, 1, 2, 3, 4, 5]);
            s.write_all(&frame).await.ok()?;
        }
        _ => {}
    }
    loop {
        let packet = read_packet(&mut s, &mut buf).await?;
        if matches!(behavior, Behavior::Staller) {
            continue;
        }
        match packet {
            Packet::Ping(n) => send(&mut s, &Packet::Pong(n)).await?,
            Packet::GetHeaders(req) => match &behavior {
                Behavior::BadPow(headers) => {
                    send(&mut s, &Packet::Headers(headers.clone())).await?
                }
                Behavior::LyingAbsence(chain) | Behavior::ProofStaller(chain) => {
                    let batch = headers_after(chain, &req.locator);
                    if !batch.is_empty() {
                        send(&mut s, &Packet::Headers(batch)).await?;
                    }
                }
                Behavior::SlowChain { chain, delay } => {
                    tokio::time::sleep(*delay).await;
                    let batch = headers_after(chain, &req.locator);
                    headers_sent.fetch_add(batch.len(), Ordering::SeqCst);
                    // Like hsd: nothing at all when there is nothing new.
                    if !batch.is_empty() {
                        send(&mut s, &Packet::Headers(batch)).await?;
                    }
                }
                _ => send(&mut s, &Packet::Headers(Vec::new())).await?,
            },
            Packet::GetAddr => {
                if let Behavior::Gossip(addrs) = &behavior {
                    send(&mut s, &Packet::Addr(addrs.clone())).await?;
                }
            }
            Packet::GetProof(req) => {
                if let Behavior::LyingAbsence(_) = behavior {
                    // type DEADEND, depth 0, no nodes.
                    let proof = vec![0, 0, 0, 0];
                    let answer = Proof {
                        root: req.root,
                        key: req.key,
                        proof,
                    };
                    send(&mut s, &Packet::Proof(answer)).await?;
                }
            }
            _ => {}
        }
    }
}
