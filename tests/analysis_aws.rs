//! `hits --by` on the DynamoDB backend, end to end through the real binary,
//! against the moto server that `scripts/test.sh` starts (tables created from
//! template.yaml), over the same seeded 10,626 hits as the embedded-store test,
//! spread over the past week so every read is a bounded `--since` window
//! (Query on the day index, one per day: the emulator answers each by
//! walking the whole table, so unbounded history would only measure moto).

mod seed;
#[path = "support/aws.rs"]
mod support;

use aws_sdk_dynamodb::types::{PutRequest, WriteRequest};
use std::collections::BTreeMap;
use std::process::Command;

use honeytoken::store::TokenStore;
use honeytoken::store::dynamodb::DynamoStore;

/// Writes the hits 25 at a time, as the store writes one (its own item
/// layout), retrying what DynamoDB leaves unprocessed.
async fn batch_put(client: &aws_sdk_dynamodb::Client, store: &DynamoStore, hits: &[honeytoken::domain::hit::Hit]) {
    let mut tasks = tokio::task::JoinSet::new();
    for chunk in hits.chunks(25) {
        let mut requests: Vec<WriteRequest> = chunk
            .iter()
            .map(|h| {
                let put = PutRequest::builder()
                    .set_item(Some(store.hit_item(h).unwrap()))
                    .build()
                    .unwrap();
                WriteRequest::builder().put_request(put).build()
            })
            .collect();
        let (client, table) = (client.clone(), store.hits_table().to_string());
        tasks.spawn(async move {
            for _ in 0..10 {
                let out = client
                    .batch_write_item()
                    .request_items(&table, requests.clone())
                    .send()
                    .await
                    .unwrap_or_else(|e| panic!("batch write: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)));
                requests = out
                    .unprocessed_items()
                    .and_then(|u| u.get(&table))
                    .cloned()
                    .unwrap_or_default();
                if requests.is_empty() {
                    return;
                }
            }
            panic!("items left unprocessed after 10 attempts");
        });
        // Bound the requests in flight so the emulator keeps up.
        while tasks.len() >= 8 {
            tasks.join_next().await.unwrap().unwrap();
        }
    }
    while let Some(r) = tasks.join_next().await {
        r.unwrap();
    }
}

fn counts(groups: &[serde_json::Value]) -> BTreeMap<Option<String>, u64> {
    groups
        .iter()
        .map(|g| (g["key"].as_str().map(str::to_string), g["count"].as_u64().unwrap()))
        .collect()
}

#[tokio::test(flavor = "multi_thread", worker_threads = 2)]
async fn grouped_counts_on_a_seeded_dynamodb_store() {
    let conf = support::sdk_config().await;
    let client = aws_sdk_dynamodb::Client::new(&conf);
    let tables = support::Tables::create(&client).await;
    let secret_arn = support::create_signing_secret(&conf).await;
    let store = DynamoStore::new(client.clone(), tables.name("TokensTable"), tables.name("HitsTable"));

    let key = honeytoken::domain::key::SigningKey::from_secret(&[3u8; 32]).unwrap();
    let tokens = seed::tokens(&key);
    for t in &tokens {
        store.create(t).await.unwrap();
    }
    const DAYS: usize = 7;
    let today = time::OffsetDateTime::now_utc().date();
    // The week before today, so every hit is in the past. The queries bound it by the first day's
    // date, not by a relative `--since 8d`: a relative bound moves when midnight passes while the
    // test runs and would cut off the first minutes of the week.
    let start = today - time::Duration::days(DAYS as i64);
    let hits = seed::hits_over(&tokens, &seed::enricher(), start, DAYS);
    assert!(hits.len() >= 10_000);
    let t0 = std::time::Instant::now();
    batch_put(&client, &store, &hits).await;
    eprintln!("seeded {} hits in {:?}", hits.len(), t0.elapsed());

    let grouped = |by: &str, extra: &[&str]| -> Vec<serde_json::Value> {
        let mut args = vec![
            "--backend",
            "aws",
            "--tokens-table",
            tables.name("TokensTable"),
            "--hits-table",
            tables.name("HitsTable"),
            "--secret-arn",
            &secret_arn,
            "hits",
            "--by",
            by,
            "--format",
            "json",
        ];
        args.extend_from_slice(extra);
        let o = Command::new(env!("CARGO_BIN_EXE_honeytoken"))
            .args(&args)
            .env("AWS_ENDPOINT_URL", support::endpoint())
            .env_remove("HONEYTOKEN_STACK")
            .env_remove("HONEYTOKEN_BACKEND")
            .env_remove("HONEYTOKEN_SIGNING_KEY")
            .output()
            .expect("run honeytoken");
        assert!(
            o.status.success(),
            "hits --by {by}: {}",
            String::from_utf8_lossy(&o.stderr)
        );
        serde_json::from_slice(&o.stdout).expect("json")
    };

    // --by ip: each of the 200 sources with its count and the tokens it tried.
    let t0 = std::time::Instant::now();
    let since = start.to_string();
    let by_ip = grouped("ip", &["--since", &since]);
    eprintln!("hits --by ip: {:?}", t0.elapsed());
    assert_eq!(by_ip.len(), seed::SOURCES);
    let got: BTreeMap<&str, &serde_json::Value> = by_ip.iter().map(|g| (g["key"].as_str().unwrap(), g)).collect();
    for (j, s) in seed::sources().iter().enumerate() {
        let g = got[s.ip.as_str()];
        assert_eq!(g["count"], seed::hits_from(j) as u64, "{}", s.ip);
        assert_eq!(
            g["distinct_tokens"],
            seed::hits_from(j).min(seed::TOKENS) as u64,
            "{}",
            s.ip
        );
    }

    // --by country: the test database's countries; unknown as null.
    let by_country = grouped("country", &["--since", &since]);
    let want: BTreeMap<Option<String>, u64> = seed::expected_by_country()
        .into_iter()
        .map(|(k, v)| (k.map(str::to_string), v))
        .collect();
    assert_eq!(counts(&by_country), want);
}
