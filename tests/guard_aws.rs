//! The example API (examples/guarded_api) with the guard layer: a hanging
//! store never delays the API, and the guard's managed policy in the
//! template grants what the guard needs and nothing else. (The hit's way
//! through the stack's alerter is functions/alerter/tests/guard_alert_aws.rs.)

#[path = "../examples/guarded_api/app.rs"]
mod app;
#[path = "support/guarded.rs"]
mod guarded;
#[path = "support/aws.rs"]
mod support;

use guarded::{get, serve};
use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
use honeytoken_guard::{BoxFuture, Guard, HitSink, Report, Reporter, SinkError};
use std::sync::Arc;
use std::time::Duration;

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
    // One token from one source: one pending batch, however long the store hangs.
    assert_eq!((s.queued, s.dropped), (40, 0), "{s:?}");
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
