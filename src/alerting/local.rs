//! In-process alert fan-out for `serve`: hits are queued by the handler
//! (never delaying its answer) and a task runs each through the same alert
//! [`Pipeline`] as the alerter Lambda, on in-memory state: the first hit of
//! a (token, source) pair alerts at once, the rest of its window are counted
//! and announced in one summary when the window ends (checked every
//! [`FLUSH_EVERY`], and for every open window at shutdown), so nothing is
//! dropped silently and a flood does not print a line per request.
//!
//! The terminal always receives alerts; a webhook that fails is reported on
//! every failure and keeps being tried, never switched off.

use std::sync::Arc;
use std::sync::atomic::{AtomicI64, AtomicU64, Ordering};
use std::time::Duration;
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::pipeline::{Channel, Pipeline};
use crate::domain::HitListener;
use crate::domain::alert::Alert;
use crate::domain::hit::Hit;
use crate::notify::Notifier;
use crate::store::AlertState;

/// Hits queued for alerting before the queue pushes back.
pub const QUEUE: usize = 10_000;
/// How often ended windows are looked for.
pub const FLUSH_EVERY: Duration = Duration::from_secs(10);

/// The running fan-out.
pub struct Fanout {
    /// Give this to [`crate::decoy::Decoy::with_listener`].
    pub listener: HitListener,
    /// Ends when every queued alert has been delivered (after the listener is dropped).
    pub task: JoinHandle<()>,
}

fn now_ms() -> i64 {
    (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64
}

/// Starts alerting on stored hits. `always` are channels every alert must
/// reach (the terminal); `best_effort` channels (a webhook) are tried with
/// their own retries and reported when they fail.
pub fn spawn(
    state: Arc<dyn AlertState>,
    always: Vec<Arc<dyn Notifier>>,
    best_effort: Vec<Arc<dyn Notifier>>,
    window: Duration,
) -> Fanout {
    let (tx, mut rx) = mpsc::channel::<Hit>(QUEUE);
    let overflow = Arc::new(AtomicU64::new(0));
    let overflow_tx = overflow.clone();
    let listener: HitListener = Arc::new(move |hit: &Hit| {
        if !hit.alerts() {
            return;
        }
        if tx.try_send(hit.clone()).is_err() {
            // The hit itself is stored; count what could not be queued and
            // announce it with the next alert.
            overflow_tx.fetch_add(1, Ordering::Relaxed);
        }
    });
    // At shutdown the clock jumps past every window, so flush announces them all.
    let skew = Arc::new(AtomicI64::new(0));
    let clock_skew = skew.clone();
    let channels: Vec<Channel> = always
        .iter()
        .map(|n| Channel {
            notifier: n.clone(),
            required: true,
        })
        .chain(best_effort.into_iter().map(|n| Channel {
            notifier: n,
            required: false,
        }))
        .collect();
    let pipeline = Pipeline::new(state, channels)
        .with_window(window)
        .with_clock(Arc::new(move || now_ms() + clock_skew.load(Ordering::Relaxed)));
    let report = |what: &str, e: &crate::Error| {
        eprintln!("ALERT CHANNEL FAILING: {what}: {e}; hits are stored (`honeytoken hits`)");
    };
    let task = tokio::spawn(async move {
        let mut tick = tokio::time::interval(FLUSH_EVERY);
        tick.set_missed_tick_behavior(tokio::time::MissedTickBehavior::Delay);
        loop {
            tokio::select! {
                hit = rx.recv() => {
                    let Some(hit) = hit else { break };
                    if let Err(e) = pipeline.process(&hit).await {
                        report(&format!("alert for hit {}", hit.hit_id), &e);
                    }
                    let lost = overflow.swap(0, Ordering::Relaxed);
                    if lost > 0 {
                        let alert = Alert::summary(&hit, lost, 0);
                        for n in &always {
                            if let Err(e) = n.notify(&alert).await {
                                report("overflow summary", &e);
                            }
                        }
                    }
                }
                _ = tick.tick() => {
                    if let Err(e) = pipeline.flush().await {
                        report("summaries", &e);
                    }
                }
            }
        }
        skew.store(pipeline.window().as_millis() as i64 + 1, Ordering::Relaxed);
        if let Err(e) = pipeline.flush().await {
            report("summaries at shutdown", &e);
        }
        // Channels delivering in the background finish before `serve` exits.
        pipeline.drain().await;
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
            (f.listener)(&h);
        }
        let Fanout { listener, task } = f;
        drop(listener);
        task.await.unwrap();
        let alerts = rec.0.lock().unwrap().clone();
        assert_eq!(alerts.len(), 2, "{alerts:#?}");
        assert_eq!(alerts[0].suppressed, None);
        assert_eq!(alerts[1].suppressed, Some(499));
    }
}
