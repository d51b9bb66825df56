//! Seeds a data directory with sample hits, for the report screenshot in
//! docs/ (scripts/report-check.sh) and for timing `hits --by` on a full-size store.
//!
//! ```sh
//! cargo run --release --example sample_report -- /tmp/sample          # 53 hits within an hour
//! cargo run --release --example sample_report -- /tmp/nogeo --no-geo # the same, as without GeoIP
//! cargo run --release --example sample_report -- /tmp/big --full      # the 10,626-hit test data set
//! honeytoken --data-dir /tmp/sample report --out report.html
//! ```
//!
//! Sources, countries and networks come from MaxMind's test databases in
//! tests/fixtures/geoip, looked up by the real enricher.

#[path = "../tests/seed/mod.rs"]
mod seed;

use std::path::PathBuf;
use std::sync::Arc;

use honeytoken::decoy::enrich::Enricher;
use honeytoken::domain::hit::{FoundIn, Hit};
use honeytoken::domain::token::{Placement, TokenRecord, TokenState};
use honeytoken::store::sqlite::SqliteStore;
use honeytoken::store::{HitStore, TokenStore};

/// Labels and places of the sample's twelve tokens, as a team would name them.
const SAMPLE_TOKENS: [(&str, &str); 12] = [
    ("payments-api deploy key", "payments/.env"),
    (
        "billing CI token (old)",
        "github.com/acme/billing/.github/workflows/ci.yml",
    ),
    ("staging database admin", "confluence: Staging runbook"),
    ("data-export S3 proxy", "jenkins credentials store"),
    ("mobile app config", "android/app/src/main/res/values/secrets.xml"),
    ("analytics warehouse", "notebooks/exploration.ipynb"),
    ("support tool API", "zendesk macro: refunds"),
    ("legacy SOAP gateway", "wiki: Integrations/Legacy"),
    ("terraform state reader", "infra/terraform.tfvars"),
    ("partner webhook secret", "partners/acme-logistics.yaml"),
    ("docs example key", "docs/api/quickstart.md"),
    ("billing CI token", "github.com/acme/billing/.github/workflows/ci.yml"),
];

/// A burst as an analyst meets one: 53 hits within an hour from 19 real
/// sources on 12 tokens, with a scanner sweeping many of them, a leaked
/// copy of a rotated token still in use, a tampered and an unknown token,
/// 3 hits of `honeytoken test` and 2 from an allowlisted address.
fn sample(tokens: &[TokenRecord], e: &Enricher) -> (Vec<TokenRecord>, Vec<Hit>) {
    let mut keep: Vec<TokenRecord> = tokens.iter().take(12).cloned().collect();
    for (t, (label, location)) in keep.iter_mut().zip(SAMPLE_TOKENS) {
        t.label = label.into();
        t.location = location.into();
    }
    // Planted by `plant`: the file is the location and a placement.
    keep[0].placements = vec![Placement {
        path: "payments/.env".into(),
        var: "ACME_API_KEY".into(),
        planted_at: "2026-09-02T09:00:00.000Z".into(),
    }];
    // Rotated: token 1 was replaced by token 11, and a leaked copy of 1 is still tried.
    keep[1].state = TokenState::Retired;
    keep[1].replaced_by = Some(keep[11].id.clone());
    keep[11].replaces = Some(keep[1].id.clone());
    keep[11].created_at = "2026-10-15T08:00:00.000Z".into();
    keep[7].state = TokenState::Disabled;

    let sources = seed::sources();
    // 19 real sources across every block of the test databases, busiest first.
    let chosen: Vec<&str> = [
        100, 41, 0, 122, 150, 75, 142, 160, 5, 44, 101, 131, 145, 165, 170, 181, 9, 60, 110,
    ]
    .iter()
    .map(|&i| sources[i].ip.as_str())
    .collect();
    let per_source = [12, 8, 5, 4, 3, 2, 2, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1, 1];
    let agents = [
        "python-requests/2.32.3",
        "curl/8.5.0",
        "Go-http-client/1.1",
        "TruffleHog",
        "Mozilla/5.0 (X11; Linux x86_64) AppleWebKit/537.36 (KHTML, like Gecko) Chrome/124.0 Safari/537.36",
        "aws-cli/2.17.0 md/arch#x86_64",
    ];
    let places = ["authorization", "x-api-key", "query:api_key", "cookie:session", "body"];
    let paths = [
        "/v1/charges",
        "/v1/customers?limit=100",
        "/api/v2/users/me",
        "/graphql",
        "/v1/balance",
    ];
    let start = time::macros::datetime!(2026-10-30 20:02 UTC);
    let mut hits = Vec::new();
    let mut n = 0u128;
    let mut push = |ip: &str, token: &TokenRecord, minute: i64, second: i64, i: usize| {
        let (geo, asn) = e.lookup(ip);
        n += 1;
        let at = start + time::Duration::minutes(minute) + time::Duration::seconds(second);
        Hit {
            user_agent: agents[i % agents.len()].into(),
            path: paths[i % paths.len()].into(),
            method: if i % 4 == 3 { "POST" } else { "GET" }.into(),
            found_in: places[i % places.len()].parse().unwrap_or(FoundIn::Body),
            geo,
            asn,
            label: token.label.clone(),
            location: token.location.clone(),
            token_state: Some(token.state),
            ..honeytoken_core::testkit::hit_at_time(&token.id, ip, at, n)
        }
    };
    for (s, (&ip, &count)) in chosen.iter().zip(&per_source).enumerate() {
        for k in 0..count {
            // The busiest source sweeps tokens one after another; the rest try one or two.
            let t = if s == 0 { k % 11 } else { (s * 5 + k) % 12 };
            let minute = ((s * 17 + k * 4) % 52) as i64;
            let mut h = push(ip, &keep[t], minute, ((s * 13 + k * 7) % 60) as i64, s + k);
            if s == 1 && k == 0 {
                h.tampered = true;
                h.tampered_claims = vec!["sub".into(), "exp".into()];
            }
            if s == 2 && k == 4 {
                h.token_id = "9c1e4b5a6f3f2a0d".into();
                h.orphan = true;
                h.label.clear();
                h.location.clear();
                h.token_state = None;
            }
            if s == 3 && k == 1 {
                h.user_agent = "<script>alert(1)</script>".into();
            }
            hits.push(h);
        }
    }
    // The newest hit carries long unbroken strings, as hostile requests do:
    // the report's layout must hold (scripts/report-check.py).
    if let Some(h) = hits.iter_mut().max_by_key(|h| h.received_at) {
        h.path = format!("/v1/charges/{}", "A".repeat(70));
        h.user_agent = format!("Mozilla/5.0{}", "x".repeat(120));
        h.found_in = FoundIn::Query("k".repeat(40));
    }
    for k in 0..3 {
        let mut h = push("127.0.0.1", &keep[0], 5 + k * 20, 0, 0);
        h.test = true;
        h.user_agent = "honeytoken-test/0.1".into();
        hits.push(h);
    }
    for k in 0..2 {
        let mut h = push("10.20.0.5", &keep[8], 30 + k * 9, 30, 1);
        h.ignored = true;
        hits.push(h);
    }
    (keep, hits)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: sample_report DATA_DIR [--full | --no-geo]")?);
    let flag = args.next();
    let full = flag.as_deref() == Some("--full");
    // As a decoy without GeoIP databases records them.
    let no_geo = flag.as_deref() == Some("--no-geo");
    // Private from the start, as `honeytoken` wants its data directory.
    let mut mkdir = std::fs::DirBuilder::new();
    mkdir.recursive(true);
    #[cfg(unix)]
    std::os::unix::fs::DirBuilderExt::mode(&mut mkdir, 0o700);
    mkdir.create(&dir)?;
    let db = dir.join("honeytoken.db");
    if db.exists() {
        return Err(format!("{} exists; use an empty data directory", db.display()).into());
    }
    let key = honeytoken::domain::key::SigningKey::from_secret(&[3u8; 32])?;
    let tokens = seed::tokens(&key);
    let e = seed::enricher();
    let (tokens, mut hits) = if full {
        let all = seed::hits(&tokens, &e);
        (tokens, all)
    } else {
        sample(&tokens, &e)
    };
    if no_geo {
        for h in &mut hits {
            h.geo = None;
            h.asn = None;
        }
    }
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()?;
    rt.block_on(async {
        let store = Arc::new(SqliteStore::open(&db)?);
        for t in &tokens {
            store.create(t).await?;
        }
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in hits.chunks(hits.len().div_ceil(64).max(1)) {
            let (store, chunk) = (store.clone(), chunk.to_vec());
            tasks.spawn(async move {
                for h in &chunk {
                    store.put(h).await?;
                }
                Ok::<_, honeytoken::Error>(())
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.map_err(|e| honeytoken::Error::Store(e.to_string()))??;
        }
        Ok::<_, honeytoken::Error>(())
    })?;
    eprintln!(
        "seeded {} with {} tokens and {} hits",
        dir.display(),
        tokens.len(),
        hits.len()
    );
    Ok(())
}
