//! Runs an hnsfleet service binary as a child process, the way an operator would.
//!
//! Contract every service binary keeps (and tests rely on): once its sockets are bound it prints
//! one JSON line on stdout, `{"event":"listening","grpc":"ADDR","admin":"ADDR",...}` (one key per
//! listener), so tests can pass port 0 and read the real addresses back. Logs go to stderr; here
//! they are written to a file whose tail is available for failure messages.

use std::collections::HashMap;
use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::mpsc;
use std::time::{Duration, Instant};

use serde_json::Value;

use crate::TestkitError;

/// How long a service may take to print its listening line.
const LISTEN_DEADLINE: Duration = Duration::from_secs(60);

/// A running service process; killed (SIGKILL) and reaped on drop.
#[derive(Debug)]
pub struct ServiceProcess {
    child: Child,
    addrs: HashMap<String, SocketAddr>,
    log: PathBuf,
    stdout_lines: mpsc::Receiver<String>,
}

impl ServiceProcess {
    /// Starts `program` with `args`, stderr to `<tmp>/hnsfleet-logs/<log_name>.log`, and waits
    /// for its listening line.
    pub fn spawn(program: &Path, args: &[String], log_name: &str) -> Result<Self, TestkitError> {
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
            .spawn()
            .map_err(|source| TestkitError::Spawn {
                script: program.display().to_string(),
                source,
            })?;
        let stdout = child.stdout.take().ok_or_else(|| TestkitError::Output {
            what: "service stdout".into(),
            detail: "not piped".into(),
        })?;
        let (tx, rx) = mpsc::channel();
        std::thread::spawn(move || {
            for line in BufReader::new(stdout).lines() {
                let Ok(line) = line else { break };
                if tx.send(line).is_err() {
                    break;
                }
            }
        });
        let mut process = ServiceProcess {
            child,
            addrs: HashMap::new(),
            log,
            stdout_lines: rx,
        };
        let deadline = Instant::now() + LISTEN_DEADLINE;
        loop {
            let remaining = deadline.saturating_duration_since(Instant::now());
            let line =
                process
                    .stdout_lines
                    .recv_timeout(remaining)
                    .map_err(|_| TestkitError::Output {
                        what: format!("{} listening line", program.display()),
                        detail: format!("none within 60 s; log tail:\n{}", process.log_tail(30)),
                    })?;
            let Ok(Value::Object(map)) = serde_json::from_str::<Value>(&line) else {
                continue;
            };
            if map.get("event").and_then(Value::as_str) != Some("listening") {
                continue;
            }
            for (key, value) in &map {
                if let Some(addr) = value.as_str().and_then(|v| v.parse().ok()) {
                    process.addrs.insert(key.clone(), addr);
                }
            }
            return Ok(process);
        }
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
        self.child.id()
    }

    /// GET `path` on the admin listener: (status, body).
    pub fn admin_get(&self, path: &str) -> Result<(u16, String), TestkitError> {
        http_get(self.addr("admin")?, path)
    }

    /// Polls `/readyz` until it answers 200 or `within` passes (the error shows the last
    /// answer, which names the failing readiness checks).
    pub fn wait_ready(&self, within: Duration) -> Result<(), TestkitError> {
        let deadline = Instant::now() + within;
        loop {
            let last = match self.admin_get("/readyz") {
                Ok((200, _)) => return Ok(()),
                Ok((_, body)) => body,
                Err(e) => e.to_string(),
            };
            if Instant::now() >= deadline {
                return Err(TestkitError::Output {
                    what: "/readyz".into(),
                    detail: format!(
                        "not ready within {within:?}: {}; log tail:\n{}",
                        last.trim(),
                        self.log_tail(30)
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// The value of one sample in `/metrics`, e.g. `hnsfleet_follower_tip_height` or
    /// `hnsfleet_follower_peers_banned_total{reason="bad_proof"}` (label set written exactly
    /// as Prometheus prints it). Sums all samples of the family when `sample` has no labels
    /// but the family does.
    pub fn metric(&self, sample: &str) -> Result<Option<f64>, TestkitError> {
        let (_, body) = self.admin_get("/metrics")?;
        Ok(metric_value(&body, sample))
    }

    /// Polls `check` every 100 ms until it returns `Some` or `within` passes.
    pub fn poll<T>(
        &self,
        within: Duration,
        what: &str,
        mut check: impl FnMut(&Self) -> Option<T>,
    ) -> Result<T, TestkitError> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(found) = check(self) {
                return Ok(found);
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::Output {
                    what: what.to_string(),
                    detail: format!("not within {within:?}; log tail:\n{}", self.log_tail(40)),
                });
            }
            std::thread::sleep(Duration::from_millis(100));
        }
    }

    /// Kills the process with SIGKILL (no clean shutdown) and reaps it.
    pub fn kill9(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }

    /// Waits up to `within` for the process to exit (after a signal, say).
    pub fn poll_exit(
        &mut self,
        within: Duration,
    ) -> Result<std::process::ExitStatus, TestkitError> {
        let deadline = Instant::now() + within;
        loop {
            if let Some(status) = self.try_exit_status() {
                return Ok(status);
            }
            if Instant::now() >= deadline {
                return Err(TestkitError::Output {
                    what: "process exit".into(),
                    detail: format!(
                        "still running after {within:?}; log tail:\n{}",
                        self.log_tail(20)
                    ),
                });
            }
            std::thread::sleep(Duration::from_millis(50));
        }
    }

    /// Whether the process has exited, with its status.
    pub fn try_exit_status(&mut self) -> Option<std::process::ExitStatus> {
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
        self.kill9();
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
    pub fn spawn(&self, log_name: &str) -> Result<ServiceProcess, TestkitError> {
        ServiceProcess::spawn(&self.program, &self.args, log_name)
    }
}

/// Extracts one sample's value from Prometheus text exposition (see [`ServiceProcess::metric`]).
pub fn metric_value(body: &str, sample: &str) -> Option<f64> {
    let mut sum = None;
    for line in body.lines().filter(|l| !l.starts_with('#')) {
        let Some((key, value)) = line.rsplit_once(' ') else {
            continue;
        };
        let family_match = !sample.contains('{')
            && key.starts_with(sample)
            && key[sample.len()..].starts_with('{');
        if key == sample || family_match {
            let v: f64 = value.parse().ok()?;
            sum = Some(sum.unwrap_or(0.0) + v);
        }
    }
    sum
}

/// A minimal HTTP/1.0 GET (the admin port speaks HTTP/1.1 and closes after a 1.0 request).
pub fn http_get(addr: SocketAddr, path: &str) -> Result<(u16, String), TestkitError> {
    let err = |e: std::io::Error| TestkitError::Output {
        what: format!("GET {path}"),
        detail: e.to_string(),
    };
    let mut stream = TcpStream::connect_timeout(&addr, Duration::from_secs(2)).map_err(err)?;
    stream
        .set_read_timeout(Some(Duration::from_secs(10)))
        .map_err(err)?;
    write!(stream, "GET {path} HTTP/1.0\r\nHost: {addr}\r\n\r\n").map_err(err)?;
    let mut response = String::new();
    stream.read_to_string(&mut response).map_err(err)?;
    let status = response
        .split_whitespace()
        .nth(1)
        .and_then(|s| s.parse().ok())
        .ok_or_else(|| TestkitError::Output {
            what: format!("GET {path}"),
            detail: format!("no status line in {response:?}"),
        })?;
    let body = response
        .split_once("\r\n\r\n")
        .map(|(_, b)| b.to_string())
        .unwrap_or_default();
    Ok((status, body))
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
    fn metric_samples_and_families() {
        let body = "# HELP x y\nhnsfleet_a 3\nhnsfleet_b{reason=\"x\"} 2\nhnsfleet_b{reason=\"y\"} 5\nhnsfleet_bc 7\n";
        assert_eq!(metric_value(body, "hnsfleet_a"), Some(3.0));
        assert_eq!(metric_value(body, "hnsfleet_b{reason=\"y\"}"), Some(5.0));
        assert_eq!(metric_value(body, "hnsfleet_b"), Some(7.0));
        assert_eq!(metric_value(body, "hnsfleet_c"), None);
    }
}
