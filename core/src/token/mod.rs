//! Tokens: their shapes, minting, and recognition without I/O.
//!
//! Every token carries a 64-bit random id and a 64-bit truncated HMAC tag
//! over it, encoded in the token's own alphabet in the last digits of its
//! body (or in a JWT's `jti`). A random string passes the tag check with
//! probability 2^-64, so garbage never costs a database read.

pub mod alphabet;
pub mod claims;
pub mod credfile;
mod curve;
pub mod extract;
pub mod jwt;
pub mod like;

use rand::Rng;
use serde::{Deserialize, Serialize};
use std::fmt;
use std::str::FromStr;

pub use alphabet::Alphabet;

use crate::error::{Error, Result};
use crate::key::SigningKey;

/// What kind of decoy a token is.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenKind {
    /// An HS256 JSON Web Token.
    Jwt,
    /// A prefixed API key.
    Key,
    /// An AWS access key of a decoy IAM user (stack backend only): AWS
    /// makes it, so it carries no tag of ours; its record is keyed by the
    /// access key id.
    #[serde(rename = "aws-key")]
    AwsKey,
}

impl fmt::Display for TokenKind {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenKind::Jwt => "jwt",
            TokenKind::Key => "key",
            TokenKind::AwsKey => "aws-key",
        })
    }
}

impl FromStr for TokenKind {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "jwt" => Ok(TokenKind::Jwt),
            "key" => Ok(TokenKind::Key),
            "aws-key" => Ok(TokenKind::AwsKey),
            _ => Err(format!("unknown kind {s:?}; use jwt, key or aws-key")),
        }
    }
}

/// Lifecycle of a token.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum TokenState {
    /// Hits are recorded and alert.
    Active,
    /// Hits are recorded, no alert.
    Disabled,
    /// Replaced by rotation; hits still alert because a leaked copy is still out there.
    Retired,
}

impl fmt::Display for TokenState {
    fn fmt(&self, f: &mut fmt::Formatter<'_>) -> fmt::Result {
        f.write_str(match self {
            TokenState::Active => "active",
            TokenState::Disabled => "disabled",
            TokenState::Retired => "retired",
        })
    }
}

impl FromStr for TokenState {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "active" => Ok(TokenState::Active),
            "disabled" => Ok(TokenState::Disabled),
            "retired" => Ok(TokenState::Retired),
            _ => Err(format!("unknown state {s:?}")),
        }
    }
}

/// The shape of a key token: literal prefix, alphabet and body layout.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct KeyShape {
    /// Literal prefix, e.g. `sk_live_`.
    pub prefix: String,
    /// Alphabet of the digits that carry the identity (the last ones, before
    /// any checksum), and of every group without its own in `groups`.
    pub alphabet: Alphabet,
    /// Body layout: `*` for each digit, other characters literal separators.
    pub layout: String,
    /// Alphabet of each separator-delimited group of digits, in order
    /// (`xoxb-<digits>-<digits>-<base62>`); empty: all are `alphabet`.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub groups: Vec<Alphabet>,
    /// A checksum the format carries at the end of its last group.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub checksum: Option<Checksum>,
}

/// A checksum some vendors put at the end of their tokens.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum Checksum {
    /// CRC-32 (IEEE) of the last group's digits before it, written in that
    /// group's alphabet, most significant digit first, left-padded with the
    /// zero digit (GitHub's tokens: 6 base62 digits over the 30 before them).
    Crc32,
}

impl FromStr for Checksum {
    type Err = String;
    fn from_str(s: &str) -> Result<Self, Self::Err> {
        match s {
            "crc32" => Ok(Checksum::Crc32),
            _ => Err(format!("unknown checksum {s:?}; use crc32")),
        }
    }
}

/// CRC-32 (IEEE 802.3, reflected, as zlib's `crc32`).
pub fn crc32(data: &[u8]) -> u32 {
    // Table-driven: every key-shaped candidate of a request may be checked.
    static TABLE: [u32; 256] = {
        let mut t = [0u32; 256];
        let mut i = 0;
        while i < 256 {
            let mut c = i as u32;
            let mut k = 0;
            while k < 8 {
                c = if c & 1 != 0 { (c >> 1) ^ 0xEDB8_8320 } else { c >> 1 };
                k += 1;
            }
            t[i] = c;
            i += 1;
        }
        t
    };
    let mut crc = !0u32;
    for &b in data {
        crc = TABLE[((crc ^ b as u32) & 0xff) as usize] ^ (crc >> 8);
    }
    !crc
}

/// The candidate without its checksum tail, if it ends in a valid CRC-32
/// tail of alphabet `a` over the run of `a`'s digits before it.
pub fn strip_crc32(a: Alphabet, candidate: &[u8]) -> Option<&[u8]> {
    let w = a.crc32_width();
    if candidate.len() <= w {
        return None;
    }
    let (body, tail) = candidate.split_at(candidate.len() - w);
    if !tail.iter().all(|b| a.has_char(*b)) {
        return None;
    }
    let start = body.iter().rposition(|b| !a.has_char(*b)).map_or(0, |p| p + 1);
    (a.encode_fixed(crc32(&body[start..]) as u64, w) == tail).then_some(body)
}

/// Default body length of a key.
pub const DEFAULT_KEY_LENGTH: usize = 32;

impl KeyShape {
    /// A body of `length` digits with no separators.
    pub fn plain(prefix: &str, alphabet: Alphabet, length: usize) -> Result<Self> {
        let shape = KeyShape {
            prefix: prefix.to_string(),
            alphabet,
            layout: "*".repeat(length),
            groups: Vec::new(),
            checksum: None,
        };
        shape.validate()?;
        Ok(shape)
    }

    /// Number of digits in the body.
    pub fn digits(&self) -> usize {
        self.layout.bytes().filter(|&b| b == b'*').count()
    }

    /// The alphabet of every digit position, in order.
    pub fn digit_alphabets(&self) -> Vec<Alphabet> {
        let mut out = Vec::with_capacity(self.layout.len());
        let mut group = 0;
        let mut in_group = false;
        for b in self.layout.bytes() {
            if b == b'*' {
                in_group = true;
                out.push(self.groups.get(group).copied().unwrap_or(self.alphabet));
            } else if in_group {
                in_group = false;
                group += 1;
            }
        }
        out
    }

    /// Digits taken by the checksum.
    pub fn checksum_width(&self) -> usize {
        match self.checksum {
            Some(Checksum::Crc32) => self.alphabet.crc32_width(),
            None => 0,
        }
    }

    /// Refuses shapes that cannot carry an identity or that would not be
    /// recognised when seen.
    pub fn validate(&self) -> Result<()> {
        let min = self.alphabet.identity_len();
        // The identity takes the last digits before the checksum; they must
        // all be of the carrier alphabet.
        let alphs = self.digit_alphabets();
        let w = self.checksum_width();
        let room = alphs.iter().rev().skip(w).take_while(|a| **a == self.alphabet).count();
        if !self.groups.is_empty() && room < min {
            return Err(Error::Invalid(format!(
                "the last parts of this format hold {room} {} characters{}, too few to carry the token's id and tag; \
                 the minimum is {min}: give an example whose last part (or last parts of one alphabet) has at least \
                 {min} characters",
                self.alphabet,
                if w > 0 { " before the checksum" } else { "" }
            )));
        }
        if self.checksum.is_some() && self.groups.last().is_some_and(|g| *g != self.alphabet) {
            return Err(Error::Invalid(
                "the checksum must be in the last part's alphabet".into(),
            ));
        }
        if self.digits() < min + w {
            return Err(Error::Invalid(format!(
                "a {} body of {} characters is too short to carry the token's id and tag; \
                 the minimum is {min} (use --length {min} or more)",
                self.alphabet,
                self.digits() - w
            )));
        }
        if self.digits() > 512 {
            return Err(Error::Invalid(
                "a body of more than 512 characters is not supported".into(),
            ));
        }
        if !self.prefix.bytes().all(|b| b.is_ascii_graphic()) || self.prefix.len() > 64 {
            return Err(Error::Invalid(
                "the prefix must be at most 64 printable ASCII characters without spaces".into(),
            ));
        }
        if self.layout.bytes().any(|b| b != b'*' && !alphabet::is_separator(b)) {
            return Err(Error::Invalid("a layout may only separate digits with - _ or .".into()));
        }
        // The identity sits in the last digits; separators inside them would
        // break recognition for alphabets that use - and _ as digits.
        if self.alphabet == Alphabet::Base64url && self.layout.bytes().any(|b| b != b'*') {
            return Err(Error::Invalid("base64url bodies cannot contain separators".into()));
        }
        Ok(())
    }
}

/// Where a token was planted (recorded by `plant`).
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Placement {
    /// File path as given to `plant`.
    pub path: String,
    /// Variable or key name it was written under.
    pub var: String,
    /// When, RFC 3339.
    pub planted_at: String,
}

/// A minted token as the store keeps it.
#[derive(Debug, Clone, PartialEq, Serialize, Deserialize)]
pub struct TokenRecord {
    /// 16 lowercase hex digits.
    pub id: String,
    /// The token itself.
    pub token: String,
    /// jwt or key.
    pub kind: TokenKind,
    /// Who or what the token is for (shown in alerts).
    pub label: String,
    /// Where it is planted (shown in alerts).
    pub location: String,
    /// Free-form note for the operator.
    #[serde(default)]
    pub memo: String,
    /// RFC 3339, UTC.
    pub created_at: String,
    /// Lifecycle state.
    pub state: TokenState,
    /// Shape of a key token, kept so rotation can mint a twin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub shape: Option<KeyShape>,
    /// JWT issuer, kept so rotation can mint a twin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub issuer: Option<String>,
    /// Shape of a JWT (header, claims, lifetime), kept so rotation can mint a twin.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub jwt_shape: Option<Box<jwt::JwtShape>>,
    /// Files the token was planted into.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub placements: Vec<Placement>,
    /// The token this one replaced (rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaces: Option<String>,
    /// The token that replaced this one (rotation).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub replaced_by: Option<String>,
    /// Source ranges whose hits of this token are stored `ignored` and raise
    /// no alert (`honeytoken allow add CIDR --token ID`).
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub allow: Vec<crate::allow::AllowEntry>,
    /// For an AWS key: the IAM user that owns it (`retire` deletes it).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub aws_user: Option<String>,
    /// The credential file the token was minted as (`mint --as`), so hits
    /// and alerts can say which file was used; absent for bare tokens.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub file: Option<credfile::CredFile>,
}

impl TokenRecord {
    /// Records that a copy of the token now lives at `path` under `var`.
    /// A token with no location yet takes this one, because alerts show the
    /// location and an empty one would not say which copy was used.
    pub fn add_placement(&mut self, path: &str, var: &str, planted_at: String) {
        self.placements.push(Placement {
            path: path.to_string(),
            var: var.to_string(),
            planted_at,
        });
        if self.location.is_empty() {
            self.location = format!("{path} ({var})");
        }
    }
}

/// Builds the identity (id << 64 | tag) for an id.
pub fn identity_for(key: &SigningKey, id: u64) -> u128 {
    ((id as u128) << 64) | key.tag(id) as u128
}

/// Whether an identity's tag is valid under `key`.
pub fn identity_is_valid(key: &SigningKey, identity: u128) -> bool {
    key.verify_tag((identity >> 64) as u64, identity as u64)
}

/// The printable id of an identity.
pub fn id_string(identity: u128) -> String {
    format!("{:016x}", (identity >> 64) as u64)
}

/// What to mint.
#[derive(Debug, Clone)]
pub enum MintSpec {
    /// A JWT with this issuer.
    Jwt {
        /// `iss` claim.
        issuer: String,
    },
    /// A JWT of this shape (`--audience`, or mirrored from an example with `--like`).
    JwtShaped(Box<jwt::JwtShape>),
    /// A key of this shape.
    Key(KeyShape),
}

/// Default `iss` of minted JWTs: empty, meaning the installation's own
/// issuer, derived from the signing key (see [`claims::installation`]), so
/// no two installations share one.
pub const DEFAULT_ISSUER: &str = "";

/// Mints a new token (no I/O; the caller stores the record).
pub fn mint(
    key: &SigningKey,
    spec: &MintSpec,
    label: &str,
    location: &str,
    memo: &str,
    now: time::OffsetDateTime,
) -> Result<TokenRecord> {
    // A fresh draw fails the recogniser's shape pre-filter with probability
    // about 1e-9, and its id does not fit the carrier's digits with
    // probability at most 2 % (see `Alphabet::encode_identity`); never hand
    // out such a token, draw again.
    for _ in 0..64 {
        let Some(rec) = mint_once(key, spec, label, location, memo, now)? else {
            continue;
        };
        if recognise(key, rec.token.as_bytes()).is_some_and(|r| r.token_id == rec.id) {
            return Ok(rec);
        }
    }
    Err(Error::Invalid(
        "this shape mints tokens that would not be recognised when seen; choose a longer body or another alphabet"
            .into(),
    ))
}

fn mint_once(
    key: &SigningKey,
    spec: &MintSpec,
    label: &str,
    location: &str,
    memo: &str,
    now: time::OffsetDateTime,
) -> Result<Option<TokenRecord>> {
    let mut rng = rand::rng();
    // A UUID carrier has room for 58 bits of id; digits carry all 64, which
    // keeps the encoded identity uniform over its 128 bits.
    let id: u64 = match spec {
        MintSpec::Key(_) => rng.random(),
        MintSpec::JwtShaped(s) if !s.carrier_is_uuid() => rng.random(),
        _ => jwt::new_id(&mut rng),
    };
    let identity = identity_for(key, id);
    let (token, kind, shape, issuer, jwt_shape) = match spec {
        MintSpec::Jwt { issuer } => {
            let s = jwt::JwtShape::standard(issuer, None);
            let Some(t) = jwt::mint_carrying(key, &s, identity, label, location, now.unix_timestamp())? else {
                return Ok(None);
            };
            let issuer = if issuer.is_empty() {
                claims::installation(key).issuer
            } else {
                issuer.clone()
            };
            (t, TokenKind::Jwt, None, Some(issuer), Some(Box::new(s)))
        }
        MintSpec::JwtShaped(s) => {
            let Some(t) = jwt::mint_carrying(key, s, identity, label, location, now.unix_timestamp())? else {
                return Ok(None);
            };
            let issuer = s.claims.iter().find(|(k, _)| k == "iss").and_then(|(_, v)| match v {
                jwt::ClaimShape::Fixed { value } => value.as_str().map(str::to_string),
                // The record names the issuer the token shows.
                jwt::ClaimShape::DeploymentIssuer => Some(claims::installation(key).issuer),
                _ => None,
            });
            (t, TokenKind::Jwt, None, issuer, Some(s.clone()))
        }
        MintSpec::Key(shape) => {
            shape.validate()?;
            let Some(t) = render_key(shape, identity, &mut rng) else {
                return Ok(None);
            };
            (t, TokenKind::Key, Some(shape.clone()), None, None)
        }
    };
    Ok(Some(TokenRecord {
        id: id_string(identity),
        token,
        kind,
        label: label.to_string(),
        location: location.to_string(),
        memo: memo.to_string(),
        created_at: crate::time::rfc3339(now),
        state: TokenState::Active,
        shape,
        issuer,
        jwt_shape,
        placements: Vec::new(),
        replaces: None,
        replaced_by: None,
        allow: Vec::new(),
        aws_user: None,
        file: None,
    }))
}

/// A string of `shape` with random digits throughout (no identity): for JWT
/// claims shaped like an example's.
pub(crate) fn render_random(shape: &KeyShape, rng: &mut impl Rng) -> String {
    let digits: Vec<u8> = shape.digit_alphabets().iter().map(|a| a.random_char(rng)).collect();
    lay_out(shape, digits)
}

fn lay_out(shape: &KeyShape, digits: Vec<u8>) -> String {
    let mut out = String::with_capacity(shape.prefix.len() + shape.layout.len());
    out.push_str(&shape.prefix);
    let mut it = digits.into_iter();
    for b in shape.layout.bytes() {
        out.push(if b == b'*' {
            it.next().expect("one digit per slot") as char
        } else {
            b as char
        });
    }
    out
}

/// The identity a key-shaped string carries, if its tag is valid.
pub(crate) fn recognise_key(key: &SigningKey, candidate: &[u8]) -> Option<u128> {
    let direct = alphabet::RECOGNISED
        .iter()
        .filter(|a| a.plausible_identity(candidate))
        .filter_map(|a| a.decode_identity(candidate))
        .find(|identity| identity_is_valid(key, *identity));
    // A format with a checksum tail: the identity ends before it. The CRC is
    // checked only where the digits before the tail pass the pre-filter.
    direct.or_else(|| {
        Alphabet::ALL.iter().find_map(|a| {
            if !crc_tail_plausible(*a, candidate) {
                return None;
            }
            let body = strip_crc32(*a, candidate)?;
            a.decode_identity(body).filter(|i| identity_is_valid(key, *i))
        })
    })
}

/// Whether `candidate` ends in a tail of `a`'s CRC-32 width after digits
/// that pass `a`'s identity pre-filter (before the CRC itself is computed).
fn crc_tail_plausible(a: Alphabet, candidate: &[u8]) -> bool {
    let Some(head_len) = candidate.len().checked_sub(a.crc32_width()) else {
        return false;
    };
    candidate[head_len..].iter().all(|b| a.has_char(*b)) && a.plausible_identity(&candidate[..head_len])
}

/// Whether `candidate` has a shape one of our tokens can have: a JWT's
/// structure, or last digits (before a checksum tail, if any) that pass an
/// alphabet's identity pre-filter. These are the tests [`recognise`] runs
/// before any HMAC; extraction applies them first, so the words of a
/// hostile request that cannot be ours are dropped before they are copied,
/// deduplicated or counted against a bound.
pub fn may_be_ours(candidate: &[u8]) -> bool {
    if candidate.len() < MIN_CANDIDATE_LEN || candidate.len() > MAX_CANDIDATE_LEN {
        return false;
    }
    if jwt::looks_like_jwt(candidate) {
        return true;
    }
    candidate.len() <= MAX_KEY_CANDIDATE_LEN
        && (alphabet::RECOGNISED.iter().any(|a| a.plausible_identity(candidate))
            || Alphabet::ALL.iter().any(|a| crc_tail_plausible(*a, candidate)))
}

/// Keys are at most a prefix and 512 digits; longer words are not ours.
const MAX_KEY_CANDIDATE_LEN: usize = 640;

/// A key of `shape` carrying `identity`; `None` when the identity does not
/// fit the carrier's digits this time (draw another id, see
/// [`Alphabet::encode_identity`]).
pub(crate) fn render_key(shape: &KeyShape, identity: u128, rng: &mut impl Rng) -> Option<String> {
    let alphs = shape.digit_alphabets();
    let n = alphs.len();
    let w = shape.checksum_width();
    let m = shape.alphabet.identity_len();
    let mut digits: Vec<u8> = alphs[..n - w - m].iter().map(|a| a.random_char(rng)).collect();
    digits.extend(shape.alphabet.encode_identity(identity, rng)?);
    if let Some(Checksum::Crc32) = shape.checksum {
        // Over the last group's digits before the tail, as the recogniser reads them.
        let last_group = shape.layout.rsplit(|c| c != '*').next().map_or(0, str::len);
        let from = digits.len() - (last_group - w);
        let crc = crc32(&digits[from..]);
        digits.extend(shape.alphabet.encode_fixed(crc as u64, w));
    }
    Some(lay_out(shape, digits))
}

/// The outcome of recognising a candidate.
#[derive(Debug, Clone, PartialEq)]
pub struct Recognised {
    /// Token id.
    pub token_id: String,
    /// Kind it was recognised as.
    pub kind: TokenKind,
    /// For JWTs, what the token says about itself.
    pub jwt: Option<jwt::JwtInspection>,
}

/// Shortest candidate worth decoding.
pub const MIN_CANDIDATE_LEN: usize = 22;
/// Longest candidate worth decoding.
pub const MAX_CANDIDATE_LEN: usize = jwt::MAX_JWT_LEN;

/// Recognises one of this deployment's tokens, with no I/O: at most one
/// HMAC per alphabet family, and none for strings of the wrong shape.
pub fn recognise(key: &SigningKey, candidate: &[u8]) -> Option<Recognised> {
    if candidate.len() < MIN_CANDIDATE_LEN || candidate.len() > MAX_CANDIDATE_LEN {
        return None;
    }
    if jwt::looks_like_jwt(candidate)
        && let Some(seen) = jwt::inspect(key, candidate)
    {
        return Some(Recognised {
            token_id: id_string(seen.identity),
            kind: TokenKind::Jwt,
            jwt: Some(seen),
        });
    }
    if candidate.len() > MAX_KEY_CANDIDATE_LEN {
        return None;
    }
    recognise_key(key, candidate).map(|identity| Recognised {
        token_id: id_string(identity),
        kind: TokenKind::Key,
        jwt: None,
    })
}

/// Vendor prefixes that public secret scanning reports to the vendor; a decoy
/// using one in a public place gets revoked-by-report noise.
pub const VENDOR_PREFIXES: &[&str] = &[
    "sk_live_",
    "sk_test_",
    "rk_live_",
    "pk_live_",
    "ghp_",
    "gho_",
    "ghu_",
    "ghs_",
    "ghr_",
    "github_pat_",
    "glpat-",
    "AKIA",
    "ASIA",
    "xoxb-",
    "xoxp-",
    "xoxa-",
    "xapp-",
    "SG.",
    "AIza",
    "npm_",
    "pypi-",
    "shpat_",
    "sq0atp-",
    "dop_v1_",
    "hf_",
];

/// The vendor prefix a token starts with, if any.
pub fn vendor_prefix(token: &str) -> Option<&'static str> {
    VENDOR_PREFIXES.iter().copied().find(|p| token.starts_with(p))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn crc32_is_zlibs() {
        // The check value of CRC-32/ISO-HDLC (zlib's crc32).
        assert_eq!(crc32(b"123456789"), 0xCBF4_3926);
        assert_eq!(crc32(b""), 0);
    }

    fn key() -> SigningKey {
        SigningKey::from_secret(b"0123456789abcdef0123456789abcdef").unwrap()
    }

    #[test]
    fn minted_keys_have_the_requested_shape_and_are_recognised() {
        let k = key();
        for a in Alphabet::ALL {
            let shape = KeyShape::plain("sk_live_", a, a.identity_len() + 5).unwrap();
            let rec = mint(
                &k,
                &MintSpec::Key(shape),
                "l",
                "loc",
                "",
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
            let body = rec.token.strip_prefix("sk_live_").unwrap();
            assert_eq!(body.len(), a.identity_len() + 5);
            assert!(body.bytes().all(|b| a.chars().contains(&b)), "{a}: {body}");
            let r = recognise(&k, rec.token.as_bytes()).expect("recognised");
            assert_eq!(r.token_id, rec.id);
        }
    }

    #[test]
    fn a_placement_names_the_location_only_of_a_token_without_one() {
        let k = key();
        let shape = KeyShape::plain("sk_live_", Alphabet::Base62, 40).unwrap();
        let mut rec = mint(&k, &MintSpec::Key(shape), "l", "", "", time::OffsetDateTime::now_utc()).unwrap();
        rec.add_placement("repo/.env", "STRIPE_KEY", "t1".into());
        rec.add_placement("ci.yml", "env.STRIPE_KEY", "t2".into());
        assert_eq!(rec.location, "repo/.env (STRIPE_KEY)");
        let paths: Vec<_> = rec
            .placements
            .iter()
            .map(|p| (p.path.as_str(), p.var.as_str(), p.planted_at.as_str()))
            .collect();
        assert_eq!(
            paths,
            [("repo/.env", "STRIPE_KEY", "t1"), ("ci.yml", "env.STRIPE_KEY", "t2")]
        );
    }

    #[test]
    fn too_short_body_names_the_minimum() {
        let err = KeyShape::plain("p_", Alphabet::Hex, 20).unwrap_err().to_string();
        assert!(err.contains("minimum is 32"), "{err}");
    }

    #[test]
    fn other_keys_tokens_are_not_recognised() {
        let k = key();
        let other = SigningKey::from_secret(&[3u8; 32]).unwrap();
        let shape = KeyShape::plain("", Alphabet::Base62, 40).unwrap();
        let rec = mint(
            &other,
            &MintSpec::Key(shape),
            "l",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        assert!(recognise(&k, rec.token.as_bytes()).is_none());
    }

    #[test]
    fn vendor_prefixes_are_detected() {
        assert_eq!(vendor_prefix("sk_live_abc"), Some("sk_live_"));
        assert_eq!(vendor_prefix("acme_abc"), None);
    }
}
