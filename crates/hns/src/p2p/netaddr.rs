//! Shared encodings: the 88-byte `NetAddress` and the 36-byte inventory item (hns-chain.md §4.3).

use std::net::{IpAddr, Ipv6Addr, SocketAddr};

use crate::encoding::{DecodeError, Reader};
use crate::types::{BlockHash, Hash256};

/// Serialized size of a [`NetAddress`].
pub const NET_ADDRESS_SIZE: usize = 88;

/// A peer address as carried in `VERSION` and `ADDR`.
///
/// Kept exactly as on the wire (including the address type and the reserved bytes hsd ignores),
/// so that decoding and re-encoding give the same bytes. Use [`NetAddress::socket_addr`] to get a
/// usable address.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct NetAddress {
    /// Last-seen time, unix seconds.
    pub time: u64,
    /// Service bits (hsd writes the low 32 bits and a zero high word).
    pub services: u64,
    /// Address type: 0 = IP; hsd treats anything else as the all-zero address.
    pub addr_type: u8,
    /// IPv6 address (IPv4 as `::ffff:a.b.c.d`).
    pub ip: Ipv6Addr,
    /// 20 reserved bytes (zeros from hsd).
    pub reserved: [u8; 20],
    /// Port (little-endian on the wire, unlike Bitcoin).
    pub port: u16,
    /// Brontide public key (compressed secp256k1) or 33 zero bytes.
    pub key: [u8; 33],
}

/// An inventory item: type and hash.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub struct InvItem {
    /// Item type ([`InvItem::TX`], [`InvItem::BLOCK`], ...).
    pub ty: u32,
    /// Transaction or block hash.
    pub hash: Hash256,
}

// === impl NetAddress ===

impl NetAddress {
    /// An IP address entry with no brontide key and zero reserved bytes.
    pub fn from_socket_addr(addr: SocketAddr, services: u64, time: u64) -> NetAddress {
        let ip = match addr.ip() {
            IpAddr::V4(v4) => v4.to_ipv6_mapped(),
            IpAddr::V6(v6) => v6,
        };
        NetAddress {
            time,
            services,
            addr_type: 0,
            ip,
            reserved: [0; 20],
            port: addr.port(),
            key: [0; 33],
        }
    }

    /// The address to connect to, or `None` for a non-IP entry. IPv4-mapped addresses are
    /// returned as IPv4.
    pub fn socket_addr(&self) -> Option<SocketAddr> {
        if self.addr_type != 0 {
            return None;
        }
        let ip = match self.ip.to_ipv4_mapped() {
            Some(v4) => IpAddr::V4(v4),
            None => IpAddr::V6(self.ip),
        };
        Some(SocketAddr::new(ip, self.port))
    }

    /// The brontide key, unless it is all zeros.
    pub fn brontide_key(&self) -> Option<&[u8; 33]> {
        self.key.iter().any(|&b| b != 0).then_some(&self.key)
    }

    /// Reads 88 bytes.
    pub fn read(r: &mut Reader<'_>) -> Result<NetAddress, DecodeError> {
        Ok(NetAddress {
            time: r.u64_le()?,
            services: r.u64_le()?,
            addr_type: r.u8()?,
            ip: Ipv6Addr::from(r.array::<16>()?),
            reserved: r.array()?,
            port: r.u16_le()?,
            key: r.array()?,
        })
    }

    /// Appends the 88-byte wire form.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.time.to_le_bytes());
        out.extend_from_slice(&self.services.to_le_bytes());
        out.push(self.addr_type);
        out.extend_from_slice(&self.ip.octets());
        out.extend_from_slice(&self.reserved);
        out.extend_from_slice(&self.port.to_le_bytes());
        out.extend_from_slice(&self.key);
    }
}

// === impl InvItem ===

impl InvItem {
    /// Serialized size.
    pub const SIZE: usize = 36;
    /// A transaction.
    pub const TX: u32 = 1;
    /// A block (what hsd announces new blocks with).
    pub const BLOCK: u32 = 2;
    /// A filtered block.
    pub const FILTERED_BLOCK: u32 = 3;
    /// A compact block.
    pub const CMPCT_BLOCK: u32 = 4;
    /// A claim.
    pub const CLAIM: u32 = 5;
    /// An airdrop proof.
    pub const AIRDROP: u32 = 6;

    /// The block hash, if this item is a block.
    pub fn block_hash(&self) -> Option<BlockHash> {
        (self.ty == Self::BLOCK).then_some(BlockHash(self.hash.0))
    }

    /// Reads 36 bytes.
    pub fn read(r: &mut Reader<'_>) -> Result<InvItem, DecodeError> {
        Ok(InvItem {
            ty: r.u32_le()?,
            hash: Hash256(r.array()?),
        })
    }

    /// Appends the 36-byte wire form.
    pub fn write(&self, out: &mut Vec<u8>) {
        out.extend_from_slice(&self.ty.to_le_bytes());
        out.extend_from_slice(&self.hash.0);
    }
}
