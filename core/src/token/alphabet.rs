//! Token alphabets and the fixed-width encoding of a token's identity
//! (id and tag, 128 bits) into the last characters of its body.
//!
//! The identity is encoded as the low 128 bits of a number `N` written with
//! exactly `identity_len()` digits; the bits above 128 are random and `N` is
//! uniform over the digits' range, so every digit, including the first, is
//! uniform and the shape carries no fingerprint. Decoding needs no big integers: Horner's rule in wrapping
//! `u128` arithmetic yields `N mod 2^128` directly.

use num_bigint::BigUint;
use num_traits::One;
use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

/// The character set of a token body.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash, Serialize, Deserialize)]
#[serde(rename_all = "snake_case")]
pub enum Alphabet {
    /// `0-9A-Za-z`, as most vendors' secret keys.
    Base62,
    /// `0-9a-f`.
    Hex,
    /// `0-9A-F`.
    HexUpper,
    /// `A-Za-z0-9-_` (RFC 4648 §5, unpadded).
    Base64url,
    /// `A-Z2-7` (RFC 4648 §6, unpadded).
    Base32,
    /// `a-z2-7`.
    Base32Lower,
    /// `0-9`, as the numeric parts of some vendors' tokens.
    Digits,
}

const BASE62: &[u8; 62] = b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz";
const HEX: &[u8; 16] = b"0123456789abcdef";
const HEX_UPPER: &[u8; 16] = b"0123456789ABCDEF";
const BASE64URL: &[u8; 64] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_";
const BASE32: &[u8; 32] = b"ABCDEFGHIJKLMNOPQRSTUVWXYZ234567";
const BASE32_LOWER: &[u8; 32] = b"abcdefghijklmnopqrstuvwxyz234567";
const DIGITS: &[u8; 10] = b"0123456789";

/// Alphabets tried when recognising a candidate. Case variants of hex and
/// base32 decode case-insensitively, so each family is tried once.
pub const RECOGNISED: [Alphabet; 5] = [
    Alphabet::Base62,
    Alphabet::Hex,
    Alphabet::Base32,
    Alphabet::Base64url,
    Alphabet::Digits,
];

/// Characters that may separate groups inside a body (`xoxb-123-456`).
pub fn is_separator(b: u8) -> bool {
    matches!(b, b'-' | b'_' | b'.')
}

struct Table([u8; 256]);

const INVALID: u8 = 0xff;

const fn table(chars: &[u8], case_insensitive: bool) -> Table {
    let mut t = [INVALID; 256];
    let mut i = 0;
    while i < chars.len() {
        let c = chars[i];
        t[c as usize] = i as u8;
        if case_insensitive {
            t[c.to_ascii_lowercase() as usize] = i as u8;
            t[c.to_ascii_uppercase() as usize] = i as u8;
        }
        i += 1;
    }
    Table(t)
}

static T_BASE62: Table = table(BASE62, false);
static T_HEX: Table = table(HEX, true);
static T_BASE64URL: Table = table(BASE64URL, false);
static T_BASE32: Table = table(BASE32, true);
static T_DIGITS: Table = table(DIGITS, false);
// Exact (case-sensitive) membership, for the case variants of hex and base32.
static X_HEX: Table = table(HEX, false);
static X_HEX_UPPER: Table = table(HEX_UPPER, false);
static X_BASE32: Table = table(BASE32, false);
static X_BASE32_LOWER: Table = table(BASE32_LOWER, false);

impl Alphabet {
    /// All alphabets, for `--help` and property tests.
    pub const ALL: [Alphabet; 7] = [
        Alphabet::Base62,
        Alphabet::Hex,
        Alphabet::HexUpper,
        Alphabet::Base64url,
        Alphabet::Base32,
        Alphabet::Base32Lower,
        Alphabet::Digits,
    ];

    /// The characters, in digit order.
    pub fn chars(self) -> &'static [u8] {
        match self {
            Alphabet::Base62 => BASE62,
            Alphabet::Hex => HEX,
            Alphabet::HexUpper => HEX_UPPER,
            Alphabet::Base64url => BASE64URL,
            Alphabet::Base32 => BASE32,
            Alphabet::Base32Lower => BASE32_LOWER,
            Alphabet::Digits => DIGITS,
        }
    }

    fn table(self) -> &'static Table {
        match self {
            Alphabet::Base62 => &T_BASE62,
            Alphabet::Hex | Alphabet::HexUpper => &T_HEX,
            Alphabet::Base64url => &T_BASE64URL,
            Alphabet::Base32 | Alphabet::Base32Lower => &T_BASE32,
            Alphabet::Digits => &T_DIGITS,
        }
    }

    /// Radix.
    pub fn radix(self) -> u32 {
        self.chars().len() as u32
    }

    /// Whether `b` is a digit of this alphabet (case-insensitively for hex
    /// and base32, which decode either case).
    pub fn contains(self, b: u8) -> bool {
        self.table().0[b as usize] != INVALID
    }

    /// Whether `b` is one of [`Alphabet::chars`] exactly (case-sensitive):
    /// what a minted body's digits are.
    pub fn has_char(self, b: u8) -> bool {
        let t = match self {
            Alphabet::Hex => &X_HEX,
            Alphabet::HexUpper => &X_HEX_UPPER,
            Alphabet::Base32 => &X_BASE32,
            Alphabet::Base32Lower => &X_BASE32_LOWER,
            a => a.table(),
        };
        t.0[b as usize] != INVALID
    }

    /// Whether separators inside a body are skipped when decoding.
    fn skips_separators(self) -> bool {
        !matches!(self, Alphabet::Base64url)
    }

    /// Number of trailing digits that carry the 128-bit identity; also the
    /// shortest body this alphabet can carry.
    pub fn identity_len(self) -> usize {
        match self.radix() {
            10 => 39,
            16 => 32,
            32 => 26,
            62 | 64 => 22,
            _ => unreachable!("fixed alphabets"),
        }
    }

    /// Encodes `identity` as exactly `identity_len()` digits, or `None`:
    /// then the caller draws another id.
    ///
    /// The digits write a number `N = top·2^128 + identity` below
    /// `radix^identity_len()`, and decoding reduces it mod 2^128. `top` is
    /// uniform over `0..ceil(radix^m / 2^128)` and a pair whose `N` overflows
    /// the digits is refused: over random ids the accepted `N` are exactly
    /// uniform below `radix^m`, so every digit, the first included, is
    /// uniform over the alphabet. (Drawing `top` only below `floor(radix^m /
    /// 2^128)` never refuses but left base62's first digit short of `t`-`z`
    /// and the digits' short of 7-9.) Refusals happen only where `radix^m` is
    /// not a multiple of 2^128: base62 about 0.6 % of draws, digits about 2 %.
    pub fn encode_identity(self, identity: u128, rng: &mut impl Rng) -> Option<Vec<u8>> {
        let m = self.identity_len();
        let radix = BigUint::from(self.radix());
        let space = radix.pow(m as u32);
        let two128 = BigUint::one() << 128u32;
        let tops = (&space + &two128 - 1u32) / &two128;
        let tops = tops.to_u64_digits().first().copied().unwrap_or(1);
        let mut n = BigUint::from(rng.random_range(0..tops)) * &two128 + BigUint::from(identity);
        if n >= space {
            return None;
        }
        let mut digits = vec![0u8; m];
        let chars = self.chars();
        for slot in digits.iter_mut().rev() {
            let d = (&n % &radix).to_u32_digits().first().copied().unwrap_or(0);
            *slot = chars[d as usize];
            n /= &radix;
        }
        Some(digits)
    }

    /// Decodes the identity from the last `identity_len()` digits of `s`,
    /// skipping separators where the alphabet allows. `None` if `s` does not
    /// end in enough digits of this alphabet.
    #[inline]
    pub fn decode_identity(self, s: &[u8]) -> Option<u128> {
        let m = self.identity_len();
        if s.len() < m {
            return None;
        }
        let t = &self.table().0;
        let skip = self.skips_separators();
        let radix = self.radix() as u128;
        // Collect the last m digits, walking backwards.
        let mut buf = [0u8; 40];
        let mut n = 0usize;
        for &b in s.iter().rev() {
            let d = t[b as usize];
            if d == INVALID {
                if skip && is_separator(b) {
                    continue;
                }
                return None;
            }
            buf[m - 1 - n] = d;
            n += 1;
            if n == m {
                break;
            }
        }
        if n < m {
            return None;
        }
        let mut acc: u128 = 0;
        for &d in &buf[..m] {
            acc = acc.wrapping_mul(radix).wrapping_add(d as u128);
        }
        Some(acc)
    }

    /// The cheap shape pre-filter run before any HMAC: whether the last
    /// `identity_len()` digits of `s` could be an encoded identity. Those
    /// digits are uniformly random in a token of ours, so they use many
    /// distinct characters (a random 22-digit base62 run has fewer than 9
    /// with probability about 1e-10, and `mint` re-draws any token that would
    /// fail); filler such as `AAAA…`, `word0000…0042` or padding never does.
    #[inline]
    pub fn plausible_identity(self, s: &[u8]) -> bool {
        let m = self.identity_len();
        let t = &self.table().0;
        let skip = self.skips_separators();
        let mut seen: u64 = 0;
        let mut n = 0usize;
        for &b in s.iter().rev() {
            let d = t[b as usize];
            if d == INVALID {
                if skip && is_separator(b) {
                    continue;
                }
                return false;
            }
            seen |= 1u64 << (d & 63);
            n += 1;
            if n == m {
                break;
            }
        }
        n == m && seen.count_ones() >= self.min_distinct()
    }

    /// Fewest distinct digits an identity's digits may show (see
    /// [`Alphabet::plausible_identity`]); each bound is passed by uniform
    /// digits with probability above 1 - 1e-9.
    fn min_distinct(self) -> u32 {
        match self.radix() {
            10 => 6,
            16 => 7,
            32 => 8,
            _ => 9,
        }
    }

    /// Whether every character of `self` is also one of `other`'s.
    pub fn is_subset_of(self, other: Alphabet) -> bool {
        self.chars().iter().all(|c| other.chars().contains(c))
    }

    /// Digits of this alphabet a CRC32 takes (`ceil(32 / log2(radix))`).
    pub fn crc32_width(self) -> usize {
        let mut n = 0;
        let mut v: u64 = 1;
        while v < (1u64 << 32) {
            v *= self.radix() as u64;
            n += 1;
        }
        n
    }

    /// `value` in exactly `width` digits, most significant first, left-padded with the zero digit.
    pub fn encode_fixed(self, mut value: u64, width: usize) -> Vec<u8> {
        let chars = self.chars();
        let r = self.radix() as u64;
        let mut out = vec![chars[0]; width];
        for slot in out.iter_mut().rev() {
            *slot = chars[(value % r) as usize];
            value /= r;
        }
        out
    }

    /// A uniformly random digit.
    pub fn random_char(self, rng: &mut impl Rng) -> u8 {
        let chars = self.chars();
        chars[rng.random_range(0..chars.len())]
    }

    /// Infers the narrowest alphabet that covers every digit in `body`.
    pub fn infer(body: &[u8]) -> Option<Alphabet> {
        let digits: Vec<u8> = body.iter().copied().filter(|b| !is_separator(*b)).collect();
        let all = |set: &[u8]| !digits.is_empty() && digits.iter().all(|b| set.contains(b));
        if all(DIGITS) {
            Some(Alphabet::Digits)
        } else if all(HEX) {
            Some(Alphabet::Hex)
        } else if all(HEX_UPPER) {
            Some(Alphabet::HexUpper)
        } else if all(BASE32) {
            Some(Alphabet::Base32)
        } else if all(BASE32_LOWER) {
            Some(Alphabet::Base32Lower)
        } else if all(BASE62) {
            Some(Alphabet::Base62)
        } else if body.iter().all(|b| BASE64URL.contains(b)) {
            Some(Alphabet::Base64url)
        } else {
            None
        }
    }
}

impl fmt::Display for Alphabet {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            Alphabet::Base62 => "base62",
            Alphabet::Hex => "hex",
            Alphabet::HexUpper => "hex_upper",
            Alphabet::Base64url => "base64url",
            Alphabet::Base32 => "base32",
            Alphabet::Base32Lower => "base32_lower",
            Alphabet::Digits => "digits",
        })
    }
}

impl FromStr for Alphabet {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        Alphabet::ALL
            .into_iter()
            .find(|a| a.to_string() == s.to_ascii_lowercase().replace('-', "_"))
            .ok_or_else(|| {
                format!("unknown alphabet {s:?}; use base62, hex, hex_upper, base64url, base32, base32_lower or digits")
            })
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn identity_round_trips_in_every_alphabet() {
        let mut rng = rand::rng();
        for a in Alphabet::ALL {
            for id in [0u128, 1, u128::MAX, 0x0123_4567_89ab_cdef_0011_2233_4455_6677] {
                let enc = (0..64).find_map(|_| a.encode_identity(id, &mut rng)).unwrap();
                assert_eq!(enc.len(), a.identity_len(), "{a}");
                assert!(enc.iter().all(|c| a.chars().contains(c)), "{a}");
                assert_eq!(a.decode_identity(&enc), Some(id), "{a}");
            }
        }
    }

    #[test]
    fn identity_len_holds_128_bits() {
        for a in Alphabet::ALL {
            let bits = (a.radix() as f64).log2() * a.identity_len() as f64;
            assert!(bits >= 128.0, "{a}: {bits}");
            assert!(bits - (a.radix() as f64).log2() < 128.0, "{a} is not minimal");
        }
    }

    #[test]
    fn separators_are_skipped_except_in_base64url() {
        let mut rng = rand::rng();
        let enc = (0..64)
            .find_map(|_| Alphabet::Base62.encode_identity(42, &mut rng))
            .unwrap();
        let mut with_sep = enc[..10].to_vec();
        with_sep.push(b'-');
        with_sep.extend_from_slice(&enc[10..]);
        assert_eq!(Alphabet::Base62.decode_identity(&with_sep), Some(42));
    }

    #[test]
    fn infers_alphabets() {
        assert_eq!(Alphabet::infer(b"2638117236512"), Some(Alphabet::Digits));
        assert_eq!(Alphabet::infer(b"deadbeef01"), Some(Alphabet::Hex));
        assert_eq!(Alphabet::infer(b"DEADBEEF01"), Some(Alphabet::HexUpper));
        assert_eq!(Alphabet::infer(b"ABCXYZ234"), Some(Alphabet::Base32));
        assert_eq!(Alphabet::infer(b"51HqLyjWDarjtT1zdp7dcXYZab"), Some(Alphabet::Base62));
        assert_eq!(Alphabet::infer(b"a!b"), None);
    }
}
