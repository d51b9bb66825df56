//! Alerts to an SNS topic with `MessageStructure=json`, one rendering per
//! subscription protocol:
//!
//! * `default`, `sqs`, `lambda`, `email-json`: the alert as JSON
//!   ([`render::alert_json`]: summary, severity, source, dedup key, hit);
//! * `email`: plain text a person can act on ([`render::email_text`]);
//! * `https`, `http`: a CloudWatch-alarm-shaped message for PagerDuty's
//!   Amazon CloudWatch integration ([`render::cloudwatch_alarm`]);
//! * `sms`: the subject line.
//!
//! The subject starts with `ALARM:` (PagerDuty reads it) and stays within
//! SNS's 100 characters. Message attributes `severity`, `token_id` and
//! `test` (`"true"`/`"false"`) let subscriptions filter, e.g. keep test
//! hits away from the pager.

use async_trait::async_trait;
use aws_sdk_sns::Client;
use aws_sdk_sns::error::DisplayErrorContext;
use aws_sdk_sns::types::MessageAttributeValue;
use std::collections::HashMap;

use super::Notifier;
use crate::domain::alert::render::AlarmOrigin;
use crate::domain::alert::{Alert, render};
use crate::error::{Error, Result};

/// SNS accepts 256 KiB for the message and its attributes together; this
/// leaves room for the attributes and the subject.
pub const MESSAGE_BUDGET: usize = 250 * 1024;

/// Publishes alerts to a topic.
#[derive(Clone, Debug)]
pub struct Sns {
    client: Client,
    topic_arn: String,
    origin: AlarmOrigin,
}

impl Sns {
    /// A notifier publishing to `topic_arn`.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        let topic_arn = topic_arn.into();
        Sns {
            client,
            origin: AlarmOrigin::from_topic_arn(&topic_arn).unwrap_or_else(Self::unknown_origin),
            topic_arn,
        }
    }

    /// For a topic ARN that does not parse (never on AWS): fields stay present.
    fn unknown_origin() -> AlarmOrigin {
        AlarmOrigin {
            partition: "aws".into(),
            region: "unknown".into(),
            account: "000000000000".into(),
        }
    }

    /// The `MessageStructure=json` body for an alert. A hit too large for
    /// SNS (every copy of it escaped twice) is trimmed: headers first, then
    /// the longest request fields. The stored hit keeps everything.
    pub fn message(alert: &Alert) -> Result<String> {
        Self::message_in(alert, &Self::unknown_origin())
    }

    /// [`Sns::message`] with the `https` rendering naming `origin` (the
    /// topic's partition, region and account).
    pub fn message_in(alert: &Alert, origin: &AlarmOrigin) -> Result<String> {
        let body = Self::structure(alert, origin)?;
        if body.len() <= MESSAGE_BUDGET {
            return Ok(body);
        }
        let mut a = alert.clone();
        let n = a.hit.headers.len();
        a.hit.headers.clear();
        a.hit.headers.insert(
            "x-honeytoken-omitted".into(),
            format!(
                "{n} headers left out to fit SNS; `honeytoken hits --token {}` shows them",
                a.hit.token_id
            ),
        );
        let body = Self::structure(&a, origin)?;
        if body.len() <= MESSAGE_BUDGET {
            return Ok(body);
        }
        for f in [&mut a.hit.path, &mut a.hit.query, &mut a.hit.user_agent] {
            cut(f, 256);
        }
        a.hit.tampered_claims.truncate(16);
        let body = Self::structure(&a, origin)?;
        if body.len() <= MESSAGE_BUDGET {
            Ok(body)
        } else {
            Err(Error::Notify {
                channel: "sns".into(),
                message: format!("alert of {} bytes does not fit SNS", body.len()),
            })
        }
    }

    fn structure(alert: &Alert, origin: &AlarmOrigin) -> Result<String> {
        let json = render::alert_json(alert).to_string();
        let alarm = render::cloudwatch_alarm(alert, origin).to_string();
        let v = serde_json::json!({
            "default": json,
            "sqs": json,
            "lambda": json,
            "email-json": json,
            "email": render::email_text(alert),
            "https": alarm,
            "http": alarm,
            "sms": render::subject(alert),
        });
        serde_json::to_string(&v).map_err(|e| Error::Notify {
            channel: "sns".into(),
            message: e.to_string(),
        })
    }

    /// Message attributes for subscription filter policies.
    pub fn attributes(alert: &Alert) -> Result<HashMap<String, MessageAttributeValue>> {
        let attr = |v: String| {
            MessageAttributeValue::builder()
                .data_type("String")
                .string_value(v)
                .build()
                .map_err(|e| Error::Notify {
                    channel: "sns".into(),
                    message: e.to_string(),
                })
        };
        Ok(HashMap::from([
            ("severity".to_string(), attr(alert.severity.to_string())?),
            ("token_id".to_string(), attr(alert.hit.token_id.clone())?),
            ("test".to_string(), attr(alert.hit.test.to_string())?),
        ]))
    }
}

/// Truncates `s` to at most `max` bytes on a character boundary, marking the cut.
fn cut(s: &mut String, max: usize) {
    if s.len() > max {
        let mut i = max;
        while !s.is_char_boundary(i) {
            i -= 1;
        }
        s.truncate(i);
        s.push_str("…[cut]");
    }
}

#[async_trait]
impl Notifier for Sns {
    fn name(&self) -> &str {
        "sns"
    }

    async fn notify(&self, alert: &Alert) -> Result<()> {
        self.client
            .publish()
            .topic_arn(&self.topic_arn)
            .message_structure("json")
            .message(Self::message_in(alert, &self.origin)?)
            .subject(render::subject(alert))
            .set_message_attributes(Some(Self::attributes(alert)?))
            .send()
            .await
            .map_err(|e| Error::Notify {
                channel: "sns".into(),
                message: DisplayErrorContext(&e).to_string(),
            })?;
        Ok(())
    }

    /// `GetTopicAttributes` on the topic: the cheapest signed call that
    /// reaches SNS and publishes nothing (the decoy's role may make it on
    /// its own topic only).
    async fn warm_up(&self) -> Result<()> {
        self.client
            .get_topic_attributes()
            .topic_arn(&self.topic_arn)
            .send()
            .await
            .map_err(|e| Error::Notify {
                channel: "sns".into(),
                message: DisplayErrorContext(&e).to_string(),
            })?;
        Ok(())
    }
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hit::{Asn, Geo};
    use honeytoken_core::testkit::hit_at;

    fn parse(body: &str) -> serde_json::Value {
        serde_json::from_str(body).unwrap()
    }

    #[test]
    fn every_protocol_gets_its_rendering() {
        let mut h = hit_at("687d6fc3f5e48593", "81.2.69.142", 0, 0);
        h.geo = Some(Geo {
            country_code: Some("GB".into()),
            country: Some("United Kingdom".into()),
            city: Some("London".into()),
            latitude: None,
            longitude: None,
        });
        h.asn = Some(Asn {
            number: 15169,
            org: Some("Google LLC".into()),
        });
        let a = Alert::for_hit(&h);
        let m = parse(&Sns::message(&a).unwrap());
        for k in ["default", "sqs", "lambda", "email-json"] {
            let inner = parse(m[k].as_str().unwrap());
            assert_eq!(inner["hit"]["source_ip"], "81.2.69.142", "{k}");
            assert_eq!(inner["dedup_key"], "honeytoken/687d6fc3f5e48593/81.2.69.142");
            assert_eq!(inner["severity"], "critical");
            assert_eq!(inner["source"], "81.2.69.142");
        }
        let email = m["email"].as_str().unwrap();
        assert_eq!(parse(m["sqs"].as_str().unwrap())["text"], email);
        for want in [
            "payments-repo",
            "github.com/acme/payments/.env",
            "London, United Kingdom",
            "AS15169 Google LLC",
            "curl/8.5.0",
            "GET /v1/users",
            "2026-11-28T12:00:00.000Z",
            "What to do next",
            "honeytoken hits --token 687d6fc3f5e48593",
        ] {
            assert!(email.contains(want), "email lacks {want:?}:\n{email}");
        }
        let alarm = parse(m["https"].as_str().unwrap());
        assert_eq!(alarm["NewStateValue"], "ALARM");
        assert_eq!(alarm["StateChangeTime"], "2026-11-28T12:00:00.000+0000");
        assert!(alarm["AlarmName"].as_str().unwrap().contains("687d6fc3f5e48593"));
        assert_eq!(alarm["honeytoken"]["hit"]["hit_id"], h.hit_id);
        assert!(render::subject(&a).starts_with("ALARM:"));
        let attrs = Sns::attributes(&a).unwrap();
        assert_eq!(attrs["test"].string_value(), Some("false"));
        assert_eq!(attrs["severity"].string_value(), Some("critical"));
        assert_eq!(attrs["token_id"].string_value(), Some("687d6fc3f5e48593"));
    }

    /// A CloudWatch alarm notification in the shape AWS documents (the SNS
    /// message of an alarm; field names and types as in the CloudWatch and
    /// Lambda documentation's examples, values our own).
    const DOCUMENTED_ALARM: &str = r#"{
        "AlarmName": "api-5xx",
        "AlarmDescription": "5xx from the API",
        "AWSAccountId": "111122223333",
        "AlarmConfigurationUpdatedTimestamp": "2026-01-02T03:04:05.678+0000",
        "NewStateValue": "ALARM",
        "NewStateReason": "Threshold Crossed: 1 out of the last 1 datapoints [3.0 (02/01/26 03:04:00)] was greater than the threshold (0.0).",
        "StateChangeTime": "2026-01-02T03:05:05.678+0000",
        "Region": "EU (Ireland)",
        "AlarmArn": "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:api-5xx",
        "OldStateValue": "OK",
        "OKActions": [],
        "AlarmActions": ["arn:aws:sns:eu-west-1:111122223333:ops"],
        "InsufficientDataActions": [],
        "Trigger": {
            "MetricName": "5XXError",
            "Namespace": "AWS/ApiGateway",
            "StatisticType": "Statistic",
            "Statistic": "SUM",
            "Unit": null,
            "Dimensions": [{"value": "prod", "name": "Stage"}],
            "Period": 60,
            "EvaluationPeriods": 1,
            "DatapointsToAlarm": 1,
            "ComparisonOperator": "GreaterThanThreshold",
            "Threshold": 0.0,
            "TreatMissingData": "missing",
            "EvaluateLowSampleCountPercentile": ""
        }
    }"#;

    fn kind(v: &serde_json::Value) -> &'static str {
        match v {
            serde_json::Value::Null => "null",
            serde_json::Value::Bool(_) => "bool",
            serde_json::Value::Number(_) => "number",
            serde_json::Value::String(_) => "string",
            serde_json::Value::Array(_) => "array",
            serde_json::Value::Object(_) => "object",
        }
    }

    /// Every field of a real notification is present with the same type, so
    /// PagerDuty's CloudWatch integration reads the alert as an alarm.
    #[test]
    fn the_https_rendering_has_every_field_of_a_real_alarm_notification() {
        let h = hit_at("687d6fc3f5e48593", "2001:db8::7", 0, 0);
        let origin = AlarmOrigin::from_topic_arn("arn:aws:sns:eu-west-1:111122223333:honeytoken-AlertTopic-X").unwrap();
        let real: serde_json::Value = serde_json::from_str(DOCUMENTED_ALARM).unwrap();
        for a in [Alert::for_hit(&h), Alert::summary(&h, 41, 900)] {
            let m = parse(&Sns::message_in(&a, &origin).unwrap());
            let ours = parse(m["https"].as_str().unwrap());
            for (k, v) in real.as_object().unwrap() {
                let got = ours.get(k).unwrap_or_else(|| panic!("missing {k}"));
                assert_eq!(kind(got), kind(v), "{k}: {got}");
            }
            for (k, v) in real["Trigger"].as_object().unwrap() {
                let got = ours["Trigger"].get(k).unwrap_or_else(|| panic!("missing Trigger.{k}"));
                // Unit is null for a metric without one; ours has Count.
                if !v.is_null() {
                    assert_eq!(kind(got), kind(v), "Trigger.{k}: {got}");
                }
            }
            let d = &ours["Trigger"]["Dimensions"][0];
            assert_eq!(
                (d["name"].as_str(), d["value"].as_str()),
                (Some("TokenId"), Some("687d6fc3f5e48593"))
            );
            assert_eq!(ours["AWSAccountId"], "111122223333");
            assert_eq!(ours["Region"], "EU (Ireland)");
            assert_eq!(
                ours["AlarmArn"],
                "arn:aws:cloudwatch:eu-west-1:111122223333:alarm:honeytoken/687d6fc3f5e48593/2001:db8::7"
            );
            assert_eq!(ours["NewStateValue"], "ALARM");
            assert_eq!(ours["OldStateValue"], "OK");
            assert_eq!(ours["Trigger"]["Statistic"], "SUM");
            assert_eq!(ours["Trigger"]["Threshold"], 0.0);
            assert_eq!(ours["Trigger"]["ComparisonOperator"], "GreaterThanThreshold");
            let period = ours["Trigger"]["Period"].as_u64().unwrap();
            assert!(period >= 60 && period.is_multiple_of(60), "{period}");
            assert_eq!(ours["StateChangeTime"], "2026-11-28T12:00:00.000+0000");
        }
        assert_eq!(
            parse(
                parse(&Sns::message_in(&Alert::summary(&h, 41, 900), &origin).unwrap())["https"]
                    .as_str()
                    .unwrap()
            )["Trigger"]["Period"],
            900
        );
        assert_eq!(AlarmOrigin::from_topic_arn("not-an-arn"), None);
    }

    #[test]
    fn hostile_hit_is_trimmed_to_fit() {
        let mut h = hit_at("tok", "203.0.113.9", 0, 0);
        // Quotes and backslashes double with each level of JSON escaping.
        for i in 0..64 {
            h.headers.insert(format!("x-h{i}"), "\"\\".repeat(128));
        }
        h.path = format!("/{}", "\"".repeat(2047));
        h.query = "\"".repeat(2048);
        h.user_agent = "\"".repeat(512);
        let a = Alert::for_hit(&h);
        assert!(
            Sns::structure(&a, &Sns::unknown_origin()).unwrap().len() > MESSAGE_BUDGET,
            "the case must exceed the budget"
        );
        let body = Sns::message(&a).unwrap();
        assert!(body.len() <= MESSAGE_BUDGET);
        let inner = parse(parse(&body)["sqs"].as_str().unwrap());
        assert_eq!(inner["hit"]["hit_id"], h.hit_id);
        assert!(
            inner["hit"]["headers"]["x-honeytoken-omitted"]
                .as_str()
                .unwrap()
                .contains("64 headers")
        );
    }

    #[test]
    fn subject_is_bounded() {
        let mut h = hit_at("tok", "203.0.113.9", 0, 0);
        h.label = "é".repeat(300);
        let s = render::subject(&Alert::summary(&h, 499, 900));
        assert!(s.len() <= 100 && s.starts_with("ALARM: 499 more"), "{s}");
    }
}
