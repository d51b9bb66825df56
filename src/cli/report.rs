//! `report`: one self-contained HTML file with charts and tables of the hits.

use clap::Args;
use std::path::PathBuf;

use super::Context;
use super::hits::since_bound;
use crate::error::{Error, Result};
use crate::ops::report::{ReportOptions, render};
use crate::store::HitQuery;

/// `report` options.
#[derive(Debug, Args)]
#[command(
    after_help = "The file needs nothing else to open: styles and charts are inline, it runs
no script and fetches nothing (a Content-Security-Policy forbids it). The
timeline's step (minute, hour, day, week) follows the span of the hits; test
hits and hits from allowlisted sources are counted apart from real ones.

Examples:
  honeytoken report --out report.html
  honeytoken report --out last-month.html --since 30d
  honeytoken report --out billing.html --token 3f2a9c0d1e4b5a6f"
)]
pub struct ReportArgs {
    /// Where to write the HTML file.
    #[arg(long, value_name = "PATH", default_value = "report.html")]
    pub out: PathBuf,
    /// Only hits this recent (90s, 15m, 24h, 7d, 4w) or since a date (2026-11-01).
    #[arg(long, value_name = "DURATION|DATE")]
    pub since: Option<String>,
    /// Only this token's hits.
    #[arg(long, value_name = "ID")]
    pub token: Option<String>,
}

/// `report`.
pub async fn run(ctx: &Context, a: ReportArgs) -> Result<()> {
    let since = a.since.as_deref().map(since_bound).transpose()?;
    let q = HitQuery {
        token_id: a.token.clone(),
        since,
        source_ip: None,
        limit: None,
    };
    let hits = ctx.hits.query(&q).await?;
    let tokens = match &a.token {
        Some(id) => ctx.tokens.get(id).await?.into_iter().collect(),
        None => ctx.tokens.list().await?,
    };
    let opts = ReportOptions {
        generated_at: crate::domain::time::now(),
        since: since.map(|s| s.to_string()),
        token_id: a.token.clone(),
    };
    let html = render(&hits, &tokens, &opts);
    std::fs::write(&a.out, html).map_err(|source| Error::Io {
        path: a.out.display().to_string(),
        source,
    })?;
    eprintln!(
        "wrote {} ({} hits, {} tokens)",
        a.out.display(),
        hits.len(),
        tokens.len()
    );
    Ok(())
}
