//! How the persona's server refuses a request it cannot or will not serve:
//! a malformed request, a URI or head too large, no room for another
//! connection. A real API answers these from its own server, in its own
//! style: the same header names (case and order) as its other answers,
//! a fresh request id and date, an error body of the same shape. So the
//! refusal is the persona's invalid-credential answer, freshly rendered,
//! with the refusal's status, without the credential challenge, and with
//! the body's message, code and status fields rewritten in place.

use bytes::Bytes;
use http::{Response, StatusCode};

use crate::decoy::persona::{Asked, Persona, RequestKind};

/// Why a request is refused before it reaches the handler.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Refusal {
    /// A request line or header the HTTP parser cannot read, or a body whose
    /// framing cannot be trusted (RFC 9112 6.3).
    BadRequest,
    /// A request target longer than the server reads.
    UriTooLong,
    /// A head larger, or with more header fields, than the server reads.
    HeadersTooLarge,
    /// No room for another connection.
    Busy,
}

impl Refusal {
    /// The status a server gives it.
    pub fn status(self) -> StatusCode {
        match self {
            Refusal::BadRequest => StatusCode::BAD_REQUEST,
            Refusal::UriTooLong => StatusCode::URI_TOO_LONG,
            Refusal::HeadersTooLarge => StatusCode::REQUEST_HEADER_FIELDS_TOO_LARGE,
            Refusal::Busy => StatusCode::SERVICE_UNAVAILABLE,
        }
    }

    fn code(self) -> &'static str {
        match self {
            Refusal::BadRequest => "bad_request",
            Refusal::UriTooLong => "uri_too_long",
            Refusal::HeadersTooLarge => "request_header_fields_too_large",
            Refusal::Busy => "service_unavailable",
        }
    }

    fn message(self) -> &'static str {
        match self {
            Refusal::BadRequest => "The request could not be understood by the server.",
            Refusal::UriTooLong => "The request URI is too long.",
            Refusal::HeadersTooLarge => "The request header fields are too large.",
            Refusal::Busy => "The service is temporarily overloaded. Please retry shortly.",
        }
    }

    /// The persona's answer to this refusal, with fresh per-request fields,
    /// its exact header lines (see [`ExactHeaders`](crate::decoy::persona::ExactHeaders))
    /// those of the invalid-credential answer but the challenge. A busy
    /// answer says when to retry (`Retry-After: 1`).
    pub fn answer(self, persona: &Persona) -> Response<Bytes> {
        let mut reply = persona.reply(&Asked::kind(RequestKind::Credential));
        reply.status = self.status().as_u16();
        reply
            .headers
            .retain(|(k, _)| !k.eq_ignore_ascii_case(http::header::WWW_AUTHENTICATE.as_str()));
        if self == Refusal::Busy {
            reply.headers.push(("Retry-After".into(), "1".into()));
        }
        reply.body = Bytes::from(restyle(&reply.body, self.status(), self.code(), self.message()));
        reply.into_response()
    }
}

/// Keys whose string value is a human-readable message.
const MESSAGE_KEYS: &[&str] = &[
    "message",
    "error_description",
    "detail",
    "msg",
    "error_message",
    "errorMessage",
    "description",
];
/// Keys whose value is an error code: a string gets the refusal's code, a
/// number its status.
const CODE_KEYS: &[&str] = &["code", "error", "error_code", "errorCode", "errorType"];
/// Keys whose value is the status (a number or a string of digits).
const STATUS_KEYS: &[&str] = &["status", "statusCode", "status_code", "httpStatus"];

/// `body` (an error answer of the persona) saying `message` with `status`
/// and `code` instead, its layout untouched: a JSON body has the values of
/// its message, code, status and title fields replaced; an HTML page
/// becomes a plain one naming the status; other text the reason phrase.
fn restyle(body: &[u8], status: StatusCode, code: &str, message: &str) -> Vec<u8> {
    let reason = status.canonical_reason().unwrap_or("");
    let Ok(text) = std::str::from_utf8(body) else {
        return format!("{reason}\n").into_bytes();
    };
    let t = text.trim_start();
    if t.starts_with('{') || t.starts_with('[') {
        return restyle_json(text, status, code, message, reason).into_bytes();
    }
    if t.is_empty() {
        return Vec::new();
    }
    if t.get(..5)
        .is_some_and(|s| s.eq_ignore_ascii_case("<html") || s.eq_ignore_ascii_case("<!doc"))
    {
        let n = status.as_u16();
        return format!(
            "<html>\r\n<head><title>{n} {reason}</title></head>\r\n<body>\r\n<center><h1>{n} {reason}</h1></center>\r\n</body>\r\n</html>\r\n"
        )
        .into_bytes();
    }
    format!("{reason}\n").into_bytes()
}

fn json_string(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| "\"\"".into())
}

fn restyle_json(text: &str, status: StatusCode, code: &str, message: &str, reason: &str) -> String {
    let b = text.as_bytes();
    let mut out = String::with_capacity(text.len() + message.len());
    let mut key: Option<&str> = None;
    let mut i = 0;
    while i < b.len() {
        match b[i] {
            b'"' => {
                // The string literal's end, escapes skipped.
                let mut j = i + 1;
                while j < b.len() && b[j] != b'"' {
                    j += if b[j] == b'\\' { 2 } else { 1 };
                }
                let end = (j + 1).min(b.len());
                // A body that is not well-formed JSON (an escape before a
                // multi-byte character, no closing quote) is copied as it is
                // from here on.
                let (Some(literal), Some(after)) = (text.get(i..end), text.get(end..)) else {
                    out.push_str(&text[i..]);
                    break;
                };
                let inner = literal
                    .strip_prefix('"')
                    .and_then(|l| l.strip_suffix('"'))
                    .unwrap_or("");
                if after.trim_start().starts_with(':') {
                    out.push_str(literal);
                    key = Some(inner);
                } else {
                    let replaced = match key {
                        Some(k) if MESSAGE_KEYS.contains(&k) => Some(json_string(message)),
                        Some(k) if CODE_KEYS.contains(&k) => Some(json_string(code)),
                        Some(k) if STATUS_KEYS.contains(&k) => Some(json_string(status.as_str())),
                        Some("title") => Some(json_string(reason)),
                        _ => None,
                    };
                    out.push_str(replaced.as_deref().unwrap_or(literal));
                    key = None;
                }
                i = end;
            }
            c if c == b'-' || c.is_ascii_digit() => {
                let mut j = i + 1;
                while j < b.len() && matches!(b[j], b'0'..=b'9' | b'.' | b'e' | b'E' | b'+' | b'-') {
                    j += 1;
                }
                match key {
                    Some(k) if STATUS_KEYS.contains(&k) || CODE_KEYS.contains(&k) => out.push_str(status.as_str()),
                    _ => out.push_str(&text[i..j]),
                }
                key = None;
                i = j;
            }
            c => {
                if matches!(c, b'{' | b'[' | b',') {
                    key = None;
                }
                // Multi-byte characters outside strings are copied whole.
                let len = text[i..].chars().next().map_or(1, char::len_utf8);
                out.push_str(&text[i..i + len]);
                i += len;
            }
        }
    }
    out
}

#[cfg(test)]
mod tests {
    use super::*;

    fn restyled(body: &str, r: Refusal) -> String {
        String::from_utf8(restyle(body.as_bytes(), r.status(), r.code(), r.message())).unwrap()
    }

    #[test]
    fn a_json_body_keeps_its_layout_and_says_what_the_refusal_is() {
        let api = r#"{"error":{"code":"invalid_api_key","message":"Invalid API key provided.","type":"invalid_request_error"}}"#;
        assert_eq!(
            restyled(api, Refusal::BadRequest),
            r#"{"error":{"code":"bad_request","message":"The request could not be understood by the server.","type":"invalid_request_error"}}"#
        );
        let pretty = "{\n  \"error\": {\n    \"message\": \"Invalid API Key provided.\",\n    \"type\": \"invalid_request_error\"\n  }\n}\n";
        assert_eq!(
            restyled(pretty, Refusal::UriTooLong),
            "{\n  \"error\": {\n    \"message\": \"The request URI is too long.\",\n    \"type\": \"invalid_request_error\"\n  }\n}\n"
        );
        let github =
            r#"{"message":"Bad credentials","documentation_url":"https://docs.github.com/rest","status":"401"}"#;
        assert_eq!(
            restyled(github, Refusal::Busy),
            r#"{"message":"The service is temporarily overloaded. Please retry shortly.","documentation_url":"https://docs.github.com/rest","status":"503"}"#
        );
        let problem = r#"{"type":"about:blank","title":"Unauthorized","status":401,"detail":"Invalid API key."}"#;
        assert_eq!(
            restyled(problem, Refusal::HeadersTooLarge),
            r#"{"type":"about:blank","title":"Request Header Fields Too Large","status":431,"detail":"The request header fields are too large."}"#
        );
        let oauth = r#"{"error":"invalid_token","error_description":"The access token is invalid \"x\"."}"#;
        assert_eq!(
            restyled(oauth, Refusal::BadRequest),
            r#"{"error":"bad_request","error_description":"The request could not be understood by the server."}"#
        );
        assert_eq!(
            restyled(r#"{"code":401,"message":"x"}"#, Refusal::Busy),
            r#"{"code":503,"message":"The service is temporarily overloaded. Please retry shortly."}"#
        );
    }

    #[test]
    fn a_body_that_is_not_quite_json_is_never_a_panic() {
        for body in [
            "{\"message\":\"a\\\u{e9}\"}",
            "{\"message\":\"open",
            "{\"k\\",
            "[\"\u{1F600}",
            "{\"é\":\"é\"}",
        ] {
            let out = restyled(body, Refusal::BadRequest);
            assert!(!out.is_empty(), "{body}");
        }
        assert_eq!(
            restyled("{\"é\":\"é\",\"message\":\"x\"}", Refusal::BadRequest),
            "{\"é\":\"é\",\"message\":\"The request could not be understood by the server.\"}"
        );
    }

    #[test]
    fn other_bodies_get_a_page_or_the_reason() {
        assert!(
            restyled("<html><body>no</body></html>", Refusal::BadRequest).contains("<title>400 Bad Request</title>")
        );
        assert_eq!(restyled("Unauthorized", Refusal::BadRequest), "Bad Request\n");
        assert_eq!(restyled("", Refusal::BadRequest), "");
    }

    #[test]
    fn each_refusal_has_fresh_fields_and_no_challenge() {
        for name in Persona::BUILTINS {
            let p = Persona::builtin(name).unwrap();
            let (a, b) = (Refusal::Busy.answer(&p), Refusal::Busy.answer(&p));
            assert_eq!(a.status(), StatusCode::SERVICE_UNAVAILABLE);
            assert!(!a.headers().contains_key(http::header::WWW_AUTHENTICATE), "{name}");
            assert_eq!(a.headers()[http::header::RETRY_AFTER], "1");
            let id = |r: &Response<Bytes>| {
                r.headers()
                    .iter()
                    .find(|(k, _)| k.as_str().ends_with("request-id"))
                    .map(|(_, v)| v.clone())
                    .unwrap()
            };
            assert_ne!(id(&a), id(&b), "{name}: a fresh request id per refusal");
            let bad = Refusal::BadRequest.answer(&p);
            assert_eq!(bad.status(), StatusCode::BAD_REQUEST);
            assert!(!bad.body().is_empty(), "{name}");
        }
    }
}
