//! Where tokens and hits live: traits, and their embedded, in-memory and
//! DynamoDB implementations.

pub mod alert_state;
pub mod cache;
pub mod codec;
#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "aws")]
pub mod iam;
pub mod memory;
#[cfg(feature = "cli")]
pub mod sqlite;

use async_trait::async_trait;

pub use alert_state::{AlertState, Claim, Commit, Marker, OutboxEntry, OutboxKey, PairKey, Window, WindowWrite};

use crate::domain::allow::AllowEntry;
use crate::domain::flood::FloodRule;
use crate::domain::hit::Hit;
use crate::domain::token::{TokenRecord, TokenState};
use crate::error::Result;

/// Tokens by id.
#[async_trait]
pub trait TokenStore: Send + Sync {
    /// Stores a new token; [`crate::Error::Conflict`] if the id exists.
    async fn create(&self, token: &TokenRecord) -> Result<()>;
    /// Replaces a stored token (state, placements, rotation links).
    async fn update(&self, token: &TokenRecord) -> Result<()>;
    /// One token.
    async fn get(&self, id: &str) -> Result<Option<TokenRecord>>;
    /// All tokens, oldest first.
    async fn list(&self) -> Result<Vec<TokenRecord>>;
}

/// Which hits to read.
#[derive(Debug, Clone, Default)]
pub struct HitQuery {
    /// Only this token's hits.
    pub token_id: Option<String>,
    /// Only hits received at or after this time.
    pub since: Option<crate::domain::time::Timestamp>,
    /// Only hits from this source address.
    pub source_ip: Option<String>,
    /// At most this many (the newest).
    pub limit: Option<usize>,
}

/// How a hit was kept under the flood rule.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub enum Kept {
    /// Stored as its own record.
    Whole,
    /// Counted in its bucket's counter record, which now stands for `count` requests.
    Counted {
        /// Requests the counter stands for, this one included.
        count: u64,
    },
    /// Durable in the store's spool file, not yet in the store itself (it
    /// could not take the hit at once); moved in as soon as it can be.
    Spooled,
}

/// How durable a hit is before the store acknowledges it.
#[derive(Debug, Clone, Copy, PartialEq, Eq, Default)]
pub enum Durability {
    /// On disk (fsynced) before the acknowledgement: survives a power cut.
    #[default]
    Full,
    /// Handed to the operating system before the acknowledgement: survives
    /// a crash of the process, not of the machine.
    Os,
}

/// Hits, append-only.
#[async_trait]
pub trait HitStore: Send + Sync {
    /// Stores a hit durably before returning.
    async fn put(&self, hit: &Hit) -> Result<()>;
    /// Stores a hit whole, saying how ([`Kept::Whole`], or [`Kept::Spooled`]
    /// for a store with a spool that could not take it at once).
    async fn put_kept(&self, hit: &Hit) -> Result<Kept> {
        self.put(hit).await.map(|()| Kept::Whole)
    }
    /// Stores a hit under the flood rule: whole while its (token, source,
    /// bucket) has seen at most `rule.whole` hits, else counted in the
    /// bucket's counter record. Stores without a counter keep every hit whole.
    async fn record(&self, hit: &Hit, rule: &FloodRule) -> Result<Kept> {
        let _ = rule;
        self.put(hit).await.map(|()| Kept::Whole)
    }
    /// Hits matching `q`, oldest first.
    async fn query(&self, q: &HitQuery) -> Result<Vec<Hit>>;
}

/// A flood's counter records read back by id, for the alerter's summaries:
/// the hits stream carries a bucket's counted requests as one record (the
/// counter record when it is created), and its count keeps growing after.
#[async_trait]
pub trait FloodCounters: Send + Sync {
    /// The counter records of token `token_id` with these hit ids that
    /// exist, each with its current count.
    async fn flood_heads(&self, token_id: &str, ids: &[String]) -> Result<Vec<Hit>>;
}

/// Sets a token's state, failing with a clear error for an unknown id.
pub async fn set_state(store: &dyn TokenStore, id: &str, state: TokenState) -> Result<TokenRecord> {
    let mut t = store
        .get(id)
        .await?
        .ok_or_else(|| crate::Error::NotFound(id.to_string()))?;
    t.state = state;
    store.update(&t).await?;
    Ok(t)
}

/// Applies a query's filters to one hit (for stores that filter in memory).
pub fn matches(q: &HitQuery, h: &Hit) -> bool {
    q.token_id.as_ref().is_none_or(|t| &h.token_id == t)
        && q.since.as_ref().is_none_or(|s| h.received_at >= *s)
        && q.source_ip.as_ref().is_none_or(|ip| &h.source_ip == ip)
}

/// Keeps the newest `limit` of hits sorted oldest first.
pub fn apply_limit(mut hits: Vec<Hit>, limit: Option<usize>) -> Vec<Hit> {
    hits.sort_by(|a, b| a.received_at.cmp(&b.received_at).then(a.hit_id.cmp(&b.hit_id)));
    if let Some(n) = limit
        && hits.len() > n
    {
        hits.drain(..hits.len() - n);
    }
    hits
}

/// Global allowlist entries, keyed by their normalised CIDR.
#[async_trait]
pub trait AllowStore: Send + Sync {
    /// Adds an entry, replacing the note of an existing one with the same CIDR.
    async fn allow_add(&self, entry: &AllowEntry) -> Result<()>;
    /// Removes the entry for `cidr`; whether there was one.
    async fn allow_remove(&self, cidr: &str) -> Result<bool>;
    /// All entries, ordered by CIDR text.
    async fn allow_list(&self) -> Result<Vec<AllowEntry>>;
}

/// Test-mark nonces (see `decoy::testmark`): a mark is accepted once across
/// every process and Lambda instance sharing the store, not once per process.
#[async_trait]
pub trait MarkStore: Send + Sync {
    /// Records `nonce` with a conditional write, kept at least until
    /// `expires_unix`; `true` only for the first caller ever to record it.
    async fn claim_mark(&self, nonce: &str, expires_unix: i64) -> Result<bool>;
}

/// A learned persona kept where the decoy reads it when it starts (on AWS,
/// an item beside the tokens, so `persona learn` reaches every Lambda
/// instance without a redeploy). Kept as the JSON `persona learn` writes:
/// the decoy parses and checks it.
#[async_trait]
pub trait PersonaStore: Send + Sync {
    /// Replaces the stored persona.
    async fn put_persona(&self, json: &str) -> Result<()>;
    /// The stored persona, if any.
    async fn get_persona(&self) -> Result<Option<String>>;
}

/// Where `honeytoken test` can see that an alert went out, for backends
/// whose alerter records it (on AWS, the alerter's state table). Each
/// implementation adds the "alert published" stage to `test`.
#[async_trait::async_trait]
pub trait AlertLog: Send + Sync {
    /// `Some(detail)` once the alert for `hit_id` is published; `None` while it is not.
    async fn published(&self, hit_id: &str) -> Result<Option<String>>;
}

/// An access key AWS made for a decoy user: its id and its secret (shown to
/// the operator once, never stored).
#[derive(Clone, PartialEq, Eq)]
pub struct AccessKey {
    /// `AKIA…`: the token record's id.
    pub id: String,
    /// The secret access key.
    pub secret: String,
}

impl std::fmt::Debug for AccessKey {
    // The secret never reaches a log line through `{:?}`.
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("AccessKey")
            .field("id", &self.id)
            .field("secret", &"***")
            .finish()
    }
}

/// IAM users behind decoy AWS keys (on AWS, IAM itself; see `iam`).
#[async_trait]
pub trait IamUsers: Send + Sync {
    /// Creates user `name` under `path`; [`crate::Error::Conflict`] when
    /// the name is taken.
    async fn create_user(&self, path: &str, name: &str) -> Result<()>;
    /// Adds `user` to `group`.
    async fn add_to_group(&self, user: &str, group: &str) -> Result<()>;
    /// Creates an access key for `user`.
    async fn create_access_key(&self, user: &str) -> Result<AccessKey>;
    /// Deletes `user` with its access keys and group memberships; a user
    /// that does not exist is no error (a retry after a partial delete).
    async fn delete_user(&self, user: &str) -> Result<()>;
    /// When access key `key_id` was last used, with which service and in
    /// which region; `None` when it never was (or no longer exists).
    async fn access_key_last_used(&self, key_id: &str) -> Result<Option<KeyLastUsed>>;
}

/// An access key's last use as IAM reports it (`GetAccessKeyLastUsed`).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct KeyLastUsed {
    /// When.
    pub at: crate::domain::time::Timestamp,
    /// The service (`sts`, `s3`), as IAM names it.
    pub service: String,
    /// The region that served it (`eu-west-1`).
    pub region: String,
}
