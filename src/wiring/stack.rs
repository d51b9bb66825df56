//! AWS wiring shared by the Lambda functions and `--backend aws`: the SDK
//! configuration, the signing key in Secrets Manager, a stack's outputs, and
//! the decoy built from the function's environment. Nothing here knows the
//! Lambda runtime; the function crates only map events onto the library.

use aws_config::{BehaviorVersion, SdkConfig};
use std::collections::BTreeMap;
use std::sync::Arc;

use crate::decoy::Decoy;
use crate::domain::key::SigningKey;
use crate::error::{Error, Result};
use crate::store::dynamodb::{DEFAULT_HIT_TTL_DAYS, DynamoStore};

/// Stack output naming the tokens table.
pub const OUTPUT_TOKENS_TABLE: &str = "TokensTableName";
/// Stack output naming the hits table.
pub const OUTPUT_HITS_TABLE: &str = "HitsTableName";
/// Stack output naming the signing key secret.
pub const OUTPUT_SECRET_ARN: &str = "SigningKeySecretArn";
/// Stack output giving the hits' TTL in days.
pub const OUTPUT_HIT_TTL_DAYS: &str = "HitTtlDays";
/// Stack output: the IAM path of decoy AWS keys' users.
pub const OUTPUT_DECOY_USER_PATH: &str = "DecoyUserPath";
/// Stack output: the deny-all group of decoy AWS keys' users.
pub const OUTPUT_DECOY_USER_GROUP: &str = "DecoyUserGroupName";

/// Decoy AWS keys over IAM at `path`, in `group` (a stack's outputs).
pub fn aws_keys(conf: &SdkConfig, path: &str, group: &str) -> crate::ops::aws_keys::AwsKeys {
    crate::ops::aws_keys::AwsKeys {
        iam: Arc::new(crate::store::iam::Iam::new(aws_sdk_iam::Client::new(conf))),
        path: path.to_string(),
        group: group.to_string(),
    }
}

/// The SDK configuration from the usual sources: environment, profile
/// (`AWS_PROFILE`), region (`AWS_REGION`), and `AWS_ENDPOINT_URL` for a
/// local emulator.
pub async fn sdk_config() -> SdkConfig {
    aws_config::defaults(BehaviorVersion::latest()).load().await
}

/// Loads the signing key from a Secrets Manager secret (its `SecretString`).
pub async fn signing_key(client: &aws_sdk_secretsmanager::Client, secret_id: &str) -> Result<SigningKey> {
    let secret = super::secrets::secret_string(client, secret_id).await?;
    SigningKey::from_secret(secret.trim().as_bytes()).map_err(|e| Error::Config(format!("secret {secret_id}: {e}")))
}

/// A CloudFormation stack's outputs, by key.
pub async fn stack_outputs(client: &aws_sdk_cloudformation::Client, stack: &str) -> Result<BTreeMap<String, String>> {
    let out = client.describe_stacks().stack_name(stack).send().await.map_err(|e| {
        Error::Config(format!(
            "cannot describe the stack {stack:?}: {}; check --stack, the region (AWS_REGION or \
             --profile's) and the credentials",
            aws_sdk_cloudformation::error::DisplayErrorContext(&e)
        ))
    })?;
    let s = out
        .stacks()
        .first()
        .ok_or_else(|| Error::Config(format!("no stack named {stack:?}")))?;
    Ok(s.outputs()
        .iter()
        .filter_map(|o| Some((o.output_key()?.to_string(), o.output_value()?.to_string())))
        .collect())
}

/// Where the decoy function finds its tables and key (its environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct DecoyEnv {
    /// `TOKENS_TABLE`.
    pub tokens_table: String,
    /// `HITS_TABLE`.
    pub hits_table: String,
    /// `SIGNING_KEY_SECRET_ARN`.
    pub secret_arn: String,
    /// `HIT_TTL_DAYS` (default 400).
    pub hit_ttl_days: u32,
    /// `MIN_LATENCY_MS` (default 0): the response-time floor, see
    /// [`Decoy::with_min_latency`].
    pub min_latency_ms: u64,
    /// `ORIGIN_VERIFY_SECRET_ARN` (front door only): the secret CloudFront
    /// sends in `x-origin-verify`, see [`Decoy::with_origin_verify`].
    pub origin_verify_secret_arn: Option<String>,
    /// `ALERT_TOPIC_ARN`: where the decoy alerts on a hit it could not store
    /// by the timing floor, see [`Decoy::with_late_alerts`].
    pub alert_topic_arn: Option<String>,
    /// `FLOOD_WHOLE_HITS` (default 20) and `THROTTLE_WINDOW_MINUTES` (the
    /// bucket, default 15): the flood rule the decoy keeps hits under.
    pub flood: crate::domain::flood::FloodRule,
}

impl DecoyEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get`, naming any that is missing or bad.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let vars = super::env::Vars(get);
        Ok(DecoyEnv {
            tokens_table: vars.need("TOKENS_TABLE")?,
            hits_table: vars.need("HITS_TABLE")?,
            secret_arn: vars.need("SIGNING_KEY_SECRET_ARN")?,
            hit_ttl_days: vars.number(
                "HIT_TTL_DAYS",
                DEFAULT_HIT_TTL_DAYS,
                1..=u32::MAX,
                "a positive number of days",
            )?,
            min_latency_ms: vars.number("MIN_LATENCY_MS", 0, 0..=10_000, "0 to 10000 milliseconds")?,
            origin_verify_secret_arn: vars.opt("ORIGIN_VERIFY_SECRET_ARN"),
            alert_topic_arn: vars.opt("ALERT_TOPIC_ARN"),
            flood: flood_rule(&vars)?,
        })
    }
}

/// `FLOOD_WHOLE_HITS` (default 20) and `THROTTLE_WINDOW_MINUTES` (the
/// bucket, default 15): the flood rule hits are kept under, the same for
/// every function that writes hits.
fn flood_rule<F: Fn(&str) -> Option<String>>(vars: &super::env::Vars<F>) -> Result<crate::domain::flood::FloodRule> {
    Ok(crate::domain::flood::FloodRule {
        whole: vars.number(
            "FLOOD_WHOLE_HITS",
            crate::domain::flood::DEFAULT_WHOLE,
            1..=10_000,
            "a number from 1 to 10000",
        )?,
        bucket: std::time::Duration::from_secs(
            60 * vars.number(
                "THROTTLE_WINDOW_MINUTES",
                crate::domain::flood::DEFAULT_BUCKET.as_secs() / 60,
                1..=24 * 60,
                "a number of minutes from 1 to 1440",
            )?,
        ),
    })
}

/// Where the cloudtrail function (decoy AWS keys) finds its tables (its environment).
#[derive(Debug, Clone, PartialEq, Eq)]
pub struct CloudTrailEnv {
    /// `TOKENS_TABLE`: records of decoy AWS keys, by access key id.
    pub tokens_table: String,
    /// `HITS_TABLE`.
    pub hits_table: String,
    /// `HIT_TTL_DAYS` (default 400).
    pub hit_ttl_days: u32,
    /// The flood rule, as [`DecoyEnv::flood`].
    pub flood: crate::domain::flood::FloodRule,
    /// `SIGNING_KEY_SECRET_ARN`, when set: the signing key's secret, to
    /// recognise `honeytoken test`'s calls ([`crate::decoy::cloudtrail::Recorder::with_test_key`]).
    pub signing_key_secret_arn: Option<String>,
    /// `LAST_USED_GRACE_MINUTES` (default 30, 5 to 1440): how old a key's
    /// last use must be before the safety net records it
    /// ([`crate::decoy::last_used`]).
    pub last_used_grace: std::time::Duration,
}

impl CloudTrailEnv {
    /// Reads the process environment.
    pub fn from_env() -> Result<Self> {
        Self::from_lookup(|k| std::env::var(k).ok())
    }

    /// Reads the variables through `get`, naming any that is missing or bad.
    pub fn from_lookup(get: impl Fn(&str) -> Option<String>) -> Result<Self> {
        let vars = super::env::Vars(get);
        Ok(CloudTrailEnv {
            tokens_table: vars.need("TOKENS_TABLE")?,
            hits_table: vars.need("HITS_TABLE")?,
            hit_ttl_days: vars.number(
                "HIT_TTL_DAYS",
                DEFAULT_HIT_TTL_DAYS,
                1..=u32::MAX,
                "a positive number of days",
            )?,
            flood: flood_rule(&vars)?,
            signing_key_secret_arn: vars.opt("SIGNING_KEY_SECRET_ARN"),
            last_used_grace: std::time::Duration::from_secs(
                60 * vars.number(
                    "LAST_USED_GRACE_MINUTES",
                    crate::decoy::last_used::DEFAULT_GRACE.as_secs() / 60,
                    5..=24 * 60,
                    "a number of minutes from 5 to 1440",
                )?,
            ),
        })
    }
}

/// The recorder the cloudtrail function runs, recognising test calls when
/// the environment names the signing key's secret. Called once per cold start.
pub async fn cloudtrail_function_recorder(
    conf: &SdkConfig,
    env: &CloudTrailEnv,
) -> Result<crate::decoy::cloudtrail::Recorder> {
    let recorder = cloudtrail_recorder(conf, env);
    Ok(match &env.signing_key_secret_arn {
        Some(arn) => recorder.with_test_key(signing_key(&aws_sdk_secretsmanager::Client::new(conf), arn).await?),
        None => recorder,
    })
}

/// The safety net the cloudtrail function runs on its schedule: decoy AWS
/// keys' last uses from IAM against the stack's tables. Called once per
/// cold start.
pub fn last_used_net(conf: &SdkConfig, env: &CloudTrailEnv) -> crate::decoy::last_used::SafetyNet {
    let store = Arc::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(conf), &env.tokens_table, &env.hits_table)
            .with_hit_ttl_days(env.hit_ttl_days),
    );
    crate::decoy::last_used::SafetyNet::new(
        store.clone(),
        store,
        Arc::new(crate::store::iam::Iam::new(aws_sdk_iam::Client::new(conf))),
        env.flood,
        env.last_used_grace,
    )
}

/// The recorder the cloudtrail function runs: CloudTrail events of decoy
/// AWS keys into the stack's tables. Called once per cold start.
pub fn cloudtrail_recorder(conf: &SdkConfig, env: &CloudTrailEnv) -> crate::decoy::cloudtrail::Recorder {
    let store = Arc::new(
        DynamoStore::new(aws_sdk_dynamodb::Client::new(conf), &env.tokens_table, &env.hits_table)
            .with_hit_ttl_days(env.hit_ttl_days),
    );
    crate::decoy::cloudtrail::Recorder::new(store.clone(), store, env.flood)
}

/// The response-time floor for the decoy's answers while it is not ready:
/// `MIN_LATENCY_MS` as [`DecoyEnv`] reads it, or, when that is unset or
/// unreadable, [`FALLBACK_FLOOR_MS`], so a broken environment still answers
/// no faster than a ready decoy would.
pub fn fallback_floor(get: impl Fn(&str) -> Option<String>) -> std::time::Duration {
    let ms = get("MIN_LATENCY_MS")
        .and_then(|v| v.trim().parse::<u64>().ok())
        .filter(|ms| *ms <= 10_000)
        .unwrap_or(FALLBACK_FLOOR_MS);
    std::time::Duration::from_millis(ms)
}

/// The template's default `MinLatencyMs`: half of it (75 to 94 ms with the
/// jitter) holds a hit's token read, flood counter and hit write on a cold
/// connection, the other half the decoy's own alert when they do not fit.
/// Derived from AWS's published latencies in BENCHMARKS.md ("The decoy's
/// write budget on AWS").
pub const FALLBACK_FLOOR_MS: u64 = 150;

/// The AWS clients the decoy function uses, each built once per cold start.
#[derive(Clone, Debug)]
pub struct DecoyClients {
    /// Tokens and hits tables.
    pub dynamodb: aws_sdk_dynamodb::Client,
    /// The alert topic (the decoy's own alert on a hit not stored in time).
    pub sns: aws_sdk_sns::Client,
    /// The signing key and the origin secret.
    pub secrets: aws_sdk_secretsmanager::Client,
}

impl DecoyClients {
    /// All three from one SDK configuration.
    pub fn new(conf: &SdkConfig) -> Self {
        DecoyClients {
            dynamodb: aws_sdk_dynamodb::Client::new(conf),
            sns: aws_sdk_sns::Client::new(conf),
            secrets: aws_sdk_secretsmanager::Client::new(conf),
        }
    }
}

/// Builds the decoy the Lambda function runs: DynamoDB stores and the key
/// from Secrets Manager. Called once per cold start.
pub async fn decoy(conf: &SdkConfig, env: &DecoyEnv) -> Result<Decoy> {
    decoy_with(&DecoyClients::new(conf), env).await
}

/// [`decoy`] over given clients. Ends by opening the connections a hit
/// needs ([`Decoy::warm_up`]): in the init phase, whose time is no request's,
/// rather than within a hit's share of the timing floor, which a cold TLS
/// handshake on a small function can exceed alone (BENCHMARKS.md, "The
/// decoy's write budget on AWS").
pub async fn decoy_with(clients: &DecoyClients, env: &DecoyEnv) -> Result<Decoy> {
    let key = signing_key(&clients.secrets, &env.secret_arn).await?;
    let store = Arc::new(
        DynamoStore::new(clients.dynamodb.clone(), &env.tokens_table, &env.hits_table)
            .with_hit_ttl_days(env.hit_ttl_days),
    );
    let persona = stored_persona(store.as_ref()).await;
    let ctx = super::Context::over(store, key, None);
    // One ECS line per hit in the function's log, for a SIEM subscription.
    let decoy = super::decoy(&ctx, std::time::Duration::from_millis(env.min_latency_ms))
        .with_persona(persona)
        .with_persona_hosts(persona_hosts_from_env())
        .with_flood_rule(env.flood)
        .with_hit_log(crate::alerting::hitlog::stdout_listener());
    let decoy = match &env.alert_topic_arn {
        Some(arn) => decoy.with_late_alerts(
            Arc::new(crate::notify::sns::Sns::new(clients.sns.clone(), arn)),
            env.flood.bucket,
        ),
        None => decoy,
    };
    let decoy = match &env.origin_verify_secret_arn {
        Some(arn) => {
            let secret = super::secrets::secret_string(&clients.secrets, arn).await?;
            decoy.with_origin_verify(secret.trim().as_bytes())
        }
        None => decoy,
    };
    decoy.warm_up().await;
    Ok(decoy)
}

/// The persona the decoy answers as: the learned one stored beside the
/// tokens (`persona learn --backend aws`), or, when there is none or it
/// cannot be read or parsed, the built-in one the template names. Read once
/// per cold start.
pub async fn stored_persona(store: &dyn crate::store::PersonaStore) -> crate::decoy::persona::Persona {
    match store.get_persona().await {
        Ok(Some(json)) => match crate::decoy::persona::Persona::from_json(&json) {
            Ok(p) => {
                tracing::info!(event = "persona", source = "learned");
                p
            }
            Err(e) => {
                tracing::error!(event = "persona_unusable", error = %e, "the stored persona does not parse; answering as the built-in one");
                persona_from_env()
            }
        },
        Ok(None) => persona_from_env(),
        Err(e) => {
            tracing::warn!(event = "persona_unreadable", error = %e, "answering as the built-in persona");
            persona_from_env()
        }
    }
}

/// The variable naming the decoy's built-in persona (`api`, `stripe`, `github`).
pub const PERSONA_VAR: &str = "HONEYTOKEN_PERSONA";

/// The variable mapping host names to tool personas
/// (`registry.acme.io=registry,k8s.acme.io=kubernetes`), the template's
/// `PersonaHosts` parameter.
pub const PERSONA_HOSTS_VAR: &str = "HONEYTOKEN_PERSONA_HOSTS";

/// The tool personas the template names per host. A setting that does not
/// parse is logged and ignored: the decoy still answers every request, the
/// tools by their requests' shapes.
pub fn persona_hosts_from_env() -> crate::decoy::tools::PersonaHosts {
    let v = std::env::var(PERSONA_HOSTS_VAR).unwrap_or_default();
    crate::decoy::tools::PersonaHosts::parse(&[v]).unwrap_or_else(|e| {
        tracing::error!(event = "persona_hosts_unusable", error = %e, "tool personas are chosen by request shape only");
        Default::default()
    })
}

/// The persona the template names (the built-in `api` when unset). A name
/// that is not a built-in is logged and the default used: a wrong setting
/// must not take the decoy down, and it answers as some API either way.
pub fn persona_from_env() -> crate::decoy::persona::Persona {
    use crate::decoy::persona::Persona;
    match std::env::var(PERSONA_VAR).ok().filter(|v| !v.trim().is_empty()) {
        None => Persona::default(),
        Some(name) => Persona::builtin(name.trim()).unwrap_or_else(|| {
            tracing::error!(event = "unknown_persona", name = %name, builtins = ?Persona::BUILTINS);
            Persona::default()
        }),
    }
}

/// Where `honeytoken test` sees that the stack's alerter published an alert:
/// the alert state table (`table`, else the `stack`'s output), if any.
pub async fn alert_log(stack: Option<&str>, table: Option<&str>) -> Result<Option<Arc<dyn crate::store::AlertLog>>> {
    let conf = sdk_config().await;
    let table = match table {
        Some(t) => t.to_string(),
        None => match stack {
            Some(stack) => stack_outputs(&aws_sdk_cloudformation::Client::new(&conf), stack)
                .await?
                .get("AlertStateTableName")
                .cloned()
                .ok_or_else(|| Error::Config(format!("stack {stack} has no AlertStateTableName output")))?,
            None => return Ok(None),
        },
    };
    Ok(Some(Arc::new(
        crate::store::dynamodb::alert_state::DynamoAlertState::new(aws_sdk_dynamodb::Client::new(&conf), table),
    )))
}

/// Checks that the SDK's credential chain yields credentials before the
/// first request, so a machine without any fails with one line saying how
/// to provide them, instead of the chain's debug structure inside a
/// dispatch failure. Where the chain looked is logged at `info` (`-v`).
pub async fn check_credentials(conf: &SdkConfig) -> Result<()> {
    use aws_credential_types::provider::ProvideCredentials;
    let why = match conf.credentials_provider() {
        Some(p) => match p.provide_credentials().await {
            Ok(_) => return Ok(()),
            Err(e) => aws_sdk_dynamodb::error::DisplayErrorContext(&e).to_string(),
        },
        None => "no credential provider configured".to_string(),
    };
    tracing::info!(chain = %why, "no AWS credentials");
    let profile = std::env::var("AWS_PROFILE").ok().filter(|p| !p.trim().is_empty());
    Err(Error::Config(missing_credentials(profile.as_deref())))
}

/// The one line that says which credentials are missing and how to give them.
fn missing_credentials(profile: Option<&str>) -> String {
    match profile {
        Some(p) => format!(
            "no AWS credentials from the profile {p:?} (AWS_PROFILE): check that it is in ~/.aws/config or \
             ~/.aws/credentials and signed in (`aws sso login --profile {p}` for SSO), or unset AWS_PROFILE; \
             -v shows where the SDK looked"
        ),
        None => "no AWS credentials found: set AWS_PROFILE to a profile in ~/.aws/config (`aws configure` or \
                 `aws configure sso`), or AWS_ACCESS_KEY_ID and AWS_SECRET_ACCESS_KEY; the region comes from \
                 AWS_REGION or the profile; -v shows where the SDK looked"
            .to_string(),
    }
}

/// Opens a deployed stack's stores and key (the CLI's `--backend aws`):
/// explicit `--tokens-table/--hits-table/--secret-arn` win, anything missing
/// comes from the outputs of `--stack`.
pub async fn open(g: &super::StackSelect) -> Result<super::Context> {
    let conf = sdk_config().await;
    if conf.region().is_none() {
        return Err(Error::Config(
            "no AWS region configured; set AWS_REGION or use a profile with a region (AWS_PROFILE)".into(),
        ));
    }
    check_credentials(&conf).await?;
    let explicit = [g.tokens_table.clone(), g.hits_table.clone(), g.secret_arn.clone()];
    let mut ttl_days = DEFAULT_HIT_TTL_DAYS;
    let mut decoy_users = None;
    let [tokens, hits, secret] = if explicit.iter().all(Option::is_some) {
        explicit.map(Option::unwrap_or_default)
    } else {
        let stack = g.stack.as_deref().ok_or_else(|| {
            Error::Config(
                "--backend aws needs --stack NAME (the deployed stack), or all of --tokens-table, \
                 --hits-table and --secret-arn"
                    .into(),
            )
        })?;
        let outputs = stack_outputs(&aws_sdk_cloudformation::Client::new(&conf), stack).await?;
        // How far back an unfiltered `hits` looks.
        if let Some(d) = outputs.get(OUTPUT_HIT_TTL_DAYS).and_then(|v| v.parse().ok()) {
            ttl_days = d;
        }
        // A stack deployed before decoy AWS keys has neither output.
        if let (Some(p), Some(g)) = (
            outputs.get(OUTPUT_DECOY_USER_PATH),
            outputs.get(OUTPUT_DECOY_USER_GROUP),
        ) {
            decoy_users = Some(aws_keys(&conf, p, g));
        }
        let pick = |flag: &Option<String>, key: &str| -> Result<String> {
            match flag {
                Some(v) => Ok(v.clone()),
                None => outputs.get(key).cloned().ok_or_else(|| {
                    Error::Config(format!(
                        "stack {stack:?} has no output {key}; is it a honeytoken stack?"
                    ))
                }),
            }
        };
        [
            pick(&g.tokens_table, OUTPUT_TOKENS_TABLE)?,
            pick(&g.hits_table, OUTPUT_HITS_TABLE)?,
            pick(&g.secret_arn, OUTPUT_SECRET_ARN)?,
        ]
    };
    let key = signing_key(&aws_sdk_secretsmanager::Client::new(&conf), &secret).await?;
    let store =
        Arc::new(DynamoStore::new(aws_sdk_dynamodb::Client::new(&conf), tokens, hits).with_hit_ttl_days(ttl_days));
    let mut ctx = super::Context::over(store.clone(), key, None);
    ctx.persona = Some(store);
    ctx.aws_keys = decoy_users;
    Ok(ctx)
}

/// `honeytoken test` on a decoy AWS key: `sts:GetCallerIdentity` signed
/// with the decoy key itself, its user agent carrying `app_name` (the test
/// mark: the only caller-chosen field CloudTrail records). GetCallerIdentity
/// needs no permission, so even a deny-all user's call succeeds, and
/// CloudTrail logs it. The caller's ARN on success.
pub async fn call_with_decoy_key(conf: &SdkConfig, key: &crate::store::AccessKey, app_name: &str) -> Result<String> {
    use aws_sdk_sts::config::{AppName, Credentials, Region};
    let app = AppName::new(app_name.to_string()).map_err(|e| Error::Config(format!("app name: {e}")))?;
    let mut b = aws_sdk_sts::config::Builder::from(conf)
        .credentials_provider(Credentials::new(&key.id, &key.secret, None, None, "honeytoken-test"))
        .app_name(app);
    if conf.region().is_none() {
        // STS's global endpoint is served (and logged) in us-east-1.
        b = b.region(Region::new("us-east-1"));
    }
    let out = aws_sdk_sts::Client::from_conf(b.build())
        .get_caller_identity()
        .send()
        .await
        .map_err(|e| {
            let code = e
                .as_service_error()
                .and_then(|s| s.meta().code())
                .unwrap_or_default()
                .to_string();
            let hint = match code.as_str() {
                "InvalidClientTokenId" | "SignatureDoesNotMatch" => {
                    "; the key or its secret is wrong (or the key was retired): AWS refuses it before \
                     CloudTrail attributes the call to the user, so no hit would follow"
                }
                _ => "",
            };
            Error::Config(format!(
                "sts:GetCallerIdentity with the decoy key: {}{hint}",
                aws_sdk_sts::error::DisplayErrorContext(&e)
            ))
        })?;
    Ok(out.arn().unwrap_or_default().to_string())
}

#[cfg(test)]
mod tests {
    use super::*;

    /// A decoy that cannot read its environment answers after the floor the
    /// template deploys by default, so the two cannot drift apart.
    #[test]
    fn the_fallback_floor_is_the_templates_default() {
        let template = include_str!("../../template.yaml");
        let param = &template[template.find("\n  MinLatencyMs:").expect("MinLatencyMs parameter")..];
        let default = param
            .lines()
            .find_map(|l| l.trim().strip_prefix("Default: "))
            .expect("a default");
        assert_eq!(default.parse::<u64>().unwrap(), FALLBACK_FLOOR_MS);
        assert_eq!(fallback_floor(|_| None).as_millis() as u64, FALLBACK_FLOOR_MS);
    }

    #[test]
    fn decoy_env_names_what_is_missing() {
        let vars = |pairs: &'static [(&'static str, &'static str)]| {
            move |k: &str| pairs.iter().find(|(n, _)| *n == k).map(|(_, v)| v.to_string())
        };
        let e = DecoyEnv::from_lookup(vars(&[("TOKENS_TABLE", "t"), ("HITS_TABLE", "h")])).unwrap_err();
        assert!(e.to_string().contains("SIGNING_KEY_SECRET_ARN"), "{e}");
        let ok = DecoyEnv::from_lookup(vars(&[
            ("TOKENS_TABLE", "t"),
            ("HITS_TABLE", "h"),
            ("SIGNING_KEY_SECRET_ARN", "s"),
        ]))
        .unwrap();
        assert_eq!(ok.hit_ttl_days, DEFAULT_HIT_TTL_DAYS);
        let bad = DecoyEnv::from_lookup(vars(&[
            ("TOKENS_TABLE", "t"),
            ("HITS_TABLE", "h"),
            ("SIGNING_KEY_SECRET_ARN", "s"),
            ("HIT_TTL_DAYS", "0"),
        ]))
        .unwrap_err();
        assert!(bad.to_string().contains("HIT_TTL_DAYS"), "{bad}");
    }
}
