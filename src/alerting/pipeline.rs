//! The alert pipeline: from a stored hit to alerts on every channel, with
//! idempotency (one alert per hit id however often a hit is redelivered) and
//! throttling (one immediate alert per (token, source) pair and window, then
//! one exact summary of the rest).
//!
//! # How nothing is lost or sent twice
//!
//! Processing a hit has two phases.
//!
//! 1. **Decide**, in one atomic [`AlertState::commit`]: write a marker keyed
//!    by the hit id (which fails if the hit was decided before), update the
//!    pair's throttle [`Window`], and put the alerts the decision owes into an
//!    *outbox*. A suppressed hit adds one to the window's counter; a hit
//!    after the window's end opens a new window, and if the old window held
//!    suppressed hits their summary goes into the outbox in the same write.
//! 2. **Deliver** each outbox entry: lease it, send it to the channels, and
//!    delete it. A failed send releases the lease and fails the hit, so the
//!    stream delivers it again; the marker then says the decision is made and
//!    only the entries still in the outbox are sent.
//!
//! A window's summary is emitted by the first hit of that pair after the
//! window ends, or by [`Pipeline::flush`] (run on a schedule), which also
//! resends outbox entries whose hit was given up on by the stream. Windows
//! are measured on the hits' own `received_at`, so a backlog replayed late
//! is throttled as it happened.
//!
//! The state lives behind [`AlertState`]: [`MemoryAlertState`] here, and a
//! DynamoDB table in `store::dynamodb_alert`.
//!
//! # Floods
//!
//! Past the flood rule's first hits of a (token, source, bucket), the store
//! keeps one counter record for the rest, and the stream carries it once,
//! when it is created, as a hit with `flood` samples. Its count keeps growing
//! without further stream records (passing the counter's every update would
//! cost an invocation per request; reading it once per summary costs one
//! BatchGetItem). So with [`Pipeline::with_flood_counters`]:
//!
//! * a counter record is never an alert of its own (whole hits of its pair
//!   came just before it, in its bucket): it is counted in the pair's open
//!   window, or opens one silently, and its id is kept in [`Window::floods`];
//! * a window's summary adds each kept counter record's count less the one
//!   request already counted, read from the store when the summary is
//!   written; [`Pipeline::flush`] waits until those records' buckets have
//!   ended (their counts are final), a hit of the pair after the window
//!   writes it at once (a pair's next stored hit comes after the bucket).
//!
//! A counter record is decided once (its marker), kept in one window, and
//! announced with that window: every request is in exactly one alert.
//!
//! # Folding a batch
//!
//! [`Pipeline::process_group`] decides a hit together with the later hits of
//! its pair in the same stream batch, in one state write: their markers,
//! and one window change counting them all. Any marker already there (a
//! redelivered batch) cancels the write and the hits are decided one by one.

use std::sync::Arc;
use std::time::Duration;

use crate::domain::alert::{Alert, Episode, Folded, HitStates};
use crate::domain::hit::Hit;
use crate::domain::time::Timestamp;
use crate::error::{Error, Result};
use crate::notify::Notifier;
use crate::store::{
    AlertState, Claim, Commit, FloodCounters, Marker, OutboxEntry, OutboxKey, PairKey, Window, WindowWrite,
};

/// Default throttle window.
pub const DEFAULT_WINDOW: Duration = Duration::from_secs(15 * 60);
/// How long idempotency markers are kept. Stream records live 24 hours, so a
/// week covers every redelivery with room to spare.
pub const MARKER_TTL: Duration = Duration::from_secs(7 * 24 * 3600);
/// How long a delivery may hold an outbox entry before another may take it.
pub const LEASE: Duration = Duration::from_secs(120);
/// Outbox entries older than this are resent by [`Pipeline::flush`]: their
/// hit's own delivery has failed or been given up on.
pub const OUTBOX_GRACE: Duration = Duration::from_secs(5 * 60);
/// Default time the optional channels (Slack, PagerDuty Events) get, all
/// together, for one alert once SNS has it. Well inside the alerter's
/// timeout, so a channel that never answers cannot hold a batch past it.
pub const DEFAULT_OPTIONAL_DEADLINE: Duration = Duration::from_secs(8);
/// Attempts at the decide phase when concurrent writers keep changing a window.
const DECIDE_ATTEMPTS: usize = 8;
/// Hits decided in one folded write at most: their markers and the window
/// change stay within TransactWriteItems' 100 actions.
pub const MAX_FOLD: usize = 90;

/// A channel and whether a hit's processing fails when it fails.
#[derive(Clone)]
pub struct Channel {
    /// Where the alert goes (its name labels logs and metrics).
    pub notifier: Arc<dyn Notifier>,
    /// Required channels (SNS) must deliver, or the hit is retried; optional
    /// ones (Slack, PagerDuty Events, Teams, Discord, Splunk HEC, Security
    /// Hub) are tried with their own bounded
    /// retries and logged when they fail, so one that is down never stops
    /// or repeats the others.
    pub required: bool,
}

/// What processing one hit did.
#[derive(Debug, Clone, PartialEq, Eq)]
pub enum Outcome {
    /// Ignored source or disabled token: stored, no alert.
    NotAlerting,
    /// Decided earlier; this many of its pending alerts were delivered now.
    Duplicate {
        /// Alerts delivered by this call.
        delivered: usize,
    },
    /// Counted in its pair's window.
    Suppressed,
    /// Alerts delivered (the hit's own, plus a summary of the previous window).
    Alerted {
        /// Alerts delivered by this call.
        delivered: usize,
    },
}

/// What a flush did.
#[derive(Debug, Clone, Default, PartialEq, Eq)]
pub struct FlushReport {
    /// Summaries of expired windows queued.
    pub summaries: usize,
    /// Alerts delivered (summaries and resent stale entries).
    pub delivered: usize,
    /// Entries that could not be delivered (left for the next flush).
    pub failed: usize,
}

/// Clock in ms since the epoch (replaceable in tests).
pub type Clock = Arc<dyn Fn() -> i64 + Send + Sync>;

/// The pipeline: state, channels, window length.
pub struct Pipeline {
    state: Arc<dyn AlertState>,
    channels: Vec<Channel>,
    window: Duration,
    clock: Clock,
    optional_deadline: Duration,
    unavailable: Vec<String>,
    flood: Option<FloodCounts>,
}

/// Where a flood's counts are read, and the flood rule's bucket length.
#[derive(Clone)]
struct FloodCounts {
    counters: Arc<dyn FloodCounters>,
    bucket_ms: i64,
}

/// Whether `hit` is a flood's counter record (only those carry samples).
pub fn is_flood_record(hit: &Hit) -> bool {
    hit.flood.is_some()
}

fn system_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// The time `ms` milliseconds after the epoch (`None` out of range).
fn ms_time(ms: i64) -> Option<Timestamp> {
    time::OffsetDateTime::from_unix_timestamp_nanos(i128::from(ms) * 1_000_000)
        .ok()
        .map(Timestamp::new)
}

/// A hit's time in ms since the epoch (`fallback` if unparsable).
pub fn hit_time_ms(hit: &Hit, _fallback: i64) -> i64 {
    hit.received_at.unix_ms()
}

impl Pipeline {
    /// A pipeline over `state` sending to `channels`, with the default window.
    pub fn new(state: Arc<dyn AlertState>, channels: Vec<Channel>) -> Pipeline {
        Pipeline {
            state,
            channels,
            window: DEFAULT_WINDOW,
            clock: Arc::new(system_ms),
            optional_deadline: DEFAULT_OPTIONAL_DEADLINE,
            unavailable: Vec::new(),
            flood: None,
        }
    }

    /// Reads flood counts from `counters` for the summaries; `bucket` is the
    /// flood rule's bucket (the decoy's, `ThrottleWindowMinutes`).
    pub fn with_flood_counters(mut self, counters: Arc<dyn FloodCounters>, bucket: Duration) -> Pipeline {
        self.flood = Some(FloodCounts {
            counters,
            bucket_ms: (bucket.as_millis().min(i64::MAX as u128) as i64).max(1),
        });
        self
    }

    /// Sets the time the optional channels get, together, per alert.
    pub fn with_optional_deadline(mut self, d: Duration) -> Pipeline {
        self.optional_deadline = d;
        self
    }

    /// The time the optional channels get, together, per alert.
    pub fn optional_deadline(&self) -> Duration {
        self.optional_deadline
    }

    /// Records the configured channels that could not be built (e.g. an
    /// unreadable secret), so each invocation can count them.
    pub fn with_unavailable(mut self, names: Vec<String>) -> Pipeline {
        self.unavailable = names;
        self
    }

    /// Configured channels that are not in this pipeline.
    pub fn unavailable(&self) -> &[String] {
        &self.unavailable
    }

    /// Sets the throttle window (at least one second).
    pub fn with_window(mut self, window: Duration) -> Pipeline {
        self.window = window.max(Duration::from_secs(1));
        self
    }

    /// Replaces the clock.
    pub fn with_clock(mut self, clock: Clock) -> Pipeline {
        self.clock = clock;
        self
    }

    /// The throttle window.
    pub fn window(&self) -> Duration {
        self.window
    }

    fn window_ms(&self) -> i64 {
        self.window.as_millis().min(i64::MAX as u128) as i64
    }

    /// Processes one stored hit. An error means some alert it owes was not
    /// delivered: process the same hit again later (nothing is repeated).
    pub async fn process(&self, hit: &Hit) -> Result<Outcome> {
        if !hit.alerts() {
            return Ok(Outcome::NotAlerting);
        }
        for _ in 0..DECIDE_ATTEMPTS {
            let now = (self.clock)();
            if let Some(m) = self.state.marker(&hit.hit_id).await? {
                let delivered = self.deliver_all(&m.outbox).await?;
                return Ok(Outcome::Duplicate { delivered });
            }
            let (commit, suppressed) = self.decide(hit, now).await?;
            let keys: Vec<OutboxKey> = commit.outbox.iter().map(|e| e.key.clone()).collect();
            if self.state.commit(&commit).await? {
                // A counter record opening a window silently may still owe
                // the previous window's summary.
                let delivered = self.deliver_all(&keys).await?;
                if suppressed {
                    return Ok(Outcome::Suppressed);
                }
                return Ok(Outcome::Alerted { delivered });
            }
            // A concurrent writer changed the window (or decided this hit): read again.
        }
        Err(Error::Store(format!(
            "the alert state of hit {} kept changing during {DECIDE_ATTEMPTS} attempts; it will be retried",
            hit.hit_id
        )))
    }

    /// The decide-phase write for `hit`, and whether it is suppressed.
    async fn decide(&self, hit: &Hit, now: i64) -> Result<(Commit, bool)> {
        let current = if hit.test {
            None
        } else {
            self.state.window(&PairKey::of(hit)).await?
        };
        self.decide_with(hit, &[], current, now).await
    }

    /// The decide-phase write for `hit` and the later hits `more` of its
    /// pair (all counted in the window `hit` leaves open), given the pair's
    /// stored window; and whether `hit` is suppressed.
    async fn decide_with(&self, hit: &Hit, more: &[&Hit], current: Option<Window>, now: i64) -> Result<(Commit, bool)> {
        let at = hit_time_ms(hit, now);
        let mut outbox = Vec::new();
        let mut window = None;
        let mut suppressed = false;
        // Only with the counts at hand is a counter record silent (see the module doc).
        let silent = self.flood.is_some() && is_flood_record(hit);
        let flood_ids = |hs: &mut dyn Iterator<Item = &Hit>| -> Vec<String> {
            hs.filter(|h| is_flood_record(h)).map(|h| h.hit_id.clone()).collect()
        };
        // The latest of the hits counted, for the summary.
        let latest = |first: Option<&Hit>| -> Option<Hit> {
            first
                .into_iter()
                .chain(more.iter().copied())
                .max_by_key(|h| (h.received_at, h.hit_id.clone()))
                .cloned()
        };
        // The earliest time and every state of the hits a window counts.
        let first_of = |hs: &[&Hit]| hs.iter().map(|h| hit_time_ms(h, now)).min();
        let states_of = |hs: &[&Hit]| hs.iter().fold(HitStates::empty(), |a, h| a.union(HitStates::of(h)));
        if !hit.test {
            let pair = PairKey::of(hit);
            let mine = HitStates::of(hit);
            match current {
                // A hit worse than what the window alerted on (tampered,
                // retired, orphan) alerts at once; the window stays open,
                // now alerted on that state too, and counts `more`.
                Some(w) if at < w.end_ms && !silent && mine.worse_than(w.alerted) => {
                    let more_first = first_of(more);
                    window = Some(WindowWrite::Replace {
                        window: Box::new(Window {
                            suppressed: w.suppressed + more.len() as u64,
                            last_hit: latest(None).or_else(|| w.last_hit.clone()),
                            first_ms: match (w.first_ms, more_first) {
                                (Some(a), Some(b)) => Some(a.min(b)),
                                (a, b) => a.or(b),
                            },
                            alerted: w.alerted.union(mine),
                            folded: w.folded.union(states_of(more)),
                            version: w.version + 1,
                            floods: w
                                .floods
                                .iter()
                                .cloned()
                                .chain(flood_ids(&mut more.iter().copied()))
                                .collect(),
                            ..w.clone()
                        }),
                        expected: Some(w.version),
                    });
                }
                Some(w) if at < w.end_ms => {
                    suppressed = true;
                    let all: Vec<&Hit> = std::iter::once(hit).chain(more.iter().copied()).collect();
                    window = Some(WindowWrite::Count {
                        pair,
                        at_ms: all.iter().map(|h| hit_time_ms(h, now)).max().unwrap_or(at),
                        hit: Box::new(latest(Some(hit)).unwrap_or_else(|| hit.clone())),
                        n: all.len() as u64,
                        floods: flood_ids(&mut all.iter().copied()),
                        first_ms: first_of(&all).unwrap_or(at),
                        states: states_of(&all),
                    });
                }
                old => {
                    if let Some(w) = old.as_ref().filter(|w| w.suppressed > 0) {
                        outbox.push(
                            self.summary_entry(w, now, false)
                                .await?
                                .ok_or_else(|| Error::Store(format!("summary of {} not ready", w.pair)))?,
                        );
                    }
                    suppressed = silent;
                    let counted: Vec<&Hit> = if silent {
                        std::iter::once(hit).chain(more.iter().copied()).collect()
                    } else {
                        more.to_vec()
                    };
                    window = Some(WindowWrite::Replace {
                        window: Box::new(Window {
                            pair,
                            start_ms: at,
                            end_ms: at.saturating_add(self.window_ms()),
                            suppressed: counted.len() as u64,
                            last_hit: if counted.is_empty() {
                                None
                            } else {
                                latest(silent.then_some(hit))
                            },
                            first_ms: first_of(&counted),
                            // A counter record opening a window silently alerted on nothing.
                            alerted: if silent { HitStates::empty() } else { mine },
                            folded: states_of(&counted),
                            version: old.as_ref().map_or(1, |w| w.version + 1),
                            floods: flood_ids(&mut counted.iter().copied()),
                        }),
                        expected: old.map(|w| w.version),
                    });
                }
            }
        }
        if !suppressed {
            outbox.push(OutboxEntry {
                key: OutboxKey::hit(&hit.hit_id),
                alert: Alert::for_hit(hit),
                created_ms: now,
            });
        }
        let expires_at = now / 1000 + MARKER_TTL.as_secs() as i64;
        let marker = Marker {
            hit_id: hit.hit_id.clone(),
            outbox: outbox.iter().map(|e| e.key.clone()).collect(),
            expires_at,
        };
        let folded = more
            .iter()
            .map(|h| Marker {
                hit_id: h.hit_id.clone(),
                outbox: Vec::new(),
                expires_at,
            })
            .collect();
        Ok((
            Commit {
                marker: Some(marker),
                folded,
                window,
                outbox,
            },
            suppressed,
        ))
    }

    /// Decides `hits` (one pair's, in stream order, the first being the
    /// record at hand) in one state write when they can be: the first as
    /// [`Pipeline::process`] would, the later ones counted in the window it
    /// leaves open. `Ok(None)`: not foldable or a marker exists (a
    /// redelivery); decide them one by one. `Ok(Some((outcome, n)))`: the
    /// first hit's outcome and the number of later hits decided with it
    /// (always a prefix of `hits[1..]`).
    pub async fn process_group(&self, hits: &[&Hit]) -> Result<Option<(Outcome, usize)>> {
        let Some((first, rest)) = hits.split_first() else {
            return Ok(None);
        };
        if rest.is_empty() || first.test || !first.alerts() {
            return Ok(None);
        }
        // A redelivery: decided already. Without this read, each of a
        // redelivered batch's records would try (and fail, on its marker) a
        // write of up to MAX_FOLD markers: quadratic in the batch.
        if self.state.marker(&first.hit_id).await?.is_some() {
            return Ok(None);
        }
        let pair = PairKey::of(first);
        let now = (self.clock)();
        let current = self.state.window(&pair).await?;
        let at = hit_time_ms(first, now);
        let silent = self.flood.is_some() && is_flood_record(first);
        let mine = if silent {
            HitStates::empty()
        } else {
            HitStates::of(first)
        };
        // The window's end and the states it alerted on once `first` is decided.
        let (end, alerted) = match &current {
            Some(w) if at < w.end_ms => (w.end_ms, w.alerted.union(mine)),
            _ => (at.saturating_add(self.window_ms()), mine),
        };
        // The later hits this window counts: same pair, alerting, not
        // tests, before its end, none worse than what it alerted on (that
        // one alerts itself); a prefix, so the batch's order holds.
        let n = rest
            .iter()
            .take(MAX_FOLD)
            .take_while(|h| {
                PairKey::of(h) == pair
                    && h.alerts()
                    && !h.test
                    && hit_time_ms(h, now) < end
                    && !(HitStates::of(h).worse_than(alerted) && !(self.flood.is_some() && is_flood_record(h)))
            })
            .count();
        if n == 0 {
            return Ok(None);
        }
        let (commit, suppressed) = self.decide_with(first, &rest[..n], current, now).await?;
        let keys: Vec<OutboxKey> = commit.outbox.iter().map(|e| e.key.clone()).collect();
        if !self.state.commit(&commit).await? {
            return Ok(None);
        }
        let delivered = self.deliver_all(&keys).await?;
        Ok(Some((
            if suppressed {
                Outcome::Suppressed
            } else {
                Outcome::Alerted { delivered }
            },
            n,
        )))
    }

    /// Decides `hits[i]` together with the later hits of its pair among
    /// `hits` (`None`: a record that is no hit) not yet `folded`, in one
    /// state write ([`Pipeline::process_group`]), and marks those decided
    /// in `folded`. `Ok(None)`: nothing to fold or the write could not be
    /// made; decide `hits[i]` alone. Both the stream's batches and the
    /// local fan-out's queue go through here, so a flood of one pair costs
    /// one state write per batch, not one per hit.
    pub async fn fold(&self, hits: &[Option<&Hit>], i: usize, folded: &mut [bool]) -> Result<Option<Outcome>> {
        let Some(first) = hits[i] else {
            return Ok(None);
        };
        let pair = PairKey::of(first);
        let mut idx = vec![i];
        let mut group: Vec<&Hit> = vec![first];
        for (j, h) in hits.iter().enumerate().skip(i + 1) {
            if let Some(h) = h
                && !folded[j]
                && PairKey::of(h) == pair
            {
                idx.push(j);
                group.push(h);
            }
        }
        if group.len() < 2 {
            return Ok(None);
        }
        match self.process_group(&group).await? {
            Some((outcome, n)) => {
                for &j in &idx[1..=n] {
                    folded[j] = true;
                }
                Ok(Some(outcome))
            }
            None => Ok(None),
        }
    }

    /// The summary of window `w`, its count including the further requests
    /// of the flood counter records it holds. With `wait`, `None` while one
    /// of those records' buckets is still open (its count not final).
    async fn summary_entry(&self, w: &Window, now: i64, wait: bool) -> Result<Option<OutboxEntry>> {
        let last = w.last_hit.as_ref().ok_or_else(|| {
            Error::Store(format!(
                "window of {} holds {} hits but no last hit",
                w.pair, w.suppressed
            ))
        })?;
        let mut extra = 0u64;
        if let (Some(f), false) = (&self.flood, w.floods.is_empty()) {
            for h in f.counters.flood_heads(&w.pair.token_id, &w.floods).await? {
                let t = h.received_at.unix_ms();
                let bucket_end = t - t.rem_euclid(f.bucket_ms) + f.bucket_ms;
                if wait && bucket_end > now {
                    return Ok(None);
                }
                extra += h.count.saturating_sub(1);
            }
        }
        let secs = ((w.end_ms - w.start_ms).max(0) / 1000) as u64;
        let first_at = w
            .first_ms
            .and_then(ms_time)
            .filter(|t| *t <= last.received_at)
            // A window written before first hits were kept: its last hit is all we know.
            .unwrap_or(last.received_at);
        let folded = Folded {
            last,
            count: w.suppressed + extra,
            first_at,
            // A window written before states were kept: the last hit's at least.
            states: w.folded.union(HitStates::of(last)),
            window_secs: secs,
        };
        let emitted = ms_time(now).unwrap_or_else(Timestamp::now);
        Ok(Some(OutboxEntry {
            key: OutboxKey::summary(w),
            alert: match ms_time(w.start_ms) {
                // The requests its alerts tell: the opening hit's, unless a
                // flood's counter record opened it silently (then among the
                // suppressed), and those the summary counts. A hit alerting
                // within it for a worse state is an episode of its own.
                Some(start) => Alert::summary_of(&folded, emitted).with_episode(Episode {
                    start,
                    requests: w.suppressed + extra + u64::from(!w.alerted.is_empty()),
                }),
                None => Alert::summary_of(&folded, emitted),
            },
            created_ms: now,
        }))
    }

    /// Announces every expired window's suppressed hits and resends alerts
    /// whose own delivery was abandoned. Run it every few minutes. An error
    /// is returned only when the state could not be read; undelivered
    /// entries are counted in the report and stay queued.
    pub async fn flush(&self) -> Result<FlushReport> {
        let now = (self.clock)();
        self.flush_until(now, now - OUTBOX_GRACE.as_millis() as i64, true).await
    }

    /// Announces every window with suppressed hits, ended or not, and
    /// resends every queued alert: for a process about to exit (`serve`
    /// at shutdown), which no later flush will follow. Summaries are dated
    /// now, and a flood counter's count is read as it stands.
    pub async fn flush_all(&self) -> Result<FlushReport> {
        let now = (self.clock)();
        self.flush_until(i64::MAX, now, false).await
    }

    /// Announces the windows ended by `ended_by`, and resends outbox
    /// entries queued by `stale_by`; with `wait`, a window holding a flood
    /// counter whose bucket is still open waits for a later flush.
    async fn flush_until(&self, ended_by: i64, stale_by: i64, wait: bool) -> Result<FlushReport> {
        let mut report = FlushReport::default();
        let now = (self.clock)();
        for w in self.state.expired_windows(ended_by).await? {
            // A flood counter record's bucket still open: its count is not
            // final; a later flush announces the window.
            let Some(entry) = self.summary_entry(&w, now, wait).await? else {
                continue;
            };
            let key = entry.key.clone();
            let reset = Window {
                suppressed: 0,
                last_hit: None,
                first_ms: None,
                folded: HitStates::empty(),
                version: w.version + 1,
                floods: Vec::new(),
                ..w.clone()
            };
            let commit = Commit {
                marker: None,
                folded: Vec::new(),
                window: Some(WindowWrite::Replace {
                    window: Box::new(reset),
                    expected: Some(w.version),
                }),
                outbox: vec![entry],
            };
            // A failed condition means a hit of this pair moved the window on
            // meanwhile and queued the summary itself.
            if self.state.commit(&commit).await? {
                report.summaries += 1;
                match self.deliver(&key).await {
                    Ok(true) => report.delivered += 1,
                    Ok(false) => {}
                    Err(e) => {
                        report.failed += 1;
                        tracing::error!(key = %key, error = %e, "summary not delivered; the next flush retries it");
                    }
                }
            }
        }
        for key in self.state.stale_outbox(stale_by).await? {
            match self.deliver(&key).await {
                Ok(true) => report.delivered += 1,
                Ok(false) => {}
                Err(e) => {
                    report.failed += 1;
                    tracing::error!(key = %key, error = %e, "queued alert not delivered; the next flush retries it");
                }
            }
        }
        Ok(report)
    }

    async fn deliver_all(&self, keys: &[OutboxKey]) -> Result<usize> {
        let mut n = 0;
        for k in keys {
            if self.deliver(k).await? {
                n += 1;
            }
        }
        Ok(n)
    }

    /// Delivers one outbox entry; `Ok(false)` if it was delivered before.
    async fn deliver(&self, key: &OutboxKey) -> Result<bool> {
        let now = (self.clock)();
        match self.state.claim(key, now, LEASE.as_millis() as i64).await? {
            Claim::Gone => Ok(false),
            Claim::Busy => Err(Error::Store(format!(
                "alert {key} is being delivered by another invocation"
            ))),
            Claim::Claimed(entry) => match self.send_required(&entry.alert).await {
                Ok(()) => {
                    // Complete as soon as the required channels have it: a
                    // slow optional channel must never get the alert
                    // retried, and so published to SNS twice.
                    self.state.complete(key).await?;
                    self.send_optional(&entry.alert).await;
                    Ok(true)
                }
                Err(e) => {
                    if let Err(r) = self.state.release(key).await {
                        tracing::warn!(key = %key, error = %r, "could not release the lease; it expires by itself");
                    }
                    Err(e)
                }
            },
        }
    }

    /// Waits for the channels that deliver in the background (Splunk HEC,
    /// queued chat channels) to finish what they hold: before `serve`
    /// exits, and before the alerter's invocation returns (Lambda freezes
    /// the process afterwards).
    pub async fn drain(&self) {
        for c in &self.channels {
            c.notifier.drain().await;
        }
    }

    /// Sends to every required channel (any failure fails).
    async fn send_required(&self, alert: &Alert) -> Result<()> {
        for c in self.channels.iter().filter(|c| c.required) {
            c.notifier.notify(alert).await?;
        }
        Ok(())
    }

    /// Sends to the optional channels concurrently, all under one deadline;
    /// failures and channels still sending at the deadline are logged. Never
    /// fails: the alert is already delivered to the required channels.
    async fn send_optional(&self, alert: &Alert) {
        let mut set = tokio::task::JoinSet::new();
        for c in self.channels.iter().filter(|c| !c.required) {
            let (n, a) = (c.notifier.clone(), alert.clone());
            set.spawn(async move {
                let r = n.notify(&a).await;
                (n.name().to_string(), r)
            });
        }
        if set.is_empty() {
            return;
        }
        let deadline = tokio::time::Instant::now() + self.optional_deadline;
        loop {
            match tokio::time::timeout_at(deadline, set.join_next()).await {
                Ok(None) => return,
                Ok(Some(Ok((_, Ok(()))))) => {}
                Ok(Some(Ok((channel, Err(e))))) => tracing::error!(
                    channel,
                    hit_id = %alert.hit.hit_id,
                    token_id = %alert.hit.token_id,
                    error = %e,
                    "optional alert channel failed; the alert went to the required channels"
                ),
                Ok(Some(Err(e))) => tracing::error!(error = %e, "optional alert channel task failed"),
                Err(_) => {
                    tracing::error!(
                        pending = set.len(),
                        hit_id = %alert.hit.hit_id,
                        token_id = %alert.hit.token_id,
                        deadline_ms = self.optional_deadline.as_millis() as u64,
                        "optional alert channel(s) did not finish before the deadline; given up"
                    );
                    set.abort_all();
                    return;
                }
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::TokenState;
    use crate::store::memory::MemoryAlertState;
    use std::sync::atomic::{AtomicI64, Ordering};

    pub use crate::notify::recorder::Recorder;
    pub use honeytoken_core::testkit::hit_at;

    struct Rig {
        state: Arc<MemoryAlertState>,
        sns: Arc<Recorder>,
        slack: Arc<Recorder>,
        now: Arc<AtomicI64>,
        p: Pipeline,
    }

    fn rig() -> Rig {
        let state = Arc::new(MemoryAlertState::new());
        let sns = Arc::new(Recorder {
            name: "sns",
            ..Default::default()
        });
        let slack = Arc::new(Recorder {
            name: "slack",
            ..Default::default()
        });
        let now = Arc::new(AtomicI64::new(hit_time_ms(&hit_at("t", "i", 0, 0), 0)));
        let n2 = now.clone();
        let p = Pipeline::new(
            state.clone(),
            vec![
                Channel {
                    notifier: sns.clone(),
                    required: true,
                },
                Channel {
                    notifier: slack.clone(),
                    required: false,
                },
            ],
        )
        .with_clock(Arc::new(move || n2.load(Ordering::SeqCst)));
        Rig {
            state,
            sns,
            slack,
            now,
            p,
        }
    }

    #[tokio::test]
    async fn redelivered_hit_alerts_once() {
        let r = rig();
        let h = hit_at("tok1", "203.0.113.9", 0, 0);
        assert_eq!(r.p.process(&h).await.unwrap(), Outcome::Alerted { delivered: 1 });
        assert_eq!(r.p.process(&h).await.unwrap(), Outcome::Duplicate { delivered: 0 });
        assert_eq!(r.sns.taken().len(), 1);
        assert_eq!(r.slack.taken().len(), 1);
        assert_eq!(r.sns.taken()[0].hit, h);
    }

    #[tokio::test]
    async fn a_redelivered_batch_is_not_folded_again() {
        let state = Arc::new(crate::store::memory::CountingAlertState::default());
        let sns = Arc::new(Recorder {
            name: "sns",
            ..Default::default()
        });
        let p = Pipeline::new(
            state.clone(),
            vec![Channel {
                notifier: sns.clone(),
                required: true,
            }],
        );
        let hits: Vec<Hit> = (0..50).map(|i| hit_at("tok1", "203.0.113.9", i, i as u32)).collect();
        let refs: Vec<Option<&Hit>> = hits.iter().map(Some).collect();
        let deliver = || async {
            let mut folded = vec![false; refs.len()];
            for i in 0..refs.len() {
                if !folded[i] && p.fold(&refs, i, &mut folded).await.unwrap().is_none() {
                    p.process(&hits[i]).await.unwrap();
                }
            }
        };
        deliver().await;
        assert_eq!(
            state.commits.load(Ordering::SeqCst),
            1,
            "one write for the pair's 50 hits"
        );
        assert_eq!(sns.taken().len(), 1);
        // The same batch again (a retried invocation): every hit is known by
        // its marker, and no write is tried, let alone one per record.
        deliver().await;
        assert_eq!(state.commits.load(Ordering::SeqCst), 1);
        assert_eq!(sns.taken().len(), 1);
    }

    #[tokio::test]
    async fn flood_is_one_alert_and_one_exact_summary() {
        let r = rig();
        let hits: Vec<Hit> = (0..500).map(|i| hit_at("tok1", "203.0.113.9", i, i as u32)).collect();
        for h in &hits {
            r.p.process(h).await.unwrap();
        }
        assert_eq!(r.sns.taken().len(), 1, "only the first hit alerts within the window");
        // A hit after the window closes announces the window and alerts itself.
        let later = hit_at("tok1", "203.0.113.9", 15 * 60 + 1, 999);
        assert_eq!(r.p.process(&later).await.unwrap(), Outcome::Alerted { delivered: 2 });
        let got = r.sns.taken();
        assert_eq!(got.len(), 3);
        assert_eq!(got[1].suppressed, Some(499));
        assert_eq!(got[1].hit, hits[499]);
        assert_eq!(
            got[1].episode,
            Some(Episode {
                start: hits[0].received_at,
                requests: 500
            }),
            "the summary names the window it closes, first hit included"
        );
        assert!(
            got[1].summary.starts_with(
                "499 more requests (active) from 203.0.113.9 between 2026-11-28T12:00:01.000Z and 2026-11-28T12:08:19.000Z (8 min 18 s)"
            ),
            "{}",
            got[1].summary
        );
        assert_eq!(got[2].suppressed, None);
        assert_eq!(got[2].hit, later);
    }

    #[tokio::test]
    async fn flush_announces_expired_windows_once() {
        let r = rig();
        for i in 0..10 {
            r.p.process(&hit_at("tok1", "198.51.100.7", i, i as u32)).await.unwrap();
        }
        assert_eq!(r.p.flush().await.unwrap(), FlushReport::default(), "window still open");
        r.now.fetch_add(16 * 60 * 1000, Ordering::SeqCst);
        let rep = r.p.flush().await.unwrap();
        assert_eq!((rep.summaries, rep.delivered, rep.failed), (1, 1, 0));
        assert_eq!(
            r.p.flush().await.unwrap(),
            FlushReport::default(),
            "nothing announced twice"
        );
        let got = r.sns.taken();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].suppressed, Some(9));
        // A late hit of the old window is counted, announced by the next flush.
        r.p.process(&hit_at("tok1", "198.51.100.7", 30, 77)).await.unwrap();
        assert_eq!(r.p.flush().await.unwrap().summaries, 1);
        assert_eq!(r.sns.taken()[2].suppressed, Some(1));
        // The next hit after the window does not announce it again.
        r.p.process(&hit_at("tok1", "198.51.100.7", 20 * 60, 78)).await.unwrap();
        let got = r.sns.taken();
        assert_eq!(got.len(), 4);
        assert_eq!(got[3].suppressed, None);
    }

    /// A flood's counter record reaches the pipeline once, with count 1; the
    /// window's summary reads its final count: every request is announced
    /// exactly once, and not before the counter's bucket has ended.
    #[tokio::test]
    async fn a_summary_takes_its_count_from_the_flood_counter() {
        use crate::domain::flood::FloodRule;
        use crate::store::{HitQuery, HitStore, Kept};
        let store = Arc::new(crate::store::memory::MemoryStore::new());
        let mut r = rig();
        let bucket = DEFAULT_WINDOW;
        r.p = r.p.with_flood_counters(store.clone(), bucket);
        let rule = FloodRule { whole: 1, bucket };
        let minute = |m: i64| hit_time_ms(&hit_at("t", "i", m * 60, 0), 0);
        // 12:10 opens the window (to 12:25); the 12:15 bucket has one whole
        // hit, then a counter for the next eight.
        let mut stream = Vec::new();
        for (i, m) in [10i64, 16, 17, 18, 19, 20, 21, 22, 23, 24].into_iter().enumerate() {
            let h = hit_at("tok1", "203.0.113.9", m * 60, i as u32);
            match store.record(&h, &rule).await.unwrap() {
                Kept::Whole => stream.push(h),
                Kept::Counted { count: 1 } => {
                    let all = store.query(&HitQuery::default()).await.unwrap();
                    stream.push(all.into_iter().find(|x| x.flood.is_some()).unwrap());
                }
                Kept::Counted { .. } => {}
                Kept::Spooled => unreachable!(),
            }
        }
        assert_eq!(stream.len(), 3, "two whole hits and the counter record's INSERT");
        for h in &stream {
            r.p.process(h).await.unwrap();
        }
        assert_eq!(r.sns.taken().len(), 1);
        // The window has ended, the counter's bucket (12:15-12:30) has not.
        r.now.store(minute(26), Ordering::SeqCst);
        assert_eq!(r.p.flush().await.unwrap().summaries, 0, "its count is not final yet");
        r.now.store(minute(31), Ordering::SeqCst);
        assert_eq!(r.p.flush().await.unwrap().summaries, 1);
        let got = r.sns.taken();
        assert_eq!(got[1].suppressed, Some(9), "one whole hit and eight counted");
        assert_eq!(r.p.flush().await.unwrap().summaries, 0, "announced once");
        // A redelivered counter record changes nothing.
        assert!(matches!(
            r.p.process(&stream[2]).await.unwrap(),
            Outcome::Duplicate { .. }
        ));
        assert_eq!(r.p.flush().await.unwrap().summaries, 0);
    }

    /// A counter record after its pair's window ended opens the next window
    /// without an alert of its own, and that window's summary counts it all.
    #[tokio::test]
    async fn a_counter_record_never_alerts_on_its_own() {
        use crate::store::HitStore;
        let store = Arc::new(crate::store::memory::MemoryStore::new());
        let mut r = rig();
        r.p = r.p.with_flood_counters(store.clone(), DEFAULT_WINDOW);
        let mut head = hit_at("tok1", "203.0.113.9", 20 * 60, 1);
        head.hit_id = "flood-tok1-x".into();
        head.flood = Some(Default::default());
        head.count = 40;
        store.put(&head).await.unwrap();
        r.p.process(&hit_at("tok1", "203.0.113.9", 0, 0)).await.unwrap();
        let mut arrived = head.clone();
        arrived.count = 1;
        assert_eq!(r.p.process(&arrived).await.unwrap(), Outcome::Suppressed);
        assert_eq!(r.sns.taken().len(), 1, "only the pair's first hit alerted");
        r.now
            .store(hit_time_ms(&hit_at("t", "i", 3600, 0), 0), Ordering::SeqCst);
        r.p.flush().await.unwrap();
        let got = r.sns.taken();
        assert_eq!(got.len(), 2);
        assert_eq!(got[1].suppressed, Some(40));
        // The counter record opened that episode without an alert: its 40
        // requests are all there is, none sent at once.
        assert_eq!(
            got[1].episode,
            Some(Episode {
                start: head.received_at,
                requests: 40
            })
        );
    }

    /// A hit at `ms` milliseconds after 12:00, with `f` applied.
    fn hit_ms(ms: i64, n: u32, f: impl FnOnce(&mut Hit)) -> Hit {
        let mut h = hit_at("tok1", "203.0.113.9", 0, n);
        h.received_at = ms_time(h.received_at.unix_ms() + ms).unwrap();
        h.hit_id = format!("01HIT{ms:08}{n:06}");
        f(&mut h);
        h
    }

    /// A hit worse than what its window alerted on (tampered, a retired
    /// token in use, an unknown token with our tag) alerts at once; one
    /// no worse is counted; a disabled token stays silent; the summary
    /// names every state it folds.
    #[tokio::test]
    async fn a_worse_state_alerts_at_once_whatever_the_throttle() {
        let r = rig();
        let alerted = Outcome::Alerted { delivered: 1 };
        assert_eq!(r.p.process(&hit_ms(0, 0, |_| {})).await.unwrap(), alerted);
        assert_eq!(r.p.process(&hit_ms(10, 1, |_| {})).await.unwrap(), Outcome::Suppressed);
        let tampered = hit_ms(20, 2, |h| h.tampered = true);
        assert_eq!(
            r.p.process(&tampered).await.unwrap(),
            alerted,
            "tampered alerts at once"
        );
        assert_eq!(
            r.p.process(&hit_ms(30, 3, |h| h.tampered = true)).await.unwrap(),
            Outcome::Suppressed,
            "the window alerted on tampered already"
        );
        let retired = hit_ms(40, 4, |h| h.token_state = Some(TokenState::Retired));
        assert_eq!(r.p.process(&retired).await.unwrap(), alerted, "a retired token in use");
        let orphan = hit_ms(50, 5, |h| h.orphan = true);
        assert_eq!(
            r.p.process(&orphan).await.unwrap(),
            alerted,
            "an unknown token with our tag"
        );
        let disabled = hit_ms(60, 6, |h| {
            h.tampered = true;
            h.token_state = Some(TokenState::Disabled)
        });
        assert_eq!(r.p.process(&disabled).await.unwrap(), Outcome::NotAlerting);
        assert_eq!(r.p.process(&hit_ms(70, 7, |_| {})).await.unwrap(), Outcome::Suppressed);
        let got = r.sns.taken();
        assert_eq!(got.len(), 4);
        assert_eq!(got[1].hit, tampered);
        assert_eq!(got[1].suppressed, None, "its own alert, not a summary");
        assert_eq!(got[2].hit, retired);
        assert_eq!(got[3].hit, orphan);
        // The window's summary counts the three it held back, and says
        // every state among them.
        r.now.fetch_add(16 * 60 * 1000, Ordering::SeqCst);
        assert_eq!(r.p.flush().await.unwrap().summaries, 1);
        let got = r.sns.taken();
        let s = &got[4];
        assert_eq!(s.suppressed, Some(3));
        assert_eq!(s.states, ["tampered", "active"]);
        assert!(
            s.summary
                .starts_with("3 more requests (tampered, active) from 203.0.113.9"),
            "{}",
            s.summary
        );
        assert_eq!(s.severity, crate::domain::alert::Severity::Critical);
    }

    /// The stream's batches and serve's queue fold a pair's hits into one
    /// write: a worse hit among them is not folded, it alerts.
    #[tokio::test]
    async fn a_folded_batch_stops_at_a_worse_hit() {
        let r = rig();
        let hits = [
            hit_ms(0, 0, |_| {}),
            hit_ms(1, 1, |_| {}),
            hit_ms(2, 2, |h| h.tampered = true),
            hit_ms(3, 3, |_| {}),
            hit_ms(4, 4, |h| h.tampered = true),
        ];
        let refs: Vec<Option<&Hit>> = hits.iter().map(Some).collect();
        let mut folded = vec![false; refs.len()];
        for i in 0..refs.len() {
            if !folded[i] && r.p.fold(&refs, i, &mut folded).await.unwrap().is_none() {
                r.p.process(&hits[i]).await.unwrap();
            }
        }
        let got = r.sns.taken();
        assert_eq!(got.len(), 2, "{got:?}");
        assert_eq!(got[0].hit, hits[0]);
        assert_eq!(got[1].hit, hits[2], "the tampered hit alerted at once");
        let w = r.state.window(&PairKey::of(&hits[0])).await.unwrap().unwrap();
        assert_eq!(w.suppressed, 3);
        assert_eq!(w.folded.names(), ["tampered", "active"]);
    }

    /// A summary says the real span of its hits (first to last, here 300
    /// ms, not the 15-minute window) and carries the time it was written.
    #[tokio::test]
    async fn a_summary_says_its_span_and_when_it_was_written() {
        let r = rig();
        for (i, ms) in [0i64, 200, 350, 500].into_iter().enumerate() {
            r.p.process(&hit_ms(ms, i as u32, |_| {})).await.unwrap();
        }
        r.now.fetch_add(20 * 60 * 1000, Ordering::SeqCst);
        let emitted = ms_time(r.now.load(Ordering::SeqCst)).unwrap();
        assert_eq!(r.p.flush().await.unwrap().summaries, 1);
        let s = r.sns.taken().pop().unwrap();
        assert!(
            s.summary.starts_with(
                "3 more requests (active) from 203.0.113.9 between 2026-11-28T12:00:00.200Z and 2026-11-28T12:00:00.500Z (300 ms)"
            ),
            "{}",
            s.summary
        );
        assert_eq!(s.emitted_at, Some(emitted));
        assert_eq!(s.emitted_at.unwrap().to_string(), "2026-11-28T12:20:00.000Z");
        let line = crate::domain::alert::render::terminal_line(&s);
        assert!(
            line.starts_with("ALERT 2026-11-28T12:20:00.000Z 3 more requests (active)"),
            "the summary's own time is when it was written: {line}"
        );
        let text = crate::domain::alert::render::email_text(&s);
        assert!(text.contains("(300 ms)"), "{text}");
        assert!(!text.contains("minute"), "{text}");
    }

    #[tokio::test]
    async fn pairs_tests_and_disabled_tokens() {
        let r = rig();
        r.p.process(&hit_at("tok1", "203.0.113.9", 0, 0)).await.unwrap();
        // Another source, another token: separate windows.
        r.p.process(&hit_at("tok1", "203.0.113.10", 1, 1)).await.unwrap();
        r.p.process(&hit_at("tok2", "203.0.113.9", 2, 2)).await.unwrap();
        // Test hits are never throttled.
        for i in 0..3 {
            let mut t = hit_at("tok1", "203.0.113.9", 3 + i, 10 + i as u32);
            t.test = true;
            assert!(matches!(r.p.process(&t).await.unwrap(), Outcome::Alerted { .. }));
        }
        let mut d = hit_at("tok3", "203.0.113.9", 5, 20);
        d.token_state = Some(TokenState::Disabled);
        assert_eq!(r.p.process(&d).await.unwrap(), Outcome::NotAlerting);
        let mut ig = hit_at("tok3", "203.0.113.9", 5, 21);
        ig.ignored = true;
        assert_eq!(r.p.process(&ig).await.unwrap(), Outcome::NotAlerting);
        assert_eq!(r.sns.taken().len(), 6);
        // Test hits did not open or count in a window.
        assert_eq!(r.state.window(&PairKey::of(&d)).await.unwrap(), None);
        assert_eq!(
            r.state
                .window(&PairKey {
                    token_id: "tok1".into(),
                    source_ip: "203.0.113.9".into()
                })
                .await
                .unwrap()
                .unwrap()
                .suppressed,
            0
        );
    }

    #[tokio::test]
    async fn required_channel_down_retries_without_loss_or_repeat() {
        let r = rig();
        r.sns.failing.store(true, Ordering::SeqCst);
        let a = hit_at("tok1", "203.0.113.9", 0, 0);
        let b = hit_at("tok1", "203.0.113.9", 1, 1);
        assert!(r.p.process(&a).await.is_err());
        assert_eq!(r.slack.taken().len(), 0, "optional channels wait for the required ones");
        // b is counted even while a's alert is pending.
        assert_eq!(r.p.process(&b).await.unwrap(), Outcome::Suppressed);
        assert!(r.p.process(&a).await.is_err());
        r.sns.failing.store(false, Ordering::SeqCst);
        assert_eq!(r.p.process(&a).await.unwrap(), Outcome::Duplicate { delivered: 1 });
        assert_eq!(r.p.process(&a).await.unwrap(), Outcome::Duplicate { delivered: 0 });
        assert_eq!(r.p.process(&b).await.unwrap(), Outcome::Duplicate { delivered: 0 });
        assert_eq!(r.sns.taken().len(), 1);
        assert_eq!(r.slack.taken().len(), 1);
        assert_eq!(r.state.pending(), 0);
    }

    #[tokio::test]
    async fn optional_channel_down_does_not_stop_sns() {
        let r = rig();
        r.slack.failing.store(true, Ordering::SeqCst);
        let a = hit_at("tok1", "203.0.113.9", 0, 0);
        assert_eq!(r.p.process(&a).await.unwrap(), Outcome::Alerted { delivered: 1 });
        assert_eq!(r.sns.taken().len(), 1);
        assert_eq!(r.state.pending(), 0);
    }

    #[tokio::test]
    async fn flush_resends_abandoned_alerts_after_grace() {
        let r = rig();
        r.sns.failing.store(true, Ordering::SeqCst);
        let a = hit_at("tok1", "203.0.113.9", 0, 0);
        assert!(r.p.process(&a).await.is_err());
        r.sns.failing.store(false, Ordering::SeqCst);
        // Within the grace period the stream's own retry owns it.
        assert_eq!(r.p.flush().await.unwrap().delivered, 0);
        r.now.fetch_add(OUTBOX_GRACE.as_millis() as i64 + 1, Ordering::SeqCst);
        assert_eq!(r.p.flush().await.unwrap().delivered, 1);
        assert_eq!(r.sns.taken().len(), 1);
        // The stream's late redelivery finds nothing left to send.
        assert_eq!(r.p.process(&a).await.unwrap(), Outcome::Duplicate { delivered: 0 });
        assert_eq!(r.sns.taken().len(), 1);
    }

    #[tokio::test]
    async fn leased_entry_is_not_sent_twice() {
        let r = rig();
        r.sns.failing.store(true, Ordering::SeqCst);
        let a = hit_at("tok1", "203.0.113.9", 0, 0);
        assert!(r.p.process(&a).await.is_err());
        let key = OutboxKey::hit(&a.hit_id);
        let now = r.now.load(Ordering::SeqCst);
        assert!(matches!(
            r.state.claim(&key, now, 60_000).await.unwrap(),
            Claim::Claimed(_)
        ));
        r.sns.failing.store(false, Ordering::SeqCst);
        assert!(r.p.process(&a).await.is_err(), "another delivery holds it");
        assert!(r.sns.taken().is_empty());
        r.now.fetch_add(60_001, Ordering::SeqCst);
        assert_eq!(r.p.process(&a).await.unwrap(), Outcome::Duplicate { delivered: 1 });
    }
}
