//! Bit strings: the prefixes of Urkel internal nodes (1..=256 bits, most significant first).

use crate::encoding::{DecodeError, Reader};

use super::KEY_BITS;

/// A bit string (a node prefix), most significant bit first, 1..=256 bits.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct Bits {
    size: u16,
    data: [u8; 32],
}

// === impl Bits ===

impl Bits {
    /// Builds a bit string of `size` bits (1..=256) from MSB-first bytes; unused bits must be 0.
    pub fn new(size: u16, bytes: &[u8]) -> Option<Bits> {
        let len = usize::from(size).div_ceil(8);
        if size == 0 || size > KEY_BITS || bytes.len() != len {
            return None;
        }
        let mut data = [0u8; 32];
        data[..len].copy_from_slice(bytes);
        let bits = Bits { size, data };
        bits.padding_is_zero().then_some(bits)
    }

    /// Number of bits.
    pub fn size(&self) -> u16 {
        self.size
    }

    /// The bytes holding the bits (`ceil(size / 8)` of them).
    pub fn bytes(&self) -> &[u8] {
        &self.data[..usize::from(self.size).div_ceil(8)]
    }

    /// Bit `i` (MSB first).
    pub fn bit(&self, i: u16) -> bool {
        bit_at(&self.data, i)
    }

    /// Whether these bits equal the key's bits `at..at + size`.
    pub(super) fn matches_key(&self, key: &[u8; 32], at: u16) -> bool {
        if u32::from(at) + u32::from(self.size) > u32::from(KEY_BITS) {
            return false;
        }
        (0..self.size).all(|i| self.bit(i) == bit_at(key, at + i))
    }

    fn padding_is_zero(&self) -> bool {
        (self.size..(self.bytes().len() as u16 * 8)).all(|i| !self.bit(i))
    }

    pub(super) fn read(r: &mut Reader<'_>) -> Result<Bits, DecodeError> {
        let start = r.position();
        let first = r.u8()?;
        let size = if first & 0x80 != 0 {
            let size = (u16::from(first & 0x7f) << 8) | u16::from(r.u8()?);
            if size < 0x80 {
                return Err(DecodeError::Malformed {
                    offset: start,
                    reason: "non-canonical two-byte bit-string size",
                });
            }
            size
        } else {
            u16::from(first)
        };
        if size == 0 || size > KEY_BITS {
            return Err(DecodeError::Malformed {
                offset: start,
                reason: "bit-string size outside 1..=256",
            });
        }
        let bytes = r.bytes(usize::from(size).div_ceil(8))?;
        Bits::new(size, bytes).ok_or(DecodeError::Malformed {
            offset: start,
            reason: "non-zero padding bits in bit-string",
        })
    }

    pub(super) fn write(&self, out: &mut Vec<u8>) {
        if self.size < 0x80 {
            out.push(self.size as u8);
        } else {
            out.push(0x80 | (self.size >> 8) as u8);
            out.push((self.size & 0xff) as u8);
        }
        out.extend_from_slice(self.bytes());
    }
}

pub(super) fn bit_at(bytes: &[u8; 32], i: u16) -> bool {
    let i = usize::from(i);
    i < 256 && (bytes[i >> 3] >> (7 - (i & 7))) & 1 == 1
}
