//! POSTing JSON with bounded retries, shared by the Slack and PagerDuty
//! notifiers: timeouts on every attempt, exponential backoff, no retry of
//! a request the receiver refuses (4xx other than 429), no redirects.

use std::time::Duration;

use crate::error::{Error, Result};

/// Retry policy of one channel.
#[derive(Debug, Clone, Copy)]
pub struct Retry {
    /// Attempts in all (at least one).
    pub attempts: u32,
    /// Wait before the second attempt; doubles after each.
    pub backoff: Duration,
    /// Time limit of one attempt.
    pub timeout: Duration,
}

impl Default for Retry {
    fn default() -> Self {
        // Bounded so a channel that is down costs the alerter seconds, not its timeout.
        Retry {
            attempts: 3,
            backoff: Duration::from_millis(400),
            timeout: Duration::from_secs(5),
        }
    }
}

/// A client for alert channels.
pub fn client(retry: &Retry) -> Result<reqwest::Client> {
    reqwest::Client::builder()
        .timeout(retry.timeout)
        .redirect(reqwest::redirect::Policy::none())
        .build()
        .map_err(|e| Error::Config(format!("HTTP client: {e}")))
}

/// Checks a channel URL: http(s) only.
pub fn check_url(channel: &str, url: &str) -> Result<()> {
    let parsed = reqwest::Url::parse(url).map_err(|e| Error::Config(format!("{channel} URL is not a URL: {e}")))?;
    if !matches!(parsed.scheme(), "http" | "https") {
        return Err(Error::Config(format!("{channel} URL must be https")));
    }
    Ok(())
}

/// One HTTP JSON channel: its name, its URL (a secret for Slack-like
/// webhooks, so never printed), a client built for its retry policy. Every
/// webhook-style notifier holds one and posts through it.
pub struct JsonChannel {
    name: &'static str,
    url: String,
    client: reqwest::Client,
    retry: Retry,
}

impl std::fmt::Debug for JsonChannel {
    fn fmt(&self, f: &mut std::fmt::Formatter<'_>) -> std::fmt::Result {
        f.debug_struct("JsonChannel")
            .field("name", &self.name)
            .field("url", &"(secret)")
            .field("retry", &self.retry)
            .finish()
    }
}

impl JsonChannel {
    /// A channel named `name` posting to `url` (checked: http or https).
    pub fn new(name: &'static str, url: &str, retry: Retry) -> Result<Self> {
        check_url(name, url)?;
        Ok(JsonChannel {
            name,
            url: url.to_string(),
            client: client(&retry)?,
            retry,
        })
    }

    /// The same channel with another retry policy.
    pub fn with_retry(mut self, retry: Retry) -> Result<Self> {
        self.client = client(&retry)?;
        self.retry = retry;
        Ok(self)
    }

    /// The same channel posting to another URL.
    pub fn with_url(mut self, url: &str) -> Result<Self> {
        check_url(self.name, url)?;
        self.url = url.to_string();
        Ok(self)
    }

    /// The channel's URL (for a receiver that is not secret, e.g. PagerDuty's endpoint).
    pub fn url(&self) -> &str {
        &self.url
    }

    /// POSTs `body` with the channel's retries.
    pub async fn post(&self, body: &[u8]) -> Result<()> {
        post_json_with(&self.client, self.name, &self.url, body, &[], &self.retry).await
    }

    /// POSTs `body` with extra headers on every attempt (a signature, a token).
    pub async fn post_with(&self, body: &[u8], headers: &[(&str, &str)]) -> Result<()> {
        post_json_with(&self.client, self.name, &self.url, body, headers, &self.retry).await
    }
}

/// POSTs `body` as JSON until a 2xx, a refusal, or the attempts run out.
pub async fn post_json(client: &reqwest::Client, channel: &str, url: &str, body: &[u8], retry: &Retry) -> Result<()> {
    post_json_with(client, channel, url, body, &[], retry).await
}

/// [`post_json`] with extra headers on every attempt (e.g. a body signature).
pub async fn post_json_with(
    client: &reqwest::Client,
    channel: &str,
    url: &str,
    body: &[u8],
    headers: &[(&str, &str)],
    retry: &Retry,
) -> Result<()> {
    let mut delay = retry.backoff;
    let mut last = String::new();
    let attempts = retry.attempts.max(1);
    for attempt in 1..=attempts {
        let mut req = client
            .post(url)
            .header(reqwest::header::CONTENT_TYPE, "application/json");
        for (k, v) in headers {
            req = req.header(*k, *v);
        }
        let r = req.body(body.to_vec()).send().await;
        match r {
            Ok(resp) if resp.status().is_success() => return Ok(()),
            Ok(resp) if resp.status().is_client_error() && resp.status() != 429 => {
                let status = resp.status();
                let text = resp.text().await.unwrap_or_default();
                let text: String = text.chars().take(200).collect();
                return Err(Error::Notify {
                    channel: channel.into(),
                    message: format!("HTTP {status}: {text}"),
                });
            }
            Ok(resp) => last = format!("HTTP {}", resp.status()),
            // Never echo the URL: for Slack it is the secret.
            Err(e) => last = e.without_url().to_string(),
        }
        if attempt < attempts {
            tokio::time::sleep(delay).await;
            delay *= 2;
        }
    }
    Err(Error::Notify {
        channel: channel.into(),
        message: format!("{last} after {attempts} attempts"),
    })
}

#[cfg(test)]
pub(crate) mod tests {
    use std::sync::{Arc, Mutex};
    use tokio::io::{AsyncReadExt, AsyncWriteExt};
    use tokio::net::TcpListener;

    /// A one-route HTTP server on a free loopback port answering each
    /// request with the next status of `statuses` (the last one repeats);
    /// returns its URL and the bodies it received.
    pub async fn server(statuses: Vec<u16>) -> (String, Arc<Mutex<Vec<String>>>) {
        let l = TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}/hook", l.local_addr().unwrap());
        let bodies = Arc::new(Mutex::new(Vec::new()));
        let seen = bodies.clone();
        tokio::spawn(async move {
            let mut i = 0;
            while let Ok((mut s, _)) = l.accept().await {
                let mut buf = Vec::new();
                let mut chunk = [0u8; 4096];
                // Read the head, then the body by Content-Length.
                let body = loop {
                    let n = s.read(&mut chunk).await.unwrap_or(0);
                    if n == 0 {
                        break String::new();
                    }
                    buf.extend_from_slice(&chunk[..n]);
                    if let Some(p) = buf.windows(4).position(|w| w == b"\r\n\r\n") {
                        let head = String::from_utf8_lossy(&buf[..p]).to_lowercase();
                        let len: usize = head
                            .lines()
                            .find_map(|l| l.strip_prefix("content-length:").map(|v| v.trim().parse().unwrap_or(0)))
                            .unwrap_or(0);
                        while buf.len() < p + 4 + len {
                            let n = s.read(&mut chunk).await.unwrap_or(0);
                            if n == 0 {
                                break;
                            }
                            buf.extend_from_slice(&chunk[..n]);
                        }
                        break String::from_utf8_lossy(&buf[p + 4..]).to_string();
                    }
                };
                seen.lock().unwrap().push(body);
                let status = statuses[i.min(statuses.len() - 1)];
                i += 1;
                let resp = format!("HTTP/1.1 {status} X\r\ncontent-length: 2\r\nconnection: close\r\n\r\nok");
                let _ = s.write_all(resp.as_bytes()).await;
            }
        });
        (url, bodies)
    }
}
