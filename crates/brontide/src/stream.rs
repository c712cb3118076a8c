//! Brontide over a tokio byte stream: [`connect`] (initiator) and [`accept`] (responder) run
//! the three acts within a deadline; the session then moves whole messages. Split it with
//! [`BrontideStream::into_split`] to read and write from different tasks.

use std::time::Duration;

use secp256k1::{PublicKey, SecretKey};
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt, ReadHalf, WriteHalf};

use crate::BrontideError;
use crate::handshake::{
    ACT_ONE_SIZE, ACT_THREE_SIZE, ACT_TWO_SIZE, Initiator, RecvCipher, Responder, SendCipher,
};

/// Read chunk size.
const READ_CHUNK: usize = 64 * 1024;

/// An established brontide session over `S`.
pub struct BrontideStream<S> {
    io: S,
    send: SendCipher,
    recv: RecvCipher,
    remote: PublicKey,
}

/// The reading half of a split session.
pub struct BrontideReader<R> {
    io: R,
    recv: RecvCipher,
    chunk: Vec<u8>,
}

/// The writing half of a split session.
pub struct BrontideWriter<W> {
    io: W,
    send: SendCipher,
}

fn random_secret() -> SecretKey {
    loop {
        if let Ok(key) = SecretKey::from_byte_array(rand::random::<[u8; 32]>()) {
            return key;
        }
    }
}

/// Dials: runs the initiator's side of the handshake with the peer whose static key is
/// `remote`, within `deadline`.
pub async fn connect<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: S,
    local: &SecretKey,
    remote: &PublicKey,
    deadline: Duration,
) -> Result<BrontideStream<S>, BrontideError> {
    let handshake = async {
        let mut initiator = Initiator::new(*local, *remote, random_secret());
        let act_one = initiator.act_one(&mut rand::rng())?;
        io.write_all(&act_one).await?;
        let mut act_two = [0u8; ACT_TWO_SIZE];
        io.read_exact(&mut act_two).await?;
        let (act_three, session) = initiator.act_three(&act_two)?;
        io.write_all(&act_three).await?;
        io.flush().await?;
        Ok::<_, BrontideError>(session)
    };
    let session = tokio::time::timeout(deadline, handshake)
        .await
        .map_err(|_| BrontideError::Timeout)??;
    let (send, recv) = session.split();
    Ok(BrontideStream {
        io,
        send,
        recv,
        remote: *remote,
    })
}

/// Answers: runs the responder's side of the handshake within `deadline`; the initiator's
/// static key is [`BrontideStream::remote_key`].
pub async fn accept<S: AsyncRead + AsyncWrite + Unpin>(
    mut io: S,
    local: &SecretKey,
    deadline: Duration,
) -> Result<BrontideStream<S>, BrontideError> {
    let handshake = async {
        let mut responder = Responder::new(*local, random_secret());
        let mut act_one = [0u8; ACT_ONE_SIZE];
        io.read_exact(&mut act_one).await?;
        responder.read_act_one(&act_one)?;
        let act_two = responder.act_two(&mut rand::rng())?;
        io.write_all(&act_two).await?;
        let mut act_three = [0u8; ACT_THREE_SIZE];
        io.read_exact(&mut act_three).await?;
        responder.read_act_three(&act_three)
    };
    let (remote, session) = tokio::time::timeout(deadline, handshake)
        .await
        .map_err(|_| BrontideError::Timeout)??;
    let (send, recv) = session.split();
    Ok(BrontideStream {
        io,
        send,
        recv,
        remote,
    })
}

impl<S: AsyncRead + AsyncWrite + Unpin> BrontideStream<S> {
    /// The peer's static key.
    pub fn remote_key(&self) -> &PublicKey {
        &self.remote
    }

    /// Sends one message.
    pub async fn write_message(&mut self, payload: &[u8]) -> Result<(), BrontideError> {
        let wire = self.send.encrypt(payload)?;
        self.io.write_all(&wire).await?;
        Ok(())
    }

    /// Receives one message; `None` at a clean end of stream.
    pub async fn read_message(&mut self) -> Result<Option<Vec<u8>>, BrontideError> {
        let mut chunk = vec![0u8; READ_CHUNK];
        read_message(&mut self.io, &mut self.recv, &mut chunk).await
    }

    /// Splits into a reader and a writer usable from different tasks.
    pub fn into_split(self) -> (BrontideReader<ReadHalf<S>>, BrontideWriter<WriteHalf<S>>) {
        let (r, w) = tokio::io::split(self.io);
        (
            BrontideReader {
                io: r,
                recv: self.recv,
                chunk: vec![0u8; READ_CHUNK],
            },
            BrontideWriter {
                io: w,
                send: self.send,
            },
        )
    }
}

async fn read_message<R: AsyncRead + Unpin>(
    io: &mut R,
    recv: &mut RecvCipher,
    chunk: &mut [u8],
) -> Result<Option<Vec<u8>>, BrontideError> {
    loop {
        if let Some(message) = recv.next_message()? {
            return Ok(Some(message));
        }
        let want = recv.wanted().min(chunk.len());
        let n = io.read(&mut chunk[..want]).await?;
        if n == 0 {
            return Ok(None);
        }
        recv.feed(&chunk[..n]);
    }
}

impl<R: AsyncRead + Unpin> BrontideReader<R> {
    /// Receives one message; `None` at a clean end of stream.
    pub async fn read_message(&mut self) -> Result<Option<Vec<u8>>, BrontideError> {
        read_message(&mut self.io, &mut self.recv, &mut self.chunk).await
    }
}

impl<W: AsyncWrite + Unpin> BrontideWriter<W> {
    /// Sends one message.
    pub async fn write_message(&mut self, payload: &[u8]) -> Result<(), BrontideError> {
        let wire = self.send.encrypt(payload)?;
        self.io.write_all(&wire).await?;
        Ok(())
    }
}
