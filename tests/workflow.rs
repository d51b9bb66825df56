//! The operator's workflow end to end with the real binary: survey a tree,
//! plant tokens, test the whole path, allowlist noise, rotate.

mod common;

use common::*;
use std::path::{Path, PathBuf};
use std::process::Output;

fn fixture() -> PathBuf {
    Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/survey")
}

fn copy_tree(from: &Path, to: &Path) {
    std::fs::create_dir_all(to).unwrap();
    for e in std::fs::read_dir(from).unwrap() {
        let e = e.unwrap();
        let dest = to.join(e.file_name());
        if e.file_type().unwrap().is_dir() {
            copy_tree(&e.path(), &dest);
        } else {
            std::fs::copy(e.path(), &dest).unwrap();
        }
    }
}

/// A copy of the fixture tree (outside any git repository) plus files its
/// .gitignore covers, created here because git would not keep them.
fn survey_tree() -> tempfile::TempDir {
    let t = tempfile::tempdir().unwrap();
    copy_tree(&fixture(), t.path());
    std::fs::write(t.path().join("local.env"), "ACME_SECRET_KEY=real-looking\n").unwrap();
    std::fs::create_dir_all(t.path().join("private")).unwrap();
    std::fs::write(t.path().join("private/secrets.json"), "{\"api_key\": \"x\"}\n").unwrap();
    t
}

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).to_string()
}

fn json(s: &str) -> serde_json::Value {
    serde_json::from_str(s).unwrap_or_else(|e| panic!("not JSON ({e}): {s}"))
}

/// Asserts that `after` is `before` with exactly one contiguous insertion,
/// and returns the inserted text.
fn single_insertion(before: &str, after: &str) -> String {
    let prefix = before.bytes().zip(after.bytes()).take_while(|(a, b)| a == b).count();
    let room = before.len().min(after.len()) - prefix;
    let suffix = before
        .bytes()
        .rev()
        .zip(after.bytes().rev())
        .take(room)
        .take_while(|(a, b)| a == b)
        .count();
    assert_eq!(
        prefix + suffix,
        before.len(),
        "other bytes changed:\n--- before\n{before}\n--- after\n{after}"
    );
    assert!(after.len() > before.len());
    after[prefix..after.len() - suffix].to_string()
}

#[test]
fn survey_lists_the_six_places_and_skips_what_gitignore_ignores() {
    let tree = survey_tree();
    let dir = tempfile::tempdir().unwrap();
    let out = ok(
        dir.path(),
        &[
            "survey",
            tree.path().to_str().unwrap(),
            "--service",
            "acme",
            "--format",
            "json",
        ],
    );
    let v = json(&out);
    let findings = v["findings"].as_array().unwrap();
    let by_path = |p: &str| {
        findings
            .iter()
            .find(|f| f["path"] == p)
            .unwrap_or_else(|| panic!("{p} missing: {out}"))
    };
    let expect = [
        (".env", "dotenv", "key", "ACME_SECRET_KEY"),
        (".github/workflows/ci.yml", "ci", "key", "ACME_API_TOKEN"),
        ("docker-compose.yml", "compose", "key", "ACME_API_KEY"),
        ("docs/api.md", "docs", "jwt", "ACME_API_TOKEN"),
        ("config.json", "config", "key", "acmeApiKey"),
        ("values.yaml", "config", "key", "acme_api_key"),
    ];
    for (path, category, kind, var) in expect {
        let f = by_path(path);
        assert_eq!(
            (f["category"].as_str(), f["kind"].as_str(), f["var"].as_str()),
            (Some(category), Some(kind), Some(var)),
            "{path}"
        );
        assert!(!f["reason"].as_str().unwrap().is_empty());
    }
    assert_eq!(findings.len(), 6, "exactly the six places: {out}");
    assert!(
        !out.contains("local.env") && !out.contains("secrets.json"),
        "ignored files listed: {out}"
    );
    // Ranked: the dotenv file first, ranks 1..=6 in order.
    assert_eq!(findings[0]["path"], ".env");
    let ranks: Vec<u64> = findings.iter().map(|f| f["rank"].as_u64().unwrap()).collect();
    assert_eq!(ranks, (1..=6).collect::<Vec<_>>());
    let scores: Vec<u64> = findings.iter().map(|f| f["score"].as_u64().unwrap()).collect();
    assert!(scores.windows(2).all(|w| w[0] >= w[1]), "{scores:?}");

    // The table names each place too; no spinner when stderr is not a terminal.
    let o = run(
        dir.path(),
        &["survey", tree.path().to_str().unwrap(), "--service", "acme"],
    );
    assert!(o.status.success());
    let table = String::from_utf8_lossy(&o.stdout);
    for (path, ..) in expect {
        assert!(table.contains(path), "{path} not in table:\n{table}");
    }
    assert!(!stderr(&o).contains('\r'), "progress drawn on a non-terminal");
    assert!(stderr(&o).contains("honeytoken plant"), "{}", stderr(&o));
}

#[test]
fn plant_keeps_every_other_byte_and_the_file_still_parses() {
    let tree = survey_tree();
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let toml_path = tree.path().join("settings.toml");
    std::fs::write(
        &toml_path,
        "# service settings\nname = \"payments\"\n\n[database]\nhost = \"db\"  # primary\n",
    )
    .unwrap();
    let endpoint = "https://api.acme.test";
    let cases: Vec<(&str, &[&str])> = vec![
        (".env", &["--var", "ACME_SECRET_KEY"]),
        ("config.json", &[]),
        ("values.yaml", &[]),
        ("settings.toml", &[]),
        ("docs/api.md", &[]),
        (".github/workflows/ci.yml", &[]),
        ("docker-compose.yml", &[]),
    ];
    for (rel, extra) in cases {
        let path = tree.path().join(rel);
        let before = std::fs::read_to_string(&path).unwrap();
        let (id, token) = mint(d, &["--kind", "key", "--prefix", "acme_live_", "--label", rel]);
        let mut args = vec![
            "plant",
            &id,
            "--into",
            path.to_str().unwrap(),
            "--with-url",
            "--endpoint",
            endpoint,
        ];
        args.extend_from_slice(extra);
        let printed = ok(d, &args);
        let after = std::fs::read_to_string(&path).unwrap();
        let inserted = single_insertion(&before, &after);
        assert!(
            inserted.contains(&token) && inserted.contains(endpoint),
            "{rel}: {inserted}"
        );
        assert!(printed.contains(&token), "plant shows what it inserted");

        // The planted file parses and holds the token under the variable.
        let var = match rel {
            ".env" => "ACME_SECRET_KEY",
            "config.json" => "acmeApiKey",
            "values.yaml" | "settings.toml" => "acme_api_key",
            _ => "ACME_API_KEY",
        };
        match rel {
            ".env" => assert!(after.contains(&format!("\nACME_SECRET_KEY={token}\nACME_API_BASE_URL={endpoint}\n"))),
            "config.json" => {
                let v: serde_json::Value = serde_json::from_str(&after).unwrap();
                assert_eq!(
                    (v[var].as_str(), v["acmeApiBaseUrl"].as_str()),
                    (Some(token.as_str()), Some(endpoint))
                );
                assert_eq!(v["database"]["pool"], 10);
            }
            "settings.toml" => {
                let t: toml::Table = after.parse().unwrap();
                assert_eq!(t[var].as_str(), Some(token.as_str()));
                assert_eq!(t["database"]["host"].as_str(), Some("db"));
            }
            "docs/api.md" => {
                assert!(after.contains(&format!("export ACME_API_KEY={token}")) && after.contains("curl "))
            }
            _ => {
                let y: serde_norway::Value = serde_norway::from_str(&after).unwrap();
                let got = match rel {
                    "values.yaml" => y[var].as_str().map(str::to_string),
                    ".github/workflows/ci.yml" => y["env"][var].as_str().map(str::to_string),
                    _ => y["services"]["payments"]["environment"][2].as_str().map(str::to_string),
                };
                let want = if rel == "docker-compose.yml" {
                    format!("{var}={token}")
                } else {
                    token.clone()
                };
                assert_eq!(got.as_deref(), Some(want.as_str()), "{rel}:\n{after}");
            }
        }

        // The placement is on the token.
        let shown = json(&ok(d, &["show", &id, "--format", "json"]));
        let p = &shown["placements"][0];
        assert_eq!((p["path"].as_str(), p["var"].as_str()), (path.to_str(), Some(var)));
        assert!(p["planted_at"].as_str().unwrap().ends_with('Z'));

        // Again: refused, file untouched.
        let o = run(
            d,
            &[
                "plant",
                &id,
                "--into",
                path.to_str().unwrap(),
                "--var",
                var,
                "--endpoint",
                endpoint,
            ],
        );
        assert!(!o.status.success());
        assert!(
            stderr(&o).contains("already sets") && stderr(&o).contains("--force"),
            "{}",
            stderr(&o)
        );
        assert_eq!(std::fs::read_to_string(&path).unwrap(), after);
    }

    // --force overwrites the value in place and nothing else.
    let env = tree.path().join(".env");
    let before = std::fs::read_to_string(&env).unwrap();
    let (id, token) = mint(d, &["--kind", "key", "--prefix", "acme_live_", "--label", "again"]);
    ok(
        d,
        &[
            "plant",
            &id,
            "--into",
            env.to_str().unwrap(),
            "--var",
            "ACME_SECRET_KEY",
            "--force",
        ],
    );
    let after = std::fs::read_to_string(&env).unwrap();
    let old_line = before.lines().find(|l| l.starts_with("ACME_SECRET_KEY=")).unwrap();
    assert_eq!(after, before.replace(old_line, &format!("ACME_SECRET_KEY={token}")));
}

#[test]
fn test_command_proves_the_whole_path_and_forged_marks_are_real_hits() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (id, token) = mint(d, &["--kind", "jwt", "--label", "ci-secrets"]);
    let srv = Server::start(d, &[]);
    let endpoint = format!("http://{}", srv.addr);

    let out = ok(d, &["test", &id, "--endpoint", &endpoint, "--timeout", "20s"]);
    let request = out
        .lines()
        .find(|l| l.contains("request"))
        .unwrap_or_else(|| panic!("{out}"));
    let stored = out
        .lines()
        .find(|l| l.contains("hit stored"))
        .unwrap_or_else(|| panic!("{out}"));
    for line in [request, stored] {
        assert!(
            line.starts_with("ok") && (line.ends_with(" ms") || line.ends_with(" s")),
            "{line}"
        );
    }
    assert!(request.contains("HTTP 401"), "{request}");
    let hits = hits(d, &["--token", &id]);
    assert_eq!(hits.len(), 1);
    assert_eq!(hits[0]["test"], true);
    assert_eq!(hits[0]["ignored"], false);
    // An ordinary client's user agent, and the spent mark is not kept where
    // an alert could show it (replays are covered in decoy::testmark).
    let ua = hits[0]["user_agent"].as_str().unwrap();
    assert!(!ua.to_ascii_lowercase().contains("honeytoken"), "{ua}");
    let kept = hits[0]["headers"]["traceparent"].as_str().unwrap();
    assert!(kept.starts_with("spent:") && !kept.starts_with("00-"), "{kept}");
    let alerts = srv.wait_alerts(1);
    assert!(alerts[0].contains("flags=test"), "{alerts:?}");
    assert!(!alerts[0].contains("traceparent"), "{alerts:?}");

    // A forged mark (right shape, wrong key) and a real client's trace header: real hits.
    let forged = "00-4bf92f3577b34da6a3ce929d0e0e4736-00f067aa0ba902b7-01";
    let foreign = "00-0af7651916cd43dd8448eb211c80319c-b7ad6b7169203331-01";
    for mark in [forged, foreign] {
        let resp = srv.raw(&get(
            "/v1/account",
            &[
                &format!("Authorization: Bearer {token}"),
                &format!("traceparent: {mark}"),
            ],
        ));
        assert_eq!(comparable(&resp).0, "HTTP/1.1 401 Unauthorized");
    }
    // The forged mark's hit alerts as a real one; the second real hit of the
    // same token and source is counted by the throttle (its summary comes
    // when the window ends), not alerted on its own.
    srv.wait_alerts(2);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let alerts = srv.alerts();
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(!alerts[1].contains("flags=test"), "{alerts:?}");
    let all = common::hits(d, &["--token", &id]);
    assert_eq!(
        all.iter().filter(|h| h["test"] == true).count(),
        1,
        "only the signed, fresh mark is a test"
    );
    assert_eq!(all.len(), 3);

    // The endpoint gone: the failing stage is named.
    assert!(srv.stop().success());
    let o = run(d, &["test", &id, "--endpoint", &endpoint, "--timeout", "5s"]);
    assert!(!o.status.success());
    let err = stderr(&o);
    assert!(
        err.contains("stage \"request\"") && err.contains("unreachable"),
        "{err}"
    );
    assert!(String::from_utf8_lossy(&o.stdout).contains("FAILED  request"));

    // An endpoint that answers but stores elsewhere fails at "hit stored".
    let other = tempfile::tempdir().unwrap();
    let srv2 = Server::start(other.path(), &[]);
    let o = run(
        d,
        &[
            "test",
            &id,
            "--endpoint",
            &format!("http://{}", srv2.addr),
            "--timeout",
            "2s",
        ],
    );
    assert!(!o.status.success());
    assert!(stderr(&o).contains("stage \"hit stored\""), "{}", stderr(&o));
}

#[test]
fn allowlisted_sources_are_stored_ignored_and_raise_no_alert() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let (quiet, quiet_token) = mint(
        d,
        &["--kind", "key", "--prefix", "acme_live_", "--label", "scanned-by-ci"],
    );
    let (loud, loud_token) = mint(d, &["--kind", "key", "--prefix", "acme_live_", "--label", "loud"]);
    ok(
        d,
        &["allow", "add", "127.0.0.0/8", "--token", &quiet, "--note", "CI runners"],
    );
    ok(d, &["allow", "add", "198.51.100.0/24", "--note", "office"]);
    let bad = run(d, &["allow", "add", "10.0.0.0/33"]);
    assert!(
        !bad.status.success() && stderr(&bad).contains("CIDR"),
        "{}",
        stderr(&bad)
    );

    let srv = Server::start(d, &[]);
    srv.raw(&get("/v1/users", &[&format!("Authorization: Bearer {quiet_token}")]));
    srv.raw(&get("/v1/users", &[&format!("Authorization: Bearer {loud_token}")]));
    let alerts = srv.wait_alerts(1);
    std::thread::sleep(std::time::Duration::from_millis(300));
    let alerts_now = srv.alerts();
    assert_eq!(alerts_now.len(), 1, "{alerts_now:?}");
    assert!(alerts[0].contains(&loud), "{alerts:?}");
    let q = hits(d, &["--token", &quiet]);
    assert_eq!((q.len(), &q[0]["ignored"]), (1, &serde_json::json!(true)));
    assert_eq!(hits(d, &["--token", &loud])[0]["ignored"], false);
    assert!(srv.stop().success());

    // A global entry covering loopback: every token's hits are ignored.
    ok(d, &["allow", "add", "127.0.0.1"]);
    let listed = json(&ok(d, &["allow", "list", "--format", "json"]));
    let entries: Vec<(String, String)> = listed
        .as_array()
        .unwrap()
        .iter()
        .map(|e| {
            (
                e["scope"].as_str().unwrap().to_string(),
                e["cidr"].as_str().unwrap().to_string(),
            )
        })
        .collect();
    assert!(
        entries.contains(&("global".into(), "127.0.0.1/32".into())),
        "{entries:?}"
    );
    assert!(entries.contains(&(quiet.clone(), "127.0.0.0/8".into())), "{entries:?}");
    let srv = Server::start(d, &[]);
    srv.raw(&get("/v1/users", &[&format!("Authorization: Bearer {loud_token}")]));
    std::thread::sleep(std::time::Duration::from_millis(500));
    assert!(srv.alerts().is_empty(), "{:?}", srv.alerts());
    let l = hits(d, &["--token", &loud]);
    assert_eq!(l.len(), 2);
    assert!(l.iter().any(|h| h["ignored"] == true));
    assert!(srv.stop().success());

    ok(d, &["allow", "remove", "127.0.0.1"]);
    ok(d, &["allow", "remove", "127.0.0.0/8", "--token", &quiet]);
    let gone = run(d, &["allow", "remove", "127.0.0.1"]);
    assert!(!gone.status.success() && stderr(&gone).contains("not on the global allowlist"));
    let left = json(&ok(d, &["allow", "list", "--format", "json"]));
    assert_eq!(left.as_array().unwrap().len(), 1, "{left}");
}

#[test]
fn rotate_swaps_the_file_and_the_old_token_still_alerts_as_retired() {
    let dir = tempfile::tempdir().unwrap();
    let d = dir.path();
    let work = tempfile::tempdir().unwrap();
    let env = work.path().join(".env");
    std::fs::write(&env, "# app\nDATABASE_URL=postgres://db\n").unwrap();
    let (old_id, old_token) = mint(
        d,
        &[
            "--like",
            "acme_live_4eC39HqLyjWDarjtT1zdp7dcXYZab",
            "--label",
            "payments",
            "--location",
            "repo/.env",
            "--memo",
            "m",
        ],
    );
    ok(
        d,
        &[
            "plant",
            &old_id,
            "--into",
            env.to_str().unwrap(),
            "--var",
            "ACME_SECRET_KEY",
        ],
    );
    let planted = std::fs::read_to_string(&env).unwrap();

    let out = json(&ok(
        d,
        &["rotate", &old_id, "--file", env.to_str().unwrap(), "--format", "json"],
    ));
    let (new_id, new_token) = (
        out["new"]["id"].as_str().unwrap(),
        out["new"]["token"].as_str().unwrap(),
    );
    assert_ne!(new_token, old_token);
    assert_eq!((new_token.len(), &new_token[..10]), (old_token.len(), "acme_live_"));
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        planted.replace(&old_token, new_token)
    );

    let old = json(&ok(d, &["show", &old_id, "--format", "json"]));
    let new = json(&ok(d, &["show", new_id, "--format", "json"]));
    assert_eq!(
        (old["state"].as_str(), old["replaced_by"].as_str()),
        (Some("retired"), Some(new_id))
    );
    assert_eq!(
        (new["state"].as_str(), new["replaces"].as_str()),
        (Some("active"), Some(old_id.as_str()))
    );
    for f in ["label", "location", "memo", "kind", "shape"] {
        assert_eq!(old[f], new[f], "{f}");
    }
    assert_eq!(new["placements"][0]["var"], "ACME_SECRET_KEY");
    let list = ok(d, &["list", "--max-age", "30d"]);
    assert!(
        list.contains("ROTATION") && list.contains(&format!("replaced by {new_id}")) && list.contains("due in 30d"),
        "{list}"
    );

    // Rotating again is refused; a file without the token is left alone.
    let again = run(d, &["rotate", &old_id]);
    assert!(!again.status.success() && stderr(&again).contains("already replaced"));
    let other = work.path().join("other.env");
    std::fs::write(&other, "X=1\n").unwrap();
    let o = run(d, &["rotate", new_id, "--file", other.to_str().unwrap()]);
    assert!(
        !o.status.success() && stderr(&o).contains("does not contain"),
        "{}",
        stderr(&o)
    );
    assert_eq!(
        json(&ok(d, &["show", new_id, "--format", "json"]))["state"],
        "active",
        "nothing rotated"
    );

    // The leaked old copy still alerts, flagged retired.
    let srv = Server::start(d, &[]);
    srv.raw(&get("/v1/users", &[&format!("Authorization: Bearer {old_token}")]));
    srv.raw(&get("/v1/users", &[&format!("Authorization: Bearer {new_token}")]));
    let alerts = srv.wait_alerts(2);
    assert_eq!(alerts.len(), 2, "{alerts:?}");
    assert!(
        alerts[0].contains(&old_id) && alerts[0].contains("flags=retired"),
        "{}",
        alerts[0]
    );
    assert!(
        alerts[1].contains(new_id) && !alerts[1].contains("retired"),
        "{}",
        alerts[1]
    );
    assert_eq!(hits(d, &["--token", &old_id])[0]["token_state"], "retired");
    assert!(srv.stop().success());
}
