//! `honeytoken serve`: the decoy handler on a local HTTP/1.1 server.
//!
//! Limits are set so hostile requests are answered rather than refused by
//! the HTTP layer (which would look different from a real API's answer):
//! large heads are accepted and capped later, bodies are read up to the
//! scan limit and the rest drained and discarded.
//!
//! Slow clients cannot starve it: a request's head must arrive within the
//! header timeout and its body within the body timeout (the request is
//! then answered with what arrived), and connections are capped below the
//! open-file limit; a connection over the cap gets the persona's 503, as
//! from a busy API, and is closed, so the listener never runs out of file
//! descriptors and keeps accepting.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use hyper_util::server::graceful::GracefulConnection;
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::Semaphore;

use crate::decoy::{Decoy, RequestMeta};

/// Largest request head accepted (a 1 MiB header must still be answered).
pub const MAX_HEAD: usize = 2 * 1024 * 1024;
/// Body bytes kept for scanning: one past the scan bound, so a longer body is recorded as past it.
pub const BODY_KEEP: usize = crate::domain::token::extract::BODY_SCAN + 1;
/// Body bytes read and discarded before the connection is closed.
pub const BODY_DRAIN: usize = 16 * 1024 * 1024;
/// Time allowed to send a request head (default).
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for in-flight requests at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);
/// File descriptors kept free for everything but client connections: the
/// database and spool, webhook connections, the runtime.
pub const FD_RESERVE: u64 = 64;
/// Over-cap connections being answered 503 and closed gracefully at once
/// (at most); past that they get the 503 written and are closed at once.
pub const BUSY_ANSWERS: usize = 64;

/// Connection and time limits.
#[derive(Debug, Clone, Copy)]
pub struct Limits {
    /// Connections served at once.
    pub max_connections: usize,
    /// Time allowed to send a request head.
    pub header_timeout: Duration,
    /// Time allowed to send a request body.
    pub body_timeout: Duration,
}

impl Default for Limits {
    fn default() -> Self {
        Limits {
            max_connections: 4096,
            header_timeout: HEAD_TIMEOUT,
            body_timeout: Duration::from_secs(10),
        }
    }
}

/// `wanted` connections, lowered to fit the open-file limit (whose soft
/// value is first raised to the hard one, as servers commonly do).
pub fn connection_cap(wanted: usize) -> usize {
    #[cfg(unix)]
    {
        let mut r = libc::rlimit {
            rlim_cur: 0,
            rlim_max: 0,
        };
        // SAFETY: getrlimit/setrlimit write/read only the struct passed.
        unsafe {
            if libc::getrlimit(libc::RLIMIT_NOFILE, &mut r) == 0 {
                if r.rlim_cur < r.rlim_max {
                    let raised = libc::rlimit {
                        rlim_cur: r.rlim_max,
                        rlim_max: r.rlim_max,
                    };
                    if libc::setrlimit(libc::RLIMIT_NOFILE, &raised) == 0 {
                        r.rlim_cur = r.rlim_max;
                    }
                }
                // rlim_t is u64 on Linux, not on every Unix.
                #[allow(clippy::unnecessary_cast)]
                let fds = r.rlim_cur as u64;
                // Each connection is one descriptor.
                let room = if fds > 2 * FD_RESERVE {
                    fds - FD_RESERVE
                } else {
                    fds / 2
                };
                // Each busy answer holds a descriptor for a moment too.
                let room = room.saturating_sub(BUSY_ANSWERS as u64);
                return wanted.min(room.max(1) as usize);
            }
        }
    }
    wanted.max(1)
}

/// Reads up to `keep` bytes of the body, draining (and dropping) up to
/// `drain`, until `deadline`; what was kept by then.
async fn read_body(mut body: Incoming, keep: usize, drain: usize, deadline: tokio::time::Instant) -> Bytes {
    let mut kept = Vec::new();
    let mut seen = 0usize;
    loop {
        let frame = match tokio::time::timeout_at(deadline, body.frame()).await {
            Ok(Some(f)) => f,
            Ok(None) | Err(_) => break,
        };
        let Ok(frame) = frame else { break };
        if let Ok(data) = frame.into_data() {
            seen += data.len();
            if kept.len() < keep {
                let take = (keep - kept.len()).min(data.len());
                kept.extend_from_slice(&data[..take]);
            }
            if seen >= drain {
                break;
            }
        }
    }
    Bytes::from(kept)
}

/// A response as bytes on the wire (for answers given outside hyper).
pub fn raw_response(r: &http::Response<Bytes>) -> Vec<u8> {
    let mut out = format!(
        "HTTP/1.1 {} {}\r\n",
        r.status().as_u16(),
        r.status().canonical_reason().unwrap_or("")
    )
    .into_bytes();
    for (k, v) in r.headers() {
        out.extend_from_slice(k.as_str().as_bytes());
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    let date = httpdate(std::time::SystemTime::now());
    out.extend_from_slice(
        format!(
            "content-length: {}\r\nconnection: close\r\ndate: {date}\r\n\r\n",
            r.body().len()
        )
        .as_bytes(),
    );
    out.extend_from_slice(r.body());
    out
}

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as hyper writes it.
pub(crate) fn httpdate(t: std::time::SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(&f).unwrap_or_default()
}

/// Answers an over-cap connection 503 and closes it, reading (and
/// dropping) what the client sent for a moment so the close is clean.
async fn answer_busy(mut stream: TcpStream, answer: Arc<Vec<u8>>) {
    let _ = tokio::time::timeout(Duration::from_millis(200), async {
        let _ = stream.write_all(&answer).await;
        let _ = stream.shutdown().await;
        let mut sink = [0u8; 4096];
        while let Ok(n) = stream.read(&mut sink).await {
            if n == 0 {
                break;
            }
        }
    })
    .await;
}

/// Serves `decoy` on `listener` until `shutdown` resolves, then waits for
/// in-flight requests (whose hits are stored before they are answered).
pub async fn run(
    listener: TcpListener,
    decoy: Arc<Decoy>,
    limits: Limits,
    shutdown: impl Future<Output = ()>,
) -> std::io::Result<()> {
    let busy_answer = raw_response(&decoy.persona().busy_response());
    accept(
        listener,
        limits.max_connections,
        busy_answer,
        shutdown,
        move |stream, peer| {
            http1::Builder::new()
                .max_buf_size(MAX_HEAD)
                .max_headers(1024)
                // As most API servers write them; hyper's default is lower case,
                // which few real APIs send.
                .title_case_headers(true)
                .timer(TokioTimer::new())
                .header_read_timeout(limits.header_timeout)
                .serve_connection(TokioIo::new(stream), service(decoy.clone(), peer, limits.body_timeout))
        },
    )
    .await
}

/// The accept loop of every listener (`serve`, `guard`): at most
/// `max_connections` connections are served at once, each by the
/// connection `connection` makes; one over the cap gets `busy_answer` (raw
/// bytes, as from a busy server) and is closed, so the process never runs
/// out of file descriptors and keeps accepting. When `shutdown` resolves,
/// accepting stops and open connections get [`SHUTDOWN_GRACE`] to finish.
pub async fn accept<C, F>(
    listener: TcpListener,
    max_connections: usize,
    busy_answer: Vec<u8>,
    shutdown: impl Future<Output = ()>,
    connection: F,
) -> std::io::Result<()>
where
    F: Fn(TcpStream, SocketAddr) -> C,
    C: GracefulConnection + Send + 'static,
    C::Error: std::fmt::Display,
{
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
    let slots = Arc::new(Semaphore::new(max_connections.max(1)));
    let busy = Arc::new(Semaphore::new(BUSY_ANSWERS));
    let busy_answer = Arc::new(busy_answer);
    let mut over_cap: u64 = 0;
    let mut last_over_cap_log = tokio::time::Instant::now() - Duration::from_secs(60);
    tokio::pin!(shutdown);
    loop {
        tokio::select! {
            accepted = listener.accept() => {
                let (stream, peer) = match accepted {
                    Ok(x) => x,
                    Err(e) => {
                        // Out of file descriptors and the like: back off, keep serving.
                        tracing::warn!(error = %e, "accept failed");
                        tokio::time::sleep(Duration::from_millis(50)).await;
                        continue;
                    }
                };
                let Ok(slot) = slots.clone().try_acquire_owned() else {
                    over_cap += 1;
                    if last_over_cap_log.elapsed() >= Duration::from_secs(10) {
                        last_over_cap_log = tokio::time::Instant::now();
                        tracing::warn!(connections = max_connections, refused = over_cap, "connection cap reached; answering 503");
                    }
                    match busy.clone().try_acquire_owned() {
                        Ok(permit) => {
                            let answer = busy_answer.clone();
                            tokio::spawn(async move {
                                answer_busy(stream, answer).await;
                                drop(permit);
                            });
                        }
                        // An empty socket buffer takes the whole answer without waiting.
                        Err(_) => {
                            let _ = stream.try_write(&busy_answer);
                            drop(stream);
                        }
                    }
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let conn = graceful.watch(connection(stream, peer));
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended");
                    }
                    drop(slot);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    if tokio::time::timeout(SHUTDOWN_GRACE, graceful.shutdown()).await.is_err() {
        tracing::warn!("some connections were still open at shutdown");
    }
    Ok(())
}

fn service(
    decoy: Arc<Decoy>,
    peer: SocketAddr,
    body_timeout: Duration,
) -> impl hyper::service::Service<
    hyper::Request<Incoming>,
    Response = hyper::Response<Full<Bytes>>,
    Error = Infallible,
    Future: Send,
> + Clone {
    service_fn(move |req: hyper::Request<Incoming>| {
        let decoy = decoy.clone();
        async move {
            let (parts, body) = req.into_parts();
            let deadline = tokio::time::Instant::now() + body_timeout;
            let body = read_body(body, BODY_KEEP, BODY_DRAIN, deadline).await;
            let req = http::Request::from_parts(parts, body);
            let meta = RequestMeta {
                source_ip: peer.ip().to_canonical().to_string(),
                request_id: None,
            };
            let resp = decoy.handle(req, meta).await;
            Ok::<_, Infallible>(resp.map(Full::new))
        }
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn busy_answer_is_a_plain_503_with_the_persona_headers() {
        let p = crate::decoy::persona::Persona::default();
        let raw = String::from_utf8(raw_response(&p.busy_response())).unwrap();
        assert!(raw.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{raw}");
        assert!(raw.contains("content-type: application/json\r\n"));
        assert!(raw.contains("retry-after: 1\r\n"));
        assert!(raw.contains(" GMT\r\n"));
        let lower = raw.to_lowercase();
        for word in ["honey", "decoy", "canary", "trap"] {
            assert!(!lower.contains(word), "{word}");
        }
    }
}
