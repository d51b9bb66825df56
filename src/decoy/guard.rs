//! The guard's hits into the same stores as the decoy's: the store side of
//! `honeytoken-guard`'s [`HitSink`]. The guard (inside a real API, or the
//! `honeytoken guard` proxy) recognises tokens with no I/O and reports in
//! the background; here each hit gets its token's record (label, location,
//! state; orphan when there is none), the claims a tampered JWT changed,
//! the global allowlist, and is stored under the decoy's flood rule, so the
//! same stream, alerter, throttle and channels handle it.
//!
//! A flood's counted requests arrive as one [`Counted`] batch: the token is
//! looked up once, and every request is recorded (so the store's count is
//! exact) with up to [`COUNTED_IN_FLIGHT`] writes at once, which a store
//! with group commit takes in a few transactions. Requests the guard had to
//! drop are reported on the terminal, in the log (the hit in full, as for a
//! hit the store refused) and as alerts.

use std::sync::Arc;

use honeytoken_guard::{BoxFuture, Counted, HitSink, Report, SinkError};

use crate::decoy::allowlist::Allowlist;
use crate::domain::HitListener;
use crate::domain::flood::FloodRule;
use crate::store::{HitStore, TokenStore};

/// Counted requests of one batch recorded at once.
pub const COUNTED_IN_FLIGHT: usize = 256;

/// Stores a guard's hits in a backend's stores.
pub struct StoreSink {
    tokens: Arc<dyn TokenStore>,
    hits: Arc<dyn HitStore>,
    flood: FloodRule,
    allowlist: Option<Arc<Allowlist>>,
    listener: Option<HitListener>,
}

impl StoreSink {
    /// Over these stores, with the default flood rule.
    pub fn new(tokens: Arc<dyn TokenStore>, hits: Arc<dyn HitStore>) -> Self {
        StoreSink {
            tokens,
            hits,
            flood: FloodRule::default(),
            allowlist: None,
            listener: None,
        }
    }

    /// The flood rule hits are kept under (the decoy's, by default).
    pub fn with_flood_rule(mut self, rule: FloodRule) -> Self {
        self.flood = rule;
        self
    }

    /// Flags hits from globally allowlisted sources `ignored`.
    pub fn with_allowlist(mut self, a: Arc<Allowlist>) -> Self {
        self.allowlist = Some(a);
        self
    }

    /// Calls `f` with every stored hit (the local alert fan-out).
    pub fn with_listener(mut self, f: HitListener) -> Self {
        self.listener = Some(f);
        self
    }

    /// The hit with its token's record and the allowlist applied.
    async fn attributed(&self, r: Report) -> crate::domain::hit::Hit {
        let Report { mut hit, jwt: seen } = r;
        let global = match &self.allowlist {
            Some(a) => a.global().await,
            None => Default::default(),
        };
        crate::decoy::attribute::attribute(self.tokens.as_ref(), &global, &mut hit, seen.as_ref()).await;
        hit
    }

    fn stored(&self, hit: &crate::domain::hit::Hit, kept: crate::Result<crate::store::Kept>) -> crate::Result<()> {
        match kept {
            Ok(kept) => {
                if let Some(l) = &self.listener {
                    let stored = match kept {
                        crate::store::Kept::Spooled => crate::domain::Stored::Spooled,
                        _ => crate::domain::Stored::Yes,
                    };
                    l(hit, stored);
                }
                Ok(())
            }
            Err(e) => {
                // The decoy's own fallback: the whole hit on one log line (and metric).
                crate::decoy::log_unstored(hit, &e);
                if let Some(l) = &self.listener {
                    l(hit, crate::domain::Stored::Failed);
                }
                Err(e)
            }
        }
    }

    /// The flood rule `hit` is kept under: the decoy's, and for a
    /// suspicious request the decoy's rule for those (one whole per source
    /// and bucket), so the guard keeps exactly what the decoy keeps.
    fn rule_for(&self, hit: &crate::domain::hit::Hit) -> FloodRule {
        if hit.is_suspicious() {
            self.flood.for_suspicious()
        } else {
            self.flood
        }
    }

    async fn store(&self, r: Report) -> crate::Result<()> {
        let hit = self.attributed(r).await;
        let kept = self.hits.record(&hit, &self.rule_for(&hit)).await;
        self.stored(&hit, kept)
    }

    async fn store_counted(&self, c: Counted) -> std::result::Result<u64, SinkError> {
        let total = c.count;
        // One token lookup for the batch: every request carries the same token.
        let first = self.attributed(c.first.clone()).await;
        let attribution = |mut h: crate::domain::hit::Hit| {
            h.label.clone_from(&first.label);
            h.location.clone_from(&first.location);
            h.token_state = first.token_state;
            h.orphan = first.orphan;
            h.ignored = first.ignored;
            // What the JWT says is each request's own; the changed claims are the first's.
            if h.tampered == first.tampered {
                h.tampered_claims.clone_from(&first.tampered_claims);
            }
            h
        };
        let rule = self.rule_for(&first);
        let mut hits = c.reports().map(|r| attribution(r.hit));
        let mut stored = 0u64;
        let mut failure: Option<String> = None;
        loop {
            let mut set = tokio::task::JoinSet::new();
            for hit in hits.by_ref().take(COUNTED_IN_FLIGHT) {
                let store = self.hits.clone();
                set.spawn(async move {
                    let kept = store.record(&hit, &rule).await;
                    (hit, kept)
                });
            }
            if set.is_empty() {
                break;
            }
            while let Some(done) = set.join_next().await {
                match done {
                    Ok((hit, kept)) => {
                        let failed = kept.as_ref().err().map(|e| e.to_string());
                        // Only the first failure of a batch goes to the log in full.
                        if let Some(e) = failed {
                            if failure.is_none() {
                                let _ = self.stored(&hit, Err(crate::Error::Store(e.clone())));
                                failure = Some(e);
                            }
                        } else {
                            let _ = self.stored(&hit, kept);
                            stored += 1;
                        }
                    }
                    Err(e) => failure = Some(format!("hit write task: {e}")),
                }
            }
        }
        match failure {
            Some(e) if stored == 0 => Err(format!("none of {total} request(s) stored: {e}")),
            _ => Ok(stored),
        }
    }

    async fn report_dropped(&self, first: Report, count: u64) {
        let hit = self.attributed(first).await;
        let why = crate::Error::Store(format!(
            "the guard's queue was full: {count} request(s) of this token from this source were not stored"
        ));
        eprintln!(
            "HITS DROPPED: {count} request(s) of token {} from {} not stored: the guard's queue was full (the first is in the log)",
            hit.token_id, hit.source_ip
        );
        crate::decoy::log_unstored(&hit, &why);
        if let Some(l) = &self.listener {
            // Each dropped request counts in its pair's alert window, as a stored one would.
            for _ in 0..count {
                l(&hit, crate::domain::Stored::Failed);
            }
        }
    }
}

impl HitSink for StoreSink {
    fn report(&self, r: Report) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move { self.store(r).await.map_err(|e| e.to_string()) })
    }

    fn report_counted(&self, counted: Counted) -> BoxFuture<'_, Result<u64, SinkError>> {
        Box::pin(self.store_counted(counted))
    }

    fn dropped(&self, first: Report, count: u64) -> BoxFuture<'_, ()> {
        Box::pin(self.report_dropped(first, count))
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hit::Via;
    use crate::domain::token::{Alphabet, KeyShape, MintSpec, mint};
    use crate::store::memory::MemoryStore;
    use honeytoken_guard::Guard;

    #[tokio::test]
    async fn a_guard_hit_is_stored_with_its_token_record_under_the_flood_rule() {
        let key = honeytoken_core::testkit::key(3);
        let store = Arc::new(MemoryStore::new());
        let rec = mint(
            &key,
            &MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap()),
            "payments-env",
            "github.com/acme/payments/.env",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        store.create(&rec).await.unwrap();
        let sink = StoreSink::new(store.clone(), store.clone()).with_flood_rule(FloodRule {
            whole: 2,
            bucket: std::time::Duration::from_secs(3600),
        });
        let g = Guard::new(key, "payments-api");
        let (mut parts, _) = http::Request::builder()
            .uri("/v1/charges")
            .header("authorization", format!("Bearer {}", rec.token))
            .body(())
            .unwrap()
            .into_parts();
        parts
            .extensions
            .insert(honeytoken_guard::ClientAddr("203.0.113.5:5555".parse().unwrap()));
        for _ in 0..5 {
            let d = g.inspect(&parts, b"");
            for hit in g.hits(&parts, &d) {
                sink.report(Report { hit, jwt: None }).await.unwrap();
            }
        }
        let hits = store.query(&Default::default()).await.unwrap();
        assert_eq!(hits.len(), 3, "two whole and one counter");
        assert_eq!(hits.iter().map(|h| h.count).sum::<u64>(), 5);
        let h = &hits[0];
        assert_eq!(h.label, "payments-env");
        assert_eq!(h.source_ip, "203.0.113.5");
        assert!(!h.orphan);
        assert_eq!(
            h.via,
            Via::Guard {
                service: "payments-api".into()
            }
        );
    }

    #[tokio::test]
    async fn a_counted_batch_is_stored_exactly_and_drops_are_alerted() {
        let key = honeytoken_core::testkit::key(3);
        let store = Arc::new(MemoryStore::new());
        let rec = mint(
            &key,
            &MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap()),
            "payments-env",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        store.create(&rec).await.unwrap();
        let heard = Arc::new(std::sync::Mutex::new(Vec::new()));
        let h = heard.clone();
        let sink = StoreSink::new(store.clone(), store.clone())
            .with_flood_rule(FloodRule {
                whole: 2,
                bucket: std::time::Duration::from_secs(3600),
            })
            .with_listener(Arc::new(move |_, stored| h.lock().unwrap().push(stored)));
        let g = Guard::new(key, "payments-api");
        let (mut parts, _) = http::Request::builder()
            .uri("/v1/charges")
            .header("authorization", format!("Bearer {}", rec.token))
            .body(())
            .unwrap()
            .into_parts();
        parts
            .extensions
            .insert(honeytoken_guard::ClientAddr("203.0.113.5:5555".parse().unwrap()));
        let hit = || g.hits(&parts, &g.inspect(&parts, b"")).remove(0);
        let first = Report { hit: hit(), jwt: None };
        let stored = sink
            .report_counted(Counted {
                first: first.clone(),
                samples: vec![Report { hit: hit(), jwt: None }],
                count: 1000,
            })
            .await
            .unwrap();
        assert_eq!(stored, 1000);
        let hits = store.query(&Default::default()).await.unwrap();
        assert_eq!(hits.len(), 3, "two whole and one counter");
        assert_eq!(hits.iter().map(|h| h.count).sum::<u64>(), 1000, "the count is exact");
        assert!(hits.iter().all(|h| h.label == "payments-env"));
        assert_eq!(
            heard.lock().unwrap().len(),
            1000,
            "every request reaches the alert fan-out"
        );
        heard.lock().unwrap().clear();
        sink.dropped(first, 7).await;
        let heard = heard.lock().unwrap().clone();
        assert_eq!(heard.len(), 7, "each dropped request counts in its pair's alerts");
        assert!(heard.iter().all(|s| *s == crate::domain::Stored::Failed));
        assert_eq!(
            store.query(&Default::default()).await.unwrap().len(),
            3,
            "drops are not stored"
        );
    }
}
