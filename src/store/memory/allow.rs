//! The global allowlist in memory.

use async_trait::async_trait;
use std::sync::atomic::Ordering;

use super::MemoryStore;
use crate::domain::allow::AllowEntry;
use crate::error::Result;
use crate::store::AllowStore;

impl MemoryStore {
    /// Allowlist reads so far (tests prove the decoy caches the list).
    pub fn allow_reads(&self) -> usize {
        self.allow_reads.load(Ordering::Relaxed)
    }
}

#[async_trait]
impl AllowStore for MemoryStore {
    async fn allow_add(&self, entry: &AllowEntry) -> Result<()> {
        self.allow
            .lock()
            .expect("lock")
            .insert(entry.cidr.clone(), entry.clone());
        Ok(())
    }

    async fn allow_remove(&self, cidr: &str) -> Result<bool> {
        Ok(self.allow.lock().expect("lock").remove(cidr).is_some())
    }

    async fn allow_list(&self) -> Result<Vec<AllowEntry>> {
        self.allow_reads.fetch_add(1, Ordering::Relaxed);
        Ok(self.allow.lock().expect("lock").values().cloned().collect())
    }
}
