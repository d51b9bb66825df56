//! The guard's connections to the upstream, driven by the task of the
//! client connection that uses them rather than by tasks of their own.
//!
//! A pooled HTTP client runs each upstream connection as its own task:
//! a proxied request then crosses three tasks (client connection,
//! upstream connection, and back), each hop a wake-up that may land on
//! another worker thread. Here the request's own task polls the upstream
//! connection while it waits for the answer and while it streams the
//! answer's body, so the upstream's socket wakes that one task (a request
//! with a body excepted: see [`Pool::send`]). At the body's end the
//! connection goes back to a small shared pool of idle connections, if the
//! upstream keeps it alive.

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

use super::proxy::ScannedBody;

/// How long a connection to the upstream may take: past it the client gets
/// a 502 rather than a request that hangs on an unreachable upstream.
pub const CONNECT_TIMEOUT: Duration = Duration::from_secs(10);

/// Why the upstream could not answer.
pub type UpstreamError = Box<dyn std::error::Error + Send + Sync>;

type Conn = http1::Connection<TokioIo<TcpStream>, ScannedBody>;

/// Who polls a connection's I/O.
enum Driver {
    /// Whoever holds the [`Upstream`]: the request's task.
    InTask(Pin<Box<Conn>>),
    /// A task of its own (see [`Pool::send`]).
    Spawned,
    Ended,
}

/// One upstream connection: the handle requests go in by, and its driver.
struct Upstream {
    sender: http1::SendRequest<ScannedBody>,
    driver: Driver,
}

impl Upstream {
    /// Lets the connection make progress; false once it has ended.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        match &mut self.driver {
            Driver::InTask(c) => {
                if let Poll::Ready(r) = c.as_mut().poll(cx) {
                    if let Err(e) = r {
                        tracing::debug!(error = %e, "upstream connection ended");
                    }
                    self.driver = Driver::Ended;
                    return false;
                }
                true
            }
            Driver::Spawned => !self.sender.is_closed(),
            Driver::Ended => false,
        }
    }

    /// Hands the connection's I/O to a task of its own.
    fn spawn_driver(&mut self) {
        if let Driver::InTask(c) = std::mem::replace(&mut self.driver, Driver::Spawned) {
            tokio::spawn(async move {
                if let Err(e) = c.await {
                    tracing::debug!(error = %e, "upstream connection ended");
                }
            });
        }
    }

    /// Whether it can take the next request now. Polls the connection once
    /// without a waker, which is enough for it to notice the end of the last
    /// exchange or a close the upstream sent while it sat idle.
    fn reusable(&mut self) -> bool {
        self.drive(&mut Context::from_waker(Waker::noop())) && self.sender.is_ready()
    }
}

/// Idle upstream connections, shared by every client connection.
pub struct Pool {
    authority: http::uri::Authority,
    idle: Mutex<Vec<(Instant, Upstream)>>,
    max_idle: usize,
    idle_timeout: Duration,
}

impl Pool {
    /// A pool for the upstream at `authority`, keeping at most `max_idle`
    /// idle connections, each for at most `idle_timeout`.
    pub fn new(authority: http::uri::Authority, max_idle: usize, idle_timeout: Duration) -> Arc<Pool> {
        Arc::new(Pool {
            authority,
            idle: Mutex::new(Vec::new()),
            max_idle,
            idle_timeout,
        })
    }

    /// The most recently used idle connection still good for a request.
    fn checkout(&self) -> Option<Upstream> {
        loop {
            // Taken out under the lock, checked (which may read the socket) outside it.
            let (since, mut up) = self.idle.lock().unwrap_or_else(|p| p.into_inner()).pop()?;
            if since.elapsed() < self.idle_timeout && up.reusable() {
                return Some(up);
            }
        }
    }

    fn checkin(&self, mut up: Upstream) {
        if !up.reusable() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        // Connections past their time go here too, not only when they reach the top.
        idle.retain(|(since, _)| since.elapsed() < self.idle_timeout);
        if idle.len() < self.max_idle {
            idle.push((Instant::now(), up));
        }
    }

    async fn open(&self) -> Result<TcpStream, UpstreamError> {
        let port = self.authority.port_u16().unwrap_or(80);
        let stream = tokio::time::timeout(
            CONNECT_TIMEOUT,
            TcpStream::connect((socket_host(&self.authority), port)),
        )
        .await
        .map_err(|_| format!("no connection to the upstream within {}s", CONNECT_TIMEOUT.as_secs()))??;
        stream.set_nodelay(true)?;
        Ok(stream)
    }

    /// A connection speaking HTTP/1.1 that keeps header names' case: a
    /// request's names go out as the client wrote them, and the answer's
    /// come back with theirs (in the answer's extensions).
    fn builder() -> http1::Builder {
        let mut b = http1::Builder::new();
        b.preserve_header_case(true);
        b
    }

    async fn connect(&self) -> Result<Upstream, UpstreamError> {
        let stream = self.open().await?;
        let (sender, conn) = Self::builder().handshake(TokioIo::new(stream)).await?;
        Ok(Upstream {
            sender,
            driver: Driver::InTask(Box::pin(conn)),
        })
    }

    /// Sends an upgrade request (WebSocket) on a connection of its own,
    /// never pooled: after a `101 Switching Protocols` answer it carries
    /// the upgraded protocol (see `hyper::upgrade::on` on the answer).
    pub async fn send_upgrade(
        &self,
        req: http::Request<ScannedBody>,
    ) -> Result<http::Response<Incoming>, UpstreamError> {
        let stream = self.open().await?;
        let (mut sender, conn) = Self::builder().handshake(TokioIo::new(stream)).await?;
        tokio::spawn(async move {
            if let Err(e) = conn.with_upgrades().await {
                tracing::debug!(error = %e, "upstream connection ended");
            }
        });
        Ok(sender.send_request(req).await?)
    }

    /// Sends `req` (origin-form URI, its own Host header) upstream. The
    /// answer's body drives the connection and returns it to the pool at
    /// its end. A pooled connection that turns out closed before the
    /// request was written is dropped and the request sent on the next.
    ///
    /// A request with a body gets a connection driven by a task of its own:
    /// an upstream may answer before the body is all sent, and a client may
    /// send all of it before reading, so the upload must go on while the
    /// answer waits for the client, which the request's task cannot do
    /// while hyper holds its answer back.
    pub async fn send(
        self: &Arc<Self>,
        mut req: http::Request<ScannedBody>,
    ) -> Result<http::Response<PooledBody>, UpstreamError> {
        loop {
            let (mut up, pooled) = match self.checkout() {
                Some(up) => (up, true),
                None => (self.connect().await?, false),
            };
            if !req.body().is_end_stream() {
                up.spawn_driver();
            }
            let ready = poll_fn(|cx| {
                up.drive(cx);
                up.sender.poll_ready(cx)
            })
            .await;
            if let Err(e) = ready {
                if pooled {
                    continue;
                }
                return Err(e.into());
            }
            let mut answer = pin!(up.sender.try_send_request(req));
            let answer = poll_fn(|cx| {
                up.drive(cx);
                answer.as_mut().poll(cx)
            })
            .await;
            match answer {
                Ok(resp) => {
                    return Ok(resp.map(|body| PooledBody {
                        body,
                        up: Some(up),
                        pool: self.clone(),
                    }));
                }
                Err(mut e) => match e.take_message() {
                    Some(r) if pooled => req = r,
                    _ => return Err(e.into_error().into()),
                },
            }
        }
    }
}

/// The host to connect to: `[::1]` in a URL is the address `::1`.
fn socket_host(a: &http::uri::Authority) -> &str {
    let host = a.host();
    host.strip_prefix('[').and_then(|h| h.strip_suffix(']')).unwrap_or(host)
}

/// The upstream's answer body, with the connection it arrives on.
pub struct PooledBody {
    body: Incoming,
    up: Option<Upstream>,
    pool: Arc<Pool>,
}

impl Body for PooledBody {
    type Data = bytes::Bytes;
    type Error = hyper::Error;

    fn poll_frame(self: Pin<&mut Self>, cx: &mut Context<'_>) -> Poll<Option<Result<Frame<Self::Data>, Self::Error>>> {
        let this = self.get_mut();
        if let Some(up) = this.up.as_mut() {
            up.drive(cx);
        }
        let frame = Pin::new(&mut this.body).poll_frame(cx);
        if let Poll::Ready(None) = frame
            && let Some(up) = this.up.take()
        {
            this.pool.checkin(up);
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

impl Drop for PooledBody {
    fn drop(&mut self) {
        // A body that was empty from the start is never polled; one dropped
        // half-read (the client went away) takes its connection with it.
        if let Some(up) = self.up.take()
            && self.body.is_end_stream()
        {
            self.pool.checkin(up);
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn an_ipv6_upstream_is_connected_to_without_its_brackets() {
        let host = |a: &str| socket_host(&a.parse().unwrap()).to_string();
        assert_eq!(host("[::1]:8000"), "::1");
        assert_eq!(host("[2001:db8::7]"), "2001:db8::7");
        assert_eq!(host("127.0.0.1:8000"), "127.0.0.1");
        assert_eq!(host("api.internal:8000"), "api.internal");
    }
}
