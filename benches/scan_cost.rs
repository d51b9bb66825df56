//! Cost under scanning: 100,000 requests carrying well-formed keys and JWTs
//! that this deployment never minted (made with another signing key, so they
//! have exactly the shapes ours have) must cause zero store reads.
//!
//! Run: `cargo bench --bench scan_cost` (prints the counts and the time).

use bytes::Bytes;
use honeytoken::decoy::{Decoy, RequestMeta};
use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::{self, Alphabet, KeyShape, MintSpec};
use honeytoken::store::memory::MemoryStore;
use std::sync::Arc;
use std::time::Instant;

const REQUESTS: usize = 100_000;

fn main() {
    let ours = SigningKey::from_secret(b"scan-cost-deployment-key-0123456789").unwrap();
    let theirs = SigningKey::from_secret(b"scan-cost-some-other-key-0123456789").unwrap();
    let now = time::OffsetDateTime::now_utc();
    let specs: Vec<MintSpec> = Alphabet::ALL
        .iter()
        .map(|a| MintSpec::Key(KeyShape::plain("acme_live_", *a, a.identity_len() + 6).unwrap()))
        .chain([MintSpec::Jwt {
            issuer: "https://auth.internal".into(),
        }])
        .collect();
    let tokens: Vec<String> = (0..1000)
        .map(|i| {
            token::mint(&theirs, &specs[i % specs.len()], "x", "", "", now)
                .unwrap()
                .token
        })
        .collect();
    let store = Arc::new(MemoryStore::new());
    let decoy = Decoy::new(ours, store.clone(), store.clone());
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let meta = RequestMeta {
        source_ip: "203.0.113.9".into(),
        request_id: None,
    };
    let start = Instant::now();
    rt.block_on(async {
        for i in 0..REQUESTS {
            let t = &tokens[i % tokens.len()];
            let req = http::Request::builder()
                .uri(format!("/v1/users?api_key={t}"))
                .header("authorization", format!("Bearer {t}"))
                .header("x-api-key", t.as_str())
                .body(Bytes::new())
                .unwrap();
            let r = decoy.handle(req, meta.clone()).await;
            assert_eq!(r.status(), 401);
        }
    });
    let el = start.elapsed();
    println!(
        "scan_cost: {REQUESTS} requests with well-formed unminted tokens (3 candidates each): \
         store reads = {}, hits stored = {}, {:.2} µs/request",
        store.reads(),
        store.hit_count(),
        el.as_secs_f64() * 1e6 / REQUESTS as f64
    );
    assert_eq!(store.reads(), 0, "an unminted token reached the store");
}
