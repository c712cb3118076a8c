#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::sync::Arc;

use rustls::client::Resumption as ClientResumption;
use rustls::{ClientConfig, ClientConnection, HandshakeKind, ServerConnection};
use rustls_pki_types::ServerName;

use super::*;

/// A PEM certificate for `localhost` and its PEM key, and the certificate's DER.
pub(crate) fn pair() -> (String, String, CertificateDer<'static>) {
    let certified = rcgen::generate_simple_self_signed(vec!["localhost".to_string()]).unwrap();
    (
        certified.cert.pem(),
        certified.signing_key.serialize_pem(),
        certified.cert.der().clone(),
    )
}

/// A TLS 1.3 client trusting `trusted`, offering `alpn`, with its own session store.
pub(crate) fn client(trusted: &[&CertificateDer<'static>], alpn: &[&[u8]]) -> Arc<ClientConfig> {
    let mut roots = rustls::RootCertStore::empty();
    for cert in trusted {
        roots.add((*cert).clone()).unwrap();
    }
    let mut config = ClientConfig::builder_with_provider(provider())
        .with_protocol_versions(&[&rustls::version::TLS13])
        .unwrap()
        .with_root_certificates(roots)
        .with_no_client_auth();
    config.alpn_protocols = alpn.iter().map(|p| p.to_vec()).collect();
    config.resumption = ClientResumption::in_memory_sessions(16);
    Arc::new(config)
}

/// A handshake in memory, then every byte either side still has (the server's tickets); the
/// client connection, or the first error.
pub(crate) fn handshake(
    server: &Arc<ServerConfig>,
    client: &Arc<ClientConfig>,
) -> Result<ClientConnection, rustls::Error> {
    let name = ServerName::try_from("localhost").unwrap();
    let mut client = ClientConnection::new(Arc::clone(client), name)?;
    let mut server = ServerConnection::new(Arc::clone(server))?;
    for _ in 0..20 {
        let mut moved = false;
        while client.wants_write() {
            let mut buffer = Vec::new();
            client.write_tls(&mut buffer).unwrap();
            moved |= !buffer.is_empty();
            server.read_tls(&mut buffer.as_slice()).unwrap();
            server.process_new_packets()?;
        }
        while server.wants_write() {
            let mut buffer = Vec::new();
            server.write_tls(&mut buffer).unwrap();
            moved |= !buffer.is_empty();
            client.read_tls(&mut buffer.as_slice()).unwrap();
            client.process_new_packets()?;
        }
        if !moved && !client.is_handshaking() {
            return Ok(client);
        }
    }
    panic!("handshake did not settle");
}

/// The leaf the client was shown.
pub(crate) fn shown(client: &ClientConnection) -> CertificateDer<'static> {
    client.peer_certificates().unwrap()[0].clone().into_owned()
}

fn certificate(cert_pem: &str, key_pem: &str) -> Certificate {
    let dir = tempfile::tempdir().unwrap();
    let (cert, key) = (dir.path().join("cert.pem"), dir.path().join("key.pem"));
    std::fs::write(&cert, cert_pem).unwrap();
    std::fs::write(&key, key_pem).unwrap();
    Certificate::from_files(&cert, &key).unwrap()
}

#[test]
fn a_pair_from_files_is_presented_and_bad_pairs_are_refused() {
    let (cert_a, key_a, der_a) = pair();
    let (_, key_b, _) = pair();
    let certificate = certificate(&cert_a, &key_a);
    assert_eq!(certificate.leaf(), der_a);
    assert!(
        certificate
            .leaf_pem()
            .starts_with("-----BEGIN CERTIFICATE-----\n")
    );
    let config = certificate.server_config(&[ALPN_DOT]).unwrap();
    let client = handshake(&config, &client(&[&der_a], &[ALPN_DOT])).unwrap();
    assert_eq!(shown(&client), der_a);

    let refused = |cert: &str, key: &str| certificate.install_pem(cert.as_bytes(), key.as_bytes());
    assert!(matches!(
        refused(&cert_a, &key_b),
        Err(CertError::Mismatch(_))
    ));
    assert!(matches!(refused("", &key_a), Err(CertError::NoCertificate)));
    assert!(matches!(
        refused(&cert_a, "not a key"),
        Err(CertError::KeyPem(_))
    ));
    assert!(matches!(
        refused(
            "-----BEGIN CERTIFICATE-----\n!!\n-----END CERTIFICATE-----\n",
            &key_a
        ),
        Err(CertError::Chain(_))
    ));
    assert_eq!(certificate.leaf(), der_a, "refused pairs change nothing");

    let dir = tempfile::tempdir().unwrap();
    let missing = Certificate::from_files(&dir.path().join("no"), &dir.path().join("no"));
    assert!(matches!(
        missing,
        Err(CertError::Read {
            key: "tls_cert",
            ..
        })
    ));
}

#[test]
fn an_installed_pair_reaches_configurations_built_before_it() {
    let (cert_a, key_a, der_a) = pair();
    let (cert_b, key_b, der_b) = pair();
    let certificate = certificate(&cert_a, &key_a);
    let dot = certificate.server_config(&[ALPN_DOT]).unwrap();
    let doh = certificate.server_config(&[ALPN_H2, ALPN_HTTP1]).unwrap();
    let trusting_both = client(&[&der_a, &der_b], &[ALPN_DOT, ALPN_H2]);
    assert_eq!(shown(&handshake(&dot, &trusting_both).unwrap()), der_a);
    certificate
        .install_pem(cert_b.as_bytes(), key_b.as_bytes())
        .unwrap();
    assert!(certificate.presents(std::slice::from_ref(&der_b)));
    let fresh = client(&[&der_a, &der_b], &[ALPN_DOT, ALPN_H2]);
    assert_eq!(shown(&handshake(&dot, &fresh).unwrap()), der_b);
    assert_eq!(shown(&handshake(&doh, &fresh).unwrap()), der_b);
    // A client that trusts only the old certificate is now refused.
    assert!(handshake(&dot, &client(&[&der_a], &[ALPN_DOT])).is_err());
}

#[test]
fn sessions_resume_with_tickets_or_the_cache_and_survive_a_reload() {
    let (cert_a, key_a, der_a) = pair();
    let (cert_b, key_b, der_b) = pair();
    for resumption in [
        Resumption::default(),
        Resumption {
            tickets: false,
            session_cache: 100,
        },
    ] {
        let certificate = certificate(&cert_a, &key_a)
            .with_resumption(resumption)
            .unwrap();
        let config = certificate.server_config(&[ALPN_DOT]).unwrap();
        let client = client(&[&der_a, &der_b], &[ALPN_DOT]);
        let first = handshake(&config, &client).unwrap();
        assert_eq!(first.handshake_kind(), Some(HandshakeKind::Full));
        let second = handshake(&config, &client).unwrap();
        assert_eq!(
            second.handshake_kind(),
            Some(HandshakeKind::Resumed),
            "{resumption:?}"
        );
        certificate
            .install_pem(cert_b.as_bytes(), key_b.as_bytes())
            .unwrap();
        let after = handshake(&config, &client).unwrap();
        assert_eq!(
            after.handshake_kind(),
            Some(HandshakeKind::Resumed),
            "a reload keeps sessions resumable ({resumption:?})"
        );
    }
}

#[test]
fn without_tickets_or_cache_nothing_resumes() {
    let (cert_a, key_a, der_a) = pair();
    let certificate = certificate(&cert_a, &key_a)
        .with_resumption(Resumption {
            tickets: false,
            session_cache: 0,
        })
        .unwrap();
    let config = certificate.server_config(&[ALPN_DOT]).unwrap();
    let client = client(&[&der_a], &[ALPN_DOT]);
    handshake(&config, &client).unwrap();
    let second = handshake(&config, &client).unwrap();
    assert_eq!(second.handshake_kind(), Some(HandshakeKind::Full));
}

#[test]
fn alpn_none_is_served_and_a_foreign_protocol_is_refused() {
    let (cert_a, key_a, der_a) = pair();
    let certificate = certificate(&cert_a, &key_a);
    let dot = certificate.server_config(&[ALPN_DOT]).unwrap();
    let doh = certificate.server_config(&[ALPN_H2, ALPN_HTTP1]).unwrap();
    let silent = handshake(&dot, &client(&[&der_a], &[])).unwrap();
    assert_eq!(silent.alpn_protocol(), None);
    let dot_client = handshake(&dot, &client(&[&der_a], &[b"h2", ALPN_DOT])).unwrap();
    assert_eq!(dot_client.alpn_protocol(), Some(ALPN_DOT));
    for (config, offered) in [(&dot, ALPN_H2), (&doh, ALPN_DOT)] {
        let refused = handshake(config, &client(&[&der_a], &[offered]));
        assert!(
            matches!(refused, Err(rustls::Error::NoApplicationProtocol)),
            "{refused:?}"
        );
    }
}

#[test]
fn the_expiry_is_the_leafs_not_after() {
    let certificate = Certificate::self_signed().unwrap();
    let not_after = certificate.not_after().unwrap();
    // rcgen's default validity ends in 4096.
    assert_eq!(
        not_after,
        expiry::not_after(certificate.leaf().as_ref()).unwrap()
    );
    assert!(not_after > 4_000_000_000, "{not_after}");
    assert!(certificate.files().is_none());
}
