//! DNS over QUIC (RFC 9250), cargo feature `doq`: one connection, one bidirectional stream
//! carrying the 2-byte length and the query (message ID 0, §4.2.1) then FIN, the answer read
//! back the same way. QUIC needs an async runtime: each query runs on a small current-thread
//! tokio runtime of its own, so the blocking API stays blocking.

use std::net::SocketAddr;
use std::sync::Arc;

use quinn::crypto::rustls::QuicClientConfig;

use crate::error::Error;
use crate::message::MAX_MESSAGE;
use crate::net::Deadline;
use crate::server::{Server, Transport};

/// DOQ_NO_ERROR: how the client closes the connection after its answer (§4.3).
const DOQ_NO_ERROR: u32 = 0;

/// One query over a new QUIC connection (`config` offers ALPN `doq`, TLS 1.3).
pub(crate) fn doq(
    server: &Server,
    config: &Arc<rustls::ClientConfig>,
    query: &[u8],
    deadline: Deadline,
) -> Result<Vec<u8>, Error> {
    let t = Transport::Quic;
    let runtime = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .map_err(|e| deadline.io(t, e))?;
    let left = deadline.left(t)?;
    runtime.block_on(async {
        match tokio::time::timeout(left, exchange(server, config, query)).await {
            Ok(result) => result,
            Err(_) => Err(deadline.timeout(t)),
        }
    })
}

/// The exchange itself (the caller bounds its time).
async fn exchange(
    server: &Server,
    config: &Arc<rustls::ClientConfig>,
    query: &[u8],
) -> Result<Vec<u8>, Error> {
    let quic = |e: &dyn std::fmt::Display| Error::Quic(e.to_string());
    let crypto = QuicClientConfig::try_from(Arc::clone(config)).map_err(|e| quic(&e))?;
    let local: SocketAddr = match server.addr {
        SocketAddr::V4(_) => (std::net::Ipv4Addr::UNSPECIFIED, 0).into(),
        SocketAddr::V6(_) => (std::net::Ipv6Addr::UNSPECIFIED, 0).into(),
    };
    let mut endpoint = quinn::Endpoint::client(local).map_err(|e| Error::Io {
        transport: Transport::Quic,
        source: e,
    })?;
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let connection = endpoint
        .connect(server.addr, &server.tls_name)
        .map_err(|e| quic(&e))?
        .await
        .map_err(|e| quic(&e))?;
    let result = async {
        let (mut send, mut recv) = connection.open_bi().await.map_err(|e| quic(&e))?;
        let len = u16::try_from(query.len()).map_err(|_| Error::TooLarge { len: query.len() })?;
        let mut framed = Vec::with_capacity(query.len() + 2);
        framed.extend_from_slice(&len.to_be_bytes());
        framed.extend_from_slice(query);
        send.write_all(&framed).await.map_err(|e| quic(&e))?;
        send.finish().map_err(|e| quic(&e))?;
        // The length prefix and at most one whole message.
        let data = recv
            .read_to_end(MAX_MESSAGE + 2)
            .await
            .map_err(|e| quic(&e))?;
        match data.as_slice() {
            [hi, lo, rest @ ..] if usize::from(u16::from_be_bytes([*hi, *lo])) == rest.len() => {
                Ok(rest.to_vec())
            }
            [_, _, ..] => Err(Error::Quic(
                "stream length does not match its prefix".into(),
            )),
            _ => Err(Error::Closed {
                transport: Transport::Quic,
            }),
        }
    }
    .await;
    connection.close(DOQ_NO_ERROR.into(), b"");
    // Let the CLOSE frame go out (bounded: the caller's timeout covers this too).
    let _ = tokio::time::timeout(std::time::Duration::from_millis(100), endpoint.wait_idle()).await;
    result
}
