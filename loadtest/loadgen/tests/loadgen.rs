//! The load generator against in-test responders: counts, rate, timeouts, every transport, the
//! JSON result's shape, the PNG plot, and the refusal of targets that are not loopback.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

mod common;

use std::process::Command;
use std::sync::atomic::Ordering;
use std::time::Duration;

use common::{doh, dot, load, tcp, udp};

const BIN: &str = env!("CARGO_BIN_EXE_hnsfleet-loadgen");

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn udp_closed_loop_sends_and_gets_answered_exactly_the_requested_queries() {
    let responder = udp(None).await;
    let report = load(
        responder.addr,
        &[
            "--queries",
            "3000",
            "--concurrency",
            "64",
            "--connections",
            "3",
        ],
    )
    .await;
    let t = &report.totals;
    assert_eq!(
        (t.sent, t.answered, t.timeouts, t.errors),
        (3000, 3000, 0, 0)
    );
    assert_eq!(responder.seen.queries.load(Ordering::SeqCst), 3000);
    assert_eq!(report.rcodes.get("NOERROR"), Some(&3000));
    assert!(report.latency_ms.p50 > 0.0 && report.latency_ms.p50 <= report.latency_ms.p99);
    assert!(report.latency_ms.p99 <= report.latency_ms.max);
    let per_second: u64 = report.series.iter().map(|p| p.answered).sum();
    assert_eq!(per_second, 3000, "the series adds up to the totals");
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn tcp_pipelines_over_several_connections() {
    let responder = tcp(None).await;
    let report = load(
        responder.addr,
        &[
            "-t",
            "tcp",
            "--queries",
            "4000",
            "--concurrency",
            "200",
            "--connections",
            "4",
        ],
    )
    .await;
    let t = &report.totals;
    assert_eq!(
        (t.sent, t.answered, t.timeouts, t.errors),
        (4000, 4000, 0, 0)
    );
    assert_eq!(responder.seen.queries.load(Ordering::SeqCst), 4000);
    // Open loop over TCP too.
    let report = load(
        responder.addr,
        &["-t", "tcp", "--rate", "2000", "--queries", "500"],
    )
    .await;
    assert_eq!((report.totals.sent, report.totals.answered), (500, 500));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn open_loop_sends_on_schedule() {
    let responder = udp(None).await;
    let report = load(responder.addr, &["--rate", "400", "--duration", "2"]).await;
    // Query i is due at i / 400 s, for i / 400 < 2 s: exactly 800.
    assert_eq!(report.totals.sent, 800);
    assert_eq!(report.totals.answered, 800);
    assert_eq!(
        report.config.load,
        hnsfleet_loadgen::config::Mode::Open { rate: 400 }
    );
    // Spread over the two seconds, not sent in a burst: the middle second of arrivals at the
    // responder holds about 400 of them.
    let times = responder.seen.times.lock().clone();
    let first = times[0];
    let in_window = times
        .iter()
        .filter(|t| {
            let at = t.duration_since(first);
            at >= Duration::from_millis(500) && at < Duration::from_millis(1500)
        })
        .count();
    assert!(
        (300..=500).contains(&in_window),
        "{in_window} in the middle second"
    );
    assert!(report.totals.active_s >= 1.9, "{}", report.totals.active_s);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dropped_queries_count_as_timeouts() {
    // Every 5th query is never answered.
    let responder = udp(Some(5)).await;
    let report = load(
        responder.addr,
        &[
            "--queries",
            "500",
            "--concurrency",
            "50",
            "--timeout",
            "200ms",
        ],
    )
    .await;
    let dropped = responder.seen.dropped.load(Ordering::SeqCst);
    assert_eq!(dropped, 100);
    let t = &report.totals;
    assert_eq!(
        (t.sent, t.answered, t.timeouts, t.errors),
        (500, 400, 100, 0)
    );
    let responder = tcp(Some(5)).await;
    let report = load(
        responder.addr,
        &[
            "-t",
            "tcp",
            "--queries",
            "500",
            "--concurrency",
            "50",
            "--timeout",
            "200ms",
        ],
    )
    .await;
    let t = &report.totals;
    assert_eq!((t.sent, t.answered, t.timeouts), (500, 400, 100));
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn dot_and_doh_get_and_post_against_tls_responders() {
    let dir = tempfile::tempdir().unwrap();
    let responder = dot().await;
    let report = load(
        responder.addr,
        &[
            "-t",
            "dot",
            "--insecure",
            "--queries",
            "1000",
            "--concurrency",
            "50",
        ],
    )
    .await;
    let t = &report.totals;
    assert_eq!(
        (t.sent, t.answered, t.timeouts, t.errors),
        (1000, 1000, 0, 0)
    );
    // With the server's certificate as the CA and its name.
    let ca = dir.path().join("ca.pem");
    std::fs::write(&ca, &responder.cert_pem).unwrap();
    let ca = ca.to_str().unwrap();
    let report = load(
        responder.addr,
        &[
            "-t",
            "dot",
            "--ca",
            ca,
            "--tls-name",
            "localhost",
            "--queries",
            "100",
        ],
    )
    .await;
    assert_eq!(report.totals.answered, 100);

    let responder = doh().await;
    for method in ["get", "post"] {
        let report = load(
            responder.addr,
            &[
                "-t",
                "doh",
                "--insecure",
                "--doh-method",
                method,
                "--queries",
                "1000",
                "--concurrency",
                "50",
                "--connections",
                "2",
            ],
        )
        .await;
        let t = &report.totals;
        assert_eq!(
            (t.sent, t.answered, t.timeouts, t.errors),
            (1000, 1000, 0, 0),
            "{method}"
        );
    }
    assert_eq!(responder.seen.queries.load(Ordering::SeqCst), 2000);
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_tls_server_with_an_unknown_certificate_is_not_trusted() {
    let responder = dot().await;
    let other = dot().await;
    let dir = tempfile::tempdir().unwrap();
    let ca = dir.path().join("other.pem");
    std::fs::write(&ca, &other.cert_pem).unwrap();
    let target = responder.addr.to_string();
    let args = <hnsfleet_loadgen::Args as clap::Parser>::try_parse_from([
        "x",
        "--quiet",
        "--target",
        &target,
        "-t",
        "dot",
        "--ca",
        ca.to_str().unwrap(),
        "--tls-name",
        "localhost",
        "--queries",
        "10",
    ])
    .unwrap();
    let config = hnsfleet_loadgen::Config::from_args(&args).unwrap();
    let err = hnsfleet_loadgen::run(config).await.unwrap_err();
    assert!(err.to_string().contains("tls"), "{err}");
}

#[test]
fn the_binary_writes_the_documented_json_and_a_png_that_decodes() {
    let runtime = tokio::runtime::Runtime::new().unwrap();
    let responder = runtime.block_on(udp(Some(50)));
    let dir = tempfile::tempdir().unwrap();
    let json = dir.path().join("result.json");
    let png_path = dir.path().join("plot.png");
    let output = Command::new(BIN)
        .args(["--target", &responder.addr.to_string()])
        .args([
            "--rate",
            "500",
            "--duration",
            "2.2",
            "--timeout",
            "300ms",
            "--seed",
            "9",
        ])
        .args([
            "--mix",
            "hns=50,nx=50",
            "--hns-names",
            "alpha,beta",
            "--qtypes",
            "A=1,DS=1",
        ])
        .args(["--dnssec-ok"])
        .arg("--json")
        .arg(&json)
        .arg("--plot")
        .arg(&png_path)
        .output()
        .unwrap();
    assert!(
        output.status.success(),
        "{}",
        String::from_utf8_lossy(&output.stderr)
    );
    let stderr = String::from_utf8_lossy(&output.stderr);
    assert!(
        stderr.contains("q/s") && stderr.contains("p99"),
        "progress: {stderr}"
    );
    let stdout = String::from_utf8_lossy(&output.stdout);
    assert!(stdout.contains("answered 1078"), "{stdout}");

    let value: serde_json::Value =
        serde_json::from_str(&std::fs::read_to_string(&json).unwrap()).unwrap();
    assert_eq!(value["tool"], "hnsfleet-loadgen");
    let config = &value["config"];
    assert_eq!(config["transport"], "udp");
    assert_eq!(config["load"]["mode"], "open");
    assert_eq!(config["load"]["rate"], 500);
    assert_eq!(config["mix"]["hns"], 50);
    assert_eq!(config["qtypes"]["DS"], 1);
    assert_eq!(config["dnssec_ok"], true);
    assert_eq!(config["seed"], 9);
    assert_eq!(config["timeout_ms"], 300);
    let totals = &value["totals"];
    assert_eq!(totals["sent"], 1100);
    assert_eq!(totals["answered"], 1078);
    assert_eq!(totals["timeouts"], 22);
    for key in ["late", "truncated", "errors", "elapsed_s", "active_s"] {
        assert!(totals[key].is_number(), "totals.{key}");
    }
    assert!(value["qps"].as_f64().unwrap() > 400.0);
    for key in ["min", "mean", "p50", "p90", "p99", "p99.9", "max"] {
        assert!(value["latency_ms"][key].is_number(), "latency_ms.{key}");
    }
    let series = value["series"].as_array().unwrap();
    assert!(series.len() >= 3, "{series:?}");
    for key in [
        "second",
        "duration_s",
        "sent",
        "answered",
        "qps",
        "timeouts",
        "errors",
        "p50_ms",
        "p90_ms",
        "p99_ms",
        "max_ms",
    ] {
        assert!(series[0][key].is_number(), "series[].{key}");
    }
    assert_eq!(series[0]["second"], 1);
    assert_eq!(value["rcodes"]["NOERROR"], 1078);
    let errors = value["errors"].as_object().unwrap();
    let kinds: Vec<&str> = errors.keys().map(String::as_str).collect();
    assert_eq!(
        kinds,
        [
            "connect",
            "http_status",
            "id_exhausted",
            "malformed",
            "receive",
            "send"
        ]
    );
    let distribution = value["distribution"].as_array().unwrap();
    assert_eq!(distribution[0]["percentile"], 0.0);
    assert_eq!(distribution.last().unwrap()["percentile"], 100.0);
    // Round trip through the typed report.
    let typed: hnsfleet_loadgen::Report = serde_json::from_value(value).unwrap();
    assert_eq!(typed.totals.sent, 1100);

    // The PNG decodes, has the documented size, and has the p50 line's colour in it.
    let decoder = png::Decoder::new(std::io::BufReader::new(
        std::fs::File::open(&png_path).unwrap(),
    ));
    let mut reader = decoder.read_info().unwrap();
    let mut pixels = vec![0; reader.output_buffer_size().unwrap()];
    let info = reader.next_frame(&mut pixels).unwrap();
    assert_eq!((info.width, info.height), (1000, 800));
    assert_eq!(info.color_type, png::ColorType::Rgb);
    let blue = pixels.chunks(3).filter(|p| *p == [31, 119, 180]).count();
    let ink = pixels.chunks(3).filter(|p| *p == [40, 40, 40]).count();
    assert!(blue > 200, "p50 line pixels: {blue}");
    assert!(ink > 2000, "axes and text pixels: {ink}");
    drop(runtime);
}

#[test]
fn targets_that_are_not_loopback_are_refused_and_help_says_so() {
    for target in [
        "10.0.0.1:53",
        "192.168.1.1:53",
        "8.8.8.8:53",
        "[2001:db8::1]:53",
    ] {
        let output = Command::new(BIN)
            .args(["--target", target, "--queries", "1"])
            .output()
            .unwrap();
        assert_eq!(output.status.code(), Some(64), "{target}");
        let stderr = String::from_utf8_lossy(&output.stderr);
        assert!(
            stderr.contains("refusing target") && stderr.contains("198.18.0.0/15"),
            "{stderr}"
        );
    }
    let help = Command::new(BIN).arg("--help").output().unwrap();
    let help = String::from_utf8_lossy(&help.stdout);
    assert!(
        help.contains("127.0.0.0/8") && help.contains("198.18.0.0/15"),
        "{help}"
    );
    assert!(help.contains("300 s"), "{help}");
}
