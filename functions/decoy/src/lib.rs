//! The decoy Lambda function's only code of its own: mapping an API Gateway
//! HTTP API (payload v2) request onto the library's `http` types and back.
//! Every decision is made by [`honeytoken::decoy::Decoy::handle`].

use bytes::Bytes;
use honeytoken::decoy::{Decoy, RequestMeta};
use lambda_http::request::RequestContext;
use lambda_http::{Body, Request, RequestExt, Response, http};

/// The largest request the decoy on Lambda sees: the whole HTTP API event
/// (body, base64-encoded when binary and so a third larger, plus headers,
/// query and request context) must fit the 6 MB payload of a synchronous
/// Lambda invocation ("For synchronous invocations, the maximum payload
/// size is 6 MB": https://docs.aws.amazon.com/lambda/latest/dg/API_Invoke.html).
/// API Gateway itself takes bodies up to 10 MB, but a request whose event is
/// larger than this never reaches the decoy: Lambda refuses the invocation,
/// API Gateway answers with its own error rather than the persona's, the
/// request is not recorded, and the API access log's `integrationError`
/// says why. Up to this size every request is answered and recorded.
pub const MAX_EVENT_BYTES: usize = 6 * 1024 * 1024;

/// Body bytes handed to the decoy: the extractor never reads past its scan
/// limit, so the rest of a body (up to [`MAX_EVENT_BYTES`]) is not copied;
/// one byte past the limit is, so the decoy records the request as past
/// its bounds (a token after the limit is not looked for).
pub fn body_keep() -> usize {
    honeytoken::domain::token::extract::Limits::default().body_keep()
}

/// Source address and request id from the HTTP API request context.
pub fn meta(req: &Request) -> RequestMeta {
    match req.request_context_ref() {
        Some(RequestContext::ApiGatewayV2(ctx)) => RequestMeta {
            source_ip: ctx.http.source_ip.clone().unwrap_or_default(),
            request_id: ctx.request_id.clone(),
        },
        _ => RequestMeta::default(),
    }
}

/// The request as the client sent it: the raw path (no stage prefix), the
/// raw query, the headers, and the first [`body_keep`] bytes of the body.
pub fn to_http(req: Request) -> http::Request<Bytes> {
    let raw = req.raw_http_path().to_string();
    let (mut parts, body) = req.into_parts();
    if !raw.is_empty() {
        let pq = match parts.uri.query() {
            Some(q) => format!("{raw}?{q}"),
            None => raw,
        };
        // A raw path that is not a valid URI keeps the one lambda_http built.
        if let Ok(uri) = pq.parse::<http::Uri>() {
            parts.uri = uri;
        }
    }
    let bytes: &[u8] = body.as_ref();
    let kept = Bytes::copy_from_slice(&bytes[..bytes.len().min(body_keep())]);
    http::Request::from_parts(parts, kept)
}

/// The decoy's answer as a Lambda response (text when it is UTF-8).
pub fn to_lambda(resp: http::Response<Bytes>) -> Response<Body> {
    let (parts, body) = resp.into_parts();
    let body = match std::str::from_utf8(&body) {
        Ok(s) => Body::Text(s.to_string()),
        Err(_) => Body::Binary(body.to_vec()),
    };
    Response::from_parts(parts, body)
}

/// Handles one invocation.
pub async fn handle(decoy: &Decoy, req: Request) -> Response<Body> {
    let meta = meta(&req);
    to_lambda(decoy.handle(to_http(req), meta).await)
}

/// First wait after a failed setup; doubles after each failure.
pub const SETUP_BACKOFF_START: std::time::Duration = std::time::Duration::from_secs(1);
/// Longest wait between setup attempts: under a flood, one execution
/// environment calls Secrets Manager at most once a minute.
pub const SETUP_BACKOFF_MAX: std::time::Duration = std::time::Duration::from_secs(60);

/// A value built once, whose failed builds are retried no more often than a
/// backoff allows (so a decoy that cannot read its key does not call
/// Secrets Manager on every request of a flood).
pub struct Retrying<T> {
    cell: tokio::sync::OnceCell<T>,
    // (earliest next attempt, the same on the wall clock, current backoff).
    // An attempt is due when either clock says so: a Lambda environment is
    // frozen between requests, and a monotonic clock that does not run while
    // frozen must not stretch the backoff over thousands of requests.
    next: std::sync::Mutex<(tokio::time::Instant, std::time::SystemTime, std::time::Duration)>,
}

impl<T> Default for Retrying<T> {
    fn default() -> Self {
        Retrying {
            cell: tokio::sync::OnceCell::new(),
            next: std::sync::Mutex::new((
                tokio::time::Instant::now(),
                std::time::SystemTime::now(),
                std::time::Duration::ZERO,
            )),
        }
    }
}

impl<T> Retrying<T> {
    /// The value, building it with `init` unless a failed build is too recent.
    /// `None` while not built; `init`'s error is logged.
    pub async fn get<F, Fut, E>(&self, init: F) -> Option<&T>
    where
        F: FnOnce() -> Fut,
        Fut: std::future::Future<Output = Result<T, E>>,
        E: std::fmt::Display,
    {
        if let Some(v) = self.cell.get() {
            return Some(v);
        }
        {
            let next = self.next.lock().unwrap_or_else(|p| p.into_inner());
            if tokio::time::Instant::now() < next.0 && std::time::SystemTime::now() < next.1 {
                return None;
            }
        }
        match init().await {
            Ok(v) => {
                let _ = self.cell.set(v);
                self.cell.get()
            }
            Err(e) => {
                let mut next = self.next.lock().unwrap_or_else(|p| p.into_inner());
                let backoff = if next.2.is_zero() {
                    SETUP_BACKOFF_START
                } else {
                    (next.2 * 2).min(SETUP_BACKOFF_MAX)
                };
                *next = (
                    tokio::time::Instant::now() + backoff,
                    std::time::SystemTime::now() + backoff,
                    backoff,
                );
                tracing::error!(
                    event = "decoy_setup_failed",
                    error = %e,
                    retry_in_ms = backoff.as_millis() as u64,
                    "the decoy cannot start: it answers every request but records nothing"
                );
                None
            }
        }
    }
}

/// The answer while the decoy is not ready: the persona's bytes after the
/// same floor a ready decoy waits, so neither content nor timing shows it.
/// Prints the `honeytoken/DecoyNotReady` metric line (EMF, alarmed).
pub async fn not_ready(
    persona: &honeytoken::decoy::persona::Persona,
    tools: &honeytoken::decoy::tools::Chooser,
    floor: std::time::Duration,
    start: tokio::time::Instant,
    req: &Request,
) -> Response<Body> {
    // Classified as the ready decoy would, tool persona included: nothing
    // tells the two apart.
    let persona = tools.choose(req, persona).map_or(persona, |t| t.persona());
    let mut asked = persona.ask(req);
    asked.default_scheme("https");
    if let Some(line) = honeytoken::wiring::metric_line(&[("DecoyNotReady", 1)], "decoy_not_ready") {
        println!("{line}");
    }
    honeytoken::decoy::handler::wait_floor(start, floor).await;
    to_lambda(persona.reply(&asked).into_response())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A flood while the key cannot be read costs a bounded number of
    /// Secrets Manager calls: one, then one per backoff, at most one a minute.
    #[tokio::test(start_paused = true)]
    async fn failed_setup_is_retried_with_backoff() {
        let r: Retrying<u32> = Retrying::default();
        let calls = std::sync::atomic::AtomicU32::new(0);
        let fail = || async {
            calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Err::<u32, &str>("AccessDenied")
        };
        // 1,000 requests over ten minutes of (paused, auto-advanced) time.
        for _ in 0..1000 {
            assert!(r.get(fail).await.is_none());
            tokio::time::sleep(std::time::Duration::from_millis(600)).await;
        }
        let n = calls.load(std::sync::atomic::Ordering::SeqCst);
        // 1 + 2 + 4 + ... + 32 s, then every 60 s: 16 in 600 s; never per request.
        assert!(n <= 17, "{n} setup attempts");
        assert!(n >= 8, "it keeps retrying: {n}");
        // Once it works it is built and kept.
        tokio::time::sleep(SETUP_BACKOFF_MAX).await;
        assert_eq!(r.get(|| async { Ok::<u32, &str>(7) }).await, Some(&7));
        assert_eq!(r.get(fail).await, Some(&7));
    }

    fn fixture() -> String {
        let p = concat!(
            env!("CARGO_MANIFEST_DIR"),
            "/../../tests/fixtures/apigw-http-v2-event.json"
        );
        std::fs::read_to_string(p).expect("fixture")
    }

    #[test]
    fn body_is_capped_one_byte_past_the_scan_limit() {
        let req: Request = http::Request::builder()
            .body(Body::Binary(vec![b'a'; 1 << 20]))
            .unwrap();
        assert_eq!(to_http(req).body().len(), 64 * 1024 + 1);
        let req: Request = http::Request::builder().body(Body::Text("short".into())).unwrap();
        assert_eq!(to_http(req).body().as_ref(), b"short");
    }

    #[test]
    fn raw_path_and_context_come_from_the_event() {
        // A named stage: lambda_http prefixes it to the URI; the client never sent it.
        let json = fixture().replace("\"$default\"", "\"prod\"");
        let req = lambda_http::request::from_str(&json).unwrap();
        assert!(req.uri().path().starts_with("/prod/"), "{}", req.uri());
        let m = meta(&req);
        assert_eq!(m.source_ip, "198.51.100.77");
        assert_eq!(m.request_id.as_deref(), Some("CxVq1hXmIAMEVfQ="));
        let h = to_http(req);
        assert_eq!(h.uri().path(), "/v1/charges");
        assert_eq!(h.uri().query(), Some("limit=3&expand[]=customer"));
        assert_eq!(h.method(), http::Method::POST);
        assert!(h.body().starts_with(b"{\"amount\""));
    }

    /// Fingerprint resistance through the Lambda path: every kind of request,
    /// and a store that is down, get the same status, headers (in order) and body.
    #[tokio::test]
    async fn every_kind_of_request_gets_the_same_lambda_response() {
        use base64::Engine;
        use honeytoken::domain::key::SigningKey;
        use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
        use honeytoken::store::TokenStore;
        use honeytoken::store::memory::MemoryStore;
        use std::sync::Arc;

        let key = SigningKey::from_secret(&[7u8; 32]).unwrap();
        let store = Arc::new(MemoryStore::new());
        let now = time::OffsetDateTime::now_utc();
        let k = mint(
            &key,
            &MintSpec::Key(KeyShape::plain("acme_", Alphabet::Base62, 32).unwrap()),
            "l",
            "",
            "",
            now,
        )
        .unwrap();
        let j = mint(&key, &MintSpec::Jwt { issuer: "i".into() }, "l", "", "", now).unwrap();
        store.create(&k).await.unwrap();
        store.create(&j).await.unwrap();
        let b64 = base64::engine::general_purpose::URL_SAFE_NO_PAD;
        let payload = j.token.split('.').nth(1).unwrap();
        let tampered = format!("{}.{payload}.", b64.encode(br#"{"alg":"none"}"#));
        let decoy = Decoy::new(key, store.clone(), store.clone());
        let event = |auth: &str| {
            let mut req = lambda_http::request::from_str(&fixture()).unwrap();
            req.headers_mut().remove("x-api-key");
            if !auth.is_empty() {
                req.headers_mut()
                    .insert("authorization", http::HeaderValue::from_str(auth).unwrap());
            }
            req
        };
        // Per-request fields aside: the request id's value.
        let shape = |r: Response<Body>| {
            let headers: Vec<(String, Vec<u8>)> = r
                .headers()
                .iter()
                .map(|(k, v)| {
                    let v = if k.as_str().ends_with("request-id") {
                        b"<id>".to_vec()
                    } else {
                        v.as_bytes().to_vec()
                    };
                    (k.to_string(), v)
                })
                .collect();
            (r.status(), headers, r.body().to_vec())
        };
        // Without a credential: the persona's own answer, not the invalid-key one.
        let without = shape(handle(&decoy, event("")).await);
        assert_eq!(without.0, 401);
        let baseline = shape(handle(&decoy, event("Bearer acme_4eC39HqLyjWDarjtT1zdp7dcXyZ0ab99")).await);
        assert_ne!(without.2, baseline.2, "RFC 6750: no error code without credentials");
        for auth in [
            "Bearer acme_4eC39HqLyjWDarjtT1zdp7dcXyZ0ab12".to_string(),
            format!("Bearer {}", k.token),
            format!("Bearer {}", j.token),
            format!("Bearer {tampered}"),
            "Basic %%%%not-base64%%%% ~~".to_string(),
        ] {
            assert_eq!(shape(handle(&decoy, event(&auth)).await), baseline, "{auth}");
        }
        assert_eq!(store.hit_count(), 3, "the honeytokens were recorded");
        store.fail_writes(true);
        assert_eq!(
            shape(handle(&decoy, event(&format!("Bearer {}", k.token))).await),
            baseline,
            "store down"
        );
    }

    /// The size the decoy promises ([`MAX_EVENT_BYTES`]): an HTTP API event
    /// of exactly that size, its body mostly padding with a honeytoken at
    /// its start (as text, and base64-encoded as API Gateway sends a binary
    /// body), is answered as any request and its hit recorded.
    #[tokio::test]
    async fn an_event_at_lambdas_payload_limit_is_answered_and_recorded() {
        use base64::Engine;
        use honeytoken::domain::key::SigningKey;
        use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
        use honeytoken::store::memory::MemoryStore;
        use honeytoken::store::{HitStore, TokenStore};
        use std::sync::Arc;

        let key = SigningKey::from_secret(&[9u8; 32]).unwrap();
        let store = Arc::new(MemoryStore::new());
        let spec = MintSpec::Key(KeyShape::plain("acme_", Alphabet::Base62, 32).unwrap());
        let k = mint(&key, &spec, "l", "", "", time::OffsetDateTime::now_utc()).unwrap();
        store.create(&k).await.unwrap();
        let decoy = Decoy::new(key, store.clone(), store.clone());

        // The event with `body` (and its encoding flag), padded with `pad`
        // filler bytes after the token.
        let event = |pad: usize, binary: bool| -> String {
            let mut v: serde_json::Value = serde_json::from_str(&fixture().replace("{{TOKEN}}", "none")).unwrap();
            let text = format!("{{\"api_key\": \"{}\", \"pad\": \"{}\"}}", k.token, "z".repeat(pad));
            v["body"] = if binary {
                base64::engine::general_purpose::STANDARD.encode(text.as_bytes()).into()
            } else {
                text.into()
            };
            v["isBase64Encoded"] = binary.into();
            v.to_string()
        };
        let mut answers = Vec::new();
        for binary in [false, true] {
            let overhead = event(0, binary).len();
            // Text grows one byte per filler byte, base64 four per three.
            let pad = if binary {
                (MAX_EVENT_BYTES - overhead) / 4 * 3
            } else {
                MAX_EVENT_BYTES - overhead
            };
            let json = event(pad, binary);
            assert!(
                json.len() <= MAX_EVENT_BYTES && json.len() + 4 > MAX_EVENT_BYTES,
                "{}",
                json.len()
            );
            let before = store.hit_count();
            let parse = || lambda_http::request::from_str(&json).expect("lambda_http reads the event");
            assert_eq!(
                to_http(parse()).body().len(),
                body_keep(),
                "only the scanned part is copied"
            );
            let req = parse();
            let r = handle(&decoy, req).await;
            assert_eq!(
                store.hit_count(),
                before + 1,
                "binary={binary}: the token in the body is a hit"
            );
            let hits = store.query(&Default::default()).await.unwrap();
            let last = hits.iter().max_by_key(|h| h.hit_id.clone()).unwrap();
            assert_eq!(last.token_id, k.id);
            assert_eq!(last.over_bounds, ["body"], "the body past the cap was not scanned");
            answers.push((r.status(), r.body().to_vec()));
        }
        assert_eq!(answers[0].0, 401);
        assert_eq!(answers[0], answers[1]);
    }

    /// A token after the body's scan limit, in an event as API Gateway
    /// sends it: not looked for, so the request is recorded as suspicious
    /// (no token, `body` skipped) and answered as any other.
    #[tokio::test]
    async fn a_token_past_the_cap_makes_a_suspicious_request() {
        use honeytoken::domain::key::SigningKey;
        use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
        use honeytoken::store::memory::MemoryStore;
        use honeytoken::store::{HitStore, TokenStore};
        use std::sync::Arc;
        let key = SigningKey::from_secret(&[4u8; 32]).unwrap();
        let store = Arc::new(MemoryStore::new());
        let spec = MintSpec::Key(KeyShape::plain("sk_live_", Alphabet::Base62, 32).unwrap());
        let k = mint(&key, &spec, "l", "", "", time::OffsetDateTime::now_utc()).unwrap();
        store.create(&k).await.unwrap();
        let decoy = Decoy::new(key, store.clone(), store.clone());
        let mut v: serde_json::Value = serde_json::from_str(&fixture().replace("{{TOKEN}}", "none")).unwrap();
        v["body"] = format!(
            "{{\"pad\": \"{}\", \"api_key\": \"{}\"}}",
            "z".repeat(70 * 1024),
            k.token
        )
        .into();
        v["isBase64Encoded"] = false.into();
        let req = lambda_http::request::from_str(&v.to_string()).unwrap();
        let r = handle(&decoy, req).await;
        assert_eq!(r.status(), 401);
        let hits = store.query(&Default::default()).await.unwrap();
        assert_eq!(hits.len(), 1, "{hits:?}");
        assert!(hits[0].is_suspicious());
        assert_eq!(hits[0].over_bounds, ["body"]);
    }

    #[test]
    fn binary_answers_stay_binary() {
        let r = to_lambda(http::Response::new(Bytes::from_static(b"\xff\xfe")));
        assert!(matches!(r.body(), Body::Binary(b) if b == b"\xff\xfe"));
        let r = to_lambda(http::Response::new(Bytes::from_static(b"{}")));
        assert!(matches!(r.body(), Body::Text(t) if t == "{}"));
    }

    /// A tool's request (here Vault's token header) gets that tool's
    /// answer from the ready decoy and from the not-ready fallback alike,
    /// and a host named for a tool gets its tool whatever the path.
    #[tokio::test]
    async fn ready_and_not_ready_answer_a_tools_request_as_that_tool() {
        use honeytoken::decoy::tools::{Chooser, PersonaHosts};
        use honeytoken::domain::key::SigningKey;
        use honeytoken::store::memory::MemoryStore;
        use std::sync::Arc;
        let store = Arc::new(MemoryStore::new());
        let key = SigningKey::from_secret(&[7u8; 32]).unwrap();
        let hosts = PersonaHosts::parse(&["ci.acme.io=git"]).unwrap();
        let decoy = Decoy::new(key, store.clone(), store.clone()).with_persona_hosts(hosts.clone());
        let tools = Chooser::new(hosts);
        let fallback = honeytoken::decoy::persona::Persona::default();
        let event = |header: (&str, &str)| {
            let mut req = lambda_http::request::from_str(&fixture()).unwrap();
            req.headers_mut().remove("x-api-key");
            req.headers_mut().insert(
                http::HeaderName::from_bytes(header.0.as_bytes()).unwrap(),
                http::HeaderValue::from_str(header.1).unwrap(),
            );
            req
        };
        let answer = |r: Response<Body>| (r.status().as_u16(), r.body().to_vec());
        let vault = ("x-vault-token", "hvs.CAESIabc");
        let ready = answer(handle(&decoy, event(vault)).await);
        let start = tokio::time::Instant::now();
        let waiting = answer(not_ready(&fallback, &tools, std::time::Duration::ZERO, start, &event(vault)).await);
        assert_eq!(ready, (403, b"{\"errors\":[\"permission denied\"]}\n".to_vec()));
        assert_eq!(waiting, ready);
        let git = ("host", "ci.acme.io");
        let ready = answer(handle(&decoy, event(git)).await);
        let waiting = answer(not_ready(&fallback, &tools, std::time::Duration::ZERO, start, &event(git)).await);
        assert_eq!(ready.0, 401);
        assert_eq!(waiting, ready, "the git persona's bare challenge, no credential sent");
    }
}
