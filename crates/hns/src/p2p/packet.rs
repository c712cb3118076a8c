//! Packet payloads (hns-chain.md §4.5–4.10): typed encode and exact decode.

use crate::encoding::{DecodeError, Reader, write_varint};
use crate::header::{HEADER_SIZE, Header};
use crate::types::{BlockHash, Hash256, NameHash, TreeRoot};

use super::packet_type as t;
use super::{
    FRAME_HEADER_SIZE, FrameHeader, InvItem, MAX_ADDRS, MAX_HEADERS, MAX_INV, MAX_MESSAGE,
    NET_ADDRESS_SIZE, NetAddress, P2pError,
};

/// A decoded packet.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Packet {
    /// `VERSION` (0).
    Version(Version),
    /// `VERACK` (1), empty.
    Verack,
    /// `PING` (2) with its nonce.
    Ping(u64),
    /// `PONG` (3) echoing a ping nonce.
    Pong(u64),
    /// `GETADDR` (4), empty.
    GetAddr,
    /// `ADDR` (5): at most [`MAX_ADDRS`] addresses.
    Addr(Vec<NetAddress>),
    /// `INV` (6): at most [`MAX_INV`] items.
    Inv(Vec<InvItem>),
    /// `GETDATA` (7): at most [`MAX_INV`] items.
    GetData(Vec<InvItem>),
    /// `NOTFOUND` (8): at most [`MAX_INV`] items.
    NotFound(Vec<InvItem>),
    /// `GETHEADERS` (10).
    GetHeaders(GetHeaders),
    /// `HEADERS` (11): at most [`MAX_HEADERS`] headers.
    Headers(Vec<Header>),
    /// `SENDHEADERS` (12), empty.
    SendHeaders,
    /// `REJECT` (15).
    Reject(Reject),
    /// `GETPROOF` (26).
    GetProof(GetProof),
    /// `PROOF` (27).
    Proof(Proof),
    /// Any other packet type, kept raw (skipped by length).
    Unknown {
        /// Packet type.
        ty: u8,
        /// Raw payload.
        payload: Vec<u8>,
    },
}

/// `VERSION` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Version {
    /// Protocol version (hsd sends 3, hnsd 1).
    pub version: u32,
    /// Service bits (1 = NETWORK: serves blocks and headers).
    pub services: u64,
    /// Sender's clock, unix seconds.
    pub time: u64,
    /// The receiving peer's address as the sender sees it.
    pub remote: NetAddress,
    /// Random nonce for self-connection detection.
    pub nonce: u64,
    /// User agent, ASCII, at most 255 bytes (e.g. `/hsd:8.0.0/`).
    pub agent: String,
    /// Sender's chain height.
    pub height: u32,
    /// Whether the sender does not want transactions relayed.
    pub no_relay: bool,
}

/// `GETHEADERS` payload.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct GetHeaders {
    /// Block locator: at most [`MAX_INV`] hashes, newest first.
    pub locator: Vec<BlockHash>,
    /// Last hash wanted; [`BlockHash::ZERO`] for no limit.
    pub stop: BlockHash,
}

/// `GETPROOF` payload.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct GetProof {
    /// Tree root to prove against (from a header).
    pub root: TreeRoot,
    /// Name hash to prove.
    pub key: NameHash,
}

/// `PROOF` payload. The proof bytes are kept raw; [`crate::urkel`] decodes and verifies them.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Proof {
    /// Tree root the proof is against.
    pub root: TreeRoot,
    /// Name hash the proof is for.
    pub key: NameHash,
    /// Serialized Urkel proof (the rest of the payload).
    pub proof: Vec<u8>,
}

/// `REJECT` payload.
#[derive(Debug, Clone, PartialEq, Eq, Hash)]
pub struct Reject {
    /// Type of the rejected packet.
    pub message: u8,
    /// Reject code (0x01 malformed, 0x10 invalid, ...).
    pub code: u8,
    /// Reason, ASCII, at most 255 bytes.
    pub reason: String,
    /// Hash of the rejected object; present exactly when [`Reject::carries_hash`] holds.
    pub hash: Option<Hash256>,
}

/// Internal failure while reading a payload, mapped to [`P2pError`] with the packet name.
enum Fail {
    Decode(DecodeError),
    TooMany {
        what: &'static str,
        count: u64,
        max: usize,
    },
    NotAscii(&'static str),
}

impl From<DecodeError> for Fail {
    fn from(e: DecodeError) -> Self {
        Fail::Decode(e)
    }
}

// === impl Packet ===

impl Packet {
    /// The packet type number.
    pub fn packet_type(&self) -> u8 {
        match self {
            Packet::Version(_) => t::VERSION,
            Packet::Verack => t::VERACK,
            Packet::Ping(_) => t::PING,
            Packet::Pong(_) => t::PONG,
            Packet::GetAddr => t::GETADDR,
            Packet::Addr(_) => t::ADDR,
            Packet::Inv(_) => t::INV,
            Packet::GetData(_) => t::GETDATA,
            Packet::NotFound(_) => t::NOTFOUND,
            Packet::GetHeaders(_) => t::GETHEADERS,
            Packet::Headers(_) => t::HEADERS,
            Packet::SendHeaders => t::SENDHEADERS,
            Packet::Reject(_) => t::REJECT,
            Packet::GetProof(_) => t::GETPROOF,
            Packet::Proof(_) => t::PROOF,
            Packet::Unknown { ty, .. } => *ty,
        }
    }

    /// Decodes a payload of the given packet type; the payload must be consumed exactly.
    pub fn decode(ty: u8, payload: &[u8]) -> Result<Packet, P2pError> {
        if payload.len() > MAX_MESSAGE as usize {
            return Err(P2pError::PayloadTooLarge { len: payload.len() });
        }
        let name = packet_name(ty);
        let mut r = Reader::new(payload);
        let packet = read_body(ty, &mut r).and_then(|p| {
            r.finish()?;
            Ok(p)
        });
        packet.map_err(|fail| match fail {
            Fail::Decode(source) => P2pError::Payload {
                packet: name,
                source,
            },
            Fail::TooMany { what, count, max } => P2pError::TooManyItems { what, count, max },
            Fail::NotAscii(what) => P2pError::NotAscii { what },
        })
    }

    /// Encodes the payload, checking the limits the decoder enforces.
    pub fn encode_payload(&self) -> Result<Vec<u8>, P2pError> {
        let mut out = Vec::new();
        match self {
            Packet::Version(v) => v.write(&mut out)?,
            Packet::Verack | Packet::GetAddr | Packet::SendHeaders => {}
            Packet::Ping(nonce) | Packet::Pong(nonce) => {
                out.extend_from_slice(&nonce.to_le_bytes());
            }
            Packet::Addr(items) => {
                write_count(&mut out, items.len(), MAX_ADDRS, "addr")?;
                out.reserve(items.len() * NET_ADDRESS_SIZE);
                items.iter().for_each(|a| a.write(&mut out));
            }
            Packet::Inv(items) | Packet::GetData(items) | Packet::NotFound(items) => {
                write_count(&mut out, items.len(), MAX_INV, "inventory")?;
                out.reserve(items.len() * InvItem::SIZE);
                items.iter().for_each(|i| i.write(&mut out));
            }
            Packet::GetHeaders(g) => {
                write_count(&mut out, g.locator.len(), MAX_INV, "locator")?;
                out.reserve((g.locator.len() + 1) * 32);
                g.locator.iter().for_each(|h| out.extend_from_slice(&h.0));
                out.extend_from_slice(&g.stop.0);
            }
            Packet::Headers(headers) => {
                write_count(&mut out, headers.len(), MAX_HEADERS, "headers")?;
                out.reserve(headers.len() * HEADER_SIZE);
                headers.iter().for_each(|h| h.write(&mut out));
            }
            Packet::Reject(reject) => reject.write(&mut out)?,
            Packet::GetProof(g) => {
                out.extend_from_slice(&g.root.0);
                out.extend_from_slice(&g.key.0);
            }
            Packet::Proof(p) => {
                out.reserve(64 + p.proof.len());
                out.extend_from_slice(&p.root.0);
                out.extend_from_slice(&p.key.0);
                out.extend_from_slice(&p.proof);
            }
            Packet::Unknown { payload, .. } => out.extend_from_slice(payload),
        }
        if out.len() > MAX_MESSAGE as usize {
            return Err(P2pError::PayloadTooLarge { len: out.len() });
        }
        Ok(out)
    }

    /// Encodes a whole frame (header and payload) for the network with `magic`.
    pub fn encode_frame(&self, magic: u32) -> Result<Vec<u8>, P2pError> {
        let payload = self.encode_payload()?;
        let header = FrameHeader {
            magic,
            packet_type: self.packet_type(),
            // encode_payload bounds the length by MAX_MESSAGE, which fits u32.
            len: payload.len() as u32,
        };
        let mut out = Vec::with_capacity(FRAME_HEADER_SIZE + payload.len());
        out.extend_from_slice(&header.encode());
        out.extend_from_slice(&payload);
        Ok(out)
    }
}

// === impl Version ===

impl Version {
    fn read(r: &mut Reader<'_>) -> Result<Version, Fail> {
        let version = r.u32_le()?;
        let services = r.u64_le()?;
        let time = r.u64_le()?;
        let remote = NetAddress::read(r)?;
        let nonce = r.u64_le()?;
        let agent = read_ascii(r, "user agent")?;
        let height = r.u32_le()?;
        let no_relay = match r.u8()? {
            0 => false,
            1 => true,
            _ => {
                return Err(Fail::Decode(DecodeError::Malformed {
                    offset: r.position() - 1,
                    reason: "no-relay flag is not 0 or 1",
                }));
            }
        };
        Ok(Version {
            version,
            services,
            time,
            remote,
            nonce,
            agent,
            height,
            no_relay,
        })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), P2pError> {
        out.reserve(122 + self.agent.len());
        out.extend_from_slice(&self.version.to_le_bytes());
        out.extend_from_slice(&self.services.to_le_bytes());
        out.extend_from_slice(&self.time.to_le_bytes());
        self.remote.write(out);
        out.extend_from_slice(&self.nonce.to_le_bytes());
        write_ascii(out, &self.agent, "user agent")?;
        out.extend_from_slice(&self.height.to_le_bytes());
        out.push(u8::from(self.no_relay));
        Ok(())
    }
}

// === impl Reject ===

impl Reject {
    /// Whether a `REJECT` of this message type carries a hash (BLOCK, TX, CLAIM, AIRDROP).
    pub fn carries_hash(message: u8) -> bool {
        matches!(message, t::BLOCK | t::TX | t::CLAIM | t::AIRDROP)
    }

    fn read(r: &mut Reader<'_>) -> Result<Reject, Fail> {
        let message = r.u8()?;
        let code = r.u8()?;
        let reason = read_ascii(r, "reject reason")?;
        let hash = match Reject::carries_hash(message) {
            true => Some(Hash256(r.array()?)),
            false => None,
        };
        Ok(Reject {
            message,
            code,
            reason,
            hash,
        })
    }

    fn write(&self, out: &mut Vec<u8>) -> Result<(), P2pError> {
        if self.hash.is_some() != Reject::carries_hash(self.message) {
            return Err(P2pError::RejectHash {
                message: self.message,
            });
        }
        out.push(self.message);
        out.push(self.code);
        write_ascii(out, &self.reason, "reject reason")?;
        if let Some(hash) = &self.hash {
            out.extend_from_slice(&hash.0);
        }
        Ok(())
    }
}

// === private helpers ===

/// Reads the payload of a packet type (without the exact-length check).
fn read_body(ty: u8, r: &mut Reader<'_>) -> Result<Packet, Fail> {
    Ok(match ty {
        t::VERSION => Packet::Version(Version::read(r)?),
        t::VERACK => Packet::Verack,
        t::PING => Packet::Ping(r.u64_le()?),
        t::PONG => Packet::Pong(r.u64_le()?),
        t::GETADDR => Packet::GetAddr,
        t::ADDR => {
            let n = read_count(r, MAX_ADDRS, NET_ADDRESS_SIZE, "addr")?;
            Packet::Addr(read_items(r, n, NetAddress::read)?)
        }
        t::INV | t::GETDATA | t::NOTFOUND => {
            let n = read_count(r, MAX_INV, InvItem::SIZE, "inventory")?;
            let items = read_items(r, n, InvItem::read)?;
            match ty {
                t::INV => Packet::Inv(items),
                t::GETDATA => Packet::GetData(items),
                _ => Packet::NotFound(items),
            }
        }
        t::GETHEADERS => {
            let n = read_count(r, MAX_INV, 32, "locator")?;
            let locator = read_items(r, n, |r| Ok(BlockHash(r.array()?)))?;
            let stop = BlockHash(r.array()?);
            Packet::GetHeaders(GetHeaders { locator, stop })
        }
        t::HEADERS => {
            let n = read_count(r, MAX_HEADERS, HEADER_SIZE, "headers")?;
            Packet::Headers(read_items(r, n, Header::read)?)
        }
        t::SENDHEADERS => Packet::SendHeaders,
        t::REJECT => Packet::Reject(Reject::read(r)?),
        t::GETPROOF => Packet::GetProof(GetProof {
            root: TreeRoot(r.array()?),
            key: NameHash(r.array()?),
        }),
        t::PROOF => Packet::Proof(Proof {
            root: TreeRoot(r.array()?),
            key: NameHash(r.array()?),
            proof: r.rest().to_vec(),
        }),
        _ => Packet::Unknown {
            ty,
            payload: r.rest().to_vec(),
        },
    })
}

/// Reads an item count, checks it against the limit and against the bytes left (so a lying
/// count cannot make us allocate).
fn read_count(
    r: &mut Reader<'_>,
    max: usize,
    item_size: usize,
    what: &'static str,
) -> Result<usize, Fail> {
    let start = r.position();
    let count = r.varint()?;
    if count > max as u64 {
        return Err(Fail::TooMany { what, count, max });
    }
    let n = count as usize;
    let needed = n * item_size;
    if needed > r.remaining() {
        return Err(Fail::Decode(DecodeError::Eof {
            offset: start,
            needed: needed - r.remaining(),
        }));
    }
    Ok(n)
}

/// Reads `n` items whose total size [`read_count`] already checked.
fn read_items<T>(
    r: &mut Reader<'_>,
    n: usize,
    read: impl Fn(&mut Reader<'_>) -> Result<T, DecodeError>,
) -> Result<Vec<T>, Fail> {
    let mut items = Vec::with_capacity(n);
    for _ in 0..n {
        items.push(read(r)?);
    }
    Ok(items)
}

/// Reads a one-byte length and that many ASCII bytes.
fn read_ascii(r: &mut Reader<'_>, what: &'static str) -> Result<String, Fail> {
    let len = r.u8()?;
    let bytes = r.bytes(usize::from(len))?;
    if !bytes.is_ascii() {
        return Err(Fail::NotAscii(what));
    }
    Ok(bytes.iter().map(|&b| char::from(b)).collect())
}

/// Writes a one-byte length and the ASCII text.
fn write_ascii(out: &mut Vec<u8>, text: &str, what: &'static str) -> Result<(), P2pError> {
    if !text.is_ascii() {
        return Err(P2pError::NotAscii { what });
    }
    let len = u8::try_from(text.len()).map_err(|_| P2pError::FieldTooLong {
        what,
        len: text.len(),
    })?;
    out.push(len);
    out.extend_from_slice(text.as_bytes());
    Ok(())
}

/// Writes an item count after checking the limit the decoder enforces.
fn write_count(
    out: &mut Vec<u8>,
    count: usize,
    max: usize,
    what: &'static str,
) -> Result<(), P2pError> {
    if count > max {
        return Err(P2pError::TooManyItems {
            what,
            count: count as u64,
            max,
        });
    }
    write_varint(out, count as u64);
    Ok(())
}

/// Upper-case packet name for error messages.
pub(super) fn packet_name(ty: u8) -> &'static str {
    match ty {
        t::VERSION => "VERSION",
        t::VERACK => "VERACK",
        t::PING => "PING",
        t::PONG => "PONG",
        t::GETADDR => "GETADDR",
        t::ADDR => "ADDR",
        t::INV => "INV",
        t::GETDATA => "GETDATA",
        t::NOTFOUND => "NOTFOUND",
        t::GETHEADERS => "GETHEADERS",
        t::HEADERS => "HEADERS",
        t::SENDHEADERS => "SENDHEADERS",
        t::REJECT => "REJECT",
        t::GETPROOF => "GETPROOF",
        t::PROOF => "PROOF",
        _ => "UNKNOWN",
    }
}
