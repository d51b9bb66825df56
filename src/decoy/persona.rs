//! How the decoy answers: exactly as a real API answers an invalid key,
//! identically for every request, so nothing tells a hit from a miss.

use bytes::Bytes;
use http::{HeaderName, HeaderValue, Response, StatusCode};

/// A fixed answer: status, headers in order, body.
#[derive(Debug, Clone)]
pub struct Persona {
    status: StatusCode,
    headers: Vec<(HeaderName, HeaderValue)>,
    body: Bytes,
}

impl Default for Persona {
    /// A plain JSON 401 in the style of common payment and SaaS APIs.
    fn default() -> Self {
        Persona {
            status: StatusCode::UNAUTHORIZED,
            headers: vec![
                (http::header::CONTENT_TYPE, HeaderValue::from_static("application/json")),
                (http::header::CACHE_CONTROL, HeaderValue::from_static("no-cache, no-store")),
                (
                    http::header::WWW_AUTHENTICATE,
                    HeaderValue::from_static("Bearer realm=\"api\", error=\"invalid_token\""),
                ),
                (HeaderName::from_static("x-content-type-options"), HeaderValue::from_static("nosniff")),
            ],
            body: Bytes::from_static(
                br#"{"error":{"code":"invalid_api_key","message":"Invalid API key provided.","type":"invalid_request_error"}}"#,
            ),
        }
    }
}

impl Persona {
    /// The answer when the server has no room for another connection: a
    /// 503 as a busy API gives it, in this persona's header style, the same
    /// for every client (nothing in it depends on the request).
    pub fn busy_response(&self) -> Response<Bytes> {
        let mut r = Response::new(Bytes::from_static(
            br#"{"error":{"code":"service_unavailable","message":"The service is temporarily overloaded. Please retry shortly.","type":"api_error"}}"#,
        ));
        *r.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
        let h = r.headers_mut();
        for (k, v) in &self.headers {
            if k != http::header::WWW_AUTHENTICATE {
                h.append(k.clone(), v.clone());
            }
        }
        h.insert(http::header::RETRY_AFTER, HeaderValue::from_static("1"));
        r
    }

    /// The answer to every request.
    pub fn response(&self) -> Response<Bytes> {
        let mut r = Response::new(self.body.clone());
        *r.status_mut() = self.status;
        let h = r.headers_mut();
        for (k, v) in &self.headers {
            h.append(k.clone(), v.clone());
        }
        r
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn says_nothing_about_itself() {
        let r = Persona::default().response();
        assert_eq!(r.status(), 401);
        let mut all = String::from_utf8(r.body().to_vec()).unwrap();
        for (k, v) in r.headers() {
            all.push_str(k.as_str());
            all.push_str(v.to_str().unwrap());
        }
        let all = all.to_lowercase();
        for word in ["honey", "decoy", "canary", "trap"] {
            assert!(!all.contains(word), "{word}");
        }
    }
}
