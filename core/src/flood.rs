//! The flood rule, one definition for the decoy, `serve` and the guard:
//! per (token, source address, fixed time bucket), the first
//! [`FloodRule::whole`] hits are stored whole; past that, one small counter
//! record per bucket keeps an exact count and bounded samples of the
//! distinct paths and user agents seen, so a replayed token cannot fill a
//! disk or a bill, and a flood of dull requests cannot hide an interesting
//! one unseen.
//!
//! Each store keeps the counter its own way (a DynamoDB `ADD`, a SQLite
//! upsert, a map); this module decides what the counter means.

use serde::{Deserialize, Serialize};
use std::time::Duration;

use crate::hit::Hit;
use crate::sanitize::escape_str;

/// Default number of hits per (token, source, bucket) stored whole.
pub const DEFAULT_WHOLE: u64 = 20;
/// Default bucket length (the alerter's default throttle window).
pub const DEFAULT_BUCKET: Duration = Duration::from_secs(15 * 60);
/// Distinct paths and distinct user agents kept per counter.
pub const MAX_SAMPLES: usize = 8;
/// Longest sample kept, in bytes.
pub const MAX_SAMPLE_LEN: usize = 200;

/// How many hits of a (token, source) pair are stored whole per bucket.
#[derive(Debug, Clone, Copy, PartialEq, Eq)]
pub struct FloodRule {
    /// Hits per bucket stored whole; the rest are counted.
    pub whole: u64,
    /// Bucket length; buckets start at multiples of it since the epoch.
    pub bucket: Duration,
}

impl Default for FloodRule {
    fn default() -> Self {
        FloodRule {
            whole: DEFAULT_WHOLE,
            bucket: DEFAULT_BUCKET,
        }
    }
}

/// The counter's identity: which pair, which bucket.
#[derive(Debug, Clone, PartialEq, Eq, Hash, PartialOrd, Ord, Serialize, Deserialize)]
// The pair's fields are the hit's of the same names.
#[allow(missing_docs)]
pub struct FloodKey {
    pub token_id: String,
    pub source_ip: String,
    /// Bucket start, ms since the epoch.
    pub bucket_start_ms: i64,
}

impl FloodKey {
    /// The hit id of the bucket's counter record: stable, so every request
    /// of the bucket updates one record, and distinct per source, so two
    /// sources flooding one token in one bucket keep two counters.
    pub fn counter_id(&self) -> String {
        format!("flood-{}-{}-{}", self.token_id, self.bucket_start_ms, self.source_ip)
    }
}

impl FloodRule {
    /// The bucket `hit` falls in.
    pub fn key(&self, hit: &Hit) -> FloodKey {
        let len = (self.bucket.as_millis() as i64).max(1);
        let t = hit.received_at.unix_ms();
        FloodKey {
            token_id: hit.token_id.clone(),
            source_ip: hit.source_ip.clone(),
            bucket_start_ms: t - t.rem_euclid(len),
        }
    }

    /// The rule suspicious requests ([`crate::hit::SUSPICIOUS_REQUEST`]) are
    /// kept under: one whole record per source and bucket, the rest
    /// counted. They carry no token, so a whole record each would let
    /// anyone fill the store with padding.
    pub fn for_suspicious(self) -> FloodRule {
        FloodRule { whole: 1, ..self }
    }

    /// Whether the `nth` hit of a bucket (1-based) is stored whole.
    pub fn is_whole(&self, nth: u64) -> bool {
        nth <= self.whole
    }
}

/// Bounded samples of what a flood's counted requests looked like.
#[derive(Debug, Clone, Default, PartialEq, Eq, Serialize, Deserialize)]
pub struct FloodSamples {
    /// Distinct paths, first seen first, at most [`MAX_SAMPLES`].
    #[serde(default)]
    pub paths: Vec<String>,
    /// Distinct user agents, first seen first, at most [`MAX_SAMPLES`].
    #[serde(default)]
    pub user_agents: Vec<String>,
}

impl FloodSamples {
    /// Adds the hit's path and user agent if new and there is room;
    /// whether anything changed (a store can skip the write otherwise).
    pub fn add(&mut self, hit: &Hit) -> bool {
        let a = add_distinct(&mut self.paths, &hit.path);
        let b = add_distinct(&mut self.user_agents, &hit.user_agent);
        a || b
    }
}

fn add_distinct(v: &mut Vec<String>, s: &str) -> bool {
    let s = escape_str(s, MAX_SAMPLE_LEN);
    if v.len() >= MAX_SAMPLES || v.contains(&s) {
        return false;
    }
    v.push(s);
    true
}

/// The record standing for a bucket's counted hits: the first counted
/// hit's fields, the counter's id, `count` requests, and the samples.
pub fn counter_hit(first_counted: &Hit, key: &FloodKey, count: u64, samples: FloodSamples) -> Hit {
    Hit {
        hit_id: key.counter_id(),
        count,
        flood: Some(samples),
        ..first_counted.without_headers()
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::testkit::hit_at;

    #[test]
    fn buckets_are_fixed_and_per_pair() {
        let r = FloodRule {
            whole: 2,
            bucket: Duration::from_secs(60),
        };
        let a = r.key(&hit_at("t", "1.2.3.4", 0, 0));
        let b = r.key(&hit_at("t", "1.2.3.4", 59, 1));
        let c = r.key(&hit_at("t", "1.2.3.4", 60, 2));
        let d = r.key(&hit_at("t", "5.6.7.8", 0, 3));
        assert_eq!(a, b, "same minute, same bucket");
        assert_ne!(a, c, "the next minute opens a new bucket");
        assert_ne!(a, d, "another source has its own counter");
        assert_eq!(c.bucket_start_ms - a.bucket_start_ms, 60_000);
        assert!(r.is_whole(1) && r.is_whole(2) && !r.is_whole(3));
    }

    #[test]
    fn samples_stay_bounded_and_distinct() {
        let mut s = FloodSamples::default();
        let mut h = hit_at("t", "1.2.3.4", 0, 0);
        assert!(s.add(&h));
        assert!(!s.add(&h), "a repeat changes nothing");
        for i in 0..100 {
            h.path = format!("/p/{i}/{}", "x".repeat(500));
            s.add(&h);
        }
        assert_eq!(s.paths.len(), MAX_SAMPLES);
        assert_eq!(s.user_agents.len(), 1);
        // Capped, with the escaper's visible "…[+N bytes]" marker.
        assert!(s.paths.iter().all(|p| p.len() <= MAX_SAMPLE_LEN + 24), "{:?}", s.paths);
        assert!(s.paths[1..].iter().all(|p| p.contains("…[+")), "{:?}", s.paths);
    }

    #[test]
    fn the_counter_record_says_how_many_requests_it_stands_for() {
        let r = FloodRule::default();
        let h = hit_at("t", "1.2.3.4", 0, 0);
        let k = r.key(&h);
        let c = counter_hit(&h, &k, 17, FloodSamples::default());
        assert_eq!(c.count, 17);
        assert_eq!(c.hit_id, k.counter_id());
        assert!(c.flood.is_some());
    }
}
