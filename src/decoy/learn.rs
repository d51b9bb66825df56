//! `honeytoken persona learn`: how the operator's own API answers, so the
//! decoy can answer the same way.
//!
//! Each kind of request is sent twice: without a credential, with an invalid
//! key of the planted shape (random, never a real credential), a CORS
//! preflight, an unknown method and an unknown path. What differs between
//! the two answers of a pair is per-request (a request id, a timestamp) and
//! becomes a template field; framing headers (`Date`, `Content-Length`,
//! `Connection`, ...) and cookies are left out, since the decoy's server
//! writes its own and replaying the API's cookies would leak them.
//! Redirects are never followed.

use std::time::Duration;

use super::persona::{Answer, IdChars, Persona, RequestIdFormat};
use crate::error::{Error, Result};

/// Headers the decoy's own server writes, or that must not be replayed.
const SKIP: &[&str] = &[
    "date",
    "content-length",
    "transfer-encoding",
    "connection",
    "keep-alive",
    "set-cookie",
    "alt-svc",
    "via",
    "x-amzn-remapped-date",
    "strict-transport-security",
];

/// One observed answer.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Observed {
    /// Status code.
    pub status: u16,
    /// Header names (lower case) and values, in order.
    pub headers: Vec<(String, String)>,
    /// Body (lossy UTF-8, capped).
    pub body: String,
}

/// What learning produced: the persona, and what it could not learn.
#[derive(Debug)]
pub struct Learned {
    /// The persona (built-in answers stand in for what could not be learned).
    pub persona: Persona,
    /// One line per kind of request that could not be probed.
    pub gaps: Vec<String>,
}

/// Title-Case for a lower-case header name (`x-request-id` → `X-Request-Id`).
pub fn title_case(name: &str) -> String {
    name.split('-')
        .map(|w| {
            let mut c = w.chars();
            match c.next() {
                Some(f) => f.to_ascii_uppercase().to_string() + c.as_str(),
                None => String::new(),
            }
        })
        .collect::<Vec<_>>()
        .join("-")
}

/// The answer template from two answers to the same request: values that
/// differ become `{request_id}` (or `{timestamp}` when they parse as one).
pub fn template(a: &Observed, b: &Observed) -> (Answer, Option<String>) {
    let mut sample_id = None;
    let mut headers = Vec::new();
    for (k, v) in &a.headers {
        if SKIP.contains(&k.as_str()) {
            continue;
        }
        let other = b.headers.iter().find(|(k2, _)| k2 == k).map(|(_, v)| v);
        let value = match other {
            Some(o) if o != v => {
                if crate::domain::time::Timestamp::parse(v).is_some() {
                    "{timestamp}".to_string()
                } else {
                    sample_id.get_or_insert_with(|| v.clone());
                    "{request_id}".to_string()
                }
            }
            _ => v.clone(),
        };
        headers.push((title_case(k), value));
    }
    let body = if a.body == b.body {
        a.body.clone()
    } else {
        // Replace the differing words of the body by placeholders.
        let wa: Vec<&str> = a.body.split_inclusive(['"', ' ', ',', '\n']).collect();
        let wb: Vec<&str> = b.body.split_inclusive(['"', ' ', ',', '\n']).collect();
        if wa.len() == wb.len() {
            wa.iter()
                .zip(&wb)
                .map(|(x, y)| {
                    if x == y {
                        x.to_string()
                    } else {
                        let end = x.trim_end_matches(['"', ' ', ',', '\n']);
                        let sep = &x[end.len()..];
                        let field = if crate::domain::time::Timestamp::parse(end).is_some() {
                            "{timestamp}"
                        } else {
                            sample_id.get_or_insert_with(|| end.to_string());
                            "{request_id}"
                        };
                        format!("{field}{sep}")
                    }
                })
                .collect()
        } else {
            a.body.clone()
        }
    };
    (
        Answer {
            status: a.status,
            headers,
            body,
        },
        sample_id,
    )
}

/// The format of a sample request id: a UUID, or a literal prefix (up to
/// the last `_` or `-`) and so many random characters.
pub fn id_format(sample: &str) -> RequestIdFormat {
    let is_uuid = sample.len() == 36
        && sample.char_indices().all(|(i, c)| {
            if [8, 13, 18, 23].contains(&i) {
                c == '-'
            } else {
                c.is_ascii_hexdigit()
            }
        });
    if is_uuid {
        return RequestIdFormat::Uuid;
    }
    let cut = sample.rfind(['_', '-']).map(|i| i + 1).unwrap_or(0);
    RequestIdFormat::Prefixed {
        prefix: sample[..cut].to_string(),
        len: sample.len() - cut,
        chars: IdChars::of(&sample[cut..]),
    }
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

/// Probes `url` (the operator's own API) and builds a persona from its answers.
/// `fake_key` is what is sent as an invalid credential: it must not be real.
pub async fn learn(url: &str, fake_key: &str) -> Result<Learned> {
    let base = reqwest::Url::parse(url).map_err(|e| Error::Invalid(format!("{url:?} is not a URL: {e}")))?;
    if !matches!(base.scheme(), "http" | "https") {
        return Err(Error::Invalid(format!(
            "{url:?}: only http and https APIs can be probed"
        )));
    }
    let client = reqwest::Client::builder()
        .redirect(reqwest::redirect::Policy::none())
        .timeout(Duration::from_secs(10))
        .user_agent("Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/131.0 Safari/537.36")
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
    let unknown_path = {
        let mut u = base.clone();
        u.set_path(&format!("/{}", hex::encode(rand::random::<[u8; 6]>())));
        u
    };
    let mut persona = Persona {
        name: base.host_str().unwrap_or("api").to_string(),
        ..Persona::default()
    };
    let mut gaps = Vec::new();
    let mut sample_id = None;
    for probe in [
        Probe::NoCredentials,
        Probe::InvalidCredential,
        Probe::Preflight,
        Probe::UnknownMethod,
        Probe::UnknownPath,
    ] {
        let send = || {
            let req = match probe {
                Probe::NoCredentials => client.get(base.clone()),
                Probe::InvalidCredential => client.get(base.clone()).bearer_auth(fake_key),
                Probe::Preflight => client
                    .request(reqwest::Method::OPTIONS, base.clone())
                    .header("origin", "https://app.example.com")
                    .header("access-control-request-method", "POST")
                    .header("access-control-request-headers", "authorization, content-type"),
                Probe::UnknownMethod => client.request(
                    reqwest::Method::from_bytes(b"PURGE").expect("a valid method token"),
                    base.clone(),
                ),
                Probe::UnknownPath => client.get(unknown_path.clone()),
            };
            async move { observe(req).await }
        };
        let (a, b) = match (send().await, send().await) {
            (Ok(a), Ok(b)) => (a, b),
            (Err(e), _) | (_, Err(e)) => {
                gaps.push(format!("{probe:?}: {e}; the built-in answer stands in"));
                continue;
            }
        };
        let (answer, id) = template(&a, &b);
        sample_id = sample_id.or(id);
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
    if let Some(id) = sample_id {
        persona.request_id = id_format(&id);
    }
    if gaps.len() == 5 {
        return Err(Error::Config(format!(
            "{url}: no probe got an answer ({})",
            gaps.join("; ")
        )));
    }
    Ok(Learned { persona, gaps })
}

/// The first path segment as the API's known prefix (`/v1/users` → `/v1/`).
fn known_prefix(path: &str) -> String {
    match path.trim_start_matches('/').split('/').next() {
        Some(seg) if !seg.is_empty() => format!("/{seg}/"),
        _ => "/".to_string(),
    }
}

async fn observe(req: reqwest::RequestBuilder) -> std::result::Result<Observed, String> {
    let resp = req.send().await.map_err(|e| e.without_url().to_string())?;
    let status = resp.status().as_u16();
    let headers = resp
        .headers()
        .iter()
        .map(|(k, v)| {
            (
                k.as_str().to_string(),
                String::from_utf8_lossy(v.as_bytes()).to_string(),
            )
        })
        .collect();
    let bytes = resp.bytes().await.map_err(|e| e.without_url().to_string())?;
    let body = String::from_utf8_lossy(&bytes[..bytes.len().min(16 * 1024)]).to_string();
    Ok(Observed { status, headers, body })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn obs(id: &str, at: &str) -> Observed {
        Observed {
            status: 401,
            headers: vec![
                ("content-type".into(), "application/json".into()),
                ("date".into(), "Sat, 28 Nov 2026 12:00:00 GMT".into()),
                ("x-request-id".into(), id.into()),
                ("set-cookie".into(), "session=abc".into()),
            ],
            body: format!(r#"{{"error":"unauthorized","request_id":"{id}","at":"{at}"}}"#),
        }
    }

    #[test]
    fn what_differs_between_two_answers_becomes_a_field() {
        let (a, id) = template(
            &obs("req_Ab3Zk9QmWx2Lp0", "2026-11-28T12:00:00.000Z"),
            &obs("req_Qz7Yt1NbVc8Hs4", "2026-11-28T12:00:01.000Z"),
        );
        assert_eq!(
            a.headers,
            [
                ("Content-Type".to_string(), "application/json".to_string()),
                ("X-Request-Id".to_string(), "{request_id}".to_string()),
            ],
            "framing headers and cookies are not replayed"
        );
        assert_eq!(
            a.body,
            r#"{"error":"unauthorized","request_id":"{request_id}","at":"{timestamp}"}"#
        );
        assert_eq!(
            id_format(&id.unwrap()),
            RequestIdFormat::Prefixed {
                prefix: "req_".into(),
                len: 14,
                chars: IdChars::Base62,
            }
        );
        assert_eq!(id_format("0f8fad5b-d9cb-469f-a165-70867728950e"), RequestIdFormat::Uuid);
    }
}
