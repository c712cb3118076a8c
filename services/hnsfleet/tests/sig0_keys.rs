//! `hnsfleet sig0 keygen|pubkey` over the real binary: a new key file is private (0600) and
//! never overwritten; the printed public key, key tag and hns.conf line are the ones hsd's
//! regtest key has in the spec's verified vector (hns-dns.md §5.3, §5.5), and the line parses
//! back as an hns.conf nameserver pinned to that key.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::os::unix::fs::PermissionsExt;
use std::process::Output;

use hnsfleet_hns::hnsconf::HnsConf;
use hnsfleet_hns::sig0::Sig0Key;
use serde_json::Value;

const BIN: &str = env!("CARGO_BIN_EXE_hnsfleet");
/// hsd's fixed regtest identity key (hns-dns.md §5.3).
const REGTEST_KEY: &str = "104932181cfed7584105c728cdc0eb9af1e7ffdc4a00743fd45e5de66cac7668";

fn hnsfleet(args: &[&str]) -> Output {
    std::process::Command::new(BIN).args(args).output().unwrap()
}

fn json(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).unwrap()
}

#[test]
fn keygen_makes_a_private_key_once_and_pubkey_prints_what_clients_pin() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("sig0.key");
    let path = file.to_str().unwrap();
    let made = json(&hnsfleet(&["sig0", "keygen", path]));
    let meta = std::fs::metadata(&file).unwrap();
    assert_eq!(meta.permissions().mode() & 0o777, 0o600);
    let text = std::fs::read_to_string(&file).unwrap();
    let key = Sig0Key::from_hex(text.trim()).unwrap();
    assert_eq!(made["public_key"], key.public_key().to_base32());
    assert_eq!(made["key_tag"], key.key_tag());

    // Never overwritten.
    let again = hnsfleet(&["sig0", "keygen", path]);
    assert_eq!(again.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&again.stderr).contains("cannot create key file"));
    assert_eq!(std::fs::read_to_string(&file).unwrap(), text);

    let shown = json(&hnsfleet(&["sig0", "pubkey", path]));
    assert_eq!(shown["public_key"], made["public_key"]);
    assert_eq!(
        shown["hns_conf"],
        format!(
            "nameserver {}@127.0.0.1",
            made["public_key"].as_str().unwrap()
        )
    );
}

#[test]
fn pubkey_of_hsds_regtest_key_matches_the_verified_vector() {
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("regtest.key");
    std::fs::write(&file, format!("{REGTEST_KEY}\n")).unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let path = file.to_str().unwrap();
    let shown = json(&hnsfleet(&[
        "sig0",
        "pubkey",
        path,
        "--dns-listen",
        "127.0.0.1:25350",
    ]));
    assert_eq!(
        shown["public_key"],
        "aorsxa4ylaacshipyjkfbvzfkh3jhh4yowtoqdt64nzemqtiw2whk"
    );
    assert_eq!(
        shown["public_key_hex"],
        "03a32b83985800291d0fc25450d72551f6939f9875a6e80e7ee372464268b6ac75"
    );
    assert_eq!(shown["key_tag"], 64595);
    let line = shown["hns_conf"].as_str().unwrap();
    assert_eq!(
        line,
        "nameserver aorsxa4ylaacshipyjkfbvzfkh3jhh4yowtoqdt64nzemqtiw2whk@127.0.0.1:25350"
    );
    let conf = HnsConf::parse(line).unwrap();
    let server = &conf.nameservers[0];
    assert_eq!(
        (server.addr.to_string(), server.port),
        ("127.0.0.1".into(), 25350)
    );
    assert_eq!(
        server.key.unwrap().to_base32(),
        "aorsxa4ylaacshipyjkfbvzfkh3jhh4yowtoqdt64nzemqtiw2whk"
    );

    // A key others can read, or one that is not a key: refused with one line.
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o644)).unwrap();
    let open = hnsfleet(&["sig0", "pubkey", path]);
    assert_eq!(open.status.code(), Some(1));
    assert!(String::from_utf8_lossy(&open.stderr).contains("chmod 600"));
    std::fs::write(&file, "not a key\n").unwrap();
    std::fs::set_permissions(&file, std::fs::Permissions::from_mode(0o600)).unwrap();
    let bad = hnsfleet(&["sig0", "pubkey", path]);
    assert_eq!(bad.status.code(), Some(1));
    let err = String::from_utf8_lossy(&bad.stderr);
    assert!(
        err.starts_with("error: key file") && err.trim_end().lines().count() == 1,
        "{err}"
    );
}
