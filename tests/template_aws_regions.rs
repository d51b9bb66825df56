//! Decoy AWS keys in every region (issue 26): the region template
//! (infra/aws-keys-region.yaml) forwards to the home stack's default bus
//! what the home stack's rules match, with a role that can do nothing else;
//! the home bus takes forwarded events from its own account's forwarders
//! only; AWS's exposure notice (its quarantine policy attached to a decoy
//! user) has a rule where IAM's events arrive; and infra/aws-keys-regions.sh
//! deploys the template to every enabled region but the home one.
//!
//! The AWS rules pinned here: rules are regional and a rule can target the
//! default bus of another region through a role allowed `events:PutEvents`
//! on it ("Sending and receiving events between AWS Regions", EventBridge
//! user guide); plain `ENABLED` drops read-only management events, which
//! `ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS` matches ("Receiving
//! read-only management events from AWS services"); IAM's CloudTrail
//! events are delivered in us-east-1; AWS attaches a managed policy named
//! `AWSCompromisedKeyQuarantine`, `…V2` or `…V3` to a user whose key it
//! found exposed (AWS managed policy reference).

#[path = "support/aws.rs"]
mod support;

#[path = "support/event_pattern.rs"]
mod event_pattern;

use event_pattern::matches;
use serde_json::{Value as Json, json};
use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::PathBuf;
use std::process::{Command, Output};

use support::{tagged, target};

const ACCOUNT: &str = "111122223333";
const HOME: &str = "eu-west-1";

fn region_template() -> Value {
    let path = support::workspace_root().join("infra/aws-keys-region.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

fn resource(t: &Value, id: &str) -> Value {
    let r = t["Resources"][id].clone();
    assert!(!r.is_null(), "template has {id}");
    r
}

/// The values `${X}` stands for in a stack of `t` deployed in `region` of
/// [`ACCOUNT`]: pseudo parameters, then every parameter's default, then
/// `overrides`.
fn vars(t: &Value, region: &str, overrides: &[(&str, &str)]) -> BTreeMap<String, String> {
    let mut v: BTreeMap<String, String> = [
        ("AWS::Partition", "aws"),
        ("AWS::AccountId", ACCOUNT),
        ("AWS::Region", region),
        ("AWS::StackName", "hts"),
    ]
    .into_iter()
    .map(|(k, v)| (k.to_string(), v.to_string()))
    .collect();
    for (k, p) in t["Parameters"].as_mapping().unwrap() {
        if let Some(d) = p["Default"].as_str() {
            v.insert(k.as_str().unwrap().to_string(), d.to_string());
        }
    }
    for (k, val) in overrides {
        v.insert(k.to_string(), val.to_string());
    }
    v
}

/// A YAML value with every `!Sub` and `!Ref` of a parameter resolved, as
/// JSON (what CloudFormation hands the service).
fn resolved(vars: &BTreeMap<String, String>, v: &Value) -> Json {
    if let Some((tag, inner)) = tagged(v) {
        let s = inner.as_str().unwrap_or_else(|| panic!("plain !{tag}: {v:?}"));
        let out = match tag.as_str() {
            "Sub" => vars
                .iter()
                .fold(s.to_string(), |acc, (k, val)| acc.replace(&format!("${{{k}}}"), val)),
            "Ref" => vars.get(s).cloned().unwrap_or_else(|| panic!("!Ref {s}")),
            other => panic!("!{other} not resolved here"),
        };
        assert!(!out.contains("${"), "unresolved: {out}");
        return Json::String(out);
    }
    match v {
        Value::Mapping(m) => Json::Object(
            m.iter()
                .map(|(k, v)| (k.as_str().unwrap().to_string(), resolved(vars, v)))
                .collect(),
        ),
        Value::Sequence(s) => Json::Array(s.iter().map(|v| resolved(vars, v)).collect()),
        Value::String(s) => Json::String(s.clone()),
        Value::Bool(b) => Json::Bool(*b),
        Value::Number(n) => serde_json::to_value(n).unwrap(),
        Value::Null => Json::Null,
        other => panic!("unexpected {other:?}"),
    }
}

fn home_bus() -> String {
    format!("arn:aws:events:{HOME}:{ACCOUNT}:event-bus/default")
}

/// The region template's value at `v`, for a stack in `region` forwarding
/// to [`HOME`].
fn in_region(t: &Value, region: &str, v: &Value) -> Json {
    resolved(&vars(t, region, &[("HomeRegion", HOME)]), v)
}

/// The home stack's value at `v`, deployed in [`HOME`].
fn at_home(t: &Value, v: &Value) -> Json {
    resolved(&vars(t, HOME, &[]), v)
}

/// A CloudTrail event as EventBridge delivers it.
fn ct_event(source: &str, event_source: &str, name: &str, identity: Json, params: Json) -> Json {
    json!({
        "version": "0",
        "id": "6a7e8feb-b491-4cf7-a9f1-bf3703467718",
        "detail-type": "AWS API Call via CloudTrail",
        "source": source,
        "account": ACCOUNT,
        "time": "2026-12-04T20:10:00Z",
        "region": "us-east-1",
        "resources": [],
        "detail": {
            "eventVersion": "1.08",
            "userIdentity": identity,
            "eventTime": "2026-12-04T20:09:12Z",
            "eventSource": event_source,
            "eventName": name,
            "awsRegion": "us-east-1",
            "sourceIPAddress": "AWS Internal",
            "userAgent": "AWS Internal",
            "requestParameters": params,
            "eventID": "0b4d1c8e-7f0a-4b59-b5a3-2f8f3c6d9e10",
            "eventType": "AwsApiCall",
            "managementEvent": true,
            "recipientAccountId": ACCOUNT
        }
    })
}

fn decoy_user() -> Json {
    json!({
        "type": "IAMUser",
        "arn": format!("arn:aws:iam::{ACCOUNT}:user/svc/ci-deploy"),
        "accountId": ACCOUNT,
        "accessKeyId": "AKIAIOSFODNN7EXAMPLE",
        "userName": "ci-deploy"
    })
}

/// AWS attaching `policy` to `user` (AWS, not the user, is the caller).
fn attach(policy: &str, user: &str) -> Json {
    ct_event(
        "aws.iam",
        "iam.amazonaws.com",
        "AttachUserPolicy",
        json!({"type": "AWSAccount", "principalId": "AIDAAWSINTERNAL", "accountId": "AWS Internal"}),
        json!({"userName": user, "policyArn": policy}),
    )
}

#[test]
fn every_region_forwards_what_the_home_rule_matches_with_its_state() {
    let home = support::template();
    let region = region_template();
    let home_rule = resource(&home, "AwsKeyUseRule");
    let fwd = resource(&region, "KeyUseForwardRule");
    assert_eq!(fwd["Type"].as_str(), Some("AWS::Events::Rule"));
    // Read-only calls (GetCallerIdentity, ListBuckets) need this state in
    // the region that served them, not only at home.
    assert_eq!(
        fwd["Properties"]["State"].as_str(),
        Some("ENABLED_WITH_ALL_CLOUDTRAIL_MANAGEMENT_EVENTS")
    );
    assert_eq!(fwd["Properties"]["State"], home_rule["Properties"]["State"]);
    // On each region's default bus, where CloudTrail's events arrive.
    assert!(fwd["Properties"]["EventBusName"].is_null());
    for r in ["eu-west-3", "us-east-1", "ap-south-1"] {
        assert_eq!(
            in_region(&region, r, &fwd["Properties"]["EventPattern"]),
            at_home(&home, &home_rule["Properties"]["EventPattern"]),
            "the pattern in {r} is the home rule's"
        );
    }
    // The forwarded event keeps source, detail-type and detail, so the home
    // rule matches it: a decoy user's call served in eu-west-3.
    let p = at_home(&home, &home_rule["Properties"]["EventPattern"]);
    let mut ev = ct_event(
        "aws.sts",
        "sts.amazonaws.com",
        "GetCallerIdentity",
        decoy_user(),
        Json::Null,
    );
    ev["region"] = json!("eu-west-3");
    ev["detail"]["awsRegion"] = json!("eu-west-3");
    assert!(matches(
        &in_region(&region, "eu-west-3", &fwd["Properties"]["EventPattern"]),
        &ev
    ));
    assert!(matches(&p, &ev));
    // The parameters the patterns are made of default alike and are checked alike.
    for k in ["DecoyUserPath", "ForwarderRolePath"] {
        for f in ["Default", "AllowedPattern", "MaxLength"] {
            assert_eq!(region["Parameters"][k][f], home["Parameters"][k][f], "{k}.{f}");
        }
    }
}

#[test]
fn forwarders_target_the_home_bus_with_a_role_that_can_do_nothing_else() {
    let region = region_template();
    let mut rules = 0;
    for (id, r) in region["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() != Some("AWS::Events::Rule") {
            continue;
        }
        rules += 1;
        let id = id.as_str().unwrap();
        let targets = r["Properties"]["Targets"].as_sequence().unwrap();
        assert_eq!(targets.len(), 1, "{id}");
        assert_eq!(
            in_region(&region, "eu-west-3", &targets[0]["Arn"]),
            json!(home_bus()),
            "{id}"
        );
        assert_eq!(target(&targets[0]["RoleArn"]), "ForwarderRole", "{id}");
    }
    assert_eq!(rules, 2, "the decoy users' calls and the exposure notices");

    let role = resource(&region, "ForwarderRole");
    assert_eq!(role["Type"].as_str(), Some("AWS::IAM::Role"));
    let p = &role["Properties"];
    // Under the path the home bus policy admits.
    assert_eq!(target(&p["Path"]), "ForwarderRolePath");
    assert!(p["ManagedPolicyArns"].is_null(), "no managed policy");
    assert!(p["PermissionsBoundary"].is_null());
    // Trust: EventBridge, on behalf of this account only.
    let trust = in_region(&region, "eu-west-3", &p["AssumeRolePolicyDocument"]);
    assert_eq!(
        trust["Statement"],
        json!([{
            "Effect": "Allow",
            "Principal": {"Service": "events.amazonaws.com"},
            "Action": "sts:AssumeRole",
            "Condition": {"StringEquals": {"aws:SourceAccount": ACCOUNT}}
        }])
    );
    // What it may do: put events on the one home bus.
    let policies = p["Policies"].as_sequence().unwrap();
    assert_eq!(policies.len(), 1);
    let doc = in_region(&region, "eu-west-3", &policies[0]["PolicyDocument"]);
    assert_eq!(
        doc["Statement"],
        json!([{"Effect": "Allow", "Action": "events:PutEvents", "Resource": home_bus()}])
    );
}

#[test]
fn the_region_template_refuses_the_home_region() {
    let region = region_template();
    let a = &region["Rules"]["NotTheHomeRegion"]["Assertions"][0]["Assert"];
    // !Not [!Equals [!Ref AWS::Region, !Ref HomeRegion]]
    let (not, inner) = tagged(a).expect("!Not");
    assert_eq!(not, "Not");
    let (eq, args) = tagged(&inner[0]).expect("!Equals");
    assert_eq!(eq, "Equals");
    let mut refs: Vec<String> = args.as_sequence().unwrap().iter().map(target).collect();
    refs.sort();
    assert_eq!(refs, ["AWS::Region", "HomeRegion"]);
    // And the home stack forwards nothing: no rule of it targets a bus, so
    // no event is delivered twice.
    let home = support::template();
    for (id, r) in home["Resources"].as_mapping().unwrap() {
        if r["Type"].as_str() == Some("AWS::Events::Rule") {
            for t in r["Properties"]["Targets"].as_sequence().into_iter().flatten() {
                let arn = format!("{:?}", t["Arn"]);
                assert!(!arn.contains("event-bus"), "{id:?} forwards: {arn}");
            }
        }
    }
}

#[test]
fn the_home_bus_takes_forwarded_events_from_its_own_forwarders_only() {
    let home = support::template();
    let policy = resource(&home, "ForwardedEventsBusPolicy");
    assert_eq!(policy["Type"].as_str(), Some("AWS::Events::EventBusPolicy"));
    let p = &policy["Properties"];
    assert_eq!(p["EventBusName"].as_str(), Some("default"));
    let id = p["StatementId"].as_str().unwrap();
    assert!(
        id.len() <= 64 && id.chars().all(|c| c.is_ascii_alphanumeric() || c == '-' || c == '_'),
        "{id}"
    );
    let s = at_home(&home, &p["Statement"]);
    assert_eq!(s["Effect"], "Allow");
    assert_eq!(s["Principal"], json!({"AWS": format!("arn:aws:iam::{ACCOUNT}:root")}));
    assert_eq!(s["Action"], "events:PutEvents");
    assert_eq!(s["Resource"], json!(home_bus()));
    let glob = s["Condition"]["ArnLike"]["aws:PrincipalArn"].as_str().unwrap();
    assert_eq!(s["Condition"].as_object().unwrap().len(), 1, "{s}");
    // ArnLike: `*` matches any run of characters.
    let like = |arn: &str| arn.starts_with(glob.trim_end_matches('*')) && glob.ends_with('*');
    let path = home["Parameters"]["ForwarderRolePath"]["Default"].as_str().unwrap();
    assert!(like(&format!(
        "arn:aws:iam::{ACCOUNT}:role{path}hts-region-ForwarderRole-1A2B3C"
    )));
    assert!(!like(&format!("arn:aws:iam::{ACCOUNT}:role/admin")));
    assert!(!like(&format!("arn:aws:iam::444455556666:role{path}x")));
    assert!(!like(&format!("arn:aws:iam::{ACCOUNT}:user/svc/ci-deploy")));
}

#[test]
fn aws_exposure_notices_have_a_rule_where_iam_events_arrive() {
    let home = support::template();
    let region = region_template();
    let home_rule = resource(&home, "AwsExposureNoticeRule");
    let p = at_home(&home, &home_rule["Properties"]["EventPattern"]);
    // AttachUserPolicy is a write call: plain ENABLED sees it.
    assert_eq!(home_rule["Properties"]["State"].as_str(), Some("ENABLED"));

    // Every version of the quarantine policy on any user is let through
    // (the user's path is not in the event: the function checks the name).
    for v in ["", "V2", "V3"] {
        let arn = format!("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantine{v}");
        assert!(matches(&p, &attach(&arn, "ci-deploy")), "{arn}");
        assert!(matches(&p, &attach(&arn, "alice")), "{arn}");
    }
    // Nothing else.
    assert!(!matches(
        &p,
        &attach("arn:aws:iam::aws:policy/AdministratorAccess", "ci-deploy")
    ));
    assert!(!matches(
        &p,
        &attach(
            &format!("arn:aws:iam::{ACCOUNT}:policy/AWSCompromisedKeyQuarantineV3"),
            "ci-deploy"
        )
    ));
    let mut detach = attach("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3", "ci-deploy");
    detach["detail"]["eventName"] = json!("DetachUserPolicy");
    assert!(!matches(&p, &detach));
    let mut role = attach("arn:aws:iam::aws:policy/AWSCompromisedKeyQuarantineV3", "ci-deploy");
    role["detail"]["eventName"] = json!("AttachRolePolicy");
    assert!(!matches(&p, &role));

    // In the region template: the same pattern, only in the region IAM's
    // events are delivered in (us-east-1 by default).
    let fwd = resource(&region, "ExposureNoticeForwardRule");
    assert_eq!(fwd["Condition"].as_str(), Some("ForwardsExposureNotices"));
    assert_eq!(fwd["Properties"]["State"], home_rule["Properties"]["State"]);
    assert_eq!(in_region(&region, "us-east-1", &fwd["Properties"]["EventPattern"]), p);
    let (eq, args) = tagged(&region["Conditions"]["ForwardsExposureNotices"]).expect("!Equals");
    assert_eq!(eq, "Equals");
    let mut refs: Vec<String> = args.as_sequence().unwrap().iter().map(target).collect();
    refs.sort();
    assert_eq!(refs, ["AWS::Region", "GlobalEventsRegion"]);
    assert_eq!(
        region["Parameters"]["GlobalEventsRegion"]["Default"].as_str(),
        Some("us-east-1")
    );
}

// ------------------------------------------------------------ the deploy script

/// A fake `aws` on PATH: records each call's arguments (one per line,
/// separated by a unit separator) and answers the two read-only calls as
/// an account whose home stack has `outputs` and whose enabled regions are
/// `regions`; a deploy to `fail_in` fails.
struct FakeAws {
    dir: tempfile::TempDir,
}

impl FakeAws {
    fn new(regions: &[&str], outputs: &[(&str, &str)], fail_in: &str) -> Self {
        let dir = tempfile::tempdir().unwrap();
        let mut answers = String::new();
        for (k, v) in outputs {
            answers.push_str(&format!(
                "    *\"describe-stacks\"*\"OutputKey=='{k}'\"*) printf '%s\\n' '{v}' ;;\n"
            ));
        }
        let script = format!(
            r#"#!/usr/bin/env bash
( IFS=$'\x1f'; printf '%s\n' "$*" ) >> "{log}"
case " $* " in
{answers}    *" describe-stacks "*) printf 'None\n' ;;
    *" describe-regions "*) printf '%s\n' '{regions}' ;;
    *" deploy "*"--region {fail_in} "*) echo 'deploy failed' >&2; exit 255 ;;
    *" deploy "*) : ;;
    *) echo "unexpected call: $*" >&2; exit 2 ;;
esac
"#,
            log = dir.path().join("calls").display(),
            regions = regions.join("\t"),
        );
        let aws = dir.path().join("aws");
        std::fs::write(&aws, script).unwrap();
        use std::os::unix::fs::PermissionsExt;
        std::fs::set_permissions(&aws, std::fs::Permissions::from_mode(0o755)).unwrap();
        FakeAws { dir }
    }

    fn calls(&self) -> Vec<Vec<String>> {
        std::fs::read_to_string(self.dir.path().join("calls"))
            .unwrap_or_default()
            .lines()
            .map(|l| l.split('\x1f').map(str::to_string).collect())
            .collect()
    }

    fn run(&self, args: &[&str]) -> Output {
        let script = support::workspace_root().join("infra/aws-keys-regions.sh");
        let path = format!(
            "{}:{}",
            self.dir.path().display(),
            std::env::var("PATH").unwrap_or_default()
        );
        Command::new("bash")
            .arg(&script)
            .args(args)
            .env("PATH", path)
            .output()
            .unwrap()
    }
}

fn outputs() -> Vec<(&'static str, &'static str)> {
    vec![("DecoyUserPath", "/ci/"), ("ForwarderRolePath", "/fwd/")]
}

const REGIONS: [&str; 4] = ["us-east-1", "eu-west-1", "eu-west-3", "ap-south-1"];

/// The value after `flag` in a command line.
fn arg<'a>(cmd: &'a [String], flag: &str) -> Option<&'a str> {
    cmd.iter().position(|a| a == flag).map(|i| cmd[i + 1].as_str())
}

fn is_deploy(cmd: &[String]) -> bool {
    cmd.len() > 2 && cmd[..2] == ["cloudformation".to_string(), "deploy".to_string()]
}

/// Checks one deploy's arguments (without the leading `aws`) and returns its region.
fn checked_deploy(cmd: &[String]) -> String {
    assert!(is_deploy(cmd), "{cmd:?}");
    let template = PathBuf::from(arg(cmd, "--template-file").unwrap());
    assert_eq!(
        template.canonicalize().unwrap(),
        support::workspace_root()
            .join("infra/aws-keys-region.yaml")
            .canonicalize()
            .unwrap()
    );
    assert_eq!(arg(cmd, "--capabilities"), Some("CAPABILITY_IAM"));
    assert_eq!(arg(cmd, "--stack-name"), Some("honeytoken-aws-keys-region"));
    let i = cmd.iter().position(|a| a == "--parameter-overrides").unwrap();
    let mut params: Vec<&str> = cmd[i + 1..]
        .iter()
        .take_while(|a| !a.starts_with("--"))
        .map(String::as_str)
        .collect();
    params.sort();
    // The home stack's values, read from its outputs, not the defaults.
    assert_eq!(
        params,
        ["DecoyUserPath=/ci/", "ForwarderRolePath=/fwd/", "HomeRegion=eu-west-1"]
    );
    arg(cmd, "--region").unwrap().to_string()
}

fn home_args(extra: &[&'static str]) -> Vec<&'static str> {
    let mut a = vec!["--home-stack", "hts", "--home-region", HOME];
    a.extend_from_slice(extra);
    a
}

#[test]
fn the_dry_run_prints_one_deploy_per_enabled_region_but_home_and_runs_none() {
    let aws = FakeAws::new(&REGIONS, &outputs(), "");
    let out = aws.run(&home_args(&["--dry-run"]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let stdout = String::from_utf8(out.stdout).unwrap();
    let mut regions: Vec<String> = stdout
        .lines()
        .map(|l| {
            let words: Vec<String> = l.split_whitespace().map(str::to_string).collect();
            assert_eq!(words[0], "aws", "{l}");
            checked_deploy(&words[1..])
        })
        .collect();
    regions.sort();
    assert_eq!(regions, ["ap-south-1", "eu-west-3", "us-east-1"]);
    // Only the two read-only calls were made, against the home region.
    let calls = aws.calls();
    assert!(calls.iter().all(|c| !is_deploy(c)), "{calls:?}");
    assert!(calls.iter().all(|c| arg(c, "--region") == Some(HOME)), "{calls:?}");
    assert!(calls.iter().any(|c| c[..2] == ["ec2", "describe-regions"]));
}

#[test]
fn without_dry_run_it_deploys_each_region_and_names_the_ones_that_failed() {
    let aws = FakeAws::new(&REGIONS, &outputs(), "");
    let out = aws.run(&home_args(&[]));
    assert!(out.status.success(), "{}", String::from_utf8_lossy(&out.stderr));
    let mut deployed: Vec<String> = aws
        .calls()
        .iter()
        .filter(|c| is_deploy(c))
        .map(|c| checked_deploy(c))
        .collect();
    deployed.sort();
    assert_eq!(deployed, ["ap-south-1", "eu-west-3", "us-east-1"]);

    // One region failing does not stop the others; the exit says which.
    let aws = FakeAws::new(&REGIONS, &outputs(), "eu-west-3");
    let out = aws.run(&home_args(&[]));
    assert!(!out.status.success());
    let err = String::from_utf8_lossy(&out.stderr);
    assert!(err.contains("deploy failed in: eu-west-3"), "{err}");
    assert_eq!(aws.calls().iter().filter(|c| is_deploy(c)).count(), 3);
}

#[test]
fn bad_input_is_refused_before_anything_is_deployed() {
    // (arguments, the home stack's outputs, what the error says)
    type Case<'a> = (&'a [&'a str], Vec<(&'a str, &'a str)>, &'a str);
    let cases: [Case; 4] = [
        // A home region the account does not have enabled (a typo).
        (
            &["--home-stack", "hts", "--home-region", "eu-west-9"],
            outputs(),
            "not among the account's enabled regions",
        ),
        (&["--home-region", HOME], outputs(), "--home-stack NAME is required"),
        (
            &["--home-stack", "hts", "--home-region", "Europe"],
            outputs(),
            "--home-region must be",
        ),
        // A home stack from before this template had the output.
        (
            &["--home-stack", "hts", "--home-region", HOME],
            vec![("DecoyUserPath", "/ci/")],
            "no output ForwarderRolePath",
        ),
    ];
    for (args, outs, says) in cases {
        let aws = FakeAws::new(&REGIONS, &outs, "");
        let out = aws.run(args);
        let err = String::from_utf8_lossy(&out.stderr);
        assert!(!out.status.success(), "{args:?}");
        assert!(err.contains(says), "{args:?}: {err}");
        assert!(aws.calls().iter().all(|c| !is_deploy(c)), "{args:?}");
    }
}
