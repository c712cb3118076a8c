//! Where a query goes: the transport, the address, and for TLS transports the name the
//! certificate is checked against (and for DoH the URL's host and path).

use std::fmt;
use std::net::{IpAddr, SocketAddr, ToSocketAddrs};
use std::str::FromStr;

use crate::error::Error;

/// How a query travels.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
#[non_exhaustive]
pub enum Transport {
    /// Do53 over UDP (TC=1 retries over TCP).
    Udp,
    /// Do53 over TCP (RFC 1035 §4.2.2, 2-byte length prefix).
    Tcp,
    /// DNS over TLS (RFC 7858, ALPN `dot`).
    Tls,
    /// DNS over HTTPS (RFC 8484 POST, HTTP/1.1).
    Https,
    /// DNS over QUIC (RFC 9250, ALPN `doq`; cargo feature `doq`).
    Quic,
}

/// A server: transport, socket address, and what TLS and HTTP need.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Server {
    /// The transport.
    pub transport: Transport,
    /// The address connected to.
    pub addr: SocketAddr,
    /// The name the certificate must be valid for (and SNI unless it is an IP address); by
    /// default the URL's host or the address.
    pub tls_name: String,
    /// DoH: the `Host` header (the URL's authority).
    pub http_host: String,
    /// DoH: the request target's path and any query string of the URL (`/dns-query`).
    pub http_path: String,
}

// === impl Transport ===

impl Transport {
    /// The transport's default port: 53, 853 (DoT, DoQ) or 443 (DoH).
    pub fn default_port(self) -> u16 {
        match self {
            Transport::Udp | Transport::Tcp => 53,
            Transport::Tls | Transport::Quic => 853,
            Transport::Https => 443,
        }
    }

    /// Lower-case name as in dig's and kdig's output (`udp`, `tcp`, `tls`, `https`, `quic`).
    pub fn as_str(self) -> &'static str {
        match self {
            Transport::Udp => "udp",
            Transport::Tcp => "tcp",
            Transport::Tls => "tls",
            Transport::Https => "https",
            Transport::Quic => "quic",
        }
    }
}

impl fmt::Display for Transport {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(self.as_str())
    }
}

// === impl Server ===

impl Server {
    /// A server at `addr` over `transport`; TLS names and the DoH host are the IP address,
    /// the DoH path `/dns-query`.
    pub fn new(transport: Transport, addr: SocketAddr) -> Server {
        let host = match addr.ip() {
            IpAddr::V4(ip) => ip.to_string(),
            IpAddr::V6(ip) => format!("[{ip}]"),
        };
        let http_host = if addr.port() == 443 {
            host
        } else {
            format!("{host}:{}", addr.port())
        };
        Server {
            transport,
            addr,
            tls_name: addr.ip().to_string(),
            http_host,
            http_path: "/dns-query".to_string(),
        }
    }

    /// Parses `IP`, `IP:PORT`, `[IPv6]:PORT` (the transport's default port when none is given)
    /// or an `https://HOST[:PORT]/PATH` URL, which means DoH whatever `transport` says. A URL's
    /// host name is resolved with the system resolver (the first address is used); an IP host
    /// needs no resolution.
    pub fn parse(text: &str, transport: Transport) -> Result<Server, Error> {
        let bad = |reason: &str| Error::BadServer {
            text: text.to_string(),
            reason: reason.to_string(),
        };
        if text.contains("://") {
            return Server::parse_url(text);
        }
        let addr = parse_addr(text, transport.default_port())
            .ok_or_else(|| bad("not an ip address, ip:port or https:// url"))?;
        Ok(Server::new(transport, addr))
    }

    /// Parses an `https://` DoH URL.
    fn parse_url(text: &str) -> Result<Server, Error> {
        let bad = |reason: String| Error::BadServer {
            text: text.to_string(),
            reason,
        };
        let url = url::Url::parse(text).map_err(|e| bad(e.to_string()))?;
        if url.scheme() != "https" {
            return Err(bad("only https:// urls (dns over https)".to_string()));
        }
        if !url.username().is_empty() || url.password().is_some() || url.fragment().is_some() {
            return Err(bad("no user, password or fragment in the url".to_string()));
        }
        let port = url.port().unwrap_or(Transport::Https.default_port());
        let (addr, tls_name) = match url.host() {
            Some(url::Host::Ipv4(ip)) => (SocketAddr::new(ip.into(), port), ip.to_string()),
            Some(url::Host::Ipv6(ip)) => (SocketAddr::new(ip.into(), port), ip.to_string()),
            Some(url::Host::Domain(name)) => {
                let addr = (name, port)
                    .to_socket_addrs()
                    .map_err(|e| bad(format!("cannot resolve {name}: {e}")))?
                    .next()
                    .ok_or_else(|| bad(format!("{name} has no address")))?;
                (addr, name.to_string())
            }
            None => return Err(bad("no host".to_string())),
        };
        let authority = match url.port() {
            Some(port) => format!("{}:{port}", url.host_str().unwrap_or_default()),
            None => url.host_str().unwrap_or_default().to_string(),
        };
        let mut path = url.path().to_string();
        if let Some(query) = url.query() {
            path.push('?');
            path.push_str(query);
        }
        Ok(Server {
            transport: Transport::Https,
            addr,
            tls_name,
            http_host: authority,
            http_path: path,
        })
    }

    /// The same server with `name` as the certificate name (and SNI).
    pub fn with_tls_name(mut self, name: impl Into<String>) -> Server {
        self.tls_name = name.into();
        self
    }
}

impl fmt::Display for Server {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        match self.transport {
            Transport::Https => write!(f, "https://{}{}", self.http_host, self.http_path),
            _ => write!(f, "{}#{}", self.addr.ip(), self.addr.port()),
        }
    }
}

/// `IP`, `IP:PORT`, `[IPv6]` or `[IPv6]:PORT`; `default_port` when none is given.
pub fn parse_addr(text: &str, default_port: u16) -> Option<SocketAddr> {
    if let Ok(addr) = SocketAddr::from_str(text) {
        return Some(addr);
    }
    if let Ok(ip) = IpAddr::from_str(text) {
        return Some(SocketAddr::new(ip, default_port));
    }
    let inside = text.strip_prefix('[')?.strip_suffix(']')?;
    let ip = std::net::Ipv6Addr::from_str(inside).ok()?;
    Some(SocketAddr::new(ip.into(), default_port))
}
