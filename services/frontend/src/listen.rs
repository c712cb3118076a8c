//! The listeners: each moves bytes between clients and [`Frontend::handle`] and nothing else.
//!
//! - [`udp`]: Do53 over UDP: batched reads and writes, response rate limiting, packet-cache
//!   hits answered inline, one task per other datagram.
//! - [`accept`]: the accept loop of every connection-oriented listener: the `max_connections`
//!   limit, the per-prefix connection and TLS handshake limits, the bounded TLS handshake, the
//!   open-connections gauge.
//! - [`stream`]: Do53 over TCP and DNS over TLS (RFC 7858): length-prefixed messages,
//!   pipelined up to `max_pipelined` (every query of a connection is answered as soon as it is
//!   ready, out of order),
//!   a read deadline per message and a write deadline per answer (`idle_timeout`).
//! - [`doh`]: DNS over HTTPS (RFC 8484), GET and POST on `/dns-query`, HTTP/2 (or HTTP/1.1)
//!   over TLS; a connection without requests for `idle_timeout` is shut down. Its
//!   request-to-response function serves HTTP/3 too, and its responses advertise HTTP/3 with
//!   `alt-svc` when that is on.
//! - `doh2`: HTTP/2 chosen by ALPN, driven straight from `h2` in the connection's task, so a
//!   packet-cache hit needs no task of its own.
//! - [`quic`]: the QUIC endpoint and accept loop of DoQ and DoH over HTTP/3: a Retry for every
//!   unvalidated address, then the limits of [`accept`] (shared with TCP), the bounded
//!   handshake, per-connection stream and window limits.
//! - [`doq`]: DNS over QUIC (RFC 9250), ALPN `doq`, on `doq_listen`: one query per stream,
//!   message ID 0, protocol errors close the connection with DOQ_PROTOCOL_ERROR.
//! - [`doh3`]: DoH over HTTP/3 (ALPN `h3`) on the UDP port of `doh_listen`.
//! - [`tls`] (the `hnsfleet-tls-server` crate): the rustls server configuration of every TLS
//!   and QUIC listener (a certificate from files, or a throw-away self-signed one): certificate
//!   hot reload (SIGHUP, changed files), session resumption, ALPN.
//!
//! A new transport is a new module here that calls [`Frontend::handle`] with its own
//! [`crate::wire::Transport`].

pub mod accept;
pub mod doh;
mod doh2;
pub mod doh3;
pub mod doh_json;
pub mod doq;
pub mod quic;
pub mod stream;
pub use hnsfleet_tls_server as tls;
pub mod udp;

#[allow(unused_imports)]
use crate::frontend::Frontend;
