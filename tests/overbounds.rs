//! Requests past the scan bounds (issue 24 item 6, issue 23 item 3): a
//! request whose token would hide where the extraction stops looking is
//! recorded as a suspicious request (no token, `over_bounds` naming what
//! was skipped), one record per source and flood bucket with the rest
//! counted, alerted at low severity once per source and window, and
//! answered exactly as any other request. The decoy (`serve`) and the
//! guard (`honeytoken guard` in front of a stub upstream) record the same.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::{Ipv4Addr, SocketAddr, TcpListener};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const SUSPICIOUS: &str = "suspicious-request";

/// A request past a bound, the bound it goes past, and a request of the
/// same shape within the bounds carrying no token of ours (same header
/// names, so the persona classifies both alike).
struct Case {
    name: &'static str,
    over: Vec<u8>,
    skipped: &'static str,
    within: Vec<u8>,
}

fn head(method: &str, lines: &[String], body: &str) -> Vec<u8> {
    let mut r = format!("{method} /v1/users HTTP/1.1\r\nHost: api.acme.test\r\nUser-Agent: curl/8.5.0\r\n");
    for l in lines {
        r.push_str(l);
        r.push_str("\r\n");
    }
    if method == "POST" {
        r.push_str(&format!(
            "Content-Type: application/json\r\nContent-Length: {}\r\n",
            body.len()
        ));
    }
    r.push_str("Connection: close\r\n\r\n");
    r.push_str(body);
    r.into_bytes()
}

/// The three ways past the bounds: a cookie after padding 16 KiB beyond
/// the cookie budget, a token after the body's scan limit, and a key in
/// the last of 300 credential-named headers.
fn cases(token: &str) -> Vec<Case> {
    // Same length and alphabet as the token, not ours (its tag fails).
    let wrong: String = token
        .char_indices()
        .map(|(i, c)| if i + 6 >= token.len() { 'Q' } else { c })
        .collect();
    let cookie = |pad: usize, t: &str| vec![format!("Cookie: pad={}; session={t}", "x".repeat(pad))];
    let body = |pad: usize, t: &str| format!("{{\"pad\":\"{}\",\"api_key\":\"{t}\"}}", "p".repeat(pad));
    let headers = |n: usize, t: &str| {
        (0..n)
            .map(|i| {
                if i + 1 == n {
                    format!("X-Api-Key-{i}: {t}")
                } else {
                    format!("X-Api-Key-{i}: {}", "f".repeat(250))
                }
            })
            .collect::<Vec<_>>()
    };
    vec![
        Case {
            name: "cookie after padding",
            over: head("GET", &cookie(80 * 1024, token), ""),
            skipped: "cookies",
            within: head("GET", &cookie(16, &wrong), ""),
        },
        Case {
            name: "token after the body scan limit",
            over: head("POST", &[], &body(70 * 1024, token)),
            skipped: "body",
            within: head("POST", &[], &body(16, &wrong)),
        },
        Case {
            name: "300 credential-named headers",
            over: head("GET", &headers(300, token), ""),
            skipped: "credential-headers",
            within: head("GET", &headers(3, &wrong), ""),
        },
    ]
}

/// A webhook receiver on a free loopback port: every request body it got.
fn webhook() -> (String, Arc<Mutex<Vec<serde_json::Value>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let url = format!("http://{}/alerts", l.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<serde_json::Value>>> = Arc::default();
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            if let Some(body) = read_request(&mut s)
                && let Ok(v) = serde_json::from_slice(&body)
            {
                s2.lock().unwrap().push(v);
            }
            let _ = s.write_all(b"HTTP/1.1 200 OK\r\ncontent-length: 0\r\nconnection: close\r\n\r\n");
        }
    });
    (url, seen)
}

/// Reads one request (head and Content-Length body); its body.
fn read_request(s: &mut impl Read) -> Option<Vec<u8>> {
    let mut buf = Vec::new();
    let mut chunk = [0u8; 65536];
    loop {
        if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            let head = String::from_utf8_lossy(&buf[..p]).to_ascii_lowercase();
            let len: usize = head
                .lines()
                .find_map(|l| l.strip_prefix("content-length:"))
                .and_then(|v| v.trim().parse().ok())
                .unwrap_or(0);
            while buf.len() < p + 4 + len {
                let n = s.read(&mut chunk).ok()?;
                if n == 0 {
                    return None;
                }
                buf.extend_from_slice(&chunk[..n]);
            }
            return Some(buf[p + 4..p + 4 + len].to_vec());
        }
        let n = s.read(&mut chunk).ok()?;
        if n == 0 {
            return None;
        }
        buf.extend_from_slice(&chunk[..n]);
    }
}

/// An upstream answering every request `200 ok` (keep-alive), for the guard.
fn upstream() -> SocketAddr {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let addr = l.local_addr().unwrap();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            std::thread::spawn(move || {
                while read_request(&mut s).is_some() {
                    if s.write_all(b"HTTP/1.1 200 OK\r\nContent-Length: 2\r\nX-Upstream: stub\r\n\r\nok")
                        .is_err()
                    {
                        return;
                    }
                }
            });
        }
    });
    addr
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

fn suspicious_from(dir: &std::path::Path, ip: &str) -> Vec<serde_json::Value> {
    hits(dir, &["--token", SUSPICIOUS, "--ip", ip, "--limit", "100000"])
}

/// Sends each case from a source of its own (127.0.0.10 + i): the answer
/// is the one the same request within the bounds gets (`compare`), and one
/// suspicious request naming what was skipped is stored per source.
fn each_case_is_recorded(
    dir: &std::path::Path,
    addr: SocketAddr,
    token: &str,
    compare: impl Fn(&str, &[u8], &[u8]),
    via: &str,
) {
    for (i, c) in cases(token).iter().enumerate() {
        let from = Ipv4Addr::new(127, 0, 0, 10 + i as u8);
        let over = raw_from(addr, from, &c.over);
        let within = raw_from(addr, from, &c.within);
        compare(c.name, &over, &within);
        let ip = from.to_string();
        let mut got = Vec::new();
        assert!(
            eventually(|| {
                got = suspicious_from(dir, &ip);
                !got.is_empty()
            }),
            "{}: no suspicious request recorded",
            c.name
        );
        assert_eq!(got.len(), 1, "{}: {got:?}", c.name);
        let h = &got[0];
        assert_eq!(h["token_id"], SUSPICIOUS, "{}", c.name);
        assert_eq!(h["over_bounds"], serde_json::json!([c.skipped]), "{}", c.name);
        assert_eq!(
            h["label"],
            format!("suspicious request, no token: {}", c.skipped),
            "{}",
            c.name
        );
        assert_eq!(h["via"]["kind"], via, "{}", c.name);
        assert_eq!(h["orphan"], false, "{}", c.name);
        assert_eq!(h["path"], "/v1/users", "{}", c.name);
    }
}

/// A flood of `n` requests past the bounds from one source: one whole
/// record and one counter with the exact rest; one low-severity alert.
fn flood_is_one_record_and_one_alert(
    dir: &std::path::Path,
    addr: SocketAddr,
    token: &str,
    alerts: &Arc<Mutex<Vec<serde_json::Value>>>,
) {
    const N: usize = 1000;
    let from = Ipv4Addr::new(127, 0, 0, 30);
    let ip = from.to_string();
    let over = &cases(token)[0].over;
    for _ in 0..N {
        let r = raw_from(addr, from, over);
        assert!(r.starts_with(b"HTTP/1.1 "), "{}", String::from_utf8_lossy(&r));
    }
    let total = |h: &[serde_json::Value]| h.iter().map(|h| h["count"].as_u64().unwrap_or(1)).sum::<u64>();
    let mut got = Vec::new();
    assert!(
        eventually(|| {
            got = suspicious_from(dir, &ip);
            total(&got) >= N as u64
        }),
        "{got:?}"
    );
    assert_eq!(total(&got), N as u64, "every request counted exactly");
    assert_eq!(got.len(), 2, "one whole record and one counter: {got:?}");
    assert_eq!(
        got.iter().filter(|h| h["count"] == 1 && h["flood"].is_null()).count(),
        1
    );
    assert!(
        got.iter()
            .any(|h| h["count"] == (N - 1) as u64 && !h["flood"].is_null())
    );
    assert!(got.iter().all(|h| h["over_bounds"] == serde_json::json!(["cookies"])));
    let of_source = || -> Vec<serde_json::Value> {
        alerts
            .lock()
            .unwrap()
            .iter()
            .filter(|a| a["hit"]["source_ip"] == ip.as_str())
            .cloned()
            .collect()
    };
    assert!(eventually(|| !of_source().is_empty()), "no alert for the flood");
    let a = of_source();
    assert_eq!(a.len(), 1, "one alert per source and window: {a:?}");
    assert_eq!(a[0]["severity"], "low");
    assert!(a[0]["suppressed"].is_null(), "the immediate alert");
    assert_eq!(a[0]["hit"]["token_id"], SUSPICIOUS);
    assert!(
        a[0]["text"].as_str().unwrap().contains("flags: over-bounds(cookies)"),
        "{}",
        a[0]["text"]
    );
    assert!(
        a[0]["summary"]
            .as_str()
            .unwrap()
            .starts_with("suspicious request, no token: cookies"),
        "{}",
        a[0]["summary"]
    );
}

#[test]
fn the_decoy_records_requests_past_its_bounds_as_suspicious() {
    let dir = tempfile::tempdir().unwrap();
    let (_, token) = mint(
        dir.path(),
        &["--kind", "key", "--prefix", "sk_live_", "--label", "over"],
    );
    let (url, alerts) = webhook();
    let srv = Server::start(dir.path(), &["--min-latency", "0ms", "--webhook", &url]);
    each_case_is_recorded(
        dir.path(),
        srv.addr,
        &token,
        |name, over, within| {
            assert_eq!(
                comparable(over),
                comparable(within),
                "{name}: the persona's answer, byte for byte"
            );
        },
        "decoy",
    );
    // The CSV and ECS exports say what it is.
    let csv = ok(
        dir.path(),
        &["hits", "--format", "csv", "--token", SUSPICIOUS, "--ip", "127.0.0.10"],
    );
    let row = csv.lines().nth(1).unwrap_or_default();
    assert!(
        row.contains(",suspicious-request,\"suspicious request, no token: cookies\",127.0.0.10,"),
        "{csv}"
    );
    assert!(row.contains(",curl/8.5.0,over-bounds(cookies),"), "{csv}");
    let ecs = ok(
        dir.path(),
        &["hits", "--format", "ecs", "--token", SUSPICIOUS, "--ip", "127.0.0.10"],
    );
    let ecs: serde_json::Value = serde_json::from_str(ecs.lines().next().unwrap()).unwrap();
    assert_eq!(ecs["event"]["action"], "honeytoken-suspicious-request");
    assert_eq!(ecs["honeytoken"]["severity"], "low");
    flood_is_one_record_and_one_alert(dir.path(), srv.addr, &token, &alerts);
    // The terminal says it too, at once, and the window's rest goes into
    // one summary at exit.
    let stderr = srv.stderr.clone();
    assert!(srv.stop().success());
    let lines: Vec<String> = stderr
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("ALERT") && l.contains("127.0.0.30"))
        .cloned()
        .collect();
    assert_eq!(lines.len(), 2, "{lines:?}");
    assert!(lines[0].contains("flags=over-bounds(cookies)"), "{}", lines[0]);
    assert!(
        lines[1].contains("999 more suspicious requests (no token: cookies)"),
        "{}",
        lines[1]
    );
}

#[test]
fn the_guard_records_what_the_decoy_records() {
    let dir = tempfile::tempdir().unwrap();
    let (_, token) = mint(
        dir.path(),
        &["--kind", "key", "--prefix", "sk_live_", "--label", "over"],
    );
    let (url, alerts) = webhook();
    let up = format!("http://{}", upstream());
    let proxy = Server::start_command(
        dir.path(),
        &["guard", "--listen", "127.0.0.1:0", "--upstream", &up],
        &["--webhook", &url],
    );
    each_case_is_recorded(
        dir.path(),
        proxy.addr,
        &token,
        |name, over, within| {
            // The upstream's answer, unchanged: nothing tells the client.
            assert!(over.starts_with(b"HTTP/1.1 200 OK"), "{name}");
            assert!(over.ends_with(b"\r\n\r\nok"), "{name}");
            assert_eq!(comparable(over), comparable(within), "{name}");
        },
        "guard",
    );
    flood_is_one_record_and_one_alert(dir.path(), proxy.addr, &token, &alerts);
    assert!(proxy.stop().success());
}

/// A request past the bounds that carries a token elsewhere is an ordinary
/// hit, naming the skipped parts as well.
#[test]
fn a_hit_past_the_bounds_names_what_was_skipped() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = mint(
        dir.path(),
        &["--kind", "key", "--prefix", "sk_live_", "--label", "both"],
    );
    let srv = Server::start(dir.path(), &["--min-latency", "0ms"]);
    let req = head(
        "GET",
        &[
            format!("Authorization: Bearer {token}"),
            format!("Cookie: pad={}", "x".repeat(80 * 1024)),
        ],
        "",
    );
    srv.raw(&req);
    let mut got = Vec::new();
    assert!(eventually(|| {
        got = hits(dir.path(), &["--token", &id]);
        !got.is_empty()
    }));
    assert_eq!(got[0]["found_in"], "authorization");
    assert_eq!(got[0]["over_bounds"], serde_json::json!(["cookies"]));
    assert!(hits(dir.path(), &["--token", SUSPICIOUS]).is_empty());
    assert!(srv.stop().success());
}
