//! A paced HTTP/1.1 load generator that times each request from the moment
//! the client starts it, connection set-up included.
//!
//! wrk starts its clock at the first write on a connection, so against a
//! server that closes the connection after every answer (gunicorn's sync
//! workers) wrk's "direct" latency leaves out the connect and the worker's
//! accept, while the same request through a proxy pays them inside the
//! measured time (the proxy connects upstream after the client's request
//! arrived). This tool measures both the same way: what the client waits
//! for, from deciding to send until the last byte of the answer.
//!
//! ```text
//! cargo run --release --example paced_load -- ADDR PATH CONNECTIONS DELAY_MS SECONDS [HEADER...]
//! ```
//!
//! Each of CONNECTIONS clients sends a GET, reads the whole answer, sleeps
//! DELAY_MS, and repeats (as wrk's Lua `delay()`), reusing its connection
//! unless the server closed it. Prints `requests rps p50_us p99_us errors`.

use std::net::SocketAddr;
use std::time::{Duration, Instant};
use tokio::io::{AsyncReadExt, AsyncWriteExt};
use tokio::net::TcpStream;

struct Args {
    addr: SocketAddr,
    request: Vec<u8>,
    connections: usize,
    delay: Duration,
    duration: Duration,
}

fn args() -> Result<Args, String> {
    let a: Vec<String> = std::env::args().skip(1).collect();
    if a.len() < 5 {
        return Err("usage: paced_load ADDR PATH CONNECTIONS DELAY_MS SECONDS [HEADER...]".into());
    }
    let addr = a[0].parse().map_err(|e| format!("ADDR {:?}: {e}", a[0]))?;
    let num = |i: usize, what: &str| a[i].parse::<u64>().map_err(|e| format!("{what} {:?}: {e}", a[i]));
    let mut request = format!("GET {} HTTP/1.1\r\nHost: {}\r\n", a[1], a[0]);
    for h in &a[5..] {
        request.push_str(h);
        request.push_str("\r\n");
    }
    request.push_str("\r\n");
    Ok(Args {
        addr,
        request: request.into_bytes(),
        connections: num(2, "CONNECTIONS")? as usize,
        delay: Duration::from_millis(num(3, "DELAY_MS")?),
        duration: Duration::from_secs(num(4, "SECONDS")?),
    })
}

/// Reads one answer; whether the server keeps the connection open.
async fn read_answer(s: &mut TcpStream, buf: &mut Vec<u8>) -> std::io::Result<bool> {
    buf.clear();
    let mut chunk = [0u8; 16 * 1024];
    let head_end = loop {
        if let Some(i) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
            break i + 4;
        }
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    };
    let head = String::from_utf8_lossy(&buf[..head_end]).to_ascii_lowercase();
    let field = |name: &str| {
        head.lines()
            .find_map(|l| l.strip_prefix(name).map(|v| v.trim().to_string()))
    };
    let close = field("connection:").is_some_and(|v| v == "close");
    if field("transfer-encoding:").is_some_and(|v| v.contains("chunked")) {
        // Not needed for the answers this tool times; an error rather than
        // waiting for a close that a keep-alive server never sends.
        return Err(std::io::Error::new(
            std::io::ErrorKind::Unsupported,
            "chunked answers are not supported",
        ));
    }
    let Some(len) = field("content-length:").and_then(|v| v.parse::<usize>().ok()) else {
        // No length: the body runs to the close.
        while s.read(&mut chunk).await? > 0 {}
        return Ok(false);
    };
    while buf.len() < head_end + len {
        let n = s.read(&mut chunk).await?;
        if n == 0 {
            return Err(std::io::ErrorKind::UnexpectedEof.into());
        }
        buf.extend_from_slice(&chunk[..n]);
    }
    Ok(!close)
}

async fn client(a: &Args, until: Instant) -> (Vec<u32>, u64) {
    let mut times = Vec::new();
    let mut errors = 0;
    let mut conn: Option<TcpStream> = None;
    let mut buf = Vec::with_capacity(64 * 1024);
    while Instant::now() < until {
        let t0 = Instant::now();
        let r = async {
            let mut s = match conn.take() {
                Some(s) => s,
                None => {
                    let s = TcpStream::connect(a.addr).await?;
                    s.set_nodelay(true)?;
                    s
                }
            };
            s.write_all(&a.request).await?;
            let keep = read_answer(&mut s, &mut buf).await?;
            Ok::<_, std::io::Error>(keep.then_some(s))
        }
        .await;
        match r {
            Ok(s) => {
                times.push(t0.elapsed().as_micros().min(u128::from(u32::MAX)) as u32);
                conn = s;
            }
            Err(_) => errors += 1,
        }
        tokio::time::sleep(a.delay).await;
    }
    (times, errors)
}

#[tokio::main(flavor = "current_thread")]
async fn main() {
    let a = match args() {
        Ok(a) => std::sync::Arc::new(a),
        Err(e) => {
            eprintln!("{e}");
            std::process::exit(2);
        }
    };
    let start = Instant::now();
    let until = start + a.duration;
    let tasks: Vec<_> = (0..a.connections)
        .map(|_| {
            let a = a.clone();
            tokio::spawn(async move { client(&a, until).await })
        })
        .collect();
    let mut all = Vec::new();
    let mut errors = 0;
    for t in tasks {
        let (times, e) = t.await.expect("client task");
        all.extend(times);
        errors += e;
    }
    let secs = start.elapsed().as_secs_f64();
    all.sort_unstable();
    let pct = |p: f64| {
        if all.is_empty() {
            0
        } else {
            all[((all.len() - 1) as f64 * p).round() as usize]
        }
    };
    println!(
        "{} {:.1} {} {} {}",
        all.len(),
        all.len() as f64 / secs,
        pct(0.50),
        pct(0.99),
        errors
    );
}
