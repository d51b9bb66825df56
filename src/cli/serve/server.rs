//! `honeytoken serve`: the decoy handler on a local HTTP/1.1 server.
//!
//! Limits are set so hostile requests are answered rather than refused by
//! the HTTP layer (which would look different from a real API's answer):
//! large heads are accepted and capped later, bodies are read up to the
//! scan limit and the rest drained and discarded.

use bytes::Bytes;
use http_body_util::{BodyExt, Full};
use hyper::body::Incoming;
use hyper::server::conn::http1;
use hyper::service::service_fn;
use hyper_util::rt::{TokioIo, TokioTimer};
use std::convert::Infallible;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::Duration;
use tokio::net::TcpListener;

use crate::decoy::{Decoy, RequestMeta};

/// Largest request head accepted (a 1 MiB header must still be answered).
pub const MAX_HEAD: usize = 2 * 1024 * 1024;
/// Body bytes kept for scanning.
pub const BODY_KEEP: usize = 64 * 1024;
/// Body bytes read and discarded before the connection is closed.
pub const BODY_DRAIN: usize = 16 * 1024 * 1024;
/// Time allowed to send a request head.
pub const HEAD_TIMEOUT: Duration = Duration::from_secs(10);
/// Time allowed for in-flight requests at shutdown.
pub const SHUTDOWN_GRACE: Duration = Duration::from_secs(10);

/// Reads up to `keep` bytes of the body, draining (and dropping) up to `drain`.
async fn read_body(mut body: Incoming, keep: usize, drain: usize) -> Bytes {
    let mut kept = Vec::new();
    let mut seen = 0usize;
    while let Some(frame) = body.frame().await {
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

/// Serves `decoy` on `listener` until `shutdown` resolves, then waits for
/// in-flight requests (whose hits are stored before they are answered).
pub async fn run(listener: TcpListener, decoy: Arc<Decoy>, shutdown: impl Future<Output = ()>) -> std::io::Result<()> {
    let graceful = hyper_util::server::graceful::GracefulShutdown::new();
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
                let _ = stream.set_nodelay(true);
                let conn = http1::Builder::new()
                    .max_buf_size(MAX_HEAD)
                    .max_headers(1024)
                    // As most API servers write them; hyper's default is lower case,
                    // which few real APIs send.
                    .title_case_headers(true)
                    .timer(TokioTimer::new())
                    .header_read_timeout(HEAD_TIMEOUT)
                    .serve_connection(TokioIo::new(stream), service(decoy.clone(), peer));
                let conn = graceful.watch(conn);
                tokio::spawn(async move {
                    if let Err(e) = conn.await {
                        tracing::debug!(error = %e, "connection ended");
                    }
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
            let body = read_body(body, BODY_KEEP, BODY_DRAIN).await;
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
