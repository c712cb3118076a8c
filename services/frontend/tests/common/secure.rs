//! Clients of the encrypted transports for the tests: a certificate the frontend serves and
//! the clients trust, and one-query clients over DoT, DoH (HTTP/2), DoH over HTTP/3 and DoQ.
//! Each returns the parsed answer (or why there was none), so tests compare transports.

use std::net::{IpAddr, SocketAddr};
use std::sync::Arc;
use std::time::Duration;

use bytes::{Buf, Bytes, BytesMut};
use hickory_proto::op::Message;
use http::HeaderMap;
use rustls::pki_types::CertificateDer;
use tokio::io::{AsyncReadExt, AsyncWriteExt};

/// Longest any one exchange here may take.
const WITHIN: Duration = Duration::from_secs(5);

use super::{connector, tls_connect};

/// A TLS 1.3 client configuration trusting `trusted` only, offering `alpn`.
pub fn client_config(trusted: &CertificateDer<'static>, alpn: &[u8]) -> rustls::ClientConfig {
    (*super::tls_client(&[trusted], &[alpn])).clone()
}

/// One query over a new DoT connection.
pub async fn dot(
    server: SocketAddr,
    trusted: &CertificateDer<'static>,
    query: &Message,
) -> Message {
    let mut tls = tls_connect(server, &connector(trusted, b"dot"))
        .await
        .unwrap();
    let bytes = query.to_vec().unwrap();
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    tls.write_all(&framed).await.unwrap();
    let read = async {
        let mut len = [0u8; 2];
        tls.read_exact(&mut len).await?;
        let mut answer = vec![0u8; usize::from(u16::from_be_bytes(len))];
        tls.read_exact(&mut answer).await?;
        Ok::<_, std::io::Error>(answer)
    };
    let answer = tokio::time::timeout(WITHIN, read).await.unwrap().unwrap();
    Message::from_vec(&answer).unwrap()
}

/// One POST over a new HTTP/2 DoH connection: the answer and the response's headers.
pub async fn doh2(
    server: SocketAddr,
    trusted: &CertificateDer<'static>,
    query: &Message,
) -> (Message, HeaderMap) {
    let tls = tls_connect(server, &connector(trusted, b"h2"))
        .await
        .unwrap();
    let (sender, connection) = h2::client::handshake(tls).await.unwrap();
    tokio::spawn(connection);
    let mut sender = sender.ready().await.unwrap();
    let request = http::Request::post("https://localhost/dns-query")
        .header("content-type", "application/dns-message")
        .body(())
        .unwrap();
    let (response, mut body) = sender.send_request(request, false).unwrap();
    body.send_data(Bytes::from(query.to_vec().unwrap()), true)
        .unwrap();
    let read = async {
        let response = response.await.unwrap();
        assert_eq!(response.status(), 200);
        let headers = response.headers().clone();
        let mut body = response.into_body();
        let mut answer = BytesMut::new();
        while let Some(chunk) = body.data().await {
            let chunk = chunk.unwrap();
            let _ = body.flow_control().release_capacity(chunk.len());
            answer.extend_from_slice(&chunk);
        }
        (answer, headers)
    };
    let (answer, headers) = tokio::time::timeout(WITHIN, read).await.unwrap();
    (Message::from_vec(&answer).unwrap(), headers)
}

/// A QUIC connection from `local` (any port) to `server` as `localhost`, offering `alpn`; the
/// endpoint is returned too (it must outlive the connection).
pub async fn quic_connect(
    local: IpAddr,
    server: SocketAddr,
    trusted: &CertificateDer<'static>,
    alpn: &[u8],
) -> Result<(quinn::Endpoint, quinn::Connection), quinn::ConnectionError> {
    let crypto =
        quinn::crypto::rustls::QuicClientConfig::try_from(Arc::new(client_config(trusted, alpn)))
            .unwrap();
    let mut endpoint = quinn::Endpoint::client(SocketAddr::new(local, 0)).unwrap();
    endpoint.set_default_client_config(quinn::ClientConfig::new(Arc::new(crypto)));
    let connecting = endpoint.connect(server, "localhost").unwrap();
    let connection = tokio::time::timeout(WITHIN, connecting)
        .await
        .map_err(|_| quinn::ConnectionError::TimedOut)??;
    Ok((endpoint, connection))
}

/// Sends `query` on a new stream of a DoQ connection, message ID set to 0 as RFC 9250 asks
/// (unless `keep_id`); the answer, or the error that ended the stream.
pub async fn doq_exchange(
    connection: &quinn::Connection,
    query: &Message,
    keep_id: bool,
) -> Result<Message, String> {
    let (mut send, mut recv) = connection.open_bi().await.map_err(|e| e.to_string())?;
    let mut bytes = query.to_vec().unwrap();
    if !keep_id {
        bytes[..2].copy_from_slice(&[0, 0]);
    }
    let mut framed = (bytes.len() as u16).to_be_bytes().to_vec();
    framed.extend_from_slice(&bytes);
    send.write_all(&framed).await.map_err(|e| e.to_string())?;
    send.finish().map_err(|e| e.to_string())?;
    let answer = tokio::time::timeout(WITHIN, recv.read_to_end(65_537))
        .await
        .map_err(|_| "no answer within 5 s".to_string())?
        .map_err(|e| e.to_string())?;
    if answer.len() < 2 {
        return Err(format!("a stream without a length prefix: {answer:?}"));
    }
    let len = usize::from(u16::from_be_bytes([answer[0], answer[1]]));
    assert_eq!(
        len,
        answer.len() - 2,
        "one length-prefixed answer per stream"
    );
    Message::from_vec(&answer[2..]).map_err(|e| e.to_string())
}

/// One query over a new DoQ connection from 127.0.0.1.
pub async fn doq(
    server: SocketAddr,
    trusted: &CertificateDer<'static>,
    query: &Message,
) -> Message {
    let (_endpoint, connection) = quic_connect([127, 0, 0, 1].into(), server, trusted, b"doq")
        .await
        .unwrap();
    let answer = doq_exchange(&connection, query, false).await.unwrap();
    connection.close(0u32.into(), b"");
    answer
}

/// One POST over a new HTTP/3 DoH connection: the answer and the response's headers.
pub async fn doh3(
    server: SocketAddr,
    trusted: &CertificateDer<'static>,
    query: &Message,
) -> (Message, HeaderMap) {
    let (_endpoint, connection) = quic_connect([127, 0, 0, 1].into(), server, trusted, b"h3")
        .await
        .unwrap();
    let (mut driver, mut sender) = h3::client::new(h3_quinn::Connection::new(connection))
        .await
        .unwrap();
    let driving = tokio::spawn(async move { driver.wait_idle().await });
    let request = http::Request::post("https://localhost/dns-query")
        .header("content-type", "application/dns-message")
        .body(())
        .unwrap();
    let exchange = async {
        let mut stream = sender.send_request(request).await.unwrap();
        stream
            .send_data(Bytes::from(query.to_vec().unwrap()))
            .await
            .unwrap();
        stream.finish().await.unwrap();
        let response = stream.recv_response().await.unwrap();
        assert_eq!(response.status(), 200);
        let mut answer = BytesMut::new();
        while let Some(mut chunk) = stream.recv_data().await.unwrap() {
            answer.extend_from_slice(&chunk.copy_to_bytes(chunk.remaining()));
        }
        (answer, response.headers().clone())
    };
    let (answer, headers) = tokio::time::timeout(WITHIN, exchange).await.unwrap();
    driving.abort();
    (Message::from_vec(&answer).unwrap(), headers)
}
