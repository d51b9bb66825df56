//! `rotate`: replace a token with a twin and retire the old one.

use clap::Args;
use std::path::PathBuf;

use super::Context;
use super::tokens::TextFormat;
use crate::error::{Error, Result};

/// `rotate` options.
#[derive(Debug, Args)]
#[command(
    after_help = "The replacement has the same kind, shape and metadata. The old token is
retired: its hits still alert (flagged retired), because a leaked copy is still
out there. With --file, the old token string is replaced in place in that file.

Example:
  honeytoken rotate 3f2a9c0d1e4b5a6f --file services/payments/.env"
)]
pub struct RotateArgs {
    /// Token id (from `honeytoken list`).
    pub id: String,
    /// A file the old token is planted in: replace it there in place.
    #[arg(long, value_name = "PATH")]
    pub file: Option<PathBuf>,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

/// `rotate`.
pub async fn run(ctx: &Context, a: RotateArgs) -> Result<()> {
    let old = ctx
        .tokens
        .get(&a.id)
        .await?
        .ok_or_else(|| Error::NotFound(a.id.clone()))?;
    // Read and check the file before changing anything in the store.
    let file = match &a.file {
        Some(p) => {
            let io = |source| Error::Io {
                path: p.display().to_string(),
                source,
            };
            let bytes = std::fs::read(p).map_err(io)?;
            let text =
                String::from_utf8(bytes).map_err(|_| Error::Invalid(format!("{} is not UTF-8 text", p.display())))?;
            crate::ops::rotate::swap_token(&text, &crate::ops::credfile::as_written(&old), "")?;
            Some((p, text))
        }
        None => None,
    };
    let path_str = a.file.as_ref().map(|p| p.display().to_string());
    let r = crate::ops::rotate::rotate(
        ctx.tokens.as_ref(),
        &ctx.key,
        &a.id,
        path_str.as_deref(),
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    if let Some((p, text)) = file {
        let (swapped, n) = crate::ops::rotate::swap_token(
            &text,
            &crate::ops::credfile::as_written(&r.old),
            &crate::ops::credfile::as_written(&r.new),
        )?;
        crate::ops::plant::write_in_place(p, &swapped)?;
        eprintln!(
            "replaced {n} occurrence{} in {}",
            if n == 1 { "" } else { "s" },
            p.display()
        );
    } else if !r.old.placements.is_empty() {
        let paths: Vec<&str> = r.old.placements.iter().map(|p| p.path.as_str()).collect();
        eprintln!(
            "the old token is planted in {}; use --file PATH to swap it there",
            paths.join(", ")
        );
    }
    match a.format {
        TextFormat::Json => super::output::json(&serde_json::json!({
            "old": super::tokens::minted_json(&r.old),
            "new": super::tokens::minted_json(&r.new),
        })),
        TextFormat::Text => {
            println!("{}", r.new.token);
            eprintln!(
                "{} replaces {} (now retired; its hits still alert, flagged retired)",
                r.new.id, r.old.id
            );
        }
    }
    Ok(())
}
