//! `honeytoken persona learn`: how the operator's own API answers, so the
//! decoy can answer the same way.
//!
//! Each kind of request is sent [`SAMPLES`] times: without a credential,
//! with an invalid key of the planted shape (random, never a real
//! credential), a CORS preflight, an unknown method and an unknown path.
//! The answers are read raw over HTTP/1.1 (TLS for `https`, ALPN
//! `http/1.1`), so header names keep their case and order exactly as the
//! API's server wrote them. What differs between the samples of one kind
//! becomes a named field whose format is inferred from the samples (a UUID,
//! random characters of an alphabet and length, base64, an API Gateway id,
//! an X-Ray trace id, a `CF-Ray`); a date or time near the moment of the
//! request is a clock field even when the samples agree on it (`Date`,
//! `Expires` an hour ahead), a fixed date far from it stays text. Each
//! header gets fields of its own; a value the API repeats (a request id in
//! a header and in the body) is one field. Cookies are left out (replaying
//! the API's would leak them); the probed host, where the API repeats it,
//! becomes the request's own `{host}`. Redirects are never followed.

use std::collections::BTreeMap;
use std::sync::Arc;
use std::time::Duration;

use time::OffsetDateTime;
use tokio::io::{AsyncRead, AsyncReadExt, AsyncWrite, AsyncWriteExt};

use super::persona::{
    Answer, FORMAT_VERSION, FieldFormat, IdChars, MAX_FIELD_LEN, Persona, Route, is_uuid, parse_http_date,
    parse_rfc3339,
};
use crate::error::{Error, Result};

/// Samples per kind of request: with two, a field that repeats by chance
/// (a clock second, a short id) looks fixed; three make that unlikely.
pub const SAMPLES: usize = 3;

/// Headers never replayed: the API's cookies are its users' business.
const SKIP: &[&str] = &["set-cookie", "set-cookie2"];

/// An answer is read up to this size; a longer body is cut.
const MAX_ANSWER: usize = 1 << 20;

/// One observed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Status code.
    pub status: u16,
    /// Header names as written (case kept) and values, in order.
    pub headers: Vec<(String, String)>,
    /// Body (lossy UTF-8, capped, de-chunked).
    pub body: String,
    /// When it was answered (its `Date`, or the local clock without one):
    /// clock fields are measured from it.
    pub at: OffsetDateTime,
}

/// What learning produced: the persona, and what it could not learn.
#[derive(Debug)]
pub struct Learned {
    /// The persona (built-in answers stand in for what could not be learned).
    pub persona: Persona,
    /// One line per kind of request that could not be probed.
    pub gaps: Vec<String>,
}

/// A time within this many seconds of the answer is "now" plus an offset;
/// further away it is a fixed date.
const NEAR: i64 = 2 * 86_400;

/// Named fields of the persona being learned, one per distinct varying value.
#[derive(Debug, Default)]
pub struct Fields {
    formats: BTreeMap<String, FieldFormat>,
    /// The sample values each field was made from, to find a value repeated.
    seen: Vec<(String, Vec<String>)>,
    /// Fields the answer being learned already uses.
    current: Vec<String>,
}

impl Fields {
    /// The field for values `values` (one per sample) of format `format`:
    /// the field already made from the same values (a request id the API
    /// repeats), else the field of that name and format made for another
    /// answer (each answer gets fresh values anyway), else a new one named
    /// after `hint`. Two headers of one answer never share a field unless
    /// their values were equal in every sample.
    fn field(&mut self, hint: &str, format: FieldFormat, values: Vec<String>) -> String {
        let clock = matches!(
            format,
            FieldFormat::HttpDate { .. }
                | FieldFormat::Rfc3339 { .. }
                | FieldFormat::EpochSeconds { .. }
                | FieldFormat::EpochMillis { .. }
        );
        if !clock
            && let Some((name, _)) = self
                .seen
                .iter()
                .find(|(n, v)| *v == values && self.formats.get(n) == Some(&format))
        {
            let name = name.clone();
            self.current.push(name.clone());
            return name;
        }
        let mut base: String = hint
            .chars()
            .map(|c| {
                if c.is_ascii_alphanumeric() {
                    c.to_ascii_lowercase()
                } else {
                    '_'
                }
            })
            .collect();
        if base.is_empty() || matches!(base.as_str(), "host" | "path" | "timestamp") {
            base = format!("{base}_value");
        }
        let mut name = base.clone();
        let mut n = 2;
        loop {
            match self.formats.get(&name) {
                None => break,
                Some(f) if *f == format && !self.current.contains(&name) => break,
                Some(_) => {
                    name = format!("{base}_{n}");
                    n += 1;
                }
            }
        }
        self.formats.insert(name.clone(), format);
        self.seen.push((name.clone(), values));
        self.current.push(name.clone());
        name
    }

    /// The fields made so far.
    pub fn into_formats(self) -> BTreeMap<String, FieldFormat> {
        self.formats
    }
}

/// The answer template from several answers to the same request.
pub fn template(samples: &[Observed], fields: &mut Fields, host: &str) -> Answer {
    fields.current.clear();
    let first = &samples[0];
    let mut headers = Vec::new();
    for (i, (k, v)) in first.headers.iter().enumerate() {
        if SKIP.iter().any(|s| s.eq_ignore_ascii_case(k)) {
            continue;
        }
        // The same header of every sample: at the same place, else by name.
        let values: Vec<&str> = samples
            .iter()
            .map(|s| {
                s.headers
                    .get(i)
                    .filter(|(k2, _)| k2.eq_ignore_ascii_case(k))
                    .or_else(|| s.headers.iter().find(|(k2, _)| k2.eq_ignore_ascii_case(k)))
                    .map_or(v.as_str(), |(_, v)| v.as_str())
            })
            .collect();
        let ats: Vec<OffsetDateTime> = samples.iter().map(|s| s.at).collect();
        headers.push((k.clone(), infer(&values, &ats, fields, k, host)));
    }
    let bodies: Vec<&str> = samples.iter().map(|s| s.body.as_str()).collect();
    let ats: Vec<OffsetDateTime> = samples.iter().map(|s| s.at).collect();
    Answer {
        status: first.status,
        headers,
        body: infer(&bodies, &ats, fields, "", host),
    }
}

/// A piece of a value: text, or something whose shape is recognised whole.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Kind {
    /// A run of ASCII letters and digits.
    Word,
    /// Any other single character.
    Sym,
    HttpDate,
    Rfc3339,
    Uuid,
    UpperUuid,
    Xray,
    CfRay,
    ApigwId,
}

#[derive(Debug, Clone, Copy)]
struct Tok<'a> {
    kind: Kind,
    text: &'a str,
}

fn is_word(b: u8) -> bool {
    b.is_ascii_alphanumeric()
}

/// `s` cut into tokens, shapes recognised whole where they start.
fn tokens(s: &str) -> Vec<Tok<'_>> {
    let b = s.as_bytes();
    let mut out = Vec::new();
    let mut i = 0;
    let hex = |t: &[u8]| t.iter().all(|c| c.is_ascii_digit() || (b'a'..=b'f').contains(c));
    while i < b.len() {
        // A shape starts at a word boundary and ends at one.
        let boundary_before = i == 0 || !is_word(b[i - 1]);
        let ends_at = |n: usize| i + n <= b.len() && (i + n == b.len() || !is_word(b[i + n]));
        let mut found = None;
        if boundary_before && s.is_char_boundary(i) {
            let rest = &s[i..];
            if ends_at(29) && rest.is_char_boundary(29) && parse_http_date(&rest[..29]).is_some() {
                found = Some((Kind::HttpDate, 29));
            } else if let Some(n) = rfc3339_len(rest) {
                found = Some((Kind::Rfc3339, n));
            } else if ends_at(36) && rest.is_char_boundary(36) && is_uuid(&rest[..36]) {
                found = Some((Kind::Uuid, 36));
            } else if ends_at(36) && rest.is_char_boundary(36) && {
                let t = &rest[..36];
                is_uuid(&t.to_ascii_lowercase()) && t.bytes().any(|c| c.is_ascii_uppercase())
            } {
                found = Some((Kind::UpperUuid, 36));
            } else if ends_at(35) && {
                let t = &b[i..i + 35];
                t.starts_with(b"1-") && t[10] == b'-' && hex(&t[2..10]) && hex(&t[11..35])
            } {
                found = Some((Kind::Xray, 35));
            } else if ends_at(20) && {
                let t = &b[i..i + 20];
                hex(&t[..16]) && t[16] == b'-' && t[17..].iter().all(u8::is_ascii_uppercase)
            } {
                found = Some((Kind::CfRay, 20));
            } else if i + 16 <= b.len()
                && (i == 0 || !(is_word(b[i - 1]) || b"-_".contains(&b[i - 1])))
                && b[i + 15] == b'='
                && (i + 16 == b.len() || !(is_word(b[i + 16]) || b"-_=".contains(&b[i + 16])))
                && b[i..i + 15].iter().all(|c| is_word(*c) || b"-_".contains(c))
            {
                found = Some((Kind::ApigwId, 16));
            }
        }
        let (kind, n) = found.unwrap_or_else(|| {
            if is_word(b[i]) {
                (Kind::Word, b[i..].iter().take_while(|c| is_word(**c)).count())
            } else {
                let n = s[i..].chars().next().map_or(1, char::len_utf8);
                (Kind::Sym, n)
            }
        });
        out.push(Tok {
            kind,
            text: &s[i..i + n],
        });
        i += n;
    }
    out
}

/// The length of an RFC 3339 date-time at the start of `s`, if one is.
fn rfc3339_len(s: &str) -> Option<usize> {
    let b = s.as_bytes();
    if b.len() < 20 || !b[..4].iter().all(u8::is_ascii_digit) || b[4] != b'-' || b[10] != b'T' {
        return None;
    }
    let mut n = 19;
    if b.get(n) == Some(&b'.') {
        n += 1 + b[n + 1..].iter().take_while(|c| c.is_ascii_digit()).count();
    }
    match b.get(n) {
        Some(b'Z') => n += 1,
        Some(b'+' | b'-') => n += 6,
        _ => return None,
    }
    (n <= b.len()
        && !b.get(n).is_some_and(|c| is_word(*c))
        && s.is_char_boundary(n)
        && parse_rfc3339(&s[..n]).is_some())
    .then_some(n)
}

/// Seconds from `at` to the time `text` names, rounded so that a clock a
/// second or two apart counts as now.
fn offset(t: OffsetDateTime, at: OffsetDateTime) -> Option<i64> {
    let d = (t - at).whole_seconds();
    (d.abs() <= NEAR).then_some(if d.abs() <= 2 { 0 } else { d })
}

/// The clock field a token is, if it names a time near its answer's.
fn clock(tok: &Tok, at: OffsetDateTime) -> Option<FieldFormat> {
    match tok.kind {
        Kind::HttpDate => {
            let off = offset(parse_http_date(tok.text)?, at)?;
            Some(FieldFormat::HttpDate { offset: off })
        }
        Kind::Rfc3339 => {
            let (t, fraction, zone) = parse_rfc3339(tok.text)?;
            Some(FieldFormat::Rfc3339 {
                fraction,
                zone: zone.to_string(),
                offset: offset(t, at)?,
            })
        }
        Kind::Word if tok.text.bytes().all(|c| c.is_ascii_digit()) && matches!(tok.text.len(), 10 | 13) => {
            let n: i64 = tok.text.parse().ok()?;
            if tok.text.len() == 10 {
                let t = OffsetDateTime::from_unix_timestamp(n).ok()?;
                Some(FieldFormat::EpochSeconds { offset: offset(t, at)? })
            } else {
                let t = OffsetDateTime::from_unix_timestamp(n / 1000).ok()?;
                Some(FieldFormat::EpochMillis { offset: offset(t, at)? })
            }
        }
        _ => None,
    }
}

/// The format of a varying token from its values in every sample.
fn format_of(kind: Kind, values: &[&str]) -> FieldFormat {
    match kind {
        Kind::Uuid => FieldFormat::Uuid { upper: false },
        Kind::UpperUuid => FieldFormat::Uuid { upper: true },
        Kind::Xray => FieldFormat::XrayTraceId,
        Kind::ApigwId => FieldFormat::ApigwId,
        Kind::CfRay => FieldFormat::CfRay {
            colo: values[0][17..].to_string(),
        },
        _ => random_format(values),
    }
}

/// Random characters (or base64) shaped like `values`.
fn random_format(values: &[&str]) -> FieldFormat {
    let all: String = values.concat();
    // A longer varying run (a page that changes) is not an id: it gets the
    // longest random field a persona holds rather than no persona at all.
    let len = values[0].len().clamp(1, MAX_FIELD_LEN);
    if all.bytes().all(is_word) {
        return FieldFormat::Random {
            chars: IdChars::of(&all),
            len,
        };
    }
    let url = all.bytes().any(|c| c == b'-' || c == b'_');
    let pad = values[0].ends_with('=');
    let is_b64 = all
        .bytes()
        .all(|c| is_word(c) || c == b'=' || if url { b"-_".contains(&c) } else { b"+/".contains(&c) });
    if is_b64 && (!pad || len.is_multiple_of(4)) {
        let unpadded = values[0].trim_end_matches('=').len();
        return FieldFormat::Base64 {
            bytes: (unpadded * 3 / 4).clamp(1, MAX_FIELD_LEN),
            url,
            pad,
        };
    }
    FieldFormat::Random {
        chars: IdChars::Base62,
        len,
    }
}

/// The JSON key (or form name) just before `at` in `text`, to name a body field.
fn key_before(text: &str) -> Option<&str> {
    let t = text.trim_end_matches(['"', ' ', ':', '=', '\'']);
    if t.len() == text.len() {
        return None;
    }
    let t = t.trim_end_matches('"');
    let start = t
        .rfind(|c: char| !(c.is_ascii_alphanumeric() || c == '_' || c == '-'))
        .map_or(0, |i| i + 1);
    let key = &t[start..];
    (!key.is_empty()).then_some(key)
}

/// The template of one value (a header's, or the body) from its value in
/// every sample: literal where they agree, fields where they vary and for
/// times near the answer's.
pub fn infer(values: &[&str], ats: &[OffsetDateTime], fields: &mut Fields, hint: &str, host: &str) -> String {
    let toks: Vec<Vec<Tok>> = values.iter().map(|v| tokens(v)).collect();
    let aligned = toks.iter().all(|t| {
        t.len() == toks[0].len()
            && t.iter()
                .zip(&toks[0])
                .all(|(a, b)| a.kind == b.kind && (a.kind != Kind::Sym || a.text == b.text))
    });
    let mut out = String::new();
    let name_of = |out: &str| -> String {
        if hint.is_empty() {
            key_before(out).unwrap_or("body").to_string()
        } else {
            hint.to_string()
        }
    };
    if !aligned {
        // Shapes differ (a base64 id with a `+` in one sample only): what
        // all samples share at both ends stays, the middle is one field.
        let pre = (0..)
            .take_while(|&j| toks.iter().all(|t| j < t.len() && t[j].text == toks[0][j].text))
            .count();
        let min_len = toks.iter().map(Vec::len).min().unwrap_or(0);
        let suf = (0..min_len - pre)
            .take_while(|&j| {
                toks.iter()
                    .all(|t| t[t.len() - 1 - j].text == toks[0][toks[0].len() - 1 - j].text)
            })
            .count();
        for t in &toks[0][..pre] {
            out.push_str(t.text);
        }
        let middles: Vec<String> = toks
            .iter()
            .map(|t| t[pre..t.len() - suf].iter().map(|k| k.text).collect())
            .collect();
        let mids: Vec<&str> = middles.iter().map(String::as_str).collect();
        let name = fields.field(&name_of(&out), random_format(&mids), middles.clone());
        out.push_str(&format!("{{{name}}}"));
        for t in &toks[0][toks[0].len() - suf..] {
            out.push_str(t.text);
        }
        return replace_host(out, host);
    }
    for j in 0..toks[0].len() {
        let here: Vec<&str> = toks.iter().map(|t| t[j].text).collect();
        let t0 = toks[0][j];
        let clocks: Vec<Option<FieldFormat>> = toks.iter().zip(ats).map(|(t, at)| clock(&t[j], *at)).collect();
        let varies = here.iter().any(|v| *v != here[0]);
        let format = match &clocks[0] {
            // A time near the answer's: the clock, whether or not the samples agree.
            Some(c) if varies || clocks.iter().all(|o| o.as_ref().is_some_and(|o| same_clock(o, c))) => Some(c.clone()),
            _ if varies => Some(format_of(t0.kind, &here)),
            _ => None,
        };
        match format {
            Some(f) => {
                let name = fields.field(&name_of(&out), f, here.iter().map(|s| s.to_string()).collect());
                out.push_str(&format!("{{{name}}}"));
            }
            None => out.push_str(t0.text),
        }
    }
    replace_host(out, host)
}

/// Whether two clock fields measured on two samples are the same field
/// (the same shape, offsets a few seconds apart).
fn same_clock(a: &FieldFormat, b: &FieldFormat) -> bool {
    use FieldFormat::*;
    match (a, b) {
        (HttpDate { offset: x }, HttpDate { offset: y })
        | (EpochSeconds { offset: x }, EpochSeconds { offset: y })
        | (EpochMillis { offset: x }, EpochMillis { offset: y }) => (x - y).abs() <= 5,
        (
            Rfc3339 {
                fraction: f1,
                zone: z1,
                offset: x,
            },
            Rfc3339 {
                fraction: f2,
                zone: z2,
                offset: y,
            },
        ) => f1 == f2 && z1 == z2 && (x - y).abs() <= 5,
        _ => false,
    }
}

/// The probed host where the API repeated it, as the request's own `{host}`.
fn replace_host(t: String, host: &str) -> String {
    if host.is_empty() { t } else { t.replace(host, "{host}") }
}

/// The kinds of request probed, with what the request looks like.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Probe {
    NoCredentials,
    InvalidCredential,
    Preflight,
    UnknownMethod,
    UnknownPath,
}

/// Where the API is and how to reach it.
struct Target {
    host: String,
    port: u16,
    /// `Host` as sent: the host, and the port when not the scheme's default.
    authority: String,
    tls: Option<tokio_rustls::TlsConnector>,
}

/// Probes `url` (the operator's own API) and builds a persona from its answers.
/// `fake_key` is what is sent as an invalid credential: it must not be real.
pub async fn learn(url: &str, fake_key: &str) -> Result<Learned> {
    learn_routes(url, &[], fake_key).await
}

/// [`learn`], and a route for each of `more` (URLs of the same API): how
/// each answers a request with an invalid credential and one without, where
/// that differs from how `url` answers.
pub async fn learn_routes(url: &str, more: &[String], fake_key: &str) -> Result<Learned> {
    let base = reqwest::Url::parse(url).map_err(|e| Error::Invalid(format!("{url:?} is not a URL: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(Error::Invalid(format!(
            "{url:?}: only http and https APIs can be probed"
        )));
    }
    let host = base
        .host_str()
        .ok_or_else(|| Error::Invalid(format!("{url:?} names no host")))?
        .to_string();
    let port = base.port_or_known_default().unwrap_or(80);
    let authority = match base.port() {
        Some(p) => format!("{host}:{p}"),
        None => host.clone(),
    };
    let tls = if base.scheme() == "https" {
        Some(tls_connector()?)
    } else {
        None
    };
    let target = Target {
        host: host.trim_start_matches('[').trim_end_matches(']').to_string(),
        port,
        authority: authority.clone(),
        tls,
    };
    let path = match base.query() {
        Some(q) => format!("{}?{q}", base.path()),
        None => base.path().to_string(),
    };
    let unknown_path = format!("/{}", hex::encode(rand::random::<[u8; 6]>()));
    let mut persona = Persona {
        version: FORMAT_VERSION,
        name: host.clone(),
        host: Some(authority.clone()),
        ..Persona::default()
    };
    let mut fields = Fields::default();
    let mut gaps = Vec::new();
    let bearer = format!("Bearer {fake_key}");
    for probe in [
        Probe::NoCredentials,
        Probe::InvalidCredential,
        Probe::Preflight,
        Probe::UnknownMethod,
        Probe::UnknownPath,
    ] {
        let (method, path, extra): (&str, &str, Vec<(&str, &str)>) = match probe {
            Probe::NoCredentials => ("GET", path.as_str(), vec![]),
            Probe::InvalidCredential => ("GET", path.as_str(), vec![("Authorization", bearer.as_str())]),
            Probe::Preflight => (
                "OPTIONS",
                path.as_str(),
                vec![
                    ("Origin", "https://app.example.com"),
                    ("Access-Control-Request-Method", "POST"),
                    ("Access-Control-Request-Headers", "authorization, content-type"),
                ],
            ),
            Probe::UnknownMethod => ("PURGE", path.as_str(), vec![]),
            Probe::UnknownPath => ("GET", unknown_path.as_str(), vec![]),
        };
        let samples = match sample(&target, method, path, &extra).await {
            Ok(s) => s,
            Err(e) => {
                gaps.push(format!("{probe:?}: {e}; the built-in answer stands in"));
                continue;
            }
        };
        let answer = template(&samples, &mut fields, &authority);
        match probe {
            Probe::NoCredentials => persona.no_credentials = answer,
            Probe::InvalidCredential => persona.invalid_credential = answer,
            Probe::Preflight => persona.preflight = answer,
            Probe::UnknownMethod => persona.unknown_method = answer,
            Probe::UnknownPath => {
                if answer != persona.no_credentials {
                    persona.known_paths = vec![known_prefix(base.path())];
                    persona.unknown_path = Some(answer);
                }
            }
        }
    }
    if gaps.len() == 5 {
        return Err(Error::Config(format!(
            "{url}: no probe got an answer ({})",
            gaps.join("; ")
        )));
    }
    for other in more {
        let u = reqwest::Url::parse(other).map_err(|e| Error::Invalid(format!("{other:?} is not a URL: {e}")))?;
        if u.origin() != base.origin() {
            return Err(Error::Invalid(format!(
                "{other:?}: every URL learned from must be on {}",
                base.origin().ascii_serialization()
            )));
        }
        let path = match u.query() {
            Some(q) => format!("{}?{q}", u.path()),
            None => u.path().to_string(),
        };
        let mut route = Route {
            methods: Vec::new(),
            path: u.path().to_string(),
            query: None,
            header: None,
            invalid_credential: None,
            no_credentials: None,
            preflight: None,
            unknown_method: None,
        };
        for (with_key, extra) in [(false, vec![]), (true, vec![("Authorization", bearer.as_str())])] {
            let what = if with_key { "an invalid key" } else { "no credential" };
            match sample(&target, "GET", &path, &extra).await {
                Err(e) => gaps.push(format!("{other} with {what}: {e}; the persona's answer stands in")),
                Ok(samples) => {
                    let answer = template(&samples, &mut fields, &authority);
                    let own = if with_key {
                        &persona.invalid_credential
                    } else {
                        &persona.no_credentials
                    };
                    if answer != *own {
                        *(if with_key {
                            &mut route.invalid_credential
                        } else {
                            &mut route.no_credentials
                        }) = Some(answer);
                    }
                }
            }
        }
        if route.invalid_credential.is_some() || route.no_credentials.is_some() {
            persona.routes.push(route);
        } else if persona.unknown_path.is_some()
            && !persona.known_paths.iter().any(|p| u.path().starts_with(p.as_str()))
        {
            // Answered as the first URL is, but outside its prefix: still a known path.
            persona.known_paths.push(known_prefix(u.path()));
        }
    }
    persona.fields = fields.into_formats();
    // What was learned must load as any persona file does.
    let persona = Persona::from_json(&serde_json::to_string(&persona).unwrap_or_default())
        .map_err(|e| Error::Invalid(format!("{url}: the answers make no valid persona: {e}")))?;
    Ok(Learned { persona, gaps })
}

/// [`SAMPLES`] answers to one request.
async fn sample(
    t: &Target,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
) -> std::result::Result<Vec<Observed>, String> {
    let mut samples = Vec::with_capacity(SAMPLES);
    for _ in 0..SAMPLES {
        samples.push(observe(t, method, path, extra).await?);
    }
    Ok(samples)
}

/// The first path segment as the API's known prefix (`/v1/users` → `/v1/`).
fn known_prefix(path: &str) -> String {
    match path.trim_start_matches('/').split('/').next() {
        Some(seg) if !seg.is_empty() => format!("/{seg}/"),
        _ => "/".to_string(),
    }
}

/// A TLS client offering HTTP/1.1 only (over HTTP/2 every header name is
/// lower case), verifying the API's certificate as the platform does.
fn tls_connector() -> Result<tokio_rustls::TlsConnector> {
    use rustls_platform_verifier::BuilderVerifierExt;
    let provider = Arc::new(rustls::crypto::aws_lc_rs::default_provider());
    let mut config = rustls::ClientConfig::builder_with_provider(provider)
        .with_safe_default_protocol_versions()
        .and_then(|b| b.with_platform_verifier())
        .map_err(|e| Error::Config(format!("TLS client: {e}")))?
        .with_no_client_auth();
    config.alpn_protocols = vec![b"http/1.1".to_vec()];
    Ok(tokio_rustls::TlsConnector::from(Arc::new(config)))
}

trait Io: AsyncRead + AsyncWrite + Unpin + Send {}
impl<T: AsyncRead + AsyncWrite + Unpin + Send> Io for T {}

/// Sends one request and reads its answer raw, within 10 seconds.
async fn observe(
    t: &Target,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
) -> std::result::Result<Observed, String> {
    tokio::time::timeout(Duration::from_secs(10), exchange(t, method, path, extra))
        .await
        .map_err(|_| "no answer within 10 s".to_string())?
}

async fn exchange(
    t: &Target,
    method: &str,
    path: &str,
    extra: &[(&str, &str)],
) -> std::result::Result<Observed, String> {
    let tcp = tokio::net::TcpStream::connect((t.host.as_str(), t.port))
        .await
        .map_err(|e| format!("connect: {e}"))?;
    let mut io: Box<dyn Io> = match &t.tls {
        None => Box::new(tcp),
        Some(c) => {
            let name = rustls::pki_types::ServerName::try_from(t.host.clone()).map_err(|e| format!("TLS name: {e}"))?;
            Box::new(c.connect(name, tcp).await.map_err(|e| format!("TLS: {e}"))?)
        }
    };
    let mut req = format!(
        "{method} {path} HTTP/1.1\r\nHost: {}\r\nUser-Agent: Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36\r\nAccept: */*\r\n",
        t.authority
    );
    for (k, v) in extra {
        req.push_str(&format!("{k}: {v}\r\n"));
    }
    req.push_str("Connection: close\r\n\r\n");
    io.write_all(req.as_bytes()).await.map_err(|e| format!("send: {e}"))?;
    let mut buf = Vec::new();
    let mut chunk = [0u8; 16 * 1024];
    loop {
        if let Some(o) = parse(&buf, method, false)? {
            return Ok(o);
        }
        let n = match io.read(&mut chunk).await {
            Ok(n) => n,
            // A server that closes without TLS close_notify still said all it had to.
            Err(e) if e.kind() == std::io::ErrorKind::UnexpectedEof => 0,
            Err(e) => return Err(format!("read: {e}")),
        };
        if n == 0 || buf.len() >= MAX_ANSWER {
            return parse(&buf, method, true)?.ok_or_else(|| "the answer ended early".to_string());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// The answer in `buf`, once it is complete (`closed`: nothing more comes).
fn parse(buf: &[u8], method: &str, closed: bool) -> std::result::Result<Option<Observed>, String> {
    let mut slots = [httparse::EMPTY_HEADER; 256];
    let mut resp = httparse::Response::new(&mut slots);
    let head_len = match resp.parse(buf) {
        Ok(httparse::Status::Complete(n)) => n,
        Ok(httparse::Status::Partial) => return Ok(None),
        Err(e) => return Err(format!("not an HTTP/1.1 answer: {e}")),
    };
    let status = resp.code.unwrap_or(0);
    let headers: Vec<(String, String)> = resp
        .headers
        .iter()
        .map(|h| (h.name.to_string(), String::from_utf8_lossy(h.value).to_string()))
        .collect();
    let get = |name: &str| {
        headers
            .iter()
            .find(|(k, _)| k.eq_ignore_ascii_case(name))
            .map(|(_, v)| v.as_str())
    };
    let rest = &buf[head_len..];
    let body: Option<Vec<u8>> = if method == "HEAD" || status == 204 || status == 304 || (100..200).contains(&status) {
        Some(Vec::new())
    } else if get("transfer-encoding").is_some_and(|v| v.to_ascii_lowercase().contains("chunked")) {
        dechunk(rest).or_else(|| closed.then(|| rest.to_vec()))
    } else if let Some(len) = get("content-length").and_then(|v| v.trim().parse::<usize>().ok()) {
        if rest.len() >= len {
            Some(rest[..len].to_vec())
        } else {
            closed.then(|| rest.to_vec())
        }
    } else {
        closed.then(|| rest.to_vec())
    };
    let Some(body) = body else { return Ok(None) };
    let at = get("date")
        .and_then(parse_http_date)
        .unwrap_or_else(OffsetDateTime::now_utc);
    Ok(Some(Observed {
        status,
        body: String::from_utf8_lossy(&body[..body.len().min(64 * 1024)]).to_string(),
        headers,
        at,
    }))
}

/// A chunked body decoded, once its last chunk has arrived.
fn dechunk(mut b: &[u8]) -> Option<Vec<u8>> {
    let mut out = Vec::new();
    loop {
        let line_end = b.windows(2).position(|w| w == b"\r\n")?;
        let size_text = std::str::from_utf8(&b[..line_end]).ok()?;
        let size = usize::from_str_radix(size_text.split(';').next()?.trim(), 16).ok()?;
        b = &b[line_end + 2..];
        if size == 0 {
            return Some(out);
        }
        if b.len() < size + 2 {
            return None;
        }
        out.extend_from_slice(&b[..size]);
        b = &b[size + 2..];
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn now() -> OffsetDateTime {
        OffsetDateTime::now_utc()
    }

    fn learn_one(values: &[&str], hint: &str) -> (String, BTreeMap<String, FieldFormat>) {
        let mut f = Fields::default();
        let ats = vec![now(); values.len()];
        let t = infer(values, &ats, &mut f, hint, "api.example.com");
        (t, f.into_formats())
    }

    #[test]
    fn values_that_vary_become_fields_of_their_own_format() {
        let (t, f) = learn_one(
            &["req_Ab3Zk9QmWx2Lp0", "req_Qz7Yt1NbVc8Hs4", "req_m2N8b7V6c5X4z3"],
            "Request-Id",
        );
        assert_eq!(t, "req_{request_id}");
        assert_eq!(
            f["request_id"],
            FieldFormat::Random {
                chars: IdChars::Base62,
                len: 14
            }
        );
        let (t, f) = learn_one(
            &[
                "Root=1-67a1b2c3-0123456789abcdef01234567",
                "Root=1-67a1b2c3-fedcba987654321001234567",
                "Root=1-67a1b2c4-00112233445566778899aabb",
            ],
            "X-Amzn-Trace-Id",
        );
        assert_eq!(t, "Root={x_amzn_trace_id}");
        assert_eq!(f["x_amzn_trace_id"], FieldFormat::XrayTraceId);
        let (_, f) = learn_one(
            &["8e2b1c3d4e5f6a7b-IAD", "8e2b1c3d4e5f6a7c-IAD", "0e2b1c3d4e5f6a7b-IAD"],
            "CF-Ray",
        );
        assert_eq!(f["cf_ray"], FieldFormat::CfRay { colo: "IAD".into() });
        let (_, f) = learn_one(
            &["Tm7Q1FcwIAMEbAg=", "Tm-Q1Fc_IAMEbAg=", "Ab7Q1FcwIAMEbAg="],
            "x-amz-apigw-id",
        );
        assert_eq!(f["x_amz_apigw_id"], FieldFormat::ApigwId);
    }

    #[test]
    fn dates_near_the_answer_are_clock_fields_and_fixed_ones_stay_text() {
        let at = OffsetDateTime::from_unix_timestamp(1_796_400_000).unwrap();
        let d = |s: i64| FieldFormat::HttpDate { offset: 0 }.fresh(at + time::Duration::seconds(s));
        let mut f = Fields::default();
        // The same second in every sample: still the clock, not text.
        let same = [d(0), d(0), d(0)];
        let t = infer(&same.each_ref().map(String::as_str), &[at; 3], &mut f, "Date", "");
        assert_eq!(t, "{date}");
        let later = [d(3600), d(3601), d(3600)];
        let t = infer(&later.each_ref().map(String::as_str), &[at; 3], &mut f, "Expires", "");
        assert_eq!(t, "{expires}");
        let fixed = ["Thu, 01 Jan 1970 00:00:00 GMT"; 3];
        assert_eq!(infer(&fixed, &[at; 3], &mut f, "Expires", ""), fixed[0]);
        let f = f.into_formats();
        assert_eq!(f["date"], FieldFormat::HttpDate { offset: 0 });
        assert_eq!(f["expires"], FieldFormat::HttpDate { offset: 3600 });
    }

    #[test]
    fn a_value_repeated_is_one_field_and_different_headers_get_their_own() {
        let mut f = Fields::default();
        let ats = [now(); 3];
        let ids = [
            "0f8fad5b-d9cb-469f-a165-70867728950e",
            "7c9e6679-7425-40de-944b-e07fc1f90ae7",
            "16fd2706-8baf-433b-82eb-8c7fada847da",
        ];
        let h = infer(&ids, &ats, &mut f, "x-amzn-RequestId", "");
        let other = [
            "1a8fad5b-d9cb-469f-a165-70867728950e",
            "2b9e6679-7425-40de-944b-e07fc1f90ae7",
            "3cfd2706-8baf-433b-82eb-8c7fada847da",
        ];
        let o = infer(&other, &ats, &mut f, "X-Correlation-Id", "");
        let bodies: Vec<String> = ids
            .iter()
            .map(|i| format!(r#"{{"message":"Unauthorized","requestId":"{i}"}}"#))
            .collect();
        let b = infer(
            &bodies.iter().map(String::as_str).collect::<Vec<_>>(),
            &ats,
            &mut f,
            "",
            "",
        );
        assert_eq!(h, "{x_amzn_requestid}");
        assert_eq!(o, "{x_correlation_id}");
        assert_eq!(b, r#"{"message":"Unauthorized","requestId":"{x_amzn_requestid}"}"#);
    }

    #[test]
    fn values_whose_shapes_differ_keep_the_common_ends() {
        let (t, f) = learn_one(
            &["id=q83v+jRWeJA=;", "id=AbCdEfGhIjA=;", "id=z/9vEjRW/JA=;"],
            "X-Token-Id",
        );
        // The padding all samples share stays text after the field.
        assert_eq!(t, "id={x_token_id}=;");
        assert_eq!(
            f["x_token_id"],
            FieldFormat::Base64 {
                bytes: 8,
                url: false,
                pad: false
            }
        );
    }

    #[test]
    fn cookies_are_not_replayed_and_the_probed_host_becomes_the_requests() {
        let obs = |id: &str| Observed {
            status: 401,
            headers: vec![
                ("Set-Cookie".into(), format!("session={id}")),
                ("WWW-Authenticate".into(), "Bearer realm=\"api.acme.example\"".into()),
                ("X-Request-Id".into(), id.into()),
            ],
            body: String::new(),
            at: now(),
        };
        let a = template(
            &[obs("a1b2c3d4"), obs("e5f6a7b8"), obs("c9d0e1f2")],
            &mut Fields::default(),
            "api.acme.example",
        );
        assert_eq!(
            a.headers,
            [
                ("WWW-Authenticate".to_string(), "Bearer realm=\"{host}\"".to_string()),
                ("X-Request-Id".to_string(), "{x_request_id}".to_string()),
            ]
        );
    }

    /// The TLS client builds with the crypto provider this build carries
    /// (rustls panics at first use when it cannot pick one).
    #[test]
    fn the_tls_client_builds() {
        tls_connector().unwrap();
    }

    #[test]
    fn chunked_answers_are_read_whole_and_names_keep_their_case() {
        let raw = b"HTTP/1.1 401 Unauthorized\r\nx-amzn-RequestId: a\r\nTransfer-Encoding: chunked\r\n\r\n5\r\nhello\r\n6\r\n world\r\n0\r\n\r\n";
        assert!(parse(&raw[..raw.len() - 12], "GET", false).unwrap().is_none());
        let o = parse(raw, "GET", false).unwrap().unwrap();
        assert_eq!(o.body, "hello world");
        assert_eq!(o.headers[0].0, "x-amzn-RequestId");
        assert!(parse(b"garbage\r\n\r\n", "GET", false).is_err());
    }
}
