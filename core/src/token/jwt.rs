//! JWT decoys and inspection of JWTs seen on the wire.
//!
//! Two formats are recognised; the decoder dispatches on where the identity
//! (id and tag) sits:
//!
//! * **v1** (before issue 14): HS256, claims in alphabetical order, the 128-bit
//!   identity as 32 hex digits in a UUID-shaped `jti`, plus `metadata` (sha256
//!   of the location) and `source` (the label) in clear. Only decoded now, never
//!   minted: tokens planted with it keep being recognised.
//! * **v2**: claims shaped and ordered as an identity provider issues them (a
//!   Keycloak-style access token by default, or mirrored from an operator's own
//!   JWT with `--like`). The identity (a 58-bit id and the 64-bit tag) fills the
//!   122 random bits of a valid UUIDv4, or the last digits of a random-string
//!   claim. The tracking metadata (label and location) is bound by a MAC under
//!   the signing key into another UUID-shaped claim (`sid` by default): nothing
//!   of it is in clear, and it is not a hash of anything guessable.
//! * **v3** (issue 24): a `--like` example signed with RSA that has no claim
//!   with room (an Auth0 access token): the claims are exactly the
//!   example's, and the identity rides in the signature bytes (see
//!   [`signature_carrier`]).
//!
//! Signatures: HS256/384/512 are real HMACs under the deployment's JWT
//! secret. Asymmetric algorithms get a keyed pseudo-random signature, so any
//! edit is still detected (tampered): RS* and PS* of the algorithm's length,
//! ES* and EdDSA shaped by the curve's rules (r and s below the order, R a
//! point, S below L; see `curve`), since bytes a curve cannot produce give
//! the decoy away. ES* and EdDSA decoys minted before issue 24 carry plain
//! keyed bytes and keep verifying.

use base64::Engine;
use base64::engine::general_purpose::URL_SAFE_NO_PAD;
use jsonwebtoken::Algorithm;
use rand::Rng;
use serde::{Deserialize, Serialize};
use serde_json::{Map, Value};
use sha2::{Digest, Sha256};

use super::KeyShape;
use super::alphabet::Alphabet;
use super::{claims, curve};
use crate::error::{Error, Result};
use crate::key::{SigningKey, ct_eq};

/// Longest JWT inspected; anything longer is not one of ours.
pub const MAX_JWT_LEN: usize = 8 * 1024;

/// Claims of a candidate looked at for an identity, at most.
const MAX_CLAIMS_TRIED: usize = 16;

/// Bits of the id a v2 JWT carries (so id and tag fit a UUIDv4's 122 random bits).
pub const V2_ID_BITS: u32 = 58;

/// What a JWT seen in a request says about itself.
#[derive(Debug, Clone, PartialEq)]
pub struct JwtInspection {
    /// The identity carried in `jti` (id << 64 | tag), already tag-checked.
    pub identity: u128,
    /// Whether the signature verifies under this deployment's key (false when
    /// it was stripped, or the header's `alg` was changed).
    pub signature_valid: bool,
    /// The `alg` of the header as sent (e.g. `none` when an attacker strips it).
    pub alg: String,
    /// The claims as sent.
    pub claims: Map<String, Value>,
    /// Format version the identity was found in: 1, 2, or 3 when it rides
    /// in the signature (see [`signature_carrier`]).
    pub version: u8,
}

/// How one claim (or header field) of a minted JWT gets its value.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum ClaimShape {
    /// Copied as is: issuer, audience, scopes, flags, header `alg`/`typ`/`kid`.
    Fixed {
        /// The value.
        value: Value,
    },
    /// `iat`: the issue time, slightly in the past.
    IssuedAt,
    /// `exp`: `iat` plus the token's lifetime.
    Expiry,
    /// Another time (`auth_time`, `nbf`): `iat` plus an offset drawn from `min..=max` seconds.
    TimeOffset {
        /// Smallest offset.
        min: i64,
        /// Largest offset.
        max: i64,
    },
    /// A random RFC 4122 version 4 UUID.
    Uuid,
    /// A random local part at this domain.
    Email {
        /// Domain after the `@`.
        domain: String,
    },
    /// A random integer of this many decimal digits.
    Number {
        /// Digits.
        digits: u32,
    },
    /// A random string of this shape (literal prefix, alphabet, layout).
    Random {
        /// The shape.
        shape: KeyShape,
    },
    /// One of these values, drawn per token.
    OneOf {
        /// The choices.
        values: Vec<Value>,
    },
    /// A key id derived from the signing key: the same for every token of a
    /// deployment, as a real issuer's `kid` is, and unguessable elsewhere.
    DeploymentKid,
    /// The value of an earlier claim: Keycloak's `sid` is its `session_state`.
    SameAs {
        /// The earlier claim.
        claim: String,
    },
    /// The installation's issuer, derived from the signing key (see
    /// [`claims::installation`]): what `iss` is when no `--issuer` is given.
    DeploymentIssuer,
    /// A key id shaped as Keycloak's HMAC keys' (a UUID), derived from the
    /// signing key.
    DeploymentKeyUuid,
    /// Keycloak's `realm_access` of a user with the realm's default roles.
    RealmAccess,
    /// A client id drawn per token from thousands (see [`claims::client_id`]).
    Client,
    /// A scope string drawn per token (see [`claims::scope`]).
    Scope,
    /// One field of the token's fake person (see [`claims::Person`]): all
    /// identity claims of a token agree.
    Person {
        /// `name`, `given`, `family`, `username` or `email`.
        field: String,
        /// The email domain; the installation's when absent.
        #[serde(default, skip_serializing_if = "Option::is_none")]
        domain: Option<String>,
    },
}

/// The shape of a minted JWT: header and claims in order, lifetime, signature size.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct JwtShape {
    /// Header fields in order (`alg` among them).
    pub header: Vec<(String, ClaimShape)>,
    /// Claims in the order they are emitted.
    pub claims: Vec<(String, ClaimShape)>,
    /// The claim that carries the identity.
    pub carrier: String,
    /// The claim that carries the metadata MAC, if any.
    #[serde(default)]
    pub metadata: Option<String>,
    /// Lifetimes (`exp - iat`, seconds); one is drawn per token.
    pub lifetimes: Vec<i64>,
    /// When set, the lifetime is drawn log-uniform from this range of
    /// seconds instead (see [`claims::lifetime`]).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub lifetime_range: Option<(i64, i64)>,
    /// Serialise the header as Keycloak's `JWSBuilder` does:
    /// `{"alg":"HS256","typ" : "JWT","kid" : "…"}`.
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub keycloak_header: bool,
    /// The identity rides in the signature's bytes instead of a claim (an
    /// RSA-signed example with no claim that has room, such as an Auth0
    /// access token): the claim set stays exactly the example's. See
    /// [`signature_carrier`].
    #[serde(default, skip_serializing_if = "std::ops::Not::not")]
    pub identity_in_signature: bool,
    /// Signature bytes (for HMAC algorithms, the MAC's own length).
    pub sig_len: usize,
    /// The example's encoded header, reused byte for byte (`--like`): each
    /// issuer serialises its header its own way (Keycloak writes
    /// `"typ" : "JWT"`), and a re-serialised one differs from every real
    /// token of that issuer.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header_bytes: Option<String>,
}

const DAY: i64 = 24 * 3600;

impl JwtShape {
    /// The default claim set: a Keycloak access token, whole and in
    /// Keycloak's order, as Keycloak 21 to 24 emit it for a user logged in
    /// through a client with the default client scopes (`profile`, `email`,
    /// `roles`, `web-origins`, `acr`): the fields of Keycloak's
    /// `JsonWebToken`, `IDToken` and `AccessToken` representations in the
    /// order Jackson writes them (`exp`, `iat`, `auth_time`, `jti`, `iss`,
    /// `aud`, `sub`, `typ: "Bearer"`, `azp`, `session_state`, `acr`,
    /// `realm_access`, `resource_access`, `scope`, `sid`, `email_verified`,
    /// `name`, `preferred_username`, `given_name`, `family_name`, `email`),
    /// and its header as Keycloak's `JWSBuilder` writes it (`"typ" : "JWT"`
    /// with spaces, a UUID `kid` for an HMAC key). Based on Keycloak's
    /// sources (github.com/keycloak/keycloak, `core/src/main/java/org/keycloak/`:
    /// `representations/JsonWebToken.java`, `IDToken.java`,
    /// `AccessToken.java`; `jose/jws/JWSBuilder.java`) and the access tokens
    /// a realm with default settings issues.
    ///
    /// `issuer` empty means the installation's own issuer, derived from the
    /// signing key (see [`claims::installation`]); `aud` is Keycloak's
    /// `account` unless `audience` is given.
    pub fn standard(issuer: &str, audience: Option<&str>) -> JwtShape {
        let fixed = |v: &str| ClaimShape::Fixed {
            value: Value::String(v.to_string()),
        };
        let person = |f: &str| ClaimShape::Person {
            field: f.to_string(),
            domain: None,
        };
        let iss = if issuer.is_empty() {
            ClaimShape::DeploymentIssuer
        } else {
            fixed(issuer)
        };
        let claims = vec![
            ("exp".to_string(), ClaimShape::Expiry),
            ("iat".to_string(), ClaimShape::IssuedAt),
            ("auth_time".to_string(), ClaimShape::TimeOffset { min: -3600, max: -5 }),
            ("jti".to_string(), ClaimShape::Uuid),
            ("iss".to_string(), iss),
            ("aud".to_string(), fixed(audience.unwrap_or("account"))),
            ("sub".to_string(), ClaimShape::Uuid),
            ("typ".to_string(), fixed("Bearer")),
            ("azp".to_string(), ClaimShape::Client),
            ("session_state".to_string(), ClaimShape::Uuid),
            ("acr".to_string(), fixed("1")),
            ("realm_access".to_string(), ClaimShape::RealmAccess),
            (
                "resource_access".to_string(),
                ClaimShape::Fixed {
                    value: serde_json::json!({
                        "account": { "roles": ["manage-account", "manage-account-links", "view-profile"] }
                    }),
                },
            ),
            ("scope".to_string(), ClaimShape::Scope),
            (
                "sid".to_string(),
                ClaimShape::SameAs {
                    claim: "session_state".into(),
                },
            ),
            (
                "email_verified".to_string(),
                ClaimShape::Fixed {
                    value: Value::Bool(true),
                },
            ),
            ("name".to_string(), person("name")),
            ("preferred_username".to_string(), person("username")),
            ("given_name".to_string(), person("given")),
            ("family_name".to_string(), person("family")),
            ("email".to_string(), person("email")),
        ];
        JwtShape {
            header: vec![
                ("alg".to_string(), fixed("HS256")),
                ("typ".to_string(), fixed("JWT")),
                ("kid".to_string(), ClaimShape::DeploymentKeyUuid),
            ],
            claims,
            carrier: "jti".into(),
            metadata: Some("session_state".into()),
            lifetimes: vec![DAY],
            // Long enough that a found token looks usable: from half an hour
            // (a raised access token lifespan) to 90 days (service and
            // offline tokens), log-uniform so no step stands out.
            lifetime_range: Some((1800, 90 * DAY)),
            sig_len: 32,
            header_bytes: None,
            keycloak_header: true,
            identity_in_signature: false,
        }
    }

    /// Whether the identity rides in a UUID (58 bits of id) rather than in
    /// a random string's digits or the signature (64 bits).
    pub fn carrier_is_uuid(&self) -> bool {
        !self.identity_in_signature
            && self
                .claims
                .iter()
                .any(|(k, s)| *k == self.carrier && *s == ClaimShape::Uuid)
    }

    /// The header's `alg`.
    pub fn alg(&self) -> &str {
        self.header
            .iter()
            .find_map(|(k, v)| match (k.as_str(), v) {
                (
                    "alg",
                    ClaimShape::Fixed {
                        value: Value::String(s),
                    },
                ) => Some(s.as_str()),
                _ => None,
            })
            .unwrap_or("HS256")
    }

    /// Refuses shapes that could not be minted or recognised.
    pub fn validate(&self) -> Result<()> {
        let carrier = self.claims.iter().find(|(k, _)| *k == self.carrier);
        match carrier.map(|(_, s)| s) {
            _ if self.identity_in_signature => {
                if sig_kind(self.alg()) != Some(SigKind::Shaped) || self.sig_len < SIG_CARRIER_MIN {
                    return Err(Error::Invalid(format!(
                        "only an RSA signature of {SIG_CARRIER_MIN} bytes or more can carry the token's id and tag"
                    )));
                }
            }
            Some(ClaimShape::Uuid) => {}
            Some(ClaimShape::Random { shape }) if shape.validate().is_ok() => {}
            _ => {
                return Err(Error::Invalid(format!(
                    "the claim {:?} cannot carry the token's id and tag; it must be a UUID or a random string \
                     of at least 22 base62 characters",
                    self.carrier
                )));
            }
        }
        for (i, (k, s)) in self.claims.iter().enumerate() {
            if let ClaimShape::SameAs { claim } = s
                && !self.claims[..i].iter().any(|(e, _)| e == claim)
            {
                return Err(Error::Invalid(format!(
                    "the claim {k:?} copies {claim:?}, which is not before it"
                )));
            }
        }
        if let Some(h) = &self.header_bytes
            && (h.is_empty() || !h.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'-' || b == b'_'))
        {
            return Err(Error::Invalid("the header must be base64url without padding".into()));
        }
        if self.lifetime_range.is_some_and(|(a, b)| a <= 0 || b < a) {
            return Err(Error::Invalid(
                "a JWT's lifetime range must be positive and ordered".into(),
            ));
        }
        if self.lifetimes.is_empty() || self.lifetimes.iter().any(|l| *l <= 0) {
            return Err(Error::Invalid("a JWT needs a positive lifetime (exp after iat)".into()));
        }
        if sig_kind(self.alg()).is_none() {
            return Err(Error::Invalid(format!(
                "cannot shape a signature for alg {:?}; use HS256, RS256, ES256 or another JWS algorithm",
                self.alg()
            )));
        }
        if self.sig_len == 0 || self.sig_len > 1024 {
            return Err(Error::Invalid("the signature must be 1 to 1024 bytes".into()));
        }
        if let Some(scheme) = curve::EcScheme::of(self.alg(), self.sig_len)
            && scheme.sig_len() != self.sig_len
        {
            return Err(Error::Invalid(format!(
                "an {} signature is {}, not {} bytes; give an example token as its issuer signed it",
                self.alg(),
                scheme.describe(),
                self.sig_len
            )));
        }
        Ok(())
    }
}

/// How a signature is made for an `alg`.
#[derive(Debug, Clone, Copy, PartialEq)]
enum SigKind {
    Hmac(Algorithm),
    /// Keyed pseudo-random bytes of the algorithm's length (RSA).
    Shaped,
    /// Keyed pseudo-random bytes that obey the curve's rules (ECDSA, EdDSA).
    Curve,
}

fn sig_kind(alg: &str) -> Option<SigKind> {
    Some(match alg {
        "HS256" => SigKind::Hmac(Algorithm::HS256),
        "HS384" => SigKind::Hmac(Algorithm::HS384),
        "HS512" => SigKind::Hmac(Algorithm::HS512),
        "RS256" | "RS384" | "RS512" | "PS256" | "PS384" | "PS512" => SigKind::Shaped,
        "ES256" | "ES256K" | "ES384" | "ES512" | "EdDSA" | "Ed25519" | "Ed448" => SigKind::Curve,
        _ => return None,
    })
}

/// The usual signature length of an algorithm (RSA with a 2048-bit key).
pub fn default_sig_len(alg: &str) -> usize {
    match alg {
        "HS384" => 48,
        "ES384" => 96,
        "HS512" | "EdDSA" | "Ed25519" | "ES256" | "ES256K" => 64,
        "Ed448" => 114,
        "ES512" => 132,
        a if a.starts_with("RS") || a.starts_with("PS") => 256,
        _ => 32,
    }
}

/// Keyed pseudo-random signature bytes: an HMAC-based expansion over the
/// algorithm, the length and the signing input, so a changed `alg`, a
/// truncated signature or an edited header or payload never verifies.
fn shaped_signature(key: &SigningKey, alg: &str, len: usize, signing_input: &[u8]) -> Vec<u8> {
    let mut out = Vec::with_capacity(len + 32);
    let mut counter: u32 = 0;
    while out.len() < len {
        let mut data = Vec::with_capacity(16 + alg.len() + signing_input.len());
        data.extend_from_slice(&counter.to_be_bytes());
        data.extend_from_slice(&(len as u32).to_be_bytes());
        data.extend_from_slice(alg.as_bytes());
        data.push(0);
        data.extend_from_slice(signing_input);
        out.extend_from_slice(&key.mac("jwt-signature", &data));
        counter += 1;
    }
    out.truncate(len);
    out
}

fn sign(key: &SigningKey, alg: &str, sig_len: usize, signing_input: &[u8]) -> Result<String> {
    match sig_kind(alg) {
        Some(SigKind::Hmac(a)) => jsonwebtoken::crypto::sign(
            signing_input,
            &jsonwebtoken::EncodingKey::from_secret(key.jwt_secret()),
            a,
        )
        .map_err(|e| Error::Invalid(format!("could not sign the JWT: {e}"))),
        Some(SigKind::Shaped) => Ok(URL_SAFE_NO_PAD.encode(shaped_signature(key, alg, sig_len, signing_input))),
        Some(SigKind::Curve) => Ok(URL_SAFE_NO_PAD.encode(curve_signature(key, alg, sig_len, signing_input))),
        None => Err(Error::Invalid(format!("cannot sign with alg {alg:?}"))),
    }
}

fn verify(key: &SigningKey, alg: &str, signing_input: &[u8], sig: &[u8]) -> bool {
    if sig.is_empty() {
        return false;
    }
    match sig_kind(alg) {
        Some(SigKind::Hmac(a)) => jsonwebtoken::crypto::verify(
            std::str::from_utf8(sig).unwrap_or(""),
            signing_input,
            &jsonwebtoken::DecodingKey::from_secret(key.jwt_secret()),
            a,
        )
        .unwrap_or(false),
        Some(SigKind::Shaped) => {
            let Ok(bytes) = URL_SAFE_NO_PAD.decode(sig) else {
                return false;
            };
            let expected = shaped_signature(key, alg, bytes.len(), signing_input);
            ct_eq(&expected, &bytes)
        }
        Some(SigKind::Curve) => {
            let Ok(bytes) = URL_SAFE_NO_PAD.decode(sig) else {
                return false;
            };
            // Decoys minted before issue 24 carry plain keyed bytes here; they
            // are planted, so they keep verifying (a mismatch would report them
            // as tampered).
            let fits = curve::EcScheme::of(alg, bytes.len()).is_some_and(|c| c.sig_len() == bytes.len());
            (fits && ct_eq(&curve_signature(key, alg, bytes.len(), signing_input), &bytes))
                || ct_eq(&shaped_signature(key, alg, bytes.len(), signing_input), &bytes)
        }
        None => false,
    }
}

/// Shortest signature that carries an identity (RSA ones are 128 to 512).
const SIG_CARRIER_MIN: usize = 64;

/// Identity carried in the last 32 bytes of an RSA-shaped signature: 16
/// random bytes (a nonce), then the identity (id and the tag that says the
/// token is ours) masked by a MAC of the nonce, so the bytes look as random
/// as the rest. The bytes before are keyed pseudo-random over the signing
/// input, the nonce and the masked identity: the second tag, saying header
/// and payload are untouched. Returns the identity, and whether that second
/// tag verifies.
pub fn signature_carrier(key: &SigningKey, alg: &str, signing_input: &[u8], sig: &[u8]) -> Option<(u128, bool)> {
    // Any `alg` is read, so a token whose `alg` was changed (`none`) is
    // still recognised, and then reported tampered.
    if !(SIG_CARRIER_MIN..=1024).contains(&sig.len()) {
        return None;
    }
    let (body, tail) = sig.split_at(sig.len() - 32);
    let (nonce, slot) = tail.split_at(16);
    let mask = key.mac("jwt-signature-identity", nonce);
    let mut bytes = [0u8; 16];
    for (i, b) in bytes.iter_mut().enumerate() {
        *b = slot[i] ^ mask[i];
    }
    let identity = u128::from_be_bytes(bytes);
    if !super::identity_is_valid(key, identity) {
        return None;
    }
    let expected = carrier_body(key, alg, body.len(), signing_input, tail);
    Some((
        identity,
        sig_kind(alg) == Some(SigKind::Shaped) && ct_eq(&expected, body),
    ))
}

fn carrier_body(key: &SigningKey, alg: &str, len: usize, signing_input: &[u8], tail: &[u8]) -> Vec<u8> {
    let mut data = signing_input.to_vec();
    data.push(0);
    data.extend_from_slice(tail);
    shaped_signature(key, alg, len, &data)
}

/// A signature of `len` bytes carrying `identity` (see [`signature_carrier`]).
fn carrier_signature(key: &SigningKey, alg: &str, len: usize, signing_input: &[u8], identity: u128) -> Vec<u8> {
    let nonce: [u8; 16] = rand::rng().random();
    let mask = key.mac("jwt-signature-identity", &nonce);
    let mut tail = nonce.to_vec();
    tail.extend(identity.to_be_bytes().iter().zip(mask.iter()).map(|(a, b)| a ^ b));
    let mut sig = carrier_body(key, alg, len - 32, signing_input, &tail);
    sig.extend_from_slice(&tail);
    sig
}

/// Signature bytes for an ECDSA or EdDSA `alg` that its curve could produce
/// (see [`curve`]), drawn from a stream keyed by the signing key over the
/// algorithm, the length and the signing input.
fn curve_signature(key: &SigningKey, alg: &str, len: usize, signing_input: &[u8]) -> Vec<u8> {
    let Some(scheme) = curve::EcScheme::of(alg, len) else {
        return shaped_signature(key, alg, len, signing_input);
    };
    let mut data = Vec::with_capacity(8 + alg.len() + signing_input.len());
    data.extend_from_slice(&(len as u32).to_be_bytes());
    data.extend_from_slice(alg.as_bytes());
    data.push(0);
    data.extend_from_slice(signing_input);
    let seed = key.mac("jwt-signature-curve", &data);
    let mut counter: u32 = 0;
    let mut pool: Vec<u8> = Vec::new();
    let mut stream = |n: usize| {
        while pool.len() < n {
            let mut block = seed.to_vec();
            block.extend_from_slice(&counter.to_be_bytes());
            pool.extend_from_slice(&key.mac("jwt-signature-curve-stream", &block));
            counter += 1;
        }
        pool.drain(..n).collect::<Vec<u8>>()
    };
    scheme.signature(&mut stream)
}

/// Formats 128 bits as a UUID string.
fn uuid_string(b: u128) -> String {
    let h = format!("{b:032x}");
    format!(
        "{}-{}-{}-{}-{}",
        &h[0..8],
        &h[8..12],
        &h[12..16],
        &h[16..20],
        &h[20..32]
    )
}

/// Places 122 bits into a valid RFC 4122 version 4 UUID (version nibble 4,
/// variant bits 10).
fn uuid_v4_from_bits(v: u128) -> u128 {
    let v = v & ((1u128 << 122) - 1);
    let hi48 = v >> 74; // top 48 bits
    let mid12 = (v >> 62) & 0xfff;
    let lo62 = v & ((1u128 << 62) - 1);
    (hi48 << 80) | (0x4u128 << 76) | (mid12 << 64) | (0b10u128 << 62) | lo62
}

/// The 122 random bits of a version 4 UUID string, `None` if it is not one.
fn uuid_v4_bits(s: &[u8]) -> Option<u128> {
    if s.len() != 36 || s[8] != b'-' || s[13] != b'-' || s[18] != b'-' || s[23] != b'-' {
        return None;
    }
    let mut u: u128 = 0;
    for (i, &c) in s.iter().enumerate() {
        if matches!(i, 8 | 13 | 18 | 23) {
            continue;
        }
        let d = (c as char).to_digit(16)?;
        u = (u << 4) | d as u128;
    }
    if (u >> 76) & 0xf != 4 || (u >> 62) & 0b11 != 0b10 {
        return None;
    }
    let hi48 = u >> 80;
    let mid12 = (u >> 64) & 0xfff;
    let lo62 = u & ((1u128 << 62) - 1);
    Some((hi48 << 74) | (mid12 << 62) | lo62)
}

/// Whether `s` is a valid RFC 4122 UUID string of any version (for tests and
/// for shape inference).
pub fn is_uuid(s: &str) -> bool {
    let b = s.as_bytes();
    b.len() == 36
        && b.iter().enumerate().all(|(i, c)| {
            if matches!(i, 8 | 13 | 18 | 23) {
                *c == b'-'
            } else {
                c.is_ascii_hexdigit()
            }
        })
}

fn random_uuid(rng: &mut impl Rng) -> String {
    uuid_string(uuid_v4_from_bits(rng.random()))
}

/// The `kid` a deployment's tokens carry when the shape asks for one.
fn deployment_kid(key: &SigningKey) -> String {
    URL_SAFE_NO_PAD.encode(&key.mac("jwt-kid", b"")[..24])
}

/// The metadata claim: a MAC under the signing key over the token's id, label
/// and location, shaped as a UUIDv4. Only the key holder can tell which label
/// and location a token was minted for; the value reveals nothing without it.
pub fn metadata_uuid(key: &SigningKey, identity: u128, label: &str, location: &str) -> String {
    let mut data = Vec::with_capacity(16 + label.len() + location.len() + 1);
    data.extend_from_slice(&identity.to_be_bytes());
    data.extend_from_slice(label.as_bytes());
    data.push(0);
    data.extend_from_slice(location.as_bytes());
    let mac = key.mac("jwt-metadata", &data);
    let bits = u128::from_be_bytes(mac[..16].try_into().expect("16 bytes"));
    uuid_string(uuid_v4_from_bits(bits))
}

/// Whether a JWT's metadata claim says it was minted for `label` and `location`.
pub fn metadata_matches(key: &SigningKey, token: &str, label: &str, location: &str) -> Option<bool> {
    let seen = inspect(key, token.as_bytes())?;
    let v = seen
        .claims
        .values()
        .filter_map(Value::as_str)
        .any(|s| s == metadata_uuid(key, seen.identity, label, location));
    Some(v)
}

/// The id for a new JWT: v2 tokens carry 58 bits of id.
pub fn new_id(rng: &mut impl Rng) -> u64 {
    rng.random::<u64>() >> (64 - V2_ID_BITS)
}

fn render(
    key: &SigningKey,
    shape: &ClaimShape,
    iat: i64,
    lifetime: i64,
    person: &claims::Person,
    rng: &mut impl Rng,
) -> Value {
    match shape {
        ClaimShape::Fixed { value } => value.clone(),
        ClaimShape::IssuedAt => Value::from(iat),
        ClaimShape::Expiry => Value::from(iat + lifetime),
        ClaimShape::TimeOffset { min, max } => {
            Value::from(iat + if min < max { rng.random_range(*min..=*max) } else { *min })
        }
        ClaimShape::Uuid => Value::String(random_uuid(rng)),
        ClaimShape::Email { domain } => {
            let len = rng.random_range(6..=12);
            let local: String = (0..len)
                .map(|_| Alphabet::Base32Lower.random_char(rng) as char)
                .map(|c| if c.is_ascii_digit() { 'e' } else { c })
                .collect();
            Value::String(format!("{local}@{domain}"))
        }
        ClaimShape::Number { digits } => {
            let d = (*digits).clamp(1, 18);
            let lo = 10u64.pow(d - 1);
            Value::from(rng.random_range(lo..lo * 10))
        }
        ClaimShape::Random { shape } => Value::String(super::render_random(shape, rng)),
        ClaimShape::OneOf { values } => values
            .get(rng.random_range(0..values.len().max(1)))
            .cloned()
            .unwrap_or(Value::Null),
        ClaimShape::DeploymentKid => Value::String(deployment_kid(key)),
        ClaimShape::DeploymentKeyUuid => {
            let m = key.mac("jwt-kid-uuid", b"");
            let bits = u128::from_be_bytes(m[..16].try_into().expect("16 bytes"));
            Value::String(uuid_string(uuid_v4_from_bits(bits)))
        }
        ClaimShape::DeploymentIssuer => Value::String(claims::installation(key).issuer),
        ClaimShape::RealmAccess => claims::realm_access(key),
        ClaimShape::Client => Value::String(claims::client_id(rng)),
        ClaimShape::Scope => Value::String(claims::scope(rng)),
        ClaimShape::Person { field, domain } => {
            let domain = match domain {
                Some(d) => d.clone(),
                None => claims::installation(key).domain,
            };
            Value::String(person.field(field, &domain))
        }
        // Resolved against the claims already rendered (see `mint_carrying`).
        ClaimShape::SameAs { .. } => Value::Null,
    }
}

fn json_object(fields: &[(String, Value)]) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&Value::String(k.clone()).to_string());
        s.push(':');
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

/// A header as Keycloak's `JWSBuilder.encodeHeader` writes it: the first
/// field compact, the others with a space either side of the colon.
fn keycloak_header(fields: &[(String, Value)]) -> String {
    let mut s = String::from("{");
    for (i, (k, v)) in fields.iter().enumerate() {
        if i > 0 {
            s.push(',');
        }
        s.push_str(&Value::String(k.clone()).to_string());
        s.push_str(if i == 0 { ":" } else { " : " });
        s.push_str(&v.to_string());
    }
    s.push('}');
    s
}

/// Mints a v2 JWT of `shape` carrying `identity`.
pub fn mint_shaped(
    key: &SigningKey,
    shape: &JwtShape,
    identity: u128,
    label: &str,
    location: &str,
    now_unix: i64,
) -> Result<String> {
    // A random-string carrier refuses an identity now and then (see
    // `Alphabet::encode_identity`); with the identity given, draw its top again.
    for _ in 0..64 {
        if let Some(t) = mint_carrying(key, shape, identity, label, location, now_unix)? {
            return Ok(t);
        }
    }
    Err(Error::Invalid(
        "this identity does not fit the carrier claim's digits".into(),
    ))
}

/// [`mint_shaped`], or `None` when the identity does not fit a random-string
/// carrier's digits this time (the caller draws another id).
pub(crate) fn mint_carrying(
    key: &SigningKey,
    shape: &JwtShape,
    identity: u128,
    label: &str,
    location: &str,
    now_unix: i64,
) -> Result<Option<String>> {
    shape.validate()?;
    if shape.carrier_is_uuid() && (identity >> 64) >> V2_ID_BITS != 0 {
        return Err(Error::Invalid("a JWT id carried in a UUID has at most 58 bits".into()));
    }
    let mut rng = rand::rng();
    let lifetime = match shape.lifetime_range {
        Some((min, max)) => claims::lifetime(min, max, &mut rng),
        None => shape.lifetimes[rng.random_range(0..shape.lifetimes.len())],
    };
    let person = claims::Person::draw(&mut rng);
    // Issued a little before it was found, as a token in use would be.
    let backdate = rng.random_range(0..=(lifetime / 4).clamp(1, 3 * DAY));
    let iat = now_unix - backdate;
    let header: Vec<(String, Value)> = shape
        .header
        .iter()
        .map(|(k, s)| (k.clone(), render(key, s, iat, lifetime, &person, &mut rng)))
        .collect();
    let mut claims = Vec::with_capacity(shape.claims.len());
    for (k, s) in &shape.claims {
        let v = if *k == shape.carrier && !shape.identity_in_signature {
            match s {
                ClaimShape::Uuid => {
                    let bits = ((identity >> 64) << 64) | (identity & u64::MAX as u128);
                    Value::String(uuid_string(uuid_v4_from_bits(bits)))
                }
                ClaimShape::Random { shape } => match super::render_key(shape, identity, &mut rng) {
                    Some(t) => Value::String(t),
                    None => return Ok(None),
                },
                _ => return Err(Error::Invalid("the carrier claim has no room for the identity".into())),
            }
        } else if shape.metadata.as_deref() == Some(k.as_str()) && *s == ClaimShape::Uuid {
            Value::String(metadata_uuid(key, identity, label, location))
        } else if let ClaimShape::SameAs { claim } = s {
            claims
                .iter()
                .find(|(e, _): &&(String, Value)| e == claim)
                .map_or(Value::Null, |(_, v)| v.clone())
        } else {
            render(key, s, iat, lifetime, &person, &mut rng)
        };
        claims.push((k.clone(), v));
    }
    let header = match &shape.header_bytes {
        Some(h) => h.clone(),
        None if shape.keycloak_header => URL_SAFE_NO_PAD.encode(keycloak_header(&header)),
        None => URL_SAFE_NO_PAD.encode(json_object(&header)),
    };
    let signing_input = format!("{header}.{}", URL_SAFE_NO_PAD.encode(json_object(&claims)));
    let sig = if shape.identity_in_signature {
        URL_SAFE_NO_PAD.encode(carrier_signature(
            key,
            shape.alg(),
            shape.sig_len,
            signing_input.as_bytes(),
            identity,
        ))
    } else {
        sign(key, shape.alg(), shape.sig_len, signing_input.as_bytes())?
    };
    Ok(Some(format!("{signing_input}.{sig}")))
}

/// Mints a JWT of the default shape (see [`JwtShape::standard`]).
pub fn mint(
    key: &SigningKey,
    identity: u128,
    label: &str,
    location: &str,
    issuer: &str,
    now_unix: i64,
) -> Result<String> {
    mint_shaped(
        key,
        &JwtShape::standard(issuer, None),
        identity,
        label,
        location,
        now_unix,
    )
}

/// sha256 of a location: the v1 format's `metadata` claim (kept to describe
/// v1 tokens; v2 never uses it).
pub fn location_digest(location: &str) -> String {
    hex::encode(Sha256::digest(location.as_bytes()))
}

/// Quick shape test: two or three dot-separated parts of base64url, the
/// first a JSON object (`eyJ`). A token whose signature was stripped
/// (`header.payload` or `header.payload.`) still passes.
pub fn looks_like_jwt(s: &[u8]) -> bool {
    if s.len() > MAX_JWT_LEN || !s.starts_with(b"eyJ") {
        return false;
    }
    let mut dots = 0;
    for &b in s {
        if b == b'.' {
            dots += 1;
        } else if !(b.is_ascii_alphanumeric() || b == b'-' || b == b'_' || b == b'=') {
            return false;
        }
    }
    // The payload must be an object too.
    (dots == 1 || dots == 2) && s.split(|&b| b == b'.').nth(1).is_some_and(|p| p.len() >= 2)
}

fn decode_raw(part: &[u8]) -> Option<Vec<u8>> {
    // Tolerate padding an attacker may have added by hand.
    let end = part.iter().rposition(|&b| b != b'=')?;
    URL_SAFE_NO_PAD.decode(&part[..=end]).ok()
}

fn decode_part(part: &[u8]) -> Option<Map<String, Value>> {
    match serde_json::from_slice::<Value>(&decode_raw(part)?).ok()? {
        Value::Object(m) => Some(m),
        _ => None,
    }
}

/// v1: the identity as 32 hex digits in `jti`.
fn identity_v1(key: &SigningKey, claims: &Map<String, Value>) -> Option<u128> {
    let jti = claims.get("jti")?.as_str()?;
    if jti.len() > 64 {
        return None;
    }
    let identity = Alphabet::Hex.decode_identity(jti.as_bytes())?;
    super::identity_is_valid(key, identity).then_some(identity)
}

/// v2: a UUIDv4 claim's 122 random bits (58-bit id, 64-bit tag), or a
/// random-string claim recognised as a key body is.
fn identity_v2(key: &SigningKey, claims: &Map<String, Value>) -> Option<u128> {
    for v in claims.values().filter_map(Value::as_str).take(MAX_CLAIMS_TRIED) {
        let b = v.as_bytes();
        if let Some(bits) = uuid_v4_bits(b) {
            let identity = ((bits >> 64) << 64) | (bits & u64::MAX as u128);
            if super::identity_is_valid(key, identity) {
                return Some(identity);
            }
            continue;
        }
        if (super::MIN_CANDIDATE_LEN..=640).contains(&b.len())
            && let Some(identity) = super::recognise_key(key, b)
        {
            return Some(identity);
        }
    }
    None
}

/// Inspects a JWT-shaped candidate. Returns `None` unless a claim carries a
/// valid tag: the signature is checked only after that, so a forged, edited
/// or signature-stripped token of ours is still recognised (and then flagged
/// tampered).
pub fn inspect(key: &SigningKey, candidate: &[u8]) -> Option<JwtInspection> {
    if !looks_like_jwt(candidate) {
        return None;
    }
    let mut parts = candidate.splitn(3, |&b| b == b'.');
    let (h, p) = (parts.next()?, parts.next()?);
    let s = parts.next().unwrap_or(b"");
    let header = decode_part(h)?;
    let claims = decode_part(p)?;
    let alg = header.get("alg").and_then(Value::as_str).unwrap_or("").to_string();
    let signing_input = &candidate[..h.len() + 1 + p.len()];
    let (identity, version, signature_valid) = match identity_v1(key, &claims) {
        Some(i) => (i, 1, verify(key, &alg, signing_input, s)),
        None => match identity_v2(key, &claims) {
            Some(i) => (i, 2, verify(key, &alg, signing_input, s)),
            // v3: the identity in the signature.
            None => {
                let raw = decode_raw(s)?;
                let (i, untouched) = signature_carrier(key, &alg, signing_input, &raw)?;
                (i, 3, untouched)
            }
        },
    };
    Some(JwtInspection {
        identity,
        signature_valid,
        alg,
        claims,
        version,
    })
}

/// Names what differs between the minted JWT and the one seen: changed,
/// added or removed claims, and `alg` when the header algorithm changed.
pub fn changes(minted: &str, seen: &JwtInspection) -> Vec<String> {
    let mut out = Vec::new();
    let mut parts = minted.split('.');
    let minted_alg = parts
        .next()
        .and_then(|h| decode_part(h.as_bytes()))
        .and_then(|h| h.get("alg").and_then(Value::as_str).map(str::to_string))
        .unwrap_or_else(|| "HS256".into());
    if seen.alg != minted_alg {
        out.push(format!("alg:{}", crate::sanitize::escape(seen.alg.as_bytes(), 32)));
    }
    let original = parts.next().and_then(|p| decode_part(p.as_bytes())).unwrap_or_default();
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

/// A JSON object read with its keys in order (serde_json's map sorts them).
struct Ordered(Vec<(String, Value)>);

impl<'de> Deserialize<'de> for Ordered {
    fn deserialize<D: serde::Deserializer<'de>>(d: D) -> std::result::Result<Self, D::Error> {
        struct V;
        impl<'de> serde::de::Visitor<'de> for V {
            type Value = Ordered;
            fn expecting(&self, f: &mut std::fmt::Formatter) -> std::fmt::Result {
                f.write_str("a JSON object")
            }
            fn visit_map<A: serde::de::MapAccess<'de>>(self, mut m: A) -> std::result::Result<Ordered, A::Error> {
                let mut out = Vec::new();
                while let Some((k, v)) = m.next_entry::<String, Value>()? {
                    out.push((k, v));
                }
                Ok(Ordered(out))
            }
        }
        d.deserialize_map(V)
    }
}

fn ordered_part(part: &str, what: &str) -> Result<Vec<(String, Value)>> {
    let raw =
        decode_raw(part.as_bytes()).ok_or_else(|| Error::Invalid(format!("the example's {what} is not base64url")))?;
    serde_json::from_slice::<Ordered>(&raw)
        .map(|o| o.0)
        .map_err(|_| Error::Invalid(format!("the example's {what} is not a JSON object")))
}

/// What `--like` learnt from an example JWT.
#[derive(Debug, Clone)]
pub struct LikeJwt {
    /// The shape to mint.
    pub shape: JwtShape,
    /// Things the operator should know (e.g. a public issuer's keys could expose the decoy).
    pub warnings: Vec<String>,
}

/// Issuers whose signing keys are published (JWKS): anyone can check that a
/// token claiming to be theirs was not signed by them.
const PUBLIC_ISSUERS: &[&str] = &[
    "accounts.google.com",
    "securetoken.google.com",
    "login.microsoftonline.com",
    "sts.windows.net",
    "login.windows.net",
    "appleid.apple.com",
    "token.actions.githubusercontent.com",
    "gitlab.com",
    ".auth0.com",
    ".okta.com",
    ".oktapreview.com",
    "cognito-idp.",
    ".b2clogin.com",
    "oidc.eks.",
    "identitytoolkit.googleapis.com",
    "kubernetes.default.svc",
    ".clerk.accounts.dev",
    ".firebaseapp.com",
];

fn issuer_host(iss: &str) -> &str {
    let rest = iss.split_once("://").map_or(iss, |(_, r)| r);
    rest.split(['/', ':']).next().unwrap_or(rest)
}

/// Names claims whose values are configuration, copied as they are.
const COPIED: &[&str] = &[
    "iss",
    "aud",
    "azp",
    "typ",
    "scope",
    "scp",
    "ver",
    "acr",
    "amr",
    "roles",
    "groups",
    "realm_access",
    "resource_access",
    "cid",
    "tid",
    "client_id",
    "token_use",
    "idp",
    "appid",
    "appidacr",
    "idtyp",
    "tenant",
    "permissions",
    "org_id",
    "gty",
    "nonce",
    "at_hash",
];

fn claim_shape(name: &str, v: &Value, iat: Option<i64>) -> ClaimShape {
    let fixed = || ClaimShape::Fixed { value: v.clone() };
    if let Value::String(text) = v
        && let Some(field) = claims::identity_field(name, text)
    {
        return ClaimShape::Person {
            field: field.to_string(),
            domain: text.rsplit_once('@').map(|(_, d)| d.to_string()),
        };
    }
    if COPIED.contains(&name) {
        return fixed();
    }
    match v {
        Value::Number(n) => {
            let Some(i) = n.as_i64() else { return fixed() };
            match (name, iat) {
                ("iat", _) => ClaimShape::IssuedAt,
                ("exp", Some(_)) => ClaimShape::Expiry,
                (_, Some(iat)) if (i - iat).abs() < 10 * 365 * DAY && i > 1_000_000_000 => ClaimShape::TimeOffset {
                    min: i - iat,
                    max: i - iat,
                },
                _ if i.abs() >= 1000 => ClaimShape::Number {
                    digits: i.unsigned_abs().to_string().len() as u32,
                },
                _ => fixed(),
            }
        }
        Value::String(s) => {
            if is_uuid(s) {
                return ClaimShape::Uuid;
            }
            if s.starts_with("http://") || s.starts_with("https://") || s.len() < 8 || s.contains(char::is_whitespace) {
                return fixed();
            }
            if let Some((local, domain)) = s.split_once('@')
                && !local.is_empty()
                && domain.contains('.')
                && !domain.contains('@')
            {
                return ClaimShape::Email {
                    domain: domain.to_string(),
                };
            }
            // A literal head up to the last non-token character (`auth0|`,
            // `user:`), then a body whose shape is copied part by part: the
            // example's own value (a real user's id) is never copied.
            let cut = s
                .char_indices()
                .rev()
                .find(|(_, c)| !(c.is_ascii_alphanumeric() || matches!(c, '-' | '_' | '.')))
                .map(|(i, c)| i + c.len_utf8())
                .unwrap_or(0);
            let (head, body) = s.split_at(cut);
            match super::like::infer_loose(body) {
                Some(mut shape) if body.len() >= 4 => {
                    shape.prefix = format!("{head}{}", shape.prefix);
                    ClaimShape::Random { shape }
                }
                _ => fixed(),
            }
        }
        _ => fixed(),
    }
}

/// Learns the shape of a real JWT for `mint --kind jwt --like`: header (`alg`,
/// `typ`, `kid` and the rest, in order), claim names and order, `iss`/`aud`
/// values, each value's shape, the lifetime and the signature length.
pub fn infer_like(example: &str, issuer: Option<&str>, audience: Option<&str>) -> Result<LikeJwt> {
    let example = example.trim();
    if !looks_like_jwt(example.as_bytes()) {
        return Err(Error::Invalid(
            "--like with --kind jwt needs a JWT (three base64url parts separated by dots, starting eyJ)".into(),
        ));
    }
    let mut it = example.split('.');
    let header_part = it.next().unwrap_or("");
    let header = ordered_part(header_part, "header")?;
    let mut claims = ordered_part(it.next().unwrap_or(""), "payload")?;
    let sig_len = decode_raw(it.next().unwrap_or("").as_bytes()).map_or(0, |s| s.len());
    let alg = header
        .iter()
        .find(|(k, _)| k == "alg")
        .and_then(|(_, v)| v.as_str())
        .unwrap_or("")
        .to_string();
    if sig_kind(&alg).is_none() {
        return Err(Error::Invalid(format!(
            "the example's alg is {alg:?}; give a signed token (HS256, RS256, ES256, …)"
        )));
    }
    if claims.len() > 64 {
        return Err(Error::Invalid("the example has more than 64 claims".into()));
    }
    for (k, v) in claims.iter_mut() {
        if k == "iss"
            && let Some(i) = issuer
        {
            *v = Value::String(i.to_string());
        }
        if k == "aud"
            && let Some(a) = audience
        {
            *v = Value::String(a.to_string());
        }
    }
    let iat = claims.iter().find(|(k, _)| k == "iat").and_then(|(_, v)| v.as_i64());
    let exp = claims.iter().find(|(k, _)| k == "exp").and_then(|(_, v)| v.as_i64());
    let mut shaped: Vec<(String, ClaimShape)> = claims
        .iter()
        .map(|(k, v)| (k.clone(), claim_shape(k, v, iat)))
        .collect();
    // A drawn value the example repeats in a later claim (`session_state`
    // equal to `sid`) stays repeated.
    for i in 0..shaped.len() {
        let Value::String(v) = &claims[i].1 else { continue };
        if matches!(shaped[i].1, ClaimShape::Fixed { .. }) {
            continue;
        }
        if let Some(j) = (0..i).find(|&j| claims[j].1.as_str() == Some(v.as_str())) {
            shaped[i].1 = ClaimShape::SameAs {
                claim: claims[j].0.clone(),
            };
        }
    }
    let lifetime = match (iat, exp) {
        (Some(i), Some(e)) if e > i => e - i,
        _ => 3600,
    };
    // The identity rides in jti when it can, else in another random claim.
    let room = |s: &ClaimShape| match s {
        ClaimShape::Uuid => true,
        ClaimShape::Random { shape } => shape.validate().is_ok(),
        _ => false,
    };
    let mut notes = Vec::new();
    let preferred = ["jti", "sid", "session_state", "uti", "sub"];
    let carrier = preferred
        .iter()
        .filter_map(|p| shaped.iter().find(|(k, s)| k == p && room(s)))
        .chain(shaped.iter().filter(|(_, s)| room(s)))
        .map(|(k, _)| k.clone())
        .next();
    let carrier = match carrier {
        Some(c) => c,
        None if sig_kind(&alg) == Some(SigKind::Shaped) && sig_len >= SIG_CARRIER_MIN => String::new(),
        None => {
            let pos = shaped
                .iter()
                .position(|(k, _)| k == "iss")
                .map_or(shaped.len(), |p| p + 1);
            shaped.retain(|(k, _)| k != "jti");
            shaped.insert(pos.min(shaped.len()), ("jti".into(), ClaimShape::Uuid));
            notes.push(
                "the example has no claim with room for the token's id and tag (a UUID or a random string of \
                 22+ characters); a UUID jti was added"
                    .to_string(),
            );
            "jti".into()
        }
    };
    let metadata = ["sid", "session_state", "sub"]
        .iter()
        .filter_map(|p| shaped.iter().find(|(k, s)| k == p && *s == ClaimShape::Uuid))
        .chain(shaped.iter().filter(|(_, s)| *s == ClaimShape::Uuid))
        .map(|(k, _)| k.clone())
        .find(|k| *k != carrier);
    let header: Vec<(String, ClaimShape)> = header
        .into_iter()
        .map(|(k, v)| (k, ClaimShape::Fixed { value: v }))
        .collect();
    let iss = claims
        .iter()
        .find(|(k, _)| k == "iss")
        .and_then(|(_, v)| v.as_str())
        .unwrap_or("");
    let host = issuer_host(iss).to_ascii_lowercase();
    let has_kid = header.iter().any(|(k, _)| k == "kid" || k == "x5t" || k == "jku");
    if has_kid
        && !alg.starts_with("HS")
        && PUBLIC_ISSUERS.iter().any(|p| {
            if p.starts_with('.') {
                host.ends_with(p)
            } else if p.ends_with('.') {
                host.starts_with(p)
            } else {
                host == *p
            }
        })
    {
        notes.push(format!(
            "the example names the public issuer {host} and a key id: its published keys (JWKS) let anyone check \
             that the decoy's {alg} signature is not theirs. Prefer an example from your own issuer, or give \
             --issuer with a host of yours"
        ));
    }
    let in_signature = carrier.is_empty();
    let shape = JwtShape {
        header,
        claims: shaped,
        carrier,
        metadata,
        lifetimes: vec![lifetime],
        lifetime_range: None,
        keycloak_header: false,
        identity_in_signature: in_signature,
        sig_len: if sig_len == 0 { default_sig_len(&alg) } else { sig_len },
        header_bytes: Some(header_part.trim_end_matches('=').to_string()),
    };
    shape.validate()?;
    Ok(LikeJwt { shape, warnings: notes })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn key() -> SigningKey {
        SigningKey::from_secret(&[9u8; 32]).unwrap()
    }

    fn jwt_id(k: &SigningKey, id: u64) -> u128 {
        super::super::identity_for(k, id >> (64 - V2_ID_BITS))
    }

    fn ordered_claims(t: &str) -> Vec<(String, Value)> {
        ordered_part(t.split('.').nth(1).unwrap(), "payload").unwrap()
    }

    #[test]
    fn minted_jwt_verifies_and_binds_metadata_under_the_key() {
        // Guards the crypto backend: with none enabled jsonwebtoken panics here.
        let k = key();
        let id = jwt_id(&k, 0xabc0_0000_0000_0000);
        let t = mint(&k, id, "demo", "repo:web/.env", "https://auth.acme.io", 1_700_000_000).unwrap();
        let seen = inspect(&k, t.as_bytes()).expect("recognised");
        assert!(seen.signature_valid);
        assert_eq!(seen.identity, id);
        assert_eq!(seen.version, 2);
        assert!(!t.contains("demo") && !seen.claims.values().any(|v| v == "demo"));
        assert_eq!(metadata_matches(&k, &t, "demo", "repo:web/.env"), Some(true));
        assert_eq!(metadata_matches(&k, &t, "demo", "elsewhere"), Some(false));
        assert!(is_uuid(seen.claims["jti"].as_str().unwrap()));
        assert!(seen.claims["exp"].as_i64().unwrap() > 1_700_000_000);
        assert!(changes(&t, &seen).is_empty());
        let names: Vec<String> = ordered_claims(&t).into_iter().map(|(k, _)| k).collect();
        assert_eq!(
            names,
            [
                "exp",
                "iat",
                "auth_time",
                "jti",
                "iss",
                "aud",
                "sub",
                "typ",
                "azp",
                "session_state",
                "acr",
                "realm_access",
                "resource_access",
                "scope",
                "sid",
                "email_verified",
                "name",
                "preferred_username",
                "given_name",
                "family_name",
                "email"
            ]
        );
    }

    #[test]
    fn legacy_v1_token_is_still_recognised() {
        let f: Value = serde_json::from_str(include_str!("../../tests/fixtures/legacy_jwt_v1.json")).unwrap();
        let k = SigningKey::from_secret(f["signing_key"].as_str().unwrap().as_bytes()).unwrap();
        let t = f["token"].as_str().unwrap();
        let seen = inspect(&k, t.as_bytes()).expect("v1 recognised");
        assert_eq!(seen.version, 1);
        assert!(seen.signature_valid);
        assert_eq!(super::super::id_string(seen.identity), f["token_id"].as_str().unwrap());
        assert!(inspect(&key(), t.as_bytes()).is_none());
        let r = super::super::recognise(&k, t.as_bytes()).unwrap();
        assert_eq!(r.token_id, f["token_id"].as_str().unwrap());
    }

    #[test]
    fn edited_payload_is_tampered_and_named() {
        let k = key();
        let id = jwt_id(&k, 0xdef);
        let t = mint(&k, id, "demo", "", "https://auth.acme.io", 1_700_000_000).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        let mut claims = decode_part(parts[1].as_bytes()).unwrap();
        claims.insert("sub".into(), serde_json::json!("admin"));
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
    fn stripped_signature_is_recognised_and_invalid() {
        let k = key();
        let t = mint(&k, jwt_id(&k, 77), "demo", "", "https://a", 1_700_000_000).unwrap();
        let (signing_input, _) = t.rsplit_once('.').unwrap();
        for stripped in [signing_input.to_string(), format!("{signing_input}.")] {
            let seen = inspect(&k, stripped.as_bytes()).expect("recognised without signature");
            assert!(!seen.signature_valid, "{stripped}");
        }
    }

    #[test]
    fn foreign_jwt_is_not_recognised() {
        let k = key();
        let other = SigningKey::from_secret(&[8u8; 32]).unwrap();
        let t = mint(&other, jwt_id(&other, 1), "x", "", "i", 0).unwrap();
        assert!(inspect(&k, t.as_bytes()).is_none());
        assert!(inspect(&k, b"eyJ.truncated").is_none());
        assert!(inspect(&k, b"eyJhbGciOiJIUzI1NiJ9.e30.").is_none());
    }

    fn b64(v: &str) -> String {
        URL_SAFE_NO_PAD.encode(v)
    }

    #[test]
    fn like_mirrors_an_rs256_token() {
        let h = r#"{"alg":"RS256","typ":"JWT","kid":"k-2024-11"}"#;
        let p = r#"{"sub":"auth0|64f1c2a9b8e7d60012345678","iss":"https://login.acme.io/","aud":"https://api.acme.io","iat":1700000000,"exp":1700086400,"jti":"0b6c1c5e-8a4c-4a8e-9d2f-3f4e5a6b7c8d","azp":"Xk9aQ3pL7mN2bV5cR8tY1wE4uI6oP0sD","scope":"read:orders write:orders","email":"jane.doe@acme.io"}"#;
        let sig = URL_SAFE_NO_PAD.encode([7u8; 256]);
        let example = format!("{}.{}.{sig}", b64(h), b64(p));
        let like = infer_like(&example, None, None).unwrap();
        assert!(like.warnings.is_empty(), "{:?}", like.warnings);
        let k = key();
        let id = jwt_id(&k, 0x1234_5678_9abc_def0);
        let t = mint_shaped(&k, &like.shape, id, "l", "loc", 1_800_000_000).unwrap();
        let parts: Vec<&str> = t.split('.').collect();
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[0]).unwrap(), h.as_bytes());
        assert_eq!(URL_SAFE_NO_PAD.decode(parts[2]).unwrap().len(), 256);
        let claims = ordered_claims(&t);
        let want: Vec<(String, Value)> = serde_json::from_slice::<Ordered>(p.as_bytes()).unwrap().0;
        assert_eq!(
            claims.iter().map(|c| &c.0).collect::<Vec<_>>(),
            want.iter().map(|c| &c.0).collect::<Vec<_>>()
        );
        let get = |c: &[(String, Value)], n: &str| c.iter().find(|(k, _)| k == n).unwrap().1.clone();
        assert_eq!(get(&claims, "iss"), get(&want, "iss"));
        assert_eq!(get(&claims, "aud"), get(&want, "aud"));
        assert_eq!(
            get(&claims, "exp").as_i64().unwrap() - get(&claims, "iat").as_i64().unwrap(),
            86_400
        );
        let sub = get(&claims, "sub");
        let sub = sub.as_str().unwrap();
        assert!(sub.starts_with("auth0|") && sub.len() == 30 && sub != "auth0|64f1c2a9b8e7d60012345678");
        assert!(get(&claims, "email").as_str().unwrap().ends_with("@acme.io"));
        let seen = inspect(&k, t.as_bytes()).expect("recognised");
        assert_eq!(seen.identity, id);
        assert!(seen.signature_valid);
        assert_eq!(seen.alg, "RS256");
        // Changing alg or truncating the signature is tampering.
        let hs = format!("{}.{}.{}", b64(r#"{"alg":"HS256","typ":"JWT"}"#), parts[1], parts[2]);
        assert!(!inspect(&k, hs.as_bytes()).unwrap().signature_valid);
        let short = format!("{}.{}.{}", parts[0], parts[1], &parts[2][..300]);
        assert!(!inspect(&k, short.as_bytes()).unwrap().signature_valid);
    }

    #[test]
    fn like_warns_about_public_issuers_with_published_keys() {
        let h = r#"{"alg":"RS256","kid":"abc123","typ":"JWT"}"#;
        let p =
            r#"{"iss":"https://accounts.google.com","sub":"110169484474386276334","iat":1700000000,"exp":1700003600}"#;
        let example = format!("{}.{}.{}", b64(h), b64(p), URL_SAFE_NO_PAD.encode([1u8; 256]));
        let like = infer_like(&example, None, None).unwrap();
        assert!(
            like.warnings.iter().any(|w| w.contains("accounts.google.com")),
            "{:?}",
            like.warnings
        );
        let unsigned = format!("{}.{}.", b64(r#"{"alg":"none"}"#), b64(p));
        assert!(
            infer_like(&unsigned, None, None)
                .unwrap_err()
                .to_string()
                .contains("signed")
        );
    }
}
