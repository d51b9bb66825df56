//! The DynamoDB stores and `honeytoken --backend aws` against the moto
//! server that `scripts/test.sh` starts, on tables created from
//! template.yaml's own definitions.

#[path = "support/aws.rs"]
mod support;

use aws_sdk_dynamodb::types::AttributeValue;
use honeytoken::Error;
use honeytoken::domain::hit::Hit;
use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, TokenState, mint};
use honeytoken::store::dynamodb::{DEFAULT_HIT_TTL_DAYS, DynamoStore};
use honeytoken::store::{HitQuery, HitStore, TokenStore};
use std::process::{Command, Output};
use std::sync::Arc;
use support::Tables;
use time::OffsetDateTime;

async fn setup() -> (aws_config::SdkConfig, aws_sdk_dynamodb::Client, Tables) {
    let conf = support::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let tables = Tables::create(&client).await;
    (conf, client, tables)
}

fn store(client: &aws_sdk_dynamodb::Client, t: &Tables) -> DynamoStore {
    DynamoStore::new(client.clone(), t.name("TokensTable"), t.name("HitsTable"))
}

fn key_spec() -> MintSpec {
    MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap())
}

fn hit_at(token_id: &str, at: OffsetDateTime, ip: &str, n: u128) -> Hit {
    Hit {
        user_agent: "python-requests/2.32".into(),
        path: "/v1/charges".into(),
        headers: [("user-agent".to_string(), "python-requests/2.32".to_string())]
            .into_iter()
            .collect(),
        label: "ci-secrets".into(),
        location: "github.com/acme/api/.env".into(),
        request_id: Some(format!("req-{n}")),
        ..honeytoken_core::testkit::hit_at_time(token_id, ip, at, n)
    }
}

#[tokio::test]
async fn the_template_defines_what_the_store_uses() {
    let defs = support::table_definitions(&support::template());
    let hits = &defs["HitsTable"];
    let keys: Vec<_> = hits["KeySchema"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|k| k["AttributeName"].as_str().unwrap())
        .collect();
    assert_eq!(keys, ["token_id", "hit_id"]);
    let indexes: Vec<_> = hits["GlobalSecondaryIndexes"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|g| g["IndexName"].as_str().unwrap())
        .collect();
    assert!(indexes.contains(&honeytoken::store::dynamodb::INDEX_BY_DAY));
    assert!(indexes.contains(&honeytoken::store::dynamodb::INDEX_BY_SOURCE_IP));
    assert_eq!(
        hits["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some("expires_at")
    );
    assert_eq!(
        hits["StreamSpecification"]["StreamViewType"].as_str(),
        Some("NEW_IMAGE")
    );
    assert!(defs.contains_key("TokensTable") && defs.contains_key("AlertStateTable"));
}

use support::tagged;

/// What the linters cannot know: the decoy's role allows exactly one read of
/// tokens, one write of hits, the key, and publishing a late alert to the
/// alert topic, and state survives the stack.
#[test]
fn the_decoy_may_read_tokens_write_hits_and_nothing_else() {
    let t = support::template();
    let r = &t["Resources"];
    let decoy = &r["DecoyFunction"]["Properties"];
    let policies = decoy["Policies"].as_sequence().expect("explicit policies");
    assert_eq!(
        policies.len(),
        1,
        "no SAM policy templates: they grant more than needed"
    );
    let mut grants: Vec<(String, String)> = Vec::new();
    for st in policies[0]["Statement"].as_sequence().unwrap() {
        assert_eq!(st["Effect"].as_str(), Some("Allow"));
        let action = st["Action"].as_str().expect("one action per statement").to_string();
        let resources: Vec<&serde_norway::Value> = match st["Resource"].as_sequence() {
            Some(list) => list.iter().collect(),
            None => vec![&st["Resource"]],
        };
        for res in resources {
            let (tag, target) = tagged(res).expect("resource from the stack");
            let target = match tag.as_str() {
                // A grant that exists only with a condition: `If COND Ref X` (else nothing).
                "If" => {
                    let args = target.as_sequence().unwrap();
                    let (t, v) = tagged(&args[1]).unwrap();
                    assert_eq!(
                        tagged(&args[2]).map(|(t, v)| (t, v.as_str())),
                        Some(("Ref".into(), Some("AWS::NoValue")))
                    );
                    format!("{} {t} {}", args[0].as_str().unwrap(), v.as_str().unwrap())
                }
                _ => target.as_str().unwrap().to_string(),
            };
            grants.push((action.clone(), format!("{tag} {target}")));
        }
    }
    grants.sort();
    assert_eq!(
        grants,
        [
            ("dynamodb:GetItem".to_string(), "GetAtt TokensTable.Arn".to_string()),
            ("dynamodb:PutItem".to_string(), "GetAtt HitsTable.Arn".to_string()),
            ("dynamodb:PutItem".to_string(), "GetAtt TokensTable.Arn".to_string()),
            ("dynamodb:UpdateItem".to_string(), "GetAtt HitsTable.Arn".to_string()),
            ("kms:Decrypt".to_string(), "GetAtt AlertTopicKey.Arn".to_string()),
            (
                "kms:GenerateDataKey*".to_string(),
                "GetAtt AlertTopicKey.Arn".to_string()
            ),
            (
                "secretsmanager:GetSecretValue".to_string(),
                "If UseFrontDoor Ref OriginVerifySecret".to_string()
            ),
            (
                "secretsmanager:GetSecretValue".to_string(),
                "Ref SigningKeySecret".to_string()
            ),
            ("sns:GetTopicAttributes".to_string(), "Ref AlertTopic".to_string()),
            ("sns:Publish".to_string(), "Ref AlertTopic".to_string()),
        ]
    );
    // The tokens-table write is for test-mark nonces only.
    let mark_put = policies[0]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|st| {
            st["Action"].as_str() == Some("dynamodb:PutItem")
                && tagged(&st["Resource"]).unwrap().1.as_str() == Some("TokensTable.Arn")
        })
        .unwrap();
    assert_eq!(
        mark_put["Condition"]["ForAllValues:StringLike"]["dynamodb:LeadingKeys"][0].as_str(),
        Some("mark#*")
    );
    assert_eq!(
        mark_put["Condition"]["ForAllValues:StringEquals"]["dynamodb:Attributes"]
            .as_sequence()
            .unwrap()
            .len(),
        2
    );
    assert_eq!(
        r["TokensTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"].as_str(),
        Some("expires_at")
    );
    let env = &decoy["Environment"]["Variables"];
    for (var, target) in [
        ("TOKENS_TABLE", "TokensTable"),
        ("HITS_TABLE", "HitsTable"),
        ("SIGNING_KEY_SECRET_ARN", "SigningKeySecret"),
        ("HIT_TTL_DAYS", "HitTtlDays"),
    ] {
        let (tag, v) = tagged(&env[var]).unwrap_or_else(|| panic!("{var} is set from the stack"));
        assert_eq!((tag.as_str(), v.as_str()), ("Ref", Some(target)), "{var}");
    }
    for keep in ["TokensTable", "HitsTable", "SigningKeySecret"] {
        assert_eq!(r[keep]["DeletionPolicy"].as_str(), Some("Retain"), "{keep}");
        assert_eq!(r[keep]["UpdateReplacePolicy"].as_str(), Some("Retain"), "{keep}");
    }
    // Whatever else the pager's filter lets through, a `test` = "true" message is not.
    let pd = &r["PagerDutySubscription"]["Properties"];
    assert_eq!(pd["FilterPolicyScope"].as_str(), Some("MessageAttributes"));
    let policy = &pd["FilterPolicy"];
    let branches: Vec<&serde_norway::Value> = match policy["$or"].as_sequence() {
        Some(or) => or.iter().collect(),
        None => vec![policy],
    };
    let mut admits_false = false;
    for b in branches {
        let test = b["test"].as_sequence().expect("every branch constrains `test`");
        assert!(
            !test.iter().any(|v| v.as_str() == Some("true")),
            "test hits must never page: {b:?}"
        );
        admits_false |= test.iter().any(|v| v.as_str() == Some("false"));
        // Low (a suspicious request, past the bounds with no token) never pages either.
        let severity = b["severity"].as_sequence().expect("every branch constrains `severity`");
        let sevs: Vec<&str> = severity.iter().filter_map(|v| v.as_str()).collect();
        assert!(!sevs.contains(&"low") && !sevs.contains(&"info"), "{b:?}");
        assert!(
            sevs.contains(&"critical") && sevs.contains(&"high"),
            "real hits page: {b:?}"
        );
        for sev in sevs {
            assert!(
                ["critical", "high"].contains(&sev),
                "a severity the alerter never sets: {sev}"
            );
        }
    }
    assert!(admits_false, "real hits page");
    let secret = &r["SigningKeySecret"]["Properties"]["GenerateSecretString"];
    assert_eq!(secret["PasswordLength"].as_u64(), Some(64));
    assert!(secret["PasswordLength"].as_u64().unwrap() as usize >= honeytoken::domain::key::MIN_SECRET_LEN);
    let outputs = t["Outputs"].as_mapping().unwrap();
    for o in [
        "ApiUrl",
        "AlertTopicArn",
        "TokensTableName",
        "HitsTableName",
        "SigningKeySecretArn",
    ] {
        assert!(outputs.contains_key(o), "output {o}");
    }
    // The CLI reads these outputs by name.
    for o in [
        honeytoken::wiring::stack::OUTPUT_TOKENS_TABLE,
        honeytoken::wiring::stack::OUTPUT_HITS_TABLE,
        honeytoken::wiring::stack::OUTPUT_SECRET_ARN,
    ] {
        assert!(outputs.contains_key(o), "output {o}");
    }
}

#[tokio::test]
async fn tokens_round_trip_with_conditional_writes() {
    let (_, client, t) = setup().await;
    let s = store(&client, &t);
    let key = SigningKey::from_secret(&[7u8; 32]).unwrap();
    let now = OffsetDateTime::now_utc();
    let a = mint(&key, &key_spec(), "ci-secrets", "github.com/acme/api/.env", "memo", now).unwrap();
    let b = mint(
        &key,
        &MintSpec::Jwt {
            issuer: "https://auth.acme.test".into(),
        },
        "docs",
        "",
        "",
        now,
    )
    .unwrap();

    s.create(&a).await.unwrap();
    s.create(&b).await.unwrap();
    assert_eq!(s.get(&a.id).await.unwrap().as_ref(), Some(&a));
    assert_eq!(s.get(&b.id).await.unwrap().as_ref(), Some(&b));
    assert_eq!(s.get("0000000000000000").await.unwrap(), None);

    // Creating an existing id is a conflict and leaves the stored token alone.
    let mut clash = b.clone();
    clash.id = a.id.clone();
    match s.create(&clash).await {
        Err(Error::Conflict(id)) => assert_eq!(id, a.id),
        other => panic!("expected a conflict, got {other:?}"),
    }
    assert_eq!(s.get(&a.id).await.unwrap().as_ref(), Some(&a));

    // Updates apply to existing tokens only.
    let disabled = honeytoken::store::set_state(&s, &a.id, TokenState::Disabled)
        .await
        .unwrap();
    assert_eq!(s.get(&a.id).await.unwrap().unwrap().state, TokenState::Disabled);
    assert_eq!(disabled.state, TokenState::Disabled);
    let mut ghost = a.clone();
    ghost.id = "ffffffffffffffff".into();
    assert!(matches!(s.update(&ghost).await, Err(Error::NotFound(_))));

    let ids: Vec<String> = s
        .with_page_size(1)
        .list()
        .await
        .unwrap()
        .into_iter()
        .map(|t| t.id)
        .collect();
    let mut want = vec![a.id.clone(), b.id.clone()];
    want.sort();
    let mut got = ids.clone();
    got.sort();
    assert_eq!(got, want, "list reads every page");
}

#[tokio::test]
async fn hits_round_trip_with_ttl_day_and_ip_attributes() {
    let (_, client, t) = setup().await;
    let s = store(&client, &t).with_hit_ttl_days(30);
    let at = OffsetDateTime::now_utc() - time::Duration::minutes(5);
    let h = hit_at("00112233aabbccdd", at, "203.0.113.7", 1);
    s.put(&h).await.unwrap();

    let raw = client
        .get_item()
        .table_name(t.name("HitsTable"))
        .key("token_id", AttributeValue::S(h.token_id.clone()))
        .key("hit_id", AttributeValue::S(h.hit_id.clone()))
        .send()
        .await
        .unwrap()
        .item
        .expect("hit stored under token_id + hit_id");
    let expires: i64 = raw["expires_at"].as_n().unwrap().parse().unwrap();
    let received = h.received_at.time().unix_timestamp();
    assert_eq!(expires, received + 30 * 86_400);
    let day = raw["day"].as_s().unwrap();
    assert_eq!(
        day,
        &format!(
            "{}#{}",
            h.received_at.time().date(),
            honeytoken::store::dynamodb::day_shard(&h.hit_id)
        ),
        "the by_day key is the day and a shard of the hit id"
    );
    assert_eq!(raw["ip"].as_s().unwrap(), "203.0.113.7");

    let back = s
        .query(&HitQuery {
            token_id: Some(h.token_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(back, vec![h.clone()]);

    // The default TTL is 400 days.
    let d = store(&client, &t);
    let h2 = hit_at("00112233aabbccdd", at, "203.0.113.7", 2);
    let item = d.hit_item(&h2).unwrap();
    let e: i64 = item["expires_at"].as_n().unwrap().parse().unwrap();
    assert_eq!(e, received + i64::from(DEFAULT_HIT_TTL_DAYS) * 86_400);
}

/// Hits stored before times always had three fraction digits keep their
/// `received_at` text (`.5Z`, `.52Z`), which the indexes sort as text
/// (`.5Z` after `.52Z`). Every query still answers in time order, the
/// newest `limit` are the newest by time, and `since` compares times.
#[tokio::test]
async fn hits_stored_with_short_fractions_are_ordered_as_times() {
    let (_, client, t) = setup().await;
    // One item a page: the limit falls inside the second of mixed widths.
    let s = store(&client, &t).with_page_size(1);
    let second = (OffsetDateTime::now_utc() - time::Duration::minutes(5))
        .replace_nanosecond(0)
        .unwrap();
    let base = second.format(&time::format_description::well_known::Rfc3339).unwrap();
    let base = base.trim_end_matches('Z');
    let ms = |m: i64| second + time::Duration::milliseconds(m);
    // (id, time, text as the old formatter wrote it)
    let old = [
        (1u128, ms(100), format!("{base}.1Z")),
        (2, ms(500), format!("{base}.5Z")),
        (3, ms(520), format!("{base}.52Z")),
        (4, ms(820), format!("{base}.82Z")),
        (5, ms(830), format!("{base}.83Z")),
    ];
    let mut hits = Vec::new();
    for (n, at, text) in &old {
        let h = hit_at("a0a0a0a0b1b1b1b1", *at, "203.0.113.77", *n);
        let mut item = s.hit_item(&h).unwrap();
        item.insert("received_at".into(), AttributeValue::S(text.clone()));
        client
            .put_item()
            .table_name(t.name("HitsTable"))
            .set_item(Some(item))
            .send()
            .await
            .unwrap();
        hits.push(h);
    }
    let ids = |hs: Vec<Hit>| hs.into_iter().map(|h| h.hit_id).collect::<Vec<_>>();
    let want = |ns: &[usize]| ns.iter().map(|&i| hits[i].hit_id.clone()).collect::<Vec<_>>();
    for q in [
        HitQuery::default(),
        HitQuery {
            source_ip: Some("203.0.113.77".into()),
            ..Default::default()
        },
        HitQuery {
            token_id: Some("a0a0a0a0b1b1b1b1".into()),
            ..Default::default()
        },
    ] {
        assert_eq!(ids(s.query(&q).await.unwrap()), want(&[0, 1, 2, 3, 4]), "{q:?}");
        // As text, the newest two would be .83Z and .5Z.
        let newest = HitQuery {
            limit: Some(2),
            ..q.clone()
        };
        assert_eq!(ids(s.query(&newest).await.unwrap()), want(&[3, 4]), "{newest:?}");
        let newest = HitQuery {
            limit: Some(3),
            ..q.clone()
        };
        assert_eq!(ids(s.query(&newest).await.unwrap()), want(&[2, 3, 4]), "{newest:?}");
        // As text, .5Z is after .510Z.
        let since = HitQuery {
            since: Some(ms(510).into()),
            ..q.clone()
        };
        assert_eq!(ids(s.query(&since).await.unwrap()), want(&[2, 3, 4]), "{since:?}");
    }
}

/// 1,200 hits over 12 days, 3 tokens and 4 addresses, read back through
/// every access path with 100-item pages: each answer must be exact, come
/// from Queries over several pages, and never from a Scan.
#[tokio::test]
async fn since_and_source_ip_are_paginated_queries_not_scans() {
    let (_, client, t) = setup().await;
    let s = store(&client, &t).with_page_size(100);
    let now = OffsetDateTime::now_utc() - time::Duration::seconds(5);
    let tokens = ["1111111111111111", "2222222222222222", "3333333333333333"];
    let ips = ["198.51.100.1", "198.51.100.2", "2001:db8::7", "203.0.113.200"];
    let mut all = Vec::new();
    for i in 0..1200u32 {
        // Three quarters within the last 36 hours, the rest 3 to 12 days old.
        let age = if i % 4 == 3 {
            time::Duration::days(3 + i64::from(i % 10)) + time::Duration::minutes(i64::from(i))
        } else {
            time::Duration::minutes(i64::from(i) * 2)
        };
        all.push(hit_at(
            tokens[(i % 3) as usize],
            now - age,
            ips[(i % 4) as usize],
            u128::from(i),
        ));
    }
    let shared = Arc::new(s.clone());
    let mut set = tokio::task::JoinSet::new();
    for chunk in all.chunks(75) {
        let (st, chunk) = (shared.clone(), chunk.to_vec());
        set.spawn(async move {
            for h in &chunk {
                st.put(h).await.unwrap();
            }
        });
    }
    while let Some(r) = set.join_next().await {
        r.unwrap();
    }

    let expect = |f: &dyn Fn(&Hit) -> bool| -> Vec<Hit> {
        let mut v: Vec<Hit> = all.iter().filter(|h| f(h)).cloned().collect();
        v.sort_by(|a, b| a.received_at.cmp(&b.received_at).then(a.hit_id.cmp(&b.hit_id)));
        v
    };
    let since = honeytoken::domain::time::Timestamp::from(now - time::Duration::hours(48));

    // --since: the by_day index, one partition per day.
    let q0 = s.stats().queries();
    let got = s
        .query(&HitQuery {
            since: Some(since),
            ..Default::default()
        })
        .await
        .unwrap();
    let want = expect(&|h| h.received_at >= since);
    assert_eq!(want.len(), 900);
    assert_eq!(got, want);
    assert!(
        s.stats().queries() - q0 >= 9,
        "900 hits at 100 a page take 9+ query pages"
    );

    // --since with a limit: the newest N, oldest first.
    let got = s
        .query(&HitQuery {
            since: Some(since),
            limit: Some(250),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(got, want[want.len() - 250..].to_vec());

    // By source address: the by_source_ip index.
    let q0 = s.stats().queries();
    let got = s
        .query(&HitQuery {
            source_ip: Some("2001:db8::7".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    let want = expect(&|h| h.source_ip == "2001:db8::7");
    assert_eq!(want.len(), 300);
    assert_eq!(got, want);
    assert!(s.stats().queries() - q0 >= 3);
    let got = s
        .query(&HitQuery {
            source_ip: Some("198.51.100.1".into()),
            since: Some(since),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        got,
        expect(&|h| h.source_ip == "198.51.100.1" && h.received_at >= since)
    );

    // By token (the base table), bounded by time through the ULID sort key.
    let got = s
        .query(&HitQuery {
            token_id: Some(tokens[1].into()),
            since: Some(since),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(got, expect(&|h| h.token_id == tokens[1] && h.received_at >= since));
    let got = s
        .query(&HitQuery {
            token_id: Some(tokens[2].into()),
            source_ip: Some("198.51.100.2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        got,
        expect(&|h| h.token_id == tokens[2] && h.source_ip == "198.51.100.2")
    );

    // No filter: every day partition back to the TTL.
    let got = s
        .query(&HitQuery {
            limit: Some(1000),
            ..Default::default()
        })
        .await
        .unwrap();
    let everything = expect(&|_| true);
    assert_eq!(got, everything[200..].to_vec());

    assert_eq!(s.stats().scans(), 0, "the hits table is never scanned");
}

// ------------------------------------------------------------------ flood

/// DynamoDB's size of an item (attribute names plus values; "DynamoDB item
/// sizes and formats", DynamoDB developer guide) for the types used here.
fn item_size(item: &std::collections::HashMap<String, AttributeValue>) -> usize {
    fn v(a: &AttributeValue) -> usize {
        match a {
            AttributeValue::S(s) => s.len(),
            AttributeValue::N(n) => n.len().div_ceil(2) + 1,
            AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
            AttributeValue::L(l) => 3 + l.iter().map(|e| v(e) + 1).sum::<usize>(),
            AttributeValue::M(m) => 3 + m.iter().map(|(k, e)| k.len() + v(e) + 1).sum::<usize>(),
            _ => 0,
        }
    }
    item.iter().map(|(k, a)| k.len() + v(a)).sum()
}

/// The flood rule on DynamoDB: past `whole`, one counter item takes every
/// request (exact under concurrency, small, in no index), the bucket's
/// counter record is found by every read path with its count, and the
/// samples stay bounded and distinct even when two processes add them.
#[tokio::test]
async fn a_flood_is_counted_exactly_in_a_small_unindexed_counter() {
    use honeytoken::domain::flood::{FloodRule, MAX_SAMPLES};
    use honeytoken::store::Kept;
    let (_, client, t) = setup().await;
    let a = Arc::new(store(&client, &t));
    // A second process: its own memory of which samples it has added.
    let b = Arc::new(store(&client, &t));
    let rule = FloodRule {
        whole: 3,
        bucket: std::time::Duration::from_secs(3600),
    };
    let token = "0123456789abcdef";
    let ip = "192.0.2.77";
    let at = OffsetDateTime::now_utc() - time::Duration::seconds(1);
    // The bucket must not end mid-test: move to the start of the next one if close.
    let bucket_ms = rule.bucket.as_millis() as i64;
    let at_ms = (at.unix_timestamp_nanos() / 1_000_000) as i64;
    let at = if bucket_ms - at_ms.rem_euclid(bucket_ms) < 60_000 {
        at - time::Duration::minutes(2)
    } else {
        at
    };
    let mut kept = Vec::new();
    for i in 0..4u128 {
        kept.push(a.record(&hit_at(token, at, ip, i), &rule).await.unwrap());
    }
    assert_eq!(
        kept,
        [Kept::Whole, Kept::Whole, Kept::Whole, Kept::Counted { count: 1 }]
    );

    // 96 more, alternately from two processes, with 20 distinct paths and 3
    // user agents. In turn, not concurrently: moto applies an UpdateItem as a
    // read and a write without a lock, so concurrent ADDs can be lost there;
    // DynamoDB's ADD is atomic ("atomic counters", DynamoDB developer guide).
    let mut counts = Vec::new();
    for i in 4..100u128 {
        let s = if i % 2 == 0 { &a } else { &b };
        let mut h = hit_at(token, at, ip, i);
        h.path = format!("/v1/p{}", i % 20);
        h.user_agent = format!("ua/{}", i % 3);
        match s.record(&h, &rule).await.unwrap() {
            Kept::Counted { count } => counts.push(count),
            other => panic!("past `whole` every hit is counted, got {other:?}"),
        }
    }
    assert_eq!(
        counts,
        (2..=97).collect::<Vec<u64>>(),
        "every ADD returned its own count"
    );

    // The counter: tiny, no index key, no hit field.
    let key = rule.key(&hit_at(token, at, ip, 0));
    let raw = client
        .get_item()
        .table_name(t.name("HitsTable"))
        .key("token_id", AttributeValue::S(token.into()))
        .key("hit_id", AttributeValue::S(format!("{}#n", key.counter_id())))
        .send()
        .await
        .unwrap()
        .item
        .expect("the counter item");
    assert_eq!(raw["flood_n"].as_n().unwrap(), "100");
    for k in ["day", "ip", "received_at"] {
        assert!(!raw.contains_key(k), "the counter carries no {k}: {raw:?}");
    }
    assert!(item_size(&raw) < 1024, "{} bytes", item_size(&raw));

    // Every read path finds the counter record with its count; the total is exact.
    let by_token = a
        .query(&HitQuery {
            token_id: Some(token.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(by_token.len(), 4, "three whole hits and one counter record");
    assert_eq!(by_token.iter().map(|h| h.count).sum::<u64>(), 100);
    let head = by_token.iter().find(|h| h.flood.is_some()).expect("the counter record");
    assert_eq!(head.hit_id, key.counter_id());
    assert_eq!(head.count, 97);
    assert!(head.headers.is_empty());
    let samples = head.flood.as_ref().unwrap();
    assert_eq!(samples.paths.len(), MAX_SAMPLES, "{:?}", samples.paths);
    let mut distinct = samples.paths.clone();
    distinct.sort();
    distinct.dedup();
    assert_eq!(distinct.len(), samples.paths.len(), "distinct: {:?}", samples.paths);
    assert_eq!(
        samples.user_agents.len(),
        4,
        "the first hit's and three more: {:?}",
        samples.user_agents
    );

    let since = honeytoken::domain::time::Timestamp::from(at - time::Duration::minutes(1));
    for q in [
        HitQuery {
            source_ip: Some(ip.into()),
            ..Default::default()
        },
        HitQuery {
            since: Some(since),
            ..Default::default()
        },
        HitQuery {
            token_id: Some(token.into()),
            since: Some(since),
            source_ip: Some(ip.into()),
            ..Default::default()
        },
    ] {
        let got = b.query(&q).await.unwrap();
        let got: Vec<&Hit> = got.iter().filter(|h| h.token_id == token).collect();
        assert_eq!(got.len(), 4, "{q:?}");
        assert_eq!(got.iter().map(|h| h.count).sum::<u64>(), 100, "{q:?}");
    }
    // The alerter's read: the bucket's counter record by key.
    use honeytoken::store::FloodCounters;
    let heads = a.flood_heads(token, &[key.counter_id()]).await.unwrap();
    assert_eq!(heads.len(), 1);
    assert_eq!(heads[0].count, 97);
}

/// A bucket's head whose put failed (here the first counted request's item
/// is over DynamoDB's 400 KB item limit; a throttle or a network error does
/// the same) is written by the bucket's next request whose put succeeds: the flood still has
/// its record, for the readers and for the alerter's stream, with the exact
/// count.
#[tokio::test]
async fn a_flood_head_whose_put_failed_is_written_by_the_next_request() {
    use honeytoken::domain::flood::FloodRule;
    use honeytoken::store::Kept;
    let (_, client, t) = setup().await;
    let a = store(&client, &t);
    let rule = FloodRule {
        whole: 1,
        bucket: std::time::Duration::from_secs(3600),
    };
    let token = "00112233445566ff";
    let ip = "192.0.2.78";
    // Ten minutes into the current hour: well inside one bucket.
    let now = OffsetDateTime::now_utc();
    let at = now.replace_minute(10).unwrap().replace_second(0).unwrap();
    let at = if at > now { at - time::Duration::hours(1) } else { at };
    assert_eq!(a.record(&hit_at(token, at, ip, 0), &rule).await.unwrap(), Kept::Whole);
    let huge = |i: u128| Hit {
        path: format!("/{}", "x".repeat(450 * 1024)),
        ..hit_at(token, at, ip, i)
    };
    assert!(
        a.record(&huge(1), &rule).await.is_err(),
        "the head is over the item limit"
    );
    // The next request's repair fails too: counted, and the one after tries again.
    assert_eq!(a.record(&huge(2), &rule).await.unwrap(), Kept::Counted { count: 2 });
    for i in 3..6u128 {
        assert_eq!(
            a.record(&hit_at(token, at, ip, i), &rule).await.unwrap(),
            Kept::Counted { count: i as u64 }
        );
    }
    let got = a
        .query(&HitQuery {
            token_id: Some(token.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(got.len(), 2, "the whole hit and the flood's record: {got:#?}");
    assert_eq!(got.iter().map(|h| h.count).sum::<u64>(), 6, "every request counted");
    let head = got.iter().find(|h| h.flood.is_some()).expect("the flood's record");
    assert_eq!(head.count, 5);
    assert_eq!(head.path, "/v1/charges", "written from the next request");
}

// ------------------------------------------------------------------ CLI

fn cli(args: &[&str]) -> Output {
    Command::new(env!("CARGO_BIN_EXE_honeytoken"))
        .args(args)
        .env("AWS_ENDPOINT_URL", support::endpoint())
        .env_remove("HONEYTOKEN_STACK")
        .env_remove("HONEYTOKEN_TOKENS_TABLE")
        .env_remove("HONEYTOKEN_HITS_TABLE")
        .env_remove("HONEYTOKEN_SECRET_ARN")
        .env_remove("HONEYTOKEN_BACKEND")
        .env_remove("HONEYTOKEN_SIGNING_KEY")
        .output()
        .expect("run honeytoken")
}

/// The decoy function's environment over these tables and key, no floor.
fn decoy_env(tokens: &str, hits: &str, secret_arn: &str) -> honeytoken::wiring::stack::DecoyEnv {
    honeytoken::wiring::stack::DecoyEnv {
        tokens_table: tokens.into(),
        hits_table: hits.into(),
        secret_arn: secret_arn.into(),
        hit_ttl_days: 400,
        min_latency_ms: 0,
        origin_verify_secret_arn: None,
        alert_topic_arn: None,
        flood: Default::default(),
    }
}

/// The global options naming a stack's tables and key explicitly.
fn aws_args(tokens: &str, hits: &str, secret_arn: &str) -> Vec<String> {
    [
        "--backend",
        "aws",
        "--tokens-table",
        tokens,
        "--hits-table",
        hits,
        "--secret-arn",
        secret_arn,
    ]
    .map(String::from)
    .to_vec()
}

/// `base` followed by `extra`, as `cli` takes them.
fn with_args<'a>(base: &'a [String], extra: &[&'a str]) -> Vec<&'a str> {
    base.iter().map(String::as_str).chain(extra.iter().copied()).collect()
}

fn cli_ok(args: &[&str]) -> String {
    let o = cli(args);
    assert!(
        o.status.success(),
        "honeytoken {args:?}: {}",
        String::from_utf8_lossy(&o.stderr)
    );
    String::from_utf8(o.stdout).unwrap()
}

#[tokio::test]
async fn cli_mints_against_the_tables_and_shows_the_decoys_hits() {
    let (conf, client, t) = setup().await;
    let secret_arn = support::create_signing_secret(&conf).await;
    let (tokens, hits) = (t.name("TokensTable").to_string(), t.name("HitsTable").to_string());
    let base = aws_args(&tokens, &hits, &secret_arn);
    let run = |extra: &[&str]| cli_ok(&with_args(&base, extra));

    let minted: serde_json::Value = serde_json::from_str(&run(&[
        "mint",
        "--kind",
        "key",
        "--prefix",
        "acme_live_",
        "--label",
        "payments-ci",
        "--location",
        "ci/.env",
        "--format",
        "json",
    ]))
    .unwrap();
    let (id, token) = (
        minted["id"].as_str().unwrap().to_string(),
        minted["token"].as_str().unwrap().to_string(),
    );

    // The token is in DynamoDB, readable by the library too.
    let s = store(&client, &t);
    assert_eq!(s.get(&id).await.unwrap().unwrap().token, token);
    let listed = run(&["list", "--format", "json"]);
    assert!(listed.contains(&id), "{listed}");

    // The decoy, built exactly as the Lambda builds it, records a hit.
    let env = decoy_env(&tokens, &hits, &secret_arn);
    let decoy = honeytoken::wiring::stack::decoy(&conf, &env).await.unwrap();
    let req = http::Request::builder()
        .method("POST")
        .uri("/v1/charges?amount=100")
        .header("authorization", format!("Bearer {token}"))
        .header("user-agent", "curl/8.5.0")
        .body(bytes::Bytes::new())
        .unwrap();
    let meta = honeytoken::decoy::RequestMeta {
        source_ip: "198.51.100.23".into(),
        request_id: Some("r-1".into()),
    };
    let resp = decoy.handle(req, meta).await;
    assert_eq!(resp.status(), decoy.persona().response().status());

    let shown: Vec<serde_json::Value> = serde_json::from_str(&run(&["hits", "--format", "json"])).unwrap();
    assert_eq!(shown.len(), 1, "{shown:?}");
    assert_eq!(shown[0]["token_id"], id.as_str());
    assert_eq!(shown[0]["source_ip"], "198.51.100.23");
    assert_eq!(shown[0]["label"], "payments-ci");
    assert_eq!(shown[0]["path"], "/v1/charges");
    let recent: Vec<serde_json::Value> =
        serde_json::from_str(&run(&["hits", "--since", "1h", "--token", &id, "--format", "json"])).unwrap();
    assert_eq!(recent.len(), 1);

    // disable / show go through the same store.
    run(&["disable", &id]);
    assert_eq!(s.get(&id).await.unwrap().unwrap().state, TokenState::Disabled);
    let shown = run(&["show", &id, "--format", "json"]);
    assert!(shown.contains("disabled"), "{shown}");
}

#[tokio::test]
async fn cli_reads_tables_and_secret_from_the_stack_outputs() {
    let (conf, client, t) = setup().await;
    let secret_arn = support::create_signing_secret(&conf).await;
    let stack = support::unique("honeytoken-test");
    // A stand-in stack whose outputs name the test tables, as a deployed
    // stack's outputs name its own.
    let body = serde_json::json!({
        "Resources": { "Topic": { "Type": "AWS::SNS::Topic" } },
        "Outputs": {
            "TokensTableName": { "Value": t.name("TokensTable") },
            "HitsTableName": { "Value": t.name("HitsTable") },
            "SigningKeySecretArn": { "Value": secret_arn },
        }
    });
    aws_sdk_cloudformation::Client::new(&conf)
        .create_stack()
        .stack_name(&stack)
        .template_body(body.to_string())
        .send()
        .await
        .expect("create stack");

    let out = cli_ok(&[
        "--backend",
        "aws",
        "--stack",
        &stack,
        "mint",
        "--kind",
        "jwt",
        "--label",
        "stack-test",
        "--format",
        "json",
    ]);
    let id = serde_json::from_str::<serde_json::Value>(&out).unwrap()["id"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(store(&client, &t).get(&id).await.unwrap().unwrap().label, "stack-test");

    let o = cli(&["--backend", "aws", "--stack", "no-such-stack", "list"]);
    assert!(!o.status.success());
    let err = String::from_utf8_lossy(&o.stderr);
    assert!(err.contains("no-such-stack"), "{err}");

    let o = cli(&["--backend", "aws", "list"]);
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("--stack"));
}

/// The global allowlist lives in one item of the tokens table (read by the
/// decoy with the GetItem it already may do) and never shows up as a token.
#[tokio::test]
async fn global_allowlist_round_trips_beside_the_tokens() {
    use honeytoken::domain::allow::AllowEntry;
    use honeytoken::store::AllowStore;
    let (_conf, client, t) = setup().await;
    let s = store(&client, &t);
    let key = honeytoken::domain::key::SigningKey::from_secret(&[4u8; 32]).unwrap();
    let tok = honeytoken::domain::token::mint(&key, &key_spec(), "a", "", "", OffsetDateTime::now_utc()).unwrap();
    s.create(&tok).await.unwrap();
    assert!(s.allow_list().await.unwrap().is_empty());
    s.allow_add(&AllowEntry::new("10.1.2.3/16", "ci").unwrap())
        .await
        .unwrap();
    s.allow_add(&AllowEntry::new("192.0.2.7", "scanner").unwrap())
        .await
        .unwrap();
    s.allow_add(&AllowEntry::new("10.1.0.0/16", "ci runners").unwrap())
        .await
        .unwrap();
    let got: Vec<(String, String)> = s
        .allow_list()
        .await
        .unwrap()
        .into_iter()
        .map(|e| (e.cidr, e.note))
        .collect();
    assert_eq!(
        got,
        vec![
            ("10.1.0.0/16".to_string(), "ci runners".to_string()),
            ("192.0.2.7/32".to_string(), "scanner".to_string())
        ]
    );
    assert!(s.allow_remove("192.0.2.7/32").await.unwrap());
    assert!(!s.allow_remove("192.0.2.7/32").await.unwrap());
    assert_eq!(s.allow_list().await.unwrap().len(), 1);
    // A test mark's nonce: one conditional write wins, and it is no token either.
    use honeytoken::store::MarkStore;
    assert!(
        s.claim_mark("0011223344556677-aabbccdd00112233", 4_000_000_000)
            .await
            .unwrap()
    );
    let other = store(&client, &t);
    assert!(
        !other
            .claim_mark("0011223344556677-aabbccdd00112233", 4_000_000_000)
            .await
            .unwrap()
    );
    let tokens = s.list().await.unwrap();
    assert_eq!(tokens.len(), 1, "the allowlist and mark items are not tokens");
    assert_eq!(tokens[0].id, tok.id);
}

/// Issue 14 part 3: `persona put` (and `persona learn`) with `--backend aws`
/// stores the persona beside the tokens; the decoy built as the Lambda builds
/// it answers with it, `list` does not take it for a token, and a stored
/// persona that does not parse leaves the built-in one answering.
#[tokio::test]
async fn a_persona_stored_beside_the_tokens_is_what_the_decoy_answers_with() {
    let (conf, client, t) = setup().await;
    let secret_arn = support::create_signing_secret(&conf).await;
    let (tokens, hits) = (t.name("TokensTable").to_string(), t.name("HitsTable").to_string());
    let base = aws_args(&tokens, &hits, &secret_arn);
    let run = |extra: &[&str]| cli_ok(&with_args(&base, extra));
    let env = decoy_env(&tokens, &hits, &secret_arn);
    let answer = |d: &honeytoken::decoy::Decoy| {
        let r = d.persona().response();
        (
            r.status(),
            r.headers().keys().map(|k| k.to_string()).collect::<Vec<_>>(),
        )
    };
    // Nothing stored: the built-in persona the template names (`api` by default).
    let builtin = honeytoken::wiring::stack::decoy(&conf, &env).await.unwrap();
    let api = honeytoken::decoy::persona::Persona::builtin("api").unwrap();
    assert_eq!(builtin.persona(), &api);

    // A persona file unlike the default (GitHub's answers), put for the stack.
    let github = honeytoken::decoy::persona::Persona::builtin("github").unwrap();
    assert_ne!(github, api);
    let dir = tempfile::tempdir().unwrap();
    let file = dir.path().join("persona.json");
    std::fs::write(&file, cli_ok(&["persona", "show", "github"])).unwrap();
    run(&["persona", "put", file.to_str().unwrap()]);
    let learned = honeytoken::wiring::stack::decoy(&conf, &env).await.unwrap();
    assert_eq!(learned.persona(), &github);
    assert_ne!(answer(&learned), answer(&builtin));
    let listed: Vec<serde_json::Value> = serde_json::from_str(&run(&["list", "--format", "json"])).unwrap();
    assert!(listed.is_empty(), "{listed:?}");

    // A file that is not a persona is refused before anything is stored.
    std::fs::write(&file, "{\"status\": 200}").unwrap();
    let o = cli(&with_args(&base, &["persona", "put", file.to_str().unwrap()]));
    assert!(!o.status.success());
    assert!(String::from_utf8_lossy(&o.stderr).contains("not a persona file"));

    // A stored item that does not parse (written by hand): the built-in one answers.
    client
        .put_item()
        .table_name(&tokens)
        .item("id", AttributeValue::S(honeytoken::store::dynamodb::PERSONA_ID.into()))
        .item("persona", AttributeValue::S("{not json".into()))
        .send()
        .await
        .unwrap();
    let fallback = honeytoken::wiring::stack::decoy(&conf, &env).await.unwrap();
    assert_eq!(fallback.persona(), &api);
}
