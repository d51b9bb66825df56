//! Background delivery for channels that must never hold up the others:
//! `notify` only queues the alert, a task of the channel's own sends it
//! (in batches, for receivers that take several events per request, such
//! as Splunk's HTTP Event Collector), and [`Queued::drain`] waits until the
//! queue is empty (at `serve`'s shutdown; at the end of each alerter
//! invocation, before Lambda freezes the process).
//!
//! A full queue refuses the alert (an error the caller logs): the hit is
//! stored either way, and a bounded queue keeps a dead receiver from
//! holding unbounded memory.

use async_trait::async_trait;
use std::sync::Arc;
use std::sync::atomic::{AtomicUsize, Ordering};
use tokio::sync::{Notify, mpsc};

use super::Notifier;
use crate::domain::alert::Alert;
use crate::error::{Error, Result};

/// Alerts a queued channel holds before it refuses new ones.
pub const QUEUE: usize = 1_000;

/// A receiver that takes alerts in batches.
#[async_trait]
pub trait BatchSink: Send + Sync + 'static {
    /// Channel name.
    fn name(&self) -> &'static str;
    /// Most alerts sent in one request (1: one request per alert).
    fn max_batch(&self) -> usize {
        1
    }
    /// Sends `alerts` (at most [`BatchSink::max_batch`]) with the channel's retries.
    async fn send_batch(&self, alerts: &[Alert]) -> Result<()>;
}

/// Every [`Notifier`] is a sink of batches of one.
pub struct One(pub Arc<dyn Notifier>, pub &'static str);

#[async_trait]
impl BatchSink for One {
    fn name(&self) -> &'static str {
        self.1
    }
    async fn send_batch(&self, alerts: &[Alert]) -> Result<()> {
        for a in alerts {
            self.0.notify(a).await?;
        }
        Ok(())
    }
}

/// Called with every failed batch: the channel's name, how many alerts it
/// held, the error. `serve` prints it on the terminal; the alerter logs it.
pub type OnError = Arc<dyn Fn(&str, usize, &Error) + Send + Sync>;

/// Logs a failed batch through `tracing` (the alerter's log).
pub fn log_error() -> OnError {
    Arc::new(|channel: &str, n: usize, e: &Error| {
        tracing::error!(channel, alerts = n, error = %e, "background alert channel failed; the alerts went to the other channels");
    })
}

/// A channel delivering in the background.
pub struct Queued {
    name: &'static str,
    tx: mpsc::Sender<Alert>,
    pending: Arc<AtomicUsize>,
    idle: Arc<Notify>,
}

impl Queued {
    /// Starts the delivery task of `sink` (needs a Tokio runtime).
    pub fn spawn(sink: Arc<dyn BatchSink>, on_error: OnError) -> Queued {
        let (tx, mut rx) = mpsc::channel::<Alert>(QUEUE);
        let pending = Arc::new(AtomicUsize::new(0));
        let idle = Arc::new(Notify::new());
        let name = sink.name();
        let (p, i) = (pending.clone(), idle.clone());
        tokio::spawn(async move {
            let max = sink.max_batch().max(1);
            while let Some(first) = rx.recv().await {
                // Whatever queued up while the last request was out goes in this one.
                let mut batch = vec![first];
                while batch.len() < max {
                    match rx.try_recv() {
                        Ok(a) => batch.push(a),
                        Err(_) => break,
                    }
                }
                if let Err(e) = sink.send_batch(&batch).await {
                    on_error(name, batch.len(), &e);
                }
                if p.fetch_sub(batch.len(), Ordering::AcqRel) == batch.len() {
                    i.notify_waiters();
                }
            }
        });
        Queued {
            name,
            tx,
            pending,
            idle,
        }
    }

    /// Alerts queued or being sent.
    pub fn pending(&self) -> usize {
        self.pending.load(Ordering::Acquire)
    }
}

#[async_trait]
impl Notifier for Queued {
    fn name(&self) -> &str {
        self.name
    }

    async fn notify(&self, alert: &Alert) -> Result<()> {
        self.pending.fetch_add(1, Ordering::AcqRel);
        if self.tx.try_send(alert.clone()).is_err() {
            self.pending.fetch_sub(1, Ordering::AcqRel);
            return Err(Error::Notify {
                channel: self.name.into(),
                message: format!("{QUEUE} alerts are already waiting; this one is not queued"),
            });
        }
        Ok(())
    }

    async fn drain(&self) {
        loop {
            let idle = self.idle.notified();
            if self.pending() == 0 {
                return;
            }
            idle.await;
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use std::sync::Mutex;
    use std::time::Duration;

    struct Slow {
        gate: tokio::sync::Semaphore,
        batches: Mutex<Vec<usize>>,
    }

    #[async_trait]
    impl BatchSink for Slow {
        fn name(&self) -> &'static str {
            "slow"
        }
        fn max_batch(&self) -> usize {
            10
        }
        async fn send_batch(&self, alerts: &[Alert]) -> Result<()> {
            self.gate.acquire().await.unwrap().forget();
            self.batches.lock().unwrap().push(alerts.len());
            Ok(())
        }
    }

    #[tokio::test]
    async fn notify_returns_at_once_and_drain_waits_for_batched_delivery() {
        let sink = Arc::new(Slow {
            gate: tokio::sync::Semaphore::new(0),
            batches: Mutex::default(),
        });
        let q = Queued::spawn(sink.clone(), log_error());
        let a = Alert::for_hit(&honeytoken_core::testkit::hit_at("tok", "203.0.113.9", 0, 0));
        // The receiver is stuck: every notify still returns immediately.
        for _ in 0..25 {
            tokio::time::timeout(Duration::from_secs(5), q.notify(&a))
                .await
                .expect("notify never waits for the receiver")
                .unwrap();
        }
        assert_eq!(q.pending(), 25);
        sink.gate.add_permits(100);
        q.drain().await;
        assert_eq!(q.pending(), 0);
        let b = sink.batches.lock().unwrap().clone();
        assert_eq!(b.iter().sum::<usize>(), 25);
        assert!(b.iter().all(|n| *n <= 10) && b.len() < 25, "batched: {b:?}");
    }
}
