//! The admin endpoint over a real socket on port 0.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hnsfleet_service_kit::admin;
use hnsfleet_service_kit::metrics::{self, BUILD_INFO};
use hnsfleet_service_kit::{Check, Readiness, Shutdown};
use prometheus::Registry;
use serde_json::{Value, json};

use tokio::net::TcpListener;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
}

async fn readyz(addr: std::net::SocketAddr) -> (u16, Value) {
    let (status, body) = get(addr, "/readyz").await;
    (status, serde_json::from_str(&body).unwrap())
}

#[tokio::test]
async fn metrics_health_and_readiness_with_named_checks() {
    let registry = Registry::new();
    metrics::register_service(&registry, "test-service").unwrap();
    let readiness = Readiness::new();
    let shutdown = Shutdown::new();
    let listener = TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    let server = tokio::spawn(admin::serve(
        listener,
        registry,
        readiness.clone(),
        shutdown.clone(),
    ));

    let (status, body) = get(addr, "/healthz").await;
    assert_eq!(status, 200);
    assert_eq!(body, "ok\n");
    assert_eq!(
        readyz(addr).await,
        (
            503,
            json!({"ready": false, "draining": false, "checks": [
                {"name": "started", "ok": false, "detail": "readiness not evaluated yet"}
            ]})
        )
    );
    readiness.report(vec![
        Check::new("peers", false, "0 of 1 required connected"),
        Check::new("synced_once", true, "a header sync round finished"),
    ]);
    assert_eq!(
        readyz(addr).await,
        (
            503,
            json!({"ready": false, "draining": false, "checks": [
                {"name": "peers", "ok": false, "detail": "0 of 1 required connected"},
                {"name": "synced_once", "ok": true, "detail": "a header sync round finished"}
            ]})
        )
    );
    readiness.report(vec![Check::new("peers", true, "1 of 1 required connected")]);
    let (status, body) = readyz(addr).await;
    assert_eq!((status, &body["ready"]), (200, &json!(true)));
    readiness.start_draining();
    let (status, body) = readyz(addr).await;
    assert_eq!(status, 503);
    assert_eq!(
        (&body["ready"], &body["draining"]),
        (&json!(false), &json!(true))
    );
    assert_eq!(get(addr, "/healthz").await.0, 200, "alive while draining");

    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    let scrape = prometheus_parse::Scrape::parse(body.lines().map(|l| Ok(l.to_string()))).unwrap();
    let info = scrape
        .samples
        .iter()
        .find(|s| s.metric == BUILD_INFO)
        .unwrap_or_else(|| panic!("no {BUILD_INFO} in {body}"));
    assert_eq!(info.labels.get("service"), Some("test-service"), "{body}");
    assert_eq!(
        info.labels.get("version"),
        Some(env!("CARGO_PKG_VERSION")),
        "{body}"
    );
    #[cfg(target_os = "linux")]
    assert!(body.contains("\nprocess_resident_memory_bytes "), "{body}");
    assert_eq!(info.value, prometheus_parse::Value::Gauge(1.0), "{body}");
    assert_eq!(get(addr, "/nope").await.0, 404);

    shutdown.cancel();
    server.await.unwrap().unwrap();
}
