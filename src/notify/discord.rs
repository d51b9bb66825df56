//! A Discord channel: an embed posted to a channel webhook (Discord's
//! "Execute Webhook"). The webhook URL is a secret: never logged.
//!
//! Discord's documented limits are kept: title 256 characters, description
//! 4096, at most 25 fields of name 256 and value 1024, 6000 characters in
//! all; `allowed_mentions: {"parse": []}` so no text can ping @everyone,
//! and every attacker-supplied value is markdown-escaped so it cannot
//! become a masked link or formatting. Discord answers 204, and 429 with a
//! `retry_after` when rate limited (retried with the channel's backoff).

use async_trait::async_trait;
use serde_json::{Value, json};

use super::Notifier;
use super::http::{JsonChannel, Retry};
use crate::domain::alert::{Alert, Severity, render};
use crate::error::Result;

/// Embed colours: red for an alert, grey for a test.
const RED: u32 = 0xD0_02_1B;
const ORANGE: u32 = 0xF5_A6_23;
const YELLOW: u32 = 0xF8_E7_1C;
const GREY: u32 = 0x9B_9B_9B;
/// Longest field value shown (Discord allows 1024; the total must stay under 6000).
const MAX_VALUE: usize = 400;

/// Posts alerts to a Discord webhook.
#[derive(Debug)]
pub struct Discord {
    channel: JsonChannel,
}

impl Discord {
    /// A notifier for the webhook `url`.
    pub fn new(url: &str) -> Result<Self> {
        Ok(Discord {
            channel: JsonChannel::new("discord", url, Retry::default())?,
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry(self, retry: Retry) -> Result<Self> {
        Ok(Discord {
            channel: self.channel.with_retry(retry)?,
        })
    }

    /// The message posted for an alert: one embed.
    pub fn message(a: &Alert) -> Value {
        let fields: Vec<Value> = render::facts(a)
            .into_iter()
            .take(25)
            .map(|(k, v)| {
                let inline = matches!(k, "Source" | "Location" | "Network" | "Found in" | "When");
                json!({ "name": k, "value": render::markdown_escape(&v, MAX_VALUE), "inline": inline })
            })
            .collect();
        json!({
            "username": "honeytoken",
            "allowed_mentions": { "parse": [] },
            "embeds": [{
                "title": render::markdown_escape(&a.summary, 256),
                "description": format!("Severity **{}**. All hits of this token: `{}`", a.severity, render::hits_command(a)),
                "color": match a.severity {
                    Severity::Critical => RED,
                    Severity::High => ORANGE,
                    Severity::Low => YELLOW,
                    Severity::Info => GREY,
                },
                "timestamp": a.hit.received_at.to_string(),
                "fields": fields,
                "footer": { "text": format!("dedup {}", a.dedup_key) },
            }],
        })
    }

    /// The body posted for an alert.
    pub fn body(a: &Alert) -> Vec<u8> {
        serde_json::to_vec(&Self::message(a)).unwrap_or_default()
    }
}

#[async_trait]
impl Notifier for Discord {
    fn name(&self) -> &str {
        "discord"
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

    fn embed_chars(e: &Value) -> usize {
        let s = |v: &Value| v.as_str().map(|s| s.chars().count()).unwrap_or(0);
        s(&e["title"])
            + s(&e["description"])
            + s(&e["footer"]["text"])
            + e["fields"]
                .as_array()
                .unwrap()
                .iter()
                .map(|f| s(&f["name"]) + s(&f["value"]))
                .sum::<usize>()
    }

    #[tokio::test]
    async fn posts_an_embed_within_discords_limits() {
        let (url, bodies) = server(vec![429, 204]).await;
        let d = Discord::new(&url)
            .unwrap()
            .with_retry(Retry {
                attempts: 3,
                backoff: Duration::from_millis(10),
                timeout: Duration::from_secs(2),
            })
            .unwrap();
        let mut h = hit_at("tok", "203.0.113.9", 0, 0);
        h.user_agent = format!("@everyone [win](https://evil.example) {}", "A".repeat(600));
        h.path = format!("/{}", "p".repeat(2000));
        d.notify(&Alert::for_hit(&h)).await.unwrap();
        let b = bodies.lock().unwrap().clone();
        assert_eq!(b.len(), 2, "a 429 is retried");
        let v: Value = serde_json::from_str(&b[1]).unwrap();
        assert_eq!(v["allowed_mentions"]["parse"], json!([]));
        let e = &v["embeds"][0];
        assert!(e["title"].as_str().unwrap().contains("honeytoken tok"));
        assert!(e["title"].as_str().unwrap().chars().count() <= 256);
        assert_eq!(e["color"], RED);
        assert_eq!(e["timestamp"], "2026-11-28T12:00:00.000Z");
        assert!(
            e["description"]
                .as_str()
                .unwrap()
                .contains("honeytoken hits --token tok")
        );
        let fields = e["fields"].as_array().unwrap();
        assert!(fields.len() <= 25);
        for f in fields {
            assert!(f["value"].as_str().unwrap().chars().count() <= 1024);
            assert!(f["name"].as_str().unwrap().chars().count() <= 256);
        }
        assert!(embed_chars(e) <= 6000, "{}", embed_chars(e));
        let ua = fields.iter().find(|f| f["name"] == "User agent").unwrap()["value"]
            .as_str()
            .unwrap();
        assert!(ua.starts_with("\\@everyone \\[win\\](https\\://"), "{ua}");
        assert!(!format!("{d:?}").contains("127.0.0.1"), "the URL is a secret");
    }
}
