//! `allow`: source ranges whose hits are recorded but raise no alert.

use clap::{Args, Subcommand};
use std::sync::Arc;

use super::output::{self, Format};
use super::{Context, Global};
use crate::domain::allow::{AllowEntry, parse_cidr, too_wide};
use crate::error::{Error, Result};
use crate::store::AllowStore;

/// `allow` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Hits from allowlisted sources (your own scanners, CI, the office) are still
stored, flagged `ignored`, and raise no alert. Global entries apply to every
token; --token ID entries to one. A running decoy picks up global changes
within 30 seconds.

Examples:
  honeytoken allow add 203.0.113.0/24 --note \"security team scanner\"
  honeytoken allow add 10.8.0.0/16 --token 3f2a9c0d1e4b5a6f --note \"CI runners\"
  honeytoken allow list
  honeytoken allow remove 203.0.113.0/24"
)]
pub struct AllowArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: AllowAction,
}

/// `allow` subcommands.
#[derive(Debug, Subcommand)]
pub enum AllowAction {
    /// Allowlist an address or CIDR range.
    Add {
        /// Address or range, e.g. 203.0.113.7 or 10.0.0.0/8.
        cidr: String,
        /// Only for this token.
        #[arg(long, value_name = "ID")]
        token: Option<String>,
        /// Why (who scans from there).
        #[arg(long, default_value = "")]
        note: String,
        /// Take a range wider than an IPv4 /8 or an IPv6 /32 (it silences
        /// every hit from there).
        #[arg(long)]
        force: bool,
    },
    /// Show every entry, global and per token.
    List {
        /// Output format.
        #[arg(long, value_enum, default_value_t = Format::Table)]
        format: Format,
    },
    /// Remove an entry.
    Remove {
        /// Address or range as added.
        cidr: String,
        /// From this token's entries instead of the global ones.
        #[arg(long, value_name = "ID")]
        token: Option<String>,
    },
}

/// Opens the store of global allowlist entries for the selected backend.
pub fn open_store(_g: &Global, ctx: &Context) -> Result<Arc<dyn AllowStore>> {
    Ok(ctx.allow.clone())
}

/// Refuses a range too wide to allowlist unless forced, saying what it would hide.
fn check_width(cidr: &str, force: bool) -> Result<()> {
    match too_wide(&parse_cidr(cidr)?) {
        Some(why) if !force => Err(Error::Invalid(format!(
            "{why}; allowlist the narrowest range your scanners use (at most /{} for IPv4, /{} for IPv6), \
             or add --force if you mean it",
            crate::domain::allow::WIDEST_V4,
            crate::domain::allow::WIDEST_V6
        ))),
        Some(why) => {
            eprintln!("warning: {why}");
            Ok(())
        }
        None => Ok(()),
    }
}

fn check_note(note: &str) -> Result<()> {
    if note.len() > 200 || note.chars().any(char::is_control) {
        return Err(Error::Invalid("--note must be at most 200 printable characters".into()));
    }
    Ok(())
}

/// `allow`.
pub async fn run(g: &Global, ctx: &Context, a: AllowArgs) -> Result<()> {
    match a.action {
        AllowAction::Add {
            cidr,
            token: None,
            note,
            force,
        } => {
            check_note(&note)?;
            check_width(&cidr, force)?;
            let e = AllowEntry::new(&cidr, &note)?;
            open_store(g, ctx)?.allow_add(&e).await?;
            eprintln!(
                "allowlisted {} for every token; running decoys pick it up within 30 s",
                e.cidr
            );
        }
        AllowAction::Add {
            cidr,
            token: Some(id),
            note,
            force,
        } => {
            check_note(&note)?;
            check_width(&cidr, force)?;
            let e = AllowEntry::new(&cidr, &note)?;
            let mut t = ctx.tokens.get(&id).await?.ok_or_else(|| Error::NotFound(id.clone()))?;
            match t.allow.iter_mut().find(|x| x.cidr == e.cidr) {
                Some(x) => x.note = e.note.clone(),
                None => t.allow.push(e.clone()),
            }
            ctx.tokens.update(&t).await?;
            eprintln!("allowlisted {} for token {}", e.cidr, t.id);
        }
        AllowAction::Remove { cidr, token } => {
            let net = parse_cidr(&cidr)?.to_string();
            let removed = match &token {
                None => open_store(g, ctx)?.allow_remove(&net).await?,
                Some(id) => {
                    let mut t = ctx.tokens.get(id).await?.ok_or_else(|| Error::NotFound(id.clone()))?;
                    let before = t.allow.len();
                    t.allow.retain(|x| x.cidr != net);
                    let removed = t.allow.len() != before;
                    if removed {
                        ctx.tokens.update(&t).await?;
                    }
                    removed
                }
            };
            if !removed {
                return Err(Error::Invalid(format!(
                    "{net} is not on the {} allowlist; `honeytoken allow list` shows the entries",
                    token
                        .as_deref()
                        .map(|t| format!("token {t}'s"))
                        .unwrap_or_else(|| "global".into())
                )));
            }
            eprintln!("removed {net}");
        }
        AllowAction::List { format } => {
            let global = match open_store(g, ctx) {
                Ok(s) => s.allow_list().await?,
                Err(_) => Vec::new(),
            };
            let mut rows: Vec<(String, AllowEntry)> = global.into_iter().map(|e| ("global".to_string(), e)).collect();
            for t in ctx.tokens.list().await? {
                rows.extend(t.allow.iter().map(|e| (t.id.clone(), e.clone())));
            }
            let headers = ["scope", "cidr", "note", "added_at"];
            let table: Vec<Vec<String>> = rows
                .iter()
                .map(|(s, e)| vec![s.clone(), e.cidr.clone(), e.note.clone(), e.added_at.clone()])
                .collect();
            match format {
                Format::Json => output::json(
                    &rows
                        .iter()
                        .map(|(s, e)| serde_json::json!({"scope": s, "cidr": e.cidr, "note": e.note, "added_at": e.added_at}))
                        .collect::<Vec<_>>(),
                ),
                Format::Csv => output::csv(&headers, &table),
                Format::Table if rows.is_empty() => eprintln!("the allowlist is empty"),
                Format::Table => output::table(&headers, &table),
            }
        }
    }
    Ok(())
}
