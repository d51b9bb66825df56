//! Seeds a data directory with sample hits, for the report screenshot in
//! docs/ and for timing `hits --by` on a full-size store.
//!
//! ```sh
//! cargo run --release --example sample_report -- /tmp/sample          # small, varied sample
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

use honeytoken::domain::hit::Hit;
use honeytoken::domain::token::TokenRecord;
use honeytoken::store::sqlite::SqliteStore;
use honeytoken::store::{HitStore, TokenStore};

/// A small, uneven sample: a few busy sources, a quiet period and a spike.
fn small(tokens: &[TokenRecord], all: Vec<Hit>) -> (Vec<TokenRecord>, Vec<Hit>) {
    let keep: Vec<TokenRecord> = tokens.iter().take(8).cloned().collect();
    let ids: Vec<&str> = keep.iter().map(|t| t.id.as_str()).collect();
    let sources = seed::sources();
    // Every 9th source, so each country and network block is represented.
    let chosen: Vec<&str> = sources.iter().step_by(9).map(|s| s.ip.as_str()).collect();
    let mut hits: Vec<Hit> = all
        .into_iter()
        .filter(|h| ids.contains(&h.token_id.as_str()) && chosen.contains(&h.source_ip.as_str()))
        .enumerate()
        // Thin out quiet days so the timeline has shape: keep days 0–4 sparse, 20–24 dense.
        .filter(|(i, h)| {
            let day: usize = h.received_at.time().day() as usize;
            match day {
                1..=10 => i % 4 == 0,
                11..=19 => i % 2 == 0,
                _ => true,
            }
        })
        .map(|(_, h)| h)
        .collect();
    if let Some(h) = hits.last_mut() {
        h.user_agent = "<script>alert(1)</script>".into();
        h.tampered = true;
        h.tampered_claims = vec!["sub".into()];
    }
    (keep, hits)
}

fn main() -> Result<(), Box<dyn std::error::Error>> {
    let mut args = std::env::args().skip(1);
    let dir = PathBuf::from(args.next().ok_or("usage: sample_report DATA_DIR [--full]")?);
    let full = args.next().as_deref() == Some("--full");
    std::fs::create_dir_all(&dir)?;
    let db = dir.join("honeytoken.db");
    if db.exists() {
        return Err(format!("{} exists; use an empty data directory", db.display()).into());
    }
    let key = honeytoken::domain::key::SigningKey::from_secret(&[3u8; 32])?;
    let tokens = seed::tokens(&key);
    let all = seed::hits(&tokens, &seed::enricher());
    let (tokens, hits) = if full { (tokens, all) } else { small(&tokens, all) };
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
