//! Template facts behind decoy AWS keys (issue 25): the deny-all group and
//! its path, the EventBridge rule (state, pattern, target, who may invoke
//! the function), the trail when there is none, the function's privileges.
//! moto does not implement TestEventPattern, so the rule's pattern, taken
//! from template.yaml, is evaluated here by a matcher that follows
//! EventBridge's documented rules ("Creating event patterns", "Content
//! filtering in event patterns", EventBridge user guide): a field of the
//! pattern is an object (match the event's object field by field) or an
//! array (the event's value, or any element of an event array, equals one
//! of its literals or satisfies one of its filters); every field must
//! match; a field the event lacks never matches but `"exists": false`.

#[path = "support/aws.rs"]
mod support;

use serde_json::{Value as Json, json};
use serde_norway::Value;

use event_pattern::matches;
use support::{tagged, target};

#[path = "support/event_pattern.rs"]
mod event_pattern;

const ACCOUNT: &str = "111122223333";

fn resource(t: &Value, id: &str) -> Value {
    let r = t["Resources"][id].clone();
    assert!(!r.is_null(), "template has {id}");
    r
}

/// A `!Sub` string with the pseudo parameters and parameter defaults of a
/// deploy in account [`ACCOUNT`], partition `aws`.
fn sub(t: &Value, v: &Value) -> String {
    let (tag, inner) = tagged(v).expect("!Sub");
    assert_eq!(tag, "Sub");
    let mut s = inner.as_str().expect("plain !Sub").to_string();
    for (k, val) in [
        ("AWS::Partition", "aws".to_string()),
        ("AWS::AccountId", ACCOUNT.to_string()),
        ("AWS::Region", "eu-west-1".to_string()),
        ("AWS::StackName", "hts".to_string()),
        ("TrailBucket.Arn", "arn:aws:s3:::trail-bucket".to_string()),
    ] {
        s = s.replace(&format!("${{{k}}}"), &val);
    }
    for (k, p) in t["Parameters"].as_mapping().unwrap() {
        let k = k.as_str().unwrap();
        if let Some(d) = p["Default"].as_str() {
            s = s.replace(&format!("${{{k}}}"), d);
        }
    }
    assert!(!s.contains("${"), "unresolved: {s}");
    s
}

/// A YAML value with every `!Sub` resolved, as JSON (the rule's pattern as
/// EventBridge receives it).
fn resolved(t: &Value, v: &Value) -> Json {
    if tagged(v).is_some() {
        return Json::String(sub(t, v));
    }
    match v {
        Value::Mapping(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_string(), resolved(t, v)))
                .collect(),
        ),
        Value::Sequence(s) => Json::Array(s.iter().map(|v| resolved(t, v)).collect()),
        Value::String(s) => Json::String(s.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => serde_json::to_value(n).unwrap(),
        Value::Null => Json::Null,
        other => panic!("unexpected {other:?}"),
    }
}

fn pattern(t: &Value) -> Json {
    resolved(t, &resource(t, "AwsKeyUseRule")["Properties"]["EventPattern"])
}

/// A CloudTrail event as EventBridge delivers it.
fn call(identity: Json, source: &str, name: &str) -> Json {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": format!("aws.{}", source.split('.').next().unwrap()),
        "account": ACCOUNT,
        "time": "2026-12-04T20:10:00Z",
        "region": "eu-west-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": identity,
            "eventTime": "2026-12-04T20:09:12Z",
            "eventSource": source,
            "eventName": name,
            "awsRegion": "eu-west-1",
            "sourceIPAddress": "203.0.113.7",
            "userAgent": "aws-cli/2.22.0",
            "errorCode": "AccessDenied",
            "eventID": "0b4d1c8e-7f0a-4b59-b5a3-2f8f3c6d9e10",
            "readOnly": true,
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT
        }
    })
}

fn user(account: &str, path_and_name: &str) -> Json {
    json!({
        "type": "IAMUser",
        "principalId": "AIDAEXAMPLE",
        "arn": format!("arn:aws:iam::{account}:user{path_and_name}"),
        "accountId": account,
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "userName": path_and_name.rsplit('/').next().unwrap()
    })
}

#[test]
fn the_rule_sees_read_only_calls_too() {
    let t = support::template();
    let rule = resource(&t, "AwsKeyUseRule");
    assert_eq!(rule["Type"].as_str(), Some("AWS::Events::Rule"));
    // Plain ENABLED drops read-only management events (GetCallerIdentity).
    assert_eq!(
        rule["Properties"]["State"].as_str(),
        Some("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
    );
    // The default bus: no EventBusName.
    assert!(rule["Properties"]["EventBusName"].is_null());
}

#[test]
fn the_pattern_matches_decoy_users_calls_and_nothing_else() {
    let t = support::template();
    let p = pattern(&t);
    let decoy = user(ACCOUNT, "/svc/ci-deploy");
    assert!(matches(
        &p,
        &call(decoy.clone(), "sts.amazonaws.com", "GetCallerIdentity")
    ));
    assert!(matches(&p, &call(decoy.clone(), "s3.amazonaws.com", "ListBuckets")));
    assert!(matches(
        &p,
        &call(
            user(ACCOUNT, "/svc/build/runner-7"),
            "ec2.amazonaws.com",
            "DescribeInstances"
        )
    ));

    // Not ours: a user outside the path (the root path, and a path sharing
    // the prefix's letters), a role's session, another account's user.
    assert!(!matches(
        &p,
        &call(user(ACCOUNT, "/alice"), "sts.amazonaws.com", "GetCallerIdentity")
    ));
    assert!(!matches(
        &p,
        &call(user(ACCOUNT, "/svcx/bob"), "sts.amazonaws.com", "GetCallerIdentity")
    ));
    let role = json!({
        "type": "AssumedRole",
        "arn": format!("arn:aws:sts::{ACCOUNT}:assumed-role/svc/deployer"),
        "accountId": ACCOUNT,
        "accessKeyId": "ASIAEXAMPLE",
        "sessionContext": { "sessionIssuer": { "type": "Role", "arn": format!("arn:aws:iam::{ACCOUNT}:role/svc/deployer") } }
    });
    assert!(!matches(&p, &call(role, "sts.amazonaws.com", "GetCallerIdentity")));
    assert!(!matches(
        &p,
        &call(
            user("444455556666", "/svc/ci-deploy"),
            "sts.amazonaws.com",
            "GetCallerIdentity"
        )
    ));
    // Another detail-type of the same user (a console sign-in) is not an API call.
    let mut signin = call(decoy, "signin.amazonaws.com", "ConsoleLogin");
    signin["detail-type"] = json!("AWS Console Sign In via CloudTrail");
    assert!(!matches(&p, &signin));
    // A pattern, not a list of keys: far below the 2,048-character default cap.
    assert!(p.to_string().len() < 512, "{}", p);
}

#[test]
fn only_the_rules_may_invoke_the_function() {
    let t = support::template();
    // The decoy users' calls, and AWS's exposure notices (issue 26).
    let rules = ["AwsKeyUseRule", "AwsExposureNoticeRule"];
    for id in rules {
        let rule = resource(&t, id);
        let targets = rule["Properties"]["Targets"].as_sequence().unwrap();
        assert_eq!(targets.len(), 1, "{id}");
        assert_eq!(target(&targets[0]["Arn"]), "CloudTrailFunction", "{id}");
        // Undeliverable events are kept, not dropped.
        assert_eq!(
            target(&targets[0]["DeadLetterConfig"]["Arn"]),
            "CloudTrailDeadLetterQueue",
            "{id}"
        );
    }
    let perms: Vec<Value> = t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter(|r| r["Type"].as_str() == Some("AWS::Lambda::Permission"))
        .filter(|r| target(&r["Properties"]["FunctionName"]) == "CloudTrailFunction")
        .cloned()
        .collect();
    assert_eq!(perms.len(), rules.len(), "one invoke permission per rule");
    let mut scoped: Vec<String> = Vec::new();
    for p in &perms {
        let p = &p["Properties"];
        assert_eq!(p["Principal"].as_str(), Some("events.amazonaws.com"));
        assert_eq!(p["Action"].as_str(), Some("lambda:InvokeFunction"));
        scoped.push(target(&p["SourceArn"]));
    }
    scoped.sort();
    let mut want: Vec<String> = rules.iter().map(|r| r.to_string()).collect();
    want.sort();
    assert_eq!(scoped, want);
    let f = resource(&t, "CloudTrailFunction");
    assert!(
        f["Properties"]["Events"].is_null(),
        "no SAM event: it would add a second, unscoped trigger"
    );
}

#[test]
fn the_function_is_built_like_the_others_and_may_only_read_tokens_write_hits_and_read_the_signing_key() {
    let t = support::template();
    let f = resource(&t, "CloudTrailFunction");
    assert_eq!(f["Type"].as_str(), Some("AWS::Serverless::Function"));
    assert_eq!(f["Metadata"]["BuildMethod"].as_str(), Some("rust-cargolambda"));
    assert_eq!(f["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("cloudtrail"));
    assert_eq!(f["Properties"]["CodeUri"].as_str(), Some("functions/cloudtrail"));
    assert!(
        support::workspace_root()
            .join("functions/cloudtrail/Cargo.toml")
            .exists()
    );
    assert_eq!(t["Globals"]["Function"]["Architectures"][0].as_str(), Some("arm64"));
    let env = &f["Properties"]["Environment"]["Variables"];
    assert_eq!(target(&env["TOKENS_TABLE"]), "TokensTable");
    assert_eq!(target(&env["HITS_TABLE"]), "HitsTable");
    // The flood rule is the decoy's.
    let decoy_env = &resource(&t, "DecoyFunction")["Properties"]["Environment"]["Variables"];
    for k in ["FLOOD_WHOLE_HITS", "THROTTLE_WINDOW_MINUTES", "HIT_TTL_DAYS"] {
        assert_eq!(env[k], decoy_env[k], "{k}");
    }
    let statements = f["Properties"]["Policies"][0]["Statement"].as_sequence().unwrap();
    let mut grants: Vec<(String, String)> = Vec::new();
    for s in statements {
        assert_eq!(s["Effect"].as_str(), Some("Allow"));
        let actions: Vec<String> = match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Sequence(v) => v.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
            other => panic!("{other:?}"),
        };
        for a in actions {
            grants.push((a, target(&s["Resource"])));
        }
    }
    grants.sort();
    assert_eq!(
        grants,
        [
            ("dynamodb:GetItem".to_string(), "TokensTable".to_string()),
            ("dynamodb:PutItem".to_string(), "HitsTable".to_string()),
            // An exposure notice names a user: its token is found by reading them all.
            ("dynamodb:Scan".to_string(), "TokensTable".to_string()),
            ("dynamodb:UpdateItem".to_string(), "HitsTable".to_string()),
            (
                "secretsmanager:GetSecretValue".to_string(),
                "SigningKeySecret".to_string()
            ),
        ]
    );
    // The signing key, to tell `honeytoken test`'s calls (src/decoy/testmark.rs).
    assert_eq!(target(&env["SIGNING_KEY_SECRET_ARN"]), "SigningKeySecret");
}

#[test]
fn decoy_users_can_do_nothing_and_their_path_gives_nothing_away() {
    let t = support::template();
    let g = resource(&t, "ServiceUsersGroup");
    assert_eq!(g["Type"].as_str(), Some("AWS::IAM::Group"));
    assert_eq!(target(&g["Properties"]["Path"]), "DecoyUserPath");
    let policies = g["Properties"]["Policies"].as_sequence().unwrap();
    assert_eq!(policies.len(), 1);
    let st = policies[0]["PolicyDocument"]["Statement"].as_sequence().unwrap();
    assert_eq!(st.len(), 1);
    assert_eq!(st[0]["Effect"].as_str(), Some("Deny"));
    assert_eq!(st[0]["Action"].as_str(), Some("*"));
    assert_eq!(st[0]["Resource"].as_str(), Some("*"));
    assert!(g["Properties"]["ManagedPolicyArns"].is_null());

    let p = &t["Parameters"]["DecoyUserPath"];
    let default = p["Default"].as_str().unwrap();
    let re = regex::Regex::new(&format!("^(?:{})$", p["AllowedPattern"].as_str().unwrap())).unwrap();
    assert!(re.is_match(default));
    for ok in ["/svc/", "/ci/build/"] {
        assert!(re.is_match(ok), "{ok}");
    }
    // The root path would make the rule match every user of the account.
    for bad in ["/", "svc/", "/svc", "//", "/s c/"] {
        assert!(!re.is_match(bad), "{bad}");
    }
    for word in honeytoken::ops::aws_keys::GIVEAWAY_WORDS {
        assert!(!default.to_lowercase().contains(word), "{default}");
        assert!(!"ServiceUsersGroup".to_lowercase().contains(word));
    }
    // mint reads the path and the group from the stack's outputs.
    assert_eq!(target(&t["Outputs"]["DecoyUserPath"]["Value"]), "DecoyUserPath");
    assert_eq!(
        target(&t["Outputs"]["DecoyUserGroupName"]["Value"]),
        "ServiceUsersGroup"
    );
}

#[test]
fn a_trail_is_created_unless_told_not_to() {
    let t = support::template();
    assert_eq!(t["Parameters"]["CreateTrail"]["Default"].as_str(), Some("true"));
    let trail = resource(&t, "Trail");
    assert_eq!(trail["Type"].as_str(), Some("AWS::CloudTrail::Trail"));
    assert_eq!(trail["Condition"].as_str(), Some("CreateTrail"));
    let p = &trail["Properties"];
    assert_eq!(p["IsLogging"].as_bool(), Some(true));
    assert_eq!(p["IsMultiRegionTrail"].as_bool(), Some(true));
    assert_eq!(p["IncludeGlobalServiceEvents"].as_bool(), Some(true));
    assert_eq!(target(&p["S3BucketName"]), "TrailBucket");
    // CloudTrail checks the bucket policy when the trail is created.
    assert_eq!(trail["DependsOn"].as_str(), Some("TrailBucketPolicy"));

    let bucket = resource(&t, "TrailBucket");
    assert_eq!(bucket["Condition"].as_str(), Some("CreateTrail"));
    let b = &bucket["Properties"];
    let block = &b["PublicAccessBlockConfiguration"];
    for k in [
        "BlockPublicAcls",
        "BlockPublicPolicy",
        "IgnorePublicAcls",
        "RestrictPublicBuckets",
    ] {
        assert_eq!(block[k].as_bool(), Some(true), "{k}");
    }
    assert!(
        b["BucketEncryption"]["ServerSideEncryptionConfiguration"][0]["ServerSideEncryptionByDefault"]["SSEAlgorithm"]
            .as_str()
            .is_some()
    );
    let rules = b["LifecycleConfiguration"]["Rules"].as_sequence().unwrap();
    assert!(
        rules
            .iter()
            .any(|r| r["Status"].as_str() == Some("Enabled") && !r["ExpirationInDays"].is_null())
    );

    // The bucket policy lets CloudTrail write for this trail only.
    let policy = resource(&t, "TrailBucketPolicy");
    let trail_arn = format!(
        "arn:aws:cloudtrail:eu-west-1:{ACCOUNT}:trail/{}",
        sub(&t, &p["TrailName"])
    );
    let st = policy["Properties"]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap();
    let by_sid = |sid: &str| st.iter().find(|s| s["Sid"].as_str() == Some(sid)).unwrap().clone();
    let acl = by_sid("AWSCloudTrailAclCheck");
    assert_eq!(acl["Action"].as_str(), Some("s3:GetBucketAcl"));
    assert_eq!(sub(&t, &acl["Condition"]["StringEquals"]["aws:SourceArn"]), trail_arn);
    let write = by_sid("AWSCloudTrailWrite");
    assert_eq!(write["Action"].as_str(), Some("s3:PutObject"));
    assert_eq!(write["Principal"]["Service"].as_str(), Some("cloudtrail.amazonaws.com"));
    assert_eq!(sub(&t, &write["Condition"]["StringEquals"]["aws:SourceArn"]), trail_arn);
    assert_eq!(
        write["Condition"]["StringEquals"]["s3:x-amz-acl"].as_str(),
        Some("bucket-owner-full-control")
    );
    assert!(sub(&t, &write["Resource"]).ends_with(&format!("/AWSLogs/{ACCOUNT}/*")));
}

#[test]
fn the_matcher_itself_follows_eventbridge() {
    // The matcher's own rules, so a pattern test cannot pass by a matcher bug.
    let p = json!({"a": ["x"], "b": {"c": [{"prefix": "ab"}]}});
    assert!(matches(&p, &json!({"a": "x", "b": {"c": "abc"}})));
    assert!(matches(&p, &json!({"a": ["y", "x"], "b": {"c": "ab"}})));
    assert!(!matches(&p, &json!({"a": "y", "b": {"c": "abc"}})));
    assert!(!matches(&p, &json!({"a": "x", "b": {"c": "a"}})));
    assert!(!matches(&p, &json!({"a": "x"})));
    assert!(!matches(&p, &json!({"a": "x", "b": "abc"})));
    let e = json!({"d": [{"exists": false}]});
    assert!(matches(&e, &json!({})));
    assert!(!matches(&e, &json!({"d": 1})));
}

/// Every (action, resource) an inline policy of function `id` grants, the
/// resource as the logical id it names or the `!Sub` string resolved.
fn grants(t: &Value, id: &str) -> Vec<(String, String)> {
    let f = resource(t, id);
    let statements = f["Properties"]["Policies"][0]["Statement"].as_sequence().unwrap();
    let mut out = Vec::new();
    for s in statements {
        assert_eq!(s["Effect"].as_str(), Some("Allow"));
        let actions: Vec<String> = match &s["Action"] {
            Value::String(a) => vec![a.clone()],
            Value::Sequence(v) => v.iter().map(|a| a.as_str().unwrap().to_string()).collect(),
            other => panic!("{other:?}"),
        };
        let res = match tagged(&s["Resource"]) {
            Some((tag, _)) if tag == "Sub" => sub(t, &s["Resource"]),
            _ => target(&s["Resource"]),
        };
        for a in actions {
            out.push((a, res.clone()));
        }
    }
    out.sort();
    out
}

#[test]
fn the_safety_net_runs_hourly_by_default_and_only_the_schedule_invokes_it() {
    let t = support::template();
    let rule = resource(&t, "LastUsedCheckRule");
    assert_eq!(rule["Type"].as_str(), Some("AWS::Events::Rule"));
    assert_eq!(rule["Properties"]["State"].as_str(), Some("ENABLED"));
    assert_eq!(target(&rule["Properties"]["ScheduleExpression"]), "LastUsedCheckRate");
    assert!(
        rule["Properties"]["EventPattern"].is_null(),
        "a schedule, not a pattern"
    );
    let targets = rule["Properties"]["Targets"].as_sequence().unwrap();
    assert_eq!(targets.len(), 1);
    assert_eq!(target(&targets[0]["Arn"]), "LastUsedFunction");
    let perm = resource(&t, "LastUsedFunctionInvokePermission");
    assert_eq!(target(&perm["Properties"]["FunctionName"]), "LastUsedFunction");
    assert_eq!(perm["Properties"]["Principal"].as_str(), Some("events.amazonaws.com"));
    assert_eq!(target(&perm["Properties"]["SourceArn"]), "LastUsedCheckRule");
    let f = resource(&t, "LastUsedFunction");
    assert!(
        f["Properties"]["Events"].is_null(),
        "no SAM event: a second, unscoped trigger"
    );

    // The rate parameter: hourly by default, and only what EventBridge
    // accepts ("Rate expressions reference": singular unit for 1, plural
    // above), as CloudFormation applies AllowedPattern (the whole value).
    let p = &t["Parameters"]["LastUsedCheckRate"];
    assert_eq!(p["Default"].as_str(), Some("rate(1 hour)"));
    let re = regex::Regex::new(&format!("^(?:{})$", p["AllowedPattern"].as_str().unwrap())).unwrap();
    for ok in [
        "rate(1 hour)",
        "rate(1 minute)",
        "rate(1 day)",
        "rate(30 minutes)",
        "rate(2 hours)",
        "rate(7 days)",
    ] {
        assert!(re.is_match(ok), "{ok}");
    }
    for bad in [
        "rate(1 hours)",
        "rate(5 hour)",
        "rate(0 minutes)",
        "rate(01 hour)",
        "cron(0 * * * ? *)",
        "rate(1 hour) ",
        "",
    ] {
        assert!(!re.is_match(bad), "{bad}");
    }
}

#[test]
fn the_safety_net_waits_longer_than_cloudtrail_and_may_read_only_what_it_uses() {
    let t = support::template();
    let f = resource(&t, "LastUsedFunction");
    // The cloudtrail binary, which tells the schedule's event apart.
    assert_eq!(f["Metadata"]["BuildProperties"]["Binary"].as_str(), Some("cloudtrail"));
    assert_eq!(f["Properties"]["CodeUri"].as_str(), Some("functions/cloudtrail"));
    let env = &f["Properties"]["Environment"]["Variables"];
    assert_eq!(target(&env["TOKENS_TABLE"]), "TokensTable");
    assert_eq!(target(&env["HITS_TABLE"]), "HitsTable");
    assert_eq!(target(&env["LAST_USED_GRACE_MINUTES"]), "LastUsedGraceMinutes");
    let decoy_env = &resource(&t, "DecoyFunction")["Properties"]["Environment"]["Variables"];
    for k in ["FLOOD_WHOLE_HITS", "THROTTLE_WINDOW_MINUTES", "HIT_TTL_DAYS"] {
        assert_eq!(env[k], decoy_env[k], "{k}");
    }
    // CloudTrail delivers "within an average of about 5 minutes" (CloudTrail
    // user guide): the grace period is longer, by default and at least.
    let grace = &t["Parameters"]["LastUsedGraceMinutes"];
    assert_eq!(grace["Default"].as_u64(), Some(30));
    assert!(grace["MinValue"].as_u64().unwrap() >= 5);
    // The function reads the same default when the variable is missing.
    let lib = honeytoken::wiring::stack::CloudTrailEnv::from_lookup(|k| match k {
        "TOKENS_TABLE" | "HITS_TABLE" => Some("t".into()),
        _ => None,
    })
    .unwrap();
    assert_eq!(lib.last_used_grace.as_secs(), 30 * 60);
    assert_eq!(
        target(&f["Properties"]["DeadLetterQueue"]["TargetArn"]),
        "CloudTrailDeadLetterQueue"
    );

    let path_users = format!("arn:aws:iam::{ACCOUNT}:user/svc/*");
    assert_eq!(
        grants(&t, "LastUsedFunction"),
        [
            ("dynamodb:BatchGetItem".to_string(), "HitsTable".to_string()),
            ("dynamodb:GetItem".to_string(), "TokensTable".to_string()),
            ("dynamodb:PutItem".to_string(), "HitsTable".to_string()),
            ("dynamodb:Query".to_string(), "HitsTable".to_string()),
            ("dynamodb:Scan".to_string(), "TokensTable".to_string()),
            ("dynamodb:UpdateItem".to_string(), "HitsTable".to_string()),
            ("iam:GetAccessKeyLastUsed".to_string(), path_users.clone()),
        ]
    );
    // The IAM grant is the rule's own prefix (the decoy path), never every user.
    let rule_prefix = pattern(&t)["detail"]["userIdentity"]["arn"][0]["prefix"]
        .as_str()
        .unwrap()
        .to_string();
    assert_eq!(format!("{rule_prefix}*"), path_users);
    // The CloudTrail function gained nothing from sharing the binary: no
    // IAM call, and no read of the hits (its Scan of the tokens is the
    // exposure notice's, which names a user rather than a key).
    let cloudtrail = grants(&t, "CloudTrailFunction");
    assert!(cloudtrail.iter().all(|(a, _)| !a.starts_with("iam:")), "{cloudtrail:?}");
    assert!(
        cloudtrail
            .iter()
            .all(|(a, r)| !(r == "HitsTable" && (a == "dynamodb:Query" || a == "dynamodb:BatchGetItem"))),
        "{cloudtrail:?}"
    );
    assert!(
        cloudtrail
            .iter()
            .all(|(a, r)| a != "dynamodb:Scan" || r == "TokensTable"),
        "{cloudtrail:?}"
    );
}
