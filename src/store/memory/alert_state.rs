//! Alert state in memory, for tests and a single process (`serve`).

use async_trait::async_trait;
use std::collections::{BTreeMap, HashMap};
use std::sync::Mutex;

use crate::error::{Error, Result};
use crate::store::alert_state::{
    AlertState, Claim, Commit, Marker, OutboxEntry, OutboxKey, PairKey, Window, WindowWrite,
};

/// Markers kept in memory before delivered ones are forgotten.
const MEMORY_MARKERS: usize = 50_000;

/// Alert state in memory: for tests and a single process.
#[derive(Default)]
pub struct MemoryAlertState {
    inner: Mutex<MemInner>,
}

#[derive(Default)]
struct MemInner {
    markers: HashMap<String, Marker>,
    windows: BTreeMap<PairKey, Window>,
    outbox: BTreeMap<OutboxKey, (OutboxEntry, i64)>,
}

impl MemoryAlertState {
    /// Empty state.
    pub fn new() -> Self {
        Self::default()
    }

    fn lock(&self) -> Result<std::sync::MutexGuard<'_, MemInner>> {
        self.inner
            .lock()
            .map_err(|_| Error::Store("alert state lock poisoned".into()))
    }

    /// Number of throttle windows held.
    pub fn windows(&self) -> usize {
        self.inner.lock().map(|g| g.windows.len()).unwrap_or(0)
    }

    /// Number of queued (undelivered) alerts.
    pub fn pending(&self) -> usize {
        self.inner.lock().map(|g| g.outbox.len()).unwrap_or(0)
    }
}

#[async_trait]
impl AlertState for MemoryAlertState {
    async fn marker(&self, hit_id: &str) -> Result<Option<Marker>> {
        Ok(self.lock()?.markers.get(hit_id).cloned())
    }

    async fn window(&self, pair: &PairKey) -> Result<Option<Window>> {
        Ok(self.lock()?.windows.get(pair).cloned())
    }

    async fn commit(&self, c: &Commit) -> Result<bool> {
        let mut g = self.lock()?;
        if c.marker
            .iter()
            .chain(&c.folded)
            .any(|m| g.markers.contains_key(&m.hit_id))
        {
            return Ok(false);
        }
        let window_ok = match &c.window {
            Some(WindowWrite::Replace { window, expected }) => {
                g.windows.get(&window.pair).map(|w| w.version) == *expected
            }
            Some(WindowWrite::Count { pair, at_ms, .. }) => g.windows.get(pair).is_some_and(|w| w.end_ms > *at_ms),
            None => true,
        };
        if !window_ok {
            return Ok(false);
        }
        if c.outbox.iter().any(|e| g.outbox.contains_key(&e.key)) {
            return Ok(false);
        }
        for m in c.marker.iter().chain(&c.folded) {
            g.markers.insert(m.hit_id.clone(), m.clone());
        }
        // One process never sees a hit twice once it is delivered, so keep
        // memory bounded under a flood: forget markers with nothing pending.
        if g.markers.len() > MEMORY_MARKERS {
            let inner = &mut *g;
            let outbox = &inner.outbox;
            inner
                .markers
                .retain(|_, m| m.outbox.iter().any(|k| outbox.contains_key(k)));
        }
        match &c.window {
            Some(WindowWrite::Replace { window, .. }) => {
                g.windows.insert(window.pair.clone(), (**window).clone());
            }
            Some(WindowWrite::Count {
                pair,
                hit,
                n,
                floods,
                first_ms,
                states,
                ..
            }) => {
                if let Some(w) = g.windows.get_mut(pair) {
                    w.suppressed += n;
                    w.first_ms.get_or_insert(*first_ms);
                    w.folded = w.folded.union(*states);
                    w.floods.extend(floods.iter().cloned());
                    w.version += 1;
                    w.last_hit = Some((**hit).clone());
                }
            }
            None => {}
        }
        for e in &c.outbox {
            g.outbox.insert(e.key.clone(), (e.clone(), 0));
        }
        Ok(true)
    }

    async fn claim(&self, key: &OutboxKey, now_ms: i64, lease_ms: i64) -> Result<Claim> {
        let mut g = self.lock()?;
        Ok(match g.outbox.get_mut(key) {
            None => Claim::Gone,
            Some((_, lease)) if *lease > now_ms => Claim::Busy,
            Some((e, lease)) => {
                *lease = now_ms + lease_ms;
                Claim::Claimed(Box::new(e.clone()))
            }
        })
    }

    async fn release(&self, key: &OutboxKey) -> Result<()> {
        if let Some((_, lease)) = self.lock()?.outbox.get_mut(key) {
            *lease = 0;
        }
        Ok(())
    }

    async fn complete(&self, key: &OutboxKey) -> Result<()> {
        self.lock()?.outbox.remove(key);
        Ok(())
    }

    async fn expired_windows(&self, now_ms: i64) -> Result<Vec<Window>> {
        let mut g = self.lock()?;
        // Windows with nothing to announce are forgotten one window length
        // after they end (late hits of the window are still counted in it
        // until then), so memory is bounded by the pairs seen within two
        // windows, however many sources rotate through.
        g.windows
            .retain(|_, w| w.suppressed > 0 || w.end_ms.saturating_add(w.end_ms - w.start_ms) > now_ms);
        Ok(g.windows
            .values()
            .filter(|w| w.suppressed > 0 && w.end_ms <= now_ms)
            .cloned()
            .collect())
    }

    async fn stale_outbox(&self, before_ms: i64) -> Result<Vec<OutboxKey>> {
        Ok(self
            .lock()?
            .outbox
            .values()
            .filter(|(e, _)| e.created_ms <= before_ms)
            .map(|(e, _)| e.key.clone())
            .collect())
    }
}

/// The memory state, counting its decide-phase writes: for tests of how
/// many writes a path costs.
#[cfg(test)]
#[derive(Default)]
pub(crate) struct CountingAlertState {
    pub inner: MemoryAlertState,
    pub commits: std::sync::atomic::AtomicUsize,
}

#[cfg(test)]
#[async_trait]
impl AlertState for CountingAlertState {
    async fn marker(&self, hit_id: &str) -> Result<Option<Marker>> {
        self.inner.marker(hit_id).await
    }
    async fn window(&self, pair: &PairKey) -> Result<Option<Window>> {
        self.inner.window(pair).await
    }
    async fn commit(&self, c: &Commit) -> Result<bool> {
        self.commits.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.inner.commit(c).await
    }
    async fn claim(&self, key: &OutboxKey, now_ms: i64, lease_ms: i64) -> Result<Claim> {
        self.inner.claim(key, now_ms, lease_ms).await
    }
    async fn release(&self, key: &OutboxKey) -> Result<()> {
        self.inner.release(key).await
    }
    async fn complete(&self, key: &OutboxKey) -> Result<()> {
        self.inner.complete(key).await
    }
    async fn expired_windows(&self, now_ms: i64) -> Result<Vec<Window>> {
        self.inner.expired_windows(now_ms).await
    }
    async fn stale_outbox(&self, before_ms: i64) -> Result<Vec<OutboxKey>> {
        self.inner.stale_outbox(before_ms).await
    }
}
