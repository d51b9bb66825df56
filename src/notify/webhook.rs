//! A JSON webhook (Slack-compatible `text` plus the full hit), signed with
//! HMAC-SHA256 over the body so the receiver can verify where it came from.

use async_trait::async_trait;
use hmac::{Hmac, Mac};
use sha2::Sha256;
use std::time::Duration;

use super::Notifier;
use super::http::{JsonChannel, Retry};
use crate::domain::alert::{Alert, render};
use crate::error::{Error, Result};

/// Header carrying `sha256=<hex>` of the body.
pub const SIGNATURE_HEADER: &str = "x-honeytoken-signature";

/// Posts alerts to a URL.
pub struct Webhook {
    channel: JsonChannel,
    secret: Vec<u8>,
}

impl Webhook {
    /// A webhook signing with `secret`.
    pub fn new(url: &str, secret: &[u8]) -> Result<Self> {
        let parsed = reqwest::Url::parse(url).map_err(|e| Error::Invalid(format!("webhook URL {url:?}: {e}")))?;
        if !matches!(parsed.scheme(), "http" | "https") {
            return Err(Error::Invalid(format!("webhook URL {url:?} must be http or https")));
        }
        // A local receiver may be slower than Slack: a longer attempt, one more retry.
        let retry = Retry {
            attempts: 4,
            backoff: Duration::from_millis(500),
            timeout: Duration::from_secs(10),
        };
        Ok(Webhook {
            channel: JsonChannel::new("webhook", url, retry)?,
            secret: secret.to_vec(),
        })
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
        self.channel.post_with(&body, &[(SIGNATURE_HEADER, &sig)]).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    /// The receiver gets the alert JSON with a signature it can verify.
    #[tokio::test]
    async fn posts_the_alert_signed_over_its_body() {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let got = tokio::spawn(async move {
            let (mut s, _) = l.accept().await.unwrap();
            let mut buf = Vec::new();
            let mut chunk = [0u8; 8192];
            loop {
                let n = s.read(&mut chunk).await.unwrap();
                buf.extend_from_slice(&chunk[..n]);
                let text = String::from_utf8_lossy(&buf).to_string();
                if let Some(p) = text.find("\r\n\r\n") {
                    let len: usize = text[..p]
                        .lines()
                        .find_map(|l| {
                            l.to_lowercase()
                                .strip_prefix("content-length:")
                                .map(|v| v.trim().parse().unwrap())
                        })
                        .unwrap();
                    if buf.len() >= p + 4 + len {
                        s.write_all(b"HTTP/1.1 204 No Content\r\ncontent-length: 0\r\n\r\n")
                            .await
                            .unwrap();
                        return (text[..p].to_lowercase(), buf[p + 4..p + 4 + len].to_vec());
                    }
                }
            }
        });
        let hit = honeytoken_core::testkit::hit_at("tok", "203.0.113.9", 0, 1);
        let w = Webhook::new(&url, b"receiver-secret").unwrap();
        w.notify(&Alert::for_hit(&hit)).await.unwrap();
        let (head, body) = got.await.unwrap();
        let sig = head
            .lines()
            .find_map(|l| l.strip_prefix("x-honeytoken-signature: "))
            .unwrap();
        assert_eq!(sig, Webhook::signature(b"receiver-secret", &body));
        let v: serde_json::Value = serde_json::from_slice(&body).unwrap();
        assert_eq!(v["hit"]["token_id"], "tok");
        assert!(v["text"].as_str().unwrap().contains("203.0.113.9"));
    }
}
