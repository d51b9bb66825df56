//! Alerts as one readable line on standard error.

use async_trait::async_trait;
use std::io::Write;

use super::Notifier;
use crate::domain::alert::{Alert, render};
use crate::error::Result;

/// Writes each alert as one line to stderr.
#[derive(Debug, Default)]
pub struct Terminal;

#[async_trait]
impl Notifier for Terminal {
    fn name(&self) -> &str {
        "terminal"
    }

    async fn notify(&self, alert: &Alert) -> Result<()> {
        let line = render::terminal_line(alert);
        let mut err = std::io::stderr().lock();
        let _ = writeln!(err, "{line}");
        Ok(())
    }
}
