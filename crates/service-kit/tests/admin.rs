//! The admin endpoint over a real socket on port 0.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hnsfleet_service_kit::admin::{self, BUILD_INFO};
use hnsfleet_service_kit::{Readiness, Shutdown};
use prometheus::Registry;
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

#[tokio::test]
async fn metrics_health_and_readiness() {
    let registry = Registry::new();
    admin::register_build_info(&registry, "test-service").unwrap();
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
    assert_eq!(get(addr, "/readyz").await, (503, "not ready\n".into()));
    readiness.set_ready(true);
    assert_eq!(get(addr, "/readyz").await, (200, "ready\n".into()));
    readiness.start_draining();
    assert_eq!(get(addr, "/readyz").await, (503, "draining\n".into()));

    let (status, body) = get(addr, "/metrics").await;
    assert_eq!(status, 200);
    assert!(
        body.contains(&format!(
            "{BUILD_INFO}{{service=\"test-service\",version=\""
        )),
        "{body}"
    );
    assert_eq!(get(addr, "/nope").await.0, 404);

    shutdown.cancel();
    server.await.unwrap().unwrap();
}
