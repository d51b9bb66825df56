//! The tower layer: inspect the request head, report what it carries in the
//! background, and pass request and answer through unchanged.

use bytes::Bytes;
use http::{Request, Response};
use pin_project_lite::pin_project;
use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};

use crate::inspect::Guard;
use crate::reporter::Reporter;

struct Shared {
    guard: Guard,
    reporter: Reporter,
    answer: Option<Response<Bytes>>,
}

/// Wraps a service with a [`GuardService`].
#[derive(Clone)]
pub struct GuardLayer {
    shared: Arc<Shared>,
}

impl GuardLayer {
    /// Inspects every request with `guard` and reports hits through `reporter`.
    pub fn new(guard: Guard, reporter: Reporter) -> Self {
        GuardLayer {
            shared: Arc::new(Shared {
                guard,
                reporter,
                answer: None,
            }),
        }
    }

    /// Opt-in: answer a request that carries a honeytoken with `answer` (the
    /// persona's answer to an invalid key, for instance
    /// `honeytoken::decoy::persona::Persona::default().response()`) instead
    /// of passing it to the service. Off by default: the attacker then gets
    /// the API's own answer to an unknown key, which reveals nothing.
    pub fn answering(self, answer: Response<Bytes>) -> Self {
        let s = Arc::try_unwrap(self.shared).unwrap_or_else(|a| Shared {
            guard: a.guard.clone(),
            reporter: a.reporter.clone(),
            answer: a.answer.clone(),
        });
        GuardLayer {
            shared: Arc::new(Shared {
                answer: Some(answer),
                ..s
            }),
        }
    }

    /// The reporter (for its counters).
    pub fn reporter(&self) -> &Reporter {
        &self.shared.reporter
    }
}

impl<S> tower_layer::Layer<S> for GuardLayer {
    type Service = GuardService<S>;
    fn layer(&self, inner: S) -> GuardService<S> {
        GuardService {
            inner,
            shared: self.shared.clone(),
        }
    }
}

/// A service behind the guard. Requests reach it unchanged (the request
/// body is not read: inspection covers headers, cookies, query and path) and its
/// answers come back unchanged.
#[derive(Clone)]
pub struct GuardService<S> {
    inner: S,
    shared: Arc<Shared>,
}

impl<S, B, RB> tower_service::Service<Request<B>> for GuardService<S>
where
    S: tower_service::Service<Request<B>, Response = Response<RB>>,
{
    type Response = Response<GuardBody<RB>>;
    type Error = S::Error;
    type Future = GuardFuture<S::Future>;

    fn poll_ready(&mut self, cx: &mut Context<'_>) -> Poll<Result<(), Self::Error>> {
        self.inner.poll_ready(cx)
    }

    fn call(&mut self, req: Request<B>) -> Self::Future {
        let (parts, body) = req.into_parts();
        let found = self.shared.guard.examine(&parts, &[]);
        for r in self.shared.guard.reports(&parts, &found) {
            self.shared.reporter.submit(r);
        }
        if !found.detections.is_empty()
            && let Some(a) = &self.shared.answer
        {
            return GuardFuture::Answer {
                answer: Some(a.clone()),
            };
        }
        GuardFuture::Inner {
            fut: self.inner.call(Request::from_parts(parts, body)),
        }
    }
}

mod pinned {
    // pin-project-lite takes no doc comments on variant fields.
    #![allow(missing_docs)]
    use super::*;

    pin_project! {
        /// The answer of a [`GuardService`].
        #[project = GuardFutureProj]
        pub enum GuardFuture<F> {
            /// The service's own answer.
            Inner {
                #[pin]
                fut: F,
            },
            /// The configured answer to a honeytoken request.
            Answer {
                answer: Option<Response<Bytes>>,
            },
        }
    }

    pin_project! {
        /// The service's body, passed through frame by frame, or the configured answer.
        #[project = GuardBodyProj]
        pub enum GuardBody<B> {
            /// The service's own body.
            Inner {
                #[pin]
                body: B,
            },
            /// The configured answer's bytes.
            Answer {
                data: Option<Bytes>,
            },
        }
    }
}
pub use pinned::{GuardBody, GuardFuture};
use pinned::{GuardBodyProj, GuardFutureProj};

impl<F, RB, E> Future for GuardFuture<F>
where
    F: Future<Output = Result<Response<RB>, E>>,
{
    type Output = Result<Response<GuardBody<RB>>, E>;

    fn poll(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Self::Output> {
        match self.project() {
            GuardFutureProj::Inner { fut } => match fut.poll(cx) {
                Poll::Ready(Ok(r)) => Poll::Ready(Ok(r.map(|b| GuardBody::Inner { body: b }))),
                Poll::Ready(Err(e)) => Poll::Ready(Err(e)),
                Poll::Pending => Poll::Pending,
            },
            GuardFutureProj::Answer { answer } => {
                let r = answer.take().expect("GuardFuture polled after completion");
                Poll::Ready(Ok(r.map(|b| GuardBody::Answer { data: Some(b) })))
            }
        }
    }
}

impl<B> http_body::Body for GuardBody<B>
where
    B: http_body::Body<Data = Bytes>,
{
    type Data = Bytes;
    type Error = B::Error;

    fn poll_frame(
        self: Pin<&mut Self>,
        cx: &mut Context<'_>,
    ) -> Poll<Option<Result<http_body::Frame<Bytes>, Self::Error>>> {
        match self.project() {
            GuardBodyProj::Inner { body } => body.poll_frame(cx),
            GuardBodyProj::Answer { data } => Poll::Ready(data.take().map(|d| Ok(http_body::Frame::data(d)))),
        }
    }

    fn is_end_stream(&self) -> bool {
        match self {
            GuardBody::Inner { body } => body.is_end_stream(),
            GuardBody::Answer { data } => data.is_none(),
        }
    }

    fn size_hint(&self) -> http_body::SizeHint {
        match self {
            GuardBody::Inner { body } => body.size_hint(),
            GuardBody::Answer { data } => http_body::SizeHint::with_exact(data.as_ref().map_or(0, |d| d.len() as u64)),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::reporter::{BoxFuture, HitSink, Report, SinkError};
    use honeytoken_core::hit::Hit;
    use honeytoken_core::testkit::key;
    use honeytoken_core::token::{Alphabet, KeyShape, MintSpec, mint};
    use http_body_util::{BodyExt, Full};
    use std::sync::Mutex;
    use std::time::Duration;
    use tower::{Layer, Service, ServiceExt};

    struct Recording(Mutex<Vec<Hit>>);
    impl HitSink for Recording {
        fn report(&self, r: Report) -> BoxFuture<'_, Result<(), SinkError>> {
            self.0.lock().unwrap().push(r.hit);
            Box::pin(async { Ok(()) })
        }
    }
    struct Hanging;
    impl HitSink for Hanging {
        fn report(&self, _: Report) -> BoxFuture<'_, Result<(), SinkError>> {
            Box::pin(std::future::pending())
        }
    }

    fn token() -> String {
        let spec = MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap());
        mint(&key(7), &spec, "l", "", "", time::OffsetDateTime::now_utc())
            .unwrap()
            .token
    }

    /// The "real API": echoes the path and the authorization header it saw.
    async fn api(req: Request<Full<Bytes>>) -> Result<Response<Full<Bytes>>, std::convert::Infallible> {
        let auth = req
            .headers()
            .get("authorization")
            .map(|v| v.to_str().unwrap().to_string())
            .unwrap_or_default();
        let mut r = Response::new(Full::new(Bytes::from(format!("{} {auth}", req.uri()))));
        *r.status_mut() = http::StatusCode::IM_A_TEAPOT;
        r.headers_mut().insert("x-api", "real".parse().unwrap());
        Ok(r)
    }

    fn request(auth: &str) -> Request<Full<Bytes>> {
        Request::builder()
            .uri("/v1/users?x=1")
            .header("authorization", auth)
            .body(Full::new(Bytes::new()))
            .unwrap()
    }

    #[tokio::test]
    async fn passes_request_and_answer_through_and_reports_the_hit() {
        let sink = Arc::new(Recording(Mutex::new(vec![])));
        let (reporter, task) = Reporter::spawn(sink.clone(), 16, Duration::from_secs(5));
        let layer = GuardLayer::new(Guard::new(key(7), "users-api"), reporter);
        let mut svc = layer.layer(tower::service_fn(api));
        let t = token();
        for auth in [format!("Bearer {t}"), "Bearer nothing-to-see-here-at-all-really".into()] {
            let r = svc.ready().await.unwrap().call(request(&auth)).await.unwrap();
            assert_eq!(r.status(), 418);
            assert_eq!(r.headers()["x-api"], "real");
            let body = r.into_body().collect().await.unwrap().to_bytes();
            assert_eq!(
                body,
                format!("/v1/users?x=1 {auth}"),
                "the service saw the request unchanged"
            );
        }
        assert_eq!(layer.reporter().stats().queued, 1, "only the honeytoken request");
        drop(svc);
        drop(layer);
        task.await.unwrap();
        let hits = sink.0.lock().unwrap();
        assert_eq!(hits.len(), 1);
        assert_eq!(
            hits[0].via,
            honeytoken_core::hit::Via::Guard {
                service: "users-api".into()
            }
        );
        assert_eq!(hits[0].path, "/v1/users");
    }

    /// A request past the head's bounds reaches the service unchanged and
    /// is reported as one suspicious request, as the decoy records it.
    #[tokio::test]
    async fn a_request_past_the_bounds_is_passed_on_and_reported_as_suspicious() {
        let sink = Arc::new(Recording(Mutex::new(vec![])));
        let (reporter, task) = Reporter::spawn(sink.clone(), 16, Duration::from_secs(5));
        let layer = GuardLayer::new(Guard::new(key(7), "users-api"), reporter);
        let mut svc = layer.layer(tower::service_fn(api));
        let mut req = request("Bearer nothing-to-see-here-at-all-really");
        for i in 0..300 {
            req.headers_mut().insert(
                http::HeaderName::from_bytes(format!("x-api-key-{i}").as_bytes()).unwrap(),
                "f".repeat(250).parse().unwrap(),
            );
        }
        let r = svc.ready().await.unwrap().call(req).await.unwrap();
        assert_eq!(r.status(), 418, "the service's own answer");
        drop(svc);
        drop(layer);
        task.await.unwrap();
        let hits = sink.0.lock().unwrap();
        assert_eq!(hits.len(), 1);
        assert!(hits[0].is_suspicious());
        assert_eq!(hits[0].over_bounds, ["credential-headers"]);
    }

    #[tokio::test]
    async fn a_hanging_store_never_delays_the_api_and_drops_are_counted() {
        let (reporter, _task) = Reporter::spawn(Arc::new(Hanging), 2, Duration::from_secs(3600));
        let guard = Guard::new(key(7), "users-api").with_source(crate::Source::TrustedHeader(
            http::HeaderName::from_static("x-forwarded-for"),
        ));
        let layer = GuardLayer::new(guard, reporter);
        let mut svc = layer.layer(tower::service_fn(api));
        let t = token();
        // Every request completes while the store hangs (a blocked request
        // would hang this test forever; there is no timer to race). Fifty
        // sources: past the two the queue holds (and the one the hanging
        // store took), each source's hit is dropped and counted.
        for n in 0..50 {
            let mut req = request(&format!("Bearer {t}"));
            req.headers_mut()
                .insert("x-forwarded-for", format!("203.0.113.{n}").parse().unwrap());
            let r = svc.ready().await.unwrap().call(req).await.unwrap();
            assert_eq!(r.status(), 418);
        }
        let s = layer.reporter().stats();
        assert!(s.dropped >= 47, "{s:?}");
        assert_eq!(s.queued + s.dropped, 50);
    }

    #[tokio::test]
    async fn opt_in_answer_replaces_the_services_answer_for_honeytoken_requests_only() {
        let (reporter, _task) = Reporter::spawn(Arc::new(Recording(Mutex::new(vec![]))), 16, Duration::from_secs(5));
        let mut answer = Response::new(Bytes::from_static(b"{\"error\":\"invalid_api_key\"}"));
        *answer.status_mut() = http::StatusCode::UNAUTHORIZED;
        let layer = GuardLayer::new(Guard::new(key(7), "users-api"), reporter).answering(answer);
        let mut svc = layer.layer(tower::service_fn(api));
        let r = svc
            .ready()
            .await
            .unwrap()
            .call(request(&format!("Bearer {}", token())))
            .await
            .unwrap();
        assert_eq!(r.status(), 401);
        assert_eq!(
            r.into_body().collect().await.unwrap().to_bytes(),
            &b"{\"error\":\"invalid_api_key\"}"[..]
        );
        let r = svc.ready().await.unwrap().call(request("Bearer x")).await.unwrap();
        assert_eq!(r.status(), 418);
    }
}
