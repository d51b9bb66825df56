//! Alert channels behind one trait, so the same pipeline runs in `serve`,
//! in the alerter Lambda and in tests.

pub mod http;
pub mod pagerduty;
#[cfg(any(test, feature = "testkit"))]
pub mod recorder;
pub mod slack;
#[cfg(feature = "aws")]
pub mod sns;
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
}
