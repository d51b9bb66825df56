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

/// `rotate` of an AWS key: a new IAM user and key; the old ones stay
/// active and alerting until `retire`.
async fn rotate_aws_key(ctx: &Context, a: RotateArgs) -> Result<()> {
    let Some(k) = &ctx.aws_keys else {
        return Err(Error::Invalid(
            "rotating an AWS key makes a new IAM user: run it with --backend aws --stack NAME".into(),
        ));
    };
    if a.file.is_some() {
        return Err(Error::Invalid(
            "--file swaps a token in place, and an AWS key's secret is not stored; \
             write the new credentials where the old ones are by hand"
                .into(),
        ));
    }
    let (old, new) =
        crate::ops::aws_keys::rotate(k, ctx.tokens.as_ref(), &a.id, time::OffsetDateTime::now_utc()).await?;
    match a.format {
        TextFormat::Json => super::output::json(&serde_json::json!({
            "old": super::tokens::minted_json(&old),
            "new": super::tokens::minted_json(&new.record),
            "aws_access_key_id": new.key.id,
            "aws_secret_access_key": new.key.secret,
        })),
        TextFormat::Text => {
            print!("{}", crate::ops::aws_keys::credentials_block("default", &new.key));
            eprintln!(
                "{} (IAM user {}) replaces {}; the old key stays active and its hits still alert until \
                 `honeytoken retire {}`. The secret is shown only now.",
                new.record.id,
                new.record.aws_user.as_deref().unwrap_or("?"),
                old.id,
                old.id
            );
        }
    }
    Ok(())
}

/// `rotate`.
pub async fn run(ctx: &Context, a: RotateArgs) -> Result<()> {
    let old = ctx
        .tokens
        .get(&a.id)
        .await?
        .ok_or_else(|| Error::NotFound(a.id.clone()))?;
    if old.kind == crate::domain::token::TokenKind::AwsKey {
        return rotate_aws_key(ctx, a).await;
    }
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
