//! End to end: the real `decoy` and `alerter` binaries under a Lambda
//! Runtime API emulator, with DynamoDB, DynamoDB Streams, SNS, SQS and
//! Secrets Manager served by moto (`scripts/test.sh` starts it and builds
//! the binaries first). An HTTP API event carrying a honeytoken goes to the
//! decoy; the hit is read from the table's stream and delivered to the
//! alerter as a stream event; the alert is read from an SQS queue
//! subscribed to the topic.

#[path = "support/alerts.rs"]
mod alerts;
#[path = "support/runtime_api.rs"]
mod runtime_api;
#[path = "support/aws.rs"]
mod support;

use alerts::{Delivered, Topic, deliver, stream_records};
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
use honeytoken::store::dynamodb::DynamoStore;
use honeytoken::store::{HitQuery, HitStore, TokenStore};
use honeytoken::wiring::stack::signing_key;
use runtime_api::{Function, RuntimeApi, workspace_bin};
use serde_json::{Value, json};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_used_token_becomes_an_alert_on_the_queue() {
    let decoy_bin = workspace_bin("decoy");
    let alerter_bin = workspace_bin("alerter");
    let conf = support::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let tables = support::Tables::create(&ddb).await;
    let secret_arn = support::create_signing_secret(&conf).await;
    let topic = Topic::create(&conf).await;

    // A token minted with the stack's key, as `honeytoken --backend aws mint` does.
    let key = signing_key(&aws_sdk_secretsmanager::Client::new(&conf), &secret_arn)
        .await
        .unwrap();
    let spec = MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap());
    let record = mint(
        &key,
        &spec,
        "billing-service",
        "github.com/acme/billing/.env",
        "",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let store = DynamoStore::new(ddb.clone(), tables.name("TokensTable"), tables.name("HitsTable"));
    store.create(&record).await.unwrap();

    // 1. The decoy binary answers an HTTP API v2 event carrying the token.
    let decoy_api = RuntimeApi::start().await;
    let mut env = support::function_env();
    env.extend([
        ("TOKENS_TABLE", tables.name("TokensTable").to_string()),
        ("HITS_TABLE", tables.name("HitsTable").to_string()),
        ("SIGNING_KEY_SECRET_ARN", secret_arn.clone()),
    ]);
    let decoy = Function::spawn(&decoy_bin, "decoy", &decoy_api, &env);
    let event: Value = serde_json::from_str(
        &support::fixture("tests/fixtures/apigw-http-v2-event.json").replace("{{TOKEN}}", &record.token),
    )
    .unwrap();
    let resp = decoy_api
        .invoke(event)
        .await
        .unwrap_or_else(|e| panic!("decoy failed: {e}\n{}", decoy.log_text()));
    assert_eq!(resp["statusCode"], 401, "the decoy answers as the API persona: {resp}");
    let hits = store
        .query(&HitQuery {
            token_id: Some(record.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "the hit is stored: {}", decoy.log_text());
    let hit = &hits[0];
    // The decoy's log holds exactly one ECS line for the hit, marked for a
    // subscription filter ({ $.event.dataset = "honeytoken.hit" }).
    let mut ecs_lines = Vec::new();
    for _ in 0..200 {
        ecs_lines = decoy
            .log_text()
            .lines()
            .filter_map(|l| serde_json::from_str::<Value>(l).ok())
            .filter(|v| v["event"]["dataset"] == "honeytoken.hit")
            .collect();
        if !ecs_lines.is_empty() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    assert_eq!(ecs_lines.len(), 1, "{}", decoy.log_text());
    assert_eq!(ecs_lines[0], honeytoken::domain::alert::ecs::event(hit));
    assert_eq!(ecs_lines[0]["source"]["ip"], "198.51.100.77");

    // 2. The stream record goes to the alerter binary as a stream event.
    let records = stream_records(&conf, tables.name("HitsTable")).await;
    assert_eq!(records.len(), 1);
    let alerter_api = RuntimeApi::start().await;
    let mut env = support::function_env();
    env.extend([
        ("ALERT_STATE_TABLE", tables.name("AlertStateTable").to_string()),
        ("ALERT_TOPIC_ARN", topic.arn.clone()),
        ("THROTTLE_WINDOW_MINUTES", "15".to_string()),
    ]);
    let alerter = Function::spawn(&alerter_bin, "alerter", &alerter_api, &env);
    for _ in 0..2 {
        // Delivered twice, as at-least-once delivery may.
        let d = deliver(&records, 0, 100, |ev| async {
            alerter_api
                .invoke(ev)
                .await
                .unwrap_or_else(|e| panic!("alerter failed: {e}\n{}", alerter.log_text()))
        })
        .await;
        assert_eq!(d, Delivered::All { invocations: 1 });
    }
    // The schedule's flush is answered too (nothing to announce).
    let f = alerter_api.invoke(json!({"action": "flush"})).await.unwrap();
    assert_eq!(f["summaries"], 0, "{f}");
    // Anything else is an error, not a silent success.
    let bad = alerter_api.invoke(json!({"hello": "world"})).await;
    assert!(bad.is_err(), "{bad:?}");

    // 3. One alert on the queue, with the hit and the email text.
    let got = topic.receive(1).await;
    assert_eq!(got.len(), 1, "{got:#?}\n{}", alerter.log_text());
    let a = &got[0].alert;
    assert_eq!(a["hit"], serde_json::to_value(hit).unwrap());
    assert_eq!(a["hit"]["token_id"], record.id.as_str());
    assert_eq!(a["hit"]["source_ip"], "198.51.100.77");
    assert_eq!(a["hit"]["label"], "billing-service");
    assert_eq!(a["hit"]["found_in"], "x-api-key");
    assert_eq!(a["severity"], "critical");
    assert_eq!(got[0].attributes["test"], "false");
    assert_eq!(got[0].attributes["token_id"], record.id.as_str());
    assert!(
        got[0]
            .subject
            .starts_with("ALARM: honeytoken billing-service used from 198.51.100.77"),
        "{}",
        got[0].subject
    );
    let text = a["text"].as_str().unwrap();
    for want in [
        "billing-service",
        "github.com/acme/billing/.env",
        "198.51.100.77",
        "Found in:     x-api-key",
        "What to do next",
        &format!("honeytoken hits --token {}", record.id),
    ] {
        assert!(text.contains(want), "email text lacks {want:?}:\n{text}");
    }
}
