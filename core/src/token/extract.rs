//! Candidate extraction: every place a client may put a key, scanned with
//! hard bounds so a hostile request costs little and never breaks anything.
//!
//! Values are split into words of token characters (`A-Za-z0-9-_.`); any
//! other byte, including invalid UTF-8, ends a word. Nothing is interpreted
//! beyond decoding Basic credentials, percent-encoding and JSON strings.

use base64::Engine;
use base64::engine::general_purpose::STANDARD;
use http::request::Parts;
use serde_json::Value;
use std::borrow::Cow;

use crate::hit::FoundIn;

/// Bounds on what one request may make us look at. They are byte bounds:
/// every credential-shaped word within them is checked, however many there
/// are (a count cap let a token hide behind 64 fillers), and the shape
/// pre-filter ([`super::may_be_ours`], the same tests [`super::recognise`]
/// runs before any HMAC) drops words none of our tokens can look like
/// before they are copied, so each costs a few table lookups.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Body bytes scanned (the rest is ignored).
    pub body_scan: usize,
    /// Query bytes scanned.
    pub query_scan: usize,
    /// Headers scanned.
    pub headers: usize,
    /// Bytes scanned per header value.
    pub header_value_scan: usize,
    /// Header bytes scanned in total, over all headers.
    pub header_total_scan: usize,
    /// A backstop on distinct candidates, above what the byte bounds can
    /// yield with the defaults (every candidate is at least 22 bytes long).
    pub candidates: usize,
    /// JSON nesting followed.
    pub json_depth: usize,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_scan: 64 * 1024,
            query_scan: 64 * 1024,
            headers: 256,
            header_value_scan: 16 * 1024,
            header_total_scan: 64 * 1024,
            candidates: 16 * 1024,
            json_depth: 32,
        }
    }
}

/// A string that might be a token, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The candidate bytes (token characters only).
    pub value: Vec<u8>,
    /// `authorization`, a header name, `query:NAME`, `cookie:NAME` or `body`.
    pub found_in: FoundIn,
}

#[inline]
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

struct Collector {
    out: Vec<Candidate>,
    seen: std::collections::HashSet<Vec<u8>>,
    limit: usize,
}

impl Collector {
    fn full(&self) -> bool {
        self.out.len() >= self.limit
    }

    /// Splits `s` into words and keeps those long enough to be a token.
    fn words(&mut self, s: &[u8], found_in: &dyn Fn() -> FoundIn) {
        for w in s.split(|b| !is_token_byte(*b)) {
            if self.full() {
                return;
            }
            let w = trim_dots(w);
            if !super::may_be_ours(w) {
                continue;
            }
            // A set, not a scan of what was kept: thousands of words stay linear.
            if !self.seen.insert(w.to_vec()) {
                continue;
            }
            self.out.push(Candidate {
                value: w.to_vec(),
                found_in: found_in(),
            });
        }
    }
}

/// Trailing dots end sentences in prose (`use sk_live_… .`); leading ones never start a token.
fn trim_dots(w: &[u8]) -> &[u8] {
    let start = w.iter().position(|&b| b != b'.').unwrap_or(w.len());
    let w = &w[start..];
    // An unsigned JWT (`alg: none`) ends in its empty signature's dot: keep it.
    if w.starts_with(b"eyJ") && w.iter().filter(|&&b| b == b'.').count() == 2 && w.ends_with(b".") {
        return w;
    }
    let end = w.iter().rposition(|&b| b != b'.').map_or(0, |e| e + 1);
    &w[..end]
}

/// Names under which clients send credentials: such headers, cookies and
/// query parameters are looked at before anything else.
fn credential_name(name: &[u8]) -> bool {
    const WORDS: [&[u8]; 9] = [
        b"key",
        b"token",
        b"auth",
        b"secret",
        b"session",
        b"password",
        b"credential",
        b"jwt",
        b"sig",
    ];
    let lower = name.to_ascii_lowercase();
    WORDS.iter().any(|w| lower.windows(w.len()).any(|x| x == *w))
}

/// Extracts candidates from a request's head and (the first bytes of) its
/// body, credential-bearing places first: Authorization, headers, cookies and
/// query parameters whose names say they hold a credential, then the body,
/// then every other header and parameter.
pub fn candidates(parts: &Parts, body: &[u8], limits: &Limits) -> Vec<Candidate> {
    let mut c = Collector {
        out: Vec::new(),
        seen: Default::default(),
        limit: limits.candidates,
    };

    // Authorization first: it is where a found key is most often tried.
    for v in parts.headers.get_all(http::header::AUTHORIZATION).iter().take(4) {
        let v = cap(v.as_bytes(), limits.header_value_scan);
        let label = || FoundIn::Header("authorization".into());
        if let Some(rest) = strip_scheme(v, b"basic") {
            let rest = rest.trim_ascii();
            if let Ok(decoded) = STANDARD.decode(rest) {
                // user:password, either of which may carry the key.
                c.words(&decoded, &label);
            }
        }
        c.words(v, &label);
    }

    // The headers within the bounds, split by whether their name says credential.
    let mut budget = limits.header_total_scan;
    let mut credential_headers = Vec::new();
    let mut other_headers = Vec::new();
    for (name, value) in parts.headers.iter().take(limits.headers) {
        if name == http::header::AUTHORIZATION || budget == 0 {
            continue;
        }
        let v = cap(value.as_bytes(), limits.header_value_scan.min(budget));
        budget -= v.len();
        if name == http::header::COOKIE || credential_name(name.as_str().as_bytes()) {
            credential_headers.push((name, v));
        } else {
            other_headers.push((name, v));
        }
    }
    for (name, v) in &credential_headers {
        if *name == http::header::COOKIE {
            for pair in v.split(|&b| b == b';') {
                let pair = pair.trim_ascii();
                let (k, val) = match pair.iter().position(|&b| b == b'=') {
                    Some(p) => (&pair[..p], &pair[p + 1..]),
                    None => (&b""[..], pair),
                };
                let val = percent_decode(val);
                c.words(&val, &|| FoundIn::Cookie(FoundIn::name(k)));
            }
        } else {
            c.words(v, &|| FoundIn::Header(name.as_str().to_string()));
        }
    }

    let query: Vec<(Cow<'_, str>, Cow<'_, str>)> = parts
        .uri
        .query()
        .map(|q| form_urlencoded::parse(cap(q.as_bytes(), limits.query_scan)).collect())
        .unwrap_or_default();
    let scan_param = |c: &mut Collector, k: &Cow<'_, str>, v: &Cow<'_, str>| {
        c.words(v.as_bytes(), &|| FoundIn::Query(FoundIn::name(k.as_bytes())));
        // A key pasted as the parameter name (`?sk_live_…`) counts too.
        if v.is_empty() {
            c.words(k.as_bytes(), &|| FoundIn::Query(String::new()));
        }
    };
    for (k, v) in query.iter().filter(|(k, _)| credential_name(k.as_bytes())) {
        scan_param(&mut c, k, v);
    }

    let body = cap(body, limits.body_scan);
    if !body.is_empty() {
        scan_body(parts, body, limits, &mut c);
    }

    for (k, v) in query.iter().filter(|(k, _)| !credential_name(k.as_bytes())) {
        scan_param(&mut c, k, v);
    }
    for (name, v) in &other_headers {
        c.words(v, &|| FoundIn::Header(name.as_str().to_string()));
    }
    c.out
}

fn scan_body(parts: &Parts, body: &[u8], limits: &Limits, c: &mut Collector) {
    let label = || FoundIn::Body;
    let ctype = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_ascii_lowercase())
        .unwrap_or_default();
    let first = body.iter().find(|b| !b.is_ascii_whitespace()).copied();
    if matches!(first, Some(b'{') | Some(b'[')) || contains(&ctype, b"json") {
        if let Ok(v) = serde_json::from_slice::<Value>(body) {
            walk_json(&v, 0, limits.json_depth, c);
        }
    } else if contains(&ctype, b"x-www-form-urlencoded") {
        for (k, v) in form_urlencoded::parse(body) {
            if c.full() {
                break;
            }
            c.words(v.as_bytes(), &label);
            c.words(k.as_bytes(), &label);
        }
    }
    // Always scan the raw bytes as well: truncated or malformed JSON, multipart,
    // XML and plain text still carry keys verbatim.
    c.words(body, &label);
}

fn walk_json(v: &Value, depth: usize, max_depth: usize, c: &mut Collector) {
    if depth > max_depth || c.full() {
        return;
    }
    match v {
        Value::String(s) => c.words(s.as_bytes(), &|| FoundIn::Body),
        Value::Array(a) => a.iter().for_each(|x| walk_json(x, depth + 1, max_depth, c)),
        Value::Object(o) => o.iter().for_each(|(k, x)| {
            c.words(k.as_bytes(), &|| FoundIn::Body);
            walk_json(x, depth + 1, max_depth, c)
        }),
        _ => {}
    }
}

fn cap(b: &[u8], n: usize) -> &[u8] {
    &b[..b.len().min(n)]
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    hay.windows(needle.len()).any(|w| w == needle)
}

fn strip_scheme<'a>(v: &'a [u8], scheme: &[u8]) -> Option<&'a [u8]> {
    let v = v.trim_ascii_start();
    if v.len() > scheme.len() && v[..scheme.len()].eq_ignore_ascii_case(scheme) && v[scheme.len()] == b' ' {
        Some(&v[scheme.len() + 1..])
    } else {
        None
    }
}

fn percent_decode(v: &[u8]) -> Cow<'_, [u8]> {
    percent_encoding::percent_decode(v).into()
}

#[cfg(test)]
mod tests {
    use super::*;

    fn parts(uri: &str, headers: &[(&str, &[u8])]) -> Parts {
        let mut b = http::Request::builder().uri(uri);
        for (k, v) in headers {
            b = b.header(*k, http::HeaderValue::from_bytes(v).unwrap());
        }
        b.body(()).unwrap().into_parts().0
    }

    const K: &str = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";

    fn found(p: &Parts, body: &[u8]) -> Vec<String> {
        candidates(p, body, &Limits::default())
            .into_iter()
            .filter(|c| c.value == K.as_bytes())
            .map(|c| c.found_in.to_string())
            .collect()
    }

    #[test]
    fn finds_keys_everywhere() {
        assert_eq!(
            found(&parts("/", &[("authorization", format!("Bearer {K}").as_bytes())]), b""),
            ["authorization"]
        );
        let basic = STANDARD.encode(format!("user:{K}"));
        assert_eq!(
            found(
                &parts("/", &[("authorization", format!("Basic {basic}").as_bytes())]),
                b""
            ),
            ["authorization"]
        );
        assert_eq!(found(&parts("/", &[("x-api-key", K.as_bytes())]), b""), ["x-api-key"]);
        assert_eq!(found(&parts(&format!("/v1?api_key={K}"), &[]), b""), ["query:api_key"]);
        assert_eq!(
            found(&parts("/", &[("cookie", format!("a=b; session={K}").as_bytes())]), b""),
            ["cookie:session"]
        );
        let json = format!(r#"{{"auth":{{"deep":["x",{{"k":"{}"}}]}}}}"#, K.replace('_', "\\u005f"));
        assert_eq!(
            found(&parts("/", &[("content-type", b"application/json")]), json.as_bytes()),
            ["body"]
        );
        let form = format!("user=a&key={}", K.replace('_', "%5F"));
        assert_eq!(
            found(
                &parts("/", &[("content-type", b"application/x-www-form-urlencoded")]),
                form.as_bytes()
            ),
            ["body"]
        );
    }

    #[test]
    fn unsigned_jwt_keeps_its_final_dot_and_prose_loses_it() {
        let jwt = "eyJhbGciOiJub25lIn0.eyJqdGkiOiIwMTIzNDU2Ny04OWFiIn0.";
        let c = candidates(
            &parts("/", &[("authorization", format!("Bearer {jwt}").as_bytes())]),
            b"",
            &Limits::default(),
        );
        assert_eq!(c[0].value, jwt.as_bytes());
        let c = candidates(&parts("/", &[]), format!("key: {K}.").as_bytes(), &Limits::default());
        assert_eq!(c[0].value, K.as_bytes());
    }

    #[test]
    fn non_utf8_bytes_separate_words() {
        let mut v = b"\xff\xfe".to_vec();
        v.extend_from_slice(K.as_bytes());
        v.extend_from_slice(b"\x80");
        assert_eq!(found(&parts("/", &[("x-token", &v)]), b""), ["x-token"]);
    }

    #[test]
    fn every_word_within_the_byte_bounds_is_a_candidate() {
        // Random-looking words (a fixed LCG's base62 digits): each could be ours.
        let mut x: u64 = 0x9E37_79B9_7F4A_7C15;
        let mut body = Vec::new();
        for _ in 0..1_000 {
            for _ in 0..30 {
                x = x.wrapping_mul(6364136223846793005).wrapping_add(1442695040888963407);
                body.push(super::super::alphabet::Alphabet::Base62.chars()[(x >> 33) as usize % 62]);
            }
            body.push(b' ');
        }
        let c = candidates(&parts("/", &[]), &body, &Limits::default());
        assert_eq!(c.len(), 1_000);
        // A key beyond the scanned prefix of the body is not looked at.
        let mut big = vec![b' '; 70 * 1024];
        big.extend_from_slice(K.as_bytes());
        assert!(found(&parts("/", &[]), &big).is_empty());
    }

    #[test]
    fn words_no_token_of_ours_can_look_like_are_not_candidates() {
        // Long words of a few distinct characters (filler, padding, ids
        // counting up): the shape pre-filter drops them before any copy.
        let mut body = Vec::new();
        for i in 0..1_000 {
            body.extend_from_slice(format!("word{i:030} ").as_bytes());
        }
        body.extend_from_slice(&[b'A'; 100]);
        assert!(candidates(&parts("/", &[]), &body, &Limits::default()).is_empty());
    }

    #[test]
    fn a_token_behind_many_fillers_is_found() {
        let filler = |i: usize| format!("f{i:040}");
        // After 70 filler headers, in a JSON body.
        let names: Vec<String> = (0..70).map(|i| format!("x-filler-{i}")).collect();
        let values: Vec<String> = (0..70).map(filler).collect();
        let hs: Vec<(&str, &[u8])> = names
            .iter()
            .zip(&values)
            .map(|(n, v)| (n.as_str(), v.as_bytes()))
            .collect();
        let mut json = String::from("{");
        for i in 0..200 {
            json.push_str(&format!("\"field{i}\":\"{}\",", filler(i + 100)));
        }
        json.push_str(&format!("\"api_key\":\"{K}\"}}"));
        assert_eq!(found(&parts("/", &hs), json.as_bytes()), ["body"]);
        // As the 71st query parameter.
        let mut q = String::from("/v1?");
        for i in 0..70 {
            q.push_str(&format!("p{i}={}&", filler(i)));
        }
        q.push_str(&format!("q={K}"));
        assert_eq!(found(&parts(&q, &hs), b""), ["query:q"]);
        // In the 71st header, whose name says nothing.
        let mut hs2 = hs.clone();
        hs2.push(("x-zzz", K.as_bytes()));
        assert_eq!(found(&parts("/", &hs2), b""), ["x-zzz"]);
    }

    #[test]
    fn credential_places_come_first() {
        let c = candidates(
            &parts(
                "/?q=a7Kx2mQp9LzR4tWv8NbC3dFgHj6Y1&token=b8Lz3nRq0MaS5uXw9OcD4eGhIk7Z2",
                &[
                    ("x-trace", b"c9Ma4oSr1NbT6vYx0PdE5fHiJl8A3"),
                    ("x-api-key", b"d0Nb5pTs2OcU7wZy1QeF6gIjKm9B4"),
                ],
            ),
            b"e1Oc6qUt3PdV8xAz2RfG7hJkLn0C5",
            &Limits::default(),
        );
        let order: Vec<String> = c.iter().map(|c| c.found_in.to_string()).collect();
        assert_eq!(order, ["x-api-key", "query:token", "body", "query:q", "x-trace"]);
    }

    #[test]
    fn short_words_are_not_candidates() {
        let c = candidates(
            &parts("/?a=b&c=d", &[("user-agent", b"curl/8.5.0")]),
            b"hello",
            &Limits::default(),
        );
        assert!(c.is_empty(), "{c:?}");
    }
}
