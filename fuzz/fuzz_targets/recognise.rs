#![no_main]
//! Recognition of arbitrary candidates (keys of every alphabet, JWTs): never
//! panics, and never accepts bytes that were not minted with the key.

use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::recognise;
use libfuzzer_sys::fuzz_target;
use std::sync::OnceLock;

fn key() -> &'static SigningKey {
    static K: OnceLock<SigningKey> = OnceLock::new();
    K.get_or_init(|| SigningKey::from_secret(b"fuzzing-signing-key-0123456789abcdef").unwrap())
}

fuzz_target!(|data: &[u8]| {
    let _ = recognise(key(), data);
    let _ = honeytoken::domain::token::like::infer(&String::from_utf8_lossy(data));
    let _ = honeytoken::domain::sanitize::escape(data, 256);
});
