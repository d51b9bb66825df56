//! The alerter Lambda function's only code of its own: recognising an
//! invocation (a batch from the hits table's DynamoDB stream, or the
//! scheduled flush), handing the stream's records to the library's pipeline,
//! and answering in Lambda's terms (`batchItemFailures`, EMF metric lines).
//! Every decision is made by [`honeytoken::alerting::pipeline::Pipeline`],
//! built once per cold start by [`honeytoken::wiring::alerter::pipeline`].

use aws_lambda_events::event::dynamodb::Event;
use honeytoken::alerting::pipeline::{FlushReport, Pipeline};
use honeytoken::alerting::stream::{BatchReport, StreamRecord, decode_record, process_batch_until};
use honeytoken::wiring::alerter::{DRAIN_LIMIT, drain_limit, stop_margin};
use honeytoken::wiring::metric_line;
use honeytoken::{Error, Result};

/// What the alerter was invoked with.
#[derive(Debug)]
pub enum Invocation {
    /// A batch from the hits table's stream.
    Stream(Event),
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

/// The event's records, decoded for the pipeline (INSERTs of hits; other
/// events are skipped).
pub fn records_from_event(event: &Event) -> Vec<StreamRecord> {
    event
        .records
        .iter()
        .map(|r| {
            decode_record(
                &r.event_name,
                &r.event_id,
                r.change.sequence_number.clone(),
                r.change.new_image.clone(),
            )
        })
        .collect()
}

/// Lets background channels finish before Lambda freezes the process, for
/// at most [`DRAIN_LIMIT`] and never past `deadline` less the answer's
/// reserve ([`drain_limit`]); what is still queued goes out in the next
/// invocation.
async fn drain(p: &Pipeline, deadline: Option<tokio::time::Instant>) {
    let limit = drain_limit(deadline, tokio::time::Instant::now());
    if tokio::time::timeout(limit, p.drain()).await.is_err() {
        tracing::warn!(
            limit_ms = limit.as_millis() as u64,
            max_secs = DRAIN_LIMIT.as_secs(),
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
/// [`stop_margin`] is left (the longest record, the drain and the answer),
/// so the invocation answers before its timeout and keeps its partial
/// batch response. Prints
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
            let margin = stop_margin(p.optional_deadline());
            let stop_at = deadline.map(|d| d.checked_sub(margin).unwrap_or_else(tokio::time::Instant::now));
            let r = process_batch_until(p, &records, stop_at).await;
            drain(p, deadline).await;
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
            drain(p, deadline).await;
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
    use honeytoken::alerting::stream::RecordBody;
    use honeytoken_core::testkit::hit_at;
    use std::time::Duration;

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

    /// A channel whose every alert takes `delay`, and whose background
    /// queue never drains when `stuck`.
    struct Slow {
        delay: Duration,
        stuck: bool,
    }

    #[async_trait::async_trait]
    impl honeytoken::notify::Notifier for Slow {
        fn name(&self) -> &str {
            "slow"
        }
        async fn notify(&self, _: &honeytoken::domain::alert::Alert) -> honeytoken::Result<()> {
            tokio::time::sleep(self.delay).await;
            Ok(())
        }
        async fn drain(&self) {
            if self.stuck {
                std::future::pending::<()>().await;
            }
        }
    }

    /// The alerter's `Timeout` in template.yaml, in seconds.
    fn template_timeout() -> Duration {
        let path = concat!(env!("CARGO_MANIFEST_DIR"), "/../../template.yaml");
        let t: serde_norway::Value = serde_norway::from_str(&std::fs::read_to_string(path).unwrap()).unwrap();
        Duration::from_secs(
            t["Resources"]["AlerterFunction"]["Properties"]["Timeout"]
                .as_u64()
                .expect("the alerter's Timeout"),
        )
    }

    /// The worst case the margin is made for: every record takes as long as
    /// a record may (its required channel the whole slack, an optional one
    /// until its deadline), and a background channel never drains. The
    /// invocation still answers before the template's timeout, with the
    /// records it did not take reported for retry. (Paused time: the clock
    /// only moves when every task waits, so this is exact, not timed.)
    #[tokio::test(start_paused = true)]
    async fn a_batch_answers_before_the_timeout_with_the_drain_included() {
        use honeytoken::alerting::pipeline::Channel;
        use honeytoken::store::memory::MemoryAlertState;
        use honeytoken::wiring::alerter::DEADLINE_SLACK;
        use std::sync::Arc;

        let optional = honeytoken::alerting::pipeline::DEFAULT_OPTIONAL_DEADLINE;
        let p = Pipeline::new(
            Arc::new(MemoryAlertState::new()),
            vec![
                Channel {
                    notifier: Arc::new(Slow {
                        delay: DEADLINE_SLACK,
                        stuck: false,
                    }),
                    required: true,
                },
                Channel {
                    notifier: Arc::new(Slow {
                        delay: Duration::from_secs(3600),
                        stuck: true,
                    }),
                    required: false,
                },
            ],
        )
        .with_optional_deadline(optional);
        // One hit per token: each one alerts, so each takes the longest time.
        let records: Vec<serde_json::Value> = (0..20)
            .map(|i| {
                let h = hit_at(&format!("token{i:02}"), "203.0.113.1", i, 0);
                let image: serde_dynamo::Item = serde_dynamo::to_item(&h).unwrap();
                serde_json::json!({"eventID": format!("e{i}"), "eventName": "INSERT", "awsRegion": "r",
                    "dynamodb": {"SequenceNumber": format!("{}", 100 + i), "SizeBytes": 1, "NewImage": image}})
            })
            .collect();
        let ev: Event = serde_json::from_value(serde_json::json!({ "Records": records })).unwrap();
        let timeout = template_timeout();
        let start = tokio::time::Instant::now();
        let deadline = start + timeout;
        let answer = handle_until(&p, Invocation::Stream(ev), Some(deadline)).await.unwrap();
        let took = tokio::time::Instant::now() - start;
        assert!(
            took + honeytoken::wiring::alerter::ANSWER_RESERVE <= timeout,
            "answered after {took:?} of a {timeout:?} timeout"
        );
        // Some records were taken, the rest are reported from the first one not taken.
        let failures = answer["batchItemFailures"].as_array().unwrap();
        assert_eq!(failures.len(), 1, "{answer}");
        let first_left: u64 = failures[0]["itemIdentifier"].as_str().unwrap().parse().unwrap();
        assert!((101..120).contains(&first_left), "{answer}");
    }

    #[test]
    fn decodes_inserts_only() {
        let h = hit_at("a", "203.0.113.1", 0, 0);
        let image: serde_dynamo::Item = serde_dynamo::to_item(&h).unwrap();
        let image_json = serde_json::to_value(&image).unwrap();
        let ev = serde_json::json!({"Records": [
            {"eventID": "1", "eventName": "INSERT", "awsRegion": "r", "dynamodb": {"SequenceNumber": "11", "SizeBytes": 1, "NewImage": image_json}},
            {"eventID": "2", "eventName": "REMOVE", "awsRegion": "r", "dynamodb": {"SequenceNumber": "12", "SizeBytes": 1}},
            {"eventID": "3", "eventName": "INSERT", "awsRegion": "r", "dynamodb": {"SequenceNumber": "13", "SizeBytes": 1, "NewImage": {"x": {"S": "y"}}}}
        ]});
        let ev: Event = serde_json::from_value(ev).unwrap();
        let recs = records_from_event(&ev);
        let inserted = StreamRecord {
            sequence_number: "11".into(),
            body: RecordBody::Hit(Box::new(h)),
        };
        assert_eq!(recs[0], inserted);
        assert_eq!(recs[1].body, RecordBody::Skip);
        assert!(matches!(recs[2].body, RecordBody::Malformed(_)));
    }
}
