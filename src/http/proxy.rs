//! The guard's reverse proxy: every request is inspected for honeytokens
//! (head: headers, query, cookies; and the first bytes of its body, copied
//! aside while the body streams to the upstream) and passed to the upstream
//! unchanged but for hop-by-hop headers; the upstream's answer comes back
//! as it was sent, header names in their own case, with no header added.
//! Upgrades (WebSocket) are tunnelled once the upgrade request is
//! inspected. Each honeytoken request becomes a hit (`via: guard`) handed
//! to the [`Reporter`] the proxy is built with.

use bytes::Bytes;
use http::{HeaderMap, HeaderName, StatusCode, Uri, Version};
use http_body_util::{Either, Full};
use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::pin::Pin;
use std::sync::Arc;
use std::task::{Context, Poll};
use std::time::Duration;

use honeytoken_guard::{ClientAddr, Guard, Inspection, Reporter};

use super::upstream::{Pool, PooledBody};
use crate::error::{Error, Result};

/// The upstream's host and port, from `--upstream` (plain `http://` only).
pub fn upstream_authority(url: &str) -> Result<http::uri::Authority> {
    let bad = |why: &str| Error::Invalid(format!("--upstream {url:?}: {why}; use http://HOST:PORT"));
    let uri: Uri = url.parse().map_err(|_| bad("not a URL"))?;
    let scheme = uri.scheme().cloned().ok_or_else(|| bad("no scheme"))?;
    if scheme != http::uri::Scheme::HTTP {
        return Err(bad(
            "the guard speaks plain HTTP to the upstream (run it beside the service)",
        ));
    }
    if uri.path() != "/" && !uri.path().is_empty() || uri.query().is_some() {
        return Err(bad("a path prefix is not supported"));
    }
    let authority = uri.authority().cloned().ok_or_else(|| bad("no host"))?;
    Ok(authority)
}

/// Headers that belong to one connection, not to the message (RFC 9110
/// 7.6.1): `Connection`, the headers it names, and the classic list.
const HOP_BY_HOP: &[&str] = &[
    "connection",
    "proxy-connection",
    "keep-alive",
    "proxy-authenticate",
    "proxy-authorization",
    "te",
    "trailer",
    "transfer-encoding",
    "upgrade",
];

/// Whether a request asks to switch protocols (RFC 9110 7.8): an
/// `Upgrade` header and the `upgrade` option in `Connection`.
fn wants_upgrade(h: &HeaderMap) -> bool {
    h.contains_key(http::header::UPGRADE)
        && h.get_all(http::header::CONNECTION)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .any(|o| o.trim().eq_ignore_ascii_case("upgrade"))
}

/// Removes hop-by-hop headers (and those `Connection` names).
pub fn strip_hop_by_hop(h: &mut HeaderMap) {
    let named: Vec<HeaderName> = h
        .get_all(http::header::CONNECTION)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .filter_map(|n| HeaderName::from_bytes(n.trim().as_bytes()).ok())
        .collect();
    for n in named {
        h.remove(n);
    }
    for n in HOP_BY_HOP {
        h.remove(*n);
    }
}

/// An answer: the upstream's (pooled, or a switching-protocols answer's
/// empty body) or the guard's own (the opt-in persona answer, a 502).
type ProxyBody = Either<PooledBody, Either<Incoming, Full<Bytes>>>;

fn own(r: http::Response<Bytes>) -> http::Response<ProxyBody> {
    r.map(|b| Either::Right(Either::Right(Full::new(b))))
}

/// nginx's stock 502 page (`ngx_http_error_502_page` and its tail with
/// `server_tokens off`).
const NGINX_502: &str = "<html>\r\n<head><title>502 Bad Gateway</title></head>\r\n<body>\r\n\
<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>\r\n</body>\r\n</html>\r\n";

/// The answer to a request the upstream could not take: what the reverse
/// proxy in front of such a service answers (nginx's 502 by default), so
/// a failing upstream does not show a proxy of an unknown kind.
pub fn upstream_error_answer(page: Option<Bytes>, server: &str) -> http::Response<Bytes> {
    let mut r = http::Response::new(page.unwrap_or_else(|| Bytes::from_static(NGINX_502.as_bytes())));
    *r.status_mut() = StatusCode::BAD_GATEWAY;
    let h = r.headers_mut();
    if let Ok(v) = http::HeaderValue::from_str(server)
        && !server.is_empty()
    {
        h.insert(http::header::SERVER, v);
    }
    if let Ok(v) = http::HeaderValue::from_str(&super::server::httpdate(std::time::SystemTime::now())) {
        h.insert(http::header::DATE, v);
    }
    h.insert(http::header::CONTENT_TYPE, http::HeaderValue::from_static("text/html"));
    r
}

/// The proxy in front of one upstream.
pub struct Proxy {
    guard: Guard,
    reporter: Reporter,
    upstream: Arc<Pool>,
    authority: http::uri::Authority,
    answer: Option<http::Response<Bytes>>,
    upstream_error: http::Response<Bytes>,
}

impl Proxy {
    /// A proxy to the upstream at `authority` (see [`upstream_authority`]),
    /// inspecting with `guard` and handing hits to `reporter`. With
    /// `answer`, a request carrying a honeytoken gets that answer instead
    /// of reaching the upstream; `upstream_error` is the answer when the
    /// upstream cannot be reached (see [`upstream_error_answer`]). One
    /// proxy per worker of `workers` (see [`serve`]): its idle pool is a
    /// share of the whole.
    pub fn new(
        guard: Guard,
        reporter: Reporter,
        authority: http::uri::Authority,
        answer: Option<http::Response<Bytes>>,
        upstream_error: http::Response<Bytes>,
        workers: usize,
    ) -> Arc<Proxy> {
        Arc::new(Proxy {
            guard,
            reporter,
            upstream: Pool::new(authority.clone(), idle_per_worker(workers), Duration::from_secs(60)),
            authority,
            answer,
            upstream_error,
        })
    }

    /// Hands what `found` (in the request `parts`) makes worth recording
    /// to the reporter.
    fn report(&self, parts: &http::request::Parts, found: &Inspection) {
        for r in self.guard.reports(parts, found) {
            self.reporter.submit(r);
        }
    }

    /// Proxies one request of the client connection from `peer`, which
    /// holds `slot` of the connection cap (an upgraded connection keeps it
    /// for as long as its tunnel lasts).
    async fn handle(
        self: Arc<Self>,
        peer: SocketAddr,
        slot: Arc<tokio::sync::OwnedSemaphorePermit>,
        mut req: http::Request<Incoming>,
    ) -> http::Response<ProxyBody> {
        req.extensions_mut().insert(ClientAddr(peer));
        let upgrade = wants_upgrade(req.headers());
        let client_upgrade = upgrade.then(|| hyper::upgrade::on(&mut req));
        let (mut parts, body) = req.into_parts();
        let head = self.guard.examine(&parts, &[]);
        // Tokens are reported at once; a head past the bounds with none
        // waits for the body, which may carry one.
        if !head.detections.is_empty() || body.is_end_stream() {
            self.report(&parts, &head);
        }
        if !head.detections.is_empty()
            && let Some(a) = &self.answer
        {
            return own(a.clone());
        }
        // The body's first bytes are inspected as they stream upstream.
        let scan = (!body.is_end_stream()).then(|| BodyScan {
            proxy: self.clone(),
            parts: parts.clone(),
            head,
            prefix: Vec::new(),
            limit: self.guard.body_keep(),
        });
        let upgrade_to = upgrade
            .then(|| parts.headers.get(http::header::UPGRADE).cloned())
            .flatten();
        strip_hop_by_hop(&mut parts.headers);
        if let Some(u) = upgrade_to {
            // The upgrade is this hop's and the next's: asked for again.
            parts
                .headers
                .insert(http::header::CONNECTION, http::HeaderValue::from_static("upgrade"));
            parts.headers.insert(http::header::UPGRADE, u);
        }
        // An absolute-form target names the host (RFC 9112 3.2.2): it
        // replaces the Host header. Otherwise the client's Host is kept, and
        // the upstream's added only when there is none. Set after the
        // hop-by-hop headers go, so `Connection: host` cannot remove it.
        let host = match parts.uri.authority() {
            Some(a) => http::HeaderValue::from_str(a.as_str()).ok(),
            None if !parts.headers.contains_key(http::header::HOST) => {
                http::HeaderValue::from_str(self.authority.as_str()).ok()
            }
            None => None,
        };
        if let Some(h) = host {
            parts.headers.insert(http::header::HOST, h);
        }
        // Origin-form on the upstream connection.
        parts.uri = match parts.uri.path_and_query() {
            Some(pq) => Uri::from(pq.clone()),
            None => Uri::from_static("/"),
        };
        parts.version = Version::HTTP_11;
        // The extensions stay: hyper keeps the header names' case there.
        let req = http::Request::from_parts(parts, ScannedBody { body, scan });
        let answer = match client_upgrade {
            Some(on_client) => match self.upstream.send_upgrade(req).await {
                Ok(mut resp) if resp.status() == StatusCode::SWITCHING_PROTOCOLS => {
                    let on_upstream = hyper::upgrade::on(&mut resp);
                    tokio::spawn(async move {
                        tunnel(on_client, on_upstream).await;
                        drop(slot);
                    });
                    // Connection and Upgrade say what this hop switches to: kept.
                    return resp.map(|b| Either::Right(Either::Left(b)));
                }
                Ok(resp) => Ok(resp.map(|b| Either::Right(Either::Left(b)))),
                Err(e) => Err(e),
            },
            None => self.upstream.send(req).await.map(|r| r.map(Either::Left)),
        };
        match answer {
            Ok(resp) => {
                let (mut rp, rb) = resp.into_parts();
                strip_hop_by_hop(&mut rp.headers);
                http::Response::from_parts(rp, rb)
            }
            Err(e) => {
                tracing::warn!(event = "upstream_failed", error = %e);
                own(self.upstream_error.clone())
            }
        }
    }
}

/// Copies bytes both ways between an upgraded client and upstream connection.
async fn tunnel(client: hyper::upgrade::OnUpgrade, upstream: hyper::upgrade::OnUpgrade) {
    let (client, upstream) = match tokio::try_join!(client, upstream) {
        Ok(both) => both,
        Err(e) => {
            tracing::debug!(error = %e, "upgrade did not complete");
            return;
        }
    };
    let (mut c, mut u) = (TokioIo::new(client), TokioIo::new(upstream));
    if let Err(e) = tokio::io::copy_bidirectional(&mut c, &mut u).await {
        tracing::debug!(error = %e, "upgraded connection ended");
    }
}

/// What a request body's first bytes are inspected for, once they are in.
struct BodyScan {
    proxy: Arc<Proxy>,
    /// The request's head, for the hits.
    parts: http::request::Parts,
    /// What the head carried (its tokens reported already).
    head: Inspection,
    prefix: Vec<u8>,
    limit: usize,
}

impl BodyScan {
    /// Inspects the prefix (with the head's content type and encoding, as
    /// the decoy does) and reports what the request adds to its head's
    /// report ([`Inspection::with_body`]).
    fn finish(self) {
        let body = if self.prefix.is_empty() {
            Inspection::default()
        } else {
            let mut only_body = http::Request::new(()).into_parts().0;
            for name in [http::header::CONTENT_TYPE, http::header::CONTENT_ENCODING] {
                for v in self.parts.headers.get_all(&name) {
                    only_body.headers.append(name.clone(), v.clone());
                }
            }
            self.proxy.guard.examine(&only_body, &self.prefix)
        };
        self.proxy.report(&self.parts, &self.head.with_body(body));
    }
}

/// A request body on its way upstream: passed on frame by frame as it
/// arrives (nothing waits for the inspection), its first
/// [`Guard::body_keep`] bytes copied aside and inspected once they are in,
/// or at the body's end, or when it is dropped unfinished.
pub struct ScannedBody {
    body: Incoming,
    scan: Option<BodyScan>,
}

impl Body for ScannedBody {
    type Data = Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, hyper::Error>>> {
        let this = self.get_mut();
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        match &frame {
            Poll::Ready(Some(Ok(f))) => {
                if let (Some(s), Some(d)) = (this.scan.as_mut(), f.data_ref()) {
                    let take = (s.limit - s.prefix.len()).min(d.len());
                    s.prefix.extend_from_slice(&d[..take]);
                    if s.prefix.len() >= s.limit
                        && let Some(s) = this.scan.take()
                    {
                        s.finish();
                    }
                }
            }
            Poll::Ready(_) => {
                if let Some(s) = this.scan.take() {
                    s.finish();
                }
            }
            Poll::Pending => {}
        }
        frame
    }

    fn is_end_stream(&self) -> bool {
        self.body.is_end_stream()
    }

    fn size_hint(&self) -> SizeHint {
        self.body.size_hint()
    }
}

impl Drop for ScannedBody {
    fn drop(&mut self) {
        // An upstream that answered without reading the whole prefix: what came is inspected.
        if let Some(s) = self.scan.take() {
            s.finish();
        }
    }
}

/// Idle upstream connections kept for reuse, over all workers.
const UPSTREAM_IDLE: usize = 64;

/// Each worker's share of [`UPSTREAM_IDLE`], at least 8 (a pool per worker,
/// as nginx's `keepalive` is per worker process).
fn idle_per_worker(workers: usize) -> usize {
    (UPSTREAM_IDLE / workers.max(1)).max(8)
}

/// Client connections the proxy can serve at once for `wanted`, lowered to
/// fit the open-file limit: each client connection may hold one upstream
/// connection, and each of the `workers` pools keeps up to `UPSTREAM_IDLE`
/// more.
pub fn connection_cap(wanted: usize, workers: usize) -> usize {
    let idle = idle_per_worker(workers).saturating_mul(workers);
    super::server::connection_cap(wanted.saturating_mul(2).saturating_add(idle)).saturating_sub(idle) / 2
}

/// Runs the proxy on `workers` threads, each an event loop of its own (a
/// single-threaded runtime with its own upstream pool, from `make`), all
/// accepting from `listener`, as nginx's worker processes do. A connection
/// then lives on one thread from accept to close, and so do the upstream
/// connections it uses: no request wakes another thread, which on a
/// work-stealing runtime cost about a third of the proxy's CPU per request
/// (futex wake-ups and context switches; BENCHMARKS.md).
///
/// At most `max_connections` connections at once, over all workers. At the
/// cap the workers stop accepting, so further connections wait in the
/// kernel's listen backlog (the kernel refuses them once it is full), as at
/// an overloaded server: the guard never answers with a status of its own
/// and never runs out of file descriptors. When `shutdown` resolves,
/// accepting stops and open connections (upgraded tunnels included) get
/// [`SHUTDOWN_GRACE`] to finish.
///
/// [`SHUTDOWN_GRACE`]: super::server::SHUTDOWN_GRACE
pub async fn serve(
    listener: std::net::TcpListener,
    make: impl Fn() -> Arc<Proxy>,
    workers: usize,
    max_connections: usize,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    let max_connections = max_connections.clamp(1, tokio::sync::Semaphore::MAX_PERMITS);
    let slots = Arc::new(tokio::sync::Semaphore::new(max_connections));
    let (stop_tx, stop_rx) = tokio::sync::watch::channel(false);
    listener.set_nonblocking(true)?;
    let mut ended = Vec::new();
    for i in 0..workers.max(1) {
        let listener = listener.try_clone()?;
        let proxy = make();
        let (slots, stop) = (slots.clone(), stop_rx.clone());
        let (done_tx, done_rx) = tokio::sync::oneshot::channel::<()>();
        let runtime = tokio::runtime::Builder::new_current_thread().enable_all().build()?;
        std::thread::Builder::new()
            .name(format!("guard-worker-{i}"))
            .spawn(move || {
                runtime.block_on(async move {
                    match tokio::net::TcpListener::from_std(listener) {
                        Ok(l) => worker(l, proxy, slots, max_connections, stop).await,
                        Err(e) => tracing::error!(error = %e, "guard worker could not listen"),
                    }
                });
                drop(done_tx);
            })?;
        ended.push(done_rx);
    }
    drop(listener);
    shutdown.await;
    let _ = stop_tx.send(true);
    for e in ended {
        let _ = e.await;
    }
    Ok(())
}

/// A timer that is always pending on a worker's runtime, ending with it.
///
/// Every request head arms a read timeout ([`HEAD_TIMEOUT`]). Tokio's
/// timer wakes its event loop (an eventfd write and an extra `epoll_wait`)
/// whenever a timer is armed earlier than the earliest one it knew of when
/// it last slept, which is every time when none was pending: about every
/// other request under a steady load. A one-second tick that never stops
/// is always earlier than a new head timeout, so arming one costs no
/// system call; the tick itself is one wake-up a second.
///
/// [`HEAD_TIMEOUT`]: super::server::HEAD_TIMEOUT
struct TimerAnchor(tokio::task::JoinHandle<()>);

impl TimerAnchor {
    fn start() -> TimerAnchor {
        TimerAnchor(tokio::spawn(async {
            let mut tick = tokio::time::interval(Duration::from_secs(1));
            tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
            loop {
                tick.tick().await;
            }
        }))
    }
}

impl Drop for TimerAnchor {
    fn drop(&mut self) {
        self.0.abort();
    }
}

/// One worker's accept loop (see [`serve`]).
async fn worker(
    listener: tokio::net::TcpListener,
    proxy: Arc<Proxy>,
    slots: Arc<tokio::sync::Semaphore>,
    max_connections: usize,
    mut stop: tokio::sync::watch::Receiver<bool>,
) {
    use super::server::{HEAD_TIMEOUT, MAX_HEAD, SHUTDOWN_GRACE};
    let _anchor = TimerAnchor::start();
    let mut last_cap_log: Option<tokio::time::Instant> = None;
    loop {
        if *stop.borrow_and_update() {
            break;
        }
        let slot = match slots.clone().try_acquire_owned() {
            Ok(s) => s,
            Err(_) => {
                if last_cap_log.is_none_or(|t| t.elapsed() >= Duration::from_secs(10)) {
                    last_cap_log = Some(tokio::time::Instant::now());
                    tracing::warn!(
                        event = "guard_connection_cap",
                        connections = max_connections,
                        "connection cap reached; new connections wait in the listen backlog"
                    );
                }
                tokio::select! {
                    s = slots.clone().acquire_owned() => match s {
                        Ok(s) => s,
                        Err(_) => break,
                    },
                    _ = stop.changed() => break,
                }
            }
        };
        let (stream, peer) = tokio::select! {
            accepted = listener.accept() => match accepted {
                Ok(x) => x,
                Err(e) => {
                    // Another worker took it (the listener is shared), or out
                    // of file descriptors and the like: back off, keep serving.
                    if e.kind() != std::io::ErrorKind::WouldBlock {
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                    }
                    continue;
                }
            },
            _ = stop.changed() => break,
        };
        let _ = stream.set_nodelay(true);
        let p = proxy.clone();
        let mut stop = stop.clone();
        let slot = Arc::new(slot);
        tokio::spawn(async move {
            let svc = service_fn(move |req| {
                let (p, slot) = (p.clone(), slot.clone());
                async move { Ok::<_, Infallible>(p.handle(peer, slot, req).await) }
            });
            let conn = http1::Builder::new()
                .max_buf_size(MAX_HEAD)
                .max_headers(1024)
                // Names go out as they came (hyper keeps their case in the
                // messages' extensions); the guard's own answers in title case.
                .preserve_header_case(true)
                .title_case_headers(true)
                // No header the upstream did not send.
                .auto_date_header(false)
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .serve_connection(TokioIo::new(stream), svc)
                .with_upgrades();
            tokio::pin!(conn);
            let ended = if *stop.borrow_and_update() {
                conn.as_mut().graceful_shutdown();
                conn.await
            } else {
                tokio::select! {
                    r = conn.as_mut() => r,
                    _ = stop.changed() => {
                        conn.as_mut().graceful_shutdown();
                        conn.await
                    }
                }
            };
            if let Err(e) = ended {
                tracing::debug!(error = %e, "connection ended");
            }
        });
    }
    drop(listener);
    // Every slot back: every connection of every worker has ended (this
    // worker's tasks, tunnels included, keep running meanwhile). The
    // permits go straight back, so the other workers see them too.
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(max_connections as u32))
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open at shutdown");
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn hop_by_hop_headers_go_and_end_to_end_ones_stay() {
        let mut h = HeaderMap::new();
        h.insert("connection", "keep-alive, x-hop".parse().unwrap());
        h.insert("x-hop", "1".parse().unwrap());
        h.insert("keep-alive", "timeout=5".parse().unwrap());
        h.insert("transfer-encoding", "chunked".parse().unwrap());
        h.insert("upgrade", "websocket".parse().unwrap());
        h.insert("authorization", "Bearer x".parse().unwrap());
        h.insert("content-type", "application/json".parse().unwrap());
        strip_hop_by_hop(&mut h);
        let mut left: Vec<&str> = h.keys().map(|k| k.as_str()).collect();
        left.sort();
        assert_eq!(left, ["authorization", "content-type"]);
    }

    #[test]
    fn an_upgrade_needs_both_the_header_and_the_connection_option() {
        let h = |pairs: &[(&str, &str)]| {
            let mut m = HeaderMap::new();
            for (k, v) in pairs {
                m.append(HeaderName::from_bytes(k.as_bytes()).unwrap(), v.parse().unwrap());
            }
            m
        };
        assert!(wants_upgrade(&h(&[
            ("connection", "keep-alive, Upgrade"),
            ("upgrade", "websocket")
        ])));
        assert!(!wants_upgrade(&h(&[("upgrade", "websocket")])));
        assert!(!wants_upgrade(&h(&[("connection", "upgrade")])));
    }

    #[test]
    fn upstream_must_be_plain_http_without_a_path() {
        assert!(upstream_authority("http://127.0.0.1:8000").is_ok());
        assert!(upstream_authority("http://api.internal:8000/").is_ok());
        assert!(upstream_authority("https://api.acme.com").is_err());
        assert!(upstream_authority("http://api/v1").is_err());
        assert!(upstream_authority("not a url").is_err());
    }
}
