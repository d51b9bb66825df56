//! The alerter function's wiring, without the Lambda runtime: its
//! environment, its channels and state built once per cold start, and the
//! two kinds of invocation it answers (a DynamoDB stream batch, and the
//! scheduled flush).

use aws_config::SdkConfig;
use std::sync::Arc;
use std::time::Duration;

use crate::alerting::pipeline::{Channel, DEFAULT_OPTIONAL_DEADLINE, DEFAULT_WINDOW, FlushReport, Pipeline};
use crate::alerting::stream::{BatchReport, process_batch_until, records_from_event};
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
/// than this plus the optional deadline is left before the function's.
pub const DEADLINE_SLACK: Duration = Duration::from_secs(10);

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

/// Builds the pipeline: DynamoDB state, SNS (required), and Slack and
/// PagerDuty (optional) when their secrets are configured. A configured
/// optional channel that cannot be built (its secret unreadable, its value
/// invalid) is skipped and logged, and named in
/// [`Pipeline::unavailable`], which every invocation counts as the
/// `honeytoken/ChannelsUnavailable` metric (alarmed): failing the start
/// instead would stop every alert, SNS included.
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
    let mut unavailable = Vec::new();
    let mut skip = |channel: &str, e: Error| {
        tracing::error!(
            event = "channel_unavailable",
            channel,
            error = %e,
            "optional alert channel skipped; SNS alerts still flow"
        );
        unavailable.push(channel.to_string());
    };
    if let Some(arn) = &env.slack_secret {
        match async { Slack::new(&secrets::read(&sm, arn, "url").await?) }.await {
            Ok(s) => channels.push(Channel {
                notifier: Arc::new(s),
                required: false,
            }),
            Err(e) => skip("slack", e),
        }
    }
    if let Some(arn) = &env.pagerduty_secret {
        let built = async {
            let key = secrets::read(&sm, arn, "routing_key").await?;
            let mut pd = PagerDuty::new(&key)?;
            if let Some(url) = &env.pagerduty_url {
                pd = pd.with_url(url)?;
            }
            Ok::<_, Error>(pd)
        }
        .await;
        match built {
            Ok(pd) => channels.push(Channel {
                notifier: Arc::new(pd),
                required: false,
            }),
            Err(e) => skip("pagerduty", e),
        }
    }
    channels.extend(super::channels::alerter(conf, &sm, &env.integrations, &env.topic_arn).await?);
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

pub use super::metric_line;

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
    handle_until(p, inv, None).await
}

/// [`handle`] for an invocation that must return by `deadline` (the Lambda
/// context's): a stream batch stops taking records once less than
/// [`DEADLINE_SLACK`] plus the optional channels' deadline is left. Prints
/// the `AlerterFailedRecords` and `ChannelsUnavailable` metrics (EMF) when
/// they are not zero: records reported in `batchItemFailures` are
/// successful invocations to Lambda, so its `Errors` metric never sees them.
pub async fn handle_until(
    p: &Pipeline,
    inv: Invocation,
    deadline: Option<tokio::time::Instant>,
) -> Result<serde_json::Value> {
    if let Some(line) = metric_line(
        &[("ChannelsUnavailable", p.unavailable().len() as u64)],
        "channel_unavailable",
    ) {
        println!("{line}");
    }
    match inv {
        Invocation::Stream(ev) => {
            let records = records_from_event(&ev);
            let stop_at = deadline.map(|d| d - (DEADLINE_SLACK + p.optional_deadline()));
            let r = process_batch_until(p, &records, stop_at).await;
            drain(p).await;
            let r: BatchReport = r?;
            if let Some(line) = metric_line(&[("AlerterFailedRecords", r.failed as u64)], "stream_records_failed") {
                println!("{line}");
            }
            tracing::info!(
                records = records.len(),
                processed = r.processed,
                delivered = r.delivered,
                suppressed = r.suppressed,
                deferred = r.deferred,
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
