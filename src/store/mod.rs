//! Where tokens and hits live: traits, and their embedded, in-memory and
//! DynamoDB implementations.

pub mod allow;
pub mod cache;
#[cfg(feature = "aws")]
pub mod dynamodb;
#[cfg(feature = "aws")]
pub mod dynamodb_alert;
pub mod memory;
#[cfg(feature = "cli")]
pub mod sqlite;

use async_trait::async_trait;

pub use allow::AllowStore;

use crate::error::Result;
use crate::hit::Hit;
use crate::token::{TokenRecord, TokenState};

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
    /// Only hits received at or after this RFC 3339 time.
    pub since: Option<String>,
    /// Only hits from this source address.
    pub source_ip: Option<String>,
    /// At most this many (the newest).
    pub limit: Option<usize>,
}

/// Hits, append-only.
#[async_trait]
pub trait HitStore: Send + Sync {
    /// Stores a hit durably before returning.
    async fn put(&self, hit: &Hit) -> Result<()>;
    /// Hits matching `q`, oldest first.
    async fn query(&self, q: &HitQuery) -> Result<Vec<Hit>>;
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
        && q.since.as_ref().is_none_or(|s| h.received_at.as_str() >= s.as_str())
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
