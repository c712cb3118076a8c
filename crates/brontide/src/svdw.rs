//! The "SVDW squared" encoding of public keys that brontide puts on the wire instead of
//! compressed points, so handshake bytes look uniformly random (hsd `lib/net/brontide.js`
//! `publicKeyToHash`/`publicKeyFromHash`; bcrypto `lib/js/elliptic.js` `pointFromHash`,
//! `pointToHash`, `_svdwf`, `_svdw`, `_svdwi`).
//!
//! Decoding must match bcrypto bit for bit: 64 bytes are two 32-byte big-endian field elements
//! (reduced mod p), each mapped to a point with the Shallue–van de Woestijne map for
//! y² = x³ + 7 with z = 1 and c = √−3 (the root bcrypto fixes), and the two points are added.
//! Encoding is randomized (any preimage decodes correctly): pick a random u₁, invert the map
//! for P − f(u₁) with a random branch, retry until that works.

use rand::RngCore;
use secp256k1::PublicKey;

use crate::field::Fe;

/// √−3 mod p as bcrypto's secp256k1 curve definition fixes it.
const C: [u8; 32] = [
    0x0a, 0x2d, 0x2b, 0xa9, 0x35, 0x07, 0xf1, 0xdf, 0x23, 0x37, 0x70, 0xc2, 0xa7, 0x97, 0x96, 0x2c,
    0xc6, 0x1f, 0x6d, 0x15, 0xda, 0x14, 0xec, 0xd4, 0x7d, 0x8d, 0x27, 0xae, 0x1c, 0xd5, 0xf8, 0x52,
];

/// Most attempts of the randomized encoder (each succeeds with probability ≈ 1/4).
const MAX_ENCODE_ATTEMPTS: usize = 256;

struct Consts {
    c: Fe,
    z: Fe,
    b: Fe,
    gz: Fe,
    half: Fe,
    third: Fe,
}

fn consts() -> Consts {
    let z = Fe::from_u64(1);
    let b = Fe::from_u64(7);
    Consts {
        c: Fe::from_be_bytes_canonical(&C).unwrap_or(Fe::ZERO),
        z,
        b,
        gz: g(z, b),
        half: Fe::from_u64(2).invert_or_zero(),
        third: Fe::from_u64(3).invert_or_zero(),
    }
}

/// g(x) = x³ + 7.
fn g(x: Fe, b: Fe) -> Fe {
    x.square().mul(x).add(b)
}

/// The x coordinate the map picks for `u`, and g(x) (a square by construction).
fn map_x(u: Fe) -> (Fe, Fe) {
    let k = consts();
    let u2 = u.square();
    let u4 = u2.square();
    let t1 = u2.add(k.gz);
    let t2 = u2.mul(t1).invert_or_zero();
    let t3 = u4.mul(t2).mul(k.c);
    let t4 = t1.square().mul(t1);
    // 1 / (3 z²) with z = 1.
    let z3 = k.third;
    let x1 = k.c.sub(k.z).mul(k.half).sub(t3);
    let x2 = t3.sub(k.c.add(k.z).mul(k.half));
    let x3 = k.z.sub(t4.mul(t2).mul(z3));
    let (y1, y2, y3) = (g(x1, k.b), g(x2, k.b), g(x3, k.b));
    // bcrypto: alpha = jacobi(y1) | 1, beta = jacobi(y2) | 1, i = ((alpha − 1) · beta) mod 3.
    let alpha_square = y1.legendre() != Some(false);
    let beta_square = y2.legendre() != Some(false);
    match (alpha_square, beta_square) {
        (true, _) => (x1, y1),
        (false, true) => (x2, y2),
        (false, false) => (x3, y3),
    }
}

/// f(u): the map to a curve point, with y's parity equal to u's.
fn map(u: Fe) -> Option<PublicKey> {
    let (x, yy) = map_x(u);
    let mut y = yy.sqrt()?;
    if y.is_odd() != u.is_odd() {
        y = y.neg();
    }
    point(x, y)
}

fn point(x: Fe, y: Fe) -> Option<PublicKey> {
    let mut bytes = [0u8; 65];
    bytes[0] = 4;
    bytes[1..33].copy_from_slice(&x.to_be_bytes());
    bytes[33..].copy_from_slice(&y.to_be_bytes());
    PublicKey::from_slice(&bytes).ok()
}

fn coordinates(p: &PublicKey) -> (Fe, Fe) {
    let bytes = p.serialize_uncompressed();
    let mut x = [0u8; 32];
    let mut y = [0u8; 32];
    x.copy_from_slice(&bytes[1..33]);
    y.copy_from_slice(&bytes[33..]);
    (Fe::from_be_bytes_reduce(&x), Fe::from_be_bytes_reduce(&y))
}

/// f⁻¹ on branch `r` (0..4): a u with f(u) = p, if that branch has one.
fn unmap(p: &PublicKey, r: u8) -> Option<Fe> {
    let k = consts();
    let (x, y) = coordinates(p);
    let z2 = k.z.square();
    let z3 = z2.mul(k.z);
    let z4 = z2.square();
    let gz2 = k.gz.add(k.gz);
    let x2z = x.add(x).add(k.z);
    let c0 = k.c.sub(x2z);
    let c1 = k.c.add(x2z);
    let nine = Fe::from_u64(9);
    let t0 = x.square().mul(z2).add(z4).mul(nine);
    let t1 = x.mul(z3).mul(Fe::from_u64(18));
    let t2 = k.gz.mul(x.sub(k.z)).mul(Fe::from_u64(12));
    let t3 = if r >= 2 {
        t0.sub(t1).add(t2).sqrt()?
    } else {
        Fe::ZERO
    };
    let t4 = t3.mul(k.z);
    let t5 = z3.sub(x.mul(z2)).mul(Fe::from_u64(3)).sub(gz2);
    let two = Fe::from_u64(2);
    let (n, d) = match r {
        0 => (k.gz.mul(c0), c1),
        1 => (k.gz.mul(c1), c0),
        2 => (t5.add(t4), two),
        _ => (t5.sub(t4), two),
    };
    let mut u = n.div_sqrt(d)?;
    if map_x(u).0 != x {
        return None;
    }
    if u.is_odd() != y.is_odd() {
        u = u.neg();
    }
    Some(u)
}

/// Decodes 64 uniform bytes into the public key they encode (bcrypto `publicKeyFromHash`).
/// `None` if the two halves map to opposite points (the sum is the point at infinity).
pub fn public_key_from_hash(bytes: &[u8; 64]) -> Option<PublicKey> {
    let mut half = [0u8; 32];
    half.copy_from_slice(&bytes[..32]);
    let p1 = map(Fe::from_be_bytes_reduce(&half))?;
    half.copy_from_slice(&bytes[32..]);
    let p2 = map(Fe::from_be_bytes_reduce(&half))?;
    p1.combine(&p2).ok()
}

/// Encodes `key` as 64 bytes that look uniformly random and decode back to `key`
/// (bcrypto `publicKeyToHash`). `None` only if every attempt failed, which does not happen
/// with a working random source.
pub fn public_key_to_hash(key: &PublicKey, rng: &mut impl RngCore) -> Option<[u8; 64]> {
    for _ in 0..MAX_ENCODE_ATTEMPTS {
        let mut raw = [0u8; 32];
        rng.fill_bytes(&mut raw);
        let u1 = Fe::from_be_bytes_reduce(&raw);
        if u1.is_zero() {
            continue;
        }
        let Some(p1) = map(u1) else { continue };
        // key − p1; fails when key == p1 (the difference is the point at infinity).
        let Ok(p2) = key.combine(&p1.negate(secp256k1::SECP256K1)) else {
            continue;
        };
        let branch = (rng.next_u32() & 3) as u8;
        let Some(u2) = unmap(&p2, branch) else {
            continue;
        };
        let mut out = [0u8; 64];
        out[..32].copy_from_slice(&u1.to_be_bytes());
        out[32..].copy_from_slice(&u2.to_be_bytes());
        return Some(out);
    }
    None
}

#[cfg(test)]
mod tests;
