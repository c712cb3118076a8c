//! Bounded little-endian reader and writer helpers shared by every decoder in this crate.
//!
//! Untrusted bytes are read through [`Reader`], which never panics and never trusts a length:
//! every read is checked against the bytes left, and running out of input is reported as
//! [`DecodeError::Eof`] ("need more bytes"), distinct from [`DecodeError::Malformed`].

use thiserror::Error;

/// Why a byte string could not be decoded.
#[derive(Debug, Clone, PartialEq, Eq, Error)]
#[non_exhaustive]
pub enum DecodeError {
    /// The input ended before the structure was complete (more bytes would be needed).
    #[error("unexpected end of input: needed {needed} more bytes at offset {offset}")]
    Eof {
        /// Offset at which the read was attempted.
        offset: usize,
        /// Bytes missing to complete the read.
        needed: usize,
    },
    /// The bytes are present but do not form a valid structure.
    #[error("malformed input at offset {offset}: {reason}")]
    Malformed {
        /// Offset of the offending field.
        offset: usize,
        /// What rule was broken.
        reason: &'static str,
    },
    /// Bytes were left over after a structure that must consume its whole input.
    #[error("{count} trailing bytes after the end of the structure")]
    TrailingBytes {
        /// Number of unread bytes.
        count: usize,
    },
}

/// A cursor over untrusted bytes. All reads are bounds-checked.
#[derive(Debug, Clone)]
pub struct Reader<'a> {
    data: &'a [u8],
    pos: usize,
}

impl<'a> Reader<'a> {
    /// Starts reading at the beginning of `data`.
    pub fn new(data: &'a [u8]) -> Self {
        Reader { data, pos: 0 }
    }

    /// Current offset from the start of the input.
    pub fn position(&self) -> usize {
        self.pos
    }

    /// Bytes not yet read.
    pub fn remaining(&self) -> usize {
        self.data.len() - self.pos
    }

    /// The whole input this reader was created over.
    pub fn data(&self) -> &'a [u8] {
        self.data
    }

    /// Returns a `Malformed` error at the current offset.
    pub fn malformed(&self, reason: &'static str) -> DecodeError {
        DecodeError::Malformed {
            offset: self.pos,
            reason,
        }
    }

    /// Reads exactly `n` bytes.
    pub fn bytes(&mut self, n: usize) -> Result<&'a [u8], DecodeError> {
        if self.remaining() < n {
            return Err(DecodeError::Eof {
                offset: self.pos,
                needed: n - self.remaining(),
            });
        }
        let out = &self.data[self.pos..self.pos + n];
        self.pos += n;
        Ok(out)
    }

    /// Reads a fixed-size array.
    pub fn array<const N: usize>(&mut self) -> Result<[u8; N], DecodeError> {
        let mut out = [0u8; N];
        out.copy_from_slice(self.bytes(N)?);
        Ok(out)
    }

    /// Reads the rest of the input.
    pub fn rest(&mut self) -> &'a [u8] {
        let out = &self.data[self.pos..];
        self.pos = self.data.len();
        out
    }

    /// Reads one byte.
    pub fn u8(&mut self) -> Result<u8, DecodeError> {
        Ok(self.array::<1>()?[0])
    }

    /// Reads a little-endian u16.
    pub fn u16_le(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_le_bytes(self.array()?))
    }

    /// Reads a big-endian u16.
    pub fn u16_be(&mut self) -> Result<u16, DecodeError> {
        Ok(u16::from_be_bytes(self.array()?))
    }

    /// Reads a little-endian u32.
    pub fn u32_le(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_le_bytes(self.array()?))
    }

    /// Reads a big-endian u32.
    pub fn u32_be(&mut self) -> Result<u32, DecodeError> {
        Ok(u32::from_be_bytes(self.array()?))
    }

    /// Reads a little-endian u64.
    pub fn u64_le(&mut self) -> Result<u64, DecodeError> {
        Ok(u64::from_le_bytes(self.array()?))
    }

    /// Reads a Bitcoin CompactSize varint, rejecting non-canonical encodings (as hnsd does).
    pub fn varint(&mut self) -> Result<u64, DecodeError> {
        let start = self.pos;
        let first = self.u8()?;
        let (value, min) = match first {
            0xfd => (u64::from(self.u16_le()?), 0xfd),
            0xfe => (u64::from(self.u32_le()?), 0x1_0000),
            0xff => (self.u64_le()?, 0x1_0000_0000),
            small => return Ok(u64::from(small)),
        };
        if value < min {
            return Err(DecodeError::Malformed {
                offset: start,
                reason: "non-canonical varint",
            });
        }
        Ok(value)
    }

    /// Reads a varint that counts items and checks it against `max` before anything is allocated.
    pub fn count(&mut self, max: usize, what: &'static str) -> Result<usize, DecodeError> {
        let start = self.pos;
        let n = self.varint()?;
        if n > max as u64 {
            return Err(DecodeError::Malformed {
                offset: start,
                reason: what,
            });
        }
        Ok(n as usize)
    }

    /// Fails with [`DecodeError::TrailingBytes`] unless the whole input was consumed.
    pub fn finish(&self) -> Result<(), DecodeError> {
        match self.remaining() {
            0 => Ok(()),
            count => Err(DecodeError::TrailingBytes { count }),
        }
    }
}

/// Appends a Bitcoin CompactSize varint (canonical, shortest form).
pub fn write_varint(out: &mut Vec<u8>, value: u64) {
    match value {
        0..=0xfc => out.push(value as u8),
        0xfd..=0xffff => {
            out.push(0xfd);
            out.extend_from_slice(&(value as u16).to_le_bytes());
        }
        0x1_0000..=0xffff_ffff => {
            out.push(0xfe);
            out.extend_from_slice(&(value as u32).to_le_bytes());
        }
        _ => {
            out.push(0xff);
            out.extend_from_slice(&value.to_le_bytes());
        }
    }
}

/// Size in bytes of the canonical varint encoding of `value`.
pub fn varint_size(value: u64) -> usize {
    match value {
        0..=0xfc => 1,
        0xfd..=0xffff => 3,
        0x1_0000..=0xffff_ffff => 5,
        _ => 9,
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use proptest::prelude::*;

    #[test]
    fn varint_rejects_non_canonical() {
        assert!(matches!(
            Reader::new(&[0xfd, 0x10, 0x00]).varint(),
            Err(DecodeError::Malformed { .. })
        ));
        assert_eq!(Reader::new(&[0xfd, 0xfd, 0x00]).varint(), Ok(0xfd));
    }

    #[test]
    fn eof_is_distinct_from_malformed() {
        assert_eq!(
            Reader::new(&[0xfe, 1]).varint(),
            Err(DecodeError::Eof {
                offset: 1,
                needed: 3
            })
        );
    }

    proptest! {
        #[test]
        fn varint_round_trips(v in any::<u64>()) {
            let mut out = Vec::new();
            write_varint(&mut out, v);
            prop_assert_eq!(out.len(), varint_size(v));
            let mut r = Reader::new(&out);
            prop_assert_eq!(r.varint(), Ok(v));
            prop_assert!(r.finish().is_ok());
        }

        #[test]
        fn reader_never_panics(data in proptest::collection::vec(any::<u8>(), 0..32)) {
            let mut r = Reader::new(&data);
            let _ = r.varint();
            let _ = r.u64_le();
            let _ = r.count(10, "too many");
        }
    }
}
