//! Helpers for tests that drive the real `honeytoken` binary.
#![allow(dead_code)]

use std::io::{BufRead, BufReader, Read, Write};
use std::net::{SocketAddr, TcpStream};
use std::path::{Path, PathBuf};
use std::process::{Child, Command, Output, Stdio};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

/// The binary under test.
pub fn bin() -> PathBuf {
    PathBuf::from(env!("CARGO_BIN_EXE_honeytoken"))
}

/// Runs `honeytoken --data-dir DIR args…`.
pub fn run(dir: &Path, args: &[&str]) -> Output {
    Command::new(bin())
        .arg("--data-dir")
        .arg(dir)
        .args(args)
        .env_remove("HONEYTOKEN_SIGNING_KEY")
        .output()
        .expect("run honeytoken")
}

/// Runs and expects success; returns stdout.
pub fn ok(dir: &Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert!(
        o.status.success(),
        "honeytoken {args:?} failed: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).expect("utf-8 stdout")
}

/// Mints a token and returns (id, token).
pub fn mint(dir: &Path, args: &[&str]) -> (String, String) {
    let mut a = vec!["mint", "--format", "json"];
    a.extend_from_slice(args);
    let v: serde_json::Value = serde_json::from_str(&ok(dir, &a)).expect("mint json");
    (
        v["id"].as_str().unwrap().to_string(),
        v["token"].as_str().unwrap().to_string(),
    )
}

/// Hits as JSON.
pub fn hits(dir: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut a = vec!["hits", "--format", "json"];
    a.extend_from_slice(extra);
    serde_json::from_str(&ok(dir, &a)).expect("hits json")
}

/// A running `honeytoken serve`, killed by its own pid on drop.
pub struct Server {
    pub child: Child,
    pub addr: SocketAddr,
    pub stderr: Arc<Mutex<Vec<String>>>,
}

impl Server {
    /// Starts `serve --addr 127.0.0.1:0` and waits for its address.
    pub fn start(dir: &Path, extra: &[&str]) -> Server {
        Self::start_command(dir, &["serve", "--addr", "127.0.0.1:0"], extra)
    }

    /// Starts serve under a wrapper command (`prlimit --nofile=…`, say).
    pub fn start_under(dir: &Path, wrapper: &[&str], extra: &[&str]) -> Server {
        Self::start_full(dir, wrapper, &["serve", "--addr", "127.0.0.1:0"], extra)
    }

    /// Starts any serving command (`serve`, `guard`) that prints
    /// `listening on http://ADDR` and waits for its address.
    pub fn start_command(dir: &Path, command: &[&str], extra: &[&str]) -> Server {
        Self::start_full(dir, &[], command, extra)
    }

    /// Starts `command` (under `wrapper`, if any) and waits for its address.
    /// `serve` answers as the built-in `api` persona unless `extra` names
    /// another, so tests can rely on its statuses and headers.
    pub fn start_full(dir: &Path, wrapper: &[&str], command: &[&str], extra: &[&str]) -> Server {
        Self::start_with(dir, wrapper, command, extra, Some("api"))
    }

    /// Starts `serve` with the installation's own default persona.
    pub fn start_installation_persona(dir: &Path, extra: &[&str]) -> Server {
        Self::start_with(dir, &[], &["serve", "--addr", "127.0.0.1:0"], extra, None)
    }

    fn start_with(dir: &Path, wrapper: &[&str], command: &[&str], extra: &[&str], persona: Option<&str>) -> Server {
        let mut cmd = match wrapper.split_first() {
            Some((w, rest)) => {
                let mut c = Command::new(w);
                c.args(rest).arg(bin());
                c
            }
            None => Command::new(bin()),
        };
        let mut child = cmd
            .arg("--data-dir")
            .arg(dir)
            .args(command)
            .args(extra)
            .env_remove("HONEYTOKEN_SIGNING_KEY")
            .env_remove("HONEYTOKEN_PERSONA")
            .envs(persona.map(|p| ("HONEYTOKEN_PERSONA", p)))
            .stdout(Stdio::null())
            .stderr(Stdio::piped())
            .spawn()
            .expect("spawn serve");
        let stderr = child.stderr.take().unwrap();
        let lines = Arc::new(Mutex::new(Vec::new()));
        let (tx, rx) = std::sync::mpsc::channel();
        let sink = lines.clone();
        std::thread::spawn(move || {
            for line in BufReader::new(stderr).lines().map_while(Result::ok) {
                if let Some(rest) = line.strip_prefix("listening on http://") {
                    let addr = rest.split_whitespace().next().unwrap_or("").to_string();
                    let _ = tx.send(addr);
                }
                sink.lock().unwrap().push(line);
            }
        });
        let addr = rx.recv_timeout(Duration::from_secs(20)).expect("serve did not start");
        Server {
            child,
            addr: addr.parse().expect("address"),
            stderr: lines,
        }
    }

    /// Lines starting with `ALERT`.
    pub fn alerts(&self) -> Vec<String> {
        self.stderr
            .lock()
            .unwrap()
            .iter()
            .filter(|l| l.starts_with("ALERT"))
            .cloned()
            .collect()
    }

    /// Waits until `n` alert lines were printed (or a timeout).
    pub fn wait_alerts(&self, n: usize) -> Vec<String> {
        let deadline = Instant::now() + Duration::from_secs(10);
        while self.alerts().len() < n && Instant::now() < deadline {
            std::thread::sleep(Duration::from_millis(20));
        }
        self.alerts()
    }

    /// Sends raw bytes and returns the raw response.
    pub fn raw(&self, request: &[u8]) -> Vec<u8> {
        raw(self.addr, request)
    }

    /// Sends SIGTERM and waits for a clean exit.
    pub fn stop(mut self) -> std::process::ExitStatus {
        let pid = self.child.id() as i32;
        unsafe_kill(pid);
        let status = self.child.wait().expect("wait");
        std::mem::forget(self);
        status
    }
}

fn unsafe_kill(pid: i32) {
    let _ = Command::new("kill").args(["-TERM", &pid.to_string()]).status();
}

impl Drop for Server {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Sends raw bytes to `addr` from the loopback address `from` (any of
/// 127.0.0.0/8) and reads the whole response: a distinct source per request.
pub fn raw_from(addr: SocketAddr, from: std::net::Ipv4Addr, request: &[u8]) -> Vec<u8> {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let sock = tokio::net::TcpSocket::new_v4().unwrap();
        sock.bind(SocketAddr::new(from.into(), 0)).expect("bind source");
        let mut s = sock.connect(addr).await.expect("connect");
        let _ = s.write_all(request).await;
        let mut out = Vec::new();
        let _ = tokio::time::timeout(Duration::from_secs(30), s.read_to_end(&mut out)).await;
        out
    })
}

/// Sends raw bytes to `addr` and reads the whole response.
pub fn raw(addr: SocketAddr, request: &[u8]) -> Vec<u8> {
    let mut s = TcpStream::connect(addr).expect("connect");
    s.set_read_timeout(Some(Duration::from_secs(30))).unwrap();
    // The server may answer before reading a huge body; ignore write errors then.
    let _ = s.write_all(request);
    let mut out = Vec::new();
    let _ = s.read_to_end(&mut out);
    out
}

/// A GET with the given extra header lines.
pub fn get(path: &str, headers: &[&str]) -> Vec<u8> {
    let mut r = format!("GET {path} HTTP/1.1\r\nHost: api\r\nUser-Agent: curl/8.5.0\r\nConnection: close\r\n");
    for h in headers {
        r.push_str(h);
        r.push_str("\r\n");
    }
    r.push_str("\r\n");
    r.into_bytes()
}

/// Status line and body of a raw response, with the Date header dropped.
pub fn comparable(resp: &[u8]) -> (String, Vec<String>, Vec<u8>) {
    let split = resp
        .windows(4)
        .position(|w| w == b"\r\n\r\n")
        .expect("complete response");
    let head = String::from_utf8_lossy(&resp[..split]).to_string();
    let mut lines = head.lines();
    let status = lines.next().unwrap_or("").to_string();
    // Per-request fields: the date, and the persona's request id (its value only).
    let headers = lines
        .filter(|l| !l.to_ascii_lowercase().starts_with("date:"))
        .map(|l| match l.split_once(':') {
            Some((name, _)) if name.to_ascii_lowercase().ends_with("request-id") => format!("{name}: <id>"),
            _ => l.to_string(),
        })
        .collect();
    (status, headers, resp[split + 4..].to_vec())
}

/// A TLS front for `serve` (which speaks plain HTTP), as a custom domain's
/// load balancer would be: Python's `ssl`, one thread pair per connection.
const TLS_FRONT: &str = r#"
import socket, ssl, sys, threading
cert, key, upstream = sys.argv[1], sys.argv[2], int(sys.argv[3])
ctx = ssl.SSLContext(ssl.PROTOCOL_TLS_SERVER)
ctx.load_cert_chain(cert, key)
ls = socket.socket()
ls.bind(("127.0.0.1", 0))
ls.listen(16)
print(ls.getsockname()[1], flush=True)
def pump(a, b):
    try:
        while True:
            d = a.recv(65536)
            if not d:
                break
            b.sendall(d)
    except OSError:
        pass
    finally:
        for s in (a, b):
            try:
                s.shutdown(socket.SHUT_RDWR)
            except OSError:
                pass
def serve(c):
    try:
        t = ctx.wrap_socket(c, server_side=True)
    except (OSError, ssl.SSLError):
        return
    u = socket.create_connection(("127.0.0.1", upstream))
    threading.Thread(target=pump, args=(t, u), daemon=True).start()
    pump(u, t)
while True:
    c, _ = ls.accept()
    threading.Thread(target=serve, args=(c,), daemon=True).start()
"#;

/// [`TLS_FRONT`] running in front of a server, with the decoy's own CA and
/// a certificate it signed for 127.0.0.1 (kubectl sends a kubeconfig's
/// token only over TLS it verifies). Stopped by its own pid on drop.
pub struct TlsFront {
    child: Child,
    /// The loopback port it listens on (it reported it: it is the one started).
    pub port: u16,
    /// The CA's PEM file, for `mint --ca-file`.
    pub ca: PathBuf,
}

impl TlsFront {
    /// Makes the CA and certificate in `dir` with `openssl`, then starts
    /// the front (`python`) relaying to `upstream`.
    pub fn start(dir: &Path, openssl: &Path, python: &Path, upstream: SocketAddr) -> TlsFront {
        let p = |n: &str| dir.join(n).to_str().unwrap().to_string();
        let run = |args: &[&str]| {
            let o = Command::new(openssl).args(args).output().unwrap();
            assert!(
                o.status.success(),
                "openssl {args:?}: {}",
                String::from_utf8_lossy(&o.stderr)
            );
        };
        run(&[
            "req",
            "-x509",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-days",
            "2",
            "-subj",
            "/CN=decoy-ca",
            "-keyout",
            &p("ca.key"),
            "-out",
            &p("ca.pem"),
        ]);
        run(&[
            "req",
            "-newkey",
            "rsa:2048",
            "-nodes",
            "-subj",
            "/CN=127.0.0.1",
            "-keyout",
            &p("srv.key"),
            "-out",
            &p("srv.csr"),
        ]);
        std::fs::write(dir.join("san.ext"), "subjectAltName=IP:127.0.0.1\n").unwrap();
        run(&[
            "x509",
            "-req",
            "-in",
            &p("srv.csr"),
            "-CA",
            &p("ca.pem"),
            "-CAkey",
            &p("ca.key"),
            "-CAcreateserial",
            "-days",
            "2",
            "-extfile",
            &p("san.ext"),
            "-out",
            &p("srv.pem"),
        ]);
        let mut child = Command::new(python)
            .args([
                "-c",
                TLS_FRONT,
                &p("srv.pem"),
                &p("srv.key"),
                &upstream.port().to_string(),
            ])
            .stdout(Stdio::piped())
            .spawn()
            .unwrap();
        let mut port = String::new();
        BufReader::new(child.stdout.take().unwrap())
            .read_line(&mut port)
            .unwrap();
        TlsFront {
            child,
            port: port.trim().parse().expect("the TLS front's port"),
            ca: dir.join("ca.pem"),
        }
    }
}

impl Drop for TlsFront {
    fn drop(&mut self) {
        let _ = self.child.kill();
        let _ = self.child.wait();
    }
}

/// Says a test cannot run here because a client is missing, naming the
/// reason. The test command (`scripts/test.sh`) installs every client and
/// then sets `HONEYTOKEN_TEST_CLIENTS=required`: there a missing client is
/// a failure, never a pass.
pub fn skip(reason: &str) {
    if std::env::var("HONEYTOKEN_TEST_CLIENTS").as_deref() == Ok("required") {
        panic!("{reason}, and scripts/test.sh requires every client (HONEYTOKEN_TEST_CLIENTS=required)");
    }
    eprintln!("SKIPPED: {reason}");
}
