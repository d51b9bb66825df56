//! PagerDuty Events API v2, sent by the alerter beside SNS. The routing key
//! is read from a secret; `dedup_key` is per (token, source), so repeats and
//! summaries of one pair land on one incident. Test hits are not sent: a
//! test must never page.

use async_trait::async_trait;

use super::Notifier;
use super::http::{JsonChannel, Retry};
use crate::domain::alert::{Alert, Severity, render};
use crate::error::{Error, Result};

/// The Events API v2 endpoint.
pub const EVENTS_URL: &str = "https://events.pagerduty.com/v2/enqueue";

/// Triggers PagerDuty incidents.
pub struct PagerDuty {
    routing_key: String,
    channel: JsonChannel,
}

impl std::fmt::Debug for PagerDuty {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("PagerDuty")
            .field("url", &self.channel.url())
            .field("routing_key", &"(secret)")
            .finish()
    }
}

impl PagerDuty {
    /// A notifier for an Events API v2 integration's routing key.
    pub fn new(routing_key: &str) -> Result<Self> {
        let key = routing_key.trim();
        if key.is_empty() || !key.chars().all(|c| c.is_ascii_alphanumeric()) {
            return Err(Error::Config(
                "the PagerDuty routing key must be the integration key of an Events API v2 integration (letters and digits)".into(),
            ));
        }
        let retry = Retry::default();
        Ok(PagerDuty {
            routing_key: key.to_string(),
            channel: JsonChannel::new("pagerduty", EVENTS_URL, retry)?,
        })
    }

    /// Sends to another endpoint (an EU service region, or a test server).
    pub fn with_url(mut self, url: &str) -> Result<Self> {
        self.channel = self.channel.with_url(url)?;
        Ok(self)
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Result<Self> {
        self.channel = self.channel.with_retry(retry)?;
        Ok(self)
    }

    /// The event sent for an alert.
    pub fn event(&self, alert: &Alert) -> serde_json::Value {
        let h = &alert.hit;
        let mut summary = alert.summary.clone();
        if summary.len() > 1024 {
            let mut i = 1024;
            while !summary.is_char_boundary(i) {
                i -= 1;
            }
            summary.truncate(i);
        }
        serde_json::json!({
            "routing_key": self.routing_key,
            "event_action": "trigger",
            "dedup_key": alert.dedup_key,
            "payload": {
                "summary": summary,
                "source": if h.source_ip.is_empty() { "unknown" } else { h.source_ip.as_str() },
                "severity": match alert.severity {
                    Severity::Critical => "critical",
                    Severity::High => "error",
                    Severity::Low => "warning",
                    Severity::Info => "info",
                },
                "timestamp": h.received_at,
                "component": h.token_id,
                "group": render::label_or_orphan(h),
                "class": "honeytoken",
                "custom_details": render::alert_json(alert),
            },
        })
    }
}

#[async_trait]
impl Notifier for PagerDuty {
    fn name(&self) -> &str {
        "pagerduty"
    }

    async fn notify(&self, alert: &Alert) -> Result<()> {
        if alert.hit.test {
            return Ok(());
        }
        let body = serde_json::to_vec(&self.event(alert)).map_err(|e| Error::Notify {
            channel: "pagerduty".into(),
            message: e.to_string(),
        })?;
        self.channel.post(&body).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::http::tests::server;
    use honeytoken_core::testkit::hit_at;
    use std::time::Duration;

    #[tokio::test]
    async fn triggers_with_pair_dedup_key_and_skips_tests() {
        let (url, bodies) = server(vec![429, 202]).await;
        let retry = Retry {
            attempts: 2,
            backoff: Duration::from_millis(10),
            timeout: Duration::from_secs(2),
        };
        let pd = PagerDuty::new("R0UT1NGKEY")
            .unwrap()
            .with_url(&url)
            .unwrap()
            .with_retry(retry)
            .unwrap();
        let h = hit_at("tok", "203.0.113.9", 0, 0);
        pd.notify(&Alert::summary(&h, 4, 900)).await.unwrap();
        let mut t = h.clone();
        t.test = true;
        pd.notify(&Alert::for_hit(&t)).await.unwrap();
        let b = bodies.lock().unwrap().clone();
        assert_eq!(b.len(), 2, "one retry after 429, nothing for the test hit");
        let v: serde_json::Value = serde_json::from_str(&b[1]).unwrap();
        assert_eq!(v["routing_key"], "R0UT1NGKEY");
        assert_eq!(v["dedup_key"], "honeytoken/tok/203.0.113.9");
        assert_eq!(v["payload"]["severity"], "critical");
        assert_eq!(v["payload"]["custom_details"]["suppressed"], 4);
        assert!(PagerDuty::new("bad key!").is_err());
    }
}
