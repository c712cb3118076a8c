//! The admin endpoint over a real socket on port 0.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hnsfleet_service_kit::admin;
use hnsfleet_service_kit::metrics::{self, BUILD_INFO};
use hnsfleet_service_kit::{Check, Readiness, Shutdown};
use prometheus::Registry;
use serde_json::{Value, json};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let mut s = TcpStream::connect(addr).await.unwrap();
    s.write_all(format!("GET {path} HTTP/1.1\r\nHost: x\r\nConnection: close\r\n\r\n").as_bytes())
        .await
        .unwrap();
    let mut out = String::new();
    s.read_to_string(&mut out).await.unwrap();
    let status = out[9..12].parse().unwrap();
    let body = out.split("\r\n\r\n").nth(1).unwrap_or_default().to_string();
    (status, body)
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
    assert!(
        body.contains(&format!(
            "{BUILD_INFO}{{service=\"test-service\",version=\""
        )),
        "{body}"
    );
    #[cfg(target_os = "linux")]
    assert!(body.contains("\nprocess_resident_memory_bytes "), "{body}");
    assert_eq!(get(addr, "/nope").await.0, 404);

    shutdown.cancel();
    server.await.unwrap().unwrap();
}
