//! Signature bytes that can exist for the elliptic-curve JWS algorithms.
//!
//! A decoy signed with `ES*` or `EdDSA` cannot carry a real signature (we do
//! not hold the issuer's key), but its bytes must still be ones the curve can
//! produce, or one look at them proves the token is fake:
//!
//! * ECDSA (RFC 7518 §3.4): the signature is `r || s`, each big-endian in the
//!   curve's fixed width (32, 48 or 66 bytes), each in `[1, n)` for the order
//!   `n` of the curve's base point. P-521's `n` is a 521-bit number, so the
//!   top byte of each half is 0x00 or 0x01.
//! * EdDSA (RFC 8032 §5.1.7, §5.2.7): the signature is `R || S`; `R` must
//!   decode to a curve point and `S`, little-endian, must be below the group
//!   order `L`. A real `R` is `r·B`, in the prime-order subgroup, so ours is a
//!   random point multiplied by the cofactor (8 for Ed25519, 4 for Ed448).
//!
//! Everything is drawn from a keyed stream, so the bytes are a deterministic
//! function of the key and the signing input and the decoy still detects any
//! edit (see `jwt::verify`).

use num_bigint::BigUint;
use num_traits::{One, Zero};
use std::sync::OnceLock;

/// An elliptic-curve signature scheme a JWS `alg` names.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub(crate) enum EcScheme {
    /// ES256: ECDSA over P-256.
    P256,
    /// ES256K: ECDSA over secp256k1.
    Secp256k1,
    /// ES384: ECDSA over P-384.
    P384,
    /// ES512: ECDSA over P-521.
    P521,
    /// EdDSA over edwards25519.
    Ed25519,
    /// EdDSA over edwards448.
    Ed448,
}

impl EcScheme {
    /// The scheme of `alg`; JOSE's `EdDSA` names both curves (RFC 8037 §3.1),
    /// told apart by the signature's length.
    pub(crate) fn of(alg: &str, sig_len: usize) -> Option<EcScheme> {
        Some(match alg {
            "ES256" => EcScheme::P256,
            "ES256K" => EcScheme::Secp256k1,
            "ES384" => EcScheme::P384,
            "ES512" => EcScheme::P521,
            "Ed25519" => EcScheme::Ed25519,
            "Ed448" => EcScheme::Ed448,
            "EdDSA" if sig_len == EcScheme::Ed448.sig_len() => EcScheme::Ed448,
            "EdDSA" => EcScheme::Ed25519,
            _ => return None,
        })
    }

    /// The one length a signature of this scheme has.
    pub(crate) fn sig_len(self) -> usize {
        match self {
            EcScheme::P256 | EcScheme::Secp256k1 | EcScheme::Ed25519 => 64,
            EcScheme::P384 => 96,
            EcScheme::P521 => 132,
            EcScheme::Ed448 => 114,
        }
    }

    /// What a signature of this scheme is, for error messages.
    pub(crate) fn describe(self) -> &'static str {
        match self {
            EcScheme::P256 => "64 bytes (r and s of 32 bytes each, P-256)",
            EcScheme::Secp256k1 => "64 bytes (r and s of 32 bytes each, secp256k1)",
            EcScheme::P384 => "96 bytes (r and s of 48 bytes each, P-384)",
            EcScheme::P521 => "132 bytes (r and s of 66 bytes each, P-521)",
            EcScheme::Ed25519 => "64 bytes for Ed25519 (R and S of 32 bytes each)",
            EcScheme::Ed448 => "114 bytes for Ed448 (R and S of 57 bytes each)",
        }
    }

    /// Signature bytes of this scheme drawn from `stream` (which returns the
    /// next `n` pseudo-random bytes on each call).
    pub(crate) fn signature(self, stream: &mut impl FnMut(usize) -> Vec<u8>) -> Vec<u8> {
        match self {
            EcScheme::Ed25519 => edwards_signature(ed25519(), stream),
            EcScheme::Ed448 => edwards_signature(ed448(), stream),
            _ => {
                let n = ecdsa_order(self);
                let w = self.sig_len() / 2;
                let mut out = Vec::with_capacity(2 * w);
                for _ in 0..2 {
                    // 128 surplus bits make the modulo bias negligible.
                    let v = BigUint::from_bytes_be(&stream(w + 16)) % (n - 1u32) + 1u32;
                    out.extend(be_fixed(&v, w));
                }
                out
            }
        }
    }
}

fn hex(h: &str) -> BigUint {
    BigUint::parse_bytes(h.as_bytes(), 16).expect("a hex constant")
}

/// The order of the base point of each ECDSA curve (SEC 2, FIPS 186-5).
fn ecdsa_order(s: EcScheme) -> &'static BigUint {
    static ORDERS: OnceLock<[BigUint; 4]> = OnceLock::new();
    let o = ORDERS.get_or_init(|| {
        [
            hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
            hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
            hex(concat!(
                "ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf",
                "581a0db248b0a77aecec196accc52973"
            )),
            hex(concat!(
                "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"
            )),
        ]
    });
    match s {
        EcScheme::P256 => &o[0],
        EcScheme::Secp256k1 => &o[1],
        EcScheme::P384 => &o[2],
        _ => &o[3],
    }
}

fn be_fixed(v: &BigUint, w: usize) -> Vec<u8> {
    let b = v.to_bytes_be();
    let mut out = vec![0u8; w - b.len()];
    out.extend(b);
    out
}

fn le_fixed(v: &BigUint, w: usize) -> Vec<u8> {
    let mut b = v.to_bytes_le();
    b.resize(w, 0);
    b
}

/// An Edwards curve `a·x² + y² = 1 + d·x²·y²` over GF(p) (RFC 8032 §5.1, §5.2).
struct Edwards {
    p: BigUint,
    /// `a` is -1 (edwards25519) or 1 (edwards448).
    a_negative: bool,
    d: BigUint,
    /// Order of the prime-order subgroup.
    l: BigUint,
    /// Bytes of an encoded point and of an encoded scalar.
    enc_len: usize,
    /// log2 of the cofactor.
    cofactor_doublings: u32,
}

fn ed25519() -> &'static Edwards {
    static C: OnceLock<Edwards> = OnceLock::new();
    C.get_or_init(|| {
        let p = (BigUint::one() << 255u32) - 19u32;
        // d = -121665 / 121666
        let inv = BigUint::from(121_666u32).modpow(&(&p - 2u32), &p);
        let d = (&p - BigUint::from(121_665u32)) * inv % &p;
        Edwards {
            l: (BigUint::one() << 252u32)
                + BigUint::parse_bytes(b"27742317777372353535851937790883648493", 10).expect("decimal"),
            p,
            a_negative: true,
            d,
            enc_len: 32,
            cofactor_doublings: 3,
        }
    })
}

fn ed448() -> &'static Edwards {
    static C: OnceLock<Edwards> = OnceLock::new();
    C.get_or_init(|| {
        let p = (BigUint::one() << 448u32) - (BigUint::one() << 224u32) - 1u32;
        Edwards {
            d: &p - 39_081u32,
            l: (BigUint::one() << 446u32)
                - BigUint::parse_bytes(
                    b"13818066809895115352007386748515426880336692474882178609894547503885",
                    10,
                )
                .expect("decimal"),
            p,
            a_negative: false,
            enc_len: 57,
            cofactor_doublings: 2,
        }
    })
}

impl Edwards {
    fn sub(&self, x: &BigUint, y: &BigUint) -> BigUint {
        (x + &self.p - y % &self.p) % &self.p
    }

    fn mul(&self, x: &BigUint, y: &BigUint) -> BigUint {
        x * y % &self.p
    }

    fn inv(&self, x: &BigUint) -> BigUint {
        x.modpow(&(&self.p - 2u32), &self.p)
    }

    /// The square root of `v` with the low bit `sign`, if there is one
    /// (RFC 8032 §5.1.3 step 3 and §5.2.3 step 3).
    fn sqrt(&self, v: &BigUint, sign: bool) -> Option<BigUint> {
        let p = &self.p;
        let mut x = if p.bit(1) {
            // p = 3 (mod 4)
            v.modpow(&((p + 1u32) >> 2u32), p)
        } else {
            // p = 5 (mod 8)
            let x = v.modpow(&((p + 3u32) >> 3u32), p);
            if self.mul(&x, &x) == *v {
                x
            } else {
                let sqrt_m1 = BigUint::from(2u32).modpow(&((p - 1u32) >> 2u32), p);
                self.mul(&x, &sqrt_m1)
            }
        };
        if self.mul(&x, &x) != *v {
            return None;
        }
        if x.is_zero() && sign {
            return None;
        }
        if x.bit(0) != sign {
            x = p - x;
        }
        Some(x)
    }

    /// Decodes `y` and the sign of `x` into a point on the curve.
    fn decompress(&self, y: &BigUint, sign: bool) -> Option<(BigUint, BigUint)> {
        if *y >= self.p {
            return None;
        }
        let y2 = self.mul(y, y);
        let num = self.sub(&y2, &BigUint::one());
        let dy2 = self.mul(&self.d, &y2);
        let den = if self.a_negative {
            (dy2 + 1u32) % &self.p
        } else {
            self.sub(&dy2, &BigUint::one())
        };
        if den.is_zero() {
            return None;
        }
        let x2 = self.mul(&num, &self.inv(&den));
        Some((self.sqrt(&x2, sign)?, y.clone()))
    }

    /// Affine point doubling with the complete addition law.
    fn double(&self, (x, y): &(BigUint, BigUint)) -> (BigUint, BigUint) {
        let xy = self.mul(x, y);
        let dxxyy = self.mul(&self.d, &self.mul(&xy, &xy));
        let x3 = self.mul(&(&xy + &xy), &self.inv(&((BigUint::one() + &dxxyy) % &self.p)));
        let xx = self.mul(x, x);
        let yy = self.mul(y, y);
        let num = if self.a_negative {
            (yy + xx) % &self.p
        } else {
            self.sub(&yy, &xx)
        };
        let y3 = self.mul(&num, &self.inv(&self.sub(&BigUint::one(), &dxxyy)));
        (x3, y3)
    }

    fn encode(&self, (x, y): &(BigUint, BigUint)) -> Vec<u8> {
        let mut out = le_fixed(y, self.enc_len);
        if x.bit(0) {
            out[self.enc_len - 1] |= 0x80;
        }
        out
    }
}

fn edwards_signature(c: &Edwards, stream: &mut impl FnMut(usize) -> Vec<u8>) -> Vec<u8> {
    // About half of all y are on the curve; a draw fails 64 times in a row
    // with probability 2^-64, and then the loop simply goes on.
    let r = loop {
        let bytes = stream(c.enc_len + 16);
        let y = BigUint::from_bytes_le(&bytes[1..]) % &c.p;
        let Some(mut pt) = c.decompress(&y, bytes[0] & 1 == 1) else {
            continue;
        };
        for _ in 0..c.cofactor_doublings {
            pt = c.double(&pt);
        }
        // A point of small order lands on the neutral element (0, 1).
        if !(pt.0.is_zero() && pt.1.is_one()) {
            break c.encode(&pt);
        }
    };
    let s = BigUint::from_bytes_le(&stream(c.enc_len + 16)) % &c.l;
    let mut out = r;
    out.extend(le_fixed(&s, c.enc_len));
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ed25519_base_point_decodes_and_random_y_often_does() {
        let c = ed25519();
        // B = (x, 4/5) with x even (RFC 8032 §5.1).
        let y = BigUint::from(4u32) * c.inv(&BigUint::from(5u32)) % &c.p;
        let b = c.decompress(&y, false).expect("base point");
        let enc = c.encode(&b);
        assert_eq!(
            hex::encode(&enc),
            "5866666666666666666666666666666666666666666666666666666666666666"
        );
        // A random byte string is a point encoding about half the time.
        let valid = (0u32..64)
            .filter(|i| c.decompress(&BigUint::from(*i + 2), false).is_some())
            .count();
        assert!((10..54).contains(&valid), "{valid}");
    }

    #[test]
    fn ecdsa_halves_stay_below_the_order() {
        let mut all_ff = |n: usize| vec![0xffu8; n];
        for s in [EcScheme::P256, EcScheme::Secp256k1, EcScheme::P384, EcScheme::P521] {
            let sig = s.signature(&mut all_ff);
            assert_eq!(sig.len(), s.sig_len());
            let w = sig.len() / 2;
            for half in [&sig[..w], &sig[w..]] {
                let v = BigUint::from_bytes_be(half);
                assert!(!v.is_zero() && v < *ecdsa_order(s), "{s:?}");
            }
        }
    }
}
