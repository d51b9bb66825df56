//! `honeytoken serve`: the decoy handler on a local HTTP/1.1 server of its
//! own. A generic HTTP library writes every answer its way (header names in
//! one casing, its own empty 400/414 for a request it cannot parse), which
//! tells a scanner what answers; here the head is read with `httparse` and
//! the answer's head written by hand, so every byte on the wire is the
//! persona's: header names in its case and order, and a malformed request
//! or a connection over the cap answered as the persona's server answers
//! them, each with fresh per-request fields.
//!
//! Limits are set so hostile requests are answered rather than refused
//! (which would look different from a real API's answer): heads up to
//! [`MAX_HEAD`] with up to [`MAX_HEADERS`] fields, bodies read up to the
//! scan limit and the rest drained and discarded. Keep-alive, pipelined
//! requests (answered in order), `Content-Length` and chunked bodies,
//! `Expect: 100-continue` and HTTP/1.0 clients are served.
//!
//! Slow clients cannot starve it: a request's head must arrive within the
//! header timeout and its body within the body timeout (the request is
//! then answered with what arrived), and connections are capped below the
//! open-file limit; a connection over the cap gets the persona's 503, as
//! from a busy API, and is closed, so the listener never runs out of file
//! descriptors and keeps accepting.

use bytes::{Buf, Bytes, BytesMut};
use http::{HeaderMap, HeaderName, HeaderValue, Method, Response, StatusCode, Uri, Version};
use std::cell::RefCell;
use std::future::Future;
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, SystemTime};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Semaphore, watch};

use crate::decoy::persona::{ExactHeaders, Persona};
use crate::decoy::refusal::Refusal;
use crate::decoy::{Decoy, RequestMeta};

/// Largest request head accepted (a 1 MiB header must still be answered).
pub const MAX_HEAD: usize = 2 * 1024 * 1024;
/// Most header fields in a request head.
pub const MAX_HEADERS: usize = 1024;
/// Longest request target (what the `http` crate's `Uri` holds); longer
/// ones get the persona's 414.
pub const MAX_URI: usize = u16::MAX as usize - 1;
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
/// Longest chunk-size line (with extensions) read in a chunked body.
const MAX_CHUNK_LINE: usize = 4096;
/// How long a closing connection is read (and dropped) after its last
/// answer, so unread request bytes do not turn the close into a reset that
/// destroys the answer in flight.
const LINGER: Duration = Duration::from_millis(200);

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

/// An IMF-fixdate (`Sun, 06 Nov 1994 08:49:37 GMT`), as servers write `Date`.
pub(crate) fn httpdate(t: SystemTime) -> String {
    let t = time::OffsetDateTime::from(t);
    let f = time::macros::format_description!(
        "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
    );
    t.format(&f).unwrap_or_default()
}

thread_local! {
    /// The current second's `Date`, formatted once per second per thread.
    static DATE: RefCell<(u64, String)> = const { RefCell::new((u64::MAX, String::new())) };
}

/// Appends the current `Date` value.
fn push_date(out: &mut Vec<u8>) {
    let now = SystemTime::now();
    let secs = now.duration_since(SystemTime::UNIX_EPOCH).map_or(0, |d| d.as_secs());
    DATE.with(|d| {
        let mut d = d.borrow_mut();
        if d.0 != secs {
            *d = (secs, httpdate(now));
        }
        out.extend_from_slice(d.1.as_bytes());
    });
}

/// Appends `name` in title case (`Content-Length`): for header names the
/// persona does not spell.
fn push_title_case(out: &mut Vec<u8>, name: &str) {
    let mut upper = true;
    for b in name.bytes() {
        out.push(if upper { b.to_ascii_uppercase() } else { b });
        upper = b == b'-';
    }
}

/// What the `Connection` header of an answer says, if anything.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum ConnectionHeader {
    /// Nothing (HTTP/1.1 keeps the connection by default).
    Default,
    /// `keep-alive`: an HTTP/1.0 client that asked to keep it.
    KeepAlive,
    /// `close`: the connection ends after this answer.
    Close,
}

/// Writes `r` as an HTTP/1.1 answer into `out` (cleared first): the
/// persona's exact header lines ([`ExactHeaders`]: names in its case, in its
/// order, a repeated name where it comes), then any header of `r`'s map the
/// lines lack, in title case. `Content-Length`, `Date` and `Connection` are
/// the server's: written where the persona puts them, or after the rest,
/// with this answer's values; the body is always delimited by its length.
fn write_answer(out: &mut Vec<u8>, r: &Response<Bytes>, head_only: bool, connection: ConnectionHeader) {
    out.clear();
    let status = r.status();
    out.extend_from_slice(b"HTTP/1.1 ");
    out.extend_from_slice(status.as_str().as_bytes());
    out.push(b' ');
    out.extend_from_slice(status.canonical_reason().unwrap_or("").as_bytes());
    out.extend_from_slice(b"\r\n");
    // RFC 9110 8.6: no Content-Length in a 1xx or 204 answer (nor a 304's own).
    let with_length =
        !(status.is_informational() || status == StatusCode::NO_CONTENT || status == StatusCode::NOT_MODIFIED);
    let body = r.body();
    let conn_value = match connection {
        ConnectionHeader::Default => None,
        ConnectionHeader::KeepAlive => Some("keep-alive"),
        ConnectionHeader::Close => Some("close"),
    };
    let (mut wrote_length, mut wrote_date, mut wrote_connection) = (false, false, false);
    let line = |out: &mut Vec<u8>, name: &[u8], value: &[u8]| {
        out.extend_from_slice(name);
        out.extend_from_slice(b": ");
        out.extend_from_slice(value);
        out.extend_from_slice(b"\r\n");
    };
    let lines: &[(String, String)] = r.extensions().get::<ExactHeaders>().map_or(&[], |e| e.0.as_slice());
    for (name, value) in lines {
        let n = name.as_str();
        if n.eq_ignore_ascii_case("content-length") {
            if with_length && !wrote_length {
                length_line(out, n.as_bytes(), body.len());
            }
            wrote_length = true;
        } else if n.eq_ignore_ascii_case("date") {
            if !wrote_date {
                out.extend_from_slice(n.as_bytes());
                out.extend_from_slice(b": ");
                push_date(out);
                out.extend_from_slice(b"\r\n");
            }
            wrote_date = true;
        } else if n.eq_ignore_ascii_case("connection") {
            if !wrote_connection {
                line(out, n.as_bytes(), conn_value.unwrap_or("keep-alive").as_bytes());
            }
            wrote_connection = true;
        } else if n.eq_ignore_ascii_case("transfer-encoding")
            || (n.eq_ignore_ascii_case("keep-alive") && connection == ConnectionHeader::Close)
        {
            // The framing is this server's: always Content-Length.
        } else {
            line(out, n.as_bytes(), value.as_bytes());
        }
    }
    let headers = r.headers();
    for (k, v) in headers {
        let k = k.as_str();
        if matches!(k, "content-length" | "date" | "connection" | "transfer-encoding")
            || lines.iter().any(|(n, _)| n.eq_ignore_ascii_case(k))
        {
            continue;
        }
        push_title_case(out, k);
        out.extend_from_slice(b": ");
        out.extend_from_slice(v.as_bytes());
        out.extend_from_slice(b"\r\n");
    }
    if with_length && !wrote_length {
        length_line(out, b"Content-Length", body.len());
    }
    if !wrote_date {
        out.extend_from_slice(b"Date: ");
        push_date(out);
        out.extend_from_slice(b"\r\n");
    }
    if let (Some(v), false) = (conn_value, wrote_connection) {
        line(out, b"Connection", v.as_bytes());
    }
    out.extend_from_slice(b"\r\n");
    if !head_only {
        out.extend_from_slice(body);
    }
}

/// `name: n` and its line end, with no allocation.
fn length_line(out: &mut Vec<u8>, name: &[u8], n: usize) {
    use std::io::Write;
    out.extend_from_slice(name);
    let _ = write!(out, ": {n}\r\n");
}

/// The persona's answer to `refusal`, as bytes on the wire (the connection
/// closes after it).
pub fn refusal_bytes(persona: &Persona, refusal: Refusal) -> Vec<u8> {
    let r = refusal.answer(persona);
    let mut out = Vec::with_capacity(512);
    write_answer(&mut out, &r, false, ConnectionHeader::Close);
    out
}

/// Writes `answer` and closes the connection, reading (and dropping) what
/// the client sent for a moment so the close is clean.
async fn answer_and_close(mut stream: TcpStream, answer: &[u8]) {
    let _ = tokio::time::timeout(LINGER, async {
        let _ = stream.write_all(answer).await;
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
    let max_connections = limits
        .max_connections
        .clamp(1, Semaphore::MAX_PERMITS.min(u32::MAX as usize));
    let slots = Arc::new(Semaphore::new(max_connections));
    let busy = Arc::new(Semaphore::new(BUSY_ANSWERS));
    let (stop_tx, stop_rx) = watch::channel(false);
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
                    // Rendered per connection: a fresh request id and date each.
                    let answer = refusal_bytes(decoy.persona(), Refusal::Busy);
                    match busy.clone().try_acquire_owned() {
                        Ok(permit) => {
                            tokio::spawn(async move {
                                answer_and_close(stream, &answer).await;
                                drop(permit);
                            });
                        }
                        // An empty socket buffer takes the whole answer without waiting.
                        Err(_) => {
                            let _ = stream.try_write(&answer);
                            drop(stream);
                        }
                    }
                    continue;
                };
                let _ = stream.set_nodelay(true);
                let (decoy, stop) = (decoy.clone(), stop_rx.clone());
                tokio::spawn(async move {
                    Connection::new(stream, peer, decoy, limits, stop).serve().await;
                    drop(slot);
                });
            }
            _ = &mut shutdown => break,
        }
    }
    drop(listener);
    let _ = stop_tx.send(true);
    // Every slot back: every connection has ended.
    if tokio::time::timeout(SHUTDOWN_GRACE, slots.acquire_many(max_connections as u32))
        .await
        .is_err()
    {
        tracing::warn!("some connections were still open at shutdown");
    }
    Ok(())
}

/// How a request's body is framed (RFC 9112 6).
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Framing {
    None,
    Length(u64),
    Chunked,
}

/// A request head, read and checked.
struct Head {
    parts: http::request::Parts,
    framing: Framing,
    /// The connection cannot carry another request after this one.
    close: bool,
    /// HTTP/1.0 client asking to keep the connection.
    keep_alive_10: bool,
    /// The client waits for `100 Continue` before sending the body.
    expect_continue: bool,
}

/// Why no request head could be read.
enum HeadError {
    /// The client went away or was too slow; close without a word.
    Gone,
    /// Answer the persona's refusal, then close.
    Refuse(Refusal),
}

/// Where the body was left.
enum BodyEnd {
    /// Read to its end: the connection can carry the next request.
    Complete,
    /// Not read to its end (past the drain limit, the body timeout, a bad
    /// chunk, the client gone): the connection closes after the answer.
    Cut,
}

/// One client connection: requests read and answered in order.
struct Connection {
    stream: TcpStream,
    peer: SocketAddr,
    decoy: Arc<Decoy>,
    limits: Limits,
    stop: watch::Receiver<bool>,
    buf: BytesMut,
    out: Vec<u8>,
}

impl Connection {
    fn new(
        stream: TcpStream,
        peer: SocketAddr,
        decoy: Arc<Decoy>,
        limits: Limits,
        stop: watch::Receiver<bool>,
    ) -> Self {
        Connection {
            stream,
            peer,
            decoy,
            limits,
            stop,
            buf: BytesMut::with_capacity(8 * 1024),
            out: Vec::with_capacity(1024),
        }
    }

    async fn serve(mut self) {
        loop {
            if *self.stop.borrow() {
                return;
            }
            let deadline = tokio::time::Instant::now() + self.limits.header_timeout;
            let head = if self.buf.is_empty() {
                // Idle between requests: a shutdown ends the connection here.
                let mut stop = self.stop.clone();
                tokio::select! {
                    h = tokio::time::timeout_at(deadline, self.read_head()) => h,
                    _ = stop.changed() => return,
                }
            } else {
                tokio::time::timeout_at(deadline, self.read_head()).await
            };
            let head = match head {
                Err(_) | Ok(Err(HeadError::Gone)) => return,
                Ok(Err(HeadError::Refuse(r))) => {
                    let answer = refusal_bytes(self.decoy.persona(), r);
                    answer_and_close(self.stream, &answer).await;
                    return;
                }
                Ok(Ok(h)) => h,
            };
            if head.expect_continue
                && head.framing != Framing::None
                && self.buf.is_empty()
                && self.stream.write_all(b"HTTP/1.1 100 Continue\r\n\r\n").await.is_err()
            {
                return;
            }
            let body_deadline = tokio::time::Instant::now() + self.limits.body_timeout;
            let (body, end) = self.read_body(head.framing, body_deadline).await;
            let head_only = head.parts.method == Method::HEAD;
            let keep = !head.close && matches!(end, BodyEnd::Complete) && !*self.stop.borrow();
            let req = http::Request::from_parts(head.parts, body);
            let meta = RequestMeta {
                source_ip: self.peer.ip().to_canonical().to_string(),
                request_id: None,
            };
            let resp = self.decoy.handle(req, meta).await;
            let connection = match (keep, head.keep_alive_10) {
                (false, _) => ConnectionHeader::Close,
                (true, true) => ConnectionHeader::KeepAlive,
                (true, false) => ConnectionHeader::Default,
            };
            write_answer(&mut self.out, &resp, head_only, connection);
            if !keep {
                let out = std::mem::take(&mut self.out);
                answer_and_close(self.stream, &out).await;
                return;
            }
            if self.stream.write_all(&self.out).await.is_err() {
                return;
            }
        }
    }

    /// Reads more bytes into the buffer; false at the end of the stream.
    async fn fill(&mut self) -> bool {
        if self.buf.capacity() - self.buf.len() < 4096 {
            self.buf.reserve(16 * 1024);
        }
        matches!(self.stream.read_buf(&mut self.buf).await, Ok(n) if n > 0)
    }

    async fn read_head(&mut self) -> Result<Head, HeadError> {
        // Where to look for the end of the head in what arrives next.
        let mut scanned: usize = 0;
        loop {
            let end = self.buf[scanned.saturating_sub(3)..]
                .windows(2)
                .position(|w| w == b"\n\n" || w == b"\n\r")
                .is_some();
            if end || !self.buf.is_empty() && scanned == 0 {
                match parse_head(&self.buf) {
                    Ok(Some((head, len))) => {
                        self.buf.advance(len);
                        return Ok(head);
                    }
                    Ok(None) => {}
                    Err(r) => return Err(HeadError::Refuse(r)),
                }
            }
            scanned = self.buf.len();
            if self.buf.len() > MAX_HEAD {
                return Err(HeadError::Refuse(Refusal::HeadersTooLarge));
            }
            // A request line that alone is longer than any target read.
            if self.buf.len() > MAX_URI + 64 && !self.buf.contains(&b'\n') {
                return Err(HeadError::Refuse(Refusal::UriTooLong));
            }
            if !self.fill().await {
                return Err(HeadError::Gone);
            }
        }
    }

    /// Reads the body: the first [`BODY_KEEP`] bytes kept, the rest up to
    /// [`BODY_DRAIN`] read and dropped, until `deadline`.
    async fn read_body(&mut self, framing: Framing, deadline: tokio::time::Instant) -> (Bytes, BodyEnd) {
        let mut kept = Vec::new();
        let end = match tokio::time::timeout_at(deadline, self.body_frames(framing, &mut kept)).await {
            Ok(end) => end,
            Err(_) => BodyEnd::Cut,
        };
        (Bytes::from(kept), end)
    }

    async fn body_frames(&mut self, framing: Framing, kept: &mut Vec<u8>) -> BodyEnd {
        let mut seen = 0usize;
        match framing {
            Framing::None => BodyEnd::Complete,
            Framing::Length(n) => {
                let mut left = n;
                while left > 0 {
                    if self.buf.is_empty() && !self.fill().await {
                        return BodyEnd::Cut;
                    }
                    let take = (self.buf.len() as u64).min(left) as usize;
                    self.take_body(take, kept, &mut seen);
                    left -= take as u64;
                    if seen >= BODY_DRAIN && left > 0 {
                        return BodyEnd::Cut;
                    }
                }
                BodyEnd::Complete
            }
            Framing::Chunked => loop {
                let Some(line) = self.line().await else {
                    return BodyEnd::Cut;
                };
                let size = line.split(|b| *b == b';').next().unwrap_or(&[]);
                let size = std::str::from_utf8(size)
                    .ok()
                    .map(str::trim)
                    .and_then(|s| u64::from_str_radix(s, 16).ok());
                let Some(mut left) = size else {
                    return BodyEnd::Cut;
                };
                if left == 0 {
                    // Trailer fields, up to the empty line.
                    let mut trailer = 0usize;
                    loop {
                        match self.line().await {
                            Some(l) if l.is_empty() => return BodyEnd::Complete,
                            Some(l) => {
                                trailer += l.len();
                                if trailer > MAX_CHUNK_LINE * 4 {
                                    return BodyEnd::Cut;
                                }
                            }
                            None => return BodyEnd::Cut,
                        }
                    }
                }
                while left > 0 {
                    if self.buf.is_empty() && !self.fill().await {
                        return BodyEnd::Cut;
                    }
                    let take = (self.buf.len() as u64).min(left) as usize;
                    self.take_body(take, kept, &mut seen);
                    left -= take as u64;
                }
                if seen >= BODY_DRAIN {
                    return BodyEnd::Cut;
                }
                match self.line().await {
                    Some(l) if l.is_empty() => {}
                    _ => return BodyEnd::Cut,
                }
            },
        }
    }

    /// Moves `n` buffered body bytes out: kept up to [`BODY_KEEP`], the rest dropped.
    fn take_body(&mut self, n: usize, kept: &mut Vec<u8>, seen: &mut usize) {
        if kept.len() < BODY_KEEP {
            let k = (BODY_KEEP - kept.len()).min(n);
            kept.extend_from_slice(&self.buf[..k]);
        }
        self.buf.advance(n);
        *seen += n;
    }

    /// One CRLF- (or LF-) terminated line of a chunked body, without its end.
    async fn line(&mut self) -> Option<Vec<u8>> {
        loop {
            if let Some(i) = self.buf.iter().position(|b| *b == b'\n') {
                let mut l = self.buf.split_to(i + 1).to_vec();
                l.pop();
                if l.last() == Some(&b'\r') {
                    l.pop();
                }
                return Some(l);
            }
            if self.buf.len() > MAX_CHUNK_LINE || !self.fill().await {
                return None;
            }
        }
    }
}

/// Parses a request head at the start of `buf`: the head and its length,
/// `None` while incomplete, or the refusal a malformed head gets.
fn parse_head(buf: &[u8]) -> Result<Option<(Head, usize)>, Refusal> {
    let mut fields = [httparse::EMPTY_HEADER; 64];
    let mut req = httparse::Request::new(&mut fields);
    match req.parse(buf) {
        Ok(httparse::Status::Complete(len)) => build_head(&req, len).map(Some),
        Ok(httparse::Status::Partial) => Ok(None),
        Err(httparse::Error::TooManyHeaders) => {
            // Most requests fit 64 fields on the stack; the rest get room for all.
            let mut fields = vec![httparse::EMPTY_HEADER; MAX_HEADERS];
            let mut req = httparse::Request::new(&mut fields);
            match req.parse(buf) {
                Ok(httparse::Status::Complete(len)) => build_head(&req, len).map(Some),
                Ok(httparse::Status::Partial) => Ok(None),
                Err(httparse::Error::TooManyHeaders) => Err(Refusal::HeadersTooLarge),
                Err(_) => Err(Refusal::BadRequest),
            }
        }
        Err(_) => Err(Refusal::BadRequest),
    }
}

/// Whether a comma-separated header (`Connection`) lists `option`.
fn lists(headers: &HeaderMap, name: HeaderName, option: &str) -> bool {
    headers
        .get_all(name)
        .iter()
        .filter_map(|v| v.to_str().ok())
        .flat_map(|v| v.split(','))
        .any(|o| o.trim().eq_ignore_ascii_case(option))
}

fn build_head(req: &httparse::Request<'_, '_>, len: usize) -> Result<(Head, usize), Refusal> {
    let method = Method::from_bytes(req.method.unwrap_or("").as_bytes()).map_err(|_| Refusal::BadRequest)?;
    let target = req.path.unwrap_or("");
    if target.len() > MAX_URI {
        return Err(Refusal::UriTooLong);
    }
    let uri: Uri = target.parse().map_err(|_| Refusal::BadRequest)?;
    let version = match req.version {
        Some(0) => Version::HTTP_10,
        _ => Version::HTTP_11,
    };
    let mut headers = HeaderMap::with_capacity(req.headers.len());
    for h in req.headers.iter() {
        let name = HeaderName::from_bytes(h.name.as_bytes()).map_err(|_| Refusal::BadRequest)?;
        let value = HeaderValue::from_bytes(h.value).map_err(|_| Refusal::BadRequest)?;
        headers.append(name, value);
    }
    let te = headers.contains_key(http::header::TRANSFER_ENCODING);
    let framing = if te {
        // RFC 9112 6.1: an HTTP/1.0 message with Transfer-Encoding has
        // faulty framing; 6.3: a request whose final coding is not chunked
        // cannot be delimited. Both get 400.
        let last = headers
            .get_all(http::header::TRANSFER_ENCODING)
            .iter()
            .filter_map(|v| v.to_str().ok())
            .flat_map(|v| v.split(','))
            .map(str::trim)
            .rfind(|c| !c.is_empty());
        if version == Version::HTTP_10 || !last.is_some_and(|c| c.eq_ignore_ascii_case("chunked")) {
            return Err(Refusal::BadRequest);
        }
        Framing::Chunked
    } else {
        // RFC 9112 6.3: differing or invalid Content-Length values are unrecoverable.
        let mut length: Option<u64> = None;
        for v in headers.get_all(http::header::CONTENT_LENGTH) {
            for part in v.to_str().map_err(|_| Refusal::BadRequest)?.split(',') {
                let part = part.trim();
                if part.is_empty() || !part.bytes().all(|b| b.is_ascii_digit()) {
                    return Err(Refusal::BadRequest);
                }
                let n: u64 = part.parse().map_err(|_| Refusal::BadRequest)?;
                if length.is_some_and(|l| l != n) {
                    return Err(Refusal::BadRequest);
                }
                length = Some(n);
            }
        }
        match length {
            Some(n) if n > 0 => Framing::Length(n),
            _ => Framing::None,
        }
    };
    let close_asked = lists(&headers, http::header::CONNECTION, "close");
    let keep_alive_10 = version == Version::HTTP_10 && lists(&headers, http::header::CONNECTION, "keep-alive");
    // RFC 9112 6.1: with both Transfer-Encoding and Content-Length, close after answering.
    let close = close_asked
        || (version == Version::HTTP_10 && !keep_alive_10)
        || (te && headers.contains_key(http::header::CONTENT_LENGTH));
    let expect_continue = version == Version::HTTP_11
        && headers
            .get(http::header::EXPECT)
            .is_some_and(|v| v.as_bytes().eq_ignore_ascii_case(b"100-continue"));
    let mut parts = http::Request::new(()).into_parts().0;
    parts.method = method;
    parts.uri = uri;
    parts.version = version;
    parts.headers = headers;
    Ok((
        Head {
            parts,
            framing,
            close,
            keep_alive_10,
            expect_continue,
        },
        len,
    ))
}

#[cfg(test)]
mod tests {
    use super::*;

    fn wire(r: &Response<Bytes>, head_only: bool, c: ConnectionHeader) -> String {
        let mut out = Vec::new();
        write_answer(&mut out, r, head_only, c);
        String::from_utf8(out).unwrap()
    }

    fn names(raw: &str) -> Vec<&str> {
        raw.split("\r\n\r\n")
            .next()
            .unwrap()
            .lines()
            .skip(1)
            .map(|l| l.split(':').next().unwrap())
            .collect()
    }

    #[test]
    fn names_go_out_in_the_personas_case_and_order_repeats_included() {
        let lines: Vec<(String, String)> = [
            ("x-amzn-RequestId", "id-1"),
            ("Set-Cookie", "a=1"),
            ("content-type", "application/json"),
            ("Set-Cookie", "b=2"),
            ("Date", "stale"),
        ]
        .iter()
        .map(|(k, v)| (k.to_string(), v.to_string()))
        .collect();
        let mut r = http::Response::builder()
            .status(401)
            .header("x-amzn-requestid", "id-1")
            .header("set-cookie", "a=1")
            .header("content-type", "application/json")
            .header("set-cookie", "b=2")
            .header("date", "stale")
            .body(Bytes::from_static(b"{}"))
            .unwrap();
        r.extensions_mut().insert(ExactHeaders(lines));
        let raw = wire(&r, false, ConnectionHeader::Default);
        assert!(raw.starts_with("HTTP/1.1 401 Unauthorized\r\n"), "{raw}");
        assert_eq!(
            names(&raw),
            [
                "x-amzn-RequestId",
                "Set-Cookie",
                "content-type",
                "Set-Cookie",
                "Date",
                "Content-Length"
            ]
        );
        assert!(
            raw.contains("Set-Cookie: a=1\r\ncontent-type: application/json\r\nSet-Cookie: b=2\r\n"),
            "{raw}"
        );
        assert!(!raw.contains("stale"), "the date is now's: {raw}");
        assert!(raw.ends_with("Content-Length: 2\r\n\r\n{}"), "{raw}");
    }

    #[test]
    fn server_fields_follow_the_answer() {
        let r = http::Response::builder()
            .status(204)
            .header("x-request-id", "1")
            .body(Bytes::new())
            .unwrap();
        let raw = wire(&r, false, ConnectionHeader::Close);
        assert_eq!(
            names(&raw),
            ["X-Request-Id", "Date", "Connection"],
            "no length on a 204: {raw}"
        );
        assert!(raw.contains("Connection: close\r\n"));
        let r = http::Response::builder()
            .status(401)
            .body(Bytes::from_static(b"abc"))
            .unwrap();
        let raw = wire(&r, true, ConnectionHeader::KeepAlive);
        assert!(raw.contains("Content-Length: 3\r\n"), "HEAD keeps the length: {raw}");
        assert!(raw.contains("Connection: keep-alive\r\n"));
        assert!(raw.ends_with("\r\n\r\n"), "no body for HEAD: {raw}");
    }

    #[test]
    fn busy_answer_is_the_personas_503_with_its_header_names() {
        let p = Persona::default();
        let raw = String::from_utf8(refusal_bytes(&p, Refusal::Busy)).unwrap();
        assert!(raw.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{raw}");
        assert!(raw.contains("\r\nContent-Type: application/json\r\n"), "{raw}");
        assert!(raw.contains("\r\nX-Request-Id: "), "{raw}");
        assert!(raw.contains("\r\nRetry-After: 1\r\n"), "{raw}");
        assert!(raw.contains("\r\nConnection: close\r\n"), "{raw}");
        assert!(!raw.contains("WWW-Authenticate"), "{raw}");
        let lower = raw.to_lowercase();
        for word in ["honey", "decoy", "canary", "trap"] {
            assert!(!lower.contains(word), "{word}");
        }
    }

    #[test]
    fn heads_are_parsed_or_refused_as_a_server_would() {
        let ok = |raw: &[u8]| parse_head(raw).ok().flatten().map(|(h, _)| h);
        let h = ok(b"POST /x HTTP/1.1\r\nHost: a\r\nTransfer-Encoding: gzip, chunked\r\n\r\n").unwrap();
        assert_eq!(h.framing, Framing::Chunked);
        let h = ok(b"GET / HTTP/1.0\r\nConnection: keep-alive\r\n\r\n").unwrap();
        assert!(h.keep_alive_10 && !h.close);
        assert!(ok(b"GET / HTTP/1.0\r\n\r\n").unwrap().close);
        assert!(matches!(parse_head(b"GET / HTTP/1.1\r\nHost: a"), Ok(None)));
        for bad in [
            &b"GET / HTTP/1.1\r\nTransfer-Encoding: gzip\r\n\r\n"[..],
            b"GET / HTTP/1.1\r\nContent-Length: 1, 2\r\n\r\n",
            b"GET / HTTP/1.1\r\nContent-Length: -1\r\n\r\n",
            b"GET / HTTP/1.1\r\nX-A: \x1b\r\n\r\n",
            b"GET\r\n\r\n",
            b"G\x01T / HTTP/1.1\r\n\r\n",
        ] {
            assert!(
                matches!(parse_head(bad), Err(Refusal::BadRequest)),
                "{}",
                String::from_utf8_lossy(bad)
            );
        }
        let many = format!("GET / HTTP/1.1\r\n{}\r\n", "A: b\r\n".repeat(MAX_HEADERS + 1));
        assert!(matches!(parse_head(many.as_bytes()), Err(Refusal::HeadersTooLarge)));
        let long = format!("GET /{} HTTP/1.1\r\n\r\n", "a".repeat(MAX_URI));
        assert!(matches!(parse_head(long.as_bytes()), Err(Refusal::UriTooLong)));
    }
}
