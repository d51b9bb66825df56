//! `serve` on the wire: its HTTP/1.1 server writes what the persona says,
//! byte for byte where the persona is fixed (header names in their case and
//! order), answers what it refuses as the persona's server would, with fresh
//! per-request fields, and speaks the protocol's edges (keep-alive,
//! pipelining, chunked bodies, `Expect: 100-continue`, HTTP/1.0).

mod common;

use common::{Server, comparable, get, mint};
use std::io::{Read, Write};
use std::net::TcpStream;
use std::path::Path;
use std::time::Duration;

/// The header names of a raw answer, in order.
fn names(resp: &[u8]) -> Vec<String> {
    let text = String::from_utf8_lossy(resp);
    let head = text.split("\r\n\r\n").next().unwrap_or("");
    head.lines()
        .skip(1)
        .map(|l| l.split(':').next().unwrap_or("").to_string())
        .collect()
}

/// The value of header `name` (any case) in a raw answer.
fn header(resp: &[u8], name: &str) -> Option<String> {
    let text = String::from_utf8_lossy(resp);
    let head = text.split("\r\n\r\n").next().unwrap_or("").to_string();
    head.lines().skip(1).find_map(|l| {
        let (k, v) = l.split_once(':')?;
        k.eq_ignore_ascii_case(name).then(|| v.trim().to_string())
    })
}

/// A persona file: the built-in `api` with the invalid-credential headers given.
fn persona_file(dir: &Path, headers: &[(&str, &str)]) -> String {
    let mut p: serde_json::Value = serde_json::from_str(&common::ok(dir, &["persona", "show", "api"])).unwrap();
    p["invalid_credential"]["headers"] = headers.iter().map(|(k, v)| serde_json::json!([k, v])).collect();
    let path = dir.join("persona.json");
    std::fs::write(&path, serde_json::to_string(&p).unwrap()).unwrap();
    path.display().to_string()
}

#[test]
fn header_names_go_out_in_the_personas_case_and_order() {
    let dir = tempfile::tempdir().unwrap();
    let file = persona_file(
        dir.path(),
        &[
            ("x-amzn-RequestId", "{request_id}"),
            ("content-type", "application/json"),
            ("WWW-Authenticate", "Bearer error=\"invalid_token\""),
            ("Date", "{timestamp}"),
            ("X-Cache", "Error from cloudfront"),
            ("set-cookie", "a=1"),
            ("Set-Cookie", "b=2"),
        ],
    );
    let srv = Server::start(dir.path(), &["--persona", &file, "--min-latency", "0ms"]);
    let resp = srv.raw(&get(
        "/v1/users",
        &["Authorization: Bearer acme_4eC39HqLyjWDarjtT1zdp7dc"],
    ));
    assert_eq!(
        names(&resp),
        [
            "x-amzn-RequestId",
            "content-type",
            "WWW-Authenticate",
            "Date",
            "X-Cache",
            "set-cookie",
            "Set-Cookie",
            "Content-Length",
            "Connection"
        ],
        "{}",
        String::from_utf8_lossy(&resp)
    );
    let text = String::from_utf8_lossy(&resp);
    assert!(text.contains("\r\nset-cookie: a=1\r\nSet-Cookie: b=2\r\n"), "{text}");
    assert!(header(&resp, "date").unwrap().ends_with(" GMT"), "{text}");
    // The built-in persona's own spelling, not a library's title case.
    let srv = Server::start(dir.path(), &["--persona", "api", "--min-latency", "0ms"]);
    let resp = srv.raw(&get("/v1/users", &["Authorization: Bearer x"]));
    assert!(
        names(&resp).contains(&"WWW-Authenticate".to_string()),
        "{:?}",
        names(&resp)
    );
}

#[test]
fn malformed_requests_get_the_personas_answer() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(dir.path(), &["--persona", "stripe", "--min-latency", "0ms"]);
    let long_uri = format!("GET /{} HTTP/1.1\r\nHost: a\r\n\r\n", "a".repeat(70_000));
    let many = format!("GET / HTTP/1.1\r\nHost: a\r\n{}\r\n", "X-A: b\r\n".repeat(1100));
    for (what, req, status) in [
        (
            "a bad header line",
            b"GET / HTTP/1.1\r\nHost: a\r\nnot a header\r\n\r\n".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "a bad request line",
            b"GET/ HTTP/9\r\n\r\n".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
        (
            "a control byte",
            b"GET / HTTP/1.1\r\nHost: a\r\nX-A: \x1b[2J\r\n\r\n".to_vec(),
            "HTTP/1.1 400 Bad Request",
        ),
        ("a long URI", long_uri.into_bytes(), "HTTP/1.1 414 URI Too Long"),
        (
            "too many headers",
            many.into_bytes(),
            "HTTP/1.1 431 Request Header Fields Too Large",
        ),
    ] {
        let resp = srv.raw(&req);
        let (got, headers, body) = comparable(&resp);
        assert_eq!(got, status, "{what}: {}", String::from_utf8_lossy(&resp));
        for h in [
            "Content-Type: application/json",
            "Stripe-Version: 2024-06-20",
            "Request-Id: <id>",
        ] {
            assert!(headers.iter().any(|l| l == h), "{what}: {h} in {headers:?}");
        }
        assert!(header(&resp, "request-id").unwrap().starts_with("req_"), "{what}");
        let body: serde_json::Value = serde_json::from_slice(&body).expect("a JSON body");
        assert_eq!(
            body["error"]["type"], "invalid_request_error",
            "{what}: the persona's error shape"
        );
    }
}

#[test]
fn over_the_cap_each_refusal_is_fresh() {
    let dir = tempfile::tempdir().unwrap();
    let srv = Server::start(
        dir.path(),
        &[
            "--max-connections",
            "1",
            "--header-timeout",
            "60s",
            "--min-latency",
            "0ms",
        ],
    );
    // One connection holds the only slot: answered, and kept alive.
    let mut held = TcpStream::connect(srv.addr).unwrap();
    held.write_all(b"GET / HTTP/1.1\r\nHost: a\r\n\r\n").unwrap();
    let mut first = [0u8; 12];
    held.read_exact(&mut first).unwrap();
    assert_eq!(&first, b"HTTP/1.1 401");
    // Past the second the server started in, so a start-up Date shows.
    std::thread::sleep(Duration::from_millis(1100));
    let before = time::OffsetDateTime::now_utc().unix_timestamp();
    let refusals: Vec<Vec<u8>> = (0..2).map(|_| srv.raw(&get("/", &[]))).collect();
    let mut ids = Vec::new();
    for r in &refusals {
        let text = String::from_utf8_lossy(r);
        assert!(text.starts_with("HTTP/1.1 503 Service Unavailable\r\n"), "{text}");
        assert!(
            names(r).contains(&"Content-Type".to_string()),
            "the persona's case: {text}"
        );
        assert_eq!(header(r, "retry-after").as_deref(), Some("1"));
        ids.push(header(r, "x-request-id").expect("the persona's request id"));
        let date = header(r, "date").unwrap();
        let f = time::macros::format_description!(
            "[weekday repr:short], [day] [month repr:short] [year] [hour]:[minute]:[second] GMT"
        );
        let at = time::PrimitiveDateTime::parse(&date, &f)
            .unwrap()
            .assume_utc()
            .unix_timestamp();
        assert!(at >= before, "Date {date} is older than the request");
    }
    assert_ne!(ids[0], ids[1], "a fresh request id per refusal");
    drop(held);
}

fn write_key(dir: &Path, secret: &str) {
    use std::os::unix::fs::OpenOptionsExt;
    let mut f = std::fs::OpenOptions::new()
        .write(true)
        .create_new(true)
        .mode(0o600)
        .open(dir.join("signing.key"))
        .unwrap();
    f.write_all(secret.as_bytes()).unwrap();
}

/// Status, header names and body of the answer to a wrong key.
fn default_answer(dir: &Path) -> (String, Vec<String>, Vec<u8>) {
    let srv = Server::start_installation_persona(dir, &["--min-latency", "0ms"]);
    let resp = srv.raw(&get(
        "/v1/users",
        &["Authorization: Bearer acme_4eC39HqLyjWDarjtT1zdp7dc"],
    ));
    assert!(srv.stop().success());
    let (status, _, body) = comparable(&resp);
    (status, names(&resp), body)
}

#[test]
fn two_installations_answer_with_different_default_personas() {
    let (a, b) = (tempfile::tempdir().unwrap(), tempfile::tempdir().unwrap());
    write_key(a.path(), &"a".repeat(64));
    write_key(b.path(), &"b".repeat(64));
    let first = default_answer(a.path());
    assert_eq!(first, default_answer(a.path()), "the same persona at every start");
    assert_ne!(first, default_answer(b.path()), "another installation, another persona");
}

#[test]
fn keep_alive_pipelining_chunked_continue_and_http_1_0() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = mint(dir.path(), &["--kind", "key", "--prefix", "acme_", "--label", "wire"]);
    let srv = Server::start(dir.path(), &["--min-latency", "0ms"]);
    // Two requests in one write: a chunked body carrying the token, then a GET.
    let json = format!("{{\"key\":\"{token}\"}}");
    let (a, b) = json.split_at(5);
    let pipelined = format!(
        "POST /chunked HTTP/1.1\r\nHost: a\r\nContent-Type: application/json\r\nTransfer-Encoding: chunked\r\n\r\n\
         {:x}\r\n{a}\r\n{:x}\r\n{b}\r\n0\r\n\r\n\
         GET /second HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n",
        a.len(),
        b.len()
    );
    let resp = srv.raw(pipelined.as_bytes());
    let text = String::from_utf8_lossy(&resp);
    assert_eq!(text.matches("HTTP/1.1 401 Unauthorized\r\n").count(), 2, "{text}");
    // Expect: 100-continue: the body is sent once the server asks for it.
    let mut s = TcpStream::connect(srv.addr).unwrap();
    s.set_read_timeout(Some(Duration::from_secs(20))).unwrap();
    let body = format!("token={token}");
    s.write_all(
        format!(
            "POST /continue HTTP/1.1\r\nHost: a\r\nContent-Type: application/x-www-form-urlencoded\r\nContent-Length: {}\r\nExpect: 100-continue\r\nConnection: close\r\n\r\n",
            body.len()
        )
        .as_bytes(),
    )
    .unwrap();
    let mut interim = [0u8; 25];
    s.read_exact(&mut interim).unwrap();
    assert_eq!(&interim, b"HTTP/1.1 100 Continue\r\n\r\n");
    s.write_all(body.as_bytes()).unwrap();
    let mut rest = Vec::new();
    let _ = s.read_to_end(&mut rest);
    assert!(rest.starts_with(b"HTTP/1.1 401"), "{}", String::from_utf8_lossy(&rest));
    // HTTP/1.0 without keep-alive: answered, then closed.
    let resp = srv.raw(b"GET /old HTTP/1.0\r\n\r\n");
    assert!(resp.starts_with(b"HTTP/1.1 401"), "{}", String::from_utf8_lossy(&resp));
    assert_eq!(header(&resp, "connection").as_deref(), Some("close"));
    let hits = common::hits(dir.path(), &["--token", &id]);
    for path in ["/chunked", "/continue"] {
        assert!(
            hits.iter().any(|h| h["path"] == path && h["found_in"] == "body"),
            "{path}: {hits:#?}"
        );
    }
}
