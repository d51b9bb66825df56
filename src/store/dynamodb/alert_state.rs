//! The alert pipeline's state ([`AlertState`]) in the stack's
//! AlertStateTable (string keys `pk`/`sk`, TTL attribute `expires_at`).
//!
//! Items:
//!
//! * marker — `pk = hit#HIT_ID`, `sk = marker`: `outbox` (L of S),
//!   `expires_at`. Created with `attribute_not_exists(pk)`, so a hit is
//!   decided once however often it is redelivered.
//! * window — `pk = window`, `sk = TOKEN_ID#SOURCE_IP`: `token_id`,
//!   `source_ip`, `start_ms`, `end_ms`, `suppressed`, `version`, `last_hit`
//!   (the hit as JSON), `first_ms` (the first suppressed hit's time),
//!   `alerted` and `folded` (string sets of state names: what the window
//!   alerted on, what its suppressed hits showed; absent when empty, as
//!   DynamoDB has no empty set), `expires_at` (a week after the window
//!   ends, long after the scheduled flush has announced it). A suppressed hit is an
//!   `ADD suppressed :1` conditional on the window still being open; every
//!   other change is conditional on `version`.
//! * outbox — `pk = outbox`, `sk = KEY`: `alert` (JSON), `created_ms`,
//!   `lease_until`. No TTL: an entry is deleted once delivered.
//!
//! Windows and outbox entries share one partition each, so a flush reads
//! them with one Query; a flood of one pair writes one item either way.
//! The decide phase is one TransactWriteItems call.

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::SdkError;
use aws_sdk_dynamodb::types::{AttributeValue, Put, ReturnValue, TransactWriteItem, Update};
use std::collections::HashMap;

use crate::domain::alert::{Alert, HitStates};
use crate::domain::hit::Hit;
use crate::error::{Error, Result};
use crate::store::alert_state::{
    AlertState, Claim, Commit, Marker, OutboxEntry, OutboxKey, PairKey, Window, WindowWrite,
};
use crate::store::codec;

type Item = HashMap<String, AttributeValue>;

/// Attempts at a decide-phase transaction that DynamoDB cancelled for
/// throttling (not for a condition): the throttled write is retried with
/// backoff instead of being taken for a lost race.
const THROTTLE_ATTEMPTS: u32 = 6;
/// First wait before retrying a throttled transaction; doubles, with jitter.
const THROTTLE_BACKOFF_MS: u64 = 50;

/// Why DynamoDB cancelled a transaction, from its cancellation reason codes.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
enum Cancelled {
    /// A condition failed or a concurrent transaction won: read and decide again.
    LostRace,
    /// Throttled (capacity or request rate): the same write may succeed later.
    Throttled,
    /// Anything else (validation, size): an error.
    Other,
}

/// Classifies `TransactionCanceledException` reasons (one code per item,
/// `None` for items that were fine). Codes are documented under
/// TransactWriteItems: ConditionalCheckFailed, TransactionConflict,
/// ThrottlingError, ProvisionedThroughputExceeded, RequestLimitExceeded,
/// ItemCollectionSizeLimitExceeded, ValidationError, None.
/// https://docs.aws.amazon.com/amazondynamodb/latest/APIReference/API_TransactWriteItems.html
fn classify(codes: &[Option<&str>]) -> Cancelled {
    let codes: Vec<&str> = codes.iter().flatten().copied().filter(|c| *c != "None").collect();
    if codes
        .iter()
        .any(|c| matches!(*c, "ConditionalCheckFailed" | "TransactionConflict"))
    {
        // A lost race: re-reading settles it whatever else was throttled.
        return Cancelled::LostRace;
    }
    if !codes.is_empty()
        && codes.iter().all(|c| {
            matches!(
                *c,
                "ThrottlingError" | "ProvisionedThroughputExceeded" | "RequestLimitExceeded"
            )
        })
    {
        return Cancelled::Throttled;
    }
    Cancelled::Other
}

/// Seconds a window item is kept after its end.
const WINDOW_KEEP_SECS: i64 = 7 * 24 * 3600;

/// [`AlertState`] in DynamoDB.
#[derive(Clone, Debug)]
pub struct DynamoAlertState {
    client: Client,
    table: String,
}

fn s(v: impl Into<String>) -> AttributeValue {
    AttributeValue::S(v.into())
}

fn n(v: impl ToString) -> AttributeValue {
    AttributeValue::N(v.to_string())
}

fn err<E, R>(what: &str, e: SdkError<E, R>) -> Error
where
    E: aws_sdk_dynamodb::error::ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    match super::sdk_error(e) {
        Error::Backend {
            backend,
            kind,
            detail,
            hint,
            source,
        } => Error::Backend {
            backend,
            kind,
            detail: format!("alert state {what}: {detail}"),
            hint,
            source,
        },
        other => other,
    }
}

fn get_s<'a>(item: &'a Item, k: &str) -> Result<&'a str> {
    item.get(k)
        .and_then(|v| v.as_s().ok())
        .map(String::as_str)
        .ok_or_else(|| Error::Store(format!("alert state item lacks string {k}")))
}

/// A set of states as a string set; `None` for the empty set (DynamoDB
/// refuses an empty one).
fn states_value(states: HitStates) -> Option<AttributeValue> {
    let names = states.names();
    (!names.is_empty()).then(|| AttributeValue::Ss(names.into_iter().map(String::from).collect()))
}

/// The states of string set `k` (empty when absent: windows written
/// before the states were kept).
fn get_states(item: &Item, k: &str) -> HitStates {
    match item.get(k).and_then(|v| v.as_ss().ok()) {
        Some(names) => HitStates::from_names(names.iter().map(String::as_str)),
        None => HitStates::empty(),
    }
}

fn get_n<T: std::str::FromStr>(item: &Item, k: &str) -> Result<T> {
    item.get(k)
        .and_then(|v| v.as_n().ok())
        .and_then(|v| v.parse().ok())
        .ok_or_else(|| Error::Store(format!("alert state item lacks number {k}")))
}

const WINDOW_PK: &str = "window";
const OUTBOX_PK: &str = "outbox";

impl DynamoAlertState {
    /// State in `table` (the stack's AlertStateTable).
    pub fn new(client: Client, table: impl Into<String>) -> Self {
        DynamoAlertState {
            client,
            table: table.into(),
        }
    }

    fn key(pk: &str, sk: &str) -> Item {
        HashMap::from([("pk".to_string(), s(pk)), ("sk".to_string(), s(sk))])
    }

    /// A hit's marker lives under the key of the hit's own alert.
    fn marker_key(hit_id: &str) -> Item {
        Self::key(&OutboxKey::hit(hit_id).to_string(), "marker")
    }

    /// The item stored for a throttle window (public for the flood cost model).
    pub fn window_item(w: &Window) -> Result<Item> {
        let mut item = Self::key(WINDOW_PK, &w.pair.to_string());
        item.insert("token_id".into(), s(&w.pair.token_id));
        item.insert("source_ip".into(), s(&w.pair.source_ip));
        item.insert("start_ms".into(), n(w.start_ms));
        item.insert("end_ms".into(), n(w.end_ms));
        item.insert("suppressed".into(), n(w.suppressed));
        item.insert("version".into(), n(w.version));
        item.insert("expires_at".into(), n(w.end_ms / 1000 + WINDOW_KEEP_SECS));
        if let Some(h) = &w.last_hit {
            item.insert("last_hit".into(), s(codec::encode("last hit", h)?));
        }
        if !w.floods.is_empty() {
            item.insert("floods".into(), AttributeValue::L(w.floods.iter().map(s).collect()));
        }
        if let Some(f) = w.first_ms {
            item.insert("first_ms".into(), n(f));
        }
        if let Some(v) = states_value(w.alerted) {
            item.insert("alerted".into(), v);
        }
        if let Some(v) = states_value(w.folded) {
            item.insert("folded".into(), v);
        }
        Ok(item)
    }

    fn window_from(item: &Item) -> Result<Window> {
        let last_hit = match item.get("last_hit").and_then(|v| v.as_s().ok()) {
            Some(j) => Some(codec::decode::<Hit>("last hit in alert state", j)?),
            None => None,
        };
        Ok(Window {
            pair: PairKey {
                token_id: get_s(item, "token_id")?.into(),
                source_ip: get_s(item, "source_ip")?.into(),
            },
            start_ms: get_n(item, "start_ms")?,
            end_ms: get_n(item, "end_ms")?,
            suppressed: get_n(item, "suppressed")?,
            version: get_n(item, "version")?,
            last_hit,
            first_ms: get_n(item, "first_ms").ok(),
            alerted: get_states(item, "alerted"),
            folded: get_states(item, "folded"),
            floods: match item.get("floods").and_then(|v| v.as_l().ok()) {
                Some(l) => l.iter().filter_map(|v| v.as_s().ok().cloned()).collect(),
                None => Vec::new(),
            },
        })
    }

    fn entry_from(item: &Item) -> Result<OutboxEntry> {
        Ok(OutboxEntry {
            key: get_s(item, "sk")?.parse()?,
            alert: codec::decode::<Alert>("alert in alert state", get_s(item, "alert")?)?,
            created_ms: get_n(item, "created_ms")?,
        })
    }

    fn put(&self, item: Item, condition: &str, values: Option<Item>) -> Result<TransactWriteItem> {
        let p = Put::builder()
            .table_name(&self.table)
            .set_item(Some(item))
            .condition_expression(condition)
            .set_expression_attribute_values(values)
            .build()
            .map_err(|e| Error::Store(e.to_string()))?;
        Ok(TransactWriteItem::builder().put(p).build())
    }

    /// Every item of one partition matching `filter`.
    async fn query_partition(&self, pk: &str, filter: &str, values: Item) -> Result<Vec<Item>> {
        let mut out = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut vals = values.clone();
            vals.insert(":pk".into(), s(pk));
            let r = self
                .client
                .query()
                .table_name(&self.table)
                .key_condition_expression("pk = :pk")
                .filter_expression(filter)
                .set_expression_attribute_values(Some(vals))
                .consistent_read(true)
                .set_exclusive_start_key(start.take())
                .send()
                .await
                .map_err(|e| err("query", e))?;
            out.extend(r.items.unwrap_or_default());
            match r.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => return Ok(out),
            }
        }
    }
}

#[async_trait]
impl AlertState for DynamoAlertState {
    async fn marker(&self, hit_id: &str) -> Result<Option<Marker>> {
        let r = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::marker_key(hit_id)))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| err("get marker", e))?;
        let Some(item) = r.item else { return Ok(None) };
        let outbox = item
            .get("outbox")
            .and_then(|v| v.as_l().ok())
            .map(|l| {
                l.iter()
                    .filter_map(|v| v.as_s().ok())
                    .map(|k| k.parse())
                    .collect::<Result<Vec<OutboxKey>>>()
            })
            .transpose()?
            .unwrap_or_default();
        Ok(Some(Marker {
            hit_id: hit_id.into(),
            outbox,
            expires_at: get_n(&item, "expires_at").unwrap_or(0),
        }))
    }

    async fn window(&self, pair: &PairKey) -> Result<Option<Window>> {
        let r = self
            .client
            .get_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(WINDOW_PK, &pair.to_string())))
            .consistent_read(true)
            .send()
            .await
            .map_err(|e| err("get window", e))?;
        r.item.as_ref().map(Self::window_from).transpose()
    }

    async fn commit(&self, c: &Commit) -> Result<bool> {
        let mut writes = Vec::new();
        for m in c.marker.iter().chain(&c.folded) {
            let mut item = Self::marker_key(&m.hit_id);
            item.insert(
                "outbox".into(),
                AttributeValue::L(m.outbox.iter().map(|k| s(k.to_string())).collect()),
            );
            item.insert("expires_at".into(), n(m.expires_at));
            writes.push(self.put(item, "attribute_not_exists(pk)", None)?);
        }
        match &c.window {
            Some(WindowWrite::Replace { window, expected }) => {
                let item = Self::window_item(window)?;
                writes.push(match expected {
                    None => self.put(item, "attribute_not_exists(pk)", None)?,
                    Some(v) => self.put(item, "version = :v", Some(HashMap::from([(":v".to_string(), n(v))])))?,
                });
            }
            Some(WindowWrite::Count {
                pair,
                at_ms,
                hit,
                n: k,
                floods,
                first_ms,
                states,
            }) => {
                let mut values = HashMap::from([
                    (":h".to_string(), s(codec::encode("last hit", hit)?)),
                    (":one".to_string(), n(1)),
                    (":k".to_string(), n(*k)),
                    (":at".to_string(), n(at_ms)),
                    (":first".to_string(), n(first_ms)),
                ]);
                // The first counted hit's time: hits reach the alerter in
                // stream order, so the first written is the earliest but for
                // a redelivered straggler.
                let mut set = "SET last_hit = :h, first_ms = if_not_exists(first_ms, :first)".to_string();
                if !floods.is_empty() {
                    values.insert(":f".into(), AttributeValue::L(floods.iter().map(s).collect()));
                    values.insert(":none".into(), AttributeValue::L(vec![]));
                    set.push_str(", floods = list_append(if_not_exists(floods, :none), :f)");
                }
                // ADD on a string set is a union (UpdateItem, "ADD").
                let mut add = "ADD suppressed :k, version :one".to_string();
                if let Some(v) = states_value(*states) {
                    values.insert(":st".into(), v);
                    add.push_str(", folded :st");
                }
                let u = Update::builder()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(WINDOW_PK, &pair.to_string())))
                    .update_expression(format!("{set} {add}"))
                    .condition_expression("attribute_exists(pk) AND end_ms > :at")
                    .set_expression_attribute_values(Some(values))
                    .build()
                    .map_err(|e| Error::Store(e.to_string()))?;
                writes.push(TransactWriteItem::builder().update(u).build());
            }
            None => {}
        }
        for e in &c.outbox {
            let mut item = Self::key(OUTBOX_PK, &e.key.to_string());
            item.insert("alert".into(), s(codec::encode("alert", &e.alert)?));
            item.insert("created_ms".into(), n(e.created_ms));
            item.insert("lease_until".into(), n(0));
            writes.push(self.put(item, "attribute_not_exists(pk)", None)?);
        }
        if writes.is_empty() {
            return Ok(true);
        }
        let mut backoff = THROTTLE_BACKOFF_MS;
        for attempt in 1..=THROTTLE_ATTEMPTS {
            let r = self
                .client
                .transact_write_items()
                .set_transact_items(Some(writes.clone()))
                .send()
                .await;
            let e = match r {
                Ok(_) => return Ok(true),
                Err(e) => e,
            };
            let cancelled = match e.as_service_error() {
                Some(aws_sdk_dynamodb::operation::transact_write_items::TransactWriteItemsError::TransactionCanceledException(c)) => {
                    let codes: Vec<Option<&str>> = c.cancellation_reasons().iter().map(|r| r.code()).collect();
                    classify(&codes)
                }
                _ => return Err(err("commit", e)),
            };
            match cancelled {
                // A condition failed, or a concurrent transaction touched the
                // same items: nothing was written; the caller reads again.
                Cancelled::LostRace => return Ok(false),
                Cancelled::Throttled if attempt < THROTTLE_ATTEMPTS => {
                    let jitter = rand::random::<u64>() % (backoff / 2 + 1);
                    tracing::warn!(
                        attempt,
                        wait_ms = backoff + jitter,
                        "alert state write throttled; retrying"
                    );
                    tokio::time::sleep(std::time::Duration::from_millis(backoff + jitter)).await;
                    backoff *= 2;
                }
                Cancelled::Throttled => break,
                _ => return Err(err("commit", e)),
            }
        }
        Err(Error::Store(format!(
            "alert state commit: still throttled after {THROTTLE_ATTEMPTS} attempts; the hit will be retried"
        )))
    }

    async fn claim(&self, key: &OutboxKey, now_ms: i64, lease_ms: i64) -> Result<Claim> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(OUTBOX_PK, &key.to_string())))
            .update_expression("SET lease_until = :until")
            .condition_expression("attribute_exists(pk) AND lease_until <= :now")
            .expression_attribute_values(":until", n(now_ms + lease_ms))
            .expression_attribute_values(":now", n(now_ms))
            .return_values(ReturnValue::AllNew)
            .send()
            .await;
        match r {
            Ok(out) => Ok(Claim::Claimed(Box::new(Self::entry_from(
                &out.attributes.unwrap_or_default(),
            )?))),
            Err(e) if super::condition_failed(&e) => {
                let g = self
                    .client
                    .get_item()
                    .table_name(&self.table)
                    .set_key(Some(Self::key(OUTBOX_PK, &key.to_string())))
                    .consistent_read(true)
                    .send()
                    .await
                    .map_err(|e| err("get outbox", e))?;
                Ok(if g.item.is_some() { Claim::Busy } else { Claim::Gone })
            }
            Err(e) => Err(err("claim", e)),
        }
    }

    async fn release(&self, key: &OutboxKey) -> Result<()> {
        let r = self
            .client
            .update_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(OUTBOX_PK, &key.to_string())))
            .update_expression("SET lease_until = :zero")
            .condition_expression("attribute_exists(pk)")
            .expression_attribute_values(":zero", n(0))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if super::condition_failed(&e) => Ok(()),
            Err(e) => Err(err("release", e)),
        }
    }

    async fn complete(&self, key: &OutboxKey) -> Result<()> {
        self.client
            .delete_item()
            .table_name(&self.table)
            .set_key(Some(Self::key(OUTBOX_PK, &key.to_string())))
            .send()
            .await
            .map_err(|e| err("delete outbox", e))?;
        Ok(())
    }

    async fn expired_windows(&self, now_ms: i64) -> Result<Vec<Window>> {
        let items = self
            .query_partition(
                WINDOW_PK,
                "suppressed > :zero AND end_ms <= :now",
                HashMap::from([(":zero".to_string(), n(0)), (":now".to_string(), n(now_ms))]),
            )
            .await?;
        items.iter().map(Self::window_from).collect()
    }

    async fn stale_outbox(&self, before_ms: i64) -> Result<Vec<OutboxKey>> {
        let items = self
            .query_partition(
                OUTBOX_PK,
                "created_ms <= :before",
                HashMap::from([(":before".to_string(), n(before_ms))]),
            )
            .await?;
        items.iter().map(|i| get_s(i, "sk")?.parse()).collect()
    }
}

/// `honeytoken test` on AWS: an alert counts as published once the alerter
/// has decided the hit (its marker exists) and delivered everything the
/// decision queued (no outbox entry of it is left).
#[async_trait]
impl crate::store::AlertLog for DynamoAlertState {
    async fn published(&self, hit_id: &str) -> Result<Option<String>> {
        let Some(marker) = self.marker(hit_id).await? else {
            return Ok(None);
        };
        for key in &marker.outbox {
            let r = self
                .client
                .get_item()
                .table_name(&self.table)
                .set_key(Some(Self::key(OUTBOX_PK, &key.to_string())))
                .consistent_read(true)
                .send()
                .await
                .map_err(|e| {
                    Error::Store(format!(
                        "alert state: {}",
                        aws_sdk_dynamodb::error::DisplayErrorContext(e)
                    ))
                })?;
            if r.item.is_some() {
                return Ok(None);
            }
        }
        Ok(Some(format!(
            "alerter published {} alert(s) for hit {hit_id}",
            marker.outbox.len().max(1)
        )))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::alert_state::Marker;
    use std::sync::Arc;
    use std::sync::atomic::{AtomicUsize, Ordering};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    #[test]
    fn cancellation_reasons_tell_a_lost_race_from_throttling() {
        assert_eq!(
            classify(&[Some("ConditionalCheckFailed"), Some("None")]),
            Cancelled::LostRace
        );
        assert_eq!(classify(&[None, Some("TransactionConflict")]), Cancelled::LostRace);
        assert_eq!(classify(&[Some("ThrottlingError"), Some("None")]), Cancelled::Throttled);
        assert_eq!(
            classify(&[Some("ProvisionedThroughputExceeded"), Some("RequestLimitExceeded")]),
            Cancelled::Throttled
        );
        assert_eq!(classify(&[Some("ValidationError")]), Cancelled::Other);
        assert_eq!(classify(&[]), Cancelled::Other);
    }

    /// A DynamoDB endpoint that cancels the first `throttled` transactions
    /// for throttling, then accepts; counts the requests.
    async fn fake_dynamodb(throttled: usize) -> (String, Arc<AtomicUsize>) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let calls = Arc::new(AtomicUsize::new(0));
        let c = calls.clone();
        tokio::spawn(async move {
            while let Ok((mut conn, _)) = l.accept().await {
                let c = c.clone();
                tokio::spawn(async move {
                    let mut buf = Vec::new();
                    let mut chunk = [0u8; 8192];
                    loop {
                        // One request per connection is enough here: read the
                        // head, then the body by Content-Length.
                        let Ok(n) = conn.read(&mut chunk).await else { return };
                        if n == 0 {
                            return;
                        }
                        buf.extend_from_slice(&chunk[..n]);
                        let text = String::from_utf8_lossy(&buf).to_string();
                        let Some(head_end) = text.find("\r\n\r\n") else {
                            continue;
                        };
                        let len = text[..head_end]
                            .lines()
                            .find_map(|l| {
                                let (k, v) = l.split_once(':')?;
                                k.eq_ignore_ascii_case("content-length")
                                    .then(|| v.trim().parse::<usize>().ok())?
                            })
                            .unwrap_or(0);
                        if buf.len() < head_end + 4 + len {
                            continue;
                        }
                        let nth = c.fetch_add(1, Ordering::SeqCst);
                        let (status, body) = if nth < throttled {
                            (
                                "400 Bad Request",
                                r#"{"__type":"com.amazonaws.dynamodb.v20120810#TransactionCanceledException","Message":"Transaction cancelled, please refer cancellation reasons for specific reasons [ThrottlingError, None]","CancellationReasons":[{"Code":"ThrottlingError","Message":"Throughput exceeds the current capacity for one or more global secondary indexes."},{"Code":"None"}]}"#,
                            )
                        } else {
                            ("200 OK", "{}")
                        };
                        let resp = format!(
                            "HTTP/1.1 {status}\r\ncontent-type: application/x-amz-json-1.0\r\ncontent-length: {}\r\n\r\n{body}",
                            body.len()
                        );
                        let _ = conn.write_all(resp.as_bytes()).await;
                        buf.clear();
                    }
                });
            }
        });
        (url, calls)
    }

    fn client(url: &str) -> Client {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("us-east-1"))
            .credentials_provider(aws_sdk_dynamodb::config::Credentials::new("a", "b", None, None, "test"))
            .endpoint_url(url)
            .build();
        Client::from_conf(conf)
    }

    fn commit() -> Commit {
        Commit {
            marker: Some(Marker {
                hit_id: "01HIT".into(),
                outbox: vec![],
                expires_at: 1,
            }),
            window: None,
            outbox: vec![],
            folded: vec![],
        }
    }

    /// Throttling inside TransactionCanceled is retried, not taken for a
    /// lost race (which would make the pipeline re-decide, and after eight
    /// "races" fail the hit).
    #[tokio::test]
    async fn a_throttled_transaction_is_retried_not_taken_for_a_lost_race() {
        let (url, calls) = fake_dynamodb(2).await;
        let st = DynamoAlertState::new(client(&url), "state");
        assert!(
            st.commit(&commit()).await.unwrap(),
            "committed after the throttling passed"
        );
        assert_eq!(calls.load(Ordering::SeqCst), 3);

        // Throttled for good: an error naming it, after a bounded number of attempts.
        let (url, calls) = fake_dynamodb(usize::MAX).await;
        let st = DynamoAlertState::new(client(&url), "state");
        let e = st.commit(&commit()).await.unwrap_err().to_string();
        assert!(e.contains("throttled"), "{e}");
        assert_eq!(calls.load(Ordering::SeqCst), THROTTLE_ATTEMPTS as usize);
    }
}
