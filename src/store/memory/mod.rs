//! In-memory stores for tests and benchmarks; they count reads so tests can
//! prove that unrecognised candidates never reach a store.

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{HitQuery, HitStore, TokenStore, apply_limit, matches};
use crate::error::{Error, Result};
use crate::domain::hit::Hit;
use crate::domain::token::TokenRecord;

/// Tokens and hits in memory.
#[derive(Default)]
pub struct MemoryStore {
    tokens: Mutex<BTreeMap<String, TokenRecord>>,
    hits: Mutex<Vec<Hit>>,
    reads: AtomicUsize,
    fail_writes: std::sync::atomic::AtomicBool,
    allow: Mutex<BTreeMap<String, crate::domain::allow::AllowEntry>>,
    allow_reads: AtomicUsize,
}

mod alert_state;
mod allow;

pub use alert_state::MemoryAlertState;

impl MemoryStore {
    /// An empty store.
    pub fn new() -> Self {
        Self::default()
    }

    /// Token reads so far.
    pub fn reads(&self) -> usize {
        self.reads.load(Ordering::Relaxed)
    }

    /// Hits stored so far.
    pub fn hit_count(&self) -> usize {
        self.hits.lock().expect("lock").len()
    }

    /// Makes every hit write fail, to test the endpoint with its store down.
    pub fn fail_writes(&self, fail: bool) {
        self.fail_writes.store(fail, Ordering::Relaxed);
    }
}

#[async_trait]
impl TokenStore for MemoryStore {
    async fn create(&self, token: &TokenRecord) -> Result<()> {
        let mut m = self.tokens.lock().expect("lock");
        if m.contains_key(&token.id) {
            return Err(Error::Conflict(token.id.clone()));
        }
        m.insert(token.id.clone(), token.clone());
        Ok(())
    }

    async fn update(&self, token: &TokenRecord) -> Result<()> {
        let mut m = self.tokens.lock().expect("lock");
        match m.get_mut(&token.id) {
            Some(t) => {
                *t = token.clone();
                Ok(())
            }
            None => Err(Error::NotFound(token.id.clone())),
        }
    }

    async fn get(&self, id: &str) -> Result<Option<TokenRecord>> {
        self.reads.fetch_add(1, Ordering::Relaxed);
        Ok(self.tokens.lock().expect("lock").get(id).cloned())
    }

    async fn list(&self) -> Result<Vec<TokenRecord>> {
        let mut v: Vec<_> = self.tokens.lock().expect("lock").values().cloned().collect();
        v.sort_by(|a, b| a.created_at.cmp(&b.created_at));
        Ok(v)
    }
}

#[async_trait]
impl HitStore for MemoryStore {
    async fn put(&self, hit: &Hit) -> Result<()> {
        if self.fail_writes.load(Ordering::Relaxed) {
            return Err(Error::Store("store unavailable".into()));
        }
        self.hits.lock().expect("lock").push(hit.clone());
        Ok(())
    }

    async fn query(&self, q: &HitQuery) -> Result<Vec<Hit>> {
        let v: Vec<Hit> = self
            .hits
            .lock()
            .expect("lock")
            .iter()
            .filter(|h| matches(q, h))
            .cloned()
            .collect();
        Ok(apply_limit(v, q.limit))
    }
}
