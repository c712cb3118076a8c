//! A real Knot DNS authoritative server (`knotd`) for tests, started as a child process with its
//! own configuration, run directory, key store and zone files in a fresh temporary directory.
//!
//! [`Knot::start`] takes the listening address (use a distinct 127.0.0.x per test so parallel
//! tests never collide; port 53 needs root) and a list of [`ZoneSpec`]s. Each zone is served
//! unsigned, signed by knotd itself (ECDSAP256SHA256, NSEC or NSEC3, one CSK or a KSK/ZSK pair), or
//! *bogus*: signed first by a throw-away knotd run, then one signature byte of every RRSIG
//! covering a chosen type is changed and the dump is served with signing off. `start` returns
//! once every zone answers its SOA (with an RRSIG when signed), polling to a deadline; the DS
//! (from `keymgr <zone> ds`) and DNSKEY records of every signed or bogus zone are then at hand
//! through [`Knot::keys`]. Dropping a [`Knot`] kills the server; the directory goes with it.
//!
//! knotd and keymgr come from `scripts/setup.sh` (Debian `knot`); when missing, `start` fails
//! with [`KnotError::Missing`]. Never used by a service.

mod conf;
mod worlds;

pub use worlds::{EXAMPLE_COM_ADDRESS, ds_update_json, icann_stand_in};

use std::net::SocketAddr;
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::atomic::{AtomicU16, Ordering};
use std::time::Duration;

use hickory_proto::op::{Edns, Message, MessageType, OpCode, Query, ResponseCode};
use hickory_proto::rr::{Name, Record, RecordType};
use hickory_proto::serialize::txt::Parser;
use tempfile::TempDir;
use thiserror::Error;
use tokio::net::UdpSocket;
use tokio::time::{Instant, sleep, timeout};

use conf::{ConfZone, corrupt_rrsigs, is_signed_dump, knot_conf};

/// How long `start` waits for knotd to serve every zone.
const START_DEADLINE: Duration = Duration::from_secs(20);
/// How long one readiness probe waits for an answer.
const PROBE_TIMEOUT: Duration = Duration::from_millis(200);
/// Pause between readiness probes.
const PROBE_INTERVAL: Duration = Duration::from_millis(25);

/// Why the harness could not start or query a Knot server.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum KnotError {
    /// knotd or keymgr is not installed.
    #[error("{0} not found: run scripts/setup.sh (Debian package knot)")]
    Missing(&'static str),
    /// Writing the configuration or zone files, or spawning, failed.
    #[error("{what}: {source}")]
    Io {
        /// What was being done.
        what: String,
        /// The I/O error.
        source: std::io::Error,
    },
    /// The request made no sense (bad zone origin, nothing to corrupt, ...).
    #[error("bad knot setup: {0}")]
    Setup(String),
    /// knotd exited while starting.
    #[error("knotd exited ({status}); log tail:\n{log}")]
    Exited {
        /// Exit status.
        status: String,
        /// The tail of knotd's log.
        log: String,
    },
    /// knotd logged an error for a zone (it does not parse, say) instead of serving it.
    #[error("knotd rejected zone {zone}; log tail:\n{log}")]
    ZoneRejected {
        /// The zone.
        zone: String,
        /// The tail of knotd's log.
        log: String,
    },
    /// knotd did not serve a zone before the deadline.
    #[error("knotd did not serve {what} within {deadline:?}; log tail:\n{log}")]
    Timeout {
        /// What was awaited.
        what: String,
        /// The deadline.
        deadline: Duration,
        /// The tail of knotd's log.
        log: String,
    },
    /// keymgr failed or printed something unparsable.
    #[error("keymgr for {zone}: {detail}")]
    Keymgr {
        /// The zone.
        zone: String,
        /// What went wrong.
        detail: String,
    },
    /// A query to the server failed.
    #[error("query {what}: {detail}")]
    Query {
        /// The question.
        what: String,
        /// What went wrong.
        detail: String,
    },
}

/// Which keys knotd makes for a signed zone.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum KeyModel {
    /// One combined signing key (flags 257) signs everything.
    Csk,
    /// A KSK (flags 257) signs the DNSKEY set, a ZSK (flags 256) everything else, like ICANN's
    /// root.
    KskZsk,
}

/// How a zone is served.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Signing {
    /// As written, no DNSSEC records added.
    Unsigned,
    /// Signed by knotd (automatic signing, NSEC).
    Signed(KeyModel),
    /// Signed by knotd with NSEC3 (no opt-out; knotd's default salt and iterations).
    SignedNsec3(KeyModel),
    /// Signed, then every RRSIG covering `corrupt` broken (one signature byte changed), and
    /// served with signing off.
    Bogus {
        /// The key model of the signing run.
        model: KeyModel,
        /// The covered type whose signatures are broken.
        corrupt: RecordType,
    },
}

/// One zone for [`Knot::start`].
#[derive(Debug, Clone)]
pub struct ZoneSpec {
    /// The origin (`"."`, `"com."`).
    pub origin: Name,
    /// Zone-file text (relative names are relative to the origin; give a `$TTL` or TTLs).
    pub text: String,
    /// How it is served.
    pub signing: Signing,
}

/// The keys of a signed (or bogus) zone as the running server publishes them.
#[derive(Debug, Clone)]
pub struct ZoneKeys {
    /// The zone's origin.
    pub origin: Name,
    /// `keymgr <zone> ds` output lines (SHA-256 and SHA-384 digests of the KSK/CSK).
    pub ds_text: Vec<String>,
    /// The same DS records, parsed.
    pub ds: Vec<Record>,
    /// The DNSKEY set as served, one record per line in presentation format.
    pub dnskey_text: Vec<String>,
    /// The same DNSKEY records, parsed.
    pub dnskey: Vec<Record>,
}

/// A running knotd, killed on drop.
#[derive(Debug)]
pub struct Knot {
    child: Child,
    addr: SocketAddr,
    keys: Vec<ZoneKeys>,
    dir: TempDir,
}

static NEXT_ID: AtomicU16 = AtomicU16::new(1);

// === impl ZoneSpec ===

impl ZoneSpec {
    /// A zone served as written.
    pub fn unsigned(origin: &str, text: &str) -> Result<ZoneSpec, KnotError> {
        Self::new(origin, text, Signing::Unsigned)
    }

    /// A zone knotd signs with one CSK.
    pub fn signed(origin: &str, text: &str) -> Result<ZoneSpec, KnotError> {
        Self::new(origin, text, Signing::Signed(KeyModel::Csk))
    }

    /// A zone with any [`Signing`].
    pub fn new(origin: &str, text: &str, signing: Signing) -> Result<ZoneSpec, KnotError> {
        let mut origin = Name::from_ascii(origin)
            .map_err(|e| KnotError::Setup(format!("zone origin {origin:?}: {e}")))?;
        origin.set_fqdn(true);
        Ok(ZoneSpec {
            origin,
            text: text.to_string(),
            signing,
        })
    }

    fn file_name(&self) -> String {
        if self.origin.is_root() {
            "root.zone".into()
        } else {
            format!("{}zone", self.origin.to_ascii().to_ascii_lowercase())
        }
    }
}

// === impl Knot ===

impl Knot {
    /// Starts knotd on `addr` serving `zones` and waits until each one answers.
    pub async fn start(addr: SocketAddr, zones: Vec<ZoneSpec>) -> Result<Knot, KnotError> {
        let dir = tempfile::Builder::new()
            .prefix("hnsfleet-knot-")
            .tempdir()
            .map_err(|source| io("creating the temp dir", source))?;
        for sub in ["run", "db", "zones"] {
            std::fs::create_dir_all(dir.path().join(sub))
                .map_err(|source| io(format!("creating {sub}"), source))?;
        }
        let files: Vec<PathBuf> = zones
            .iter()
            .map(|z| dir.path().join("zones").join(z.file_name()))
            .collect();
        for (zone, file) in zones.iter().zip(&files) {
            std::fs::write(file, &zone.text)
                .map_err(|source| io(format!("writing {}", file.display()), source))?;
        }

        // Bogus zones: a first run signs them and flushes the signed dump, which is then broken.
        let bogus: Vec<usize> = (0..zones.len())
            .filter(|&i| matches!(zones[i].signing, Signing::Bogus { .. }))
            .collect();
        if !bogus.is_empty() {
            let conf_zones: Vec<ConfZone<'_>> = bogus
                .iter()
                .map(|&i| ConfZone {
                    origin: &zones[i].origin,
                    file: &files[i],
                    sign: key_model(zones[i].signing),
                    nsec3: false,
                })
                .collect();
            let conf = write_conf(
                dir.path(),
                "presign.conf",
                &knot_conf(dir.path(), addr, &conf_zones, true),
            )?;
            let mut presign = spawn_knotd(&conf, &dir.path().join("presign.log"))?;
            let flushed = wait_for_dumps(
                &mut presign,
                &bogus
                    .iter()
                    .map(|&i| files[i].as_path())
                    .collect::<Vec<_>>(),
                &dir.path().join("presign.log"),
            )
            .await;
            kill(&mut presign);
            flushed?;
            for &i in &bogus {
                if let Signing::Bogus { corrupt, .. } = zones[i].signing {
                    let dump = std::fs::read_to_string(&files[i])
                        .map_err(|source| io("reading the signed dump", source))?;
                    std::fs::write(&files[i], corrupt_rrsigs(&dump, corrupt)?)
                        .map_err(|source| io("writing the broken dump", source))?;
                }
            }
        }

        let conf_zones: Vec<ConfZone<'_>> = zones
            .iter()
            .zip(&files)
            .map(|(z, file)| ConfZone {
                origin: &z.origin,
                file,
                nsec3: matches!(z.signing, Signing::SignedNsec3(_)),
                sign: match z.signing {
                    Signing::Signed(model) | Signing::SignedNsec3(model) => Some(model),
                    Signing::Unsigned | Signing::Bogus { .. } => None,
                },
            })
            .collect();
        let conf = write_conf(
            dir.path(),
            "knot.conf",
            &knot_conf(dir.path(), addr, &conf_zones, false),
        )?;
        let log = dir.path().join("knot.log");
        let child = spawn_knotd(&conf, &log)?;
        let mut knot = Knot {
            child,
            addr,
            keys: Vec::new(),
            dir,
        };
        for zone in &zones {
            knot.wait_serving(zone, &log).await?;
        }
        for zone in zones.iter().filter(|z| key_model(z.signing).is_some()) {
            let keys = knot.zone_keys(zone, &conf).await?;
            knot.keys.push(keys);
        }
        Ok(knot)
    }

    /// The address knotd listens on (UDP and TCP).
    pub fn addr(&self) -> SocketAddr {
        self.addr
    }

    /// The temporary directory holding the configuration, zone files, keys and `knot.log`.
    pub fn dir(&self) -> &Path {
        self.dir.path()
    }

    /// The DS and DNSKEY records of a signed or bogus zone (`None` for unsigned or unknown).
    pub fn keys(&self, origin: &Name) -> Option<&ZoneKeys> {
        self.keys.iter().find(|k| &k.origin == origin)
    }

    /// One UDP query with EDNS DO set and RD clear; the response as parsed by hickory.
    pub async fn query(&self, name: &Name, rtype: RecordType) -> Result<Message, KnotError> {
        query_udp(self.addr, name, rtype, Duration::from_secs(2)).await
    }

    async fn wait_serving(&mut self, zone: &ZoneSpec, log: &Path) -> Result<(), KnotError> {
        let deadline = Instant::now() + START_DEADLINE;
        let want_sig = !matches!(zone.signing, Signing::Unsigned);
        loop {
            if let Ok(Some(status)) = self.child.try_wait() {
                return Err(KnotError::Exited {
                    status: status.to_string(),
                    log: log_tail(log),
                });
            }
            if let Ok(msg) =
                query_udp(self.addr, &zone.origin, RecordType::SOA, PROBE_TIMEOUT).await
            {
                let soa = msg
                    .answers
                    .iter()
                    .any(|r| r.record_type() == RecordType::SOA);
                let sig = msg
                    .answers
                    .iter()
                    .any(|r| r.record_type() == RecordType::RRSIG);
                if msg.metadata.response_code == ResponseCode::NoError && soa && (sig || !want_sig)
                {
                    return Ok(());
                }
            }
            let text = std::fs::read_to_string(log).unwrap_or_default();
            if text.contains(&format!("error: [{}]", zone.origin)) {
                return Err(KnotError::ZoneRejected {
                    zone: zone.origin.to_string(),
                    log: log_tail(log),
                });
            }
            if Instant::now() >= deadline {
                return Err(KnotError::Timeout {
                    what: format!("zone {}", zone.origin),
                    deadline: START_DEADLINE,
                    log: log_tail(log),
                });
            }
            sleep(PROBE_INTERVAL).await;
        }
    }

    async fn zone_keys(&self, zone: &ZoneSpec, conf: &Path) -> Result<ZoneKeys, KnotError> {
        let origin = zone.origin.to_ascii();
        let out = tokio::process::Command::new("keymgr")
            .arg("-c")
            .arg(conf)
            .arg(&origin)
            .arg("ds")
            .output()
            .await
            .map_err(|e| match e.kind() {
                std::io::ErrorKind::NotFound => KnotError::Missing("keymgr"),
                _ => KnotError::Keymgr {
                    zone: origin.clone(),
                    detail: e.to_string(),
                },
            })?;
        let stdout = String::from_utf8_lossy(&out.stdout);
        if !out.status.success() {
            return Err(KnotError::Keymgr {
                zone: origin,
                detail: format!("{}: {}", out.status, String::from_utf8_lossy(&out.stderr)),
            });
        }
        let ds_text: Vec<String> = stdout
            .lines()
            .map(str::trim)
            .filter(|l| !l.is_empty())
            .map(String::from)
            .collect();
        let ds = parse_records(&ds_text.join("\n"), RecordType::DS).map_err(|detail| {
            KnotError::Keymgr {
                zone: origin.clone(),
                detail,
            }
        })?;
        if ds.is_empty() {
            return Err(KnotError::Keymgr {
                zone: origin,
                detail: "no DS printed".into(),
            });
        }
        let msg = self.query(&zone.origin, RecordType::DNSKEY).await?;
        let dnskey: Vec<Record> = msg
            .answers
            .into_iter()
            .filter(|r| r.record_type() == RecordType::DNSKEY)
            .collect();
        let dnskey_text = dnskey.iter().map(ToString::to_string).collect();
        Ok(ZoneKeys {
            origin: zone.origin.clone(),
            ds_text,
            ds,
            dnskey_text,
            dnskey,
        })
    }
}

impl Drop for Knot {
    fn drop(&mut self) {
        kill(&mut self.child);
    }
}

/// Parses zone-file text (no `$TTL` needed) and keeps the records of type `rtype`.
pub fn parse_records(text: &str, rtype: RecordType) -> Result<Vec<Record>, String> {
    let (_, sets) = Parser::new(format!("$TTL 0\n{text}\n"), None, Some(Name::root()))
        .parse()
        .map_err(|e| e.to_string())?;
    Ok(sets
        .into_values()
        .filter(|set| set.record_type() == rtype)
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
        .collect())
}

/// One UDP query (random source port, DO set, RD clear) to `server`, waiting up to `wait`; the
/// response must carry the query's ID.
pub async fn query_udp(
    server: SocketAddr,
    name: &Name,
    rtype: RecordType,
    wait: Duration,
) -> Result<Message, KnotError> {
    let what = format!("{name} {rtype} @{server}");
    let fail = |detail: String| KnotError::Query {
        what: what.clone(),
        detail,
    };
    let id = NEXT_ID.fetch_add(1, Ordering::Relaxed);
    let mut msg = Message::new(id, MessageType::Query, OpCode::Query);
    msg.add_query(Query::query(name.clone(), rtype));
    let mut edns = Edns::new();
    edns.set_dnssec_ok(true).set_max_payload(4096);
    msg.set_edns(edns);
    let bytes = msg.to_vec().map_err(|e| fail(e.to_string()))?;
    let bind: SocketAddr = if server.is_ipv4() {
        "127.0.0.1:0"
    } else {
        "[::1]:0"
    }
    .parse()
    .map_err(|_| fail("bind address".into()))?;
    let sock = UdpSocket::bind(bind)
        .await
        .map_err(|e| fail(e.to_string()))?;
    sock.send_to(&bytes, server)
        .await
        .map_err(|e| fail(e.to_string()))?;
    let mut buf = vec![0u8; 65535];
    let deadline = Instant::now() + wait;
    loop {
        let left = deadline.saturating_duration_since(Instant::now());
        let (n, from) = timeout(left, sock.recv_from(&mut buf))
            .await
            .map_err(|_| fail("timeout".into()))?
            .map_err(|e| fail(e.to_string()))?;
        if from != server {
            continue;
        }
        let reply = Message::from_vec(&buf[..n]).map_err(|e| fail(e.to_string()))?;
        if reply.metadata.id == id {
            return Ok(reply);
        }
    }
}

/// The key model of a zone knotd signs, directly or for a bogus dump.
fn key_model(signing: Signing) -> Option<KeyModel> {
    match signing {
        Signing::Unsigned => None,
        Signing::Signed(model) | Signing::SignedNsec3(model) | Signing::Bogus { model, .. } => {
            Some(model)
        }
    }
}

fn io(what: impl Into<String>, source: std::io::Error) -> KnotError {
    KnotError::Io {
        what: what.into(),
        source,
    }
}

fn write_conf(dir: &Path, name: &str, text: &str) -> Result<PathBuf, KnotError> {
    let path = dir.join(name);
    std::fs::write(&path, text).map_err(|source| io(format!("writing {name}"), source))?;
    Ok(path)
}

fn spawn_knotd(conf: &Path, log: &Path) -> Result<Child, KnotError> {
    let out = std::fs::File::create(log).map_err(|source| io("creating the log", source))?;
    let err = out
        .try_clone()
        .map_err(|source| io("cloning the log handle", source))?;
    let control = conf.with_extension("sock");
    Command::new("knotd")
        .arg("-c")
        .arg(conf)
        .arg("-s")
        .arg(&control)
        .stdin(Stdio::null())
        .stdout(out)
        .stderr(err)
        .spawn()
        .map_err(|e| match e.kind() {
            std::io::ErrorKind::NotFound => KnotError::Missing("knotd"),
            _ => io("spawning knotd", e),
        })
}

/// Waits until knotd has written a signed dump of every file.
async fn wait_for_dumps(child: &mut Child, files: &[&Path], log: &Path) -> Result<(), KnotError> {
    let deadline = Instant::now() + START_DEADLINE;
    loop {
        if let Ok(Some(status)) = child.try_wait() {
            return Err(KnotError::Exited {
                status: status.to_string(),
                log: log_tail(log),
            });
        }
        let done = files.iter().all(|f| {
            std::fs::read_to_string(f)
                .map(|t| is_signed_dump(&t))
                .unwrap_or(false)
        });
        if done {
            return Ok(());
        }
        if Instant::now() >= deadline {
            return Err(KnotError::Timeout {
                what: "the signed dumps of the bogus zones".into(),
                deadline: START_DEADLINE,
                log: log_tail(log),
            });
        }
        sleep(PROBE_INTERVAL).await;
    }
}

fn kill(child: &mut Child) {
    let _ = child.kill();
    let _ = child.wait();
}

fn log_tail(log: &Path) -> String {
    let text = std::fs::read_to_string(log).unwrap_or_default();
    let lines: Vec<&str> = text.lines().collect();
    lines[lines.len().saturating_sub(20)..].join("\n")
}
