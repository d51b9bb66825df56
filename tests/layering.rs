//! The house rules, checked on every crate of the workspace: imports only
//! point down the layers, and only `wiring` names a concrete adapter.
//!
//! ```text
//! core crate (honeytoken-core)   nothing of the workspace
//! domain                         the core only
//! store, notify                  domain (siblings never import each other)
//! decoy, alerting, ops           domain, and the traits of store and notify
//! wiring                         everything below; the only place naming adapters
//! http                           the use cases (serve's server, the guard's proxy), not wiring
//! cli                            everything below, adapters through wiring
//! functions/*                    the library, adapters through wiring
//! guard                          the core; the library only behind its features
//! ```
//!
//! A violation fails with the file, the line and the offending `use`.
//! Code under `#[cfg(test)]` at the end of a file may name adapters (a
//! memory store in a unit test), never an upper layer.

use std::fs;
use std::path::{Path, PathBuf};

/// Rank of each top-level module of the library; a module may import only
/// modules of a strictly lower rank (or itself).
const RANKS: &[(&str, u8)] = &[
    ("error", 0),
    ("domain", 1),
    ("store", 2),
    ("notify", 2),
    ("decoy", 3),
    ("alerting", 3),
    ("ops", 3),
    ("wiring", 4),
    ("http", 4),
    ("cli", 5),
];

/// Concrete adapters: only their own layer and `wiring` may name them.
const ADAPTERS: &[&str] = &[
    "store::memory",
    "store::sqlite",
    "store::dynamodb",
    "notify::terminal",
    "notify::webhook",
    "notify::slack",
    "notify::pagerduty",
    "notify::sns",
    "notify::http",
    "notify::teams",
    "notify::discord",
    "notify::splunk",
    "notify::securityhub",
    "notify::queued",
];

fn rank(module: &str) -> Option<u8> {
    RANKS.iter().find(|(m, _)| *m == module).map(|(_, r)| *r)
}

fn rs_files(dir: &Path, out: &mut Vec<PathBuf>) {
    let Ok(entries) = fs::read_dir(dir) else { return };
    for e in entries.flatten() {
        let p = e.path();
        if p.is_dir() {
            rs_files(&p, out);
        } else if p.extension().is_some_and(|x| x == "rs") {
            out.push(p);
        }
    }
}

/// Numbered lines of a file.
type Lines<'a> = Vec<(usize, &'a str)>;

/// The code of a file without its trailing `#[cfg(test)]` module, and the
/// test part separately (line numbers kept).
fn split_tests(text: &str) -> (Lines<'_>, Lines<'_>) {
    let lines: Vec<(usize, &str)> = text.lines().enumerate().map(|(i, l)| (i + 1, l)).collect();
    let cut = lines
        .windows(2)
        .position(|w| {
            w[0].1.trim() == "#[cfg(test)]" && w[1].1.trim_start().starts_with("mod ") && !w[1].1.starts_with(' ')
        })
        .unwrap_or(lines.len());
    (lines[..cut].to_vec(), lines[cut..].to_vec())
}

/// Every path a line names under `root` (`crate` or `honeytoken`), as
/// `first::second` (second may be empty), expanding one level of `{a, b::c}`.
fn paths(line: &str, root: &str) -> Vec<String> {
    let code = line.split("//").next().unwrap_or("");
    let needle = format!("{root}::");
    let mut out = Vec::new();
    let mut rest = code;
    while let Some(i) = rest.find(&needle) {
        let before_ok = i == 0 || {
            let c = rest.as_bytes()[i - 1];
            !(c.is_ascii_alphanumeric() || c == b'_' || c == b':')
        };
        let after = &rest[i + needle.len()..];
        if before_ok {
            if let Some(group) = after.strip_prefix('{') {
                let inner = group.split('}').next().unwrap_or("");
                for item in inner.split(',') {
                    out.push(two_segments(item.trim()));
                }
            } else {
                out.extend(two_segments_all(after));
            }
        }
        rest = after;
    }
    out.retain(|p| !p.is_empty());
    out
}

fn two_segments(s: &str) -> String {
    two_segments_all(s).into_iter().next().unwrap_or_default()
}

/// `a::b...` as `a::b`; `a::{b, c::d}` as `a::b` and `a::c`.
fn two_segments_all(s: &str) -> Vec<String> {
    let ident = |s: &str| -> String {
        s.chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_')
            .collect()
    };
    let first = ident(s);
    let tail = &s[first.len()..];
    if let Some(group) = tail.strip_prefix("::{") {
        let inner = group.split('}').next().unwrap_or("");
        return inner
            .split(',')
            .map(|item| ident(item.trim()))
            .filter(|i| !i.is_empty())
            .map(|i| format!("{first}::{i}"))
            .collect();
    }
    let second = tail.strip_prefix("::").map(ident).unwrap_or_default();
    vec![if second.is_empty() {
        first
    } else {
        format!("{first}::{second}")
    }]
}

fn is_adapter(path: &str) -> bool {
    ADAPTERS
        .iter()
        .any(|a| path == *a || path.starts_with(&format!("{a}::")))
}

fn root() -> PathBuf {
    PathBuf::from(env!("CARGO_MANIFEST_DIR"))
}

fn rel(p: &Path) -> String {
    p.strip_prefix(root()).unwrap_or(p).display().to_string()
}

/// Violations in the library's own `src/`.
fn library_violations() -> Vec<String> {
    let mut files = Vec::new();
    rs_files(&root().join("src"), &mut files);
    let mut bad = Vec::new();
    for f in files {
        let relative = f.strip_prefix(root().join("src")).unwrap().to_path_buf();
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let module = first.trim_end_matches(".rs").to_string();
        let Some(own) = rank(&module) else {
            continue; // lib.rs, main.rs: the crate root declares everything
        };
        let text = fs::read_to_string(&f).unwrap();
        let (code, tests) = split_tests(&text);
        for (in_tests, part) in [(false, code), (true, tests)] {
            for (n, line) in part {
                for p in paths(line, "crate") {
                    let target = p.split("::").next().unwrap();
                    let msg = |why: &str| format!("{}:{n}: {why}: {}", rel(&f), line.trim());
                    match rank(target) {
                        Some(r) if target != module && (r >= own || module == "domain") => {
                            bad.push(msg(&format!("`{module}` may not import `{target}`")))
                        }
                        _ => {}
                    }
                    let adapter_layer = p.split("::").next() == Some(module.as_str());
                    if !in_tests && is_adapter(&p) && module != "wiring" && !adapter_layer {
                        bad.push(msg(&format!("only `wiring` names the adapter `{p}`")));
                    }
                }
            }
        }
    }
    bad
}

/// The lines of a workspace manifest (`rel` to the root) outside section
/// headers: (index, the `[section]` it is in, the trimmed line).
fn manifest_lines(rel: &str) -> Vec<(usize, String, String)> {
    let manifest = fs::read_to_string(root().join(rel)).unwrap();
    let mut section = String::new();
    let mut out = Vec::new();
    for (i, line) in manifest.lines().enumerate() {
        let t = line.trim();
        if t.starts_with('[') {
            section = t.to_string();
        } else {
            out.push((i, section.clone(), t.to_string()));
        }
    }
    out
}

/// Violations in the other crates of the workspace.
fn crate_violations() -> Vec<String> {
    let mut bad = Vec::new();
    // The core depends on nothing of the workspace.
    let mut core = Vec::new();
    rs_files(&root().join("core/src"), &mut core);
    for f in core {
        let text = fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            if !paths(line, "honeytoken").is_empty() {
                bad.push(format!(
                    "{}:{}: the core imports the library: {}",
                    rel(&f),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    let manifest = fs::read_to_string(root().join("core/Cargo.toml")).unwrap();
    for (i, line) in manifest.lines().enumerate() {
        if line.trim_start().starts_with("honeytoken ") || line.contains("path = \"..") {
            bad.push(format!(
                "core/Cargo.toml:{}: the core depends on the workspace: {}",
                i + 1,
                line.trim()
            ));
        }
    }
    // The guard crate links into production APIs: the core, http, tower and
    // tokio, never the library (nor the CLI, SQLite or the AWS SDK) among
    // its normal dependencies.
    for (i, section, t) in manifest_lines("guard/Cargo.toml") {
        if section != "[dependencies]" {
            continue;
        }
        let name = t.split(['=', ' ']).next().unwrap_or("");
        if matches!(name, "honeytoken" | "rusqlite" | "clap" | "reqwest")
            || name.starts_with("aws-")
            || name.starts_with("aws_")
            || name.starts_with("lambda")
        {
            bad.push(format!("guard/Cargo.toml:{}: the guard crate stays light: {t}", i + 1));
        }
    }
    // Functions go through wiring for adapters.
    for dir in ["functions", "guard/src"] {
        let mut files = Vec::new();
        rs_files(&root().join(dir), &mut files);
        for f in files {
            // Tests and benchmark programs (examples) build their own
            // fixtures from adapters, as the library's unit tests may.
            if f.components()
                .any(|c| c.as_os_str() == "tests" || c.as_os_str() == "examples")
            {
                continue;
            }
            let text = fs::read_to_string(&f).unwrap();
            let (code, _) = split_tests(&text);
            for (n, line) in code {
                for p in paths(line, "honeytoken") {
                    if is_adapter(&p) {
                        bad.push(format!(
                            "{}:{n}: only `wiring` names the adapter `{p}`: {}",
                            rel(&f),
                            line.trim()
                        ));
                    }
                    if dir.starts_with("guard") && p.split("::").next() == Some("cli") {
                        bad.push(format!(
                            "{}:{n}: the guard never links the CLI: {}",
                            rel(&f),
                            line.trim()
                        ));
                    }
                }
            }
        }
    }
    bad
}

#[test]
fn imports_only_point_down_the_layers() {
    let mut bad = library_violations();
    bad.extend(crate_violations());
    assert!(bad.is_empty(), "layering violations:\n{}", bad.join("\n"));
}

/// Crates of the Lambda runtime: only `functions/*` name them.
const LAMBDA_CRATES: &[&str] = &["lambda_runtime", "lambda_http", "aws_lambda_events"];

/// Where the library names a Lambda crate (code, comments aside, or its
/// manifest's dependencies).
fn lambda_mentions() -> Vec<String> {
    let mut bad = Vec::new();
    let mut files = Vec::new();
    rs_files(&root().join("src"), &mut files);
    for f in files {
        let text = fs::read_to_string(&f).unwrap();
        for (i, line) in text.lines().enumerate() {
            let code = line.split("//").next().unwrap_or("");
            if let Some(c) = LAMBDA_CRATES.iter().find(|c| code.contains(*c)) {
                bad.push(format!(
                    "{}:{}: the library knows nothing of Lambda (`{c}`; the adapter lives in functions/*): {}",
                    rel(&f),
                    i + 1,
                    line.trim()
                ));
            }
        }
    }
    for (i, section, t) in manifest_lines("Cargo.toml") {
        // The workspace table only declares versions for the functions.
        if section == "[workspace.dependencies]" {
            continue;
        }
        if let Some(c) = LAMBDA_CRATES.iter().find(|c| t.contains(*c)) {
            bad.push(format!(
                "Cargo.toml:{}: the library depends on `{c}` ({section}): {t}",
                i + 1
            ));
        }
    }
    bad
}

/// The alerter's Lambda adapter, like the decoy's, lives in its function:
/// the library never names the Lambda runtime or its event types.
#[test]
fn the_library_knows_nothing_of_lambda() {
    let bad = lambda_mentions();
    assert!(bad.is_empty(), "Lambda in the library:\n{}", bad.join("\n"));
}

#[test]
fn the_check_sees_grouped_imports_and_ignores_comments() {
    assert_eq!(
        paths("use crate::{domain::hit::Hit, store::memory};", "crate"),
        ["domain::hit", "store::memory"]
    );
    assert_eq!(
        paths("    let s = crate::store::sqlite::SqliteStore::open(p);", "crate"),
        ["store::sqlite"]
    );
    assert!(paths("// see crate::cli::Global", "crate").is_empty());
    assert_eq!(
        paths("use crate::notify::{Notifier, terminal::Terminal};", "crate"),
        ["notify::Notifier", "notify::terminal"]
    );
    assert!(paths("use honeytoken_core::hit;", "honeytoken").is_empty());
    assert_eq!(paths("use honeytoken::wiring::stack;", "honeytoken"), ["wiring::stack"]);
}

#[test]
fn every_layer_is_ranked() {
    let mut files = Vec::new();
    rs_files(&root().join("src"), &mut files);
    for f in files {
        let relative = f.strip_prefix(root().join("src")).unwrap();
        let first = relative
            .components()
            .next()
            .unwrap()
            .as_os_str()
            .to_string_lossy()
            .to_string();
        let module = first.trim_end_matches(".rs");
        assert!(
            rank(module).is_some() || module == "lib" || module == "main",
            "src/{first} is not in a layer; add it to RANKS in tests/layering.rs"
        );
    }
}
