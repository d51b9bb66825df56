//! A notifier that records what it is given, for tests of everything that
//! delivers alerts (the pipeline, the local fan-out, the stream handler).

use async_trait::async_trait;
use std::sync::Mutex;
use std::sync::atomic::{AtomicBool, Ordering};

use super::Notifier;
use crate::domain::alert::Alert;
use crate::error::{Error, Result};

/// Records alerts; fails every delivery while `failing` is set.
#[derive(Default)]
pub struct Recorder {
    /// Alerts delivered so far.
    pub alerts: Mutex<Vec<Alert>>,
    /// When set, every delivery fails as a channel that is down.
    pub failing: AtomicBool,
    /// The channel name it reports.
    pub name: &'static str,
}

#[async_trait]
impl Notifier for Recorder {
    fn name(&self) -> &str {
        self.name
    }

    async fn notify(&self, alert: &Alert) -> Result<()> {
        if self.failing.load(Ordering::SeqCst) {
            return Err(Error::Notify {
                channel: self.name.into(),
                message: "down".into(),
            });
        }
        self.alerts
            .lock()
            .map_err(|_| Error::Store("recorder poisoned".into()))?
            .push(alert.clone());
        Ok(())
    }
}

impl Recorder {
    /// A copy of the alerts delivered so far.
    pub fn taken(&self) -> Vec<Alert> {
        self.alerts.lock().map(|a| a.clone()).unwrap_or_default()
    }
}
