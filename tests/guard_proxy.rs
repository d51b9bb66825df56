//! `honeytoken guard` (the real binary) in front of a stub upstream: answers
//! through the proxy are byte-identical to direct ones (fixed-length, chunked
//! and large bodies), keep-alive works, the upstream sees the request
//! unchanged but for hop-by-hop headers, and a honeytoken request is
//! recorded (`via: guard`) and alerted.

mod common;

use bytes::Bytes;
use common::*;
use hyper::body::{Body, Frame, Incoming};
use std::collections::VecDeque;
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::pin::Pin;
use std::sync::{Arc, Mutex};
use std::task::{Context, Poll};
use std::time::{Duration, Instant};

/// A body sent as separate frames (so hyper frames it as chunked).
struct Frames(VecDeque<Bytes>);
impl Body for Frames {
    type Data = Bytes;
    type Error = std::convert::Infallible;
    fn poll_frame(mut self: Pin<&mut Self>, _: &mut Context<'_>) -> Poll<Option<Result<Frame<Bytes>, Self::Error>>> {
        Poll::Ready(self.0.pop_front().map(|b| Ok(Frame::data(b))))
    }
}

/// What the upstream received.
#[derive(Debug, Clone)]
struct Seen {
    method: String,
    uri: String,
    headers: Vec<(String, String)>,
    body: Vec<u8>,
}

const DATE: &str = "Sat, 28 Nov 2026 12:00:00 GMT";

fn large() -> Vec<u8> {
    (0..3 * 1024 * 1024u32).map(|i| (i % 251) as u8).collect()
}

/// Starts the stub upstream on its own runtime thread.
fn upstream(seen: Arc<Mutex<Vec<Seen>>>) -> SocketAddr {
    let std_listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = std_listener.local_addr().unwrap();
    std_listener.set_nonblocking(true).unwrap();
    std::thread::spawn(move || {
        let rt = tokio::runtime::Builder::new_current_thread()
            .enable_all()
            .build()
            .unwrap();
        rt.block_on(async move {
            let listener = tokio::net::TcpListener::from_std(std_listener).unwrap();
            loop {
                let (stream, _) = listener.accept().await.unwrap();
                let seen = seen.clone();
                tokio::spawn(async move {
                    let svc = hyper::service::service_fn(move |req: hyper::Request<Incoming>| {
                        let seen = seen.clone();
                        async move { Ok::<_, std::convert::Infallible>(answer(req, seen).await) }
                    });
                    let _ = hyper::server::conn::http1::Builder::new()
                        .serve_connection(hyper_util::rt::TokioIo::new(stream), svc)
                        .await;
                });
            }
        });
    });
    addr
}

async fn answer(req: hyper::Request<Incoming>, seen: Arc<Mutex<Vec<Seen>>>) -> hyper::Response<Frames> {
    use http_body_util::BodyExt;
    let (parts, body) = req.into_parts();
    let body = body.collect().await.unwrap().to_bytes();
    seen.lock().unwrap().push(Seen {
        method: parts.method.to_string(),
        uri: parts.uri.to_string(),
        headers: parts
            .headers
            .iter()
            .map(|(k, v)| (k.to_string(), String::from_utf8_lossy(v.as_bytes()).into_owned()))
            .collect(),
        body: body.to_vec(),
    });
    let b = hyper::Response::builder()
        .header("date", DATE)
        .header("x-upstream", "stub");
    match parts.uri.path() {
        "/small" => b
            .header("content-type", "application/json")
            .header("set-cookie", "a=1; Path=/")
            .header("set-cookie", "b=2; Path=/")
            .header("content-length", "16")
            .body(Frames(VecDeque::from([Bytes::from_static(b"{\"users\":[1,2]}\n")])))
            .unwrap(),
        "/chunked" => b
            .header("content-type", "text/plain")
            .body(Frames(
                (0..20)
                    .map(|i| Bytes::from(format!("chunk {i} {}\n", "x".repeat(i * 100))))
                    .collect(),
            ))
            .unwrap(),
        "/large" => b
            .header("content-type", "application/octet-stream")
            .header("content-length", large().len().to_string())
            .body(Frames(large().chunks(64 * 1024).map(Bytes::copy_from_slice).collect()))
            .unwrap(),
        _ => b
            .status(201)
            .header("content-type", "application/octet-stream")
            .body(Frames(VecDeque::from([body])))
            .unwrap(),
    }
}

/// A response: status line, header lines (in order, as sent), decoded body.
#[derive(Debug, PartialEq, Eq)]
struct Resp {
    status: String,
    headers: Vec<String>,
    body: Vec<u8>,
}

fn head_end(buf: &[u8]) -> Option<usize> {
    buf.windows(4).position(|w| w == b"\r\n\r\n").map(|p| p + 4)
}

/// Reads one response from a keep-alive connection (content-length or chunked).
fn read_response(s: &mut TcpStream) -> (Vec<u8>, Resp) {
    let mut buf = Vec::new();
    let mut tmp = vec![0u8; 65536];
    let head_len = loop {
        if let Some(e) = head_end(&buf) {
            break e;
        }
        let n = s.read(&mut tmp).unwrap();
        assert!(n > 0, "connection closed before the head");
        buf.extend_from_slice(&tmp[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_len - 4]).into_owned();
    let mut lines = head.split("\r\n");
    let status = lines.next().unwrap().to_string();
    let headers: Vec<String> = lines.map(str::to_string).collect();
    let find = |n: &str| {
        headers.iter().find_map(|h| {
            h.split_once(':')
                .filter(|(k, _)| k.eq_ignore_ascii_case(n))
                .map(|(_, v)| v.trim().to_string())
        })
    };
    let mut body = Vec::new();
    let mut pos = head_len;
    let mut fill = |buf: &mut Vec<u8>, want: usize| {
        while buf.len() < want {
            let mut t = vec![0u8; 65536];
            let n = s.read(&mut t).unwrap();
            assert!(n > 0, "connection closed mid-body");
            buf.extend_from_slice(&t[..n]);
        }
    };
    if let Some(len) = find("content-length") {
        let len: usize = len.parse().unwrap();
        fill(&mut buf, pos + len);
        body.extend_from_slice(&buf[pos..pos + len]);
        pos += len;
    } else if find("transfer-encoding").is_some_and(|v| v.eq_ignore_ascii_case("chunked")) {
        loop {
            // Chunk size line.
            let line_end = loop {
                if let Some(p) = buf[pos..].windows(2).position(|w| w == b"\r\n") {
                    break pos + p;
                }
                let want = buf.len() + 1;
                fill(&mut buf, want);
            };
            let size = usize::from_str_radix(std::str::from_utf8(&buf[pos..line_end]).unwrap().trim(), 16).unwrap();
            pos = line_end + 2;
            fill(&mut buf, pos + size + 2);
            body.extend_from_slice(&buf[pos..pos + size]);
            pos += size + 2;
            if size == 0 {
                break;
            }
        }
    }
    let raw = buf[..pos].to_vec();
    (raw, Resp { status, headers, body })
}

fn request(addr: SocketAddr, req: &[u8]) -> (Vec<u8>, Resp) {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(req).unwrap();
    read_response(&mut s)
}

fn get_req(path: &str) -> Vec<u8> {
    format!("GET {path} HTTP/1.1\r\nHost: api.acme.test\r\nUser-Agent: curl/8.5.0\r\nConnection: close\r\n\r\n")
        .into_bytes()
}

#[test]
fn the_proxy_is_transparent_and_records_and_alerts_a_honeytoken() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = mint(
        dir.path(),
        &[
            "--kind",
            "key",
            "--prefix",
            "acme_live_",
            "--label",
            "users-env",
            "--location",
            "web/.env",
        ],
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let up = upstream(seen.clone());
    let upstream_url = format!("http://{up}");
    let proxy = Server::start_command(
        dir.path(),
        &["guard", "--listen", "127.0.0.1:0", "--upstream", &upstream_url],
        &["--service", "stub-api"],
    );

    // Byte for byte: fixed-length and large answers are identical on the
    // wire. Keep-alive requests: a `Connection: close` answer carries a
    // hop-by-hop header each server writes in its own case.
    let keep_alive = |path: &str| {
        format!("GET {path} HTTP/1.1\r\nHost: api.acme.test\r\nUser-Agent: curl/8.5.0\r\n\r\n").into_bytes()
    };
    for path in ["/small", "/large"] {
        let (direct_raw, direct) = request(up, &keep_alive(path));
        let (proxied_raw, proxied) = request(proxy.addr, &keep_alive(path));
        assert_eq!(direct.status, "HTTP/1.1 200 OK");
        assert_eq!(proxied.headers, direct.headers, "{path}");
        assert!(proxied_raw == direct_raw, "{path}: raw answers differ");
    }
    let (_, direct) = request(up, &get_req("/large"));
    assert_eq!(direct.body, large());
    // Chunked: the same status, headers and body (chunk boundaries are per hop).
    let (_, direct) = request(up, &keep_alive("/chunked"));
    let (_, proxied) = request(proxy.addr, &keep_alive("/chunked"));
    assert!(
        direct.headers.iter().any(|h| h == "transfer-encoding: chunked"),
        "{direct:?}"
    );
    assert_eq!(proxied, direct);

    // Keep-alive: two requests on one client connection.
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    for _ in 0..2 {
        s.write_all(b"GET /small HTTP/1.1\r\nHost: api.acme.test\r\n\r\n")
            .unwrap();
        let (_, r) = read_response(&mut s);
        assert_eq!(r.status, "HTTP/1.1 200 OK");
        assert_eq!(r.body, b"{\"users\":[1,2]}\n");
    }
    drop(s);
    assert!(alerts_of(&proxy).is_empty(), "no honeytoken, no alert");

    // A honeytoken request with a streamed (chunked) body: the upstream sees
    // it unchanged but for hop-by-hop headers, the client gets its answer.
    seen.lock().unwrap().clear();
    let body_chunks = ["{\"name\":", "\"Ada\",", "\"x\":\"", &"y".repeat(100_000), "\"}"];
    let mut req = format!(
        "POST /v1/users?expand=all HTTP/1.1\r\nHost: api.acme.test\r\nUser-Agent: python-requests/2.32\r\n\
         Authorization: Bearer {token}\r\nContent-Type: application/json\r\nX-Custom: Keep Me\r\n\
         Connection: close, x-hop\r\nX-Hop: drop me\r\nKeep-Alive: timeout=5\r\nTransfer-Encoding: chunked\r\n\r\n"
    )
    .into_bytes();
    for c in body_chunks {
        req.extend_from_slice(format!("{:x}\r\n{c}\r\n", c.len()).as_bytes());
    }
    req.extend_from_slice(b"0\r\n\r\n");
    let (_, r) = request(proxy.addr, &req);
    let sent_body: Vec<u8> = body_chunks.concat().into_bytes();
    assert_eq!(r.status, "HTTP/1.1 201 Created");
    assert_eq!(r.body, sent_body, "the upstream's echo comes back");
    let got = seen.lock().unwrap().clone();
    assert_eq!(got.len(), 1);
    let u = &got[0];
    assert_eq!((u.method.as_str(), u.uri.as_str()), ("POST", "/v1/users?expand=all"));
    assert_eq!(u.body, sent_body);
    let hv = |n: &str| u.headers.iter().find(|(k, _)| k == n).map(|(_, v)| v.as_str());
    assert_eq!(hv("host"), Some("api.acme.test"));
    assert_eq!(hv("authorization"), Some(format!("Bearer {token}").as_str()));
    assert_eq!(hv("user-agent"), Some("python-requests/2.32"));
    assert_eq!(hv("content-type"), Some("application/json"));
    assert_eq!(hv("x-custom"), Some("Keep Me"));
    for hop in ["x-hop", "keep-alive", "connection"] {
        assert_eq!(hv(hop), None, "hop-by-hop {hop} must not be forwarded");
    }

    // Recorded (via the background reporter) and alerted on the terminal.
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut h = hits(dir.path(), &[]);
    while h.is_empty() && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(50));
        h = hits(dir.path(), &[]);
    }
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0]["token_id"], id.as_str());
    assert_eq!(h[0]["label"], "users-env");
    assert_eq!(h[0]["via"]["kind"], "guard");
    assert_eq!(h[0]["via"]["service"], "stub-api");
    assert_eq!(h[0]["method"], "POST");
    assert_eq!(h[0]["path"], "/v1/users");
    assert_eq!(h[0]["source_ip"], "127.0.0.1");
    let alerts = proxy.wait_alerts(1);
    assert_eq!(alerts.len(), 1, "{alerts:?}");
    assert!(
        alerts[0].contains(&id) && alerts[0].contains("used_against=\"stub-api\""),
        "{}",
        alerts[0]
    );
    assert!(proxy.stop().success());
}

fn alerts_of(s: &Server) -> Vec<String> {
    s.alerts()
}

/// Over its connection cap the guard never answers on its own: under a
/// low open-file limit, clients that open connections and never finish a
/// request head hold every slot; a further connection waits in the
/// kernel's listen backlog, unanswered and unforwarded, and once the slow
/// clients go it gets the upstream's answer. The guard never runs out of
/// descriptors.
#[test]
fn over_its_connection_cap_the_guard_never_answers_on_its_own() {
    let dir = tempfile::tempdir().unwrap();
    mint(dir.path(), &["--kind", "key", "--label", "slow"]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let up = upstream(seen.clone());
    let upstream_url = format!("http://{up}");
    let proxy = Server::start_full(
        dir.path(),
        &["prlimit", "--nofile=256:256", "--"],
        &["guard", "--listen", "127.0.0.1:0", "--upstream", &upstream_url],
        &[],
    );
    assert!(
        proxy
            .stderr
            .lock()
            .unwrap()
            .iter()
            .any(|l| l.contains("lowered from 4096")),
        "the cap follows the open-file limit"
    );
    let slow: Vec<TcpStream> = (0..300)
        .filter_map(|_| {
            let mut s = TcpStream::connect(proxy.addr).ok()?;
            s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n").ok()?;
            Some(s)
        })
        .collect();
    assert_eq!(slow.len(), 300, "every connection was accepted or queued");
    std::thread::sleep(Duration::from_millis(500));
    let addr = proxy.addr;
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(request(addr, &get_req("/small")));
    });
    // Before the change the guard answered a 503 of its own here at once.
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "nothing is answered over the cap"
    );
    assert!(
        seen.lock().unwrap().is_empty(),
        "nothing over the cap reached the upstream"
    );
    drop(slow);
    let (raw, resp) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("the waiting connection is served once slots free");
    assert_eq!(resp.status, "HTTP/1.1 200 OK", "{}", String::from_utf8_lossy(&raw));
    assert_eq!(resp.body, b"{\"users\":[1,2]}\n");
    assert_eq!(seen.lock().unwrap().len(), 1);
    let lines = proxy.stderr.lock().unwrap().clone();
    assert!(!lines.iter().any(|l| l.contains("Too many open files")), "{lines:?}");
}

/// The connection cap holds over all workers together: with four workers
/// and a cap of three, three idle connections hold every slot and a fourth
/// waits unanswered (a cap per worker would have served it), then is served
/// once one of the three goes. Every worker proxies: forty connections in
/// parallel all get the upstream's answer.
#[test]
fn the_connection_cap_is_shared_by_every_worker() {
    let dir = tempfile::tempdir().unwrap();
    mint(dir.path(), &["--kind", "key", "--label", "workers"]);
    let seen = Arc::new(Mutex::new(Vec::new()));
    let up = upstream(seen.clone());
    let upstream_url = format!("http://{up}");
    let proxy = Server::start_command(
        dir.path(),
        &[
            "guard",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &upstream_url,
            "--workers",
            "4",
            "--max-connections",
            "3",
        ],
        &[],
    );
    let addr = proxy.addr;
    let parallel: Vec<_> = (0..40)
        .map(|_| std::thread::spawn(move || request(addr, &get_req("/small")).1.status))
        .collect();
    for t in parallel {
        assert_eq!(t.join().unwrap(), "HTTP/1.1 200 OK");
    }
    let mut slow: Vec<TcpStream> = (0..3)
        .map(|_| {
            let mut s = TcpStream::connect(addr).unwrap();
            s.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n").unwrap();
            s
        })
        .collect();
    std::thread::sleep(Duration::from_millis(300));
    let (tx, rx) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let _ = tx.send(request(addr, &get_req("/small")));
    });
    assert!(
        rx.recv_timeout(Duration::from_millis(500)).is_err(),
        "a fourth connection waits: the cap is the workers' together"
    );
    slow.pop();
    let (_, resp) = rx
        .recv_timeout(Duration::from_secs(60))
        .expect("served once a slot frees");
    assert_eq!(resp.status, "HTTP/1.1 200 OK");
}

/// `--workers 0` is refused before anything listens.
#[test]
fn zero_workers_are_refused() {
    let dir = tempfile::tempdir().unwrap();
    let out = std::process::Command::new(env!("CARGO_BIN_EXE_honeytoken"))
        .args(["--data-dir"])
        .arg(dir.path())
        .args(["guard", "--upstream", "http://127.0.0.1:9", "--workers", "0"])
        .output()
        .unwrap();
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("--workers"), "{err}");
}

/// `honeytoken guard` (the real binary) in front of `up`, on a data
/// directory with a signing key (which minting a first token creates).
fn guard_in_front_of(up: SocketAddr) -> (tempfile::TempDir, Server) {
    let dir = tempfile::tempdir().unwrap();
    mint(dir.path(), &["--kind", "key", "--label", "guarded"]);
    let upstream = format!("http://{up}");
    let proxy = Server::start_command(
        dir.path(),
        &["guard", "--listen", "127.0.0.1:0", "--upstream", &upstream],
        &[],
    );
    (dir, proxy)
}

/// A raw upstream that keeps a connection open for `idle` after each answer
/// and then closes it, and closes at once after answering `/close` (as
/// gunicorn's sync workers do after every answer). Counts its connections.
fn closing_upstream(idle: Duration) -> (SocketAddr, Arc<std::sync::atomic::AtomicUsize>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let accepted = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let count = accepted.clone();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            count.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            std::thread::spawn(move || {
                s.set_read_timeout(Some(idle)).unwrap();
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                loop {
                    while head_end(&buf).is_none() {
                        match s.read(&mut tmp) {
                            Ok(n) if n > 0 => buf.extend_from_slice(&tmp[..n]),
                            _ => return, // idle past the timeout, or closed by the proxy
                        }
                    }
                    let end = head_end(&buf).unwrap();
                    let close = buf.starts_with(b"GET /close ");
                    buf.drain(..end);
                    let conn = if close { "connection: close\r\n" } else { "" };
                    let answer = format!("HTTP/1.1 200 OK\r\ncontent-length: 2\r\n{conn}\r\nok");
                    if s.write_all(answer.as_bytes()).is_err() || close {
                        return;
                    }
                }
            });
        }
    });
    (addr, accepted)
}

/// Upstream connections are reused across client connections while the
/// upstream keeps them, and replaced, without failing a request, when it
/// closes them: after every answer, or when they sit idle. Each worker
/// keeps a pool of its own (as nginx's workers do), so one worker here.
#[test]
fn upstream_connections_are_reused_and_replaced_when_the_upstream_closes_them() {
    use std::sync::atomic::Ordering;
    let (up, accepted) = closing_upstream(Duration::from_secs(1));
    let _dir = tempfile::tempdir().unwrap();
    mint(_dir.path(), &["--kind", "key", "--label", "guarded"]);
    let upstream = format!("http://{up}");
    let proxy = Server::start_command(
        _dir.path(),
        &[
            "guard",
            "--listen",
            "127.0.0.1:0",
            "--upstream",
            &upstream,
            "--workers",
            "1",
        ],
        &[],
    );
    let ok = |r: &Resp| r.status == "HTTP/1.1 200 OK" && r.body == b"ok";
    // One client connection; the upstream closes after `/close`.
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    for path in ["/keep", "/close", "/keep", "/keep"] {
        s.write_all(format!("GET {path} HTTP/1.1\r\nHost: a\r\n\r\n").as_bytes())
            .unwrap();
        let (raw, r) = read_response(&mut s);
        assert!(ok(&r), "{path}: {}", String::from_utf8_lossy(&raw));
        assert!(
            !r.headers
                .iter()
                .any(|h| h.to_ascii_lowercase().starts_with("connection")),
            "the upstream's Connection header is its own hop's: {:?}",
            r.headers
        );
    }
    drop(s);
    assert_eq!(
        accepted.load(Ordering::SeqCst),
        2,
        "a new upstream connection only after /close"
    );
    // Other clients' requests reuse the idle upstream connection.
    for _ in 0..3 {
        let (_, r) = request(proxy.addr, &get_req("/keep"));
        assert!(ok(&r), "{r:?}");
    }
    assert_eq!(accepted.load(Ordering::SeqCst), 2, "reused across client connections");
    // Once the upstream has closed the idle connection, the next request
    // gets a new one instead of an error.
    std::thread::sleep(Duration::from_millis(1500));
    let (_, r) = request(proxy.addr, &get_req("/keep"));
    assert!(ok(&r), "{r:?}");
    assert_eq!(accepted.load(Ordering::SeqCst), 3);
    assert!(proxy.stop().success());
}

/// The upstream always gets a Host header: the client cannot remove it with
/// `Connection: host`, and an absolute-form target's host replaces the
/// Host header (RFC 9112 3.2.2), the target going upstream in origin-form.
#[test]
fn the_upstream_always_gets_one_host() {
    let seen = Arc::new(Mutex::new(Vec::new()));
    let up = upstream(seen.clone());
    let (_dir, proxy) = guard_in_front_of(up);
    let host_seen = |req: &str| {
        seen.lock().unwrap().clear();
        let (raw, r) = request(proxy.addr, req.as_bytes());
        assert_eq!(r.status, "HTTP/1.1 200 OK", "{}", String::from_utf8_lossy(&raw));
        let got = seen.lock().unwrap().clone();
        assert_eq!(got.len(), 1);
        assert_eq!(got[0].uri, "/small");
        let hosts: Vec<String> = got[0]
            .headers
            .iter()
            .filter(|(k, _)| k == "host")
            .map(|(_, v)| v.clone())
            .collect();
        hosts
    };
    assert_eq!(
        host_seen("GET /small HTTP/1.1\r\nHost: api.acme.test\r\nConnection: close, host\r\n\r\n"),
        [up.to_string()],
        "the client's Host went with its Connection header; the upstream's is added"
    );
    assert_eq!(
        host_seen("GET http://api.other.test/small HTTP/1.1\r\nHost: api.acme.test\r\nConnection: close\r\n\r\n"),
        ["api.other.test"]
    );
    assert!(proxy.stop().success());
}

/// An upstream that answers at once with a body larger than the socket
/// buffers and reads the request's body meanwhile, as async servers do,
/// in front of a client that sends its whole body before reading: the
/// upload goes on while the answer waits for the client, as it does
/// without the proxy.
#[test]
fn an_early_answer_does_not_stall_the_upload() {
    const BIG: usize = 16 * 1024 * 1024;
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let up = listener.local_addr().unwrap();
    let drained = Arc::new(std::sync::atomic::AtomicUsize::new(0));
    let counted = drained.clone();
    std::thread::spawn(move || {
        let (mut s, _) = listener.accept().unwrap();
        let mut buf = Vec::new();
        let mut tmp = vec![0u8; 65536];
        while head_end(&buf).is_none() {
            let n = s.read(&mut tmp).unwrap();
            assert!(n > 0);
            buf.extend_from_slice(&tmp[..n]);
        }
        let mut got = buf.len() - head_end(&buf).unwrap();
        let mut reader = s.try_clone().unwrap();
        let drain = std::thread::spawn(move || {
            while got < BIG {
                match reader.read(&mut tmp) {
                    Ok(n) if n > 0 => got += n,
                    _ => break,
                }
            }
            counted.store(got, std::sync::atomic::Ordering::SeqCst);
        });
        s.write_all(format!("HTTP/1.1 200 OK\r\ncontent-length: {BIG}\r\n\r\n").as_bytes())
            .unwrap();
        s.write_all(&vec![b'a'; BIG]).unwrap();
        drain.join().unwrap();
    });
    let (_dir, proxy) = guard_in_front_of(up);
    let addr = proxy.addr;
    let (done, finished) = std::sync::mpsc::channel();
    std::thread::spawn(move || {
        let mut s = TcpStream::connect(addr).unwrap();
        s.write_all(
            format!("POST /upload HTTP/1.1\r\nHost: a\r\nContent-Length: {BIG}\r\nConnection: close\r\n\r\n")
                .as_bytes(),
        )
        .unwrap();
        s.write_all(&vec![b'b'; BIG]).unwrap();
        let mut answer = Vec::new();
        let _ = s.read_to_end(&mut answer);
        let _ = done.send(answer.len());
    });
    // A stalled exchange never ends: a generous bound turns it into a failure.
    let answered = finished
        .recv_timeout(Duration::from_secs(60))
        .expect("the exchange stalled");
    assert!(answered > BIG, "the whole answer arrived ({answered} bytes)");
    let deadline = Instant::now() + Duration::from_secs(20);
    while drained.load(std::sync::atomic::Ordering::SeqCst) == 0 && Instant::now() < deadline {
        std::thread::sleep(Duration::from_millis(20));
    }
    assert_eq!(
        drained.load(std::sync::atomic::Ordering::SeqCst),
        BIG,
        "the whole upload arrived"
    );
    assert!(proxy.stop().success());
}

/// Sends `n` keep-alive requests for `/small` carrying `token` on one
/// connection; how many got the upstream's 200.
fn flood_client(addr: SocketAddr, token: &str, n: usize) -> usize {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.set_nodelay(true).unwrap();
    let req = format!(
        "GET /small HTTP/1.1\r\nHost: api.acme.test\r\nUser-Agent: flood/1\r\nAuthorization: Bearer {token}\r\n\r\n"
    );
    (0..n)
        .filter(|_| {
            s.write_all(req.as_bytes()).unwrap();
            read_response(&mut s).1.status == "HTTP/1.1 200 OK"
        })
        .count()
}

/// Polls `check` until it holds or a generous deadline passes (a bound
/// that only turns a hang into a failure; nothing is timed).
fn eventually(mut check: impl FnMut() -> bool) -> bool {
    let deadline = Instant::now() + Duration::from_secs(60);
    while !check() {
        if Instant::now() > deadline {
            return false;
        }
        std::thread::sleep(Duration::from_millis(50));
    }
    true
}

/// A flood of token A from one source, with one request carrying token B
/// from another source sent mid-flood, through a guard with a small queue
/// in front of a store that fsyncs every write: B is stored and alerted,
/// and A's stored count is exactly the number of requests sent.
#[test]
fn a_flood_of_one_token_does_not_hide_another_attacker() {
    const CLIENTS: usize = 8;
    const PER_CLIENT: usize = 300;
    let dir = tempfile::tempdir().unwrap();
    let (a_id, a) = mint(
        dir.path(),
        &["--kind", "key", "--prefix", "acme_live_", "--label", "flooded"],
    );
    let (b_id, b) = mint(
        dir.path(),
        &["--kind", "key", "--prefix", "acme_live_", "--label", "quiet"],
    );
    let seen = Arc::new(Mutex::new(Vec::new()));
    let up = upstream(seen.clone());
    let upstream_url = format!("http://{up}");
    let proxy = Server::start_command(
        dir.path(),
        &["guard", "--listen", "127.0.0.1:0", "--upstream", &upstream_url],
        &[
            "--queue",
            "8",
            "--hit-log",
            dir.path().join("hits.ndjson").to_str().unwrap(),
        ],
    );
    let answered: usize = std::thread::scope(|s| {
        let flood: Vec<_> = (0..CLIENTS)
            .map(|_| s.spawn(|| flood_client(proxy.addr, &a, PER_CLIENT)))
            .collect();
        // Mid-flood: once a third of the flood has reached the upstream.
        assert!(eventually(|| seen.lock().unwrap().len() >= CLIENTS * PER_CLIENT / 3));
        let resp = raw_from(
            proxy.addr,
            std::net::Ipv4Addr::new(127, 0, 0, 2),
            &get("/small", &[&format!("Authorization: Bearer {b}")]),
        );
        assert!(
            resp.starts_with(b"HTTP/1.1 200 OK"),
            "{}",
            String::from_utf8_lossy(&resp)
        );
        flood.into_iter().map(|h| h.join().unwrap()).sum()
    });
    assert_eq!(
        answered,
        CLIENTS * PER_CLIENT,
        "every flood request got the upstream's answer"
    );
    assert!(
        eventually(|| proxy.alerts().iter().any(|l| l.contains(&b_id))),
        "B alerted: {:?}",
        proxy.alerts()
    );
    let count_of = |id: &str| -> u64 {
        hits(dir.path(), &["--token", id])
            .iter()
            .map(|h| h["count"].as_u64().unwrap_or(1))
            .sum()
    };
    assert!(eventually(|| count_of(&a_id) >= answered as u64), "A's hits stored");
    let b_hits = hits(dir.path(), &["--token", &b_id]);
    assert_eq!(b_hits.len(), 1, "{b_hits:?}");
    assert_eq!(b_hits[0]["source_ip"], "127.0.0.2");
    let stderr = proxy.stderr.clone();
    assert!(proxy.stop().success());
    assert_eq!(count_of(&a_id), answered as u64, "A's count is exact");
    let lines = stderr.lock().unwrap().clone();
    assert!(!lines.iter().any(|l| l.contains("HITS DROPPED")), "{lines:?}");
    // The hit log has a line per request, as `serve --hit-log` writes.
    let log = std::fs::read_to_string(dir.path().join("hits.ndjson")).unwrap();
    let of = |id: &str| {
        log.lines()
            .filter(|l| l.contains(&format!("\"token_id\":\"{id}\"")))
            .count()
    };
    assert_eq!(of(&a_id), answered, "one line per flood request");
    assert_eq!(of(&b_id), 1);
}

/// Sends `req` and reads one response; the raw bytes and the parsed one.
fn exchange(addr: SocketAddr, req: &[u8]) -> (Vec<u8>, Resp) {
    request(addr, req)
}

/// The hits of token `id`, once there are `n` (or the generous deadline passed).
fn hits_of(dir: &std::path::Path, id: &str, n: usize) -> Vec<serde_json::Value> {
    let mut h = Vec::new();
    eventually(|| {
        h = hits(dir, &["--token", id]);
        h.len() >= n
    });
    h
}

/// A token in a request body is found as the decoy finds it (JSON value,
/// JSON key, form field, split across chunks, after `Expect:
/// 100-continue`), while the body reaches the upstream unchanged.
#[test]
fn tokens_in_request_bodies_are_found_while_the_body_streams_unchanged() {
    let dir = tempfile::tempdir().unwrap();
    let minted: Vec<(String, String)> = (0..5)
        .map(|i| {
            mint(
                dir.path(),
                &[
                    "--kind",
                    "key",
                    "--prefix",
                    "acme_live_",
                    "--label",
                    &format!("body-{i}"),
                ],
            )
        })
        .collect();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let up = upstream(seen.clone());
    let upstream_url = format!("http://{up}");
    let proxy = Server::start_command(
        dir.path(),
        &["guard", "--listen", "127.0.0.1:0", "--upstream", &upstream_url],
        &[],
    );
    let post = |ctype: &str, body: &str| {
        format!(
            "POST /v1/echo HTTP/1.1\r\nHost: api.acme.test\r\nContent-Type: {ctype}\r\nContent-Length: {}\r\nConnection: close\r\n\r\n{body}",
            body.len()
        )
        .into_bytes()
    };
    let check = |sent: &[u8], r: &Resp| {
        assert_eq!(r.status, "HTTP/1.1 201 Created");
        assert_eq!(r.body, sent, "the upstream got the body unchanged and echoed it");
    };
    // A JSON value, with 100 KiB after it (the body is longer than the scanned prefix).
    let json = format!(
        "{{\"api_key\":\"{}\",\"pad\":\"{}\"}}",
        minted[0].1,
        "p".repeat(100 * 1024)
    );
    check(
        json.as_bytes(),
        &exchange(proxy.addr, &post("application/json", &json)).1,
    );
    // A JSON key.
    let key = format!("{{\"{}\":true}}", minted[1].1);
    check(key.as_bytes(), &exchange(proxy.addr, &post("application/json", &key)).1);
    // A form field, as Slack's API takes a token.
    let form = format!("token={}&channel=C1", minted[2].1);
    check(
        form.as_bytes(),
        &exchange(proxy.addr, &post("application/x-www-form-urlencoded", &form)).1,
    );
    // Chunked, the token split across two chunks.
    let t = &minted[3].1;
    let parts = [format!("{{\"key\":\"{}", &t[..12]), format!("{}\"}}", &t[12..])];
    let mut req = b"POST /v1/echo HTTP/1.1\r\nHost: api.acme.test\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\nConnection: close\r\n\r\n".to_vec();
    for p in &parts {
        req.extend_from_slice(format!("{:x}\r\n{p}\r\n", p.len()).as_bytes());
    }
    req.extend_from_slice(b"0\r\n\r\n");
    check(parts.concat().as_bytes(), &exchange(proxy.addr, &req).1);
    // Expect: 100-continue: the body goes only after the interim answer.
    let body = format!("{{\"token\":\"{}\"}}", minted[4].1);
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(
        format!(
            "POST /v1/echo HTTP/1.1\r\nHost: api.acme.test\r\nContent-Type: application/json\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut interim = Vec::new();
    let mut b = [0u8; 1];
    while head_end(&interim).is_none() {
        assert_eq!(s.read(&mut b).unwrap(), 1, "closed before 100 Continue");
        interim.push(b[0]);
    }
    assert!(
        interim.starts_with(b"HTTP/1.1 100 Continue"),
        "{}",
        String::from_utf8_lossy(&interim)
    );
    s.write_all(body.as_bytes()).unwrap();
    check(body.as_bytes(), &read_response(&mut s).1);

    let bodies: Vec<Vec<u8>> = seen.lock().unwrap().iter().map(|u| u.body.clone()).collect();
    assert_eq!(bodies.len(), 5);
    for (id, _) in &minted {
        let h = hits_of(dir.path(), id, 1);
        assert_eq!(h.len(), 1, "{id}: {h:?}");
        assert_eq!(h[0]["found_in"], "body", "{id}");
        assert_eq!(h[0]["path"], "/v1/echo");
    }
    assert!(proxy.stop().success());
}

/// A raw upstream: answers every request head with `answer(head)` on the
/// same connection, and after a `101` copies bytes back (an echo, as a
/// WebSocket echo server's frames). Records the raw request heads.
fn raw_upstream(answer: fn(&[u8]) -> Vec<u8>) -> (SocketAddr, Arc<Mutex<Vec<Vec<u8>>>>) {
    let listener = std::net::TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = listener.local_addr().unwrap();
    let heads = Arc::new(Mutex::new(Vec::new()));
    let seen = heads.clone();
    std::thread::spawn(move || {
        for s in listener.incoming() {
            let Ok(mut s) = s else { continue };
            let seen = seen.clone();
            std::thread::spawn(move || {
                let mut buf = Vec::new();
                let mut tmp = [0u8; 4096];
                loop {
                    while head_end(&buf).is_none() {
                        match s.read(&mut tmp) {
                            Ok(n) if n > 0 => buf.extend_from_slice(&tmp[..n]),
                            _ => return,
                        }
                    }
                    let end = head_end(&buf).unwrap();
                    let head: Vec<u8> = buf.drain(..end).collect();
                    seen.lock().unwrap().push(head.clone());
                    let a = answer(&head);
                    if s.write_all(&a).is_err() {
                        return;
                    }
                    if a.starts_with(b"HTTP/1.1 101") {
                        let _ = s.write_all(&buf);
                        while let Ok(n) = s.read(&mut tmp) {
                            if n == 0 || s.write_all(&tmp[..n]).is_err() {
                                return;
                            }
                        }
                        return;
                    }
                }
            });
        }
    });
    (addr, heads)
}

const CASED_ANSWER: &[u8] = b"HTTP/1.1 200 OK\r\nServer: gunicorn\r\nX-Request-ID: 7f3a\r\nContent-Type: application/json\r\nSet-Cookie: a=1\r\nCache-Control: no-store\r\nContent-Length: 11\r\n\r\n{\"ok\":true}";

fn cased_or_upgrade(head: &[u8]) -> Vec<u8> {
    if head.starts_with(b"GET /ws ") {
        return b"HTTP/1.1 101 Switching Protocols\r\nUpgrade: websocket\r\nConnection: Upgrade\r\nSec-WebSocket-Accept: s3pPLMBiTxaQ9kYGzzhZRbK+xOo=\r\n\r\n".to_vec();
    }
    CASED_ANSWER.to_vec()
}

/// The guard cannot be told from the upstream: the raw answer through it
/// is the upstream's own (status line, header lines with their case and
/// order, body; no `date` added); the upstream sees the client's header
/// names in their case; a WebSocket upgrade is tunnelled after its request
/// was inspected; an unreachable upstream gets nginx's 502.
#[test]
fn the_guard_is_invisible() {
    let (up, heads) = raw_upstream(cased_or_upgrade);
    let (dir, proxy) = guard_in_front_of(up);
    let req = b"GET /v1/users HTTP/1.1\r\nHost: api.acme.test\r\nUser-Agent: curl/8.5.0\r\nX-Custom-Header: Keep\r\nACCEPT: */*\r\n\r\n";
    let (raw, _) = exchange(proxy.addr, req);
    assert_eq!(
        String::from_utf8_lossy(&raw),
        String::from_utf8_lossy(CASED_ANSWER),
        "the upstream's answer, byte for byte"
    );
    let head = String::from_utf8(heads.lock().unwrap()[0].clone()).unwrap();
    for line in [
        "Host: api.acme.test",
        "User-Agent: curl/8.5.0",
        "X-Custom-Header: Keep",
        "ACCEPT: */*",
    ] {
        assert!(head.contains(&format!("\r\n{line}\r\n")), "{line:?} not in {head:?}");
    }

    // WebSocket: inspected (the token in its head is a hit), then tunnelled.
    let (id, token) = mint(
        dir.path(),
        &["--kind", "key", "--prefix", "acme_live_", "--label", "ws"],
    );
    let mut s = TcpStream::connect(proxy.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    s.write_all(
        format!(
            "GET /ws HTTP/1.1\r\nHost: api.acme.test\r\nUpgrade: websocket\r\nConnection: Upgrade\r\n\
             Sec-WebSocket-Key: dGhlIHNhbXBsZSBub25jZQ==\r\nSec-WebSocket-Version: 13\r\nAuthorization: Bearer {token}\r\n\r\n"
        )
        .as_bytes(),
    )
    .unwrap();
    let mut got = Vec::new();
    let mut b = [0u8; 1];
    while head_end(&got).is_none() {
        assert_eq!(s.read(&mut b).unwrap(), 1, "closed before the 101");
        got.push(b[0]);
    }
    let text = String::from_utf8_lossy(&got).into_owned();
    assert!(text.starts_with("HTTP/1.1 101 Switching Protocols\r\n"), "{text}");
    assert!(
        text.contains("\r\nUpgrade: websocket\r\n") && text.contains("\r\nConnection: Upgrade\r\n"),
        "{text}"
    );
    let ws_head = String::from_utf8(heads.lock().unwrap().last().unwrap().clone()).unwrap();
    assert!(ws_head.contains("\r\nUpgrade: websocket\r\n"), "{ws_head}");
    s.write_all(b"\x81\x04ping").unwrap();
    let mut echo = [0u8; 6];
    s.read_exact(&mut echo).unwrap();
    assert_eq!(&echo, b"\x81\x04ping", "bytes pass both ways after the upgrade");
    let h = hits_of(dir.path(), &id, 1);
    assert_eq!(h.len(), 1, "{h:?}");
    assert_eq!(h[0]["path"], "/ws");
    drop(s);
    assert!(proxy.stop().success());

    // An unreachable upstream: the answer nginx gives in front of it.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let (_dir, proxy) = guard_in_front_of(closed);
    let (raw, r) = exchange(proxy.addr, &get_req("/v1/users"));
    let text = String::from_utf8_lossy(&raw).into_owned();
    assert_eq!(r.status, "HTTP/1.1 502 Bad Gateway", "{text}");
    assert!(r.headers.iter().any(|h| h == "Server: nginx"), "{text}");
    assert!(r.headers.iter().any(|h| h == "Content-Type: text/html"), "{text}");
    assert!(r.headers.iter().any(|h| h.starts_with("Date: ")), "{text}");
    assert!(
        String::from_utf8_lossy(&r.body)
            .contains("<center><h1>502 Bad Gateway</h1></center>\r\n<hr><center>nginx</center>"),
        "{text}"
    );
    let stderr = proxy.stderr.clone();
    let status = proxy.stop();
    assert!(status.success(), "{status:?}: {:?}", stderr.lock().unwrap());
}
