//! The example API (examples/guarded_api) with the guard layer, backed by
//! DynamoDB on moto (started by scripts/test.sh), through the whole stack:
//! a request carrying a honeytoken gets the API's own answer, and its hit
//! reaches the hits table, this function's handler, SNS and the SQS queue
//! subscribed to it. (The guard's own behaviour is tested in the
//! workspace's tests/guard_aws.rs.)

#[path = "../../../tests/support/alerts.rs"]
mod alerts;
#[path = "../../../examples/guarded_api/app.rs"]
mod app;
#[path = "../../../tests/support/guarded.rs"]
mod guarded;
#[path = "../../../tests/support/aws.rs"]
mod support;

use alerter::{handle, parse_invocation};
use alerts::{Delivered, Topic, deliver, stream_records};
use guarded::{get, serve};
use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
use honeytoken::store::dynamodb::DynamoStore;
use honeytoken::store::{HitQuery, HitStore, TokenStore};
use honeytoken::wiring::Context;
use honeytoken::wiring::alerter::pipeline;
use honeytoken_guard::{Guard, Reporter};
use std::sync::Arc;
use std::time::{Duration, Instant};

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_honeytoken_against_the_real_api_gets_its_answer_and_pages_through_the_stack() {
    let conf = support::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let tables = support::Tables::create(&ddb).await;
    let store = Arc::new(DynamoStore::new(
        ddb,
        tables.name("TokensTable"),
        tables.name("HitsTable"),
    ));
    let key = SigningKey::from_secret(SigningKey::generate_secret().as_bytes()).unwrap();
    let rec = mint(
        &key,
        &MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap()),
        "users-api-env",
        "github.com/acme/users/.env",
        "",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    store.create(&rec).await.unwrap();
    let ctx = Context::over(store.clone(), key.clone(), None);
    let (reporter, _task) = Reporter::spawn_default(Arc::new(honeytoken::wiring::guard_sink(&ctx, None)));
    let addr = serve(app::app(Guard::new(key, "users-api"), reporter.clone())).await;

    // The API's own answers: a honeytoken is just an invalid key to it.
    let direct_invalid = get(addr, "Bearer acme_live_notarealkeyatall00000000000").await;
    let with_token = get(addr, &format!("Bearer {}", rec.token)).await;
    let with_real = get(addr, &format!("Bearer {}", app::REAL_KEY)).await;
    assert_eq!(with_token, direct_invalid, "the honeytoken gets the API's own answer");
    assert_eq!(with_token.0, 401);
    assert_eq!(with_real.0, 200, "{with_real:?}");

    // The hit reaches the hits table (the reporter writes in the background).
    let deadline = Instant::now() + Duration::from_secs(20);
    let hits = loop {
        let h = store.query(&HitQuery::default()).await.unwrap();
        if !h.is_empty() || Instant::now() > deadline {
            break h;
        }
        tokio::time::sleep(Duration::from_millis(50)).await;
    };
    assert_eq!(hits.len(), 1, "only the honeytoken request leaves a trace: {hits:?}");
    let h = &hits[0];
    assert_eq!(h.token_id, rec.id);
    assert_eq!(h.label, "users-api-env");
    assert_eq!(h.source_ip, "127.0.0.1");
    assert_eq!(h.path, "/v1/users");
    assert_eq!(h.query, "page=1");
    assert_eq!(h.found_in, "authorization");
    assert_eq!(
        h.via,
        honeytoken::domain::hit::Via::Guard {
            service: "users-api".into()
        }
    );
    let s = reporter.stats();
    assert_eq!((s.queued, s.reported, s.dropped, s.failed), (1, 1, 0, 0), "{s:?}");

    // The stack's alert path: stream -> alerter pipeline -> SNS -> SQS.
    let topic = Topic::create(&conf).await;
    let env = alerts::alerter_env(&tables, &topic, &[]);
    let records = stream_records(&conf, tables.name("HitsTable")).await;
    assert_eq!(records.len(), 1);
    let p = pipeline(&conf, &env).await.unwrap();
    let d = deliver(&records, 0, 100, |ev| {
        let p = &p;
        async move { handle(p, parse_invocation(ev).unwrap()).await.unwrap() }
    })
    .await;
    assert_eq!(d, Delivered::All { invocations: 1 });
    let got = topic.receive(1).await;
    assert_eq!(got.len(), 1, "{got:#?}");
    let e = &got[0];
    assert_eq!(e.alert["hit"]["hit_id"], h.hit_id.as_str());
    assert_eq!(e.alert["hit"]["via"]["kind"], "guard");
    assert_eq!(e.alert["hit"]["via"]["service"], "users-api");
    assert!(e.subject.contains("against users-api"), "{}", e.subject);
    let text = e.alert["text"].as_str().unwrap();
    assert!(text.contains("Used against: users-api"), "{text}");
    assert!(
        e.alert["summary"]
            .as_str()
            .unwrap()
            .contains("used against users-api from 127.0.0.1")
    );
}
