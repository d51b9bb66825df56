//! Where security teams look, locally: `serve --hit-log` (ECS NDJSON),
//! Teams, Discord and Splunk HEC channels against local stubs, and
//! `hits --format ecs`. The real binary, real sockets.

mod common;

use common::*;
use std::io::{Read, Write};
use std::net::TcpListener;
use std::sync::{Arc, Mutex};

/// One request a stub received: request line, headers (lower-case names), body.
#[derive(Debug, Clone)]
struct Req {
    line: String,
    headers: Vec<(String, String)>,
    body: String,
}

impl Req {
    fn header(&self, name: &str) -> Option<&str> {
        self.headers.iter().find(|(k, _)| k == name).map(|(_, v)| v.as_str())
    }
}

/// A stub receiver on a free loopback port answering 200 (204 for Discord's
/// path, as Discord does), recording every request.
fn stub() -> (String, Arc<Mutex<Vec<Req>>>) {
    let l = TcpListener::bind("127.0.0.1:0").unwrap();
    let base = format!("http://{}", l.local_addr().unwrap());
    let seen: Arc<Mutex<Vec<Req>>> = Arc::default();
    let s2 = seen.clone();
    std::thread::spawn(move || {
        for s in l.incoming() {
            let Ok(mut s) = s else { continue };
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            let req = loop {
                let n = s.read(&mut chunk).unwrap_or(0);
                if n == 0 {
                    break None;
                }
                buf.extend_from_slice(&chunk[..n]);
                let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") else {
                    continue;
                };
                let head = String::from_utf8_lossy(&buf[..p]).to_string();
                let mut lines = head.lines();
                let line = lines.next().unwrap_or("").to_string();
                let headers: Vec<(String, String)> = lines
                    .filter_map(|l| l.split_once(':'))
                    .map(|(k, v)| (k.trim().to_ascii_lowercase(), v.trim().to_string()))
                    .collect();
                let len: usize = headers
                    .iter()
                    .find(|(k, _)| k == "content-length")
                    .and_then(|(_, v)| v.parse().ok())
                    .unwrap_or(0);
                while buf.len() < p + 4 + len {
                    let n = s.read(&mut chunk).unwrap_or(0);
                    if n == 0 {
                        break;
                    }
                    buf.extend_from_slice(&chunk[..n]);
                }
                let body = String::from_utf8_lossy(&buf[p + 4..]).to_string();
                break Some(Req { line, headers, body });
            };
            let Some(req) = req else { continue };
            let resp: &[u8] = if req.line.contains("/discord") {
                b"HTTP/1.1 204 No Content\r\nconnection: close\r\n\r\n"
            } else {
                b"HTTP/1.1 200 OK\r\ncontent-length: 27\r\nconnection: close\r\n\r\n{\"text\":\"Success\",\"code\":0}"
            };
            s2.lock().unwrap().push(req);
            let _ = s.write_all(resp);
        }
    });
    (base, seen)
}

#[test]
fn a_hit_reaches_the_hit_log_teams_discord_and_splunk() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = mint(
        dir.path(),
        &[
            "--kind",
            "key",
            "--prefix",
            "acme_live_",
            "--label",
            "payments-repo",
            "--location",
            "github.com/acme/payments/.env",
        ],
    );
    let (base, seen) = stub();
    let log = dir.path().join("hits.ndjson");
    let token_file = dir.path().join("hec.token");
    std::fs::write(&token_file, "0f1e2d3c-hec-token\n").unwrap();
    let srv = Server::start(
        dir.path(),
        &[
            "--hit-log",
            log.to_str().unwrap(),
            "--teams-webhook",
            &format!("{base}/teams"),
            "--discord-webhook",
            &format!("{base}/discord"),
            "--splunk-hec",
            &base,
            "--splunk-hec-token-file",
            token_file.to_str().unwrap(),
        ],
    );
    let resp = srv.raw(&get(
        "/v1/charges?limit=1",
        &[&format!("Authorization: Bearer {token}")],
    ));
    assert!(resp.starts_with(b"HTTP/1.1 401"));
    assert_eq!(srv.wait_alerts(1).len(), 1, "the terminal alert");
    // Stopping drains the background channels and the hit log.
    assert!(srv.stop().success());

    // The hit log: one ECS line, private.
    let text = std::fs::read_to_string(&log).unwrap();
    let lines: Vec<&str> = text.lines().collect();
    assert_eq!(lines.len(), 1, "{text}");
    let ev: serde_json::Value = serde_json::from_str(lines[0]).unwrap();
    assert_eq!(ev["source"]["ip"], "127.0.0.1");
    assert_eq!(ev["user_agent"]["original"], "curl/8.5.0");
    assert_eq!(ev["http"]["request"]["method"], "GET");
    assert_eq!(ev["url"]["path"], "/v1/charges");
    assert_eq!(ev["url"]["query"], "limit=1");
    assert_eq!(ev["event"]["kind"], "alert");
    assert_eq!(ev["event"]["action"], "honeytoken-used");
    assert_eq!(ev["event"]["dataset"], "honeytoken.hit");
    assert_eq!(ev["rule"]["name"], "honeytoken-used");
    assert_eq!(ev["honeytoken"]["token_id"], id.as_str());
    assert_eq!(ev["honeytoken"]["label"], "payments-repo");
    #[cfg(unix)]
    {
        use std::os::unix::fs::PermissionsExt;
        assert_eq!(std::fs::metadata(&log).unwrap().permissions().mode() & 0o777, 0o600);
    }

    // `hits --format ecs` writes the same event from the store.
    let out = ok(dir.path(), &["hits", "--format", "ecs"]);
    let stored: Vec<serde_json::Value> = out.lines().map(|l| serde_json::from_str(l).unwrap()).collect();
    assert_eq!(stored, vec![ev.clone()], "one place renders ECS");
    let e = run(dir.path(), &["hits", "--format", "ecs", "--by", "ip"]);
    assert!(!e.status.success() && String::from_utf8_lossy(&e.stderr).contains("drop --by"));

    // The channels, each in its own documented shape.
    let got = seen.lock().unwrap().clone();
    let one = |path: &str| -> Req {
        let v: Vec<&Req> = got
            .iter()
            .filter(|r| r.line.starts_with(&format!("POST {path} ")))
            .collect();
        assert_eq!(v.len(), 1, "{path}: {got:#?}");
        v[0].clone()
    };
    let teams = one("/teams");
    let t: serde_json::Value = serde_json::from_str(&teams.body).unwrap();
    assert_eq!(t["type"], "message");
    assert_eq!(
        t["attachments"][0]["contentType"],
        "application/vnd.microsoft.card.adaptive"
    );
    assert_eq!(t["attachments"][0]["content"]["type"], "AdaptiveCard");
    let discord = one("/discord");
    let d: serde_json::Value = serde_json::from_str(&discord.body).unwrap();
    assert_eq!(d["allowed_mentions"]["parse"], serde_json::json!([]));
    assert!(d["embeds"][0]["title"].as_str().unwrap().contains(&id));
    let splunk = one("/services/collector/event");
    assert_eq!(splunk.header("authorization"), Some("Splunk 0f1e2d3c-hec-token"));
    let s: serde_json::Value = serde_json::from_str(splunk.body.trim()).unwrap();
    assert_eq!(s["sourcetype"], "_json");
    assert_eq!(s["event"]["honeytoken"]["token_id"], id.as_str());
    assert_eq!(s["event"]["source"]["ip"], "127.0.0.1");
}

#[test]
fn splunk_without_a_token_is_a_clear_error() {
    let dir = tempfile::tempdir().unwrap();
    let o = std::process::Command::new(bin())
        .arg("--data-dir")
        .arg(dir.path())
        .args(["serve", "--addr", "127.0.0.1:0", "--splunk-hec", "http://127.0.0.1:9"])
        .env_remove("HONEYTOKEN_SPLUNK_HEC_TOKEN")
        .env_remove("HONEYTOKEN_SIGNING_KEY")
        .output()
        .unwrap();
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(
        err.contains("HONEYTOKEN_SPLUNK_HEC_TOKEN") && err.contains("--splunk-hec-token-file"),
        "{err}"
    );
}
