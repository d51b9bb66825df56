//! The default persona of an installation. One fixed default answer would
//! be a fingerprint every installation shares, learnt once by scanners; so
//! the default is drawn, once per installation and the same at every
//! start, from the signing key: among the shapes real APIs give a bad key
//! (401 with a Bearer challenge or a bare 403; a nested error object,
//! OAuth's `error`/`error_description`, a gateway's `message`, RFC 9457
//! problem details, `code`/`message`), request-id header names and
//! formats, and the small headers APIs add or leave out.

use crate::decoy::persona::{Answer, IdChars, Persona, RequestIdFormat};
use crate::domain::key::SigningKey;

/// The shapes of error bodies drawn from.
#[derive(Clone, Copy)]
enum Style {
    /// `{"error":{"code":…,"message":…,"type":…}}` (OpenAI, Stripe-like).
    Nested,
    /// RFC 6749/6750: `{"error":…,"error_description":…}`.
    OAuth,
    /// A gateway's bare `{"message":"Forbidden"}`: 403 for a bad key, 401 for none, no challenge.
    Gateway,
    /// RFC 9457 problem details, `application/problem+json`.
    Problem,
    /// `{"code":401,"message":…}`.
    CodeMessage,
}

const STYLES: [Style; 5] = [
    Style::Nested,
    Style::OAuth,
    Style::Gateway,
    Style::Problem,
    Style::CodeMessage,
];
const REQUEST_ID_HEADERS: [&str; 5] = [
    "X-Request-Id",
    "X-Request-ID",
    "Request-Id",
    "X-Correlation-Id",
    "X-Trace-Id",
];

/// `(status, body)` for a bad key, no key, an unknown method.
fn bodies(style: Style) -> [(u16, &'static str); 3] {
    match style {
        Style::Nested => [
            (
                401,
                r#"{"error":{"code":"invalid_api_key","message":"Invalid API key provided.","type":"invalid_request_error"}}"#,
            ),
            (
                401,
                r#"{"error":{"code":"missing_api_key","message":"No API key provided.","type":"invalid_request_error"}}"#,
            ),
            (
                405,
                r#"{"error":{"code":"method_not_allowed","message":"Method not allowed.","type":"invalid_request_error"}}"#,
            ),
        ],
        Style::OAuth => [
            (
                401,
                r#"{"error":"invalid_token","error_description":"The access token is invalid or has expired."}"#,
            ),
            (
                401,
                r#"{"error":"unauthorized","error_description":"Full authentication is required to access this resource."}"#,
            ),
            (
                405,
                r#"{"error":"method_not_allowed","error_description":"Request method is not supported."}"#,
            ),
        ],
        Style::Gateway => [
            (403, r#"{"message":"Forbidden"}"#),
            (401, r#"{"message":"Unauthorized"}"#),
            (405, r#"{"message":"Method Not Allowed"}"#),
        ],
        Style::Problem => [
            (
                401,
                r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"The API key is invalid."}"#,
            ),
            (
                401,
                r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"Authentication is required."}"#,
            ),
            (
                405,
                r#"{"type":"about:blank","title":"Method Not Allowed","status":405,"detail":"The request method is not supported."}"#,
            ),
        ],
        Style::CodeMessage => [
            (401, r#"{"code":401,"message":"Invalid API key"}"#),
            (401, r#"{"code":401,"message":"Missing API key"}"#),
            (405, r#"{"code":405,"message":"Method not allowed"}"#),
        ],
    }
}

/// This installation's default persona (named `api`, as the built-in one).
pub fn persona(key: &SigningKey) -> Persona {
    let m = key.mac("persona-installation", b"");
    let pick = |i: usize, n: usize| m[i] as usize % n;
    let style = STYLES[pick(0, STYLES.len())];
    let rid = REQUEST_ID_HEADERS[pick(1, REQUEST_ID_HEADERS.len())];
    let request_id = match pick(2, 4) {
        0 => RequestIdFormat::Uuid,
        // nginx's $request_id.
        1 => RequestIdFormat::Prefixed {
            prefix: String::new(),
            len: 32,
            chars: IdChars::Hex,
        },
        2 => RequestIdFormat::Prefixed {
            prefix: "req_".into(),
            len: 24,
            chars: IdChars::Base62,
        },
        _ => RequestIdFormat::Prefixed {
            prefix: String::new(),
            len: 22,
            chars: IdChars::Base62,
        },
    };
    let content_type = match (style, pick(3, 2)) {
        (Style::Problem, _) => "application/problem+json",
        (_, 0) => "application/json",
        _ => "application/json; charset=utf-8",
    };
    let cache = [None, Some("no-cache, no-store"), Some("no-store")][pick(4, 3)];
    let nosniff = pick(5, 2) == 0;
    let realm = ["realm=\"api\"", "realm=\"API\"", ""][pick(6, 3)];
    let id_first = pick(7, 2) == 0;
    let challenge = |error: Option<&str>| -> String {
        let params: Vec<String> = [
            (!realm.is_empty()).then(|| realm.to_string()),
            error.map(|e| format!("error=\"{e}\"")),
        ]
        .into_iter()
        .flatten()
        .collect();
        if params.is_empty() {
            "Bearer".into()
        } else {
            format!("Bearer {}", params.join(", "))
        }
    };
    let headers = |extra: Option<(&str, String)>| {
        let mut h: Vec<(String, String)> = Vec::new();
        if id_first {
            h.push((rid.into(), "{request_id}".into()));
        }
        h.push(("Content-Type".into(), content_type.into()));
        if let Some(c) = cache {
            h.push(("Cache-Control".into(), c.into()));
        }
        if let Some((k, v)) = extra {
            h.push((k.into(), v));
        }
        if nosniff {
            h.push(("X-Content-Type-Options".into(), "nosniff".into()));
        }
        if !id_first {
            h.push((rid.into(), "{request_id}".into()));
        }
        h
    };
    let with_challenge = |status: u16, error: Option<&str>| {
        (status == 401 && !matches!(style, Style::Gateway)).then(|| ("WWW-Authenticate", challenge(error)))
    };
    let [bad, none, method] = bodies(style);
    let mut p = Persona {
        request_id,
        invalid_credential: Answer {
            status: bad.0,
            headers: headers(with_challenge(bad.0, Some("invalid_token"))),
            body: bad.1.into(),
        },
        no_credentials: Answer {
            status: none.0,
            headers: headers(with_challenge(none.0, None)),
            body: none.1.into(),
        },
        unknown_method: Answer {
            status: method.0,
            headers: headers(Some(("Allow", "GET, POST, PUT, PATCH, DELETE, OPTIONS".into()))),
            body: method.1.into(),
        },
        ..Persona::default()
    };
    for (k, _) in &mut p.preflight.headers {
        if k.eq_ignore_ascii_case("x-request-id") {
            *k = rid.into();
        }
    }
    p
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::decoy::persona::RequestKind;

    fn key(s: &str) -> SigningKey {
        SigningKey::from_secret(s.repeat(32).as_bytes()).unwrap()
    }

    #[test]
    fn the_same_installation_gets_the_same_persona_and_others_differ() {
        let a = persona(&key("a"));
        assert_eq!(a, persona(&key("a")), "deterministic per installation");
        let distinct: std::collections::HashSet<String> = (0..40)
            .map(|i| serde_json::to_string(&persona(&key(&format!("k{i}")))).unwrap())
            .collect();
        assert!(distinct.len() > 20, "{} distinct personas of 40", distinct.len());
        let statuses: std::collections::HashSet<u16> = (0..40)
            .map(|i| persona(&key(&format!("k{i}"))).invalid_credential.status)
            .collect();
        assert_eq!(statuses, [401, 403].into());
    }

    #[test]
    fn every_drawn_persona_is_valid_and_says_nothing_about_itself() {
        for i in 0..60 {
            let p = persona(&key(&format!("s{i}")));
            let json = serde_json::to_string(&p).unwrap();
            let back = Persona::from_json(&json).expect("a valid persona");
            assert_eq!(back, p);
            for kind in [
                RequestKind::Credential,
                RequestKind::NoCredentials,
                RequestKind::UnknownMethod,
            ] {
                let r = p.answer(kind);
                serde_json::from_slice::<serde_json::Value>(r.body()).expect("a JSON body");
                if r.status() == 401 {
                    assert!(r.headers().contains_key("www-authenticate") || json.contains("Forbidden"));
                }
            }
            let lower = json.to_lowercase();
            for word in ["honey", "decoy", "canary", "trap"] {
                assert!(!lower.contains(word), "{word}");
            }
        }
    }
}
