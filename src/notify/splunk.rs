//! Splunk's HTTP Event Collector (HEC) as an alert channel: each alert is
//! one HEC event whose `event` is the hit's Elastic Common Schema object
//! (see [`crate::domain::alert::ecs`]) plus the alert under
//! `honeytoken.alert`, so searches work the same on hits shipped from the
//! hit log and on alerts sent here.
//!
//! Protocol, as Splunk documents it ("Format events for HTTP Event
//! Collector", help.splunk.com): `POST /services/collector/event` with
//! `Authorization: Splunk <token>`; the body is one or more JSON event
//! objects concatenated (a batch), each `{"time", "host", "source",
//! "sourcetype", "event"}`. 400/401/403 are refusals (bad data or token,
//! not retried); 503 (server busy) and 429 are retried with backoff.
//!
//! The channel is meant to run behind [`super::queued::Queued`]: alerts
//! that queue up while a request is out go in the next request together.

use async_trait::async_trait;
use serde_json::{Value, json};

use super::Notifier;
use super::http::{JsonChannel, Retry};
use super::queued::BatchSink;
use crate::domain::alert::{Alert, ecs};
use crate::error::{Error, Result};

/// The HEC path events are posted to when the URL names only the server.
pub const EVENT_PATH: &str = "/services/collector/event";
/// Most events in one request.
pub const MAX_BATCH: usize = 50;

/// Posts alerts to a Splunk HTTP Event Collector.
pub struct SplunkHec {
    channel: JsonChannel,
    auth: String,
    host: String,
}

impl std::fmt::Debug for SplunkHec {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("SplunkHec")
            .field("channel", &self.channel)
            .field("token", &"(secret)")
            .finish()
    }
}

/// `url`, with [`EVENT_PATH`] when it names only the server.
pub fn event_url(url: &str) -> Result<String> {
    let mut u = reqwest::Url::parse(url).map_err(|e| Error::Config(format!("Splunk HEC URL is not a URL: {e}")))?;
    if u.path().is_empty() || u.path() == "/" {
        u.set_path(EVENT_PATH);
    }
    Ok(u.to_string())
}

impl SplunkHec {
    /// A channel posting to `url` (`https://splunk.example:8088`, or the
    /// full event endpoint) with the HEC `token`.
    pub fn new(url: &str, token: &str) -> Result<Self> {
        let token = token.trim();
        if token.is_empty() || token.chars().any(|c| c.is_control() || c == ' ') {
            return Err(Error::Config(
                "the Splunk HEC token is empty or not one word; give the token from Settings > Data inputs > HTTP Event Collector".into(),
            ));
        }
        // A batch of 50 events takes a Splunk indexer longer than one Slack post.
        let retry = Retry {
            attempts: 4,
            backoff: std::time::Duration::from_millis(500),
            timeout: std::time::Duration::from_secs(10),
        };
        Ok(SplunkHec {
            channel: JsonChannel::new("splunk", &event_url(url)?, retry)?,
            auth: format!("Splunk {token}"),
            host: "honeytoken".into(),
        })
    }

    /// Replaces the retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Result<Self> {
        self.channel = self.channel.with_retry(retry)?;
        Ok(self)
    }

    /// The HEC event of one alert.
    pub fn event(&self, a: &Alert) -> Value {
        let mut event = ecs::event(&a.hit);
        event["message"] = json!(a.summary);
        event["honeytoken"]["alert"] = json!({
            "summary": a.summary,
            "severity": a.severity,
            "dedup_key": a.dedup_key,
            "kind": if a.suppressed.is_some() { "summary" } else { "hit" },
            "suppressed": a.suppressed,
            "window_secs": a.window_secs,
        });
        json!({
            // Seconds since the epoch, milliseconds as the fraction.
            "time": a.hit.received_at.unix_ms() as f64 / 1000.0,
            "host": self.host,
            "source": "honeytoken",
            "sourcetype": "_json",
            "event": event,
        })
    }

    /// The body of one request: the batch's events, concatenated.
    pub fn body(&self, alerts: &[Alert]) -> Vec<u8> {
        let mut out = Vec::new();
        for a in alerts {
            if let Ok(b) = serde_json::to_vec(&self.event(a)) {
                out.extend_from_slice(&b);
                out.push(b'\n');
            }
        }
        out
    }
}

#[async_trait]
impl BatchSink for SplunkHec {
    fn name(&self) -> &'static str {
        "splunk"
    }

    fn max_batch(&self) -> usize {
        MAX_BATCH
    }

    async fn send_batch(&self, alerts: &[Alert]) -> Result<()> {
        if alerts.is_empty() {
            return Ok(());
        }
        self.channel
            .post_with(&self.body(alerts), &[("authorization", &self.auth)])
            .await
    }
}

#[async_trait]
impl Notifier for SplunkHec {
    fn name(&self) -> &str {
        "splunk"
    }

    async fn notify(&self, alert: &Alert) -> Result<()> {
        self.send_batch(std::slice::from_ref(alert)).await
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::notify::queued::{Queued, log_error};
    use honeytoken_core::testkit::hit_at;
    use std::sync::{Arc, Mutex};
    use std::time::Duration;
    use tokio::io::{AsyncReadExt, AsyncWriteExt};

    type Seen = Arc<Mutex<Vec<(String, String, String)>>>;

    /// A stub HEC: checks `Authorization: Splunk <token>` as Splunk does
    /// (401 otherwise), answers `statuses` in turn, records (request line, auth, body).
    async fn hec(token: &'static str, statuses: Vec<u16>) -> (String, Seen) {
        let l = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", l.local_addr().unwrap());
        let seen: Seen = Arc::default();
        let s2 = seen.clone();
        tokio::spawn(async move {
            let mut i = 0;
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 8192];
                let (head, body) = loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break (String::new(), String::new());
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_string();
                        let len: usize = head
                            .lines()
                            .find_map(|l| {
                                l.to_lowercase()
                                    .strip_prefix("content-length:")
                                    .map(|v| v.trim().parse().unwrap_or(0))
                            })
                            .unwrap_or(0);
                        while buf.len() < p + 4 + len {
                            let n = s.read(&mut chunk).await.unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                        }
                        break (head, String::from_utf8_lossy(&buf[p + 4..]).to_string());
                    }
                };
                let auth = head
                    .lines()
                    .find_map(|l| {
                        let (k, v) = l.split_once(':')?;
                        k.eq_ignore_ascii_case("authorization").then(|| v.trim().to_string())
                    })
                    .unwrap_or_default();
                let line = head.lines().next().unwrap_or("").to_string();
                let ok_auth = auth == format!("Splunk {token}");
                s2.lock().unwrap().push((line, auth, body));
                let (status, text) = if !ok_auth {
                    (401, r#"{"text":"Invalid authorization","code":3}"#)
                } else {
                    let st = statuses[i.min(statuses.len() - 1)];
                    i += 1;
                    if st == 200 {
                        (200, r#"{"text":"Success","code":0}"#)
                    } else {
                        (st, r#"{"text":"Server is busy","code":9}"#)
                    }
                };
                let resp = format!(
                    "HTTP/1.1 {status} X\r\ncontent-type: application/json\r\ncontent-length: {}\r\nconnection: close\r\n\r\n{text}",
                    text.len()
                );
                let _ = s.write_all(resp.as_bytes()).await;
            }
        });
        (url, seen)
    }

    fn fast() -> Retry {
        Retry {
            attempts: 3,
            backoff: Duration::from_millis(10),
            timeout: Duration::from_secs(2),
        }
    }

    #[tokio::test]
    async fn sends_hec_events_with_the_token_retrying_a_busy_server() {
        let (url, seen) = hec("11111111-2222-3333-4444-555555555555", vec![503, 200]).await;
        let s = SplunkHec::new(&url, "11111111-2222-3333-4444-555555555555")
            .unwrap()
            .with_retry(fast())
            .unwrap();
        let a = Alert::for_hit(&hit_at("tok", "203.0.113.9", 0, 0));
        s.notify(&a).await.unwrap();
        let got = seen.lock().unwrap().clone();
        assert_eq!(got.len(), 2, "503 retried");
        let (line, auth, body) = &got[1];
        assert_eq!(line, "POST /services/collector/event HTTP/1.1");
        assert_eq!(auth, "Splunk 11111111-2222-3333-4444-555555555555");
        let v: Value = serde_json::from_str(body.trim()).unwrap();
        assert_eq!(v["time"], 1_795_867_200.0, "2026-11-28T12:00:00Z");
        assert_eq!(v["source"], "honeytoken");
        assert_eq!(v["sourcetype"], "_json");
        assert_eq!(v["host"], "honeytoken");
        assert_eq!(v["event"]["source"]["ip"], "203.0.113.9");
        assert_eq!(v["event"]["event"]["dataset"], ecs::DATASET);
        assert_eq!(v["event"]["honeytoken"]["alert"]["severity"], "critical");
        assert_eq!(v["event"]["honeytoken"]["alert"]["dedup_key"], a.dedup_key);
        assert!(!format!("{s:?}").contains("1111"), "the token is a secret");
    }

    #[tokio::test]
    async fn a_wrong_token_is_a_refusal_not_retried() {
        let (url, seen) = hec("right", vec![200]).await;
        let s = SplunkHec::new(&format!("{url}/services/collector/event"), "wrong")
            .unwrap()
            .with_retry(fast())
            .unwrap();
        let e = s
            .notify(&Alert::for_hit(&hit_at("tok", "203.0.113.9", 0, 0)))
            .await
            .unwrap_err()
            .to_string();
        assert!(e.contains("401"), "{e}");
        assert_eq!(seen.lock().unwrap().len(), 1);
        assert!(SplunkHec::new(&url, "two words").is_err());
    }

    #[tokio::test]
    async fn queued_alerts_go_in_batches_of_concatenated_events() {
        let (url, seen) = hec("t0k", vec![200]).await;
        let s = Arc::new(SplunkHec::new(&url, "t0k").unwrap().with_retry(fast()).unwrap());
        let q = Queued::spawn(s, log_error());
        for i in 0..120u32 {
            let a = Alert::for_hit(&hit_at("tok", "203.0.113.9", i64::from(i), i));
            q.notify(&a).await.unwrap();
        }
        q.drain().await;
        let got = seen.lock().unwrap().clone();
        let mut ids = Vec::new();
        for (_, auth, body) in &got {
            assert_eq!(auth, "Splunk t0k");
            let events: Vec<Value> = serde_json::Deserializer::from_str(body)
                .into_iter::<Value>()
                .map(|v| v.unwrap())
                .collect();
            assert!(events.len() <= MAX_BATCH);
            ids.extend(events.iter().map(|e| e["event"]["honeytoken"]["hit_id"].clone()));
        }
        assert_eq!(ids.len(), 120, "every alert sent once");
        assert!(got.len() < 120, "batched: {} requests", got.len());
    }
}
