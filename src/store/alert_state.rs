//! The alert pipeline's state: idempotency markers, throttle windows and the
//! outbox. The pipeline (`crate::alerting::pipeline`) decides; an
//! [`AlertState`] keeps what it decided, atomically.

use async_trait::async_trait;
use serde::{Deserialize, Serialize};

use crate::domain::alert::{Alert, HitStates};
use crate::domain::hit::Hit;
use crate::error::{Error, Result};

/// A (token, source address) pair: the unit of throttling. Its text form
/// (`TOKEN_ID#SOURCE_IP`) keys a window in a store; token ids never contain
/// `#`, so the split is unambiguous.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
#[allow(missing_docs)] // The fields are what the type's doc names.
pub struct PairKey {
    pub token_id: String,
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
}

impl std::fmt::Display for PairKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        write!(f, "{}#{}", self.token_id, self.source_ip)
    }
}

impl std::str::FromStr for PairKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let (token_id, source_ip) = s
            .split_once('#')
            .filter(|(t, _)| !t.is_empty())
            .ok_or_else(|| Error::Store(format!("corrupt alert state key {s:?}: expected TOKEN_ID#SOURCE_IP")))?;
        Ok(PairKey {
            token_id: token_id.into(),
            source_ip: source_ip.into(),
        })
    }
}

/// The key of an alert in the outbox, and of the marker of the hit it is
/// about. One definition of the text form every store keeps
/// (`hit#HIT_ID`, `summary#TOKEN_ID#SOURCE_IP#START_MS#VERSION`) and parses
/// back: two decisions never queue the same key, so an alert is sent once.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord)]
pub enum OutboxKey {
    /// The alert of one hit.
    Hit {
        /// The hit the alert is about (and whose marker names this key).
        hit_id: String,
    },
    /// The summary of the hits a throttle window suppressed; a window is
    /// announced once per start and version.
    Summary {
        /// Whose suppressed hits it counts.
        pair: PairKey,
        /// The window's start, ms since the epoch.
        start_ms: i64,
        /// The window's version when it was announced.
        version: u64,
    },
}

impl OutboxKey {
    /// The key of a hit's own alert.
    pub fn hit(hit_id: &str) -> OutboxKey {
        OutboxKey::Hit { hit_id: hit_id.into() }
    }

    /// The key of the summary of `w`'s suppressed hits.
    pub fn summary(w: &Window) -> OutboxKey {
        OutboxKey::Summary {
            pair: w.pair.clone(),
            start_ms: w.start_ms,
            version: w.version,
        }
    }
}

impl std::fmt::Display for OutboxKey {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        match self {
            OutboxKey::Hit { hit_id } => write!(f, "hit#{hit_id}"),
            OutboxKey::Summary {
                pair,
                start_ms,
                version,
            } => write!(f, "summary#{pair}#{start_ms}#{version}"),
        }
    }
}

impl std::str::FromStr for OutboxKey {
    type Err = Error;
    fn from_str(s: &str) -> Result<Self> {
        let corrupt = || {
            Error::Store(format!(
                "corrupt outbox key {s:?}: expected hit#ID or summary#PAIR#START#VERSION"
            ))
        };
        if let Some(hit_id) = s.strip_prefix("hit#") {
            return match hit_id {
                "" => Err(corrupt()),
                id => Ok(OutboxKey::hit(id)),
            };
        }
        // The numbers split off from the right, the token id (never holding
        // `#`) from the left: a source address with a `#` still reads back.
        let rest = s.strip_prefix("summary#").ok_or_else(corrupt)?;
        let (rest, version) = rest.rsplit_once('#').ok_or_else(corrupt)?;
        let (pair, start_ms) = rest.rsplit_once('#').ok_or_else(corrupt)?;
        Ok(OutboxKey::Summary {
            pair: pair.parse()?,
            start_ms: start_ms.parse().map_err(|_| corrupt())?,
            version: version.parse().map_err(|_| corrupt())?,
        })
    }
}

/// The throttle window of one pair.
#[derive(Debug, Clone, PartialEq)]
pub struct Window {
    /// Which (token, source) pair it throttles; its key in a store.
    pub pair: PairKey,
    /// Start (the alerting hit's time), ms since the epoch.
    pub start_ms: i64,
    /// End, ms since the epoch: hits at or after it open a new window.
    pub end_ms: i64,
    /// Hits counted and not yet announced.
    pub suppressed: u64,
    /// The most recent suppressed hit (shown in the summary).
    pub last_hit: Option<Hit>,
    /// The time of the first suppressed hit, ms since the epoch (a summary
    /// says the span from it to the last).
    pub first_ms: Option<i64>,
    /// The states the window alerted on: its opening hit's, and those of
    /// each hit that alerted within it for showing a worse one.
    pub alerted: HitStates,
    /// The states of the suppressed hits (a summary names them all).
    pub folded: HitStates,
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
    /// The decided hit: a second decision of it fails on this id.
    pub hit_id: String,
    /// Outbox keys created with the decision, in delivery order.
    pub outbox: Vec<OutboxKey>,
    /// When the marker may be forgotten, seconds since the epoch.
    pub expires_at: i64,
}

/// An alert waiting to be delivered.
#[derive(Debug, Clone, PartialEq)]
pub struct OutboxEntry {
    /// Unique: queuing an entry whose key exists fails the commit.
    pub key: OutboxKey,
    /// What the channels will be sent, rendered at decision time.
    pub alert: Alert,
    /// When it was queued, ms since the epoch.
    pub created_ms: i64,
}

/// A change to a pair's window, applied only if its condition holds.
#[derive(Debug, Clone, PartialEq)]
pub enum WindowWrite {
    /// Store `window`; the stored version must equal `expected` (`None`: no window stored).
    Replace {
        /// The window as it will be stored (its version already bumped).
        window: Box<Window>,
        /// Version the stored window must have.
        expected: Option<u64>,
    },
    /// Count `n` suppressed hits: `suppressed += n`, `last_hit = hit`,
    /// `folded |= states`, `first_ms` set if unset, version bumped; the
    /// stored window must exist and end after `at_ms`.
    Count {
        /// The pair whose window counts the hit.
        pair: PairKey,
        /// The latest hit's time, ms since the epoch.
        at_ms: i64,
        /// The latest hit, kept as the window's last (its summary shows it).
        hit: Box<Hit>,
        /// Hits counted (1 but for the repeats of a pair folded from one batch).
        n: u64,
        /// Flood counter records among them (their ids), added to [`Window::floods`].
        floods: Vec<String>,
        /// The earliest hit's time, ms since the epoch: [`Window::first_ms`] if unset.
        first_ms: i64,
        /// Every state the hits show, added to [`Window::folded`].
        states: HitStates,
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
    /// Window change; the commit fails if its condition does not hold.
    pub window: Option<WindowWrite>,
    /// Alerts to queue; the commit fails if any key is queued already.
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
    async fn claim(&self, key: &OutboxKey, now_ms: i64, lease_ms: i64) -> Result<Claim>;
    /// Gives a lease back after a failed delivery.
    async fn release(&self, key: &OutboxKey) -> Result<()>;
    /// Removes a delivered entry.
    async fn complete(&self, key: &OutboxKey) -> Result<()>;
    /// Windows that ended at or before `now_ms` with suppressed hits.
    async fn expired_windows(&self, now_ms: i64) -> Result<Vec<Window>>;
    /// Keys of outbox entries created at or before `before_ms`.
    async fn stale_outbox(&self, before_ms: i64) -> Result<Vec<OutboxKey>>;
}

#[cfg(test)]
mod tests {
    use super::*;

    #[test]
    fn keys_read_back_as_written() {
        let pair = PairKey {
            token_id: "01TOK".into(),
            source_ip: "2001:db8::7".into(),
        };
        for k in [
            OutboxKey::hit("01HIT"),
            OutboxKey::Summary {
                pair: PairKey {
                    token_id: "t".into(),
                    source_ip: "odd#proxy#value".into(),
                },
                start_ms: 0,
                version: 1,
            },
            OutboxKey::Summary {
                pair: pair.clone(),
                start_ms: 1_700_000_000_123,
                version: 4,
            },
        ] {
            assert_eq!(k.to_string().parse::<OutboxKey>().unwrap(), k, "{k}");
        }
        assert_eq!(pair.to_string(), "01TOK#2001:db8::7");
        assert_eq!(
            OutboxKey::Summary {
                pair,
                start_ms: 5,
                version: 2
            }
            .to_string(),
            "summary#01TOK#2001:db8::7#5#2"
        );
        for bad in [
            "",
            "hit#",
            "summary#x#1",
            "summary#t#ip#x#1",
            "summary#t#ip#1#-1",
            "alert#1",
            "summary##ip#1#1",
        ] {
            let e = bad.parse::<OutboxKey>().unwrap_err().to_string();
            assert!(e.contains("corrupt"), "{bad:?}: {e}");
        }
    }
}
