//! The deployment's signing key: the secret that makes a token recognisable
//! without a database and that no attacker can forge.

use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::fmt;

use crate::error::{Error, Result};

type HmacSha256 = Hmac<Sha256>;

/// Minimum secret length in bytes; shorter secrets are refused rather than
/// silently weakening every token minted with them.
pub const MIN_SECRET_LEN: usize = 32;

/// Domain separators keep the tags of different uses of one key apart.
const DOMAIN_TOKEN: &[u8] = b"honeytoken/v1/token-id\0";
const DOMAIN_JWT: &[u8] = b"honeytoken/v1/jwt-hs256\0";

/// The signing key, with its HMAC state precomputed so that recognising a
/// candidate costs one compression of the inner and outer pads.
#[derive(Clone)]
pub struct SigningKey {
    mac: HmacSha256,
    jwt_secret: [u8; 32],
}

impl fmt::Debug for SigningKey {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        // Never print key material, not even in debug output.
        f.write_str("SigningKey(<redacted>)")
    }
}

impl SigningKey {
    /// Builds a key from secret bytes (at least [`MIN_SECRET_LEN`]).
    pub fn from_secret(secret: &[u8]) -> Result<Self> {
        if secret.len() < MIN_SECRET_LEN {
            return Err(Error::Config(format!(
                "the signing key is {} bytes long; it must be at least {MIN_SECRET_LEN}",
                secret.len()
            )));
        }
        let mac = HmacSha256::new_from_slice(secret).expect("HMAC accepts any key length");
        let mut jwt = mac.clone();
        jwt.update(DOMAIN_JWT);
        let jwt_secret: [u8; 32] = jwt.finalize().into_bytes().into();
        Ok(Self { mac, jwt_secret })
    }

    /// Generates a fresh random secret, hex encoded (64 characters).
    pub fn generate_secret() -> String {
        let bytes: [u8; 32] = rand::random();
        hex::encode(bytes)
    }

    /// The truncated tag that binds a token id to this key.
    pub fn tag(&self, id: u64) -> u64 {
        let mut mac = self.mac.clone();
        mac.update(DOMAIN_TOKEN);
        mac.update(&id.to_be_bytes());
        let out = mac.finalize().into_bytes();
        u64::from_be_bytes(out[..8].try_into().expect("8 bytes"))
    }

    /// Constant-time check of a tag.
    pub fn verify_tag(&self, id: u64, tag: u64) -> bool {
        let mut mac = self.mac.clone();
        mac.update(DOMAIN_TOKEN);
        mac.update(&id.to_be_bytes());
        mac.verify_truncated_left(&tag.to_be_bytes()).is_ok()
    }

    /// The HS256 secret used for JWTs, derived so the raw key never signs a JWT.
    pub fn jwt_secret(&self) -> &[u8] {
        &self.jwt_secret
    }

    /// A keyed MAC over `data` for another purpose, separated by `domain`
    /// (e.g. the test-request header or webhook signatures).
    pub fn mac(&self, domain: &str, data: &[u8]) -> [u8; 32] {
        let mut mac = self.mac.clone();
        mac.update(b"honeytoken/v1/");
        mac.update(domain.as_bytes());
        mac.update(b"\0");
        mac.update(data);
        mac.finalize().into_bytes().into()
    }

    /// Constant-time check of a MAC made by [`SigningKey::mac`].
    pub fn verify_mac(&self, domain: &str, data: &[u8], expected: &[u8]) -> bool {
        let mut mac = self.mac.clone();
        mac.update(b"honeytoken/v1/");
        mac.update(domain.as_bytes());
        mac.update(b"\0");
        mac.update(data);
        mac.verify_slice(expected).is_ok()
    }
}

/// Compares two secrets in time that does not depend on where they differ
/// (only on their lengths), so an attacker cannot guess one byte by byte.
pub fn ct_eq(a: &[u8], b: &[u8]) -> bool {
    a.len() == b.len() && std::hint::black_box(a.iter().zip(b).fold(0u8, |acc, (x, y)| acc | (x ^ y))) == 0
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn short_secret_is_refused() {
        let err = SigningKey::from_secret(b"short").unwrap_err();
        assert!(err.to_string().contains("at least 32"), "{err}");
    }

    #[test]
    fn tags_depend_on_key_and_id() {
        let a = SigningKey::from_secret(&[1u8; 32]).unwrap();
        let b = SigningKey::from_secret(&[2u8; 32]).unwrap();
        assert_ne!(a.tag(7), a.tag(8));
        assert_ne!(a.tag(7), b.tag(7));
        assert!(a.verify_tag(7, a.tag(7)));
        assert!(!b.verify_tag(7, a.tag(7)));
    }

    #[test]
    fn debug_does_not_leak() {
        let a = SigningKey::from_secret(&[0x41u8; 32]).unwrap();
        assert_eq!(format!("{a:?}"), "SigningKey(<redacted>)");
    }
}
