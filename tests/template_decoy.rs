//! The decoy's template: the front door (infra/frontdoor.yaml, nested when
//! FrontDoor=true) and the persona, as
//! template facts: what cfn-lint cannot know is whether the pieces fit the
//! decoy's own checks.

#[path = "support/aws.rs"]
mod support;

use serde_norway::Value;
use support::{tagged, target};

fn nested() -> Value {
    let path = support::workspace_root().join("infra/frontdoor.yaml");
    let text = std::fs::read_to_string(&path).unwrap();
    serde_norway::from_str(&text).unwrap()
}

/// The front door is its own nested template, deployed only when asked for,
/// fed the origin's domain and the secret the decoy checks.
#[test]
fn the_main_template_includes_the_front_door_only_when_asked() {
    let t = support::template();
    let r = &t["Resources"];
    let app = &r["FrontDoorStack"];
    assert_eq!(app["Type"].as_str(), Some("AWS::Serverless::Application"));
    assert_eq!(app["Condition"].as_str(), Some("UseFrontDoor"));
    assert_eq!(app["Properties"]["Location"].as_str(), Some("infra/frontdoor.yaml"));
    let p = &app["Properties"]["Parameters"];
    assert_eq!(target(&p["OriginDomainName"]), "DomainName");
    assert_eq!(target(&p["OriginVerifySecretArn"]), "OriginVerifySecret");
    assert_eq!(t["Parameters"]["FrontDoor"]["Default"].as_str(), Some("false"));
    // Every parameter the nested template needs is passed.
    let wanted: Vec<String> = nested()["Parameters"]
        .as_mapping()
        .unwrap()
        .iter()
        .filter(|(_, v)| v["Default"].is_null())
        .map(|(k, _)| k.as_str().unwrap().to_string())
        .collect();
    for w in wanted {
        assert!(!p[w.as_str()].is_null(), "FrontDoorStack does not pass {w}");
    }
    // The secret is generated, never a parameter anyone types.
    let s = &r["OriginVerifySecret"];
    assert_eq!(s["Condition"].as_str(), Some("UseFrontDoor"));
    assert!(
        s["Properties"]["GenerateSecretString"]["PasswordLength"]
            .as_u64()
            .unwrap()
            >= 32
    );
}

/// With the front door, the API is reachable through CloudFront only: the
/// execute-api hostname is off (the origin is the regional custom domain),
/// and a deployment missing a part, or outside us-east-1, is refused.
#[test]
fn the_front_door_cannot_deploy_half_made() {
    let t = support::template();
    let (tag, args) = tagged(&t["Resources"]["HttpApi"]["Properties"]["DisableExecuteApiEndpoint"]).unwrap();
    assert_eq!(tag, "If");
    assert_eq!(args[0].as_str(), Some("HasDomain"));
    assert_eq!(args[1].as_bool(), Some(true));
    let (tag, parts) = tagged(&t["Conditions"]["UseFrontDoor"]).unwrap();
    assert_eq!(tag, "And");
    assert!(
        parts
            .as_sequence()
            .unwrap()
            .iter()
            .any(|c| tagged(c).is_some_and(|(t, v)| t == "Condition" && v.as_str() == Some("HasDomain"))),
        "UseFrontDoor implies HasDomain, so execute-api is off whenever the front door is on"
    );
    let rule = &t["Rules"]["FrontDoorHasItsParts"];
    let asserts = format!("{:?}", rule["Assertions"]);
    for part in [
        "DomainName",
        "CertificateArn",
        "FrontDoorDomainName",
        "FrontDoorCertificateArn",
        "us-east-1",
    ] {
        assert!(asserts.contains(part), "the rule checks {part}: {asserts}");
    }
}

/// The pieces the decoy relies on: the origin header CloudFront adds is the
/// one the decoy checks, from the secret the decoy reads; viewer headers
/// reach the origin; nothing is cached; the rate limit is per address.
#[test]
fn cloudfront_sends_what_the_decoy_checks() {
    let n = nested();
    let r = &n["Resources"];
    let dist = &r["Distribution"]["Properties"]["DistributionConfig"];
    let origin = &dist["Origins"][0];
    let header = &origin["OriginCustomHeaders"][0];
    assert_eq!(
        header["HeaderName"].as_str(),
        Some(honeytoken::decoy::ORIGIN_VERIFY_HEADER)
    );
    let (tag, value) = tagged(&header["HeaderValue"]).unwrap();
    assert_eq!(tag, "Sub");
    assert_eq!(
        value.as_str(),
        Some("{{resolve:secretsmanager:${OriginVerifySecretArn}:SecretString}}")
    );
    assert_eq!(
        origin["CustomOriginConfig"]["OriginProtocolPolicy"].as_str(),
        Some("https-only")
    );
    let behaviour = &dist["DefaultCacheBehavior"];
    // Managed policies (AWS documents their ids): CachingDisabled, AllViewerExceptHostHeader.
    assert_eq!(
        behaviour["CachePolicyId"].as_str(),
        Some("4135ea2d-6df8-44a3-9df3-4b5a84be39ad")
    );
    assert_eq!(
        behaviour["OriginRequestPolicyId"].as_str(),
        Some("b689b0a8-53d0-40ab-baf2-68738e2966ac")
    );
    assert_eq!(
        behaviour["AllowedMethods"].as_sequence().unwrap().len(),
        7,
        "every method reaches the decoy"
    );
    assert_eq!(target(&dist["WebACLId"]), "WebAcl");

    let acl = &r["WebAcl"]["Properties"];
    assert_eq!(acl["Scope"].as_str(), Some("CLOUDFRONT"));
    let rate = acl["Rules"]
        .as_sequence()
        .unwrap()
        .iter()
        .find(|rule| !rule["Statement"]["RateBasedStatement"].is_null())
        .expect("a rate-based rule");
    assert_eq!(
        rate["Statement"]["RateBasedStatement"]["AggregateKeyType"].as_str(),
        Some("IP")
    );
    assert_eq!(
        rate["Action"]["Block"]["CustomResponse"]["ResponseCode"].as_u64(),
        Some(429)
    );
}

/// The decoy gets the secret's ARN (and may read that secret) only with the
/// front door, and trusts viewer headers then.
#[test]
fn the_decoy_reads_the_origin_secret_only_behind_the_front_door() {
    let t = support::template();
    let env = &t["Resources"]["DecoyFunction"]["Properties"]["Environment"]["Variables"];
    let (tag, args) = tagged(&env["ORIGIN_VERIFY_SECRET_ARN"]).unwrap();
    assert_eq!(tag, "If");
    assert_eq!(args[0].as_str(), Some("UseFrontDoor"));
    assert_eq!(target(&args[1]), "OriginVerifySecret");
}

/// The template offers exactly the built-in personas and hands its choice
/// to the decoy in the variable the decoy reads.
#[test]
fn the_template_picks_a_builtin_persona() {
    let t = support::template();
    let p = &t["Parameters"]["Persona"];
    let allowed: Vec<&str> = p["AllowedValues"]
        .as_sequence()
        .unwrap()
        .iter()
        .map(|v| v.as_str().unwrap())
        .collect();
    assert_eq!(allowed, honeytoken::decoy::persona::Persona::BUILTINS);
    assert_eq!(p["Default"].as_str(), Some("api"));
    let env = &t["Resources"]["DecoyFunction"]["Properties"]["Environment"]["Variables"];
    assert_eq!(target(&env[honeytoken::wiring::stack::PERSONA_VAR]), "Persona");
}

/// `PersonaHosts` takes `HOST=TOOL` pairs naming exactly the decoy's tool
/// personas, refuses what the decoy would not parse (CloudFormation matches
/// `AllowedPattern` against the whole value), and reaches the decoy in the
/// variable it reads.
#[test]
fn the_template_maps_hosts_to_the_decoys_tool_personas() {
    use honeytoken::decoy::tools::{PersonaHosts, Tool};
    let t = support::template();
    let p = &t["Parameters"]["PersonaHosts"];
    assert_eq!(p["Default"].as_str(), Some(""));
    let pattern = regex::Regex::new(p["AllowedPattern"].as_str().unwrap()).unwrap();
    let all = Tool::ALL
        .iter()
        .map(|t| format!("{}.acme.io={}", t.name(), t.name()))
        .collect::<Vec<_>>()
        .join(",");
    for ok in [
        "",
        "registry.acme.io=registry",
        "k8s.acme.io:6443=kubernetes",
        all.as_str(),
    ] {
        assert!(pattern.is_match(ok), "{ok}");
        assert_eq!(
            PersonaHosts::parse(&[ok]).unwrap().entries().len(),
            ok.matches('=').count()
        );
    }
    for bad in [
        "registry.acme.io",
        "a.io=jenkins",
        "a.io=git,",
        "a b=git",
        "a.io=git;b.io=npm",
    ] {
        assert!(!pattern.is_match(bad), "{bad}");
    }
}

/// The value of a template expression for the parameter values `params`
/// (the template's defaults for the others): the intrinsic functions the
/// decoy's persona hosts use (`Ref`, `Sub`, `If`, `Join`, and the
/// conditions' `Equals`, `Not`, `And`, `Or`, `Condition`).
fn eval(t: &Value, v: &Value, params: &[(&str, &str)]) -> Value {
    let param = |name: &str| -> String {
        params.iter().find(|(k, _)| *k == name).map_or_else(
            || {
                t["Parameters"][name]["Default"]
                    .as_str()
                    .unwrap_or_else(|| panic!("parameter {name}"))
                    .to_string()
            },
            |(_, v)| v.to_string(),
        )
    };
    let cond = |name: &str| eval(t, &t["Conditions"][name], params).as_bool().unwrap();
    let Some((tag, inner)) = tagged(v) else {
        return match v {
            Value::Sequence(items) => Value::Sequence(items.iter().map(|i| eval(t, i, params)).collect()),
            other => other.clone(),
        };
    };
    let args = |i: usize| eval(t, &inner[i], params);
    match tag.as_str() {
        "Ref" => Value::String(param(inner.as_str().unwrap())),
        "Sub" => {
            let mut s = inner.as_str().unwrap().to_string();
            while let Some(start) = s.find("${") {
                let end = start + s[start..].find('}').unwrap();
                s.replace_range(start..=end, &param(&s[start + 2..end]));
            }
            Value::String(s)
        }
        "If" => {
            if cond(inner[0].as_str().unwrap()) {
                args(1)
            } else {
                args(2)
            }
        }
        "Join" => {
            let parts: Vec<String> = args(1)
                .as_sequence()
                .unwrap()
                .iter()
                .map(|p| p.as_str().unwrap().to_string())
                .collect();
            Value::String(parts.join(inner[0].as_str().unwrap()))
        }
        "Equals" => Value::Bool(args(0) == args(1)),
        "Not" => Value::Bool(!args(0).as_bool().unwrap()),
        "And" => Value::Bool((0..inner.as_sequence().unwrap().len()).all(|i| args(i).as_bool().unwrap())),
        "Or" => Value::Bool((0..inner.as_sequence().unwrap().len()).any(|i| args(i).as_bool().unwrap())),
        "Condition" => Value::Bool(cond(inner.as_str().unwrap())),
        other => panic!("intrinsic {other} is not evaluated here"),
    }
}

/// A host per tool: each tool's domain parameter makes an API Gateway
/// domain of the decoy's API (with the tools' certificate) and reaches the
/// decoy as `HOST=TOOL` beside `PersonaHosts`; none is made without a
/// certificate, and with no domain set the decoy gets `PersonaHosts` alone.
#[test]
fn each_tools_domain_is_a_custom_domain_the_decoy_answers_as_that_tool() {
    use honeytoken::decoy::tools::{PersonaHosts, Tool};
    let t = support::template();
    let env = &t["Resources"]["DecoyFunction"]["Properties"]["Environment"]["Variables"];
    let hosts = &env[honeytoken::wiring::stack::PERSONA_HOSTS_VAR];
    let decoy_hosts = |params: &[(&str, &str)]| {
        let v = eval(&t, hosts, params);
        PersonaHosts::parse(&[v.as_str().unwrap()]).unwrap().entries().to_vec()
    };
    let cert = (
        "ToolCertificateArn",
        "arn:aws:acm:eu-west-1:111122223333:certificate/abc",
    );
    assert!(decoy_hosts(&[]).is_empty());
    assert_eq!(
        decoy_hosts(&[("PersonaHosts", "old.acme.io=git")]),
        [("old.acme.io".to_string(), Tool::Git)]
    );
    for tool in Tool::ALL {
        let name = tool.name();
        let upper = format!("{}{}", name[..1].to_ascii_uppercase(), &name[1..]);
        let param = format!("{upper}DomainName");
        let host = format!("{name}.acme.io");
        assert!(t["Parameters"][param.as_str()].is_mapping(), "{param}");
        let with = [
            (param.as_str(), host.as_str()),
            cert,
            ("PersonaHosts", "old.acme.io=git"),
        ];
        assert_eq!(
            decoy_hosts(&with),
            [("old.acme.io".to_string(), Tool::Git), (host.clone(), tool)],
            "{param}"
        );
        // The domain, its mapping to the decoy's API, made under the same condition.
        let domain = &t["Resources"][format!("{upper}Domain").as_str()];
        let condition = domain["Condition"].as_str().unwrap();
        assert!(eval(&t, &t["Conditions"][condition], &with).as_bool().unwrap());
        assert!(
            !eval(&t, &t["Conditions"][condition], &[(param.as_str(), host.as_str())])
                .as_bool()
                .unwrap(),
            "no domain without the certificate"
        );
        assert_eq!(target(&domain["Properties"]["DomainName"]), param);
        assert_eq!(
            target(&domain["Properties"]["DomainNameConfigurations"][0]["CertificateArn"]),
            "ToolCertificateArn"
        );
        let mapping = &t["Resources"][format!("{upper}DomainMapping").as_str()];
        assert_eq!(mapping["Condition"].as_str(), Some(condition));
        assert_eq!(target(&mapping["Properties"]["ApiId"]), "HttpApi");
        assert_eq!(target(&mapping["Properties"]["DomainName"]), format!("{upper}Domain"));
        // A deploy with the domain and no certificate is refused up front.
        let rule = &t["Rules"][format!("{upper}DomainNeedsACertificate").as_str()];
        assert!(
            eval(&t, &rule["RuleCondition"], &[(param.as_str(), host.as_str())])
                .as_bool()
                .unwrap()
        );
        assert!(
            !eval(&t, &rule["Assertions"][0]["Assert"], &[(param.as_str(), host.as_str())])
                .as_bool()
                .unwrap()
        );
    }
}
