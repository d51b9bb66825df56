//! `hits --by` and `report` on the embedded store, end to end through the
//! real binary, over a seeded store of 10,626 hits (50 tokens, 200 sources).

mod common;
mod seed;

use std::collections::BTreeMap;
use std::path::Path;
use std::sync::Arc;
use std::time::Instant;

use honeytoken::store::sqlite::SqliteStore;
use honeytoken::store::{HitStore, TokenStore};

/// Seeds `dir/honeytoken.db` (the local backend's database) with the data set.
fn seeded_dir() -> tempfile::TempDir {
    let dir = tempfile::tempdir().unwrap();
    let rt = tokio::runtime::Builder::new_multi_thread()
        .worker_threads(2)
        .enable_all()
        .build()
        .unwrap();
    rt.block_on(async {
        let store = Arc::new(SqliteStore::open(&dir.path().join("honeytoken.db")).unwrap());
        let key = honeytoken::domain::key::SigningKey::from_secret(&[3u8; 32]).unwrap();
        let tokens = seed::tokens(&key);
        for t in &tokens {
            store.create(t).await.unwrap();
        }
        let hits = seed::hits(&tokens, &seed::enricher());
        assert_eq!(hits.len(), seed::total());
        // Concurrent puts share the writer's group commits.
        let mut tasks = tokio::task::JoinSet::new();
        for chunk in hits.chunks(hits.len().div_ceil(64)) {
            let (store, chunk) = (store.clone(), chunk.to_vec());
            tasks.spawn(async move {
                for h in &chunk {
                    store.put(h).await.unwrap();
                }
            });
        }
        while let Some(r) = tasks.join_next().await {
            r.unwrap();
        }
    });
    dir
}

fn grouped(dir: &Path, extra: &[&str]) -> Vec<serde_json::Value> {
    let mut a = vec!["hits", "--format", "json"];
    a.extend_from_slice(extra);
    serde_json::from_str(&common::ok(dir, &a)).expect("grouped json")
}

fn counts(groups: &[serde_json::Value]) -> BTreeMap<Option<String>, u64> {
    groups
        .iter()
        .map(|g| (g["key"].as_str().map(str::to_string), g["count"].as_u64().unwrap()))
        .collect()
}

#[test]
fn grouped_counts_on_a_seeded_store() {
    let dir = seeded_dir();
    let d = dir.path();
    assert!(seed::total() >= 10_000);

    // --by ip: every source with its own count and the tokens it tried.
    let t0 = Instant::now();
    let by_ip = grouped(d, &["--by", "ip"]);
    eprintln!(
        "hits --by ip over {} hits (debug build): {:?}",
        seed::total(),
        t0.elapsed()
    );
    assert_eq!(by_ip.len(), seed::SOURCES);
    let got: BTreeMap<&str, &serde_json::Value> = by_ip.iter().map(|g| (g["key"].as_str().unwrap(), g)).collect();
    for (j, s) in seed::sources().iter().enumerate() {
        let g = got
            .get(s.ip.as_str())
            .unwrap_or_else(|| panic!("no group for {}", s.ip));
        assert_eq!(g["count"], seed::hits_from(j) as u64, "{}", s.ip);
        assert_eq!(
            g["distinct_tokens"],
            seed::hits_from(j).min(seed::TOKENS) as u64,
            "{}",
            s.ip
        );
        assert_eq!(g["distinct_sources"], 1);
        assert_eq!(g["by"], "ip");
    }
    // Most hits first: source 60 (25 + 60 = 85 hits) and 121 lead.
    assert_eq!(by_ip[0]["count"], 85);

    // --by country: the test database's countries, unknown (1.0.0.x, 127.x) as null.
    let by_country = grouped(d, &["--by", "country"]);
    let want: BTreeMap<Option<String>, u64> = seed::expected_by_country()
        .into_iter()
        .map(|(k, v)| (k.map(str::to_string), v))
        .collect();
    assert_eq!(counts(&by_country), want);
    assert_eq!(
        by_country.last().unwrap()["key"],
        serde_json::Value::Null,
        "unknown last"
    );
    let gb = by_country.iter().find(|g| g["key"] == "GB").unwrap();
    assert_eq!(
        (gb["name"].as_str(), gb["distinct_sources"].as_u64()),
        (Some("United Kingdom"), Some(32))
    );

    // --by asn: Google's 10 sources and Bredband2's 40.
    let by_asn = grouped(d, &["--by", "asn"]);
    let google: u64 = (180..190).map(|j| seed::hits_from(j) as u64).sum();
    let bredband: u64 = (32..72).map(|j| seed::hits_from(j) as u64).sum();
    let asn = counts(&by_asn);
    assert_eq!(asn[&Some("AS15169".to_string())], google);
    assert_eq!(asn[&Some("AS29518".to_string())], bredband);
    assert_eq!(asn[&None], seed::total() as u64 - google - bredband);
    assert_eq!(
        by_asn.iter().find(|g| g["key"] == "AS15169").unwrap()["name"],
        "Google Inc."
    );

    // --by token: the hit counts over tokens add up, each token used from many sources.
    let by_token = grouped(d, &["--by", "token"]);
    assert_eq!(by_token.len(), seed::TOKENS);
    assert_eq!(
        by_token.iter().map(|g| g["count"].as_u64().unwrap()).sum::<u64>(),
        seed::total() as u64
    );
    assert!(
        by_token
            .iter()
            .all(|g| g["name"].as_str().unwrap().starts_with("token-"))
    );

    // --by day with --since: 30 days, and a date bound cuts exactly at midnight.
    let by_day = grouped(d, &["--by", "day"]);
    assert_eq!(by_day.len(), 30);
    assert_eq!(by_day[0]["key"], "2026-10-01");
    let late = grouped(d, &["--by", "day", "--since", "2026-10-21"]);
    assert_eq!(
        late.iter().map(|g| g["key"].as_str().unwrap()).collect::<Vec<_>>(),
        by_day[20..]
            .iter()
            .map(|g| g["key"].as_str().unwrap())
            .collect::<Vec<_>>()
    );
    let per_day: Vec<u64> = (0..30)
        .map(|day| {
            (0..seed::SOURCES)
                .map(|j| {
                    (0..seed::hits_from(j))
                        .filter(|&k| seed::day_of(j, k, seed::DAYS) == day)
                        .count() as u64
                })
                .sum()
        })
        .collect();
    assert_eq!(
        by_day.iter().map(|g| g["count"].as_u64().unwrap()).collect::<Vec<_>>(),
        per_day
    );

    // --token narrows every grouping.
    let tok = by_token[0]["key"].as_str().unwrap().to_string();
    let one = grouped(d, &["--by", "ip", "--token", &tok]);
    assert_eq!(
        one.iter().map(|g| g["count"].as_u64().unwrap()).sum::<u64>(),
        by_token[0]["count"].as_u64().unwrap()
    );
    assert!(one.iter().all(|g| g["distinct_tokens"] == 1));

    // Tables fit a terminal; CSV has the stable header.
    for by in ["ip", "token", "country", "asn", "user-agent", "day"] {
        let table = common::ok(d, &["hits", "--by", by]);
        let widest = table.lines().map(|l| l.chars().count()).max().unwrap();
        assert!(widest <= 120, "--by {by}: {widest} columns\n{table}");
        assert!(table.lines().count() > 1);
    }
    let csv = common::ok(d, &["hits", "--by", "country", "--format", "csv"]);
    assert_eq!(
        csv.lines().next(),
        Some("by,key,name,count,first_seen,last_seen,distinct_tokens,distinct_sources")
    );
    assert!(csv.contains(&format!("country,GB,United Kingdom,{},", want[&Some("GB".to_string())])));

    // Bad input: a clear error, not a panic.
    let o = common::run(d, &["hits", "--by", "city"]);
    assert!(!o.status.success());
    let o = common::run(d, &["hits", "--by", "ip", "--since", "last tuesday"]);
    assert_eq!(o.status.code(), Some(2));
    assert!(String::from_utf8_lossy(&o.stderr).contains("--since"));

    // The report over the same store: charts, the seeded numbers, nothing fetched.
    let out = d.join("report.html");
    common::ok(d, &["report", "--out", out.to_str().unwrap()]);
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(html.contains(r#"content="default-src 'none'; style-src 'unsafe-inline'; img-src data:""#));
    assert!(!html.contains("<script") && !html.contains("src=\"http") && !html.contains("href=\"http"));
    assert!(html.contains(r#"<svg class="chart timeline""#) && html.matches(r#"<svg class="chart bars""#).count() == 3);
    assert!(html.contains(&format!("<b>{}</b><span>hits</span>", seed::total())));
    assert!(html.contains("<b>200</b><span>sources</span>") && html.contains("<b>50</b><span>tokens used</span>"));
    assert!(html.contains(&format!(
        r#"<td class="mono addr">GB</td><td>United Kingdom</td><td class="n">{}</td>"#,
        want[&Some("GB".to_string())]
    )));
    assert!(html.contains(&format!("<title>2026-10-01: {}</title>", per_day[0])));
    assert!(
        html.replace("<wbr>", "").contains("repo-07/.env"),
        "per-token detail names where it was planted"
    );
}

#[test]
fn report_escapes_a_hostile_user_agent_stored_through_serve() {
    let dir = tempfile::tempdir().unwrap();
    let (id, token) = common::mint(
        dir.path(),
        &[
            "--kind",
            "key",
            "--prefix",
            "acme_live_",
            "--label",
            "<i>ci</i>",
            "--location",
            "repo/.env",
        ],
    );
    let srv = common::Server::start(dir.path(), &["--min-latency", "0ms"]);
    let req = format!(
        "GET /v1/users HTTP/1.1\r\nHost: api\r\nUser-Agent: <script>alert(1)</script>\r\nAuthorization: Bearer {token}\r\nConnection: close\r\n\r\n"
    );
    srv.raw(req.as_bytes());
    srv.wait_alerts(1);
    assert!(srv.stop().success());
    let hits = common::hits(dir.path(), &[]);
    assert_eq!(
        hits[0]["user_agent"], "<script>alert(1)</script>",
        "stored as text, unchanged"
    );

    let out = dir.path().join("r.html");
    common::ok(
        dir.path(),
        &[
            "report",
            "--out",
            out.to_str().unwrap(),
            "--token",
            &id,
            "--since",
            "1h",
        ],
    );
    let html = std::fs::read_to_string(&out).unwrap();
    assert!(!html.contains("<script>"), "attacker markup must not survive");
    assert!(html.contains("&lt;script&gt;alert(1)&lt;/script&gt;"));
    assert!(html.contains("&lt;i&gt;ci&lt;/i&gt;") && html.contains(&id));
    assert!(html.contains("<b>1</b><span>hits</span>"));

    let o = common::run(
        dir.path(),
        &[
            "report",
            "--out",
            dir.path().join("no/such/dir/r.html").to_str().unwrap(),
        ],
    );
    assert!(!o.status.success());
    assert!(
        String::from_utf8_lossy(&o.stderr).contains("no/such/dir"),
        "names the path"
    );
}
