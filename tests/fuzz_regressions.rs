//! Replays the fuzz seeds and every input a fuzzer ever crashed on
//! (fuzz/seeds, fuzz/regressions) through the same checks as the fuzz targets.

use honeytoken::decoy::{Decoy, RequestMeta};
use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::extract::{Limits, candidates};
use honeytoken::store::memory::MemoryStore;
use std::path::Path;
use std::sync::Arc;

#[path = "../fuzz/fuzz_targets/common.rs"]
mod common;

fn inputs(target: &str) -> Vec<Vec<u8>> {
    let root = Path::new(env!("CARGO_MANIFEST_DIR")).join("fuzz");
    let mut out = Vec::new();
    for dir in [root.join("seeds").join(target), root.join("regressions").join(target)] {
        for e in std::fs::read_dir(&dir).into_iter().flatten().flatten() {
            if e.file_name().to_string_lossy().starts_with('.') {
                continue;
            }
            out.push(std::fs::read(e.path()).unwrap());
        }
    }
    out
}

#[test]
fn extraction_inputs_stay_bounded() {
    let cases = inputs("extract");
    assert!(cases.len() >= 8, "seeds are missing");
    let mut found = 0;
    for data in cases {
        if let Some(req) = common::request(&data) {
            let (parts, body) = req.into_parts();
            let c = candidates(&parts, &body, &Limits::default());
            assert!(c.len() <= Limits::default().candidates);
            found += c.len();
        }
    }
    assert!(found > 0, "the seeds carry keys in every place a client puts them");
}

#[test]
fn recognition_inputs_do_not_panic_or_match() {
    let k = SigningKey::from_secret(b"fuzzing-signing-key-0123456789abcdef").unwrap();
    for data in inputs("recognise") {
        assert!(honeytoken::domain::token::recognise(&k, &data).is_none());
        let _ = honeytoken::domain::token::like::infer(&String::from_utf8_lossy(&data));
    }
}

#[tokio::test]
async fn handler_inputs_get_the_usual_answer() {
    let key = SigningKey::from_secret(b"fuzzing-signing-key-0123456789abcdef").unwrap();
    let store = Arc::new(MemoryStore::new());
    let decoy = Decoy::new(key, store.clone(), store);
    for data in inputs("handler") {
        if let Some(req) = common::request(&data) {
            // A tool's request shape (`/v2/`, `/api`, ...) gets that tool's persona.
            let p = decoy.persona_for(&req).clone();
            let kind = p.classify(req.method(), req.uri().path(), req.headers(), req.uri().query());
            let r = decoy.handle(req, RequestMeta::default()).await;
            assert!(p.matches(kind, &r), "{kind:?}: {r:?}");
        }
    }
}
