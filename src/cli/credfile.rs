//! `mint --as KIND`: a whole credential file pointing at the decoy.

use clap::Args;
use serde_json::json;
use std::path::{Path, PathBuf};

use super::Context;
use super::output;
use super::plant::PlantArgs;
use super::tokens::{MintArgs, MintFormat};
use crate::domain::token::credfile::{self, CredFile, Endpoint, FileKind};
use crate::domain::token::{self, TokenRecord};
use crate::error::{Error, Result};
use crate::ops::credfile::{FileParts, merge, render};

/// The options of `mint` that make a credential file.
#[derive(Debug, Args)]
pub struct FileArgs {
    /// Mint a whole credential file instead of a bare token: kubeconfig,
    /// docker-config, npmrc, pypirc, git-credentials, netrc or vault-env.
    #[arg(id = "as", long = "as", value_name = "FILE", value_parser = clap::value_parser!(FileKind),
          requires = "endpoint", conflicts_with_all = ["kind", "like", "prefix", "length", "issuer", "audience", "checksum"])]
    pub file: Option<FileKind>,
    /// The decoy URL the file points at (with --as), on a host named as the
    /// server would be: https://k8s.example.com, https://registry.example.com.
    #[arg(long, value_name = "URL", requires = "as")]
    pub endpoint: Option<String>,
    /// Write the file here (created mode 0600 with its directories; an
    /// existing file is refused: `plant` merges into one). Default: stdout.
    #[arg(long, value_name = "FILE", requires = "as")]
    pub out: Option<PathBuf>,
    /// A PEM CA certificate a kubeconfig embeds, for an https decoy whose
    /// certificate is not publicly trusted (kubectl checks it before it
    /// sends the token).
    #[arg(long, value_name = "PEM", requires = "as")]
    pub ca_file: Option<PathBuf>,
}

impl FileArgs {
    /// Refuses the file options without `--as` (clap's `requires` is not
    /// checked across a flattened group).
    pub fn check_unused(&self) -> Result<()> {
        if self.file.is_none() && (self.endpoint.is_some() || self.out.is_some() || self.ca_file.is_some()) {
            return Err(Error::Invalid(
                "--endpoint, --out and --ca-file apply to a credential file: add --as KIND".into(),
            ));
        }
        Ok(())
    }
}

/// The kubeconfig's `certificate-authority-data`, checked.
fn ca_data(kind: FileKind, endpoint: &Endpoint, path: &Path) -> Result<String> {
    if kind != FileKind::Kubeconfig {
        return Err(Error::Invalid("--ca-file applies to --as kubeconfig".into()));
    }
    if endpoint.scheme != "https" {
        return Err(Error::Invalid(
            "--ca-file applies to an https endpoint; an http one has no certificate".into(),
        ));
    }
    let pem = std::fs::read_to_string(path).map_err(|source| Error::Io {
        path: path.display().to_string(),
        source,
    })?;
    if !pem.contains("-----BEGIN CERTIFICATE-----") || !pem.contains("-----END CERTIFICATE-----") {
        return Err(Error::Invalid(format!(
            "{} is not a PEM certificate (-----BEGIN CERTIFICATE-----)",
            path.display()
        )));
    }
    use base64::Engine as _;
    Ok(base64::engine::general_purpose::STANDARD.encode(pem))
}

/// Creates `path` with `content`, readable by its owner only as the tools
/// create their credential files, refusing to replace an existing file.
fn create_private(path: &Path, content: &str) -> Result<()> {
    use std::io::Write;
    let io = |source| Error::Io {
        path: path.display().to_string(),
        source,
    };
    if let Some(dir) = path.parent().filter(|d| !d.as_os_str().is_empty()) {
        std::fs::create_dir_all(dir).map_err(io)?;
    }
    let mut opts = std::fs::OpenOptions::new();
    opts.write(true).create_new(true);
    #[cfg(unix)]
    std::os::unix::fs::OpenOptionsExt::mode(&mut opts, 0o600);
    let mut f = opts.open(path).map_err(|e| {
        if e.kind() == std::io::ErrorKind::AlreadyExists {
            Error::Invalid(format!(
                "{} exists; mint without --out, then `honeytoken plant ID --into {}` merges into it",
                path.display(),
                path.display()
            ))
        } else {
            io(e)
        }
    })?;
    f.write_all(content.as_bytes()).map_err(io)?;
    f.sync_all().map_err(io)
}

/// `mint --as KIND`.
pub async fn mint(ctx: &Context, a: &MintArgs) -> Result<()> {
    let f = &a.file;
    let kind = f.file.expect("called with --as");
    let url = f
        .endpoint
        .as_deref()
        .ok_or_else(|| Error::Invalid(format!("--as {kind} needs --endpoint URL: where the file points")))?;
    let endpoint = Endpoint::parse(url)?;
    match a.format {
        MintFormat::Text | MintFormat::Json => {}
        MintFormat::Token if f.out.is_some() => {}
        MintFormat::Token => {
            return Err(Error::Invalid(
                "--format token with --as prints the token alone: give --out FILE for the file itself".into(),
            ));
        }
        MintFormat::Env | MintFormat::Credentials => {
            return Err(Error::Invalid(
                "--format env and credentials apply to AWS access keys; with --as use text (the file), json or token"
                    .into(),
            ));
        }
    }
    if let Some(out) = f.out.as_deref().filter(|o| o.exists()) {
        return Err(Error::Invalid(format!(
            "{} exists; mint without --out, then `honeytoken plant ID --into {}` merges into it",
            out.display(),
            out.display()
        )));
    }
    if kind == FileKind::Kubeconfig && endpoint.scheme == "http" {
        // client-go reads a kubeconfig's credentials only for an https
        // server: over http kubectl never sends the token.
        eprintln!(
            "warning: kubectl sends no token to an http:// server; this kubeconfig parses, but its use raises no alert. \
             Give an https endpoint (with --ca-file for the decoy's own CA)"
        );
    }
    let ca = f.ca_file.as_deref().map(|p| ca_data(kind, &endpoint, p)).transpose()?;
    super::tokens::check_label(&a.label)?;
    let spec = credfile::spec(&ctx.key, kind, &endpoint)?;
    let mut rec = token::mint(
        &ctx.key,
        &spec,
        &a.label,
        &a.location,
        &a.memo,
        time::OffsetDateTime::now_utc(),
    )?;
    rec.file = Some(CredFile {
        kind,
        endpoint: endpoint.url(),
        ca_data: ca,
    });
    let parts = FileParts::of(&rec)?;
    let content = render(&parts);
    if let Some(out) = &f.out {
        let path = out.display().to_string();
        rec.add_placement(&path, &kind.to_string(), crate::domain::time::now());
        // Stored first: a file whose token has no record would alert as an orphan.
        ctx.tokens.create(&rec).await?;
        create_private(out, &content)?;
    } else {
        ctx.tokens.create(&rec).await?;
    }
    match a.format {
        MintFormat::Json => {
            let mut v = super::tokens::minted_json(&rec);
            v["file"] = json!(kind);
            v["endpoint"] = json!(endpoint.url());
            match &f.out {
                Some(out) => v["path"] = json!(out.display().to_string()),
                None => v["content"] = json!(content),
            }
            output::json(&v);
        }
        MintFormat::Token => println!("{}", rec.token),
        _ => {
            if f.out.is_none() {
                print!("{content}");
                if !content.ends_with('\n') {
                    println!();
                }
            }
            eprintln!(
                "minted {kind} {} ({}) for the {} at {}{}; an attacker would run `{}`. \
                 Watch `honeytoken hits --token {}`.",
                rec.id,
                rec.label,
                kind.server(),
                endpoint.url(),
                f.out
                    .as_ref()
                    .map(|o| format!(", written to {}", o.display()))
                    .unwrap_or_default(),
                parts.attacker_command(),
                rec.id
            );
        }
    }
    Ok(())
}

/// `plant ID --into PATH` for a token minted as a credential file: the
/// whole file where none exists, else merged beside the real entries (see
/// [`crate::ops::credfile::merge`]).
pub async fn plant(ctx: &Context, mut token: TokenRecord, a: &PlantArgs) -> Result<()> {
    let parts = FileParts::of(&token)?;
    let other_endpoint = a
        .endpoint
        .as_deref()
        .is_some_and(|e| Endpoint::parse(e).map_or(true, |e| e != parts.endpoint));
    if a.var.is_some() || a.with_url || a.force || other_endpoint {
        return Err(Error::Invalid(format!(
            "token {} is a whole {} file pointing at {}, set at mint: --var, --with-url, --force and another \
             --endpoint do not apply (mint a new file for another endpoint)",
            token.id,
            parts.kind,
            parts.endpoint.url()
        )));
    }
    super::plant::check_directory(&a.into)?;
    let (existing, existed) = match std::fs::read(&a.into) {
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
    let edits = merge(&parts, &existing)?;
    let mut planted = existing.clone();
    for e in edits.iter().rev() {
        planted = e.apply(&planted);
    }
    for e in &edits {
        for line in e.inserted.lines().filter(|l| !l.is_empty()) {
            println!("+ {line}");
        }
    }
    let path = a.into.display().to_string();
    if a.dry_run {
        eprintln!("dry run: {path} was not changed");
        return Ok(());
    }
    if existed {
        crate::ops::plant::write_in_place(&a.into, &planted)?;
    } else {
        create_private(&a.into, &planted)?;
    }
    let kind = parts.kind.to_string();
    token.add_placement(&path, &kind, crate::domain::time::now());
    ctx.tokens.update(&token).await?;
    eprintln!(
        "{} {kind} token {} into {path}; an attacker would run `{}`, and an alert for it will say so.",
        if existed { "merged" } else { "created the file with" },
        token.id,
        parts.attacker_command()
    );
    Ok(())
}
