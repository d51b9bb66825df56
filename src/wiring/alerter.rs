//! The alerter function's wiring: its environment, and its channels and
//! state built once per cold start into the library's [`Pipeline`]. The
//! Lambda side (recognising an invocation, decoding the stream event,
//! answering with `batchItemFailures`) is the function's own, in
//! `functions/alerter`: the library knows nothing of the Lambda runtime.

use aws_config::SdkConfig;
use std::sync::Arc;
use std::time::Duration;

use crate::alerting::pipeline::{Channel, DEFAULT_OPTIONAL_DEADLINE, DEFAULT_WINDOW, Pipeline};
use crate::error::{Error, Result};
use crate::notify::Notifier;
use crate::notify::pagerduty::PagerDuty;
use crate::notify::slack::Slack;
use crate::notify::sns::Sns;
use crate::store::dynamodb::alert_state::DynamoAlertState;
use crate::wiring::channels::OptionalChannels;
use crate::wiring::secrets;

/// The alerter's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlerterEnv {
    /// `ALERT_STATE_TABLE`.
    pub state_table: String,
    /// `ALERT_TOPIC_ARN`.
    pub topic_arn: String,
    /// `HITS_TABLE` (optional): where a summary reads the counts of the
    /// flood counter records it announces.
    pub hits_table: Option<String>,
    /// `THROTTLE_WINDOW_MINUTES` (default 15).
    pub window: Duration,
    /// `SLACK_WEBHOOK_SECRET_ARN` (optional).
    pub slack_secret: Option<String>,
    /// `PAGERDUTY_ROUTING_KEY_SECRET_ARN` (optional).
    pub pagerduty_secret: Option<String>,
    /// `PAGERDUTY_EVENTS_URL` (optional; default the public Events API v2).
    pub pagerduty_url: Option<String>,
    /// `OPTIONAL_CHANNEL_DEADLINE_SECS` (default 8): the time Slack and
    /// PagerDuty Events get together for one alert once SNS has it.
    pub optional_deadline: Duration,
    /// Teams, Discord, Splunk HEC and Security Hub (all optional).
    pub integrations: super::channels::AlerterIntegrations,
}

/// Time a stream record may take besides its optional channels (state
/// reads and writes, the SNS publish): a batch takes no new record once less
/// than this plus the optional deadline is left before the function's. The
/// template's timeout is checked against it, so it lives beside the
/// environment it budgets rather than in the function.
pub const DEADLINE_SLACK: Duration = Duration::from_secs(10);

/// Longest the alerter waits, at the end of an invocation, for channels that
/// deliver in the background (Splunk HEC, queued chat channels) before
/// Lambda freezes the process; what is still queued goes out in the next
/// invocation, so a SIEM that is down never turns into a failed batch.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(20);

/// Time kept after the drain for the answer itself: a Lambda invocation that
/// times out loses its `batchItemFailures`, and the whole batch is retried.
pub const ANSWER_RESERVE: Duration = Duration::from_secs(2);

/// How much of the function's time must be left for a stream batch to take
/// another record: the longest one record can take ([`DEADLINE_SLACK`] plus
/// the optional channels' `optional_deadline`), then the drain
/// ([`DRAIN_LIMIT`]), then the answer ([`ANSWER_RESERVE`]). The template's
/// `Timeout` is checked against it.
pub fn stop_margin(optional_deadline: Duration) -> Duration {
    DEADLINE_SLACK + optional_deadline + DRAIN_LIMIT + ANSWER_RESERVE
}

/// How long the end-of-invocation drain may wait when it starts at `now`:
/// [`DRAIN_LIMIT`], cut short so that [`ANSWER_RESERVE`] is still left before
/// `deadline` (the function's), even after a record that overran its budget.
pub fn drain_limit(deadline: Option<tokio::time::Instant>, now: tokio::time::Instant) -> Duration {
    match deadline {
        None => DRAIN_LIMIT,
        Some(d) => DRAIN_LIMIT.min(d.saturating_duration_since(now).saturating_sub(ANSWER_RESERVE)),
    }
}

impl AlerterEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get`, naming any that is missing or bad.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let vars = super::env::Vars(get);
        let default_minutes = DEFAULT_WINDOW.as_secs() / 60;
        let minutes = vars.number(
            "THROTTLE_WINDOW_MINUTES",
            default_minutes,
            1..=24 * 60,
            "a number of minutes from 1 to 1440",
        )?;
        let optional_deadline = Duration::from_secs(vars.number(
            "OPTIONAL_CHANNEL_DEADLINE_SECS",
            DEFAULT_OPTIONAL_DEADLINE.as_secs(),
            1..=300,
            "a number of seconds from 1 to 300",
        )?);
        Ok(AlerterEnv {
            optional_deadline,
            state_table: vars.need("ALERT_STATE_TABLE")?,
            topic_arn: vars.need("ALERT_TOPIC_ARN")?,
            hits_table: vars.opt("HITS_TABLE"),
            window: Duration::from_secs(minutes * 60),
            slack_secret: vars.opt("SLACK_WEBHOOK_SECRET_ARN"),
            pagerduty_secret: vars.opt("PAGERDUTY_ROUTING_KEY_SECRET_ARN"),
            pagerduty_url: vars.opt("PAGERDUTY_EVENTS_URL"),
            integrations: super::channels::AlerterIntegrations::from_vars(&vars)?,
        })
    }
}

/// Builds the pipeline: DynamoDB state, SNS (required), and every optional
/// channel whose secret or switch is configured (Slack, PagerDuty Events,
/// Security Hub, Teams, Discord, Splunk HEC). A configured optional channel
/// that cannot be built (its secret unreadable, its value invalid) is
/// skipped and logged, and named in [`Pipeline::unavailable`], which every
/// invocation counts as the `honeytoken/ChannelsUnavailable` metric
/// (alarmed): failing the start instead would stop every alert, SNS
/// included.
pub async fn pipeline(conf: &SdkConfig, env: &AlerterEnv) -> Result<Pipeline> {
    let state = Arc::new(DynamoAlertState::new(
        aws_sdk_dynamodb::Client::new(conf),
        &env.state_table,
    ));
    let sns: Arc<dyn Notifier> = Arc::new(Sns::new(aws_sdk_sns::Client::new(conf), &env.topic_arn));
    let sm = aws_sdk_secretsmanager::Client::new(conf);
    let mut optional = OptionalChannels::default();
    if let Some(arn) = &env.slack_secret {
        let built = async { Ok(Arc::new(Slack::new(&secrets::read(&sm, arn, "url").await?)?) as Arc<dyn Notifier>) };
        optional.add("slack", built.await);
    }
    if let Some(arn) = &env.pagerduty_secret {
        let built = async {
            let key = secrets::read(&sm, arn, "routing_key").await?;
            let mut pd = PagerDuty::new(&key)?;
            if let Some(url) = &env.pagerduty_url {
                pd = pd.with_url(url)?;
            }
            Ok::<_, Error>(Arc::new(pd) as Arc<dyn Notifier>)
        };
        optional.add("pagerduty", built.await);
    }
    super::channels::alerter(conf, &sm, &env.integrations, &env.topic_arn, &mut optional).await;
    let OptionalChannels {
        channels: rest,
        unavailable,
    } = optional;
    let mut channels = vec![Channel {
        notifier: sns,
        required: true,
    }];
    channels.extend(rest);
    let mut p = Pipeline::new(state, channels)
        .with_window(env.window)
        .with_optional_deadline(env.optional_deadline)
        .with_unavailable(unavailable);
    if let Some(hits) = &env.hits_table {
        // The decoy's flood bucket is the same THROTTLE_WINDOW_MINUTES.
        let store = crate::store::dynamodb::DynamoStore::new(aws_sdk_dynamodb::Client::new(conf), "", hits);
        p = p.with_flood_counters(Arc::new(store), env.window);
    }
    Ok(p)
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::wiring::metric_line;

    #[test]
    fn env_defaults_and_errors() {
        let e = AlerterEnv::from_lookup(|k| match k {
            "ALERT_STATE_TABLE" => Some("s".into()),
            "ALERT_TOPIC_ARN" => Some("t".into()),
            "SLACK_WEBHOOK_SECRET_ARN" => Some("".into()),
            _ => None,
        })
        .unwrap();
        assert_eq!(e.window, Duration::from_secs(900));
        assert_eq!(e.slack_secret, None);
        assert_eq!(e.optional_deadline, DEFAULT_OPTIONAL_DEADLINE);
        let bad = AlerterEnv::from_lookup(|k| match k {
            "ALERT_STATE_TABLE" | "ALERT_TOPIC_ARN" => Some("x".into()),
            "THROTTLE_WINDOW_MINUTES" => Some("0".into()),
            _ => None,
        });
        assert!(bad.unwrap_err().to_string().contains("THROTTLE_WINDOW_MINUTES"));
        let missing = AlerterEnv::from_lookup(|_| None).unwrap_err().to_string();
        assert!(missing.contains("ALERT_STATE_TABLE"), "{missing}");
    }

    #[test]
    fn metric_lines_are_emf_and_only_when_something_failed() {
        assert_eq!(metric_line(&[("AlerterFailedRecords", 0)], "x"), None);
        let l = metric_line(&[("AlerterFailedRecords", 2), ("ChannelsUnavailable", 0)], "x").unwrap();
        let v: serde_json::Value = serde_json::from_str(&l).unwrap();
        assert!(!l.contains('\n'));
        assert_eq!(v["AlerterFailedRecords"], 2);
        assert!(v.get("ChannelsUnavailable").is_none());
        let m = &v["_aws"]["CloudWatchMetrics"][0];
        assert_eq!(m["Namespace"], "honeytoken");
        assert_eq!(
            m["Metrics"],
            serde_json::json!([{"Name": "AlerterFailedRecords", "Unit": "Count"}])
        );
        assert!(v["_aws"]["Timestamp"].as_i64().unwrap() > 0);
    }
}
