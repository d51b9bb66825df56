//! Template facts of the first deploy (issue 22): what `sam deploy` and a
//! real account require that moto, cfn-lint and `sam validate` do not check.
//! The deploy configuration (samconfig.toml) and the deploy guide (docs/aws-deployment.md)
//! must name what the template has; every grant and variable the template
//! gives a function must be one its code uses.

#[path = "support/aws.rs"]
mod support;

use serde_norway::Value;
use std::collections::BTreeSet;

use support::{tagged, target};

fn read(rel: &str) -> String {
    let path = support::workspace_root().join(rel);
    std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn resource_types(t: &Value) -> Vec<String> {
    t["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .filter_map(|r| r["Type"].as_str().map(str::to_string))
        .collect()
}

/// The capabilities `sam deploy` passes (samconfig.toml, a space-separated
/// string as `sam deploy --guided` writes it, or a list).
fn deploy_capabilities() -> BTreeSet<String> {
    let conf: toml::Table = toml::from_str(&read("samconfig.toml")).unwrap();
    let caps = &conf["default"]["deploy"]["parameters"]["capabilities"];
    match caps {
        toml::Value::String(s) => s.split_whitespace().map(str::to_string).collect(),
        toml::Value::Array(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
        other => panic!("capabilities: {other:?}"),
    }
}

/// Item 1: CloudFormation refuses to create a stack with nested applications
/// (`AWS::Serverless::Application`) unless the deploy acknowledges
/// CAPABILITY_AUTO_EXPAND, and IAM resources need CAPABILITY_IAM
/// (CAPABILITY_NAMED_IAM when one is given a name).
/// https://docs.aws.amazon.com/serverless-application-model/latest/developerguide/serverless-sam-template-nested-applications.html
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/APIReference/API_CreateStack.html
#[test]
fn the_deploy_configuration_grants_the_capabilities_the_template_needs() {
    let t = support::template();
    let caps = deploy_capabilities();
    let types = resource_types(&t);
    if types.iter().any(|ty| ty == "AWS::Serverless::Application") {
        assert!(caps.contains("CAPABILITY_AUTO_EXPAND"), "{caps:?}");
    }
    let iam = types.iter().any(|ty| {
        ty.starts_with("AWS::IAM::") || ty == "AWS::Serverless::Function" // SAM makes a role unless given one
    });
    if iam {
        assert!(
            caps.contains("CAPABILITY_IAM") || caps.contains("CAPABILITY_NAMED_IAM"),
            "{caps:?}"
        );
    }
    let named = t["Resources"].as_mapping().unwrap().values().any(|r| {
        ["RoleName", "ManagedPolicyName", "UserName", "GroupName"]
            .iter()
            .any(|k| !r["Properties"][*k].is_null())
    });
    if named {
        assert!(caps.contains("CAPABILITY_NAMED_IAM"), "{caps:?}");
    }
    // Nothing more than needed is acknowledged.
    for c in &caps {
        assert!(
            ["CAPABILITY_IAM", "CAPABILITY_AUTO_EXPAND"].contains(&c.as_str())
                || (named && c == "CAPABILITY_NAMED_IAM"),
            "{c} is not needed"
        );
    }
}

/// The user guide's "Deploy to AWS" section (docs/aws-deployment.md), up to
/// the next top-level heading.
fn readme_deploy_section() -> String {
    let readme = read("docs/aws-deployment.md");
    let start = readme
        .find("\n## Deploy to AWS")
        .expect("docs/aws-deployment.md has a Deploy to AWS section");
    let rest = &readme[start + 1..];
    let end = rest[3..].find("\n## ").map_or(rest.len(), |i| i + 3);
    rest[..end].to_string()
}

/// Parameter names the deploy section uses: the first column of its
/// parameter table, and every `Name=value` (`--parameter-overrides`).
fn readme_parameter_names(section: &str) -> BTreeSet<String> {
    let mut names = BTreeSet::new();
    let mut in_table = false;
    for line in section.lines() {
        if line.starts_with("| parameter |") {
            in_table = true;
            continue;
        }
        if in_table {
            if !line.starts_with('|') {
                in_table = false;
            } else if let Some(first) = line.split('|').nth(1) {
                for name in first.split('`').skip(1).step_by(2) {
                    names.insert(name.to_string());
                }
            }
        }
    }
    let assignment = regex::Regex::new(r"(?:^|[\s`(])([A-Z][a-z][A-Za-z0-9]*)=").unwrap();
    for c in assignment.captures_iter(section) {
        names.insert(c[1].to_string());
    }
    names
}

/// "Done when": every parameter name the deploy guide (docs/aws-deployment.md) tells a
/// user to set is one the template has (a renamed parameter would make
/// `sam deploy --parameter-overrides` fail, or worse, be ignored by a guide).
#[test]
fn the_readme_deploy_section_names_only_template_parameters() {
    let t = support::template();
    let params: BTreeSet<String> = t["Parameters"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let section = readme_deploy_section();
    let used = readme_parameter_names(&section);
    // The extraction finds what the section shows (table and overrides).
    for expected in [
        "AlertEmail",
        "PagerDutyEndpoint",
        "FrontDoor",
        "FrontDoorDomainName",
        "HostedZoneId",
    ] {
        assert!(used.contains(expected), "{expected} not found in {used:?}");
    }
    let unknown: Vec<&String> = used.difference(&params).collect();
    assert!(
        unknown.is_empty(),
        "the deploy guide (docs/aws-deployment.md) names parameters the template lacks: {unknown:?}"
    );
    // The outputs it names exist too.
    let outputs: BTreeSet<String> = t["Outputs"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let list_start = section
        .find("The stack's\noutputs are")
        .or_else(|| section.find("The stack's outputs are"));
    let list = &section[list_start.expect("the outputs sentence")..];
    let list = &list[..list.find("\n\n").unwrap()];
    let named: Vec<&str> = list.split('`').skip(1).step_by(2).collect();
    assert!(named.len() >= 5, "{named:?}");
    for o in named {
        assert!(
            outputs.contains(o),
            "the deploy guide names output {o}, which the template lacks"
        );
    }
}

/// Item 6: the tables are encrypted with the AWS owned key, as the comments
/// and the README say: `SSEEnabled: true` would select the AWS managed KMS
/// key (KMS charges), a `KMSMasterKeyId` a customer-managed one.
/// https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/aws-properties-dynamodb-table-ssespecification.html
#[test]
fn the_tables_use_the_aws_owned_key() {
    let t = support::template();
    let tables = support::table_definitions(&t);
    assert_eq!(tables.len(), 3, "{:?}", tables.keys());
    for (name, p) in &tables {
        let sse = &p["SSESpecification"];
        assert!(
            sse.is_null() || sse["SSEEnabled"].as_bool() == Some(false),
            "{name}: {sse:?} is not the AWS owned key"
        );
        assert!(sse["KMSMasterKeyId"].is_null() && sse["SSEType"].is_null(), "{name}");
        let skip = &t["Resources"][name.as_str()]["Metadata"]["checkov"]["skip"];
        let reason = skip
            .as_sequence()
            .unwrap()
            .iter()
            .find(|s| s["id"].as_str() == Some("CKV_AWS_119"))
            .and_then(|s| s["comment"].as_str())
            .unwrap_or_else(|| panic!("{name}: the CMK check's skip says why"));
        assert!(reason.contains("AWS owned key"), "{name}: {reason}");
    }
    let readme = read("docs/aws-deployment.md");
    let security = read("SECURITY.md");
    for (doc, text) in [("docs/aws-deployment.md", &readme), ("SECURITY.md", &security)] {
        assert!(
            text.contains("AWS owned key"),
            "{doc} says which key encrypts the tables"
        );
    }
}

/// The actions a statement allows (a single action or a list).
fn actions(st: &Value) -> Vec<String> {
    match &st["Action"] {
        Value::String(s) => vec![s.clone()],
        Value::Sequence(a) => a.iter().map(|v| v.as_str().unwrap().to_string()).collect(),
        other => panic!("Action: {other:?}"),
    }
}

/// Item 7: the alerter may do on its state table exactly what the state
/// store does: every granted action is a call in src/store/dynamodb/alert_state.rs
/// (directly or inside TransactWriteItems), and every call is granted.
#[test]
fn the_alerter_state_grants_are_the_calls_the_store_makes() {
    let t = support::template();
    let statements = t["Resources"]["AlerterRole"]["Properties"]["Policies"][0]["PolicyDocument"]["Statement"]
        .as_sequence()
        .unwrap()
        .clone();
    let granted: BTreeSet<String> = statements
        .iter()
        .filter(|s| tagged(s).is_none())
        .filter(|s| {
            tagged(&s["Resource"]).is_some_and(|(tag, _)| {
                (tag == "Ref" || tag == "GetAtt") && target(&s["Resource"]) == "AlertStateTable"
            })
        })
        .flat_map(actions)
        .collect();
    assert!(!granted.is_empty());
    let code = read("src/store/dynamodb/alert_state.rs");
    // DynamoDB action -> how the store would call it (a request, or a transaction item).
    let calls = [
        ("dynamodb:GetItem", vec![".get_item()"]),
        ("dynamodb:PutItem", vec![".put_item()", "Put::builder()"]),
        ("dynamodb:UpdateItem", vec![".update_item()", "Update::builder()"]),
        ("dynamodb:DeleteItem", vec![".delete_item()", "Delete::builder()"]),
        ("dynamodb:Query", vec![".query()"]),
        ("dynamodb:Scan", vec![".scan()"]),
        ("dynamodb:BatchGetItem", vec![".batch_get_item()"]),
        ("dynamodb:BatchWriteItem", vec![".batch_write_item()"]),
        ("dynamodb:ConditionCheckItem", vec!["ConditionCheck::builder()"]),
    ];
    for (action, patterns) in &calls {
        let called = patterns.iter().any(|p| code.contains(p));
        assert_eq!(
            granted.contains(*action),
            called,
            "{action}: granted {} but called {called}",
            granted.contains(*action)
        );
    }
    for a in &granted {
        assert!(
            calls.iter().any(|(c, _)| c == a),
            "{a} is granted; which call needs it?"
        );
    }
}

/// Item 7: every variable the template sets on the alerter is one the
/// alerter reads (RUST_LOG aside, read by the log filter); a variable set
/// and never read (the alerter's TOKENS_TABLE was one) says the function
/// uses a resource it does not.
#[test]
fn every_alerter_variable_is_read() {
    let t = support::template();
    let vars: BTreeSet<String> = t["Resources"]["AlerterFunction"]["Properties"]["Environment"]["Variables"]
        .as_mapping()
        .unwrap()
        .keys()
        .map(|k| k.as_str().unwrap().to_string())
        .collect();
    let asked = std::cell::RefCell::new(BTreeSet::new());
    honeytoken::wiring::alerter::AlerterEnv::from_lookup(|k| {
        asked.borrow_mut().insert(k.to_string());
        match k {
            "ALERT_STATE_TABLE" | "ALERT_TOPIC_ARN" => Some("x".into()),
            _ => None,
        }
    })
    .unwrap();
    let asked = asked.into_inner();
    let unread: Vec<&String> = vars
        .iter()
        .filter(|v| *v != "RUST_LOG" && !asked.contains(*v))
        .collect();
    assert!(unread.is_empty(), "set on the alerter and never read: {unread:?}");
    assert!(!vars.contains("TOKENS_TABLE"));
}

/// Item 7: behind the front door the access log's address is a CloudFront
/// edge, so the throttling alarm must not send the reader to "their source
/// addresses" there; without it, the log's address is the client's.
#[test]
fn the_throttling_alarm_says_where_the_clients_are() {
    let t = support::template();
    let d = &t["Resources"]["ThrottledRequestsAlarm"]["Properties"]["AlarmDescription"];
    let (tag, v) = tagged(d).expect("a description per deployment (!If)");
    assert_eq!(tag, "If");
    let v = v.as_sequence().unwrap();
    assert_eq!(v[0].as_str(), Some("UseFrontDoor"));
    let front = v[1].as_str().unwrap();
    let direct = v[2].as_str().unwrap();
    assert!(
        front.contains("CloudFront edge") && front.contains("sampled requests"),
        "{front}"
    );
    assert!(!front.contains("their source addresses"), "{front}");
    assert!(direct.contains("source addresses"), "{direct}");
    for text in [front, direct] {
        assert!(
            text.contains("NOT recorded") && text.contains("ThrottlingBurstLimit"),
            "{text}"
        );
    }
    // The front door's rate rule is per viewer address and samples requests.
    let fd: Value = serde_norway::from_str(&read("infra/frontdoor.yaml")).unwrap();
    let acl = fd["Resources"]
        .as_mapping()
        .unwrap()
        .values()
        .find(|r| r["Type"].as_str() == Some("AWS::WAFv2::WebACL"))
        .expect("a web ACL");
    assert_eq!(
        acl["Properties"]["VisibilityConfig"]["SampledRequestsEnabled"].as_bool(),
        Some(true)
    );
}
