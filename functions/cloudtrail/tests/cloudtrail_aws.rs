//! Decoy AWS keys against moto (started by scripts/test.sh): minted through
//! IAM into tables created from template.yaml, their use fed as CloudTrail
//! events in EventBridge's documented shape to the recorder this function
//! runs, read back from the hits stream, delivered to the alerter's handler
//! as Lambda would, and the alert read from an SQS queue subscribed to SNS.

#[path = "../../../tests/support/alerts.rs"]
mod alerts;
#[path = "../../../tests/support/runtime_api.rs"]
mod runtime_api;
#[path = "../../../tests/support/aws.rs"]
mod support;

use alerter::{FLUSH_INPUT, Invocation, handle, parse_invocation};
use alerts::{Delivered, Topic, deliver, stream_records};
use honeytoken::alerting::pipeline::Pipeline;
use honeytoken::domain::token::{TokenKind, TokenState};
use honeytoken::ops::aws_keys::{self, AwsKeys, GIVEAWAY_WORDS};
use honeytoken::store::dynamodb::DynamoStore;
use honeytoken::store::{HitQuery, HitStore, TokenStore};
use honeytoken::wiring::alerter::pipeline;
use honeytoken::wiring::stack::{CloudTrailEnv, cloudtrail_recorder};
use serde_json::{Value, json};
use support::Tables;
use time::OffsetDateTime;

struct Rig {
    conf: aws_config::SdkConfig,
    tables: Tables,
    store: DynamoStore,
    iam: aws_sdk_iam::Client,
    keys: AwsKeys,
}

/// Tables from the template, and a deny-all group as the template makes it.
async fn rig() -> Rig {
    let conf = support::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let tables = Tables::create(&ddb).await;
    let store = DynamoStore::new(ddb, tables.name("TokensTable"), tables.name("HitsTable"));
    let iam = aws_sdk_iam::Client::new(&conf);
    let group = support::unique("ServiceUsersGroup");
    iam.create_group()
        .group_name(&group)
        .path("/svc/")
        .send()
        .await
        .unwrap();
    iam.put_group_policy()
        .group_name(&group)
        .policy_name("none")
        .policy_document(r#"{"Version":"2012-10-17","Statement":[{"Effect":"Deny","Action":"*","Resource":"*"}]}"#)
        .send()
        .await
        .unwrap();
    let keys = honeytoken::wiring::stack::aws_keys(&conf, "/svc/", &group);
    Rig {
        conf,
        tables,
        store,
        iam,
        keys,
    }
}

/// A CloudTrail record of `key`'s `GetCallerIdentity` at `at`, as the
/// template's rule delivers it.
fn event(key: &str, event_id: &str, ip: &str, at: OffsetDateTime) -> Value {
    json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.sts",
        "account": "123456789012",
        "time": honeytoken::domain::time::rfc3339(at),
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": {
                "type": "IAMUser",
                "arn": "arn:aws:iam::123456789012:user/svc/terraform-deploy-prod",
                "accountId": "123456789012",
                "accessKeyId": key,
                "userName": "terraform-deploy-prod"
            },
            "eventTime": honeytoken::domain::time::rfc3339(at),
            "eventSource": "sts.amazonaws.com",
            "eventName": "GetCallerIdentity",
            "awsRegion": "eu-west-1",
            "sourceIPAddress": ip,
            "userAgent": "aws-cli/2.22.0 Python/3.12.6",
            "errorCode": "AccessDenied",
            "requestID": "1f0c7d43-2b0e-4a8e-9d9f-6c1a2d3e4f50",
            "eventID": event_id,
            "readOnly": true,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": "123456789012"
        }
    })
}

fn recorder(r: &Rig) -> honeytoken::decoy::cloudtrail::Recorder {
    let env = CloudTrailEnv::from_lookup(|k| match k {
        "TOKENS_TABLE" => Some(r.tables.name("TokensTable").to_string()),
        "HITS_TABLE" => Some(r.tables.name("HitsTable").to_string()),
        _ => None,
    })
    .unwrap();
    cloudtrail_recorder(&r.conf, &env)
}

async fn invoke(p: &Pipeline, event: Value) -> Value {
    let inv = parse_invocation(event).expect("a stream event");
    assert!(matches!(inv, Invocation::Stream(_)));
    handle(p, inv).await.expect("the handler answers a stream batch")
}

async fn user_exists(iam: &aws_sdk_iam::Client, name: &str) -> bool {
    iam.get_user().user_name(name).send().await.is_ok()
}

#[tokio::test]
async fn mint_makes_a_deny_all_user_under_the_path_with_one_key_and_stores_no_secret() {
    let r = rig().await;
    let m = aws_keys::mint(
        &r.keys,
        &r.store,
        "deploy bot",
        "github.com/acme/infra",
        "",
        None,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let user = m.record.aws_user.clone().unwrap();
    let u = r.iam.get_user().user_name(&user).send().await.unwrap();
    assert_eq!(u.user().unwrap().path(), "/svc/");
    let groups = r.iam.list_groups_for_user().user_name(&user).send().await.unwrap();
    let names: Vec<&str> = groups.groups().iter().map(|g| g.group_name()).collect();
    assert_eq!(names, [r.keys.group.as_str()]);
    let keys = r.iam.list_access_keys().user_name(&user).send().await.unwrap();
    assert_eq!(keys.access_key_metadata().len(), 1);
    let k = &keys.access_key_metadata()[0];
    assert_eq!(k.access_key_id(), Some(m.key.id.as_str()));
    assert_eq!(k.status().map(|s| s.as_str()), Some("Active"));

    // The record is keyed by the access key id and holds no secret.
    let rec = r.store.get(&m.key.id).await.unwrap().expect("record by access key id");
    assert_eq!(rec.kind, TokenKind::AwsKey);
    assert_eq!(rec.aws_user.as_deref(), Some(user.as_str()));
    let raw = aws_sdk_dynamodb::Client::new(&r.conf)
        .get_item()
        .table_name(r.tables.name("TokensTable"))
        .key("id", aws_sdk_dynamodb::types::AttributeValue::S(m.key.id.clone()))
        .send()
        .await
        .unwrap();
    assert!(
        !format!("{:?}", raw.item()).contains(&m.key.secret),
        "the secret is never stored"
    );

    // --into writes the credentials (through the plant code) and records where.
    let dir = tempfile::tempdir().unwrap();
    let env = dir.path().join(".env");
    std::fs::write(&env, "APP=1\n").unwrap();
    let mut m = m;
    aws_keys::plant_into(&r.store, &mut m, &env, "default").await.unwrap();
    assert_eq!(
        std::fs::read_to_string(&env).unwrap(),
        format!(
            "APP=1\nAWS_ACCESS_KEY_ID={}\nAWS_SECRET_ACCESS_KEY={}\n",
            m.key.id, m.key.secret
        )
    );
    let rec = r.store.get(&m.key.id).await.unwrap().unwrap();
    assert_eq!(rec.placements.len(), 1);
    assert_eq!(rec.placements[0].var, "AWS_ACCESS_KEY_ID");
}

#[tokio::test]
async fn rotate_makes_a_new_user_and_leaves_the_old_key_active_and_retire_deletes() {
    let r = rig().await;
    let now = OffsetDateTime::now_utc();
    let first = aws_keys::mint(&r.keys, &r.store, "ci", "gitlab", "", Some("gitlab-runner-ci-03"), now)
        .await
        .unwrap();
    // A taken name is a clear refusal, not a second user.
    let again = aws_keys::mint(&r.keys, &r.store, "ci", "gitlab", "", Some("gitlab-runner-ci-03"), now)
        .await
        .unwrap_err();
    assert!(again.to_string().contains("exists already"), "{again}");

    let (old, new) = aws_keys::rotate(&r.keys, &r.store, &first.key.id, now).await.unwrap();
    let new_user = new.record.aws_user.clone().unwrap();
    assert_ne!(new_user, "gitlab-runner-ci-03");
    assert_eq!(old.replaced_by.as_deref(), Some(new.key.id.as_str()));
    assert_eq!(new.record.replaces.as_deref(), Some(first.key.id.as_str()));
    assert_eq!(
        r.store.get(&first.key.id).await.unwrap().unwrap().state,
        TokenState::Retired
    );
    // The old key still works for detection: its user and active key remain.
    let keys = r
        .iam
        .list_access_keys()
        .user_name("gitlab-runner-ci-03")
        .send()
        .await
        .unwrap();
    assert_eq!(
        keys.access_key_metadata()[0].status().map(|s| s.as_str()),
        Some("Active")
    );
    assert!(user_exists(&r.iam, &new_user).await);

    let t = aws_keys::retire(&r.keys, &r.store, &first.key.id).await.unwrap();
    assert_eq!(t.state, TokenState::Retired);
    assert!(!user_exists(&r.iam, "gitlab-runner-ci-03").await, "the user is deleted");
    assert!(user_exists(&r.iam, &new_user).await, "the replacement stays");
    // Retiring again (a retry after a partial failure) is no error.
    aws_keys::retire(&r.keys, &r.store, &first.key.id).await.unwrap();
}

#[tokio::test]
async fn two_hundred_mints_use_no_give_away_word() {
    let r = rig().await;
    let now = OffsetDateTime::now_utc();
    let mut names = std::collections::BTreeSet::new();
    for i in 0..200 {
        let m = aws_keys::mint(&r.keys, &r.store, &format!("m{i}"), "", "", None, now)
            .await
            .unwrap();
        names.insert(m.record.aws_user.unwrap());
    }
    assert_eq!(names.len(), 200, "every mint is its own user");
    for n in &names {
        let lower = n.to_lowercase();
        for w in GIVEAWAY_WORDS {
            assert!(!lower.contains(w), "{n} contains {w}");
        }
    }
}

#[tokio::test]
async fn a_use_reaches_the_alert_queue_naming_the_call_and_a_redelivery_is_one_hit() {
    let r = rig().await;
    let m = aws_keys::mint(
        &r.keys,
        &r.store,
        "deploy bot",
        "github.com/acme/infra/.env",
        "",
        None,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let rec = recorder(&r);
    let ev = event(
        &m.key.id,
        "0b4d1c8e-7f0a-4b59-b5a3-2f8f3c6d9e10",
        "203.0.113.7",
        OffsetDateTime::now_utc() - time::Duration::minutes(3),
    );
    let (first, _) = rec.record(&ev).await.unwrap();
    // EventBridge delivers at least once.
    let (second, _) = rec.record(&ev).await.unwrap();
    assert_eq!(first.hit_id, second.hit_id);
    let stored = r
        .store
        .query(&HitQuery {
            token_id: Some(m.key.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1, "a redelivered event is one hit");
    assert_eq!(stored[0].label, "deploy bot");
    assert_eq!(stored[0].found_in.to_string(), "aws-api");

    let topic = Topic::create(&r.conf).await;
    let env = alerts::alerter_env(&r.tables, &topic, &[]);
    let p = pipeline(&r.conf, &env).await.unwrap();
    let records = stream_records(&r.conf, r.tables.name("HitsTable")).await;
    assert!(matches!(
        deliver(&records, 0, 100, |e| invoke(&p, e)).await,
        Delivered::All { .. }
    ));
    let got = topic.receive(1).await;
    assert_eq!(got.len(), 1, "one alert: {got:#?}");
    let call = "GetCallerIdentity on sts.amazonaws.com in eu-west-1, AccessDenied";
    let a = &got[0].alert;
    assert!(a["summary"].as_str().unwrap().contains(call), "{}", a["summary"]);
    assert_eq!(a["hit"]["aws_event"]["name"], "GetCallerIdentity");
    assert_eq!(a["hit"]["token_id"], m.key.id.as_str());
    assert!(topic.receive(0).await.is_empty(), "nothing more");
}

#[tokio::test]
async fn a_thousand_calls_from_one_source_make_one_alert_and_the_flood_summary() {
    let r = rig().await;
    let m = aws_keys::mint(&r.keys, &r.store, "flooded", "", "", None, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let rec = recorder(&r);
    // All in one 15-minute bucket that closed at least 15 minutes ago.
    let quarter = 15 * 60;
    let now = OffsetDateTime::now_utc().unix_timestamp();
    let t0 = OffsetDateTime::from_unix_timestamp(now - now.rem_euclid(quarter) - 2 * quarter).unwrap();
    for i in 0..1000i64 {
        let at = t0 + time::Duration::milliseconds(i * 500);
        rec.record(&event(&m.key.id, &format!("ev-{i}"), "AWS Internal", at))
            .await
            .unwrap();
    }
    let stored = r
        .store
        .query(&HitQuery {
            token_id: Some(m.key.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let total: u64 = stored.iter().map(|h| h.count).sum();
    assert_eq!(total, 1000, "every call is kept, whole or counted");
    assert!(stored.len() <= 21, "a flood is a few records: {}", stored.len());
    assert!(stored.iter().all(|h| h.source_ip == "AWS Internal"));

    let topic = Topic::create(&r.conf).await;
    // As the template sets it: the alerter reads a flood's count from the hits table.
    let env = alerts::alerter_env(&r.tables, &topic, &[("HITS_TABLE", r.tables.name("HitsTable"))]);
    let p = pipeline(&r.conf, &env).await.unwrap();
    let records = stream_records(&r.conf, r.tables.name("HitsTable")).await;
    assert!(matches!(
        deliver(&records, 0, 100, |e| invoke(&p, e)).await,
        Delivered::All { .. }
    ));
    let got = topic.receive(1).await;
    assert_eq!(got.len(), 1, "only the first call alerts at once");
    assert_eq!(got[0].alert["kind"], "hit");
    let f = handle(
        &p,
        parse_invocation(serde_json::from_str(FLUSH_INPUT).unwrap()).unwrap(),
    )
    .await
    .unwrap();
    assert_eq!(f["summaries"], 1, "{f}");
    let got = topic.receive(1).await;
    assert_eq!(got.len(), 1);
    assert_eq!(got[0].alert["kind"], "summary");
    assert_eq!(got[0].alert["suppressed"], 999, "{}", got[0].alert);
    assert!(
        got[0].alert["summary"].as_str().unwrap().contains("999 more requests"),
        "{}",
        got[0].alert["summary"]
    );
}

/// The real bootstrap under the Lambda Runtime API emulator: the event in
/// EventBridge's documented shape becomes one hit, however often it is
/// delivered; a hit it cannot store fails the invocation, so Lambda retries
/// it and then keeps it in the dead-letter queue.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_function_binary_records_an_event_once_and_fails_when_it_cannot_store() {
    use runtime_api::{Function, RuntimeApi, workspace_bin};
    let r = rig().await;
    let m = aws_keys::mint(&r.keys, &r.store, "bin", "", "", None, OffsetDateTime::now_utc())
        .await
        .unwrap();
    let api = RuntimeApi::start().await;
    let mut env = support::function_env();
    env.extend([
        ("TOKENS_TABLE", r.tables.name("TokensTable").to_string()),
        ("HITS_TABLE", r.tables.name("HitsTable").to_string()),
    ]);
    let f = Function::spawn(&workspace_bin("cloudtrail"), "cloudtrail", &api, &env);
    let event: Value = serde_json::from_str(
        &support::fixture("tests/fixtures/cloudtrail_event.json").replace("AKIAIOSFODNN7EXAMPLE", &m.key.id),
    )
    .unwrap();
    for _ in 0..2 {
        api.invoke(event.clone())
            .await
            .unwrap_or_else(|e| panic!("cloudtrail failed: {e}\n{}", f.log_text()));
    }
    let hits = r
        .store
        .query(&HitQuery {
            token_id: Some(m.key.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(hits.len(), 1, "{}", f.log_text());
    assert_eq!(hits[0].aws_event.as_ref().unwrap().name, "GetCallerIdentity");
    assert_eq!(hits[0].label, "bin");

    let broken_api = RuntimeApi::start().await;
    let mut env = support::function_env();
    env.extend([
        ("TOKENS_TABLE", r.tables.name("TokensTable").to_string()),
        ("HITS_TABLE", "no-such-table".to_string()),
    ]);
    let broken = Function::spawn(&workspace_bin("cloudtrail"), "cloudtrail", &broken_api, &env);
    let out = broken_api.invoke(event).await;
    assert!(
        out.is_err(),
        "an unstored hit is an error: {out:?}\n{}",
        broken.log_text()
    );
}

/// AWS attaching its quarantine policy to `user`, as CloudTrail records it
/// in us-east-1 and the exposure rule delivers it: AWS is the caller.
fn quarantine(user: &str, event_id: &str) -> Value {
    let at = honeytoken::domain::time::rfc3339(OffsetDateTime::now_utc() - time::Duration::minutes(4));
    json!({
        "version": "0",
        "id": ulid::Ulid::new().to_string(),
        "detail-type": "AWS API Call via CloudTrail",
        "source": "aws.iam",
        "account": "123456789012",
        "time": at,
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.09",
            "userIdentity": {"type": "AWSService", "invokedBy": "AWS Internal"},
            "eventTime": at,
            "eventSource": "iam.amazonaws.com",
            "eventName": "AttachUserPolicy",
            "awsRegion": "us-east-1",
            "sourceIPAddress": "AWS Internal",
            "userAgent": "AWS Internal",
            "requestParameters": {
                "userName": user,
                "policyArn": "arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3"
            },
            "responseElements": null,
            "requestID": "9a8b7c6d-5e4f-4a3b-2c1d-0e9f8a7b6c5d",
            "eventID": event_id,
            "readOnly": false,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": "123456789012"
        }
    })
}

/// AWS's exposure notice through the function binary: a hit for the decoy
/// key of the user it names (found through the tokens table), none for
/// another decoy user or a user that is no decoy's; the alert reaches the
/// SNS subscriber saying AWS reports the key public.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn aws_exposure_notice_alerts_for_the_named_decoy_user_only() {
    use runtime_api::{Function, RuntimeApi, workspace_bin};
    let r = rig().await;
    let now = OffsetDateTime::now_utc();
    let leaked = aws_keys::mint(&r.keys, &r.store, "leaked", "github.com/acme/app", "", None, now)
        .await
        .unwrap();
    let quiet = aws_keys::mint(&r.keys, &r.store, "quiet", "", "", None, now)
        .await
        .unwrap();
    let api = RuntimeApi::start().await;
    let mut env = support::function_env();
    env.extend([
        ("TOKENS_TABLE", r.tables.name("TokensTable").to_string()),
        ("HITS_TABLE", r.tables.name("HitsTable").to_string()),
    ]);
    let f = Function::spawn(&workspace_bin("cloudtrail"), "cloudtrail", &api, &env);
    let user = leaked.record.aws_user.clone().unwrap();
    // Redelivered once (the same bytes); then a notice for a user of the
    // account that is no decoy's.
    let notice = quarantine(&user, "q-1");
    for ev in [notice.clone(), notice, quarantine("alice", "q-2")] {
        api.invoke(ev)
            .await
            .unwrap_or_else(|e| panic!("cloudtrail failed: {e}\n{}", f.log_text()));
    }
    let all = r.store.query(&HitQuery::default()).await.unwrap();
    assert_eq!(all.len(), 1, "{all:#?}\n{}", f.log_text());
    let h = &all[0];
    assert_eq!(h.token_id, leaked.key.id);
    assert_ne!(h.token_id, quiet.key.id);
    assert_eq!(h.found_in.to_string(), "aws-exposure-notice");
    assert_eq!(h.label, "leaked");
    assert_eq!(h.aws_event.as_ref().unwrap().name, "AttachUserPolicy");

    let topic = Topic::create(&r.conf).await;
    let env = alerts::alerter_env(&r.tables, &topic, &[]);
    let p = pipeline(&r.conf, &env).await.unwrap();
    let records = stream_records(&r.conf, r.tables.name("HitsTable")).await;
    assert!(matches!(
        deliver(&records, 0, 100, |e| invoke(&p, e)).await,
        Delivered::All { .. }
    ));
    let got = topic.receive(1).await;
    assert_eq!(got.len(), 1, "one alert: {got:#?}");
    let a = &got[0].alert;
    let summary = a["summary"].as_str().unwrap();
    assert!(summary.contains("AWS reports this key exposed in public"), "{summary}");
    assert!(summary.contains(&leaked.key.id), "{summary}");
    assert_eq!(a["hit"]["found_in"], "aws-exposure-notice");
    assert!(topic.receive(0).await.is_empty(), "nothing more");
}

/// `list` and `show` include AWS keys; without the stack's decoy-user
/// outputs (tables named by hand), `mint --kind aws-key` and `retire` say
/// what they need instead of half-working.
#[tokio::test]
async fn the_cli_lists_and_shows_aws_keys_and_needs_the_stack_to_make_one() {
    let r = rig().await;
    let m = aws_keys::mint(
        &r.keys,
        &r.store,
        "listed",
        "ci/.env",
        "",
        None,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let secret_arn = support::create_signing_secret(&r.conf).await;
    let cli = |extra: &[&str]| {
        let mut c = std::process::Command::new(runtime_api::workspace_bin("honeytoken"));
        c.args([
            "--backend",
            "aws",
            "--tokens-table",
            r.tables.name("TokensTable"),
            "--hits-table",
            r.tables.name("HitsTable"),
            "--secret-arn",
            &secret_arn,
        ])
        .args(extra);
        for (k, v) in support::function_env() {
            c.env(k, v);
        }
        c.output().unwrap()
    };
    let listed = cli(&["list", "--format", "json"]);
    let listed = String::from_utf8_lossy(&listed.stdout).into_owned();
    assert!(listed.contains(&m.key.id) && listed.contains("aws-key"), "{listed}");
    assert!(!listed.contains(&m.key.secret));
    let shown = cli(&["show", &m.key.id]);
    assert!(shown.status.success(), "{}", String::from_utf8_lossy(&shown.stderr));
    assert!(String::from_utf8_lossy(&shown.stdout).contains("listed"));

    let o = cli(&["mint", "--kind", "aws-key", "--label", "x"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("DecoyUserPath"), "{o:?}");
    let o = cli(&["retire", &m.key.id]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--stack"), "{o:?}");
    assert!(user_exists(&r.iam, m.record.aws_user.as_deref().unwrap()).await);
}

/// The safety net's IAM call through the real SDK client, and a run of it
/// through the function binary on the schedule's event. moto's
/// GetAccessKeyLastUsed cannot be given a date, so the three cases with a
/// use are the library's unit tests (src/decoy/last_used.rs, a stub of
/// `IamUsers`); here: a key never used and a key whose use CloudTrail
/// delivered record nothing, and a key that no longer exists is no error.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn the_safety_net_reads_iam_and_records_nothing_for_keys_with_no_missed_use() {
    use honeytoken::store::IamUsers;
    use runtime_api::{Function, RuntimeApi, workspace_bin};
    let r = rig().await;
    let now = OffsetDateTime::now_utc();
    let unused = aws_keys::mint(&r.keys, &r.store, "unused", "", "", None, now)
        .await
        .unwrap();
    let used = aws_keys::mint(&r.keys, &r.store, "used", "", "", None, now)
        .await
        .unwrap();
    recorder(&r)
        .record(&event(
            &used.key.id,
            "e-net-1",
            "203.0.113.7",
            now - time::Duration::hours(2),
        ))
        .await
        .unwrap();

    // IAM's answer for a key never used: no date ("N/A" service and region).
    let iam = honeytoken::store::iam::Iam::new(r.iam.clone());
    assert_eq!(iam.access_key_last_used(&unused.key.id).await.unwrap(), None);
    // A key deleted since (retire) is nothing to report, not an error.
    assert_eq!(iam.access_key_last_used("AKIANOSUCHKEY0000000").await.unwrap(), None);

    let count = || async {
        let mut n = 0;
        for id in [&unused.key.id, &used.key.id] {
            n += r
                .store
                .query(&HitQuery {
                    token_id: Some(id.clone()),
                    ..Default::default()
                })
                .await
                .unwrap()
                .len();
        }
        n
    };
    let env = CloudTrailEnv::from_lookup(|k| match k {
        "TOKENS_TABLE" => Some(r.tables.name("TokensTable").to_string()),
        "HITS_TABLE" => Some(r.tables.name("HitsTable").to_string()),
        _ => None,
    })
    .unwrap();
    let sweep = honeytoken::wiring::stack::last_used_net(&r.conf, &env)
        .sweep(honeytoken::domain::time::Timestamp::now())
        .await
        .unwrap();
    assert_eq!((sweep.checked, sweep.recorded.len(), sweep.waiting), (2, 0, 0));
    assert_eq!(count().await, 1, "only the CloudTrail hit");

    // The binary tells the schedule's event from a CloudTrail record and
    // runs the same check.
    let api = RuntimeApi::start().await;
    let mut fenv = support::function_env();
    fenv.extend([
        ("TOKENS_TABLE", r.tables.name("TokensTable").to_string()),
        ("HITS_TABLE", r.tables.name("HitsTable").to_string()),
        ("LAST_USED_GRACE_MINUTES", "30".to_string()),
    ]);
    let f = Function::spawn(&workspace_bin("cloudtrail"), "cloudtrail", &api, &fenv);
    let scheduled = json!({
        "version": "0",
        "id": "89d1a02d-5ec7-412e-82f5-13505f849b41",
        "detail-type": "Scheduled Event",
        "source": "aws.events",
        "account": "123456789012",
        "time": honeytoken::domain::time::rfc3339(now),
        "region": "us-east-1",
        "resources": ["arn:aws:events:us-east-1:123456789012:rule/LastUsedCheckRule"],
        "detail": {}
    });
    api.invoke(scheduled)
        .await
        .unwrap_or_else(|e| panic!("the safety net failed: {e}\n{}", f.log_text()));
    assert_eq!(count().await, 1, "{}", f.log_text());
    // Taken for a CloudTrail record, the schedule's event would have been
    // recorded as a call of an unknown key.
    let unknown = r
        .store
        .query(&HitQuery {
            token_id: Some(honeytoken::decoy::cloudtrail::UNKNOWN_KEY.to_string()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert!(unknown.is_empty(), "{unknown:?}\n{}", f.log_text());
}

/// A TCP forwarder on a loopback port of its own (bound here, so the one
/// answering is ours) in front of moto, keeping every `User-Agent` line the
/// client sends: the test mark rides in one, and CloudTrail would record it
/// as the call's `userAgent`. Stopped when dropped.
struct UaRecorder {
    addr: std::net::SocketAddr,
    seen: std::sync::Arc<std::sync::Mutex<Vec<String>>>,
    task: tokio::task::JoinHandle<()>,
}

impl UaRecorder {
    async fn start(upstream: &str) -> UaRecorder {
        use tokio::io::{AsyncReadExt, AsyncWriteExt};
        let up = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let addr = listener.local_addr().unwrap();
        let seen = std::sync::Arc::new(std::sync::Mutex::new(Vec::new()));
        let keep = seen.clone();
        let task = tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                let Ok(server) = tokio::net::TcpStream::connect(&up).await else {
                    continue;
                };
                let keep = keep.clone();
                tokio::spawn(async move {
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let back = tokio::spawn(async move {
                        let _ = tokio::io::copy(&mut sr, &mut cw).await;
                    });
                    let mut buf = vec![0u8; 16 * 1024];
                    let mut pending = String::new();
                    while let Ok(n) = cr.read(&mut buf).await {
                        if n == 0 || sw.write_all(&buf[..n]).await.is_err() {
                            break;
                        }
                        pending.push_str(&String::from_utf8_lossy(&buf[..n]));
                        while let Some(end) = pending.find("\r\n") {
                            let line: String = pending.drain(..end + 2).collect();
                            if line.to_ascii_lowercase().starts_with("user-agent:") {
                                keep.lock()
                                    .unwrap()
                                    .push(line["user-agent:".len()..].trim().to_string());
                            }
                        }
                    }
                    back.abort();
                });
            }
        });
        UaRecorder { addr, seen, task }
    }

    fn endpoint(&self) -> String {
        format!("http://{}", self.addr)
    }

    fn with_app_name(&self) -> Option<String> {
        self.seen
            .lock()
            .unwrap()
            .iter()
            .find(|ua| ua.contains(" app/"))
            .cloned()
    }
}

impl Drop for UaRecorder {
    fn drop(&mut self) {
        self.task.abort();
    }
}

/// `honeytoken test` on a decoy AWS key: the real CLI calls moto's STS with
/// the decoy key (the real SDK client), the mark in its user agent; the
/// call's CloudTrail record (its user agent as sent) goes through the
/// recorder as the cloudtrail function would write it; the CLI sees the
/// test hit and reports each stage. The secret comes from the credentials
/// file it was planted in and is printed nowhere.
#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn test_on_an_aws_key_calls_sts_with_the_mark_and_finds_its_test_hit() {
    let r = rig().await;
    let m = aws_keys::mint(
        &r.keys,
        &r.store,
        "tested",
        "ci/credentials",
        "",
        None,
        OffsetDateTime::now_utc(),
    )
    .await
    .unwrap();
    let secret_arn = support::create_signing_secret(&r.conf).await;
    let key = honeytoken::wiring::stack::signing_key(&aws_sdk_secretsmanager::Client::new(&r.conf), &secret_arn)
        .await
        .unwrap();
    let dir = tempfile::tempdir().unwrap();
    let creds = dir.path().join("credentials");
    std::fs::write(
        &creds,
        format!(
            "[default]\naws_access_key_id = AKIAI44QH8DHBEXAMPLE\naws_secret_access_key = je7MtGbClwBF/2Zp9Utk/h3yCo8nvbEXAMPLEKEY\n\n{}",
            aws_keys::credentials_block("ci-deploy", &m.key)
        ),
    )
    .unwrap();

    let proxy = UaRecorder::start(&support::endpoint()).await;
    let mut c = std::process::Command::new(runtime_api::workspace_bin("honeytoken"));
    c.args([
        "--backend",
        "aws",
        "--tokens-table",
        r.tables.name("TokensTable"),
        "--hits-table",
        r.tables.name("HitsTable"),
        "--secret-arn",
        &secret_arn,
        "test",
        &m.key.id,
        "--credentials-file",
        creds.to_str().unwrap(),
        "--timeout",
        "2m",
    ]);
    for (k, v) in support::function_env() {
        c.env(k, v);
    }
    c.env("AWS_ENDPOINT_URL", proxy.endpoint());
    c.stdout(std::process::Stdio::piped())
        .stderr(std::process::Stdio::piped());
    let child = c.spawn().unwrap();
    let out = tokio::task::spawn_blocking(move || child.wait_with_output());

    // The STS call, as the CLI sent it, reaches "CloudTrail".
    let mut ua = None;
    for _ in 0..1200 {
        ua = proxy.with_app_name();
        if ua.is_some() || out.is_finished() {
            break;
        }
        tokio::time::sleep(std::time::Duration::from_millis(50)).await;
    }
    let Some(ua) = ua else {
        let o = out.await.unwrap().unwrap();
        panic!(
            "the CLI called AWS with no app name in its user agent: {:?}\n{}\n{}",
            proxy.seen.lock().unwrap(),
            String::from_utf8_lossy(&o.stdout),
            String::from_utf8_lossy(&o.stderr)
        );
    };
    assert!(ua.contains("api/sts"), "{ua}");
    let mut ev = event(&m.key.id, "e-test-1", "203.0.113.7", OffsetDateTime::now_utc());
    ev["detail"]["userAgent"] = json!(ua);
    ev["detail"]["errorCode"] = Value::Null;
    let (hit, _) = recorder(&r).with_test_key(key).record(&ev).await.unwrap();
    assert!(hit.test, "{}", hit.user_agent);

    let out = out.await.unwrap().unwrap();
    let stdout = String::from_utf8_lossy(&out.stdout).into_owned();
    let stderr = String::from_utf8_lossy(&out.stderr).into_owned();
    assert!(out.status.success(), "{stdout}\n{stderr}");
    for stage in [
        "ok      aws call",
        "ok      hit stored",
        "flags=test",
        "ok: the whole path works",
    ] {
        assert!(stdout.contains(stage), "{stage}: {stdout}");
    }
    assert!(stdout.contains(&hit.hit_id), "{stdout}");
    assert!(!stdout.contains(&m.key.secret) && !stderr.contains(&m.key.secret));
    // The stored hit keeps the mark spent, never usable again.
    let stored = r
        .store
        .query(&HitQuery {
            token_id: Some(m.key.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(stored.len(), 1);
    assert!(
        stored[0].test && stored[0].user_agent.contains("spent:"),
        "{}",
        stored[0].user_agent
    );

    // Without the secret, the command says where to find it and calls nothing.
    let o = std::process::Command::new(runtime_api::workspace_bin("honeytoken"))
        .args([
            "--backend",
            "aws",
            "--tokens-table",
            r.tables.name("TokensTable"),
            "--hits-table",
            r.tables.name("HitsTable"),
            "--secret-arn",
            &secret_arn,
            "test",
            &m.key.id,
            "--credentials-file",
            dir.path().join("missing").to_str().unwrap(),
        ])
        .envs(support::function_env())
        .output()
        .unwrap();
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("--credentials-file"),
        "{o:?}"
    );
}
