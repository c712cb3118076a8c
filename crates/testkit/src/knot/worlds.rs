//! Ready-made worlds of Knot servers that several end-to-end tests share.

use std::net::{Ipv4Addr, SocketAddr};

use hickory_proto::dnssec::rdata::DNSSECRData;
use hickory_proto::rr::{Name, RData, Record};
use serde_json::{Value, json};

use super::{KeyModel, Knot, KnotError, Signing, ZoneSpec};

/// The address `www.example.com.` has in [`icann_stand_in`].
pub const EXAMPLE_COM_ADDRESS: Ipv4Addr = Ipv4Addr::new(127, 0, 0, 90);

/// A stand-in for the ICANN world, on port 53 of two loopback addresses: a signed `com.` zone
/// (`www.example.com. A 127.0.0.90`) at `com`, and at `root` a root zone signed with a KSK and
/// a ZSK that delegates `com.` with its SHA-256 DS. Returns (root, com); the root's DS lines
/// (`root.keys(&Name::root())`) are the trust anchors of this world.
pub async fn icann_stand_in(root: Ipv4Addr, com: Ipv4Addr) -> Result<(Knot, Knot), KnotError> {
    let com_zone = format!(
        "$ORIGIN com.\n$TTL 300\n@ SOA ns host 1 3600 900 604800 300\n@ NS ns\n\
         ns A {com}\nwww.example A {EXAMPLE_COM_ADDRESS}\n"
    );
    let com_server = Knot::start(
        SocketAddr::from((com, 53)),
        vec![ZoneSpec::signed("com.", &com_zone)?],
    )
    .await?;
    let origin = Name::from_ascii("com.").map_err(|e| KnotError::Setup(e.to_string()))?;
    let ds: Vec<String> = com_server
        .keys(&origin)
        .ok_or_else(|| KnotError::Setup("com. has no keys".into()))?
        .ds_text
        .iter()
        .filter(|line| line.split_whitespace().nth(4) == Some("2"))
        .cloned()
        .collect();
    let root_zone = format!(
        "$ORIGIN .\n$TTL 86400\n. SOA ns.root. host.root. 1 1800 900 604800 86400\n\
         . NS ns.root.\nns.root. A {root}\n\
         com. 172800 NS ns.com.\nns.com. 172800 A {com}\n{}\n",
        ds.join("\n")
    );
    let root_server = Knot::start(
        SocketAddr::from((root, 53)),
        vec![ZoneSpec::new(
            ".",
            &root_zone,
            Signing::Signed(KeyModel::KskZsk),
        )?],
    )
    .await?;
    Ok((root_server, com_server))
}

/// hsd's `sendupdate` JSON of the SHA-256 DS records among `ds` (what puts a zone's DS on
/// chain).
pub fn ds_update_json(ds: &[Record]) -> Vec<Value> {
    ds.iter()
        .filter_map(|r| match &r.data {
            RData::DNSSEC(DNSSECRData::DS(ds)) if u8::from(ds.digest_type()) == 2 => Some(json!({
                "type": "DS",
                "keyTag": ds.key_tag(),
                "algorithm": u8::from(ds.algorithm()),
                "digestType": 2,
                "digest": hex_lower(ds.digest()),
            })),
            _ => None,
        })
        .collect()
}

fn hex_lower(bytes: &[u8]) -> String {
    bytes.iter().map(|b| format!("{b:02x}")).collect()
}
