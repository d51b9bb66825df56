//! Template facts behind "the alarm always rings" (issue 12): what real AWS
//! does that moto and cfn-lint do not check. Each test reads template.yaml
//! (via tests/support/aws.rs) and asserts a fact a deploy depends on.

#[path = "support/aws.rs"]
mod support;

use honeytoken::wiring::alerter;
use serde_norway::Value;
use std::time::Duration;

use support::{tagged, target};

fn resources(t: &Value) -> Vec<(String, Value)> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .iter()
        .map(|(k, v)| (k.as_str().unwrap().to_string(), v.clone()))
        .collect()
}

fn of_type(t: &Value, ty: &str) -> Vec<(String, Value)> {
    resources(t)
        .into_iter()
        .filter(|(_, r)| r["Type"].as_str() == Some(ty))
        .collect()
}

/// Subscriptions to `topic`, by protocol.
fn subscriptions(t: &Value, topic: &str) -> Vec<(String, Value)> {
    of_type(t, "AWS::SNS::Subscription")
        .into_iter()
        .filter(|(_, s)| target(&s["Properties"]["TopicArn"]) == topic)
        .collect()
}

/// A CloudFormation AllowedPattern as CloudFormation applies it: to the whole value.
fn allowed(t: &Value, param: &str, value: &str) -> bool {
    let p = t["Parameters"][param]["AllowedPattern"]
        .as_str()
        .unwrap_or_else(|| panic!("{param} has an AllowedPattern"));
    regex::Regex::new(&format!("^(?:{p})$")).unwrap().is_match(value)
}

/// Item 1: SNS's `"exists": false` matches only messages with at least one
/// attribute, and CloudWatch alarm notifications have none, so every alarm
/// must go to a topic whose https (PagerDuty) subscription has no filter.
#[test]
fn every_alarm_pages_through_a_topic_without_a_filter() {
    let t = support::template();
    let alarms = of_type(&t, "AWS::CloudWatch::Alarm");
    assert!(alarms.len() >= 9, "{}", alarms.len());
    for (name, a) in &alarms {
        let p = &a["Properties"];
        let actions = p["AlarmActions"]
            .as_sequence()
            .unwrap_or_else(|| panic!("{name} has actions"));
        assert!(!actions.is_empty(), "{name}");
        for act in actions {
            let topic = target(act);
            let res = &t["Resources"][topic.as_str()];
            assert_eq!(res["Type"].as_str(), Some("AWS::SNS::Topic"), "{name} -> {topic}");
            let subs = subscriptions(&t, &topic);
            let https: Vec<_> = subs
                .iter()
                .filter(|(_, s)| s["Properties"]["Protocol"].as_str() == Some("https"))
                .collect();
            assert_eq!(https.len(), 1, "{name}: {topic} has a PagerDuty subscription");
            for (sn, s) in &https {
                assert!(
                    s["Properties"]["FilterPolicy"].is_null(),
                    "{name}: {sn} must not filter: alarm notifications carry no attributes"
                );
            }
            assert!(
                subs.iter()
                    .any(|(_, s)| s["Properties"]["Protocol"].as_str() == Some("email")),
                "{name}: {topic} has an email subscription"
            );
            // Same customer-managed key as the alert topic (CloudWatch may use it).
            assert_eq!(target(&res["Properties"]["KmsMasterKeyId"]), "AlertTopicKey", "{topic}");
        }
    }
    // The alert topic's pager keeps test hits away, and nothing relies on `exists`.
    let pd = &t["Resources"]["PagerDutySubscription"]["Properties"];
    assert_eq!(target(&pd["TopicArn"]), "AlertTopic");
    let policy: serde_json::Value = serde_json::to_value(&pd["FilterPolicy"]).unwrap();
    assert_eq!(
        policy,
        serde_json::json!({"test": ["false"], "severity": ["critical", "high"]})
    );
    // Every failure the issue names has an alarm.
    let metrics: Vec<String> = alarms
        .iter()
        .map(|(_, a)| a["Properties"]["MetricName"].as_str().unwrap().to_string())
        .collect();
    for m in [
        "DecoyNotReady",
        "AlerterFailedRecords",
        "ChannelsUnavailable",
        "ThrottledRequests",
        "HitsNotStored",
        "Errors",
        "IteratorAge",
    ] {
        assert!(metrics.iter().any(|x| x == m), "no alarm on {m}: {metrics:?}");
    }
    for (name, a) in &alarms {
        if a["Properties"]["Namespace"].as_str() == Some("honeytoken") {
            assert_eq!(
                a["Properties"]["TreatMissingData"].as_str(),
                Some("notBreaching"),
                "{name}: the metric exists only when something failed"
            );
        }
    }
}

/// Item 6: a PagerDuty outage must not lose pages: sustained retries
/// (within SNS's 3,600 s cap) and a redrive queue SNS may write to, alarmed.
#[test]
fn pagerduty_subscriptions_retry_and_redrive() {
    let t = support::template();
    let r = &t["Resources"];
    let https: Vec<_> = of_type(&t, "AWS::SNS::Subscription")
        .into_iter()
        .filter(|(_, s)| s["Properties"]["Protocol"].as_str() == Some("https"))
        .collect();
    assert_eq!(https.len(), 2);
    let mut dlqs = Vec::new();
    for (name, s) in &https {
        let p = &s["Properties"];
        let h = &p["DeliveryPolicy"]["healthyRetryPolicy"];
        let n = |k: &str| h[k].as_i64().unwrap_or_else(|| panic!("{name}: {k}"));
        // The default is 3 retries 20 s apart.
        assert!(n("numRetries") >= 30, "{name}");
        let backoff = n("numRetries") - n("numNoDelayRetries") - n("numMinDelayRetries") - n("numMaxDelayRetries");
        assert!(backoff >= 0, "{name}: phases add up");
        // Upper bound of the total retry time; SNS refuses more than 3,600 s.
        let total =
            n("numMinDelayRetries") * n("minDelayTarget") + (backoff + n("numMaxDelayRetries")) * n("maxDelayTarget");
        assert!(total <= 3600, "{name}: {total} s");
        assert!(
            total >= 1800,
            "{name}: retries last long enough to ride out an outage ({total} s)"
        );
        let dlq = target(&p["RedrivePolicy"]["deadLetterTargetArn"]);
        assert_eq!(r[dlq.as_str()]["Type"].as_str(), Some("AWS::SQS::Queue"));
        dlqs.push(dlq);
    }
    dlqs.dedup();
    assert_eq!(dlqs.len(), 1);
    let dlq = &dlqs[0];
    // SNS may send to it, from the two topics only.
    let policy = of_type(&t, "AWS::SQS::QueuePolicy")
        .into_iter()
        .find(|(_, p)| {
            p["Properties"]["Queues"]
                .as_sequence()
                .unwrap()
                .iter()
                .any(|q| target(q) == *dlq)
        })
        .expect("a queue policy on the dead-letter queue");
    let st = &policy.1["Properties"]["PolicyDocument"]["Statement"][0];
    assert_eq!(st["Principal"]["Service"].as_str(), Some("sns.amazonaws.com"));
    assert_eq!(st["Action"].as_str(), Some("sqs:SendMessage"));
    let mut sources: Vec<String> = st["Condition"]["ArnEquals"]["aws:SourceArn"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(target)
        .collect();
    sources.sort();
    assert_eq!(sources, ["AlarmTopic", "AlertTopic"]);
    // Alarmed.
    assert!(of_type(&t, "AWS::CloudWatch::Alarm").iter().any(|(_, a)| {
        a["Properties"]["Dimensions"]
            .as_sequence()
            .is_some_and(|d| d.iter().any(|d| target(&d["Value"]) == *dlq))
    }));
}

/// Item 7: hits before the mapping is enabled are still read, and only
/// INSERTs invoke the alerter (TTL deletions do not).
#[test]
fn the_stream_mapping_reads_from_the_start_and_only_inserts() {
    let t = support::template();
    let p = &t["Resources"]["AlerterFunction"]["Properties"]["Events"]["HitsStream"]["Properties"];
    assert_eq!(p["StartingPosition"].as_str(), Some("TRIM_HORIZON"));
    let filters = p["FilterCriteria"]["Filters"].as_sequence().expect("filter criteria");
    assert_eq!(filters.len(), 1);
    let pattern: serde_json::Value = serde_json::from_str(filters[0]["Pattern"].as_str().unwrap()).unwrap();
    // Only hits: a flood's counter item (no `received_at`) never invokes it.
    assert_eq!(
        pattern,
        serde_json::json!({"eventName": ["INSERT"], "dynamodb": {"NewImage": {"received_at": {"S": [{"exists": true}]}}}})
    );
    // The batch fits the timeout: the alerter stops taking records with the
    // longest record, the end-of-invocation drain and the answer still to
    // come, and even so each invocation can take at least one record.
    let timeout = Duration::from_secs(
        t["Resources"]["AlerterFunction"]["Properties"]["Timeout"]
            .as_u64()
            .unwrap(),
    );
    let deadline = Duration::from_secs(
        t["Resources"]["AlerterFunction"]["Properties"]["Environment"]["Variables"]["OPTIONAL_CHANNEL_DEADLINE_SECS"]
            .as_str()
            .unwrap()
            .parse()
            .unwrap(),
    );
    let margin = alerter::stop_margin(deadline);
    assert!(
        margin >= alerter::DEADLINE_SLACK + deadline + alerter::DRAIN_LIMIT,
        "the margin covers a record and the drain"
    );
    let longest_record = alerter::DEADLINE_SLACK + deadline;
    assert!(
        margin + longest_record <= timeout,
        "{margin:?} margin and a {longest_record:?} record in a {timeout:?} function"
    );
}

/// Item 8: a 429 from the stage throttle is counted from the access log
/// (every decoy answer is a 401, so 4xx says nothing) and alarmed; the
/// default burst is what a new account can serve.
#[test]
fn throttled_requests_are_counted_and_alarmed() {
    let t = support::template();
    let r = &t["Resources"];
    let (_, f) = of_type(&t, "AWS::Logs::MetricFilter")
        .into_iter()
        .find(|(_, f)| f["Properties"]["MetricTransformations"][0]["MetricName"].as_str() == Some("ThrottledRequests"))
        .expect("a metric filter for ThrottledRequests");
    assert_eq!(target(&f["Properties"]["LogGroupName"]), "ApiAccessLogGroup");
    assert_eq!(
        f["Properties"]["FilterPattern"].as_str(),
        Some(r#"{ $.status = "429" }"#)
    );
    // The access log writes `status` as a JSON field the pattern can read.
    let format = r["HttpApi"]["Properties"]["AccessLogSettings"]["Format"]
        .as_str()
        .unwrap();
    let sample: serde_json::Value = serde_json::from_str(&format.replace("$context.", "")).unwrap();
    assert_eq!(sample["status"], "status");
    let burst = &t["Parameters"]["ThrottlingBurstLimit"];
    assert!(burst["Default"].as_i64().unwrap() <= 10);
    assert!(
        burst["Description"]
            .as_str()
            .unwrap()
            .contains("10 concurrent executions")
    );
}

/// Item 10: bad parameters are refused before anything is created.
#[test]
fn bad_parameters_fail_early() {
    let t = support::template();
    for ok in ["", "secops@example.com", "a.b+pager@sub.example.co.uk"] {
        assert!(allowed(&t, "AlertEmail", ok), "{ok}");
    }
    for bad in [
        "secops@example",
        "secops example.com",
        "secops@@example.com",
        "@example.com",
        "x@y.z ",
    ] {
        assert!(!allowed(&t, "AlertEmail", bad), "{bad}");
    }
    // DomainName without CertificateArn is an assertion failure, not silently ignored.
    let rule = t["Rules"]
        .as_mapping()
        .expect("template Rules")
        .iter()
        .map(|(_, r)| r)
        .find(|r| {
            let c = serde_json::to_string(&serde_json::to_value(&r["RuleCondition"]).unwrap()).unwrap();
            c.contains("DomainName")
        })
        .expect("a rule conditioned on DomainName");
    let asserts = serde_json::to_string(&serde_json::to_value(&rule["Assertions"]).unwrap()).unwrap();
    assert!(asserts.contains("CertificateArn"), "{asserts}");
}

/// Item 3: secret ARNs must be full (IAM does not match a partial ARN), and
/// a channel secret under a customer-managed key may be decrypted through
/// Secrets Manager only.
#[test]
fn channel_secrets_are_full_arns_decrypted_via_secrets_manager_only() {
    let t = support::template();
    for p in ["SlackWebhookSecretArn", "PagerDutyRoutingKeySecretArn"] {
        assert!(allowed(&t, p, ""));
        assert!(allowed(
            &t,
            p,
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:honeytoken/slack-a1B2c3"
        ));
        for bad in [
            "honeytoken/slack",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:honeytoken/slack",
            "arn:aws:secretsmanager:eu-west-1:123456789012:secret:*",
        ] {
            assert!(!allowed(&t, p, bad), "{p} accepts {bad}");
        }
    }
    let stmts = t["Resources"]["AlerterRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let kms: Vec<&Value> = stmts
        .iter()
        .filter_map(|s| match tagged(s) {
            Some((tag, v)) if tag == "If" => Some(&v.as_sequence().unwrap()[1]),
            _ => None,
        })
        .filter(|s| s["Action"].as_str() == Some("kms:Decrypt"))
        .collect();
    assert_eq!(kms.len(), 1);
    let via = &kms[0]["Condition"]["StringEquals"]["kms:ViaService"];
    let (tag, v) = tagged(via).expect("!Sub");
    assert_eq!(tag, "Sub");
    assert_eq!(v.as_str(), Some("secretsmanager.${AWS::Region}.amazonaws.com"));
}

/// The flood rule's parameter reaches the decoy (default 20 whole hits).
#[test]
fn the_flood_rule_reaches_the_decoy() {
    let t = support::template();
    assert_eq!(t["Parameters"]["FloodWholeHits"]["Default"].as_i64(), Some(20));
    let env = &t["Resources"]["DecoyFunction"]["Properties"]["Environment"]["Variables"];
    for (var, param) in [
        ("FLOOD_WHOLE_HITS", "FloodWholeHits"),
        ("THROTTLE_WINDOW_MINUTES", "ThrottleWindowMinutes"),
    ] {
        let (tag, v) = tagged(&env[var]).unwrap_or_else(|| panic!("{var}"));
        assert_eq!((tag.as_str(), v.as_str()), ("Ref", Some(param)));
    }
    let e = honeytoken::wiring::stack::DecoyEnv::from_lookup(|k| match k {
        "TOKENS_TABLE" | "HITS_TABLE" | "SIGNING_KEY_SECRET_ARN" => Some("x".into()),
        "FLOOD_WHOLE_HITS" => Some("20".into()),
        "THROTTLE_WINDOW_MINUTES" => Some("15".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(e.flood.whole, 20);
    assert_eq!(e.flood.bucket, std::time::Duration::from_secs(900));
}
