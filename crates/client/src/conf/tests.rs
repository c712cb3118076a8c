use std::ffi::OsStr;
use std::path::Path;

use hnsfleet_hns::sig0::{REGTEST_KEY_HEX, Sig0Key};

use super::*;
use crate::Transport;

fn key(byte: u8) -> Sig0PublicKey {
    Sig0Key::from_bytes(&[byte; 32]).unwrap().public_key()
}

fn file(text: &str) -> ConfFile {
    ConfFile {
        path: PathBuf::from("/tmp/hns.conf"),
        origin: ConfOrigin::Flag,
        conf: HnsConf::parse(text).unwrap(),
    }
}

#[test]
fn flag_beats_env_beats_the_default_file() {
    let flag = Path::new("/flag.conf");
    let env = OsStr::new("/env.conf");
    assert_eq!(
        conf_path(Some(flag), Some(env), true),
        Some((PathBuf::from("/flag.conf"), ConfOrigin::Flag))
    );
    assert_eq!(
        conf_path(None, Some(env), true),
        Some((PathBuf::from("/env.conf"), ConfOrigin::Env))
    );
    assert_eq!(
        conf_path(None, Some(OsStr::new("")), true),
        Some((PathBuf::from(DEFAULT_HNS_CONF), ConfOrigin::Default))
    );
    assert_eq!(
        conf_path(None, None, true),
        Some((PathBuf::from(DEFAULT_HNS_CONF), ConfOrigin::Default))
    );
    assert_eq!(conf_path(None, None, false), None);
}

#[test]
fn a_given_server_gets_its_listed_key_and_a_given_key_wins() {
    let (a, b) = (key(1), key(2));
    let conf = file(&format!(
        "nameserver {}@127.0.0.1:5350\nnameserver 127.0.0.2 {}\n",
        a.to_base32(),
        b.to_hex()
    ));
    let server = Server::parse("127.0.0.1:5350", Transport::Tcp).unwrap();
    let picked = select(Some(server.clone()), None, Some(&conf), Transport::Tcp).unwrap();
    assert_eq!(picked.server, server);
    assert_eq!(
        picked.pinned,
        Some(PinnedKey {
            key: a,
            source: KeySource::HnsConf(conf.path.clone())
        })
    );
    // The whitepaper's form, default port.
    let second = Server::parse("127.0.0.2", Transport::Udp).unwrap();
    let picked = select(Some(second), None, Some(&conf), Transport::Udp).unwrap();
    assert_eq!(picked.pinned.map(|p| p.key), Some(b));
    // --key overrides.
    let picked = select(Some(server.clone()), Some(b), Some(&conf), Transport::Tcp).unwrap();
    assert_eq!(
        picked.pinned,
        Some(PinnedKey {
            key: b,
            source: KeySource::Given
        })
    );
    // Another port is another server: nothing pinned.
    let other = Server::parse("127.0.0.1:53", Transport::Udp).unwrap();
    let picked = select(Some(other), None, Some(&conf), Transport::Udp).unwrap();
    assert_eq!(picked.pinned, None);
    // No hns.conf: only what is given.
    let picked = select(Some(server), None, None, Transport::Tcp).unwrap();
    assert_eq!(picked.pinned, None);
}

#[test]
fn without_a_server_the_first_nameserver_is_asked() {
    let a = key(3);
    let conf = file(&format!(
        "search x\nnameserver 127.0.0.9:5350 {}\nnameserver 127.0.0.8\n",
        a.to_base32()
    ));
    let picked = select(None, None, Some(&conf), Transport::Tls).unwrap();
    assert_eq!(picked.server.addr, "127.0.0.9:5350".parse().unwrap());
    assert_eq!(picked.server.transport, Transport::Tls);
    assert_eq!(picked.pinned.map(|p| p.key), Some(a));
    // No key listed, none given: nothing pinned.
    let bare = file("nameserver 127.0.0.8\n");
    let picked = select(None, None, Some(&bare), Transport::Udp).unwrap();
    assert_eq!(picked.server.addr, "127.0.0.8:53".parse().unwrap());
    assert_eq!(picked.pinned, None);
}

#[test]
fn no_server_anywhere_is_an_error() {
    assert!(matches!(
        select(None, None, None, Transport::Udp),
        Err(Error::NoServer)
    ));
    let empty = file("search example\n");
    assert!(matches!(
        select(None, None, Some(&empty), Transport::Udp),
        Err(Error::NoServer)
    ));
}

#[test]
fn keys_parse_in_hex_and_base32() {
    let k = Sig0Key::from_hex(REGTEST_KEY_HEX).unwrap().public_key();
    assert_eq!(parse_key(&k.to_hex()).unwrap(), k);
    assert_eq!(parse_key(&k.to_base32()).unwrap(), k);
    assert_eq!(parse_key(&format!(" {} ", k.to_hex())).unwrap(), k);
    for bad in ["", "zz", &k.to_hex()[..64], &"g".repeat(66)] {
        assert!(matches!(parse_key(bad), Err(Error::BadKey { .. })), "{bad}");
    }
}

#[test]
fn load_conf_reads_the_named_file_and_names_it_in_errors() {
    let dir = std::env::temp_dir().join(format!("hnsfleet-client-conf-{}", std::process::id()));
    std::fs::create_dir_all(&dir).unwrap();
    let good = dir.join("good.conf");
    std::fs::write(&good, "nameserver 127.0.0.1:5350\n").unwrap();
    let loaded = load_conf(Some(&good)).unwrap().unwrap();
    assert_eq!(loaded.origin, ConfOrigin::Flag);
    assert_eq!(loaded.conf.nameservers.len(), 1);
    let bad = dir.join("bad.conf");
    std::fs::write(&bad, "nameserver nowhere\n").unwrap();
    let err = load_conf(Some(&bad)).unwrap_err();
    assert!(err.to_string().contains("bad.conf"), "{err}");
    assert_eq!(err.kind(), crate::ErrorKind::Usage);
    let missing = dir.join("missing.conf");
    assert!(matches!(
        load_conf(Some(&missing)),
        Err(Error::ReadFile { .. })
    ));
    std::fs::remove_dir_all(&dir).unwrap();
}
