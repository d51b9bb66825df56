//! Test support for the alert path in moto: an SNS topic with an SQS queue
//! subscribed (SNS envelope, not raw delivery), the hits table's records read
//! back from the DynamoDB Streams API and turned into the stream events
//! Lambda would deliver, and a delivery loop that keeps the event source's
//! checkpoint rule. Declare it beside `#[path = "support/aws.rs"] mod support;`.
#![allow(dead_code)]

use aws_config::SdkConfig;
use aws_sdk_dynamodbstreams::types::{AttributeValue as SAV, ShardIteratorType};
use aws_sdk_sqs::types::QueueAttributeName;
use base64::Engine;
use serde_json::{Map, Value, json};
use std::future::Future;
use std::time::{Duration, Instant};

/// A topic and a queue subscribed to it.
pub struct Topic {
    /// Topic ARN.
    pub arn: String,
    /// Queue URL.
    pub queue_url: String,
    /// SQS client.
    pub sqs: aws_sdk_sqs::Client,
}

impl Topic {
    /// Creates both, subscribed with RawMessageDelivery false (the SNS envelope).
    pub async fn create(conf: &SdkConfig) -> Topic {
        let sns = aws_sdk_sns::Client::new(conf);
        let sqs = aws_sdk_sqs::Client::new(conf);
        let arn = sns
            .create_topic()
            .name(crate::support::unique("alerts"))
            .send()
            .await
            .expect("create topic");
        let arn = arn.topic_arn().expect("topic arn").to_string();
        let q = sqs
            .create_queue()
            .queue_name(crate::support::unique("alert-queue"))
            .send()
            .await
            .expect("create queue");
        let queue_url = q.queue_url().expect("queue url").to_string();
        let attrs = sqs
            .get_queue_attributes()
            .queue_url(&queue_url)
            .attribute_names(QueueAttributeName::QueueArn)
            .send()
            .await
            .expect("queue attributes");
        let queue_arn = attrs
            .attributes()
            .and_then(|a| a.get(&QueueAttributeName::QueueArn))
            .expect("queue arn");
        sns.subscribe()
            .topic_arn(&arn)
            .protocol("sqs")
            .endpoint(queue_arn)
            .attributes("RawMessageDelivery", "false")
            .send()
            .await
            .expect("subscribe");
        Topic { arn, queue_url, sqs }
    }

    /// Receives envelopes until `want` arrived (or 20 s passed), then waits
    /// a little longer to catch any extra; returns them all.
    pub async fn receive(&self, want: usize) -> Vec<Envelope> {
        let mut out = Vec::new();
        let deadline = Instant::now() + Duration::from_secs(20);
        let mut quiet_until: Option<Instant> = None;
        loop {
            let r = self
                .sqs
                .receive_message()
                .queue_url(&self.queue_url)
                .max_number_of_messages(10)
                .wait_time_seconds(1)
                .visibility_timeout(600)
                .send()
                .await
                .expect("receive");
            let msgs = r.messages();
            for m in msgs {
                out.push(Envelope::parse(m.body().expect("body")));
            }
            if out.len() >= want && quiet_until.is_none() {
                quiet_until = Some(Instant::now() + Duration::from_millis(1500));
            }
            if msgs.is_empty() && quiet_until.is_some_and(|q| Instant::now() >= q) {
                return out;
            }
            if Instant::now() >= deadline {
                return out;
            }
        }
    }
}

/// An SNS notification as an SQS subscriber receives it.
#[derive(Debug, Clone)]
pub struct Envelope {
    /// `Subject`.
    pub subject: String,
    /// `Message`, parsed (the `sqs` rendering: the alert JSON).
    pub alert: Value,
    /// `MessageAttributes`: name -> value.
    pub attributes: Map<String, Value>,
}

impl Envelope {
    /// Parses the SNS envelope around an alert.
    pub fn parse(body: &str) -> Envelope {
        let v: Value = serde_json::from_str(body).unwrap_or_else(|e| panic!("SNS envelope is not JSON ({e}): {body}"));
        assert_eq!(v["Type"], "Notification", "{v}");
        let alert = serde_json::from_str(v["Message"].as_str().expect("Message")).expect("Message is the alert JSON");
        let attributes = v["MessageAttributes"]
            .as_object()
            .map(|m| m.iter().map(|(k, a)| (k.clone(), a["Value"].clone())).collect())
            .unwrap_or_default();
        Envelope {
            subject: v["Subject"].as_str().unwrap_or("").to_string(),
            alert,
            attributes,
        }
    }
}

/// Every record of `table`'s stream so far, as Lambda's event JSON records,
/// in order (one shard in moto; shards in order otherwise).
pub async fn stream_records(conf: &SdkConfig, table: &str) -> Vec<Value> {
    let filters = mapping_filters();
    all_stream_records(conf, table)
        .await
        .into_iter()
        .filter(|r| filters.iter().any(|f| matches_pattern(f, r)))
        .collect()
}

/// The template's FilterCriteria patterns of the alerter's stream mapping.
pub fn mapping_filters() -> Vec<Value> {
    let t = crate::support::template();
    let f = &t["Resources"]["AlerterFunction"]["Properties"]["Events"]["HitsStream"]["Properties"]["FilterCriteria"]["Filters"];
    f.as_sequence()
        .expect("the mapping has filters")
        .iter()
        .map(|p| serde_json::from_str(p["Pattern"].as_str().expect("pattern")).expect("pattern is JSON"))
        .collect()
}

/// Lambda's event filter matching, for the rules the template uses: an
/// object pattern matches field by field; an array lists accepted values,
/// or `{"exists": true|false}`.
pub fn matches_pattern(pattern: &Value, v: &Value) -> bool {
    match pattern {
        Value::Object(m) => m.iter().all(|(k, p)| match p {
            Value::Array(opts) => opts.iter().any(|o| match o {
                Value::Object(rule) if rule.contains_key("exists") => {
                    rule["exists"].as_bool() == Some(!v.get(k).is_none_or(Value::is_null))
                }
                other => v.get(k) == Some(other),
            }),
            Value::Object(_) => v.get(k).is_some_and(|inner| matches_pattern(p, inner)),
            _ => false,
        }),
        _ => false,
    }
}

/// Every record of the hits table's stream, as Lambda would deliver them
/// without the mapping's filter.
pub async fn all_stream_records(conf: &SdkConfig, table: &str) -> Vec<Value> {
    let ddb = aws_sdk_dynamodb::Client::new(conf);
    let streams = aws_sdk_dynamodbstreams::Client::new(conf);
    let t = ddb
        .describe_table()
        .table_name(table)
        .send()
        .await
        .expect("describe table");
    let stream_arn = t
        .table()
        .and_then(|t| t.latest_stream_arn())
        .expect("the hits table has a stream")
        .to_string();
    let d = streams
        .describe_stream()
        .stream_arn(&stream_arn)
        .send()
        .await
        .expect("describe stream");
    let shards: Vec<String> = d
        .stream_description()
        .map(|s| {
            s.shards()
                .iter()
                .filter_map(|sh| sh.shard_id().map(str::to_string))
                .collect()
        })
        .unwrap_or_default();
    let mut out = Vec::new();
    for shard in shards {
        let it = streams
            .get_shard_iterator()
            .stream_arn(&stream_arn)
            .shard_id(&shard)
            .shard_iterator_type(ShardIteratorType::TrimHorizon)
            .send()
            .await
            .expect("shard iterator");
        let mut iter = it.shard_iterator().map(str::to_string);
        while let Some(i) = iter.take() {
            let r = streams
                .get_records()
                .shard_iterator(i)
                .limit(1000)
                .send()
                .await
                .expect("get records");
            let recs = r.records();
            for rec in recs {
                out.push(lambda_record(rec, &stream_arn));
            }
            if recs.is_empty() {
                break;
            }
            iter = r.next_shard_iterator().map(str::to_string);
        }
    }
    out
}

fn lambda_record(r: &aws_sdk_dynamodbstreams::types::Record, stream_arn: &str) -> Value {
    let s = r.dynamodb().expect("stream record");
    let image = |m: Option<&std::collections::HashMap<String, SAV>>| {
        Value::Object(
            m.map(|m| m.iter().map(|(k, v)| (k.clone(), av(v))).collect())
                .unwrap_or_default(),
        )
    };
    json!({
        "eventID": r.event_id(),
        "eventName": r.event_name().map(|n| n.as_str()),
        "eventVersion": "1.1",
        "eventSource": "aws:dynamodb",
        "awsRegion": r.aws_region(),
        "eventSourceARN": stream_arn,
        "dynamodb": {
            "ApproximateCreationDateTime": s.approximate_creation_date_time().map(|t| t.secs()).unwrap_or(0),
            "Keys": image(s.keys()),
            "NewImage": image(s.new_image()),
            "SequenceNumber": s.sequence_number(),
            "SizeBytes": s.size_bytes().unwrap_or(1),
            "StreamViewType": s.stream_view_type().map(|v| v.as_str()),
        }
    })
}

/// A stream attribute value in DynamoDB JSON, as Lambda's event carries it.
fn av(v: &SAV) -> Value {
    let b64 =
        |b: &aws_sdk_dynamodbstreams::primitives::Blob| base64::engine::general_purpose::STANDARD.encode(b.as_ref());
    match v {
        SAV::S(s) => json!({ "S": s }),
        SAV::N(n) => json!({ "N": n }),
        SAV::Bool(b) => json!({ "BOOL": b }),
        SAV::Null(b) => json!({ "NULL": b }),
        SAV::B(b) => json!({ "B": b64(b) }),
        SAV::Ss(l) => json!({ "SS": l }),
        SAV::Ns(l) => json!({ "NS": l }),
        SAV::Bs(l) => json!({ "BS": l.iter().map(b64).collect::<Vec<_>>() }),
        SAV::L(l) => json!({ "L": l.iter().map(av).collect::<Vec<_>>() }),
        SAV::M(m) => json!({ "M": m.iter().map(|(k, v)| (k.clone(), av(v))).collect::<Map<_, _>>() }),
        other => panic!("unexpected attribute value {other:?}"),
    }
}

/// How far a delivery got.
#[derive(Debug, PartialEq, Eq)]
pub enum Delivered {
    /// Every record from the start was processed.
    All {
        /// Invocations made.
        invocations: usize,
    },
    /// An invocation reported a failure: the checkpoint (index of the first
    /// failed record, from which the service would deliver again).
    Failed {
        /// Index into the records.
        checkpoint: usize,
        /// Its sequence number.
        sequence_number: String,
    },
}

/// Delivers `records[start..]` in batches of `batch` as DynamoDB stream
/// events, as Lambda's event source mapping does: in order, and on a
/// reported failure stop, checkpointing at the lowest failed sequence number.
/// Panics on a response the service would reject (empty or unknown
/// item identifier).
pub async fn deliver<F, Fut>(records: &[Value], start: usize, batch: usize, mut invoke: F) -> Delivered
where
    F: FnMut(Value) -> Fut,
    Fut: Future<Output = Value>,
{
    let mut pos = start;
    let mut invocations = 0;
    while pos < records.len() {
        let end = (pos + batch).min(records.len());
        let event = json!({ "Records": records[pos..end] });
        let resp = invoke(event).await;
        invocations += 1;
        let failures = resp["batchItemFailures"]
            .as_array()
            .unwrap_or_else(|| panic!("response without batchItemFailures: {resp}"));
        if failures.is_empty() {
            pos = end;
            continue;
        }
        let seqs: Vec<&str> = records[pos..end]
            .iter()
            .map(|r| r["dynamodb"]["SequenceNumber"].as_str().unwrap())
            .collect();
        let first = failures
            .iter()
            .map(|f| {
                let id = f["itemIdentifier"].as_str().unwrap_or("");
                assert!(!id.is_empty(), "an empty itemIdentifier fails the whole batch: {resp}");
                seqs.iter()
                    .position(|s| *s == id)
                    .unwrap_or_else(|| panic!("{id} is not in the batch"))
            })
            .min()
            .unwrap();
        return Delivered::Failed {
            checkpoint: pos + first,
            sequence_number: seqs[first].to_string(),
        };
    }
    Delivered::All { invocations }
}

/// The alerter's environment for `tables`' alert state and `topic`, plus
/// `extra` variables (`SECURITY_HUB_FINDINGS`, say): what the template sets.
pub fn alerter_env(
    tables: &crate::support::Tables,
    topic: &Topic,
    extra: &[(&str, &str)],
) -> honeytoken::wiring::alerter::AlerterEnv {
    honeytoken::wiring::alerter::AlerterEnv::from_lookup(|k| match k {
        "ALERT_STATE_TABLE" => Some(tables.name("AlertStateTable").to_string()),
        "ALERT_TOPIC_ARN" => Some(topic.arn.clone()),
        _ => extra.iter().find(|(name, _)| *name == k).map(|(_, v)| v.to_string()),
    })
    .expect("alerter environment")
}
