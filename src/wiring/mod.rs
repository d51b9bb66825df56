//! The only place that names concrete adapters: it assembles stores and
//! channels for the local backend (SQLite under the data directory), the
//! stack backend (DynamoDB, SNS and Secrets Manager named by a deployed
//! stack) and the Lambda functions (their environment), so every use case
//! above it sees only traits.

#[cfg(feature = "aws")]
pub mod alerter;
pub mod channels;
pub mod env;
#[cfg(feature = "cli")]
pub mod local;
#[cfg(feature = "aws")]
pub mod secrets;
#[cfg(feature = "aws")]
pub mod stack;

use std::path::PathBuf;
use std::sync::Arc;

use crate::decoy::Decoy;
use crate::domain::key::SigningKey;
use crate::store::{AllowStore, HitStore, TokenStore};

/// One CloudWatch Embedded Metric Format line (namespace `honeytoken`, no
/// dimensions) carrying `metrics`, or `None` when every value is zero (the
/// alarms treat missing data as not breaching, so nothing is written when
/// nothing failed). Printed on stdout, CloudWatch Logs turns it into metrics:
/// https://docs.aws.amazon.com/AmazonCloudWatch/latest/monitoring/CloudWatch_Embedded_Metric_Format_Specification.html
pub fn metric_line(metrics: &[(&str, u64)], event: &str) -> Option<String> {
    let metrics: Vec<&(&str, u64)> = metrics.iter().filter(|(_, v)| *v > 0).collect();
    if metrics.is_empty() {
        return None;
    }
    let now = (time::OffsetDateTime::now_utc().unix_timestamp_nanos() / 1_000_000) as i64;
    let mut v = serde_json::json!({
        "_aws": {
            "Timestamp": now,
            "CloudWatchMetrics": [{
                "Namespace": "honeytoken",
                "Dimensions": [[]],
                "Metrics": metrics.iter().map(|(n, _)| serde_json::json!({"Name": n, "Unit": "Count"})).collect::<Vec<_>>(),
            }]
        },
        "level": "ERROR",
        "event": event,
    });
    for (n, c) in metrics {
        v[*n] = serde_json::json!(c);
    }
    Some(v.to_string())
}

/// Stores and key a command works on, whichever backend holds them.
pub struct Context {
    /// Tokens.
    pub tokens: Arc<dyn TokenStore>,
    /// Hits.
    pub hits: Arc<dyn HitStore>,
    /// Signing key.
    pub key: SigningKey,
    /// Local data directory (local backend only).
    pub data_dir: Option<PathBuf>,
    /// Global allowlist.
    pub allow: Arc<dyn AllowStore>,
    /// Test-mark nonces, shared by every decoy process of the backend.
    pub marks: Arc<dyn crate::store::MarkStore>,
    /// Where the stack's decoy reads a learned persona (`--backend aws`;
    /// locally `serve --persona FILE` names it instead).
    pub persona: Option<Arc<dyn crate::store::PersonaStore>>,
    /// Decoy AWS keys' IAM users (`--backend aws`, a stack that has them).
    pub aws_keys: Option<crate::ops::aws_keys::AwsKeys>,
}

impl Context {
    /// A context over one store that keeps everything (SQLite, DynamoDB, memory).
    pub fn over<S>(store: Arc<S>, key: SigningKey, data_dir: Option<PathBuf>) -> Context
    where
        S: TokenStore + HitStore + AllowStore + crate::store::MarkStore + 'static,
    {
        Context {
            tokens: store.clone(),
            hits: store.clone(),
            key,
            data_dir,
            allow: store.clone(),
            marks: store,
            persona: None,
            aws_keys: None,
        }
    }
}

/// Which deployed stack's stores to open: explicit table names and secret
/// win, anything missing comes from the outputs of `stack`.
#[derive(Debug, Clone, Default)]
pub struct StackSelect {
    /// CloudFormation stack name.
    pub stack: Option<String>,
    /// Tokens table.
    pub tokens_table: Option<String>,
    /// Hits table.
    pub hits_table: Option<String>,
    /// Secrets Manager secret holding the signing key.
    pub secret_arn: Option<String>,
}

/// How long a token read is reused: a flood of one token costs one token
/// read per second per process, however hard it is hammered.
pub const TOKEN_CACHE_TTL: std::time::Duration = std::time::Duration::from_secs(1);

/// The decoy over a backend's stores, as both runtimes assemble it: token
/// reads cached for [`TOKEN_CACHE_TTL`], the global allowlist cached for
/// [`crate::decoy::allowlist::DEFAULT_TTL`], answers no faster than `min_latency`.
pub fn decoy(ctx: &Context, min_latency: std::time::Duration) -> Decoy {
    let tokens: Arc<dyn TokenStore> = Arc::new(crate::store::cache::CachedTokens::new(
        ctx.tokens.clone(),
        TOKEN_CACHE_TTL,
    ));
    let allow = crate::decoy::allowlist::Allowlist::new(ctx.allow.clone(), crate::decoy::allowlist::DEFAULT_TTL);
    Decoy::new(ctx.key.clone(), tokens, ctx.hits.clone())
        .with_allowlist(Arc::new(allow))
        .with_marks(ctx.marks.clone())
        .with_min_latency(min_latency)
}

/// Logging for the Lambda functions: one JSON object per line (CloudWatch
/// Logs Insights reads the fields), level from `RUST_LOG`, no colours.
pub fn init_lambda_tracing() {
    let _ = tracing_subscriber::fmt()
        .json()
        .with_env_filter(tracing_subscriber::EnvFilter::from_default_env())
        .with_ansi(false)
        .with_current_span(false)
        .try_init();
}

/// The store side of a guard over a backend's stores, assembled as the
/// decoy is: token reads cached for [`TOKEN_CACHE_TTL`], the global
/// allowlist cached, the decoy's flood rule. On the local backend pass the
/// fan-out's listener so `serve`'s terminal and webhook alerts fire; on AWS
/// the hits table's stream reaches the stack's alerter instead.
#[cfg(feature = "guard")]
pub fn guard_sink(ctx: &Context, listener: Option<crate::domain::HitListener>) -> crate::decoy::guard::StoreSink {
    let tokens: Arc<dyn TokenStore> = Arc::new(crate::store::cache::CachedTokens::new(
        ctx.tokens.clone(),
        TOKEN_CACHE_TTL,
    ));
    let allow = crate::decoy::allowlist::Allowlist::new(ctx.allow.clone(), crate::decoy::allowlist::DEFAULT_TTL);
    let sink = crate::decoy::guard::StoreSink::new(tokens, ctx.hits.clone()).with_allowlist(Arc::new(allow));
    match listener {
        Some(l) => sink.with_listener(l),
        None => sink,
    }
}
