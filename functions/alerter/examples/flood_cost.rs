//! What a flood costs in DynamoDB, measured against moto: a 10,000-request
//! flood of one (token, source) pair and one request from each of 1,000
//! distinct sources, through the real decoy handler (`wiring::decoy`, the
//! default flood rule) and then the alerter's Lambda handler over the hits
//! table's stream (filtered as the template's event source mapping filters
//! it, in batches of its `BatchSize`). Every DynamoDB request is counted per
//! operation by an SDK interceptor, and its write units are computed from the
//! item sizes (moto reports a constant):
//!
//! * "DynamoDB item sizes and formats" (DynamoDB developer guide,
//!   https://docs.aws.amazon.com/amazondynamodb/latest/developerguide/CapacityUnitCalculations.html):
//!   an item's size is the sum of its attribute names' and values' sizes
//!   (S: UTF-8 bytes; N: 1 byte per two significant digits plus 1; BOOL and
//!   NULL: 1; L and M: 3 plus 1 per element plus the elements, M's names
//!   included);
//! * a standard write costs one write unit per 1 KB, rounded up (an update:
//!   of the larger of the item before and after, here its final size, an
//!   upper bound; a delete: of the deleted item); a transactional write two;
//!   a write that changes an index's entry writes the index too (both hits
//!   indexes project keys only: a new item with `day` / `ip` costs one unit
//!   per index, an update of non-key attributes none).
//!
//! ```sh
//! infra/bench/flood_cost.sh      # starts moto on a free port, runs this, stops moto
//! ```

#[path = "../../../tests/support/alerts.rs"]
mod alerts;
#[path = "../../../tests/support/aws.rs"]
mod support;

use alerter::{handle, parse_invocation};
use aws_sdk_dynamodb::config::interceptors::BeforeTransmitInterceptorContextRef;
use aws_sdk_dynamodb::config::{ConfigBag, Intercept, RuntimeComponents};
use bytes::Bytes;
use honeytoken::alerting::pipeline::{Channel, Pipeline};
use honeytoken::decoy::handler::RequestMeta;
use honeytoken::domain::flood::FloodRule;
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
use honeytoken::notify::sns::Sns;
use honeytoken::store::dynamodb::DynamoStore;
use honeytoken::store::dynamodb::alert_state::DynamoAlertState;
use honeytoken::store::{HitQuery, HitStore, TokenStore};
use serde_json::Value;
use std::collections::{BTreeMap, HashMap};
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

const FLOOD: usize = 10_000;
const PAIRS: usize = 1_000;
/// Requests in flight. One: moto applies an UpdateItem as a read and a
/// write without a lock, so concurrent ADDs to one counter can be lost there
/// (DynamoDB's ADD is atomic), and the run checks that every request is counted.
const CONCURRENCY: usize = 1;
/// The template's event source mapping BatchSize.
const BATCH: usize = 100;
/// On-demand list prices, us-east-1 (aws.amazon.com/dynamodb/pricing/on-demand):
/// dollars per million write request units and read request units.
const WRU_PRICE: f64 = 0.625;
const RRU_PRICE: f64 = 0.125;

/// Requests as (operation, JSON body).
type Log = Arc<Mutex<Vec<(String, Vec<u8>)>>>;

/// Every request's operation (`X-Amz-Target`) and JSON body.
#[derive(Debug, Clone, Default)]
struct Recorder(Log);

impl Intercept for Recorder {
    fn name(&self) -> &'static str {
        "flood-cost-recorder"
    }

    fn read_before_transmit(
        &self,
        ctx: &BeforeTransmitInterceptorContextRef<'_>,
        _rc: &RuntimeComponents,
        _cfg: &mut ConfigBag,
    ) -> Result<(), aws_sdk_dynamodb::error::BoxError> {
        let req = ctx.request();
        let op = req
            .headers()
            .get("x-amz-target")
            .and_then(|t| t.rsplit('.').next())
            .unwrap_or("?")
            .to_string();
        let body = req.body().bytes().map(<[u8]>::to_vec).unwrap_or_default();
        self.0.lock().unwrap().push((op, body));
        Ok(())
    }
}

impl Recorder {
    fn take(&self) -> Vec<(String, Value)> {
        std::mem::take(&mut *self.0.lock().unwrap())
            .into_iter()
            .map(|(op, b)| (op, serde_json::from_slice(&b).unwrap_or(Value::Null)))
            .collect()
    }
}

/// DynamoDB's size of a value in DynamoDB JSON (`{"S": ...}` etc.).
fn value_size(v: &Value) -> usize {
    let (t, x) = match v.as_object().and_then(|o| o.iter().next()) {
        Some(p) => p,
        None => return 0,
    };
    match t.as_str() {
        "S" => x.as_str().map_or(0, str::len),
        "N" => {
            let digits = x
                .as_str()
                .unwrap_or("")
                .trim_start_matches('-')
                .replace('.', "")
                .trim_start_matches('0')
                .trim_end_matches('0')
                .len();
            digits.div_ceil(2) + 1
        }
        "BOOL" | "NULL" => 1,
        "L" => 3 + x.as_array().map_or(0, |l| l.iter().map(|e| value_size(e) + 1).sum()),
        "M" => {
            3 + x
                .as_object()
                .map_or(0, |m| m.iter().map(|(k, e)| k.len() + value_size(e) + 1).sum())
        }
        "SS" => x
            .as_array()
            .map_or(0, |l| l.iter().map(|e| e.as_str().map_or(0, str::len)).sum()),
        _ => 0,
    }
}

fn item_size(item: &serde_json::Map<String, Value>) -> usize {
    item.iter().map(|(k, v)| k.len() + value_size(v)).sum()
}

fn units(bytes: usize) -> u64 {
    bytes.div_ceil(1024).max(1) as u64
}

/// A key as text, to find an item's final size.
fn key_id(table: &str, key: &Value) -> String {
    let mut parts: Vec<String> = key
        .as_object()
        .map(|m| m.iter().map(|(k, v)| format!("{k}={v}")).collect())
        .unwrap_or_default();
    parts.sort();
    format!("{table}|{}", parts.join("|"))
}

/// Final sizes of every item of `table`, by key (a Scan: benchmark only).
async fn final_sizes(client: &aws_sdk_dynamodb::Client, table: &str, keys: &[&str], out: &mut HashMap<String, usize>) {
    let mut start = None;
    loop {
        let page = client
            .scan()
            .table_name(table)
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .expect("scan");
        for item in page.items() {
            let j: serde_json::Map<String, Value> = item.iter().map(|(k, v)| (k.clone(), to_json(v))).collect();
            let key: serde_json::Map<String, Value> = keys
                .iter()
                .filter_map(|k| j.get(*k).map(|v| (k.to_string(), v.clone())))
                .collect();
            out.insert(key_id(table, &Value::Object(key)), item_size(&j));
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => break,
        }
    }
}

fn to_json(v: &aws_sdk_dynamodb::types::AttributeValue) -> Value {
    use aws_sdk_dynamodb::types::AttributeValue as A;
    match v {
        A::S(s) => serde_json::json!({ "S": s }),
        A::N(n) => serde_json::json!({ "N": n }),
        A::Bool(b) => serde_json::json!({ "BOOL": b }),
        A::Null(b) => serde_json::json!({ "NULL": b }),
        A::L(l) => serde_json::json!({ "L": l.iter().map(to_json).collect::<Vec<_>>() }),
        A::M(m) => {
            serde_json::json!({ "M": m.iter().map(|(k, v)| (k.clone(), to_json(v))).collect::<serde_json::Map<_, _>>() })
        }
        A::Ss(l) => serde_json::json!({ "SS": l }),
        _ => Value::Null,
    }
}

/// Write and read units of the recorded requests.
#[derive(Debug, Default)]
struct Cost {
    calls: BTreeMap<String, usize>,
    wru: u64,
    rru: f64,
}

fn cost(reqs: &[(String, Value)], sizes: &HashMap<String, usize>, outbox_sizes: &mut HashMap<String, usize>) -> Cost {
    let mut c = Cost::default();
    let size_of = |table: &str, key: &Value| sizes.get(&key_id(table, key)).copied().unwrap_or(0);
    for (op, b) in reqs {
        *c.calls.entry(op.clone()).or_default() += 1;
        let table = b["TableName"].as_str().unwrap_or("");
        match op.as_str() {
            "PutItem" => {
                let item = b["Item"].as_object().cloned().unwrap_or_default();
                c.wru += units(item_size(&item));
                // Keys-only index entries: one unit each for a new item with the index key.
                c.wru += ["day", "ip"].iter().filter(|k| item.contains_key(**k)).count() as u64;
            }
            "UpdateItem" => {
                let bytes = size_of(table, &b["Key"]).max(*outbox_sizes.get(&key_id(table, &b["Key"])).unwrap_or(&0));
                c.wru += units(bytes);
            }
            "DeleteItem" => {
                c.wru += units(*outbox_sizes.get(&key_id(table, &b["Key"])).unwrap_or(&0));
            }
            "TransactWriteItems" => {
                for t in b["TransactItems"].as_array().into_iter().flatten() {
                    if let Some(p) = t.get("Put") {
                        let item = p["Item"].as_object().cloned().unwrap_or_default();
                        let table = p["TableName"].as_str().unwrap_or("");
                        let key = serde_json::json!({"pk": item.get("pk"), "sk": item.get("sk")});
                        outbox_sizes.insert(key_id(table, &key), item_size(&item));
                        c.wru += 2 * units(item_size(&item));
                    } else if let Some(u) = t.get("Update") {
                        let table = u["TableName"].as_str().unwrap_or("");
                        c.wru += 2 * units(size_of(table, &u["Key"]));
                    }
                }
            }
            // Eventually consistent reads: half a unit per 4 KB (GetItem here is strongly consistent: one).
            "GetItem" => c.rru += 1.0,
            "BatchGetItem" | "Query" => c.rru += 0.5,
            _ => {}
        }
    }
    c
}

fn request(token: &str, path: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .method("GET")
        .uri(path)
        .header("host", "api.example.com")
        .header("user-agent", "python-requests/2.32.3")
        .header("accept", "*/*")
        .header("authorization", format!("Bearer {token}"))
        .body(Bytes::new())
        .unwrap()
}

#[tokio::main(flavor = "multi_thread", worker_threads = 4)]
async fn main() {
    let conf = support::sdk_config().await;
    let plain = aws_sdk_dynamodb::Client::new(&conf);
    let tables = support::Tables::create(&plain).await;
    let rec = Recorder::default();
    let ddb = aws_sdk_dynamodb::Client::from_conf(
        aws_sdk_dynamodb::config::Builder::from(&conf)
            .interceptor(rec.clone())
            .build(),
    );
    let (tokens_t, hits_t, state_t) = (
        tables.name("TokensTable").to_string(),
        tables.name("HitsTable").to_string(),
        tables.name("AlertStateTable").to_string(),
    );
    let store = Arc::new(DynamoStore::new(ddb.clone(), &tokens_t, &hits_t));
    let key = honeytoken_core::testkit::key(7);
    let shape = KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap();
    let t = mint(
        &key,
        &MintSpec::Key(shape),
        "payments-repo",
        "github.com/acme/payments/.env",
        "",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    store.create(&t).await.unwrap();
    let ctx = honeytoken::wiring::Context::over(store.clone(), key, None);
    let rule = FloodRule::default();
    let decoy = Arc::new(honeytoken::wiring::decoy(&ctx, Duration::ZERO).with_flood_rule(rule));
    let _ = rec.take();

    // Phase 1: the flood, one source, a few paths.
    let started = Instant::now();
    let mut set = tokio::task::JoinSet::new();
    for w in 0..CONCURRENCY {
        let (d, token) = (decoy.clone(), t.token.clone());
        set.spawn(async move {
            for i in (w..FLOOD).step_by(CONCURRENCY) {
                let path = ["/v1/charges", "/v1/customers", "/v1/balance"][i % 3];
                let meta = RequestMeta {
                    source_ip: "198.51.100.77".into(),
                    request_id: None,
                };
                d.handle(request(&token, path), meta).await;
            }
        });
    }
    while set.join_next().await.is_some() {}
    let flood_secs = started.elapsed().as_secs_f64();
    let flood_reqs = rec.take();

    // Phase 2: 1,000 distinct sources, one request each.
    let mut set = tokio::task::JoinSet::new();
    for w in 0..CONCURRENCY {
        let (d, token) = (decoy.clone(), t.token.clone());
        set.spawn(async move {
            for i in (w..PAIRS).step_by(CONCURRENCY) {
                let meta = RequestMeta {
                    source_ip: format!("203.0.{}.{}", 100 + i / 250, i % 250),
                    request_id: None,
                };
                d.handle(request(&token, "/v1/charges"), meta).await;
            }
        });
    }
    while set.join_next().await.is_some() {}
    let pairs_reqs = rec.take();

    // Every request is counted, exactly.
    let stored = store
        .query(&HitQuery {
            token_id: Some(t.id.clone()),
            ..Default::default()
        })
        .await
        .unwrap();
    let counted: u64 = stored.iter().map(|h| h.count).sum();
    let _ = rec.take();

    // Phase 3: the alerter over the stream, as the event source mapping
    // delivers it: the flooded pair's records, then the distinct pairs'
    // (two independent sequences of pairs, timed apart).
    let topic = alerts::Topic::create(&conf).await;
    let published = Recorder::default();
    let sns_client = aws_sdk_sns::Client::from_conf(
        aws_sdk_sns::config::Builder::from(&conf)
            .interceptor(published.clone())
            .build(),
    );
    let sns: Arc<dyn honeytoken::notify::Notifier> = Arc::new(Sns::new(sns_client, &topic.arn));
    let window = Duration::from_secs(15 * 60);
    let pipeline = Pipeline::new(
        Arc::new(DynamoAlertState::new(ddb.clone(), &state_t)),
        vec![Channel {
            notifier: sns,
            required: true,
        }],
    )
    .with_window(window)
    .with_flood_counters(store.clone(), window);
    let stream_total = alerts::all_stream_records(&conf, &hits_t).await.len();
    // As the template's FilterCriteria passes them: INSERTs of hit items.
    let records = alerts::stream_records(&conf, &hits_t).await;
    let flooded = |r: &Value| r["dynamodb"]["NewImage"]["source_ip"]["S"] == "198.51.100.77";
    let (flood_records, pair_records): (Vec<Value>, Vec<Value>) = records.iter().cloned().partition(|r| flooded(r));
    let mut state_writes_per_batch: Vec<(usize, usize)> = Vec::new();
    let mut alerter_reqs: Vec<Vec<(String, Value)>> = Vec::new();
    let mut alerts_sent = Vec::new();
    for phase in [&flood_records, &pair_records] {
        let mut reqs_phase = Vec::new();
        for chunk in phase.chunks(BATCH) {
            let ev = serde_json::json!({ "Records": chunk });
            let resp = handle(&pipeline, parse_invocation(ev).unwrap()).await.unwrap();
            assert_eq!(resp["batchItemFailures"].as_array().map(Vec::len), Some(0), "{resp}");
            let reqs = rec.take();
            let pairs: std::collections::HashSet<String> = chunk
                .iter()
                .map(|r| {
                    format!(
                        "{}#{}",
                        r["dynamodb"]["NewImage"]["token_id"]["S"], r["dynamodb"]["NewImage"]["source_ip"]["S"]
                    )
                })
                .collect();
            let writes = reqs.iter().filter(|(op, _)| op == "TransactWriteItems").count();
            state_writes_per_batch.push((writes, pairs.len()));
            reqs_phase.extend(reqs);
        }
        alerter_reqs.push(reqs_phase);
        alerts_sent.push(published.0.lock().unwrap().drain(..).count());
    }

    // Sizes for the write units.
    let mut sizes = HashMap::new();
    final_sizes(&plain, &hits_t, &["token_id", "hit_id"], &mut sizes).await;
    final_sizes(&plain, &state_t, &["pk", "sk"], &mut sizes).await;
    let mut outbox = HashMap::new();
    let flood = cost(&flood_reqs, &sizes, &mut outbox);
    let pairs = cost(&pairs_reqs, &sizes, &mut outbox);
    let alert_flood = cost(&alerter_reqs[0], &sizes, &mut outbox);
    let alert_pairs = cost(&alerter_reqs[1], &sizes, &mut outbox);

    let per = |c: &Cost, n: usize| c.wru as f64 / n as f64;
    let calls = |c: &Cost| c.calls.values().sum::<usize>();
    println!("flood_cost: moto at {}", support::endpoint());
    println!(
        "stored: {} records standing for {counted} requests (sent {}); stream: {stream_total} records, {} pass the mapping's filter",
        stored.len(),
        FLOOD + PAIRS,
        records.len()
    );
    println!(
        "decoy, flood of one pair: {FLOOD} requests in {flood_secs:.1} s; DynamoDB calls {:?}; {} WRU = {:.3} WRU/hit; {:.1} RRU",
        flood.calls,
        flood.wru,
        per(&flood, FLOOD),
        flood.rru
    );
    println!(
        "alerter, flood of one pair: {} stream records in {} batch(es); DynamoDB calls {:?} = {:.2} calls/record; {} WRU; SNS publishes {}",
        flood_records.len(),
        flood_records.len().div_ceil(BATCH),
        alert_flood.calls,
        calls(&alert_flood) as f64 / flood_records.len().max(1) as f64,
        alert_flood.wru,
        alerts_sent[0]
    );
    let total_flood = flood.wru + alert_flood.wru;
    println!(
        "flood, decoy and alerter: {total_flood} WRU = {:.3} WRU/hit; per million flood hits ${:.2} writes + ${:.2} reads (on-demand, us-east-1: ${WRU_PRICE}/M WRU, ${RRU_PRICE}/M RRU)",
        total_flood as f64 / FLOOD as f64,
        total_flood as f64 / FLOOD as f64 * WRU_PRICE,
        (flood.rru + alert_flood.rru) / FLOOD as f64 * RRU_PRICE
    );
    println!(
        "decoy, {PAIRS} distinct pairs: DynamoDB calls {:?}; {} WRU = {:.3} WRU/hit",
        pairs.calls,
        pairs.wru,
        per(&pairs, PAIRS)
    );
    println!(
        "alerter, {PAIRS} distinct pairs: {} records; DynamoDB calls {:?} = {:.2} calls/record; {} WRU = {:.2} WRU/record; SNS publishes {}",
        pair_records.len(),
        alert_pairs.calls,
        calls(&alert_pairs) as f64 / pair_records.len().max(1) as f64,
        alert_pairs.wru,
        alert_pairs.wru as f64 / pair_records.len().max(1) as f64,
        alerts_sent[1]
    );
    println!(
        "state writes per batch / pairs in the batch: {:?}",
        state_writes_per_batch
    );
    assert_eq!(counted, (FLOOD + PAIRS) as u64, "every request counted exactly");
    assert!(
        state_writes_per_batch.iter().all(|(w, p)| w <= p),
        "at most one state write per pair per batch"
    );
}
