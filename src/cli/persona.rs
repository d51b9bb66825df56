//! `persona`: how the decoy answers. `persona learn URL` probes the
//! operator's own API and writes a persona file `serve --persona FILE`
//! replays (with `--backend aws`, it stores it where the stack's decoy reads
//! it at cold start); `persona put FILE` stores a file there; `persona show
//! NAME` prints a built-in one as a starting point.

use clap::{Args, Subcommand};
use std::path::PathBuf;

use crate::decoy::learn;
use crate::decoy::persona::Persona;
use crate::error::{Error, Result};

/// `persona` options.
#[derive(Debug, Args)]
pub struct PersonaArgs {
    /// What to do.
    #[command(subcommand)]
    pub action: PersonaAction,
}

/// `persona` subcommands.
#[derive(Debug, Subcommand)]
pub enum PersonaAction {
    /// Probe your own API (no credential, an invalid key, a CORS preflight,
    /// an unknown method, an unknown path; each three times) and write what
    /// it answers as a persona file: header names in their case and order,
    /// what varies between answers as fields in their own formats (ids,
    /// dates, trace ids). Never sends a real credential and follows no
    /// redirect.
    #[command(after_help = "Examples:
  honeytoken persona learn https://api.acme.example/v1/users --like acme_live_4eC39HqLyjWDarjtT1zd --out acme.json
  honeytoken serve --persona acme.json
  honeytoken --backend aws --stack honeytoken persona learn https://api.acme.example/v1/users --like acme_live_4eC39HqLyjWDarjtT1zd

With --backend aws the persona is also stored beside the stack's tokens;
each decoy instance answers with it from its next cold start (until then,
or when it cannot read it, with the built-in persona the template names).")]
    Learn {
        /// An endpoint of your API that needs a credential.
        url: String,
        /// More endpoints of the same API that answer differently (a
        /// registry's `/v2/`, a health check): each becomes a route.
        #[arg(long = "route", value_name = "URL")]
        routes: Vec<String>,
        /// A key of the shape you plant: the invalid key sent is random, of this shape.
        #[arg(long, value_name = "EXAMPLE")]
        like: Option<String>,
        /// Where to write the persona (JSON); default: standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Store a persona file where the stack's decoy reads it at cold start
    /// (needs --backend aws; locally, use `serve --persona FILE`).
    #[command(after_help = "Example:
  honeytoken --backend aws --stack honeytoken persona put acme.json")]
    Put {
        /// A persona file (`persona learn --out`, or `persona show` edited).
        file: PathBuf,
    },
    /// Print a built-in persona (api, stripe, github) as JSON.
    Show {
        /// Built-in name.
        name: String,
    },
}

/// Stores `json` (already checked) for the stack's decoy.
async fn store(g: &crate::cli::Global, json: &str) -> Result<()> {
    let ctx = crate::cli::open(g).await?;
    let store = ctx.persona.ok_or_else(|| {
        Error::Invalid(
            "the local backend keeps no persona; start `honeytoken serve --persona FILE` with the file instead".into(),
        )
    })?;
    store.put_persona(json).await?;
    eprintln!("stored; each decoy instance answers with it from its next cold start");
    Ok(())
}

/// `persona`.
pub async fn run(g: &crate::cli::Global, a: PersonaArgs) -> Result<()> {
    match a.action {
        PersonaAction::Put { file } => {
            let text = std::fs::read_to_string(&file).map_err(|source| Error::Io {
                path: file.display().to_string(),
                source,
            })?;
            let p = Persona::from_json(&text)
                .map_err(|e| Error::Invalid(format!("{} is not a persona file: {e}", file.display())))?;
            store(g, &serde_json::to_string(&p).unwrap_or_default()).await
        }
        PersonaAction::Show { name } => {
            let p = Persona::builtin(&name).ok_or_else(|| {
                Error::Invalid(format!(
                    "no built-in persona {name:?}; one of {}",
                    Persona::BUILTINS.join(", ")
                ))
            })?;
            println!("{}", serde_json::to_string_pretty(&p).unwrap_or_default());
            Ok(())
        }
        PersonaAction::Learn { url, routes, like, out } => {
            let fake = fake_key(like.as_deref())?;
            let learned = learn::learn_routes(&url, &routes, &fake).await?;
            for gap in &learned.gaps {
                eprintln!("could not learn {gap}");
            }
            let json = serde_json::to_string_pretty(&learned.persona).unwrap_or_default();
            match out {
                Some(path) => {
                    std::fs::write(&path, format!("{json}\n")).map_err(|source| Error::Io {
                        path: path.display().to_string(),
                        source,
                    })?;
                    eprintln!(
                        "wrote {}; use it with `honeytoken serve --persona {}`",
                        path.display(),
                        path.display()
                    );
                }
                None if g.backend == crate::cli::Backend::Aws => {}
                None => println!("{json}"),
            }
            if g.backend == crate::cli::Backend::Aws {
                store(g, &json).await?;
            }
            Ok(())
        }
    }
}

/// A random key of the example's shape (or a plain 40-character one),
/// signed with a throwaway key: never a credential of anyone's.
fn fake_key(like: Option<&str>) -> Result<String> {
    let throwaway = crate::domain::key::SigningKey::from_secret(&rand::random::<[u8; 32]>())?;
    let spec = match like {
        Some(example) => crate::domain::token::MintSpec::Key(crate::domain::token::like::infer(example)?),
        None => crate::domain::token::MintSpec::Key(crate::domain::token::KeyShape::plain(
            "",
            crate::domain::token::Alphabet::Base62,
            40,
        )?),
    };
    let t = crate::domain::token::mint(&throwaway, &spec, "probe", "", "", time::OffsetDateTime::now_utc())?;
    Ok(t.token)
}
