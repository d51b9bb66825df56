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

/// The alerter's optional integrations, from its environment.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct AlerterIntegrations {
    /// `TEAMS_WEBHOOK_SECRET_ARN`: secret holding the Teams webhook URL.
    pub teams_secret: Option<String>,
    /// `DISCORD_WEBHOOK_SECRET_ARN`: secret holding the Discord webhook URL.
    pub discord_secret: Option<String>,
    /// `SPLUNK_HEC_SECRET_ARN`: secret holding `{"url": …, "token": …}`.
    pub splunk_secret: Option<String>,
    /// `SECURITY_HUB_FINDINGS` = `true`: import alerts as findings.
    pub security_hub: bool,
    /// `SECURITY_HUB_INCLUDE_TESTS` = `true`: import test hits too.
    pub security_hub_tests: bool,
}

impl AlerterIntegrations {
    /// Reads the variables, naming any that is bad.
    #[cfg(feature = "aws")]
    pub fn from_vars<F: Fn(&str) -> Option<String>>(vars: &super::env::Vars<F>) -> Result<Self> {
        let security_hub = match vars.opt("SECURITY_HUB_FINDINGS").as_deref() {
            None | Some("false") => false,
            Some("true") => true,
            Some(v) => {
                return Err(Error::Config(format!(
                    "SECURITY_HUB_FINDINGS={v:?} is not \"true\" or \"false\""
                )));
            }
        };
        Ok(AlerterIntegrations {
            teams_secret: vars.opt("TEAMS_WEBHOOK_SECRET_ARN"),
            discord_secret: vars.opt("DISCORD_WEBHOOK_SECRET_ARN"),
            splunk_secret: vars.opt("SPLUNK_HEC_SECRET_ARN"),
            security_hub,
            security_hub_tests: vars.opt("SECURITY_HUB_INCLUDE_TESTS").as_deref() == Some("true"),
        })
    }
}

/// The alerter's optional channels: those built, and the names of those
/// configured but not built.
#[derive(Default)]
pub struct OptionalChannels {
    /// Channels built, in the order they were configured.
    pub channels: Vec<crate::alerting::pipeline::Channel>,
    /// Configured channels that could not be built (an unreadable secret, an
    /// invalid value), counted by every invocation as the
    /// `honeytoken/ChannelsUnavailable` metric.
    pub unavailable: Vec<String>,
}

impl OptionalChannels {
    /// Adds `name`'s channel, or, when it could not be built, logs why and
    /// names it unavailable: failing the alerter's start instead would stop
    /// every alert, SNS (email, PagerDuty via SNS) included, and send every
    /// hit to the failure queue unalerted.
    pub fn add(&mut self, name: &str, built: Result<Arc<dyn Notifier>>) {
        match built {
            Ok(notifier) => self.channels.push(crate::alerting::pipeline::Channel {
                notifier,
                required: false,
            }),
            Err(e) => {
                tracing::error!(
                    event = "channel_unavailable",
                    channel = name,
                    error = %e,
                    "optional alert channel skipped; SNS alerts still flow"
                );
                self.unavailable.push(name.to_string());
            }
        }
    }
}

/// The alerter's optional integrations as channels (never required: SNS
/// goes first and a failure here never fails or repeats a hit). Teams and
/// Discord post within the invocation with bounded retries; Splunk HEC is
/// queued and batched, drained before each invocation returns. A configured
/// channel that cannot be built (its secret unreadable, its value invalid,
/// Security Hub missing from the build) is skipped and counted in `out`,
/// like Slack and PagerDuty Events.
#[cfg(feature = "aws")]
pub async fn alerter(
    conf: &aws_config::SdkConfig,
    sm: &aws_sdk_secretsmanager::Client,
    i: &AlerterIntegrations,
    topic_arn: &str,
    out: &mut OptionalChannels,
) {
    if i.security_hub {
        out.add("securityhub", security_hub(conf, i, topic_arn));
    }
    if let Some(arn) = &i.teams_secret {
        let built =
            async { Ok(Arc::new(Teams::new(&super::secrets::read(sm, arn, "url").await?)?) as Arc<dyn Notifier>) };
        out.add("teams", built.await);
    }
    if let Some(arn) = &i.discord_secret {
        let built =
            async { Ok(Arc::new(Discord::new(&super::secrets::read(sm, arn, "url").await?)?) as Arc<dyn Notifier>) };
        out.add("discord", built.await);
    }
    if let Some(arn) = &i.splunk_secret {
        out.add("splunk", splunk(sm, arn).await);
    }
}

#[cfg(feature = "aws")]
fn security_hub(conf: &aws_config::SdkConfig, i: &AlerterIntegrations, topic_arn: &str) -> Result<Arc<dyn Notifier>> {
    #[cfg(feature = "securityhub")]
    {
        use crate::notify::securityhub::{Product, SecurityHub};
        let product = Product::from_arn(topic_arn)?;
        Ok(Arc::new(
            SecurityHub::new(aws_sdk_securityhub::Client::new(conf), product).with_tests(i.security_hub_tests),
        ))
    }
    #[cfg(not(feature = "securityhub"))]
    {
        let _ = (conf, i, topic_arn);
        Err(Error::Config(
            "SECURITY_HUB_FINDINGS=true, but this build has no Security Hub support (cargo feature `securityhub`)"
                .into(),
        ))
    }
}

/// Splunk HEC from one secret read: `{"url": …, "token": …}`.
#[cfg(feature = "aws")]
async fn splunk(sm: &aws_sdk_secretsmanager::Client, arn: &str) -> Result<Arc<dyn Notifier>> {
    let raw = super::secrets::secret_string(sm, arn).await?;
    if !raw.trim_start().starts_with('{') {
        return Err(Error::Config(format!(
            "the secret {arn} must be a JSON object {{\"url\": …, \"token\": …}}"
        )));
    }
    let field = |f: &str| {
        super::secrets::value(&raw, f).ok_or_else(|| {
            Error::Config(format!(
                "the secret {arn} must be {{\"url\": \"https://…:8088\", \"token\": \"…\"}}; it has no {f:?}"
            ))
        })
    };
    let (url, token) = (field("url")?, field("token")?);
    Ok(Arc::new(Queued::spawn(
        Arc::new(SplunkHec::new(&url, &token)?),
        crate::notify::queued::log_error(),
    )))
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

    #[cfg(feature = "aws")]
    #[test]
    fn alerter_integrations_from_the_environment() {
        let vars = super::super::env::Vars(|k: &str| match k {
            "TEAMS_WEBHOOK_SECRET_ARN" => Some("arn:aws:secretsmanager:us-east-1:123456789012:secret:t-AbCdEf".into()),
            "DISCORD_WEBHOOK_SECRET_ARN" => Some(" ".into()),
            "SECURITY_HUB_FINDINGS" => Some("true".into()),
            _ => None,
        });
        let i = AlerterIntegrations::from_vars(&vars).unwrap();
        assert!(i.teams_secret.is_some() && i.discord_secret.is_none() && i.splunk_secret.is_none());
        assert!(i.security_hub);
        let bad = super::super::env::Vars(|k: &str| (k == "SECURITY_HUB_FINDINGS").then(|| "yes".to_string()));
        assert!(
            AlerterIntegrations::from_vars(&bad)
                .unwrap_err()
                .to_string()
                .contains("SECURITY_HUB_FINDINGS")
        );
    }
}
