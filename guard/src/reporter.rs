//! The background reporter: a bounded queue between the request path and
//! the store. The request side never waits: it takes a short lock, adds the
//! hit to its (token, source, flood bucket)'s pending batch or opens one,
//! and returns. A flood of one pair therefore costs one queue slot however
//! many requests it sends (the flood rule is applied before the queue), so
//! it can never crowd out the first hit of another pair; counted requests
//! keep an exact count. Only when `capacity` distinct pairs are waiting at
//! once is a hit of yet another pair dropped, counted per pair, logged, and
//! handed to [`HitSink::dropped`] so the store side reports it on the
//! terminal, in the hit log and as an alert.

use std::collections::{HashMap, VecDeque};
use std::future::Future;
use std::pin::Pin;
use std::sync::atomic::{AtomicU64, AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};
use std::time::Duration;

use honeytoken_core::flood::{FloodKey, FloodRule};
use honeytoken_core::hit::{Hit, new_hit_id};
use honeytoken_core::token::jwt::JwtInspection;

/// A boxed, sendable future (what [`HitSink::report`] returns).
pub type BoxFuture<'a, T> = Pin<Box<dyn Future<Output = T> + Send + 'a>>;

/// Why a sink could not take a hit (already safe to log: no secrets).
pub type SinkError = String;

/// One hit to report, with what the store side needs to finish it.
#[derive(Debug, Clone)]
pub struct Report {
    /// The hit as the guard saw it (`via: guard`).
    pub hit: Hit,
    /// For a JWT: what it says about itself, so the sink can list the
    /// claims an attacker changed.
    pub jwt: Option<JwtInspection>,
}

/// The requests of one (token, source, bucket) past its batch's whole
/// hits: `count` requests, of which `first` and `samples` are kept as they
/// came (the samples differ from `first` and each other in path or user
/// agent) and the rest were like `first`.
#[derive(Debug, Clone)]
pub struct Counted {
    /// The first counted request.
    pub first: Report,
    /// Later counted requests with a path or user agent not seen before in
    /// this batch, at most [`MAX_COUNTED_SAMPLES`].
    pub samples: Vec<Report>,
    /// Requests this stands for, `first` and `samples` included.
    pub count: u64,
}

impl Counted {
    /// Every request this stands for, as hits to store: `first`, the
    /// samples, then copies of `first` (each with a hit id of its own) for
    /// the rest.
    pub fn reports(&self) -> impl Iterator<Item = Report> + '_ {
        let kept = 1 + self.samples.len() as u64;
        std::iter::once(self.first.clone())
            .chain(self.samples.iter().cloned())
            .chain((kept..self.count).map(|_| {
                let mut r = self.first.clone();
                r.hit.hit_id = new_hit_id();
                r
            }))
    }
}

/// Where hits go: the honeytoken library's stores implement it (looking up
/// the token and applying the flood rule, as for the decoy's hits).
pub trait HitSink: Send + Sync + 'static {
    /// Stores one hit durably, or says why not.
    fn report(&self, report: Report) -> BoxFuture<'_, Result<(), SinkError>>;

    /// Stores the `count` requests `counted` stands for (a sink with a
    /// cheaper way than one [`HitSink::report`] each overrides it); how many
    /// were stored, or why not.
    fn report_counted(&self, counted: Counted) -> BoxFuture<'_, Result<u64, SinkError>> {
        Box::pin(async move {
            let mut stored = 0;
            for r in counted.reports() {
                self.report(r).await?;
                stored += 1;
            }
            Ok(stored)
        })
    }

    /// `count` requests of the pair `first` belongs to were dropped (the
    /// queue was full): reports them where a human sees it. The reporter
    /// has already logged the drop; by default nothing more is done.
    fn dropped(&self, first: Report, count: u64) -> BoxFuture<'_, ()> {
        let _ = (first, count);
        Box::pin(async {})
    }
}

/// What the reporter has done so far, in requests.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReporterStats {
    /// Hits accepted into the queue (a flood's counted requests included).
    pub queued: u64,
    /// Hits the sink stored.
    pub reported: u64,
    /// Hits the sink failed on or timed out on (each logged).
    pub failed: u64,
    /// Hits dropped because the queue was full (or the reporter had stopped).
    pub dropped: u64,
}

#[derive(Default)]
struct Counters {
    queued: AtomicU64,
    reported: AtomicU64,
    failed: AtomicU64,
    dropped: AtomicU64,
}

/// Default queue length: pending (token, source, bucket) batches.
pub const DEFAULT_CAPACITY: usize = 1024;
/// Default time one hit may take in the sink before it is given up (and logged).
pub const DEFAULT_SINK_TIMEOUT: Duration = Duration::from_secs(10);
/// Counted requests kept as samples per batch (the flood rule keeps eight
/// distinct paths and eight distinct user agents per counter).
pub const MAX_COUNTED_SAMPLES: usize = 2 * honeytoken_core::flood::MAX_SAMPLES;
/// Whole hits a batch holds at most, whatever the flood rule says: past
/// them a batch counts (the store still decides, under its own rule,
/// whether each request is kept whole or counted).
const MAX_BATCH_WHOLE: u64 = 64;
/// Pairs whose drops are counted one by one; past that, in one sum.
pub const MAX_DROP_PAIRS: usize = 10_000;
/// Requests handed to a sink in one [`HitSink::report_counted`] call get
/// this much more time than one hit.
const COUNTED_PER_TIMEOUT: u64 = 1024;

/// The requests of one (token, source, bucket) waiting for the sink.
struct Batch {
    whole: Vec<Report>,
    counted: Option<Counted>,
}

impl Batch {
    fn add(&mut self, r: Report, whole: u64) {
        if (self.whole.len() as u64) < whole {
            self.whole.push(r);
            return;
        }
        match &mut self.counted {
            None => {
                self.counted = Some(Counted {
                    first: r,
                    samples: Vec::new(),
                    count: 1,
                })
            }
            Some(c) => {
                c.count += 1;
                let new = |f: fn(&Hit) -> &str| {
                    let v = f(&r.hit);
                    f(&c.first.hit) != v && !c.samples.iter().any(|s| f(&s.hit) == v)
                };
                if c.samples.len() < MAX_COUNTED_SAMPLES && (new(|h| &h.path) || new(|h| &h.user_agent)) {
                    c.samples.push(r);
                }
            }
        }
    }
}

type Pair = (String, String);

#[derive(Default)]
struct Drops {
    by_pair: HashMap<Pair, (u64, Report)>,
    other: u64,
}

#[derive(Default)]
struct State {
    order: VecDeque<FloodKey>,
    pending: HashMap<FloodKey, Batch>,
    drops: Drops,
    /// Every `Reporter` is gone: drain and end.
    closed: bool,
}

struct Inner {
    state: Mutex<State>,
    /// A batch is pending (or the reporter closed).
    wake: tokio::sync::Notify,
    /// A drop is waiting to be reported (or the reporter closed).
    wake_drops: tokio::sync::Notify,
    counters: Counters,
    rule: FloodRule,
    capacity: usize,
    /// Live `Reporter` handles.
    handles: AtomicUsize,
}

impl Inner {
    fn lock(&self) -> std::sync::MutexGuard<'_, State> {
        self.state.lock().unwrap_or_else(|p| p.into_inner())
    }
}

/// The request side of the reporter: cheap to clone, never blocks.
pub struct Reporter {
    inner: Arc<Inner>,
}

impl Clone for Reporter {
    fn clone(&self) -> Self {
        self.inner.handles.fetch_add(1, Ordering::Relaxed);
        Reporter {
            inner: self.inner.clone(),
        }
    }
}

impl Drop for Reporter {
    fn drop(&mut self) {
        if self.inner.handles.fetch_sub(1, Ordering::AcqRel) == 1 {
            self.inner.lock().closed = true;
            self.inner.wake.notify_one();
            self.inner.wake_drops.notify_one();
        }
    }
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter").field("stats", &self.stats()).finish()
    }
}

impl Reporter {
    /// Starts the background task (on the current tokio runtime) feeding
    /// `sink` from a queue of `capacity` pending (token, source, bucket)
    /// batches under the default flood rule, each hit given `timeout` in
    /// the sink. The task ends once every `Reporter` clone is dropped and
    /// the queue is drained; await the handle to flush at shutdown.
    pub fn spawn(
        sink: Arc<dyn HitSink>,
        capacity: usize,
        timeout: Duration,
    ) -> (Reporter, tokio::task::JoinHandle<()>) {
        Self::spawn_with_rule(sink, capacity, timeout, FloodRule::default())
    }

    /// [`Reporter::spawn`] with batches bucketed and sized by `rule` (the
    /// rule the sink stores hits under).
    pub fn spawn_with_rule(
        sink: Arc<dyn HitSink>,
        capacity: usize,
        timeout: Duration,
        rule: FloodRule,
    ) -> (Reporter, tokio::task::JoinHandle<()>) {
        let inner = Arc::new(Inner {
            state: Mutex::new(State::default()),
            wake: tokio::sync::Notify::new(),
            wake_drops: tokio::sync::Notify::new(),
            counters: Counters::default(),
            rule,
            capacity: capacity.max(1),
            handles: AtomicUsize::new(1),
        });
        let (i, s) = (inner.clone(), sink.clone());
        let task = tokio::spawn(async move {
            let drops = tokio::spawn(report_drops(i.clone(), s, timeout));
            report_batches(i, sink, timeout).await;
            let _ = drops.await;
        });
        (Reporter { inner }, task)
    }

    /// With the default capacity and sink timeout.
    pub fn spawn_default(sink: Arc<dyn HitSink>) -> (Reporter, tokio::task::JoinHandle<()>) {
        Self::spawn(sink, DEFAULT_CAPACITY, DEFAULT_SINK_TIMEOUT)
    }

    /// Queues a hit without waiting; whether it was accepted. A hit joins
    /// its (token, source, bucket)'s pending batch if there is one, else
    /// opens a batch if fewer than `capacity` are pending, else is dropped:
    /// counted per pair, logged at the pair's first drop and every power of
    /// two after (so a flood cannot flood the log too), and reported
    /// through [`HitSink::dropped`].
    pub fn submit(&self, report: Report) -> bool {
        let inner = &self.inner;
        let key = inner.rule.key(&report.hit);
        let whole = inner.rule.whole.clamp(1, MAX_BATCH_WHOLE);
        let mut st = inner.lock();
        if !st.closed {
            if let Some(b) = st.pending.get_mut(&key) {
                b.add(report, whole);
                inner.counters.queued.fetch_add(1, Ordering::Relaxed);
                return true;
            }
            if st.order.len() < inner.capacity {
                let mut b = Batch {
                    whole: Vec::new(),
                    counted: None,
                };
                b.add(report, whole);
                st.pending.insert(key.clone(), b);
                st.order.push_back(key);
                drop(st);
                inner.counters.queued.fetch_add(1, Ordering::Relaxed);
                inner.wake.notify_one();
                return true;
            }
        }
        let why = if st.closed { "reporter stopped" } else { "queue full" };
        let pair = (report.hit.token_id.clone(), report.hit.source_ip.clone());
        let drops = &mut st.drops;
        let n = if let Some(e) = drops.by_pair.get_mut(&pair) {
            e.0 += 1;
            e.0
        } else if drops.by_pair.len() < MAX_DROP_PAIRS {
            drops.by_pair.insert(pair.clone(), (1, report));
            1
        } else {
            drops.other += 1;
            drops.other
        };
        drop(st);
        inner.counters.dropped.fetch_add(1, Ordering::Relaxed);
        inner.wake_drops.notify_one();
        if n.is_power_of_two() {
            tracing::warn!(
                event = "guard_hits_dropped",
                dropped_for_pair = n,
                reason = why,
                token_id = %pair.0,
                source_ip = %pair.1,
                "guard dropped hits of this token and source: more pairs are waiting for the store than the queue holds"
            );
        }
        false
    }

    /// Counters so far.
    pub fn stats(&self) -> ReporterStats {
        let c = &self.inner.counters;
        ReporterStats {
            queued: c.queued.load(Ordering::Relaxed),
            reported: c.reported.load(Ordering::Relaxed),
            failed: c.failed.load(Ordering::Relaxed),
            dropped: c.dropped.load(Ordering::Relaxed),
        }
    }
}

/// Reports drops as they happen, in a task of its own, so a sink that
/// hangs on a batch does not hold back the news that hits were dropped.
async fn report_drops(inner: Arc<Inner>, sink: Arc<dyn HitSink>, timeout: Duration) {
    loop {
        let d = {
            let mut st = inner.lock();
            if !st.drops.by_pair.is_empty() || st.drops.other > 0 {
                Some(std::mem::take(&mut st.drops))
            } else if st.closed {
                return;
            } else {
                None
            }
        };
        let Some(d) = d else {
            inner.wake_drops.notified().await;
            continue;
        };
        for (_, (n, first)) in d.by_pair {
            let _ = tokio::time::timeout(timeout, sink.dropped(first, n)).await;
        }
        if d.other > 0 {
            tracing::error!(
                event = "guard_hits_dropped",
                dropped = d.other,
                "guard dropped hits of more pairs than it counts one by one"
            );
        }
    }
}

/// Hands the pending batches to the sink, oldest first.
async fn report_batches(inner: Arc<Inner>, sink: Arc<dyn HitSink>, timeout: Duration) {
    loop {
        let b = {
            let mut st = inner.lock();
            match st.order.pop_front() {
                Some(k) => st.pending.remove(&k),
                None if st.closed => return,
                None => None,
            }
        };
        let Some(b) = b else {
            inner.wake.notified().await;
            continue;
        };
        for r in b.whole {
            let hit_json = serde_json::to_string(&r.hit).unwrap_or_default();
            match tokio::time::timeout(timeout, sink.report(r)).await {
                Ok(Ok(())) => {
                    inner.counters.reported.fetch_add(1, Ordering::Relaxed);
                }
                Ok(Err(e)) => not_stored(&inner, 1, &e, &hit_json),
                Err(_) => not_stored(&inner, 1, "the store did not answer in time", &hit_json),
            }
        }
        if let Some(c) = b.counted {
            let n = c.count;
            let hit_json = serde_json::to_string(&c.first.hit).unwrap_or_default();
            let allowed = timeout.saturating_mul(1 + (n / COUNTED_PER_TIMEOUT).min(u32::MAX as u64) as u32);
            match tokio::time::timeout(allowed, sink.report_counted(c)).await {
                Ok(Ok(stored)) => {
                    inner.counters.reported.fetch_add(stored, Ordering::Relaxed);
                    if stored < n {
                        not_stored(&inner, n - stored, "the store took only part of them", &hit_json);
                    }
                }
                Ok(Err(e)) => not_stored(&inner, n, &e, &hit_json),
                Err(_) => not_stored(&inner, n, "the store did not answer in time", &hit_json),
            }
        }
    }
}

fn not_stored(inner: &Inner, n: u64, why: &str, hit_json: &str) {
    inner.counters.failed.fetch_add(n, Ordering::Relaxed);
    // The hit is kept in the log (its fields are escaped already).
    tracing::error!(event = "guard_hit_not_stored", requests = n, error = %why, hit = %hit_json);
}

#[cfg(test)]
mod tests {
    use super::*;
    use honeytoken_core::testkit::hit_at;

    struct Recording(Mutex<Vec<Hit>>);
    impl HitSink for Recording {
        fn report(&self, r: Report) -> BoxFuture<'_, Result<(), SinkError>> {
            self.0.lock().unwrap().push(r.hit);
            Box::pin(async { Ok(()) })
        }
    }

    /// Hangs on every hit but the ones of token `pass`; records drops.
    struct Hanging {
        pass: &'static str,
        got: Mutex<Vec<Hit>>,
        dropped: Mutex<Vec<(Hit, u64)>>,
    }
    impl Hanging {
        fn new(pass: &'static str) -> Arc<Self> {
            Arc::new(Hanging {
                pass,
                got: Mutex::new(vec![]),
                dropped: Mutex::new(vec![]),
            })
        }
    }
    impl HitSink for Hanging {
        fn report(&self, r: Report) -> BoxFuture<'_, Result<(), SinkError>> {
            if r.hit.token_id == self.pass {
                self.got.lock().unwrap().push(r.hit);
                return Box::pin(async { Ok(()) });
            }
            Box::pin(std::future::pending())
        }
        fn dropped(&self, first: Report, count: u64) -> BoxFuture<'_, ()> {
            self.dropped.lock().unwrap().push((first.hit, count));
            Box::pin(async {})
        }
    }

    fn report(token: &str, ip: &str, n: u32) -> Report {
        Report {
            hit: hit_at(token, ip, 0, n),
            jwt: None,
        }
    }

    #[tokio::test]
    async fn hits_reach_the_sink_and_the_task_ends_when_reporters_drop() {
        let sink = Arc::new(Recording(Mutex::new(vec![])));
        let (r, task) = Reporter::spawn(sink.clone(), 8, DEFAULT_SINK_TIMEOUT);
        assert!(r.submit(report("t", "1.2.3.4", 1)) && r.submit(report("t", "1.2.3.4", 2)));
        let r2 = r.clone();
        drop(r);
        let stats = r2.stats();
        drop(r2);
        task.await.unwrap();
        assert_eq!(sink.0.lock().unwrap().len(), 2);
        assert_eq!(stats.queued, 2);
    }

    #[tokio::test]
    async fn a_flood_of_one_pair_takes_one_slot_and_its_count_stays_exact() {
        let sink = Arc::new(Recording(Mutex::new(vec![])));
        let rule = FloodRule {
            whole: 3,
            bucket: Duration::from_secs(3600),
        };
        let (r, task) = Reporter::spawn_with_rule(sink.clone(), 1, DEFAULT_SINK_TIMEOUT, rule);
        // Submitted before the task first runs: one batch, one slot.
        for n in 0..10_000 {
            let mut rep = report("a", "1.2.3.4", n);
            rep.hit.path = format!("/p/{}", n % 50);
            assert!(r.submit(rep), "a flood of one pair is never dropped");
        }
        let s = r.stats();
        assert_eq!((s.queued, s.dropped), (10_000, 0));
        drop(r);
        task.await.unwrap();
        let got = sink.0.lock().unwrap();
        assert_eq!(got.len(), 10_000, "every request reaches the sink");
        let mut ids: Vec<&str> = got.iter().map(|h| h.hit_id.as_str()).collect();
        ids.sort();
        ids.dedup();
        assert_eq!(ids.len(), 10_000, "each with a hit id of its own");
        let mut paths: Vec<&str> = got.iter().map(|h| h.path.as_str()).collect();
        paths.sort();
        paths.dedup();
        assert!(
            paths.len() > MAX_COUNTED_SAMPLES,
            "whole hits and samples keep their paths"
        );
    }

    #[tokio::test]
    async fn a_hanging_sink_never_blocks_submit_and_another_pair_still_gets_a_slot() {
        let sink = Hanging::new("b");
        let (r, _task) = Reporter::spawn(sink.clone(), 4, Duration::from_secs(3600));
        // The task takes A's first batch and hangs on it; A's later hits
        // wait in one batch.
        for n in 0..1000 {
            assert!(r.submit(report("a", "1.2.3.4", n)));
        }
        tokio::task::yield_now().await;
        for n in 0..1000 {
            assert!(r.submit(report("a", "1.2.3.4", n)));
        }
        assert!(r.submit(report("b", "5.6.7.8", 0)), "B gets a slot of its own");
        let s = r.stats();
        assert_eq!((s.queued, s.dropped, s.reported), (2001, 0, 0));
    }

    #[tokio::test]
    async fn past_capacity_pairs_are_dropped_counted_per_pair_and_reported() {
        let sink = Hanging::new("none");
        let (r, _task) = Reporter::spawn(sink.clone(), 2, Duration::from_secs(3600));
        assert!(r.submit(report("a", "1.1.1.1", 0)));
        tokio::task::yield_now().await; // the task hangs on A
        assert!(r.submit(report("b", "2.2.2.2", 0)) && r.submit(report("c", "3.3.3.3", 0)));
        for n in 0..5 {
            assert!(
                !r.submit(report("d", "4.4.4.4", n)),
                "a third waiting pair does not fit"
            );
        }
        assert!(!r.submit(report("e", "5.5.5.5", 0)));
        assert_eq!(r.stats().dropped, 6);
        // The drops are reported per pair while the store hangs on A.
        for _ in 0..100 {
            tokio::task::yield_now().await;
        }
        let mut d: Vec<(String, String, u64)> = sink
            .dropped
            .lock()
            .unwrap()
            .iter()
            .map(|(h, n)| (h.token_id.clone(), h.source_ip.clone(), *n))
            .collect();
        d.sort();
        assert_eq!(
            d,
            [("d".into(), "4.4.4.4".into(), 5), ("e".into(), "5.5.5.5".into(), 1)],
            "reported per pair with exact counts"
        );
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_sink_times_out_and_the_queue_moves_on() {
        let sink = Hanging::new("none");
        let (r, _task) = Reporter::spawn(sink, 4, Duration::from_secs(5));
        assert!(r.submit(report("a", "1.1.1.1", 1)) && r.submit(report("b", "2.2.2.2", 2)));
        // Paused time auto-advances through both timeouts.
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(r.stats().failed, 2);
    }
}
