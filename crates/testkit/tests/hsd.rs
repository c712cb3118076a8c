//! The harness against a real hsd: the prepared chain is there and the RPC answers match the
//! manifest the scripts wrote.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hnsfleet_testkit::Hsd;
use serde_json::json;

#[test]
fn prepared_chain_matches_its_manifest() {
    let (hsd, manifest) = Hsd::start_prepared("testkit-selftest", 400).expect("prepared hsd");
    let info = hsd.rpc("getblockchaininfo", &[]).unwrap();
    assert_eq!(info["blocks"], manifest["tip"]["height"]);
    assert_eq!(info["bestblockhash"], manifest["tip"]["hash"]);
    let names = manifest["names"].as_object().unwrap();
    assert!(names.len() >= 7, "{names:?}");
    for (name, entry) in names {
        let live = hsd.rpc("getnameresource", &[json!(name)]).unwrap();
        assert_eq!(live, entry["resource"], "{name}");
    }
    assert!(hsd.p2p_addr().unwrap().ip().is_loopback());
}
