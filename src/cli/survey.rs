//! `survey`: where in a tree to plant honeytokens.

use clap::Args;
use std::path::PathBuf;

use super::output;
use super::progress::Spinner;
use crate::error::Result;
use crate::ops::survey::{self, Options};

/// Output format of `survey`.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum SurveyFormat {
    /// Ranked table for people.
    Table,
    /// JSON for programs.
    Json,
}

/// `survey` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Lists dotenv files, CI configuration (GitHub Actions, GitLab CI, Jenkins),
docker-compose files, Terraform variables, Kubernetes manifests, application
config (JSON/YAML/TOML) and API docs with example requests, ranked by how
likely an attacker reads them. Respects .gitignore, also outside a git repository.

Examples:
  honeytoken survey
  honeytoken survey ~/src/payments --service acme --format json"
)]
pub struct SurveyArgs {
    /// Directory (or one file) to survey.
    #[arg(default_value = ".")]
    pub path: PathBuf,
    /// Service name variable names start with (default: the directory's name).
    #[arg(long, value_name = "NAME")]
    pub service: Option<String>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = SurveyFormat::Table)]
    pub format: SurveyFormat,
}

/// `survey`.
pub fn run(a: SurveyArgs) -> Result<()> {
    let service = match &a.service {
        Some(s) => survey::sanitize_service(s),
        None => survey::service_for(&a.path),
    };
    let mut spinner = Spinner::new();
    let result = survey::survey(
        &a.path,
        &Options {
            service: service.clone(),
        },
        &mut |n| spinner.tick(&format!("surveying… {n} files")),
    )?;
    spinner.clear();
    match a.format {
        SurveyFormat::Json => output::json(&result),
        SurveyFormat::Table => {
            if result.findings.is_empty() {
                eprintln!(
                    "no places for credentials found among {} files under {}",
                    result.scanned, result.root
                );
                return Ok(());
            }
            let rows: Vec<Vec<String>> = result
                .findings
                .iter()
                .map(|f| {
                    vec![
                        f.rank.to_string(),
                        f.path.clone(),
                        f.what.clone(),
                        f.kind.to_string(),
                        f.var.clone(),
                        f.reason.clone(),
                    ]
                })
                .collect();
            output::table(&["rank", "path", "what", "kind", "variable", "why"], &rows);
            eprintln!(
                "{} places among {} files{}.",
                result.findings.len(),
                result.scanned,
                if result.unreadable > 0 {
                    format!(" ({} unreadable)", result.unreadable)
                } else {
                    String::new()
                }
            );
            let first = result.findings.iter().find(|f| f.format.is_some() || f.file.is_some());
            if let Some((f, kind)) = first.and_then(|f| f.file.map(|k| (f, k))) {
                let into = survey::finding_path(&a.path, &f.path);
                let label = format!("--label {service}-{kind} --location {}", into.display());
                if into.exists() {
                    eprintln!(
                        "next: ID=$(honeytoken mint --as {kind} --endpoint \"$DECOY_URL\" {label} --format json | jq -r .id)\n      \
                         honeytoken plant $ID --into {}",
                        into.display()
                    );
                } else {
                    eprintln!(
                        "next: honeytoken mint --as {kind} --endpoint \"$DECOY_URL\" {label} --out {}",
                        into.display()
                    );
                }
            } else if let Some(f) = first {
                let into = survey::finding_path(&a.path, &f.path);
                let mint = match f.kind {
                    crate::domain::token::TokenKind::Jwt => "--kind jwt".to_string(),
                    crate::domain::token::TokenKind::Key => format!("--kind key --prefix {service}_live_"),
                    crate::domain::token::TokenKind::AwsKey => "--kind aws-key".to_string(),
                };
                eprintln!(
                    "next: ID=$(honeytoken mint {mint} --label {service}-{} --location {} --format json | jq -r .id)\n      \
                     honeytoken plant $ID --into {} --var {}",
                    category_word(f.category),
                    into.display(),
                    into.display(),
                    f.var
                );
            }
        }
    }
    Ok(())
}

/// A short word for labels (`acme-env`, `acme-ci`).
fn category_word(c: survey::Category) -> &'static str {
    match c {
        survey::Category::Dotenv => "env",
        survey::Category::Ci => "ci",
        survey::Category::Compose => "compose",
        survey::Category::Terraform => "terraform",
        survey::Category::Kubernetes => "k8s",
        survey::Category::Config => "config",
        survey::Category::Docs => "docs",
        survey::Category::CredentialFile => "file",
    }
}
