//! The guard's connections to the upstream, driven by the task of the
//! client connection that uses them rather than by tasks of their own.
//!
//! A pooled HTTP client runs each upstream connection as its own task:
//! a proxied request then crosses three tasks (client connection,
//! upstream connection, and back), each hop a wake-up that may land on
//! another worker thread. Here the request's own task polls the upstream
//! connection while it waits for the answer and while it streams the
//! answer's body, so the upstream's socket wakes that one task. At the
//! body's end the connection goes back to a small shared pool of idle
//! connections, if the upstream keeps it alive.

use hyper::body::{Body, Frame, Incoming, SizeHint};
use hyper::client::conn::http1;
use hyper_util::rt::TokioIo;
use std::future::{Future, poll_fn};
use std::pin::{Pin, pin};
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll, Waker};
use std::time::{Duration, Instant};
use tokio::net::TcpStream;

/// Why the upstream could not answer.
pub type UpstreamError = Box<dyn std::error::Error + Send + Sync>;

type Conn = http1::Connection<TokioIo<TcpStream>, Incoming>;

/// One upstream connection: the handle requests go in by, and the
/// connection future that does its I/O (`None` once it has ended).
struct Upstream {
    sender: http1::SendRequest<Incoming>,
    conn: Option<Pin<Box<Conn>>>,
}

impl Upstream {
    /// Lets the connection make progress; false once it has ended.
    fn drive(&mut self, cx: &mut Context<'_>) -> bool {
        if let Some(c) = self.conn.as_mut()
            && let Poll::Ready(r) = c.as_mut().poll(cx)
        {
            if let Err(e) = r {
                tracing::debug!(error = %e, "upstream connection ended");
            }
            self.conn = None;
        }
        self.conn.is_some()
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
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        while let Some((since, mut up)) = idle.pop() {
            if since.elapsed() < self.idle_timeout && up.reusable() {
                return Some(up);
            }
        }
        None
    }

    fn checkin(&self, mut up: Upstream) {
        if !up.reusable() {
            return;
        }
        let mut idle = self.idle.lock().unwrap_or_else(|p| p.into_inner());
        if idle.len() < self.max_idle {
            idle.push((Instant::now(), up));
        }
    }

    async fn connect(&self) -> Result<Upstream, UpstreamError> {
        let port = self.authority.port_u16().unwrap_or(80);
        let stream = TcpStream::connect((self.authority.host(), port)).await?;
        stream.set_nodelay(true)?;
        let (sender, conn) = http1::Builder::new().handshake(TokioIo::new(stream)).await?;
        Ok(Upstream {
            sender,
            conn: Some(Box::pin(conn)),
        })
    }

    /// Sends `req` (origin-form URI, its own Host header) upstream. The
    /// answer's body drives the connection and returns it to the pool at
    /// its end. A pooled connection that turns out closed before the
    /// request was written is dropped and the request sent on the next.
    pub async fn send(
        self: &Arc<Self>,
        mut req: http::Request<Incoming>,
    ) -> Result<http::Response<PooledBody>, UpstreamError> {
        loop {
            let (mut up, pooled) = match self.checkout() {
                Some(up) => (up, true),
                None => (self.connect().await?, false),
            };
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
