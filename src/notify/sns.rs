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
}

impl Sns {
    /// A notifier publishing to `topic_arn`.
    pub fn new(client: Client, topic_arn: impl Into<String>) -> Self {
        Sns {
            client,
            topic_arn: topic_arn.into(),
        }
    }

    /// The `MessageStructure=json` body for an alert. A hit too large for
    /// SNS (every copy of it escaped twice) is trimmed: headers first, then
    /// the longest request fields. The stored hit keeps everything.
    pub fn message(alert: &Alert) -> Result<String> {
        let body = Self::structure(alert)?;
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
        let body = Self::structure(&a)?;
        if body.len() <= MESSAGE_BUDGET {
            return Ok(body);
        }
        for f in [&mut a.hit.path, &mut a.hit.query, &mut a.hit.user_agent] {
            cut(f, 256);
        }
        a.hit.tampered_claims.truncate(16);
        let body = Self::structure(&a)?;
        if body.len() <= MESSAGE_BUDGET {
            Ok(body)
        } else {
            Err(Error::Notify {
                channel: "sns".into(),
                message: format!("alert of {} bytes does not fit SNS", body.len()),
            })
        }
    }

    fn structure(alert: &Alert) -> Result<String> {
        let json = render::alert_json(alert).to_string();
        let alarm = render::cloudwatch_alarm(alert).to_string();
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
            .message(Self::message(alert)?)
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
            Sns::structure(&a).unwrap().len() > MESSAGE_BUDGET,
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
