//! A JSON webhook (Slack-compatible `text` plus the full hit), signed with
//! HMAC-SHA256 over the body so the receiver can verify where it came from.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

use super::Notifier;
use crate::alert::{Alert, render};
use crate::error::{Error, Result};

/// Header carrying `sha256=<hex>` of the body.
pub const SIGNATURE_HEADER: &str = "x-honeytoken-signature";

/// Posts alerts to a URL.
pub struct Webhook {
    url: String,
    secret: Vec<u8>,
    client: reqwest::Client,
    attempts: u32,
    backoff: Duration,
}

impl Webhook {
    /// A webhook signing with `secret`.
    pub fn new(url: &str, secret: &[u8]) -> Result<Self> {
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::Invalid(format!("webhook URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Invalid(format!("webhook URL {url:?} must be http or https")));
        }
        let client = reqwest::Client::builder()
            .timeout(Duration::from_secs(10))
            .redirect(reqwest::redirect::Policy::none())
            .build()
            .map_err(|e| Error::Config(format!("HTTP client: {e}")))?;
        Ok(Webhook {
            url: url.to_string(),
            secret: secret.to_vec(),
            client,
            attempts: 4,
            backoff: Duration::from_millis(500),
        })
    }

    /// Sets attempts and the first backoff (doubling each retry).
    pub fn with_retries(mut self, attempts: u32, backoff: Duration) -> Self {
        self.attempts = attempts.max(1);
        self.backoff = backoff;
        self
    }

    /// The body sent for an alert.
    pub fn body(alert: &Alert) -> Vec<u8> {
        let v = serde_json::json!({
            "text": render::slack_text(alert),
            "summary": alert.summary,
            "severity": alert.severity,
            "dedup_key": alert.dedup_key,
            "suppressed": alert.suppressed,
            "hit": alert.hit,
        });
        serde_json::to_vec(&v).unwrap_or_default()
    }

    /// `sha256=<hex>` over `body`.
    pub fn signature(secret: &[u8], body: &[u8]) -> String {
        let mut mac = Hmac::<Sha256>::new_from_slice(secret).expect("any key length");
        mac.update(body);
        format!("sha256={}", hex::encode(mac.finalize().into_bytes()))
    }
}

#[async_trait]
impl Notifier for Webhook {
    fn name(&self) -> &str {
        "webhook"
    }

    async fn notify(&self, alert: &Alert) -> Result<()> {
        let body = Self::body(alert);
        let sig = Self::signature(&self.secret, &body);
        let mut delay = self.backoff;
        let mut last = String::new();
        for attempt in 1..=self.attempts {
            let r = self
                .client
                .post(&self.url)
                .header(reqwest::header::CONTENT_TYPE, "application/json")
                .header(SIGNATURE_HEADER, &sig)
                .body(body.clone())
                .send()
                .await;
            match r {
                Ok(resp) if resp.status().is_success() => return Ok(()),
                Ok(resp) if resp.status().is_client_error() && resp.status() != 429 => {
                    // The receiver refuses this request; retrying will not help.
                    return Err(Error::Notify {
                        channel: "webhook".into(),
                        message: format!("HTTP {}", resp.status()),
                    });
                }
                Ok(resp) => last = format!("HTTP {}", resp.status()),
                Err(e) => last = e.to_string(),
            }
            if attempt < self.attempts {
                tokio::time::sleep(delay).await;
                delay *= 2;
            }
        }
        Err(Error::Notify {
            channel: "webhook".into(),
            message: format!("{last} after {} attempts", self.attempts),
        })
    }
}
