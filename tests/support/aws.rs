//! Test support for the AWS integration tests: the moto endpoint that
//! `scripts/test.sh` starts, SDK clients pointed at it, and DynamoDB tables
//! created from template.yaml's own definitions, so the template and the
//! store code cannot drift apart.
//!
//! Shared by `tests/aws_store.rs` and `functions/*/tests/*.rs` (via `#[path]`).
#![allow(dead_code)]

use aws_config::{BehaviorVersion, SdkConfig};
use aws_sdk_dynamodb::types::{
    AttributeDefinition, BillingMode, GlobalSecondaryIndex, KeySchemaElement, KeyType, Projection, ProjectionType,
    ScalarAttributeType, StreamSpecification, StreamViewType, TimeToLiveSpecification,
};
use serde_norway::Value;
use std::collections::BTreeMap;
use std::path::{Path, PathBuf};
use std::sync::atomic::{AtomicUsize, Ordering};

/// The variable `scripts/test.sh` sets to the moto server's URL.
pub const ENDPOINT_VAR: &str = "HONEYTOKEN_TEST_AWS_ENDPOINT";

/// The moto endpoint. Fails (never skips) when the test command did not start one.
pub fn endpoint() -> String {
    match std::env::var(ENDPOINT_VAR) {
        Ok(v) if !v.is_empty() => v,
        _ => panic!(
            "{ENDPOINT_VAR} is not set: these tests need the moto server that scripts/test.sh starts. \
             Run `scripts/test.sh` (or `scripts/test.sh test`) instead of plain `cargo test`."
        ),
    }
}

/// SDK configuration pointed at moto; credentials and region come from the
/// environment scripts/test.sh sets for the test step.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest())
        .endpoint_url(endpoint())
        .load()
        .await
}

/// The workspace root (where template.yaml lives).
pub fn workspace_root() -> PathBuf {
    let mut dir = PathBuf::from(env!("CARGO_MANIFEST_DIR"));
    while !dir.join("template.yaml").exists() {
        assert!(
            dir.pop(),
            "template.yaml not found above {}",
            env!("CARGO_MANIFEST_DIR")
        );
    }
    dir
}

/// template.yaml, parsed. CloudFormation's short tags (`!Ref`, `!Sub`, …)
/// parse as tagged values, which the table definitions do not use.
pub fn template() -> Value {
    let path = workspace_root().join("template.yaml");
    let text = std::fs::read_to_string(&path).unwrap_or_else(|e| panic!("{}: {e}", path.display()));
    serde_norway::from_str(&text).unwrap_or_else(|e| panic!("{}: {e}", path.display()))
}

/// `!Tag value` as (tag without `!`, value): `!Ref X` is `("Ref", "X")`.
pub fn tagged(v: &Value) -> Option<(String, &Value)> {
    match v {
        Value::Tagged(t) => Some((t.tag.to_string().trim_start_matches('!').to_string(), &t.value)),
        _ => None,
    }
}

/// The logical id a `!Ref X` or `!GetAtt X.Attr` names.
pub fn target(v: &Value) -> String {
    let (t, inner) = tagged(v).unwrap_or_else(|| panic!("expected !Ref or !GetAtt, got {v:?}"));
    let s = inner.as_str().expect("scalar reference");
    match t.as_str() {
        "Ref" => s.to_string(),
        "GetAtt" => s.split('.').next().unwrap().to_string(),
        other => panic!("unexpected tag {other}"),
    }
}

/// The `Properties` of every `AWS::DynamoDB::Table` in the template, by logical id.
pub fn table_definitions(template: &Value) -> BTreeMap<String, Value> {
    let resources = template["Resources"].as_mapping().expect("template has Resources");
    resources
        .iter()
        .filter(|(_, r)| r["Type"].as_str() == Some("AWS::DynamoDB::Table"))
        .map(|(k, r)| (k.as_str().expect("logical id").to_string(), r["Properties"].clone()))
        .collect()
}

fn s(v: &Value, what: &str) -> String {
    v.as_str()
        .unwrap_or_else(|| panic!("template: {what} must be a literal string, got {v:?}"))
        .to_string()
}

fn key_schema(v: &Value) -> Vec<KeySchemaElement> {
    v.as_sequence()
        .expect("KeySchema is a list")
        .iter()
        .map(|k| {
            KeySchemaElement::builder()
                .attribute_name(s(&k["AttributeName"], "AttributeName"))
                .key_type(KeyType::from(s(&k["KeyType"], "KeyType").as_str()))
                .build()
                .expect("key schema element")
        })
        .collect()
}

/// Creates one table from its template definition under `name`, with its
/// indexes, stream and TTL setting.
pub async fn create_table(client: &aws_sdk_dynamodb::Client, name: &str, props: &Value) {
    let mut b = client.create_table().table_name(name);
    for a in props["AttributeDefinitions"]
        .as_sequence()
        .expect("AttributeDefinitions")
    {
        b = b.attribute_definitions(
            AttributeDefinition::builder()
                .attribute_name(s(&a["AttributeName"], "AttributeName"))
                .attribute_type(ScalarAttributeType::from(
                    s(&a["AttributeType"], "AttributeType").as_str(),
                ))
                .build()
                .expect("attribute definition"),
        );
    }
    b = b.set_key_schema(Some(key_schema(&props["KeySchema"])));
    assert_eq!(
        props["BillingMode"].as_str(),
        Some("PAY_PER_REQUEST"),
        "{name}: tables are on-demand"
    );
    b = b.billing_mode(BillingMode::PayPerRequest);
    if let Some(gsis) = props["GlobalSecondaryIndexes"].as_sequence() {
        for g in gsis {
            let projection = Projection::builder()
                .projection_type(ProjectionType::from(
                    s(&g["Projection"]["ProjectionType"], "ProjectionType").as_str(),
                ))
                .build();
            b = b.global_secondary_indexes(
                GlobalSecondaryIndex::builder()
                    .index_name(s(&g["IndexName"], "IndexName"))
                    .set_key_schema(Some(key_schema(&g["KeySchema"])))
                    .projection(projection)
                    .build()
                    .expect("index"),
            );
        }
    }
    if let Some(view) = props["StreamSpecification"]["StreamViewType"].as_str() {
        b = b.stream_specification(
            StreamSpecification::builder()
                .stream_enabled(true)
                .stream_view_type(StreamViewType::from(view))
                .build()
                .expect("stream"),
        );
    }
    b.send().await.unwrap_or_else(|e| {
        panic!(
            "create table {name}: {}",
            aws_sdk_dynamodb::error::DisplayErrorContext(&e)
        )
    });
    if let Some(attr) = props["TimeToLiveSpecification"]["AttributeName"].as_str() {
        let enabled = props["TimeToLiveSpecification"]["Enabled"].as_bool().unwrap_or(false);
        client
            .update_time_to_live()
            .table_name(name)
            .time_to_live_specification(
                TimeToLiveSpecification::builder()
                    .attribute_name(attr)
                    .enabled(enabled)
                    .build()
                    .expect("ttl"),
            )
            .send()
            .await
            .unwrap_or_else(|e| panic!("ttl {name}: {}", aws_sdk_dynamodb::error::DisplayErrorContext(&e)));
    }
}

static COUNTER: AtomicUsize = AtomicUsize::new(0);

/// A name no other test (or test process) uses.
pub fn unique(prefix: &str) -> String {
    format!(
        "{prefix}-{}-{}-{}",
        std::process::id(),
        COUNTER.fetch_add(1, Ordering::Relaxed),
        ulid::Ulid::new()
    )
}

/// The stack's tables, created fresh from the template; names by logical id.
pub struct Tables {
    /// Table name by logical id (TokensTable, HitsTable, AlertStateTable, …).
    pub names: BTreeMap<String, String>,
}

impl Tables {
    /// Creates every table the template defines, under unique names.
    pub async fn create(client: &aws_sdk_dynamodb::Client) -> Tables {
        let mut names = BTreeMap::new();
        for (logical, props) in table_definitions(&template()) {
            let name = unique(&logical);
            create_table(client, &name, &props).await;
            names.insert(logical, name);
        }
        Tables { names }
    }

    /// The name of a table by logical id.
    pub fn name(&self, logical: &str) -> &str {
        self.names
            .get(logical)
            .unwrap_or_else(|| panic!("template has no table {logical}"))
    }
}

/// Creates a secret holding a fresh signing key; returns its ARN.
pub async fn create_signing_secret(conf: &SdkConfig) -> String {
    let client = aws_sdk_secretsmanager::Client::new(conf);
    // 64 characters, like the secret the stack generates.
    let secret = honeytoken::domain::key::SigningKey::generate_secret();
    let out = client
        .create_secret()
        .name(unique("signing-key"))
        .secret_string(secret)
        .send()
        .await
        .unwrap_or_else(|e| {
            panic!(
                "create secret: {}",
                aws_sdk_secretsmanager::error::DisplayErrorContext(&e)
            )
        });
    out.arn().expect("secret arn").to_string()
}

/// Loads a recorded fixture relative to the workspace root.
pub fn fixture(rel: &str) -> String {
    let p: &Path = &workspace_root().join(rel);
    std::fs::read_to_string(p).unwrap_or_else(|e| panic!("{}: {e}", p.display()))
}

/// The environment a function binary needs to reach moto: the endpoint,
/// dummy credentials (or the caller's) and a region.
pub fn function_env() -> Vec<(&'static str, String)> {
    let get = |k: &str, d: &str| std::env::var(k).unwrap_or_else(|_| d.to_string());
    vec![
        ("AWS_ENDPOINT_URL", endpoint()),
        ("AWS_ACCESS_KEY_ID", get("AWS_ACCESS_KEY_ID", "testing")),
        ("AWS_SECRET_ACCESS_KEY", get("AWS_SECRET_ACCESS_KEY", "testing")),
        ("AWS_REGION", get("AWS_REGION", "us-east-1")),
        ("AWS_EC2_METADATA_DISABLED", "true".into()),
    ]
}
