//! A proof that arrives while the follower is busy re-syncing after a block announcement is
//! still delivered. A proxy in front of a real hsd puts an INV of hsd's tip block right before
//! every PROOF frame, so each answer reaches the follower in the middle of the GETHEADERS round
//! that the INV triggers. Every look-up must still be answered from that peer — the only one —
//! with hsd's records, and the session must live on past the proof timeout (an answer lost in
//! the re-sync would leave the request in flight until the session timed out): a look-up made
//! after every earlier request's deadline is still served over the proxy's first and only
//! connection.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::net::SocketAddr;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use std::time::Duration;

use common::{
    assert_resource_is_hsds, connect_api, follower_command, lookup, start_prepared_hsd, try_lookup,
};
use hnsfleet_chain_follower::metrics;
use hnsfleet_hns::p2p::{FrameStatus, InvItem, Packet, parse_frame};
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::{BlockHash, Hash256};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

/// What the proxy saw: INVs it put in, connections it accepted.
#[derive(Default)]
struct ProxyCounts {
    injected: AtomicUsize,
    connections: AtomicUsize,
}

/// Forwards every connection to `upstream`; in the upstream-to-client direction it puts an
/// INV(BLOCK `announce`) frame in front of each PROOF frame. Returns its address and counts.
async fn announcing_proxy(
    upstream: SocketAddr,
    announce: BlockHash,
) -> (SocketAddr, Arc<ProxyCounts>) {
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let counts = Arc::new(ProxyCounts::default());
    let count = Arc::clone(&counts);
    let magic = Network::Regtest.params().magic;
    let inv = Packet::Inv(vec![InvItem {
        ty: InvItem::BLOCK,
        hash: Hash256(announce.0),
    }])
    .encode_frame(magic)
    .unwrap();
    tokio::spawn(async move {
        while let Ok((client, _)) = listener.accept().await {
            count.connections.fetch_add(1, Ordering::SeqCst);
            let (count, inv) = (Arc::clone(&count), inv.clone());
            tokio::spawn(async move {
                let Ok(server) = TcpStream::connect(upstream).await else {
                    return;
                };
                let (mut client_read, mut client_write) = client.into_split();
                let (mut server_read, mut server_write) = server.into_split();
                tokio::spawn(async move {
                    let _ = tokio::io::copy(&mut client_read, &mut server_write).await;
                });
                let mut buf = Vec::new();
                let mut chunk = [0u8; 16 * 1024];
                loop {
                    while let Ok(FrameStatus::Complete(frame)) = parse_frame(&buf, magic) {
                        let len = frame.wire_len();
                        if matches!(frame.packet(), Ok(Packet::Proof(_))) {
                            if client_write.write_all(&inv).await.is_err() {
                                return;
                            }
                            count.injected.fetch_add(1, Ordering::SeqCst);
                        }
                        if client_write.write_all(&buf[..len]).await.is_err() {
                            return;
                        }
                        buf.drain(..len);
                    }
                    match server_read.read(&mut chunk).await {
                        Ok(0) | Err(_) => return,
                        Ok(n) => buf.extend_from_slice(&chunk[..n]),
                    }
                }
            });
        }
    });
    (addr, counts)
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn proofs_that_arrive_during_an_announcement_resync_are_delivered() {
    let (hsd, manifest) = start_prepared_hsd("svc-announce", 800).await;
    let tip_hex = hsd.rpc("getbestblockhash", &[]).unwrap();
    let tip: [u8; 32] = hex::decode(tip_hex.as_str().unwrap())
        .unwrap()
        .try_into()
        .unwrap();
    let (proxy, counts) = announcing_proxy(hsd.p2p_addr().unwrap(), BlockHash(tip)).await;

    let data_dir = tempfile::tempdir().unwrap();
    let follower = follower_command(data_dir.path())
        .peer(proxy)
        .flag("--min-peers", 1)
        .flag("--hedge-after", "200ms")
        .flag("--proof-timeout", "1s")
        .spawn("svc-announce")
        .await
        .unwrap();
    follower.wait_ready(Duration::from_secs(30)).await.unwrap();
    let mut api = connect_api(&follower).await;

    let names: Vec<&String> = manifest["names"].as_object().unwrap().keys().collect();
    assert!(names.len() >= 8);
    for name in &names {
        let answer = try_lookup(&mut api, name)
            .await
            .unwrap_or_else(|e| panic!("{name}: {e}\n{}", follower.log_tail(30)));
        assert_resource_is_hsds(&answer, &hsd);
    }
    // Every answer really came behind an announcement.
    assert!(counts.injected.load(Ordering::SeqCst) >= names.len());

    // Past the proof timeout the one session is still there: nothing was left in flight. Every
    // request so far was sent before now, so its deadline is at most 1 s away; a session with
    // an answer lost would be dropped by its 100 ms deadline check soon after, and redialled
    // (a second proxy connection). So wait past that, then show the session still serves: a
    // look-up after the deadlines, over the first connection.
    tokio::time::sleep(Duration::from_millis(1500)).await;
    let after = lookup(&mut api, names[0]).await;
    assert_resource_is_hsds(&after, &hsd);
    assert!(counts.injected.load(Ordering::SeqCst) > names.len());
    assert_eq!(
        counts.connections.load(Ordering::SeqCst),
        1,
        "{}",
        follower.log_tail(30)
    );
    assert_eq!(
        follower
            .metric(metrics::PEERS_CONNECTED, &[])
            .await
            .unwrap(),
        Some(1.0)
    );
    for reason in ["closed", "timeout", "banned", "error"] {
        let disconnects = follower
            .metric(metrics::DISCONNECTS, &[("reason", reason)])
            .await;
        assert_eq!(
            disconnects.unwrap().unwrap_or(0.0),
            0.0,
            "{reason}\n{}",
            follower.log_tail(30)
        );
    }
    drop(follower);
}
