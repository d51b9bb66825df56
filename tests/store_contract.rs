//! One contract for every store: the same assertions run against the
//! memory store, SQLite, and DynamoDB on moto (tables created from
//! template.yaml), so an adapter cannot drift from what the use cases
//! expect of the traits. The same for the alert pipeline's state.
//!
//! DynamoDB cases need the moto server `scripts/test.sh` starts.

#[path = "support/aws.rs"]
mod support;

use honeytoken::ErrorKind;
use honeytoken::domain::alert::HitStates;
use honeytoken::domain::flood::FloodRule;
use honeytoken::domain::hit::Hit;
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, TokenRecord, TokenState, mint};
use honeytoken::store::dynamodb::DynamoStore;
use honeytoken::store::dynamodb::alert_state::DynamoAlertState;
use honeytoken::store::memory::{MemoryAlertState, MemoryStore};
use honeytoken::store::sqlite::SqliteStore;
use honeytoken::store::{
    AlertState, Claim, Commit, HitQuery, HitStore, Kept, Marker, OutboxEntry, OutboxKey, PairKey, TokenStore, Window,
    WindowWrite,
};
use honeytoken_core::testkit::{hit_at_time, key};
use std::sync::Arc;
use std::time::Duration;
use time::OffsetDateTime;

fn token(label: &str) -> TokenRecord {
    let shape = KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap();
    mint(
        &key(1),
        &MintSpec::Key(shape),
        label,
        "repo/.env",
        "",
        OffsetDateTime::now_utc(),
    )
    .unwrap()
}

/// Tokens: create, conflict, get, update, not found, list.
async fn token_contract(s: &dyn TokenStore) {
    // Given a new token, when it is created, then it reads back equal.
    let t = token("contract");
    s.create(&t).await.unwrap();
    assert_eq!(s.get(&t.id).await.unwrap().as_ref(), Some(&t));
    // Creating the same id again is a conflict the caller can match.
    let again = s.create(&t).await.unwrap_err();
    assert_eq!(again.kind(), ErrorKind::Conflict, "{again}");
    // An update replaces the record.
    let mut changed = t.clone();
    changed.state = TokenState::Disabled;
    s.update(&changed).await.unwrap();
    assert_eq!(s.get(&t.id).await.unwrap().unwrap().state, TokenState::Disabled);
    // Updating an unknown id is not found; reading one is None.
    let ghost = token("ghost");
    assert_eq!(s.update(&ghost).await.unwrap_err().kind(), ErrorKind::NotFound);
    assert!(s.get(&ghost.id).await.unwrap().is_none());
    // The list holds the token.
    assert!(s.list().await.unwrap().iter().any(|x| x.id == t.id));
}

/// Hits: put, query by token / source / since, limit keeps the newest, oldest first.
async fn hit_contract(s: &dyn HitStore, token_id: &str) {
    let base = OffsetDateTime::now_utc() - time::Duration::hours(3);
    let mut written: Vec<Hit> = Vec::new();
    for i in 0..6u32 {
        let ip = if i % 2 == 0 { "203.0.113.1" } else { "198.51.100.2" };
        let h = hit_at_time(
            token_id,
            ip,
            base + time::Duration::minutes(i64::from(i) * 20),
            u128::from(i),
        );
        s.put(&h).await.unwrap();
        written.push(h);
    }
    let all = s
        .query(&HitQuery {
            token_id: Some(token_id.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(all.len(), 6, "every hit of the token");
    assert_eq!(all, written, "read back field for field, oldest first");

    let from_one = s
        .query(&HitQuery {
            token_id: Some(token_id.into()),
            source_ip: Some("198.51.100.2".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(from_one.len(), 3);
    assert!(from_one.iter().all(|h| h.source_ip == "198.51.100.2"));

    let since = written[3].received_at;
    let recent = s
        .query(&HitQuery {
            token_id: Some(token_id.into()),
            since: Some(since),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(recent, written[3..].to_vec(), "since is inclusive");

    let newest = s
        .query(&HitQuery {
            token_id: Some(token_id.into()),
            limit: Some(2),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(newest, written[4..].to_vec(), "the limit keeps the newest");
}

/// The flood rule: whole hits up to the rule's number, then one counter.
/// Stores without a counter keep every hit whole; either way nothing is lost.
async fn flood_contract(s: &dyn HitStore, token_id: &str, counts: bool) {
    let rule = FloodRule {
        whole: 2,
        bucket: Duration::from_secs(3600),
    };
    let at = OffsetDateTime::now_utc();
    let mut kept = Vec::new();
    for i in 0..5u32 {
        let h = hit_at_time(token_id, "192.0.2.50", at, 1000 + u128::from(i));
        kept.push(s.record(&h, &rule).await.unwrap());
    }
    let stored = s
        .query(&HitQuery {
            token_id: Some(token_id.into()),
            source_ip: Some("192.0.2.50".into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(
        stored.iter().map(|h| h.count).sum::<u64>(),
        5,
        "every request counted exactly"
    );
    if counts {
        assert_eq!(kept[..2], [Kept::Whole, Kept::Whole]);
        assert_eq!(kept[4], Kept::Counted { count: 3 });
        assert_eq!(stored.len(), 3, "two whole records and one counter");
    } else {
        assert!(kept.iter().all(|k| *k == Kept::Whole));
    }
}

async fn every_store_contract(tokens: &dyn TokenStore, hits: &dyn HitStore, counts_floods: bool) {
    token_contract(tokens).await;
    hit_contract(hits, &format!("{:016x}", rand_id())).await;
    flood_contract(hits, &format!("{:016x}", rand_id()), counts_floods).await;
}

fn rand_id() -> u64 {
    use std::sync::atomic::{AtomicU64, Ordering};
    static N: AtomicU64 = AtomicU64::new(0);
    let t = OffsetDateTime::now_utc().unix_timestamp_nanos() as u64;
    t ^ (N.fetch_add(1, Ordering::Relaxed) << 48)
}

#[tokio::test]
async fn memory_store_keeps_the_contract() {
    let s = MemoryStore::new();
    every_store_contract(&s, &s, true).await;
}

#[tokio::test]
async fn sqlite_store_keeps_the_contract() {
    let dir = tempfile::tempdir().unwrap();
    let s = SqliteStore::open(&dir.path().join("contract.db")).unwrap();
    every_store_contract(&s, &s, true).await;
}

#[tokio::test]
async fn dynamodb_store_keeps_the_contract() {
    let conf = support::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let t = support::Tables::create(&client).await;
    let s = DynamoStore::new(client.clone(), t.name("TokensTable"), t.name("HitsTable"));
    every_store_contract(&s, &s, true).await;
}

/// Hit items carry their TTL in the attribute the template names, set from
/// the hit's own time plus the configured days.
#[tokio::test]
async fn dynamodb_hits_carry_the_templates_ttl_attribute() {
    let template = support::template();
    let ttl_attr = template["Resources"]["HitsTable"]["Properties"]["TimeToLiveSpecification"]["AttributeName"]
        .as_str()
        .expect("the hits table has a TTL attribute")
        .to_string();
    let conf = support::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let t = support::Tables::create(&client).await;
    let s = DynamoStore::new(client.clone(), t.name("TokensTable"), t.name("HitsTable")).with_hit_ttl_days(30);
    let h = hit_at_time("00112233aabbccdd", "203.0.113.9", OffsetDateTime::now_utc(), 7);
    let item = s.hit_item(&h).unwrap();
    let ttl: i64 = item[&ttl_attr].as_n().unwrap().parse().unwrap();
    assert_eq!(ttl, h.received_at.time().unix_timestamp() + 30 * 86_400);
}

fn pair(n: u32) -> PairKey {
    PairKey {
        token_id: format!("tok{n}"),
        source_ip: "203.0.113.1".into(),
    }
}

/// An outbox key from its stored text form.
fn outbox_key(text: &str) -> OutboxKey {
    text.parse().unwrap()
}

fn entry(text: &str, at: i64) -> OutboxEntry {
    let hit = honeytoken_core::testkit::hit_at("tok", "203.0.113.1", 0, 0);
    OutboxEntry {
        key: outbox_key(text),
        alert: honeytoken::domain::alert::Alert::for_hit(&hit),
        created_ms: at,
    }
}

/// Alert state: a marker is written once; windows are replaced only at the
/// version read; outbox entries are leased once, released, completed.
async fn alert_state_contract(s: &dyn AlertState) {
    let now = 1_800_000_000_000i64;
    let w = Window {
        pair: pair(1),
        start_ms: now,
        end_ms: now + 60_000,
        suppressed: 0,
        last_hit: None,
        first_ms: None,
        alerted: HitStates::of(&honeytoken_core::testkit::hit_at("tok1", "203.0.113.1", 0, 0)),
        folded: HitStates::empty(),
        version: 1,
        floods: vec![],
    };
    let first = Commit {
        marker: Some(Marker {
            hit_id: "h1".into(),
            outbox: vec![outbox_key("hit#h1")],
            expires_at: now / 1000 + 3600,
        }),
        window: Some(WindowWrite::Replace {
            window: Box::new(w.clone()),
            expected: None,
        }),
        outbox: vec![entry("hit#h1", now)],
        folded: vec![],
    };
    assert!(s.commit(&first).await.unwrap(), "a fresh decision commits");
    assert!(!s.commit(&first).await.unwrap(), "the same marker never commits twice");
    assert_eq!(s.marker("h1").await.unwrap().unwrap().outbox, [outbox_key("hit#h1")]);
    assert_eq!(s.window(&pair(1)).await.unwrap().unwrap().end_ms, now + 60_000);

    // A replace at a stale version fails and writes nothing.
    let stale = Commit {
        window: Some(WindowWrite::Replace {
            window: Box::new(Window {
                version: 9,
                ..w.clone()
            }),
            expected: Some(7),
        }),
        outbox: vec![entry("hit#never", now)],
        ..Default::default()
    };
    assert!(!s.commit(&stale).await.unwrap());
    assert!(matches!(
        s.claim(&outbox_key("hit#never"), now, 1000).await.unwrap(),
        Claim::Gone
    ));

    // Counting a suppressed hit bumps the window.
    let count = Commit {
        window: Some(WindowWrite::Count {
            pair: pair(1),
            at_ms: now + 1,
            hit: Box::new(honeytoken_core::testkit::hit_at("tok1", "203.0.113.1", 1, 1)),
            n: 1,
            floods: vec![],
            first_ms: now + 1,
            states: HitStates::from_names(["tampered"]),
        }),
        ..Default::default()
    };
    assert!(s.commit(&count).await.unwrap());
    let counted = s.window(&pair(1)).await.unwrap().unwrap();
    assert_eq!(counted.suppressed, 1);
    assert!(counted.version > 1);
    assert_eq!(counted.first_ms, Some(now + 1), "the first counted hit's time");
    assert_eq!(counted.alerted, w.alerted, "what the window alerted on is kept");
    assert_eq!(counted.folded.names(), ["tampered"]);

    // Repeats of a pair folded from one batch: their markers and one count of n.
    let mark = |id: &str| Marker {
        hit_id: id.into(),
        outbox: vec![],
        expires_at: now / 1000 + 3600,
    };
    let fold = Commit {
        folded: vec![mark("f1"), mark("f2"), mark("f3")],
        window: Some(WindowWrite::Count {
            pair: pair(1),
            at_ms: now + 2,
            hit: Box::new(honeytoken_core::testkit::hit_at("tok1", "203.0.113.1", 2, 2)),
            n: 3,
            floods: vec!["flood-tok1-0-203.0.113.1".into()],
            first_ms: now + 2,
            states: HitStates::from_names(["active", "retired"]),
        }),
        ..Default::default()
    };
    assert!(s.commit(&fold).await.unwrap());
    let folded = s.window(&pair(1)).await.unwrap().unwrap();
    assert_eq!(folded.suppressed, 4);
    assert_eq!(folded.first_ms, Some(now + 1), "a later count keeps the first time");
    assert_eq!(
        folded.folded.names(),
        ["tampered", "retired", "active"],
        "the states counted add up"
    );
    assert_eq!(
        folded.floods,
        ["flood-tok1-0-203.0.113.1"],
        "the counter record is remembered"
    );
    assert!(s.marker("f2").await.unwrap().is_some());
    // Redelivered, one of them decided already: nothing is counted twice.
    let again = Commit {
        folded: vec![mark("f3"), mark("f4")],
        ..fold.clone()
    };
    assert!(!s.commit(&again).await.unwrap());
    assert!(s.marker("f4").await.unwrap().is_none());
    let w = s.window(&pair(1)).await.unwrap().unwrap();
    assert_eq!(w.suppressed, 4);
    // Put the window back as the rest of the contract expects it.
    assert!(
        s.commit(&Commit {
            window: Some(WindowWrite::Replace {
                window: Box::new(Window {
                    suppressed: 1,
                    version: w.version + 1,
                    floods: vec![],
                    ..w.clone()
                }),
                expected: Some(w.version),
            }),
            ..Default::default()
        })
        .await
        .unwrap()
    );

    // The outbox: one lease at a time, given back, then completed.
    assert!(matches!(
        s.claim(&outbox_key("hit#h1"), now, 60_000).await.unwrap(),
        Claim::Claimed(_)
    ));
    assert!(matches!(
        s.claim(&outbox_key("hit#h1"), now + 1, 60_000).await.unwrap(),
        Claim::Busy
    ));
    s.release(&outbox_key("hit#h1")).await.unwrap();
    assert!(matches!(
        s.claim(&outbox_key("hit#h1"), now + 2, 60_000).await.unwrap(),
        Claim::Claimed(_)
    ));
    s.complete(&outbox_key("hit#h1")).await.unwrap();
    assert!(matches!(
        s.claim(&outbox_key("hit#h1"), now + 3, 60_000).await.unwrap(),
        Claim::Gone
    ));

    // Ended windows with suppressed hits are found for their summaries.
    let ended = s.expired_windows(now + 60_000).await.unwrap();
    assert!(ended.iter().any(|w| w.pair == pair(1) && w.suppressed == 1));
    assert!(s.expired_windows(now).await.unwrap().iter().all(|w| w.pair != pair(1)));
}

#[tokio::test]
async fn memory_alert_state_keeps_the_contract() {
    alert_state_contract(&MemoryAlertState::new()).await;
}

#[tokio::test]
async fn dynamodb_alert_state_keeps_the_contract() {
    let conf = support::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let t = support::Tables::create(&client).await;
    let s = Arc::new(DynamoAlertState::new(client.clone(), t.name("AlertStateTable")));
    alert_state_contract(s.as_ref()).await;
}

/// Suspicious requests (no token, past the scan bounds) and hits naming
/// skipped parts keep their `over_bounds` list in every store; under the
/// suspicious rule, one whole record per source and bucket, the rest counted.
/// The tool persona that answered (`persona`) reads back too, on the
/// whole record and on the flood counter alike.
async fn over_bounds_contract(s: &dyn HitStore, source: &str) {
    use honeytoken::domain::hit::{RequestFacts, SUSPICIOUS_REQUEST, Via};
    let (parts, _) = http::Request::builder().uri("/v1/users").body(()).unwrap().into_parts();
    let facts = RequestFacts::capture(&parts, source);
    let rule = FloodRule::default().for_suspicious();
    for _ in 0..3 {
        let mut h = Hit::suspicious(
            &facts,
            OffsetDateTime::now_utc().into(),
            vec!["cookies".into(), "body".into()],
            Via::Decoy,
        );
        h.persona = Some("registry".into());
        s.record(&h, &rule).await.unwrap();
    }
    let got = s
        .query(&HitQuery {
            token_id: Some(SUSPICIOUS_REQUEST.into()),
            source_ip: Some(source.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(got.iter().map(|h| h.count).sum::<u64>(), 3, "{got:?}");
    assert_eq!(got.len(), 2, "one whole record and one counter: {got:?}");
    for h in &got {
        assert_eq!(h.over_bounds, ["cookies", "body"]);
        assert_eq!(h.label, "suspicious request, no token: cookies, body");
        assert_eq!(h.persona.as_deref(), Some("registry"), "{h:?}");
    }
    let mut h = hit_at_time(&format!("{:016x}", rand_id()), source, OffsetDateTime::now_utc(), 1);
    h.over_bounds = vec!["credential-headers".into()];
    h.persona = Some("vault".into());
    s.put(&h).await.unwrap();
    let back = s
        .query(&HitQuery {
            token_id: Some(h.token_id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(back, [h], "a hit past the bounds reads back with its list");
}

/// A hit as the version before `over_bounds` stored it.
fn old_hit_json(token_id: &str) -> String {
    format!(
        r#"{{"token_id":"{token_id}","hit_id":"01KB5Q6W8N3V0C2Z9Y4T7R1M5E","received_at":"2026-11-28T12:55:45.988Z","source_ip":"81.2.69.142","user_agent":"curl/8.5.0","method":"GET","path":"/v1/charges","query":"","headers":{{"user-agent":"curl/8.5.0"}},"found_in":"authorization","tampered":false,"orphan":false,"test":false,"ignored":false,"geo":null,"asn":null,"token_state":"active","label":"old","location":"repo/.env","via":{{"kind":"decoy"}},"count":1}}"#
    )
}

/// The old hit, read back from a store.
async fn old_hit_reads(s: &dyn HitStore, token_id: &str) {
    let got = s
        .query(&HitQuery {
            token_id: Some(token_id.into()),
            ..Default::default()
        })
        .await
        .unwrap();
    assert_eq!(got.len(), 1, "{got:?}");
    assert_eq!(got[0].label, "old");
    assert_eq!(got[0].path, "/v1/charges");
    assert!(got[0].over_bounds.is_empty());
    assert_eq!(got[0].persona, None, "before tool personas: none answered");
    assert!(!got[0].is_suspicious());
}

#[tokio::test]
async fn sqlite_keeps_over_bounds_and_reads_hits_stored_without_it() {
    let dir = tempfile::tempdir().unwrap();
    let path = dir.path().join("over.db");
    let s = SqliteStore::open(&path).unwrap();
    over_bounds_contract(&s, "192.0.2.77").await;
    // Written as the previous version wrote it, beside the store.
    let c = rusqlite::Connection::open(&path).unwrap();
    c.execute(
        "INSERT INTO hits (hit_id, token_id, received_at, source_ip, doc) VALUES (?1, ?2, ?3, ?4, ?5)",
        rusqlite::params![
            "01KB5Q6W8N3V0C2Z9Y4T7R1M5E",
            "01d0000000000001",
            "2026-11-28T12:55:45.988Z",
            "81.2.69.142",
            old_hit_json("01d0000000000001")
        ],
    )
    .unwrap();
    old_hit_reads(&s, "01d0000000000001").await;
}

#[tokio::test]
async fn memory_store_keeps_over_bounds() {
    over_bounds_contract(&MemoryStore::new(), "192.0.2.77").await;
}

#[tokio::test]
async fn dynamodb_keeps_over_bounds_and_reads_hits_stored_without_it() {
    let conf = support::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let t = support::Tables::create(&client).await;
    let s = DynamoStore::new(client.clone(), t.name("TokensTable"), t.name("HitsTable"));
    over_bounds_contract(&s, "192.0.2.78").await;
    // The item as the previous version wrote it: no `over_bounds` attribute.
    let old: Hit = serde_json::from_str(&old_hit_json("01d0000000000002")).unwrap();
    let item = s.hit_item(&old).unwrap();
    assert!(!item.contains_key("over_bounds"));
    client
        .put_item()
        .table_name(t.name("HitsTable"))
        .set_item(Some(item))
        .send()
        .await
        .unwrap();
    old_hit_reads(&s, "01d0000000000002").await;
}
