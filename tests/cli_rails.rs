//! Safety rails and small errors a new user met (issue 28): each bad input
//! gets a clear refusal before anything is written, and each message says
//! what happened.

mod common;

use common::{Server, mint, ok, run};
use std::process::Output;

fn stderr(o: &Output) -> String {
    String::from_utf8_lossy(&o.stderr).into_owned()
}

fn stdout(o: &Output) -> String {
    String::from_utf8_lossy(&o.stdout).into_owned()
}

/// Fails with exit code 2 (bad input); returns stderr.
fn refused(dir: &std::path::Path, args: &[&str]) -> String {
    let o = run(dir, args);
    assert_eq!(o.status.code(), Some(2), "{args:?} should be refused: {}", stderr(&o));
    stderr(&o)
}

#[test]
fn an_allowlist_range_wider_than_a_slash_8_needs_force_and_says_what_it_hides() {
    let d = tempfile::tempdir().unwrap();
    for wide in ["0.0.0.0/0", "::/0", "10.0.0.0/7"] {
        let e = refused(d.path(), &["allow", "add", wide]);
        assert!(e.contains("raise no alert") && e.contains("--force"), "{wide}: {e}");
    }
    let e = refused(d.path(), &["allow", "add", "0.0.0.0/0"]);
    assert!(e.contains("every IPv4 address"), "{e}");
    let (id, _) = mint(d.path(), &["--kind", "key", "--label", "l"]);
    let e = refused(d.path(), &["allow", "add", "::/0", "--token", &id]);
    assert!(e.contains("every IPv6 address"), "{e}");
    assert_eq!(
        ok(d.path(), &["allow", "list", "--format", "json"]).trim(),
        "[]",
        "nothing was added"
    );
    ok(d.path(), &["allow", "add", "10.0.0.0/8", "--note", "office"]);
    let o = run(d.path(), &["allow", "add", "0.0.0.0/0", "--force"]);
    assert!(o.status.success(), "{}", stderr(&o));
    assert!(
        stderr(&o).contains("warning: 0.0.0.0/0 covers every IPv4 address"),
        "{}",
        stderr(&o)
    );
    let list = ok(d.path(), &["allow", "list", "--format", "json"]);
    assert!(list.contains("0.0.0.0/0") && list.contains("10.0.0.0/8"), "{list}");
}

#[test]
fn hits_refuses_a_bad_address_and_a_zero_limit_and_tells_an_empty_filter_from_an_empty_store() {
    let d = tempfile::tempdir().unwrap();
    let e = refused(d.path(), &["hits", "--ip", "999.1.1.1"]);
    assert!(e.contains("\"999.1.1.1\" is not an IP address"), "{e}");
    let e = refused(d.path(), &["hits", "--limit", "0"]);
    assert!(e.contains("at least 1"), "{e}");
    let o = run(d.path(), &["hits"]);
    assert!(o.status.success());
    assert_eq!(stderr(&o).trim(), "no hits recorded yet");
    for (args, filter) in [
        (vec!["hits", "--ip", "203.0.113.9"], "--ip 203.0.113.9"),
        (
            vec!["hits", "--token", "0011223344556677", "--since", "1h"],
            "--token 0011223344556677 --since 1h",
        ),
        (vec!["hits", "--ip", "2001:db8::1", "--by", "token"], "--ip 2001:db8::1"),
    ] {
        let o = run(d.path(), &args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert_eq!(
            stderr(&o).trim(),
            format!("no hits match this filter ({filter}); `honeytoken hits` without it lists every hit"),
            "{args:?}"
        );
    }
}

#[test]
fn survey_of_one_file_suggests_planting_into_that_file() {
    let d = tempfile::tempdir().unwrap();
    let tree = tempfile::tempdir().unwrap();
    std::fs::create_dir(tree.path().join("payments")).unwrap();
    let env = tree.path().join("payments/.env");
    std::fs::write(&env, "DATABASE_URL=postgres://db/app\n").unwrap();
    let o = run(d.path(), &["survey", env.to_str().unwrap()]);
    assert!(o.status.success(), "{}", stderr(&o));
    let e = stderr(&o);
    let into = format!("--into {} ", env.display());
    assert!(e.contains(&into), "{e}");
    assert!(!e.contains(".env/.env"), "{e}");
    assert!(
        e.contains("--prefix payments_live_"),
        "named after the file's directory: {e}"
    );
}

#[test]
fn plant_into_documentation_needs_the_public_endpoint() {
    let d = tempfile::tempdir().unwrap();
    let (id, _) = mint(
        d.path(),
        &["--kind", "key", "--prefix", "acme_live_", "--label", "docs"],
    );
    let readme = d.path().join("README.md");
    let o = run(d.path(), &["plant", &id, "--into", readme.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2));
    assert!(stderr(&o).contains("--endpoint https://"), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "no diff shown: {}", stdout(&o));
    assert!(!readme.exists(), "nothing written");
    let o = run(
        d.path(),
        &[
            "plant",
            &id,
            "--into",
            readme.to_str().unwrap(),
            "--endpoint",
            "https://api.acme.example",
        ],
    );
    assert!(o.status.success(), "{}", stderr(&o));
    let text = std::fs::read_to_string(&readme).unwrap();
    assert!(
        text.contains("https://api.acme.example") && !text.contains("127.0.0.1"),
        "{text}"
    );
}

#[test]
fn plant_into_a_missing_directory_fails_before_showing_a_diff() {
    let d = tempfile::tempdir().unwrap();
    let (id, _) = mint(d.path(), &["--kind", "key", "--label", "l"]);
    let into = d.path().join("no/such/dir/.env");
    let o = run(d.path(), &["plant", &id, "--into", into.to_str().unwrap()]);
    assert_eq!(o.status.code(), Some(2), "{}", stderr(&o));
    assert!(stdout(&o).is_empty(), "the diff was printed: {}", stdout(&o));
    assert!(stderr(&o).contains("does not exist; create it first"), "{}", stderr(&o));
    let show = ok(d.path(), &["show", &id, "--format", "json"]);
    assert!(!show.contains("no/such/dir"), "no placement recorded: {show}");
}

#[test]
fn serve_takes_a_host_name_and_refuses_zero_connections() {
    let d = tempfile::tempdir().unwrap();
    let e = refused(d.path(), &["serve", "--max-connections", "0"]);
    assert!(e.contains("at least 1"), "{e}");
    let e = refused(d.path(), &["serve", "--addr", "localhost"]);
    assert!(e.contains("HOST:PORT"), "{e}");
    let s = Server::start_command(d.path(), &["serve", "--addr", "localhost:0"], &[]);
    assert!(s.addr.ip().is_loopback(), "{}", s.addr);
    s.stop();
}

#[test]
fn mint_format_token_prints_the_token_alone_and_aws_only_formats_are_refused() {
    let tmp = tempfile::tempdir().unwrap();
    // A data directory the tool creates itself (private, so no warning).
    let data = tmp.path().join("data");
    let d = &data;
    for kind in [&["--kind", "key", "--prefix", "acme_live_"][..], &["--kind", "jwt"]] {
        let mut args = vec!["mint", "--label", "t", "--format", "token"];
        args.extend_from_slice(kind);
        let o = run(d, &args);
        assert!(o.status.success(), "{}", stderr(&o));
        assert!(stderr(&o).is_empty(), "{}", stderr(&o));
        let out = stdout(&o);
        let token = out.strip_suffix('\n').unwrap();
        assert!(!token.is_empty() && !token.contains(char::is_whitespace), "{out:?}");
        let list = ok(d, &["list", "--format", "json"]);
        assert!(list.contains(token), "the printed token is the stored one");
    }
    for f in ["env", "credentials"] {
        let e = refused(d, &["mint", "--kind", "key", "--label", "x", "--format", f]);
        assert!(
            e.contains("AWS access keys only") && e.contains("--format token"),
            "{e}"
        );
    }
    let list: serde_json::Value = serde_json::from_str(&ok(d, &["list", "--format", "json"])).unwrap();
    assert_eq!(list.as_array().unwrap().len(), 2, "a refused format mints nothing");
}

/// Every subcommand's `--help` shows its own options under "Options" and
/// the global and AWS ones under headings of their own.
#[test]
fn every_subcommand_help_puts_global_and_aws_options_under_their_own_headings() {
    let d = tempfile::tempdir().unwrap();
    let top = ok(d.path(), &["--help"]);
    let commands: Vec<String> = top
        .split("Commands:")
        .nth(1)
        .unwrap()
        .split("\n\n")
        .next()
        .unwrap()
        .lines()
        .filter_map(|l| l.split_whitespace().next().map(String::from))
        .filter(|c| c != "help")
        .collect();
    assert!(commands.len() >= 10, "{commands:?}");
    for c in commands {
        let help = ok(d.path(), &[&c, "--help"]);
        let own = help.split("Global options:").next().unwrap();
        assert!(help.contains("Global options:"), "{c}: {help}");
        let (global, aws) = help
            .split_once("Global options:")
            .unwrap()
            .1
            .split_once("AWS options (--backend aws):")
            .unwrap_or_else(|| panic!("{c}: no AWS heading"));
        // Where an option is defined: a line that starts with it (help text may name it).
        let defines = |section: &str, o: &str| section.lines().any(|l| l.trim_start().starts_with(&format!("{o} <")));
        for o in ["--backend", "--data-dir"] {
            assert!(defines(global, o) && !defines(own, o), "{c}: {o}");
        }
        for o in ["--stack", "--tokens-table", "--hits-table", "--secret-arn"] {
            assert!(defines(aws, o) && !defines(own, o) && !defines(global, o), "{c}: {o}");
        }
    }
}
