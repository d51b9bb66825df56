#!/usr/bin/env python3
"""A rehearsal of `sam deploy`, without an account (scripts/test.sh step `rehearse`).

Expands template.yaml with the SAM translator (aws-sam-translator, as
CloudFormation's AWS::Serverless transform does), then creates the expanded
stack in moto's CloudFormation, once per parameter set below (the defaults,
and every optional part switched on). As `sam package` would, local
`CodeUri`s become S3 URIs of placeholder objects and local nested-template
`Location`s S3 URLs of the real nested templates, uploaded to moto's S3 first.

It fails on what a first deploy would fail on:
  * the translator refusing the template;
  * a parameter default or a rehearsal value outside its own AllowedPattern,
    AllowedValues or MinValue/MaxValue (CloudFormation checks them first);
  * a `Ref`, `GetAtt` or `Sub` naming nothing (a resource, parameter, pseudo
    parameter or condition that does not exist), a `GetAtt` of a nested
    stack's output the nested template does not declare, a nested stack
    given a parameter its template does not declare or not given one
    without a default;
  * an expanded template over CloudFormation's 1 MB S3 template limit;
  * moto refusing the stack, or a resource moto supports failing to create.

moto does not model every resource type. Every resource the template makes
that moto did not create is listed, by logical id and type, never hidden;
those are not failures (moto's coverage, not the template's).

  rehearse.py --endpoint http://127.0.0.1:PORT [--template template.yaml]
"""

import argparse
import copy
import io
import json
import logging
import os
import re
import sys
import time
import zipfile
from pathlib import Path

import boto3
import botocore.config

try:
    import tomllib
except ImportError:  # Python before 3.11: tomlkit comes with the SAM CLI
    import tomlkit as tomllib
from samtranslator.public.translator import ManagedPolicyLoader
from samtranslator.translator.transform import transform
from samtranslator.yaml_helper import yaml_parse

# What moto's CloudFormation can create (its models, by resource type).
from moto.cloudformation.parsing import get_model_map

REGION = "us-east-1"
ACCOUNT = "123456789012"  # moto's default account id
BUCKET = "honeytoken-rehearsal-artifacts"
PSEUDO = {
    "AWS::AccountId",
    "AWS::NotificationARNs",
    "AWS::NoValue",
    "AWS::Partition",
    "AWS::Region",
    "AWS::StackId",
    "AWS::StackName",
    "AWS::URLSuffix",
}
# CloudFormation's limit for a template in S3 (what `sam deploy` uploads).
# https://docs.aws.amazon.com/AWSCloudFormation/latest/UserGuide/cloudformation-limits.html
TEMPLATE_S3_LIMIT = 1_000_000

SECRET = f"arn:aws:secretsmanager:{REGION}:{ACCOUNT}:secret:honeytoken/rehearsal-AbCdEf"
# Every optional part on: channels, custom domain and front door, GeoIP, reserved concurrency.
EVERYTHING = {
    "AlertEmail": "secops@example.com",
    "PagerDutyEndpoint": "https://events.pagerduty.com/integration/0123456789abcdef/enqueue",
    "PagerDutyRoutingKeySecretArn": SECRET,
    "SlackWebhookSecretArn": SECRET,
    "TeamsWebhookSecretArn": SECRET,
    "DiscordWebhookSecretArn": SECRET,
    "SplunkHecSecretArn": SECRET,
    "SecurityHubFindings": "true",
    "DomainName": "origin-api.example.com",
    "CertificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/11111111-2222-3333-4444-555555555555",
    "HostedZoneId": "{hosted_zone}",
    "FrontDoor": "true",
    "FrontDoorDomainName": "api.example.com",
    "FrontDoorCertificateArn": f"arn:aws:acm:{REGION}:{ACCOUNT}:certificate/66666666-7777-8888-9999-000000000000",
    "GeoIpLayerArn": f"arn:aws:lambda:{REGION}:{ACCOUNT}:layer:geoip:3",
    "DecoyReservedConcurrency": "5",
    "TrustCloudFrontHeaders": "true",
}


class Failure(Exception):
    """A template error a real deploy would hit."""


def say(msg):
    print(msg, flush=True)


# ------------------------------------------------------------ template walks


def walk(node, fn, path=()):
    """Calls fn(node, path) on every node of a JSON-like tree."""
    fn(node, path)
    if isinstance(node, dict):
        for k, v in node.items():
            walk(v, fn, path + (k,))
    elif isinstance(node, list):
        for i, v in enumerate(node):
            walk(v, fn, path + (i,))


SUB_VAR = re.compile(r"\$\{([^}!][^}]*)\}")


def check_references(t, nested_outputs, where):
    """Every Ref/GetAtt/Sub/Condition names something that exists."""
    params = set(t.get("Parameters", {}))
    resources = t.get("Resources", {})
    conditions = set(t.get("Conditions", {}))
    errors = []

    def getatt(target, attr, path, sub_locals=()):
        if target not in resources:
            errors.append(f"{where}: {'/'.join(map(str, path))}: GetAtt of unknown resource {target}")
            return
        res = resources[target]
        if res.get("Type") == "AWS::CloudFormation::Stack" and attr.startswith("Outputs."):
            out = attr.split(".", 1)[1]
            declared = nested_outputs.get(target)
            if declared is not None and out not in declared:
                errors.append(
                    f"{where}: {'/'.join(map(str, path))}: nested stack {target} declares no output {out} "
                    f"(it has {sorted(declared)})"
                )

    def visit(node, path):
        if not isinstance(node, dict) or len(node) != 1:
            return
        (k, v), = node.items()
        if k == "Ref":
            if isinstance(v, str) and v not in params and v not in resources and v not in PSEUDO:
                errors.append(f"{where}: {'/'.join(map(str, path))}: Ref to unknown {v}")
        elif k == "Fn::GetAtt":
            if isinstance(v, list) and len(v) == 2 and isinstance(v[0], str) and isinstance(v[1], str):
                getatt(v[0], v[1], path)
            elif isinstance(v, str):
                target, _, attr = v.partition(".")
                getatt(target, attr, path)
        elif k == "Fn::Sub":
            text, local = (v, {}) if isinstance(v, str) else (v[0], v[1] if len(v) > 1 else {})
            if not isinstance(text, str):
                return
            for var in SUB_VAR.findall(text):
                if var in local or var in PSEUDO or var in params:
                    continue
                if var.startswith("resolve:"):
                    continue
                target, _, attr = var.partition(".")
                if attr:
                    getatt(target, attr, path)
                elif target not in resources:
                    errors.append(f"{where}: {'/'.join(map(str, path))}: Sub names unknown {var}")
        elif k == "Condition" and isinstance(v, str) and len(path) >= 1:
            if v not in conditions:
                errors.append(f"{where}: {'/'.join(map(str, path))}: unknown condition {v}")

    walk(t, visit)
    for name, res in resources.items():
        cond = res.get("Condition")
        if cond is not None and cond not in conditions:
            errors.append(f"{where}: {name}: unknown condition {cond}")
        for dep in [res["DependsOn"]] if isinstance(res.get("DependsOn"), str) else res.get("DependsOn", []):
            if dep not in resources:
                errors.append(f"{where}: {name}: DependsOn unknown {dep}")
    for name, out in t.get("Outputs", {}).items():
        cond = out.get("Condition")
        if cond is not None and cond not in conditions:
            errors.append(f"{where}: output {name}: unknown condition {cond}")
    return errors


def check_parameter_values(t, values, where):
    """Each value (or default) satisfies its parameter's own constraints, as
    CloudFormation checks before creating anything."""
    errors = []
    declared = t.get("Parameters", {})
    for name in values:
        if name not in declared:
            errors.append(f"{where}: value for undeclared parameter {name}")
    for name, p in declared.items():
        if name in values:
            v = str(values[name])
        elif "Default" in p:
            v = str(p["Default"])
        else:
            continue  # required: a missing value is the caller's check
        if "AllowedValues" in p and v not in [str(a) for a in p["AllowedValues"]]:
            errors.append(f"{where}: {name}={v!r} is not one of {p['AllowedValues']}")
        if "AllowedPattern" in p and p.get("Type", "String") == "String":
            if not re.fullmatch(p["AllowedPattern"], v):
                errors.append(f"{where}: {name}={v!r} does not match its AllowedPattern")
        if p.get("Type") == "Number":
            try:
                n = float(v)
            except ValueError:
                errors.append(f"{where}: {name}={v!r} is not a number")
                continue
            if "MinValue" in p and n < float(p["MinValue"]):
                errors.append(f"{where}: {name}={v} is below its MinValue {p['MinValue']}")
            if "MaxValue" in p and n > float(p["MaxValue"]):
                errors.append(f"{where}: {name}={v} is above its MaxValue {p['MaxValue']}")
    return errors


def check_nested_parameters(t, nested, where):
    """A nested stack is given exactly parameters its template declares, and
    every one without a default."""
    errors = []
    for name, res in t.get("Resources", {}).items():
        if res.get("Type") != "AWS::CloudFormation::Stack" or name not in nested:
            continue
        declared = nested[name].get("Parameters", {})
        given = set(res.get("Properties", {}).get("Parameters", {}))
        for g in sorted(given - set(declared)):
            errors.append(f"{where}: {name} passes {g}, which its template does not declare")
        for d, p in declared.items():
            if "Default" not in p and d not in given:
                errors.append(f"{where}: {name} does not pass {d}, which has no default")
    return errors


# ------------------------------------------------------------ conditions


def evaluate_conditions(t, values):
    """The template's conditions for these parameter values (the intrinsic
    functions conditions may use: Equals, Not, And, Or, Condition, Ref)."""
    params = {n: str(values.get(n, p.get("Default", ""))) for n, p in t.get("Parameters", {}).items()}
    params.update({"AWS::Region": REGION, "AWS::AccountId": ACCOUNT, "AWS::Partition": "aws"})
    defs = t.get("Conditions", {})
    cache = {}

    def value(node):
        if isinstance(node, dict) and len(node) == 1:
            (k, v), = node.items()
            if k == "Ref":
                return params[v]
            if k == "Fn::Equals":
                return value(v[0]) == value(v[1])
            if k == "Fn::Not":
                return not value(v[0])
            if k == "Fn::And":
                return all(value(x) for x in v)
            if k == "Fn::Or":
                return any(value(x) for x in v)
            if k == "Condition":
                return cond(v)
            raise Failure(f"condition uses {k}, which this rehearsal does not evaluate")
        return str(node)

    def cond(name):
        if name not in cache:
            cache[name] = bool(value(defs[name]))
        return cache[name]

    return {n: cond(n) for n in defs}


def resolve(node, conds):
    """The template as CloudFormation sees it for these conditions: each
    `Fn::If` replaced by its chosen branch, `AWS::NoValue` removed (moto keeps
    a null in its place, which its IAM policy check then refuses)."""
    if isinstance(node, dict):
        if len(node) == 1 and "Fn::If" in node:
            c, a, b = node["Fn::If"]
            if c not in conds:
                raise Failure(f"Fn::If names unknown condition {c}")
            return resolve(a if conds[c] else b, conds)
        out = {}
        for k, v in node.items():
            v = resolve(v, conds)
            if v != NO_VALUE:
                out[k] = v
        return out
    if isinstance(node, list):
        return [x for x in (resolve(v, conds) for v in node) if x != NO_VALUE]
    return node


NO_VALUE = {"Ref": "AWS::NoValue"}


def stub_unmodeled(template, modeled):
    """The template with each Ref or GetAtt of a resource moto does not model
    replaced by an ARN-shaped placeholder, and what was replaced.

    moto cannot resolve those (a null Resource in a policy, a refused stack,
    an internal error on an output). check_references has already made sure
    each such resource exists; the attribute names are cfn-lint's check
    (E1010, run by `sam validate --lint` on the expanded template)."""
    placeholders = set()
    types = {n: r.get("Type") for n, r in template.get("Resources", {}).items()}

    def placeholder(target, attr=""):
        what = f"GetAtt {target}.{attr}" if attr else f"Ref {target}"
        placeholders.add((target, f"{what} ({types.get(target)})"))
        return f"arn:aws:rehearsal:{REGION}:{ACCOUNT}:placeholder/{target}{'/' + attr if attr else ''}"

    def stub(node):
        if isinstance(node, dict):
            if len(node) == 1 and "Ref" in node and node["Ref"] in types and types[node["Ref"]] not in modeled:
                return placeholder(node["Ref"])
            if len(node) == 1 and "Fn::GetAtt" in node:
                ga = node["Fn::GetAtt"]
                target, attr = (ga[0], ga[1]) if isinstance(ga, list) else ga.split(".", 1)
                if types.get(target) not in modeled:
                    return placeholder(target, attr)
            if len(node) == 1 and "Fn::Sub" in node:
                v = node["Fn::Sub"]
                text = v if isinstance(v, str) else v[0]

                def sub(m):
                    target, _, attr = m.group(1).partition(".")
                    if target in types and types[target] not in modeled:
                        return placeholder(target, attr)
                    return m.group(0)

                if isinstance(text, str):
                    text = SUB_VAR.sub(sub, text)
                    return {"Fn::Sub": text if isinstance(v, str) else [text] + [stub(x) for x in v[1:]]}
            return {k: stub(v) for k, v in node.items()}
        if isinstance(node, list):
            return [stub(v) for v in node]
        return node

    return stub(template), placeholders


def nested_key(logical_id):
    return f"templates/{logical_id}.json"


# ------------------------------------------------------------ moto


def clients(endpoint):
    conf = botocore.config.Config(retries={"max_attempts": 2})
    kw = dict(
        endpoint_url=endpoint,
        region_name=REGION,
        aws_access_key_id="testing",
        aws_secret_access_key="testing",
        config=conf,
    )
    return {n: boto3.client(n, **kw) for n in ("s3", "cloudformation", "iam", "route53")}


def placeholder_zip():
    buf = io.BytesIO()
    with zipfile.ZipFile(buf, "w") as z:
        z.writestr("bootstrap", "#!/bin/sh\n# rehearsal placeholder: never run\nexit 1\n")
    return buf.getvalue()


def package(template, root, s3):
    """Replaces local CodeUri/Location paths with S3 locations of uploaded
    objects (placeholder code, the real nested templates), as `sam package`
    does. Returns the nested templates by logical id."""
    s3.create_bucket(Bucket=BUCKET)
    code = placeholder_zip()
    nested = {}
    for name, res in template.get("Resources", {}).items():
        props = res.get("Properties", {})
        if res.get("Type") == "AWS::Serverless::Function":
            uri = props.get("CodeUri")
            if isinstance(uri, str) and not uri.startswith("s3://"):
                if not (root / uri).is_dir():
                    raise Failure(f"{name}: CodeUri {uri} is not a directory of this repository")
                key = f"code/{name}.zip"
                s3.put_object(Bucket=BUCKET, Key=key, Body=code)
                props["CodeUri"] = f"s3://{BUCKET}/{key}"
        if res.get("Type") == "AWS::Serverless::Application":
            loc = props.get("Location")
            if isinstance(loc, str) and not loc.startswith("https://"):
                path = root / loc
                if not path.is_file():
                    raise Failure(f"{name}: Location {loc} is not a file of this repository")
                text = path.read_text()
                nested[name] = yaml_parse(text)
                key = nested_key(name)
                s3.put_object(Bucket=BUCKET, Key=key, Body=json.dumps(nested[name]).encode())
                # The URL form `sam package` writes; moto serves it at its own endpoint.
                props["Location"] = f"https://s3.amazonaws.com/{BUCKET}/{key}"
    return nested


def wait(cfn, stack):
    for _ in range(600):
        s = cfn.describe_stacks(StackName=stack)["Stacks"][0]
        if not s["StackStatus"].endswith("IN_PROGRESS"):
            return s
        time.sleep(0.1)
    raise Failure(f"{stack}: still {s['StackStatus']} after a minute")


def rehearse(name, expanded, values, nested, cfn, s3, capabilities):
    """Creates the stack; returns the lines of its report and the failures."""
    failures = []
    body = json.dumps(expanded)
    if len(body) > TEMPLATE_S3_LIMIT:
        failures.append(f"{name}: the expanded template is {len(body)} bytes, over CloudFormation's 1 MB")
    conds = evaluate_conditions(expanded, values)
    expanded = resolve(expanded, conds)
    modeled = set(get_model_map())
    expanded, placeholders = stub_unmodeled(expanded, modeled)
    # The nested templates as moto can create them, at the URLs the stack names.
    for n, t in nested.items():
        stubbed, inner = stub_unmodeled(t, modeled)
        placeholders |= {(n, f"{n}/{text}") for _, text in inner}
        s3.put_object(Bucket=BUCKET, Key=nested_key(n), Body=json.dumps(stubbed).encode())
    body = json.dumps(expanded)
    key = f"expanded/{name}.json"
    s3.put_object(Bucket=BUCKET, Key=key, Body=body.encode())
    stack = f"honeytoken-rehearsal-{name}-{int(time.time() * 1000)}"
    try:
        cfn.create_stack(
            StackName=stack,
            TemplateURL=f"https://s3.amazonaws.com/{BUCKET}/{key}",
            Parameters=[{"ParameterKey": k, "ParameterValue": str(v)} for k, v in values.items()],
            Capabilities=capabilities,
        )
    except Exception as e:  # moto's answer to an invalid stack: a template error
        return [], [f"{name}: CloudFormation (moto) refused the stack: {e}"]
    s = wait(cfn, stack)
    status = s["StackStatus"]
    if status != "CREATE_COMPLETE":
        failures.append(f"{name}: stack {status}: {s.get('StackStatusReason', '')}")
    created = {}
    for page in cfn.get_paginator("list_stack_resources").paginate(StackName=stack):
        for r in page["StackResourceSummaries"]:
            # moto lists a resource it does not model with an empty id.
            if r["LogicalResourceId"]:
                created[r["LogicalResourceId"]] = r
    for r in created.values():
        if r["ResourceStatus"].endswith("FAILED"):
            failures.append(
                f"{name}: {r['LogicalResourceId']} ({r['ResourceType']}) {r['ResourceStatus']}: "
                f"{r.get('ResourceStatusReason', '')}"
            )
    expected = {
        n: r["Type"]
        for n, r in expanded["Resources"].items()
        if "Condition" not in r or conds[r["Condition"]]
    }
    missing = {n: ty for n, ty in expected.items() if n not in created}
    unexpected = sorted(set(created) - set(expected))
    for n in unexpected:
        failures.append(f"{name}: moto created {n}, which these parameters should not create")
    lines = [
        f"{name}: {status}; {len(expected)} resources for these parameters, "
        f"{len(expected) - len(missing)} created by moto, {len(missing)} not (moto does not model them):"
    ]
    for n, ty in sorted(missing.items(), key=lambda kv: (kv[1], kv[0])):
        if ty in modeled:
            failures.append(f"{name}: moto models {ty} but did not create {n}")
        lines.append(f"    not created  {ty:<40} {n}")
    for target, text in sorted(placeholders, key=lambda p: p[1]):
        if target in expected:
            lines.append(f"    placeholder  {text}: moto does not model the type")
    # Nested stacks: what moto made inside them.
    for n, r in sorted(created.items()):
        if r["ResourceType"] == "AWS::CloudFormation::Stack" and r.get("PhysicalResourceId"):
            try:
                inner = cfn.list_stack_resources(StackName=r["PhysicalResourceId"])["StackResourceSummaries"]
            except Exception as e:
                lines.append(f"    nested {n}: could not be read back ({e})")
                continue
            inner_names = {x["LogicalResourceId"] for x in inner}
            declared = nested_resources(nested, n)
            for d, ty in sorted(declared.items()):
                if d not in inner_names:
                    lines.append(f"    not created  {ty:<40} {n}/{d}")
    if "Outputs" not in s:
        # moto validated them at create (GetAtt attribute names of the types it
        # models) but returns none for a stack like this one.
        lines.append("    outputs      moto returns none for this stack; their references are checked above")
    else:
        outputs = {o["OutputKey"] for o in s["Outputs"]}
        for o, spec in expanded.get("Outputs", {}).items():
            if ("Condition" not in spec or conds[spec["Condition"]]) and o not in outputs:
                lines.append(f"    no output    {o}")
    try:
        cfn.delete_stack(StackName=stack)
    except Exception:
        pass
    return lines, failures


def nested_resources(nested, stack_logical_id):
    t = nested.get(stack_logical_id)
    if t is None:
        return {}
    return {n: r.get("Type", "?") for n, r in t.get("Resources", {}).items()}


def main():
    # The translator's metrics warn about being unpublished; nothing to publish here.
    logging.getLogger("samtranslator").setLevel(logging.ERROR)
    ap = argparse.ArgumentParser(description=__doc__.split("\n")[0])
    ap.add_argument("--endpoint", required=True, help="moto server URL")
    ap.add_argument("--template", default="template.yaml")
    ap.add_argument("--samconfig", default="samconfig.toml")
    args = ap.parse_args()
    root = Path(args.template).resolve().parent
    # The translator takes the region and account from boto3's session.
    os.environ.update(
        AWS_DEFAULT_REGION=REGION,
        AWS_REGION=REGION,
        AWS_ACCESS_KEY_ID="testing",
        AWS_SECRET_ACCESS_KEY="testing",
        AWS_ENDPOINT_URL=args.endpoint,
    )
    c = clients(args.endpoint)
    caps = tomllib.loads(Path(args.samconfig).read_text())["default"]["deploy"]["parameters"]["capabilities"]
    capabilities = caps.split() if isinstance(caps, str) else list(caps)

    sam = yaml_parse(Path(args.template).read_text())
    nested_sam = package(sam, root, c["s3"])
    zone = c["route53"].create_hosted_zone(Name="example.com", CallerReference=str(time.time()))
    zone_id = zone["HostedZone"]["Id"].split("/")[-1]
    sets = {
        "defaults": {},
        "everything": {k: v.replace("{hosted_zone}", zone_id) for k, v in EVERYTHING.items()},
    }
    lines, failures = check_and_create(sam, nested_sam, sets, c, capabilities)
    for line in lines:
        say(line)
    if not failures:
        failures += self_check(sam, nested_sam, c, capabilities)
    if failures:
        for f in failures:
            print(f"FAIL {f}", file=sys.stderr)
        return 1
    say("rehearsal passed: no template error; the resources listed above are beyond moto")
    return 0


def check_and_create(sam, nested_sam, sets, c, capabilities):
    """Every check, then a stack per parameter set: (report lines, failures)."""
    lines, failures = [], []
    for name, values in sets.items():
        failures += check_parameter_values(sam, values, name)
    for n, t in nested_sam.items():
        failures += check_parameter_values(t, {}, f"nested {n}")
    try:
        expanded = transform(copy.deepcopy(sam), {}, ManagedPolicyLoader(c["iam"]))
    except Exception as e:
        return lines, failures + [f"the SAM translator refused the template: {e}"]
    lines.append(f"expanded: {len(expanded['Resources'])} resources, {len(json.dumps(expanded))} bytes")
    # The translator turns each Application into a Stack of the same logical id.
    nested_outputs = {n: set(t.get("Outputs", {})) for n, t in nested_sam.items()}
    failures += check_references(expanded, nested_outputs, "template (expanded)")
    failures += check_nested_parameters(expanded, nested_sam, "template (expanded)")
    for n, t in nested_sam.items():
        failures += check_references(t, {}, f"nested {n}")
    if failures:
        return lines, failures
    for name, values in sets.items():
        try:
            more, f = rehearse(name, expanded, values, nested_sam, c["cloudformation"], c["s3"], capabilities)
        except Failure as e:
            more, f = [], [f"{name}: {e}"]
        lines += more
        failures += f
    return lines, failures


def self_check(sam, nested_sam, c, capabilities):
    """The rehearsal itself, checked: each of these template mistakes (which
    a first deploy would fail on) must make it fail."""

    def env(t, name, value):
        t["Resources"]["DecoyFunction"]["Properties"]["Environment"]["Variables"][name] = value

    mistakes = {
        "a Ref to nothing": lambda t: env(t, "X", {"Ref": "NoSuchResource"}),
        "a Sub naming nothing": lambda t: env(t, "X", {"Fn::Sub": "${NoSuchResource}"}),
        "a GetAtt of an attribute the resource lacks": lambda t: env(
            t, "X", {"Fn::GetAtt": ["HitsTable", "NoSuchAttribute"]}
        ),
        "a nested stack output that does not exist": lambda t: t["Outputs"]["DashboardName"].update(
            Value={"Fn::GetAtt": ["Dashboard", "Outputs.NoSuchOutput"]}
        ),
        "a nested stack given an undeclared parameter": lambda t: t["Resources"]["Dashboard"]["Properties"][
            "Parameters"
        ].update(NoSuchParameter="x"),
        "a default outside its own AllowedPattern": lambda t: t["Parameters"]["AlertEmail"].update(
            Default="not-an-address"
        ),
        "an unknown condition": lambda t: t["Resources"]["AlertEmailSubscription"].update(Condition="NoSuchCondition"),
    }
    failures = []
    for what, mutate in mistakes.items():
        t = copy.deepcopy(sam)
        mutate(t)
        _, f = check_and_create(t, nested_sam, {"defaults": {}}, c, capabilities)
        if f:
            say(f"self-check: caught {what}: {f[0]}")
        else:
            failures.append(f"self-check: the rehearsal did not catch {what}")
    return failures


if __name__ == "__main__":
    try:
        sys.exit(main())
    except Failure as e:
        print(f"FAIL {e}", file=sys.stderr)
        sys.exit(1)
