//! The admin endpoint over a real socket on port 0.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use hnsfleet_service_kit::admin::{self, BUILD_INFO};
use hnsfleet_service_kit::{Readiness, Shutdown};
use prometheus::Registry;
use tokio::net::TcpListener;

async fn get(addr: std::net::SocketAddr, path: &str) -> (u16, String) {
    let response = reqwest::get(format!("http://{addr}{path}")).await.unwrap();
    let status = response.status().as_u16();
    (status, response.text().await.unwrap())
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
    assert_eq!(info.value, prometheus_parse::Value::Gauge(1.0), "{body}");
    assert_eq!(get(addr, "/nope").await.0, 404);

    shutdown.cancel();
    server.await.unwrap().unwrap();
}
