//! Configuration: root server addresses from a root hints file, trust anchors from DS text.

use std::net::{IpAddr, SocketAddr};
use std::path::Path;
use std::time::Duration;

use hickory_proto::rr::{Name, RData, Record, RecordType};
use hickory_proto::serialize::txt::Parser;

use crate::IcannError;

/// ICANN's root trust anchors as DS records (IANA `root-anchors.xml`): KSK-2017 (tag 20326)
/// and KSK-2024 (tag 38696, signing the root DNSKEY set since 2026-10-11), SHA-256 digests.
pub const DEFAULT_ANCHORS: &str = hnsfleet_dnssec::ICANN_ROOT_ANCHORS;

/// At most this many root servers are kept from a hints file.
const MAX_SERVERS: usize = 64;

/// Everything [`crate::IcannRoot`] needs.
#[derive(Debug, Clone)]
pub struct IcannConfig {
    /// Root server addresses (port 53 for addresses from a hints file).
    pub servers: Vec<SocketAddr>,
    /// Trust anchors: DS records owned by `.`.
    pub anchors: Vec<Record>,
    /// How long one attempt (UDP, then TCP on truncation) may take.
    pub timeout: Duration,
    /// Attempts per look-up, rotating over the servers.
    pub attempts: u32,
    /// Most TLD results (delegations, NXDOMAINs and failures) kept in the cache.
    pub cache_capacity: u64,
    /// How long a failure is remembered (no upstream query for that TLD meanwhile).
    pub negative_ttl: Duration,
    /// Upper bound on how long a validated result or the root key set is cached, whatever the
    /// TTLs say.
    pub max_ttl: Duration,
}

// === impl IcannConfig ===

impl IcannConfig {
    /// A configuration with the given servers and anchors and default limits: 1.5 s per
    /// attempt, 3 attempts, 4096 cached TLDs, failures remembered 5 s, nothing cached over 6 h
    /// (what hsd keeps the root keys for).
    pub fn new(servers: Vec<SocketAddr>, anchors: Vec<Record>) -> IcannConfig {
        IcannConfig {
            servers,
            anchors,
            timeout: Duration::from_millis(1500),
            attempts: 3,
            cache_capacity: 4096,
            negative_ttl: Duration::from_secs(5),
            max_ttl: Duration::from_secs(6 * 3600),
        }
    }

    /// Reads a root hints file (named.root format, see [`parse_root_hints`]) and, when given, a
    /// trust-anchor file (DS records, see [`parse_anchors`]); without one, [`DEFAULT_ANCHORS`].
    pub fn from_files(hints: &Path, anchors: Option<&Path>) -> Result<IcannConfig, IcannError> {
        let read = |p: &Path| {
            std::fs::read_to_string(p)
                .map_err(|e| IcannError::Config(format!("reading {}: {e}", p.display())))
        };
        let servers = parse_root_hints(&read(hints)?)?;
        let anchors = match anchors {
            Some(path) => parse_anchors(&read(path)?)?,
            None => default_anchors(),
        };
        let config = IcannConfig::new(servers, anchors);
        config.validate()?;
        Ok(config)
    }

    /// Checks the values once (called by [`crate::IcannRoot::new`]).
    pub fn validate(&self) -> Result<(), IcannError> {
        let bad = |what: &str| Err(IcannError::Config(what.to_string()));
        if self.servers.is_empty() {
            return bad("no root servers");
        }
        if self.anchors.is_empty() {
            return bad("no trust anchors");
        }
        if self
            .anchors
            .iter()
            .any(|a| !a.name.is_root() || a.record_type() != RecordType::DS)
        {
            return bad("trust anchors must be DS records owned by `.`");
        }
        if self.attempts == 0 || self.timeout.is_zero() {
            return bad("attempts and timeout must be positive");
        }
        if self.cache_capacity == 0 {
            return bad("cache_capacity must be positive");
        }
        Ok(())
    }
}

/// The IANA root servers (named.root, IPv4 and IPv6), used when no root hints file is
/// configured. Production only: tests and the demo always pass a loopback hints file, so that
/// no query ever leaves the machine.
pub const IANA_ROOT_HINTS: &str = "\
.                        3600000      NS    A.ROOT-SERVERS.NET.
A.ROOT-SERVERS.NET.      3600000      A     198.41.0.4
A.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:ba3e::2:30
.                        3600000      NS    B.ROOT-SERVERS.NET.
B.ROOT-SERVERS.NET.      3600000      A     170.247.170.2
B.ROOT-SERVERS.NET.      3600000      AAAA  2801:1b8:10::b
.                        3600000      NS    C.ROOT-SERVERS.NET.
C.ROOT-SERVERS.NET.      3600000      A     192.33.4.12
C.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:2::c
.                        3600000      NS    D.ROOT-SERVERS.NET.
D.ROOT-SERVERS.NET.      3600000      A     199.7.91.13
D.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:2d::d
.                        3600000      NS    E.ROOT-SERVERS.NET.
E.ROOT-SERVERS.NET.      3600000      A     192.203.230.10
E.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:a8::e
.                        3600000      NS    F.ROOT-SERVERS.NET.
F.ROOT-SERVERS.NET.      3600000      A     192.5.5.241
F.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:2f::f
.                        3600000      NS    G.ROOT-SERVERS.NET.
G.ROOT-SERVERS.NET.      3600000      A     192.112.36.4
G.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:12::d0d
.                        3600000      NS    H.ROOT-SERVERS.NET.
H.ROOT-SERVERS.NET.      3600000      A     198.97.190.53
H.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:1::53
.                        3600000      NS    I.ROOT-SERVERS.NET.
I.ROOT-SERVERS.NET.      3600000      A     192.36.148.17
I.ROOT-SERVERS.NET.      3600000      AAAA  2001:7fe::53
.                        3600000      NS    J.ROOT-SERVERS.NET.
J.ROOT-SERVERS.NET.      3600000      A     192.58.128.30
J.ROOT-SERVERS.NET.      3600000      AAAA  2001:503:c27::2:30
.                        3600000      NS    K.ROOT-SERVERS.NET.
K.ROOT-SERVERS.NET.      3600000      A     193.0.14.129
K.ROOT-SERVERS.NET.      3600000      AAAA  2001:7fd::1
.                        3600000      NS    L.ROOT-SERVERS.NET.
L.ROOT-SERVERS.NET.      3600000      A     199.7.83.42
L.ROOT-SERVERS.NET.      3600000      AAAA  2001:500:9f::42
.                        3600000      NS    M.ROOT-SERVERS.NET.
M.ROOT-SERVERS.NET.      3600000      A     202.12.27.33
M.ROOT-SERVERS.NET.      3600000      AAAA  2001:dc3::35
";

/// The built-in anchors ([`DEFAULT_ANCHORS`]) as records.
pub fn default_anchors() -> Vec<Record> {
    // The constant is tested to parse; an empty list would be refused by `validate`.
    parse_anchors(DEFAULT_ANCHORS).unwrap_or_default()
}

/// Parses trust anchors: DS records in zone-file syntax (`. IN DS 20326 8 2 E06D…`, TTL and
/// class optional), e.g. the DS lines of IANA's `root-anchors.xml` or `keymgr . ds`
/// ([`hnsfleet_dnssec::parse_anchors`]). Other record types are ignored; DS records not owned
/// by `.` are an error.
pub fn parse_anchors(text: &str) -> Result<Vec<Record>, IcannError> {
    hnsfleet_dnssec::parse_anchors(text).map_err(|e| IcannError::Config(e.0))
}

/// Parses a root hints file (named.root: `. NS A.ROOT-SERVERS.NET.` plus the A/AAAA records of
/// the named servers) into addresses on port 53. A line holding only `ip:port` (`[v6]:port`)
/// adds that address as is, for tests and non-standard ports (those come first). Duplicates
/// are dropped.
pub fn parse_root_hints(text: &str) -> Result<Vec<SocketAddr>, IcannError> {
    let mut servers: Vec<SocketAddr> = Vec::new();
    let mut zone = String::new();
    for line in text.lines() {
        match line.trim().parse::<SocketAddr>() {
            Ok(addr) => servers.push(addr),
            Err(_) => {
                zone.push_str(line);
                zone.push('\n');
            }
        }
    }
    let records = parse_zone_text(&zone)?;
    let targets: Vec<&Name> = records
        .iter()
        .filter(|r| r.name.is_root())
        .filter_map(|r| match &r.data {
            RData::NS(ns) => Some(&ns.0),
            _ => None,
        })
        .collect();
    for record in &records {
        let ip: IpAddr = match &record.data {
            RData::A(a) => a.0.into(),
            RData::AAAA(aaaa) => aaaa.0.into(),
            _ => continue,
        };
        if targets.iter().any(|t| **t == record.name) {
            servers.push(SocketAddr::new(ip, 53));
        }
    }
    let mut seen = Vec::with_capacity(servers.len());
    for s in servers {
        if !seen.contains(&s) {
            seen.push(s);
        }
    }
    if seen.is_empty() {
        return Err(IcannError::Config(
            "root hints name no server address".into(),
        ));
    }
    seen.truncate(MAX_SERVERS);
    Ok(seen)
}

/// Zone-file text relative to `.`, TTLs optional.
fn parse_zone_text(text: &str) -> Result<Vec<Record>, IcannError> {
    let (_, sets) = Parser::new(format!("$TTL 0\n{text}\n"), None, Some(Name::root()))
        .parse()
        .map_err(|e| IcannError::Config(format!("zone text: {e}")))?;
    Ok(sets
        .into_values()
        .flat_map(|set| set.records_without_rrsigs().cloned().collect::<Vec<_>>())
        .collect())
}
