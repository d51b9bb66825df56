//! How the decoy answers: as the API it pretends to be answers each kind of
//! request. A request carrying a credential gets the API's "invalid
//! credential" answer whether or not the credential is a honeytoken, so
//! nothing tells a hit from a miss; a request without credentials, a CORS
//! preflight, an unknown method and an unknown path get what the API gives
//! those (RFC 6750: no error code without credentials).
//!
//! Answers are templates. Everything is fixed bytes but placeholders:
//! `{host}` and `{path}` (the request's own, made safe to repeat),
//! `{scheme}` (`http` or `https`, as the request arrived: a challenge's
//! realm must name the scheme the client can reach),
//! `{request_id}` and `{timestamp}` (the first persona format's two fields),
//! and any number of named [`fields`](Persona::fields), each with its own
//! [`FieldFormat`] and a fresh value per answer (one value per answer, so a
//! field written in a header and in the body carries the same value, as the
//! real server's request id does). Header names keep the case and order
//! written here; framing headers (`Content-Length`, `Connection`,
//! `Transfer-Encoding`) keep their place, and their values are the
//! server's. [`Route`]s answer per method and path pattern.
//!
//! Built-in personas ([`Persona::builtin`]) or a file written by
//! `honeytoken persona learn`, which probes the operator's own API.
//!
//! A server answers with [`Persona::reply_to`] (or [`Persona::ask`] before
//! the request is consumed, then [`Persona::reply`]): a [`Reply`] of status,
//! ordered `(name, value)` header lines as the persona writes them, and
//! body. As an `http::Response` ([`Reply::into_response`]) the exact lines
//! ride along in [`ExactHeaders`].

use std::collections::BTreeMap;

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Request, Response, StatusCode};
use serde::{Deserialize, Serialize};
use time::OffsetDateTime;

use crate::error::{Error, Result};

/// The persona file format this build writes; files of this or an earlier
/// version load.
pub const FORMAT_VERSION: u32 = 2;

/// One answer: status, headers in order (names as written), body template.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Answer {
    /// HTTP status code.
    pub status: u16,
    /// Header names and value templates, in order.
    #[serde(default)]
    pub headers: Vec<(String, String)>,
    /// Body template.
    #[serde(default)]
    pub body: String,
}

/// How an API answers each kind of request.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Persona {
    /// Format version (absent in the first format's files, which still load).
    #[serde(default = "first_version")]
    pub version: u32,
    /// Name (`api`, `stripe`, `github`, or the learned API's host).
    pub name: String,
    /// Format of `{request_id}` when [`fields`](Persona::fields) does not
    /// name `request_id`: a prefix followed by that many random
    /// alphanumerics, or `uuid` for a UUIDv4.
    #[serde(default)]
    pub request_id: RequestIdFormat,
    /// Named varying fields (`{name}` in a template), each with its format.
    #[serde(default, skip_serializing_if = "BTreeMap::is_empty")]
    pub fields: BTreeMap<String, FieldFormat>,
    /// What `{host}` is when a request names no usable host.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub host: Option<String>,
    /// A request carrying a credential (a honeytoken or not).
    pub invalid_credential: Answer,
    /// A request with no credential at all.
    pub no_credentials: Answer,
    /// A CORS preflight (`OPTIONS` with `Access-Control-Request-Method`).
    pub preflight: Answer,
    /// A method the API does not know.
    pub unknown_method: Answer,
    /// A path outside `known_paths` and every route (when there are some).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_path: Option<Answer>,
    /// Path prefixes the API serves; empty (and no routes): every path is known.
    #[serde(default)]
    pub known_paths: Vec<String>,
    /// Answers per method and path, the first matching route first; a kind
    /// of request a route does not answer gets the persona's own answer.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub routes: Vec<Route>,
}

fn first_version() -> u32 {
    1
}

/// Answers for the requests one route matches.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct Route {
    /// Methods (upper case) the route matches; empty: every method.
    #[serde(default, skip_serializing_if = "Vec::is_empty")]
    pub methods: Vec<String>,
    /// Path pattern: `/`-separated segments, each literal, `*` (any one
    /// segment) or `**` (any number of segments): `/v2/`, `/api/**`,
    /// `/**/info/refs`.
    pub path: String,
    /// A query parameter the request must carry (`service` for git's `?service=`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub query: Option<String>,
    /// A header the request must carry (`X-Vault-Token`).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub header: Option<String>,
    /// A request carrying a credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub invalid_credential: Option<Answer>,
    /// A request with no credential.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub no_credentials: Option<Answer>,
    /// A CORS preflight.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub preflight: Option<Answer>,
    /// An unknown method.
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_method: Option<Answer>,
}

impl Route {
    fn answer(&self, kind: RequestKind) -> Option<&Answer> {
        match kind {
            RequestKind::Credential => self.invalid_credential.as_ref(),
            RequestKind::NoCredentials => self.no_credentials.as_ref(),
            RequestKind::Preflight => self.preflight.as_ref(),
            RequestKind::UnknownMethod => self.unknown_method.as_ref(),
            RequestKind::UnknownPath => None,
        }
    }

    fn matches(&self, method: &Method, path: &str, headers: &HeaderMap, query: Option<&str>) -> bool {
        (self.methods.is_empty() || self.methods.iter().any(|m| m == method.as_str()))
            && path_matches(&self.path, path)
            && self.header.as_ref().is_none_or(|h| headers.contains_key(h.as_str()))
            && self.query.as_ref().is_none_or(|name| {
                query.is_some_and(|q| form_urlencoded::parse(q.as_bytes()).any(|(k, _)| k == name.as_str()))
            })
    }
}

/// Whether `path` matches the route pattern `pattern` (segments: literal,
/// `*` one segment, `**` any number).
fn path_matches(pattern: &str, path: &str) -> bool {
    fn go(p: &[&str], s: &[&str]) -> bool {
        match p.split_first() {
            None => s.is_empty(),
            Some((&"**", rest)) => (0..=s.len()).any(|i| go(rest, &s[i..])),
            Some((&seg, rest)) => s
                .split_first()
                .is_some_and(|(first, tail)| (seg == "*" && !first.is_empty() || seg == *first) && go(rest, tail)),
        }
    }
    // A real path has a few dozen segments at most; the cap keeps a hostile
    // one from making `**` backtrack for long.
    if path.bytes().filter(|b| *b == b'/').count() > 256 {
        return false;
    }
    let p: Vec<&str> = pattern.split('/').collect();
    let s: Vec<&str> = path.split('/').collect();
    go(&p, &s)
}

/// How request ids look (the first format's one field, `{request_id}`).
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "lowercase")]
pub enum RequestIdFormat {
    /// A UUIDv4.
    #[default]
    Uuid,
    /// `prefix` then `len` random characters of `chars` (`req_…` and the like).
    Prefixed {
        /// Literal prefix.
        prefix: String,
        /// Random characters after it.
        len: usize,
        /// Which characters: base62 (default), digits, or lower- or upper-case hex.
        #[serde(default)]
        chars: IdChars,
    },
    /// Upper-case hex groups like `C0DE:1F2A:3B4C5D:6E7F80:12345678`.
    HexGroups,
}

/// The characters of a random value.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq, Serialize, Deserialize)]
#[serde(rename_all = "lowercase")]
pub enum IdChars {
    /// 0-9, A-Z, a-z.
    #[default]
    Base62,
    /// 0-9.
    Digits,
    /// 0-9, a-f.
    Hex,
    /// 0-9, A-F.
    UpperHex,
    /// 0-9, a-z.
    Lower,
    /// 0-9, A-Z.
    Upper,
}

impl IdChars {
    /// The alphabet.
    pub fn alphabet(self) -> &'static [u8] {
        match self {
            IdChars::Base62 => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            IdChars::Digits => b"0123456789",
            IdChars::Hex => b"0123456789abcdef",
            IdChars::UpperHex => b"0123456789ABCDEF",
            IdChars::Lower => b"0123456789abcdefghijklmnopqrstuvwxyz",
            IdChars::Upper => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZ",
        }
    }

    /// The narrowest class that holds every character of `s`.
    pub fn of(s: &str) -> IdChars {
        [
            IdChars::Digits,
            IdChars::Hex,
            IdChars::UpperHex,
            IdChars::Lower,
            IdChars::Upper,
        ]
        .into_iter()
        .find(|c| s.bytes().all(|b| c.alphabet().contains(&b)))
        .unwrap_or(IdChars::Base62)
    }
}

/// The format of a named varying field: what a fresh value looks like.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
#[serde(tag = "kind", rename_all = "snake_case")]
pub enum FieldFormat {
    /// A UUIDv4 (`0b6f1c0e-8f7a-4d2b-9c3e-5a4d3c2b1a09`), upper-case hex when `upper`.
    Uuid {
        /// Upper-case hex digits.
        #[serde(default)]
        upper: bool,
    },
    /// `len` random characters of `chars`.
    Random {
        /// Which characters.
        chars: IdChars,
        /// How many.
        len: usize,
    },
    /// `bytes` random bytes in base64 (URL-safe alphabet when `url`, `=`
    /// padding when `pad`).
    Base64 {
        /// Random bytes encoded.
        bytes: usize,
        /// `-` and `_` instead of `+` and `/`.
        #[serde(default)]
        url: bool,
        /// `=` padding.
        #[serde(default)]
        pad: bool,
    },
    /// An API Gateway id (`x-amz-apigw-id`, `apigw-requestid`): 16
    /// characters, 11 random bytes in URL-safe base64 with its `=`.
    ApigwId,
    /// An AWS X-Ray trace id without its `Root=`: `1-`, the time as 8 hex
    /// digits of epoch seconds, `-`, 24 random hex digits
    /// (<https://docs.aws.amazon.com/xray/latest/devguide/xray-concepts.html#xray-concepts-tracingheader>).
    XrayTraceId,
    /// A Cloudflare `CF-Ray`: 16 hex digits, `-`, the data centre's IATA code.
    CfRay {
        /// The IATA code (`IAD`).
        colo: String,
    },
    /// An HTTP-date (RFC 9110 section 5.6.7: `Sun, 06 Nov 1994 08:49:37 GMT`),
    /// now plus `offset` seconds.
    HttpDate {
        /// Seconds after now (`Expires` an hour ahead: 3600).
        #[serde(default)]
        offset: i64,
    },
    /// RFC 3339, now plus `offset` seconds, with `fraction` digits after the
    /// seconds and `zone` (`Z`, `+00:00`, ...) as written.
    Rfc3339 {
        /// Digits of the fraction of a second (0: none).
        #[serde(default)]
        fraction: u8,
        /// The zone as written: `Z` or `±hh:mm`.
        #[serde(default = "zulu")]
        zone: String,
        /// Seconds after now.
        #[serde(default)]
        offset: i64,
    },
    /// Seconds since the epoch, now plus `offset`.
    EpochSeconds {
        /// Seconds after now.
        #[serde(default)]
        offset: i64,
    },
    /// Milliseconds since the epoch, now plus `offset` seconds.
    EpochMillis {
        /// Seconds after now.
        #[serde(default)]
        offset: i64,
    },
}

fn zulu() -> String {
    "Z".into()
}

/// Upper bound of a random field's length: no real id is longer.
pub const MAX_FIELD_LEN: usize = 256;

impl FieldFormat {
    /// A fresh value, the clock fields at `now`.
    pub fn fresh(&self, now: OffsetDateTime) -> String {
        use base64::Engine as _;
        use rand::Rng;
        let mut rng = rand::rng();
        let random = |chars: IdChars, len: usize| -> String {
            let a = chars.alphabet();
            let mut rng = rand::rng();
            (0..len.min(MAX_FIELD_LEN))
                .map(|_| a[rng.random_range(0..a.len())] as char)
                .collect()
        };
        let at = |offset: i64| now + time::Duration::seconds(offset);
        match self {
            FieldFormat::Uuid { upper } => {
                let u = uuid_v4();
                if *upper { u.to_ascii_uppercase() } else { u }
            }
            FieldFormat::Random { chars, len } => random(*chars, *len),
            FieldFormat::Base64 { bytes, url, pad } => {
                let b: Vec<u8> = (0..(*bytes).min(MAX_FIELD_LEN)).map(|_| rng.random()).collect();
                let e = base64::engine::general_purpose::GeneralPurpose::new(
                    if *url {
                        &base64::alphabet::URL_SAFE
                    } else {
                        &base64::alphabet::STANDARD
                    },
                    base64::engine::GeneralPurposeConfig::new().with_encode_padding(*pad),
                );
                e.encode(b)
            }
            FieldFormat::ApigwId => base64::engine::general_purpose::URL_SAFE.encode(rng.random::<[u8; 11]>()),
            FieldFormat::XrayTraceId => format!(
                "1-{:08x}-{}",
                now.unix_timestamp().clamp(0, u32::MAX as i64),
                hex::encode(rng.random::<[u8; 12]>())
            ),
            FieldFormat::CfRay { colo } => format!("{}-{colo}", hex::encode(rng.random::<[u8; 8]>())),
            FieldFormat::HttpDate { offset } => http_date(at(*offset)),
            FieldFormat::Rfc3339 { fraction, zone, offset } => rfc3339(at(*offset), *fraction, zone),
            FieldFormat::EpochSeconds { offset } => at(*offset).unix_timestamp().to_string(),
            FieldFormat::EpochMillis { offset } => (at(*offset).unix_timestamp_nanos() / 1_000_000).to_string(),
        }
    }

    /// Whether `v` has this format (a clock field: any time, not only now).
    pub fn accepts(&self, v: &str) -> bool {
        let all = |s: &str, a: &[u8]| s.bytes().all(|b| a.contains(&b));
        let hex = b"0123456789abcdef";
        match self {
            FieldFormat::Uuid { upper } => {
                let lower = v.to_ascii_lowercase();
                is_uuid(&lower) && (*upper == (v != lower) || !v.bytes().any(|b| b.is_ascii_alphabetic()))
            }
            FieldFormat::Random { chars, len } => v.len() == *len && all(v, chars.alphabet()),
            FieldFormat::Base64 { bytes, url, pad } => {
                let chars: &[u8] = if *url {
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_"
                } else {
                    b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789+/"
                };
                let body = v.trim_end_matches('=');
                let want = if *pad {
                    bytes.div_ceil(3) * 4
                } else {
                    (bytes * 4).div_ceil(3)
                };
                v.len() == want && all(body, chars)
            }
            FieldFormat::ApigwId => {
                v.len() == 16
                    && v.ends_with('=')
                    && all(
                        &v[..15],
                        b"ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz0123456789-_",
                    )
            }
            FieldFormat::XrayTraceId => {
                let p: Vec<&str> = v.split('-').collect();
                p.len() == 3 && p[0] == "1" && p[1].len() == 8 && p[2].len() == 24 && all(p[1], hex) && all(p[2], hex)
            }
            FieldFormat::CfRay { colo } => v
                .split_once('-')
                .is_some_and(|(h, c)| h.len() == 16 && all(h, hex) && c == colo),
            FieldFormat::HttpDate { .. } => parse_http_date(v).is_some(),
            FieldFormat::Rfc3339 { fraction, zone, .. } => {
                parse_rfc3339(v).is_some_and(|(_, f, z)| f == *fraction && z == zone.as_str())
            }
            FieldFormat::EpochSeconds { .. } => v.len() == 10 && all(v, b"0123456789"),
            FieldFormat::EpochMillis { .. } => v.len() == 13 && all(v, b"0123456789"),
        }
    }

    fn check(&self) -> Result<()> {
        let bad = |what: &str| Err(Error::Invalid(format!("field format: {what}")));
        match self {
            FieldFormat::Random { len, .. } if *len == 0 || *len > MAX_FIELD_LEN => {
                bad(&format!("a random length from 1 to {MAX_FIELD_LEN}"))
            }
            FieldFormat::Base64 { bytes, .. } if *bytes == 0 || *bytes > MAX_FIELD_LEN => {
                bad(&format!("base64 of 1 to {MAX_FIELD_LEN} bytes"))
            }
            FieldFormat::CfRay { colo } if colo.len() != 3 || !colo.bytes().all(|b| b.is_ascii_uppercase()) => {
                bad("a CF-Ray colo is three upper-case letters (an IATA code)")
            }
            FieldFormat::Rfc3339 { fraction, zone, .. } if *fraction > 9 || utc_offset(zone).is_none() => {
                bad("RFC 3339 takes 0 to 9 fraction digits and a zone `Z` or `±hh:mm`")
            }
            _ => Ok(()),
        }
    }
}

fn uuid_v4() -> String {
    use rand::Rng;
    let mut b: [u8; 16] = rand::rng().random();
    b[6] = (b[6] & 0x0f) | 0x40;
    b[8] = (b[8] & 0x3f) | 0x80;
    let h = hex::encode(b);
    format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
}

/// Whether `s` is a UUID in lower-case hex.
pub fn is_uuid(s: &str) -> bool {
    s.len() == 36
        && s.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_digit() || ('a'..='f').contains(&c)
            }
        })
}

const HTTP_DATE: &[time::format_description::BorrowedFormatItem<'static>] = time::macros::format_description!(
    "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
);

/// An HTTP-date (IMF-fixdate, RFC 9110 section 5.6.7).
fn http_date(t: OffsetDateTime) -> String {
    t.to_offset(time::UtcOffset::UTC).format(HTTP_DATE).unwrap_or_default()
}

/// The time of an HTTP-date (IMF-fixdate).
pub fn parse_http_date(s: &str) -> Option<OffsetDateTime> {
    if s.len() != 29 {
        return None;
    }
    time::PrimitiveDateTime::parse(s, HTTP_DATE)
        .ok()
        .map(|t| t.assume_utc())
}

fn utc_offset(zone: &str) -> Option<time::UtcOffset> {
    if zone == "Z" {
        return Some(time::UtcOffset::UTC);
    }
    let b = zone.as_bytes();
    if b.len() != 6 || !matches!(b[0], b'+' | b'-') || b[3] != b':' {
        return None;
    }
    let h: i8 = zone[1..3].parse().ok()?;
    let m: i8 = zone[4..6].parse().ok()?;
    let sign = if b[0] == b'-' { -1 } else { 1 };
    time::UtcOffset::from_hms(sign * h, sign * m, 0).ok()
}

fn rfc3339(t: OffsetDateTime, fraction: u8, zone: &str) -> String {
    let t = t.to_offset(utc_offset(zone).unwrap_or(time::UtcOffset::UTC));
    let mut s = format!(
        "{:04}-{:02}-{:02}T{:02}:{:02}:{:02}",
        t.year(),
        u8::from(t.month()),
        t.day(),
        t.hour(),
        t.minute(),
        t.second()
    );
    if fraction > 0 {
        let nanos = format!("{:09}", t.nanosecond());
        s.push('.');
        s.push_str(&nanos[..usize::from(fraction.min(9))]);
    }
    s.push_str(zone);
    s
}

/// The time, fraction digits and zone of an RFC 3339 date-time
/// (`2026-12-04T20:40:00.123Z`).
pub fn parse_rfc3339(s: &str) -> Option<(OffsetDateTime, u8, &str)> {
    let t = OffsetDateTime::parse(s, &time::format_description::well_known::Rfc3339).ok()?;
    let b = s.as_bytes();
    if b.len() < 20 || b[10] != b'T' {
        return None;
    }
    let frac = if b[19] == b'.' {
        b[20..].iter().take_while(|c| c.is_ascii_digit()).count()
    } else {
        0
    };
    let zone_at = 19 + if frac > 0 { frac + 1 } else { 0 };
    let zone = &s[zone_at..];
    (frac <= 9 && utc_offset(zone).is_some()).then_some((t, frac as u8, zone))
}

/// What kind of request the persona is answering.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum RequestKind {
    /// Carries a credential.
    Credential,
    /// Carries none.
    NoCredentials,
    /// CORS preflight.
    Preflight,
    /// Unknown method.
    UnknownMethod,
    /// Unknown path.
    UnknownPath,
}

/// Header names that carry API credentials (lower case).
const CREDENTIAL_HEADERS: &[&str] = &[
    "authorization",
    "x-api-key",
    "api-key",
    "apikey",
    "x-auth-token",
    "x-access-token",
    "private-token",
    "x-token",
    "x-vault-token",
];

/// Whether a request carries something an API would take as a credential:
/// an `Authorization`-like header, or a query parameter named like a key or token.
pub fn carries_credential(headers: &HeaderMap, query: Option<&str>) -> bool {
    if CREDENTIAL_HEADERS.iter().any(|h| headers.contains_key(*h)) {
        return true;
    }
    query.is_some_and(|q| {
        form_urlencoded::parse(q.as_bytes()).any(|(k, _)| {
            let k = k.to_ascii_lowercase();
            k.contains("key") || k.contains("token") || k == "access_token" || k.contains("secret")
        })
    })
}

const KNOWN_METHODS: &[Method] = &[
    Method::GET,
    Method::HEAD,
    Method::POST,
    Method::PUT,
    Method::PATCH,
    Method::DELETE,
    Method::OPTIONS,
];

/// Framing headers: kept in their place in a persona, valued by the server
/// that writes the answer (`Content-Length` is the body's length here).
const FRAMING: &[&str] = &["content-length", "connection", "transfer-encoding", "keep-alive"];

/// Whether `name` is a framing header (any case).
pub fn is_framing(name: &str) -> bool {
    FRAMING.iter().any(|f| f.eq_ignore_ascii_case(name))
}

/// What of a request its answer depends on, taken before the request is
/// recorded (decided from the request alone, never from what was found in it).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Asked {
    /// The kind of request.
    pub kind: RequestKind,
    route: Option<usize>,
    host: Option<String>,
    scheme: Option<&'static str>,
    path: String,
}

impl Asked {
    /// A request of `kind` to `/`, naming no host.
    pub fn kind(kind: RequestKind) -> Asked {
        Asked {
            kind,
            route: None,
            host: None,
            scheme: None,
            path: "/".into(),
        }
    }

    /// `{scheme}` when the request did not say how it arrived (no
    /// `X-Forwarded-Proto` from a front, no absolute URI): how the server
    /// answering it is reached (`serve`: `http`; API Gateway: `https`).
    pub fn default_scheme(&mut self, scheme: &'static str) {
        self.scheme.get_or_insert(scheme);
    }
}

/// An answer ready to send: status, headers in order with their names as
/// the persona writes them (framing headers included, `Content-Length`
/// already the body's length), body.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Reply {
    /// Status code.
    pub status: u16,
    /// Header names and values, in order, names in the persona's case.
    pub headers: Vec<(String, String)>,
    /// Body.
    pub body: Bytes,
}

/// The exact header lines of a persona's answer (names in their case, in
/// order, framing headers in their place), carried in the extensions of the
/// `http::Response` a [`Reply`] becomes, whose `HeaderMap` can keep neither
/// case nor the place of a repeated name. An HTTP/1.1 writer that finds it
/// writes these lines instead of the map.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct ExactHeaders(pub Vec<(String, String)>);

impl Reply {
    /// As an `http::Response`: the headers but framing ones in its map (the
    /// server and API Gateway write those), every line in [`ExactHeaders`].
    pub fn into_response(self) -> Response<Bytes> {
        let mut r = Response::new(self.body);
        *r.status_mut() = StatusCode::from_u16(self.status).unwrap_or(StatusCode::UNAUTHORIZED);
        let h = r.headers_mut();
        for (k, v) in &self.headers {
            if is_framing(k) {
                continue;
            }
            if let (Ok(k), Ok(v)) = (HeaderName::from_bytes(k.as_bytes()), HeaderValue::from_str(v)) {
                h.append(k, v);
            }
        }
        r.extensions_mut().insert(ExactHeaders(self.headers));
        r
    }
}

impl Persona {
    /// The answer when the server has no room for another connection: a
    /// 503 as a busy API gives it, in this persona's header style (its
    /// invalid-credential headers without the challenge), with `Retry-After`.
    pub fn busy_response(&self) -> Response<Bytes> {
        let mut busy = Answer {
            status: 503,
            headers: self
                .invalid_credential
                .headers
                .iter()
                .filter(|(k, _)| !k.eq_ignore_ascii_case("www-authenticate"))
                .cloned()
                .collect(),
            body: r#"{"error":{"code":"service_unavailable","message":"The service is temporarily overloaded. Please retry shortly.","type":"api_error"}}"#.into(),
        };
        busy.headers.push(("Retry-After".into(), "1".into()));
        self.render(&busy, &Asked::kind(RequestKind::Credential))
            .into_response()
    }

    /// What kind of request this is, for this persona.
    pub fn classify(&self, method: &Method, path: &str, headers: &HeaderMap, query: Option<&str>) -> RequestKind {
        self.classify_route(method, path, headers, query).0
    }

    fn classify_route(
        &self,
        method: &Method,
        path: &str,
        headers: &HeaderMap,
        query: Option<&str>,
    ) -> (RequestKind, Option<usize>) {
        let route = self.routes.iter().position(|r| r.matches(method, path, headers, query));
        if method == Method::OPTIONS && headers.contains_key("access-control-request-method") {
            return (RequestKind::Preflight, route);
        }
        if !KNOWN_METHODS.contains(method) {
            return (RequestKind::UnknownMethod, route);
        }
        let named = !self.known_paths.is_empty() || !self.routes.is_empty();
        if self.unknown_path.is_some()
            && named
            && route.is_none()
            && !self.known_paths.iter().any(|p| path.starts_with(p.as_str()))
        {
            return (RequestKind::UnknownPath, None);
        }
        if carries_credential(headers, query) {
            (RequestKind::Credential, route)
        } else {
            (RequestKind::NoCredentials, route)
        }
    }

    /// What of `req` its answer depends on: its kind, its route, its host
    /// and path (made safe to repeat in a header or a JSON string).
    pub fn ask<B>(&self, req: &Request<B>) -> Asked {
        let uri = req.uri();
        let (kind, route) = self.classify_route(req.method(), uri.path(), req.headers(), uri.query());
        let host = req
            .headers()
            .get(http::header::HOST)
            .and_then(|h| h.to_str().ok())
            .or_else(|| uri.authority().map(|a| a.as_str()))
            .filter(|h| {
                !h.is_empty() && h.len() <= 255 && h.bytes().all(|b| b.is_ascii_alphanumeric() || b".-:[]".contains(&b))
            })
            .map(str::to_string);
        // Only the two values are taken: a hostile header picks between
        // them, and nothing else it carries is repeated.
        let scheme = uri
            .scheme_str()
            .or_else(|| req.headers().get("x-forwarded-proto").and_then(|v| v.to_str().ok()))
            .and_then(|s| match s.trim() {
                s if s.eq_ignore_ascii_case("https") => Some("https"),
                s if s.eq_ignore_ascii_case("http") => Some("http"),
                _ => None,
            });
        Asked {
            kind,
            route,
            host,
            scheme,
            path: safe_path(uri.path()),
        }
    }

    /// Whether one of this persona's routes matches `req` (a route the
    /// operator learned or wrote answers before any tool persona).
    pub fn routes_match<B>(&self, req: &Request<B>) -> bool {
        let uri = req.uri();
        self.routes
            .iter()
            .any(|r| r.matches(req.method(), uri.path(), req.headers(), uri.query()))
    }

    /// The answer to `req`, per-request fields fresh.
    pub fn reply_to<B>(&self, req: &Request<B>) -> Reply {
        self.reply(&self.ask(req))
    }

    /// The answer to what was asked, per-request fields fresh.
    pub fn reply(&self, asked: &Asked) -> Reply {
        self.render(self.answer_of(asked), asked)
    }

    fn answer_of(&self, asked: &Asked) -> &Answer {
        asked
            .route
            .and_then(|i| self.routes.get(i))
            .and_then(|r| r.answer(asked.kind))
            .unwrap_or_else(|| self.answer_for(asked.kind))
    }

    /// The answer template for a kind of request (outside every route).
    pub fn answer_for(&self, kind: RequestKind) -> &Answer {
        match kind {
            RequestKind::Credential => &self.invalid_credential,
            RequestKind::NoCredentials => &self.no_credentials,
            RequestKind::Preflight => &self.preflight,
            RequestKind::UnknownMethod => &self.unknown_method,
            RequestKind::UnknownPath => self.unknown_path.as_ref().unwrap_or(&self.no_credentials),
        }
    }

    /// The answer to a kind of request, per-request fields filled in.
    pub fn answer(&self, kind: RequestKind) -> Response<Bytes> {
        self.reply(&Asked::kind(kind)).into_response()
    }

    /// The answer to a request carrying a credential (what hits and misses get).
    pub fn response(&self) -> Response<Bytes> {
        self.answer(RequestKind::Credential)
    }

    /// Every answer of this persona (its own, then its routes').
    fn answers(&self) -> impl Iterator<Item = &Answer> {
        [
            &self.invalid_credential,
            &self.no_credentials,
            &self.preflight,
            &self.unknown_method,
        ]
        .into_iter()
        .chain(self.unknown_path.as_ref())
        .chain(self.routes.iter().flat_map(|r| {
            [
                &r.invalid_credential,
                &r.no_credentials,
                &r.preflight,
                &r.unknown_method,
            ]
            .into_iter()
            .flatten()
        }))
    }

    /// The placeholder a template can name at `name`'s start, if any.
    fn placeholder(&self, name: &str) -> bool {
        matches!(name, "request_id" | "timestamp" | "host" | "path" | "scheme") || self.fields.contains_key(name)
    }

    fn render(&self, a: &Answer, asked: &Asked) -> Reply {
        let mut values = Values {
            persona: self,
            asked,
            now: OffsetDateTime::now_utc(),
            filled: Vec::new(),
        };
        let body = Bytes::from(values.fill(&a.body));
        let headers = a
            .headers
            .iter()
            .filter_map(|(k, v)| {
                let v = if k.eq_ignore_ascii_case("content-length") {
                    body.len().to_string()
                } else {
                    values.fill(v)
                };
                // Checked at load; a value a field could not make valid is
                // left out rather than sent broken.
                HeaderValue::from_str(&v).ok().map(|_| (k.clone(), v))
            })
            .collect();
        Reply {
            status: a.status,
            headers,
            body,
        }
    }

    /// Whether `resp` is this persona's answer to `kind`, per-request fields
    /// aside: same status, same header names in the same order (framing
    /// headers aside), same values and body where the template is literal.
    pub fn matches(&self, kind: RequestKind, resp: &Response<Bytes>) -> bool {
        let a = self.answer_for(kind);
        if resp.status().as_u16() != a.status {
            return false;
        }
        let want: Vec<&(String, String)> = a.headers.iter().filter(|(k, _)| !is_framing(k)).collect();
        let got: Vec<(&HeaderName, &HeaderValue)> = resp.headers().iter().collect();
        if got.len() != want.len() {
            return false;
        }
        let headers_match = got.iter().zip(&want).all(|((k, v), (tk, tv))| {
            k.as_str().eq_ignore_ascii_case(tk) && self.template_matches(tv, v.to_str().unwrap_or(""))
        });
        headers_match && self.template_matches(&a.body, &String::from_utf8_lossy(resp.body()))
    }

    /// Whether `s` is `template` with each placeholder filled by a non-empty
    /// value without quotes or line breaks (a field: in its format);
    /// everything else must be literal.
    pub fn template_matches(&self, template: &str, s: &str) -> bool {
        self.template_values(template, s).is_some()
    }

    /// The value of each placeholder, in order, when `s` is `template` so
    /// filled (as [`Persona::template_matches`] says); `None` otherwise.
    pub fn template_values<'s>(&self, template: &str, s: &'s str) -> Option<Vec<(String, &'s str)>> {
        let filled_ok = |name: &str, v: &str| {
            !v.is_empty() && !v.contains(['"', '\r', '\n']) && self.fields.get(name).is_none_or(|f| f.accepts(v))
        };
        let mut values = Vec::new();
        let mut tail = s;
        let mut pending: Option<&str> = None;
        for p in self.pieces(template) {
            match p {
                Piece::Lit(lit) => match pending.take() {
                    None => tail = tail.strip_prefix(lit)?,
                    Some(name) => {
                        let i = tail.find(lit)?;
                        if !filled_ok(name, &tail[..i]) {
                            return None;
                        }
                        values.push((name.to_string(), &tail[..i]));
                        tail = &tail[i + lit.len()..];
                    }
                },
                Piece::Field(name) => {
                    if pending.is_some() {
                        return None; // two placeholders side by side cannot be told apart
                    }
                    pending = Some(name);
                }
            }
        }
        match pending {
            Some(name) if filled_ok(name, tail) => {
                values.push((name.to_string(), tail));
                Some(values)
            }
            Some(_) => None,
            None => tail.is_empty().then_some(values),
        }
    }

    /// A template cut into literal text and placeholders.
    fn pieces<'t>(&self, t: &'t str) -> Vec<Piece<'t>> {
        let mut out = Vec::new();
        let mut lit_start = 0;
        let mut i = 0;
        while let Some(j) = t[i..].find('{').map(|j| i + j) {
            match t[j + 1..].find('}').map(|k| &t[j + 1..j + 1 + k]) {
                Some(name) if self.placeholder(name) => {
                    if lit_start < j {
                        out.push(Piece::Lit(&t[lit_start..j]));
                    }
                    out.push(Piece::Field(name));
                    i = j + name.len() + 2;
                    lit_start = i;
                }
                _ => i = j + 1,
            }
        }
        if lit_start < t.len() {
            out.push(Piece::Lit(&t[lit_start..]));
        }
        out
    }

    /// A built-in persona by name: `api` (a generic RFC 6750 bearer API, the
    /// default), `stripe` and `github` (the shapes of those APIs' errors).
    pub fn builtin(name: &str) -> Option<Persona> {
        match name {
            "api" => Some(api()),
            "stripe" => Some(stripe()),
            "github" => Some(github()),
            _ => None,
        }
    }

    /// Names of the built-in personas.
    pub const BUILTINS: &'static [&'static str] = &["api", "stripe", "github"];

    /// A built-in name, or a persona file (JSON, as `persona learn` writes).
    pub fn load(name_or_path: &str) -> Result<Persona> {
        if let Some(p) = Persona::builtin(name_or_path) {
            return Ok(p);
        }
        let text = std::fs::read_to_string(name_or_path).map_err(|e| {
            Error::Invalid(format!(
                "persona {name_or_path:?}: not one of {} and not a readable file ({e})",
                Persona::BUILTINS.join(", ")
            ))
        })?;
        Persona::from_json(&text).map_err(|e| Error::Invalid(format!("persona file {name_or_path}: {e}")))
    }

    /// Parses and checks a persona (statuses, header names and values that
    /// HTTP allows, field names and formats, route patterns), of this
    /// format version or an earlier one.
    pub fn from_json(text: &str) -> Result<Persona> {
        let p: Persona = serde_json::from_str(text).map_err(|e| Error::Invalid(e.to_string()))?;
        p.check()?;
        Ok(p)
    }

    fn check(&self) -> Result<()> {
        if self.version > FORMAT_VERSION {
            return Err(Error::Invalid(format!(
                "persona format {} is newer than this honeytoken reads ({FORMAT_VERSION}); upgrade honeytoken",
                self.version
            )));
        }
        for (name, f) in &self.fields {
            if name.is_empty() || !name.bytes().all(|b| b.is_ascii_alphanumeric() || b == b'_') {
                return Err(Error::Invalid(format!(
                    "field name {name:?}: letters, digits and `_` only"
                )));
            }
            f.check().map_err(|e| Error::Invalid(format!("field {name}: {e}")))?;
        }
        for r in &self.routes {
            if !r.path.starts_with('/') {
                return Err(Error::Invalid(format!("route path {:?} must start with `/`", r.path)));
            }
            // Each `**` multiplies the ways a hostile path can be tried.
            if r.path.split('/').filter(|s| *s == "**").count() > 2 {
                return Err(Error::Invalid(format!("route path {:?}: at most two `**`", r.path)));
            }
            for m in &r.methods {
                Method::from_bytes(m.as_bytes()).map_err(|_| Error::Invalid(format!("bad route method {m:?}")))?;
            }
            if let Some(h) = &r.header {
                HeaderName::from_bytes(h.as_bytes()).map_err(|_| Error::Invalid(format!("bad route header {h:?}")))?;
            }
        }
        let probe = Asked {
            kind: RequestKind::Credential,
            route: None,
            host: Some("example.com".into()),
            scheme: None,
            path: "/".into(),
        };
        for a in self.answers() {
            StatusCode::from_u16(a.status).map_err(|_| Error::Invalid(format!("bad status {}", a.status)))?;
            let mut values = Values {
                persona: self,
                asked: &probe,
                now: OffsetDateTime::now_utc(),
                filled: Vec::new(),
            };
            for (k, v) in &a.headers {
                HeaderName::from_bytes(k.as_bytes()).map_err(|_| Error::Invalid(format!("bad header name {k:?}")))?;
                HeaderValue::from_str(&values.fill(v)).map_err(|_| Error::Invalid(format!("bad value of {k}")))?;
            }
        }
        Ok(())
    }
}

impl Default for Persona {
    fn default() -> Self {
        api()
    }
}

enum Piece<'t> {
    Lit(&'t str),
    Field(&'t str),
}

/// The per-request values of one answer: each placeholder gets one value,
/// however often the answer names it.
struct Values<'p> {
    persona: &'p Persona,
    asked: &'p Asked,
    now: OffsetDateTime,
    filled: Vec<(String, String)>,
}

impl Values<'_> {
    fn value(&mut self, name: &str) -> String {
        if let Some((_, v)) = self.filled.iter().find(|(n, _)| n == name) {
            return v.clone();
        }
        let v = match (self.persona.fields.get(name), name) {
            (Some(f), _) => f.fresh(self.now),
            (None, "request_id") => legacy_request_id(&self.persona.request_id),
            (None, "timestamp") => crate::domain::time::Timestamp::from(self.now).to_string(),
            (None, "host") => self
                .asked
                .host
                .clone()
                .or_else(|| self.persona.host.clone())
                .unwrap_or_else(|| "localhost".into()),
            (None, "scheme") => self.asked.scheme.unwrap_or("https").to_string(),
            (None, _) => self.asked.path.clone(),
        };
        self.filled.push((name.to_string(), v.clone()));
        v
    }

    /// The template with its placeholders filled, in one pass (every
    /// answer, hit or miss, is rendered here).
    fn fill(&mut self, t: &str) -> String {
        let persona = self.persona;
        let mut out = String::with_capacity(t.len() + 32);
        for p in persona.pieces(t) {
            match p {
                Piece::Lit(l) => out.push_str(l),
                Piece::Field(name) => out.push_str(&self.value(name)),
            }
        }
        out
    }
}

fn legacy_request_id(f: &RequestIdFormat) -> String {
    use rand::Rng;
    let mut rng = rand::rng();
    match f {
        RequestIdFormat::Uuid => uuid_v4(),
        RequestIdFormat::Prefixed { prefix, len, chars } => {
            format!(
                "{prefix}{}",
                FieldFormat::Random {
                    chars: *chars,
                    len: (*len).min(64)
                }
                .fresh(OffsetDateTime::UNIX_EPOCH)
            )
        }
        RequestIdFormat::HexGroups => {
            let b: [u8; 14] = rng.random();
            let h = hex::encode_upper(b);
            format!("{}:{}:{}:{}:{}", &h[..4], &h[4..8], &h[8..14], &h[14..20], &h[20..28])
        }
    }
}

/// The request path as `{path}` repeats it: every byte outside RFC 3986's
/// path characters percent-encoded (so no quote, backslash or control byte
/// reaches a header or a JSON string), at most 1 KiB.
fn safe_path(path: &str) -> String {
    const KEEP: &percent_encoding::AsciiSet = &percent_encoding::NON_ALPHANUMERIC
        .remove(b'-')
        .remove(b'.')
        .remove(b'_')
        .remove(b'~')
        .remove(b'/')
        .remove(b'%')
        .remove(b'!')
        .remove(b'$')
        .remove(b'&')
        .remove(b'(')
        .remove(b')')
        .remove(b'*')
        .remove(b'+')
        .remove(b',')
        .remove(b';')
        .remove(b'=')
        .remove(b':')
        .remove(b'@');
    let mut p: String = percent_encoding::utf8_percent_encode(path, KEEP).collect();
    if p.len() > 1024 {
        // All ASCII: any byte is a boundary, but not inside an escape.
        let mut cut = 1024;
        while p.as_bytes()[cut - 1] == b'%' || (cut >= 2 && p.as_bytes()[cut - 2] == b'%') {
            cut -= 1;
        }
        p.truncate(cut);
    }
    if p.is_empty() { "/".into() } else { p }
}

fn json_headers(extra: &[(&str, &str)]) -> Vec<(String, String)> {
    let mut h = vec![
        ("Content-Type".to_string(), "application/json".to_string()),
        ("Cache-Control".to_string(), "no-cache, no-store".to_string()),
    ];
    h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
    h
}

fn cors_preflight(request_id_header: &str) -> Answer {
    Answer {
        status: 204,
        headers: vec![
            ("Access-Control-Allow-Origin".into(), "*".into()),
            (
                "Access-Control-Allow-Methods".into(),
                "GET, POST, PUT, PATCH, DELETE, OPTIONS".into(),
            ),
            (
                "Access-Control-Allow-Headers".into(),
                "Authorization, Content-Type, Idempotency-Key".into(),
            ),
            ("Access-Control-Max-Age".into(), "600".into()),
            (request_id_header.into(), "{request_id}".into()),
        ],
        body: String::new(),
    }
}

/// A generic bearer-token API (RFC 6750): `invalid_token` for a bad
/// credential, a bare challenge without an error code when there is none.
fn api() -> Persona {
    let rid = ("X-Request-Id", "{request_id}");
    Persona {
        version: FORMAT_VERSION,
        fields: BTreeMap::new(),
        host: None,
        routes: Vec::new(),
        name: "api".into(),
        request_id: RequestIdFormat::Uuid,
        invalid_credential: Answer {
            status: 401,
            headers: json_headers(&[
                ("WWW-Authenticate", "Bearer realm=\"api\", error=\"invalid_token\""),
                ("X-Content-Type-Options", "nosniff"),
                rid,
            ]),
            body: r#"{"error":{"code":"invalid_api_key","message":"Invalid API key provided.","type":"invalid_request_error"}}"#
                .into(),
        },
        no_credentials: Answer {
            status: 401,
            headers: json_headers(&[("WWW-Authenticate", "Bearer realm=\"api\""), ("X-Content-Type-Options", "nosniff"), rid]),
            body: r#"{"error":{"code":"missing_api_key","message":"No API key provided.","type":"invalid_request_error"}}"#.into(),
        },
        preflight: cors_preflight("X-Request-Id"),
        unknown_method: Answer {
            status: 405,
            headers: json_headers(&[("Allow", "GET, POST, PUT, PATCH, DELETE, OPTIONS"), rid]),
            body: r#"{"error":{"code":"method_not_allowed","message":"Method not allowed.","type":"invalid_request_error"}}"#
                .into(),
        },
        unknown_path: None,
        known_paths: Vec::new(),
    }
}

/// The shape of Stripe's errors: `Request-Id: req_…`, an `error` object.
fn stripe() -> Persona {
    let rid = ("Request-Id", "{request_id}");
    let headers = |extra: &[(&str, &str)]| {
        let mut h = json_headers(&[("Access-Control-Allow-Origin", "*"), ("Stripe-Version", "2024-06-20")]);
        h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        h.push((rid.0.into(), rid.1.into()));
        h
    };
    Persona {
        version: FORMAT_VERSION,
        fields: BTreeMap::new(),
        host: None,
        routes: Vec::new(),
        name: "stripe".into(),
        request_id: RequestIdFormat::Prefixed {
            prefix: "req_".into(),
            len: 14,
            chars: IdChars::Base62,
        },
        invalid_credential: Answer {
            status: 401,
            headers: headers(&[("WWW-Authenticate", "Basic realm=\"Stripe\"")]),
            body: "{\n  \"error\": {\n    \"message\": \"Invalid API Key provided.\",\n    \"type\": \"invalid_request_error\"\n  }\n}\n".into(),
        },
        no_credentials: Answer {
            status: 401,
            headers: headers(&[("WWW-Authenticate", "Basic realm=\"Stripe\"")]),
            body: "{\n  \"error\": {\n    \"message\": \"You did not provide an API key. You need to provide your API key in the Authorization header, using Bearer auth (e.g. 'Authorization: Bearer YOUR_SECRET_KEY').\",\n    \"type\": \"invalid_request_error\"\n  }\n}\n".into(),
        },
        preflight: cors_preflight("Request-Id"),
        unknown_method: Answer {
            status: 405,
            headers: headers(&[]),
            body: "{\n  \"error\": {\n    \"message\": \"Unrecognized request method.\",\n    \"type\": \"invalid_request_error\"\n  }\n}\n".into(),
        },
        unknown_path: Some(Answer {
            status: 404,
            headers: headers(&[]),
            body: "{\n  \"error\": {\n    \"message\": \"Unrecognized request URL.\",\n    \"type\": \"invalid_request_error\"\n  }\n}\n".into(),
        }),
        known_paths: vec!["/v1/".into(), "/v2/".into()],
    }
}

/// The shape of GitHub's REST errors: `X-GitHub-Request-Id`, `message` and
/// `documentation_url`.
fn github() -> Persona {
    let headers = |extra: &[(&str, &str)]| {
        let mut h = vec![(
            "Content-Type".to_string(),
            "application/json; charset=utf-8".to_string(),
        )];
        h.extend(extra.iter().map(|(k, v)| (k.to_string(), v.to_string())));
        h.push(("X-GitHub-Media-Type".into(), "github.v3; format=json".into()));
        h.push(("X-GitHub-Request-Id".into(), "{request_id}".into()));
        h
    };
    let body = |m: &str, status: u16| {
        format!(r#"{{"message":"{m}","documentation_url":"https://docs.github.com/rest","status":"{status}"}}"#)
    };
    Persona {
        version: FORMAT_VERSION,
        fields: BTreeMap::new(),
        host: None,
        routes: Vec::new(),
        name: "github".into(),
        request_id: RequestIdFormat::HexGroups,
        invalid_credential: Answer {
            status: 401,
            headers: headers(&[]),
            body: body("Bad credentials", 401),
        },
        no_credentials: Answer {
            status: 401,
            headers: headers(&[]),
            body: body("Requires authentication", 401),
        },
        preflight: cors_preflight("X-GitHub-Request-Id"),
        unknown_method: Answer {
            status: 404,
            headers: headers(&[]),
            body: body("Not Found", 404),
        },
        unknown_path: None,
        known_paths: Vec::new(),
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn fill_replaces_each_field_and_keeps_other_braces() {
        let p = Persona::default();
        let asked = Asked::kind(RequestKind::Credential);
        let mut v = Values {
            persona: &p,
            asked: &asked,
            now: OffsetDateTime::now_utc(),
            filled: vec![("request_id".into(), "r1".into()), ("timestamp".into(), "t1".into())],
        };
        assert_eq!(
            v.fill(r#"{"id":"{request_id}","at":"{timestamp}","x":"{other}","y":"{request_id}"}"#),
            r#"{"id":"r1","at":"t1","x":"{other}","y":"r1"}"#
        );
        assert_eq!(v.fill("plain"), "plain");
        assert_eq!(v.fill("{"), "{");
        assert_eq!(v.fill("{}{request_id"), "{}{request_id");
    }

    fn all() -> Vec<Persona> {
        Persona::BUILTINS.iter().map(|n| Persona::builtin(n).unwrap()).collect()
    }

    #[test]
    fn says_nothing_about_itself() {
        for p in all() {
            for kind in [
                RequestKind::Credential,
                RequestKind::NoCredentials,
                RequestKind::Preflight,
                RequestKind::UnknownMethod,
                RequestKind::UnknownPath,
            ] {
                let r = p.answer(kind);
                let mut all = String::from_utf8(r.body().to_vec()).unwrap();
                for (k, v) in r.headers() {
                    all.push_str(k.as_str());
                    all.push_str(v.to_str().unwrap());
                }
                let all = all.to_lowercase();
                for word in ["honey", "decoy", "canary", "trap"] {
                    assert!(!all.contains(word), "{} {kind:?}: {word}", p.name);
                }
            }
        }
    }

    const KINDS: [RequestKind; 5] = [
        RequestKind::Credential,
        RequestKind::NoCredentials,
        RequestKind::Preflight,
        RequestKind::UnknownMethod,
        RequestKind::UnknownPath,
    ];

    /// Status, headers in order and body of an answer, the value of its
    /// request-id header masked; and that value.
    #[allow(clippy::type_complexity)]
    fn shape(r: &Response<Bytes>) -> ((u16, Vec<(String, String)>, Bytes), String) {
        let mut id = String::new();
        let headers = r
            .headers()
            .iter()
            .map(|(k, v)| {
                let mut v = v.to_str().unwrap().to_string();
                if k.as_str().ends_with("request-id") {
                    id = std::mem::replace(&mut v, "<id>".into());
                }
                (k.to_string(), v)
            })
            .collect();
        ((r.status().as_u16(), headers, r.body().clone()), id)
    }

    /// Two requests of one kind, answered by two personas built apart (the
    /// built-in, and the same read back from its file form), get the same
    /// bytes but for a fresh request id each.
    #[test]
    fn two_answers_to_one_kind_differ_only_in_their_request_id() {
        for p in all() {
            let copy = Persona::from_json(&serde_json::to_string(&p).unwrap()).unwrap();
            for kind in KINDS {
                let (a, id_a) = shape(&p.answer(kind));
                let (b, id_b) = shape(&copy.answer(kind));
                assert_eq!(a, b, "{} {kind:?}", p.name);
                assert!(!id_a.is_empty(), "{} {kind:?}: a request id", p.name);
                assert_ne!(id_a, id_b, "{} {kind:?}: a fresh request id per request", p.name);
            }
        }
    }

    /// The `api` persona's answer to a credential against the answer
    /// written out here by hand (RFC 6750 section 3.1: `invalid_token`), not
    /// against the persona's own template; and `matches` refuses that
    /// answer with any fixed part changed, or another kind's answer.
    #[test]
    fn a_credential_gets_the_answer_written_out_by_hand() {
        let p = Persona::builtin("api").unwrap();
        let body = r#"{"error":{"code":"invalid_api_key","message":"Invalid API key provided.","type":"invalid_request_error"}}"#;
        let build = |status: u16, headers: &[(&str, &str)], body: &str| {
            let mut b = http::Response::builder().status(status);
            for (k, v) in headers {
                b = b.header(*k, *v);
            }
            b.body(Bytes::from(body.to_string())).unwrap()
        };
        let headers = [
            ("content-type", "application/json"),
            ("cache-control", "no-cache, no-store"),
            ("www-authenticate", "Bearer realm=\"api\", error=\"invalid_token\""),
            ("x-content-type-options", "nosniff"),
            ("x-request-id", "0b6f1c0e-8f7a-4d2b-9c3e-5a4d3c2b1a09"),
        ];
        let by_hand = build(401, &headers, body);
        let answer = p.answer(RequestKind::Credential);
        assert_eq!(shape(&answer).0, shape(&by_hand).0);
        assert!(p.matches(RequestKind::Credential, &by_hand));

        let mut swapped = headers;
        swapped.swap(0, 1);
        for (what, changed) in [
            ("status", build(403, &headers, body)),
            ("body", build(401, &headers, &body.replace("Invalid", "Unknown"))),
            ("header order", build(401, &swapped, body)),
            ("a header missing", build(401, &headers[1..], body)),
            (
                "an empty request id",
                build(401, &[&headers[..4], &[("x-request-id", "")]].concat(), body),
            ),
        ] {
            assert!(!p.matches(RequestKind::Credential, &changed), "{what}");
        }
        let none = p.answer(RequestKind::NoCredentials);
        assert!(!p.matches(RequestKind::Credential, &none));
        assert!(p.matches(RequestKind::NoCredentials, &none));
    }

    #[test]
    fn without_credentials_rfc6750_gives_no_error_code() {
        let p = Persona::builtin("api").unwrap();
        let r = p.answer(RequestKind::NoCredentials);
        let challenge = r.headers()["www-authenticate"].to_str().unwrap();
        assert!(!challenge.contains("error="), "{challenge}");
        let r = p.answer(RequestKind::Credential);
        assert!(
            r.headers()["www-authenticate"]
                .to_str()
                .unwrap()
                .contains("error=\"invalid_token\"")
        );
    }

    #[test]
    fn requests_are_classified_as_the_api_would() {
        let p = Persona::builtin("stripe").unwrap();
        let mut h = HeaderMap::new();
        assert_eq!(
            p.classify(&Method::GET, "/v1/charges", &h, None),
            RequestKind::NoCredentials
        );
        assert_eq!(
            p.classify(&Method::GET, "/v1/charges", &h, Some("api_key=x")),
            RequestKind::Credential
        );
        assert_eq!(
            p.classify(&Method::GET, "/robots.txt", &h, None),
            RequestKind::UnknownPath
        );
        h.insert("authorization", HeaderValue::from_static("Bearer x"));
        assert_eq!(
            p.classify(&Method::GET, "/v1/charges", &h, None),
            RequestKind::Credential
        );
        assert_eq!(
            p.classify(&Method::from_bytes(b"BREW").unwrap(), "/v1/x", &h, None),
            RequestKind::UnknownMethod
        );
        h.insert("access-control-request-method", HeaderValue::from_static("POST"));
        assert_eq!(p.classify(&Method::OPTIONS, "/v1/x", &h, None), RequestKind::Preflight);
    }

    #[test]
    fn persona_files_round_trip_and_bad_ones_are_refused() {
        let p = Persona::builtin("github").unwrap();
        let back = Persona::from_json(&serde_json::to_string(&p).unwrap()).unwrap();
        assert_eq!(back, p);
        let mut bad = p.clone();
        bad.invalid_credential.headers.push(("bad header".into(), "x".into()));
        assert!(Persona::from_json(&serde_json::to_string(&bad).unwrap()).is_err());
        assert!(
            Persona::load("no-such-persona-file.json")
                .unwrap_err()
                .to_string()
                .contains("api, stripe, github")
        );
    }

    /// A persona file of the first format (before fields, routes and
    /// versions), as `persona learn` wrote it then, still loads and answers.
    #[test]
    fn a_first_format_file_still_loads() {
        let v1 = r#"{"name":"api.acme.example","request_id":{"kind":"prefixed","prefix":"req_","len":14,"chars":"base62"},
            "invalid_credential":{"status":401,"headers":[["Content-Type","application/json"],["X-Request-Id","{request_id}"]],
              "body":"{\"error\":\"invalid\",\"id\":\"{request_id}\",\"at\":\"{timestamp}\"}"},
            "no_credentials":{"status":401},"preflight":{"status":204},"unknown_method":{"status":405},"known_paths":[]}"#;
        let p = Persona::from_json(v1).unwrap();
        assert_eq!(p.version, 1);
        let r = p.reply(&Asked::kind(RequestKind::Credential));
        let id = &r.headers[1].1;
        assert!(id.starts_with("req_") && id.len() == 18, "{id}");
        let body = String::from_utf8(r.body.to_vec()).unwrap();
        assert!(body.contains(&format!(r#""id":"{id}""#)), "one id per answer: {body}");
        let at = body.split(r#""at":""#).nth(1).unwrap().trim_end_matches("\"}");
        assert!(crate::domain::time::Timestamp::parse(at).is_some(), "{at}");
        assert!(p.matches(RequestKind::Credential, &r.clone().into_response()));
        assert!(
            Persona::from_json(&v1.replacen("{\"name\"", "{\"version\":3,\"name\"", 1))
                .unwrap_err()
                .to_string()
                .contains("newer")
        );
    }

    fn request(method: &str, uri: &str, headers: &[(&str, &str)]) -> Request<()> {
        let mut b = Request::builder().method(method).uri(uri);
        for (k, v) in headers {
            b = b.header(*k, *v);
        }
        b.body(()).unwrap()
    }

    /// A registry-like persona: routes per method and path (a query
    /// parameter, a header), the request's own host in a challenge.
    fn registry() -> Persona {
        let mut p = Persona::builtin("api").unwrap();
        p.fields.insert("rid".into(), FieldFormat::Uuid { upper: false });
        let challenge = |status| {
            Answer {
            status,
            headers: vec![
                ("Content-Type".into(), "application/json".into()),
                (
                    "Www-Authenticate".into(),
                    "Bearer realm=\"https://{host}/token\",service=\"{host}\"".into(),
                ),
                ("Docker-Distribution-Api-Version".into(), "registry/2.0".into()),
                ("X-Request-Id".into(), "{rid}".into()),
            ],
            body: r#"{"errors":[{"code":"UNAUTHORIZED","message":"authentication required","detail":"{path}","id":"{rid}"}]}"#.into(),
        }
        };
        p.routes = vec![
            Route {
                methods: vec!["GET".into(), "HEAD".into()],
                path: "/v2/**".into(),
                query: None,
                header: None,
                invalid_credential: Some(challenge(401)),
                no_credentials: Some(challenge(401)),
                preflight: None,
                unknown_method: None,
            },
            Route {
                methods: Vec::new(),
                path: "/**/info/refs".into(),
                query: Some("service".into()),
                header: None,
                invalid_credential: Some(challenge(403)),
                no_credentials: None,
                preflight: None,
                unknown_method: None,
            },
            Route {
                methods: Vec::new(),
                path: "/v1/**".into(),
                query: None,
                header: Some("X-Vault-Token".into()),
                invalid_credential: Some(challenge(418)),
                no_credentials: Some(challenge(418)),
                preflight: None,
                unknown_method: None,
            },
        ];
        p.unknown_path = Some(challenge(404));
        Persona::from_json(&serde_json::to_string(&p).unwrap()).unwrap()
    }

    #[test]
    fn routes_answer_per_method_and_path_and_fall_back_per_kind() {
        let p = registry();
        let status = |req: &Request<()>| p.reply_to(req).status;
        let bearer = [("authorization", "Bearer x")];
        assert_eq!(status(&request("GET", "/v2/", &[])), 401);
        assert_eq!(
            status(&request("GET", "/v2/library/app/manifests/latest", &bearer)),
            401
        );
        // POST is not the route's: the path is no known one.
        assert_eq!(status(&request("POST", "/v2/", &bearer)), 404);
        assert_eq!(
            status(&request(
                "GET",
                "/group/repo.git/info/refs?service=git-upload-pack",
                &bearer
            )),
            403
        );
        // Without the query parameter the git route does not match.
        assert_eq!(status(&request("GET", "/group/repo.git/info/refs", &bearer)), 404);
        // The git route names no answer without credentials: the persona's own.
        let none = request("GET", "/group/repo.git/info/refs?service=git-upload-pack", &[]);
        assert_eq!(status(&none), 401);
        assert_eq!(
            p.reply_to(&none).headers[2].0,
            "WWW-Authenticate",
            "the persona's own answer"
        );
        assert_eq!(
            status(&request("GET", "/v1/secret/data/x", &[("x-vault-token", "hvs.x")])),
            418
        );
        assert_eq!(status(&request("GET", "/v1/secret/data/x", &[])), 404);
        let mut hostile = p.clone();
        hostile.routes[0].path = "/**/**/**/x".into();
        assert!(Persona::from_json(&serde_json::to_string(&hostile).unwrap()).is_err());
    }

    #[test]
    fn the_requests_host_and_path_are_repeated_safely() {
        let p = registry();
        let r = p.reply_to(&request(
            "GET",
            "/v2/a%22b/c\"d{e}|\\'\u{fc}",
            &[("host", "registry.acme.example:5000")],
        ));
        let challenge = &r.headers[1].1;
        assert_eq!(
            challenge,
            "Bearer realm=\"https://registry.acme.example:5000/token\",service=\"registry.acme.example:5000\""
        );
        let body: serde_json::Value = serde_json::from_slice(&r.body).expect("still JSON");
        assert_eq!(body["errors"][0]["detail"], "/v2/a%22b/c%22d%7Be%7D%7C%5C%27%C3%BC");
        assert_eq!(
            body["errors"][0]["id"].as_str().unwrap(),
            r.headers[3].1,
            "one value per answer"
        );
        // A host that is not one is not repeated: the persona's fallback stands in.
        for bad in ["a\"b", "x y", "evil.example/\\", ""] {
            let r = p.reply_to(&request("GET", "/v2/", &[("host", bad)]));
            assert_eq!(
                r.headers[1].1, "Bearer realm=\"https://localhost/token\",service=\"localhost\"",
                "{bad:?}"
            );
        }
        let long = format!("/v2/{}", "\"".repeat(2000));
        let r = p.reply_to(&request("GET", &long.replace('"', "%22"), &[]));
        let body: serde_json::Value = serde_json::from_slice(&r.body).unwrap();
        assert!(body["errors"][0]["detail"].as_str().unwrap().len() <= 1024);
    }

    #[test]
    fn every_field_format_makes_fresh_values_of_its_shape() {
        let now = OffsetDateTime::now_utc();
        let formats = [
            FieldFormat::Uuid { upper: false },
            FieldFormat::Uuid { upper: true },
            FieldFormat::Random {
                chars: IdChars::Base62,
                len: 22,
            },
            FieldFormat::Random {
                chars: IdChars::Lower,
                len: 20,
            },
            FieldFormat::Base64 {
                bytes: 12,
                url: false,
                pad: true,
            },
            FieldFormat::Base64 {
                bytes: 11,
                url: true,
                pad: false,
            },
            FieldFormat::ApigwId,
            FieldFormat::XrayTraceId,
            FieldFormat::CfRay { colo: "FRA".into() },
            FieldFormat::HttpDate { offset: 3600 },
            FieldFormat::Rfc3339 {
                fraction: 3,
                zone: "Z".into(),
                offset: 0,
            },
            FieldFormat::Rfc3339 {
                fraction: 6,
                zone: "+02:00".into(),
                offset: 0,
            },
            FieldFormat::EpochSeconds { offset: 0 },
            FieldFormat::EpochMillis { offset: 0 },
        ];
        for f in &formats {
            let (a, b) = (f.fresh(now), f.fresh(now));
            assert!(f.accepts(&a), "{f:?}: {a}");
            HeaderValue::from_str(&a).unwrap();
            let clock = matches!(
                f,
                FieldFormat::HttpDate { .. }
                    | FieldFormat::Rfc3339 { .. }
                    | FieldFormat::EpochSeconds { .. }
                    | FieldFormat::EpochMillis { .. }
            );
            assert_eq!(a == b, clock, "{f:?}: {a} {b}");
        }
        assert_eq!(FieldFormat::ApigwId.fresh(now).len(), 16);
        let x = FieldFormat::XrayTraceId.fresh(now);
        assert_eq!(
            &x[2..10],
            format!("{:08x}", now.unix_timestamp()),
            "the trace id carries the time"
        );
        let d = FieldFormat::HttpDate { offset: 3600 }.fresh(now);
        assert_eq!(
            parse_http_date(&d).unwrap().unix_timestamp(),
            now.unix_timestamp() + 3600
        );
        let r = FieldFormat::Rfc3339 {
            fraction: 6,
            zone: "+02:00".into(),
            offset: 0,
        }
        .fresh(now);
        assert_eq!(parse_rfc3339(&r).unwrap().0.unix_timestamp(), now.unix_timestamp());
        assert!(r.ends_with("+02:00") && r.len() == 32, "{r}");

        let mut p = Persona::default();
        for (name, f) in [
            ("bad name", FieldFormat::ApigwId),
            (
                "x",
                FieldFormat::Random {
                    chars: IdChars::Hex,
                    len: 0,
                },
            ),
            ("x", FieldFormat::CfRay { colo: "iad\r\n".into() }),
            (
                "x",
                FieldFormat::Rfc3339 {
                    fraction: 12,
                    zone: "Z".into(),
                    offset: 0,
                },
            ),
        ] {
            p.fields = BTreeMap::from([(name.to_string(), f)]);
            assert!(
                Persona::from_json(&serde_json::to_string(&p).unwrap()).is_err(),
                "{name}"
            );
        }
    }

    /// Framing headers keep their place in the exact header lines the
    /// HTTP/1.1 writer uses, `Content-Length` the body's length, and stay
    /// out of the `HeaderMap` (the server and API Gateway write those).
    #[test]
    fn exact_headers_keep_case_order_and_framing() {
        let mut p = Persona::default();
        p.fields.insert(
            "rid".into(),
            FieldFormat::Random {
                chars: IdChars::Hex,
                len: 7,
            },
        );
        p.invalid_credential = Answer {
            status: 401,
            headers: vec![
                ("Date".into(), "{date}".into()),
                ("content-type".into(), "application/json".into()),
                ("Content-Length".into(), "3".into()),
                ("Connection".into(), "keep-alive".into()),
                ("x-amzn-RequestId".into(), "{rid}".into()),
            ],
            body: r#"{"id":"{rid}"}"#.into(),
        };
        p.fields.insert("date".into(), FieldFormat::HttpDate { offset: 0 });
        let r = p.response();
        let exact = &r.extensions().get::<ExactHeaders>().unwrap().0;
        let names: Vec<&str> = exact.iter().map(|(k, _)| k.as_str()).collect();
        assert_eq!(
            names,
            [
                "Date",
                "content-type",
                "Content-Length",
                "Connection",
                "x-amzn-RequestId"
            ]
        );
        assert_eq!(exact[2].1, r.body().len().to_string());
        assert!(!r.headers().contains_key("content-length") && !r.headers().contains_key("connection"));
        assert_eq!(r.headers()["x-amzn-requestid"], exact[4].1.as_str());
        assert!(p.matches(RequestKind::Credential, &r));
    }
}
