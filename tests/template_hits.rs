//! The hits table's template facts behind a flood's bounded cost: indexes
//! that project keys only (so a hit costs each index one write unit), the
//! sharded `day` key the store writes, and the grants the flood counter
//! needs (the decoy's UpdateItem, the alerter's BatchGetItem and nothing more).

#[path = "support/aws.rs"]
mod support;

use honeytoken::store::dynamodb::{DAY_SHARDS, DynamoStore, INDEX_BY_DAY, INDEX_BY_SOURCE_IP, day_shard};
use support::{tagged, target};

fn actions(s: &serde_norway::Value) -> Vec<String> {
    match &s["Action"] {
        serde_norway::Value::String(a) => vec![a.clone()],
        v => v
            .as_sequence()
            .map(|l| l.iter().map(|a| a.as_str().unwrap().to_string()).collect())
            .unwrap_or_default(),
    }
}

/// Both indexes project keys only; their key schemas are what the store queries.
#[test]
fn hit_indexes_project_keys_only() {
    let t = support::template();
    let hits = &t["Resources"]["HitsTable"]["Properties"];
    let gsis = hits["GlobalSecondaryIndexes"].as_sequence().unwrap();
    let mut names = Vec::new();
    for g in gsis {
        let name = g["IndexName"].as_str().unwrap();
        names.push(name);
        assert_eq!(
            g["Projection"]["ProjectionType"].as_str(),
            Some("KEYS_ONLY"),
            "{name}: the reads fetch items with BatchGetItem; a copy of every hit is not worth its writes"
        );
        assert!(g["Projection"]["NonKeyAttributes"].is_null(), "{name}");
        let keys: Vec<&str> = g["KeySchema"]
            .as_sequence()
            .unwrap()
            .iter()
            .map(|k| k["AttributeName"].as_str().unwrap())
            .collect();
        let want = if name == INDEX_BY_DAY {
            ["day", "received_at"]
        } else {
            ["ip", "received_at"]
        };
        assert_eq!(keys, want, "{name}");
    }
    names.sort();
    assert_eq!(names, [INDEX_BY_DAY, INDEX_BY_SOURCE_IP]);
}

/// The `day` key is sharded: a day's hits spread over several index
/// partitions, chosen by a hash of the hit id.
#[test]
fn the_day_key_is_sharded_by_hit_id() {
    // One index partition sustains about 1,000 writes a second.
    const { assert!(DAY_SHARDS >= 4) };
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), "t", "h");
    let mut shards = std::collections::BTreeSet::new();
    for i in 0..64u128 {
        let h = honeytoken_core::testkit::hit_at_time(
            "0123456789abcdef",
            "203.0.113.5",
            time::macros::datetime!(2026-11-28 12:00 UTC),
            i,
        );
        let item = store.hit_item(&h).unwrap();
        let day = item["day"].as_s().unwrap().clone();
        assert_eq!(day, format!("2026-11-28#{}", day_shard(&h.hit_id)));
        shards.insert(day);
    }
    assert_eq!(shards.len(), DAY_SHARDS as usize, "every shard is used: {shards:?}");
}

/// The decoy may update hit items (the flood counter), the alerter may only
/// BatchGetItem them (a summary's counts), and both share the bucket length.
#[test]
fn the_flood_counter_has_exactly_the_grants_it_needs() {
    let t = support::template();
    let r = &t["Resources"];
    let decoy = r["DecoyFunction"]["Properties"]["Policies"][0]["Statement"]
        .as_sequence()
        .unwrap();
    let on_hits = |stmts: &[serde_norway::Value]| -> Vec<String> {
        let mut v: Vec<String> = stmts
            .iter()
            .filter(|s| {
                tagged(&s["Resource"]).is_some_and(|(tag, v)| tag == "GetAtt" && v.as_str() == Some("HitsTable.Arn"))
            })
            .flat_map(actions)
            .collect();
        v.sort();
        v
    };
    assert_eq!(on_hits(decoy), ["dynamodb:PutItem", "dynamodb:UpdateItem"]);
    let alerter = r["AlerterRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    assert_eq!(on_hits(alerter), ["dynamodb:BatchGetItem"]);
    let alerter_env = &r["AlerterFunction"]["Properties"]["Environment"]["Variables"];
    let decoy_env = &r["DecoyFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(target(&alerter_env["HITS_TABLE"]), "HitsTable");
    assert_eq!(
        target(&alerter_env["THROTTLE_WINDOW_MINUTES"]),
        target(&decoy_env["THROTTLE_WINDOW_MINUTES"]),
        "the alerter's window is the decoy's flood bucket"
    );
}
