//! The example API (examples/guarded_api) with the guard layer, backed by
//! DynamoDB on moto (started by scripts/test.sh): a request carrying a
//! honeytoken gets the API's own answer, and its hit reaches the hits
//! table, the alerter pipeline, SNS and the SQS queue subscribed to it; a
//! request without one leaves no trace; a hanging store never delays the API.

#[path = "../../../tests/support/alerts.rs"]
mod alerts;
#[path = "../../../examples/guarded_api/app.rs"]
mod app;
#[path = "../../../tests/support/aws.rs"]
mod support;

use alerter::{handle, parse_invocation};
use alerts::{Delivered, Topic, deliver, stream_records};
use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
use honeytoken::store::dynamodb::DynamoStore;
use honeytoken::store::{HitQuery, HitStore, TokenStore};
use honeytoken::wiring::Context;
use honeytoken::wiring::alerter::{AlerterEnv, pipeline};
use honeytoken_guard::{BoxFuture, Guard, HitSink, Report, Reporter, SinkError};
use std::net::SocketAddr;
use std::sync::Arc;
use std::time::{Duration, Instant};

/// Serves the example app on a free port; returns its address.
async fn serve(app: axum::Router) -> SocketAddr {
    let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
    let addr = listener.local_addr().unwrap();
    tokio::spawn(async move {
        axum::serve(listener, app.into_make_service_with_connect_info::<SocketAddr>())
            .await
            .unwrap()
    });
    addr
}

async fn get(addr: SocketAddr, auth: &str) -> (u16, String) {
    let r = reqwest::Client::new()
        .get(format!("http://{addr}/v1/users?page=1"))
        .header("authorization", auth)
        .header("user-agent", "python-requests/2.32")
        .send()
        .await
        .unwrap();
    (r.status().as_u16(), r.text().await.unwrap())
}

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
    let env = AlerterEnv::from_lookup(|k| match k {
        "ALERT_STATE_TABLE" => Some(tables.name("AlertStateTable").to_string()),
        "ALERT_TOPIC_ARN" => Some(topic.arn.clone()),
        _ => None,
    })
    .unwrap();
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

/// A store that never answers.
struct Hanging;
impl HitSink for Hanging {
    fn report(&self, _: Report) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(std::future::pending())
    }
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn a_hanging_store_never_delays_the_api_and_drops_are_counted() {
    let key = SigningKey::from_secret(&[9u8; 32]).unwrap();
    let token = mint(
        &key,
        &MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap()),
        "x",
        "",
        "",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap()
    .token;
    // A queue of 4 in front of a store that hangs for an hour.
    let (reporter, _task) = Reporter::spawn(Arc::new(Hanging), 4, Duration::from_secs(3600));
    let addr = serve(app::app(Guard::new(key, "users-api"), reporter.clone())).await;
    // Every request is answered while the store hangs (were any to wait on
    // the store, this loop would never end).
    for _ in 0..40 {
        let (status, _) = get(addr, &format!("Bearer {token}")).await;
        assert_eq!(status, 401);
    }
    let s = reporter.stats();
    assert_eq!(s.queued + s.dropped, 40, "{s:?}");
    assert!(s.dropped >= 35, "a full queue drops and counts: {s:?}");
    assert_eq!(s.reported, 0);
}

/// `!Tag value` as (tag without `!`, value).
fn tagged(v: &serde_norway::Value) -> Option<(String, &serde_norway::Value)> {
    match v {
        serde_norway::Value::Tagged(t) => Some((t.tag.to_string().trim_start_matches('!').to_string(), &t.value)),
        _ => None,
    }
}

/// What the linters cannot know: the guard's managed policy reads the key
/// and tokens and writes hits, nothing else, and the stack outputs it.
#[test]
fn the_guard_policy_reads_the_key_and_tokens_and_writes_hits_only() {
    let t = support::template();
    let p = &t["Resources"]["GuardPolicy"];
    assert_eq!(p["Type"].as_str(), Some("AWS::IAM::ManagedPolicy"));
    let mut grants: Vec<(String, String)> = Vec::new();
    for st in p["Properties"]["PolicyDocument"]["Statement"].as_sequence().unwrap() {
        assert_eq!(st["Effect"].as_str(), Some("Allow"));
        assert!(st.get("NotAction").is_none() && st.get("NotResource").is_none());
        let (tag, target) = tagged(&st["Resource"]).expect("one resource of the stack");
        let actions: Vec<String> = match st["Action"].as_sequence() {
            Some(l) => l.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
            None => vec![st["Action"].as_str().unwrap().to_string()],
        };
        for a in actions {
            assert!(!a.contains('*'), "no wildcards: {a}");
            grants.push((a, format!("{tag} {}", target.as_str().unwrap())));
        }
    }
    grants.sort();
    let want: Vec<(String, String)> = [
        ("dynamodb:GetItem", "GetAtt TokensTable.Arn"),
        ("dynamodb:PutItem", "GetAtt HitsTable.Arn"),
        ("dynamodb:UpdateItem", "GetAtt HitsTable.Arn"),
        ("secretsmanager:GetSecretValue", "Ref SigningKeySecret"),
    ]
    .iter()
    .map(|(a, b)| (a.to_string(), b.to_string()))
    .collect();
    assert_eq!(grants, want);
    let (tag, v) = tagged(&t["Outputs"]["GuardPolicyArn"]["Value"]).expect("output");
    assert_eq!((tag.as_str(), v.as_str()), ("Ref", Some("GuardPolicy")));
}
