//! CPU cost of the decoy path: extraction, recognition per kind, and the
//! whole handler over an in-memory store, for a hit and a miss.
//!
//! Run: `cargo bench --bench handler` (results in BENCHMARKS.md).

use bytes::Bytes;
use criterion::{BenchmarkId, Criterion, Throughput, criterion_group, criterion_main};
use honeytoken::decoy::{Decoy, RequestMeta};
use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::extract::{Limits, candidates};
use honeytoken::domain::token::{self, Alphabet, KeyShape, MintSpec, recognise};
use honeytoken::store::TokenStore;
use honeytoken::store::memory::MemoryStore;
use std::hint::black_box;
use std::sync::Arc;

fn key() -> SigningKey {
    SigningKey::from_secret(b"benchmark-signing-key-0123456789abcdef").unwrap()
}

fn now() -> time::OffsetDateTime {
    time::OffsetDateTime::now_utc()
}

/// An ordinary API request: a browser-ish set of headers, a bearer token
/// that is not ours, a small JSON body.
fn typical(auth: &str) -> http::Request<Bytes> {
    http::Request::builder()
        .method("POST")
        .uri("/v1/charges?expand=customer&limit=10")
        .header("host", "api.acme-payments.com")
        .header("user-agent", "python-requests/2.31.0")
        .header("accept", "application/json")
        .header("accept-encoding", "gzip, deflate")
        .header("content-type", "application/json")
        .header("authorization", auth)
        .header("x-request-id", "7b0e1f0c-3a55-4a8e-9c57-0f6f8f3f2a11")
        .header("x-forwarded-for", "203.0.113.9")
        .body(Bytes::from_static(
            br#"{"amount":2000,"currency":"usd","description":"Order 1234","metadata":{"order_id":"6735"}}"#,
        ))
        .unwrap()
}

/// A hostile request: 100 long headers, a 64 KiB body of token-length words.
fn hostile() -> http::Request<Bytes> {
    let mut b = http::Request::builder()
        .method("POST")
        .uri("/x?".to_string() + &"a=".repeat(2000));
    for i in 0..100 {
        b = b.header(format!("x-h{i}"), "sk_live_".to_string() + &"A".repeat(60 + i));
    }
    let body: String = (0..2000).map(|i| format!("word{i:028} ")).collect();
    b.body(Bytes::from(body)).unwrap()
}

fn bench_extract(c: &mut Criterion) {
    let mut g = c.benchmark_group("extract");
    let limits = Limits::default();
    let (p, body) = typical("Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc").into_parts();
    g.bench_function("typical", |b| {
        b.iter(|| candidates(black_box(&p), black_box(&body), &limits))
    });
    let (p, body) = hostile().into_parts();
    g.throughput(Throughput::Bytes(body.len() as u64));
    g.bench_function("hostile", |b| {
        b.iter(|| candidates(black_box(&p), black_box(&body), &limits))
    });
    g.finish();
}

fn bench_recognise(c: &mut Criterion) {
    let k = key();
    let mut g = c.benchmark_group("recognise");
    for a in [Alphabet::Base62, Alphabet::Hex, Alphabet::Base64url, Alphabet::Base32] {
        let t = token::mint(
            &k,
            &MintSpec::Key(KeyShape::plain("acme_", a, a.identity_len() + 8).unwrap()),
            "b",
            "",
            "",
            now(),
        )
        .unwrap();
        g.bench_with_input(BenchmarkId::new("key_hit", a), &t.token, |b, t| {
            b.iter(|| recognise(&k, black_box(t.as_bytes())))
        });
    }
    let jwt = token::mint(
        &k,
        &MintSpec::Jwt {
            issuer: "https://auth.internal".into(),
        },
        "b",
        "loc",
        "",
        now(),
    )
    .unwrap();
    g.bench_function("jwt_hit", |b| b.iter(|| recognise(&k, black_box(jwt.token.as_bytes()))));
    let miss = "sk_live_4eC39HqLyjWDarjtT1zdp7dc";
    g.bench_function("key_miss", |b| b.iter(|| recognise(&k, black_box(miss.as_bytes()))));
    let jwt_miss = "eyJhbGciOiJIUzI1NiIsInR5cCI6IkpXVCJ9.eyJzdWIiOiIxMjM0NTY3ODkwIiwibmFtZSI6IkpvaG4gRG9lIiwiaWF0IjoxNTE2MjM5MDIyfQ.SflKxwRJSMeKKF2QT4fwpMeJf36POk6yJV_adQssw5c";
    g.bench_function("jwt_miss", |b| b.iter(|| recognise(&k, black_box(jwt_miss.as_bytes()))));
    g.finish();
}

fn bench_handler(c: &mut Criterion) {
    let rt = tokio::runtime::Builder::new_current_thread()
        .enable_all()
        .build()
        .unwrap();
    let k = key();
    let store = Arc::new(MemoryStore::new());
    let rec = token::mint(
        &k,
        &MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap()),
        "bench",
        "bench/.env",
        "",
        now(),
    )
    .unwrap();
    rt.block_on(store.create(&rec)).unwrap();
    let decoy = Decoy::new(k, store.clone(), store.clone());
    let meta = RequestMeta {
        source_ip: "203.0.113.9".into(),
        request_id: None,
    };
    let mut g = c.benchmark_group("handler");
    let miss = typical("Bearer sk_live_4eC39HqLyjWDarjtT1zdp7dc");
    g.bench_function("miss", |b| {
        b.to_async(&rt)
            .iter(|| decoy.handle(black_box(miss.clone()), meta.clone()))
    });
    let hit = typical(&format!("Bearer {}", rec.token));
    g.bench_function("hit_memory_store", |b| {
        b.to_async(&rt)
            .iter(|| decoy.handle(black_box(hit.clone()), meta.clone()))
    });
    g.bench_function("hostile_miss", |b| {
        let h = hostile();
        b.to_async(&rt)
            .iter(|| decoy.handle(black_box(h.clone()), meta.clone()))
    });
    g.finish();
}

criterion_group!(benches, bench_extract, bench_recognise, bench_handler);
criterion_main!(benches);
