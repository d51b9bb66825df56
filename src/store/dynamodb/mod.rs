//! DynamoDB stores: the tables of a deployed stack (template.yaml).
//!
//! Item layout (the template's key schema and indexes must match; the
//! integration tests create their tables from template.yaml to keep it so):
//!
//! * **TokensTable**: partition key `id` (S); the item is the
//!   [`TokenRecord`] as serde_dynamo writes it. Creation is conditional on
//!   `attribute_not_exists(id)`, so an id is never overwritten.
//! * **HitsTable**: partition key `token_id` (S), sort key `hit_id` (S, a
//!   ULID, so a token's hits sort by time). The item is the [`Hit`] plus
//!   three derived attributes the alerter and readers can ignore:
//!   - `expires_at` (N, epoch seconds): the table's TTL attribute,
//!     `received_at` + [`DynamoStore::with_hit_ttl_days`] (default 400 days);
//!   - `day` (S, `YYYY-MM-DD#S` of `received_at`, `S` a shard `0..`
//!     [`DAY_SHARDS`] from a hash of the hit id): partition key of the
//!     [`INDEX_BY_DAY`] index (sort key `received_at`), which serves
//!     `hits --since` with one Query per day and shard instead of a Scan;
//!   - `ip` (S, the `source_ip`; absent when that is empty, because an index
//!     key may not be an empty string): partition key of the
//!     [`INDEX_BY_SOURCE_IP`] index (sort key `received_at`).
//!
//!   A flood's counted hits are kept in two more items per (token, source,
//!   bucket), sort keys starting `flood-` (see [`flood`]): a small counter
//!   no index holds, and the bucket's counter record.
//!
//! Both indexes project the keys only (KEYS_ONLY): a hit is written to each
//! index as its four key attributes (about 100 bytes: one write unit) instead
//! of a copy of the whole item (1-3 write units each, twice per hit). The
//! reads they serve (`hits --since`, `hits --source`) are an operator's, rare
//! and small, so they take the keys from the index and the items from the
//! table with BatchGetItem (half a read unit per 4 KB, eventually
//! consistent), which costs less than storing and writing every hit three
//! times. The `day` key is sharded so that no single index partition takes
//! every hit of a day (DynamoDB sustains about 1,000 writes a second per
//! partition; when an index partition throttles, the table write fails too).
//! Items written before the sharding (`day` = `YYYY-MM-DD`) are still read.
//!
//! No read here is a Scan of the hits table: queries go to the base table
//! (by token), the `ip` index (by source) or the `day` index (by time).

use async_trait::async_trait;
use aws_sdk_dynamodb::Client;
use aws_sdk_dynamodb::error::{DisplayErrorContext, ProvideErrorMetadata, SdkError};
use aws_sdk_dynamodb::operation::query::builders::QueryFluentBuilder;
use aws_sdk_dynamodb::types::AttributeValue;
use serde_dynamo::aws_sdk_dynamodb_1::{from_item, to_item};
use std::collections::HashMap;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use time::{Date, OffsetDateTime};

pub mod alert_state;
mod allow;
pub mod flood;

use super::{HitQuery, HitStore, TokenStore, apply_limit};
use crate::domain::hit::Hit;
use crate::domain::token::TokenRecord;
use crate::error::{Error, ErrorKind, Result};

/// A DynamoDB item.
pub type Item = HashMap<String, AttributeValue>;

/// Index of hits by day (`day` partition, `received_at` sort).
pub const INDEX_BY_DAY: &str = "by_day";
/// Index of hits by source address (`ip` partition, `received_at` sort).
pub const INDEX_BY_SOURCE_IP: &str = "by_source_ip";
/// How long hits are kept unless configured otherwise.
pub const DEFAULT_HIT_TTL_DAYS: u32 = 400;
/// Days of `day` partitions queried at once when walking back in time
/// (each day is [`DAY_SHARDS`] + 1 queries).
const DAY_BATCH: usize = 8;
/// Shards of the `day` index key: a day's hits are spread over this many
/// index partitions (4,000 writes a second together).
pub const DAY_SHARDS: u32 = 4;
/// Slack after the TTL: DynamoDB deletes expired items lazily, within days.
const TTL_SLACK_DAYS: u32 = 7;

/// Requests made, so tests (and the curious) can see how a read was served.
#[derive(Debug, Default)]
pub struct Stats {
    queries: AtomicUsize,
    scans: AtomicUsize,
    batch_gets: AtomicUsize,
}

impl Stats {
    /// Query requests (one per page) against the hits table and its indexes.
    pub fn queries(&self) -> usize {
        self.queries.load(Ordering::Relaxed)
    }
    /// Scan requests (one per page) against the hits table; always zero.
    pub fn scans(&self) -> usize {
        self.scans.load(Ordering::Relaxed)
    }
    /// BatchGetItem requests (items of index keys, flood counters).
    pub fn batch_gets(&self) -> usize {
        self.batch_gets.load(Ordering::Relaxed)
    }
}

/// Tokens and hits in two DynamoDB tables.
#[derive(Clone)]
pub struct DynamoStore {
    client: Client,
    tokens_table: String,
    hits_table: String,
    hit_ttl_days: u32,
    page_size: Option<i32>,
    stats: Arc<Stats>,
    seen: Arc<flood::Seen>,
}

impl std::fmt::Debug for DynamoStore {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("DynamoStore")
            .field("tokens_table", &self.tokens_table)
            .field("hits_table", &self.hits_table)
            .field("hit_ttl_days", &self.hit_ttl_days)
            .finish()
    }
}

impl DynamoStore {
    /// A store over the named tables.
    pub fn new(client: Client, tokens_table: impl Into<String>, hits_table: impl Into<String>) -> Self {
        DynamoStore {
            client,
            tokens_table: tokens_table.into(),
            hits_table: hits_table.into(),
            hit_ttl_days: DEFAULT_HIT_TTL_DAYS,
            page_size: None,
            stats: Arc::new(Stats::default()),
            seen: Arc::new(flood::Seen::default()),
        }
    }

    /// Keeps hits for `days` days (the TTL written into `expires_at`).
    pub fn with_hit_ttl_days(mut self, days: u32) -> Self {
        self.hit_ttl_days = days.max(1);
        self
    }

    /// Reads at most `n` items per request (DynamoDB's own page limit is 1 MB);
    /// small pages exercise pagination in tests.
    pub fn with_page_size(mut self, n: i32) -> Self {
        self.page_size = Some(n.max(1));
        self
    }

    /// Request counters.
    pub fn stats(&self) -> &Stats {
        &self.stats
    }

    /// The tokens table.
    pub fn tokens_table(&self) -> &str {
        &self.tokens_table
    }

    /// The hits table.
    pub fn hits_table(&self) -> &str {
        &self.hits_table
    }

    /// The item stored for a hit: the hit plus `expires_at`, `day` and `ip`.
    pub fn hit_item(&self, hit: &Hit) -> Result<Item> {
        let mut item: Item = to_item(hit).map_err(|e| Error::Store(format!("cannot encode hit: {e}")))?;
        // A hit's time comes from this process; fall back to now rather than
        // lose the hit if it were ever malformed.
        let at = hit.received_at.time();
        let expires = at.unix_timestamp() + i64::from(self.hit_ttl_days) * 86_400;
        item.insert("expires_at".into(), AttributeValue::N(expires.to_string()));
        item.insert(
            "day".into(),
            AttributeValue::S(format!("{}#{}", day_key(at.date()), day_shard(&hit.hit_id))),
        );
        if !hit.source_ip.is_empty() {
            item.insert("ip".into(), AttributeValue::S(hit.source_ip.clone()));
        }
        Ok(item)
    }

    fn hits_query(&self) -> QueryFluentBuilder {
        let q = self
            .client
            .query()
            .table_name(&self.hits_table)
            .scan_index_forward(false);
        match self.page_size {
            Some(n) => q.limit(n),
            None => q,
        }
    }

    /// Queries by token: the base table. Hits (ULID sort keys) bounded
    /// below by the ULID of `since`, and the token's flood items (sort keys
    /// `flood-TOKEN-BUCKET_MS-…`, after every ULID) from the bucket `since`
    /// falls in, filtered here.
    async fn by_token(&self, token_id: &str, q: &HitQuery) -> Result<Vec<Item>> {
        let mut b = self
            .hits_query()
            .expression_attribute_values(":t", AttributeValue::S(token_id.into()));
        // ULIDs are 26 Crockford base-32 characters starting 0-7: every one
        // sorts between these bounds, and before `flood-`.
        let lower = match &q.since {
            // ULIDs start with their millisecond timestamp, so the smallest
            // ULID of that millisecond bounds the sort key.
            Some(since) => ulid::Ulid::from_parts(parse_bound(&since.to_string())?, 0).to_string(),
            None => "0".into(),
        };
        b = b
            .expression_attribute_values(":lo", AttributeValue::S(lower))
            .expression_attribute_values(":hi", AttributeValue::S("8".into()));
        let mut filters = Vec::new();
        if let Some(since) = &q.since {
            // The ULID bound is to the millisecond; keep the exact bound too.
            b = b.expression_attribute_values(":since", AttributeValue::S(since.to_string()));
            filters.push("received_at >= :since");
        }
        if let Some(ip) = &q.source_ip {
            b = b.expression_attribute_values(":ip", AttributeValue::S(ip.clone()));
            filters.push("source_ip = :ip");
        }
        b = b.key_condition_expression("token_id = :t AND hit_id BETWEEN :lo AND :hi");
        if !filters.is_empty() {
            b = b.filter_expression(filters.join(" AND "));
        }
        let mut out = run_query(b, q.limit, self.stats.clone()).await?;

        // Flood items: few (one head and one counter per flooded bucket and
        // source), read whole, filtered in `query`. A bucket is at most a day
        // (ThrottleWindowMinutes <= 1440), so a head of a bucket that
        // started a day before `since` may hold hits after it.
        let prefix = format!("{}{token_id}-", flood::FLOOD_PREFIX);
        let mut f = self
            .hits_query()
            .expression_attribute_values(":t", AttributeValue::S(token_id.into()));
        let since_bucket = q
            .since
            .as_ref()
            .map(|s| s.unix_ms() - 86_400_000)
            .filter(|ms| *ms >= 1_000_000_000_000);
        f = match since_bucket {
            // Bucket starts are 13-digit milliseconds until the year 2286, so
            // the text order is the numeric order.
            Some(ms) => f
                .expression_attribute_values(":flo", AttributeValue::S(format!("{prefix}{ms}")))
                .expression_attribute_values(":fhi", AttributeValue::S(format!("{prefix}~")))
                .key_condition_expression("token_id = :t AND hit_id BETWEEN :flo AND :fhi"),
            None => f
                .expression_attribute_values(":fp", AttributeValue::S(prefix))
                .key_condition_expression("token_id = :t AND begins_with(hit_id, :fp)"),
        };
        out.extend(run_query(f, None, self.stats.clone()).await?);
        Ok(out)
    }

    /// Queries by source address: the `ip` index (keys), then the items.
    async fn by_ip(&self, ip: &str, q: &HitQuery) -> Result<Vec<Item>> {
        if ip.is_empty() {
            return Ok(Vec::new());
        }
        let mut b = self
            .hits_query()
            .index_name(INDEX_BY_SOURCE_IP)
            .expression_attribute_values(":ip", AttributeValue::S(ip.into()));
        let mut key = "ip = :ip".to_string();
        if let Some(since) = &q.since {
            b = b.expression_attribute_values(":since", AttributeValue::S(since.to_string()));
            key.push_str(" AND received_at >= :since");
        }
        let keys = run_query(b.key_condition_expression(key), q.limit, self.stats.clone()).await?;
        self.items_of(keys, q.limit).await
    }

    /// Queries by time: every shard of one `day` partition per day (and the
    /// unsharded key of items written before sharding), newest day first,
    /// [`DAY_BATCH`] days at a time, until `limit` hits are found; then the
    /// items of the newest `limit` keys.
    async fn by_day(&self, q: &HitQuery) -> Result<Vec<Item>> {
        let today = OffsetDateTime::now_utc().date();
        let oldest = match &q.since {
            Some(s) => s.time().date(),
            None => today - time::Duration::days(i64::from(self.hit_ttl_days + TTL_SLACK_DAYS)),
        };
        let mut days = Vec::new();
        let mut d = today;
        while d >= oldest {
            days.push(d);
            match d.previous_day() {
                Some(p) => d = p,
                None => break,
            }
        }
        let mut keys: Vec<Item> = Vec::new();
        for batch in days.chunks(DAY_BATCH) {
            let mut set = tokio::task::JoinSet::new();
            for (i, day) in batch.iter().enumerate() {
                let base = day_key(*day);
                let partitions = (0..DAY_SHARDS)
                    .map(|s| format!("{base}#{s}"))
                    .chain(std::iter::once(base.clone()));
                for part in partitions {
                    let mut b = self
                        .hits_query()
                        .index_name(INDEX_BY_DAY)
                        .expression_attribute_values(":d", AttributeValue::S(part));
                    let mut key = "#day = :d".to_string();
                    if let Some(since) = &q.since {
                        b = b.expression_attribute_values(":since", AttributeValue::S(since.to_string()));
                        key.push_str(" AND received_at >= :since");
                    }
                    // `day` is a reserved word in DynamoDB expressions.
                    let b = b
                        .expression_attribute_names("#day", "day")
                        .key_condition_expression(key);
                    let (limit, stats) = (q.limit, self.stats.clone());
                    set.spawn(async move { (i, run_query(b, limit, stats).await) });
                }
            }
            while let Some(joined) = set.join_next().await {
                let (_, r) = joined.map_err(|e| Error::Store(format!("query task failed: {e}")))?;
                keys.extend(r?);
            }
            // Days are walked newest first: once a batch of days holds
            // `limit` keys, older days cannot hold any of the newest `limit`.
            if q.limit.is_some_and(|n| keys.len() >= n) {
                break;
            }
        }
        self.items_of(keys, q.limit).await
    }

    /// The table items of index `keys`: the newest `limit` of them, read
    /// with BatchGetItem (the indexes project keys only).
    async fn items_of(&self, mut keys: Vec<Item>, limit: Option<usize>) -> Result<Vec<Item>> {
        let s = |i: &Item, k: &str| i.get(k).and_then(|v| v.as_s().ok()).cloned().unwrap_or_default();
        // As times, not text: see `run_query` on hits stored with fewer
        // than three fraction digits.
        keys.sort_by_key(|k| std::cmp::Reverse((received_at(k), s(k, "hit_id"))));
        if let Some(n) = limit {
            keys.truncate(n);
        }
        let want: Vec<(String, String)> = keys.iter().map(|k| (s(k, "token_id"), s(k, "hit_id"))).collect();
        self.batch_get(want).await
    }
}

/// The `day` shard of a hit id: FNV-1a, stable across processes and releases.
pub fn day_shard(hit_id: &str) -> u32 {
    let mut h: u32 = 0x811c_9dc5;
    for b in hit_id.bytes() {
        h ^= u32::from(b);
        h = h.wrapping_mul(0x0100_0193);
    }
    h % DAY_SHARDS
}

/// `YYYY-MM-DD`.
fn day_key(d: Date) -> String {
    format!("{:04}-{:02}-{:02}", d.year(), u8::from(d.month()), d.day())
}

fn parse_bound(since: &str) -> Result<u64> {
    let t =
        crate::domain::time::parse(since).ok_or_else(|| Error::Invalid(format!("not an RFC 3339 time: {since:?}")))?;
    Ok(u64::try_from(t.unix_timestamp_nanos() / 1_000_000).unwrap_or(0))
}

/// An item's `received_at` as a time (`None` if absent or unreadable).
fn received_at(item: &Item) -> Option<crate::domain::time::Timestamp> {
    item.get("received_at")
        .and_then(|v| v.as_s().ok())
        .and_then(|t| crate::domain::time::Timestamp::parse(t))
}

/// The whole second of an item's `received_at` text (`YYYY-MM-DDTHH:MM:SS`).
fn second_of(item: &Item) -> Option<&str> {
    item.get("received_at")
        .and_then(|v| v.as_s().ok())
        .and_then(|t| t.get(..19))
}

/// Runs a Query to the end (or until `limit` items), page by page.
///
/// Hits written before times always had three fraction digits keep their
/// `received_at` as written (`.5Z`, `.82Z`), and the indexes sort it as
/// text, so within one second `.5Z` comes after `.52Z`. Text order is still
/// time order across seconds, so past `limit` the query reads on until an
/// item of an older second than the `limit`-th: every hit of that second is
/// then in hand, and callers sort by time and cut (`items_of`,
/// `apply_limit`). A `since` bound compared as text only ever lets such a
/// hit of the bound's second in too early, never keeps one out;
/// [`super::matches`] drops it.
async fn run_query(b: QueryFluentBuilder, limit: Option<usize>, stats: Arc<Stats>) -> Result<Vec<Item>> {
    let mut out = Vec::new();
    let mut start: Option<Item> = None;
    loop {
        stats.queries.fetch_add(1, Ordering::Relaxed);
        let page = b
            .clone()
            .set_exclusive_start_key(start.take())
            .send()
            .await
            .map_err(sdk_error)?;
        out.extend(page.items.unwrap_or_default());
        if let Some(n) = limit
            && out.len() >= n
            && (n == 0 || second_of(&out[n - 1]) != out.last().and_then(second_of))
        {
            break;
        }
        match page.last_evaluated_key {
            Some(k) if !k.is_empty() => start = Some(k),
            _ => break,
        }
    }
    Ok(out)
}

/// A store error with the service's code and message, and what to check.
/// The one mapping of DynamoDB errors: the cause kept as the source, the
/// kind a caller can match (throttling is retried, a missing table and
/// missing permissions get a hint), the SDK's full context in the message.
pub(crate) fn sdk_error<E, R>(e: SdkError<E, R>) -> Error
where
    E: ProvideErrorMetadata + std::error::Error + Send + Sync + 'static,
    R: std::fmt::Debug + Send + Sync + 'static,
{
    let code = e
        .as_service_error()
        .and_then(|s| s.code())
        .unwrap_or_default()
        .to_string();
    let (kind, hint) = match code.as_str() {
        "ResourceNotFoundException" => (
            ErrorKind::NotFound,
            "; check the table names (--stack, or --tokens-table/--hits-table) and the region",
        ),
        "AccessDeniedException" | "UnrecognizedClientException" => {
            (ErrorKind::Denied, "; check the AWS credentials and their permissions")
        }
        "ProvisionedThroughputExceededException" | "ThrottlingException" | "RequestLimitExceeded" => {
            (ErrorKind::Throttled, "")
        }
        "ConditionalCheckFailedException" => (ErrorKind::Conflict, ""),
        _ if e.message().is_some_and(|m| m.contains("ThrottlingError")) => (ErrorKind::Throttled, ""),
        _ => (ErrorKind::Other, ""),
    };
    let detail = DisplayErrorContext(&e).to_string();
    Error::backend("DynamoDB", kind, detail, hint, e)
}

/// Whether `e` is DynamoDB's answer that a conditional write's condition
/// did not hold (ConditionalCheckFailedException), which every conditional
/// write here treats as an outcome, not a failure.
pub(crate) fn condition_failed<E: ProvideErrorMetadata, R>(e: &SdkError<E, R>) -> bool {
    e.as_service_error().and_then(|s| s.code()) == Some("ConditionalCheckFailedException")
}

fn decode<T: serde::de::DeserializeOwned>(item: Item, what: &str) -> Result<T> {
    from_item(item).map_err(|e| Error::Store(format!("corrupt {what} item: {e}")))
}

impl DynamoStore {
    /// Writes a token under `condition`; a failed condition becomes `refused(id)`.
    async fn put_token(&self, token: &TokenRecord, condition: &str, refused: fn(String) -> Error) -> Result<()> {
        let item: Item = to_item(token).map_err(|e| Error::Store(format!("cannot encode token: {e}")))?;
        let r = self
            .client
            .put_item()
            .table_name(&self.tokens_table)
            .set_item(Some(item))
            .condition_expression(condition)
            .send()
            .await;
        match r {
            Ok(_) => Ok(()),
            Err(e) if condition_failed(&e) => Err(refused(token.id.clone())),
            Err(e) => Err(sdk_error(e)),
        }
    }
}

/// Test-mark nonces share the tokens table (ids `mark#NONCE`, never a token
/// id of 16 hex digits), each with the table's TTL attribute `expires_at`,
/// so the decoy needs only a PutItem limited to `mark#` keys by its IAM policy.
pub const MARK_ID_PREFIX: &str = "mark#";

#[async_trait]
impl crate::store::MarkStore for DynamoStore {
    async fn claim_mark(&self, nonce: &str, expires_unix: i64) -> Result<bool> {
        let r = self
            .client
            .put_item()
            .table_name(&self.tokens_table)
            .item("id", AttributeValue::S(format!("{MARK_ID_PREFIX}{nonce}")))
            .item("expires_at", AttributeValue::N(expires_unix.to_string()))
            // The conditional write is what makes a mark single-use across
            // every Lambda instance: only one PutItem of the id can succeed.
            .condition_expression("attribute_not_exists(id)")
            .send()
            .await;
        match r {
            Ok(_) => Ok(true),
            Err(e) if condition_failed(&e) => Ok(false),
            Err(e) => Err(sdk_error(e)),
        }
    }
}

/// The id of the learned persona's item in the tokens table (never a token
/// id of 16 hex digits). The decoy reads it with the GetItem it already has.
pub const PERSONA_ID: &str = "config#persona";

#[async_trait]
impl crate::store::PersonaStore for DynamoStore {
    async fn put_persona(&self, json: &str) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.tokens_table)
            .item("id", AttributeValue::S(PERSONA_ID.into()))
            .item("persona", AttributeValue::S(json.into()))
            .item(
                "updated_at",
                AttributeValue::S(crate::domain::time::Timestamp::now().to_string()),
            )
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }

    async fn get_persona(&self) -> Result<Option<String>> {
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens_table)
            .key("id", AttributeValue::S(PERSONA_ID.into()))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(out
            .item
            .and_then(|mut i| i.remove("persona"))
            .and_then(|v| v.as_s().ok().cloned()))
    }
}

#[async_trait]
impl TokenStore for DynamoStore {
    async fn create(&self, token: &TokenRecord) -> Result<()> {
        self.put_token(token, "attribute_not_exists(id)", Error::Conflict).await
    }

    async fn update(&self, token: &TokenRecord) -> Result<()> {
        self.put_token(token, "attribute_exists(id)", Error::NotFound).await
    }

    async fn get(&self, id: &str) -> Result<Option<TokenRecord>> {
        // Strongly consistent: a token minted a moment ago must not be taken
        // for an orphan by the decoy or by `show`.
        let out = self
            .client
            .get_item()
            .table_name(&self.tokens_table)
            .key("id", AttributeValue::S(id.into()))
            .consistent_read(true)
            .send()
            .await
            .map_err(sdk_error)?;
        out.item.map(|i| decode(i, "token")).transpose()
    }

    async fn list(&self) -> Result<Vec<TokenRecord>> {
        // The tokens table holds a few hundred items at most: read it whole.
        let mut out: Vec<TokenRecord> = Vec::new();
        let mut start: Option<Item> = None;
        loop {
            let mut b = self
                .client
                .scan()
                .table_name(&self.tokens_table)
                .set_exclusive_start_key(start.take());
            if let Some(n) = self.page_size {
                b = b.limit(n);
            }
            let page = b.send().await.map_err(sdk_error)?;
            for item in page.items.unwrap_or_default() {
                // The global allowlist shares the table (see `allow`).
                // So do test-mark nonces and the learned persona.
                if matches!(item.get("id"), Some(AttributeValue::S(id)) if id == allow::ALLOWLIST_ID || id == PERSONA_ID || id.starts_with(MARK_ID_PREFIX))
                {
                    continue;
                }
                out.push(decode(item, "token")?);
            }
            match page.last_evaluated_key {
                Some(k) if !k.is_empty() => start = Some(k),
                _ => break,
            }
        }
        out.sort_by(|a, b| a.created_at.cmp(&b.created_at).then(a.id.cmp(&b.id)));
        Ok(out)
    }
}

impl DynamoStore {
    /// Puts one hit item. Unconditional: a retried PutItem of the same hit
    /// writes the same item.
    async fn put_hit(&self, hit: &Hit) -> Result<()> {
        self.client
            .put_item()
            .table_name(&self.hits_table)
            .set_item(Some(self.hit_item(hit)?))
            .send()
            .await
            .map_err(sdk_error)?;
        Ok(())
    }
}

#[async_trait]
impl HitStore for DynamoStore {
    async fn put(&self, hit: &Hit) -> Result<()> {
        self.put_hit(hit).await
    }

    /// The flood rule with a counter item per (token, source, bucket): see [`flood`].
    async fn record(&self, hit: &Hit, rule: &crate::domain::flood::FloodRule) -> Result<super::Kept> {
        self.record_flood(hit, rule).await
    }

    async fn query(&self, q: &HitQuery) -> Result<Vec<Hit>> {
        let items = match (&q.token_id, &q.source_ip) {
            (Some(t), _) => self.by_token(t, q).await?,
            (None, Some(ip)) => self.by_ip(ip, q).await?,
            (None, None) => self.by_day(q).await?,
        };
        let hits = self.decode_hits(items).await?;
        // Flood heads come from their own range of the token's partition;
        // the filters apply to them here (and are no-ops for the rest).
        let hits = hits.into_iter().filter(|h| super::matches(q, h)).collect();
        Ok(apply_limit(hits, q.limit))
    }
}

#[cfg(test)]
mod tests {
    use super::*;

    fn store() -> DynamoStore {
        let conf = aws_sdk_dynamodb::Config::builder()
            .behavior_version(aws_sdk_dynamodb::config::BehaviorVersion::latest())
            .region(aws_sdk_dynamodb::config::Region::new("test-region"))
            .build();
        DynamoStore::new(Client::from_conf(conf), "t", "h")
    }

    fn hit(ip: &str) -> Hit {
        Hit {
            hit_id: "01JDQ2T7M2V4Q8Z9X0Y1Z2A3B4".into(),
            user_agent: String::new(),
            path: "/".into(),
            orphan: true,
            token_state: None,
            ..Hit::sample("00112233aabbccdd", ip, "2026-11-28T23:59:59.999Z")
        }
    }

    #[test]
    fn hit_item_has_ttl_day_and_ip() {
        let s = store().with_hit_ttl_days(30);
        let item = s.hit_item(&hit("203.0.113.9")).unwrap();
        let t = crate::domain::time::parse("2026-11-28T23:59:59.999Z")
            .unwrap()
            .unix_timestamp();
        assert_eq!(item["expires_at"], AttributeValue::N((t + 30 * 86_400).to_string()));
        let day = item["day"].as_s().unwrap();
        assert!(day.starts_with("2026-11-28#"), "{day}");
        let shard: u32 = day["2026-11-28#".len()..].parse().unwrap();
        assert!(shard < DAY_SHARDS);
        assert_eq!(item["ip"], AttributeValue::S("203.0.113.9".into()));
        let back: Hit = decode(item, "hit").unwrap();
        assert_eq!(back, hit("203.0.113.9"));
    }

    #[test]
    fn a_credential_file_token_round_trips_and_an_item_without_its_file_still_reads() {
        use crate::domain::token::credfile::{CredFile, FileKind};
        let k = crate::domain::key::SigningKey::from_secret(&[5u8; 32]).unwrap();
        let spec = crate::domain::token::MintSpec::Key(
            crate::domain::token::KeyShape::plain("", crate::domain::token::Alphabet::Base62, 32).unwrap(),
        );
        let mut rec = crate::domain::token::mint(&k, &spec, "l", "", "", time::OffsetDateTime::now_utc()).unwrap();
        let old: Item = to_item(&rec).unwrap();
        assert!(!old.contains_key("file"), "a bare token stores no file attribute");
        rec.file = Some(CredFile {
            kind: FileKind::DockerConfig,
            endpoint: "https://registry.acme.io".into(),
            ca_data: None,
        });
        let item: Item = to_item(&rec).unwrap();
        assert_eq!(
            item["file"].as_m().unwrap()["kind"],
            AttributeValue::S("docker-config".into())
        );
        assert_eq!(decode::<TokenRecord>(item, "token").unwrap(), rec);
        let back: TokenRecord = decode(old, "token").unwrap();
        assert_eq!(back.file, None);
    }

    #[test]
    fn day_shards_spread_hit_ids() {
        let mut seen = [0u32; DAY_SHARDS as usize];
        for i in 0..400u128 {
            seen[day_shard(&ulid::Ulid::from_parts(1_800_000_000_000, i).to_string()) as usize] += 1;
        }
        assert!(seen.iter().all(|n| *n > 50), "{seen:?}");
        assert_eq!(day_shard("x"), day_shard("x"), "stable");
    }

    #[test]
    fn empty_source_ip_stays_out_of_the_index() {
        let item = store().hit_item(&hit("")).unwrap();
        assert!(!item.contains_key("ip"));
    }

    #[test]
    fn since_bound_becomes_a_ulid_prefix() {
        let ms = parse_bound("2026-11-28T12:00:00.123Z").unwrap();
        let lower = ulid::Ulid::from_parts(ms, 0).to_string();
        let id = ulid::Ulid::from_parts(ms, u128::MAX >> 48).to_string();
        let earlier = ulid::Ulid::from_parts(ms - 1, u128::MAX >> 48).to_string();
        assert!(id >= lower && earlier < lower);
        assert!(parse_bound("yesterday").is_err());
    }
}
