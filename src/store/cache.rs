//! A short-lived read cache in front of any [`TokenStore`].
//!
//! Under a flood of requests carrying one token, every hit would otherwise
//! read the same record; with the cache a token costs one read per TTL per
//! process. A state change made elsewhere (`honeytoken disable`) takes effect
//! within the TTL; changes made through this wrapper take effect at once.

use async_trait::async_trait;
use std::collections::HashMap;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use super::TokenStore;
use crate::domain::token::TokenRecord;
use crate::error::Result;

/// Entries kept at most; past this the cache is cleared rather than grown.
const MAX_ENTRIES: usize = 10_000;

/// Caches `get` (including "no such token") for `ttl`.
pub struct CachedTokens {
    inner: Arc<dyn TokenStore>,
    ttl: Duration,
    entries: Mutex<HashMap<String, (Instant, Option<TokenRecord>)>>,
}

impl CachedTokens {
    /// Wraps `inner`.
    pub fn new(inner: Arc<dyn TokenStore>, ttl: Duration) -> Self {
        CachedTokens {
            inner,
            ttl,
            entries: Mutex::new(HashMap::new()),
        }
    }

    fn forget(&self, id: &str) {
        self.entries.lock().expect("cache lock").remove(id);
    }
}

#[async_trait]
impl TokenStore for CachedTokens {
    async fn create(&self, token: &TokenRecord) -> Result<()> {
        self.forget(&token.id);
        self.inner.create(token).await
    }

    async fn update(&self, token: &TokenRecord) -> Result<()> {
        self.forget(&token.id);
        self.inner.update(token).await
    }

    async fn get(&self, id: &str) -> Result<Option<TokenRecord>> {
        if let Some((at, rec)) = self.entries.lock().expect("cache lock").get(id)
            && at.elapsed() < self.ttl
        {
            return Ok(rec.clone());
        }
        let rec = self.inner.get(id).await?;
        let mut m = self.entries.lock().expect("cache lock");
        if m.len() >= MAX_ENTRIES {
            m.clear();
        }
        m.insert(id.to_string(), (Instant::now(), rec.clone()));
        Ok(rec)
    }

    async fn list(&self) -> Result<Vec<TokenRecord>> {
        self.inner.list().await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::{MintSpec, TokenState, mint};
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn reads_once_per_ttl_and_sees_own_writes() {
        let mem = Arc::new(MemoryStore::new());
        let key = crate::domain::key::SigningKey::from_secret(&[1u8; 32]).unwrap();
        let mut t = mint(
            &key,
            &MintSpec::Jwt { issuer: "i".into() },
            "a",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        mem.create(&t).await.unwrap();
        let c = CachedTokens::new(mem.clone(), Duration::from_secs(60));
        for _ in 0..100 {
            assert!(c.get(&t.id).await.unwrap().is_some());
            assert!(c.get("0000000000000000").await.unwrap().is_none());
        }
        assert_eq!(mem.reads(), 2);
        t.state = TokenState::Disabled;
        c.update(&t).await.unwrap();
        assert_eq!(c.get(&t.id).await.unwrap().unwrap().state, TokenState::Disabled);
        let short = CachedTokens::new(mem.clone(), Duration::ZERO);
        short.get(&t.id).await.unwrap();
        short.get(&t.id).await.unwrap();
        assert_eq!(mem.reads(), 5);
    }
}
