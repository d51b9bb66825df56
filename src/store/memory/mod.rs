//! In-memory stores for tests and benchmarks; they count reads so tests can
//! prove that unrecognised candidates never reach a store.

use async_trait::async_trait;
use std::collections::BTreeMap;
use std::sync::Mutex;
use std::sync::atomic::{AtomicUsize, Ordering};

use super::{HitQuery, HitStore, Kept, TokenStore, apply_limit, matches};
use crate::domain::flood::{FloodKey, FloodRule, FloodSamples, counter_hit};
use crate::domain::hit::Hit;
use crate::domain::token::TokenRecord;
use crate::error::{Error, Result};

/// Tokens and hits in memory.
#[derive(Default)]
pub struct MemoryStore {
    tokens: Mutex<BTreeMap<String, TokenRecord>>,
    hits: Mutex<Vec<Hit>>,
    reads: AtomicUsize,
    fail_writes: std::sync::atomic::AtomicBool,
    allow: Mutex<BTreeMap<String, crate::domain::allow::AllowEntry>>,
    allow_reads: AtomicUsize,
    floods: Mutex<std::collections::HashMap<FloodKey, u64>>,
    marks: Mutex<std::collections::HashMap<String, i64>>,
}

#[async_trait::async_trait]
impl crate::store::MarkStore for MemoryStore {
    async fn claim_mark(&self, nonce: &str, expires_unix: i64) -> Result<bool> {
        let mut m = self
            .marks
            .lock()
            .map_err(|_| crate::Error::Store("lock poisoned".into()))?;
        let now = crate::domain::time::Timestamp::now().unix_ms() / 1000;
        m.retain(|_, exp| *exp >= now);
        if m.contains_key(nonce) {
            return Ok(false);
        }
        m.insert(nonce.to_string(), expires_unix);
        Ok(true)
    }
}

mod alert_state;
mod allow;

#[cfg(test)]
pub(crate) use alert_state::CountingAlertState;
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
impl crate::store::FloodCounters for MemoryStore {
    async fn flood_heads(&self, token_id: &str, ids: &[String]) -> Result<Vec<Hit>> {
        let hits = self.hits.lock().expect("lock");
        Ok(hits
            .iter()
            .filter(|h| h.token_id == token_id && h.flood.is_some() && ids.contains(&h.hit_id))
            .cloned()
            .collect())
    }
}

/// Stores `hit` as DynamoDB's PutItem does: a hit with the id of a stored
/// one (same token, same hit id) replaces it.
fn upsert(hits: &mut Vec<Hit>, hit: &Hit) {
    match hits
        .iter_mut()
        .find(|h| h.hit_id == hit.hit_id && h.token_id == hit.token_id)
    {
        Some(h) => *h = hit.clone(),
        None => hits.push(hit.clone()),
    }
}

#[async_trait]
impl HitStore for MemoryStore {
    async fn put(&self, hit: &Hit) -> Result<()> {
        if self.fail_writes.load(Ordering::Relaxed) {
            return Err(Error::Store("store unavailable".into()));
        }
        upsert(&mut self.hits.lock().expect("lock"), hit);
        Ok(())
    }

    async fn record(&self, hit: &Hit, rule: &FloodRule) -> Result<Kept> {
        if self.fail_writes.load(Ordering::Relaxed) {
            return Err(Error::Store("store unavailable".into()));
        }
        let key = rule.key(hit);
        let nth = {
            let mut f = self.floods.lock().expect("lock");
            let n = f.entry(key.clone()).or_insert(0);
            *n += 1;
            *n
        };
        let mut hits = self.hits.lock().expect("lock");
        if rule.is_whole(nth) {
            upsert(&mut hits, hit);
            return Ok(Kept::Whole);
        }
        let id = key.counter_id();
        let count = match hits.iter_mut().find(|h| h.hit_id == id) {
            Some(c) => {
                c.count += 1;
                c.flood.get_or_insert_with(FloodSamples::default).add(hit);
                c.count
            }
            None => {
                let mut samples = FloodSamples::default();
                samples.add(hit);
                hits.push(counter_hit(hit, &key, 1, samples));
                1
            }
        };
        Ok(Kept::Counted { count })
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
