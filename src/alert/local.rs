//! In-process alert fan-out for `serve`: hits are queued by the handler
//! (never delaying its answer) and a task delivers each alert to every
//! channel. A channel that fails is reported loudly on every failure and
//! keeps being tried; it is never switched off.

use std::sync::Arc;
use std::sync::atomic::{AtomicU64, Ordering};
use tokio::sync::mpsc;
use tokio::task::JoinHandle;

use super::Alert;
use crate::decoy::HitListener;
use crate::hit::Hit;
use crate::notify::Notifier;

/// Alerts queued but not yet delivered before the queue pushes back.
pub const QUEUE: usize = 10_000;

/// The running fan-out.
pub struct Fanout {
    /// Give this to [`crate::decoy::Decoy::with_listener`].
    pub listener: HitListener,
    /// Ends when every queued alert has been delivered (after the listener is dropped).
    pub task: JoinHandle<()>,
}

/// Starts delivering alerts for stored hits to `notifiers`.
pub fn spawn(notifiers: Vec<Arc<dyn Notifier>>) -> Fanout {
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
    let task = tokio::spawn(async move {
        while let Some(hit) = rx.recv().await {
            let mut alerts = vec![Alert::for_hit(&hit)];
            let lost = overflow.swap(0, Ordering::Relaxed);
            if lost > 0 {
                alerts.push(Alert::summary(&hit, lost, 0));
            }
            for alert in &alerts {
                for n in &notifiers {
                    if let Err(e) = n.notify(alert).await {
                        eprintln!(
                            "ALERT CHANNEL FAILING: {} could not deliver the alert for hit {}: {e}; \
                             the hit is stored (`honeytoken hits --token {}`)",
                            n.name(),
                            alert.hit.hit_id,
                            alert.hit.token_id
                        );
                    }
                }
            }
        }
    });
    Fanout { listener, task }
}
