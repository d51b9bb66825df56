#![no_main]
//! The whole decoy handler on arbitrary requests: always the same answer.

use honeytoken::decoy::{Decoy, RequestMeta};
use honeytoken::domain::key::SigningKey;
use honeytoken::store::memory::MemoryStore;
use libfuzzer_sys::fuzz_target;
use std::sync::{Arc, OnceLock};

#[path = "common.rs"]
mod common;

struct Env {
    rt: tokio::runtime::Runtime,
    decoy: Decoy,
    expected: (http::StatusCode, bytes::Bytes),
}

fn env() -> &'static Env {
    static E: OnceLock<Env> = OnceLock::new();
    E.get_or_init(|| {
        let key = SigningKey::from_secret(b"fuzzing-signing-key-0123456789abcdef").unwrap();
        let store = Arc::new(MemoryStore::new());
        let decoy = Decoy::new(key, store.clone(), store);
        let r = decoy.persona().response();
        let expected = (r.status(), r.body().clone());
        let rt = tokio::runtime::Builder::new_current_thread().build().unwrap();
        Env { rt, decoy, expected }
    })
}

fuzz_target!(|data: &[u8]| {
    let e = env();
    if let Some(req) = common::request(data) {
        let meta = RequestMeta {
            source_ip: "198.51.100.7".into(),
            request_id: None,
        };
        let r = e.rt.block_on(e.decoy.handle(req, meta));
        assert_eq!((r.status(), r.body().clone()), e.expected.clone());
    }
});
