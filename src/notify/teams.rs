//! A Microsoft Teams channel: an Adaptive Card posted to an incoming
//! webhook (or a Workflows "When a Teams webhook request is received"
//! trigger, which takes the same message). The webhook URL is a secret
//! (whoever has it can post to the channel): never logged.
//!
//! Message shape, as Microsoft documents it for incoming webhooks ("Send
//! Adaptive Cards using an Incoming Webhook", learn.microsoft.com):
//! `{"type": "message", "attachments": [{"contentType":
//! "application/vnd.microsoft.card.adaptive", "contentUrl": null,
//! "content": <AdaptiveCard>}]}`; webhook messages are limited to 28 KB, so
//! every value is capped.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::Notifier;
use super::http::{JsonChannel, Retry};
use crate::domain::alert::{Alert, Severity, render};
use crate::error::Result;

/// Longest value shown in a fact (characters).
const MAX_VALUE: usize = 512;

/// Posts alerts to a Teams incoming webhook.
#[derive(Debug)]
pub struct Teams {
    channel: JsonChannel,
}

impl Teams {
    /// A notifier for the webhook `url`.
    pub fn new(url: &str) -> Result<Self> {
        Ok(Teams {
            channel: JsonChannel::new("teams", url, Retry::default())?,
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry(self, retry: Retry) -> Result<Self> {
        Ok(Teams {
            channel: self.channel.with_retry(retry)?,
        })
    }

    /// The Adaptive Card of an alert.
    pub fn card(a: &Alert) -> Value {
        let esc = |s: &str| render::markdown_escape(s, MAX_VALUE);
        let facts: Vec<Value> = render::facts(a)
            .into_iter()
            .map(|(k, v)| json!({ "title": k, "value": esc(&v) }))
            .collect();
        json!({
            "$schema": "http://adaptivecards.io/schemas/adaptive-card.json",
            "type": "AdaptiveCard",
            "version": "1.4",
            "msteams": { "width": "Full" },
            "body": [
                {
                    "type": "TextBlock",
                    "text": esc(&a.summary),
                    "weight": "Bolder",
                    "size": "Medium",
                    "wrap": true,
                    "color": match a.severity {
                        Severity::Critical | Severity::High => "Attention",
                        Severity::Low => "Warning",
                        Severity::Info => "Default",
                    },
                },
                { "type": "TextBlock", "text": format!("Severity: {}", a.severity), "isSubtle": true, "spacing": "None" },
                { "type": "FactSet", "facts": facts },
                {
                    "type": "TextBlock",
                    "text": format!("All hits of this token: {}", esc(&render::hits_command(a))),
                    "fontType": "Monospace",
                    "wrap": true,
                },
            ],
        })
    }

    /// The body posted for an alert.
    pub fn body(a: &Alert) -> Vec<u8> {
        let msg = json!({
            "type": "message",
            "attachments": [{
                "contentType": "application/vnd.microsoft.card.adaptive",
                "contentUrl": null,
                "content": Self::card(a),
            }],
        });
        serde_json::to_vec(&msg).unwrap_or_default()
    }
}

#[async_trait]
impl Notifier for Teams {
    fn name(&self) -> &str {
        "teams"
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

    #[tokio::test]
    async fn posts_an_adaptive_card_message_with_bounded_retries() {
        let (url, bodies) = server(vec![502, 200]).await;
        let t = Teams::new(&url)
            .unwrap()
            .with_retry(Retry {
                attempts: 3,
                backoff: Duration::from_millis(10),
                timeout: Duration::from_secs(2),
            })
            .unwrap();
        let mut h = hit_at("tok", "203.0.113.9", 0, 0);
        h.user_agent = "[click me](https://evil.example/x) **bold**".into();
        t.notify(&Alert::for_hit(&h)).await.unwrap();
        let b = bodies.lock().unwrap().clone();
        assert_eq!(b.len(), 2, "one retry after the 502");
        let v: Value = serde_json::from_str(&b[1]).unwrap();
        assert_eq!(v["type"], "message");
        let att = &v["attachments"][0];
        assert_eq!(att["contentType"], "application/vnd.microsoft.card.adaptive");
        assert!(att["contentUrl"].is_null());
        let card = &att["content"];
        assert_eq!(card["type"], "AdaptiveCard");
        assert_eq!(card["version"], "1.4");
        assert_eq!(card["$schema"], "http://adaptivecards.io/schemas/adaptive-card.json");
        assert_eq!(card["body"][0]["type"], "TextBlock");
        assert!(card["body"][0]["text"].as_str().unwrap().contains("honeytoken tok"));
        assert_eq!(card["body"][2]["type"], "FactSet");
        let facts = card["body"][2]["facts"].as_array().unwrap();
        let fact = |k: &str| {
            facts
                .iter()
                .find(|f| f["title"] == k)
                .map(|f| f["value"].as_str().unwrap().to_string())
                .unwrap()
        };
        assert_eq!(fact("Source"), "203.0.113.9");
        assert_eq!(fact("Planted at"), "github.com/acme/payments/.env");
        let ua = fact("User agent");
        assert!(
            ua.starts_with("\\[click me\\](https\\://") && !ua.contains("**"),
            "no link or formatting: {ua}"
        );
        assert!(
            card["body"][3]["text"]
                .as_str()
                .unwrap()
                .contains("honeytoken hits --token tok")
        );
        assert!(!format!("{t:?}").contains("127.0.0.1"), "the URL is a secret");
    }
}
