//! ES* and EdDSA decoys carry signature bytes their curve can produce
//! (issue 24, item 1), checked over 200 mints per algorithm with an
//! implementation of the curves' rules of this test's own: ECDSA's r and s
//! in [1, n) in the fixed width (RFC 7518 §3.4), EdDSA's R a point of the
//! prime-order subgroup and S below L (RFC 8032 §5.1.7, §5.2.7). Decoys
//! minted before the change keep being recognised with a valid signature.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use honeytoken_core::key::SigningKey;
use honeytoken_core::token::{self, MintSpec, jwt};
use num_bigint::BigUint;
use num_traits::{One, Zero};
use serde_json::Value;

const MINTS: usize = 200;

fn hex(h: &str) -> BigUint {
    BigUint::parse_bytes(h.as_bytes(), 16).unwrap()
}

fn dec(d: &str) -> BigUint {
    BigUint::parse_bytes(d.as_bytes(), 10).unwrap()
}

/// An Edwards curve a·x² + y² = 1 + d·x²·y², in projective coordinates.
struct Curve {
    p: BigUint,
    a: BigUint,
    d: BigUint,
    l: BigUint,
    len: usize,
}

type Point = (BigUint, BigUint, BigUint);

impl Curve {
    fn ed25519() -> Curve {
        let p = (BigUint::one() << 255u32) - 19u32;
        let d = (&p - 121_665u32) * BigUint::from(121_666u32).modpow(&(&p - 2u32), &p) % &p;
        Curve {
            a: &p - 1u32,
            d,
            l: (BigUint::one() << 252u32) + dec("27742317777372353535851937790883648493"),
            p,
            len: 32,
        }
    }

    fn ed448() -> Curve {
        let p = (BigUint::one() << 448u32) - (BigUint::one() << 224u32) - 1u32;
        Curve {
            a: BigUint::one(),
            d: &p - 39_081u32,
            l: (BigUint::one() << 446u32) - dec("13818066809895115352007386748515426880336692474882178609894547503885"),
            p,
            len: 57,
        }
    }

    fn m(&self, x: &BigUint, y: &BigUint) -> BigUint {
        x * y % &self.p
    }

    fn s(&self, x: &BigUint, y: &BigUint) -> BigUint {
        (x + &self.p - y) % &self.p
    }

    fn on_curve(&self, x: &BigUint, y: &BigUint) -> bool {
        let (xx, yy) = (self.m(x, x), self.m(y, y));
        (self.m(&self.a, &xx) + &yy) % &self.p == (BigUint::one() + self.m(&self.d, &self.m(&xx, &yy))) % &self.p
    }

    /// RFC 8032's decoding: y below p, and an x with the encoded sign bit.
    fn decode(&self, enc: &[u8]) -> Option<(BigUint, BigUint)> {
        let mut b = enc.to_vec();
        let sign = b[self.len - 1] & 0x80 != 0;
        b[self.len - 1] &= 0x7f;
        if self.len == 57 && b[56] != 0 {
            return None;
        }
        let y = BigUint::from_bytes_le(&b);
        if y >= self.p {
            return None;
        }
        // x² = (y² - 1) / (d·y² - a); search the root by Euler's criterion
        // and a generic modular exponent, not by the minting code's formula.
        let yy = self.m(&y, &y);
        let num = self.s(&yy, &BigUint::one());
        let den = self.s(&self.m(&self.d, &yy), &self.a);
        let xx = self.m(&num, &den.modpow(&(&self.p - 2u32), &self.p));
        if xx.is_zero() {
            return (!sign).then_some((xx, y));
        }
        if xx.modpow(&((&self.p - 1u32) >> 1u32), &self.p) != BigUint::one() {
            return None;
        }
        let x = tonelli_shanks(&xx, &self.p);
        let x = if x.bit(0) == sign { x } else { &self.p - x };
        assert!(self.on_curve(&x, &y));
        Some((x, y))
    }

    fn add(&self, (x1, y1, z1): &Point, (x2, y2, z2): &Point) -> Point {
        // add-2008-bbjlp, complete for a square a and a non-square d.
        let a = self.m(z1, z2);
        let b = self.m(&a, &a);
        let c = self.m(x1, x2);
        let d = self.m(y1, y2);
        let e = self.m(&self.d, &self.m(&c, &d));
        let f = self.s(&b, &e);
        let g = (&b + &e) % &self.p;
        let t = self.s(&self.s(&self.m(&(x1 + y1), &(x2 + y2)), &c), &d);
        let x3 = self.m(&self.m(&a, &f), &t);
        let y3 = self.m(&self.m(&a, &g), &self.s(&d, &self.m(&self.a, &c)));
        (x3, y3, self.m(&f, &g))
    }

    fn mul(&self, k: &BigUint, p: &Point) -> Point {
        let mut acc: Point = (BigUint::zero(), BigUint::one(), BigUint::one());
        for i in (0..k.bits()).rev() {
            acc = self.add(&acc, &acc);
            if k.bit(i) {
                acc = self.add(&acc, p);
            }
        }
        acc
    }

    fn is_neutral(&self, (x, y, z): &Point) -> bool {
        x.is_zero() && y == z
    }

    /// Whether `sig` is R || S with R a point of order L and S < L.
    fn check(&self, sig: &[u8]) -> Result<(), String> {
        if sig.len() != 2 * self.len {
            return Err(format!("{} bytes", sig.len()));
        }
        let (r, s) = sig.split_at(self.len);
        if BigUint::from_bytes_le(s) >= self.l {
            return Err("S >= L".into());
        }
        let (x, y) = self.decode(r).ok_or("R is not a point encoding")?;
        let pt = (x, y, BigUint::one());
        if self.is_neutral(&pt) || !self.is_neutral(&self.mul(&self.l, &pt)) {
            return Err("R is not in the prime-order subgroup".into());
        }
        Ok(())
    }
}

fn tonelli_shanks(n: &BigUint, p: &BigUint) -> BigUint {
    let one = BigUint::one();
    let mut q = p - 1u32;
    let mut s = 0u32;
    while !q.bit(0) {
        q >>= 1u32;
        s += 1;
    }
    let mut z = BigUint::from(2u32);
    while z.modpow(&((p - 1u32) >> 1u32), p) == one {
        z += 1u32;
    }
    let mut m = s;
    let mut c = z.modpow(&q, p);
    let mut t = n.modpow(&q, p);
    let mut r = n.modpow(&((&q + 1u32) >> 1u32), p);
    while t != one {
        let mut i = 0;
        let mut tt = t.clone();
        while tt != one {
            tt = &tt * &tt % p;
            i += 1;
        }
        let b = c.modpow(&(BigUint::one() << (m - i - 1)), p);
        m = i;
        c = &b * &b % p;
        t = t * &c % p;
        r = r * b % p;
    }
    r
}

/// The order of each ECDSA curve's base point, as `openssl ecparam -text` prints it.
fn ecdsa_order(alg: &str) -> (BigUint, usize) {
    match alg {
        "ES256" => (
            hex("ffffffff00000000ffffffffffffffffbce6faada7179e84f3b9cac2fc632551"),
            32,
        ),
        "ES256K" => (
            hex("fffffffffffffffffffffffffffffffebaaedce6af48a03bbfd25e8cd0364141"),
            32,
        ),
        "ES384" => (
            hex("ffffffffffffffffffffffffffffffffffffffffffffffffc7634d81f4372ddf581a0db248b0a77aecec196accc52973"),
            48,
        ),
        "ES512" => (
            hex(concat!(
                "01ffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffffff",
                "fa51868783bf2f966b7fcc0148f709a5d03bb5c9b8899c47aebb6fb71e91386409"
            )),
            66,
        ),
        _ => unreachable!(),
    }
}

fn example(alg: &str, sig_len: usize) -> String {
    let h = format!(r#"{{"alg":"{alg}","typ":"JWT","kid":"k-7Hq2"}}"#);
    let p = r#"{"iss":"https://id.acme.io/","sub":"1f2e3d4c-5b6a-4978-8a9b-0c1d2e3f4a5b","iat":1764000000,"exp":1764003600,"jti":"f1e2d3c4-b5a6-4978-8a9b-0c1d2e3f4a5b"}"#;
    format!(
        "{}.{}.{}",
        URL_SAFE_NO_PAD.encode(h),
        URL_SAFE_NO_PAD.encode(p),
        URL_SAFE_NO_PAD.encode(vec![0x01u8; sig_len])
    )
}

fn mint_sigs(alg: &str, sig_len: usize) -> Vec<Vec<u8>> {
    let k = SigningKey::from_secret(b"curve-test-signing-key-0123456789abc").unwrap();
    let like = jwt::infer_like(&example(alg, sig_len), None, None).unwrap();
    let spec = MintSpec::JwtShaped(Box::new(like.shape));
    let now = time::OffsetDateTime::now_utc();
    (0..MINTS)
        .map(|_| {
            let r = token::mint(&k, &spec, "curve", "loc", "", now).unwrap();
            let seen = token::recognise(&k, r.token.as_bytes()).unwrap();
            assert!(seen.jwt.unwrap().signature_valid, "{alg}: own signature must verify");
            URL_SAFE_NO_PAD.decode(r.token.rsplit('.').next().unwrap()).unwrap()
        })
        .collect()
}

#[test]
fn ecdsa_signatures_have_r_and_s_in_range_in_the_fixed_width() {
    for alg in ["ES256", "ES256K", "ES384", "ES512"] {
        let (n, w) = ecdsa_order(alg);
        for sig in mint_sigs(alg, 2 * w) {
            assert_eq!(sig.len(), 2 * w, "{alg}");
            for half in [&sig[..w], &sig[w..]] {
                let v = BigUint::from_bytes_be(half);
                assert!(!v.is_zero() && v < n, "{alg}: {} out of [1, n)", hex::encode(half));
            }
        }
    }
}

#[test]
fn eddsa_signatures_have_r_on_the_curve_and_s_below_l() {
    let ed25519 = Curve::ed25519();
    let ed448 = Curve::ed448();
    // The test's own constants: the base points are on their curves and of order L.
    let b25519_y = dec("46316835694926478169428394003475163141307993866256225615783033603165251855960");
    let b448 = (
        dec(
            "224580040295924300187604334099896036246789641632564134246125461686950415467406032909029192869357953282578032075146446173674602635247710",
        ),
        dec(
            "298819210078481492676017930443930673437544040154080242095928241372331506189835876003536878655418784733982303233503462500531545062832660",
        ),
    );
    let (bx, by) = ed25519.decode(&b25519_y.to_bytes_le()).unwrap();
    assert!(ed25519.is_neutral(&ed25519.mul(&ed25519.l, &(bx, by, BigUint::one()))));
    assert!(ed448.on_curve(&b448.0, &b448.1));
    assert!(ed448.is_neutral(&ed448.mul(&ed448.l, &(b448.0, b448.1, BigUint::one()))));
    for (alg, len, curve) in [
        ("EdDSA", 64, &ed25519),
        ("Ed25519", 64, &ed25519),
        ("EdDSA", 114, &ed448),
        ("Ed448", 114, &ed448),
    ] {
        for sig in mint_sigs(alg, len) {
            if let Err(e) = curve.check(&sig) {
                panic!("{alg}/{len}: {e}: {}", hex::encode(&sig));
            }
        }
    }
}

#[test]
fn a_curve_signature_of_the_wrong_length_is_refused_with_the_right_one_named() {
    let err = jwt::infer_like(&example("ES512", 64), None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("132 bytes"), "{err}");
    let err = jwt::infer_like(&example("EdDSA", 100), None, None)
        .unwrap_err()
        .to_string();
    assert!(err.contains("64 bytes"), "{err}");
}

#[test]
fn decoys_minted_before_the_change_keep_verifying() {
    let f: Value = serde_json::from_str(include_str!("fixtures/legacy_shaped_v2.json")).unwrap();
    let k = SigningKey::from_secret(f["signing_key"].as_str().unwrap().as_bytes()).unwrap();
    for (name, t) in f["tokens"].as_object().unwrap() {
        let tok = t["token"].as_str().unwrap();
        let r = token::recognise(&k, tok.as_bytes()).unwrap_or_else(|| panic!("{name} not recognised"));
        assert_eq!(r.token_id, t["token_id"].as_str().unwrap(), "{name}");
        if let Some(seen) = r.jwt {
            assert!(seen.signature_valid, "{name}: a legacy signature reads as tampered");
            // An edit is still tampering.
            let (head, sig) = tok.rsplit_once('.').unwrap();
            let mut bytes = URL_SAFE_NO_PAD.decode(sig).unwrap();
            bytes[3] ^= 1;
            let edited = format!("{head}.{}", URL_SAFE_NO_PAD.encode(&bytes));
            assert!(
                !token::recognise(&k, edited.as_bytes())
                    .unwrap()
                    .jwt
                    .unwrap()
                    .signature_valid
            );
        }
    }
}
