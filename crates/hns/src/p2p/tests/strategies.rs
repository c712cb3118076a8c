//! Proptest strategies for every packet type.

use proptest::prelude::*;

use crate::header::{HEADER_SIZE, Header};
use crate::p2p::{GetHeaders, GetProof, InvItem, NetAddress, Packet, Proof, Reject, Version};
use crate::types::{BlockHash, Hash256, NameHash, TreeRoot};

fn arb_hash() -> impl Strategy<Value = [u8; 32]> {
    any::<[u8; 32]>()
}

fn arb_netaddr() -> impl Strategy<Value = NetAddress> {
    (
        any::<u64>(),
        any::<u64>(),
        any::<u8>(),
        any::<[u8; 16]>(),
        any::<[u8; 20]>(),
        any::<u16>(),
        proptest::collection::vec(any::<u8>(), 33),
    )
        .prop_map(
            |(time, services, addr_type, ip, reserved, port, key)| NetAddress {
                time,
                services,
                addr_type,
                ip: ip.into(),
                reserved,
                port,
                key: key.try_into().unwrap(),
            },
        )
}

fn arb_header() -> impl Strategy<Value = Header> {
    proptest::collection::vec(any::<u8>(), HEADER_SIZE).prop_map(|b| Header::decode(&b).unwrap())
}

fn arb_inv() -> impl Strategy<Value = Vec<InvItem>> {
    proptest::collection::vec(
        (any::<u32>(), arb_hash()).prop_map(|(ty, h)| InvItem {
            ty,
            hash: Hash256(h),
        }),
        0..20,
    )
}

pub(super) fn arb_packet() -> impl Strategy<Value = Packet> {
    let version = (
        any::<u32>(),
        any::<u64>(),
        any::<u64>(),
        arb_netaddr(),
        any::<u64>(),
        "[ -~]{0,255}",
        any::<u32>(),
        any::<bool>(),
    )
        .prop_map(
            |(version, services, time, remote, nonce, agent, height, no_relay)| {
                Packet::Version(Version {
                    version,
                    services,
                    time,
                    remote,
                    nonce,
                    agent,
                    height,
                    no_relay,
                })
            },
        );
    let reject = (any::<u8>(), any::<u8>(), "[ -~]{0,255}", arb_hash()).prop_map(
        |(message, code, reason, h)| {
            Packet::Reject(Reject {
                message,
                code,
                reason,
                hash: Reject::carries_hash(message).then_some(Hash256(h)),
            })
        },
    );
    let known = [0, 1, 2, 3, 4, 5, 6, 7, 8, 10, 11, 12, 15, 26, 27];
    prop_oneof![
        version,
        Just(Packet::Verack),
        any::<u64>().prop_map(Packet::Ping),
        any::<u64>().prop_map(Packet::Pong),
        Just(Packet::GetAddr),
        proptest::collection::vec(arb_netaddr(), 0..10).prop_map(Packet::Addr),
        arb_inv().prop_map(Packet::Inv),
        arb_inv().prop_map(Packet::GetData),
        arb_inv().prop_map(Packet::NotFound),
        (proptest::collection::vec(arb_hash(), 0..20), arb_hash()).prop_map(|(l, s)| {
            Packet::GetHeaders(GetHeaders {
                locator: l.into_iter().map(BlockHash).collect(),
                stop: BlockHash(s),
            })
        }),
        proptest::collection::vec(arb_header(), 0..5).prop_map(Packet::Headers),
        Just(Packet::SendHeaders),
        reject,
        (arb_hash(), arb_hash()).prop_map(|(r, k)| Packet::GetProof(GetProof {
            root: TreeRoot(r),
            key: NameHash(k),
        })),
        (
            arb_hash(),
            arb_hash(),
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(r, k, proof)| Packet::Proof(Proof {
                root: TreeRoot(r),
                key: NameHash(k),
                proof,
            })),
        (
            any::<u8>().prop_filter("unknown type", move |t| !known.contains(t)),
            proptest::collection::vec(any::<u8>(), 0..300)
        )
            .prop_map(|(ty, payload)| Packet::Unknown { ty, payload }),
    ]
}
