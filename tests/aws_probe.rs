//! `infra/bench/aws-probe.sh`, the one-command measurement of a deployed
//! decoy, run against `honeytoken serve` (its local mode): it must mint and
//! disable its probe token, send hits and misses, and account for every hit.
//! The latencies it prints are reported, never asserted.

use std::io::{BufRead, BufReader};
use std::path::PathBuf;
use std::process::{Child, Command, Stdio};

/// `serve` on a free port; stopped (by its own pid) when dropped.
struct Serve(Child);

impl Drop for Serve {
    fn drop(&mut self) {
        let _ = self.0.kill();
        let _ = self.0.wait();
    }
}

#[test]
fn the_probe_accounts_for_every_hit_it_sends_to_serve() {
    let dir = tempfile::tempdir().unwrap();
    let data = dir.path().join("data");
    let log = dir.path().join("serve.out");
    let ht = env!("CARGO_BIN_EXE_honeytoken");
    let mut child = Command::new(ht)
        .args([
            "--data-dir",
            data.to_str().unwrap(),
            "serve",
            "--addr",
            "127.0.0.1:0",
            "--persona",
            "api",
        ])
        .env_remove("HONEYTOKEN_BACKEND")
        .stdout(std::fs::File::create(&log).unwrap())
        .stderr(Stdio::piped())
        .spawn()
        .expect("start serve");
    let stderr = child.stderr.take().unwrap();
    let serve = Serve(child);
    let mut lines = BufReader::new(stderr).lines();
    let url = loop {
        let line = lines.next().expect("serve exited before listening").unwrap();
        if let Some(rest) = line.strip_prefix("listening on ") {
            break rest.split_whitespace().next().unwrap().to_string();
        }
    };
    // Keep reading serve's stderr (where alerts go) so it never blocks on a full pipe.
    let reader = std::thread::spawn(move || lines.map_while(Result::ok).collect::<Vec<String>>());

    let script = PathBuf::from(env!("CARGO_MANIFEST_DIR")).join("infra/bench/aws-probe.sh");
    let out = Command::new("bash")
        .arg(&script)
        .args(["--data-dir", data.to_str().unwrap(), "--endpoint", &url])
        .args(["--log", log.to_str().unwrap(), "-n", "5"])
        .env("HONEYTOKEN", ht)
        .env_remove("HONEYTOKEN_BACKEND")
        .output()
        .expect("run aws-probe.sh");
    let stdout = String::from_utf8_lossy(&out.stdout);
    assert!(
        out.status.success(),
        "aws-probe.sh: {stdout}\n{}",
        String::from_utf8_lossy(&out.stderr)
    );
    let line = |prefix: &str| {
        stdout
            .lines()
            .find(|l| l.starts_with(prefix))
            .unwrap_or_else(|| panic!("no {prefix:?} line in:\n{stdout}"))
            .to_string()
    };
    assert!(line("hits:").starts_with("hits:    5 sent, p50 "), "{stdout}");
    assert!(line("hits:").ends_with("status 401"), "{stdout}");
    assert!(line("misses:").starts_with("misses:  5 sent, p50 "), "{stdout}");
    assert!(line("misses:").ends_with("status 401"), "{stdout}");
    assert_eq!(line("HitsNotStored:"), "HitsNotStored: 0");
    assert_eq!(line("hits in the table:"), "hits in the table: 5 of 5");
    // The probe token was disabled before it was used: recorded, never alerted.
    let id = line("probe token:").split_whitespace().nth(2).unwrap().to_string();
    let shown = Command::new(ht)
        .args(["--data-dir", data.to_str().unwrap(), "show", &id])
        .output()
        .unwrap();
    assert!(
        String::from_utf8_lossy(&shown.stdout).contains("disabled"),
        "{}",
        String::from_utf8_lossy(&shown.stdout)
    );
    drop(serve);
    let printed = reader.join().unwrap();
    assert!(
        !printed.iter().any(|l| l.starts_with("ALERT")),
        "nobody paged by the probe: {printed:?}"
    );

    // A usage error says what is missing.
    let bad = Command::new("bash")
        .arg(&script)
        .args(["--data-dir", data.to_str().unwrap()])
        .output()
        .unwrap();
    assert_eq!(bad.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&bad.stderr).contains("--endpoint URL"));
}
