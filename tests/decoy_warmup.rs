//! The Lambda decoy opens its connections at init (issue 22, item 4): a hit
//! gets half the timing floor for its token read and writes, and a cold TLS
//! handshake on a small function can take that alone, so DynamoDB and the
//! SNS client of the decoy's own alert are connected before any request.
//!
//! On the moto server `scripts/test.sh` starts, with a counting TCP proxy in
//! front of it per service: each proxy counts the connections a client opens
//! and keeps the bytes it sent. moto answers every request with
//! `Connection: close`, so what the test can see is that init made a call
//! to each service (on AWS that call leaves a kept-alive connection behind,
//! which the SDK's pool hands to the hit), not the reuse itself.

#[path = "support/aws.rs"]
mod support;

use honeytoken::decoy::RequestMeta;
use honeytoken::domain::token::{Alphabet, KeyShape, MintSpec, mint};
use honeytoken::store::TokenStore;
use honeytoken::wiring::stack::{DecoyClients, DecoyEnv, decoy_with};
use std::sync::atomic::{AtomicUsize, Ordering};
use std::sync::{Arc, Mutex};

/// A TCP proxy to moto counting connections and keeping what clients sent.
struct Counting {
    url: String,
    connections: Arc<AtomicUsize>,
    sent: Arc<Mutex<Vec<u8>>>,
}

impl Counting {
    async fn start(upstream: &str) -> Counting {
        let upstream = upstream.trim_start_matches("http://").trim_end_matches('/').to_string();
        let listener = tokio::net::TcpListener::bind("127.0.0.1:0").await.unwrap();
        let url = format!("http://{}", listener.local_addr().unwrap());
        let connections = Arc::new(AtomicUsize::new(0));
        let sent = Arc::new(Mutex::new(Vec::new()));
        let (n, log) = (connections.clone(), sent.clone());
        tokio::spawn(async move {
            while let Ok((client, _)) = listener.accept().await {
                n.fetch_add(1, Ordering::SeqCst);
                let (upstream, log) = (upstream.clone(), log.clone());
                tokio::spawn(async move {
                    use tokio::io::{AsyncReadExt, AsyncWriteExt};
                    let Ok(server) = tokio::net::TcpStream::connect(&upstream).await else {
                        return;
                    };
                    let (mut cr, mut cw) = client.into_split();
                    let (mut sr, mut sw) = server.into_split();
                    let back = tokio::spawn(async move { tokio::io::copy(&mut sr, &mut cw).await });
                    let mut buf = vec![0u8; 16 * 1024];
                    while let Ok(k) = cr.read(&mut buf).await {
                        if k == 0 || sw.write_all(&buf[..k]).await.is_err() {
                            break;
                        }
                        log.lock().unwrap().extend_from_slice(&buf[..k]);
                    }
                    let _ = sw.shutdown().await;
                    let _ = back.await;
                });
            }
        });
        Counting { url, connections, sent }
    }

    fn connections(&self) -> usize {
        self.connections.load(Ordering::SeqCst)
    }

    fn saw(&self, needle: &str) -> bool {
        let sent = self.sent.lock().unwrap();
        sent.windows(needle.len()).any(|w| w == needle.as_bytes())
    }
}

#[tokio::test]
async fn init_calls_dynamodb_and_the_alert_topic_before_any_request() {
    let conf = support::sdk_config().await;
    let moto = support::endpoint();
    let setup_db = aws_sdk_dynamodb::Client::new(&conf);
    let tables = support::Tables::create(&setup_db).await;
    let secret_arn = support::create_signing_secret(&conf).await;
    let topic = aws_sdk_sns::Client::new(&conf)
        .create_topic()
        .name(support::unique("late-alerts"))
        .send()
        .await
        .expect("create topic")
        .topic_arn()
        .expect("topic arn")
        .to_string();

    let (db, sns) = (Counting::start(&moto).await, Counting::start(&moto).await);
    let clients = DecoyClients {
        dynamodb: aws_sdk_dynamodb::Client::from_conf(
            aws_sdk_dynamodb::config::Builder::from(&conf)
                .endpoint_url(&db.url)
                .build(),
        ),
        sns: aws_sdk_sns::Client::from_conf(aws_sdk_sns::config::Builder::from(&conf).endpoint_url(&sns.url).build()),
        secrets: aws_sdk_secretsmanager::Client::new(&conf),
    };
    let env = DecoyEnv {
        tokens_table: tables.name("TokensTable").into(),
        hits_table: tables.name("HitsTable").into(),
        secret_arn: secret_arn.clone(),
        hit_ttl_days: 400,
        // No floor: what this test checks must not hinge on moto's speed.
        min_latency_ms: 0,
        origin_verify_secret_arn: None,
        alert_topic_arn: Some(topic.clone()),
        flood: Default::default(),
    };
    let decoy = decoy_with(&clients, &env).await.expect("decoy built");

    // Init: a connection to each service, and the calls that opened them.
    assert_eq!(sns.connections(), 1, "the alert topic's connection is opened at init");
    assert!(sns.saw("GetTopicAttributes"), "a call that publishes nothing");
    assert!(!sns.saw("Action=Publish"), "warming alerts nobody");
    assert!(db.connections() >= 1);
    assert!(db.saw("allowlist#global"), "the allowlist a hit needs is read at init");

    // A hit afterwards is stored as before.
    let key = honeytoken::wiring::stack::signing_key(&clients.secrets, &secret_arn)
        .await
        .unwrap();
    let store = honeytoken::store::dynamodb::DynamoStore::new(
        setup_db.clone(),
        tables.name("TokensTable"),
        tables.name("HitsTable"),
    );
    let rec = mint(
        &key,
        &MintSpec::Key(KeyShape::plain("acme_live_", Alphabet::Base62, 32).unwrap()),
        "warm",
        "",
        "",
        time::OffsetDateTime::now_utc(),
    )
    .unwrap();
    store.create(&rec).await.unwrap();
    let before = db.sent.lock().unwrap().len();
    let req = http::Request::builder()
        .uri("/v1/users")
        .header("authorization", format!("Bearer {}", rec.token))
        .body(bytes::Bytes::new())
        .unwrap();
    let resp = decoy.handle(req, RequestMeta::default()).await;
    assert_eq!(resp.status(), 401);
    assert!(db.sent.lock().unwrap().len() > before, "the hit went through the proxy");
    let hits = honeytoken::store::HitStore::query(
        &store,
        &honeytoken::store::HitQuery {
            token_id: Some(rec.id.clone()),
            ..Default::default()
        },
    )
    .await
    .unwrap();
    assert_eq!(hits.len(), 1);
}
