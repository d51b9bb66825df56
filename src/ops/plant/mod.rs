//! Planting a token into a file in that file's own syntax and style.
//!
//! Every edit is one minimal textual insertion (or, with `force`, one value
//! replaced): the file is never parsed and re-serialised, so comments, key
//! order, indentation, quoting and line endings stay byte for byte as they
//! were. Each format module finds *where* to insert and *how* the file writes
//! things (indentation, `": "` or `":"`, quotes, `export`, CRLF) and mimics it.
//!
//! Formats by extension: dotenv (`.env`, `.env.*`, `*.env`), JSON, YAML
//! (GitHub Actions / GitLab CI / compose aware), TOML, Markdown.

use std::path::Path;

use crate::domain::token::{TokenKind, TokenRecord};
use crate::error::{Error, Result};

mod dotenv;
mod json;
mod markdown;
mod toml;
mod yaml;

/// The syntax of a file to plant into.
#[derive(Debug, Clone, Copy, PartialEq, Eq, serde::Serialize)]
#[serde(rename_all = "lowercase")]
pub enum FileFormat {
    /// `KEY=value` lines.
    Dotenv,
    /// A JSON (or JSON-with-comments) document with a top-level object.
    Json,
    /// A YAML document with a top-level mapping.
    Yaml,
    /// A TOML document.
    Toml,
    /// Markdown: a fenced code block with a curl example is appended.
    Markdown,
}

impl FileFormat {
    /// The format a path's name implies.
    pub fn from_path(path: &Path) -> Result<Self> {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let ext = name.rsplit_once('.').map(|(_, e)| e).unwrap_or("");
        if name == ".env" || name.starts_with(".env.") || ext == "env" {
            return Ok(FileFormat::Dotenv);
        }
        match ext {
            "json" | "jsonc" => Ok(FileFormat::Json),
            "yaml" | "yml" => Ok(FileFormat::Yaml),
            "toml" | "tfvars" => Ok(FileFormat::Toml),
            "md" | "markdown" => Ok(FileFormat::Markdown),
            _ => Err(Error::Invalid(format!(
                "cannot tell the syntax of {}: plant knows .env (and .env.*, *.env), .json, .yaml/.yml, .toml and .md files",
                path.display()
            ))),
        }
    }

    /// How variable names are usually spelt in this format.
    pub fn name_style(self) -> NameStyle {
        match self {
            FileFormat::Dotenv | FileFormat::Markdown => NameStyle::UpperSnake,
            FileFormat::Json => NameStyle::Camel,
            FileFormat::Yaml | FileFormat::Toml => NameStyle::LowerSnake,
        }
    }
}

/// Which YAML dialect a file is, by its path: decides where a variable may go
/// without making the file invalid for its tool.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum YamlFlavour {
    /// `.github/workflows/*.yml`: top-level `env:`.
    GithubWorkflow,
    /// `.gitlab-ci.yml`: top-level `variables:`.
    GitlabCi,
    /// `docker-compose*.yml`, `compose*.yml`: a service's `environment:`.
    Compose,
    /// A Kubernetes manifest: a Secret's `stringData:` or a ConfigMap's `data:`.
    Kubernetes,
    /// Any other YAML.
    Generic,
}

impl YamlFlavour {
    /// The flavour of a file, from its path and (for Kubernetes) its content.
    pub fn detect(path: &Path, content: &str) -> Self {
        match Self::from_path(path) {
            YamlFlavour::Generic if is_kubernetes(content) => YamlFlavour::Kubernetes,
            f => f,
        }
    }

    /// The flavour a path implies.
    pub fn from_path(path: &Path) -> Self {
        let name = path
            .file_name()
            .and_then(|n| n.to_str())
            .unwrap_or("")
            .to_ascii_lowercase();
        let parent = path
            .parent()
            .map(|p| p.to_string_lossy().replace('\\', "/"))
            .unwrap_or_default();
        if parent.ends_with(".github/workflows") {
            YamlFlavour::GithubWorkflow
        } else if name == ".gitlab-ci.yml" || name == ".gitlab-ci.yaml" {
            YamlFlavour::GitlabCi
        } else if name.starts_with("docker-compose") || name.starts_with("compose") {
            YamlFlavour::Compose
        } else {
            YamlFlavour::Generic
        }
    }
}

/// Whether YAML text is a Kubernetes manifest (top-level `apiVersion:` and `kind:`).
pub fn is_kubernetes(content: &str) -> bool {
    let top = |k: &str| {
        content
            .lines()
            .any(|l| l.strip_prefix(k).is_some_and(|r| r.starts_with(':')))
    };
    top("apiVersion") && top("kind")
}

/// The `kind:` of a Kubernetes manifest (the first document's).
pub fn kubernetes_kind(content: &str) -> Option<&str> {
    content
        .lines()
        .find_map(|l| l.strip_prefix("kind:"))
        .map(|k| k.split('#').next().unwrap_or("").trim())
}

/// Spelling of a variable name.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum NameStyle {
    /// `ACME_API_KEY`
    UpperSnake,
    /// `acme_api_key`
    LowerSnake,
    /// `acmeApiKey`
    Camel,
}

impl NameStyle {
    /// The style an existing name is written in.
    pub fn of(name: &str) -> Self {
        if name.contains('_') || name.contains('-') {
            if name.chars().any(|c| c.is_ascii_lowercase()) {
                NameStyle::LowerSnake
            } else {
                NameStyle::UpperSnake
            }
        } else if name.chars().any(|c| c.is_ascii_uppercase()) && name.chars().any(|c| c.is_ascii_lowercase()) {
            NameStyle::Camel
        } else if name.chars().all(|c| !c.is_ascii_lowercase()) {
            NameStyle::UpperSnake
        } else {
            NameStyle::LowerSnake
        }
    }

    /// Joins lowercase words in this style.
    pub fn join(self, words: &[&str]) -> String {
        match self {
            NameStyle::UpperSnake => words
                .iter()
                .map(|w| w.to_ascii_uppercase())
                .collect::<Vec<_>>()
                .join("_"),
            NameStyle::LowerSnake => words
                .iter()
                .map(|w| w.to_ascii_lowercase())
                .collect::<Vec<_>>()
                .join("_"),
            NameStyle::Camel => {
                let mut s = String::new();
                for (i, w) in words.iter().enumerate() {
                    let w = w.to_ascii_lowercase();
                    if i == 0 {
                        s.push_str(&w);
                    } else {
                        let mut c = w.chars();
                        if let Some(f) = c.next() {
                            s.push(f.to_ascii_uppercase());
                            s.push_str(c.as_str());
                        }
                    }
                }
                s
            }
        }
    }
}

/// Splits a name into lowercase words (`ACME_API_KEY`, `acmeApiKey`, `acme-api-key`).
pub fn words(name: &str) -> Vec<String> {
    let mut out = Vec::new();
    let mut cur = String::new();
    let mut prev_lower = false;
    for c in name.chars() {
        if c == '_' || c == '-' || c == '.' || c == ' ' {
            if !cur.is_empty() {
                out.push(std::mem::take(&mut cur));
            }
            prev_lower = false;
            continue;
        }
        if c.is_ascii_uppercase() && prev_lower && !cur.is_empty() {
            out.push(std::mem::take(&mut cur));
        }
        prev_lower = c.is_ascii_lowercase() || c.is_ascii_digit();
        cur.push(c.to_ascii_lowercase());
    }
    if !cur.is_empty() {
        out.push(cur);
    }
    out
}

/// Service names of well-known vendor prefixes, so a look-alike key gets the
/// variable name its real twin would have.
const VENDOR_SERVICE: &[(&str, &str)] = &[
    ("sk_", "stripe"),
    ("rk_", "stripe"),
    ("pk_", "stripe"),
    ("ghp_", "github"),
    ("gho_", "github"),
    ("ghs_", "github"),
    ("github_pat_", "github"),
    ("glpat-", "gitlab"),
    ("xox", "slack"),
    ("AKIA", "aws"),
    ("ASIA", "aws"),
    ("SG.", "sendgrid"),
    ("AIza", "google"),
    ("npm_", "npm"),
    ("pypi-", "pypi"),
    ("shpat_", "shopify"),
    ("hf_", "huggingface"),
];

/// The service word a token's prefix suggests (`acme_live_` → `acme`), if any.
pub fn service_of(token: &TokenRecord) -> Option<String> {
    let prefix = token.shape.as_ref().map(|s| s.prefix.as_str()).unwrap_or("");
    if prefix.is_empty() {
        return None;
    }
    if let Some((_, svc)) = VENDOR_SERVICE.iter().find(|(p, _)| prefix.starts_with(p)) {
        return Some(svc.to_string());
    }
    let word: String = prefix.chars().take_while(|c| c.is_ascii_alphanumeric()).collect();
    let lower = word.to_ascii_lowercase();
    // Prefixes like `live_` or `key-` name no service.
    if word.len() < 2 || ["live", "test", "key", "sk", "pk", "api", "tok", "token", "secret"].contains(&lower.as_str())
    {
        None
    } else {
        Some(lower)
    }
}

/// The variable name `plant` uses without `--var`: the names secret scanners
/// look for (`*_API_KEY`, `*_API_TOKEN`), led by the token's service.
pub fn default_var(token: &TokenRecord, style: NameStyle) -> String {
    let mut w: Vec<String> = service_of(token).into_iter().collect();
    match token.kind {
        TokenKind::AwsKey => w = vec!["aws".into(), "secret".into(), "access".into(), "key".into()],
        TokenKind::Key if w.first().is_some_and(|s| s == "aws") => {
            w.extend(["secret", "access", "key"].map(String::from));
        }
        TokenKind::Key => w.extend(["api", "key"].map(String::from)),
        TokenKind::Jwt => w.extend(["api", "token"].map(String::from)),
    }
    style.join(&w.iter().map(String::as_str).collect::<Vec<_>>())
}

/// Words that name the credential part of a variable, dropped to find its service.
const CREDENTIAL_WORDS: &[&str] = &[
    "api", "key", "token", "secret", "access", "client", "private", "auth", "password", "pat", "bearer", "jwt",
];

/// The API base URL variable that goes with `var` (`STRIPE_SECRET_KEY` →
/// `STRIPE_API_BASE_URL`), in the same style.
pub fn url_var_for(var: &str) -> String {
    let mut w = words(var);
    while w.last().is_some_and(|x| CREDENTIAL_WORDS.contains(&x.as_str())) {
        w.pop();
    }
    w.extend(["api", "base", "url"].map(String::from));
    NameStyle::of(var).join(&w.iter().map(String::as_str).collect::<Vec<_>>())
}

/// What to plant: one or more `name = value` pairs, the token first.
#[derive(Debug, Clone)]
pub struct Plant {
    /// (name, value) pairs, inserted together in this order.
    pub vars: Vec<(String, String)>,
    /// Replace existing variables of these names instead of refusing.
    pub force: bool,
    /// The decoy endpoint (the URL a Markdown curl example calls).
    pub endpoint: String,
    /// YAML dialect (ignored by other formats).
    pub yaml: YamlFlavour,
}

/// One edit to a file: `removed` bytes at `at` replaced by `inserted`.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct Edit {
    /// Byte offset in the original.
    pub at: usize,
    /// Bytes of the original replaced (0 for a pure insertion).
    pub removed: usize,
    /// The new text.
    pub inserted: String,
}

impl Edit {
    /// Applies the edit to the original text.
    pub fn apply(&self, original: &str) -> String {
        let mut s = String::with_capacity(original.len() + self.inserted.len());
        s.push_str(&original[..self.at]);
        s.push_str(&self.inserted);
        s.push_str(&original[self.at + self.removed..]);
        s
    }
}

/// The edits that plant `p` into `content` of `format`. Several edits (only
/// with `force`) are returned in ascending, non-overlapping order.
pub fn edits(content: &str, format: FileFormat, p: &Plant) -> Result<Vec<Edit>> {
    if p.vars.is_empty() {
        return Err(Error::Invalid("nothing to plant".into()));
    }
    for (name, value) in &p.vars {
        check_name(name, format)?;
        if value.contains(['\n', '\r']) {
            return Err(Error::Invalid(format!("the value of {name} contains a line break")));
        }
    }
    let mut e = match format {
        FileFormat::Dotenv => dotenv::edits(content, p),
        FileFormat::Json => json::edits(content, p),
        FileFormat::Yaml => yaml::edits(content, p),
        FileFormat::Toml => toml::edits(content, p),
        FileFormat::Markdown => markdown::edits(content, p),
    }?;
    e.sort_by_key(|x| x.at);
    Ok(e)
}

/// `content` with `p` planted.
pub fn plant(content: &str, format: FileFormat, p: &Plant) -> Result<String> {
    let mut out = content.to_string();
    // Apply from the end so earlier offsets stay valid.
    for e in edits(content, format, p)?.iter().rev() {
        out = e.apply(&out);
    }
    Ok(out)
}

fn check_name(name: &str, format: FileFormat) -> Result<()> {
    let ok_char = |c: char| c.is_ascii_alphanumeric() || c == '_' || (c == '-' && format != FileFormat::Dotenv);
    let first_ok = name.chars().next().is_some_and(|c| c.is_ascii_alphabetic() || c == '_');
    if name.is_empty() || name.len() > 128 || !first_ok || !name.chars().all(ok_char) {
        return Err(Error::Invalid(format!(
            "{name:?} is not a usable variable name: start with a letter or _, then letters, digits or _ (e.g. ACME_API_KEY)"
        )));
    }
    Ok(())
}

/// The refusal for an existing variable.
fn exists(name: &str) -> Error {
    Error::Invalid(format!(
        "the file already sets {name}; pass --force to overwrite it, or --var to choose another name"
    ))
}

/// The line ending a file uses.
fn eol(content: &str) -> &'static str {
    if content.contains("\r\n") { "\r\n" } else { "\n" }
}

/// Appends `lines` at the end, adding the missing final line break first.
fn append(content: &str, lines: &[String]) -> Edit {
    let nl = eol(content);
    let mut s = String::new();
    if !content.is_empty() && !content.ends_with('\n') {
        s.push_str(nl);
    }
    for l in lines {
        s.push_str(l);
        s.push_str(nl);
    }
    Edit {
        at: content.len(),
        removed: 0,
        inserted: s,
    }
}

/// Lines with their byte offsets: (start, text without line break, end including it).
fn lines(content: &str) -> Vec<(usize, &str, usize)> {
    let mut out = Vec::new();
    let mut start = 0;
    for piece in content.split_inclusive('\n') {
        let end = start + piece.len();
        let text = piece.strip_suffix('\n').unwrap_or(piece);
        let text = text.strip_suffix('\r').unwrap_or(text);
        out.push((start, text, end));
        start = end;
    }
    out
}

/// Leading whitespace of a line.
fn indent_of(line: &str) -> &str {
    &line[..line.len() - line.trim_start().len()]
}

/// A JSON string literal (also valid as a YAML and TOML basic string for the
/// characters tokens and URLs use).
fn quoted(s: &str) -> String {
    serde_json::to_string(s).unwrap_or_else(|_| format!("\"{s}\""))
}

/// Writes `content` to `path` atomically (a temporary file in the same
/// directory, synced, then renamed over it), keeping the file's permissions,
/// so a crash never leaves a half-written config behind.
pub fn write_in_place(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    let dir = match path.parent() {
        Some(d) if !d.as_os_str().is_empty() => d.to_path_buf(),
        _ => std::path::PathBuf::from("."),
    };
    let name = path
        .file_name()
        .map(|n| n.to_string_lossy().to_string())
        .unwrap_or_default();
    let tmp = dir.join(format!(".{name}.honeytoken-{}.tmp", std::process::id()));
    let result = (|| {
        let mut f = std::fs::File::create(&tmp)?;
        f.write_all(content.as_bytes())?;
        if let Ok(meta) = std::fs::metadata(path) {
            f.set_permissions(meta.permissions())?;
        }
        f.sync_all()?;
        std::fs::rename(&tmp, path)
    })();
    if result.is_err() {
        let _ = std::fs::remove_file(&tmp);
    }
    result.map_err(io)
}

#[cfg(test)]
mod tests;
