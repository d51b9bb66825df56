//! `persona`: how the decoy answers. `persona learn URL` probes the
//! operator's own API and writes a persona file `serve --persona FILE`
//! replays; `persona show NAME` prints a built-in one as a starting point.

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
    /// an unknown method, an unknown path; each twice) and write what it
    /// answers as a persona file. Never sends a real credential and follows
    /// no redirect.
    #[command(after_help = "Example:
  honeytoken persona learn https://api.acme.example/v1/users --like acme_live_4eC39HqLyjWDarjtT1zd --out acme.json
  honeytoken serve --persona acme.json")]
    Learn {
        /// An endpoint of your API that needs a credential.
        url: String,
        /// A key of the shape you plant: the invalid key sent is random, of this shape.
        #[arg(long, value_name = "EXAMPLE")]
        like: Option<String>,
        /// Where to write the persona (JSON); default: standard output.
        #[arg(long, value_name = "FILE")]
        out: Option<PathBuf>,
    },
    /// Print a built-in persona (api, stripe, github) as JSON.
    Show {
        /// Built-in name.
        name: String,
    },
}

/// `persona`.
pub async fn run(a: PersonaArgs) -> Result<()> {
    match a.action {
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
        PersonaAction::Learn { url, like, out } => {
            let fake = fake_key(like.as_deref())?;
            let learned = learn::learn(&url, &fake).await?;
            for gap in &learned.gaps {
                eprintln!("could not learn {gap}");
            }
            let json = serde_json::to_string_pretty(&learned.persona).unwrap_or_default();
            match out {
                Some(path) => {
                    std::fs::write(&path, json + "\n").map_err(|source| Error::Io {
                        path: path.display().to_string(),
                        source,
                    })?;
                    eprintln!(
                        "wrote {}; use it with `honeytoken serve --persona {}`",
                        path.display(),
                        path.display()
                    );
                }
                None => println!("{json}"),
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
