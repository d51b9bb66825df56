//! The alerter function's wiring, without the Lambda runtime: its
//! environment, its channels and state built once per cold start, and the
//! two kinds of invocation it answers (a DynamoDB stream batch, and the
//! scheduled flush).

use aws_config::SdkConfig;
use std::sync::Arc;
use std::time::Duration;

use crate::alerting::pipeline::{Channel, DEFAULT_WINDOW, FlushReport, Pipeline};
use crate::alerting::stream::{BatchReport, process_batch, records_from_event};
use crate::error::{Error, Result};
use crate::notify::Notifier;
use crate::notify::pagerduty::PagerDuty;
use crate::notify::slack::Slack;
use crate::notify::sns::Sns;
use crate::store::dynamodb::alert_state::DynamoAlertState;
use crate::wiring::secrets;

/// The alerter's environment.
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct AlerterEnv {
    /// `ALERT_STATE_TABLE`.
    pub state_table: String,
    /// `ALERT_TOPIC_ARN`.
    pub topic_arn: String,
    /// `THROTTLE_WINDOW_MINUTES` (default 15).
    pub window: Duration,
    /// `SLACK_WEBHOOK_SECRET_ARN` (optional).
    pub slack_secret: Option<String>,
    /// `PAGERDUTY_ROUTING_KEY_SECRET_ARN` (optional).
    pub pagerduty_secret: Option<String>,
    /// `PAGERDUTY_EVENTS_URL` (optional; default the public Events API v2).
    pub pagerduty_url: Option<String>,
    /// Teams, Discord, Splunk HEC and Security Hub (all optional).
    pub integrations: super::channels::AlerterIntegrations,
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
        Ok(AlerterEnv {
            state_table: vars.need("ALERT_STATE_TABLE")?,
            topic_arn: vars.need("ALERT_TOPIC_ARN")?,
            window: Duration::from_secs(minutes * 60),
            slack_secret: vars.opt("SLACK_WEBHOOK_SECRET_ARN"),
            pagerduty_secret: vars.opt("PAGERDUTY_ROUTING_KEY_SECRET_ARN"),
            pagerduty_url: vars.opt("PAGERDUTY_EVENTS_URL"),
            integrations: super::channels::AlerterIntegrations::from_vars(&vars)?,
        })
    }
}

/// Builds the pipeline: DynamoDB state, SNS (required), and Slack and
/// PagerDuty (optional) when their secrets are configured. A configured
/// secret that cannot be read fails the start: better a loud error and an
/// alarm than a channel silently missing.
pub async fn pipeline(conf: &SdkConfig, env: &AlerterEnv) -> Result<Pipeline> {
    let state = Arc::new(DynamoAlertState::new(
        aws_sdk_dynamodb::Client::new(conf),
        &env.state_table,
    ));
    let sns: Arc<dyn Notifier> = Arc::new(Sns::new(aws_sdk_sns::Client::new(conf), &env.topic_arn));
    let mut channels = vec![Channel {
        notifier: sns,
        required: true,
    }];
    let sm = aws_sdk_secretsmanager::Client::new(conf);
    if let Some(arn) = &env.slack_secret {
        let url = secrets::read(&sm, arn, "url").await?;
        channels.push(Channel {
            notifier: Arc::new(Slack::new(&url)?),
            required: false,
        });
    }
    if let Some(arn) = &env.pagerduty_secret {
        let key = secrets::read(&sm, arn, "routing_key").await?;
        let mut pd = PagerDuty::new(&key)?;
        if let Some(url) = &env.pagerduty_url {
            pd = pd.with_url(url)?;
        }
        channels.push(Channel {
            notifier: Arc::new(pd),
            required: false,
        });
    }
    channels.extend(super::channels::alerter(conf, &sm, &env.integrations, &env.topic_arn).await?);
    Ok(Pipeline::new(state, channels).with_window(env.window))
}

/// What the alerter was invoked with.
#[derive(Debug)]
pub enum Invocation {
    /// A batch from the hits table's stream.
    Stream(aws_lambda_events::event::dynamodb::Event),
    /// The schedule: announce expired windows, resend abandoned alerts.
    Flush,
}

/// The input the schedule sends (see template.yaml).
pub const FLUSH_INPUT: &str = r#"{"action":"flush"}"#;

/// Recognises an invocation payload.
pub fn parse_invocation(v: serde_json::Value) -> Result<Invocation> {
    if v.get("Records").is_some() {
        return serde_json::from_value(v)
            .map(Invocation::Stream)
            .map_err(|e| Error::Invalid(format!("not a DynamoDB stream event: {e}")));
    }
    if v.get("action").and_then(|a| a.as_str()) == Some("flush")
        || v.get("detail-type").and_then(|a| a.as_str()) == Some("Scheduled Event")
    {
        return Ok(Invocation::Flush);
    }
    Err(Error::Invalid(format!(
        "unknown invocation: expected a DynamoDB stream event or {FLUSH_INPUT}"
    )))
}

/// Longest the alerter waits for background channels (Splunk HEC) at the
/// end of an invocation: well inside the function's 60 s timeout, so a
/// SIEM that is down never turns into a failed (and retried) stream batch.
pub const DRAIN_LIMIT: Duration = Duration::from_secs(20);

/// Lets background channels finish before Lambda freezes the process;
/// what is still queued after [`DRAIN_LIMIT`] goes out in the next invocation.
async fn drain(p: &Pipeline) {
    if tokio::time::timeout(DRAIN_LIMIT, p.drain()).await.is_err() {
        tracing::warn!(
            limit_secs = DRAIN_LIMIT.as_secs(),
            "background alert channels still busy; the rest is sent during the next invocation"
        );
    }
}

/// Handles one invocation; the value is the function's response: the
/// `batchItemFailures` of a stream batch (never an empty identifier), or a
/// flush report. A flush that could not deliver everything is an error, so
/// the function's Errors alarm sees it.
pub async fn handle(p: &Pipeline, inv: Invocation) -> Result<serde_json::Value> {
    match inv {
        Invocation::Stream(ev) => {
            let records = records_from_event(&ev);
            let r = process_batch(p, &records).await;
            drain(p).await;
            let r: BatchReport = r?;
            tracing::info!(
                records = records.len(),
                processed = r.processed,
                delivered = r.delivered,
                suppressed = r.suppressed,
                failed_at = r.failed_at.as_deref().unwrap_or(""),
                "stream batch"
            );
            let failures: Vec<serde_json::Value> = r
                .failed_at
                .into_iter()
                .map(|s| serde_json::json!({ "itemIdentifier": s }))
                .collect();
            Ok(serde_json::json!({ "batchItemFailures": failures }))
        }
        Invocation::Flush => {
            let r = p.flush().await;
            drain(p).await;
            let r: FlushReport = r?;
            tracing::info!(
                summaries = r.summaries,
                delivered = r.delivered,
                failed = r.failed,
                "flush"
            );
            if r.failed > 0 {
                return Err(Error::Notify {
                    channel: "sns".into(),
                    message: format!(
                        "{} queued alert(s) not delivered; the next flush retries them",
                        r.failed
                    ),
                });
            }
            Ok(serde_json::json!({ "summaries": r.summaries, "delivered": r.delivered }))
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;

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
    fn invocations() {
        assert!(matches!(
            parse_invocation(serde_json::from_str(FLUSH_INPUT).unwrap()),
            Ok(Invocation::Flush)
        ));
        let sched = serde_json::json!({"detail-type": "Scheduled Event", "source": "aws.events"});
        assert!(matches!(parse_invocation(sched), Ok(Invocation::Flush)));
        assert!(matches!(
            parse_invocation(serde_json::json!({"Records": []})),
            Ok(Invocation::Stream(_))
        ));
        assert!(parse_invocation(serde_json::json!({"hello": 1})).is_err());
    }
}
