//! The global allowlist's storage: a handful of CIDR entries that every
//! backend can keep (a SQLite table, a map in memory, DynamoDB items).

use async_trait::async_trait;

use crate::allow::AllowEntry;
use crate::error::Result;

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
