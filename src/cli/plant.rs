//! `plant`: write a token into a file in that file's own syntax.

use clap::Args;
use std::path::PathBuf;

use super::Context;
use crate::domain::token::TokenState;
use crate::error::{Error, Result};
use crate::ops::plant::{self, FileFormat, NameStyle, Plant, YamlFlavour};

/// Where `test` and `plant --with-url` point when no endpoint is given.
pub const DEFAULT_ENDPOINT: &str = "http://127.0.0.1:8080";

/// `plant` options.
#[derive(Debug, Args)]
#[command(
    after_help = "The token is inserted with a minimal edit: every other byte of the file
(comments, order, indentation, line endings) stays as it was.

  .env, .env.*, *.env   NAME=value at the end (export and quoting as the file does)
  .json                 a member before the top-level closing brace
  .yaml / .yml          a top-level key; a workflow's env:, GitLab's variables:,
                        a compose service's environment:, a Secret's stringData:
  .toml / .tfvars       a top-level key before the first [table]
  .md                   a fenced curl example at the end

Examples:
  honeytoken plant 3f2a9c0d1e4b5a6f --into .env
  honeytoken plant 3f2a9c0d1e4b5a6f --into config/app.json --var paymentsApiKey --with-url"
)]
pub struct PlantArgs {
    /// Token id (from `honeytoken list`).
    pub id: String,
    /// File to plant into (created if missing).
    #[arg(long, value_name = "PATH")]
    pub into: PathBuf,
    /// Variable or key name (default: one secret scanners flag, e.g. ACME_API_KEY).
    #[arg(long, value_name = "NAME")]
    pub var: Option<String>,
    /// Also add an API base URL variable pointing at the decoy endpoint.
    #[arg(long)]
    pub with_url: bool,
    /// Name of the URL variable (default: derived from --var, e.g. ACME_API_BASE_URL).
    #[arg(long, value_name = "NAME", requires = "with_url")]
    pub url_var: Option<String>,
    /// The decoy endpoint's public URL (required for Markdown, whose curl
    /// example readers see; default elsewhere: http://127.0.0.1:8080).
    #[arg(long, value_name = "URL", env = "HONEYTOKEN_ENDPOINT")]
    pub endpoint: Option<String>,
    /// Overwrite the variable if the file already sets it.
    #[arg(long)]
    pub force: bool,
    /// Show the change without writing the file or recording the placement.
    #[arg(long)]
    pub dry_run: bool,
}

/// Checks an endpoint URL given by the user.
pub fn check_endpoint(url: &str) -> Result<()> {
    let ok = (url.starts_with("http://") || url.starts_with("https://"))
        && url.len() > "https://".len()
        && !url.contains(char::is_whitespace);
    if ok {
        Ok(())
    } else {
        Err(Error::Invalid(format!(
            "--endpoint {url:?} is not an http(s) URL (e.g. https://api.example.com)"
        )))
    }
}

/// Fails before anything is shown when the file's directory is missing:
/// a diff printed for a file that cannot be written would read as done.
pub(super) fn check_directory(into: &std::path::Path) -> Result<()> {
    let dir = match into.parent() {
        Some(d) if !d.as_os_str().is_empty() => d,
        _ => std::path::Path::new("."),
    };
    if dir.is_dir() {
        return Ok(());
    }
    Err(Error::Invalid(format!(
        "cannot plant into {}: the directory {} does not exist; create it first (mkdir -p {})",
        into.display(),
        dir.display(),
        dir.display()
    )))
}

/// `plant`.
pub async fn run(ctx: &Context, a: PlantArgs) -> Result<()> {
    let mut token = ctx
        .tokens
        .get(&a.id)
        .await?
        .ok_or_else(|| Error::NotFound(a.id.clone()))?;
    if token.kind == crate::domain::token::TokenKind::AwsKey {
        return Err(Error::Invalid(format!(
            "token {} is an AWS key: its secret was shown once at mint and is not stored, so it cannot be \
             planted later; mint a new one with `mint --kind aws-key --into {}`",
            token.id,
            a.into.display()
        )));
    }
    if token.state != TokenState::Active {
        eprintln!(
            "warning: token {} is {}; its hits {}",
            token.id,
            token.state,
            match token.state {
                TokenState::Disabled => "raise no alert (`honeytoken enable ID`)",
                _ => "still alert, but plant its replacement instead",
            }
        );
    }
    if token.file.is_some() {
        return super::credfile::plant(ctx, token, &a).await;
    }
    let format = FileFormat::from_path(&a.into)?;
    let endpoint = match (&a.endpoint, format) {
        (Some(e), _) => {
            check_endpoint(e)?;
            e.clone()
        }
        // Documentation is read by people: a loopback URL in its example
        // is useless as bait and tells a reader it is no real API.
        (None, FileFormat::Markdown) => {
            return Err(Error::Invalid(format!(
                "{} is documentation: its curl example shows the decoy endpoint's URL to every reader; \
                 give the endpoint's public URL with --endpoint https://api.example.com (or HONEYTOKEN_ENDPOINT)",
                a.into.display()
            )));
        }
        (None, _) => DEFAULT_ENDPOINT.to_string(),
    };
    check_directory(&a.into)?;
    let (content, existed) = match std::fs::read(&a.into) {
        Ok(b) => (
            String::from_utf8(b).map_err(|_| Error::Invalid(format!("{} is not UTF-8 text", a.into.display())))?,
            true,
        ),
        Err(e) if e.kind() == std::io::ErrorKind::NotFound => (String::new(), false),
        Err(source) => {
            return Err(Error::Io {
                path: a.into.display().to_string(),
                source,
            });
        }
    };
    let yaml = YamlFlavour::detect(&a.into, &content);
    let style = match (format, yaml) {
        (FileFormat::Yaml, YamlFlavour::Generic) => NameStyle::LowerSnake,
        (FileFormat::Yaml, _) => NameStyle::UpperSnake,
        _ => format.name_style(),
    };
    let var = a.var.clone().unwrap_or_else(|| plant::default_var(&token, style));
    let mut vars = vec![(var.clone(), token.token.clone())];
    if a.with_url {
        let url_var = a.url_var.clone().unwrap_or_else(|| plant::url_var_for(&var));
        vars.push((url_var, endpoint.trim_end_matches('/').to_string()));
    }
    let request = Plant {
        vars,
        force: a.force,
        endpoint,
        yaml,
    };
    let edits = plant::edits(&content, format, &request)?;
    let mut planted = content.clone();
    for e in edits.iter().rev() {
        planted = e.apply(&planted);
    }
    let path = a.into.display().to_string();
    for e in &edits {
        for line in e.inserted.lines().filter(|l| !l.is_empty()) {
            println!("+ {line}");
        }
    }
    if a.dry_run {
        eprintln!("dry run: {path} was not changed");
        return Ok(());
    }
    plant::write_in_place(&a.into, &planted)?;
    token.add_placement(&path, &var, crate::domain::time::now());
    ctx.tokens.update(&token).await?;
    eprintln!(
        "{} token {} into {path} as {var}; an alert for it will say so.",
        if existed {
            "planted"
        } else {
            "created the file and planted"
        },
        token.id
    );
    Ok(())
}
