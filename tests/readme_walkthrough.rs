//! The README's one-minute walkthrough, run as a new user runs it: its
//! commands are read from the README's marked code block, so the README
//! and this test cannot drift apart.
//!
//! Step 1 (`honeytoken serve`, "another terminal") is started on its own,
//! and the rest of the block runs as written in one shell once it
//! listens. The walkthrough's fixed address (127.0.0.1:8080) is the
//! loopback of a network namespace of its own (`unshare -rn`), so a
//! server of another test on this machine cannot answer it. The first
//! line (`cargo build --release`) is this test's own build: the binary
//! under test comes first on PATH.

use std::path::Path;
use std::process::Command;

const MARK: &str = "<!-- walkthrough:";

/// The walkthrough block: the first ```sh block after the mark, with
/// continued lines (ending in `\`) joined.
fn walkthrough(readme: &str) -> Vec<String> {
    let after = readme
        .split_once(MARK)
        .expect("the README marks its walkthrough block with <!-- walkthrough: ... -->")
        .1;
    let body = after
        .split_once("```sh\n")
        .expect("a ```sh block after the mark")
        .1
        .split_once("\n```")
        .expect("the block ends")
        .0;
    let mut lines = Vec::new();
    let mut cur = String::new();
    for l in body.lines() {
        match l.strip_suffix('\\') {
            Some(head) => {
                cur.push_str(head);
                cur.push(' ');
            }
            None => {
                cur.push_str(l);
                lines.push(std::mem::take(&mut cur));
            }
        }
    }
    lines
}

/// The keys of `key=value` pairs in an ALERT line.
fn keys(line: &str) -> Vec<String> {
    let mut out = Vec::new();
    for (i, _) in line.match_indices('=') {
        let head = &line[..i];
        let key: String = head
            .chars()
            .rev()
            .take_while(|c| c.is_ascii_lowercase() || *c == '_')
            .collect::<String>()
            .chars()
            .rev()
            .collect();
        let before = head[..head.len() - key.len()].chars().last();
        if !key.is_empty() && before.is_none_or(char::is_whitespace) {
            out.push(key);
        }
    }
    out
}

fn read(p: &Path) -> String {
    std::fs::read_to_string(p).unwrap_or_default()
}

#[test]
fn the_readme_walkthrough_runs_as_written() {
    let readme = std::fs::read_to_string(Path::new(env!("CARGO_MANIFEST_DIR")).join("README.md")).unwrap();
    let lines = walkthrough(&readme);
    let command = |l: &String| {
        let t = l.trim();
        !t.is_empty() && !t.starts_with('#')
    };
    let cmds: Vec<&String> = lines.iter().filter(|l| command(l)).collect();
    assert_eq!(cmds.first().map(|c| c.trim()), Some("cargo build --release"));
    let serve = cmds
        .iter()
        .find(|c| c.trim_start().starts_with("honeytoken serve"))
        .expect("the walkthrough starts the server");
    // The walkthrough itself: every line but the build and the server.
    let script: String = lines
        .iter()
        .filter(|l| l.trim() != "cargo build --release" && !std::ptr::eq(*l, *serve))
        .map(|l| format!("{l}\n"))
        .collect();
    assert!(
        script.contains("--format token") && !script.contains("jq"),
        "the walkthrough needs no jq:\n{script}"
    );
    let serve = serve.split('#').next().unwrap().trim().to_string();

    let tmp = tempfile::tempdir().unwrap();
    let dir = tmp.path();
    std::fs::write(dir.join("walkthrough.sh"), &script).unwrap();
    let bin_dir = Path::new(env!("CARGO_BIN_EXE_honeytoken")).parent().unwrap();
    let driver = format!(
        r#"set -u
ip link set lo up
export PATH="{bin}:$PATH" HONEYTOKEN_DATA_DIR="{dir}/data"
cd "{dir}"
{serve} 2> serve.log &
SERVER=$!
for _ in $(seq 300); do grep -q "listening on" serve.log && break; sleep 0.1; done
bash -e walkthrough.sh > out.log 2> err.log
RC=$?
kill -TERM "$SERVER"; wait "$SERVER"
exit $RC
"#,
        bin = bin_dir.display(),
        dir = dir.display(),
    );
    let probe = Command::new("unshare").args(["-rn", "true"]).status();
    assert!(
        probe.is_ok_and(|s| s.success()),
        "this test needs `unshare -rn` (util-linux, user namespaces) to give the walkthrough's \
         127.0.0.1:8080 a loopback of its own"
    );
    let o = Command::new("unshare")
        .args(["-rn", "bash", "-c", &driver])
        .env_remove("HONEYTOKEN_SIGNING_KEY")
        .output()
        .unwrap();
    let (out, err, log) = (
        read(&dir.join("out.log")),
        read(&dir.join("err.log")),
        read(&dir.join("serve.log")),
    );
    assert!(
        o.status.success(),
        "the walkthrough failed ({:?}): {}\nstdout:\n{out}\nstderr:\n{err}\nserve:\n{log}",
        o.status,
        String::from_utf8_lossy(&o.stderr)
    );
    // Step 3: both requests get the same 401 (or 403: the installation's persona).
    let statuses = [out.matches("HTTP/1.1 401").count(), out.matches("HTTP/1.1 403").count()];
    assert!(statuses == [2, 0] || statuses == [0, 2], "{out}");
    // Step 4: only the first raised an alert, and it reads as the README shows it.
    let alerts: Vec<&str> = log.lines().filter(|l| l.starts_with("ALERT")).collect();
    assert_eq!(alerts.len(), 1, "{log}");
    let alert = alerts[0];
    assert!(
        alert.contains(r#"label="payments-repo""#) && alert.contains("found_in=authorization"),
        "{alert}"
    );
    let example: String = lines
        .iter()
        .skip_while(|l| !l.contains("ALERT "))
        .take_while(|l| l.trim_start().starts_with('#'))
        .map(|l| l.trim_start().trim_start_matches('#'))
        .collect::<Vec<_>>()
        .join(" ");
    assert_eq!(
        keys(&example),
        keys(alert),
        "the README's ALERT example:\n{example}\nthe real one:\n{alert}"
    );
    // And `honeytoken hits` lists the hit.
    assert!(out.contains("payments-repo") && out.contains("127.0.0.1"), "{out}");
}
