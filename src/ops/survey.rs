//! Survey: where in a tree credentials live and attackers look, ranked, with
//! a token kind and a variable name to plant in each.
//!
//! The walk honours `.gitignore` (also outside a git repository), `.ignore`
//! and global git excludes, so what it lists is what a leaked checkout or a
//! pushed repository would show. Names suggested are the ones common
//! open-source secret scanners flag (`*_SECRET_KEY`, `*_API_KEY`,
//! `*_API_TOKEN`, `aws_secret_access_key`), led by the user's own service
//! name rather than a real vendor's.

use serde::Serialize;
use std::path::{Path, PathBuf};

use crate::domain::token::TokenKind;
use crate::error::{Error, Result};
use crate::ops::plant::{FileFormat, NameStyle, is_kubernetes, kubernetes_kind};

/// Bytes of a file read to classify it; larger files are judged on these.
pub const SNIFF_BYTES: u64 = 1024 * 1024;

/// Directories never worth walking (dependencies, tool state), even when no
/// `.gitignore` says so.
const SKIP_DIRS: &[&str] = &[
    ".git",
    "node_modules",
    ".terraform",
    "__pycache__",
    ".venv",
    "venv",
    ".tox",
    ".idea",
    ".vscode",
];

/// Config files that never hold credentials and would only add noise.
const NOISE: &[&str] = &[
    "package.json",
    "package-lock.json",
    "composer.json",
    "composer.lock",
    "tsconfig.json",
    "jsconfig.json",
    "cargo.toml",
    "pyproject.toml",
    "renovate.json",
    ".eslintrc.json",
    ".prettierrc.json",
    ".markdownlint.json",
    "manifest.json",
    "lerna.json",
    "turbo.json",
    "deno.json",
    "dependabot.yml",
    "pnpm-lock.yaml",
    ".pre-commit-config.yaml",
    ".golangci.yml",
    "mkdocs.yml",
    "_config.yml",
    "codecov.yml",
    ".readthedocs.yaml",
    "rust-toolchain.toml",
];

/// What a file is, as far as credentials go.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Serialize)]
#[serde(rename_all = "snake_case")]
pub enum Category {
    /// `.env`, `.env.*`, `*.env`.
    Dotenv,
    /// GitHub Actions, GitLab CI, Jenkins.
    Ci,
    /// docker-compose files.
    Compose,
    /// Terraform variables (`*.tfvars`, `variables.tf`).
    Terraform,
    /// Kubernetes manifests.
    Kubernetes,
    /// JSON, YAML or TOML application config.
    Config,
    /// Markdown with example API requests.
    Docs,
}

/// One place worth a honeytoken.
#[derive(Debug, Clone, Serialize)]
pub struct Finding {
    /// 1 for the most attractive place.
    pub rank: usize,
    /// Path relative to the surveyed root, `/`-separated.
    pub path: String,
    /// What kind of place.
    pub category: Category,
    /// Human description ("GitHub Actions workflow").
    pub what: String,
    /// Score the ranking is by (higher first).
    pub score: u32,
    /// Token kind to mint for it.
    pub kind: TokenKind,
    /// Variable name to plant it under.
    pub var: String,
    /// Syntax `plant` would use, or null where planting is by hand.
    pub format: Option<FileFormat>,
    /// Why it ranks where it does.
    pub reason: String,
}

/// A survey's result.
#[derive(Debug, Clone, Serialize)]
pub struct Survey {
    /// The surveyed root, as given.
    pub root: String,
    /// Files looked at.
    pub scanned: usize,
    /// Entries that could not be read (permissions, broken links).
    pub unreadable: usize,
    /// Places, best first.
    pub findings: Vec<Finding>,
}

/// Survey options.
#[derive(Debug, Clone)]
pub struct Options {
    /// The service word variable names start with (`acme` → `ACME_SECRET_KEY`).
    pub service: String,
}

/// The service word for a tree: its directory name, reduced to letters and digits.
pub fn service_for(root: &Path) -> String {
    let name = std::fs::canonicalize(root)
        .ok()
        .and_then(|p| p.file_name().map(|n| n.to_string_lossy().to_string()))
        .unwrap_or_default();
    sanitize_service(&name)
}

/// Letters and digits of `s`, lowercased, starting with a letter; `app` if none.
pub fn sanitize_service(s: &str) -> String {
    let w: String = s
        .chars()
        .filter(|c| c.is_ascii_alphanumeric())
        .collect::<String>()
        .to_ascii_lowercase();
    let w = w.trim_start_matches(|c: char| c.is_ascii_digit()).to_string();
    if w.is_empty() {
        "app".into()
    } else {
        w.chars().take(24).collect()
    }
}

/// Walks `root`, calling `progress` with the number of files seen so far.
pub fn survey(root: &Path, opts: &Options, progress: &mut dyn FnMut(usize)) -> Result<Survey> {
    let meta = std::fs::metadata(root).map_err(|source| Error::Io {
        path: root.display().to_string(),
        source,
    })?;
    let mut out = Vec::new();
    let (mut scanned, mut unreadable) = (0usize, 0usize);
    let files: Vec<PathBuf> = if meta.is_file() {
        vec![root.to_path_buf()]
    } else {
        let walker = ignore::WalkBuilder::new(root)
            .hidden(false)
            .require_git(false)
            .follow_links(false)
            .filter_entry(|e| {
                !(e.file_type().is_some_and(|t| t.is_dir())
                    && SKIP_DIRS.contains(&e.file_name().to_str().unwrap_or("")))
            })
            .build();
        let mut v = Vec::new();
        for entry in walker {
            match entry {
                Ok(e) if e.file_type().is_some_and(|t| t.is_file()) => v.push(e.into_path()),
                Ok(_) => {}
                Err(_) => unreadable += 1,
            }
        }
        v
    };
    for path in files {
        scanned += 1;
        progress(scanned);
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let rel = if rel.as_os_str().is_empty() {
            Path::new(path.file_name().unwrap_or_default())
        } else {
            rel
        };
        if !interesting_name(rel) {
            continue;
        }
        let content = match read_prefix(&path) {
            Ok(c) => c,
            Err(_) => {
                unreadable += 1;
                continue;
            }
        };
        if let Some(f) = classify(rel, &content, opts) {
            out.push(f);
        }
    }
    out.sort_by(|a, b| {
        b.score
            .cmp(&a.score)
            .then(a.path.matches('/').count().cmp(&b.path.matches('/').count()))
            .then(a.path.cmp(&b.path))
    });
    for (i, f) in out.iter_mut().enumerate() {
        f.rank = i + 1;
    }
    Ok(Survey {
        root: root.display().to_string(),
        scanned,
        unreadable,
        findings: out,
    })
}

/// Cheap filter by name before any file is opened.
fn interesting_name(rel: &Path) -> bool {
    let name = rel
        .file_name()
        .and_then(|n| n.to_str())
        .unwrap_or("")
        .to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    name == ".env"
        || name.starts_with(".env.")
        || name.starts_with("jenkinsfile")
        || name == "variables.tf"
        || matches!(
            ext,
            "env" | "json" | "jsonc" | "yml" | "yaml" | "toml" | "tfvars" | "md" | "markdown"
        )
}

fn read_prefix(path: &Path) -> std::io::Result<String> {
    use std::io::Read;
    let mut buf = Vec::new();
    std::fs::File::open(path)?.take(SNIFF_BYTES).read_to_end(&mut buf)?;
    if buf.contains(&0) {
        return Err(std::io::Error::new(std::io::ErrorKind::InvalidData, "binary"));
    }
    Ok(String::from_utf8_lossy(&buf).into_owned())
}

/// Names in the file that look like credentials (`API_KEY=`, `"client_secret":`).
fn secret_names(content: &str) -> Vec<String> {
    const WORDS: &[&str] = &["key", "secret", "token", "password", "passwd", "credential", "auth"];
    let mut out: Vec<String> = Vec::new();
    for line in content.lines().take(5000) {
        let t = line.trim_start().trim_start_matches("export ").trim_start_matches("- ");
        let name: String = t
            .trim_start_matches(['"', '\''])
            .chars()
            .take_while(|c| c.is_ascii_alphanumeric() || *c == '_' || *c == '-')
            .collect();
        if name.len() < 3 {
            continue;
        }
        let rest = t
            .trim_start_matches(['"', '\''])
            .get(name.len()..)
            .unwrap_or("")
            .trim_start_matches(['"', '\''])
            .trim_start();
        if !(rest.starts_with('=') || rest.starts_with(':')) {
            continue;
        }
        let lower = name.to_ascii_lowercase();
        if WORDS.iter().any(|w| lower.contains(w)) && !out.contains(&name) {
            out.push(name);
        }
        if out.len() >= 3 {
            break;
        }
    }
    out
}

fn mentions_aws(content: &str) -> bool {
    content.contains("AWS_ACCESS_KEY_ID")
        || content.contains("aws_access_key_id")
        || content.contains("provider \"aws\"")
}

/// The first candidate name (word lists, in `style`) the file does not use yet.
fn pick_var(content: &str, style: NameStyle, candidates: &[Vec<&str>]) -> String {
    let names: Vec<String> = candidates.iter().map(|w| style.join(w)).collect();
    names
        .iter()
        .find(|n| !content.contains(n.as_str()))
        .cloned()
        .unwrap_or_else(|| format!("{}_2", names[0]))
}

/// Classifies one file (path relative to the root, `content` its first bytes).
pub fn classify(rel: &Path, content: &str, opts: &Options) -> Option<Finding> {
    let path = rel.to_string_lossy().replace('\\', "/");
    let name = rel.file_name()?.to_str()?.to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("").to_string();
    let svc = opts.service.as_str();
    let secrets = secret_names(content);
    let aws = mentions_aws(content);
    let jwt_seen = content.contains("eyJ");
    let std_key = [
        vec![svc, "api", "key"],
        vec![svc, "secret", "key"],
        vec![svc, "api", "token"],
    ];
    let mut kind = if jwt_seen { TokenKind::Jwt } else { TokenKind::Key };
    let mut reasons: Vec<String> = Vec::new();

    let (category, what, mut score, format, var): (Category, String, u32, Option<FileFormat>, String) =
        if name == ".env" || name.starts_with(".env.") || ext == "env" {
            let example = ["example", "sample", "template", "dist"]
                .iter()
                .any(|w| name.contains(w));
            reasons.push(if example {
                "example env files are copied around and committed".into()
            } else {
                "the first file credential hunters and secret scanners read".into()
            });
            let cands = if aws {
                vec![vec!["aws", "secret", "access", "key"], vec![svc, "secret", "key"]]
            } else {
                vec![
                    vec![svc, "secret", "key"],
                    vec![svc, "api", "key"],
                    vec![svc, "api", "token"],
                ]
            };
            let var = pick_var(content, NameStyle::UpperSnake, &cands);
            (
                Category::Dotenv,
                "dotenv file".into(),
                if example { 90 } else { 100 },
                Some(FileFormat::Dotenv),
                var,
            )
        } else if (ext == "yml" || ext == "yaml") && path.contains(".github/workflows/") {
            reasons.push("CI configuration is read by everyone with repository access, and by forks' logs".into());
            let var = pick_var(
                content,
                NameStyle::UpperSnake,
                &[vec![svc, "api", "token"], vec![svc, "deploy", "token"]],
            );
            (
                Category::Ci,
                "GitHub Actions workflow".into(),
                95,
                Some(FileFormat::Yaml),
                var,
            )
        } else if name == ".gitlab-ci.yml" || name == ".gitlab-ci.yaml" {
            reasons.push("CI configuration is read by everyone with repository access".into());
            let var = pick_var(
                content,
                NameStyle::UpperSnake,
                &[vec![svc, "api", "token"], vec![svc, "deploy", "token"]],
            );
            (
                Category::Ci,
                "GitLab CI pipeline".into(),
                95,
                Some(FileFormat::Yaml),
                var,
            )
        } else if name.starts_with("jenkinsfile") {
            reasons.push("pipeline credentials are often inlined in `environment { }`; plant by hand".into());
            let var = pick_var(
                content,
                NameStyle::UpperSnake,
                &[vec![svc, "api", "token"], vec![svc, "deploy", "token"]],
            );
            (Category::Ci, "Jenkins pipeline".into(), 88, None, var)
        } else if (ext == "yml" || ext == "yaml") && (name.starts_with("docker-compose") || name.starts_with("compose"))
        {
            reasons.push("service environments hold the keys containers use".into());
            let var = pick_var(content, NameStyle::UpperSnake, &std_key);
            (
                Category::Compose,
                "docker-compose file".into(),
                85,
                Some(FileFormat::Yaml),
                var,
            )
        } else if ext == "tfvars" {
            reasons.push("Terraform variable files carry provider credentials".into());
            let cands = if aws {
                vec![vec!["aws", "secret", "access", "key"], vec![svc, "api", "key"]]
            } else {
                vec![vec![svc, "api", "key"], vec![svc, "api", "token"]]
            };
            let var = pick_var(content, NameStyle::LowerSnake, &cands);
            (
                Category::Terraform,
                "Terraform variables".into(),
                88,
                Some(FileFormat::Toml),
                var,
            )
        } else if name == "variables.tf" {
            reasons.push(
                "a `default` for a sensitive variable; plant by hand as `variable \"...\" { default = ... }`".into(),
            );
            let var = pick_var(
                content,
                NameStyle::LowerSnake,
                &[vec![svc, "api", "key"], vec![svc, "api", "token"]],
            );
            (
                Category::Terraform,
                "Terraform variable declarations".into(),
                75,
                None,
                var,
            )
        } else if (ext == "yml" || ext == "yaml") && is_kubernetes(content) {
            let k = kubernetes_kind(content).unwrap_or("manifest").to_string();
            let plantable = k == "Secret" || k == "ConfigMap";
            reasons.push(if k == "Secret" {
                "a Secret manifest: its stringData is read as plain text".into()
            } else if plantable {
                "a ConfigMap: mounted into pods and dumped by anyone with read access".into()
            } else {
                "a workload manifest: env entries are a classic leak; plant by hand (or into a Secret)".into()
            });
            let var = pick_var(content, NameStyle::UpperSnake, &std_key);
            let score = if k == "Secret" {
                90
            } else if plantable {
                80
            } else {
                65
            };
            (
                Category::Kubernetes,
                format!("Kubernetes {k}"),
                score,
                plantable.then_some(FileFormat::Yaml),
                var,
            )
        } else if ext == "md" || ext == "markdown" {
            let lower = content.to_ascii_lowercase();
            let curl = content
                .lines()
                .any(|l| l.trim_start().trim_start_matches("$ ").starts_with("curl "));
            let auth = lower.contains("authorization:");
            if !curl && !auth {
                return None;
            }
            reasons.push("API docs with example requests: readers copy keys out of them".into());
            if lower.contains("bearer") {
                kind = TokenKind::Jwt;
            }
            let var = pick_var(
                content,
                NameStyle::UpperSnake,
                &[vec![svc, "api", "token"], vec![svc, "api", "key"]],
            );
            (
                Category::Docs,
                "API guide with example requests".into(),
                if auth { 70 } else { 60 },
                Some(FileFormat::Markdown),
                var,
            )
        } else if matches!(ext.as_str(), "json" | "jsonc" | "yml" | "yaml" | "toml") {
            if NOISE.contains(&name.as_str()) || path.starts_with(".github/") || name.contains("lock") {
                return None;
            }
            let named = [
                "secret",
                "credential",
                "config",
                "settings",
                "appsettings",
                "values",
                "application",
            ]
            .iter()
            .any(|w| name.contains(w));
            if secrets.is_empty() && !named {
                return None;
            }
            reasons.push("application config that services load keys from".into());
            let (style, format) = match ext.as_str() {
                "json" | "jsonc" => (NameStyle::Camel, FileFormat::Json),
                "toml" => (NameStyle::LowerSnake, FileFormat::Toml),
                _ => (NameStyle::LowerSnake, FileFormat::Yaml),
            };
            let var = pick_var(content, style, &std_key);
            let what = format!(
                "{} config",
                ext.trim_end_matches('c').to_ascii_uppercase().replace("YML", "YAML")
            );
            (Category::Config, what, if named { 60 } else { 50 }, Some(format), var)
        } else {
            return None;
        };
    if !secrets.is_empty() {
        score += 5;
        reasons.push(format!("already holds credential-like names ({})", secrets.join(", ")));
    }
    Some(Finding {
        rank: 0,
        path,
        category,
        what,
        score,
        kind,
        var,
        format,
        reason: reasons.join("; "),
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    fn opts() -> Options {
        Options { service: "acme".into() }
    }

    fn class(path: &str, content: &str) -> Option<Finding> {
        classify(Path::new(path), content, &opts())
    }

    #[test]
    fn categories_kinds_and_names() {
        let f = class(".env", "DB_URL=postgres://x\nACME_SECRET_KEY=taken\n").unwrap();
        assert_eq!(
            (f.category, f.kind, f.var.as_str(), f.format),
            (
                Category::Dotenv,
                TokenKind::Key,
                "ACME_API_KEY",
                Some(FileFormat::Dotenv)
            )
        );
        assert!(f.reason.contains("ACME_SECRET_KEY"), "{}", f.reason);
        let f = class("deploy/.env.production", "AWS_ACCESS_KEY_ID=x\n").unwrap();
        assert_eq!(f.var, "AWS_SECRET_ACCESS_KEY");
        let f = class(".github/workflows/ci.yml", "on: push\n").unwrap();
        assert_eq!((f.category, f.var.as_str()), (Category::Ci, "ACME_API_TOKEN"));
        assert_eq!(class("Jenkinsfile", "pipeline {}").unwrap().format, None);
        assert_eq!(
            class("docker-compose.yml", "services: {}\n").unwrap().category,
            Category::Compose
        );
        assert_eq!(
            class("infra/prod.tfvars", "provider \"aws\"\n").unwrap().var,
            "aws_secret_access_key"
        );
        let f = class("k8s/secret.yaml", "apiVersion: v1\nkind: Secret\n").unwrap();
        assert_eq!(
            (f.category, f.what.as_str(), f.format),
            (Category::Kubernetes, "Kubernetes Secret", Some(FileFormat::Yaml))
        );
        assert_eq!(
            class("k8s/deploy.yaml", "apiVersion: apps/v1\nkind: Deployment\n")
                .unwrap()
                .format,
            None
        );
        let f = class("config.json", "{\"db\": {}}").unwrap();
        assert_eq!((f.category, f.var.as_str()), (Category::Config, "acmeApiKey"));
        assert_eq!(class("app/values.yaml", "a: 1").unwrap().var, "acme_api_key");
        let f = class("docs/api.md", "```\ncurl -H 'Authorization: Bearer x' https://api\n```").unwrap();
        assert_eq!((f.category, f.kind), (Category::Docs, TokenKind::Jwt));
    }

    #[test]
    fn noise_is_left_out() {
        assert!(class("README.md", "# Hello\nNo requests here.").is_none());
        assert!(class("package.json", "{\"api_key\": 1}").is_none());
        assert!(
            class("data/points.json", "[1, 2]").is_none(),
            "no secret names, no config name"
        );
        assert!(class(".github/dependabot.yml", "version: 2").is_none());
        assert!(class("main.rs", "fn main() {}").is_none());
    }

    #[test]
    fn service_words() {
        assert_eq!(sanitize_service("Acme-Payments"), "acmepayments");
        assert_eq!(sanitize_service("2024"), "app");
        assert_eq!(sanitize_service("42shop"), "shop");
    }
}
