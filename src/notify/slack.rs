//! A Slack incoming webhook, sent beside SNS. The webhook URL is a secret
//! (whoever has it can post to the channel), so it is read from Secrets
//! Manager and never logged.

use async_trait::async_trait;

use super::Notifier;
use super::http::{JsonChannel, Retry};
use crate::domain::alert::{Alert, render};
use crate::error::Result;

/// Posts alerts to a Slack incoming webhook.
#[derive(Debug)]
pub struct Slack {
    channel: JsonChannel,
}

impl Slack {
    /// A notifier for the webhook `url`.
    pub fn new(url: &str) -> Result<Self> {
        Ok(Slack {
            channel: JsonChannel::new("slack", url, Retry::default())?,
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry(self, retry: Retry) -> Result<Self> {
        Ok(Slack {
            channel: self.channel.with_retry(retry)?,
        })
    }

    /// The body posted for an alert.
    pub fn body(alert: &Alert) -> Vec<u8> {
        serde_json::to_vec(&serde_json::json!({ "text": render::slack_text(alert) })).unwrap_or_default()
    }
}

#[async_trait]
impl Notifier for Slack {
    fn name(&self) -> &str {
        "slack"
    }

    async fn notify(&self, alert: &Alert) -> Result<()> {
        self.channel.post(&Self::body(alert)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::http::tests::server;
    use honeytoken_core::testkit::hit_at;
    use std::time::Duration;

    fn fast() -> Retry {
        Retry {
            attempts: 3,
            backoff: Duration::from_millis(10),
            timeout: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn retries_server_errors_then_succeeds() {
        let (url, bodies) = server(vec![503, 500, 200]).await;
        let s = Slack::new(&url).unwrap().with_retry(fast()).unwrap();
        let a = Alert::for_hit(&hit_at("tok", "203.0.113.9", 0, 0));
        s.notify(&a).await.unwrap();
        let b = bodies.lock().unwrap().clone();
        assert_eq!(b.len(), 3);
        let v: serde_json::Value = serde_json::from_str(&b[2]).unwrap();
        assert!(v["text"].as_str().unwrap().contains("honeytoken tok"));
    }

    #[tokio::test]
    async fn gives_up_after_bounded_attempts_and_on_refusal() {
        let (url, bodies) = server(vec![500]).await;
        let s = Slack::new(&url).unwrap().with_retry(fast()).unwrap();
        let a = Alert::for_hit(&hit_at("tok", "203.0.113.9", 0, 0));
        let e = s.notify(&a).await.unwrap_err().to_string();
        assert!(e.contains("after 3 attempts"), "{e}");
        assert_eq!(bodies.lock().unwrap().len(), 3);
        let (url, bodies) = server(vec![404]).await;
        let s = Slack::new(&url).unwrap().with_retry(fast()).unwrap();
        assert!(s.notify(&a).await.is_err());
        assert_eq!(bodies.lock().unwrap().len(), 1, "a refusal is not retried");
        assert!(!format!("{s:?}").contains("127.0.0.1"), "the URL is a secret");
    }
}
