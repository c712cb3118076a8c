//! Brontide against a real hsd 8.0.0 regtest node (its brontide listener, loopback): the
//! handshake completes with the node's well-known regtest identity, hsd's VERACK and VERSION
//! arrive decrypted and decode as Handshake frames, and a GETHEADERS is answered with the
//! node's headers. A wrong identity key is refused by hsd (it cannot answer act 1).
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::time::Duration;

use hnsfleet_brontide::connect;
use hnsfleet_hns::p2p::{FrameStatus, GetHeaders, NetAddress, Packet, Version, parse_frame};
use hnsfleet_hns::params::Network;
use hnsfleet_hns::types::BlockHash;
use hnsfleet_testkit::Hsd;
use secp256k1::{PublicKey, SecretKey};
use tokio::net::TcpStream;

fn regtest_identity() -> PublicKey {
    let secret = Network::Regtest.params().identity_key.unwrap();
    SecretKey::from_byte_array(secret)
        .unwrap()
        .public_key(secp256k1::SECP256K1)
}

fn decode_all(buf: &mut Vec<u8>) -> Vec<Packet> {
    let magic = Network::Regtest.params().magic;
    let mut out = Vec::new();
    while let Ok(FrameStatus::Complete(f)) = parse_frame(buf, magic) {
        let len = f.wire_len();
        out.push(f.packet().unwrap());
        buf.drain(..len);
    }
    out
}

#[tokio::test]
async fn handshake_and_p2p_over_brontide_with_real_hsd() {
    let hsd = tokio::task::spawn_blocking(|| {
        let hsd = Hsd::start("brontide-e2e", 770).expect("hsd");
        hsd.mine(3).unwrap();
        hsd
    })
    .await
    .unwrap();
    let p2p = hsd.p2p_addr().unwrap();
    let addr = std::net::SocketAddr::from(([127, 0, 0, 1], p2p.port() - 14038 + 26806));
    let magic = Network::Regtest.params().magic;
    let ours = SecretKey::from_byte_array([0x42; 32]).unwrap();

    let tcp = TcpStream::connect(addr).await.unwrap();
    let session = connect(tcp, &ours, &regtest_identity(), Duration::from_secs(5))
        .await
        .expect("brontide handshake with hsd");
    let (mut reader, mut writer) = session.into_split();

    let version = Version {
        version: 3,
        services: 0,
        time: 1_800_000_000,
        remote: NetAddress::from_socket_addr(addr, 1, 1_800_000_000),
        nonce: 7,
        agent: "/hnsfleet-brontide-test/".into(),
        height: 0,
        no_relay: true,
    };
    writer
        .write_message(&Packet::Version(version).encode_frame(magic).unwrap())
        .await
        .unwrap();
    let mut buf = Vec::new();
    let mut seen = Vec::new();
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while !(seen.iter().any(|p| matches!(p, Packet::Version(_)))
        && seen.iter().any(|p| matches!(p, Packet::Verack)))
    {
        let message = tokio::time::timeout_at(deadline, reader.read_message())
            .await
            .expect("hsd's VERSION and VERACK in time")
            .unwrap()
            .expect("hsd kept the connection");
        buf.extend_from_slice(&message);
        seen.extend(decode_all(&mut buf));
    }
    let Some(Packet::Version(theirs)) = seen.iter().find(|p| matches!(p, Packet::Version(_)))
    else {
        unreachable!()
    };
    assert!(theirs.agent.starts_with("/hsd:"), "{}", theirs.agent);
    assert_eq!(theirs.height, 3);

    writer
        .write_message(&Packet::Verack.encode_frame(magic).unwrap())
        .await
        .unwrap();
    let request = Packet::GetHeaders(GetHeaders {
        locator: vec![Network::Regtest.params().genesis_hash],
        stop: BlockHash::ZERO,
    });
    writer
        .write_message(&request.encode_frame(magic).unwrap())
        .await
        .unwrap();
    let headers = loop {
        let message = tokio::time::timeout_at(deadline, reader.read_message())
            .await
            .expect("HEADERS in time")
            .unwrap()
            .expect("open");
        buf.extend_from_slice(&message);
        if let Some(Packet::Headers(h)) = decode_all(&mut buf)
            .into_iter()
            .find(|p| matches!(p, Packet::Headers(_)))
        {
            break h;
        }
    };
    assert_eq!(headers.len(), 3);
    assert_eq!(
        headers[0].prev_block,
        Network::Regtest.params().genesis_hash
    );
    let best = hsd.rpc("getbestblockhash", &[]).unwrap();
    assert_eq!(headers[2].hash().to_hex(), best.as_str().unwrap());

    // A client that expects another identity fails the handshake (hsd cannot answer act 1).
    let tcp = TcpStream::connect(addr).await.unwrap();
    let wrong = SecretKey::from_byte_array([0x43; 32])
        .unwrap()
        .public_key(secp256k1::SECP256K1);
    assert!(
        connect(tcp, &ours, &wrong, Duration::from_secs(3))
            .await
            .is_err()
    );
}
