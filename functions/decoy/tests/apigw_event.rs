//! The decoy function's handler driven by a recorded API Gateway HTTP API
//! (payload 2.0) event, against DynamoDB on the moto server that
//! `scripts/test.sh` starts, with tables created from template.yaml.

#[path = "../../../tests/support/aws.rs"]
mod support;

use honeytoken::decoy::persona::{Persona, RequestKind};
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
use honeytoken::store::dynamodb::DynamoStore;
use honeytoken::store::{HitQuery, HitStore, TokenStore};
use honeytoken::wiring::stack::{DecoyEnv, decoy as build_decoy, signing_key};
use lambda_http::{Body, Response};

const FIXTURE: &str = "tests/fixtures/apigw-http-v2-event.json";

fn event(token: &str) -> lambda_http::Request {
    let json = support::fixture(FIXTURE).replace("{{TOKEN}}", token);
    lambda_http::request::from_str(&json).expect("a valid HTTP API v2 event")
}

fn body_bytes(r: &Response<Body>) -> Vec<u8> {
    r.body().as_ref().to_vec()
}

/// The answer is the persona's to a request carrying a credential (these
/// events carry an API key), per-request id aside.
fn assert_persona(r: &Response<Body>) {
    let mut got = lambda_http::http::Response::new(bytes::Bytes::from(body_bytes(r)));
    *got.status_mut() = r.status();
    *got.headers_mut() = r.headers().clone();
    assert!(Persona::default().matches(RequestKind::Credential, &got), "{got:?}");
}

#[tokio::test]
async fn recorded_event_is_answered_and_recorded_with_the_context_source_ip() {
    let conf = support::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let tables = support::Tables::create(&client).await;
    let secret_arn = support::create_signing_secret(&conf).await;
    let env = DecoyEnv {
        tokens_table: tables.name("TokensTable").into(),
        hits_table: tables.name("HitsTable").into(),
        secret_arn: secret_arn.clone(),
        hit_ttl_days: 30,
        min_latency_ms: 0,
        origin_verify_secret_arn: None,
        alert_topic_arn: None,
        flood: Default::default(),
    };

    // Mint with the stack's key, as `honeytoken --backend aws mint` does.
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
        time_now(),
    )
    .unwrap();
    let store = DynamoStore::new(client.clone(), &env.tokens_table, &env.hits_table);
    store.create(&record).await.unwrap();

    let decoy = build_decoy(&conf, &env).await.unwrap();

    // A request carrying the token.
    let resp = decoy::handle(&decoy, event(&record.token)).await;
    assert_persona(&resp);
    let hits = store
        .query(&HitQuery {
            token_id: Some(record.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "{hits:?}");
    let h = &hits[0];
    assert_eq!(
        h.source_ip, "198.51.100.77",
        "source ip from requestContext.http.sourceIp"
    );
    assert_eq!(h.request_id.as_deref(), Some("CxVq1hXmIAMEVfQ="));
    assert_eq!(h.method, "POST");
    assert_eq!(h.path, "/v1/charges");
    assert_eq!(h.query, "limit=3&expand[]=customer");
    assert_eq!(h.found_in, "x-api-key");
    assert_eq!(h.user_agent, "python-requests/2.32.3");
    assert_eq!(h.label, "billing-service");
    assert!(!h.orphan && !h.tampered);
    assert!(
        h.headers.contains_key("cookie"),
        "cookies from the event become a header: {:?}",
        h.headers
    );

    // A request with a key of the same shape that is not ours: the same
    // bytes back, and nothing stored.
    let fake = format!("acme_live_{}", "Q".repeat(32));
    let resp = decoy::handle(&decoy, event(&fake)).await;
    assert_persona(&resp);
    let all = store.query(&HitQuery::default()).await.unwrap();
    assert_eq!(all.len(), 1);

    // With its tables gone the decoy still answers exactly the same.
    let broken = DecoyEnv {
        tokens_table: "missing-tokens".into(),
        hits_table: "missing-hits".into(),
        ..env
    };
    let decoy = build_decoy(&conf, &broken).await.unwrap();
    let resp = decoy::handle(&decoy, event(&record.token)).await;
    assert_persona(&resp);
}

fn time_now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}
