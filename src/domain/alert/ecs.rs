//! A hit in Elastic Common Schema (ECS): one JSON object per hit, written as
//! one NDJSON line by `honeytoken hits --format ecs`, by `serve --hit-log`
//! and by the decoy Lambda's log, so Elastic, OpenSearch, Splunk and any
//! Filebeat / Vector pipeline read the same fields whatever produced them.
//!
//! Field names follow the ECS reference (8.x): `@timestamp`, `source.*`
//! (with `source.geo.*` and `source.as.*`), `user_agent.original`,
//! `http.request.method`, `url.path`, `url.query`, the `event.*`
//! categorisation fields and `rule.name`. What ECS has no field for lives
//! under `honeytoken.*`. Every value comes from the hit, whose
//! attacker-controlled fields are already escaped and capped; JSON encoding
//! keeps each event on one line.
//!
//! Request headers are left out on purpose: their names are attacker
//! chosen, and an index with dynamic mapping would grow a field per name.

use serde_json::{Map, Value, json};

use super::{Severity, severity};
use crate::domain::hit::Hit;

/// The ECS version these events follow.
pub const ECS_VERSION: &str = "8.11.0";

/// `event.dataset` of every hit event: the marker a CloudWatch Logs
/// subscription filter selects (`{ $.event.dataset = "honeytoken.hit" }`).
pub const DATASET: &str = "honeytoken.hit";

/// `event.severity` for an alert severity, on Elastic's risk-score scale
/// (21 low, 47 medium, 73 high, 99 critical).
pub fn severity_number(s: Severity) -> u8 {
    match s {
        Severity::Critical => 99,
        Severity::High => 73,
        Severity::Low => 21,
        Severity::Info => 21,
    }
}

/// `event.action`: what happened, most specific first.
pub fn action(hit: &Hit) -> &'static str {
    if hit.test {
        "honeytoken-test"
    } else if hit.is_suspicious() {
        "honeytoken-suspicious-request"
    } else if hit.tampered {
        "honeytoken-tampered"
    } else if hit.orphan {
        "honeytoken-orphan"
    } else {
        "honeytoken-used"
    }
}

fn put(m: &mut Map<String, Value>, k: &str, v: Value) {
    if !v.is_null() {
        m.insert(k.to_string(), v);
    }
}

fn non_empty(s: &str) -> Value {
    if s.is_empty() { Value::Null } else { json!(s) }
}

/// The ECS event of one hit.
pub fn event(hit: &Hit) -> Value {
    let sev = severity(hit);
    let mut source = Map::new();
    // `source.ip` is an `ip` field: only an address goes there. A decoy AWS
    // key's source can be a service name (`AWS Internal`), which ECS keeps
    // in `source.address` ("an IP, a domain, a unix socket").
    put(&mut source, "ip", json!(hit.source_addr().map(|a| a.to_string())));
    put(&mut source, "address", non_empty(&hit.source_ip));
    if let Some(g) = &hit.geo {
        let mut geo = Map::new();
        put(&mut geo, "country_iso_code", json!(g.country_code));
        put(&mut geo, "country_name", json!(g.country));
        put(&mut geo, "city_name", json!(g.city));
        if let (Some(lat), Some(lon)) = (g.latitude, g.longitude) {
            geo.insert("location".into(), json!({ "lat": lat, "lon": lon }));
        }
        if !geo.is_empty() {
            source.insert("geo".into(), Value::Object(geo));
        }
    }
    if let Some(a) = &hit.asn {
        let mut asn = Map::new();
        asn.insert("number".into(), json!(a.number));
        if let Some(org) = &a.org {
            asn.insert("organization".into(), json!({ "name": org }));
        }
        source.insert("as".into(), Value::Object(asn));
    }
    let mut url = Map::new();
    put(&mut url, "path", non_empty(&hit.path));
    put(&mut url, "query", non_empty(&hit.query));
    let mut request = Map::new();
    put(&mut request, "method", non_empty(&hit.method));
    put(&mut request, "id", json!(hit.request_id));
    let mut tags = vec!["honeytoken"];
    for (on, tag) in [
        (hit.test, "test"),
        (hit.tampered, "tampered"),
        (hit.orphan, "orphan"),
        (hit.ignored, "ignored"),
        (hit.flood.is_some(), "flood"),
        (!hit.over_bounds.is_empty(), "over-bounds"),
        (hit.scanner.is_some(), "secret-scanner"),
    ] {
        if on {
            tags.push(tag);
        }
    }
    let mut ht = Map::new();
    ht.insert("token_id".into(), json!(hit.token_id));
    ht.insert("hit_id".into(), json!(hit.hit_id));
    put(&mut ht, "label", non_empty(&hit.label));
    put(&mut ht, "location", non_empty(&hit.location));
    ht.insert("found_in".into(), json!(hit.found_in.to_string()));
    ht.insert("via".into(), json!(hit.via.to_string()));
    if let Some(p) = &hit.persona {
        // Which tool the credential was used with (the persona that answered).
        ht.insert("persona".into(), json!(p));
    }
    ht.insert("count".into(), json!(hit.count));
    ht.insert("tampered".into(), json!(hit.tampered));
    if !hit.tampered_claims.is_empty() {
        ht.insert("tampered_claims".into(), json!(hit.tampered_claims));
    }
    ht.insert("orphan".into(), json!(hit.orphan));
    ht.insert("test".into(), json!(hit.test));
    ht.insert("ignored".into(), json!(hit.ignored));
    put(&mut ht, "token_state", json!(hit.token_state));
    ht.insert("severity".into(), json!(sev));
    if let Some(f) = &hit.flood {
        ht.insert("flood".into(), json!(f));
    }
    if let Some(e) = &hit.aws_event {
        ht.insert("aws_event".into(), json!(e));
    }
    if !hit.over_bounds.is_empty() {
        ht.insert("over_bounds".into(), json!(hit.over_bounds));
    }
    if let Some(s) = &hit.scanner {
        ht.insert("scanner".into(), json!(s));
    }
    ht.insert(
        "hits_command".into(),
        json!(format!("honeytoken hits --token {}", hit.token_id)),
    );
    let mut v = json!({
        "@timestamp": hit.received_at.to_string(),
        "ecs": { "version": ECS_VERSION },
        "message": super::render::summary_line(hit),
        "event": {
            // An alert: a detection rule (the token's tag) fired.
            "kind": "alert",
            "category": ["intrusion_detection", "web"],
            "type": ["denied", "access"],
            "action": action(hit),
            // The request was refused (the decoy answers as for a bad key).
            "outcome": "failure",
            "module": "honeytoken",
            "dataset": DATASET,
            "id": hit.hit_id,
            "severity": severity_number(sev),
        },
        "rule": if hit.is_suspicious() {
            json!({
                "name": "honeytoken-suspicious-request",
                "id": hit.token_id,
                "ruleset": "honeytoken",
                "description": "A request went past the scan bounds and carried no recognised decoy credential",
            })
        } else {
            json!({
                "name": "honeytoken-used",
                "id": hit.token_id,
                "ruleset": "honeytoken",
                "description": "A request carried a decoy credential (honeytoken)",
            })
        },
        "observer": { "product": "honeytoken", "type": "honeypot" },
        "source": Value::Object(source),
        "user_agent": { "original": hit.user_agent },
        "http": { "request": Value::Object(request) },
        "url": Value::Object(url),
        "tags": tags,
        "honeytoken": Value::Object(ht),
    });
    // A decoy AWS key's call in ECS's cloud fields: the service and region
    // that served it, the API action as `event.provider`'s operation.
    if let Some(e) = &hit.aws_event {
        let mut cloud = Map::new();
        cloud.insert("provider".into(), json!("aws"));
        put(&mut cloud, "region", non_empty(&e.region));
        put(
            &mut cloud,
            "service",
            json!(non_empty(&e.source).as_str().map(|s| json!({ "name": s }))),
        );
        v["cloud"] = Value::Object(cloud);
        v["event"]["provider"] = non_empty(&e.source);
        v["event"]["reason"] = json!(e.to_string());
        v["error"] = json!(e.error_code.as_ref().map(|c| json!({ "code": c })));
    }
    v
}

/// The event as one NDJSON line (ending in `\n`).
pub fn line(hit: &Hit) -> String {
    let mut s = serde_json::to_string(&event(hit)).unwrap_or_default();
    s.push('\n');
    s
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::domain::hit::{Asn, Geo};
    use honeytoken_core::testkit::hit_at;

    #[test]
    fn an_aws_call_fills_the_cloud_fields_and_a_service_source_is_no_ip() {
        let mut h = hit_at("AKIAIOSFODNN7EXAMPLE", "AWS Internal", 0, 1);
        h.aws_event = Some(crate::domain::hit::AwsEvent {
            name: "GetCallerIdentity".into(),
            source: "sts.amazonaws.com".into(),
            region: "eu-west-1".into(),
            error_code: Some("AccessDenied".into()),
        });
        let v = event(&h);
        assert!(v["source"].get("ip").is_none(), "{}", v["source"]);
        assert_eq!(v["source"]["address"], "AWS Internal");
        assert_eq!(v["cloud"]["provider"], "aws");
        assert_eq!(v["cloud"]["region"], "eu-west-1");
        assert_eq!(v["cloud"]["service"]["name"], "sts.amazonaws.com");
        assert_eq!(v["error"]["code"], "AccessDenied");
        assert_eq!(v["honeytoken"]["aws_event"]["name"], "GetCallerIdentity");
        assert_eq!(
            v["event"]["reason"],
            "GetCallerIdentity on sts.amazonaws.com in eu-west-1, AccessDenied"
        );
    }

    #[test]
    fn field_names_and_values_follow_ecs() {
        let mut h = hit_at("tok1", "81.2.69.142", 0, 1);
        h.user_agent = "curl/8.5.0".into();
        h.method = "POST".into();
        h.path = "/v1/charges".into();
        h.query = "limit=1".into();
        h.geo = Some(Geo {
            country_code: Some("GB".into()),
            country: Some("United Kingdom".into()),
            city: Some("London".into()),
            latitude: Some(51.5142),
            longitude: Some(-0.0931),
        });
        h.asn = Some(Asn {
            number: 15169,
            org: Some("Google LLC".into()),
        });
        let v = event(&h);
        assert_eq!(v["@timestamp"], "2026-11-28T12:00:00.000Z");
        assert_eq!(v["source"]["ip"], "81.2.69.142");
        assert_eq!(v["source"]["geo"]["country_iso_code"], "GB");
        assert_eq!(v["source"]["geo"]["city_name"], "London");
        assert_eq!(v["source"]["geo"]["location"]["lat"], 51.5142);
        assert_eq!(v["source"]["geo"]["location"]["lon"], -0.0931);
        assert_eq!(v["source"]["as"]["number"], 15169);
        assert_eq!(v["source"]["as"]["organization"]["name"], "Google LLC");
        assert_eq!(v["user_agent"]["original"], "curl/8.5.0");
        assert_eq!(v["http"]["request"]["method"], "POST");
        assert_eq!(v["url"]["path"], "/v1/charges");
        assert_eq!(v["url"]["query"], "limit=1");
        assert_eq!(v["event"]["kind"], "alert");
        assert_eq!(v["event"]["category"], json!(["intrusion_detection", "web"]));
        assert_eq!(v["event"]["type"], json!(["denied", "access"]));
        assert_eq!(v["event"]["action"], "honeytoken-used");
        assert_eq!(v["event"]["outcome"], "failure");
        assert_eq!(v["event"]["dataset"], DATASET);
        assert_eq!(v["event"]["severity"], 99);
        assert_eq!(v["rule"]["name"], "honeytoken-used");
        assert_eq!(v["honeytoken"]["token_id"], "tok1");
        assert_eq!(v["honeytoken"]["label"], "payments-repo");
        assert_eq!(v["honeytoken"]["location"], "github.com/acme/payments/.env");
        assert_eq!(v["honeytoken"]["found_in"], "authorization");
        assert!(
            v["honeytoken"].get("persona").is_none(),
            "the decoy's own persona answered"
        );
        let mut tool = h.clone();
        tool.persona = Some("git".into());
        assert_eq!(event(&tool)["honeytoken"]["persona"], "git");
        assert_eq!(v["honeytoken"]["count"], 1);
        assert_eq!(v["honeytoken"]["hits_command"], "honeytoken hits --token tok1");
        assert!(v.get("headers").is_none() && v["honeytoken"].get("headers").is_none());
    }

    #[test]
    fn absent_facts_are_absent_fields_and_flags_are_tagged() {
        let mut h = hit_at("tok1", "203.0.113.9", 0, 1);
        h.query = String::new();
        h.tampered = true;
        h.tampered_claims = vec!["sub".into()];
        let v = event(&h);
        assert!(v["url"].get("query").is_none(), "no empty url.query");
        assert!(v["source"].get("geo").is_none() && v["source"].get("as").is_none());
        assert_eq!(v["event"]["action"], "honeytoken-tampered");
        assert_eq!(v["event"]["severity"], 99, "tampering alerts as critical");
        assert_eq!(v["honeytoken"]["tampered_claims"], json!(["sub"]));
        assert!(v["tags"].as_array().unwrap().contains(&json!("tampered")));
        h.test = true;
        assert_eq!(event(&h)["event"]["action"], "honeytoken-test");
        assert_eq!(event(&h)["event"]["severity"], 21);
    }

    #[test]
    fn one_line_whatever_the_attacker_sent() {
        let mut h = hit_at("tok1", "203.0.113.9", 0, 1);
        h.user_agent = "evil\n{\"forged\":true}\r".into();
        let l = line(&h);
        assert!(l.ends_with('\n') && l.matches('\n').count() == 1);
        let v: Value = serde_json::from_str(&l).unwrap();
        assert_eq!(v["user_agent"]["original"], "evil\n{\"forged\":true}\r");
    }
}
