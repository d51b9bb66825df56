//! The flood rule ([`crate::domain::flood`]) in the hits table.
//!
//! Per (token, source, bucket) two items, both under the token's partition:
//!
//! * the **counter** — sort key `flood-TOKEN-BUCKET-SOURCE#n`: `flood_n`
//!   (every hit of the bucket, the whole ones included) and `expires_at`.
//!   Nothing else, and no index key (`day`, `ip`), so it is about 150 bytes
//!   and no index holds it: every request of the bucket is one
//!   `UpdateItem … ADD flood_n :one` (returning the new count) costing one
//!   write unit (an update is billed on the larger of the item's sizes before
//!   and after, rounded up to 1 KB; DynamoDB developer guide, "DynamoDB item
//!   sizes and formats" and "Write request units"). The first
//!   [`FloodRule::whole`] hits of the bucket are also put whole, as ever.
//! * the **head** — sort key `flood-TOKEN-BUCKET-SOURCE` (the core's
//!   [`FloodKey::counter_id`]): the counter record of the core
//!   ([`counter_hit`]: the first counted hit without its headers, with the
//!   bounded samples), stored like any hit (index keys, TTL) plus
//!   `flood_whole`, the rule's `whole` when it was written. Put once, by the
//!   request whose `ADD` returned `whole + 1`; a later request adds its path
//!   or user agent to the samples only when this process has not seen it and
//!   the head's list is short of [`MAX_SAMPLES`] (a conditional update, so
//!   at most 16 such writes per bucket and process). A process that did not
//!   write the head puts it once more, on the condition that it does not
//!   exist, at its first counted request of the bucket: so a head whose put
//!   failed is written by the next request, and the bucket still reaches the
//!   stream and the readers.
//!
//! One limit of the count: a request whose `ADD` DynamoDB applied but whose
//! answer was lost (a 5xx or a timeout, which the SDK retries) is counted
//! twice. Only transactional writes take an idempotency token, and they cost
//! twice the write units of the `ADD`.
//!
//! A reader shows the head with `count = flood_n - flood_whole`: the requests
//! past the whole ones, exactly. The stream carries the head's INSERT (one
//! record for the bucket's counted hits) and never the counter's writes (the
//! alerter's event filter passes only items with `received_at`, and
//! [`crate::alerting::stream::records_from_event`] skips counters anyway).

use aws_sdk_dynamodb::types::{AttributeValue, KeysAndAttributes, ReturnValue};
use std::collections::HashMap;
use std::sync::Mutex;

use super::{DynamoStore, Item, sdk_error};
use crate::domain::flood::{FloodKey, FloodRule, FloodSamples, MAX_SAMPLES, counter_hit};
use crate::domain::hit::Hit;
use crate::error::{Error, Result};
use crate::store::Kept;

/// Suffix of a counter's sort key (after the head's).
pub const COUNTER_SUFFIX: &str = "#n";
/// The counter's count attribute.
pub const COUNT_ATTR: &str = "flood_n";
/// The head's copy of the rule's `whole`.
pub const WHOLE_ATTR: &str = "flood_whole";
/// Prefix of every head and counter sort key (ULIDs never start with it).
pub const FLOOD_PREFIX: &str = "flood-";
/// Counters whose samples this process remembers, at most (then it forgets all:
/// the worst case is a few conditional writes that fail).
const SEEN_CAP: usize = 4096;
/// Keys per BatchGetItem request (DynamoDB's limit).
const BATCH_GET_MAX: usize = 100;

/// Samples each process knows a head holds, per head id.
#[derive(Debug, Default)]
pub(super) struct Seen(Mutex<HashMap<String, FloodSamples>>);

impl Seen {
    /// Adds `hit`'s samples to what is known of `head_id`; the new path and
    /// the new user agent (as stored), if any and if there was room.
    fn add(&self, head_id: &str, hit: &Hit) -> (Option<String>, Option<String>) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= SEEN_CAP && !m.contains_key(head_id) {
            m.clear();
        }
        let s = m.entry(head_id.to_string()).or_default();
        let (p, u) = (s.paths.len(), s.user_agents.len());
        s.add(hit);
        (
            (s.paths.len() > p).then(|| s.paths[p].clone()),
            (s.user_agents.len() > u).then(|| s.user_agents[u].clone()),
        )
    }

    /// Whether this process wrote or has seen `head_id`'s head.
    fn knows(&self, head_id: &str) -> bool {
        self.0.lock().unwrap_or_else(|p| p.into_inner()).contains_key(head_id)
    }

    fn insert(&self, head_id: &str, samples: FloodSamples) {
        let mut m = self.0.lock().unwrap_or_else(|p| p.into_inner());
        if m.len() >= SEEN_CAP {
            m.clear();
        }
        m.insert(head_id.to_string(), samples);
    }
}

/// What became of a put of a missing head.
enum HeadPut {
    Written,
    Exists,
    Failed,
}

/// The counter's sort key for a head id.
pub fn counter_sk(head_id: &str) -> String {
    format!("{head_id}{COUNTER_SUFFIX}")
}

/// Whether `item` is a flood counter (not a hit).
pub fn is_counter(item: &Item) -> bool {
    item.contains_key(COUNT_ATTR)
}

fn key(token_id: &str, hit_id: &str) -> Item {
    HashMap::from([
        ("token_id".to_string(), AttributeValue::S(token_id.into())),
        ("hit_id".to_string(), AttributeValue::S(hit_id.into())),
    ])
}

fn number(item: &Item, k: &str) -> Option<u64> {
    item.get(k)?.as_n().ok()?.parse().ok()
}

impl DynamoStore {
    /// The counter item a bucket's first request creates (what `ADD` makes of
    /// nothing): its keys, `flood_n` and `expires_at`. For size checks.
    pub fn counter_item(&self, key: &FloodKey, n: u64, expires_at: i64) -> Item {
        let mut item = key_item(key);
        item.insert(COUNT_ATTR.into(), AttributeValue::N(n.to_string()));
        item.insert("expires_at".into(), AttributeValue::N(expires_at.to_string()));
        item
    }

    /// The head item for `first_counted` (the hit whose `ADD` returned `whole + 1`).
    pub fn head_item(&self, first_counted: &Hit, key: &FloodKey, rule: &FloodRule) -> Result<(Item, FloodSamples)> {
        let mut samples = FloodSamples::default();
        samples.add(first_counted);
        let head = counter_hit(first_counted, key, 1, samples.clone());
        let mut item = self.hit_item(&head)?;
        item.insert(WHOLE_ATTR.into(), AttributeValue::N(rule.whole.to_string()));
        Ok((item, samples))
    }

    pub(super) async fn record_flood(&self, hit: &Hit, rule: &FloodRule) -> Result<Kept> {
        let key = rule.key(hit);
        let head_id = key.counter_id();
        let expires = hit.received_at.time().unix_timestamp() + i64::from(self.hit_ttl_days) * 86_400;
        // One write unit whatever the request looked like: the counter holds
        // no attacker-controlled byte beyond the capped source address.
        let out = self
            .client
            .update_item()
            .table_name(&self.hits_table)
            .set_key(Some(key_item(&key)))
            .update_expression("SET expires_at = :e ADD flood_n :one")
            .expression_attribute_values(":e", AttributeValue::N(expires.to_string()))
            .expression_attribute_values(":one", AttributeValue::N("1".into()))
            .return_values(ReturnValue::UpdatedNew)
            .send()
            .await
            .map_err(sdk_error)?;
        let n = out
            .attributes
            .as_ref()
            .and_then(|a| number(a, COUNT_ATTR))
            .ok_or_else(|| Error::Store("the flood counter update returned no count".into()))?;
        if rule.is_whole(n) {
            self.put_hit(hit).await?;
            return Ok(Kept::Whole);
        }
        let count = n - rule.whole;
        if count == 1 {
            let (item, samples) = self.head_item(hit, &key, rule)?;
            self.client
                .put_item()
                .table_name(&self.hits_table)
                .set_item(Some(item))
                .send()
                .await
                .map_err(sdk_error)?;
            self.seen.insert(&head_id, samples);
            return Ok(Kept::Counted { count });
        }
        if !self.seen.knows(&head_id) {
            match self.put_missing_head(hit, &key, rule).await {
                HeadPut::Exists => {}
                // Failed: left unknown, so the bucket's next request here tries again.
                HeadPut::Written | HeadPut::Failed => return Ok(Kept::Counted { count }),
            }
        }
        let (path, ua) = self.seen.add(&head_id, hit);
        for (list, value) in [("paths", path), ("user_agents", ua)] {
            if let Some(v) = value {
                // The count is safe already; a sample that cannot be added is
                // only a sample.
                if let Err(e) = self.add_sample(&key, list, v).await {
                    tracing::warn!(error = %e, head = %head_id, "flood sample not stored");
                }
            }
        }
        Ok(Kept::Counted { count })
    }

    /// Puts the bucket's head unless it exists. Run by
    /// a process's first counted request of a bucket whose head it has not
    /// written or seen: if the put of the request that should have written
    /// it failed (in this process or another), the bucket's counted requests
    /// would be in no record and never on the stream, so no alert. A head
    /// that exists fails the condition, which is no error: one write per
    /// bucket and process.
    async fn put_missing_head(&self, hit: &Hit, key: &FloodKey, rule: &FloodRule) -> HeadPut {
        let head_id = key.counter_id();
        let put = match self.head_item(hit, key, rule) {
            Ok((item, samples)) => self
                .client
                .put_item()
                .table_name(&self.hits_table)
                .set_item(Some(item))
                .condition_expression("attribute_not_exists(hit_id)")
                .send()
                .await
                .map(|_| samples),
            Err(e) => {
                tracing::warn!(error = %e, head = %head_id, "flood head not written");
                return HeadPut::Failed;
            }
        };
        match put {
            Ok(samples) => {
                tracing::warn!(head = %head_id, "flood head was missing; written now");
                self.seen.insert(&head_id, samples);
                HeadPut::Written
            }
            Err(e) if super::condition_failed(&e) => HeadPut::Exists,
            Err(e) => {
                // The count is safe; the next request of the bucket tries again.
                tracing::warn!(error = %sdk_error(e), head = %head_id, "flood head not written");
                HeadPut::Failed
            }
        }
    }

    /// Appends `value` to the head's `flood.<list>` if the head exists, the
    /// list is short of [`MAX_SAMPLES`] and lacks it; a failed condition is
    /// no error (another process added it, the list is full, or the head is
    /// still being written).
    async fn add_sample(&self, key: &FloodKey, list: &str, value: String) -> Result<()> {
        let r = self
            .client
            .update_item()
            .table_name(&self.hits_table)
            .set_key(Some(self::key(&key.token_id, &key.counter_id())))
            .update_expression("SET #f.#l = list_append(#f.#l, :v)")
            .condition_expression("attribute_exists(hit_id) AND size(#f.#l) < :max AND NOT contains(#f.#l, :s)")
            .expression_attribute_names("#f", "flood")
            .expression_attribute_names("#l", list)
            .expression_attribute_values(":v", AttributeValue::L(vec![AttributeValue::S(value.clone())]))
            .expression_attribute_values(":s", AttributeValue::S(value))
            .expression_attribute_values(":max", AttributeValue::N(MAX_SAMPLES.to_string()))
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if super::condition_failed(&e) => Ok(()),
            Err(e) => Err(sdk_error(e)),
        }
    }

    /// Full items for `keys` (token id, hit id), in no particular order;
    /// missing items are left out. BatchGetItem, 100 keys a request,
    /// unprocessed keys retried with a short backoff.
    pub(super) async fn batch_get(&self, keys: Vec<(String, String)>) -> Result<Vec<Item>> {
        let mut out = Vec::with_capacity(keys.len());
        let mut uniq: Vec<(String, String)> = keys;
        uniq.sort();
        uniq.dedup();
        for chunk in uniq.chunks(BATCH_GET_MAX) {
            let ks = KeysAndAttributes::builder()
                .set_keys(Some(chunk.iter().map(|(t, h)| key(t, h)).collect()))
                .build()
                .map_err(|e| Error::Store(format!("batch get: {e}")))?;
            let mut pending = Some(HashMap::from([(self.hits_table.clone(), ks)]));
            let mut wait_ms = 20u64;
            while let Some(req) = pending.take() {
                self.stats.batch_gets.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                let r = self
                    .client
                    .batch_get_item()
                    .set_request_items(Some(req))
                    .send()
                    .await
                    .map_err(sdk_error)?;
                if let Some(mut got) = r.responses {
                    out.extend(got.remove(&self.hits_table).unwrap_or_default());
                }
                if let Some(u) = r.unprocessed_keys.filter(|u| !u.is_empty()) {
                    // Throttled keys come back unprocessed: retry with backoff
                    // (DynamoDB API reference, BatchGetItem).
                    tokio::time::sleep(std::time::Duration::from_millis(wait_ms)).await;
                    wait_ms = (wait_ms * 2).min(1000);
                    pending = Some(u);
                }
            }
        }
        Ok(out)
    }

    /// Turns hit items into hits: counters are dropped, heads get their
    /// count from their counter (read here if `items` lacks it).
    pub(super) async fn decode_hits(&self, items: Vec<Item>) -> Result<Vec<Hit>> {
        let mut counts: HashMap<(String, String), u64> = HashMap::new();
        let mut heads: Vec<(Hit, u64)> = Vec::new();
        let mut hits = Vec::new();
        for item in items {
            if is_counter(&item) {
                let (Some(t), Some(h), Some(n)) = (
                    item.get("token_id").and_then(|v| v.as_s().ok()),
                    item.get("hit_id").and_then(|v| v.as_s().ok()),
                    number(&item, COUNT_ATTR),
                ) else {
                    continue;
                };
                counts.insert((t.clone(), h.clone()), n);
                continue;
            }
            let whole = number(&item, WHOLE_ATTR);
            let hit: Hit = super::decode(item, "hit")?;
            match whole {
                Some(w) => heads.push((hit, w)),
                None => hits.push(hit),
            }
        }
        let missing: Vec<(String, String)> = heads
            .iter()
            .map(|(h, _)| (h.token_id.clone(), counter_sk(&h.hit_id)))
            .filter(|k| !counts.contains_key(k))
            .collect();
        if !missing.is_empty() {
            for item in self.batch_get(missing).await? {
                if let (Some(t), Some(h), Some(n)) = (
                    item.get("token_id").and_then(|v| v.as_s().ok()),
                    item.get("hit_id").and_then(|v| v.as_s().ok()),
                    number(&item, COUNT_ATTR),
                ) {
                    counts.insert((t.clone(), h.clone()), n);
                }
            }
        }
        for (mut h, whole) in heads {
            if let Some(n) = counts.get(&(h.token_id.clone(), counter_sk(&h.hit_id))) {
                h.count = n.saturating_sub(whole).max(1);
            }
            hits.push(h);
        }
        Ok(hits)
    }
}

/// What the alerter reads when it writes a window's summary: one
/// BatchGetItem of the heads and their counters.
#[async_trait::async_trait]
impl crate::store::FloodCounters for DynamoStore {
    async fn flood_heads(&self, token_id: &str, ids: &[String]) -> Result<Vec<Hit>> {
        let mut want = Vec::new();
        for id in ids.iter().filter(|i| i.starts_with(FLOOD_PREFIX)) {
            want.push((token_id.to_string(), counter_sk(id)));
            want.push((token_id.to_string(), id.clone()));
        }
        if want.is_empty() {
            return Ok(Vec::new());
        }
        let items = self.batch_get(want).await?;
        self.decode_hits(items).await
    }
}

/// The counter's key.
fn key_item(k: &FloodKey) -> Item {
    key(&k.token_id, &counter_sk(&k.counter_id()))
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn seen_reports_only_new_samples_and_stays_bounded() {
        let s = Seen::default();
        let mut h = honeytoken_core::testkit::hit_at("t", "203.0.113.1", 0, 0);
        h.path = "/a".into();
        h.user_agent = "ua".into();
        assert_eq!(s.add("x", &h), (Some("/a".into()), Some("ua".into())));
        assert_eq!(s.add("x", &h), (None, None));
        for i in 0..20 {
            h.path = format!("/p{i}");
            s.add("x", &h);
        }
        h.path = "/late".into();
        assert_eq!(s.add("x", &h), (None, None), "no room past MAX_SAMPLES");
    }
}
