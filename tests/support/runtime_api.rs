//! A Lambda Runtime API emulator for end-to-end tests: an HTTP server on a
//! free loopback port that serves `GET /2018-06-01/runtime/invocation/next`
//! (held open until an invocation is queued), takes
//! `POST …/invocation/{id}/response` and `…/error`, and `…/init/error`,
//! and a real function binary spawned against it.
#![allow(dead_code)]

use serde_json::Value;
use std::collections::{HashMap, VecDeque};
use std::io::{BufRead, BufReader};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Stdio};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::io::{AsyncBufReadExt, AsyncReadExt, AsyncWriteExt, BufReader as TokioBufReader};
use tokio::net::{TcpListener, TcpStream};
use tokio::sync::{Notify, oneshot};

const PREFIX: &str = "/2018-06-01/runtime";

type Outcome = Result<Value, Value>;

#[derive(Default)]
struct State {
    queue: Mutex<VecDeque<(String, Value)>>,
    queued: Notify,
    waiting: Mutex<HashMap<String, oneshot::Sender<Outcome>>>,
    init_error: Mutex<Option<Value>>,
    next_id: Mutex<u64>,
    // Milliseconds from handing out an invocation to its deadline (0: 60 s).
    deadline_ms: Mutex<i64>,
}

/// The emulator; stops accepting when dropped.
pub struct RuntimeApi {
    /// `host:port`, the value of `AWS_LAMBDA_RUNTIME_API`.
    pub addr: String,
    state: Arc<State>,
    task: tokio::task::JoinHandle<()>,
}

impl Drop for RuntimeApi {
    fn drop(&mut self) {
        self.task.abort();
    }
}

impl RuntimeApi {
    /// Starts on a free loopback port.
    pub async fn start() -> RuntimeApi {
        let l = TcpListener::bind("127.0.0.1:0").await.expect("bind runtime api");
        let addr = l.local_addr().unwrap().to_string();
        let state = Arc::new(State::default());
        let s = state.clone();
        let task = tokio::spawn(async move {
            while let Ok((conn, _)) = l.accept().await {
                tokio::spawn(serve(conn, s.clone()));
            }
        });
        RuntimeApi { addr, state, task }
    }

    /// Sets the deadline the next invocations get (`Lambda-Runtime-Deadline-Ms`
    /// is this long after the function receives them); the default is 60 s.
    pub fn set_deadline(&self, d: Duration) {
        *self.state.deadline_ms.lock().unwrap() = d.as_millis() as i64;
    }

    /// Queues one invocation and waits for the function's answer: `Ok` from
    /// `/response`, `Err` from `/error` (or an init error).
    pub async fn invoke(&self, payload: Value) -> Outcome {
        let id = {
            let mut n = self.state.next_id.lock().unwrap();
            *n += 1;
            format!("req-{}-{}", std::process::id(), *n)
        };
        let (tx, rx) = oneshot::channel();
        self.state.waiting.lock().unwrap().insert(id.clone(), tx);
        self.state.queue.lock().unwrap().push_back((id, payload));
        self.state.queued.notify_one();
        let deadline = tokio::time::Instant::now() + Duration::from_secs(60);
        let mut rx = rx;
        loop {
            tokio::select! {
                r = &mut rx => return r.expect("runtime api dropped the invocation"),
                _ = tokio::time::sleep(Duration::from_millis(100)) => {
                    if let Some(e) = self.state.init_error.lock().unwrap().clone() {
                        return Err(e);
                    }
                    assert!(tokio::time::Instant::now() < deadline, "the function did not answer within 60 s");
                }
            }
        }
    }
}

async fn serve(conn: TcpStream, state: Arc<State>) {
    let (r, mut w) = conn.into_split();
    let mut r = TokioBufReader::new(r);
    loop {
        let Some((method, path, body)) = read_request(&mut r).await else {
            return;
        };
        let (status, headers, out): (u16, Vec<(String, String)>, Vec<u8>) =
            if method == "GET" && path == format!("{PREFIX}/invocation/next") {
                let (id, payload) = loop {
                    if let Some(x) = state.queue.lock().unwrap().pop_front() {
                        break x;
                    }
                    state.queued.notified().await;
                };
                let after = match *state.deadline_ms.lock().unwrap() {
                    0 => 60_000,
                    ms => ms,
                };
                let deadline = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64 + after;
                (
                    200,
                    vec![
                        ("Lambda-Runtime-Aws-Request-Id".into(), id),
                        ("Lambda-Runtime-Deadline-Ms".into(), deadline.to_string()),
                        (
                            "Lambda-Runtime-Invoked-Function-Arn".into(),
                            "arn:aws:lambda:us-east-1:000000000000:function:emulated".into(),
                        ),
                        (
                            "Lambda-Runtime-Trace-Id".into(),
                            "Root=1-00000000-000000000000000000000000".into(),
                        ),
                        ("Content-Type".into(), "application/json".into()),
                    ],
                    payload.to_string().into_bytes(),
                )
            } else if method == "POST" && path == format!("{PREFIX}/init/error") {
                *state.init_error.lock().unwrap() = Some(parse(&body));
                (202, vec![], br#"{"status":"OK"}"#.to_vec())
            } else if let Some(rest) = path
                .strip_prefix(&format!("{PREFIX}/invocation/"))
                .filter(|_| method == "POST")
            {
                let (id, kind) = rest.split_once('/').unwrap_or((rest, ""));
                let tx = state.waiting.lock().unwrap().remove(id);
                match (tx, kind) {
                    (Some(tx), "response") => {
                        let _ = tx.send(Ok(parse(&body)));
                        (202, vec![], br#"{"status":"OK"}"#.to_vec())
                    }
                    (Some(tx), "error") => {
                        let _ = tx.send(Err(parse(&body)));
                        (202, vec![], br#"{"status":"OK"}"#.to_vec())
                    }
                    _ => (400, vec![], br#"{"errorMessage":"unknown request id"}"#.to_vec()),
                }
            } else {
                (404, vec![], br#"{"errorMessage":"not found"}"#.to_vec())
            };
        let mut head = format!("HTTP/1.1 {status} X\r\ncontent-length: {}\r\n", out.len());
        for (k, v) in headers {
            head.push_str(&format!("{k}: {v}\r\n"));
        }
        head.push_str("\r\n");
        if w.write_all(head.as_bytes()).await.is_err() || w.write_all(&out).await.is_err() {
            return;
        }
    }
}

fn parse(body: &[u8]) -> Value {
    serde_json::from_slice(body).unwrap_or_else(|_| Value::String(String::from_utf8_lossy(body).into_owned()))
}

/// Reads one request: method, path, body (Content-Length or chunked).
async fn read_request<R: tokio::io::AsyncBufRead + Unpin>(r: &mut R) -> Option<(String, String, Vec<u8>)> {
    let mut line = String::new();
    if r.read_line(&mut line).await.ok()? == 0 {
        return None;
    }
    let mut parts = line.split_whitespace();
    let method = parts.next()?.to_string();
    let path = parts.next()?.to_string();
    let mut len = 0usize;
    let mut chunked = false;
    loop {
        let mut h = String::new();
        if r.read_line(&mut h).await.ok()? == 0 {
            return None;
        }
        let h = h.trim_end();
        if h.is_empty() {
            break;
        }
        let (k, v) = h.split_once(':')?;
        match k.trim().to_ascii_lowercase().as_str() {
            "content-length" => len = v.trim().parse().ok()?,
            "transfer-encoding" => chunked = v.to_ascii_lowercase().contains("chunked"),
            _ => {}
        }
    }
    let mut body = Vec::new();
    if chunked {
        loop {
            let mut size = String::new();
            r.read_line(&mut size).await.ok()?;
            let n = usize::from_str_radix(size.trim().split(';').next()?, 16).ok()?;
            let mut chunk = vec![0u8; n + 2];
            r.read_exact(&mut chunk).await.ok()?;
            if n == 0 {
                break;
            }
            body.extend_from_slice(&chunk[..n]);
        }
    } else {
        body.resize(len, 0);
        r.read_exact(&mut body).await.ok()?;
    }
    Some((method, path, body))
}

/// A function binary running against an emulator; killed by its pid on drop.
pub struct Function {
    child: Child,
    /// Its stderr and stdout lines (logs), for failure messages.
    pub logs: Arc<Mutex<Vec<String>>>,
}

impl Drop for Function {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

impl Function {
    /// Spawns `bin` with the Lambda environment for `api` plus `env`.
    pub fn spawn(bin: &Path, name: &str, api: &RuntimeApi, env: &[(&str, String)]) -> Function {
        let mut cmd = Command::new(bin);
        cmd.env_clear()
            .env("PATH", std::env::var("PATH").unwrap_or_default())
            .env("AWS_LAMBDA_RUNTIME_API", &api.addr)
            .env("AWS_LAMBDA_FUNCTION_NAME", name)
            .env("AWS_LAMBDA_FUNCTION_MEMORY_SIZE", "256")
            .env("AWS_LAMBDA_FUNCTION_VERSION", "$LATEST")
            .env("AWS_LAMBDA_LOG_GROUP_NAME", format!("/aws/lambda/{name}"))
            .env("AWS_LAMBDA_LOG_STREAM_NAME", "emulated")
            .env("RUST_LOG", "info")
            .stdin(Stdio::null())
            .stdout(Stdio::piped())
            .stderr(Stdio::piped());
        for (k, v) in env {
            cmd.env(k, v);
        }
        let mut child = cmd.spawn().unwrap_or_else(|e| panic!("spawn {}: {e}", bin.display()));
        let logs = Arc::new(Mutex::new(Vec::new()));
        for out in [
            child
                .stdout
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
            child
                .stderr
                .take()
                .map(|o| Box::new(o) as Box<dyn std::io::Read + Send>),
        ]
        .into_iter()
        .flatten()
        {
            let sink = logs.clone();
            std::thread::spawn(move || {
                for line in BufReader::new(out).lines().map_while(Result::ok) {
                    sink.lock().unwrap().push(line);
                }
            });
        }
        Function { child, logs }
    }

    /// The logs so far, one string.
    pub fn log_text(&self) -> String {
        self.logs.lock().unwrap().join("\n")
    }
}

/// A workspace binary built by `scripts/test.sh` (`cargo build -p decoy -p
/// alerter` before the tests): `$HONEYTOKEN_LAMBDA_BIN_DIR/NAME`, or the
/// directory two levels above this test executable (target/debug).
pub fn workspace_bin(name: &str) -> PathBuf {
    let dir = match std::env::var("HONEYTOKEN_LAMBDA_BIN_DIR") {
        Ok(d) if !d.is_empty() => PathBuf::from(d),
        _ => {
            let exe = std::env::current_exe().expect("test executable");
            exe.parent().and_then(Path::parent).expect("target dir").to_path_buf()
        }
    };
    let bin = dir.join(name);
    assert!(
        bin.is_file(),
        "{} not found: run scripts/test.sh, which builds the Lambda binaries (cargo build -p decoy -p alerter) before the tests",
        bin.display()
    );
    bin
}
