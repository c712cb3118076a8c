//! Runs an hnsfleet service binary as a child process, the way an operator would.
//!
//! Contract every service binary keeps (and tests rely on): once its sockets are bound it prints
//! one JSON line on stdout, `{"event":"listening","grpc":"ADDR","admin":"ADDR",...}` (one key per
//! listener), so tests can pass port 0 and read the real addresses back. Logs go to stderr; here
//! they are written to a file whose tail is available for failure messages.
//!
//! Everything that waits is async (tokio timers, a real HTTP client for the admin port), so the
//! `#[tokio::test]`s that drive a service next to in-process fake peers never block a runtime
//! thread while they poll.

use std::collections::HashMap;
use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{ExitStatus, Stdio};
use std::time::Duration;

use serde_json::{Map, Value};
use tokio::io::{AsyncBufReadExt, BufReader};
use tokio::process::{Child, Command};
use tokio::sync::oneshot;
use tokio::time::Instant;

use crate::TestkitError;

/// How long a service may take to print its listening line.
const LISTEN_DEADLINE: Duration = Duration::from_secs(60);

/// How often the `poll`/`wait_ready` loops look again.
const POLL_INTERVAL: Duration = Duration::from_millis(100);

/// A running service process; killed (SIGKILL) on drop.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    pid: u32,
    addrs: HashMap<String, SocketAddr>,
    log: PathBuf,
    http: reqwest::Client,
}

// === impl ServiceProcess ===

impl ServiceProcess {
    /// Starts `program` with `args`, stderr to `<tmp>/hnsfleet-logs/<log_name>.log`, and waits
    /// for its listening line.
    pub async fn spawn(
        program: &Path,
        args: &[String],
        log_name: &str,
    ) -> Result<Self, TestkitError> {
        let log_dir = std::env::temp_dir().join("hnsfleet-logs");
        let io_err = |what: &str, e: std::io::Error| TestkitError::Output {
            what: what.to_string(),
            detail: e.to_string(),
        };
        std::fs::create_dir_all(&log_dir).map_err(|e| io_err("log dir", e))?;
        let log = log_dir.join(format!("{log_name}.log"));
        let log_file = std::fs::File::create(&log).map_err(|e| io_err("log file", e))?;
        let mut child = Command::new(program)
            .args(args)
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(log_file)
            .kill_on_drop(true)
            .spawn()
            .map_err(|source| TestkitError::Spawn {
                script: program.display().to_string(),
                source,
            })?;
        let pid = child.id().unwrap_or(0);
        let stdout = child.stdout.take().ok_or_else(|| TestkitError::Output {
            what: "service stdout".into(),
            detail: "not piped".into(),
        })?;
        // Reads stdout to its end (so the service never blocks on a full pipe) and hands the
        // first listening line over.
        let (tx, rx) = oneshot::channel();
        tokio::spawn(async move {
            let mut lines = BufReader::new(stdout).lines();
            let mut tx = Some(tx);
            while let Ok(Some(line)) = lines.next_line().await {
                if let Some(map) = listening_line(&line)
                    && let Some(tx) = tx.take()
                {
                    let _ = tx.send(map);
                }
            }
        });
        let http = reqwest::Client::builder()
            .connect_timeout(Duration::from_secs(2))
            .timeout(Duration::from_secs(10))
            .build()
            .map_err(|e| TestkitError::Output {
                what: "http client".into(),
                detail: e.to_string(),
            })?;
        let mut process = ServiceProcess {
            child,
            pid,
            addrs: HashMap::new(),
            log,
            http,
        };
        let map = match tokio::time::timeout(LISTEN_DEADLINE, rx).await {
            Ok(Ok(map)) => map,
            _ => {
                return Err(TestkitError::Output {
                    what: format!("{} listening line", program.display()),
                    detail: format!("none within 60 s; log tail:\n{}", process.log_tail(30)),
                });
            }
        };
        for (key, value) in &map {
            if let Some(addr) = value.as_str().and_then(|v| v.parse().ok()) {
                process.addrs.insert(key.clone(), addr);
            }
        }
        Ok(process)
    }

    /// The address the service printed for `listener` (`"grpc"`, `"admin"`, ...).
    pub fn addr(&self, listener: &str) -> Result<SocketAddr, TestkitError> {
        self.addrs
            .get(listener)
            .copied()
            .ok_or_else(|| TestkitError::Output {
                what: "listening line".into(),
                detail: format!("no {listener:?} address in {:?}", self.addrs),
            })
    }

    /// `http://ADDR` of the gRPC listener.
    pub fn grpc_url(&self) -> Result<String, TestkitError> {
        Ok(format!("http://{}", self.addr("grpc")?))
    }

    /// The process id.
    pub fn pid(&self) -> u32 {
        self.pid
    }

    /// GET `path` on the admin listener: (status, body).
    pub async fn admin_get(&self, path: &str) -> Result<(u16, String), TestkitError> {
        let url = format!("http://{}{path}", self.addr("admin")?);
        let err = |e: reqwest::Error| TestkitError::Output {
            what: format!("GET {url}"),
            detail: e.to_string(),
        };
        let response = self.http.get(&url).send().await.map_err(err)?;
        let status = response.status().as_u16();
        let body = response.text().await.map_err(err)?;
        Ok((status, body))
    }

    /// Polls `/readyz` until it answers 200 or `within` passes (the error shows the last
    /// answer, which names the failing readiness checks, and the log tail).
    pub async fn wait_ready(&self, within: Duration) -> Result<(), TestkitError> {
        let mut last = String::new();
        let ready = self
            .poll(within, "/readyz answers 200", async |p| {
                match p.admin_get("/readyz").await {
                    Ok((200, _)) => Some(()),
                    Ok((_, body)) => {
                        last = body;
                        None
                    }
                    Err(e) => {
                        last = e.to_string();
                        None
                    }
                }
            })
            .await;
        ready.map_err(|e| TestkitError::Output {
            what: "/readyz".into(),
            detail: format!("last answer: {}; {e}", last.trim()),
        })
    }

    /// The value of the samples named `name` in `/metrics` whose labels include every
    /// `(label, value)` in `labels`, summed (all samples of the family when `labels` is empty;
    /// a histogram's `_count` and `_sum` are samples of their own name). `None` when no sample
    /// matches.
    pub async fn metric(
        &self,
        name: &str,
        labels: &[(&str, &str)],
    ) -> Result<Option<f64>, TestkitError> {
        let (_, body) = self.admin_get("/metrics").await?;
        metric_value(&body, name, labels)
    }

    /// Runs `check` every 100 ms until it returns `Some` or `within` passes; the error names
    /// `what` and carries the service's log tail.
    pub async fn poll<T>(
        &self,
        within: Duration,
        what: &str,
        mut check: impl AsyncFnMut(&Self) -> Option<T>,
    ) -> Result<T, TestkitError> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(found) = check(self).await {
                return Ok(found);
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::Output {
                    what: what.to_string(),
                    detail: format!("not within {within:?}; log tail:\n{}", self.log_tail(40)),
                });
            }
            tokio::time::sleep(POLL_INTERVAL).await;
        }
    }

    /// Kills the process with SIGKILL (no clean shutdown) and reaps it.
    pub async fn kill9(&mut self) {
        let _ = self.child.kill().await;
    }

    /// Waits up to `within` for the process to exit (after a signal, say).
    pub async fn poll_exit(&mut self, within: Duration) -> Result<ExitStatus, TestkitError> {
        match tokio::time::timeout(within, self.child.wait()).await {
            Ok(Ok(status)) => Ok(status),
            Ok(Err(e)) => Err(TestkitError::Output {
                what: "process exit".into(),
                detail: e.to_string(),
            }),
            Err(_) => Err(TestkitError::Output {
                what: "process exit".into(),
                detail: format!(
                    "still running after {within:?}; log tail:\n{}",
                    self.log_tail(20)
                ),
            }),
        }
    }

    /// Whether the process has exited, with its status.
    pub fn try_exit_status(&mut self) -> Option<ExitStatus> {
        self.child.try_wait().ok().flatten()
    }

    /// The last `n` lines the service logged.
    pub fn log_tail(&self, n: usize) -> String {
        let text = std::fs::read_to_string(&self.log).unwrap_or_default();
        let lines: Vec<&str> = text.lines().rev().take(n).collect();
        lines.into_iter().rev().collect::<Vec<_>>().join("\n")
    }

    /// The whole log so far.
    pub fn log(&self) -> String {
        std::fs::read_to_string(&self.log).unwrap_or_default()
    }
}

impl Drop for ServiceProcess {
    fn drop(&mut self) {
        // SIGKILL now; tokio reaps the child in the background (`kill_on_drop` as well).
        let _ = self.child.start_kill();
    }
}

/// The command line of a chain-follower under test: regtest, both listeners on `127.0.0.1:0`
/// (read back from the listening line), no built-in checkpoint, JSON logs. Tests add peers and
/// their own flags, then [`FollowerCommand::spawn`].
#[derive(Debug, Clone)]
pub struct FollowerCommand {
    program: PathBuf,
    args: Vec<String>,
}

impl FollowerCommand {
    /// `program [PREFIX...] --network regtest --data-dir DIR ...`; `prefix` is the subcommand
    /// path, if any (`["follower"]` for the `hnsfleet` binary, `[]` for the service binary).
    pub fn regtest(program: &Path, prefix: &[&str], data_dir: &Path) -> Self {
        let mut args: Vec<String> = prefix.iter().map(|s| s.to_string()).collect();
        for (flag, value) in [
            ("--network", "regtest"),
            ("--data-dir", &data_dir.display().to_string()),
            ("--grpc-listen", "127.0.0.1:0"),
            ("--admin-listen", "127.0.0.1:0"),
            ("--checkpoint", "false"),
            ("--log-format", "json"),
        ] {
            args.extend([flag.to_string(), value.to_string()]);
        }
        FollowerCommand {
            program: program.to_path_buf(),
            args,
        }
    }

    /// Adds `--peer ADDR` (`HOST:PORT` or `KEY@HOST:PORT`).
    pub fn peer(self, addr: impl std::fmt::Display) -> Self {
        self.flag("--peer", addr)
    }

    /// Adds `NAME VALUE`.
    pub fn flag(mut self, name: &str, value: impl std::fmt::Display) -> Self {
        self.args.extend([name.to_string(), value.to_string()]);
        self
    }

    /// The arguments as they will be passed.
    pub fn args(&self) -> &[String] {
        &self.args
    }

    /// Starts the follower, its log in `<tmp>/hnsfleet-logs/<log_name>.log`.
    pub async fn spawn(&self, log_name: &str) -> Result<ServiceProcess, TestkitError> {
        ServiceProcess::spawn(&self.program, &self.args, log_name).await
    }
}

/// The JSON object of a `{"event":"listening",...}` line, if `line` is one.
fn listening_line(line: &str) -> Option<Map<String, Value>> {
    match serde_json::from_str::<Value>(line) {
        Ok(Value::Object(map)) if map.get("event").and_then(Value::as_str) == Some("listening") => {
            Some(map)
        }
        _ => None,
    }
}

/// Parses Prometheus text exposition and sums the samples named `name` whose labels include
/// every pair in `labels` (see [`ServiceProcess::metric`]).
pub fn metric_value(
    body: &str,
    name: &str,
    labels: &[(&str, &str)],
) -> Result<Option<f64>, TestkitError> {
    let lines = body.lines().map(|l| Ok(l.to_string()));
    let scrape = prometheus_parse::Scrape::parse(lines).map_err(|e| TestkitError::Output {
        what: "/metrics".into(),
        detail: e.to_string(),
    })?;
    let mut sum = None;
    for sample in &scrape.samples {
        if sample.metric != name || labels.iter().any(|(k, v)| sample.labels.get(k) != Some(*v)) {
            continue;
        }
        let value = match sample.value {
            prometheus_parse::Value::Counter(v)
            | prometheus_parse::Value::Gauge(v)
            | prometheus_parse::Value::Untyped(v) => v,
            // Bucket and quantile series: ask for `NAME_count` or `NAME_sum` instead.
            prometheus_parse::Value::Histogram(_) | prometheus_parse::Value::Summary(_) => {
                continue;
            }
        };
        sum = Some(sum.unwrap_or(0.0) + value);
    }
    Ok(sum)
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn follower_command_puts_the_subcommand_first_and_keeps_flag_order() {
        let cmd = FollowerCommand::regtest(Path::new("hnsfleet"), &["follower"], Path::new("/d"))
            .peer("127.0.0.1:1")
            .flag("--min-peers", 2);
        let args = cmd.args();
        assert_eq!(args[0], "follower");
        assert_eq!(&args[1..3], ["--network", "regtest"]);
        assert_eq!(&args[3..5], ["--data-dir", "/d"]);
        assert_eq!(
            &args[args.len() - 4..],
            ["--peer", "127.0.0.1:1", "--min-peers", "2"]
        );
    }

    #[test]
    fn metric_samples_families_and_histogram_counts() {
        let body = "# HELP hnsfleet_a a\n# TYPE hnsfleet_a gauge\nhnsfleet_a 3\n\
            # TYPE hnsfleet_b counter\nhnsfleet_b{reason=\"x\",peer=\"p\"} 2\nhnsfleet_b{reason=\"y\"} 5\n\
            hnsfleet_bc 7\n# TYPE hnsfleet_h histogram\nhnsfleet_h_bucket{le=\"1\"} 1\n\
            hnsfleet_h_bucket{le=\"+Inf\"} 4\nhnsfleet_h_sum 9.5\nhnsfleet_h_count 4\n";
        let value = |name, labels: &[(&str, &str)]| metric_value(body, name, labels).unwrap();
        assert_eq!(value("hnsfleet_a", &[]), Some(3.0));
        assert_eq!(value("hnsfleet_b", &[("reason", "y")]), Some(5.0));
        assert_eq!(value("hnsfleet_b", &[("reason", "x")]), Some(2.0));
        assert_eq!(value("hnsfleet_b", &[]), Some(7.0));
        assert_eq!(value("hnsfleet_b", &[("reason", "z")]), None);
        assert_eq!(value("hnsfleet_c", &[]), None);
        assert_eq!(value("hnsfleet_h_count", &[]), Some(4.0));
        assert_eq!(value("hnsfleet_h_sum", &[]), Some(9.5));
    }

    #[test]
    fn listening_lines_are_recognized() {
        let map = listening_line(r#"{"event":"listening","grpc":"127.0.0.1:1"}"#).unwrap();
        assert_eq!(map["grpc"], "127.0.0.1:1");
        assert!(listening_line(r#"{"event":"started"}"#).is_none());
        assert!(listening_line("listening").is_none());
    }
}
