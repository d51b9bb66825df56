//! A seeded data set for the analysis tests, the report test and the sample
//! report: 50 tokens, 200 sources from addresses MaxMind's test databases
//! know, and `25 + j % 61` hits from source `j` (10,626 in all), each hit
//! enriched by the real [`Enricher`] exactly as the decoy does it.
//!
//! The expected numbers are stated by construction (`plan`), not computed by
//! the code under test.
#![allow(dead_code)]

use std::net::{IpAddr, Ipv4Addr, Ipv6Addr};
use std::path::Path;

use honeytoken::decoy::enrich::Enricher;
use honeytoken::domain::hit::Hit;
use honeytoken::domain::key::SigningKey;
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, TokenRecord, mint};

/// Tokens in the data set.
pub const TOKENS: usize = 50;
/// Sources in the data set.
pub const SOURCES: usize = 200;
/// First day of the data set; hits spread over [`DAYS`] days from it.
pub const START: &str = "2026-10-01";
/// Days the data set spans.
pub const DAYS: usize = 30;

/// The MaxMind test databases in the fixtures.
pub fn enricher() -> Enricher {
    let d = Path::new(env!("CARGO_MANIFEST_DIR")).join("tests/fixtures/geoip");
    Enricher::open(
        Some(&d.join("GeoLite2-City-Test.mmdb")),
        Some(&d.join("GeoLite2-ASN-Test.mmdb")),
    )
    .expect("fixture databases")
}

/// One source: its address, the country the test database gives it, and the
/// AS number the ASN test database gives it.
#[derive(Debug, Clone)]
pub struct Source {
    pub ip: String,
    pub country: Option<&'static str>,
    pub asn: Option<u32>,
}

fn v4(base: [u8; 4], n: u8) -> String {
    IpAddr::V4(Ipv4Addr::new(base[0], base[1], base[2], base[3] + n)).to_string()
}

fn v6(seg: [u16; 2], n: u16) -> String {
    IpAddr::V6(Ipv6Addr::new(seg[0], seg[1], 0, 0, 0, 0, 0, n + 1)).to_string()
}

/// The 200 sources, by block (networks from the test databases' JSON sources).
pub fn sources() -> Vec<Source> {
    let mut v = Vec::with_capacity(SOURCES);
    let mut add = |ip: String, country, asn| v.push(Source { ip, country, asn });
    for n in 0..32 {
        add(v4([81, 2, 69, 160], n), Some("GB"), None); // 81.2.69.160/27
    }
    for n in 0..40 {
        add(v4([89, 160, 20, 128], n), Some("SE"), Some(29518)); // 89.160.20.128/25
    }
    for n in 0..50 {
        add(v4([175, 16, 199, 0], n), Some("CN"), None); // 175.16.199.0/24
    }
    for n in 0..20 {
        add(v6([0x2001, 0x218], n), Some("JP"), None); // 2001:218::/32
    }
    for n in 0..20 {
        add(v6([0x2a02, 0xd180], n), Some("DE"), None); // 2a02:d180::/29
    }
    for n in 0..18 {
        add(v6([0x2a02, 0xcfc0], n), Some("FR"), None); // 2a02:cfc0::/29
    }
    for n in 0..10 {
        add(v4([1, 0, 0, 1], n), None, Some(15169)); // 1.0.0.0/24, Google Inc.
    }
    for n in 0..10 {
        add(v4([127, 0, 0, 1], n), None, None); // loopback: in neither database
    }
    assert_eq!(v.len(), SOURCES);
    v
}

/// Hits sent from source `j`.
pub fn hits_from(j: usize) -> usize {
    25 + j % 61
}

/// Token index of the `k`-th hit of source `j`: consecutive tokens, so
/// source `j` tries `min(hits_from(j), 50)` distinct tokens.
pub fn token_of(j: usize, k: usize) -> usize {
    (j + k) % TOKENS
}

/// Day (`0..days` after the first) of the `k`-th hit of source `j`.
pub fn day_of(j: usize, k: usize, days: usize) -> usize {
    (j * 3 + k) % days
}

/// The 50 seeded tokens, minted under `key`.
pub fn tokens(key: &SigningKey) -> Vec<TokenRecord> {
    let shape = KeyShape::plain("acme_live_", Alphabet::Base62, 32).expect("shape");
    (0..TOKENS)
        .map(|i| {
            let created = time::macros::datetime!(2026-09-01 00:00 UTC) + time::Duration::hours(i as i64);
            mint(
                key,
                &MintSpec::Key(shape.clone()),
                &format!("token-{i:02}"),
                &format!("repo-{i:02}/.env"),
                "",
                created,
            )
            .expect("mint")
        })
        .collect()
}

/// Every seeded hit, in source order, over [`DAYS`] days from [`START`].
pub fn hits(tokens: &[TokenRecord], e: &Enricher) -> Vec<Hit> {
    let start = time::Date::parse(START, time::macros::format_description!("[year]-[month]-[day]")).unwrap();
    hits_over(tokens, e, start, DAYS)
}

/// Every seeded hit, in source order, over `days` days from `start`.
pub fn hits_over(tokens: &[TokenRecord], e: &Enricher, start: time::Date, days: usize) -> Vec<Hit> {
    let start = start.midnight().assume_utc();
    let mut out = Vec::new();
    for (j, s) in sources().iter().enumerate() {
        let (geo, asn) = e.lookup(&s.ip);
        for k in 0..hits_from(j) {
            let t = &tokens[token_of(j, k)];
            let at = start
                + time::Duration::days(day_of(j, k, days) as i64)
                + time::Duration::minutes(((j * 7 + k * 11) % 1440) as i64);
            out.push(Hit {
                token_id: t.id.clone(),
                // A ULID of the hit's own time, as the decoy writes it (stores may
                // use it as a time-ordered sort key).
                user_agent: [
                    "curl/8.5.0",
                    "python-requests/2.32.3",
                    "Go-http-client/1.1",
                    "aws-cli/2.17",
                ][j % 4]
                    .to_string(),
                path: "/v1/charges".into(),
                geo: geo.clone(),
                asn: asn.clone(),
                label: t.label.clone(),
                location: t.location.clone(),
                // A ULID of the hit's own time, as the decoy writes it.
                ..honeytoken_core::testkit::hit_at_time(&t.id, &s.ip, at, (j * 1000 + k) as u128)
            });
        }
    }
    out
}

/// Expected hits per country code (`None`: no geolocation), by construction.
pub fn expected_by_country() -> std::collections::BTreeMap<Option<&'static str>, u64> {
    let mut m = std::collections::BTreeMap::new();
    for (j, s) in sources().iter().enumerate() {
        *m.entry(s.country).or_insert(0) += hits_from(j) as u64;
    }
    m
}

/// Total hits.
pub fn total() -> usize {
    (0..SOURCES).map(hits_from).sum()
}
