//! `mint`, `list`, `show`, `disable`, `enable`.

use clap::Args;
use serde_json::json;

use super::Context;
use super::output::{self, Format};
use crate::domain::token::{self, Alphabet, KeyShape, MintSpec, TokenKind, TokenRecord, TokenState};
use crate::error::{Error, Result};

/// Text or JSON.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum TextFormat {
    /// For people.
    Text,
    /// For programs.
    Json,
}

/// How `mint` prints what it made: one option for every kind, each value
/// refused with a message where it does not apply.
#[derive(Debug, Clone, Copy, PartialEq, Eq, clap::ValueEnum)]
pub enum MintFormat {
    /// The token on stdout, what was minted on stderr.
    Text,
    /// For programs: id, token, kind, label, location, created_at, state.
    Json,
    /// Only the token, on stdout (for `TOKEN=$(honeytoken mint …)`).
    Token,
    /// Shell `export` lines (AWS keys only).
    Env,
    /// An AWS shared credentials file profile (AWS keys only).
    Credentials,
}

impl MintFormat {
    /// Refuses a format that does not apply to what is minted (`kind`),
    /// before anything is minted or stored.
    pub fn check(self, kind: Option<TokenKind>) -> Result<()> {
        match (self, kind == Some(TokenKind::AwsKey)) {
            (MintFormat::Text | MintFormat::Json, _) => Ok(()),
            (MintFormat::Env | MintFormat::Credentials, true) => Ok(()),
            (MintFormat::Token, true) => Err(Error::Invalid(
                "--format token prints one string, and an AWS key is two (id and secret); use --format env, \
                 credentials, json or text"
                    .into(),
            )),
            (MintFormat::Token, false) => Ok(()),
            (MintFormat::Env | MintFormat::Credentials, false) => Err(Error::Invalid(format!(
                "--format {} applies to AWS access keys only (--kind aws-key); \
                 use --format token (the token alone), text or json",
                if self == MintFormat::Env { "env" } else { "credentials" }
            ))),
        }
    }
}

/// `mint` options.
#[derive(Debug, Args)]
#[command(after_help = "Examples:
  TOKEN=$(honeytoken mint --kind key --prefix acme_live_ --label demo --format token)
  honeytoken mint --kind jwt --label payments-repo --location github.com/acme/payments/.env
  honeytoken mint --kind key --prefix acme_live_ --length 32 --label ci-secrets
  honeytoken mint --like sk_live_51HqLyjWDarjtT1zdp7dcXYZab --label stripe-lookalike
  honeytoken mint --kind jwt --like \"$(cat one-of-our-access-tokens.jwt)\" --label api-decoy

A JWT carries neither the label nor the location: they are bound under the signing key
into a UUID-shaped claim, so only this deployment can tell what a token was planted for.")]
pub struct MintArgs {
    /// Token kind: a signed JWT or a prefixed API key (implied `key` with --like).
    #[arg(long, value_parser = clap::value_parser!(TokenKind))]
    pub kind: Option<TokenKind>,
    /// Literal prefix of a key, e.g. `acme_live_`.
    #[arg(long, default_value = "")]
    pub prefix: String,
    /// Number of body characters of a key (after the prefix).
    #[arg(long)]
    pub length: Option<usize>,
    /// Body alphabet of a key: base62, hex, hex_upper, base64url, base32, base32_lower.
    #[arg(long, default_value = "base62", value_parser = clap::value_parser!(Alphabet))]
    pub alphabet: Alphabet,
    /// Copy the shape of one real key (prefix, and each part's alphabet and
    /// length) or, with `--kind jwt`, of one real JWT (header, claim names and
    /// order, value shapes, lifetime, signature length).
    #[arg(long, value_name = "EXAMPLE", conflicts_with_all = ["prefix", "length", "alphabet"])]
    pub like: Option<String>,
    /// What the token is for; shown in every alert.
    #[arg(long)]
    pub label: String,
    /// Where the token will be planted; shown in every alert.
    #[arg(long, default_value = "")]
    pub location: String,
    /// A note for yourself.
    #[arg(long, default_value = "")]
    pub memo: String,
    /// A checksum the --like format carries at its end (`crc32`: CRC-32 of the
    /// last part's characters before it, in that part's alphabet, as GitHub's
    /// and npm's tokens), so the decoy's checksum is valid.
    #[arg(long, requires = "like", value_parser = clap::value_parser!(token::Checksum))]
    pub checksum: Option<token::Checksum>,
    /// `iss` claim of a JWT. Default: this installation's own issuer, a
    /// Keycloak realm URL derived from the signing key (the same for every
    /// token of the installation, different in every other one); give your
    /// identity provider's real issuer URL where you can. With --like, the
    /// example's.
    #[arg(long)]
    pub issuer: Option<String>,
    /// `aud` claim of a JWT (none by default; with --like, the example's).
    #[arg(long)]
    pub audience: Option<String>,
    /// Output format: `token` prints the token alone; `env` and
    /// `credentials` print an AWS key's id and secret (aws-key only).
    #[arg(long, value_enum, default_value_t = MintFormat::Text)]
    pub format: MintFormat,
    /// IAM user name of an AWS key (default: a generated one shaped like a
    /// service or CI user, e.g. terraform-deploy-prod).
    #[arg(long, value_name = "NAME")]
    pub user_name: Option<String>,
    /// Profile name of an AWS key in `--format credentials` and in a
    /// credentials file written by `--into`.
    #[arg(long, value_name = "NAME", default_value = "default")]
    pub profile: String,
    /// Write an AWS key's credentials into this file (an AWS credentials
    /// file, .env, CI YAML, JSON or TOML; created if missing): the secret is
    /// shown only once, so it is planted when it is made.
    #[arg(long, value_name = "FILE")]
    pub into: Option<std::path::PathBuf>,
    /// A whole credential file (`--as`): its own module.
    #[command(flatten)]
    pub file: super::credfile::FileArgs,
}

/// Builds what to mint from the options, with warnings for the operator.
pub fn spec(a: &MintArgs) -> Result<(MintSpec, Vec<String>)> {
    if (a.issuer.is_some() || a.audience.is_some()) && a.kind != Some(TokenKind::Jwt) {
        return Err(Error::Invalid("--issuer and --audience apply to --kind jwt".into()));
    }
    if let Some(example) = &a.like {
        if a.kind == Some(TokenKind::Jwt) {
            if a.checksum.is_some() {
                return Err(Error::Invalid("--checksum applies to keys, not JWTs".into()));
            }
            let like = token::jwt::infer_like(example, a.issuer.as_deref(), a.audience.as_deref())?;
            return Ok((MintSpec::JwtShaped(Box::new(like.shape)), like.warnings));
        }
        if token::jwt::looks_like_jwt(example.trim().as_bytes()) {
            return Err(Error::Invalid(
                "the example is a JWT: add --kind jwt to mint a JWT shaped like it".into(),
            ));
        }
        return Ok((MintSpec::Key(token::like::infer_with(example, a.checksum)?), Vec::new()));
    }
    spec_plain(a).map(|s| (s, Vec::new()))
}

fn spec_plain(a: &MintArgs) -> Result<MintSpec> {
    match a.kind {
        Some(TokenKind::Jwt) => {
            if !a.prefix.is_empty() || a.length.is_some() {
                return Err(Error::Invalid(
                    "--prefix and --length apply to --kind key, not jwt".into(),
                ));
            }
            let issuer = a.issuer.as_deref().unwrap_or(token::DEFAULT_ISSUER);
            Ok(MintSpec::JwtShaped(Box::new(token::jwt::JwtShape::standard(
                issuer,
                a.audience.as_deref(),
            ))))
        }
        Some(TokenKind::Key) => Ok(MintSpec::Key(KeyShape::plain(
            &a.prefix,
            a.alphabet,
            a.length
                .unwrap_or(token::DEFAULT_KEY_LENGTH.max(a.alphabet.identity_len())),
        )?)),
        // The stack backend mints these before reaching here (an IAM user
        // and key in the stack's account); nothing local can make one.
        Some(TokenKind::AwsKey) => Err(Error::Invalid(
            "--kind aws-key needs the stack backend: AWS makes the key, as an IAM user in the stack's \
             account; run `honeytoken --backend aws --stack NAME mint --kind aws-key ...`"
                .into(),
        )),
        None => Err(Error::Invalid(
            "say what to mint: --kind jwt, --kind key, --kind aws-key, --like EXAMPLE, or --as FILE".into(),
        )),
    }
}

pub(super) fn check_label(label: &str) -> Result<()> {
    if label.trim().is_empty() || label.len() > 200 || label.chars().any(char::is_control) {
        return Err(Error::Invalid("--label must be 1 to 200 printable characters".into()));
    }
    Ok(())
}

/// The stable JSON of a minted token.
pub fn minted_json(t: &TokenRecord) -> serde_json::Value {
    json!({
        "id": t.id,
        "token": t.token,
        "kind": t.kind,
        "label": t.label,
        "location": t.location,
        "created_at": t.created_at,
        "state": t.state,
    })
}

/// `mint`.
pub async fn mint(ctx: &Context, a: MintArgs) -> Result<()> {
    if a.file.file.is_some() {
        return super::credfile::mint(ctx, &a).await;
    }
    a.file.check_unused()?;
    a.format.check(a.kind)?;
    check_label(&a.label)?;
    if a.kind == Some(TokenKind::AwsKey) {
        return mint_aws_key(ctx, a).await;
    }
    if a.user_name.is_some() || a.into.is_some() {
        return Err(Error::Invalid(
            "--user-name and --into apply to --kind aws-key; plant other tokens with `honeytoken plant ID --into FILE`"
                .into(),
        ));
    }
    let (spec, warnings) = spec(&a)?;
    for w in warnings {
        eprintln!("warning: {w}");
    }
    let rec = token::mint(
        &ctx.key,
        &spec,
        &a.label,
        &a.location,
        &a.memo,
        time::OffsetDateTime::now_utc(),
    )?;
    if let Some(p) = token::vendor_prefix(&rec.token) {
        eprintln!(
            "warning: {p:?} is a real vendor's prefix; public secret scanning reports such keys to the vendor. \
             Use your own prefix for tokens planted in public places."
        );
    }
    ctx.tokens.create(&rec).await?;
    match a.format {
        MintFormat::Json => output::json(&minted_json(&rec)),
        MintFormat::Token => println!("{}", rec.token),
        // Refused before minting; kept here so the match names every format.
        MintFormat::Env | MintFormat::Credentials => a.format.check(a.kind)?,
        MintFormat::Text => {
            println!("{}", rec.token);
            eprintln!(
                "minted {} {} ({}); plant it, then watch `honeytoken hits --token {}`",
                rec.kind, rec.id, rec.label, rec.id
            );
        }
    }
    Ok(())
}

/// `mint --kind aws-key`: an IAM user and key in the stack's account. The
/// secret is printed once (and written by `--into`), never stored.
async fn mint_aws_key(ctx: &Context, a: MintArgs) -> Result<()> {
    let Some(k) = &ctx.aws_keys else {
        return Err(Error::Invalid(
            "--kind aws-key needs the stack backend: AWS makes the key, as an IAM user in the stack's \
             account; run `honeytoken --backend aws --stack NAME mint --kind aws-key ...` against a stack \
             deployed with this version (its outputs name DecoyUserPath and DecoyUserGroupName)"
                .into(),
        ));
    };
    if !a.prefix.is_empty() || a.length.is_some() || a.like.is_some() {
        return Err(Error::Invalid(
            "--prefix, --length and --like do not apply to --kind aws-key: AWS makes the key".into(),
        ));
    }
    if let Some(w) = crate::ops::aws_keys::gives_away(&a.profile) {
        return Err(Error::Invalid(format!(
            "--profile {:?} contains {w:?}, which tells an attacker what the key is",
            a.profile
        )));
    }
    let mut m = crate::ops::aws_keys::mint(
        k,
        ctx.tokens.as_ref(),
        &a.label,
        &a.location,
        &a.memo,
        a.user_name.as_deref(),
        time::OffsetDateTime::now_utc(),
    )
    .await?;
    if let Some(into) = &a.into {
        match crate::ops::aws_keys::plant_into(ctx.tokens.as_ref(), &mut m, into, &a.profile).await {
            Ok(var) => eprintln!("planted {} into {} ({var})", m.record.id, into.display()),
            // The key exists and its secret is shown nowhere else: print it
            // rather than lose it.
            Err(e) => eprintln!(
                "error: the key was made but not written into {}: {e}; its credentials follow, plant them by hand",
                into.display()
            ),
        }
    }
    let out = &m.key;
    match a.format {
        MintFormat::Json => output::json(&json!({
            "id": m.record.id,
            "kind": m.record.kind,
            "label": m.record.label,
            "location": m.record.location,
            "created_at": m.record.created_at,
            "state": m.record.state,
            "user_name": m.record.aws_user,
            "aws_access_key_id": out.id,
            "aws_secret_access_key": out.secret,
        })),
        MintFormat::Env => print!("{}", crate::ops::aws_keys::env_lines(out)),
        MintFormat::Credentials => print!("{}", crate::ops::aws_keys::credentials_block(&a.profile, out)),
        MintFormat::Text | MintFormat::Token => {
            print!("{}", crate::ops::aws_keys::credentials_block(&a.profile, out));
        }
    }
    eprintln!(
        "minted aws-key {} (IAM user {}, {}); the secret is shown only now. Watch `honeytoken hits --token {}`",
        m.record.id,
        m.record.aws_user.as_deref().unwrap_or("?"),
        m.record.label,
        m.record.id
    );
    Ok(())
}

/// `retire` options.
#[derive(Debug, Args)]
#[command(
    after_help = "Retiring an AWS key deletes its IAM user and access key: the only way to end
its detection (disable only silences its alerts). Its record and hits are kept.

Example:
  honeytoken --backend aws --stack honeytoken retire AKIAIOSFODNN7EXAMPLE"
)]
pub struct RetireArgs {
    /// Token id (for an AWS key, its access key id).
    pub id: String,
}

/// `retire`.
pub async fn retire(ctx: &Context, a: RetireArgs) -> Result<()> {
    let t = ctx
        .tokens
        .get(&a.id)
        .await?
        .ok_or_else(|| Error::NotFound(a.id.clone()))?;
    if t.kind != TokenKind::AwsKey {
        return Err(Error::Invalid(format!(
            "token {} is a {} token: nothing outside the store makes it work, so there is nothing to delete; \
             `honeytoken disable {}` stops its alerts",
            t.id, t.kind, t.id
        )));
    }
    let Some(k) = &ctx.aws_keys else {
        return Err(Error::Invalid(
            "retiring an AWS key deletes its IAM user: run it with --backend aws --stack NAME".into(),
        ));
    };
    let t = crate::ops::aws_keys::retire(k, ctx.tokens.as_ref(), &a.id).await?;
    eprintln!(
        "retired {}: IAM user {} and its key are deleted; its hits are kept",
        t.id,
        t.aws_user.as_deref().unwrap_or("?")
    );
    Ok(())
}

/// `list` options.
#[derive(Debug, Args)]
pub struct ListArgs {
    /// Output format.
    #[arg(long, value_enum, default_value_t = Format::Table)]
    pub format: Format,
    /// Suggest rotating active tokens older than this (e.g. 30d, 12w).
    #[arg(long, default_value = "90d", value_parser = humantime::parse_duration, value_name = "DURATION")]
    pub max_age: std::time::Duration,
}

fn age(created_at: &str) -> String {
    let Some(t) = crate::domain::time::parse(created_at) else {
        return "?".into();
    };
    let d = time::OffsetDateTime::now_utc() - t;
    if d.whole_days() > 0 {
        format!("{}d", d.whole_days())
    } else if d.whole_hours() > 0 {
        format!("{}h", d.whole_hours())
    } else {
        format!("{}m", d.whole_minutes().max(0))
    }
}

/// `list`.
pub async fn list(ctx: &Context, a: ListArgs) -> Result<()> {
    let tokens = ctx.tokens.list().await?;
    let headers = [
        "id",
        "kind",
        "state",
        "age",
        "rotation",
        "created_at",
        "label",
        "location",
    ];
    let (now, max_days) = (
        time::OffsetDateTime::now_utc(),
        (a.max_age.as_secs() / 86_400).max(1) as i64,
    );
    let rows: Vec<Vec<String>> = tokens
        .iter()
        .map(|t| {
            vec![
                t.id.clone(),
                t.kind.to_string(),
                t.state.to_string(),
                age(&t.created_at),
                crate::ops::rotate::rotation_hint(t, max_days, now),
                t.created_at.clone(),
                t.label.clone(),
                t.location.clone(),
            ]
        })
        .collect();
    match a.format {
        Format::Json => output::json(&tokens),
        Format::Csv => output::csv(&headers, &rows),
        Format::Table => {
            if tokens.is_empty() {
                eprintln!("no tokens yet; mint one with `honeytoken mint --kind key --label NAME`");
            } else {
                output::table(&headers, &rows)
            }
        }
    }
    Ok(())
}

/// A token id argument.
#[derive(Debug, Args)]
pub struct IdArg {
    /// Token id (from `honeytoken list`).
    pub id: String,
}

/// `show` options.
#[derive(Debug, Args)]
pub struct ShowArgs {
    /// Token id (from `honeytoken list`).
    pub id: String,
    /// Output format.
    #[arg(long, value_enum, default_value_t = TextFormat::Text)]
    pub format: TextFormat,
}

/// `show`.
pub async fn show(ctx: &Context, a: ShowArgs) -> Result<()> {
    let t = ctx
        .tokens
        .get(&a.id)
        .await?
        .ok_or_else(|| Error::NotFound(a.id.clone()))?;
    match a.format {
        TextFormat::Json => output::json(&t),
        TextFormat::Text => {
            println!("id:          {}", t.id);
            println!("token:       {}", t.token);
            println!("kind:        {}", t.kind);
            println!("state:       {}", t.state);
            println!("label:       {}", t.label);
            println!("location:    {}", t.location);
            if let Some(f) = &t.file {
                println!("file:        {} for {}", f.kind, f.endpoint);
            }
            println!("created_at:  {} ({} ago)", t.created_at, age(&t.created_at));
            if !t.memo.is_empty() {
                println!("memo:        {}", t.memo);
            }
            for p in &t.placements {
                println!("planted:     {} as {} at {}", p.path, p.var, p.planted_at);
            }
            if let Some(r) = &t.replaced_by {
                println!("replaced_by: {r}");
            }
            if let Some(r) = &t.replaces {
                println!("replaces:    {r}");
            }
        }
    }
    Ok(())
}

/// `disable` / `enable`.
pub async fn set_state(ctx: &Context, a: IdArg, state: TokenState) -> Result<()> {
    let t = crate::store::set_state(ctx.tokens.as_ref(), &a.id, state).await?;
    eprintln!("{} is now {}", t.id, t.state);
    Ok(())
}
