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
    /// Answers every GETHEADERS with a full batch of 2,000 random 236-byte headers (no proof
    /// of work, no linkage).
    RandomHeaders,
    /// Claims its height and has nothing to show: answers GETHEADERS with nothing (like hsd
    /// with no headers past the locator), PINGs with PONGs.
    ClaimOnly,
    /// Answers every GETHEADERS with the same first 2,000 headers of `chain`.
    RepeatBatch(Arc<Vec<Header>>),
    /// Answers GETHEADERS with `chain`'s first 2,000 headers, whose first parent is not on
    /// any chain the follower knows (valid proof of work, linked, but connected to nothing).
    Unconnected(Arc<Vec<Header>>),
    /// Announces a fresh batch of valid-PoW headers of an unknown branch every `every`
    /// (HEADERS nobody asked for, that never connect), answers GETHEADERS with nothing.
    AnnounceOrphans { every: Duration },
    /// Announces blocks that do not exist (INV) every `every`, answers GETHEADERS with nothing.
    InvFlood { every: Duration },
    /// Sends PINGs as fast as it can.
    PingFlood,
    /// Sends a PROOF nobody asked for, then answers PINGs.
    UnsolicitedProof,
    /// Sends a PROOF frame header announcing one byte more than the largest valid proof.
    OversizeProof,
    /// Sends a 7 MB frame of a packet type the follower never uses (BLOCK), in pieces, then
    /// answers like [`Behavior::ClaimOnly`]; counts (as an event) each PONG it gets afterwards.
    GiantUnusedFrame,
}

/// A running scripted peer.
#[derive(Debug)]
pub(crate) struct FakePeer {
    pub(crate) addr: SocketAddr,
    accepted: Arc<AtomicUsize>,
    headers_sent: Arc<AtomicUsize>,
    events: Arc<AtomicUsize>,
}

impl FakePeer {
    /// Starts a peer on 127.0.0.1 (a fresh port) that claims `height` in its VERSION.
    pub(crate) async fn start(behavior: Behavior, height: u32) -> FakePeer {
        let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let accepted = Arc::new(AtomicUsize::new(0));
        let headers_sent = Arc::new(AtomicUsize::new(0));
        let events = Arc::new(AtomicUsize::new(0));
        let (count, sent, seen) = (
            Arc::clone(&accepted),
            Arc::clone(&headers_sent),
            Arc::clone(&events),
        );
        tokio::spawn(async move {
            while let Ok((stream, _)) = listener.accept().await {
                count.fetch_add(1, Ordering::SeqCst);
                let counters = Counters {
                    headers_sent: Arc::clone(&sent),
                    events: Arc::clone(&seen),
                };
                tokio::spawn(serve(stream, behavior.clone(), height, counters));
            }
        });
        FakePeer {
            addr,
            accepted,
            headers_sent,
            events,
        }
    }

    /// Behaviour-specific events so far (see each [`Behavior`]).
    pub(crate) fn events(&self) -> usize {
        self.events.load(Ordering::SeqCst)
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

/// The next whole packet from `s` (any read half), buffering in `buf`; `None` at EOF or on a
/// frame that does not decode.
async fn read_packet(
    s: &mut (impl tokio::io::AsyncRead + Unpin),
    buf: &mut Vec<u8>,
) -> Option<Packet> {
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

/// What a connection reports back to its [`FakePeer`].
struct Counters {
    headers_sent: Arc<AtomicUsize>,
    events: Arc<AtomicUsize>,
}

/// A header of random bytes (whatever they decode to).
fn random_header() -> Header {
    let mut bytes = [0u8; hnsfleet_hns::header::HEADER_SIZE];
    for b in bytes.iter_mut() {
        *b = rand::random();
    }
    Header::decode(&bytes).expect("any 236 bytes are a header")
}

/// `n` linked headers with valid regtest proof of work on a random parent nobody knows.
fn unknown_branch(n: usize) -> Vec<Header> {
    let params = Network::Regtest.params();
    let mut parent = hnsfleet_hns::chain::ChainEntry::genesis(params);
    parent.hash = BlockHash(rand::random());
    parent.height = 1_000;
    hnsfleet_chain_follower::synthetic::mine_chain(params, &parent, n, 600, rand::random())
}

async fn serve(
    mut s: TcpStream,
    behavior: Behavior,
    height: u32,
    counters: Counters,
) -> Option<()> {
    let headers_sent = counters.headers_sent;
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
        Behavior::OversizeProof => {
            let mut frame = magic().to_le_bytes().to_vec();
            frame.push(27); // PROOF
            let cap = hnsfleet_hns::p2p::max_payload(27);
            frame.extend_from_slice(&(cap + 1).to_le_bytes());
            s.write_all(&frame).await.ok()?;
        }
        Behavior::UnsolicitedProof => {
            let proof = Proof {
                root: hnsfleet_hns::types::TreeRoot(rand::random()),
                key: hnsfleet_hns::types::NameHash(rand::random()),
                proof: vec![0, 0, 0, 0],
            };
            send(&mut s, &Packet::Proof(proof)).await?;
        }
        Behavior::GiantUnusedFrame => {
            let len: u32 = 7_000_000;
            let mut head = magic().to_le_bytes().to_vec();
            head.push(13); // BLOCK
            head.extend_from_slice(&len.to_le_bytes());
            s.write_all(&head).await.ok()?;
            let chunk = vec![0u8; 64 * 1024];
            let mut left = len as usize;
            while left > 0 {
                let n = left.min(chunk.len());
                s.write_all(&chunk[..n]).await.ok()?;
                left -= n;
            }
            send(&mut s, &Packet::Ping(0x6a6a)).await?;
        }
        Behavior::PingFlood => loop {
            send(&mut s, &Packet::Ping(rand::random())).await?;
        },
        Behavior::AnnounceOrphans { every } | Behavior::InvFlood { every } => {
            let every = *every;
            let flood_inv = matches!(behavior, Behavior::InvFlood { .. });
            let (mut read, write) = s.into_split();
            let write = Arc::new(tokio::sync::Mutex::new(write));
            let announcer = Arc::clone(&write);
            let events = Arc::clone(&counters.events);
            tokio::spawn(async move {
                loop {
                    tokio::time::sleep(every).await;
                    let packet = if flood_inv {
                        Packet::Inv(vec![hnsfleet_hns::p2p::InvItem {
                            ty: hnsfleet_hns::p2p::InvItem::BLOCK,
                            hash: hnsfleet_hns::types::Hash256(rand::random()),
                        }])
                    } else {
                        Packet::Headers(unknown_branch(3))
                    };
                    let frame = packet.encode_frame(magic()).unwrap();
                    if announcer.lock().await.write_all(&frame).await.is_err() {
                        return;
                    }
                    events.fetch_add(1, Ordering::SeqCst);
                }
            });
            // Answer PINGs (so every sync round the announcements trigger completes: nothing
            // new), ignore the rest.
            let mut buf = Vec::new();
            loop {
                let packet = read_packet(&mut read, &mut buf).await?;
                if let Packet::Ping(n) = packet {
                    let frame = Packet::Pong(n).encode_frame(magic()).unwrap();
                    write.lock().await.write_all(&frame).await.ok()?;
                }
            }
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
            Packet::Pong(0x6a6a) => {
                counters.events.fetch_add(1, Ordering::SeqCst);
            }
            Packet::GetHeaders(req) => match &behavior {
                Behavior::RandomHeaders => {
                    let batch: Vec<Header> = (0..2000).map(|_| random_header()).collect();
                    headers_sent.fetch_add(batch.len(), Ordering::SeqCst);
                    send(&mut s, &Packet::Headers(batch)).await?
                }
                Behavior::RepeatBatch(chain) | Behavior::Unconnected(chain) => {
                    let batch: Vec<Header> = chain.iter().take(2000).cloned().collect();
                    headers_sent.fetch_add(batch.len(), Ordering::SeqCst);
                    send(&mut s, &Packet::Headers(batch)).await?
                }
                Behavior::ClaimOnly | Behavior::GiantUnusedFrame | Behavior::UnsolicitedProof => {}
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
