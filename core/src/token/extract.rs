//! Candidate extraction: every place a client may put a key, scanned with
//! hard bounds so a hostile request costs little and never breaks anything.
//!
//! Values are split into words of token characters (`A-Za-z0-9-_.`); any
//! other byte, including invalid UTF-8, ends a word. Nothing is interpreted
//! beyond decoding Basic credentials, percent-encoding and JSON strings.

use base64::Engine;
use base64::alphabet;
use base64::engine::DecodePaddingMode;
use base64::engine::general_purpose::{GeneralPurpose, GeneralPurposeConfig};
use http::request::Parts;
use std::borrow::Cow;
use std::io::Read;

use crate::hit::FoundIn;

/// Bounds on what one request may make us look at. They are byte bounds:
/// every credential-shaped word within them is checked, however many there
/// are (a count cap let a token hide behind 64 fillers), and the shape
/// pre-filter ([`super::may_be_ours`], the same tests [`super::recognise`]
/// runs before any HMAC) drops words none of our tokens can look like
/// before they are copied, so each costs a few table lookups.
///
/// The places a client puts a credential (every `Authorization` header,
/// headers whose name says credential, cookies) each have a budget of their
/// own, so no amount of filler elsewhere, and no order, hides a token there:
/// only filler in the same place, past its own budget, does, and
/// [`Extraction::skipped`] says so.
///
/// The body is scanned up to [`Limits::body_scan`] bytes, after decoding a
/// gzip or deflate `Content-Encoding` (whose output is capped at the same
/// size, so a decompression bomb costs no more than a plain body). A token
/// after that many bytes of body is not looked at: any finite cap can be
/// padded past, and a larger one costs every request (the guard runs this
/// in front of a production API) while only moving the line; such a
/// request is reported in [`Extraction::skipped`] instead.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Body bytes scanned (the rest is ignored), after decoding: also the
    /// cap on a compressed body's decoded size.
    pub body_scan: usize,
    /// Query bytes scanned.
    pub query_scan: usize,
    /// URL path bytes scanned.
    pub path_scan: usize,
    /// Headers whose names are looked at (to find credential-named ones).
    pub header_names: usize,
    /// Other headers scanned (names saying nothing of a credential).
    pub headers: usize,
    /// Bytes scanned per header value (Cookie headers excepted: their pairs
    /// share the cookie budget).
    pub header_value_scan: usize,
    /// Bytes of other headers scanned in total.
    pub header_total_scan: usize,
    /// Bytes scanned of each credential place: all `Authorization` headers
    /// together, all credential-named headers together, all cookies together.
    pub credential_scan: usize,
    /// A backstop on distinct candidates, above what the byte bounds can
    /// yield with the defaults (every candidate is at least 22 bytes long).
    pub candidates: usize,
}

/// The default [`Limits::body_scan`].
pub const BODY_SCAN: usize = 64 * 1024;

impl Default for Limits {
    fn default() -> Self {
        Limits {
            body_scan: BODY_SCAN,
            query_scan: 64 * 1024,
            path_scan: 16 * 1024,
            header_names: 4096,
            headers: 256,
            header_value_scan: 16 * 1024,
            header_total_scan: 64 * 1024,
            credential_scan: 64 * 1024,
            candidates: 16 * 1024,
        }
    }
}

impl Limits {
    /// Body bytes a caller should hand to [`extract`] at most: one more
    /// than it scans, so a body that goes past the bound is reported as
    /// [`Skipped::Body`] rather than taken for one that ended there.
    pub const fn body_keep(&self) -> usize {
        self.body_scan + 1
    }
}

/// A string that might be a token, and where it was found.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Candidate {
    /// The candidate bytes (token characters only).
    pub value: Vec<u8>,
    /// `authorization`, a header name, `query:NAME`, `cookie:NAME`, `path` or `body`.
    pub found_in: FoundIn,
}

/// A part of a request that was not (wholly) looked at because it was past
/// a bound: a token there would not have been found.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Hash)]
pub enum Skipped {
    /// `Authorization` headers past their budget.
    Authorization,
    /// Credential-named headers past their budget or past the names looked at.
    CredentialHeaders,
    /// Cookies past their budget.
    Cookies,
    /// Other headers past their count or byte bounds.
    Headers,
    /// Query bytes past the bound.
    Query,
    /// Path bytes past the bound.
    Path,
    /// Body bytes (decoded) past the bound.
    Body,
    /// A body in a `Content-Encoding` that is not (wholly) decoded: br,
    /// zstd, more than two codings, or a stream that is cut short or corrupt
    /// (what did decode is scanned, and so are the bytes as sent).
    BodyEncoding,
    /// Candidates past the backstop.
    Candidates,
}

impl Skipped {
    /// The stable name records and alerts show.
    pub fn as_str(self) -> &'static str {
        match self {
            Skipped::Authorization => "authorization",
            Skipped::CredentialHeaders => "credential-headers",
            Skipped::Cookies => "cookies",
            Skipped::Headers => "headers",
            Skipped::Query => "query",
            Skipped::Path => "path",
            Skipped::Body => "body",
            Skipped::BodyEncoding => "body-encoding",
            Skipped::Candidates => "candidates",
        }
    }
}

impl std::fmt::Display for Skipped {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.write_str(self.as_str())
    }
}

/// What extraction found, and what it had to leave unread.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct Extraction {
    /// Candidates, credential-bearing places first.
    pub candidates: Vec<Candidate>,
    /// Parts past a bound, each named once, in the order met.
    pub skipped: Vec<Skipped>,
}

impl Extraction {
    /// The names of the skipped parts ([`Skipped::as_str`]), as a hit's
    /// `over_bounds` keeps them.
    pub fn over_bounds(&self) -> Vec<String> {
        self.skipped.iter().map(|s| s.as_str().to_string()).collect()
    }
}

#[inline]
fn is_token_byte(b: u8) -> bool {
    b.is_ascii_alphanumeric() || matches!(b, b'-' | b'_' | b'.')
}

/// Candidates kept before duplicates are looked up in a set.
const SCAN_KEPT: usize = 16;

struct Collector {
    out: Vec<Candidate>,
    /// The kept values, filled once there are [`SCAN_KEPT`] of them.
    seen: std::collections::HashSet<Vec<u8>>,
    limit: usize,
    skipped: Vec<Skipped>,
}

impl Collector {
    fn full(&self) -> bool {
        self.out.len() >= self.limit
    }

    fn skip(&mut self, s: Skipped) {
        if !self.skipped.contains(&s) {
            self.skipped.push(s);
        }
    }

    /// Splits `s` into words and keeps those long enough to be a token.
    fn words(&mut self, s: &[u8], found_in: &dyn Fn() -> FoundIn) {
        for w in s.split(|b| !is_token_byte(*b)) {
            if self.full() {
                self.skip(Skipped::Candidates);
                return;
            }
            self.word(trim_dots(w), found_in);
        }
    }

    fn word(&mut self, w: &[u8], found_in: &dyn Fn() -> FoundIn) {
        if !super::may_be_ours(w) {
            return;
        }
        // A scan of the few kept (most requests carry one candidate, and
        // this costs no allocation), a set once they are many: thousands of
        // words stay linear.
        if self.out.len() < SCAN_KEPT {
            if self.out.iter().any(|c| c.value == w) {
                return;
            }
        } else {
            if self.seen.is_empty() {
                self.seen.extend(self.out.iter().map(|c| c.value.clone()));
            }
            if !self.seen.insert(w.to_vec()) {
                return;
            }
        }
        self.out.push(Candidate {
            value: w.to_vec(),
            found_in: found_in(),
        });
    }
}

/// A budget of bytes for one place of a request.
struct Budget {
    left: usize,
    over: bool,
}

impl Budget {
    fn new(n: usize) -> Self {
        Budget { left: n, over: false }
    }

    /// The part of `v` (at most `per_value` bytes) the budget still covers.
    fn take<'a>(&mut self, v: &'a [u8], per_value: usize) -> &'a [u8] {
        let n = v.len().min(per_value).min(self.left);
        self.left -= n;
        self.over |= n < v.len();
        &v[..n]
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
    // Called for every header of every request the guard proxies: no copy.
    WORDS
        .iter()
        .any(|w| name.windows(w.len()).any(|x| x.eq_ignore_ascii_case(w)))
}

/// Extracts candidates from a request's head and (the first bytes of) its
/// body; see [`extract`].
pub fn candidates(parts: &Parts, body: &[u8], limits: &Limits) -> Vec<Candidate> {
    extract(parts, body, limits).candidates
}

/// Extracts candidates from a request's head and (the first bytes of) its
/// body, credential-bearing places first: every Authorization header,
/// headers, cookies and query parameters whose names say they hold a
/// credential, the path, then the body, then every other header and
/// parameter. Each place is scanned within its own bound; the places cut
/// short are named in [`Extraction::skipped`].
pub fn extract(parts: &Parts, body: &[u8], limits: &Limits) -> Extraction {
    let mut c = Collector {
        out: Vec::new(),
        seen: Default::default(),
        limit: limits.candidates,
        skipped: Vec::new(),
    };

    // Authorization first: it is where a found key is most often tried.
    // Every one of them, within a budget no other header draws on.
    let mut auth = Budget::new(limits.credential_scan);
    for v in parts.headers.get_all(http::header::AUTHORIZATION) {
        let v = auth.take(v.as_bytes(), limits.header_value_scan);
        let label = || FoundIn::Header("authorization".into());
        if let Some(rest) = strip_scheme(v, b"basic")
            && let Some(decoded) = lenient_base64(rest.trim_ascii())
        {
            // user:password, either of which may carry the key.
            c.words(&decoded, &label);
        }
        c.words(v, &label);
    }
    if auth.over {
        c.skip(Skipped::Authorization);
    }

    // The headers split by whether their name says credential: those
    // (and cookies) have budgets of their own, the rest share one.
    let mut cred = Budget::new(limits.credential_scan);
    let mut cookies: Vec<&[u8]> = Vec::new();
    let mut other_headers = Vec::new();
    let mut other = Budget::new(limits.header_total_scan);
    let mut others_seen = 0usize;
    for (i, (name, value)) in parts.headers.iter().enumerate() {
        if i == limits.header_names {
            c.skip(Skipped::CredentialHeaders);
            c.skip(Skipped::Headers);
            break;
        }
        if name == http::header::AUTHORIZATION {
            continue;
        }
        if name == http::header::COOKIE {
            cookies.push(value.as_bytes());
        } else if credential_name(name.as_str().as_bytes()) {
            let v = cred.take(value.as_bytes(), limits.header_value_scan);
            c.words(v, &|| FoundIn::Header(name.as_str().to_string()));
        } else if others_seen < limits.headers {
            others_seen += 1;
            other_headers.push((name, other.take(value.as_bytes(), limits.header_value_scan)));
        } else {
            other.over = true;
        }
    }
    if cred.over {
        c.skip(Skipped::CredentialHeaders);
    }
    scan_cookies(&cookies, limits, &mut c);

    let query_raw = parts.uri.query().unwrap_or("").as_bytes();
    if query_raw.len() > limits.query_scan {
        c.skip(Skipped::Query);
    }
    let query: Vec<(Cow<'_, str>, Cow<'_, str>)> = form_urlencoded::parse(cap(query_raw, limits.query_scan)).collect();
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

    scan_path(parts.uri.path().as_bytes(), limits, &mut c);

    if !body.is_empty() {
        scan_body(parts, body, limits, &mut c);
    }

    for (k, v) in query.iter().filter(|(k, _)| !credential_name(k.as_bytes())) {
        scan_param(&mut c, k, v);
    }
    for (name, v) in &other_headers {
        c.words(v, &|| FoundIn::Header(name.as_str().to_string()));
    }
    if other.over {
        c.skip(Skipped::Headers);
    }
    Extraction {
        candidates: c.out,
        skipped: c.skipped,
    }
}

/// Cookies within their own budget: credential-named ones first, so no
/// padding cookie before them (and no order) pushes them out of it.
fn scan_cookies(headers: &[&[u8]], limits: &Limits, c: &mut Collector) {
    let mut budget = Budget::new(limits.credential_scan);
    let mut pairs: Vec<(&[u8], &[u8])> = Vec::new();
    // Splitting costs a byte compare per byte; only the pairs' values are
    // scanned, named cookies first, all within the one budget.
    for h in headers {
        let h = budget.take(h, usize::MAX);
        for pair in h.split(|&b| b == b';') {
            let pair = pair.trim_ascii();
            pairs.push(match pair.iter().position(|&b| b == b'=') {
                Some(p) => (&pair[..p], &pair[p + 1..]),
                None => (&b""[..], pair),
            });
        }
    }
    let (named, rest): (Vec<_>, Vec<_>) = pairs.into_iter().partition(|(k, _)| credential_name(k));
    for (k, val) in named.into_iter().chain(rest) {
        let val = percent_decode(val);
        c.words(&val, &|| FoundIn::Cookie(FoundIn::name(k)));
    }
    if budget.over {
        c.skip(Skipped::Cookies);
    }
}

/// Path segments (`/bot<token>/sendMessage`, `/hooks/<token>`), percent-decoded.
/// A key's identity is read from its last digits, so a word such as
/// `bot<key>` is recognised as it is; a JWT glued after other characters is
/// tried from its `eyJ` as well.
fn scan_path(path: &[u8], limits: &Limits, c: &mut Collector) {
    if path.len() > limits.path_scan {
        c.skip(Skipped::Path);
    }
    let path = percent_decode(cap(path, limits.path_scan));
    let label = || FoundIn::Path;
    for w in path.split(|b| !is_token_byte(*b)) {
        if c.full() {
            c.skip(Skipped::Candidates);
            return;
        }
        let w = trim_dots(w);
        c.word(w, &label);
        if let Some(p) = find(w, b"eyJ").filter(|&p| p > 0) {
            c.word(&w[p..], &label);
        }
    }
}

fn scan_body(parts: &Parts, body: &[u8], limits: &Limits, c: &mut Collector) {
    let label = || FoundIn::Body;
    let sent = body;
    let (body, whole) = decoded_body(parts, body, limits.body_scan, c);
    if !whole {
        // A stream that does not decode wholly may be no stream at all (a
        // plain body under a false Content-Encoding): the bytes as sent too.
        c.words(cap(sent, limits.body_scan), &label);
    }
    if body.len() > limits.body_scan {
        c.skip(Skipped::Body);
    }
    let body = cap(&body, limits.body_scan);
    let ctype = parts
        .headers
        .get(http::header::CONTENT_TYPE)
        .map(|v| v.as_bytes().to_ascii_lowercase())
        .unwrap_or_default();
    if contains(&ctype, b"x-www-form-urlencoded") {
        for (k, v) in form_urlencoded::parse(body) {
            if c.full() {
                break;
            }
            c.words(v.as_bytes(), &label);
            c.words(k.as_bytes(), &label);
        }
    }
    // JSON (and JavaScript, YAML) string escapes: unescaped over the whole
    // scanned body, whatever its nesting, and whether or not it parses
    // (truncated at the cap, malformed, or JSON inside another format).
    if let Some(unescaped) = json_unescaped(body) {
        c.words(&unescaped, &label);
    }
    // Always scan the raw bytes as well: truncated or malformed JSON, multipart,
    // XML and plain text still carry keys verbatim.
    c.words(body, &label);
}

/// `body` with every `\uXXXX` escape of an ASCII token character replaced
/// by that character, and every other escape by a space (no other escape
/// yields a token character, and any non-token byte ends a word). `None`
/// when there is no `\u` escape: nothing to gain. One linear pass.
fn json_unescaped(body: &[u8]) -> Option<Vec<u8>> {
    if !contains(body, b"\\u") {
        return None;
    }
    let mut out = Vec::with_capacity(body.len());
    let mut i = 0;
    while i < body.len() {
        let b = body[i];
        if b != b'\\' {
            out.push(b);
            i += 1;
            continue;
        }
        match body.get(i + 1) {
            Some(b'u') => {
                let ch = body
                    .get(i + 2..i + 6)
                    .and_then(|h| std::str::from_utf8(h).ok())
                    .and_then(|h| u16::from_str_radix(h, 16).ok())
                    .and_then(|v| u8::try_from(v).ok())
                    .filter(|v| is_token_byte(*v));
                match ch {
                    Some(v) => {
                        out.push(v);
                        i += 6;
                    }
                    None => {
                        out.push(b' ');
                        i += 2;
                    }
                }
            }
            // `\\`, `\"`, `\n`, …: both bytes are one non-token character.
            Some(_) => {
                out.push(b' ');
                i += 2;
            }
            None => i += 1,
        }
    }
    Some(out)
}

/// The body as the client meant it: a gzip or deflate `Content-Encoding`
/// (or a gzip stream sent without one) decoded, its output capped at `cap`
/// plus one byte (so the caller can tell it was cut), and whether it decoded
/// wholly (a stream cut short or corrupt did not: what it gave is scanned,
/// and so is the body as sent). A coding that is not decoded is noted.
fn decoded_body<'a>(parts: &Parts, body: &'a [u8], cap: usize, c: &mut Collector) -> (Cow<'a, [u8]>, bool) {
    let mut codings: Vec<Vec<u8>> = Vec::new();
    for v in parts.headers.get_all(http::header::CONTENT_ENCODING) {
        for t in v.as_bytes().split(|&b| b == b',') {
            let t = t.trim_ascii().to_ascii_lowercase();
            if !t.is_empty() && t != b"identity" {
                codings.push(t);
            }
            if codings.len() > 2 {
                c.skip(Skipped::BodyEncoding);
                return (Cow::Borrowed(body), true);
            }
        }
    }
    if codings.is_empty() && body.starts_with(&[0x1f, 0x8b, 0x08]) {
        codings.push(b"gzip".to_vec());
    }
    let mut cur: Cow<'a, [u8]> = Cow::Borrowed(body);
    let mut whole = true;
    // Codings are listed in the order they were applied: undo the last first.
    for coding in codings.iter().rev() {
        if cur.len() > cap + 1 {
            // Compressed bytes past the bound are not decoded either.
            c.skip(Skipped::Body);
        }
        let input = &cur[..cur.len().min(cap + 1)];
        let out = match coding.as_slice() {
            b"gzip" | b"x-gzip" => inflate(flate2::read::MultiGzDecoder::new(input), cap),
            // RFC 9110 section 8.4.1.2: "deflate" is a zlib stream; some
            // clients send raw deflate, so that is tried as well.
            b"deflate" => inflate(flate2::read::ZlibDecoder::new(input), cap)
                .or_else(|| inflate(flate2::read::DeflateDecoder::new(input), cap)),
            _ => None,
        };
        match out {
            Some((o, clean)) => {
                if !clean {
                    c.skip(Skipped::BodyEncoding);
                    whole = false;
                }
                cur = Cow::Owned(o);
            }
            None => {
                c.skip(Skipped::BodyEncoding);
                return (cur, whole);
            }
        }
    }
    (cur, whole)
}

/// Up to `cap + 1` bytes of a decoder's output and whether it ended
/// cleanly (at the stream's end or at the cap), or `None` if it yields
/// nothing. A stream cut short (the body was truncated to the scan bound)
/// still gives what it decoded so far.
fn inflate(r: impl Read, cap: usize) -> Option<(Vec<u8>, bool)> {
    let mut out = Vec::new();
    // An error ends the stream; what was read before it is kept.
    let clean = r.take(cap as u64 + 1).read_to_end(&mut out).is_ok();
    (!out.is_empty()).then_some((out, clean))
}

/// Basic credentials as clients really send them: standard or URL-safe
/// alphabet, with or without padding.
fn lenient_base64(v: &[u8]) -> Option<Vec<u8>> {
    const CONFIG: GeneralPurposeConfig = GeneralPurposeConfig::new()
        .with_decode_padding_mode(DecodePaddingMode::Indifferent)
        .with_decode_allow_trailing_bits(true);
    const STANDARD: GeneralPurpose = GeneralPurpose::new(&alphabet::STANDARD, CONFIG);
    const URL_SAFE: GeneralPurpose = GeneralPurpose::new(&alphabet::URL_SAFE, CONFIG);
    STANDARD.decode(v).or_else(|_| URL_SAFE.decode(v)).ok()
}

fn cap(b: &[u8], n: usize) -> &[u8] {
    &b[..b.len().min(n)]
}

fn find(hay: &[u8], needle: &[u8]) -> Option<usize> {
    hay.windows(needle.len()).position(|w| w == needle)
}

fn contains(hay: &[u8], needle: &[u8]) -> bool {
    find(hay, needle).is_some()
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
    use base64::engine::general_purpose::STANDARD;

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
    fn credential_names_are_told_whatever_their_case() {
        for name in ["api_key", "X-API-KEY", "accessToken", "Session", "client_SECRET", "JWT"] {
            assert!(credential_name(name.as_bytes()), "{name}");
        }
        for name in ["accept", "x-request-id", "Content-Type", "kex"] {
            assert!(!credential_name(name.as_bytes()), "{name}");
        }
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
        // Each word once, however often it comes, below and past the
        // number of candidates kept before a set takes over.
        for words in [3, SCAN_KEPT - 1, SCAN_KEPT, SCAN_KEPT + 1, 200] {
            let once = &body[..words * 31];
            let mut thrice = once.to_vec();
            thrice.extend_from_slice(once);
            thrice.extend_from_slice(once);
            let c = candidates(&parts("/", &[]), &thrice, &Limits::default());
            assert_eq!(c.len(), words, "{words} words, each three times");
            let distinct: std::collections::HashSet<&[u8]> = c.iter().map(|c| c.value.as_slice()).collect();
            assert_eq!(distinct.len(), words);
        }
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

    fn skipped(p: &Parts, body: &[u8]) -> Vec<Skipped> {
        extract(p, body, &Limits::default()).skipped
    }

    #[test]
    fn every_authorization_header_is_scanned() {
        let mut hs: Vec<(&str, Vec<u8>)> = (0..4)
            .map(|i| ("authorization", format!("Bearer junk{i}").into_bytes()))
            .collect();
        hs.push(("authorization", format!("Bearer {K}").into_bytes()));
        let hs: Vec<(&str, &[u8])> = hs.iter().map(|(n, v)| (*n, v.as_slice())).collect();
        assert_eq!(found(&parts("/", &hs), b""), ["authorization"]);
    }

    #[test]
    fn credential_headers_have_a_budget_of_their_own() {
        // After 4 x 16 KiB of filler headers.
        let fill = "f".repeat(16 * 1024);
        let mut hs: Vec<(String, Vec<u8>)> = (0..4)
            .map(|i| (format!("x-fill-{i}"), fill.clone().into_bytes()))
            .collect();
        hs.push(("x-api-key".into(), K.as_bytes().to_vec()));
        let view: Vec<(&str, &[u8])> = hs.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        assert_eq!(found(&parts("/", &view), b""), ["x-api-key"]);
        // After 256 small headers.
        let mut hs: Vec<(String, Vec<u8>)> = (0..256).map(|i| (format!("x-h{i}"), b"v".to_vec())).collect();
        hs.push(("x-api-key".into(), K.as_bytes().to_vec()));
        let view: Vec<(&str, &[u8])> = hs.iter().map(|(n, v)| (n.as_str(), v.as_slice())).collect();
        assert_eq!(found(&parts("/", &view), b""), ["x-api-key"]);
    }

    #[test]
    fn a_cookie_after_padding_is_found() {
        let pad = "p".repeat(16 * 1024);
        let named = format!("pad={pad}; session={K}");
        assert_eq!(
            found(&parts("/", &[("cookie", named.as_bytes())]), b""),
            ["cookie:session"]
        );
        let unnamed = format!("pad={pad}; x={K}");
        assert_eq!(found(&parts("/", &[("cookie", unnamed.as_bytes())]), b""), ["cookie:x"]);
        // Padding past the cookies' own budget is named, not silent.
        let huge = format!("pad={}; x={K}", "p".repeat(64 * 1024));
        let p = parts("/", &[("cookie", huge.as_bytes())]);
        assert!(found(&p, b"").is_empty());
        assert_eq!(skipped(&p, b""), [Skipped::Cookies]);
    }

    #[test]
    fn basic_credentials_decode_leniently() {
        let user_pass = format!("user:{K}");
        let no_pad = base64::engine::general_purpose::STANDARD_NO_PAD.encode(&user_pass);
        let url_safe = base64::engine::general_purpose::URL_SAFE.encode(format!("{K}:??>"));
        assert!(url_safe.contains('-') || url_safe.contains('_'), "{url_safe}");
        for enc in [no_pad, url_safe] {
            let v = format!("Basic {enc}");
            assert_eq!(
                found(&parts("/", &[("authorization", v.as_bytes())]), b""),
                ["authorization"],
                "{enc}"
            );
        }
    }

    #[test]
    fn path_segments_are_scanned() {
        // The word is `bot<key>`: recognition reads a key's identity from its
        // last digits (the decoy and guard tests recognise such a token).
        let c = candidates(&parts(&format!("/bot{K}/sendMessage"), &[]), b"", &Limits::default());
        assert_eq!(c.len(), 1);
        assert_eq!(c[0].value, format!("bot{K}").as_bytes());
        assert_eq!(c[0].found_in, "path");
        // A JWT glued after other characters is tried from its `eyJ`.
        let jwt = "eyJhbGciOiJIUzI1NiJ9.eyJqdGkiOiIwMTIzIn0.c2lnbmF0dXJlLWJ5dGVz";
        let c = candidates(&parts(&format!("/hook/tok{jwt}/x"), &[]), b"", &Limits::default());
        assert!(
            c.iter().any(|c| c.value == jwt.as_bytes() && c.found_in == "path"),
            "{c:?}"
        );
        assert_eq!(
            found(&parts(&format!("/hooks/{}/x", K.replace('_', "%5F")), &[]), b""),
            ["path"]
        );
    }

    #[test]
    fn json_escapes_are_undone_at_any_depth() {
        let escaped = format!("{}\\u0063", &K[..K.len() - 1]);
        assert!(K.ends_with('c'));
        let json = format!("{}\"{escaped}\"{}", "[".repeat(40), "]".repeat(40));
        assert_eq!(
            found(&parts("/", &[("content-type", b"application/json")]), json.as_bytes()),
            ["body"]
        );
        // Truncated JSON too.
        let cut = format!("{{\"a\":{{\"k\":\"{escaped}\",\"b\":[1,2");
        assert_eq!(found(&parts("/", &[]), cut.as_bytes()), ["body"]);
    }

    fn compress(coding: &str, data: &[u8]) -> Vec<u8> {
        crate::testkit::compressed(coding, data)
    }

    #[test]
    fn compressed_bodies_are_decoded() {
        let body = format!("{{\"api_key\":\"{K}\"}}");
        for (coding, stream) in [
            ("gzip", "gzip"),
            ("x-gzip", "gzip"),
            ("deflate", "deflate"),
            ("deflate", "raw-deflate"),
        ] {
            let z = compress(stream, body.as_bytes());
            assert_eq!(
                found(&parts("/", &[("content-encoding", coding.as_bytes())]), &z),
                ["body"],
                "{coding}/{stream}"
            );
        }
        // A gzip stream sent without a Content-Encoding.
        assert_eq!(found(&parts("/", &[]), &compress("gzip", body.as_bytes())), ["body"]);
    }

    #[test]
    fn a_decompression_bomb_costs_no_more_than_the_cap() {
        // 64 MiB of zeros, then the key: the output stops at the body cap.
        let mut data = vec![0u8; 64 * 1024 * 1024];
        data.extend_from_slice(K.as_bytes());
        let z = compress("gzip", &data);
        assert!(z.len() < 256 * 1024, "{}", z.len());
        let p = parts("/", &[("content-encoding", b"gzip")]);
        let e = extract(&p, &z, &Limits::default());
        assert!(e.candidates.is_empty());
        assert_eq!(e.skipped, [Skipped::Body]);
        // Within the cap, the decoded key is found.
        let mut small = vec![b' '; 60 * 1024];
        small.extend_from_slice(K.as_bytes());
        assert_eq!(found(&p, &compress("gzip", &small)), ["body"]);
    }

    #[test]
    fn a_body_past_the_cap_is_named_as_skipped() {
        let mut big = vec![b' '; 70 * 1024];
        big.extend_from_slice(K.as_bytes());
        let p = parts("/", &[]);
        assert!(found(&p, &big).is_empty());
        assert_eq!(skipped(&p, &big), [Skipped::Body]);
        assert!(skipped(&p, &big[..1024]).is_empty());
    }

    #[test]
    fn every_evasion_is_found_where_it_was_put() {
        for e in crate::testkit::evasions(K) {
            let (p, body) = e.request.into_parts();
            let c = extract(&p, &body, &Limits::default());
            assert!(
                c.candidates
                    .iter()
                    .any(|c| c.value.ends_with(K.as_bytes()) && c.found_in == e.found_in),
                "{}: {:?}",
                e.name,
                c.candidates.iter().map(|c| c.found_in.to_string()).collect::<Vec<_>>()
            );
            assert!(c.skipped.is_empty(), "{}: {:?}", e.name, c.skipped);
        }
    }

    #[test]
    fn a_body_that_does_not_decode_is_scanned_as_sent_and_named() {
        let body = format!("{{\"api_key\":\"{K}\"}}");
        for coding in ["gzip", "deflate", "br", "gzip, gzip, gzip"] {
            let p = parts("/", &[("content-encoding", coding.as_bytes())]);
            assert_eq!(found(&p, body.as_bytes()), ["body"], "{coding}");
            assert_eq!(skipped(&p, body.as_bytes()), [Skipped::BodyEncoding], "{coding}");
        }
        // Codings applied in turn are undone in turn.
        let twice = compress("gzip", &compress("deflate", body.as_bytes()));
        let p = parts("/", &[("content-encoding", b"deflate, gzip")]);
        assert_eq!(found(&p, &twice), ["body"]);
        assert!(skipped(&p, &twice).is_empty());
    }
}
