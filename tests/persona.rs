//! `persona learn` against a stub of "the operator's real API", then
//! `serve --persona` replaying it: the decoy answers each kind of request as
//! the stub did (per-request ids aside), and the stub never saw a real key.

mod common;

use common::{Server, comparable, get, ok, raw};
use std::io::{Read, Write};
use std::net::{SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};

/// A tiny API: 401 with a fresh request id; its own answers for no
/// credential, preflight, an unknown method and an unknown path. Records
/// the Authorization headers it was sent.
fn stub_api() -> (SocketAddr, Arc<Mutex<Vec<String>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    let seen = Arc::new(Mutex::new(Vec::new()));
    let auths = seen.clone();
    std::thread::spawn(move || {
        let mut n = 0u32;
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = [0u8; 8192];
            let len = s.read(&mut buf).unwrap_or(0);
            let head = String::from_utf8_lossy(&buf[..len]).to_string();
            let first = head.lines().next().unwrap_or("").to_string();
            let auth = head.lines().find_map(|l| {
                l.strip_prefix("authorization: ")
                    .or_else(|| l.strip_prefix("Authorization: "))
            });
            if let Some(a) = auth {
                auths.lock().unwrap().push(a.to_string());
            }
            n += 1;
            let id = format!("req_{:014}", n * 7919);
            let (status, extra, body) = if first.starts_with("OPTIONS") {
                ("204 No Content", "Access-Control-Allow-Origin: *\r\n", String::new())
            } else if first.starts_with("PURGE") {
                (
                    "405 Method Not Allowed",
                    "Allow: GET, POST\r\n",
                    r#"{"error":"method"}"#.to_string(),
                )
            } else if !first.contains(" /v1/") {
                ("404 Not Found", "", r#"{"error":"not_found"}"#.to_string())
            } else if auth.is_some() {
                (
                    "401 Unauthorized",
                    "",
                    format!(r#"{{"error":"invalid_key","request_id":"{id}"}}"#),
                )
            } else {
                ("401 Unauthorized", "", r#"{"error":"missing_key"}"#.to_string())
            };
            let resp = format!(
                "HTTP/1.1 {status}\r\nContent-Type: application/json\r\nX-Acme-Request: {id}\r\n{extra}Content-Length: {}\r\nConnection: close\r\n\r\n{body}",
                body.len()
            );
            let _ = s.write_all(resp.as_bytes());
        }
    });
    (addr, seen)
}

#[test]
fn a_learned_persona_replays_what_the_api_answered() {
    let (api, seen) = stub_api();
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("acme.json");
    let example = "acme_live_4eC39HqLyjWDarjtT1zdp7dc";
    ok(
        dir.path(),
        &[
            "persona",
            "learn",
            &format!("http://{api}/v1/users"),
            "--like",
            example,
            "--out",
            file.to_str().unwrap(),
        ],
    );
    // The invalid key sent had the planted shape and was nobody's real key.
    let sent = seen.lock().unwrap().clone();
    assert!(!sent.is_empty());
    for a in &sent {
        let key = a.strip_prefix("Bearer ").expect("a bearer credential");
        assert!(
            key.starts_with("acme_live_") && key.len() == example.len() && key != example,
            "{key}"
        );
    }

    let srv = Server::start(
        dir.path(),
        &["--min-latency", "0ms", "--persona", file.to_str().unwrap()],
    );
    let direct = |req: &[u8]| comparable(&raw(api, req));
    let decoy = |req: &[u8]| comparable(&srv.raw(req));
    let (_, token) = common::mint(dir.path(), &["--kind", "key", "--like", example, "--label", "p"]);
    let cases: Vec<(&str, Vec<u8>)> = vec![
        ("invalid key", get("/v1/users", &["Authorization: Bearer acme_live_notourstoken000000000000"])),
        ("honeytoken", get("/v1/users", &[&format!("Authorization: Bearer {token}")])),
        ("no key", get("/v1/users", &[])),
        (
            "preflight",
            b"OPTIONS /v1/users HTTP/1.1\r\nHost: a\r\nOrigin: https://x.example\r\nAccess-Control-Request-Method: POST\r\nConnection: close\r\n\r\n".to_vec(),
        ),
        ("unknown method", b"PURGE /v1/users HTTP/1.1\r\nHost: a\r\nConnection: close\r\n\r\n".to_vec()),
        ("unknown path", get("/robots.txt", &[])),
    ];
    for (name, req) in &cases {
        let (ds, dh, db) = direct(req);
        let (ys, yh, yb) = decoy(req);
        assert_eq!(ys, ds, "{name}: status");
        let body_shape = |b: &[u8]| String::from_utf8_lossy(b).replace(char::is_numeric, "0");
        assert_eq!(body_shape(&yb), body_shape(&db), "{name}: body");
        // Every header the API sent that is not framing is there, same name and order.
        let names = |h: &[String]| -> Vec<String> {
            h.iter()
                .map(|l| l.split(':').next().unwrap().to_string())
                .filter(|n| {
                    !matches!(
                        n.to_ascii_lowercase().as_str(),
                        "content-length" | "connection" | "date"
                    )
                })
                .collect()
        };
        assert_eq!(names(&yh), names(&dh), "{name}: headers");
    }
    assert_eq!(common::hits(dir.path(), &[]).len(), 1, "the honeytoken was recorded");
}
