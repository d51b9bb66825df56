//! `hits`: recorded uses of tokens.

use crate::domain::time::Timestamp;
use clap::Args;

use super::Context;
use super::output::{self, Format};

/// Output format of `hits`: the shared formats, plus ECS NDJSON for SIEMs.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum HitsFormat {
    /// Aligned columns for people.
    Table,
    /// JSON for programs (stable field names).
    Json,
    /// CSV for spreadsheets and SIEMs.
    Csv,
    /// One Elastic Common Schema event per line (NDJSON) for Elastic,
    /// OpenSearch, Splunk, Filebeat or Vector; listing only.
    Ecs,
}
use crate::domain::hit::Hit;
use crate::error::{Error, Result};
use crate::ops::analysis::{self, Group, GroupBy};
use crate::store::HitQuery;

/// `hits` options.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  honeytoken hits --since 24h
  honeytoken hits --token 3f2a9c0d1e4b5a6f --format json
  honeytoken hits --since 30d --format csv > hits.csv
  honeytoken hits --since 7d --format ecs > hits.ndjson   # Elastic Common Schema
  honeytoken hits --by ip --since 7d          # repeat sources, how many tokens each tried
  honeytoken hits --by token                  # which tokens leak, from how many places
  honeytoken hits --by country --format json  # counts for a SIEM or a dashboard")]
pub struct HitsArgs {
    /// Only this token's hits.
    #[arg(long, value_name = "ID")]
    pub token: Option<String>,
    /// Only hits from this source address.
    #[arg(long, value_name = "ADDR")]
    pub ip: Option<String>,
    /// Only hits this recent (90s, 15m, 24h, 7d, 4w) or since a date (2026-11-01)
    /// or time (2026-11-01T12:00:00Z).
    #[arg(long, value_name = "DURATION|DATE")]
    pub since: Option<String>,
    /// Count hits per group instead of listing them: hits, first and last seen,
    /// distinct tokens and distinct sources per group. Counts every matching hit.
    #[arg(long, value_enum, value_name = "GROUP")]
    pub by: Option<GroupBy>,
    /// Show at most this many (the newest); listing only.
    #[arg(long, default_value_t = 1000, conflicts_with = "by", value_parser = super::args::at_least_one)]
    pub limit: usize,
    /// Output format.
    #[arg(long, value_enum, default_value_t = HitsFormat::Table)]
    pub format: HitsFormat,
}

/// Turns `24h`, `2026-11-01` or an RFC 3339 time into an RFC 3339 lower bound.
pub fn since_bound(since: &str) -> Result<Timestamp> {
    if let Some(t) = Timestamp::parse(since) {
        return Ok(t);
    }
    if let Ok(d) = time::Date::parse(since, time::macros::format_description!("[year]-[month]-[day]")) {
        return Ok(d.midnight().assume_utc().into());
    }
    let d = humantime::parse_duration(since).map_err(|e| {
        Error::Invalid(format!(
            "--since {since:?}: {e}; use a duration such as 90s, 15m, 24h or 7d, or a date such as 2026-11-01"
        ))
    })?;
    let d = time::Duration::try_from(d).map_err(|_| Error::Invalid(format!("--since {since:?} is too long")))?;
    let t = time::OffsetDateTime::now_utc()
        .checked_sub(d)
        .unwrap_or(time::OffsetDateTime::UNIX_EPOCH);
    Ok(t.into())
}

/// `--ip`: an IPv4 or IPv6 address, in the form hits are stored with, or
/// the service name CloudTrail gives as a decoy AWS key's source when a
/// service made the call (`AWS Internal`, `ec2.amazonaws.com`): letters,
/// digits, spaces, dots, dashes and underscores with at least one letter, so
/// a mistyped address (`999.1.1.1`) is still refused.
fn source_address(ip: &str) -> Result<String> {
    let ip = ip.trim();
    if let Ok(a) = ip.parse::<std::net::IpAddr>() {
        return Ok(a.to_string());
    }
    let service_name = ip.len() <= crate::domain::hit::caps::SOURCE_IP
        && ip.bytes().any(|b| b.is_ascii_alphabetic())
        && ip
            .bytes()
            .all(|b| b.is_ascii_alphanumeric() || matches!(b, b' ' | b'.' | b'-' | b'_'));
    if service_name {
        return Ok(ip.to_string());
    }
    Err(Error::Invalid(format!(
        "--ip {ip:?} is not an IP address or a service name; use e.g. --ip 203.0.113.7, \
         --ip 2001:db8::7 or --ip 'AWS Internal'"
    )))
}

/// Builds the store query from the options.
pub fn query(a: &HitsArgs) -> Result<HitQuery> {
    Ok(HitQuery {
        token_id: a.token.clone(),
        since: a.since.as_deref().map(since_bound).transpose()?,
        source_ip: a.ip.as_deref().map(source_address).transpose()?,
        limit: Some(a.limit),
    })
}

/// What an empty answer means: nothing recorded at all, or nothing that
/// matches the filter given (naming it).
fn nothing_found(a: &HitsArgs) -> String {
    let filter: Vec<String> = [
        a.token.as_deref().map(|t| format!("--token {t}")),
        a.ip.as_deref().map(|i| format!("--ip {i}")),
        a.since.as_deref().map(|s| format!("--since {s}")),
    ]
    .into_iter()
    .flatten()
    .collect();
    if filter.is_empty() {
        "no hits recorded yet".into()
    } else {
        format!(
            "no hits match this filter ({}); `honeytoken hits` without it lists every hit",
            filter.join(" ")
        )
    }
}

/// A CSV row: the table's columns, then the AWS call's four fields (empty
/// for other hits).
fn hit_csv_row(h: &Hit) -> Vec<String> {
    let mut r = row(h);
    let e = h.aws_event.as_ref();
    r.extend([
        e.map(|e| e.name.clone()).unwrap_or_default(),
        e.map(|e| e.source.clone()).unwrap_or_default(),
        e.map(|e| e.region.clone()).unwrap_or_default(),
        e.and_then(|e| e.error_code.clone()).unwrap_or_default(),
    ]);
    r
}

/// A table row; a decoy AWS key's API call shows in the path column
/// (it has no method or path of its own).
fn row(h: &Hit) -> Vec<String> {
    let flags = crate::domain::alert::render::flags(h).join(",");
    let path = match &h.aws_event {
        Some(e) => e.to_string(),
        None => h.path.clone(),
    };
    vec![
        h.received_at.to_string(),
        h.count.to_string(),
        h.token_id.clone(),
        h.label.clone(),
        h.source_ip.clone(),
        h.geo.as_ref().and_then(|g| g.country_code.clone()).unwrap_or_default(),
        h.method.clone(),
        path,
        h.found_in.to_string(),
        h.user_agent.clone(),
        flags,
    ]
}

/// `2026-01-02T10:00:00.000Z` → `2026-01-02 10:00` for tables.
fn short_time(s: &str) -> String {
    match (s.get(..10), s.get(11..16)) {
        (Some(d), Some(t)) => format!("{d} {t}"),
        _ => s.to_string(),
    }
}

/// Column headers and rows of a grouped table; only the columns that say
/// something for this grouping, so the table fits an 80–120 column terminal.
pub fn group_rows(by: GroupBy, groups: &[Group]) -> (Vec<&'static str>, Vec<Vec<String>>) {
    let (first, name): (&str, Option<&str>) = match by {
        GroupBy::Ip => ("source_ip", None),
        GroupBy::Token => ("token_id", Some("label")),
        GroupBy::Country => ("country", Some("name")),
        GroupBy::Asn => ("asn", Some("network")),
        GroupBy::UserAgent => ("user_agent", None),
        GroupBy::Day => ("day", None),
    };
    let tokens = by != GroupBy::Token;
    // A source address is one source: its `sources` column would always read 1.
    let sources = by != GroupBy::Ip;
    let mut headers = vec![first];
    headers.extend(name);
    headers.push("hits");
    if tokens {
        headers.push("tokens");
    }
    if sources {
        headers.push("sources");
    }
    headers.extend(["first_seen", "last_seen"]);
    let rows = groups
        .iter()
        .map(|g| {
            let mut r = vec![g.key.clone().unwrap_or_else(|| "(unknown)".into())];
            if name.is_some() {
                r.push(g.name.clone().unwrap_or_default());
            }
            r.push(g.count.to_string());
            if tokens {
                r.push(g.distinct_tokens.to_string());
            }
            if sources {
                r.push(g.distinct_sources.to_string());
            }
            r.push(short_time(&g.first_seen));
            r.push(short_time(&g.last_seen));
            r
        })
        .collect();
    (headers, rows)
}

fn csv_row(g: &Group) -> Vec<String> {
    vec![
        g.by.to_string(),
        g.key.clone().unwrap_or_default(),
        g.name.clone().unwrap_or_default(),
        g.count.to_string(),
        g.first_seen.clone(),
        g.last_seen.clone(),
        g.distinct_tokens.to_string(),
        g.distinct_sources.to_string(),
    ]
}

/// `hits --by`: every matching hit, grouped.
async fn grouped(ctx: &Context, a: &HitsArgs, by: GroupBy) -> Result<()> {
    let q = HitQuery {
        limit: None,
        ..query(a)?
    };
    let format = match a.format {
        HitsFormat::Table => Format::Table,
        HitsFormat::Json => Format::Json,
        HitsFormat::Csv => Format::Csv,
        HitsFormat::Ecs => {
            return Err(Error::Invalid(
                "--format ecs lists hits, one event each; drop --by, or use --format json for grouped counts".into(),
            ));
        }
    };
    let groups = analysis::group(&ctx.hits.query(&q).await?, by);
    match format {
        Format::Json => output::json(&groups),
        Format::Csv => output::csv(
            &[
                "by",
                "key",
                "name",
                "count",
                "first_seen",
                "last_seen",
                "distinct_tokens",
                "distinct_sources",
            ],
            &groups.iter().map(csv_row).collect::<Vec<_>>(),
        ),
        Format::Table if groups.is_empty() => eprintln!("{}", nothing_found(a)),
        Format::Table => {
            let (headers, rows) = group_rows(by, &groups);
            output::table(&headers, &rows);
        }
    }
    Ok(())
}

/// Prints hits as ECS NDJSON, oldest first (the order a log shipper expects).
fn ecs(hits: &[Hit]) {
    use std::io::Write;
    let mut sorted: Vec<&Hit> = hits.iter().collect();
    sorted.sort_by(|a, b| (&a.received_at, &a.hit_id).cmp(&(&b.received_at, &b.hit_id)));
    let mut out = std::io::stdout().lock();
    for h in sorted {
        if out.write_all(crate::domain::alert::ecs::line(h).as_bytes()).is_err() {
            // The reader went away (a closed pipe): nothing more to write.
            return;
        }
    }
}

/// `hits`.
pub async fn run(ctx: &Context, a: HitsArgs) -> Result<()> {
    if let Some(by) = a.by {
        return grouped(ctx, &a, by).await;
    }
    let hits = ctx.hits.query(&query(&a)?).await?;
    let headers = [
        "received_at",
        "count",
        "token_id",
        "label",
        "source_ip",
        "country",
        "method",
        "path",
        "found_in",
        "user_agent",
        "flags",
    ];
    match a.format {
        HitsFormat::Json => output::json(&hits),
        HitsFormat::Csv => {
            let mut headers = headers.to_vec();
            headers.extend(["aws_event_name", "aws_event_source", "aws_region", "aws_error_code"]);
            output::csv(&headers, &hits.iter().map(hit_csv_row).collect::<Vec<_>>())
        }
        HitsFormat::Ecs => ecs(&hits),
        HitsFormat::Table => {
            if hits.is_empty() {
                eprintln!("{}", nothing_found(&a));
            } else {
                output::table(&headers, &hits.iter().map(row).collect::<Vec<_>>())
            }
        }
    }
    Ok(())
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn ip_takes_addresses_and_service_names_not_typos() {
        assert_eq!(source_address(" 203.0.113.7 ").unwrap(), "203.0.113.7");
        assert_eq!(source_address("AWS Internal").unwrap(), "AWS Internal");
        assert_eq!(source_address("ec2.amazonaws.com").unwrap(), "ec2.amazonaws.com");
        for bad in ["999.1.1.1", "10.0.0.1/8", "a;b", "", "2001:db8::zz"] {
            assert!(source_address(bad).is_err(), "{bad}");
        }
    }

    #[test]
    fn csv_rows_carry_the_aws_call() {
        let mut h = Hit::sample("AKIAIOSFODNN7EXAMPLE", "AWS Internal", "2026-11-28T12:00:00.000Z");
        h.aws_event = Some(crate::domain::hit::AwsEvent {
            name: "ListBuckets".into(),
            source: "s3.amazonaws.com".into(),
            region: "us-east-1".into(),
            error_code: Some("AccessDenied".into()),
        });
        let r = hit_csv_row(&h);
        assert_eq!(
            r[r.len() - 4..],
            ["ListBuckets", "s3.amazonaws.com", "us-east-1", "AccessDenied"]
        );
        assert_eq!(row(&h)[7], "ListBuckets on s3.amazonaws.com in us-east-1, AccessDenied");
        let plain = Hit::sample("t", "203.0.113.7", "2026-11-28T12:00:00.000Z");
        assert_eq!(hit_csv_row(&plain)[row(&plain).len()..], ["", "", "", ""]);
    }
}
