//! JWT decoys: HS256 tokens with realistic claims whose `jti` carries the
//! token's identity, and inspection of JWTs seen on the wire.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::{Algorithm, EncodingKey, Header};
use serde_json::{Map, Value, json};
use sha2::{Digest, Sha256};

use super::alphabet::Alphabet;
use crate::error::{Error, Result};
use crate::key::SigningKey;

/// Longest JWT inspected; anything longer is not one of ours.
pub const MAX_JWT_LEN: usize = 8 * 1024;

/// Validity of a minted JWT: long enough that it looks usable when found.
const LIFETIME_SECS: i64 = 365 * 24 * 3600;

/// What a JWT seen in a request says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtInspection {
    /// The identity carried in `jti` (id << 64 | tag), already tag-checked.
    pub identity: u128,
    /// Whether the HS256 signature verifies under this deployment's key.
    pub signature_valid: bool,
    /// The `alg` of the header as sent (e.g. `none` when an attacker strips it).
    pub alg: String,
    /// The claims as sent.
    pub claims: Map<String, Value>,
}

/// Formats the 32 hex digits of an identity as a UUID-shaped `jti`.
fn jti_for(identity: u128) -> String {
    let mut rng = rand::rng();
    let hex = Alphabet::Hex.encode_identity(identity, &mut rng);
    let h = std::str::from_utf8(&hex).expect("hex is ascii");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// sha256 of the planted location, as the seed's `metadata` claim.
pub fn location_digest(location: &str) -> String {
    hex::encode(Sha256::digest(location.as_bytes()))
}

/// Mints an HS256 JWT whose `jti` carries `identity`.
pub fn mint(
    key: &SigningKey,
    identity: u128,
    label: &str,
    location: &str,
    issuer: &str,
    now_unix: i64,
) -> Result<String> {
    let mut rng = rand::rng();
    let sub: String = (0..12)
        .map(|_| Alphabet::Base62.random_char(&mut rng) as char)
        .collect();
    let claims = json!({
        "iss": issuer,
        "sub": format!("usr_{sub}"),
        "iat": now_unix,
        "exp": now_unix + LIFETIME_SECS,
        "jti": jti_for(identity),
        "metadata": location_digest(location),
        "source": label,
    });
    let header = Header::new(Algorithm::HS256);
    jsonwebtoken::encode(&header, &claims, &EncodingKey::from_secret(key.jwt_secret()))
        .map_err(|e| Error::Invalid(format!("could not sign the JWT: {e}")))
}

/// Quick shape test: three dot-separated parts and a JSON-object header.
pub fn looks_like_jwt(s: &[u8]) -> bool {
    s.len() <= MAX_JWT_LEN && s.starts_with(b"eyJ") && s.iter().filter(|&&b| b == b'.').count() == 2
}

fn decode_part(part: &[u8]) -> Option<Map<String, Value>> {
    // Tolerate padding an attacker may have added by hand.
    let trimmed: &[u8] = match part.iter().rposition(|&b| b != b'=') {
        Some(end) => &part[..=end],
        None => return None,
    };
    let raw = URL_SAFE_NO_PAD.decode(trimmed).ok()?;
    match serde_json::from_slice::<Value>(&raw).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// Inspects a JWT-shaped candidate. Returns `None` unless its `jti` carries a
/// valid tag: the signature is checked only after that, so a forged or edited
/// token of ours is still recognised (and then flagged tampered).
pub fn inspect(key: &SigningKey, candidate: &[u8]) -> Option<JwtInspection> {
    if !looks_like_jwt(candidate) {
        return None;
    }
    let mut parts = candidate.splitn(3, |&b| b == b'.');
    let (h, p, s) = (parts.next()?, parts.next()?, parts.next()?);
    let header = decode_part(h)?;
    let claims = decode_part(p)?;
    let jti = claims.get("jti")?.as_str()?;
    let identity = Alphabet::Hex.decode_identity(jti.as_bytes())?;
    if jti.len() > 64 || !super::identity_is_valid(key, identity) {
        return None;
    }
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("").to_string();
    let signature_valid = alg == "HS256" && {
        let signing_input = &candidate[..h.len() + 1 + p.len()];
        let sig_str = std::str::from_utf8(s).unwrap_or("");
        jsonwebtoken::crypto::verify(
            sig_str,
            signing_input,
            &jsonwebtoken::DecodingKey::from_secret(key.jwt_secret()),
            Algorithm::HS256,
        )
        .unwrap_or(false)
    };
    Some(JwtInspection {
        identity,
        signature_valid,
        alg,
        claims,
    })
}

/// Names what differs between the minted JWT and the one seen: changed,
/// added or removed claims, and `alg` when the header algorithm changed.
pub fn changes(minted: &str, seen: &JwtInspection) -> Vec<String> {
    let mut out = Vec::new();
    if seen.alg != "HS256" {
        out.push(format!("alg:{}", crate::sanitize::escape(seen.alg.as_bytes(), 32)));
    }
    let original = minted
        .split('.')
        .nth(1)
        .and_then(|p| decode_part(p.as_bytes()))
        .unwrap_or_default();
    for (k, v) in &original {
        if seen.claims.get(k) != Some(v) {
            out.push(k.clone());
        }
    }
    for k in seen.claims.keys() {
        if !original.contains_key(k) && out.len() < 32 {
            out.push(crate::sanitize::escape(k.as_bytes(), 64));
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_secret(&[9u8; 32]).unwrap()
    }

    #[test]
    fn minted_jwt_verifies_and_carries_seed_claims() {
        // Guards the crypto backend: with none enabled jsonwebtoken panics here.
        let k = key();
        let id = super::super::identity_for(&k, 0xabc);
        let t = mint(&k, id, "demo", "repo:web/.env", "https://auth.acme.io", 1_700_000_000).unwrap();
        let seen = inspect(&k, t.as_bytes()).expect("recognised");
        assert!(seen.signature_valid);
        assert_eq!(seen.identity, id);
        assert_eq!(seen.claims["source"], "demo");
        assert_eq!(seen.claims["metadata"], location_digest("repo:web/.env"));
        assert!(seen.claims["exp"].as_i64().unwrap() > 1_700_000_000);
        assert!(changes(&t, &seen).is_empty());
    }

    #[test]
    fn edited_payload_is_tampered_and_named() {
        let k = key();
        let id = super::super::identity_for(&k, 0xdef);
        let t = mint(&k, id, "demo", "", "https://auth.acme.io", 1_700_000_000).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let mut claims = decode_part(parts[1].as_bytes()).unwrap();
        claims.insert("sub".into(), json!("admin"));
        let forged = format!(
            "{}.{}.{}",
            URL_SAFE_NO_PAD.encode(br#"{"alg":"none","typ":"JWT"}"#),
            URL_SAFE_NO_PAD.encode(serde_json::to_vec(&claims).unwrap()),
            parts[2]
        );
        let seen = inspect(&k, forged.as_bytes()).expect("still recognised by jti");
        assert!(!seen.signature_valid);
        assert_eq!(changes(&t, &seen), vec!["alg:none".to_string(), "sub".to_string()]);
    }

    #[test]
    fn foreign_jwt_is_not_recognised() {
        let k = key();
        let other = SigningKey::from_secret(&[8u8; 32]).unwrap();
        let id = super::super::identity_for(&other, 1);
        let t = mint(&other, id, "x", "", "i", 0).unwrap();
        assert!(inspect(&k, t.as_bytes()).is_none());
        assert!(inspect(&k, b"eyJ.truncated").is_none());
        assert!(inspect(&k, b"eyJhbGciOiJIUzI1NiJ9.e30.").is_none());
    }
}
