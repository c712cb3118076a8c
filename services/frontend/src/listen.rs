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
//!   over TLS; a connection without requests for `idle_timeout` is shut down.
//! - [`tls`]: the rustls server configuration (a certificate from files, or a throw-away
//!   self-signed one), shared by every TLS listener: certificate hot reload (SIGHUP, changed
//!   files), session resumption, ALPN.
//!
//! A new transport is a new module here that calls [`Frontend::handle`] with its own
//! [`crate::wire::Transport`].

pub mod accept;
pub mod doh;
pub mod doh_json;
pub mod stream;
pub mod tls;
pub mod udp;

#[allow(unused_imports)]
use crate::frontend::Frontend;
