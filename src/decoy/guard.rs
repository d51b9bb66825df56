//! The guard's hits into the same stores as the decoy's: the store side of
//! `honeytoken-guard`'s [`HitSink`]. The guard (inside a real API, or the
//! `honeytoken guard` proxy) recognises tokens with no I/O and reports in
//! the background; here each hit gets its token's record (label, location,
//! state; orphan when there is none), the claims a tampered JWT changed,
//! the global allowlist, and is stored under the decoy's flood rule, so the
//! same stream, alerter, throttle and channels handle it.

use std::sync::Arc;

use honeytoken_guard::{BoxFuture, HitSink, Report, SinkError};

use crate::decoy::allowlist::Allowlist;
use crate::domain::HitListener;
use crate::domain::flood::FloodRule;
use crate::store::{HitStore, TokenStore};

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

    async fn store(&self, r: Report) -> crate::Result<()> {
        let Report { mut hit, jwt: seen } = r;
        let global = match &self.allowlist {
            Some(a) => a.global().await,
            None => Default::default(),
        };
        crate::decoy::attribute::attribute(self.tokens.as_ref(), &global, &mut hit, seen.as_ref()).await;
        match self.hits.record(&hit, &self.flood).await {
            Ok(kept) => {
                if let Some(l) = &self.listener {
                    let stored = match kept {
                        crate::store::Kept::Spooled => crate::domain::Stored::Spooled,
                        _ => crate::domain::Stored::Yes,
                    };
                    l(&hit, stored);
                }
                Ok(())
            }
            Err(e) => {
                // The decoy's own fallback: the whole hit on one log line (and metric).
                crate::decoy::log_unstored(&hit, &e);
                Err(e)
            }
        }
    }
}

impl HitSink for StoreSink {
    fn report(&self, r: Report) -> BoxFuture<'_, Result<(), SinkError>> {
        Box::pin(async move { self.store(r).await.map_err(|e| e.to_string()) })
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
}
