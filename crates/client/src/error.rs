//! The one error type of the client, and the three kinds a caller acts on.

use std::path::PathBuf;
use std::time::Duration;

use hnsfleet_hns::hnsconf::HnsConfError;
use hnsfleet_hns::sig0::{Sig0Error, Sig0PublicKey};
use thiserror::Error;

use crate::http::HttpError;
use crate::server::Transport;

/// What went wrong with a query, its configuration or its response.
#[derive(Debug, Error)]
#[non_exhaustive]
pub enum Error {
    /// No `--server` and no `nameserver` in an hns.conf.
    #[error(
        "no server: give one (--server) or list one in hns.conf (--hns-conf, HNS_CONF, /etc/hns.conf)"
    )]
    NoServer,
    /// A file (hns.conf, CA certificates) could not be read.
    #[error("cannot read {}: {source}", path.display())]
    ReadFile {
        /// The file.
        path: PathBuf,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// An hns.conf file does not parse.
    #[error("{}: {source}", path.display())]
    HnsConf {
        /// The file.
        path: PathBuf,
        /// The line and cause.
        #[source]
        source: HnsConfError,
    },
    /// A server address or URL is not usable.
    #[error("bad server {text:?}: {reason}")]
    BadServer {
        /// What was given.
        text: String,
        /// Why it was refused.
        reason: String,
    },
    /// A public key text is neither 66 hex digits nor the 53-character base32 form.
    #[error("bad public key {text:?}: {source}")]
    BadKey {
        /// What was given.
        text: String,
        /// The cause.
        #[source]
        source: Sig0Error,
    },
    /// A CA certificate file holds no usable certificate.
    #[error("ca file {}: {reason}", path.display())]
    CaFile {
        /// The file.
        path: PathBuf,
        /// Why it was refused.
        reason: String,
    },
    /// TLS needs trust anchors and none were found (system store empty, no CA file given).
    #[error(
        "no ca certificates to check the server's certificate (system store empty, no ca file)"
    )]
    NoRoots,
    /// The name the server's certificate is checked against is not a DNS name or IP address.
    #[error("bad tls server name {0:?}")]
    TlsName(String),
    /// The transport was not built into this client (DoQ without the `doq` feature).
    #[error("{0} is not built into this client (cargo feature `doq`)")]
    Unsupported(Transport),
    /// The query could not be encoded (a name or option too long).
    #[error("cannot encode the query: {0}")]
    Encode(String),
    /// A socket operation failed.
    #[error("{transport}: {source}")]
    Io {
        /// The transport in use.
        transport: Transport,
        /// The cause.
        #[source]
        source: std::io::Error,
    },
    /// The TLS session failed (handshake, certificate, alert).
    #[error("{transport}: tls: {source}")]
    Tls {
        /// The transport in use.
        transport: Transport,
        /// The cause.
        #[source]
        source: rustls::Error,
    },
    /// No (acceptable) response before the deadline.
    #[error("{transport}: no answer within {after:?}")]
    Timeout {
        /// The transport in use.
        transport: Transport,
        /// The deadline that passed.
        after: Duration,
    },
    /// The DoH exchange failed at the HTTP level.
    #[error("https: {0}")]
    Http(#[from] HttpError),
    /// The QUIC connection or stream failed.
    #[error("quic: {0}")]
    Quic(String),
    /// The server closed the stream before the whole response arrived.
    #[error("{transport}: the server closed the connection before a whole response")]
    Closed {
        /// The transport in use.
        transport: Transport,
    },
    /// The response is over 65,535 bytes.
    #[error("response of {len} bytes is over the dns limit")]
    TooLarge {
        /// Its announced or read length.
        len: usize,
    },
    /// The response does not decode as a DNS message.
    #[error("malformed response: {0}")]
    Malformed(String),
    /// The response is not the answer to this query (ID, QR, opcode or question differs).
    #[error("response does not match the query: {0}")]
    Mismatch(&'static str),
    /// A key is pinned and the response carries no SIG(0) record.
    #[error("response is not sig(0)-signed, but key {} is pinned", key.to_hex())]
    Unsigned {
        /// The pinned key (boxed: 97 bytes).
        key: Box<Sig0PublicKey>,
    },
    /// A key is pinned and the response's SIG(0) does not verify with it.
    #[error("sig(0) verification failed with pinned key {}: {reason}", key.to_hex())]
    BadSignature {
        /// The pinned key (boxed: 97 bytes).
        key: Box<Sig0PublicKey>,
        /// Why it failed.
        #[source]
        reason: Sig0Error,
    },
}

/// The three kinds of [`enum@Error`]: what a command line maps to its exit status.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
#[non_exhaustive]
pub enum ErrorKind {
    /// Bad configuration: no server, unreadable hns.conf, bad key or CA file.
    Usage,
    /// No usable answer arrived: socket, TLS, HTTP or QUIC failure, timeout.
    Transport,
    /// An answer arrived and was rejected: unsigned or badly signed with a pinned key, not the
    /// answer to this query, undecodable or too large.
    Rejected,
}

// === impl Error ===

impl Error {
    /// The kind of this error.
    pub fn kind(&self) -> ErrorKind {
        match self {
            Error::NoServer
            | Error::ReadFile { .. }
            | Error::HnsConf { .. }
            | Error::BadServer { .. }
            | Error::BadKey { .. }
            | Error::CaFile { .. }
            | Error::NoRoots
            | Error::TlsName(_)
            | Error::Unsupported(_)
            | Error::Encode(_) => ErrorKind::Usage,
            Error::Io { .. }
            | Error::Tls { .. }
            | Error::Timeout { .. }
            | Error::Http(_)
            | Error::Quic(_)
            | Error::Closed { .. } => ErrorKind::Transport,
            Error::TooLarge { .. }
            | Error::Malformed(_)
            | Error::Mismatch(_)
            | Error::Unsigned { .. }
            | Error::BadSignature { .. } => ErrorKind::Rejected,
        }
    }

    /// An I/O error on `transport`; a timed-out read or write becomes [`Error::Timeout`].
    pub(crate) fn io(transport: Transport, after: Duration, source: std::io::Error) -> Error {
        match source.kind() {
            std::io::ErrorKind::WouldBlock | std::io::ErrorKind::TimedOut => {
                Error::Timeout { transport, after }
            }
            _ => match unwrap_tls(source) {
                Ok(tls) => Error::Tls {
                    transport,
                    source: tls,
                },
                Err(source) => Error::Io { transport, source },
            },
        }
    }
}

/// The rustls error inside an I/O error from a rustls stream, if it is one.
fn unwrap_tls(error: std::io::Error) -> Result<rustls::Error, std::io::Error> {
    let is_tls = error
        .get_ref()
        .is_some_and(|inner| inner.is::<rustls::Error>());
    if !is_tls {
        return Err(error);
    }
    match error
        .into_inner()
        .map(|inner| inner.downcast::<rustls::Error>())
    {
        Some(Ok(tls)) => Ok(*tls),
        Some(Err(inner)) => Err(std::io::Error::other(inner)),
        None => Err(std::io::Error::other("tls")),
    }
}
