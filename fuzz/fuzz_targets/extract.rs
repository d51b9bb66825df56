#![no_main]
//! Candidate extraction on arbitrary requests: never panics, stays bounded.

use honeytoken::domain::token::extract::{Limits, candidates};
use libfuzzer_sys::fuzz_target;

#[path = "common.rs"]
mod common;

fuzz_target!(|data: &[u8]| {
    if let Some(req) = common::request(data) {
        let (parts, body) = req.into_parts();
        let limits = Limits::default();
        let c = candidates(&parts, &body, &limits);
        assert!(c.len() <= limits.candidates);
        for cand in &c {
            assert!(cand.value.len() <= honeytoken::domain::token::MAX_CANDIDATE_LEN);
            assert!(!cand.found_in.chars().any(char::is_control));
        }
    }
});
