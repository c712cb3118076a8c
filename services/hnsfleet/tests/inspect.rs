//! Runs the real `hnsfleet` binary on real vectors and checks its JSON, exit status and errors.
// Test helpers outside #[test] fns may fail loudly: a panic is a test failure.
#![allow(clippy::expect_used, clippy::unwrap_used, clippy::panic)]

use std::io::Write;
use std::process::{Command, Output, Stdio};

use serde_json::Value;

const VECTORS: &str = concat!(env!("CARGO_MANIFEST_DIR"), "/../../crates/hns/testdata");
const EXAMPLE_HEADER: &str = include_str!(concat!(
    env!("CARGO_MANIFEST_DIR"),
    "/../../examples/mainnet-header-136149.hex"
));

fn hnsfleet(args: &[&str], stdin: &str) -> Output {
    let mut child = Command::new(env!("CARGO_BIN_EXE_hnsfleet"))
        .args(args)
        .stdin(Stdio::piped())
        .stdout(Stdio::piped())
        .stderr(Stdio::piped())
        .spawn()
        .expect("spawn hnsfleet");
    child
        .stdin
        .take()
        .expect("stdin")
        .write_all(stdin.as_bytes())
        .expect("write stdin");
    child.wait_with_output().expect("wait for hnsfleet")
}

fn json_ok(out: &Output) -> Value {
    assert!(
        out.status.success(),
        "exit {:?}, stderr: {}",
        out.status,
        String::from_utf8_lossy(&out.stderr)
    );
    serde_json::from_slice(&out.stdout).expect("stdout is JSON")
}

/// Exit status 1 and exactly one stderr line that mentions `cause`.
fn fails_with(out: &Output, cause: &str) {
    assert_eq!(
        out.status.code(),
        Some(1),
        "stdout: {}",
        String::from_utf8_lossy(&out.stdout)
    );
    let err = String::from_utf8_lossy(&out.stderr);
    assert_eq!(
        err.trim_end().lines().count(),
        1,
        "one-line error expected, got {err:?}"
    );
    assert!(err.contains(cause), "error {err:?} should name {cause:?}");
    assert!(out.stdout.is_empty(), "nothing on stdout on error");
}

fn regtest_vectors() -> Value {
    let text = std::fs::read_to_string(format!("{VECTORS}/regtest/regtest-names-proofs.json"))
        .expect("read vectors");
    serde_json::from_str(&text).expect("vector JSON")
}

#[test]
fn header_from_argument_and_stdin_agree_on_a_real_mainnet_header() {
    let from_arg = json_ok(&hnsfleet(&["inspect", "header", EXAMPLE_HEADER.trim()], ""));
    let from_stdin = json_ok(&hnsfleet(&["inspect", "header", "-"], EXAMPLE_HEADER));
    assert_eq!(from_arg, from_stdin);
    assert_eq!(
        from_arg["hash"],
        "0000000000000000909f1e5016c697a6e447353c96e5049b34e3989f6fdc8e47"
    );
    assert_eq!(
        from_arg["treeRoot"],
        "b0020236e0360cea56388329accebe2561972c272452a35eb510707208573a65"
    );
    assert_eq!(from_arg["bits"], 0x19049cb4);
    assert_eq!(from_arg["time"], 1662272868);
    assert_eq!(from_arg["powValid"], true);
    assert_eq!(
        from_arg["target"],
        "00000000000000049cb400000000000000000000000000000000000000000000"
    );
    assert!(from_arg["prev"].as_str().is_some_and(|p| p.len() == 64));
}

#[test]
fn header_with_a_flipped_nonce_fails_pow_but_still_decodes() {
    let mut bytes = hex::decode(EXAMPLE_HEADER.trim()).expect("hex");
    bytes[0] ^= 1;
    let out = json_ok(&hnsfleet(&["inspect", "header", &hex::encode(bytes)], ""));
    assert_eq!(out["powValid"], false);
    assert_ne!(
        out["hash"],
        "0000000000000000909f1e5016c697a6e447353c96e5049b34e3989f6fdc8e47"
    );
}

#[test]
fn header_bad_input_exits_1_with_the_cause() {
    fails_with(&hnsfleet(&["inspect", "header", "zz"], ""), "hex");
    fails_with(&hnsfleet(&["inspect", "header", "00ff"], ""), "header");
    let long = format!("{}00", EXAMPLE_HEADER.trim());
    fails_with(&hnsfleet(&["inspect", "header", &long], ""), "header");
}

#[test]
fn proof_of_an_existing_name_returns_its_state_and_resource() {
    let v = regtest_vectors();
    let root = v["proofRoot"].as_str().expect("root");
    for name in v["names"].as_array().expect("names") {
        let n = name["name"].as_str().expect("name");
        let proof = name["proof"].as_str().expect("proof");
        let out = json_ok(&hnsfleet(
            &["inspect", "proof", "--root", root, "--name", n, proof],
            "",
        ));
        assert_eq!(out["exists"], true);
        assert_eq!(out["name"], n);
        assert_eq!(out["nameHash"], name["nameHash"]);
        assert_eq!(out["resource"], name["resource"]);
        assert_eq!(out["nameState"]["name"], n);
        assert_eq!(out["nameState"]["height"], name["nameState"]["height"]);
        assert_eq!(out["nameState"]["owner"], name["nameState"]["owner"]);
    }
}

#[test]
fn absence_proofs_report_their_kind() {
    let v = regtest_vectors();
    for absent in v["absent"].as_array().expect("absent") {
        let root = absent["root"]
            .as_str()
            .or(v["proofRoot"].as_str())
            .expect("root");
        let out = json_ok(&hnsfleet(
            &[
                "inspect",
                "proof",
                "--root",
                root,
                "--name",
                absent["name"].as_str().expect("name"),
                "-",
            ],
            absent["proof"].as_str().expect("proof"),
        ));
        assert_eq!(out["exists"], false);
        let kind = absent["type"]
            .as_str()
            .expect("type")
            .trim_start_matches("TYPE_");
        assert_eq!(out["absence"], kind.to_ascii_lowercase());
    }
}

#[test]
fn a_proof_that_does_not_verify_exits_1() {
    let v = regtest_vectors();
    let name = &v["names"][0];
    let n = name["name"].as_str().expect("name");
    let proof = name["proof"].as_str().expect("proof");
    let zero_root = "00".repeat(32);
    fails_with(
        &hnsfleet(
            &["inspect", "proof", "--root", &zero_root, "--name", n, proof],
            "",
        ),
        "hash mismatch",
    );
    // The proof is for `hnsvector`; asking about another name must not verify.
    let root = v["proofRoot"].as_str().expect("root");
    fails_with(
        &hnsfleet(
            &[
                "inspect",
                "proof",
                "--root",
                root,
                "--name",
                "othername",
                proof,
            ],
            "",
        ),
        "proof",
    );
    fails_with(
        &hnsfleet(
            &["inspect", "proof", "--root", root, "--name", "-bad-", proof],
            "",
        ),
        "name",
    );
    fails_with(
        &hnsfleet(
            &["inspect", "proof", "--root", "abcd", "--name", n, proof],
            "",
        ),
        "root",
    );
}

#[test]
fn resource_prints_hsd_getnameresource_json_and_nothing_else() {
    let v = regtest_vectors();
    for name in v["names"].as_array().expect("names") {
        let raw = name["resourceRaw"].as_str().expect("raw");
        let out = hnsfleet(&["inspect", "resource", raw], "");
        let json = json_ok(&out);
        assert_eq!(json, name["resource"]);
        let text = String::from_utf8(out.stdout).expect("utf8");
        assert_eq!(
            text.trim_end().lines().count(),
            1,
            "one JSON document: {text}"
        );
        assert!(text.starts_with("{\"records\":["), "{text}");
    }
}

#[test]
fn resource_dns_prints_the_root_records_as_zone_text() {
    let v = regtest_vectors();
    let name = &v["names"][0];
    assert_eq!(name["name"], "hnsvector");
    let out = hnsfleet(
        &[
            "inspect",
            "resource",
            "--dns",
            "hnsvector",
            name["resourceRaw"].as_str().expect("raw"),
        ],
        "",
    );
    assert!(
        out.status.success(),
        "{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let text = String::from_utf8(out.stdout).expect("utf8");
    let lines: Vec<Vec<&str>> = text
        .lines()
        .map(|l| l.split_whitespace().collect())
        .collect();
    let has = |want: &[&str]| {
        lines
            .iter()
            .any(|l| l.len() >= want.len() && &l[..want.len()] == want)
    };
    assert!(
        has(&["hnsvector.", "21600", "IN", "NS", "ns1.hnsvector."]),
        "{text}"
    );
    assert!(
        has(&["ns1.hnsvector.", "21600", "IN", "A", "10.20.30.40"]),
        "{text}"
    );
    assert!(
        has(&["hnsvector.", "21600", "IN", "DS", "57355", "8", "2"]),
        "{text}"
    );
    assert!(has(&["hnsvector.", "21600", "IN", "TXT"]), "{text}");
}

#[test]
fn resource_bad_input_exits_1_with_the_cause() {
    fails_with(&hnsfleet(&["inspect", "resource", "01"], ""), "version");
    fails_with(
        &hnsfleet(&["inspect", "resource", "0001036e73"], ""),
        "resource",
    );
    fails_with(&hnsfleet(&["inspect", "resource", "xyz"], ""), "hex");
}
