//! The listeners: each moves bytes between clients and [`Frontend::handle`] and nothing else.
//!
//! - [`udp`]: Do53 over UDP, one task per datagram.
//! - [`stream`]: Do53 over TCP and DNS over TLS (RFC 7858): length-prefixed messages,
//!   pipelined (every query of a connection is answered as soon as it is ready, out of order),
//!   an idle timeout, and a limit on connections open at once.
//! - [`doh`]: DNS over HTTPS (RFC 8484), GET and POST on `/dns-query`, HTTP/2 over TLS.
//! - [`tls`]: the rustls server configuration (a certificate from files, or a throw-away
//!   self-signed one).
//!
//! A new transport is a new module here that calls [`Frontend::handle`] with its own
//! [`crate::wire::Transport`].

pub mod doh;
pub mod stream;
pub mod tls;
pub mod udp;

#[allow(unused_imports)]
use crate::frontend::Frontend;
