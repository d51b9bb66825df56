//! How the decoy answers: as the API it pretends to be answers each kind of
//! request. A request carrying a credential gets the API's "invalid
//! credential" answer whether or not the credential is a honeytoken, so
//! nothing tells a hit from a miss; a request without credentials, a CORS
//! preflight, an unknown method and an unknown path get what the API gives
//! those (RFC 6750: no error code without credentials).
//!
//! Answers are templates: `{request_id}` (a fresh random id per request, in
//! the API's own format) and `{timestamp}` (RFC 3339, now) are filled per
//! request, everything else is fixed bytes. Header names keep the case and
//! order written here (`serve` writes them title-cased; API Gateway
//! lower-cases them on AWS, as it does for every API).
//!
//! Built-in personas ([`Persona::builtin`]) or a file written by
//! `honeytoken persona learn`, which probes the operator's own API.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode};
use serde::{Deserialize, Serialize};

use crate::error::{Error, Result};

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
    /// Name (`api`, `stripe`, `github`, or the learned API's host).
    pub name: String,
    /// Format of `{request_id}`: a prefix followed by that many random
    /// alphanumerics, or `uuid` for a UUIDv4.
    #[serde(default)]
    pub request_id: RequestIdFormat,
    /// A request carrying a credential (a honeytoken or not).
    pub invalid_credential: Answer,
    /// A request with no credential at all.
    pub no_credentials: Answer,
    /// A CORS preflight (`OPTIONS` with `Access-Control-Request-Method`).
    pub preflight: Answer,
    /// A method the API does not know.
    pub unknown_method: Answer,
    /// A path outside `known_paths` (when that list is not empty).
    #[serde(default, skip_serializing_if = "Option::is_none")]
    pub unknown_path: Option<Answer>,
    /// Path prefixes the API serves; empty: every path is known.
    #[serde(default)]
    pub known_paths: Vec<String>,
}

/// How request ids look.
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

/// The characters of a prefixed request id.
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
}

impl IdChars {
    /// The alphabet.
    pub fn alphabet(self) -> &'static [u8] {
        match self {
            IdChars::Base62 => b"0123456789ABCDEFGHIJKLMNOPQRSTUVWXYZabcdefghijklmnopqrstuvwxyz",
            IdChars::Digits => b"0123456789",
            IdChars::Hex => b"0123456789abcdef",
            IdChars::UpperHex => b"0123456789ABCDEF",
        }
    }

    /// The narrowest class that holds every character of `s`.
    pub fn of(s: &str) -> IdChars {
        if s.bytes().all(|b| b.is_ascii_digit()) {
            IdChars::Digits
        } else if s.bytes().all(|b| b.is_ascii_digit() || (b'a'..=b'f').contains(&b)) {
            IdChars::Hex
        } else if s.bytes().all(|b| b.is_ascii_digit() || (b'A'..=b'F').contains(&b)) {
            IdChars::UpperHex
        } else {
            IdChars::Base62
        }
    }
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
        let id = self.fresh_request_id();
        render(&busy, &id, &crate::domain::time::Timestamp::now().to_string())
    }

    /// What kind of request this is, for this persona.
    pub fn classify(&self, method: &Method, path: &str, headers: &HeaderMap, query: Option<&str>) -> RequestKind {
        if method == Method::OPTIONS && headers.contains_key("access-control-request-method") {
            return RequestKind::Preflight;
        }
        if !KNOWN_METHODS.contains(method) {
            return RequestKind::UnknownMethod;
        }
        if self.unknown_path.is_some()
            && !self.known_paths.is_empty()
            && !self.known_paths.iter().any(|p| path.starts_with(p.as_str()))
        {
            return RequestKind::UnknownPath;
        }
        if carries_credential(headers, query) {
            RequestKind::Credential
        } else {
            RequestKind::NoCredentials
        }
    }

    /// The answer template for a kind of request.
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
        let id = self.fresh_request_id();
        let now = crate::domain::time::Timestamp::now().to_string();
        render(self.answer_for(kind), &id, &now)
    }

    /// The answer to a request carrying a credential (what hits and misses get).
    pub fn response(&self) -> Response<Bytes> {
        self.answer(RequestKind::Credential)
    }

    fn fresh_request_id(&self) -> String {
        use rand::Rng;
        let mut rng = rand::rng();
        match &self.request_id {
            RequestIdFormat::Uuid => {
                let mut b: [u8; 16] = rng.random();
                b[6] = (b[6] & 0x0f) | 0x40;
                b[8] = (b[8] & 0x3f) | 0x80;
                let h = hex::encode(b);
                format!("{}-{}-{}-{}-{}", &h[..8], &h[8..12], &h[12..16], &h[16..20], &h[20..])
            }
            RequestIdFormat::Prefixed { prefix, len, chars } => {
                let a = chars.alphabet();
                let tail: String = (0..(*len).min(64))
                    .map(|_| a[rng.random_range(0..a.len())] as char)
                    .collect();
                format!("{prefix}{tail}")
            }
            RequestIdFormat::HexGroups => {
                let b: [u8; 14] = rng.random();
                let h = hex::encode_upper(b);
                format!("{}:{}:{}:{}:{}", &h[..4], &h[4..8], &h[8..14], &h[14..20], &h[20..28])
            }
        }
    }

    /// Whether `resp` is this persona's answer to `kind`, per-request fields
    /// aside: same status, same header names in the same order, same values
    /// and body where the template is literal.
    pub fn matches(&self, kind: RequestKind, resp: &Response<Bytes>) -> bool {
        let a = self.answer_for(kind);
        if resp.status().as_u16() != a.status {
            return false;
        }
        let got: Vec<(&HeaderName, &HeaderValue)> = resp.headers().iter().collect();
        if got.len() != a.headers.len() {
            return false;
        }
        let headers_match = got.iter().zip(&a.headers).all(|((k, v), (tk, tv))| {
            k.as_str().eq_ignore_ascii_case(tk) && template_matches(tv, v.to_str().unwrap_or(""))
        });
        headers_match && template_matches(&a.body, &String::from_utf8_lossy(resp.body()))
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

    /// Parses and checks a persona (statuses, header names and values that HTTP allows).
    pub fn from_json(text: &str) -> Result<Persona> {
        let p: Persona = serde_json::from_str(text).map_err(|e| Error::Invalid(e.to_string()))?;
        p.check()?;
        Ok(p)
    }

    fn check(&self) -> Result<()> {
        for a in [
            &self.invalid_credential,
            &self.no_credentials,
            &self.preflight,
            &self.unknown_method,
        ]
        .into_iter()
        .chain(self.unknown_path.as_ref())
        {
            StatusCode::from_u16(a.status).map_err(|_| Error::Invalid(format!("bad status {}", a.status)))?;
            for (k, v) in &a.headers {
                HeaderName::from_bytes(k.as_bytes()).map_err(|_| Error::Invalid(format!("bad header name {k:?}")))?;
                HeaderValue::from_str(&fill(v, "x", "x")).map_err(|_| Error::Invalid(format!("bad value of {k}")))?;
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

/// The template with its per-request fields filled in, in one pass (every
/// answer, hit or miss, is rendered here).
fn fill(t: &str, id: &str, now: &str) -> String {
    let mut out = String::with_capacity(t.len() + id.len() + now.len());
    let mut rest = t;
    while let Some(i) = rest.find('{') {
        out.push_str(&rest[..i]);
        let tail = &rest[i..];
        if let Some(r) = tail.strip_prefix("{request_id}") {
            out.push_str(id);
            rest = r;
        } else if let Some(r) = tail.strip_prefix("{timestamp}") {
            out.push_str(now);
            rest = r;
        } else {
            out.push('{');
            rest = &tail[1..];
        }
    }
    out.push_str(rest);
    out
}

fn render(a: &Answer, id: &str, now: &str) -> Response<Bytes> {
    let mut r = Response::new(Bytes::from(fill(&a.body, id, now)));
    *r.status_mut() = StatusCode::from_u16(a.status).unwrap_or(StatusCode::UNAUTHORIZED);
    let h = r.headers_mut();
    for (k, v) in &a.headers {
        if let (Ok(k), Ok(v)) = (
            HeaderName::from_bytes(k.as_bytes()),
            HeaderValue::from_str(&fill(v, id, now)),
        ) {
            h.append(k, v);
        }
    }
    r
}

/// Whether `s` is `template` with each placeholder filled by a non-empty
/// value without quotes or line breaks; everything else must be literal.
fn template_matches(template: &str, s: &str) -> bool {
    const PLACEHOLDERS: [&str; 2] = ["{request_id}", "{timestamp}"];
    let mut literals = Vec::new();
    let mut rest = template;
    while let Some((i, len)) = PLACEHOLDERS
        .iter()
        .filter_map(|p| rest.find(p).map(|i| (i, p.len())))
        .min()
    {
        literals.push(&rest[..i]);
        rest = &rest[i + len..];
    }
    literals.push(rest);
    if literals.len() == 1 {
        return template == s;
    }
    let filled_ok = |v: &str| !v.is_empty() && !v.contains(['"', '\r', '\n']);
    let Some(mut tail) = s.strip_prefix(literals[0]) else {
        return false;
    };
    let last = literals.len() - 1;
    for (k, lit) in literals.iter().enumerate().skip(1) {
        if k == last {
            return tail.len() > lit.len() && tail.ends_with(lit) && filled_ok(&tail[..tail.len() - lit.len()]);
        }
        if lit.is_empty() {
            return false; // two placeholders side by side cannot be told apart
        }
        let Some(i) = tail.find(lit) else {
            return false;
        };
        if !filled_ok(&tail[..i]) {
            return false;
        }
        tail = &tail[i + lit.len()..];
    }
    true
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
        assert_eq!(
            fill(
                r#"{"id":"{request_id}","at":"{timestamp}","x":"{other}","y":"{request_id}"}"#,
                "r1",
                "t1"
            ),
            r#"{"id":"r1","at":"t1","x":"{other}","y":"r1"}"#
        );
        assert_eq!(fill("plain", "r", "t"), "plain");
        assert_eq!(fill("{", "r", "t"), "{");
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
}
