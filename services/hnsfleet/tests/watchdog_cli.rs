//! `hnsfleet watchdog unfreeze --token-file`: the token reaches the watchdog. A watchdog
//! process requiring a token (its follower unreachable; it is not frozen): without the token,
//! or with a wrong one, the call is refused as unauthenticated; with the right one it is
//! accepted and prints the verdict (OK: nothing to lift).
#![allow(clippy::unwrap_used, clippy::expect_used, clippy::panic)]

use std::path::Path;
use std::process::Stdio;
use std::time::Duration;

use tokio::io::{AsyncBufReadExt, BufReader};

const BIN: &str = env!("CARGO_BIN_EXE_hnsfleet");

/// Runs `hnsfleet watchdog unfreeze` against `url`: (success, stdout, stderr).
async fn unfreeze(url: &str, token_file: Option<&Path>) -> (bool, String, String) {
    let mut command = tokio::process::Command::new(BIN);
    command
        .args([
            "watchdog",
            "unfreeze",
            "--watchdog",
            url,
            "--reason",
            "cli test",
        ])
        .env_remove("HNSFLEET_UNFREEZE_TOKEN_FILE");
    if let Some(file) = token_file {
        command.arg("--token-file").arg(file);
    }
    let out = tokio::time::timeout(Duration::from_secs(20), command.output())
        .await
        .expect("hnsfleet watchdog unfreeze hung")
        .unwrap();
    (
        out.status.success(),
        String::from_utf8_lossy(&out.stdout).into_owned(),
        String::from_utf8_lossy(&out.stderr).into_owned(),
    )
}

#[tokio::test]
async fn the_cli_sends_the_operator_token_from_its_file() {
    let dir = tempfile::tempdir().unwrap();
    let token = dir.path().join("token");
    std::fs::write(&token, "cli-operator-token-000001\n").unwrap();
    let wrong = dir.path().join("wrong");
    std::fs::write(&wrong, "cli-operator-token-000002\n").unwrap();
    let mut watchdog = tokio::process::Command::new(BIN)
        .args([
            "watchdog",
            "--network",
            "regtest",
            "--follower",
            "http://127.0.0.1:9",
        ])
        .args([
            "--grpc-listen",
            "127.0.0.1:0",
            "--admin-listen",
            "127.0.0.1:0",
        ])
        .arg("--unfreeze-token-file")
        .arg(&token)
        .stdout(Stdio::piped())
        .stderr(Stdio::null())
        .kill_on_drop(true)
        .spawn()
        .unwrap();
    let mut lines = BufReader::new(watchdog.stdout.take().unwrap()).lines();
    let listening = tokio::time::timeout(Duration::from_secs(20), async {
        loop {
            let line = lines.next_line().await.unwrap().expect("watchdog exited");
            let value: serde_json::Value = match serde_json::from_str(&line) {
                Ok(value) => value,
                Err(_) => continue,
            };
            if value["event"] == "listening" {
                return value;
            }
        }
    })
    .await
    .expect("no listening line");
    let url = format!("http://{}", listening["grpc"].as_str().unwrap());

    let (ok, _, stderr) = unfreeze(&url, None).await;
    assert!(!ok && stderr.contains("operator token"), "{stderr}");
    let (ok, _, stderr) = unfreeze(&url, Some(&wrong)).await;
    assert!(!ok && stderr.contains("wrong unfreeze token"), "{stderr}");
    let (ok, stdout, stderr) = unfreeze(&url, Some(&token)).await;
    assert!(ok, "{stderr}");
    let verdict: serde_json::Value = serde_json::from_str(&stdout).unwrap();
    assert_eq!(verdict["state"], "OK", "{stdout}");
    let (ok, _, stderr) = unfreeze(&url, Some(&dir.path().join("missing"))).await;
    assert!(!ok && stderr.contains("--token-file"), "{stderr}");
}
