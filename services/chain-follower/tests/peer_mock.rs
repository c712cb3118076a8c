//! The peer state machine against a scripted peer that replays real hsd frames (from the
//! regtest p2p transcript) and against hostile variants of it.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use hnsfleet_chain_follower::peer::{PeerConfig, PeerConnection, PeerError};
use hnsfleet_hns::p2p::{FrameStatus, GetHeaders, Packet, parse_frame};
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::BlockHash;
use serde_json::Value;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

const TRANSCRIPT: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../crates/hns/testdata/regtest/regtest-p2p-transcript.json"
));

/// Frames hsd sent in the first session, by packet name, in order.
fn hsd_frames(name: &str) -> Vec<Vec<u8>> {
    let t: Value = serde_json::from_str(TRANSCRIPT).unwrap();
    t["transcript"]
        .as_array()
        .unwrap()
        .iter()
        .filter(|f| f["dir"] == "node->client" && f["name"] == name)
        .map(|f| hex::decode(f["frame"].as_str().unwrap()).unwrap())
        .collect()
}

fn config() -> PeerConfig {
    PeerConfig {
        params: Network::Regtest.params(),
        handshake_timeout: Duration::from_secs(2),
        user_agent: "/hnsfleet-test/".into(),
        height: 0,
        send_headers: true,
        response_timeout: hnsfleet_chain_follower::sync::HEADERS_TIMEOUT,
    }
}

async fn read_packet(s: &mut TcpStream, buf: &mut Vec<u8>) -> Option<Packet> {
    let magic = Network::Regtest.params().magic;
    loop {
        if let Ok(FrameStatus::Complete(f)) = parse_frame(buf, magic) {
            let (len, p) = (f.wire_len(), f.packet().unwrap());
            buf.drain(..len);
            return Some(p);
        }
        let mut chunk = [0u8; 4096];
        let n = s.read(&mut chunk).await.ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// Accepts one connection and plays hsd's side of the handshake: wait for the client's
/// VERSION, then send VERACK before `version_frame` (hsd's order). Returns the stream and the
/// receive buffer holding whatever the client sent after its VERSION.
async fn accept_handshake(listener: TcpListener, version_frame: &[u8]) -> (TcpStream, Vec<u8>) {
    let (mut s, _) = listener.accept().await.unwrap();
    let mut buf = Vec::new();
    assert!(matches!(
        read_packet(&mut s, &mut buf).await,
        Some(Packet::Version(_))
    ));
    s.write_all(&hsd_frames("VERACK")[0]).await.unwrap();
    s.write_all(version_frame).await.unwrap();
    (s, buf)
}

/// A scripted hsd: VERACK then VERSION (hsd's order), then HEADERS(154) for any GETHEADERS.
async fn scripted_hsd(listener: TcpListener, version_frame: Vec<u8>) {
    let (mut s, mut buf) = accept_handshake(listener, &version_frame).await;
    s.write_all(&hsd_frames("SENDCMPCT")[0]).await.unwrap();
    while let Some(p) = read_packet(&mut s, &mut buf).await {
        if let Packet::GetHeaders(_) = p {
            s.write_all(&hsd_frames("HEADERS")[0]).await.unwrap();
        }
    }
}

async fn listen() -> (TcpListener, std::net::SocketAddr) {
    let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let a = l.local_addr().unwrap();
    (l, a)
}

#[tokio::test]
async fn handshake_and_headers_against_replayed_hsd_frames() {
    let (l, addr) = listen().await;
    tokio::spawn(scripted_hsd(l, hsd_frames("VERSION")[0].clone()));
    let mut peer = PeerConnection::connect(addr, &config(), 1_800_000_000)
        .await
        .unwrap();
    assert_eq!(peer.version().agent, "/hsd:8.0.0/");
    assert_eq!(peer.version().height, 154);
    let genesis = Network::Regtest.params().genesis_hash;
    let req = Packet::GetHeaders(GetHeaders {
        locator: vec![genesis],
        stop: BlockHash::ZERO,
    });
    let headers = peer
        .request(
            &req,
            Duration::from_secs(2),
            |p| match p {
                Packet::Headers(h) => Some(h.clone()),
                _ => None,
            },
            |_| {},
        )
        .await
        .unwrap();
    assert_eq!(headers.len(), 154);
    assert_eq!(headers[0].prev_block, genesis);
}

/// Connects to a scripted hsd whose VERSION frame was altered by `alter`; returns the error.
async fn handshake_with_altered_version(alter: impl FnOnce(&mut Vec<u8>)) -> PeerError {
    let (l, addr) = listen().await;
    let mut version = hsd_frames("VERSION")[0].clone();
    alter(&mut version);
    tokio::spawn(scripted_hsd(l, version));
    PeerConnection::connect(addr, &config(), 1_800_000_000)
        .await
        .unwrap_err()
}

#[tokio::test]
async fn a_peer_that_does_not_serve_the_network_is_refused() {
    // services low byte: clear NETWORK
    let err = handshake_with_altered_version(|v| v[9 + 4] = 0).await;
    assert!(matches!(err, PeerError::Handshake(_)), "{err}");
}

#[tokio::test]
async fn wrong_magic_is_a_protocol_violation() {
    let err = handshake_with_altered_version(|v| v[0] ^= 0xff).await;
    assert!(matches!(err, PeerError::Protocol(_)), "{err}");
}

#[tokio::test]
async fn oversize_frame_is_refused_without_buffering_it() {
    let err = handshake_with_altered_version(|v| {
        v[5..9].copy_from_slice(&8_000_001u32.to_le_bytes());
        v.truncate(9);
    })
    .await;
    assert!(matches!(err, PeerError::Protocol(_)), "{err}");
}

#[tokio::test]
async fn a_stalling_peer_times_out() {
    let (l, addr) = listen().await;
    tokio::spawn(async move {
        let (s, _) = l.accept().await.unwrap();
        tokio::time::sleep(Duration::from_secs(10)).await;
        drop(s);
    });
    let mut cfg = config();
    cfg.handshake_timeout = Duration::from_millis(300);
    let err = PeerConnection::connect(addr, &cfg, 1_800_000_000)
        .await
        .unwrap_err();
    assert!(matches!(err, PeerError::Timeout(_)), "{err}");
}

/// A scripted hsd that answers every GETPROOF with the recorded PROOF frame for that key,
/// optionally corrupting one byte of the proof body.
async fn proof_server(listener: TcpListener, corrupt: bool) {
    let (mut s, mut buf) = accept_handshake(listener, &hsd_frames("VERSION")[0]).await;
    let proofs = hsd_frames("PROOF");
    while let Some(p) = read_packet(&mut s, &mut buf).await {
        if let Packet::GetProof(req) = p {
            for frame in &proofs {
                // payload: root (32) ‖ key (32) ‖ proof
                if frame[9 + 32..9 + 64] == req.key.0 {
                    let mut frame = frame.clone();
                    if corrupt {
                        let last = frame.len() - 1;
                        frame[last] ^= 1;
                    }
                    s.write_all(&frame).await.unwrap();
                }
            }
        }
    }
}

#[tokio::test]
async fn proofs_from_replayed_hsd_are_verified_and_bad_ones_are_ban_worthy() {
    use hnsfleet_chain_follower::lookup::{LookupError, lookup};
    use hnsfleet_hns::types::{NameHash, TreeRoot};
    let t: Value = serde_json::from_str(TRANSCRIPT).unwrap();
    for corrupt in [false, true] {
        let (l, addr) = listen().await;
        tokio::spawn(proof_server(l, corrupt));
        let mut peer = PeerConnection::connect(addr, &config(), 1_800_000_000)
            .await
            .unwrap();
        for r in t["results"].as_array().unwrap() {
            let root = TreeRoot::from_hex(r["root"].as_str().unwrap()).unwrap();
            let key = NameHash::from_hex(r["key"].as_str().unwrap()).unwrap();
            let result = lookup(&mut peer, root, key, Duration::from_secs(2), |_| {}).await;
            if corrupt {
                let err = result.unwrap_err();
                assert!(
                    matches!(err, LookupError::BadProof(_)) && err.ban_worthy(),
                    "{err}"
                );
            } else {
                let (name, _) = result.unwrap();
                assert_eq!(name.state().is_some(), r["type"] == 3, "{r}");
            }
        }
    }
}

/// A scripted hsd whose HEADERS(154) answer has header number `bad` (0-based) corrupted
/// (its nonce changed, so its PoW and its link to the next header break).
async fn bad_headers_server(listener: TcpListener, bad: usize) {
    let (mut s, mut buf) = accept_handshake(listener, &hsd_frames("VERSION")[0]).await;
    let mut headers = hsd_frames("HEADERS")[0].clone();
    // frame header (9) + varint count (1: 154 < 0xfd) + 236 bytes per header; nonce first.
    let at = 9 + 1 + 236 * bad;
    headers[at] ^= 0x5a;
    while let Some(p) = read_packet(&mut s, &mut buf).await {
        if let Packet::GetHeaders(_) = p {
            s.write_all(&headers).await.unwrap();
        }
    }
}

#[tokio::test]
async fn a_header_with_bad_pow_ends_the_sync_with_a_ban_and_nothing_of_its_batch_is_taken() {
    use hnsfleet_chain_follower::HeaderChain;
    use hnsfleet_chain_follower::sync::{SyncError, sync_headers};
    use hnsfleet_hns::chain::ChainError;
    let (l, addr) = listen().await;
    tokio::spawn(bad_headers_server(l, 100));
    let mut peer = PeerConnection::connect(addr, &config(), 1_800_000_000)
        .await
        .unwrap();
    let mut chain = HeaderChain::from_genesis(Network::Regtest.params());
    let err = sync_headers(&mut peer, &mut chain, || 1_800_000_000, |_, _| {})
        .await
        .unwrap_err();
    // With this nonce the header's hash is above the regtest target (checked: deterministic).
    assert!(
        matches!(err, SyncError::InvalidHeader(ChainError::InvalidPow(_))),
        "{err}"
    );
    assert!(err.ban_worthy(), "{err}");
    // The batch fails the context-free checks (proof of work, linkage) as a whole, before the
    // chain is touched: not even its valid first 100 headers are taken from this peer.
    assert_eq!(chain.tip().height, 0);
    assert_eq!(chain.pending_counts(), (0, 0));
}

/// A peer that completes the handshake and then never reads again: `send` never blocks (it
/// queues within a byte budget and fails with `NotReading` once that is used up), and the
/// writer stuck on the full socket ends the connection after its write deadline, which
/// `next_packet` reports. So a session's timers keep firing whatever the peer does.
#[tokio::test]
async fn a_peer_that_stops_reading_cannot_block_sends() {
    use hnsfleet_chain_follower::peer::{OUTBOUND_BYTES, WRITE_TIMEOUT};
    use hnsfleet_hns::p2p::GetProof;
    use hnsfleet_hns::types::{NameHash, TreeRoot};
    let (l, addr) = listen().await;
    let (held_tx, held) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (s, buf) = accept_handshake(l, &hsd_frames("VERSION")[0]).await;
        // Keep the socket open, unread, until the test ends.
        let _ = held_tx.send((s, buf));
        tokio::time::sleep(Duration::from_secs(120)).await;
    });
    let mut peer = PeerConnection::connect(addr, &config(), 1_800_000_000)
        .await
        .unwrap();
    let _held = held.await.unwrap();
    // A GETPROOF frame is 73 bytes; far more than the budget plus any socket buffer.
    let request = Packet::GetProof(GetProof {
        root: TreeRoot([1; 32]),
        key: NameHash([2; 32]),
    });
    let started = tokio::time::Instant::now();
    let mut sent = 0usize;
    let err = loop {
        match tokio::time::timeout(Duration::from_secs(1), peer.send(&request)).await {
            Ok(Ok(())) => {
                sent += 1;
                // Let the writer move frames into the socket until the kernel's buffers fill.
                tokio::task::yield_now().await;
            }
            Ok(Err(e)) => break e,
            Err(_) => panic!("send blocked after {sent} frames"),
        }
        assert!(sent < 10_000_000, "the send queue never filled");
    };
    assert!(matches!(err, PeerError::NotReading(_)), "{err}");
    assert!(
        sent * 73 >= OUTBOUND_BYTES,
        "refused after only {sent} frames"
    );
    // The writer gives up on the stuck socket within its deadline and the stream ends.
    let end = tokio::time::timeout(WRITE_TIMEOUT * 2, async {
        loop {
            match peer.next_packet().await {
                Ok(_) => continue,
                Err(e) => break e,
            }
        }
    })
    .await
    .expect("the write deadline did not end the connection");
    assert!(matches!(end, PeerError::NotReading(_)), "{end}");
    assert!(started.elapsed() >= WRITE_TIMEOUT);
}

/// PINGs beyond the budget end the connection (a flood is dropped, not answered for ever).
#[tokio::test]
async fn a_ping_flood_is_answered_within_a_budget_then_dropped() {
    use hnsfleet_chain_follower::peer::PING_BUDGET;
    let (l, addr) = listen().await;
    let (pongs_tx, pongs) = tokio::sync::oneshot::channel();
    tokio::spawn(async move {
        let (mut s, mut buf) = accept_handshake(l, &hsd_frames("VERSION")[0]).await;
        let magic = Network::Regtest.params().magic;
        // One over the budget (more would sit unread when the follower closes, and closing a
        // socket with unread data resets it, which could lose the last PONGs in flight).
        for n in 0..=(PING_BUDGET as u64) {
            let frame = Packet::Ping(n).encode_frame(magic).unwrap();
            if s.write_all(&frame).await.is_err() {
                break;
            }
        }
        let mut answered = 0;
        while let Some(p) = read_packet(&mut s, &mut buf).await {
            if let Packet::Pong(_) = p {
                answered += 1;
            }
        }
        let _ = pongs_tx.send(answered);
    });
    let mut peer = PeerConnection::connect(addr, &config(), 1_800_000_000)
        .await
        .unwrap();
    let err = peer.recv(Duration::from_secs(10)).await.unwrap_err();
    assert!(matches!(err, PeerError::Flood(_)), "{err}");
    drop(peer);
    assert_eq!(pongs.await.unwrap(), PING_BUDGET);
}
