//! The decoy records a token however a client hides it from a careless
//! scan (issue 24, item 6): the shared list of evasions, each sent through
//! the decoy's handler, each stored as a hit saying where the token was.

use bytes::Bytes;
use honeytoken::decoy::{Decoy, RequestMeta};
use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
use honeytoken::store::memory::MemoryStore;
use honeytoken::store::{HitQuery, HitStore, TokenStore};
use std::sync::Arc;

#[tokio::test]
async fn every_evasion_of_the_scan_bounds_is_recorded_by_the_decoy() {
    let key = SigningKey::from_secret(&[9u8; 32]).unwrap();
    let rec = mint(
        &key,
        &MintSpec::Key(KeyShape::plain("sk_live_", Alphabet::Base62, 32).unwrap()),
        "evasions",
        "",
        "",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    let evasions = honeytoken_core::testkit::evasions(&rec.token);
    assert!(evasions.len() >= 12);
    for e in evasions {
        // A fresh store per case: each case's hit is its own.
        let store = Arc::new(MemoryStore::new());
        store.create(&rec).await.unwrap();
        let decoy = Decoy::new(key.clone(), store.clone(), store.clone());
        let (parts, body) = e.request.into_parts();
        let meta = RequestMeta {
            source_ip: "203.0.113.9".into(),
            request_id: None,
        };
        decoy
            .handle(http::Request::from_parts(parts, Bytes::from(body)), meta)
            .await;
        let hits = store.query(&HitQuery::default()).await.unwrap();
        assert_eq!(hits.len(), 1, "{}: no hit recorded", e.name);
        assert_eq!(hits[0].token_id, rec.id, "{}", e.name);
        assert_eq!(hits[0].found_in, e.found_in, "{}", e.name);
        assert_eq!(hits[0].label, "evasions", "{}", e.name);
    }
}
