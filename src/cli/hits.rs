//! `hits`: recorded uses of tokens.

use clap::Args;

use super::Context;
use super::output::{self, Format};
use crate::error::{Error, Result};
use crate::hit::Hit;
use crate::store::HitQuery;

/// `hits` options.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  honeytoken hits --since 24h
  honeytoken hits --token 3f2a9c0d1e4b5a6f --format json
  honeytoken hits --since 30d --format csv > hits.csv")]
pub struct HitsArgs {
    /// Only this token's hits.
    #[arg(long, value_name = "ID")]
    pub token: Option<String>,
    /// Only hits this recent: 90s, 15m, 24h, 7d, 4w.
    #[arg(long, value_name = "DURATION")]
    pub since: Option<String>,
    /// Show at most this many (the newest).
    #[arg(long, default_value_t = 1000)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
}

/// Turns `24h` into an RFC 3339 lower bound.
pub fn since_bound(since: &str) -> Result<String> {
    let d = humantime::parse_duration(since).map_err(|e| {
        Error::Invalid(format!("--since {since:?}: {e}; use a duration such as 90s, 15m, 24h or 7d"))
    })?;
    let d = time::Duration::try_from(d).map_err(|_| Error::Invalid(format!("--since {since:?} is too long")))?;
    let t = time::OffsetDateTime::now_utc().checked_sub(d).unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Ok(crate::time::rfc3339(t))
}

/// Builds the store query from the options.
pub fn query(a: &HitsArgs) -> Result<HitQuery> {
    Ok(HitQuery {
        token_id: a.token.clone(),
        since: a.since.as_deref().map(since_bound).transpose()?,
        source_ip: None,
        limit: Some(a.limit),
    })
}

fn row(h: &Hit) -> Vec<String> {
    let flags = crate::alert::render::flags(h).join(",");
    vec![
        h.received_at.clone(),
        h.token_id.clone(),
        h.label.clone(),
        h.source_ip.clone(),
        h.geo.as_ref().and_then(|g| g.country_code.clone()).unwrap_or_default(),
        h.method.clone(),
        h.path.clone(),
        h.found_in.clone(),
        h.user_agent.clone(),
        flags,
    ]
}

/// `hits`.
pub async fn run(ctx: &Context, a: HitsArgs) -> Result<()> {
    let hits = ctx.hits.query(&query(&a)?).await?;
    let headers = ["received_at", "token_id", "label", "source_ip", "country", "method", "path", "found_in", "user_agent", "flags"];
    match a.format {
        Format::Json => output::json(&hits),
        Format::Csv => output::csv(&headers, &hits.iter().map(row).collect::<Vec<_>>()),
        Format::Table => {
            if hits.is_empty() {
                eprintln!("no hits recorded{}", if a.since.is_some() || a.token.is_some() { " for this filter" } else { " yet" });
            } else {
                output::table(&headers, &hits.iter().map(row).collect::<Vec<_>>())
            }
        }
    }
    Ok(())
}
