//! The decoy endpoint: one handler from `http::Request` to `http::Response`,
//! used unchanged by `honeytoken serve` and by the Lambda function.
//!
//! Order matters: extract (bounded), recognise (pure CPU), look up only what
//! was recognised, store each hit durably, then answer exactly as for any
//! other request. A hit that cannot be stored is written to the log in full.

use bytes::Bytes;
use http::{Request, Response};
use std::sync::Arc;

use crate::decoy::persona::Persona;
use crate::domain::HitListener;
use crate::domain::hit::{FoundIn, Hit, RequestFacts, Via, new_hit_id};
use crate::domain::key::SigningKey;
use crate::domain::token::extract::{Limits, candidates};
use crate::domain::token::{Recognised, jwt, recognise};
use crate::store::{HitStore, TokenStore};

/// Facts about a request that only the runtime knows.
#[derive(Debug, Clone, Default)]
pub struct RequestMeta {
    /// Client address (the TCP peer, or API Gateway's `sourceIp`).
    pub source_ip: String,
    /// Front-door request id, if any.
    pub request_id: Option<String>,
}

/// The decoy handler and everything it needs, built once per process.
pub struct Decoy {
    key: SigningKey,
    tokens: Arc<dyn TokenStore>,
    hits: Arc<dyn HitStore>,
    persona: Persona,
    limits: Limits,
    listener: Option<HitListener>,
    enricher: Option<Arc<crate::decoy::enrich::Enricher>>,
    trusted_cloudfront: bool,
    min_latency: std::time::Duration,
    allowlist: Option<Arc<crate::decoy::allowlist::Allowlist>>,
    test_marks: crate::decoy::testmark::Verifier,
    flood: Option<crate::domain::flood::FloodRule>,
    unstored: Arc<std::sync::atomic::AtomicU64>,
    hit_log: Option<HitListener>,
}

impl Decoy {
    /// A handler over the given key and stores, answering with the default persona.
    pub fn new(key: SigningKey, tokens: Arc<dyn TokenStore>, hits: Arc<dyn HitStore>) -> Self {
        Decoy {
            key,
            tokens,
            hits,
            persona: Persona::default(),
            limits: Limits::default(),
            listener: None,
            flood: None,
            unstored: Arc::default(),
            hit_log: None,
            enricher: None,
            trusted_cloudfront: false,
            min_latency: std::time::Duration::ZERO,
            allowlist: None,
            test_marks: crate::decoy::testmark::Verifier::new(),
        }
    }

    /// Answers no request sooner than `floor` (plus up to a quarter of it in
    /// random jitter) after it arrived. A hit costs a lookup and a durable
    /// write that a miss does not; with a floor above that cost, hits and
    /// misses take the same time and timing cannot tell them apart.
    pub fn with_min_latency(mut self, floor: std::time::Duration) -> Self {
        self.min_latency = floor;
        self
    }

    /// Flags hits from globally allowlisted sources `ignored` (per-token
    /// entries come with the token record and need nothing here).
    pub fn with_allowlist(mut self, a: Arc<crate::decoy::allowlist::Allowlist>) -> Self {
        self.allowlist = Some(a);
        self
    }

    /// Calls `f` with every stored hit.
    pub fn with_listener(mut self, f: HitListener) -> Self {
        self.listener = Some(f);
        self
    }

    /// Calls `f` with every hit a request carried, stored or not, before
    /// the answer is sent: the ECS line of a SIEM feed (`serve --hit-log`,
    /// the decoy Lambda's log). `f` must not block: queue, or write one line.
    pub fn with_hit_log(mut self, f: HitListener) -> Self {
        self.hit_log = Some(f);
        self
    }

    /// Keeps hits under the flood rule: past `rule.whole` hits of a (token,
    /// source) pair in a bucket, the store counts instead of storing whole.
    pub fn with_flood_rule(mut self, rule: crate::domain::flood::FloodRule) -> Self {
        self.flood = Some(rule);
        self
    }

    /// Adds geolocation and network owner to hits.
    pub fn with_enricher(mut self, e: Arc<crate::decoy::enrich::Enricher>) -> Self {
        self.enricher = Some(e);
        self
    }

    /// Trusts CloudFront's viewer headers (`cloudfront-viewer-address`, `-country`,
    /// `-city`, `-latitude`, `-longitude`, `-asn`). Only for an origin that nobody
    /// but CloudFront can reach: any client can send these headers.
    ///
    /// When trusted, the viewer address becomes the hit's `source_ip` (the peer is
    /// a CloudFront edge). The MaxMind databases stay the first source of `geo`
    /// and `asn`, so every hit of a deployment is located the same way; CloudFront's
    /// values fill in, each as a whole, when the databases have nothing.
    pub fn with_trusted_cloudfront(mut self, trusted: bool) -> Self {
        self.trusted_cloudfront = trusted;
        self
    }

    /// Answers a request, recording a hit for every honeytoken it carries.
    /// `body` may be only the first bytes of the request body.
    pub async fn handle(&self, req: Request<Bytes>, meta: RequestMeta) -> Response<Bytes> {
        let start = tokio::time::Instant::now();
        self.record(req, meta).await;
        if !self.min_latency.is_zero() {
            let jitter = self.min_latency.mul_f64(rand::random::<f64>() / 4.0);
            tokio::time::sleep_until(start + self.min_latency + jitter).await;
        }
        self.persona.response()
    }

    /// Hits this decoy could not store (and logged instead).
    pub fn unstored(&self) -> u64 {
        self.unstored.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// The answer every request gets.
    pub fn persona(&self) -> &Persona {
        &self.persona
    }

    /// Records the hits a request carries and returns them (stored or not).
    pub async fn record(&self, req: Request<Bytes>, meta: RequestMeta) -> Vec<Hit> {
        let (parts, body) = req.into_parts();
        let found: Vec<(Recognised, FoundIn)> = candidates(&parts, &body, &self.limits)
            .into_iter()
            .filter_map(|c| recognise(&self.key, &c.value).map(|r| (r, c.found_in)))
            .collect();
        if found.is_empty() {
            return Vec::new();
        }
        let viewer = if self.trusted_cloudfront {
            crate::decoy::enrich::cloudfront::viewer(&parts.headers)
        } else {
            Default::default()
        };
        let source_ip = viewer
            .ip
            .map(|ip| ip.to_string())
            .unwrap_or_else(|| meta.source_ip.clone());
        let facts = RequestFacts::capture(&parts, &source_ip);
        let received_at = crate::domain::time::Timestamp::now();
        // Read (through a short-lived cache) only now that the request carried a token.
        let global_allow = match &self.allowlist {
            Some(a) => a.global().await,
            None => Default::default(),
        };
        let mut out = Vec::new();
        let mut seen_ids: Vec<String> = Vec::new();
        for (r, found_in) in found {
            if seen_ids.contains(&r.token_id) {
                continue;
            }
            seen_ids.push(r.token_id.clone());
            let (record, lookup_failed) = match self.tokens.get(&r.token_id).await {
                Ok(rec) => (rec, false),
                Err(e) => {
                    // Still a hit: record what we know rather than lose it.
                    tracing::error!(event = "token_lookup_failed", token_id = %r.token_id, error = %e);
                    (None, true)
                }
            };
            let (tampered, tampered_claims) = match (&r.jwt, &record) {
                (Some(seen), Some(rec)) => {
                    let changes = jwt::changes(&rec.token, seen);
                    (!seen.signature_valid || !changes.is_empty(), changes)
                }
                (Some(seen), None) => (!seen.signature_valid, Vec::new()),
                _ => (false, Vec::new()),
            };
            let (geo, asn) = match &self.enricher {
                Some(e) => e.lookup(&facts.source_ip),
                None => (None, None),
            };
            let (geo, asn) = (geo.or_else(|| viewer.geo.clone()), asn.or_else(|| viewer.asn.clone()));
            let hit = Hit {
                token_id: r.token_id.clone(),
                hit_id: new_hit_id(),
                received_at,
                source_ip: facts.source_ip.clone(),
                user_agent: facts.user_agent.clone(),
                method: facts.method.clone(),
                path: facts.path.clone(),
                query: facts.query.clone(),
                headers: facts.headers.clone(),
                found_in,
                tampered,
                tampered_claims,
                // Unknown only when the store said so, not when it could not be asked.
                orphan: record.is_none() && !lookup_failed,
                test: self.test_marks.verify(&self.key, &parts.headers, &r.token_id),
                ignored: crate::domain::allow::is_allowed(
                    &facts.source_ip,
                    &global_allow,
                    record.as_ref().map(|t| t.allow.as_slice()).unwrap_or_default(),
                ),
                geo,
                asn,
                token_state: record.as_ref().map(|t| t.state),
                label: record.as_ref().map(|t| t.label.clone()).unwrap_or_default(),
                location: record.as_ref().map(|t| t.location.clone()).unwrap_or_default(),
                request_id: meta
                    .request_id
                    .as_ref()
                    .map(|s| crate::domain::sanitize::escape_str(s, 128)),
                via: Via::Decoy,
                count: 1,
                flood: None,
            };
            let stored = match &self.flood {
                Some(rule) => self.hits.record(&hit, rule).await.map(|_| ()),
                None => self.hits.put(&hit).await,
            };
            match stored {
                Ok(()) => {
                    if let Some(l) = &self.listener {
                        l(&hit);
                    }
                }
                Err(e) => {
                    self.unstored.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    log_unstored(&hit, &e)
                }
            }
            if let Some(log) = &self.hit_log {
                log(&hit);
            }
            out.push(hit);
        }
        out
    }
}

/// Writes a hit that could not be stored as one structured log line, so the
/// log (CloudWatch Logs on AWS) still holds every field.
pub fn log_unstored(hit: &Hit, e: &crate::Error) {
    HITS_NOT_STORED.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
    let line = unstored_line(hit, e, time::OffsetDateTime::now_utc());
    // One write of one line, so concurrent requests cannot interleave it.
    use std::io::Write;
    let mut out = std::io::stdout().lock();
    let _ = out.write_all(line.as_bytes());
    let _ = out.flush();
}

static HITS_NOT_STORED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Hits this process could not store (and logged instead).
pub fn hits_not_stored() -> u64 {
    HITS_NOT_STORED.load(std::sync::atomic::Ordering::Relaxed)
}

/// The log line for a hit that could not be stored: a JSON object holding the
/// complete hit, which is also a CloudWatch Embedded Metric Format record, so
/// the same line raises the `honeytoken/HitsNotStored` metric an alarm can
/// watch. Every attacker-controlled value in it is already escaped, and JSON
/// encoding keeps it on one line.
pub fn unstored_line(hit: &Hit, e: &crate::Error, now: time::OffsetDateTime) -> String {
    let v = serde_json::json!({
        "_aws": {
            "Timestamp": (now.unix_timestamp_nanos() / 1_000_000) as i64,
            "CloudWatchMetrics": [{
                "Namespace": "honeytoken",
                "Dimensions": [[]],
                "Metrics": [{"Name": "HitsNotStored", "Unit": "Count"}]
            }]
        },
        "level": "ERROR",
        "event": "hit_not_stored",
        "message": "hit could not be stored; this line holds it in full",
        "error": crate::domain::sanitize::escape_str(&e.to_string(), 1024),
        "HitsNotStored": 1,
        "hit": hit,
    });
    let mut line = serde_json::to_string(&v).unwrap_or_default();
    line.push('\n');
    line
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::token::{Alphabet, KeyShape, MintSpec, mint};
    use crate::store::HitStore;
    use crate::store::memory::MemoryStore;

    fn setup() -> (Decoy, Arc<MemoryStore>, SigningKey) {
        let key = SigningKey::from_secret(&[5u8; 32]).unwrap();
        let store = Arc::new(MemoryStore::new());
        (Decoy::new(key.clone(), store.clone(), store.clone()), store, key)
    }

    fn req(auth: &str) -> Request<Bytes> {
        Request::builder()
            .uri("/v1/users")
            .header("authorization", auth)
            .header("user-agent", "curl/8.5.0")
            .body(Bytes::new())
            .unwrap()
    }

    #[tokio::test]
    async fn unrecognised_candidates_never_reach_the_store() {
        let (d, store, _) = setup();
        let shape = KeyShape::plain("sk_live_", Alphabet::Base62, 32).unwrap();
        let other = SigningKey::from_secret(&[6u8; 32]).unwrap();
        for _ in 0..200 {
            let foreign = mint(
                &other,
                &MintSpec::Key(shape.clone()),
                "x",
                "",
                "",
                time::OffsetDateTime::now_utc(),
            )
            .unwrap();
            let r = d
                .handle(req(&format!("Bearer {}", foreign.token)), RequestMeta::default())
                .await;
            assert_eq!(r.status(), 401);
        }
        assert_eq!(store.reads(), 0);
        assert_eq!(store.hit_count(), 0);
    }

    #[tokio::test]
    async fn a_flood_keeps_the_first_hits_whole_and_counts_the_rest_exactly() {
        // Given a decoy whose flood rule keeps 3 hits of a pair whole,
        let (d, store, key) = setup();
        let d = d.with_flood_rule(crate::domain::flood::FloodRule {
            whole: 3,
            bucket: std::time::Duration::from_secs(3600),
        });
        let rec = mint(
            &key,
            &MintSpec::Key(KeyShape::plain("sk_live_", Alphabet::Base62, 32).unwrap()),
            "flooded",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        store.create(&rec).await.unwrap();
        // when one source replays the token 10 times,
        for _ in 0..10 {
            let meta = RequestMeta {
                source_ip: "203.0.113.7".into(),
                request_id: None,
            };
            d.record(req(&format!("Bearer {}", rec.token)), meta).await;
        }
        // then 3 whole records and one counter standing for the other 7 are kept.
        let hits = store.query(&Default::default()).await.unwrap();
        assert_eq!(hits.len(), 4);
        assert_eq!(hits.iter().filter(|h| h.count == 1 && h.flood.is_none()).count(), 3);
        let counter = hits.iter().find(|h| h.flood.is_some()).expect("a counter record");
        assert_eq!(counter.count, 7);
        assert_eq!(hits.iter().map(|h| h.count).sum::<u64>(), 10, "every request counted");
    }

    #[tokio::test]
    async fn hit_and_miss_get_the_same_answer() {
        let (d, store, key) = setup();
        let rec = mint(
            &key,
            &MintSpec::Key(KeyShape::plain("sk_live_", Alphabet::Base62, 32).unwrap()),
            "demo",
            "web/.env",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        store.create(&rec).await.unwrap();
        let meta = RequestMeta {
            source_ip: "127.0.0.1".into(),
            request_id: None,
        };
        let hit = d.handle(req(&format!("Bearer {}", rec.token)), meta.clone()).await;
        let miss = d.handle(req("Bearer sk_live_notourswhatsoever0000000000"), meta).await;
        assert_eq!(hit.status(), miss.status());
        assert_eq!(hit.headers(), miss.headers());
        assert_eq!(hit.body(), miss.body());
        let hits = store.query(&Default::default()).await.unwrap();
        assert_eq!(hits.len(), 1);
        let h = &hits[0];
        assert_eq!(
            (h.source_ip.as_str(), h.method.as_str(), h.path.as_str()),
            ("127.0.0.1", "GET", "/v1/users")
        );
        assert_eq!(
            (h.found_in.to_string().as_str(), h.user_agent.as_str(), h.label.as_str()),
            ("authorization", "curl/8.5.0", "demo")
        );
        assert!(!h.orphan && !h.tampered);
    }

    #[test]
    fn an_unstored_hit_is_logged_in_full_on_one_line() {
        let key = SigningKey::from_secret(&[5u8; 32]).unwrap();
        let rec = mint(
            &key,
            &MintSpec::Jwt { issuer: "i".into() },
            "demo",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        let mut hit = tokio::runtime::Builder::new_current_thread()
            .build()
            .unwrap()
            .block_on(async {
                let store = Arc::new(MemoryStore::new());
                store.fail_writes(true);
                let d = Decoy::new(key.clone(), store.clone(), store.clone());
                d.record(
                    req(&format!("Bearer {}", rec.token)),
                    RequestMeta {
                        source_ip: "203.0.113.9".into(),
                        request_id: Some("r-1".into()),
                    },
                )
                .await
            })
            .remove(0);
        hit.user_agent = "evil\\u{a}{\"forged\":1}".into();
        let line = unstored_line(
            &hit,
            &crate::Error::Store("table gone\nforged".into()),
            time::OffsetDateTime::now_utc(),
        );
        assert!(
            line.ends_with('\n') && line.matches('\n').count() == 1,
            "exactly one line"
        );
        let v: serde_json::Value = serde_json::from_str(&line).unwrap();
        assert_eq!(v["hit"], serde_json::to_value(&hit).unwrap(), "every field of the hit");
        assert_eq!(v["event"], "hit_not_stored");
        assert_eq!(v["HitsNotStored"], 1);
        assert_eq!(v["_aws"]["CloudWatchMetrics"][0]["Metrics"][0]["Name"], "HitsNotStored");
        assert_eq!(v["error"], "store: table gone\\u{a}forged");
    }

    #[tokio::test]
    async fn orphan_and_store_failure() {
        let (d, store, key) = setup();
        let rec = mint(
            &key,
            &MintSpec::Jwt { issuer: "i".into() },
            "demo",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        let hits = d
            .record(req(&format!("Bearer {}", rec.token)), RequestMeta::default())
            .await;
        assert!(hits[0].orphan);
        store.fail_writes(true);
        let hits = d
            .record(req(&format!("Bearer {}", rec.token)), RequestMeta::default())
            .await;
        assert_eq!(hits.len(), 1, "an unstored hit is still reported");
        assert_eq!(d.unstored(), 1, "exactly the one failed write is counted");
        assert_eq!(store.hit_count(), 1);
    }
}
