//! The `hns.conf` client file: a resolv.conf-like list of nameservers with SIG(0) keys.
//!
//! Format (hns-dns.md §5.5): one directive per line, `keyword arg...`. `nameserver` takes
//! `[<base32-key>@]<host>[:<port>]` (libhns' form) or `<host>[:<port>] <key>` (the whitepaper's
//! form, the key in base32 or hex), where the key is the server's 33-byte compressed secp256k1
//! key (base32: lower-case unpadded), the host an IPv4 or IPv6 address (IPv6 with a port as
//! `[addr]:port`, bare otherwise) and the port defaults to 53. Every other directive (`domain`,
//! `search`, `options`, ...) is kept verbatim, in order. Text from `#` or `;` to the end of a line
//! is a comment; blank lines are ignored. Host names are not accepted: a resolver must not need
//! DNS to find its resolvers.
//!
//! [`HnsConf`]'s `Display` prints a canonical file (nameservers first, then the other directives,
//! single spaces, no comments) that parses back to the same value.
//!
//! Pure: parses a `&str` the caller read; no file access. Follows (facts only): libhns
//! `hns_init.c`, `hns_addr.c`; bns `lib/resolvconf.js`; hdns `lib/resolvconf.js`.

use std::fmt;
use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::str::FromStr;

use thiserror::Error;

use crate::sig0::{Sig0Error, Sig0PublicKey};

/// Default DNS port, omitted when printing.
pub const DEFAULT_PORT: u16 = 53;

/// Why a `nameserver` value is invalid.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum NameserverError {
    /// `nameserver` without a value.
    #[error("nameserver needs an address")]
    MissingAddress,
    /// More than one value after `nameserver`.
    #[error("nameserver takes one address, found extra {0:?}")]
    ExtraArgument(String),
    /// The part before `@` is not a valid key.
    #[error("bad key: {0}")]
    Key(#[source] Sig0Error),
    /// The host is not an IP address (or a bracketed IPv6 address).
    #[error("{0:?} is not an ip address")]
    Address(String),
    /// The port is not a decimal number from 1 to 65535.
    #[error("{0:?} is not a port number from 1 to 65535")]
    Port(String),
}

/// Why an `hns.conf` file was rejected: the 1-based line number and the cause.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[error("hns.conf line {line}: {cause}")]
pub struct HnsConfError {
    /// 1-based line number.
    pub line: usize,
    /// What is wrong on that line.
    #[source]
    pub cause: NameserverError,
}

/// One `nameserver` entry.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HnsNameserver {
    /// Key its responses must be SIG(0)-signed with; `None` accepts unsigned answers.
    pub key: Option<Sig0PublicKey>,
    /// Server address.
    pub addr: IpAddr,
    /// Server port (53 unless given).
    pub port: u16,
}

/// A directive other than `nameserver`, kept as written (keyword and whitespace-split arguments).
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct HnsDirective {
    /// The keyword, e.g. `search`.
    pub keyword: String,
    /// The arguments, in order.
    pub args: Vec<String>,
}

/// A parsed `hns.conf`.
#[derive(Debug, Clone, PartialEq, Eq, Default)]
pub struct HnsConf {
    /// `nameserver` entries, in file order.
    pub nameservers: Vec<HnsNameserver>,
    /// Every other directive, in file order.
    pub directives: Vec<HnsDirective>,
}

// === impl HnsConf ===

impl HnsConf {
    /// Parses the text of an `hns.conf` file.
    pub fn parse(text: &str) -> Result<HnsConf, HnsConfError> {
        let mut conf = HnsConf::default();
        for (index, raw) in text.lines().enumerate() {
            let content = match raw.find(['#', ';']) {
                Some(at) => &raw[..at],
                None => raw,
            };
            let mut words = content.split_whitespace();
            let Some(keyword) = words.next() else {
                continue;
            };
            if keyword == "nameserver" {
                let ns = parse_nameserver_args(words).map_err(|cause| HnsConfError {
                    line: index + 1,
                    cause,
                })?;
                conf.nameservers.push(ns);
            } else {
                conf.directives.push(HnsDirective {
                    keyword: keyword.to_string(),
                    args: words.map(str::to_string).collect(),
                });
            }
        }
        Ok(conf)
    }
}

impl FromStr for HnsConf {
    type Err = HnsConfError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HnsConf::parse(s)
    }
}

impl fmt::Display for HnsConf {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        for ns in &self.nameservers {
            writeln!(f, "nameserver {ns}")?;
        }
        for d in &self.directives {
            writeln!(f, "{d}")?;
        }
        Ok(())
    }
}

// === impl HnsNameserver ===

impl HnsNameserver {
    /// Parses one value `[<base32-key>@]<host>[:<port>]`.
    pub fn parse(value: &str) -> Result<HnsNameserver, NameserverError> {
        let (key, host_port) = match value.split_once('@') {
            Some((key, rest)) => (
                Some(Sig0PublicKey::from_base32(key).map_err(NameserverError::Key)?),
                rest,
            ),
            None => (None, value),
        };
        let (addr, port) = parse_host_port(host_port)?;
        Ok(HnsNameserver { key, addr, port })
    }
}

impl FromStr for HnsNameserver {
    type Err = NameserverError;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        HnsNameserver::parse(s)
    }
}

impl fmt::Display for HnsNameserver {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        if let Some(key) = &self.key {
            write!(f, "{key}@")?;
        }
        match (self.addr, self.port) {
            (addr, DEFAULT_PORT) => write!(f, "{addr}"),
            (IpAddr::V4(a), port) => write!(f, "{a}:{port}"),
            (IpAddr::V6(a), port) => write!(f, "[{a}]:{port}"),
        }
    }
}

// === impl HnsDirective ===

impl fmt::Display for HnsDirective {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(&self.keyword)?;
        for arg in &self.args {
            write!(f, " {arg}")?;
        }
        Ok(())
    }
}

// === private helpers ===

/// The words after `nameserver`: `[KEY@]HOST[:PORT]`, or `HOST[:PORT] KEY` (the key in base32
/// or hex; not both forms at once).
fn parse_nameserver_args<'a>(
    mut words: impl Iterator<Item = &'a str>,
) -> Result<HnsNameserver, NameserverError> {
    let value = words.next().ok_or(NameserverError::MissingAddress)?;
    let mut nameserver = HnsNameserver::parse(value)?;
    if let Some(key) = words.next() {
        if nameserver.key.is_some() {
            return Err(NameserverError::ExtraArgument(key.to_string()));
        }
        let parsed = Sig0PublicKey::from_base32(key).or_else(|base32| {
            // 66 hex digits are not base32 (53 characters): try hex only for that length.
            if key.len() == 66 {
                Sig0PublicKey::from_hex(key)
            } else {
                Err(base32)
            }
        });
        nameserver.key = Some(parsed.map_err(NameserverError::Key)?);
    }
    if let Some(extra) = words.next() {
        return Err(NameserverError::ExtraArgument(extra.to_string()));
    }
    Ok(nameserver)
}

/// `1.2.3.4`, `1.2.3.4:53`, `::1`, `[::1]`, `[::1]:53`.
fn parse_host_port(text: &str) -> Result<(IpAddr, u16), NameserverError> {
    let bad_addr = || NameserverError::Address(text.to_string());
    if let Some(rest) = text.strip_prefix('[') {
        let (inside, after) = rest.split_once(']').ok_or_else(bad_addr)?;
        let addr = Ipv6Addr::from_str(inside).map_err(|_| bad_addr())?;
        let port = match after {
            "" => DEFAULT_PORT,
            _ => parse_port(after.strip_prefix(':').ok_or_else(bad_addr)?)?,
        };
        return Ok((IpAddr::V6(addr), port));
    }
    // A bare IPv6 address has colons of its own, so try the whole text first.
    if let Ok(addr) = IpAddr::from_str(text) {
        return Ok((addr, DEFAULT_PORT));
    }
    let (host, port) = text.rsplit_once(':').ok_or_else(bad_addr)?;
    let addr = Ipv4Addr::from_str(host).map_err(|_| bad_addr())?;
    Ok((IpAddr::V4(addr), parse_port(port)?))
}

/// A decimal port 1..=65535 (digits only: `u16::from_str` would also take a `+` sign).
fn parse_port(text: &str) -> Result<u16, NameserverError> {
    let bad = || NameserverError::Port(text.to_string());
    if text.is_empty() || !text.bytes().all(|b| b.is_ascii_digit()) {
        return Err(bad());
    }
    match u16::from_str(text) {
        Ok(0) | Err(_) => Err(bad()),
        Ok(port) => Ok(port),
    }
}

#[cfg(test)]
mod tests;
