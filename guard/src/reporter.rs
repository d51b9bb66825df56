//! The background reporter: a bounded queue between the request path and
//! the store. The request side only ever `try_send`s; a full queue is
//! counted and logged, never waited on, so a slow or dead store cannot slow
//! the real API.

use std::future::Future;
use std::pin::Pin;
use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;

use honeytoken_core::hit::Hit;
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

/// Where hits go: the honeytoken library's stores implement it (looking up
/// the token and applying the flood rule, as for the decoy's hits).
pub trait HitSink: Send + Sync + 'static {
    /// Stores one hit durably, or says why not.
    fn report(&self, report: Report) -> BoxFuture<'_, Result<(), SinkError>>;
}

/// What the reporter has done so far.
#[derive(Debug, Clone, Copy, Default, PartialEq, Eq)]
pub struct ReporterStats {
    /// Hits handed to the queue.
    pub queued: u64,
    /// Hits the sink stored.
    pub reported: u64,
    /// Hits the sink failed on or timed out on (each logged in full).
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

/// Default queue length.
pub const DEFAULT_CAPACITY: usize = 1024;
/// Default time one hit may take in the sink before it is given up (and logged).
pub const DEFAULT_SINK_TIMEOUT: Duration = Duration::from_secs(10);

/// The request side of the reporter: cheap to clone, never blocks.
#[derive(Clone)]
pub struct Reporter {
    tx: mpsc::Sender<Report>,
    counters: Arc<Counters>,
}

impl std::fmt::Debug for Reporter {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("Reporter").field("stats", &self.stats()).finish()
    }
}

impl Reporter {
    /// Starts the background task (on the current tokio runtime) feeding
    /// `sink` from a queue of `capacity` hits, each given `timeout` in the
    /// sink. The task ends once every `Reporter` clone is dropped and the
    /// queue is drained; await the handle to flush at shutdown.
    pub fn spawn(
        sink: Arc<dyn HitSink>,
        capacity: usize,
        timeout: Duration,
    ) -> (Reporter, tokio::task::JoinHandle<()>) {
        let (tx, mut rx) = mpsc::channel::<Report>(capacity.max(1));
        let counters = Arc::new(Counters::default());
        let c = counters.clone();
        let task = tokio::spawn(async move {
            while let Some(r) = rx.recv().await {
                let hit_json = serde_json::to_string(&r.hit).unwrap_or_default();
                let outcome = tokio::time::timeout(timeout, sink.report(r)).await;
                match outcome {
                    Ok(Ok(())) => {
                        c.reported.fetch_add(1, Ordering::Relaxed);
                    }
                    Ok(Err(e)) => {
                        c.failed.fetch_add(1, Ordering::Relaxed);
                        // The hit is kept in the log (its fields are escaped already).
                        tracing::error!(event = "guard_hit_not_stored", error = %e, hit = %hit_json);
                    }
                    Err(_) => {
                        c.failed.fetch_add(1, Ordering::Relaxed);
                        tracing::error!(event = "guard_hit_not_stored", error = "the store did not answer in time", hit = %hit_json);
                    }
                }
            }
        });
        (Reporter { tx, counters }, task)
    }

    /// With the default capacity and sink timeout.
    pub fn spawn_default(sink: Arc<dyn HitSink>) -> (Reporter, tokio::task::JoinHandle<()>) {
        Self::spawn(sink, DEFAULT_CAPACITY, DEFAULT_SINK_TIMEOUT)
    }

    /// Queues a hit without waiting; whether it was queued. A full queue
    /// drops it, counts it, and logs the first drop and every power of two
    /// after, so a flood cannot flood the log too.
    pub fn submit(&self, report: Report) -> bool {
        match self.tx.try_send(report) {
            Ok(()) => {
                self.counters.queued.fetch_add(1, Ordering::Relaxed);
                true
            }
            Err(e) => {
                let n = self.counters.dropped.fetch_add(1, Ordering::Relaxed) + 1;
                if n.is_power_of_two() {
                    let why = match e {
                        mpsc::error::TrySendError::Full(_) => "queue full",
                        mpsc::error::TrySendError::Closed(_) => "reporter stopped",
                    };
                    let r = match &e {
                        mpsc::error::TrySendError::Full(r) | mpsc::error::TrySendError::Closed(r) => r,
                    };
                    tracing::warn!(
                        event = "guard_hits_dropped",
                        dropped_total = n,
                        reason = why,
                        token_id = %r.hit.token_id,
                        source_ip = %r.hit.source_ip,
                        "guard dropped hits: the store is slower than the hits arrive"
                    );
                }
                false
            }
        }
    }

    /// Counters so far.
    pub fn stats(&self) -> ReporterStats {
        ReporterStats {
            queued: self.counters.queued.load(Ordering::Relaxed),
            reported: self.counters.reported.load(Ordering::Relaxed),
            failed: self.counters.failed.load(Ordering::Relaxed),
            dropped: self.counters.dropped.load(Ordering::Relaxed),
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use honeytoken_core::testkit::hit_at;
    use std::sync::Mutex;

    struct Recording(Mutex<Vec<Hit>>);
    impl HitSink for Recording {
        fn report(&self, r: Report) -> BoxFuture<'_, Result<(), SinkError>> {
            self.0.lock().unwrap().push(r.hit);
            Box::pin(async { Ok(()) })
        }
    }

    struct Hanging;
    impl HitSink for Hanging {
        fn report(&self, _: Report) -> BoxFuture<'_, Result<(), SinkError>> {
            Box::pin(std::future::pending())
        }
    }

    fn report(n: u32) -> Report {
        Report {
            hit: hit_at("t", "1.2.3.4", 0, n),
            jwt: None,
        }
    }

    #[tokio::test]
    async fn hits_reach_the_sink_and_the_task_ends_when_reporters_drop() {
        let sink = Arc::new(Recording(Mutex::new(vec![])));
        let (r, task) = Reporter::spawn(sink.clone(), 8, DEFAULT_SINK_TIMEOUT);
        assert!(r.submit(report(1)) && r.submit(report(2)));
        let r2 = r.clone();
        drop(r);
        let stats = r2.stats();
        drop(r2);
        task.await.unwrap();
        assert_eq!(sink.0.lock().unwrap().len(), 2);
        assert_eq!(stats.queued, 2);
    }

    #[tokio::test]
    async fn a_hanging_sink_never_blocks_submit_and_drops_are_counted() {
        let (r, _task) = Reporter::spawn(Arc::new(Hanging), 4, Duration::from_secs(3600));
        // The task takes one and hangs on it; the queue holds 4; the rest drop.
        let accepted = (0..100).filter(|n| r.submit(report(*n))).count() as u64;
        let s = r.stats();
        assert!(accepted <= 5, "{accepted}");
        assert_eq!(s.queued, accepted);
        assert_eq!(s.dropped, 100 - accepted);
        assert_eq!(s.reported, 0);
    }

    #[tokio::test(start_paused = true)]
    async fn a_hanging_sink_times_out_and_the_queue_moves_on() {
        let (r, _task) = Reporter::spawn(Arc::new(Hanging), 4, Duration::from_secs(5));
        assert!(r.submit(report(1)) && r.submit(report(2)));
        // Paused time auto-advances through both timeouts.
        tokio::time::sleep(Duration::from_secs(11)).await;
        assert_eq!(r.stats().failed, 2);
    }
}
