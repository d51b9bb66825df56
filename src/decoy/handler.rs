//! The decoy endpoint: one handler from `http::Request` to `http::Response`,
//! used unchanged by `honeytoken serve` and by the Lambda function.
//!
//! Order matters: extract (bounded), recognise (pure CPU), look up only what
//! was recognised, store each hit durably, then answer exactly as for any
//! other request. A hit that cannot be stored is written to the log in full.

use bytes::Bytes;
use http::{Request, Response};
use std::collections::HashMap;
use std::sync::Arc;

use crate::decoy::persona::Persona;
use crate::domain::HitListener;
use crate::domain::Stored;
use crate::domain::hit::{FoundIn, Hit, RequestFacts, Via, new_hit_id};
use crate::domain::key::SigningKey;
use crate::domain::token::extract::{Limits, extract};
use crate::domain::token::{Recognised, recognise};
use crate::store::{HitStore, Kept, TokenStore};

/// The header CloudFront adds to every origin request behind the front door,
/// carrying the origin secret.
pub const ORIGIN_VERIFY_HEADER: &str = "x-origin-verify";

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
    tools: crate::decoy::tools::Chooser,
    scheme: &'static str,
    limits: Limits,
    listener: Option<HitListener>,
    enricher: Option<Arc<crate::decoy::enrich::Enricher>>,
    trusted_cloudfront: bool,
    min_latency: std::time::Duration,
    allowlist: Option<Arc<crate::decoy::allowlist::Allowlist>>,
    test_marks: crate::decoy::testmark::Verifier,
    marks: Option<Arc<dyn crate::store::MarkStore>>,
    flood: Option<crate::domain::flood::FloodRule>,
    origin_secret: Option<Arc<[u8]>>,
    unstored: Arc<std::sync::atomic::AtomicU64>,
    store_deadline: bool,
    late: Option<Arc<LateAlerts>>,
    hit_log: Option<HitListener>,
    late_writes: Arc<LateWrites>,
}

impl Decoy {
    /// A handler over the given key and stores, answering with the default persona.
    pub fn new(key: SigningKey, tokens: Arc<dyn TokenStore>, hits: Arc<dyn HitStore>) -> Self {
        Decoy {
            key,
            tokens,
            hits,
            persona: Persona::default(),
            tools: crate::decoy::tools::Chooser::default(),
            scheme: "https",
            limits: Limits::default(),
            listener: None,
            flood: None,
            origin_secret: None,
            unstored: Arc::default(),
            store_deadline: false,
            late: None,
            hit_log: None,
            late_writes: Arc::default(),
            enricher: None,
            trusted_cloudfront: false,
            min_latency: std::time::Duration::ZERO,
            allowlist: None,
            test_marks: crate::decoy::testmark::Verifier::new(),
            marks: None,
        }
    }

    /// Records accepted test marks in `marks`, so each is single-use across
    /// every process sharing the store (without it, per process only).
    pub fn with_marks(mut self, marks: Arc<dyn crate::store::MarkStore>) -> Self {
        self.marks = Some(marks);
        self
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

    /// Calls `f` with every hit and where it stands (stored, spooled, still
    /// being written, or failed), so alerts never wait on the store.
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

    /// Behind the front door: viewer headers are trusted only on requests
    /// whose [`ORIGIN_VERIFY_HEADER`] equals `secret` (compared in constant
    /// time), which CloudFront adds and nobody else knows. A request without
    /// it reached the origin directly: its viewer headers are ignored and its
    /// hits flagged `origin_unverified`. The header is never stored.
    pub fn with_origin_verify(mut self, secret: &[u8]) -> Self {
        self.origin_secret = Some(Arc::from(secret));
        self.trusted_cloudfront = true;
        self
    }

    /// Answers a request, recording a hit for every honeytoken it carries.
    /// `body` may be only the first bytes of the request body.
    ///
    /// With a floor and [`Decoy::with_store_deadline`], the answer goes out
    /// at the floor whatever the store is doing: a write still running then
    /// goes on in the background, and its hit is alerted on at once.
    pub async fn handle(&self, req: Request<Bytes>, meta: RequestMeta) -> Response<Bytes> {
        let start = tokio::time::Instant::now();
        // Decided from the request alone, never from what was recognised in it.
        let tool = self.tools.choose(&req, &self.persona);
        let persona = tool.map_or(&self.persona, |t| t.persona());
        let mut asked = persona.ask(&req);
        asked.default_scheme(self.scheme);
        let deadline = floor_deadline(start, self.min_latency);
        // With late alerts (Lambda) the write gets the first half of the
        // time to the answer, and a hit whose write has not finished by then
        // is alerted on by the decoy itself in the second half.
        let write_by = match &self.late {
            Some(_) => deadline.map(|d| start + (d - start) / 2),
            None => deadline.filter(|_| self.store_deadline),
        };
        self.record_until(req, meta, tool, write_by, deadline).await;
        if let Some(d) = deadline {
            tokio::time::sleep_until(d).await;
        }
        // Rendered after the wait, so clock fields say when it was sent.
        persona.reply(&asked).into_response()
    }

    /// Answers a request sent to one of `hosts` as that host's tool
    /// persona, whatever its shape (a custom domain per tool). Requests to
    /// other hosts get a tool persona by their shape, as without it.
    pub fn with_persona_hosts(mut self, hosts: crate::decoy::tools::PersonaHosts) -> Self {
        self.tools = crate::decoy::tools::Chooser::new(hosts);
        self
    }

    /// How clients reach this decoy when a request does not say
    /// (`X-Forwarded-Proto`): `{scheme}` in an answer, such as a registry's
    /// token realm, which the client must be able to follow. `https` unless
    /// set (API Gateway speaks nothing else); `serve` sets `http`.
    pub fn with_scheme(mut self, scheme: &'static str) -> Self {
        self.scheme = scheme;
        self
    }

    /// Answers as `persona` (a built-in or a learned one) instead of the default.
    pub fn with_persona(mut self, persona: Persona) -> Self {
        self.persona = persona;
        self
    }

    /// Hits this decoy could not store (and logged instead).
    pub fn unstored(&self) -> u64 {
        self.unstored.load(std::sync::atomic::Ordering::Relaxed)
    }

    /// Answers at the timing floor even when the store has not finished
    /// writing a hit by then (the write goes on in the background). Only for
    /// a long-lived process (`serve`): a Lambda environment is frozen once
    /// it has answered, so the function waits for its write instead.
    pub fn with_store_deadline(mut self, on: bool) -> Self {
        self.store_deadline = on;
        self
    }

    /// For a function that cannot run after it answers (Lambda, where the
    /// environment may be frozen): the write of a hit is bounded by half the
    /// time to the timing floor, and a hit not stored by then (or whose write
    /// failed) is logged in full, counted (`HitsNotStored`), and alerted on
    /// through `notifier` before the answer goes out at the floor, since the
    /// table's stream may never see it. At most one such alert per
    /// (token, source) and `window` per process, so a throttled table under
    /// a flood does not page once per request.
    pub fn with_late_alerts(mut self, notifier: Arc<dyn crate::notify::Notifier>, window: std::time::Duration) -> Self {
        self.late = Some(Arc::new(LateAlerts::new(notifier, window)));
        self
    }

    /// Opens, before the first request, the connections a hit needs: the
    /// store's (by reading the global allowlist into its cache) and, with
    /// late alerts, the alert channel's. The Lambda decoy runs this in its
    /// init phase, so a hit's lookup and write, which must fit half the
    /// timing floor, and the decoy's own alert do not pay for a TLS
    /// handshake (BENCHMARKS.md, "The decoy's write budget on AWS").
    /// Failures are logged and cost nothing else: the first hit opens the
    /// connection instead.
    pub async fn warm_up(&self) {
        if let Some(a) = &self.allowlist {
            a.global().await;
        }
        if let Some(late) = &self.late
            && let Err(e) = late.notifier.warm_up().await
        {
            tracing::warn!(
                event = "warm_up_failed",
                channel = late.notifier.name(),
                error = %e,
                "the alert channel's connection is opened by the first late alert instead"
            );
        }
    }

    /// Hits answered before their write had finished, and how those writes
    /// ended since; shared, so it can be read after the decoy is dropped.
    pub fn late_writes(&self) -> Arc<LateWrites> {
        self.late_writes.clone()
    }

    /// How this decoy answers.
    pub fn persona(&self) -> &Persona {
        &self.persona
    }

    /// The persona answering `req`: a tool's, chosen by its host or shape,
    /// or this decoy's own.
    pub fn persona_for<B: AsRef<[u8]>>(&self, req: &Request<B>) -> &Persona {
        self.tools
            .choose(req, &self.persona)
            .map_or(&self.persona, |t| t.persona())
    }

    /// Records the hits a request carries and returns them (stored or not).
    pub async fn record(&self, req: Request<Bytes>, meta: RequestMeta) -> Vec<Hit> {
        let tool = self.tools.choose(&req, &self.persona);
        self.record_until(req, meta, tool, None, None).await
    }

    /// Stores `hit` (under the flood rule if set), waiting no later than
    /// `deadline`; where it stands then.
    async fn store(&self, hit: &Hit, deadline: Option<tokio::time::Instant>) -> Stored {
        self.store_under(hit, self.flood, deadline).await
    }

    /// [`Decoy::store`] under `flood` instead of the decoy's own rule.
    async fn store_under(
        &self,
        hit: &Hit,
        flood: Option<crate::domain::flood::FloodRule>,
        deadline: Option<tokio::time::Instant>,
    ) -> Stored {
        let hits = self.hits.clone();
        let h = hit.clone();
        let write = async move {
            match flood {
                Some(rule) => hits.record(&h, &rule).await,
                None => hits.put_kept(&h).await,
            }
        };
        let outcome = |r: crate::Result<Kept>| match r {
            Ok(Kept::Spooled) => Stored::Spooled,
            Ok(_) => Stored::Yes,
            Err(e) => {
                self.unstored.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                log_unstored(hit, &e);
                Stored::Failed
            }
        };
        let Some(deadline) = deadline else {
            return outcome(write.await);
        };
        let mut task = tokio::spawn(write);
        match tokio::time::timeout_at(deadline, &mut task).await {
            Ok(Ok(r)) => outcome(r),
            Ok(Err(e)) => outcome(Err(crate::Error::Store(format!("hit write task: {e}")))),
            Err(_) => {
                HITS_ANSWERED_BEFORE_DURABLE.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                self.late_writes
                    .answered
                    .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                if self.late.is_some() {
                    // The environment may be frozen once the answer is out,
                    // so the write may never finish: the log holds the hit
                    // in full now, and nothing waits for the write. It goes
                    // on while it can (dropping the handle detaches it): if
                    // it lands, at once or after a thaw, the stream alerts as
                    // well, a repeat rather than a loss; if not, the log line
                    // is the record. Counted as not stored either way.
                    self.late_writes
                        .logged
                        .fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    self.unstored.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
                    log_unstored(
                        hit,
                        &crate::Error::Store("the write had not finished by the answer's timing floor".into()),
                    );
                    return Stored::Pending;
                }
                // Past the answer's deadline: answer and alert now, let the
                // write finish, and log the hit in full if it fails.
                let h = hit.clone();
                let counts = self.late_writes.clone();
                tokio::spawn(async move {
                    let ended = match task.await {
                        Ok(Ok(_)) => Ok(()),
                        Ok(Err(e)) => Err(e),
                        Err(e) => Err(crate::Error::Store(format!("hit write task: {e}"))),
                    };
                    if let Err(e) = &ended {
                        log_unstored(&h, e);
                    }
                    counts.ended(ended.is_ok());
                });
                Stored::Pending
            }
        }
    }

    async fn record_until(
        &self,
        req: Request<Bytes>,
        meta: RequestMeta,
        tool: Option<crate::decoy::tools::Tool>,
        deadline: Option<tokio::time::Instant>,
        answer_at: Option<tokio::time::Instant>,
    ) -> Vec<Hit> {
        let persona = tool.map(|t| t.name().to_string());
        let (mut parts, body) = req.into_parts();
        // The front door's secret: checked, then dropped before anything is stored.
        let origin_header = parts.headers.remove(ORIGIN_VERIFY_HEADER);
        let extraction = extract(&parts, &body, &self.limits);
        let over_bounds = extraction.over_bounds();
        let found: Vec<(Recognised, FoundIn)> = extraction
            .candidates
            .into_iter()
            .filter_map(|c| recognise(&self.key, &c.value).map(|r| (r, c.found_in)))
            .collect();
        if found.is_empty() && over_bounds.is_empty() {
            return Vec::new();
        }
        let origin_verified = match (&self.origin_secret, &origin_header) {
            (None, _) => true,
            (Some(secret), Some(v)) => crate::domain::key::ct_eq(v.as_bytes(), secret),
            (Some(_), None) => false,
        };
        let viewer = if self.trusted_cloudfront && origin_verified {
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
        // With late alerts every store call of a hit shares the write's
        // deadline: past it the answer goes out and nothing may be left
        // waiting on a cold or slow connection.
        let bound = deadline.filter(|_| self.late.is_some());
        // Read (through a short-lived cache) only now that the request carried
        // a token. Not read in time: nothing is allowlisted, erring towards
        // alerting.
        let global_allow = match &self.allowlist {
            Some(a) => within(bound, a.global()).await.unwrap_or_else(|| {
                tracing::warn!(event = "allowlist_read_late");
                Default::default()
            }),
            None => Default::default(),
        };
        let request_id = meta
            .request_id
            .as_ref()
            .map(|s| crate::domain::sanitize::escape_str(s, 128));
        let (geo, asn) = match &self.enricher {
            Some(e) => e.lookup(&facts.source_ip),
            None => (None, None),
        };
        let (geo, asn) = (geo.or_else(|| viewer.geo.clone()), asn.or_else(|| viewer.asn.clone()));
        if found.is_empty() {
            // Past the bounds with no token: a suspicious request, recorded
            // (once per source and flood bucket, the rest counted) and
            // answered like any other.
            let mut hit = Hit::suspicious(&facts, received_at, over_bounds, Via::Decoy);
            hit.geo = geo;
            hit.asn = asn;
            hit.request_id = request_id;
            hit.origin_unverified = !origin_verified;
            hit.persona = persona;
            crate::decoy::attribute::attribute(self.tokens.as_ref(), &global_allow, &mut hit, None).await;
            let rule = self.flood.unwrap_or_default().for_suspicious();
            let stored = self.store_under(&hit, Some(rule), deadline).await;
            self.tell(&hit, stored, answer_at).await;
            return vec![hit];
        }
        let mut out = Vec::new();
        let mut seen_ids: Vec<String> = Vec::new();
        for (r, found_in) in found {
            if seen_ids.contains(&r.token_id) {
                continue;
            }
            seen_ids.push(r.token_id.clone());
            let (geo, asn) = (geo.clone(), asn.clone());
            // A mark not claimed in time is not honoured: the hit alerts as real.
            let test = within(
                bound,
                self.test_marks
                    .verify_shared(&self.key, &parts.headers, &r.token_id, self.marks.as_deref()),
            )
            .await
            .unwrap_or(false);
            let mut headers = facts.headers.clone();
            if test && let Some(v) = headers.get_mut(crate::decoy::testmark::HEADER) {
                // The mark is spent, and an alert reader gets only its digest
                // (which `honeytoken test` matches), never the mark itself.
                *v = crate::decoy::testmark::spent(v);
            }
            let mut hit = Hit {
                token_id: r.token_id.clone(),
                hit_id: new_hit_id(),
                received_at,
                source_ip: facts.source_ip.clone(),
                user_agent: facts.user_agent.clone(),
                method: facts.method.clone(),
                path: facts.path.clone(),
                query: facts.query.clone(),
                headers,
                found_in,
                // Token facts: filled from its record just below.
                tampered: false,
                tampered_claims: Vec::new(),
                orphan: false,
                test,
                ignored: false,
                geo,
                asn,
                token_state: None,
                label: String::new(),
                location: String::new(),
                request_id: request_id.clone(),
                via: Via::Decoy,
                count: 1,
                origin_unverified: !origin_verified,
                flood: None,
                aws_event: None,
                over_bounds: over_bounds.clone(),
                persona: persona.clone(),
                scanner: None,
            };
            let attributed =
                crate::decoy::attribute::attribute(self.tokens.as_ref(), &global_allow, &mut hit, r.jwt.as_ref());
            // A cold connection's lookup counts against the same bound as
            // the write: past it, the hit goes on with its token id only.
            if within(bound, attributed).await.is_none() {
                tracing::warn!(event = "token_lookup_late", token_id = %hit.token_id);
            }
            // The alert goes out from the hit in memory, whatever the store did.
            let stored = self.store(&hit, deadline).await;
            self.tell(&hit, stored, answer_at).await;
            out.push(hit);
        }
        out
    }

    /// Hands a hit to the late alerts (when its write did not land in
    /// time), the listener and the hit log.
    async fn tell(&self, hit: &Hit, stored: Stored, answer_at: Option<tokio::time::Instant>) {
        if let Some(late) = &self.late
            && matches!(stored, Stored::Failed | Stored::Pending)
            && hit.alerts()
        {
            late.send(hit, stored, answer_at).await;
        }
        if let Some(l) = &self.listener {
            l(hit, stored);
        }
        if let Some(log) = &self.hit_log {
            log(hit, stored);
        }
    }
}

/// `f`'s output, or `None` when `by` comes first (no bound: always `Some`).
async fn within<T>(by: Option<tokio::time::Instant>, f: impl std::future::Future<Output = T>) -> Option<T> {
    match by {
        Some(d) => tokio::time::timeout_at(d, f).await.ok(),
        None => Some(f.await),
    }
}

/// Hits a decoy answered before their write had finished, and how those
/// writes ended: what an operator needs to know whether anything was lost.
#[derive(Debug, Default)]
pub struct LateWrites {
    answered: std::sync::atomic::AtomicU64,
    stored: std::sync::atomic::AtomicU64,
    failed: std::sync::atomic::AtomicU64,
    logged: std::sync::atomic::AtomicU64,
    ended: tokio::sync::Notify,
}

/// A reading of [`LateWrites`].
#[derive(Debug, Default, Clone, Copy, PartialEq, Eq)]
pub struct LateWritesNow {
    /// Hits answered (and alerted on) before their write had finished.
    pub answered: u64,
    /// Of those, written to the store (or its spool) since.
    pub stored: u64,
    /// Of those, whose write failed: each printed in full as a
    /// `hit_not_stored` line.
    pub failed: u64,
    /// Of those, printed in full as a `hit_not_stored` line at the deadline
    /// because nothing may wait for the write (the Lambda decoy); the
    /// store may or may not get them later.
    pub logged: u64,
}

impl LateWritesNow {
    /// Writes still running: their hit is held only in memory (and in the
    /// alert already sent) until they end.
    pub fn running(&self) -> u64 {
        self.answered.saturating_sub(self.stored + self.failed + self.logged)
    }

    /// One line for an operator saying whether anything was lost; `None`
    /// when every hit was durable before its answer.
    pub fn report(&self) -> Option<String> {
        if self.answered == 0 {
            return None;
        }
        let mut parts = vec![format!("{} stored since", self.stored)];
        if self.failed > 0 {
            parts.push(format!(
                "{} not stored (each printed in full on stdout as a hit_not_stored line)",
                self.failed
            ));
        }
        if self.logged > 0 {
            parts.push(format!("{} printed in full as hit_not_stored lines", self.logged));
        }
        if self.running() > 0 {
            parts.push(format!(
                "{} still being written at exit (LOST from the store: only their alert holds them)",
                self.running()
            ));
        }
        let lost = if self.running() == 0 {
            "nothing lost"
        } else {
            "some lost"
        };
        Some(format!(
            "{} hit(s) were answered and alerted on before their write had finished: {}; {lost}",
            self.answered,
            parts.join(", ")
        ))
    }
}

impl LateWrites {
    fn ended(&self, stored: bool) {
        let n = if stored { &self.stored } else { &self.failed };
        n.fetch_add(1, std::sync::atomic::Ordering::Relaxed);
        self.ended.notify_waiters();
    }

    /// The counts now.
    pub fn now(&self) -> LateWritesNow {
        use std::sync::atomic::Ordering::Relaxed;
        LateWritesNow {
            answered: self.answered.load(Relaxed),
            stored: self.stored.load(Relaxed),
            failed: self.failed.load(Relaxed),
            logged: self.logged.load(Relaxed),
        }
    }

    /// Waits until every late write has ended, or `limit` has passed; the
    /// counts then.
    pub async fn settle(&self, limit: std::time::Duration) -> LateWritesNow {
        let until = tokio::time::Instant::now() + limit;
        loop {
            let ended = self.ended.notified();
            let now = self.now();
            if now.running() == 0 {
                return now;
            }
            if tokio::time::timeout_at(until, ended).await.is_err() {
                return self.now();
            }
        }
    }
}

/// The decoy's own alerts for hits the store did not take in time.
struct LateAlerts {
    notifier: Arc<dyn crate::notify::Notifier>,
    window: std::time::Duration,
    // (token, source) -> when its last late alert went out. Cleared when
    // full: a flood from rotating sources cannot grow it without bound.
    sent: std::sync::Mutex<HashMap<(String, String), tokio::time::Instant>>,
}

/// Pairs remembered by [`LateAlerts`] before the map is cleared.
const LATE_ALERT_PAIRS: usize = 4096;

impl LateAlerts {
    fn new(notifier: Arc<dyn crate::notify::Notifier>, window: std::time::Duration) -> Self {
        LateAlerts {
            notifier,
            window,
            sent: Default::default(),
        }
    }

    /// Whether the pair's late alert is due now (and marks it sent).
    fn due(&self, hit: &Hit) -> bool {
        let now = tokio::time::Instant::now();
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        let pair = (hit.token_id.clone(), hit.source_ip.clone());
        if sent.get(&pair).is_some_and(|t| now.duration_since(*t) < self.window) {
            return false;
        }
        if sent.len() >= LATE_ALERT_PAIRS {
            sent.clear();
        }
        sent.insert(pair, now);
        true
    }

    /// Sends the hit's alert, giving up at `until` (the answer's deadline).
    async fn send(&self, hit: &Hit, stored: Stored, until: Option<tokio::time::Instant>) {
        if !self.due(hit) {
            return;
        }
        let mut alert = crate::domain::alert::Alert::for_hit(hit);
        alert.not_yet_stored = stored.note().map(str::to_string);
        let sent = match until {
            Some(d) => tokio::time::timeout_at(d, self.notifier.notify(&alert))
                .await
                .unwrap_or_else(|_| Err(crate::Error::Store("not sent by the answer's timing floor".into()))),
            None => self.notifier.notify(&alert).await,
        };
        match sent {
            Ok(()) => tracing::warn!(
                event = "late_alert_sent",
                hit_id = %hit.hit_id,
                channel = self.notifier.name(),
                "a hit not stored in time was alerted on by the decoy itself"
            ),
            Err(e) => {
                // Not sent: the pair's next late hit tries again rather than
                // being taken for already alerted.
                self.forget(hit);
                tracing::error!(
                    event = "late_alert_failed",
                    hit_id = %hit.hit_id,
                    channel = self.notifier.name(),
                    error = %e,
                    "a hit not stored in time could not be alerted on; the log line above holds it"
                )
            }
        }
    }

    fn forget(&self, hit: &Hit) {
        let mut sent = self.sent.lock().unwrap_or_else(|p| p.into_inner());
        sent.remove(&(hit.token_id.clone(), hit.source_ip.clone()));
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

/// Waits until `floor` (plus up to a quarter of it in random jitter) has
/// passed since `start`. Every answer goes through it, including a Lambda
/// decoy's answer while it is not ready, so timing tells nothing apart.
pub async fn wait_floor(start: tokio::time::Instant, floor: std::time::Duration) {
    if let Some(d) = floor_deadline(start, floor) {
        tokio::time::sleep_until(d).await;
    }
}

/// When an answer started at `start` may go out: the floor plus up to a
/// quarter of it in jitter, so the floor itself is not a fingerprint.
/// `None` without a floor.
pub fn floor_deadline(start: tokio::time::Instant, floor: std::time::Duration) -> Option<tokio::time::Instant> {
    (!floor.is_zero()).then(|| start + floor + floor.mul_f64(rand::random::<f64>() / 4.0))
}

static HITS_NOT_STORED: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);
static HITS_ANSWERED_BEFORE_DURABLE: std::sync::atomic::AtomicU64 = std::sync::atomic::AtomicU64::new(0);

/// Hits answered (and alerted on) at the timing floor before their write
/// had finished: neither the store nor its spool took them in time.
pub fn hits_answered_before_durable() -> u64 {
    HITS_ANSWERED_BEFORE_DURABLE.load(std::sync::atomic::Ordering::Relaxed)
}

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

    /// A channel that fails its first `fail` deliveries, then delivers.
    struct Flaky {
        fail: usize,
        calls: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl crate::notify::Notifier for Flaky {
        fn name(&self) -> &str {
            "flaky"
        }
        async fn notify(&self, _: &crate::domain::alert::Alert) -> crate::Result<()> {
            let n = self.calls.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            if n < self.fail {
                Err(crate::Error::Store("down".into()))
            } else {
                Ok(())
            }
        }
    }

    #[tokio::test]
    async fn a_late_alert_not_sent_is_tried_again_and_a_sent_one_is_not_repeated() {
        let flaky = Arc::new(Flaky {
            fail: 1,
            calls: Default::default(),
        });
        let late = LateAlerts::new(flaky.clone(), std::time::Duration::from_secs(900));
        let hit = honeytoken_core::testkit::hit_at("tok1", "203.0.113.5", 0, 1);
        // The first publish fails: the pair's next late hit tries again.
        late.send(&hit, Stored::Failed, None).await;
        late.send(&hit, Stored::Failed, None).await;
        // Sent once: repeats within the window stay quiet.
        late.send(&hit, Stored::Failed, None).await;
        assert_eq!(flaky.calls.load(std::sync::atomic::Ordering::SeqCst), 2);
    }

    /// A channel counting its warm-up calls and alerts.
    #[derive(Default)]
    struct Counting {
        warmed: std::sync::atomic::AtomicUsize,
        sent: std::sync::atomic::AtomicUsize,
    }

    #[async_trait::async_trait]
    impl crate::notify::Notifier for Counting {
        fn name(&self) -> &str {
            "counting"
        }
        async fn notify(&self, _: &crate::domain::alert::Alert) -> crate::Result<()> {
            self.sent.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
        async fn warm_up(&self) -> crate::Result<()> {
            self.warmed.fetch_add(1, std::sync::atomic::Ordering::SeqCst);
            Ok(())
        }
    }

    /// An allowlist store whose read never answers (a connection gone cold).
    struct StuckAllowlist;

    #[async_trait::async_trait]
    impl crate::store::AllowStore for StuckAllowlist {
        async fn allow_add(&self, _: &crate::domain::allow::AllowEntry) -> crate::Result<()> {
            Ok(())
        }
        async fn allow_remove(&self, _: &str) -> crate::Result<bool> {
            Ok(false)
        }
        async fn allow_list(&self) -> crate::Result<Vec<crate::domain::allow::AllowEntry>> {
            std::future::pending().await
        }
    }

    /// A hit store whose writes wait for a permit, then succeed or fail.
    struct Held {
        inner: Arc<MemoryStore>,
        permits: tokio::sync::Semaphore,
        fail: std::sync::atomic::AtomicBool,
    }

    #[async_trait::async_trait]
    impl HitStore for Held {
        async fn put(&self, hit: &Hit) -> crate::Result<()> {
            self.permits.acquire().await.expect("open").forget();
            if self.fail.load(std::sync::atomic::Ordering::SeqCst) {
                return Err(crate::Error::Store("disk full".into()));
            }
            self.inner.put(hit).await
        }
        async fn query(&self, q: &crate::store::HitQuery) -> crate::Result<Vec<Hit>> {
            self.inner.query(q).await
        }
    }

    /// The Lambda decoy opens its connections before the first request: the
    /// store's, by reading the allowlist a hit needs into its cache, and the
    /// alert channel's; the first hit then reads neither again.
    #[tokio::test]
    async fn warm_up_opens_the_store_and_the_alert_channel_before_any_request() {
        let (_, store, key) = setup();
        let rec = mint(
            &key,
            &MintSpec::Key(KeyShape::plain("sk_live_", Alphabet::Base62, 32).unwrap()),
            "warm",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        crate::store::TokenStore::create(store.as_ref(), &rec).await.unwrap();
        let token = rec.token;
        let channel = Arc::new(Counting::default());
        let d = Decoy::new(key, store.clone(), store.clone())
            .with_allowlist(Arc::new(crate::decoy::allowlist::Allowlist::new(
                store.clone(),
                std::time::Duration::from_secs(3600),
            )))
            .with_min_latency(std::time::Duration::from_millis(1))
            .with_late_alerts(channel.clone(), std::time::Duration::from_secs(900));
        d.warm_up().await;
        assert_eq!(store.allow_reads(), 1, "the allowlist read at init");
        assert_eq!(channel.warmed.load(std::sync::atomic::Ordering::SeqCst), 1);
        assert_eq!(
            channel.sent.load(std::sync::atomic::Ordering::SeqCst),
            0,
            "warming alerts nobody"
        );
        d.handle(req(&format!("Bearer {token}")), RequestMeta::default()).await;
        assert_eq!(store.allow_reads(), 1, "the hit used the cached list");
    }

    /// With late alerts (Lambda), a store read that never answers holds
    /// neither the answer nor the alert: the hit is answered at the floor,
    /// alerted on by the decoy, and not taken for allowlisted. (The timeout
    /// only ends the test if the read holds the answer forever.)
    #[tokio::test]
    async fn a_stuck_allowlist_read_is_bounded_by_the_write_deadline() {
        let (_, store, key) = setup();
        let rec = mint(
            &key,
            &MintSpec::Key(KeyShape::plain("sk_live_", Alphabet::Base62, 32).unwrap()),
            "stuck",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        crate::store::TokenStore::create(store.as_ref(), &rec).await.unwrap();
        let channel = Arc::new(Counting::default());
        let d = Decoy::new(key, store.clone(), store.clone())
            .with_allowlist(Arc::new(crate::decoy::allowlist::Allowlist::new(
                Arc::new(StuckAllowlist),
                std::time::Duration::from_secs(30),
            )))
            .with_min_latency(std::time::Duration::from_millis(150))
            .with_late_alerts(channel.clone(), std::time::Duration::from_secs(900));
        let answered = tokio::time::timeout(
            std::time::Duration::from_secs(60),
            d.handle(req(&format!("Bearer {}", rec.token)), RequestMeta::default()),
        )
        .await
        .expect("answered despite the stuck read");
        assert_eq!(answered.status(), 401);
        assert_eq!(
            channel.sent.load(std::sync::atomic::Ordering::SeqCst),
            1,
            "the read spent the write's half: the decoy alerted itself"
        );
        let hits = store.query(&Default::default()).await.unwrap();
        assert_eq!(hits.len(), 1, "the write still landed");
        assert!(!hits[0].ignored, "an unread allowlist allowlists nothing");
    }

    /// `serve` answers at the deadline while a write is held, and says at
    /// exit whether anything answered early was lost: one write lands late,
    /// one fails (and is printed in full).
    #[tokio::test]
    async fn writes_answered_before_they_end_are_counted_by_how_they_end() {
        let (_, store, key) = setup();
        let rec = mint(
            &key,
            &MintSpec::Key(KeyShape::plain("sk_live_", Alphabet::Base62, 32).unwrap()),
            "late",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        crate::store::TokenStore::create(store.as_ref(), &rec).await.unwrap();
        let held = Arc::new(Held {
            inner: store.clone(),
            permits: tokio::sync::Semaphore::new(0),
            fail: Default::default(),
        });
        let d = Decoy::new(key, store.clone(), held.clone())
            .with_min_latency(std::time::Duration::from_millis(20))
            .with_store_deadline(true);
        let late = d.late_writes();
        d.handle(req(&format!("Bearer {}", rec.token)), RequestMeta::default())
            .await;
        let now = late.now();
        assert_eq!((now.answered, now.running()), (1, 1), "answered with its write held");
        assert!(now.report().unwrap().contains("LOST"), "{:?}", now.report());
        held.permits.add_permits(1);
        let now = late.settle(std::time::Duration::from_secs(5)).await;
        assert_eq!((now.answered, now.stored, now.failed), (1, 1, 0));
        assert!(now.report().unwrap().ends_with("nothing lost"), "{:?}", now.report());
        assert_eq!(store.hit_count(), 1);
        held.fail.store(true, std::sync::atomic::Ordering::SeqCst);
        d.handle(req(&format!("Bearer {}", rec.token)), RequestMeta::default())
            .await;
        held.permits.add_permits(1);
        let now = late.settle(std::time::Duration::from_secs(5)).await;
        assert_eq!((now.answered, now.stored, now.failed), (2, 1, 1));
        let report = now.report().unwrap();
        assert!(report.contains("1 not stored (each printed in full"), "{report}");
        assert!(report.ends_with("nothing lost"), "{report}");
    }

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

    /// Behind the front door, only a request carrying the origin secret may
    /// say where the viewer is; a direct request cannot pick its recorded
    /// source (to land in an allowlisted range, or to rotate per request).
    #[tokio::test]
    async fn viewer_headers_count_only_with_the_origin_secret() {
        let (d, store, key) = setup();
        let d = d.with_origin_verify(b"s3cret-origin-value");
        let rec = mint(
            &key,
            &MintSpec::Key(KeyShape::plain("sk_live_", Alphabet::Base62, 32).unwrap()),
            "front",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        store.create(&rec).await.unwrap();
        let send = |origin: Option<&'static str>| {
            let mut b = Request::builder()
                .uri("/v1/users")
                .header("authorization", format!("Bearer {}", rec.token))
                .header("cloudfront-viewer-address", "198.51.100.77:4431")
                .header("cloudfront-viewer-country", "GB");
            if let Some(o) = origin {
                b = b.header(ORIGIN_VERIFY_HEADER, o);
            }
            let meta = RequestMeta {
                source_ip: "203.0.113.200".into(),
                request_id: None,
            };
            d.record(b.body(Bytes::new()).unwrap(), meta)
        };
        // Given the secret, the viewer address is the source.
        let h = send(Some("s3cret-origin-value")).await;
        assert_eq!(h[0].source_ip, "198.51.100.77");
        assert!(!h[0].origin_unverified);
        // Without it, or with a wrong one, the peer is the source and the hit is flagged.
        for origin in [None, Some("s3cret-origin-valuX"), Some("")] {
            let h = send(origin).await;
            assert_eq!(h[0].source_ip, "203.0.113.200", "{origin:?}");
            assert!(h[0].origin_unverified, "{origin:?}");
            assert!(h[0].geo.is_none(), "viewer geolocation ignored");
        }
        // The secret itself is never stored.
        let all = store.query(&Default::default()).await.unwrap();
        assert!(all.iter().all(|h| !h.headers.contains_key(ORIGIN_VERIFY_HEADER)));
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

    /// With a persona of fields, the request's host and path, and a route,
    /// a hit and a miss sent the same way get the same header lines (names,
    /// case, order) and bytes, only the fields' fresh values differing.
    #[tokio::test]
    async fn hit_and_miss_get_the_same_answer_from_a_persona_with_fields_and_routes() {
        use crate::decoy::persona::{ExactHeaders, Persona};
        let (d, store, key) = setup();
        let p = Persona::from_json(
            r#"{"version":2,"name":"acme","fields":{"rid":{"kind":"uuid"},"date":{"kind":"http_date"},
              "trace":{"kind":"xray_trace_id"}},
              "invalid_credential":{"status":401},"no_credentials":{"status":401},
              "preflight":{"status":204},"unknown_method":{"status":405},
              "routes":[{"path":"/v1/**","invalid_credential":{"status":403,"headers":[
                ["Date","{date}"],["content-type","application/json"],["Content-Length","0"],
                ["x-amzn-RequestId","{rid}"],["X-Amzn-Trace-Id","Root={trace}"],
                ["WWW-Authenticate","Bearer realm=\"{host}\""]],
                "body":"{\"message\":\"Forbidden\",\"requestId\":\"{rid}\",\"path\":\"{path}\"}"}}]}"#,
        )
        .unwrap();
        let d = d.with_persona(p.clone());
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
        let sent = |auth: &str| {
            let mut r = req(auth);
            r.headers_mut()
                .insert("host", http::HeaderValue::from_static("api.acme.example"));
            r
        };
        let hit = d.handle(sent(&format!("Bearer {}", rec.token)), meta.clone()).await;
        let miss = d.handle(sent("Bearer sk_live_notourswhatsoever0000000000"), meta).await;
        assert_eq!(store.query(&Default::default()).await.unwrap().len(), 1);
        let template = p.routes[0].invalid_credential.as_ref().unwrap();
        let lines = |r: &Response<Bytes>| r.extensions().get::<ExactHeaders>().unwrap().0.clone();
        let (h, m) = (lines(&hit), lines(&miss));
        assert_eq!(
            (hit.status(), miss.status()),
            (http::StatusCode::FORBIDDEN, http::StatusCode::FORBIDDEN)
        );
        let names = |l: &[(String, String)]| l.iter().map(|(k, _)| k.clone()).collect::<Vec<_>>();
        assert_eq!(names(&h), names(&template.headers));
        assert_eq!(names(&h), names(&m));
        assert_eq!(h[5].1, "Bearer realm=\"api.acme.example\"");
        let mut differ = 0;
        for ((t, a), b) in template.headers.iter().zip(&h).zip(&m) {
            if t.0 == "Content-Length" {
                assert_eq!(
                    (&a.1, &b.1),
                    (&hit.body().len().to_string(), &miss.body().len().to_string())
                );
                continue;
            }
            let (va, vb) = (
                p.template_values(&t.1, &a.1).unwrap_or_else(|| panic!("{a:?}")),
                p.template_values(&t.1, &b.1).unwrap_or_else(|| panic!("{b:?}")),
            );
            differ += va.iter().zip(&vb).filter(|(x, y)| x.1 != y.1).count();
        }
        assert!(differ >= 2, "fresh ids and traces per answer");
        let body = |r: &Response<Bytes>| String::from_utf8(r.body().to_vec()).unwrap();
        for r in [&hit, &miss] {
            let text = body(r);
            let v = p.template_values(&template.body, &text).unwrap();
            assert_eq!(v[1], ("path".to_string(), "/v1/users"));
        }
        assert_eq!(body(&hit).len(), body(&miss).len());
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
        // Both are the persona's invalid-credential answer, per-request id aside.
        use crate::decoy::persona::RequestKind;
        assert!(d.persona().matches(RequestKind::Credential, &hit));
        assert!(d.persona().matches(RequestKind::Credential, &miss));
        let names = |r: &Response<Bytes>| r.headers().keys().cloned().collect::<Vec<_>>();
        assert_eq!(names(&hit), names(&miss));
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

    #[tokio::test]
    async fn stripping_a_jwt_signature_never_lowers_the_severity() {
        use crate::domain::alert::{Severity, severity};
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
        store.create(&rec).await.unwrap();
        let (signing_input, _) = rec.token.rsplit_once('.').unwrap();
        let intact = d
            .record(req(&format!("Bearer {}", rec.token)), RequestMeta::default())
            .await
            .remove(0);
        assert_eq!(severity(&intact), Severity::Critical);
        for stripped in [signing_input.to_string(), format!("{signing_input}.")] {
            let hits = d
                .record(req(&format!("Bearer {stripped}")), RequestMeta::default())
                .await;
            assert_eq!(hits.len(), 1, "a signature-stripped token is still a hit: {stripped}");
            assert!(hits[0].tampered);
            assert_eq!(severity(&hits[0]), Severity::Critical);
        }
    }
}
