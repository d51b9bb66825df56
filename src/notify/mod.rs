//! Alert channels behind one trait, so the same pipeline runs in `serve`,
//! in the alerter Lambda and in tests.

pub mod discord;
pub mod http;
pub mod pagerduty;
pub mod queued;
#[cfg(any(test, feature = "testkit"))]
pub mod recorder;
#[cfg(feature = "securityhub")]
pub mod securityhub;
pub mod slack;
#[cfg(feature = "aws")]
pub mod sns;
pub mod splunk;
pub mod teams;
pub mod terminal;
pub mod webhook;

use async_trait::async_trait;

use crate::domain::alert::Alert;
use crate::error::Result;

/// Something that tells a human about an alert.
#[async_trait]
pub trait Notifier: Send + Sync {
    /// Channel name for logs and errors.
    fn name(&self) -> &str;
    /// Delivers one alert; an error means it was not delivered.
    async fn notify(&self, alert: &Alert) -> Result<()>;
    /// Waits until alerts this channel delivers in the background are sent
    /// (or given up on); channels that deliver within `notify` return at once.
    async fn drain(&self) {}
    /// Opens the channel's connection ahead of its first alert with a call
    /// that delivers nothing, so a caller with a deadline (the Lambda decoy's
    /// own alert) does not pay a cold connection then. Channels without a
    /// connection to open return at once.
    async fn warm_up(&self) -> Result<()> {
        Ok(())
    }
}
