//! The SIEM and chat channels (Teams, Discord, Splunk HEC) as `serve` and
//! the alerter build them: one place naming those adapters, so both
//! runtimes configure them the same way.

use std::path::PathBuf;
use std::sync::Arc;

use crate::error::{Error, Result};
use crate::notify::Notifier;
use crate::notify::discord::Discord;
use crate::notify::queued::{OnError, Queued};
use crate::notify::splunk::SplunkHec;
use crate::notify::teams::Teams;

/// Environment variable holding the Splunk HEC token for `serve`.
pub const SPLUNK_TOKEN_ENV: &str = "HONEYTOKEN_SPLUNK_HEC_TOKEN";

/// Optional channels of `serve`.
#[derive(Debug, Clone, Default)]
pub struct LocalChannels {
    /// Teams incoming webhook (or Workflows webhook) URL.
    pub teams: Option<String>,
    /// Discord webhook URL.
    pub discord: Option<String>,
    /// Splunk HEC URL.
    pub splunk_hec: Option<String>,
    /// File holding the HEC token (else [`SPLUNK_TOKEN_ENV`]).
    pub splunk_token_file: Option<PathBuf>,
}

/// The HEC token: from `file` if given, else from [`SPLUNK_TOKEN_ENV`].
pub fn splunk_token(file: Option<&std::path::Path>, env: Option<String>) -> Result<String> {
    let token = match file {
        Some(p) => std::fs::read_to_string(p).map_err(|source| Error::Io {
            path: p.display().to_string(),
            source,
        })?,
        None => env.unwrap_or_default(),
    };
    let token = token.trim().to_string();
    if token.is_empty() {
        return Err(Error::Config(format!(
            "--splunk-hec needs the HEC token: --splunk-hec-token-file FILE, or {SPLUNK_TOKEN_ENV}"
        )));
    }
    Ok(token)
}

/// `serve`'s optional channels, each delivering in the background so a
/// slow or failing receiver never holds up the terminal or the others;
/// `on_error` hears of every failed delivery.
pub fn local(c: &LocalChannels, on_error: OnError) -> Result<Vec<Arc<dyn Notifier>>> {
    let mut out: Vec<Arc<dyn Notifier>> = Vec::new();
    if let Some(url) = &c.teams {
        let t: Arc<dyn Notifier> = Arc::new(Teams::new(url)?);
        out.push(Arc::new(Queued::spawn(
            Arc::new(crate::notify::queued::One(t, "teams")),
            on_error.clone(),
        )));
    }
    if let Some(url) = &c.discord {
        let d: Arc<dyn Notifier> = Arc::new(Discord::new(url)?);
        out.push(Arc::new(Queued::spawn(
            Arc::new(crate::notify::queued::One(d, "discord")),
            on_error.clone(),
        )));
    }
    if let Some(url) = &c.splunk_hec {
        let token = splunk_token(c.splunk_token_file.as_deref(), std::env::var(SPLUNK_TOKEN_ENV).ok())?;
        out.push(Arc::new(Queued::spawn(
            Arc::new(SplunkHec::new(url, &token)?),
            on_error,
        )));
    }
    Ok(out)
}

/// Prints a failed background delivery on the terminal, as `serve` does
/// for every failing channel.
pub fn print_error() -> OnError {
    Arc::new(|channel: &str, n: usize, e: &Error| {
        eprintln!(
            "ALERT CHANNEL FAILING: {channel}: {n} alert(s) not delivered: {e}; hits are stored (`honeytoken hits`)"
        );
    })
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn the_splunk_token_comes_from_the_file_else_the_environment() {
        let d = tempfile::tempdir().unwrap();
        let p = d.path().join("hec.token");
        std::fs::write(&p, "abc-123\n").unwrap();
        assert_eq!(splunk_token(Some(&p), Some("env".into())).unwrap(), "abc-123");
        assert_eq!(splunk_token(None, Some(" env-tok ".into())).unwrap(), "env-tok");
        let e = splunk_token(None, None).unwrap_err().to_string();
        assert!(
            e.contains(SPLUNK_TOKEN_ENV) && e.contains("--splunk-hec-token-file"),
            "{e}"
        );
        assert!(splunk_token(Some(&d.path().join("missing")), None).is_err());
    }
}
