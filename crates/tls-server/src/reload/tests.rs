#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;

use super::*;
use crate::tests::pair;

fn write(dir: &Path, cert: &str, key: &str) {
    std::fs::write(dir.join("cert.pem"), cert).unwrap();
    std::fs::write(dir.join("key.pem"), key).unwrap();
}

fn metrics() -> ReloadMetrics {
    ReloadMetrics {
        ok: IntCounter::new("ok", "ok").unwrap(),
        error: IntCounter::new("error", "error").unwrap(),
        expiry: IntGauge::new("expiry", "expiry").unwrap(),
    }
}

fn counts(metrics: &ReloadMetrics) -> (u64, u64) {
    (metrics.ok.get(), metrics.error.get())
}

#[tokio::test]
async fn polls_install_new_pairs_count_bad_ones_once_and_signals_always_try() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_a, key_a, der_a) = pair();
    let (cert_b, key_b, der_b) = pair();
    write(dir.path(), &cert_a, &key_a);
    let certificate =
        Certificate::from_files(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap();
    let metrics = metrics();
    let mut reloader = Reloader::new(&certificate, metrics.clone()).unwrap();
    let expiry = metrics.expiry.get();
    assert!(expiry > 0);

    // The files as loaded at start: nothing to do, nothing counted.
    assert_eq!(reloader.check(Trigger::Poll).await, Outcome::Unchanged);
    assert_eq!(reloader.check(Trigger::Poll).await, Outcome::Unchanged);
    assert_eq!(counts(&metrics), (0, 0));

    write(dir.path(), &cert_b, &key_b);
    assert_eq!(reloader.check(Trigger::Poll).await, Outcome::Replaced);
    assert_eq!(certificate.leaf(), der_b);
    assert_eq!(counts(&metrics), (1, 0));

    // Half an update (the new certificate, the old key): refused once, B still served.
    write(dir.path(), &cert_a, &key_b);
    assert!(
        matches!(reloader.check(Trigger::Poll).await, Outcome::Failed(e) if e.contains("do not match"))
    );
    assert_eq!(reloader.check(Trigger::Poll).await, Outcome::Unchanged);
    assert_eq!(counts(&metrics), (1, 1));
    assert_eq!(certificate.leaf(), der_b);
    // SIGHUP tries again and counts again.
    assert!(matches!(
        reloader.check(Trigger::Signal).await,
        Outcome::Failed(_)
    ));
    assert_eq!(counts(&metrics), (1, 2));
    // The rest of the update lands.
    write(dir.path(), &cert_a, &key_a);
    assert_eq!(reloader.check(Trigger::Poll).await, Outcome::Replaced);
    assert_eq!(certificate.leaf(), der_a);
    assert_eq!(counts(&metrics), (2, 2));
    // SIGHUP on unchanged files: a good reload of the same pair.
    assert_eq!(reloader.check(Trigger::Signal).await, Outcome::Unchanged);
    assert_eq!(counts(&metrics), (3, 2));

    // A vanished file: counted once while it stays missing.
    std::fs::remove_file(dir.path().join("key.pem")).unwrap();
    assert!(
        matches!(reloader.check(Trigger::Poll).await, Outcome::Failed(e) if e.contains("tls_key"))
    );
    assert_eq!(reloader.check(Trigger::Poll).await, Outcome::Unchanged);
    assert_eq!(counts(&metrics), (3, 3));
    assert_eq!(certificate.leaf(), der_a);
    assert_eq!(metrics.expiry.get(), expiry);
}

#[tokio::test]
async fn the_poller_picks_up_a_replaced_pair_within_its_interval() {
    let dir = tempfile::tempdir().unwrap();
    let (cert_a, key_a, _) = pair();
    let (cert_b, key_b, der_b) = pair();
    write(dir.path(), &cert_a, &key_a);
    let certificate =
        Certificate::from_files(&dir.path().join("cert.pem"), &dir.path().join("key.pem")).unwrap();
    let metrics = metrics();
    let stop = CancellationToken::new();
    let reloader = Reloader::new(&certificate, metrics.clone()).unwrap();
    let task = tokio::spawn(reloader.run(Duration::from_millis(20), stop.clone()));
    write(dir.path(), &cert_b, &key_b);
    let deadline = tokio::time::Instant::now() + Duration::from_secs(10);
    while certificate.leaf() != der_b {
        assert!(tokio::time::Instant::now() < deadline, "not reloaded");
        tokio::time::sleep(Duration::from_millis(10)).await;
    }
    assert_eq!(counts(&metrics), (1, 0));
    stop.cancel();
    task.await.unwrap();
}

#[test]
fn a_self_signed_certificate_has_nothing_to_reload() {
    let certificate = Certificate::self_signed().unwrap();
    assert!(Reloader::new(&certificate, metrics()).is_none());
}
