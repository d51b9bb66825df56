//! The template's side of the integrations (what `sam validate` does not
//! check): the Teams, Discord and Splunk secrets and Security Hub are
//! optional parameters wired to the alerter's environment and to
//! least-privilege statements; the dashboard is a nested stack whose
//! widgets cover what the issue asks for.

#[path = "support/aws.rs"]
mod support;

use serde_norway::Value;

fn tag(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((t.tag.to_string().trim_start_matches('!').to_string(), &t.value)),
        _ => None,
    }
}

/// The alerter role's statements, with `!If [C, stmt, NoValue]` unwrapped
/// to (Some(C), stmt).
fn alerter_statements(t: &Value) -> Vec<(Option<String>, Value)> {
    t["Resources"]["AlerterRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|s| match tag(s) {
            Some((t, v)) if t == "If" => {
                let seq = v.as_sequence().unwrap();
                (Some(seq[0].as_str().unwrap().to_string()), seq[1].clone())
            }
            _ => (None, s.clone()),
        })
        .collect()
}

#[test]
fn optional_channel_secrets_are_full_arns_read_only_by_the_alerter() {
    let t = support::template();
    let vars = t["Resources"]["AlerterFunction"]["Properties"]["Environment"]["Variables"].clone();
    let stmts = alerter_statements(&t);
    let re_full = |p: &str| {
        // The pattern must refuse a partial ARN (no -XXXXXX suffix) and accept a full one.
        let pat = p.trim_start_matches("^(").trim_end_matches(")?$");
        assert!(pat.ends_with("-[A-Za-z0-9]{6}"), "{p}");
    };
    for (param, var, cond) in [
        ("TeamsWebhookSecretArn", "TEAMS_WEBHOOK_SECRET_ARN", "HasTeams"),
        ("DiscordWebhookSecretArn", "DISCORD_WEBHOOK_SECRET_ARN", "HasDiscord"),
        ("SplunkHecSecretArn", "SPLUNK_HEC_SECRET_ARN", "HasSplunkHec"),
    ] {
        let p = &t["Parameters"][param];
        assert_eq!(p["Default"].as_str(), Some(""), "{param} is optional");
        re_full(p["AllowedPattern"].as_str().unwrap());
        let (tg, v) = tag(&vars[var]).unwrap_or_else(|| panic!("{var} is set"));
        assert_eq!((tg.as_str(), v.as_str()), ("Ref", Some(param)));
        // Exactly one statement under the condition: GetSecretValue on that secret.
        let mine: Vec<&Value> = stmts
            .iter()
            .filter(|(c, _)| c.as_deref() == Some(cond))
            .map(|(_, s)| s)
            .collect();
        assert_eq!(mine.len(), 1, "{cond}");
        assert_eq!(mine[0]["Action"].as_str(), Some("secretsmanager:GetSecretValue"));
        let (tg, v) = tag(&mine[0]["Resource"]).unwrap();
        assert_eq!((tg.as_str(), v.as_str()), ("Ref", Some(param)));
    }
    // The decoy never reads them.
    let decoy = format!("{:?}", t["Resources"]["DecoyFunction"]);
    assert!(!decoy.contains("Teams") && !decoy.contains("Discord") && !decoy.contains("Splunk"));
}

#[test]
fn security_hub_is_off_by_default_and_may_only_import_into_the_default_product() {
    let t = support::template();
    let p = &t["Parameters"]["SecurityHubFindings"];
    assert_eq!(p["Default"].as_str(), Some("false"));
    let vars = &t["Resources"]["AlerterFunction"]["Properties"]["Environment"]["Variables"];
    assert!(tag(&vars["SECURITY_HUB_FINDINGS"]).is_some());
    let stmts = alerter_statements(&t);
    let hub: Vec<&(Option<String>, Value)> = stmts
        .iter()
        .filter(|(_, s)| format!("{s:?}").contains("securityhub"))
        .collect();
    assert_eq!(hub.len(), 1, "one Security Hub statement");
    let (cond, s) = hub[0];
    assert_eq!(cond.as_deref(), Some("HasSecurityHub"));
    assert_eq!(s["Action"].as_str(), Some("securityhub:BatchImportFindings"));
    let (tg, arn) = tag(&s["Resource"]).unwrap();
    assert_eq!(tg, "Sub");
    assert_eq!(
        arn.as_str(),
        Some("arn:${AWS::Partition}:securityhub:${AWS::Region}:${AWS::AccountId}:product/${AWS::AccountId}/default")
    );
    // The environment the template gives the alerter parses, Security Hub on.
    let env = honeytoken::wiring::alerter::AlerterEnv::from_lookup(|k| {
        vars.get(k).map(|v| match v {
            _ if k == "SECURITY_HUB_FINDINGS" => "true".to_string(),
            // Literal values are read as the function reads them.
            serde_norway::Value::String(lit) => lit.clone(),
            _ if k == "THROTTLE_WINDOW_MINUTES" => "15".to_string(),
            _ => "set".to_string(),
        })
    })
    .unwrap();
    assert!(env.integrations.security_hub);
}

#[test]
fn the_dashboard_is_a_nested_stack_covering_hits_alerts_health_and_throttling() {
    let t = support::template();
    let d = &t["Resources"]["Dashboard"];
    assert_eq!(d["Type"].as_str(), Some("AWS::Serverless::Application"));
    let location = d["Properties"]["Location"].as_str().unwrap();
    let root = support::workspace_root();
    let text = std::fs::read_to_string(root.join(location)).unwrap();
    let nested: Value = serde_norway::from_str(&text).unwrap();
    // Every parameter the nested template declares is passed.
    let declared: Vec<String> = nested["Parameters"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let passed = d["Properties"]["Parameters"].as_mapping().unwrap();
    for p in &declared {
        assert!(passed.get(p.as_str()).is_some(), "{p} not passed");
    }
    let dash = &nested["Resources"]["Dashboard"];
    assert_eq!(dash["Type"].as_str(), Some("AWS::CloudWatch::Dashboard"));
    let (tg, body) = tag(&dash["Properties"]["DashboardBody"]).unwrap();
    assert_eq!(tg, "Sub");
    // The body is JSON once its ${…} are substituted.
    let mut json = body.as_str().unwrap().to_string();
    for p in declared
        .iter()
        .map(String::as_str)
        .chain(["AWS::Region", "AWS::StackName"])
    {
        json = json.replace(&format!("${{{p}}}"), "X");
    }
    assert!(!json.contains("${"), "every substitution is a declared parameter");
    let v: serde_json::Value = serde_json::from_str(&json).expect("dashboard body is JSON");
    let widgets = v["widgets"].as_array().unwrap();
    let all = serde_json::to_string(widgets).unwrap();
    for (what, needle) in [
        ("hits per token", "by honeytoken.token_id"),
        ("hits per source", "by source.ip"),
        ("the ECS marker", "event.dataset = \\\"honeytoken.hit\\\""),
        ("alerts sent and suppressed", "sum(fields.suppressed)"),
        ("alerter failures", "\"Errors\""),
        ("iterator age", "\"IteratorAge\""),
        ("unstored hits", "\"HitsNotStored\""),
        ("decoy not ready", "decoy_setup_failed"),
        ("API throttling", "\"AWS/ApiGateway\""),
        ("function throttling", "\"Throttles\""),
        ("table throttling", "WriteThrottleEvents"),
    ] {
        assert!(all.contains(needle), "dashboard lacks {what} ({needle})");
    }
    // Widgets do not overlap on the 24-column grid.
    let mut cells = std::collections::HashSet::new();
    for w in widgets {
        let (x, y, wd, h) = (
            w["x"].as_u64().unwrap(),
            w["y"].as_u64().unwrap(),
            w["width"].as_u64().unwrap(),
            w["height"].as_u64().unwrap(),
        );
        assert!(x + wd <= 24);
        for cx in x..x + wd {
            for cy in y..y + h {
                assert!(cells.insert((cx, cy)), "widgets overlap at {cx},{cy}");
            }
        }
    }
}

/// The decoy's log event names the dashboard and the README's subscription
/// filter select: the ones the code writes.
#[test]
fn the_markers_the_dashboard_reads_are_the_ones_the_code_writes() {
    assert_eq!(honeytoken::domain::alert::ecs::DATASET, "honeytoken.hit");
    let root = support::workspace_root();
    let readme = std::fs::read_to_string(root.join("docs/alerts.md")).unwrap();
    assert!(
        readme.contains(r#"{ $.event.dataset = "honeytoken.hit" }"#),
        "docs/alerts.md shows the subscription filter pattern"
    );
    let decoy = std::fs::read_to_string(root.join("functions/decoy/src/lib.rs")).unwrap();
    assert!(decoy.contains("event = \"decoy_setup_failed\""));
    let alerter = std::fs::read_to_string(root.join("functions/alerter/src/lib.rs")).unwrap();
    assert!(alerter.contains("\"stream batch\"") && alerter.contains("suppressed = r.suppressed"));
}
