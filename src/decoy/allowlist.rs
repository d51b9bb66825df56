//! The global allowlist as the decoy reads it: only when a request carried a
//! honeytoken, and then from a cache with a short time to live, so a non-hit
//! never costs a store read and a burst of hits costs one.

use ipnet::IpNet;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::domain::allow::AllowEntry;
use crate::store::AllowStore;

/// How long the decoy keeps the global allowlist before reading it again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// The global allowlist as the decoy sees it: read from the store at most
/// once per time to live, and only when asked (that is, for hits).
pub struct Allowlist {
    store: Arc<dyn AllowStore>,
    ttl: Duration,
    cache: Mutex<Option<(Instant, Arc<Vec<IpNet>>)>>,
}

impl Allowlist {
    /// A cached view of `store`'s global entries, refreshed after `ttl`.
    pub fn new(store: Arc<dyn AllowStore>, ttl: Duration) -> Self {
        Allowlist {
            store,
            ttl,
            cache: Mutex::new(None),
        }
    }

    /// The global ranges. When the store cannot be read, the last list read
    /// is kept (and the failure logged); with none, nothing is allowlisted,
    /// so a store outage errs towards alerting.
    pub async fn global(&self) -> Arc<Vec<IpNet>> {
        let cached = self.cache.lock().map(|c| c.clone()).unwrap_or(None);
        if let Some((at, nets)) = &cached
            && at.elapsed() < self.ttl
        {
            return nets.clone();
        }
        match self.store.allow_list().await {
            Ok(entries) => {
                let nets: Arc<Vec<IpNet>> = Arc::new(entries.iter().filter_map(AllowEntry::net).collect());
                if let Ok(mut c) = self.cache.lock() {
                    *c = Some((Instant::now(), nets.clone()));
                }
                nets
            }
            Err(e) => {
                tracing::error!(event = "allowlist_read_failed", error = %e);
                cached.map(|(_, n)| n).unwrap_or_default()
            }
        }
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::store::memory::MemoryStore;

    #[tokio::test]
    async fn global_list_is_cached_for_its_ttl() {
        let store = Arc::new(MemoryStore::new());
        store
            .allow_add(&AllowEntry::new("10.0.0.0/8", "").unwrap())
            .await
            .unwrap();
        let cached = Allowlist::new(store.clone(), Duration::from_secs(3600));
        assert_eq!(cached.global().await.len(), 1);
        store
            .allow_add(&AllowEntry::new("192.0.2.0/24", "").unwrap())
            .await
            .unwrap();
        assert_eq!(cached.global().await.len(), 1, "served from the cache");
        assert_eq!(store.allow_reads(), 1);
        let fresh = Allowlist::new(store.clone(), Duration::ZERO);
        assert_eq!(fresh.global().await.len(), 2);
        assert_eq!(fresh.global().await.len(), 2);
        assert_eq!(store.allow_reads(), 3);
    }

    #[cfg(feature = "aws")]
    #[test]
    fn per_token_entries_survive_a_dynamodb_item_round_trip() {
        use crate::domain::token::{MintSpec, TokenRecord, mint};
        let key = crate::domain::key::SigningKey::from_secret(&[2u8; 32]).unwrap();
        let mut t = mint(
            &key,
            &MintSpec::Jwt { issuer: "i".into() },
            "l",
            "",
            "",
            time::OffsetDateTime::now_utc(),
        )
        .unwrap();
        t.allow.push(AllowEntry::new("192.0.2.0/24", "ci").unwrap());
        let item: std::collections::HashMap<String, aws_sdk_dynamodb::types::AttributeValue> =
            serde_dynamo::to_item(&t).unwrap();
        let back: TokenRecord = serde_dynamo::from_item(item).unwrap();
        assert_eq!(back.allow, t.allow);
    }

    #[tokio::test]
    async fn decoy_flags_allowlisted_hits_and_never_reads_the_list_for_misses() {
        use crate::decoy::{Decoy, RequestMeta};
        use crate::domain::token::{Alphabet, KeyShape, MintSpec, mint};
        use crate::store::{HitStore, TokenStore};
        let key = crate::domain::key::SigningKey::from_secret(&[7u8; 32]).unwrap();
        let store = Arc::new(MemoryStore::new());
        store
            .allow_add(&AllowEntry::new("10.0.0.0/8", "office").unwrap())
            .await
            .unwrap();
        let shape = KeyShape::plain("acme_", Alphabet::Base62, 32).unwrap();
        let now = time::OffsetDateTime::now_utc();
        let plain = mint(&key, &MintSpec::Key(shape.clone()), "plain", "", "", now).unwrap();
        let mut own = mint(&key, &MintSpec::Key(shape), "own", "", "", now).unwrap();
        own.allow.push(AllowEntry::new("192.0.2.0/24", "ci").unwrap());
        store.create(&plain).await.unwrap();
        store.create(&own).await.unwrap();
        let decoy = Decoy::new(key, store.clone(), store.clone())
            .with_allowlist(Arc::new(Allowlist::new(store.clone(), Duration::from_secs(60))));
        let send = |token: String, ip: &str| {
            let req = http::Request::builder()
                .uri("/v1/x")
                .header("authorization", format!("Bearer {token}"))
                .body(bytes::Bytes::new())
                .unwrap();
            decoy.record(
                req,
                RequestMeta {
                    source_ip: ip.into(),
                    request_id: None,
                },
            )
        };
        for _ in 0..50 {
            assert!(
                send("acme_notoursnotoursnotoursnotours00".into(), "203.0.113.1")
                    .await
                    .is_empty()
            );
        }
        assert_eq!(store.allow_reads(), 0, "misses never read the allowlist");
        let cases = [
            (plain.token.clone(), "10.1.2.3", true),
            (plain.token.clone(), "192.0.2.5", false),
            (own.token.clone(), "192.0.2.5", true),
            (own.token.clone(), "198.51.100.1", false),
        ];
        for (token, ip, ignored) in cases {
            let h = send(token, ip).await;
            assert_eq!(h.len(), 1);
            assert_eq!(h[0].ignored, ignored, "{ip}");
            assert_eq!(h[0].alerts(), !ignored);
        }
        assert_eq!(store.allow_reads(), 1, "one read, then the cache");
        assert_eq!(
            store
                .query(&Default::default())
                .await
                .unwrap()
                .iter()
                .filter(|h| h.ignored)
                .count(),
            2
        );
    }
}
