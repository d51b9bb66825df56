//! The DynamoDB write cost of a flood, computed from the items the code
//! writes (not measured on moto, which reports a constant): for one hit of a
//! realistic request, the decoy's item and its two index copies, and the
//! alerter's decide-phase transaction, each rounded up by DynamoDB's rules.
//!
//! ```sh
//! cargo run --release --example flood_cost
//! ```
//!
//! Rules used (DynamoDB developer guide, "Item sizes and formats" and
//! "Read/write capacity mode"): an item's size is the sum of its attribute
//! names' UTF-8 lengths and their values' sizes (S: UTF-8 length; N: about
//! one byte per two significant digits, plus one; BOOL and NULL: 1; L and M:
//! 3 bytes plus their elements, M's names included); a standard write costs
//! one write unit per 1 KB of the item, rounded up; a transactional write
//! costs two; every global secondary index holding the item costs a write of
//! its projected size (projection ALL: the whole item).

use aws_sdk_dynamodb::types::AttributeValue;
use honeytoken::domain::hit::{Asn, Geo, Hit};
use honeytoken::store::alert_state::{OutboxKey, PairKey, Window};
use honeytoken::store::dynamodb::DynamoStore;
use honeytoken::store::dynamodb::alert_state::DynamoAlertState;
use std::collections::HashMap;

/// DynamoDB's size of an attribute value, in bytes.
fn value_size(v: &AttributeValue) -> usize {
    match v {
        AttributeValue::S(s) => s.len(),
        AttributeValue::N(n) => {
            let digits = n.chars().filter(|c| c.is_ascii_digit()).count();
            digits.div_ceil(2) + 1
        }
        AttributeValue::Bool(_) | AttributeValue::Null(_) => 1,
        AttributeValue::L(l) => 3 + l.iter().map(|e| value_size(e) + 1).sum::<usize>(),
        AttributeValue::M(m) => 3 + m.iter().map(|(k, e)| k.len() + value_size(e) + 1).sum::<usize>(),
        AttributeValue::Ss(l) => l.iter().map(String::len).sum(),
        AttributeValue::B(b) => b.as_ref().len(),
        _ => 0,
    }
}

/// DynamoDB's size of an item, in bytes.
fn item_size(item: &HashMap<String, AttributeValue>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

/// Write units for an item of `bytes` (1 KB each, rounded up).
fn units(bytes: usize) -> usize {
    bytes.div_ceil(1024).max(1)
}

/// A hit as the decoy records a replayed key from a scripted client: the
/// headers of the API Gateway fixture, geolocation and network owner.
fn realistic_hit(n: u128) -> Hit {
    let mut h =
        honeytoken_core::testkit::hit_at_time("687d6fc3f5e48593", "198.51.100.77", time::OffsetDateTime::now_utc(), n);
    for (k, v) in [
        ("accept", "*/*"),
        ("accept-encoding", "gzip, deflate"),
        ("authorization", "Bearer acme_live_4fllcC1s4rTZdwEDGwszFVMpfYr5tyLx"),
        ("content-length", "47"),
        ("content-type", "application/json"),
        ("host", "api.example.com"),
        ("user-agent", "python-requests/2.32.3"),
        ("x-amzn-trace-id", "Root=1-6748a1c0-3c6f1b0e2d9a4f5b6c7d8e9f"),
        ("x-forwarded-for", "198.51.100.77"),
        ("x-forwarded-port", "443"),
        ("x-forwarded-proto", "https"),
    ] {
        h.headers.insert(k.into(), v.into());
    }
    h.user_agent = "python-requests/2.32.3".into();
    h.path = "/v1/charges".into();
    h.query = "limit=3".into();
    h.label = "payments-repo".into();
    h.location = "github.com/acme/payments/.env".into();
    h.geo = Some(Geo {
        country_code: Some("GB".into()),
        country: Some("United Kingdom".into()),
        city: Some("London".into()),
        latitude: Some(51.5142),
        longitude: Some(-0.0931),
    });
    h.asn = Some(Asn {
        number: 15169,
        org: Some("Google LLC".into()),
    });
    h
}

fn main() {
    // A client is needed to build the store; nothing is sent.
    let conf = aws_sdk_dynamodb::Config::builder()
        .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
        .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
        .build();
    let store = DynamoStore::new(aws_sdk_dynamodb::Client::from_conf(conf), "tokens", "hits");
    let hit = realistic_hit(1);
    let item = store.hit_item(&hit).expect("hit item");
    let hit_bytes = item_size(&item);
    // Base table, by_day and by_source_ip, both projecting ALL.
    let decoy = 3 * units(hit_bytes);

    // The alerter's decide phase for a suppressed (flood) hit: one
    // transaction with the marker put and the window update, which carries
    // the whole last hit as JSON.
    let marker_bytes = "pk".len()
        + OutboxKey::hit(&hit.hit_id).to_string().len()
        + "sk".len()
        + "marker".len()
        + "outbox".len()
        + 3
        + "expires_at".len()
        + 6;
    let window = Window {
        pair: PairKey::of(&hit),
        start_ms: 1,
        end_ms: 900_001,
        suppressed: 9_999,
        last_hit: Some(hit.clone()),
        version: 10_000,
    };
    let window_bytes = item_size(&DynamoAlertState::window_item(&window).expect("window item"));
    let alerter = 2 * (units(marker_bytes) + units(window_bytes));
    let per_hit = decoy + alerter;
    // On-demand list price, us-east-1: $0.625 per million write request units.
    let price_per_million_units = 0.625;
    println!(
        "hit item: {hit_bytes} bytes -> {} WU x 3 (table + 2 indexes projecting ALL) = {decoy} WU",
        units(hit_bytes)
    );
    println!(
        "alerter, suppressed hit: transaction of marker ({marker_bytes} B) + window ({window_bytes} B) = {alerter} WU"
    );
    println!("write units per flood hit: {per_hit}");
    println!(
        "cost per million flood hits (DynamoDB writes only, on-demand, us-east-1): ${:.2}",
        per_hit as f64 * price_per_million_units
    );
}
