//! Noise control: source addresses and ranges (the team's own scanners, CI)
//! whose hits are stored flagged `ignored` and raise no alert. Never dropped:
//! an allowlisted hit is still evidence that the token is out there.
//!
//! Entries are global (kept by an [`AllowStore`]) or per token (kept on the
//! [`crate::token::TokenRecord`], which the decoy reads for every hit anyway).
//! The decoy reads the global list only when a request carried a honeytoken,
//! and then from a cache with a short time to live, so a non-hit never costs
//! a store read and a burst of hits costs one.

use ipnet::IpNet;
use serde::{Deserialize, Serialize};
use std::net::IpAddr;
use std::sync::{Arc, Mutex};
use std::time::{Duration, Instant};

use crate::error::{Error, Result};
use crate::store::AllowStore;

/// How long the decoy keeps the global allowlist before reading it again.
pub const DEFAULT_TTL: Duration = Duration::from_secs(30);

/// One allowlisted range.
#[derive(Debug, Clone, PartialEq, Eq, Serialize, Deserialize)]
pub struct AllowEntry {
    /// Network in CIDR notation, normalised (`10.1.0.0/16`, `2001:db8::/32`;
    /// a single address is `/32` or `/128`).
    pub cidr: String,
    /// Why it is allowed (who scans from there).
    #[serde(default)]
    pub note: String,
    /// When it was added, RFC 3339.
    pub added_at: String,
}

impl AllowEntry {
    /// A new entry for `cidr` (validated and normalised) added now.
    pub fn new(cidr: &str, note: &str) -> Result<Self> {
        Ok(AllowEntry {
            cidr: parse_cidr(cidr)?.to_string(),
            note: note.to_string(),
            added_at: crate::time::now(),
        })
    }

    /// The network, if the stored text still parses.
    pub fn net(&self) -> Option<IpNet> {
        self.cidr.parse().ok()
    }
}

/// Parses a CIDR range or a single address into its normalised network
/// (host bits cleared, IPv4-mapped IPv6 turned into IPv4).
pub fn parse_cidr(s: &str) -> Result<IpNet> {
    let s = s.trim();
    let net = match s.parse::<IpNet>() {
        Ok(n) => n,
        Err(_) => match s.parse::<IpAddr>() {
            Ok(ip) => IpNet::from(ip),
            Err(_) => {
                return Err(Error::Invalid(format!(
                    "{s:?} is not an address or CIDR range; use e.g. 203.0.113.7, 10.0.0.0/8 or 2001:db8::/32"
                )));
            }
        },
    };
    let net = match net {
        IpNet::V6(v6) => match v6.addr().to_ipv4_mapped() {
            Some(v4) if v6.prefix_len() >= 96 => {
                IpNet::new(IpAddr::V4(v4), v6.prefix_len() - 96).map_err(|e| Error::Invalid(e.to_string()))?
            }
            _ => IpNet::V6(v6),
        },
        n => n,
    };
    Ok(net.trunc())
}

/// Parses a hit's source address (as the decoy stored it).
fn source_addr(source_ip: &str) -> Option<IpAddr> {
    source_ip.trim().parse::<IpAddr>().ok().map(|ip| ip.to_canonical())
}

/// Whether `source_ip` lies in a global range or one of the token's own.
/// An address that does not parse is never allowlisted.
pub fn is_allowed(source_ip: &str, global: &[IpNet], per_token: &[AllowEntry]) -> bool {
    let Some(ip) = source_addr(source_ip) else {
        return false;
    };
    global.iter().any(|n| n.contains(&ip)) || per_token.iter().filter_map(AllowEntry::net).any(|n| n.contains(&ip))
}

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

    #[test]
    fn parse_normalises_and_rejects_garbage() {
        assert_eq!(parse_cidr("10.1.2.3/16").unwrap().to_string(), "10.1.0.0/16");
        assert_eq!(parse_cidr("203.0.113.7").unwrap().to_string(), "203.0.113.7/32");
        assert_eq!(parse_cidr("2001:db8::1/32").unwrap().to_string(), "2001:db8::/32");
        assert_eq!(parse_cidr("::ffff:192.0.2.0/120").unwrap().to_string(), "192.0.2.0/24");
        let e = parse_cidr("10.0.0.0/33").unwrap_err().to_string();
        assert!(e.contains("CIDR"), "{e}");
        assert!(parse_cidr("example.com").is_err());
    }

    #[test]
    fn matching_global_and_per_token() {
        let global = vec![parse_cidr("10.0.0.0/8").unwrap()];
        let own = vec![AllowEntry::new("192.0.2.0/24", "ci").unwrap()];
        assert!(is_allowed("10.200.1.1", &global, &[]));
        assert!(
            is_allowed("::ffff:10.0.0.1", &global, &[]),
            "IPv4-mapped peers match IPv4 ranges"
        );
        assert!(is_allowed("192.0.2.9", &[], &own));
        assert!(!is_allowed("192.0.3.9", &global, &own));
        assert!(!is_allowed("not-an-ip", &global, &own));
        assert!(!is_allowed("", &global, &own));
    }

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
        use crate::token::{MintSpec, TokenRecord, mint};
        let key = crate::key::SigningKey::from_secret(&[2u8; 32]).unwrap();
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
        use crate::store::{HitStore, TokenStore};
        use crate::token::{Alphabet, KeyShape, MintSpec, mint};
        let key = crate::key::SigningKey::from_secret(&[7u8; 32]).unwrap();
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
