//! In-process alert fan-out for `serve`: hits are queued by the handler
//! (never delaying its answer) and a task runs each through the same alert
//! [`Pipeline`] as the alerter Lambda, on in-memory state: the first hit of
//! a (token, source) pair alerts at once, the rest of its window are counted
//! and announced in one summary when the window ends (checked every
//! [`FLUSH_EVERY`], and for every open window at shutdown), so nothing is
//! dropped silently and a flood does not print a line per request.
//!
//! Each channel (the terminal, a webhook) has its own bounded queue and its
//! own delivery task, so a webhook that never answers delays neither the
//! terminal line nor any other channel. A full queue drops the alert and
//! counts it per (token, source); the counts are printed on the terminal as
//! they happen and in total at shutdown. Hits that did not fit the hit queue
//! itself are counted per pair the same way and announced as summaries of
//! their own pair. A failing channel is reported on every failure and keeps
//! being tried, never switched off.

use std::collections::HashMap;
use std::sync::atomic::{AtomicU64, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::pipeline::{Channel, Pipeline};
use crate::domain::alert::{Alert, Folded, HitStates};
use crate::domain::hit::Hit;
use crate::domain::time::Timestamp;
use crate::domain::{HitListener, Stored};
use crate::notify::Notifier;
use crate::store::AlertState;

/// Hits queued for alerting before the queue pushes back.
pub const QUEUE: usize = 10_000;
/// Alerts queued per channel by default.
pub const CHANNEL_QUEUE: usize = 1_000;
/// (token, source) pairs whose drops are counted one by one; past that, in one sum.
pub const MAX_DROP_PAIRS: usize = 10_000;
/// How often ended windows are looked for.
pub const FLUSH_EVERY: Duration = Duration::from_secs(10);
/// Queued hits taken at once: a flood's hits of one pair among them are
/// decided in one state write ([`crate::alerting::pipeline::Pipeline::fold`]).
pub const FOLD_BATCH: usize = 64;
/// How long each channel may take at shutdown to deliver what it has queued.
pub const SHUTDOWN_DELIVERY: Duration = Duration::from_secs(10);

/// The running fan-out.
pub struct Fanout {
    /// Give this to [`crate::decoy::Decoy::with_listener`].
    pub listener: HitListener,
    /// Ends when every queued alert has been delivered (after the listener
    /// is dropped), or a channel's shutdown allowance has run out.
    pub task: JoinHandle<()>,
}

type Pair = (String, String);

/// Per pair: how many, the last hit kept, every state seen, the first time.
type Tally = (u64, Option<Hit>, HitStates, Option<Timestamp>);

/// Counts per (token, source), bounded: pairs past [`MAX_DROP_PAIRS`] go in `other`.
#[derive(Default)]
struct Counts {
    by_pair: HashMap<Pair, Tally>,
    other: u64,
}

impl Counts {
    fn add(&mut self, hit: &Hit, keep_hit: bool) {
        let k = (hit.token_id.clone(), hit.source_ip.clone());
        let states = HitStates::of(hit);
        if let Some(e) = self.by_pair.get_mut(&k) {
            e.0 += 1;
            e.2 = e.2.union(states);
            e.3 = Some(e.3.map_or(hit.received_at, |f| f.min(hit.received_at)));
            if keep_hit && e.1.as_ref().is_none_or(|l| l.received_at <= hit.received_at) {
                e.1 = Some(hit.clone());
            }
        } else if self.by_pair.len() < MAX_DROP_PAIRS {
            self.by_pair
                .insert(k, (1, keep_hit.then(|| hit.clone()), states, Some(hit.received_at)));
        } else {
            self.other += 1;
        }
    }

    fn merge(&mut self, o: &Counts) {
        for (k, (n, _, states, first)) in &o.by_pair {
            if let Some(e) = self.by_pair.get_mut(k) {
                e.0 += n;
                e.2 = e.2.union(*states);
            } else if self.by_pair.len() < MAX_DROP_PAIRS {
                self.by_pair.insert(k.clone(), (*n, None, *states, *first));
            } else {
                self.other += n;
            }
        }
        self.other += o.other;
    }

    fn is_empty(&self) -> bool {
        self.by_pair.is_empty() && self.other == 0
    }

    fn total(&self) -> u64 {
        self.by_pair.values().map(|e| e.0).sum::<u64>() + self.other
    }

    /// `N for token T from S, …` (largest first, at most `max` pairs listed).
    fn describe(&self, max: usize) -> String {
        let mut v: Vec<_> = self.by_pair.iter().map(|(k, e)| (e.0, k)).collect();
        v.sort_by(|a, b| b.0.cmp(&a.0).then(a.1.cmp(b.1)));
        let mut parts: Vec<String> = v
            .iter()
            .take(max)
            .map(|(n, (t, s))| format!("{n} for token {t} from {s}"))
            .collect();
        let rest: u64 = v.iter().skip(max).map(|e| e.0).sum::<u64>() + self.other;
        if rest > 0 {
            parts.push(format!("{rest} for other pairs"));
        }
        parts.join(", ")
    }
}

/// One channel: its queue, and what its queue had to drop.
struct ChannelQueue {
    name: String,
    tx: mpsc::Sender<Alert>,
    dropped: Mutex<Counts>,
    /// Where the current hit stands, to flag its alert when not yet stored.
    current: Arc<Mutex<Option<(String, &'static str)>>>,
}

/// The pipeline's view of a channel: enqueue, never wait.
#[async_trait::async_trait]
impl Notifier for ChannelQueue {
    fn name(&self) -> &str {
        &self.name
    }

    async fn notify(&self, alert: &Alert) -> crate::Result<()> {
        let mut a = alert.clone();
        if a.suppressed.is_none()
            && let Ok(c) = self.current.lock()
            && let Some((id, note)) = c.as_ref()
            && *id == a.hit.hit_id
        {
            a.not_yet_stored = Some((*note).to_string());
        }
        if self.tx.try_send(a).is_err()
            && let Ok(mut d) = self.dropped.lock()
        {
            d.add(&alert.hit, false);
        }
        Ok(())
    }
}

fn report_channel_failure(what: &str, e: &crate::Error) {
    eprintln!("ALERT CHANNEL FAILING: {what}: {e}; hits are stored (`honeytoken hits`)");
}

/// Starts a channel's delivery task.
fn channel_task(notifier: Arc<dyn Notifier>, mut rx: mpsc::Receiver<Alert>) -> JoinHandle<()> {
    tokio::spawn(async move {
        while let Some(a) = rx.recv().await {
            if let Err(e) = notifier.notify(&a).await {
                report_channel_failure(&format!("{} for hit {}", notifier.name(), a.hit.hit_id), &e);
            }
        }
        // The queue is closed: a channel delivering in the background
        // (Splunk HEC batches) finishes what it holds.
        notifier.drain().await;
    })
}

/// Starts alerting on hits. `always` are channels every alert must reach
/// (the terminal); `best_effort` channels (a webhook) are tried with their
/// own retries and reported when they fail. Every channel has a queue of
/// [`CHANNEL_QUEUE`] alerts.
pub fn spawn(
    state: Arc<dyn AlertState>,
    always: Vec<Arc<dyn Notifier>>,
    best_effort: Vec<Arc<dyn Notifier>>,
    window: Duration,
) -> Fanout {
    spawn_with(state, always, best_effort, window, CHANNEL_QUEUE)
}

/// [`spawn`] with `channel_queue` alerts queued per channel.
pub fn spawn_with(
    state: Arc<dyn AlertState>,
    always: Vec<Arc<dyn Notifier>>,
    best_effort: Vec<Arc<dyn Notifier>>,
    window: Duration,
    channel_queue: usize,
) -> Fanout {
    let (tx, mut rx) = mpsc::channel::<(Hit, Stored)>(QUEUE);
    let overflow = Arc::new(Mutex::new(Counts::default()));
    let overflowed = Arc::new(AtomicU64::new(0));
    let (overflow_tx, overflowed_tx) = (overflow.clone(), overflowed.clone());
    let listener: HitListener = Arc::new(move |hit: &Hit, stored: Stored| {
        if !hit.alerts() {
            return;
        }
        if tx.try_send((hit.clone(), stored)).is_err() {
            // Counted against its own pair and announced as that pair's summary.
            if let Ok(mut o) = overflow_tx.lock() {
                o.add(hit, true);
            }
            overflowed_tx.fetch_add(1, Ordering::Relaxed);
        }
    });
    let current: Arc<Mutex<Option<(String, &'static str)>>> = Arc::new(Mutex::new(None));
    let mut queues: Vec<Arc<ChannelQueue>> = Vec::new();
    let mut tasks: Vec<(String, JoinHandle<()>)> = Vec::new();
    let mut channels: Vec<Channel> = Vec::new();
    let capacity = channel_queue.max(1);
    for (n, required) in always
        .into_iter()
        .map(|n| (n, true))
        .chain(best_effort.into_iter().map(|n| (n, false)))
    {
        let (ctx, crx) = mpsc::channel(capacity);
        let q = Arc::new(ChannelQueue {
            name: n.name().to_string(),
            tx: ctx,
            dropped: Mutex::new(Counts::default()),
            current: current.clone(),
        });
        tasks.push((n.name().to_string(), channel_task(n, crx)));
        queues.push(q.clone());
        channels.push(Channel { notifier: q, required });
    }
    let pipeline = Pipeline::new(state, channels).with_window(window);
    let task = tokio::spawn(async move {
        let mut dropped_total: HashMap<String, Counts> = HashMap::new();
        // Prints what each channel dropped since the last report, and keeps the totals.
        let report_drops = |totals: &mut HashMap<String, Counts>| {
            for q in &queues {
                let fresh = match q.dropped.lock() {
                    Ok(mut d) if !d.is_empty() => std::mem::take(&mut *d),
                    _ => continue,
                };
                eprintln!(
                    "ALERTS DROPPED: the {} queue is full; {} alert(s) not sent to it: {} (hits are stored: `honeytoken hits`)",
                    q.name,
                    fresh.total(),
                    fresh.describe(5)
                );
                totals.entry(q.name.clone()).or_default().merge(&fresh);
            }
        };
        let summarise_overflow = |pipeline: &Pipeline| {
            let o = match overflow.lock() {
                Ok(mut o) if !o.is_empty() => std::mem::take(&mut *o),
                _ => return Vec::new(),
            };
            let mut alerts: Vec<Alert> = o
                .by_pair
                .values()
                .filter_map(|(n, h, states, first)| {
                    h.as_ref().map(|h| {
                        let folded = Folded {
                            last: h,
                            count: *n,
                            first_at: first.unwrap_or(h.received_at),
                            states: *states,
                            window_secs: pipeline.window().as_secs(),
                        };
                        Alert::summary_of(&folded, Timestamp::now())
                    })
                })
                .collect();
            if o.other > 0 {
                eprintln!(
                    "ALERTS DROPPED: {} hit(s) of other pairs did not fit the alert queue (hits are stored: `honeytoken hits`)",
                    o.other
                );
            }
            alerts.sort_by(|a, b| a.hit.token_id.cmp(&b.hit.token_id));
            alerts
        };
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        let mut last_report = tokio::time::Instant::now();
        let mut batch: Vec<(Hit, Stored)> = Vec::with_capacity(FOLD_BATCH);
        loop {
            tokio::select! {
                n = rx.recv_many(&mut batch, FOLD_BATCH) => {
                    if n == 0 {
                        break;
                    }
                    // A pair's hits queued together are decided in one state write.
                    let hits: Vec<Option<&Hit>> = batch.iter().map(|(h, _)| Some(h)).collect();
                    let mut folded = vec![false; hits.len()];
                    for (i, (hit, stored)) in batch.iter().enumerate() {
                        if folded[i] {
                            continue;
                        }
                        if let Ok(mut c) = current.lock() {
                            *c = stored.note().map(|n| (hit.hit_id.clone(), n));
                        }
                        let decided = match pipeline.fold(&hits, i, &mut folded).await {
                            Ok(Some(_)) => Ok(()),
                            Ok(None) => pipeline.process(hit).await.map(|_| ()),
                            Err(e) => Err(e),
                        };
                        if let Err(e) = decided {
                            report_channel_failure(&format!("alert for hit {}", hit.hit_id), &e);
                        }
                        if let Ok(mut c) = current.lock() {
                            *c = None;
                        }
                    }
                    batch.clear();
                    for a in summarise_overflow(&pipeline) {
                        for q in &queues {
                            let _ = q.notify(&a).await;
                        }
                    }
                    if last_report.elapsed() >= Duration::from_secs(1) {
                        report_drops(&mut dropped_total);
                        last_report = tokio::time::Instant::now();
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = pipeline.flush().await {
                        report_channel_failure("summaries", &e);
                    }
                    report_drops(&mut dropped_total);
                    last_report = tokio::time::Instant::now();
                }
            }
        }
        // Every open window is announced now, dated now: no later flush follows.
        if let Err(e) = pipeline.flush_all().await {
            report_channel_failure("summaries at shutdown", &e);
        }
        for a in summarise_overflow(&pipeline) {
            for q in &queues {
                let _ = q.notify(&a).await;
            }
        }
        report_drops(&mut dropped_total);
        // Close every queue, then let each channel deliver what it holds.
        drop(pipeline);
        let queued: Vec<(String, usize)> = queues
            .iter()
            .map(|q| (q.name.clone(), capacity - q.tx.capacity()))
            .collect();
        drop(queues);
        for (name, mut t) in tasks {
            if tokio::time::timeout(SHUTDOWN_DELIVERY, &mut t).await.is_err() {
                t.abort();
                let n = queued.iter().find(|(q, _)| *q == name).map(|q| q.1).unwrap_or(0);
                eprintln!(
                    "ALERT CHANNEL FAILING: {name} did not deliver its queue within {}s at shutdown (up to {n} alert(s) undelivered; hits are stored)",
                    SHUTDOWN_DELIVERY.as_secs()
                );
            }
        }
        let lost = overflowed.load(Ordering::Relaxed);
        if lost > 0 {
            eprintln!("at shutdown: {lost} hit(s) did not fit the alert queue and were announced as summaries");
        }
        for (name, c) in &dropped_total {
            eprintln!(
                "at shutdown: the {name} channel dropped {} alert(s) (queue full): {}",
                c.total(),
                c.describe(20)
            );
        }
    });
    Fanout { listener, task }
}

#[cfg(test)]
mod tests {
    use super::*;
    use async_trait::async_trait;
    use std::sync::Mutex;

    #[derive(Default)]
    struct Recorder(Mutex<Vec<Alert>>);

    #[async_trait]
    impl Notifier for Recorder {
        fn name(&self) -> &str {
            "recorder"
        }
        async fn notify(&self, alert: &Alert) -> crate::Result<()> {
            self.0.lock().unwrap().push(alert.clone());
            Ok(())
        }
    }

    #[tokio::test]
    async fn a_flood_is_one_alert_and_one_exact_summary() {
        let rec = Arc::new(Recorder::default());
        let f = spawn(
            Arc::new(crate::store::memory::MemoryAlertState::new()),
            vec![rec.clone()],
            vec![],
            Duration::from_secs(900),
        );
        let base = honeytoken_core::testkit::hit_at("tok", "203.0.113.9", 0, 0);
        for i in 0..500u32 {
            let mut h = base.clone();
            h.hit_id = format!("{i:026}");
            h.received_at = crate::domain::time::Timestamp::now();
            (f.listener)(&h, Stored::Yes);
        }
        let Fanout { listener, task } = f;
        drop(listener);
        task.await.unwrap();
        let alerts = rec.0.lock().unwrap().clone();
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert_eq!(alerts[0].suppressed, None);
        assert_eq!(alerts[1].suppressed, Some(499));
    }

    /// The case: a tampered JWT from the source whose earlier use
    /// of the token opened the window raises its own ALERT line in `serve`,
    /// and the shutdown summary says "tampered".
    #[tokio::test]
    async fn a_tampered_hit_within_the_window_alerts_at_once() {
        let rec = Arc::new(Recorder::default());
        let f = spawn(
            Arc::new(crate::store::memory::MemoryAlertState::new()),
            vec![rec.clone()],
            vec![],
            Duration::from_secs(900),
        );
        let base = honeytoken_core::testkit::hit_at("tok", "127.0.0.1", 0, 0);
        for (i, tampered) in [false, true, true, false].into_iter().enumerate() {
            let mut h = base.clone();
            h.hit_id = format!("{i:026}");
            h.received_at = crate::domain::time::Timestamp::now();
            h.tampered = tampered;
            (f.listener)(&h, Stored::Yes);
        }
        let Fanout { listener, task } = f;
        drop(listener);
        task.await.unwrap();
        let alerts = rec.0.lock().unwrap().clone();
        assert_eq!(alerts.len(), 3, "{alerts:#?}");
        assert!(!alerts[0].hit.tampered);
        assert!(alerts[1].hit.tampered && alerts[1].suppressed.is_none());
        assert_eq!(alerts[2].suppressed, Some(2));
        let line = crate::domain::alert::render::terminal_line(&alerts[2]);
        assert!(
            line.contains("2 more requests (tampered, active) from 127.0.0.1"),
            "{line}"
        );
        // Announced at shutdown and dated then, not at the window's end.
        let emitted = alerts[2].emitted_at.unwrap();
        assert!(
            emitted >= alerts[2].hit.received_at && emitted <= crate::domain::time::Timestamp::now(),
            "{emitted}"
        );
    }

    #[tokio::test]
    async fn interleaved_floods_fold_per_pair_and_count_exactly() {
        let rec = Arc::new(Recorder::default());
        let state = Arc::new(crate::store::memory::CountingAlertState::default());
        let f = spawn(state.clone(), vec![rec.clone()], vec![], Duration::from_secs(900));
        // Queued before the fan-out's task first runs (this test's runtime
        // has one thread): the task takes them in batches.
        let (a, b) = (
            honeytoken_core::testkit::hit_at("tok", "203.0.113.9", 0, 0),
            honeytoken_core::testkit::hit_at("tok", "198.51.100.7", 0, 0),
        );
        for i in 0..640u32 {
            let mut h = if i % 2 == 0 { a.clone() } else { b.clone() };
            h.hit_id = format!("{i:026}");
            h.received_at = crate::domain::time::Timestamp::now();
            (f.listener)(&h, Stored::Yes);
        }
        let Fanout { listener, task } = f;
        drop(listener);
        task.await.unwrap();
        let alerts = rec.0.lock().unwrap().clone();
        let first: Vec<&Alert> = alerts.iter().filter(|a| a.suppressed.is_none()).collect();
        assert_eq!(first.len(), 2, "one immediate alert per pair: {alerts:#?}");
        let mut counts: Vec<(String, u64)> = alerts
            .iter()
            .filter_map(|a| a.suppressed.map(|n| (a.hit.source_ip.clone(), n)))
            .collect();
        counts.sort();
        assert_eq!(
            counts,
            [("198.51.100.7".to_string(), 319), ("203.0.113.9".to_string(), 319)]
        );
        // Two pairs, ten batches of 64: about two writes per batch, not one per hit.
        let commits = state.commits.load(Ordering::Relaxed);
        assert!(commits <= 40, "{commits} state writes for 640 hits");
    }

    #[tokio::test]
    async fn ended_quiet_windows_are_forgotten() {
        use crate::store::memory::MemoryAlertState;
        use std::sync::atomic::AtomicI64;
        let state = Arc::new(MemoryAlertState::new());
        let base = honeytoken_core::testkit::hit_at("t", "10.0.0.1", 0, 0)
            .received_at
            .unix_ms();
        let now = Arc::new(AtomicI64::new(base));
        let clock = now.clone();
        let p = Pipeline::new(state.clone(), vec![])
            .with_window(std::time::Duration::from_secs(60))
            .with_clock(Arc::new(move || clock.load(Ordering::SeqCst)));
        for i in 0..1000u32 {
            let h = honeytoken_core::testkit::hit_at("t", &format!("10.0.{}.{}", i / 250, i % 250), 0, i);
            p.process(&h).await.unwrap();
        }
        assert_eq!(state.windows(), 1000);
        now.store(base + 121_000, Ordering::SeqCst);
        p.flush().await.unwrap();
        assert_eq!(state.windows(), 0, "memory bounded by recent pairs");
    }
}
