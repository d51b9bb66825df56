//! Flood: 20,000 requests carrying one honeytoken against `serve`.
//! Every hit is stored, alerts stay within the throttle (one immediate alert
//! and one summary whose count makes the total exact) and the server's memory
//! stays bounded. A load run, not part of CI:
//!
//!     cargo test --release --test flood -- --ignored --nocapture

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpStream;
use std::time::Instant;

const REQUESTS: usize = 20_000;
const CLIENTS: usize = 8;

fn vm_hwm_kib(pid: u32) -> u64 {
    std::fs::read_to_string(format!("/proc/{pid}/status"))
        .ok()
        .and_then(|s| s.lines().find(|l| l.starts_with("VmHWM:")).map(str::to_string))
        .and_then(|l| l.split_whitespace().nth(1).and_then(|v| v.parse().ok()))
        .unwrap_or(0)
}

/// Sends `n` keep-alive requests on one connection, returning how many got the usual 401.
fn client(addr: std::net::SocketAddr, token: &str, n: usize) -> usize {
    let mut s = TcpStream::connect(addr).unwrap();
    s.set_nodelay(true).unwrap();
    let req =
        format!("GET /v1/users HTTP/1.1\r\nHost: api\r\nUser-Agent: flood/1\r\nAuthorization: Bearer {token}\r\n\r\n");
    let mut ok = 0;
    let mut buf = vec![0u8; 4096];
    for _ in 0..n {
        s.write_all(req.as_bytes()).unwrap();
        let mut got = Vec::new();
        // The answer is small and fixed: read until the 105-byte body is complete.
        loop {
            let k = s.read(&mut buf).unwrap();
            assert!(k > 0, "server closed the connection");
            got.extend_from_slice(&buf[..k]);
            if let Some(p) = got.windows(4).position(|w| w == b"\r\n\r\n")
                && got.len() >= p + 4 + 105
            {
                break;
            }
        }
        if got.starts_with(b"HTTP/1.1 401") {
            ok += 1;
        }
    }
    ok
}

#[test]
#[ignore = "load run: cargo test --release --test flood -- --ignored --nocapture"]
fn twenty_thousand_hits_are_stored_and_alerts_stay_throttled() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = mint(
        dir.path(),
        &["--kind", "key", "--prefix", "acme_live_", "--label", "flood"],
    );
    let srv = Server::start(dir.path(), &["--min-latency", "0ms"]);
    let pid = srv.child.id();
    let rss_before = vm_hwm_kib(pid);
    let start = Instant::now();
    let answered: usize = std::thread::scope(|s| {
        let handles: Vec<_> = (0..CLIENTS)
            .map(|_| s.spawn(|| client(srv.addr, &token, REQUESTS / CLIENTS)))
            .collect();
        handles.into_iter().map(|h| h.join().unwrap()).sum()
    });
    let elapsed = start.elapsed();
    let rss_peak = vm_hwm_kib(pid);
    let stderr = srv.stderr.clone();
    assert!(srv.stop().success());
    let alerts: Vec<String> = stderr
        .lock()
        .unwrap()
        .iter()
        .filter(|l| l.starts_with("ALERT"))
        .cloned()
        .collect();
    // Under the default flood rule: 20 whole records, one counter for the rest.
    let records = hits(dir.path(), &["--token", &id, "--limit", "1000000"]);
    let stored: usize = records.iter().map(|h| h["count"].as_u64().unwrap_or(1) as usize).sum();
    println!(
        "flood: {answered}/{REQUESTS} answered 401 in {:.2} s ({:.0} req/s, {CLIENTS} keep-alive clients); \
         requests kept {stored} in {} records; alert lines {}; server peak RSS {} KiB (after start {} KiB)",
        elapsed.as_secs_f64(),
        REQUESTS as f64 / elapsed.as_secs_f64(),
        records.len(),
        alerts.len(),
        rss_peak,
        rss_before
    );
    for a in &alerts {
        println!("  {a}");
    }
    assert_eq!(answered, REQUESTS);
    assert_eq!(stored, REQUESTS, "every request is kept, whole or counted");
    assert!(records.len() <= 2 * 21, "a flood is a few records: {}", records.len());
    assert_eq!(alerts.len(), 2, "one immediate alert and one summary");
    assert!(
        alerts[1].contains(&format!("{} more requests", REQUESTS - 1)),
        "{}",
        alerts[1]
    );
    assert!(rss_peak < 64 * 1024, "server memory stays bounded: {rss_peak} KiB");
}
