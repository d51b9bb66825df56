//! The pager's SNS filter policy, taken from `template.yaml` as deployed,
//! applied by SNS (moto) to what the real SNS notifier publishes: real hits
//! of severity critical and high reach the pager; a test hit (`info`) and a
//! suspicious request (`low`) do not. Needs the emulator
//! (`scripts/test.sh` starts it).

#[path = "support/aws.rs"]
mod support;

use aws_sdk_sqs::types::QueueAttributeName;
use honeytoken::domain::alert::{Alert, Severity};
use honeytoken::notify::Notifier;
use honeytoken::notify::sns::Sns;
use honeytoken_core::hit::SUSPICIOUS_REQUEST;
use honeytoken_core::testkit::hit_at;
use std::collections::BTreeSet;
use std::time::{Duration, Instant};

#[tokio::test]
async fn only_real_hits_of_severity_critical_or_high_reach_the_pager() {
    let t = support::template();
    let pd = &t["Resources"]["PagerDutySubscription"]["Properties"];
    assert_eq!(pd["FilterPolicyScope"].as_str(), Some("MessageAttributes"));
    let policy = serde_json::to_string(&serde_json::to_value(&pd["FilterPolicy"]).unwrap()).unwrap();

    let conf = support::sdk_config().await;
    let (sns, sqs) = (aws_sdk_sns::Client::new(&conf), aws_sdk_sqs::Client::new(&conf));
    let topic = sns
        .create_topic()
        .name(support::unique("alerts"))
        .send()
        .await
        .unwrap()
        .topic_arn()
        .unwrap()
        .to_string();
    let queue_url = sqs
        .create_queue()
        .queue_name(support::unique("pager"))
        .send()
        .await
        .unwrap()
        .queue_url()
        .unwrap()
        .to_string();
    let queue_arn = sqs
        .get_queue_attributes()
        .queue_url(&queue_url)
        .attribute_names(QueueAttributeName::QueueArn)
        .send()
        .await
        .unwrap()
        .attributes()
        .and_then(|a| a.get(&QueueAttributeName::QueueArn).cloned())
        .unwrap();
    // The queue stands in for the pager's https endpoint: the same filter, the same topic.
    sns.subscribe()
        .topic_arn(&topic)
        .protocol("sqs")
        .endpoint(queue_arn)
        .attributes("RawMessageDelivery", "false")
        .attributes("FilterPolicyScope", "MessageAttributes")
        .attributes("FilterPolicy", &policy)
        .send()
        .await
        .unwrap();

    let real = hit_at("687d6fc3f5e48593", "198.51.100.7", 0, 1);
    let mut orphan = hit_at("0123456789abcdef", "198.51.100.8", 1, 2);
    orphan.orphan = true;
    let mut test = hit_at("687d6fc3f5e48593", "198.51.100.9", 2, 3);
    test.test = true;
    let mut suspicious = hit_at(SUSPICIOUS_REQUEST, "198.51.100.10", 3, 4);
    suspicious.over_bounds = vec!["cookies".into()];
    let alerts: Vec<Alert> = [&real, &orphan, &test, &suspicious].map(Alert::for_hit).to_vec();
    let severities: Vec<Severity> = alerts.iter().map(|a| a.severity).collect();
    assert_eq!(
        severities,
        [Severity::Critical, Severity::High, Severity::Info, Severity::Low],
        "one alert of each severity"
    );
    let notifier = Sns::new(sns.clone(), topic.clone());
    for a in &alerts {
        notifier.notify(a).await.unwrap();
    }

    // Every message that passes the filter, until none came for 3 s.
    let mut got = BTreeSet::new();
    let deadline = Instant::now() + Duration::from_secs(20);
    let mut quiet_since = Instant::now();
    while Instant::now() < deadline && quiet_since.elapsed() < Duration::from_secs(3) {
        let r = sqs
            .receive_message()
            .queue_url(&queue_url)
            .max_number_of_messages(10)
            .wait_time_seconds(1)
            .send()
            .await
            .unwrap();
        for m in r.messages() {
            quiet_since = Instant::now();
            let env: serde_json::Value = serde_json::from_str(m.body().unwrap()).unwrap();
            got.insert(
                env["MessageAttributes"]["severity"]["Value"]
                    .as_str()
                    .unwrap()
                    .to_string(),
            );
        }
    }
    assert_eq!(
        got,
        BTreeSet::from(["critical".to_string(), "high".to_string()]),
        "the pager gets real critical and high alerts, nothing else"
    );
}
