//! Arithmetic in secp256k1's base field F(p), p = 2^256 − 2^32 − 977, on `ruint` integers.
//! Only the SVDW map needs it (a handful of inversions and square roots per handshake), so
//! clarity beats speed here; points themselves are handled by libsecp256k1.

use ruint::aliases::U256;

/// The field prime.
pub(crate) const P: U256 = U256::from_be_bytes([
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff,
    0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xff, 0xfe, 0xff, 0xff, 0xfc, 0x2f,
]);

/// An element of F(p), always reduced.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) struct Fe(U256);

impl Fe {
    pub(crate) const ZERO: Fe = Fe(U256::ZERO);

    /// A small constant.
    pub(crate) fn from_u64(v: u64) -> Fe {
        Fe(U256::from(v))
    }

    /// 32 big-endian bytes, reduced mod p (inputs ≥ p wrap, as bcrypto's `decodeUniform`).
    pub(crate) fn from_be_bytes_reduce(bytes: &[u8; 32]) -> Fe {
        let v = U256::from_be_bytes(*bytes);
        Fe(if v >= P { v - P } else { v })
    }

    /// 32 big-endian bytes if the value is below p.
    pub(crate) fn from_be_bytes_canonical(bytes: &[u8; 32]) -> Option<Fe> {
        let v = U256::from_be_bytes(*bytes);
        (v < P).then_some(Fe(v))
    }

    /// The canonical 32-byte big-endian encoding.
    pub(crate) fn to_be_bytes(self) -> [u8; 32] {
        self.0.to_be_bytes()
    }

    pub(crate) fn is_zero(self) -> bool {
        self.0.is_zero()
    }

    /// Parity of the canonical integer (the "sign" the map uses).
    pub(crate) fn is_odd(self) -> bool {
        self.0.bit(0)
    }

    pub(crate) fn add(self, o: Fe) -> Fe {
        Fe(self.0.add_mod(o.0, P))
    }

    pub(crate) fn sub(self, o: Fe) -> Fe {
        self.add(o.neg())
    }

    pub(crate) fn neg(self) -> Fe {
        if self.0.is_zero() {
            self
        } else {
            Fe(P - self.0)
        }
    }

    pub(crate) fn mul(self, o: Fe) -> Fe {
        Fe(self.0.mul_mod(o.0, P))
    }

    pub(crate) fn square(self) -> Fe {
        self.mul(self)
    }

    fn pow(self, e: U256) -> Fe {
        Fe(self.0.pow_mod(e, P))
    }

    /// The inverse; zero has none and maps to zero (the map's convention for `1/0`).
    pub(crate) fn invert_or_zero(self) -> Fe {
        Fe(self.0.inv_mod(P).unwrap_or(U256::ZERO))
    }

    /// Euler's criterion: `Some(true)` square, `Some(false)` non-square, `None` zero.
    pub(crate) fn legendre(self) -> Option<bool> {
        if self.is_zero() {
            return None;
        }
        let e = (P - U256::from(1u8)) >> 1;
        Some(self.pow(e) == Fe(U256::from(1u8)))
    }

    /// A square root (p ≡ 3 mod 4: `a^((p+1)/4)`), if `self` is a square.
    pub(crate) fn sqrt(self) -> Option<Fe> {
        let e = (P + U256::from(1u8)) >> 2;
        let r = self.pow(e);
        (r.square() == self).then_some(r)
    }

    /// `sqrt(self / d)`, if `d` is non-zero and the quotient is a square.
    pub(crate) fn div_sqrt(self, d: Fe) -> Option<Fe> {
        if d.is_zero() {
            return None;
        }
        self.mul(d.invert_or_zero()).sqrt()
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn inverse_square_root_and_reduction() {
        let seven = Fe::from_u64(7);
        assert_eq!(seven.mul(seven.invert_or_zero()), Fe::from_u64(1));
        assert_eq!(Fe::ZERO.invert_or_zero(), Fe::ZERO);
        let four = Fe::from_u64(4);
        let r = four.sqrt().unwrap();
        assert_eq!(r.square(), four);
        assert_eq!(four.legendre(), Some(true));
        // −1 is not a square when p ≡ 3 mod 4.
        assert_eq!(Fe::from_u64(1).neg().legendre(), Some(false));
        assert_eq!(Fe::from_u64(1).neg().sqrt(), None);
        assert_eq!(Fe::ZERO.legendre(), None);
        // p + 5 reduces to 5; p itself is not canonical.
        let mut bytes = P.to_be_bytes::<32>();
        assert_eq!(Fe::from_be_bytes_canonical(&bytes), None);
        bytes[31] += 5;
        assert_eq!(Fe::from_be_bytes_reduce(&bytes), Fe::from_u64(5));
        assert_eq!(Fe::from_u64(3).sub(Fe::from_u64(5)), Fe::from_u64(2).neg());
    }
}
