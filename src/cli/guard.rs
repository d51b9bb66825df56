//! `guard`: a reverse proxy in front of an existing API, in any language.
//! Every request is inspected for honeytokens (head: headers, query,
//! cookies) and passed to the upstream unchanged but for hop-by-hop
//! headers; the upstream's answer comes back as it was sent. Each
//! honeytoken request becomes a hit (`via: guard`) handed to a bounded
//! background reporter, stored in the backend's hits table under the flood
//! rule and alerted like any hit: `--backend local` through `serve`'s
//! terminal/webhook fan-out, `--backend aws` through the stack's alerter.

use bytes::Bytes;
use clap::Args;
use http::{HeaderMap, HeaderName, StatusCode, Uri, Version};
use http_body_util::{Either, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;

use honeytoken_guard::{ClientAddr, Guard, Report, Reporter, Source};

use super::{Backend, Global};
use crate::error::{Error, Result};

mod upstream;
use upstream::{Pool, PooledBody};

/// `guard` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Requests and answers pass through unchanged (hop-by-hop headers such as
Connection, Keep-Alive, Transfer-Encoding and Upgrade are handled per hop, as
a proxy must). A request carrying a honeytoken is recorded as a hit `via:
guard` and alerted like any hit; nothing in the answer says so.

The upstream is spoken to in plain HTTP/1.1: run the guard beside the service
(same host, pod or task) and terminate TLS in front of the guard.

The guard uses one worker thread per core. Beside a service that keeps the
cores busy itself, TOKIO_WORKER_THREADS=1 costs less CPU per request (fewer
cross-thread wake-ups), so the service keeps more of its throughput, but the
tail latency the guard adds grows (BENCHMARKS.md has both figures)."
)]
pub struct GuardArgs {
    /// Address to listen on (port 0 picks a free port).
    #[arg(long, default_value = "127.0.0.1:8081", env = "HONEYTOKEN_GUARD_LISTEN")]
    pub listen: SocketAddr,
    /// The real API: `http://HOST:PORT`.
    #[arg(long, value_name = "URL", env = "HONEYTOKEN_GUARD_UPSTREAM")]
    pub upstream: String,
    /// The service's name in hits and alerts ("used against NAME"); default: the upstream's host:port.
    #[arg(long, value_name = "NAME", env = "HONEYTOKEN_GUARD_SERVICE")]
    pub service: Option<String>,
    /// Take the client address from this header, set by a trusted proxy or
    /// load balancer in front of the guard (its last address is used).
    /// Without it the TCP peer is the source. Never set it when clients reach
    /// the guard directly: they could then forge the source.
    #[arg(long, value_name = "HEADER", env = "HONEYTOKEN_GUARD_TRUSTED_HEADER")]
    pub trusted_proxy_header: Option<String>,
    /// Answer honeytoken requests with the decoy persona's invalid-key answer
    /// instead of passing them to the upstream.
    #[arg(long)]
    pub answer: bool,
    /// Hits queued for the store at most; past that they are dropped, counted and logged.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub queue: usize,
    /// Also POST each alert as JSON to this URL (local backend).
    #[arg(long, value_name = "URL", env = "HONEYTOKEN_WEBHOOK")]
    pub webhook: Option<String>,
    /// Client connections served at once; more are answered 503 and closed,
    /// as a busy API would. Lowered to fit the open-file limit (each client
    /// connection may hold one to the upstream too).
    #[arg(long, default_value_t = 4096, value_name = "N")]
    pub max_connections: usize,
    /// Throttle window of the local alert fan-out (as for `serve`).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub throttle_window: Duration,
}

/// The upstream's host and port, from `--upstream` (plain `http://` only).
fn upstream_authority(url: &str) -> Result<http::uri::Authority> {
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

type ProxyBody = Either<PooledBody, Full<Bytes>>;

struct Proxy {
    guard: Guard,
    reporter: Reporter,
    upstream: Arc<Pool>,
    authority: http::uri::Authority,
    answer: Option<http::Response<Bytes>>,
}

impl Proxy {
    async fn handle(&self, peer: SocketAddr, req: http::Request<Incoming>) -> http::Response<ProxyBody> {
        let (mut parts, body) = req.into_parts();
        parts.extensions.insert(ClientAddr(peer));
        let found = self.guard.inspect(&parts, &[]);
        if !found.is_empty() {
            for (hit, d) in self.guard.hits(&parts, &found).into_iter().zip(found) {
                self.reporter.submit(Report { hit, jwt: d.jwt });
            }
            if let Some(a) = &self.answer {
                return a.clone().map(|b| Either::Right(Full::new(b)));
            }
        }
        strip_hop_by_hop(&mut parts.headers);
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
        parts.extensions = http::Extensions::new();
        match self.upstream.send(http::Request::from_parts(parts, body)).await {
            Ok(resp) => {
                let (mut rp, rb) = resp.into_parts();
                strip_hop_by_hop(&mut rp.headers);
                http::Response::from_parts(rp, Either::Left(rb))
            }
            Err(e) => {
                tracing::warn!(event = "upstream_failed", error = %e);
                status(StatusCode::BAD_GATEWAY)
            }
        }
    }
}

fn status(s: StatusCode) -> http::Response<ProxyBody> {
    let mut r = http::Response::new(Either::Right(Full::new(Bytes::new())));
    *r.status_mut() = s;
    r
}

/// Idle upstream connections kept for reuse.
const UPSTREAM_IDLE: usize = 64;

/// `guard`.
pub async fn run(g: &Global, a: GuardArgs) -> Result<()> {
    let authority = upstream_authority(&a.upstream)?;
    let source = match &a.trusted_proxy_header {
        Some(h) => Source::TrustedHeader(
            HeaderName::from_bytes(h.trim().as_bytes())
                .map_err(|_| Error::Invalid(format!("--trusted-proxy-header {h:?} is not a header name")))?,
        ),
        None => Source::Peer,
    };
    let service = a.service.clone().unwrap_or_else(|| authority.to_string());
    let ctx = crate::cli::open(g).await?;
    let fanout = match g.backend {
        Backend::Local => Some(crate::wiring::local::fanout(
            &ctx,
            a.webhook.as_deref(),
            a.throttle_window,
            crate::alerting::local::CHANNEL_QUEUE,
        )?),
        Backend::Aws => {
            if a.webhook.is_some() {
                return Err(Error::Invalid(
                    "--webhook is for the local backend; on AWS the stack's alerter sends the alerts".into(),
                ));
            }
            None
        }
    };
    let sink = crate::wiring::guard_sink(&ctx, fanout.as_ref().map(|f| f.listener.clone()));
    let (reporter, reporter_task) = Reporter::spawn(Arc::new(sink), a.queue, honeytoken_guard::DEFAULT_SINK_TIMEOUT);
    let proxy = Arc::new(Proxy {
        guard: Guard::new(ctx.key.clone(), &service).with_source(source),
        reporter: reporter.clone(),
        upstream: Pool::new(authority.clone(), UPSTREAM_IDLE, Duration::from_secs(60)),
        authority,
        answer: a.answer.then(|| crate::decoy::persona::Persona::default().response()),
    });
    // Each client connection may hold one upstream connection, and the pool
    // keeps up to UPSTREAM_IDLE more.
    let max_connections =
        super::serve::server::connection_cap(a.max_connections.saturating_mul(2).saturating_add(UPSTREAM_IDLE))
            .saturating_sub(UPSTREAM_IDLE)
            / 2;
    if max_connections < a.max_connections {
        eprintln!(
            "serving at most {max_connections} connections at once (lowered from {} to fit the open-file limit)",
            a.max_connections
        );
    }
    let listener = tokio::net::TcpListener::bind(a.listen).await.map_err(|e| {
        Error::Config(format!(
            "cannot listen on {}: {e}; pick another with --listen HOST:PORT",
            a.listen
        ))
    })?;
    let local = listener.local_addr().map_err(|e| Error::Config(e.to_string()))?;
    eprintln!("listening on http://{local}  (guarding {} as {service:?})", a.upstream);
    serve(listener, proxy, max_connections.max(1), super::serve::shutdown_signal())
        .await
        .map_err(|e| Error::Config(format!("server: {e}")))?;
    // Flush: the last reporter goes, the queue drains into the store, then the fan-out.
    let stats = reporter.stats();
    drop(reporter);
    let _ = reporter_task.await;
    if let Some(f) = fanout {
        let crate::alerting::local::Fanout { listener, task } = f;
        drop(listener);
        let _ = task.await;
    }
    eprintln!("stopped (hits queued {}, dropped {})", stats.queued, stats.dropped);
    Ok(())
}

/// The shared accept loop (connection cap, busy answer, graceful
/// shutdown) with the proxy's connections: no title-casing or other
/// rewriting of the upstream's answer.
async fn serve(
    listener: tokio::net::TcpListener,
    proxy: Arc<Proxy>,
    max_connections: usize,
    shutdown: impl std::future::Future<Output = ()>,
) -> std::io::Result<()> {
    use crate::cli::serve::server::{HEAD_TIMEOUT, MAX_HEAD, accept, raw_response};
    let mut busy = http::Response::new(Bytes::new());
    *busy.status_mut() = StatusCode::SERVICE_UNAVAILABLE;
    busy.headers_mut()
        .insert(http::header::RETRY_AFTER, http::HeaderValue::from_static("1"));
    accept(
        listener,
        max_connections,
        raw_response(&busy),
        shutdown,
        move |stream, peer| {
            let p = proxy.clone();
            let svc = service_fn(move |req| {
                let p = p.clone();
                async move { Ok::<_, Infallible>(p.handle(peer, req).await) }
            });
            http1::Builder::new()
                .max_buf_size(MAX_HEAD)
                .max_headers(1024)
                .timer(TokioTimer::new())
                .header_read_timeout(HEAD_TIMEOUT)
                .serve_connection(TokioIo::new(stream), svc)
        },
    )
    .await
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
    fn upstream_must_be_plain_http_without_a_path() {
        assert!(upstream_authority("http://127.0.0.1:8000").is_ok());
        assert!(upstream_authority("http://api.internal:8000/").is_ok());
        assert!(upstream_authority("https://api.acme.com").is_err());
        assert!(upstream_authority("http://api/v1").is_err());
        assert!(upstream_authority("not a url").is_err());
    }
}
