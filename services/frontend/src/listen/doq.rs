//! DNS over dedicated QUIC connections (RFC 9250), ALPN `doq`, accepted through
//! [`super::quic::accept_loop`] (address validation, then the connection limits TCP, DoT and
//! DoH share).
//!
//! One query per client-initiated bidirectional stream: its two-byte length, the message, and
//! the stream's FIN; the answer goes back the same way on the same stream. The message ID must
//! be 0 (§4.2.1), so the answer's is too. What the RFC calls a protocol error closes the whole
//! connection with DOQ_PROTOCOL_ERROR (counted as `dropped{reason="doq_protocol"}`): a nonzero
//! ID, a length that does not match what the stream carried (a second message, or a short
//! one), a stream longer than one message. A query the pipeline drops (not a query at all)
//! gets its stream reset with DOQ_REQUEST_CANCELLED.
//!
//! Limits: at most `max_pipelined` streams (queries) open at once per connection, enforced by
//! QUIC's stream credit (the client cannot open more); a stream whose query has not arrived
//! whole within `idle_timeout` is reset, as is one whose answer cannot be written within it
//! (`dropped{reason="write_timeout"}`); a connection without a query for `idle_timeout` is
//! closed with DOQ_NO_ERROR, whatever pings keep QUIC itself alive.

use std::net::IpAddr;
use std::sync::Arc;
use std::time::Duration;

use quinn::{Connection, Endpoint, RecvStream, SendStream, VarInt};
use tokio_util::sync::CancellationToken;

use crate::frontend::{Frontend, Service};
use crate::listen::accept::StreamLimits;
use crate::listen::doh::Activity;
use crate::listen::quic;
use crate::wire::{STREAM_LIMIT, Transport};

/// No error: the connection is closed because it is idle or the server stops (RFC 9250 §4.3).
pub const DOQ_NO_ERROR: u32 = 0x0;
/// The server could not go on for a reason of its own.
pub const DOQ_INTERNAL_ERROR: u32 = 0x1;
/// The client broke the protocol (nonzero message ID, bad framing).
pub const DOQ_PROTOCOL_ERROR: u32 = 0x2;
/// A stream's request is abandoned.
pub const DOQ_REQUEST_CANCELLED: u32 = 0x3;

/// Serves DoQ on `endpoint` until `stop`.
pub async fn serve(
    endpoint: Endpoint,
    frontend: Arc<Frontend>,
    limits: StreamLimits,
    stop: CancellationToken,
) -> std::io::Result<()> {
    quic::serve(endpoint, frontend, limits, stop, serve_connection).await
}

/// One connection: a task per stream, until the client closes it, a protocol error, `idle`
/// without a query, or `stop`.
async fn serve_connection(
    connection: Connection,
    client: IpAddr,
    frontend: Arc<Frontend>,
    idle: Duration,
    stop: CancellationToken,
) {
    let activity = Arc::new(Activity::new());
    let idle_watch = activity.idle_for(idle);
    tokio::pin!(idle_watch);
    loop {
        let (send, recv) = tokio::select! {
            accepted = connection.accept_bi() => match accepted {
                Ok(streams) => streams,
                Err(error) => {
                    tracing::debug!(%error, %client, "doq connection");
                    return;
                }
            },
            () = stop.cancelled() => break,
            () = &mut idle_watch => {
                tracing::debug!(%client, "doq connection idle");
                break;
            }
        };
        let busy = activity.begin();
        let (connection, frontend) = (connection.clone(), Arc::clone(&frontend));
        tokio::spawn(async move {
            if let Err(protocol) = query(send, recv, client, &frontend, idle).await {
                tracing::debug!(%client, why = protocol, "doq protocol error");
                frontend
                    .metrics()
                    .dropped
                    .with_label_values(&["doq_protocol"])
                    .inc();
                connection.close(VarInt::from_u32(DOQ_PROTOCOL_ERROR), protocol.as_bytes());
            }
            drop(busy);
        });
    }
    connection.close(VarInt::from_u32(DOQ_NO_ERROR), b"");
}

/// One stream: reads the query, answers it on the same stream. `Err` is a protocol error
/// (the connection must be closed), with its reason. A stream left without an answer is reset,
/// never just finished (dropping a quinn send stream would finish it: an empty answer).
async fn query(
    mut send: SendStream,
    mut recv: RecvStream,
    client: IpAddr,
    frontend: &Frontend,
    idle: Duration,
) -> Result<(), &'static str> {
    let reset = |send: &mut SendStream, code: u32| {
        let _ = send.reset(VarInt::from_u32(code));
    };
    let bytes = match tokio::time::timeout(idle, recv.read_to_end(STREAM_LIMIT + 2)).await {
        Ok(Ok(bytes)) => bytes,
        Ok(Err(quinn::ReadToEndError::TooLong)) => {
            reset(&mut send, DOQ_PROTOCOL_ERROR);
            return Err("stream longer than a message");
        }
        // The client reset the stream or the connection went away: nothing to answer.
        Ok(Err(_)) => {
            reset(&mut send, DOQ_REQUEST_CANCELLED);
            return Ok(());
        }
        Err(_) => {
            let _ = recv.stop(VarInt::from_u32(DOQ_REQUEST_CANCELLED));
            reset(&mut send, DOQ_REQUEST_CANCELLED);
            return Ok(());
        }
    };
    let message = match framed_message(&bytes) {
        Ok(message) => message,
        Err(why) => {
            reset(&mut send, DOQ_PROTOCOL_ERROR);
            return Err(why);
        }
    };
    let Some(answer) = frontend
        .handle(message, Transport::Quic, client, Service::Resolver)
        .await
    else {
        reset(&mut send, DOQ_REQUEST_CANCELLED);
        return Ok(());
    };
    let Ok(len) = u16::try_from(answer.len()) else {
        reset(&mut send, DOQ_INTERNAL_ERROR);
        return Ok(());
    };
    let mut framed = Vec::with_capacity(answer.len() + 2);
    framed.extend_from_slice(&len.to_be_bytes());
    framed.extend_from_slice(&answer);
    let written = async {
        send.write_all(&framed).await.ok()?;
        send.finish().ok()?;
        // Wait for the client's acknowledgement: the answer is delivered, not just queued.
        send.stopped().await.ok()
    };
    if tokio::time::timeout(idle, written).await.is_err() {
        frontend
            .metrics()
            .dropped
            .with_label_values(&["write_timeout"])
            .inc();
        reset(&mut send, DOQ_REQUEST_CANCELLED);
    }
    Ok(())
}

/// The message of a stream's bytes: a two-byte length equal to what follows, and message ID 0
/// (RFC 9250 §4.2, §4.2.1).
pub fn framed_message(bytes: &[u8]) -> Result<&[u8], &'static str> {
    let Some((len, message)) = bytes.split_first_chunk::<2>() else {
        return Err("no length prefix");
    };
    if usize::from(u16::from_be_bytes(*len)) != message.len() {
        return Err("length prefix does not match the stream");
    }
    // A message too short for an ID is the pipeline's to drop (it answers nothing).
    if message.len() >= 2 && message[..2] != [0, 0] {
        return Err("nonzero message ID");
    }
    Ok(message)
}

#[cfg(test)]
mod tests {
    use super::framed_message;

    #[test]
    fn a_stream_must_hold_exactly_one_message_with_id_zero() {
        let query = [0u8, 0, 1, 0, 0, 1, 0, 0, 0, 0, 0, 0];
        let mut framed = vec![0, 12];
        framed.extend_from_slice(&query);
        assert_eq!(framed_message(&framed), Ok(&query[..]));
        // A second message after the first, or a short one.
        let mut two = framed.clone();
        two.extend_from_slice(&framed);
        assert!(framed_message(&two).is_err());
        assert!(framed_message(&framed[..10]).is_err());
        assert!(framed_message(&[0]).is_err());
        // A nonzero ID.
        let mut with_id = framed.clone();
        with_id[3] = 7;
        assert_eq!(framed_message(&with_id), Err("nonzero message ID"));
    }
}
