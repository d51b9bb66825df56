//! The alerter against moto (started by scripts/test.sh): hits written by
//! the DynamoDB HitStore into tables created from template.yaml, read back
//! from the DynamoDB Streams API, delivered as stream events to the handler
//! the Lambda runs (this crate's `handle`) with the event source's
//! checkpoint rule, and alerts read from an SQS queue subscribed to the SNS
//! topic. Also checks the template's alerter wiring, which `sam validate`
//! does not.

#[path = "../../../tests/support/alerts.rs"]
mod alerts;
#[path = "../../../tests/support/aws.rs"]
mod support;

use alerter::{FLUSH_INPUT, Invocation, handle, parse_invocation};
use alerts::{Delivered, Envelope, Topic, deliver, stream_records};
use honeytoken::alerting::pipeline::{Channel, Pipeline};
use honeytoken::domain::hit::{Geo, Hit};
use honeytoken::notify::sns::Sns;
use honeytoken::store::dynamodb::DynamoStore;
use honeytoken::store::dynamodb::alert_state::DynamoAlertState;
use honeytoken::store::{HitQuery, HitStore};
use honeytoken::wiring::alerter::{AlerterEnv, pipeline};
use serde_json::Value;
use std::sync::Arc;
use support::Tables;
use time::OffsetDateTime;

struct Rig {
    conf: aws_config::SdkConfig,
    tables: Tables,
    store: DynamoStore,
    topic: Topic,
    env: AlerterEnv,
}

async fn rig() -> Rig {
    let conf = support::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let tables = Tables::create(&ddb).await;
    let store = DynamoStore::new(ddb, tables.name("TokensTable"), tables.name("HitsTable"));
    let topic = Topic::create(&conf).await;
    let env = alerts::alerter_env(&tables, &topic, &[]);
    Rig {
        conf,
        tables,
        store,
        topic,
        env,
    }
}

fn hit(token: &str, ip: &str, at: OffsetDateTime, n: u128) -> Hit {
    Hit {
        user_agent: "python-requests/2.32".into(),
        method: "POST".into(),
        path: "/v1/charges".into(),
        query: "limit=1".into(),
        headers: [("user-agent".to_string(), "python-requests/2.32".to_string())]
            .into_iter()
            .collect(),
        label: format!("label-{token}"),
        location: format!("github.com/acme/{token}/.env"),
        ..honeytoken_core::testkit::hit_at_time(token, ip, at, n)
    }
}

/// Invokes the Lambda's handler with one stream event.
async fn invoke(p: &Pipeline, event: Value) -> Value {
    let inv = parse_invocation(event).expect("a stream event");
    assert!(matches!(inv, Invocation::Stream(_)));
    handle(p, inv).await.expect("the handler answers a stream batch")
}

async fn flush(p: &Pipeline) -> Value {
    handle(p, parse_invocation(serde_json::from_str(FLUSH_INPUT).unwrap()).unwrap())
        .await
        .expect("flush")
}

fn by_hit<'a>(got: &'a [Envelope], h: &Hit) -> Vec<&'a Envelope> {
    got.iter()
        .filter(|e| e.alert["hit"]["hit_id"] == h.hit_id.as_str())
        .collect()
}

fn minutes_ago(m: i64) -> OffsetDateTime {
    OffsetDateTime::now_utc() - time::Duration::minutes(m)
}

#[tokio::test]
async fn same_batch_delivered_twice_alerts_once() {
    let r = rig().await;
    let t0 = minutes_ago(1);
    let mut a = hit("tok0a", "81.2.69.142", t0, 1);
    a.geo = Some(Geo {
        country_code: Some("GB".into()),
        country: Some("United Kingdom".into()),
        city: Some("London".into()),
        latitude: Some(51.5142),
        longitude: Some(-0.0931),
    });
    let b = hit("tok0b", "81.2.69.142", t0, 2);
    let c = hit("tok0a", "198.51.100.7", t0, 3);
    for h in [&a, &b, &c] {
        r.store.put(h).await.unwrap();
    }
    let records = stream_records(&r.conf, r.tables.name("HitsTable")).await;
    assert_eq!(records.len(), 3);
    assert!(records.iter().all(|x| x["eventName"] == "INSERT"));
    let p = pipeline(&r.conf, &r.env).await.unwrap();
    // `honeytoken test` reads the alerter's state to see an alert published.
    use honeytoken::store::AlertLog;
    let log = DynamoAlertState::new(aws_sdk_dynamodb::Client::new(&r.conf), r.tables.name("AlertStateTable"));
    assert_eq!(
        log.published(&a.hit_id).await.unwrap(),
        None,
        "nothing published before delivery"
    );
    for _ in 0..2 {
        let d = deliver(&records, 0, 100, |ev| invoke(&p, ev)).await;
        assert_eq!(d, Delivered::All { invocations: 1 });
    }
    assert!(
        log.published(&a.hit_id).await.unwrap().is_some(),
        "published after delivery"
    );
    let got = r.topic.receive(3).await;
    assert_eq!(got.len(), 3, "one alert per hit: {got:#?}");
    for h in [&a, &b, &c] {
        let e = by_hit(&got, h);
        assert_eq!(e.len(), 1, "hit {}", h.hit_id);
        let e = e[0];
        assert_eq!(
            e.alert["hit"],
            serde_json::to_value(h).unwrap(),
            "the alert carries the hit as stored"
        );
        assert_eq!(
            e.alert["dedup_key"],
            format!("honeytoken/{}/{}", h.token_id, h.source_ip)
        );
        assert_eq!(e.alert["severity"], "critical");
        assert_eq!(e.attributes["severity"], "critical");
        assert_eq!(e.attributes["token_id"], h.token_id.as_str());
        assert_eq!(e.attributes["test"], "false");
        assert!(
            e.subject.starts_with("ALARM:") && e.subject.len() <= 100,
            "{}",
            e.subject
        );
    }
    let text = by_hit(&got, &a)[0].alert["text"].as_str().unwrap().to_string();
    for want in [
        "label-tok0a",
        "github.com/acme/tok0a/.env",
        "81.2.69.142",
        "London, United Kingdom",
        "python-requests/2.32",
        "POST /v1/charges?limit=1",
        "authorization",
        &a.received_at.to_string(),
        "What to do next",
        "honeytoken hits --token tok0a",
    ] {
        assert!(text.contains(want), "email text lacks {want:?}:\n{text}");
    }
}

#[tokio::test]
async fn flood_of_500_is_one_alert_and_one_summary_of_499() {
    let r = rig().await;
    // Hits of 30 minutes ago, one a second: all in one 15-minute window that
    // has closed by now, so the scheduled flush announces it.
    let t0 = minutes_ago(30);
    let hits: Vec<Hit> = (0..500)
        .map(|i| hit("tokflood", "203.0.113.9", t0 + time::Duration::seconds(i), i as u128))
        .collect();
    for h in &hits {
        r.store.put(h).await.unwrap();
    }
    let stored = r
        .store
        .query(&HitQuery {
            token_id: Some("tokflood".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 500, "every hit is stored");
    let records = stream_records(&r.conf, r.tables.name("HitsTable")).await;
    assert_eq!(records.len(), 500);
    let p = pipeline(&r.conf, &r.env).await.unwrap();
    assert_eq!(
        deliver(&records, 0, 100, |ev| invoke(&p, ev)).await,
        Delivered::All { invocations: 5 }
    );
    let got = r.topic.receive(1).await;
    assert_eq!(got.len(), 1, "only the first hit alerts at once");
    assert_eq!(got[0].alert["hit"]["hit_id"], hits[0].hit_id.as_str());
    assert_eq!(got[0].alert["kind"], "hit");

    let f = flush(&p).await;
    assert_eq!(f["summaries"], 1, "{f}");
    let got = r.topic.receive(1).await;
    assert_eq!(got.len(), 1);
    let s = &got[0].alert;
    assert_eq!(s["kind"], "summary");
    assert_eq!(s["suppressed"], 499);
    assert_eq!(
        s["hit"]["hit_id"],
        hits[499].hit_id.as_str(),
        "the summary shows the last hit"
    );
    // The real span of the 499 (one a second), not the window's length.
    let span = format!(
        "499 more requests (active) from 203.0.113.9 between {} and {} (8 min 18 s)",
        hits[1].received_at, hits[499].received_at
    );
    assert!(s["summary"].as_str().unwrap().starts_with(&span), "{}", s["summary"]);
    assert!(s["emitted_at"].as_str().unwrap() > hits[499].received_at.to_string().as_str());
    assert!(got[0].subject.starts_with("ALARM: 499 more uses"), "{}", got[0].subject);
    // Redelivered and flushed again: nothing new.
    assert_eq!(
        deliver(&records, 0, 100, |ev| invoke(&p, ev)).await,
        Delivered::All { invocations: 5 }
    );
    assert_eq!(flush(&p).await["summaries"], 0);
    assert!(r.topic.receive(0).await.is_empty());
}

/// A tampered use of a token, from the source whose earlier use opened
/// the window, alerts at once in the Lambda as in `serve`; a repeat of it
/// is counted, and the summary names both states it folds.
#[tokio::test]
async fn a_tampered_hit_alerts_at_once_within_the_window() {
    let r = rig().await;
    let t0 = minutes_ago(30);
    let at = |s: i64| t0 + time::Duration::seconds(s);
    let mut hits = vec![
        hit("toktamper", "203.0.113.30", at(0), 1),
        hit("toktamper", "203.0.113.30", at(1), 2),
        hit("toktamper", "203.0.113.30", at(2), 3),
        hit("toktamper", "203.0.113.30", at(3), 4),
    ];
    hits[2].tampered = true;
    hits[3].tampered = true;
    for h in &hits {
        r.store.put(h).await.unwrap();
    }
    let records = stream_records(&r.conf, r.tables.name("HitsTable")).await;
    let p = pipeline(&r.conf, &r.env).await.unwrap();
    // One batch: the stream folds a pair's hits, but not past a worse one.
    assert_eq!(
        deliver(&records, 0, 100, |ev| invoke(&p, ev)).await,
        Delivered::All { invocations: 1 }
    );
    let got = r.topic.receive(2).await;
    assert_eq!(got.len(), 2, "{got:#?}");
    assert_eq!(by_hit(&got, &hits[0]).len(), 1);
    let t = by_hit(&got, &hits[2]);
    assert_eq!(t.len(), 1, "the tampered hit alerted at once");
    assert_eq!(t[0].alert["kind"], "hit");
    assert_eq!(t[0].alert["hit"]["tampered"], true);
    assert_eq!(flush(&p).await["summaries"], 1);
    let got = r.topic.receive(1).await;
    let s = &got[0].alert;
    assert_eq!(s["suppressed"], 2);
    assert_eq!(s["states"], serde_json::json!(["tampered", "active"]));
    assert!(
        s["summary"]
            .as_str()
            .unwrap()
            .starts_with("2 more requests (tampered, active) from 203.0.113.30"),
        "{}",
        s["summary"]
    );
}

#[tokio::test]
async fn sns_unreachable_fails_records_and_a_later_delivery_succeeds() {
    let r = rig().await;
    let t0 = minutes_ago(1);
    let hits = [
        hit("tokdown1", "203.0.113.20", t0, 1),
        hit("tokdown2", "203.0.113.20", t0, 2),
        hit("tokdown1", "203.0.113.20", t0 + time::Duration::seconds(1), 3), // suppressed
        hit("tokdown3", "203.0.113.21", t0 + time::Duration::seconds(2), 4),
    ];
    for h in &hits {
        r.store.put(h).await.unwrap();
    }
    let records = stream_records(&r.conf, r.tables.name("HitsTable")).await;
    assert_eq!(records.len(), 4);

    // SNS on a port nothing listens on.
    let closed = std::net::TcpListener::bind("127.0.0.1:0")
        .unwrap()
        .local_addr()
        .unwrap();
    let bad_sns = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&r.conf)
            .endpoint_url(format!("http://{closed}"))
            .retry_config(aws_config::retry::RetryConfig::standard().with_max_attempts(2))
            .build(),
    );
    let state = Arc::new(DynamoAlertState::new(
        aws_sdk_dynamodb::Client::new(&r.conf),
        r.tables.name("AlertStateTable"),
    ));
    let down = Pipeline::new(
        state,
        vec![Channel {
            notifier: Arc::new(Sns::new(bad_sns, &r.topic.arn)),
            required: true,
        }],
    );
    let first_seq = records[0]["dynamodb"]["SequenceNumber"].as_str().unwrap().to_string();
    for _ in 0..2 {
        let d = deliver(&records, 0, 100, |ev| invoke(&down, ev)).await;
        assert_eq!(
            d,
            Delivered::Failed {
                checkpoint: 0,
                sequence_number: first_seq.clone()
            }
        );
    }
    // A batch that starts later fails at its own first alerting record.
    let d = deliver(&records, 1, 100, |ev| invoke(&down, ev)).await;
    assert!(matches!(d, Delivered::Failed { checkpoint: 1, .. }), "{d:?}");

    // SNS is back: the service delivers again from the checkpoint.
    let up = pipeline(&r.conf, &r.env).await.unwrap();
    assert_eq!(
        deliver(&records, 0, 100, |ev| invoke(&up, ev)).await,
        Delivered::All { invocations: 1 }
    );
    let got = r.topic.receive(3).await;
    assert_eq!(got.len(), 3, "{got:#?}");
    for h in [&hits[0], &hits[1], &hits[3]] {
        assert_eq!(by_hit(&got, h).len(), 1, "hit {} alerted exactly once", h.hit_id);
    }
    assert!(
        by_hit(&got, &hits[2]).is_empty(),
        "the repeat within the window is counted, not alerted"
    );
    // Everything again (a bisected retry would): no duplicates.
    assert_eq!(
        deliver(&records, 0, 2, |ev| invoke(&up, ev)).await,
        Delivered::All { invocations: 2 }
    );
    assert!(r.topic.receive(0).await.is_empty());
    let stored = r.store.query(&HitQuery::default()).await.unwrap();
    assert_eq!(stored.len(), 4, "every hit is stored");
}

// ------------------------------------------------------------ template

use support::{tagged as tag, target};

#[test]
fn template_wires_the_alerter() {
    let t = support::template();
    let res = &t["Resources"];
    let f = &res["AlerterFunction"]["Properties"];
    let ev = &f["Events"]["HitsStream"];
    assert_eq!(ev["Type"].as_str(), Some("DynamoDB"));
    let p = &ev["Properties"];
    assert_eq!(target(&p["Stream"]), "HitsTable");
    assert_eq!(p["StartingPosition"].as_str(), Some("TRIM_HORIZON"));
    assert_eq!(p["BisectBatchOnFunctionError"].as_bool(), Some(true));
    let types: Vec<&str> = p["FunctionResponseTypes"]
        .as_sequence()
        .unwrap()
        .iter()
        .filter_map(|v| v.as_str())
        .collect();
    assert_eq!(types, ["ReportBatchItemFailures"]);
    let retries = p["MaximumRetryAttempts"].as_i64().expect("retries are bounded");
    assert!((0..=100).contains(&retries), "{retries}");
    let age = p["MaximumRecordAgeInSeconds"].as_i64().expect("record age is bounded");
    assert!((60..=86_400).contains(&age), "{age}");
    let dlq = target(&p["DestinationConfig"]["OnFailure"]["Destination"]);
    assert_eq!(res[dlq.as_str()]["Type"].as_str(), Some("AWS::SQS::Queue"));

    // The schedule sends what the alerter recognises as a flush.
    let sched = &f["Events"]["Flush"];
    assert_eq!(sched["Type"].as_str(), Some("Schedule"));
    let input: Value = serde_json::from_str(sched["Properties"]["Input"].as_str().unwrap()).unwrap();
    assert!(matches!(parse_invocation(input), Ok(Invocation::Flush)));

    // Every variable the alerter reads is set.
    let vars = f["Environment"]["Variables"].as_mapping().unwrap();
    let env = AlerterEnv::from_lookup(|k| {
        vars.get(k).map(|v| match v {
            // Literal values are read as the function reads them.
            serde_norway::Value::String(lit) => lit.clone(),
            _ if k == "THROTTLE_WINDOW_MINUTES" => "15".to_string(),
            _ if k == "SECURITY_HUB_FINDINGS" => "false".to_string(),
            _ => "set".to_string(),
        })
    });
    assert!(env.is_ok(), "{env:?}");
    for k in [
        "THROTTLE_WINDOW_MINUTES",
        "SLACK_WEBHOOK_SECRET_ARN",
        "PAGERDUTY_ROUTING_KEY_SECRET_ARN",
    ] {
        assert!(vars.get(k).is_some(), "{k}");
    }
    assert_eq!(t["Parameters"]["ThrottleWindowMinutes"]["Default"].as_i64(), Some(15));

    // Alarms notify the stack's alarm topic (tests/template_alarms.rs checks
    // that topic pages without a filter).
    let mut metrics = Vec::new();
    for (_, r) in res.as_mapping().unwrap() {
        if r["Type"].as_str() == Some("AWS::CloudWatch::Alarm") {
            let actions = r["Properties"]["AlarmActions"].as_sequence().unwrap();
            assert_eq!(target(&actions[0]), "AlarmTopic");
            metrics.push(r["Properties"]["MetricName"].as_str().unwrap().to_string());
        }
    }
    metrics.sort();
    metrics.dedup();
    // (HitsNotStored, DecoyNotReady and ThrottledRequests are the decoy's.)
    assert_eq!(
        metrics,
        [
            "AlerterFailedRecords",
            "ApproximateNumberOfMessagesVisible",
            "ChannelsUnavailable",
            "DecoyNotReady",
            "Errors",
            "HitsNotStored",
            "IteratorAge",
            "ThrottledRequests"
        ]
    );

    // Least privilege: its own role; no wildcard resource except ListStreams.
    assert_eq!(target(&f["Role"]), "AlerterRole");
    assert!(f["Policies"].is_null(), "SAM-generated policies would widen the role");
    let stmts = res["AlerterRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let mut publish = false;
    for s in stmts {
        let s = match tag(s) {
            // !If [Condition, statement, !Ref AWS::NoValue]
            Some((t, v)) if t == "If" => &v.as_sequence().unwrap()[1],
            _ => s,
        };
        let actions: Vec<String> = match &s["Action"] {
            serde_norway::Value::String(a) => vec![a.clone()],
            v => v
                .as_sequence()
                .unwrap()
                .iter()
                .map(|a| a.as_str().unwrap().to_string())
                .collect(),
        };
        if s["Resource"].as_str() == Some("*") {
            assert_eq!(actions, ["dynamodb:ListStreams"]);
        }
        if actions.iter().any(|a| a == "sns:Publish") {
            assert_eq!(target(&s["Resource"]), "AlertTopic");
            publish = true;
        }
        assert!(!actions.iter().any(|a| a.ends_with(":*")), "{actions:?}");
    }
    assert!(publish);
}
