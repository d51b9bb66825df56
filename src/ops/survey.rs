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
    /// A tool's credential file (kubeconfig, Docker, npm, PyPI, git, Vault),
    /// minted whole with `mint --as` (see [`super::survey_credfiles`]).
    CredentialFile,
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
    /// Variable name to plant it under; for a credential file, its kind
    /// (what `plant` records as the placement's name).
    pub var: String,
    /// Syntax `plant` would use, or null where planting is by hand.
    pub format: Option<FileFormat>,
    /// Why it ranks where it does.
    pub reason: String,
    /// The credential file to mint whole (`mint --as`) for a
    /// [`Category::CredentialFile`] place.
    #[serde(skip_serializing_if = "Option::is_none")]
    pub file: Option<crate::domain::token::credfile::FileKind>,
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
    // A survey of one file is named after the directory holding it.
    let name = std::fs::canonicalize(root)
        .ok()
        .map(|p| {
            if p.is_file() {
                p.parent().map(Path::to_path_buf).unwrap_or(p)
            } else {
                p
            }
        })
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

/// The file a finding names: `root` itself when the survey was of one
/// file, else the finding's path under `root`.
pub fn finding_path(root: &Path, finding_path: &str) -> PathBuf {
    if root.is_file() {
        root.to_path_buf()
    } else {
        root.join(finding_path)
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
    for path in &files {
        let path = path.clone();
        scanned += 1;
        progress(scanned);
        let rel = path.strip_prefix(root).unwrap_or(&path);
        let rel = if rel.as_os_str().is_empty() {
            Path::new(path.file_name().unwrap_or_default())
        } else {
            rel
        };
        // A tool's credential file is suggested whole, below.
        if !interesting_name(rel) || super::survey_credfiles::kind_of(&rel.to_string_lossy()).is_some() {
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
    out.extend(super::survey_credfiles::findings(root, &files));
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

/// The first candidate name (word lists, [`SVC`] standing for the service
/// word, spelled in `style`) the file does not use yet.
fn pick_var(content: &str, style: NameStyle, candidates: Names, svc: &str) -> String {
    let names: Vec<String> = candidates
        .iter()
        .map(|words| {
            let words: Vec<&str> = words.iter().map(|&w| if w == SVC { svc } else { w }).collect();
            style.join(&words)
        })
        .collect();
    names
        .iter()
        .find(|n| !content.contains(n.as_str()))
        .cloned()
        .unwrap_or_else(|| format!("{}_2", names[0]))
}

/// What the rules see of one file.
struct File<'a> {
    /// Path relative to the root, `/`-separated.
    path: &'a str,
    /// File name, lower-case.
    name: &'a str,
    /// Extension of the lower-case name (empty without one).
    ext: &'a str,
    /// The file's first bytes.
    content: &'a str,
    /// Credential-like names it already holds.
    secrets: &'a [String],
}

impl File<'_> {
    fn dotenv(&self) -> bool {
        self.name == ".env" || self.name.starts_with(".env.") || self.ext == "env"
    }

    fn example(&self) -> bool {
        ["example", "sample", "template", "dist"]
            .iter()
            .any(|w| self.name.contains(w))
    }

    fn json(&self) -> bool {
        matches!(self.ext, "json" | "jsonc")
    }

    fn yaml(&self) -> bool {
        matches!(self.ext, "yml" | "yaml")
    }

    fn kubernetes(&self) -> bool {
        self.yaml() && is_kubernetes(self.content)
    }

    fn kubernetes_kind(&self) -> Option<&str> {
        kubernetes_kind(self.content).filter(|_| self.kubernetes())
    }

    fn markdown(&self) -> bool {
        matches!(self.ext, "md" | "markdown")
    }

    fn has_auth_header(&self) -> bool {
        self.content.to_ascii_lowercase().contains("authorization:")
    }

    fn has_curl(&self) -> bool {
        self.content
            .lines()
            .any(|l| l.trim_start().trim_start_matches("$ ").starts_with("curl "))
    }

    /// Application config worth a key: a config name, or credential-like
    /// names inside; never tool configuration, lock files or `.github/`.
    fn config(&self) -> bool {
        !NOISE.contains(&self.name)
            && !self.path.starts_with(".github/")
            && !self.name.contains("lock")
            && (self.named_config() || !self.secrets.is_empty())
    }

    fn named_config(&self) -> bool {
        [
            "secret",
            "credential",
            "config",
            "settings",
            "appsettings",
            "values",
            "application",
        ]
        .iter()
        .any(|w| self.name.contains(w))
    }
}

/// Candidate variable names: word lists tried in order.
type Names = &'static [&'static [&'static str]];
/// Stands for the service word in [`Names`].
const SVC: &str = "{service}";
/// Names for a file of keys.
const KEY_NAMES: Names = &[&[SVC, "api", "key"], &[SVC, "secret", "key"], &[SVC, "api", "token"]];
/// Names for a dotenv file.
const DOTENV_NAMES: Names = &[&[SVC, "secret", "key"], &[SVC, "api", "key"], &[SVC, "api", "token"]];
/// Names for a dotenv file that holds AWS credentials.
const DOTENV_AWS_NAMES: Names = &[&["aws", "secret", "access", "key"], &[SVC, "secret", "key"]];
/// Names for a pipeline's variables.
const CI_NAMES: Names = &[&[SVC, "api", "token"], &[SVC, "deploy", "token"]];
/// Names for Terraform variables.
const TF_NAMES: Names = &[&[SVC, "api", "key"], &[SVC, "api", "token"]];
/// Names for Terraform variables beside an AWS provider.
const TF_AWS_NAMES: Names = &[&["aws", "secret", "access", "key"], &[SVC, "api", "key"]];
/// Names for API docs.
const DOCS_NAMES: Names = &[&[SVC, "api", "token"], &[SVC, "api", "key"]];

/// One row of the classification table.
struct Rule {
    /// Whether the rule applies; the first rule that does classifies the file.
    when: fn(&File) -> bool,
    /// What kind of place.
    category: Category,
    /// Human description; `{kind}` is the Kubernetes manifest's kind.
    what: &'static str,
    /// Rank score (higher first), before the bonus for credential-like names.
    score: u32,
    /// Syntax `plant` uses; `None` where planting is by hand.
    format: Option<FileFormat>,
    /// Spelling of the suggested variable name.
    style: NameStyle,
    /// Names to suggest...
    names: Names,
    /// ...or these, when the file mentions AWS credentials.
    aws_names: Option<Names>,
    /// A JWT where the file writes `Bearer` (API docs show bearer tokens).
    bearer_is_jwt: bool,
    /// Why the place ranks where it does.
    reason: &'static str,
}

/// What a row of [`RULES`] leaves out: upper-snake names for a file of
/// keys, the same whether the file mentions AWS or `Bearer`.
const ROW: Rule = Rule {
    when: |_| false,
    category: Category::Config,
    what: "",
    score: 0,
    format: None,
    style: NameStyle::UpperSnake,
    names: KEY_NAMES,
    aws_names: None,
    bearer_is_jwt: false,
    reason: "",
};

/// The classification, most specific first. A file no rule applies to is
/// not a place for a honeytoken.
static RULES: &[Rule] = &[
    Rule {
        when: |f| f.dotenv() && f.example(),
        category: Category::Dotenv,
        what: "dotenv file",
        score: 90,
        format: Some(FileFormat::Dotenv),
        names: DOTENV_NAMES,
        aws_names: Some(DOTENV_AWS_NAMES),
        reason: "example env files are copied around and committed",
        ..ROW
    },
    Rule {
        when: |f| f.dotenv(),
        category: Category::Dotenv,
        what: "dotenv file",
        score: 100,
        format: Some(FileFormat::Dotenv),
        names: DOTENV_NAMES,
        aws_names: Some(DOTENV_AWS_NAMES),
        reason: "the first file credential hunters and secret scanners read",
        ..ROW
    },
    Rule {
        when: |f| f.yaml() && f.path.contains(".github/workflows/"),
        category: Category::Ci,
        what: "GitHub Actions workflow",
        score: 95,
        format: Some(FileFormat::Yaml),
        names: CI_NAMES,
        reason: "CI configuration is read by everyone with repository access, and by forks' logs",
        ..ROW
    },
    Rule {
        when: |f| f.name == ".gitlab-ci.yml" || f.name == ".gitlab-ci.yaml",
        category: Category::Ci,
        what: "GitLab CI pipeline",
        score: 95,
        format: Some(FileFormat::Yaml),
        names: CI_NAMES,
        reason: "CI configuration is read by everyone with repository access",
        ..ROW
    },
    Rule {
        when: |f| f.name.starts_with("jenkinsfile"),
        category: Category::Ci,
        what: "Jenkins pipeline",
        score: 88,
        format: None,
        names: CI_NAMES,
        reason: "pipeline credentials are often inlined in `environment { }`; plant by hand",
        ..ROW
    },
    Rule {
        when: |f| f.yaml() && (f.name.starts_with("docker-compose") || f.name.starts_with("compose")),
        category: Category::Compose,
        what: "docker-compose file",
        score: 85,
        format: Some(FileFormat::Yaml),
        reason: "service environments hold the keys containers use",
        ..ROW
    },
    Rule {
        when: |f| f.ext == "tfvars",
        category: Category::Terraform,
        what: "Terraform variables",
        score: 88,
        format: Some(FileFormat::Toml),
        style: NameStyle::LowerSnake,
        names: TF_NAMES,
        aws_names: Some(TF_AWS_NAMES),
        reason: "Terraform variable files carry provider credentials",
        ..ROW
    },
    Rule {
        when: |f| f.name == "variables.tf",
        category: Category::Terraform,
        what: "Terraform variable declarations",
        score: 75,
        format: None,
        style: NameStyle::LowerSnake,
        names: TF_NAMES,
        reason: "a `default` for a sensitive variable; plant by hand as `variable \"...\" { default = ... }`",
        ..ROW
    },
    Rule {
        when: |f| f.kubernetes_kind() == Some("Secret"),
        category: Category::Kubernetes,
        what: "Kubernetes Secret",
        score: 90,
        format: Some(FileFormat::Yaml),
        reason: "a Secret manifest: its stringData is read as plain text",
        ..ROW
    },
    Rule {
        when: |f| f.kubernetes_kind() == Some("ConfigMap"),
        category: Category::Kubernetes,
        what: "Kubernetes ConfigMap",
        score: 80,
        format: Some(FileFormat::Yaml),
        reason: "a ConfigMap: mounted into pods and dumped by anyone with read access",
        ..ROW
    },
    Rule {
        when: |f| f.kubernetes(),
        category: Category::Kubernetes,
        what: "Kubernetes {kind}",
        score: 65,
        format: None,
        reason: "a workload manifest: env entries are a classic leak; plant by hand (or into a Secret)",
        ..ROW
    },
    Rule {
        when: |f| f.markdown() && f.has_auth_header(),
        category: Category::Docs,
        what: "API guide with example requests",
        score: 70,
        format: Some(FileFormat::Markdown),
        names: DOCS_NAMES,
        bearer_is_jwt: true,
        reason: "API docs with example requests: readers copy keys out of them",
        ..ROW
    },
    Rule {
        when: |f| f.markdown() && f.has_curl(),
        category: Category::Docs,
        what: "API guide with example requests",
        score: 60,
        format: Some(FileFormat::Markdown),
        names: DOCS_NAMES,
        bearer_is_jwt: true,
        reason: "API docs with example requests: readers copy keys out of them",
        ..ROW
    },
    config(
        |f| f.json() && f.config() && f.named_config(),
        "JSON config",
        NameStyle::Camel,
        FileFormat::Json,
        60,
    ),
    config(
        |f| f.json() && f.config(),
        "JSON config",
        NameStyle::Camel,
        FileFormat::Json,
        50,
    ),
    config(
        |f| f.ext == "toml" && f.config() && f.named_config(),
        "TOML config",
        NameStyle::LowerSnake,
        FileFormat::Toml,
        60,
    ),
    config(
        |f| f.ext == "toml" && f.config(),
        "TOML config",
        NameStyle::LowerSnake,
        FileFormat::Toml,
        50,
    ),
    config(
        |f| f.yaml() && f.config() && f.named_config(),
        "YAML config",
        NameStyle::LowerSnake,
        FileFormat::Yaml,
        60,
    ),
    config(
        |f| f.yaml() && f.config(),
        "YAML config",
        NameStyle::LowerSnake,
        FileFormat::Yaml,
        50,
    ),
];

/// An application-config row: a config name ranks it 60, credential-like
/// names alone 50.
const fn config(when: fn(&File) -> bool, what: &'static str, style: NameStyle, format: FileFormat, score: u32) -> Rule {
    Rule {
        when,
        category: Category::Config,
        what,
        score,
        format: Some(format),
        style,
        reason: "application config that services load keys from",
        ..ROW
    }
}

/// Classifies one file (path relative to the root, `content` its first
/// bytes) by the first rule of [`RULES`] that applies.
pub fn classify(rel: &Path, content: &str, opts: &Options) -> Option<Finding> {
    let path = rel.to_string_lossy().replace('\\', "/");
    let name = rel.file_name()?.to_str()?.to_ascii_lowercase();
    let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
    let secrets = secret_names(content);
    let file = File {
        path: &path,
        name: &name,
        ext,
        content,
        secrets: &secrets,
    };
    let rule = RULES.iter().find(|r| (r.when)(&file))?;
    let names = match rule.aws_names {
        Some(aws) if mentions_aws(content) => aws,
        _ => rule.names,
    };
    let var = pick_var(content, rule.style, names, &opts.service);
    let bearer = rule.bearer_is_jwt && content.to_ascii_lowercase().contains("bearer");
    let kind = if bearer || content.contains("eyJ") {
        TokenKind::Jwt
    } else {
        TokenKind::Key
    };
    let what = rule
        .what
        .replace("{kind}", file.kubernetes_kind().unwrap_or("manifest"));
    let (mut score, mut reason) = (rule.score, rule.reason.to_string());
    if !secrets.is_empty() {
        score += 5;
        reason.push_str(&format!(
            "; already holds credential-like names ({})",
            secrets.join(", ")
        ));
    }
    Some(Finding {
        rank: 0,
        path,
        category: rule.category,
        what,
        score,
        kind,
        var,
        format: rule.format,
        reason,
        file: None,
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

    /// The table's scores and descriptions, as the if-chain it replaced
    /// gave them: first matching row wins, credential names add 5.
    #[test]
    fn rows_rank_as_before() {
        let row = |path: &str, content: &str| {
            let f = class(path, content).unwrap();
            (f.score, f.what)
        };
        assert_eq!(row(".env.example", "X=1"), (90, "dotenv file".into()));
        assert_eq!(row("app.env", "API_KEY=1"), (105, "dotenv file".into()));
        assert_eq!(row(".gitlab-ci.yml", "stages: []"), (95, "GitLab CI pipeline".into()));
        assert_eq!(
            row("compose.yaml", "apiVersion: v1\nkind: Secret\n"),
            (85, "docker-compose file".into())
        );
        assert_eq!(row("variables.tf", "x"), (75, "Terraform variable declarations".into()));
        assert_eq!(
            row("cm.yml", "apiVersion: v1\nkind: ConfigMap\n"),
            (80, "Kubernetes ConfigMap".into())
        );
        assert_eq!(
            row("k8s/app.yml", "apiVersion: apps/v1\nkind: Deployment # web\n"),
            (65, "Kubernetes Deployment".into())
        );
        assert_eq!(
            row("api.md", "$ curl https://api\n"),
            (60, "API guide with example requests".into())
        );
        assert_eq!(row("settings.toml", "a = 1"), (60, "TOML config".into()));
        assert_eq!(
            row("data.jsonc", "{\n  \"client_secret\": 1\n}"),
            (55, "JSON config".into())
        );
        assert_eq!(row(".github/workflows/x.yaml", "on: push").0, 95);
        let f = class("api.md", "curl -H 'X-Api-Key: eyJx'\n").unwrap();
        assert_eq!(f.kind, TokenKind::Jwt, "a JWT seen in the file");
        let f = class("api.md", "Authorization: Basic x\n").unwrap();
        assert_eq!(
            (f.score, f.kind, f.var.as_str()),
            (75, TokenKind::Key, "ACME_API_TOKEN")
        );
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
