//! Cost under scanning: 100,000 requests carrying well-formed keys and JWTs
//! that this deployment never minted (made with another signing key, so they
//! have exactly the shapes ours have) must cause zero store reads.
//!
//! Then the hostile request of `benches/handler.rs` (100 long headers, a
//! 64 KiB body of token-length words: about 2,100 candidates, every one
//! checked since extraction has byte bounds instead of a count cap), and a
//! worst case built to pass every cheap test: 64 KiB of distinct random
//! base62 words, each of which costs the HMACs of its alphabet families.
//!
//! Run: `cargo bench --bench scan_cost` (prints the counts and the times).

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

    let hostile = |body: Bytes| {
        let mut b = http::Request::builder()
            .method("POST")
            .uri("/x?".to_string() + &"a=".repeat(2000));
        for i in 0..100 {
            b = b.header(format!("x-h{i}"), "sk_live_".to_string() + &"A".repeat(60 + i));
        }
        b.body(body).unwrap()
    };
    let filler: String = (0..2000).map(|i| format!("word{i:028} ")).collect();
    let mut rng = rand::rng();
    let random: String = (0..2800)
        .map(|_| {
            let w: String = (0..22)
                .map(|_| Alphabet::Base62.random_char(&mut rng) as char)
                .collect();
            w + " "
        })
        .take_while({
            let mut n = 0;
            move |w| {
                n += w.len();
                n <= 64 * 1024
            }
        })
        .collect();
    for (name, body) in [
        ("hostile (filler words)", filler),
        ("worst case (random base62 words)", random),
    ] {
        let body = Bytes::from(body);
        let (parts, b) = hostile(body.clone()).into_parts();
        let n = honeytoken::domain::token::extract::candidates(&parts, &b, &Default::default()).len();
        let rounds = 2_000;
        let reqs: Vec<_> = (0..rounds).map(|_| hostile(body.clone())).collect();
        let start = Instant::now();
        rt.block_on(async {
            for req in reqs {
                let r = decoy.handle(req, meta.clone()).await;
                assert_eq!(r.status(), 401);
            }
        });
        println!(
            "scan_cost: {name}: {n} candidates, {:.1} µs/request (whole handler)",
            start.elapsed().as_secs_f64() * 1e6 / rounds as f64
        );
    }
    assert_eq!(store.reads(), 0);
}
