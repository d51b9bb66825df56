//! Security Hub findings against moto's Security Hub (started by
//! scripts/test.sh): the alerter's real wiring (`SECURITY_HUB_FINDINGS=true`)
//! imports a hit, its repeats and the window's summary as ONE finding per
//! episode of a (token, source) pair, read back with `GetFindings`; the next
//! window's hit, and a tampered hit, open findings of their own.

#[path = "support/alerts.rs"]
mod alerts;
#[path = "support/aws.rs"]
mod support;

use alerts::Topic;
use aws_sdk_securityhub::types::{AwsSecurityFinding, SeverityLabel};
use honeytoken::domain::hit::{Asn, Geo, Hit};
use honeytoken::wiring::alerter::pipeline;
use support::Tables;
use time::OffsetDateTime;

fn hit(token: &str, ip: &str, at: OffsetDateTime, n: u128) -> Hit {
    Hit {
        user_agent: "python-requests/2.32".into(),
        method: "POST".into(),
        path: "/v1/charges".into(),
        label: format!("label-{token}"),
        location: format!("github.com/acme/{token}/.env"),
        ..honeytoken_core::testkit::hit_at_time(token, ip, at, n)
    }
}

/// This test's findings, read back with GetFindings. Its answers
/// deserialise into `AwsSecurityFinding`s whose resource details alone take
/// 31 KB; unoptimised, that needs more than a test thread's 2 MiB of stack,
/// so the reading runs on a thread of its own. (The alerter's side, which
/// only imports, runs on the test's own thread.)
async fn findings(client: &aws_sdk_securityhub::Client, token: &str) -> Vec<AwsSecurityFinding> {
    let (client, token) = (client.clone(), token.to_string());
    tokio::task::spawn_blocking(move || {
        std::thread::Builder::new()
            .stack_size(64 << 20)
            .spawn(move || {
                tokio::runtime::Builder::new_current_thread()
                    .enable_all()
                    .build()
                    .unwrap()
                    .block_on(async {
                        // moto ignores GetFindings filters: select this test's token here.
                        let out = client.get_findings().max_results(100).send().await.unwrap();
                        out.findings()
                            .iter()
                            .filter(|f| f.id().unwrap_or("").contains(&format!("/{token}/")))
                            .cloned()
                            .collect::<Vec<_>>()
                    })
            })
            .unwrap()
            .join()
            .unwrap()
    })
    .await
    .unwrap()
}

#[tokio::test]
async fn one_finding_per_episode_of_a_pair() {
    let conf = support::sdk_config().await;
    let ddb = aws_sdk_dynamodb::Client::new(&conf);
    let tables = Tables::create(&ddb).await;
    let topic = Topic::create(&conf).await;
    let env = alerts::alerter_env(&tables, &topic, &[("SECURITY_HUB_FINDINGS", "true")]);
    let sh = aws_sdk_securityhub::Client::new(&conf);
    let _ = sh.enable_security_hub().send().await;
    let p = pipeline(&conf, &env).await.unwrap();

    let token = support::unique("shtok");
    let t0 = OffsetDateTime::now_utc() - time::Duration::minutes(40);
    let mut first = hit(&token, "81.2.69.142", t0, 1);
    first.geo = Some(Geo {
        country_code: Some("GB".into()),
        country: Some("United Kingdom".into()),
        city: Some("London".into()),
        latitude: Some(51.5142),
        longitude: Some(-0.0931),
    });
    first.asn = Some(Asn {
        number: 15169,
        org: Some("Google LLC".into()),
    });
    // The first hit alerts at once: a finding appears.
    p.process(&first).await.unwrap();
    let f = findings(&sh, &token).await;
    assert_eq!(f.len(), 1, "{f:#?}");
    let one = &f[0];
    let start = first.received_at.to_string();
    let first_id = format!("honeytoken/{token}/81.2.69.142/{start}");
    assert_eq!(one.id(), Some(first_id.as_str()));
    let account = topic.arn.split(':').nth(4).unwrap().to_string();
    assert_eq!(
        one.product_arn(),
        Some(format!("arn:aws:securityhub:us-east-1:{account}:product/{account}/default").as_str())
    );
    assert_eq!(one.aws_account_id(), Some(account.as_str()));
    assert_eq!(one.severity().and_then(|s| s.label()), Some(&SeverityLabel::Critical));
    assert_eq!(
        one.finding_provider_fields()
            .and_then(|x| x.severity())
            .and_then(|s| s.label()),
        Some(&SeverityLabel::Critical)
    );
    assert_eq!(one.network().and_then(|n| n.source_ipv4()), Some("81.2.69.142"));
    let remote = one
        .action()
        .and_then(|a| a.network_connection_action())
        .and_then(|n| n.remote_ip_details())
        .unwrap();
    assert_eq!(remote.country().and_then(|c| c.country_code()), Some("GB"));
    assert_eq!(remote.organization().and_then(|o| o.asn()), Some(15169));
    let res = &one.resources()[0];
    assert_eq!(res.id(), Some(format!("honeytoken:{token}").as_str()));
    let other = res.details().and_then(|d| d.other()).unwrap();
    assert_eq!(
        other.get("label").map(String::as_str),
        Some(format!("label-{token}").as_str())
    );
    assert_eq!(
        other.get("location").map(String::as_str),
        Some(format!("github.com/acme/{token}/.env").as_str())
    );
    let remediation = one
        .remediation()
        .and_then(|r| r.recommendation())
        .and_then(|r| r.text())
        .unwrap();
    assert!(
        remediation.contains(&format!("honeytoken hits --token {token}")),
        "{remediation}"
    );

    let pf = |f: &AwsSecurityFinding, k: &str| f.product_fields().and_then(|p| p.get(k)).cloned();
    assert_eq!(pf(one, "honeytoken/requests").as_deref(), Some("1"));

    // Repeats within the window are counted; a hit after it brings the
    // window's summary, which updates the first episode's finding (last
    // seen, requests; first seen and created kept), and opens a second.
    let repeats: Vec<Hit> = (0..5u128)
        .map(|i| hit(&token, "81.2.69.142", t0 + time::Duration::minutes(1), 10 + i))
        .collect();
    for h in &repeats {
        p.process(h).await.unwrap();
    }
    let second = hit(&token, "81.2.69.142", t0 + time::Duration::minutes(30), 99);
    p.process(&second).await.unwrap();
    let f = findings(&sh, &token).await;
    assert_eq!(f.len(), 2, "one finding per episode: {f:#?}");
    let by_id = |id: &str| {
        f.iter()
            .find(|x| x.id() == Some(id))
            .unwrap_or_else(|| panic!("{id}: {f:#?}"))
    };
    let one = by_id(&first_id);
    assert_eq!(one.first_observed_at(), Some(start.as_str()));
    assert_eq!(one.created_at(), Some(start.as_str()));
    let last_repeat = repeats
        .iter()
        .max_by_key(|h| (h.received_at, h.hit_id.clone()))
        .unwrap();
    assert_eq!(
        one.last_observed_at(),
        Some(last_repeat.received_at.to_string().as_str())
    );
    assert_eq!(pf(one, "honeytoken/requests").as_deref(), Some("6"));
    assert_eq!(pf(one, "honeytoken/last_hit_id").as_ref(), Some(&last_repeat.hit_id));
    let second_start = second.received_at.to_string();
    let two = by_id(&format!("honeytoken/{token}/81.2.69.142/{second_start}"));
    assert_eq!(two.first_observed_at(), Some(second_start.as_str()));
    assert_eq!(two.created_at(), Some(second_start.as_str()));
    assert_eq!(two.last_observed_at(), Some(second_start.as_str()));
    assert_eq!(pf(two, "honeytoken/requests").as_deref(), Some("1"));

    // A tampered hit inside the second window alerts at once (a worse state
    // than the window alerted on): an episode, and a finding, of its own.
    let edited = Hit {
        tampered: true,
        ..hit(&token, "81.2.69.142", t0 + time::Duration::minutes(31), 100)
    };
    p.process(&edited).await.unwrap();
    let f = findings(&sh, &token).await;
    assert_eq!(f.len(), 3, "{f:#?}");
    let edited_start = edited.received_at.to_string();
    assert!(
        f.iter()
            .any(|x| x.id() == Some(format!("honeytoken/{token}/81.2.69.142/{edited_start}").as_str())),
        "{f:#?}"
    );

    // Another source is another finding; a test hit none.
    p.process(&hit(&token, "198.51.100.7", t0, 200)).await.unwrap();
    let mut t = hit(&token, "203.0.113.50", t0, 300);
    t.test = true;
    p.process(&t).await.unwrap();
    let f = findings(&sh, &token).await;
    let mut ids: Vec<&str> = f.iter().filter_map(|x| x.id()).collect();
    ids.sort();
    assert_eq!(ids.len(), 4, "{ids:?}");
    assert!(ids.contains(&format!("honeytoken/{token}/198.51.100.7/{start}").as_str()));
    assert!(!ids.iter().any(|id| id.contains("203.0.113.50")), "{ids:?}");
}
