//! The alert pipeline's state: idempotency markers, throttle windows and the
//! outbox. The pipeline (`crate::alerting::pipeline`) decides; an
//! [`AlertState`] keeps what it decided, atomically.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::alert::Alert;
use crate::domain::hit::Hit;
use crate::error::Result;

/// A (token, source address) pair: the unit of throttling.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
pub struct PairKey {
    /// Token id.
    pub token_id: String,
    /// Source address.
    pub source_ip: String,
}

impl PairKey {
    /// The pair of a hit.
    pub fn of(hit: &Hit) -> PairKey {
        PairKey {
            token_id: hit.token_id.clone(),
            source_ip: hit.source_ip.clone(),
        }
    }

    /// A string key. Token ids never contain `#`, so the split is unambiguous.
    pub fn id(&self) -> String {
        format!("{}#{}", self.token_id, self.source_ip)
    }
}

/// The throttle window of one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// The pair.
    pub pair: PairKey,
    /// Start (the alerting hit's time), ms since the epoch.
    pub start_ms: i64,
    /// End, ms since the epoch: hits at or after it open a new window.
    pub end_ms: i64,
    /// Hits counted and not yet announced.
    pub suppressed: u64,
    /// The most recent suppressed hit (shown in the summary).
    pub last_hit: Option<Hit>,
    /// Ids of the flood counter records counted in this window: each stands
    /// for more requests than the one `suppressed` counts for it, and the
    /// summary reads how many from the store ([`crate::store::FloodCounters`]).
    pub floods: Vec<String>,
    /// Bumped by every write; replacing a window is conditional on it.
    pub version: u64,
}

/// What a hit's decision left behind: the outbox keys it owes.
#[derive(Debug, Clone, PartialEq)]
pub struct Marker {
    /// Hit id.
    pub hit_id: String,
    /// Outbox keys created with the decision, in delivery order.
    pub outbox: Vec<String>,
    /// When the marker may be forgotten, seconds since the epoch.
    pub expires_at: i64,
}

/// An alert waiting to be delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// Unique key (`hit#ID` or `summary#PAIR#START#VERSION`).
    pub key: String,
    /// The alert.
    pub alert: Alert,
    /// When it was queued, ms since the epoch.
    pub created_ms: i64,
}

/// A change to a pair's window, applied only if its condition holds.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowWrite {
    /// Store `window`; the stored version must equal `expected` (`None`: no window stored).
    Replace {
        /// The new window.
        window: Box<Window>,
        /// Version the stored window must have.
        expected: Option<u64>,
    },
    /// Count `n` suppressed hits: `suppressed += n`, `last_hit = hit`, version
    /// bumped; the stored window must exist and end after `at_ms`.
    Count {
        /// The pair.
        pair: PairKey,
        /// The latest hit's time, ms since the epoch.
        at_ms: i64,
        /// The latest hit.
        hit: Box<Hit>,
        /// Hits counted (1 but for the repeats of a pair folded from one batch).
        n: u64,
        /// Flood counter records among them (their ids), added to [`Window::floods`].
        floods: Vec<String>,
    },
}

/// One atomic write of the decide phase.
#[derive(Debug, Clone, PartialEq, Default)]
pub struct Commit {
    /// Marker to create; the commit fails if it exists.
    pub marker: Option<Marker>,
    /// Markers of further hits decided in the same write (repeats of the
    /// pair folded from one stream batch); the commit fails if any exists.
    pub folded: Vec<Marker>,
    /// Window change.
    pub window: Option<WindowWrite>,
    /// Alerts to queue.
    pub outbox: Vec<OutboxEntry>,
}

/// Result of trying to lease an outbox entry.
#[derive(Debug, Clone, PartialEq)]
pub enum Claim {
    /// Leased: deliver it, then [`AlertState::complete`] or [`AlertState::release`].
    Claimed(Box<OutboxEntry>),
    /// Already delivered.
    Gone,
    /// Another delivery holds the lease.
    Busy,
}

/// Where the pipeline keeps its decisions, windows and outbox.
#[async_trait]
pub trait AlertState: Send + Sync {
    /// The marker of a hit, if it was decided.
    async fn marker(&self, hit_id: &str) -> Result<Option<Marker>>;
    /// The window of a pair.
    async fn window(&self, pair: &PairKey) -> Result<Option<Window>>;
    /// Applies every write of `c` atomically. `Ok(false)` when a condition
    /// failed (marker exists, window changed): nothing was written.
    async fn commit(&self, c: &Commit) -> Result<bool>;
    /// Leases an outbox entry until `now_ms + lease_ms`.
    async fn claim(&self, key: &str, now_ms: i64, lease_ms: i64) -> Result<Claim>;
    /// Gives a lease back after a failed delivery.
    async fn release(&self, key: &str) -> Result<()>;
    /// Removes a delivered entry.
    async fn complete(&self, key: &str) -> Result<()>;
    /// Windows that ended at or before `now_ms` with suppressed hits.
    async fn expired_windows(&self, now_ms: i64) -> Result<Vec<Window>>;
    /// Keys of outbox entries created at or before `before_ms`.
    async fn stale_outbox(&self, before_ms: i64) -> Result<Vec<String>>;
}
