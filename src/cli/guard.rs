//! `guard`: a reverse proxy in front of an existing API, in any language.
//! Every request is inspected for honeytokens (head: headers, query,
//! cookies; and the first bytes of its body, copied aside while the body
//! streams to the upstream) and passed to the upstream unchanged but for
//! hop-by-hop headers; the upstream's answer comes back as it was sent,
//! header names in their own case, with no header added. Upgrades
//! (WebSocket) are tunnelled once the upgrade request is inspected. Each
//! honeytoken request becomes a hit (`via: guard`) handed to a bounded
//! background reporter, stored in the backend's hits table under the flood
//! rule and alerted like any hit: `--backend local` through `serve`'s
//! terminal/webhook fan-out, `--backend aws` through the stack's alerter.

use bytes::Bytes;
use clap::Args;
use http::HeaderName;
use std::net::SocketAddr;
use std::sync::Arc;
use std::task::Context;
use std::time::Duration;

use honeytoken_guard::{Guard, Reporter, Source};

use super::{Backend, Global};
use crate::error::{Error, Result};
use crate::http::proxy::{self, Proxy};

/// `guard` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Requests and answers pass through unchanged, header names in their own case
(hop-by-hop headers such as Connection, Keep-Alive, Transfer-Encoding and
Upgrade are handled per hop, as a proxy must; a WebSocket upgrade is
tunnelled). The head and the first 64 KiB of the body are inspected, the body
streaming on meanwhile. A request carrying a honeytoken is recorded as a hit
`via: guard` and alerted like any hit; nothing in the answer says so. At
--max-connections further connections wait in the listen backlog.

The upstream is spoken to in plain HTTP/1.1: run the guard beside the service
(same host, pod or task) and terminate TLS in front of the guard.

The guard runs --workers event loops (default one: it shares the host with
the service, and one loop costs the least CPU per request), each a thread of
its own that serves a connection from accept to close, as nginx's worker
processes do (BENCHMARKS.md compares the two)."
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
    /// (this installation's default persona, as `serve` answers without
    /// --persona) instead of passing them to the upstream.
    #[arg(long)]
    pub answer: bool,
    /// Hits queued for the store at most; past that they are dropped, counted and logged.
    #[arg(long, default_value_t = 1024, value_name = "N")]
    pub queue: usize,
    /// Also POST each alert as JSON to this URL (local backend).
    #[arg(long, value_name = "URL", env = "HONEYTOKEN_WEBHOOK")]
    pub webhook: Option<String>,
    /// Client connections served at once; past it the guard accepts no
    /// more until one ends: they wait in the kernel's listen backlog (and
    /// are refused by the kernel once it is full), as at any overloaded
    /// server. Lowered to fit the open-file limit (each client connection
    /// may hold one to the upstream too).
    #[arg(long, default_value_t = 4096, value_name = "N")]
    pub max_connections: usize,
    /// Worker threads, each an event loop serving its connections from
    /// accept to close. One by default: the guard shares its host with the
    /// service it guards, and one loop costs the least CPU per request (it
    /// handles several sockets' events per wake-up); raise it only where the
    /// guard itself is the bottleneck (BENCHMARKS.md).
    #[arg(long, value_name = "N", env = "HONEYTOKEN_GUARD_WORKERS", default_value_t = 1, value_parser = clap::value_parser!(u16).range(1..=1024))]
    pub workers: u16,
    /// The body of the 502 answered when the upstream cannot be reached
    /// (default: nginx's stock 502 page, as the reverse proxy most often
    /// found in front of an API answers).
    #[arg(long, value_name = "FILE", env = "HONEYTOKEN_GUARD_ERROR_PAGE")]
    pub upstream_error_page: Option<std::path::PathBuf>,
    /// The Server header of that 502 (empty: none).
    #[arg(
        long,
        default_value = "nginx",
        value_name = "NAME",
        env = "HONEYTOKEN_GUARD_ERROR_SERVER"
    )]
    pub upstream_error_server: String,
    /// Throttle window of the local alert fan-out (as for `serve`).
    #[arg(long, default_value = "15m", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub throttle_window: Duration,
    /// Append every hit, and every request the guard could not store, to
    /// this file as one Elastic Common Schema JSON line (mode 0600), as
    /// `serve --hit-log` does.
    #[arg(long, value_name = "FILE", env = "HONEYTOKEN_HIT_LOG")]
    pub hit_log: Option<std::path::PathBuf>,
}
/// `guard`.
pub async fn run(g: &Global, a: GuardArgs) -> Result<()> {
    let authority = proxy::upstream_authority(&a.upstream)?;
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
    let hit_log = a.hit_log.as_deref().map(crate::wiring::local::hit_log).transpose()?;
    let listeners: Vec<crate::domain::HitListener> = fanout
        .as_ref()
        .map(|f| f.listener.clone())
        .into_iter()
        .chain(hit_log.as_ref().map(|l| l.listener()))
        .collect();
    let listener: Option<crate::domain::HitListener> = match listeners.len() {
        0 => None,
        1 => listeners.into_iter().next(),
        _ => Some(Arc::new(move |hit: &crate::domain::hit::Hit, stored| {
            for l in &listeners {
                l(hit, stored);
            }
        })),
    };
    let sink = crate::wiring::guard_sink(&ctx, listener);
    let (reporter, reporter_task) = Reporter::spawn(Arc::new(sink), a.queue, honeytoken_guard::DEFAULT_SINK_TIMEOUT);
    let page = match &a.upstream_error_page {
        Some(p) => Some(Bytes::from(std::fs::read(p).map_err(|e| {
            Error::Config(format!("--upstream-error-page {}: {e}", p.display()))
        })?)),
        None => None,
    };
    let guard = Guard::new(ctx.key.clone(), &service).with_source(source);
    let answer = a
        .answer
        .then(|| crate::decoy::installation::persona(&ctx.key).response());
    let upstream_error = proxy::upstream_error_answer(page, a.upstream_error_server.trim());
    let upstream = authority.clone();
    let workers = usize::from(a.workers);
    let make = || {
        Proxy::new(
            guard.clone(),
            reporter.clone(),
            upstream.clone(),
            answer.clone(),
            upstream_error.clone(),
            workers,
        )
    };
    let max_connections = proxy::connection_cap(a.max_connections, workers);
    if max_connections < a.max_connections {
        eprintln!(
            "serving at most {max_connections} connections at once (lowered from {} to fit the open-file limit)",
            a.max_connections
        );
    }
    // Bound by tokio (its backlog of 1,024), then handed to the workers.
    let listener = tokio::net::TcpListener::bind(a.listen)
        .await
        .and_then(|l| l.into_std())
        .map_err(|e| {
            Error::Config(format!(
                "cannot listen on {}: {e}; pick another with --listen HOST:PORT",
                a.listen
            ))
        })?;
    let local = listener.local_addr().map_err(|e| Error::Config(e.to_string()))?;
    // Polled once before the address is announced, so its signal handlers
    // are in place: a SIGTERM right after the announcement stops the guard
    // cleanly rather than killing it.
    let mut shutdown = Box::pin(super::serve::shutdown_signal());
    let _ = std::future::Future::poll(shutdown.as_mut(), &mut Context::from_waker(std::task::Waker::noop()));
    eprintln!("listening on http://{local}  (guarding {} as {service:?})", a.upstream);
    proxy::serve(listener, make, workers, max_connections.max(1), shutdown)
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
    if let Some(log) = hit_log {
        log.finish();
    }
    eprintln!("stopped (hits queued {}, dropped {})", stats.queued, stats.dropped);
    Ok(())
}
